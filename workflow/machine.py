"""One `transitions` machine per definition, built once and shared.

The machine holds the definition's graph: which transitions a trigger has
from a state, and the conditions that choose between several of them. The
engine asks it; it never binds a model per call, so firing a step costs no
machine construction.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from transitions import Machine

from definitions import Definition, Transition


class DefinitionMachine:
    def __init__(self, definition: Definition):
        self.definition = definition
        self.machine = Machine(
            model=None,
            states=[s.name for s in definition.states],
            initial=definition.initial,
            transitions=[
                {
                    "trigger": t.trigger,
                    "source": t.source,
                    "dest": t.dest,
                    "conditions": list(t.conditions),
                    "unless": list(t.unless),
                }
                for t in definition.transitions
            ],
            auto_transitions=False,
            send_event=True,
        )
        # keyed as the machine's transitions name them (their dest is typed `str | None`)
        self._by_key: dict[tuple[str, str, str | None], Transition] = {
            (t.trigger, t.source, t.dest): t for t in definition.transitions
        }
        self._found: dict[tuple[str, str], tuple[Transition, ...]] = {}  # the machine's answers, kept
        roles: dict[str, set[str]] = {}
        for t in definition.transitions:
            roles.setdefault(t.trigger, set()).update(t.roles)
        self._roles = {trigger: frozenset(r) for trigger, r in roles.items()}

    def transitions_for(self, trigger: str, state: str) -> tuple[Transition, ...]:
        """The definition's transitions of `trigger` from `state`, in the machine's order."""
        found = self._found.get((trigger, state))
        if found is None:
            found = self._found[(trigger, state)] = tuple(
                self._by_key[(trigger, state, t.dest)] for t in self.machine.get_transitions(trigger=trigger,
                                                                                              source=state))
        return found

    def roles_of(self, trigger: str) -> frozenset[str]:
        """Every role that fires `trigger` from some state."""
        return self._roles.get(trigger, frozenset())

    def choose(
        self, candidates: Sequence[Transition], ctx: Any, conditions: Mapping[str, Callable[[Any], bool]]
    ) -> Transition:
        """The first candidate whose conditions all hold (transitions' own semantics)."""
        if len(candidates) == 1:
            return candidates[0]
        trigger, state = candidates[0].trigger, candidates[0].source
        for mt in self.machine.get_transitions(trigger=trigger, source=state):
            # the machine is built with condition names, never callables
            if all(bool(conditions[cast(str, c.func)](ctx)) == c.target for c in mt.conditions):
                return self._by_key[(trigger, state, mt.dest)]
        raise LookupError(f"no transition of {trigger!r} from {state!r} has its conditions met")


_MACHINES: dict[tuple[str, str, str], DefinitionMachine] = {}


def machine_for(definition: Definition) -> DefinitionMachine:
    key = (definition.name, definition.version, definition.fingerprint)
    machine = _MACHINES.get(key)
    if machine is None:
        machine = _MACHINES.setdefault(key, DefinitionMachine(definition))
    return machine
