"""The allow-list of named rules that definitions refer to.

Three kinds, each a small pure function of a `Context`:

* guards (`@guard("name")`) return the `Reason`s a step breaks (none when
  it may go ahead); the engine runs every guard of a step and reports all
  reasons together;
* effects (`@effect("name")`) return an `Outcome`: computed facts to keep on
  the case, data to record, changes to the case's organisation and to the
  entities the definition declares (`workflow.entities`);
* conditions (`@condition("name")`) choose between destinations of one
  trigger (transitions' `conditions` / `unless`).

A rule that must know something of the installation beyond the case (is this
person a member elsewhere?) asks a lookup (`@lookup("name")`, a read-only
query registered beside the table it reads) through `ctx.lookup(name, *args)`;
the engine binds it to the step's unit of work.

Definitions name them; a definition naming an unknown rule does not load.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Reason:
    """A broken rule: a stable snake_case code and the values its message needs."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:  # params are plain values; hash on the code alone
        return hash(self.code)


@dataclass(frozen=True)
class OrgFacts:
    """What a rule may know of the case's organisation."""

    code: str
    name: str
    kind: str
    employees: int | None = None
    female_employees: int | None = None
    union_status: str = "none"
    member_count: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class ActorFacts:
    username: str
    role: str
    org_code: str | None


@dataclass(frozen=True)
class Context:
    """Everything a rule may look at, and nothing it may change.

    `data` is the event's data after validation (dates are `datetime.date`,
    money is `decimal.Decimal`); `case` is the case's recorded data and
    computed facts so far (JSON values: dates as ISO strings, money as
    strings); `params` are the profile's parameters for this workflow.
    """

    workflow: str
    trigger: str
    state: str
    data: Mapping[str, Any]
    case: Mapping[str, Any]
    params: Mapping[str, Any]
    org: OrgFacts
    # the step's business date (`decided_on`, the day it took place; today unless it was dated back): every
    # period and deadline counts from it, not from the day it is recorded
    today: date
    actor: ActorFacts | None = None
    common: Mapping[str, Any] = field(default_factory=dict)
    # the `extra` section of the definition version the case runs under (checklists, titles)
    extra: Mapping[str, Any] = field(default_factory=dict)
    # the case's parties' organisations, by party name (empty unless the definition declares parties)
    parties: Mapping[str, OrgFacts] = field(default_factory=dict)
    # the other open cases of the workflow anywhere in the installation, read only when called:
    # [{"org": organisation name, "data": recorded data and facts}] (None where no session is at hand)
    others: Callable[[], list[Mapping[str, Any]]] | None = None
    # `lookup(name, *args)`: the answer of a registered read-only query (`LOOKUPS`) in the step's unit of work
    # (None where no session is at hand)
    lookup: Callable[..., Any] | None = None
    case_id: int | None = None  # the case's id (None while it is being created)


@dataclass
class Outcome:
    """What an effect adds: facts, recorded data, organisation changes, entity changes (in order)."""

    facts: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    org: dict[str, Any] = field(default_factory=dict)
    entities: list[Any] = field(default_factory=list)  # `workflow.entities.EntityChange`s
    # changes to the organisations of the case's parties, by party name (a transfer's receiving union)
    party_orgs: dict[str, dict[str, Any]] = field(default_factory=dict)


Guard = Callable[[Context], Iterable[Reason]]
Effect = Callable[[Context], Outcome]
Condition = Callable[[Context], bool]

GUARDS: dict[str, Guard] = {}
WITHOUT_DATA: set[str] = set()  # guards that answer without the step's data (see `guard`)
EFFECTS: dict[str, Effect] = {}
CONDITIONS: dict[str, Condition] = {}
LOOKUPS: dict[str, Callable[..., Any]] = {}  # name -> fn(session, *args), read only
# steps the system takes by itself in the deadline sweep: (workflow, trigger) -> fn(session, today) -> case ids
SYSTEM_STEPS: dict[tuple[str, str], Callable[..., Any]] = {}

# organisation fields an effect may change
ORG_FIELDS = frozenset({"union_status", "member_count"})


def _register(table: dict[str, Any], kind: str, name: str) -> Callable[[Any], Any]:
    def decorate(fn: Any) -> Any:
        if name in table and table[name] is not fn:
            raise ValueError(f"{kind} {name!r} is registered twice")
        table[name] = fn
        return fn

    return decorate


def guard(name: str, *, without_data: bool = False) -> Callable[[Guard], Guard]:
    """Register a guard. One registered `without_data` also answers before the step's data is known
    (its context's data is empty): `Engine.available` runs it for steps that take data too."""
    if without_data:
        WITHOUT_DATA.add(name)
    return _register(GUARDS, "guard", name)


def effect(name: str) -> Callable[[Effect], Effect]:
    return _register(EFFECTS, "effect", name)


def condition(name: str) -> Callable[[Condition], Condition]:
    return _register(CONDITIONS, "condition", name)


def system_step(workflow: str, trigger: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the question `fn(session, today)` -> the ids of the `workflow` cases on which the deadline
    sweep fires `trigger` as the system (a transfer certificate's expiry); one indexed query, read only."""
    return _register(SYSTEM_STEPS, "system step", (workflow, trigger))  # type: ignore[arg-type]


def lookup(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a read-only query `fn(session, *args)` that rules may ask through `ctx.lookup(name, *args)`."""
    return _register(LOOKUPS, "lookup", name)
