"""A case's progress through the steps of its workflow ("第5步，共8步"), for the case page and every step form.

The steps come from the definition, alike for every workflow:

* where a workflow groups its transitions into phases of its own (`extra.phases`: `n`, `from`, `done`,
  `label`, as founding does), those phases;
* else the main line of its `way: forward` transitions: from the initial state, each forward transition
  (the first of the state's, in the definition's order) leading to a state not reached before. The step is
  named by its transition's label and is done once the case reached its destination. A last forward step
  from an open state into a final one (closing a file, registering) comes after the numbered steps and
  carries no number.

A state off the main line (a failed inspection being rectified) stands at the step whose destination its
forward transitions lead back to; a case that ended (rejected, withdrawn) stopped at the step it was at.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Mapping, Sequence

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from definitions import Definition
from workflow import Case, User

from .i18n import local_time, text

BESIDE = ("out", "leave", "back")  # the ways that are no step forward


@dataclass(frozen=True)
class PhaseSpec:
    """One step of a workflow: it starts where the case stands in `start` and is done at `done`."""

    n: int | None
    label: Any  # a zh/en label
    start: str
    done: str


@dataclass
class Phase:
    n: int | None
    label: str
    status: str  # done | current | todo | stopped | not_reached
    done_on: date | None = None
    done_by: str = ""
    note: str = ""


@dataclass
class Progress:
    """The steps with their status, and the sentence the pages say of them."""

    phases: list[Phase]
    numbered: int  # how many steps carry a number
    state: str
    closed: bool
    ended: bool  # closed without success (rejected, declined, withdrawn, revoked)
    state_label: str = ""
    current: Phase | None = field(default=None)

    @property
    def n(self) -> int | None:
        return self.current.n if self.current is not None else None

    @property
    def headline(self) -> str:
        """第n步，共m步 (and the step's name), or where the case stands when it has no numbered step to take."""
        cur = self.current
        if self.ended:
            if cur is not None and cur.n:
                return _("在第%(n)s步（%(step)s）终止：%(state)s", n=cur.n, step=cur.label, state=self.state_label)
            return _("已终止：%(state)s", state=self.state_label)
        if self.closed:
            return _("已全部办结")
        if cur is not None and cur.n:
            return _("第%(n)s步，共%(total)s步：%(step)s", n=cur.n, total=self.numbered, step=cur.label)
        if cur is not None:
            return _("%(total)s步均已完成，后续：%(step)s", total=self.numbered, step=cur.label)
        return _("%(total)s步均已完成", total=self.numbered)


def main_line(definition: Definition) -> list[tuple[str, Any]]:
    """The states of the main line in order, each with the label of the forward step that reaches it
    (the initial state's is None)."""
    line: list[tuple[str, Any]] = [(definition.initial, None)]
    seen = {definition.initial}
    while True:
        here = line[-1][0]
        step = next((t for t in definition.transitions_from(here)
                     if t.way not in BESIDE and t.dest != here and t.dest not in seen), None)
        if step is None:
            return line
        line.append((step.dest, step.label))
        seen.add(step.dest)


def phase_specs(definition: Definition) -> tuple[list[PhaseSpec], list[str]]:
    """The workflow's steps and the order of the states they pass (see the module's docstring)."""
    line = main_line(definition)
    order = [s for s, _label in line]
    given = definition.extra.get("phases")
    if given:
        specs = [PhaseSpec(p.get("n"), p["label"], p["from"], p["done"]) for p in given]
        for s in [p.start for p in specs] + [specs[-1].done]:  # a phase's state the forward walk missed
            if s not in order:
                order.append(s)
        return specs, order
    specs = []
    finals = definition.final_states
    for i, (state, label) in enumerate(line[1:], start=1):
        after = i == len(line) - 1 and i > 1 and state in finals and line[i - 1][0] not in finals
        specs.append(PhaseSpec(None if after else i, label, line[i - 1][0], state))
    return specs, order


def rank_of(definition: Definition, state: str, order: list[str]) -> int:
    """Where a state stands on the main line; a state off it at the step its forward transitions lead back to."""
    if state in order:
        return order.index(state)
    seen, frontier = {state}, [state]
    while frontier:  # breadth first: the nearest state of the main line
        following = []
        for s in frontier:
            for t in definition.transitions_from(s):
                if t.way in BESIDE or t.dest in seen:
                    continue
                if t.dest in order:
                    return max(0, order.index(t.dest) - 1)
                seen.add(t.dest)
                following.append(t.dest)
        frontier = following
    return 0


def entry_day(entry: Mapping[str, Any]) -> date:
    """The business date of a trail entry; for an entry without one, the local day it was recorded."""
    if entry.get("decided_on"):
        return date.fromisoformat(entry["decided_on"])
    at = datetime.strptime(entry["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return date.fromisoformat(local_time(at, "yyyy-MM-dd"))


def phases(definition: Definition, case: Case, entries: Sequence[Mapping[str, Any]], waiting: str = "",
           stopped_note: str | None = None, names: Mapping[str, str] | None = None) -> list[Phase]:
    """Each step with its status: done (when and by whom), current (with `waiting`: who acts next), to do;
    for a case that ended, the step it stopped at and those it never reached."""
    specs, order = phase_specs(definition)
    stopped = case.state in definition.ended_states
    here = entries[-1]["from"] if stopped and entries and entries[-1].get("from") else case.state
    rank = rank_of(definition, here, order)
    if not waiting and not stopped and case.state not in order:
        waiting = text(definition.state(case.state).label, case.state)  # e.g. 整改中
    out = []
    for p in specs:
        start, done = order.index(p.start), order.index(p.done)
        finished = next((e for e in reversed(entries) if e.get("to") == p.done), None)
        if rank >= done:
            status = "done"
        elif rank >= start:
            status = "stopped" if stopped else "current"
        else:
            status = "not_reached" if stopped else "todo"
        note = ""
        if status == "current":
            note = waiting
        elif status == "stopped":
            note = stopped_note if stopped_note is not None else (
                _("本案已撤回") if case.state in definition.left_states
                else text(definition.state(case.state).label, case.state))
        out.append(Phase(p.n, text(p.label), status,
                         entry_day(finished) if finished and status == "done" else None,
                         (names or {}).get(finished["actor"], finished["actor"]) if finished and status == "done"
                         else "", note))
    return out


def actor_names(session: Session, entries: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The people's names of the trail's actors, by username (one query)."""
    wanted = {e["actor"] for e in entries if e.get("actor")}
    if not wanted:
        return {}
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(wanted)))
    return {u: (d or u) for u, d in rows}


def progress(definition: Definition, case: Case, entries: Sequence[Mapping[str, Any]], waiting: str = "",
             names: Mapping[str, str] | None = None) -> Progress:
    """The case's progress, for the pages: its steps and the step it is at (who did each, by `names`)."""
    shown = phases(definition, case, entries, waiting, names=names)
    try:
        label = text(definition.state(case.state).label, case.state)
    except KeyError:
        label = case.state
    current = next((p for p in shown if p.status in ("current", "stopped")), None)
    return Progress(shown, sum(1 for p in shown if p.n), case.state, bool(case.closed),
                    case.state in definition.ended_states, label, current)
