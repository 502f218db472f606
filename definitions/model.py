"""Frozen definition objects: the *spec* of a workflow, never a running case.

A definition is loaded once from its YAML file, validated, and kept immutable
with its version and a content fingerprint; a case records the version and the
profile it started under.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

FIELD_TYPES = frozenset(
    {"string", "integer", "money", "date", "boolean", "enum", "list", "object", "map"}
)
ROLES = frozenset({"preparer", "reviewer", "auditor", "admin"})
ORG_KINDS = ("federation", "town", "community", "enterprise", "joint")
COMMENT_RULES = frozenset({"optional", "required"})


def freeze(value: Any) -> Any:
    """Deep-freeze plain data: dicts become read-only mappings, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The inverse of `freeze`, for JSON output."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Label:
    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang.startswith("en") else self.zh


@dataclass(frozen=True)
class FieldSpec:
    """The type of one datum a trigger takes (JSON-like, validated by the engine)."""

    name: str
    type: str
    required: bool = False
    label: Label | None = None
    values: tuple[str, ...] = ()  # enum values
    items: FieldSpec | None = None  # list items
    fields: tuple[FieldSpec, ...] = ()  # object fields
    min: int | None = None
    max: int | None = None
    max_length: int | None = None
    suggest: str | None = None  # what a form proposes before anything is typed: one of SUGGESTIONS


SUGGESTIONS = frozenset({"this_year", "today"})


@dataclass(frozen=True)
class State:
    name: str
    label: Label
    final: bool = False


@dataclass(frozen=True)
class Transition:
    trigger: str
    source: str
    dest: str
    roles: tuple[str, ...]
    label: Label
    competent: str = "case_org"  # named competence rule (workflow.competence)
    fix_competent: str | None = None  # rule whose result is fixed on the case
    reviews: tuple[str, ...] = ()  # triggers judged by this one (four eyes)
    comment: str = "optional"
    data: tuple[FieldSpec, ...] = ()
    guards: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()  # transitions' keys: pick among dests
    unless: tuple[str, ...] = ()
    confirm: bool = False  # irreversible: the pages ask before firing
    record: str = "merge"  # "merge": the event data joins the case data; "none": effects decide
    party: str | None = None  # the party whose organisation decides this step (instead of `competent`)
    # what the step is to the procedure: "forward" its next step; "back" a return for correction; "out" a decision
    # that ends the case unsuccessfully (rejection, revocation); "leave" a way out open at every step (withdrawal)
    way: str = "forward"
    line: int = 0


@dataclass(frozen=True)
class Party:
    """A second organisation a case concerns (e.g. the receiving union of a transfer, 接收工会).

    Its organisation is named at creation by the data field `field` (an
    organisation code), or, without a field, it joins the case with its first
    step: whoever fires that step (`Engine.join_and_fire`) is the party, e.g.
    the union that redeems a transfer certificate. `sees_case` lets users of
    that organisation's subtree see the case, as users of the case's own
    organisation do.
    """

    name: str
    label: Label
    org_kinds: tuple[str, ...]
    field: str | None
    sees_case: bool = True
    may_be_case_org: bool = False
    line: int = 0


@dataclass(frozen=True)
class Creation:
    roles: tuple[str, ...]
    data: tuple[FieldSpec, ...] = ()
    guards: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    fix_competent: str | None = None
    unique: Mapping[str, Any] | None = None  # {"scope": "open"|"key", "key": ..., "reason": ...}
    org_kind: str = "enterprise"


@dataclass(frozen=True)
class Definition:
    name: str
    version: str
    title: Label
    initial: str
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]
    creation: Creation
    fingerprint: str
    path: str
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    parties: tuple[Party, ...] = ()
    # the named entities (see workflow.entities) this definition's effects may create or change
    entities: tuple[str, ...] = ()

    def state(self, name: str) -> State:
        for s in self.states:
            if s.name == name:
                return s
        raise KeyError(name)

    @cached_property  # a definition never changes: computed once (every step asks)
    def final_states(self) -> frozenset[str]:
        return frozenset(s.name for s in self.states if s.final)

    @cached_property
    def triggers(self) -> frozenset[str]:
        return frozenset(t.trigger for t in self.transitions)

    @cached_property
    def ended_states(self) -> frozenset[str]:
        """The final states a way out leads to (`way: out` or `leave`: rejection, revocation, withdrawal)."""
        return frozenset(t.dest for t in self.transitions if t.way in ("out", "leave") and t.dest in self.final_states)

    @cached_property
    def left_states(self) -> frozenset[str]:
        """The states a way out open at every step (`way: leave`, withdrawal) leads to."""
        return frozenset(t.dest for t in self.transitions if t.way == "leave")

    def party(self, name: str) -> Party:
        for p in self.parties:
            if p.name == name:
                return p
        raise KeyError(name)

    def transitions_from(self, source: str) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions if t.source == source)

    def trigger_label(self, trigger: str) -> Label:
        for t in self.transitions:
            if t.trigger == trigger:
                return t.label
        return Label(trigger, trigger)


@dataclass(frozen=True)
class Profile:
    """Rule parameters of one region, per workflow; `extends` another profile."""

    name: str
    title: Label
    params: Mapping[str, Mapping[str, Any]]
    fingerprint: str
    path: str

    def for_workflow(self, workflow: str) -> Mapping[str, Any]:
        return self.params.get(workflow, MappingProxyType({}))
