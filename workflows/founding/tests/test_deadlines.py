"""Deadlines that fire (办理时限, domain.md §6) on a founding case: the deadline set by the step that began the
wait, the sweep's reminder to the deciding union, its escalation to the union above, nothing sent twice, and
nothing decided by the sweep."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

import audit
from services.work import DeadlineAlert, Notification, inbox, sweep, unread_count
from workflow import Case, User
from workflows.founding.tests.flow import (  # noqa: F401  (clock, app_config: fixtures)
    TODAY,
    app_config,
    clock,
    walk,
)


def _notified(db, case_id: int, kinds=("due_soon", "overdue", "escalated")) -> list[tuple[str, str]]:
    with db.read() as session:
        rows = session.execute(select(User.username, Notification.kind).join(User, User.id == Notification.user_id)
                               .where(Notification.case_id == case_id, Notification.kind.in_(kinds))
                               .order_by(Notification.id))
        return [tuple(r) for r in rows]


def _alerts(api, who, case_id: int) -> list[tuple]:
    entries = api.get(f"/cases/{case_id}/audit", who).get_json()["entries"]
    return [(e["trigger"], e["actor"], e["data"]["alert"], e["data"]["due_on"], e["data"]["notified_org"],
             e["data"]["notified"], e["version"]) for e in entries if e["trigger"] in ("remind", "escalate")]


def test_the_application_is_due_fifteen_working_days_after_it_was_made(api, tree, make_case, fire, clock):
    case_id = make_case(tree["prep_m"], "founding")["id"]
    assert api.get(f"/cases/{case_id}", tree["prep_m"]).get_json()["due_on"] is None  # nothing waits in draft
    applied = walk(fire, case_id, "applied", tree["prep_m"], tree["town"])
    # applied on Tuesday 11-10: fifteen working days later is Tuesday 12-01
    assert (applied["due_on"], applied["deadline"]) == ("2026-12-01", None)
    clock.today = date(2026, 11, 26)
    assert api.get(f"/cases/{case_id}", tree["town"]).get_json()["deadline"] == "due_soon"
    clock.today = date(2026, 12, 2)
    assert api.get(f"/cases/{case_id}", tree["town"]).get_json()["deadline"] == "overdue"
    # the decision ends the wait: the approved case waits for the preparer, with no deadline of §6
    done = fire(tree["town"], case_id, "approve_application", {"reply_no": "城工复〔2026〕3号"}, comment="同意")
    assert (done["due_on"], done["deadline"]) == (None, None)


def test_a_step_recorded_later_counts_from_its_business_date(api, tree, make_case, fire, clock):
    clock.today = date(2026, 11, 5)
    case_id = make_case(tree["prep_m"], "founding")["id"]
    walk(fire, case_id, "group_formed", tree["prep_m"], tree["town"])
    clock.today = TODAY
    resp = api.post(f"/cases/{case_id}/events", tree["prep_m"],
                    {"trigger": "apply", "data": {}, "decided_on": "2026-11-09"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["due_on"] == "2026-11-30"  # Monday 11-09 + 15 working days


def test_the_sweep_reminds_then_escalates_once_each(app, db, engine, api, tree, make_case, fire, clock):
    case_id = make_case(tree["prep_m"], "founding")["id"]
    version = walk(fire, case_id, "applied", tree["prep_m"], tree["town"])["version"]

    assert sweep(db, engine, date(2026, 11, 25)).written == 0  # four working days left: not yet due soon
    first = sweep(db, engine, date(2026, 11, 26))
    assert (first.alerts, first.notifications) == ({"due_soon": 1, "overdue": 0, "escalated": 0}, 1)
    again = sweep(db, engine, date(2026, 11, 26))  # the same day again: nothing new, and nothing read
    assert (again.written, again.looked_at) == (0, 0)
    assert sweep(db, engine, date(2026, 12, 1)).written == 0   # the deadline itself: still on time
    assert sweep(db, engine, date(2026, 12, 2)).alerts == {"due_soon": 0, "overdue": 1, "escalated": 0}
    assert sweep(db, engine, date(2026, 12, 3)).alerts == {"due_soon": 0, "overdue": 0, "escalated": 1}
    assert sweep(db, engine, date(2026, 12, 4)).written == 0

    # the deciding union (the town: 30 employees) is reminded; the federation above is told when escalated
    assert _notified(db, case_id) == [("town", "due_soon"), ("town", "overdue"), ("fed", "escalated"),
                                      ("fed_b", "escalated")]
    assert _alerts(api, tree["auditor"], case_id) == [
        ("remind", "system", "due_soon", "2026-12-01", "TOWN", ["town"], version),
        ("remind", "system", "overdue", "2026-12-01", "TOWN", ["town"], version),
        ("escalate", "system", "escalated", "2026-12-01", "FED", ["fed", "fed_b"], version),
    ]
    # nothing is decided by the sweep, and no form goes stale: the case keeps its state and version
    case = api.get(f"/cases/{case_id}", tree["town"]).get_json()
    assert (case["state"], case["version"]) == ("applied", version)
    fire(tree["town"], case_id, "approve_application", {"reply_no": "城工复〔2026〕3号"}, comment="同意", version=version)
    with db.read() as session:
        assert audit.verify(session, lambda: engine.subjects(session)).ok
        assert unread_count(session, tree["town"].id) == 3  # waiting for the town's decision, due soon, overdue
        items, total = inbox(session, tree["fed"].id)
        assert (total, items[0].kind, items[0].params["due_on"]) == (1, "escalated", "2026-12-01")


def test_a_first_sweep_long_after_the_deadline_sends_every_alert_at_once(db, engine, tree, make_case, fire):
    case_id = make_case(tree["prep_m"], "founding")["id"]
    walk(fire, case_id, "applied", tree["prep_m"], tree["town"])
    result = sweep(db, engine, date(2026, 12, 10))
    assert result.alerts == {"due_soon": 1, "overdue": 1, "escalated": 1}
    with db.read() as session:
        kinds = session.scalars(select(DeadlineAlert.kind).where(DeadlineAlert.case_id == case_id)
                                .order_by(DeadlineAlert.id)).all()
        assert kinds == ["due_soon", "overdue", "escalated"]


def test_a_decision_of_the_root_is_reminded_but_escalated_to_nobody_and_not_looked_at_again(
        db, engine, api, tree, make_case, fire):
    # ENT-L (60 employees) applies to the district federation, which has no organisation above it
    case_id = make_case(tree["prep"], "founding")["id"]
    walk(fire, case_id, "applied", tree["prep"], tree["fed"])
    first = sweep(db, engine, date(2026, 12, 10))
    assert first.alerts == {"due_soon": 1, "overdue": 1, "escalated": 0}
    assert [a[:3] for a in _alerts(api, tree["auditor"], case_id)] == [("remind", "system", "due_soon"),
                                                                      ("remind", "system", "overdue")]
    for day in (date(2026, 12, 10), date(2026, 12, 11), date(2026, 12, 14)):
        later = sweep(db, engine, day)
        assert (later.written, later.looked_at) == (0, 0), day


def test_a_case_waiting_from_before_deadlines_were_recorded_gets_its_deadline(db, engine, tree, make_case, fire):
    case_id = make_case(tree["prep_m"], "founding")["id"]
    walk(fire, case_id, "applied", tree["prep_m"], tree["town"])
    with db.write() as session:  # as the migration leaves a case that was waiting before it
        session.get(Case, case_id).due_on = None
    result = sweep(db, engine, date(2026, 11, 20))
    assert (result.deadlines_set, result.written) == (1, 0)
    with db.read() as session:
        assert session.get(Case, case_id).due_on == date(2026, 12, 1)


def test_flask_sweep(app, tree, make_case, fire):
    case_id = make_case(tree["prep_m"], "founding")["id"]
    walk(fire, case_id, "applied", tree["prep_m"], tree["town"])
    runner = app.test_cli_runner()
    out = runner.invoke(args=["sweep", "--today", "2026-12-02"])
    assert out.exit_code == 0, out.output
    assert "1 due soon, 1 overdue, 0 escalated; 2 notifications" in out.output
    again = runner.invoke(args=["sweep", "--today", "2026-12-02"])
    assert "0 due soon, 0 overdue, 0 escalated; 0 notifications" in again.output
    bad = runner.invoke(args=["sweep", "--today", "12/02/2026"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_a_step_tells_whom_it_concerns_and_never_its_own_actor(db, tree, make_case, fire):
    steps = ("returned", "waiting", "decided")
    case_id = make_case(tree["prep_m"], "founding")["id"]
    walk(fire, case_id, "group_formed", tree["prep_m"], tree["town"])
    assert _notified(db, case_id, steps) == []  # the preparer's own next step: nobody else waits
    fire(tree["prep_m"], case_id, "apply", {}, comment="申请成立工会")
    assert _notified(db, case_id, steps) == [("town", "waiting")]
    fire(tree["town"], case_id, "return_application", {}, comment="材料不全，请补充")
    assert _notified(db, case_id, steps)[-1] == ("prep_m", "returned")
    with db.read() as session:
        items, _ = inbox(session, tree["prep_m"].id)
        assert (items[0].params["by"], items[0].params["comment"]) == ("town", "材料不全，请补充")
    fire(tree["prep_m"], case_id, "apply", {}, comment="已补充")
    fire(tree["town"], case_id, "reject_application", {}, comment="不符合条件")
    assert _notified(db, case_id, steps) == [("town", "waiting"), ("prep_m", "returned"), ("town", "waiting"),
                                             ("prep_m", "decided")]
