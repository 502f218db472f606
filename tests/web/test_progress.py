"""The steps every workflow's pages count ("第n步，共m步"), derived from the definitions in one place."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from web.progress import phase_specs, phases, rank_of


def numbered(definition) -> list[tuple[int | None, str, str]]:
    specs, _order = phase_specs(definition)
    return [(s.n, s.start, s.done) for s in specs]


def test_hardship_counts_five_steps_and_closing_the_file_after_them(catalog):
    assert numbered(catalog.definition("hardship")) == [
        (1, "draft", "applied"), (2, "applied", "reviewed"), (3, "reviewed", "posting"),
        (4, "posting", "submitted"), (5, "submitted", "assisted"), (None, "assisted", "closed")]


def test_inspection_counts_four_steps_and_a_rectification_redoes_the_scoring(catalog):
    d = catalog.definition("inspection")
    assert numbered(d) == [(1, "planned", "self_assessed"), (2, "self_assessed", "evaluated"),
                           (3, "evaluated", "inspected"), (4, "inspected", "passed")]
    _specs, order = phase_specs(d)
    # failed → rectifying → (reinspect) → inspected: they stand before the scoring's destination
    assert rank_of(d, "failed", order) == rank_of(d, "rectifying", order) == order.index("evaluated")


def test_founding_keeps_its_eight_phases(catalog):
    d = catalog.definition("founding")
    got = numbered(d)
    assert [n for n, _s, _d in got] == [1, 2, 3, 4, 5, 6, 7, 8, None]
    assert got[4] == (5, "members_recruited", "candidates_approved")


@pytest.mark.parametrize("state, statuses", [
    ("draft", ["current", "todo", "todo", "todo", "todo", "todo"]),
    ("posting", ["done", "done", "done", "current", "todo", "todo"]),
    ("assisted", ["done", "done", "done", "done", "done", "current"]),
    ("closed", ["done"] * 6),
])
def test_the_status_of_each_hardship_step(catalog, state, statuses):
    case = SimpleNamespace(state=state, closed=state == "closed")
    assert [p.status for p in phases(catalog.definition("hardship"), case, [])] == statuses


def test_a_declined_case_stopped_at_the_step_it_was_at(catalog):
    case = SimpleNamespace(state="declined", closed=True)
    entries = [{"from": "submitted", "to": "declined", "actor": "fed", "at": "2026-11-10T01:00:00.000000Z"}]
    shown = phases(catalog.definition("hardship"), case, entries)
    assert [p.status for p in shown] == ["done"] * 4 + ["stopped", "not_reached"]
