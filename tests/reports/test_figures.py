"""Coverage figures (建会率 / 入会率) on the constructed district: subtree sums, children, ledger, targets."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction

import pytest
from sqlalchemy import event

from workflows.founding.tests.flow import TODAY, walk
from services.accounts import get_org
from services.reports import Figures, Targets, coverage, ledger, progress, targets_for

PARAMS = {"targets": {2026: {"founding_rate": 0.65, "membership_rate": 0.82},
                      2028: {"founding_rate": 0.90, "membership_rate": 0.93}},
          "large_enterprise_employees": 100}


def figures(db, code: str, year: int = 2026, **kw):
    with db.read() as session:
        return coverage(session, get_org(session, code), params=PARAMS, year=year, **kw)


def test_subtree_totals(db, district):
    c = figures(db, "FED")
    assert (c.all.enterprises, c.all.founded, c.all.founding) == (7, 2, 1)
    assert (c.all.employees, c.all.members, c.all.founded_employees) == (694, 227, 280)
    assert c.all.founding_rate == 2 / 7
    assert c.all.membership_rate == 227 / 694
    assert c.all.in_founded_rate == 227 / 280
    # another federation's enterprise never counts
    assert figures(db, "FED2").all.enterprises == 1


def test_children_are_each_childs_subtree(db, district):
    c = figures(db, "FED")
    rows = {r.code: r for r in c.children}
    assert [r.code for r in c.children] == ["TOWN", "TOWN2", "ENT-B3", "ENT-B4", "ENT-L"]
    town = rows["TOWN"].all
    assert (town.enterprises, town.founded, town.employees, town.members) == (4, 1, 234, 27)
    assert rows["ENT-B3"].all == Figures(1, 1, 0, 250, 200, 250, 0)
    assert rows["ENT-B4"].all.founding == 1
    # the children add up to the whole (FED itself is no enterprise)
    total = Figures()
    for r in c.children:
        total = total + r.all
    assert total == c.all
    assert [r.code for r in c.union_children] == ["TOWN", "TOWN2"]
    assert c.direct is not None and c.direct.all.enterprises == 3 and c.direct.all.employees == 460


def test_empty_subtrees_have_null_rates_not_errors(db, district):
    c = figures(db, "TOWN2")
    assert (c.all.enterprises, c.all.employees, c.children, c.ledger) == (0, 0, (), ())
    assert c.all.founding_rate is None and c.all.membership_rate is None and c.all.in_founded_rate is None
    p = c.progress
    assert (p.founding_met, p.membership_met) == (None, None)
    assert (p.unions_needed, p.members_needed) == (0, 0)
    child = {r.code: r for r in figures(db, "TOWN").children}["COM2"]
    assert child.all.enterprises == 0 and child.all.founding_rate is None and child.all.membership_rate is None
    assert figures(db, "FED").as_dict()["children"][1] == {
        "org": "TOWN2", "name": "空白镇工会", "kind": "town", "enterprises": 0, "founded": 0,
        "founding_rate": None, "employees": 0, "members": 0, "membership_rate": None}


def test_an_enterprise_is_its_own_subtree(db, district):
    c = figures(db, "ENT-B3")
    assert (c.all.enterprises, c.all.founded, c.all.founding_rate, c.all.membership_rate) == (1, 1, 1.0, 0.8)
    assert c.children == ()


def test_large_means_100_or_more_employees(db, district):
    c = figures(db, "FED")
    assert (c.large.enterprises, c.large.founded, c.large.founding, c.large.employees, c.large.members) == \
        (3, 1, 1, 500, 200)
    assert c.large.without_union == 2
    rows = {r.code: r for r in figures(db, "TOWN").children}
    assert rows["ENT-B1"].large.enterprises == 1      # exactly 100
    assert rows["COM"].large.enterprises == 0         # 99 and 5


def test_ledger_lists_large_enterprises_without_union_largest_first(db, district):
    c = figures(db, "FED")
    assert [(r.code, r.employees, r.case_state, r.union_status) for r in c.ledger] == [
        ("ENT-B4", 150, "applied", "founding"), ("ENT-B1", 100, None, "none")]
    assert c.ledger_total == 2
    b4 = c.ledger[0]
    assert b4.case_id == district["case_b4"] and b4.parent_code == "FED" and b4.days_in_state == 0
    assert c.ledger[1].case_id is None and c.ledger[1].days_in_state is None
    with db.read() as session:
        org = get_org(session, "FED")
        later = b4.state_since.replace(tzinfo=timezone.utc) + timedelta(days=3, hours=1)
        rows, total = ledger(session, org, threshold=100, limit=1, offset=1, now=later)
        assert total == 2 and [r.code for r in rows] == ["ENT-B1"]
        rows, _ = ledger(session, org, threshold=100, now=later)
        assert rows[0].days_in_state == 3
        # the threshold is the profile's: at 151 nobody is large
        assert ledger(session, org, threshold=151) == ([], 0)
    assert figures(db, "TOWN").ledger[0].code == "ENT-B1"
    assert figures(db, "ENT-B3").ledger == ()


def test_a_closed_case_leaves_no_state(db, district, fire):
    fire(district["prep_b4"], district["case_b4"], "withdraw", {}, comment="企业搬迁")
    c = figures(db, "FED")
    b4 = c.ledger[0]
    assert b4.code == "ENT-B4" and b4.case_state is None and b4.case_id is None


def test_ledger_limit_keeps_the_total(db, district):
    c = figures(db, "FED", ledger_limit=1)
    assert len(c.ledger) == 1 and c.ledger_total == 2
    c = figures(db, "FED", ledger_limit=0)
    assert c.ledger == () and c.ledger_total == 2


def test_new_foundings_count_in_their_year(db, district, fire, make_case):
    case_id = make_case(district["prep"], "founding", "ENT-L")["id"]
    walk(fire, case_id, "founded", district["prep"], district["fed"], district["fed_b"])
    c = figures(db, "FED", 2026)
    assert TODAY.year == 2026
    assert c.all.founded == 3 and c.all.new_founded == 1 and c.large.new_founded == 0
    assert {r.code: r.all.new_founded for r in c.children}["ENT-L"] == 1
    assert figures(db, "FED", 2025).all.new_founded == 0
    assert figures(db, "ENT-L", 2026).all.new_founded == 1
    # members come from the sanctioned case (40 recorded)
    assert c.all.members == 227 + 40


def test_targets_for_a_year():
    assert targets_for(PARAMS, 2026) == Targets(2026, 2026, Fraction(65, 100), Fraction(82, 100))
    assert targets_for(PARAMS, 2027).from_year == 2026       # no entry: the latest earlier one stands
    assert targets_for(PARAMS, 2031).founding_rate == Fraction(9, 10)
    assert targets_for(PARAMS, 2025) == Targets(2025, None, None, None)
    assert targets_for({"targets": {"2026": {"founding_rate": 0.5}}}, 2026).membership_rate is None
    assert targets_for({}, 2026).from_year is None
    with pytest.raises(ValueError):
        targets_for({"targets": {2026: {"founding_rate": 65}}}, 2026)


@pytest.mark.parametrize("founded, enterprises, met, needed", [
    (13, 20, True, 0), (12, 20, False, 1), (0, 20, False, 13), (20, 20, True, 0), (0, 0, None, 0),
    (65, 100, True, 0), (64, 100, False, 1),
])
def test_founding_target_at_its_boundary(founded, enterprises, met, needed):
    p = progress(Figures(enterprises, founded), Targets(2026, 2026, Fraction(13, 20), None))
    assert (p.founding_met, p.unions_needed) == (met, needed)
    assert (p.membership_met, p.members_needed) == (None, None)


@pytest.mark.parametrize("members, employees, met, needed", [
    (82, 100, True, 0), (81, 100, False, 1), (41, 50, True, 0), (40, 50, False, 1), (820, 1000, True, 0),
    (819, 1000, False, 1), (0, 0, None, 0),
])
def test_membership_target_at_its_boundary(members, employees, met, needed):
    t = targets_for({"targets": {2026: {"membership_rate": 0.82}}}, 2026)
    p = progress(Figures(employees=employees, members=members), t)
    assert (p.membership_met, p.members_needed) == (met, needed)


def test_children_take_one_grouped_query(db, district, make_org):
    def statements() -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            figures(db, "FED")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    before = statements()
    for i in range(6):
        make_org(f"TOWN-N{i}", "town", "FED")
        make_org(f"ENT-N{i}", "enterprise", f"TOWN-N{i}", employees=120)
    assert statements() == before
    assert len(figures(db, "FED").children) == 11


def test_now_is_utc_aware(db, district):
    c = figures(db, "FED", now=datetime.now(timezone.utc) + timedelta(days=10))
    assert c.ledger[0].days_in_state == 10
