"""Business dates in the founding: the candidates' posting and the 60-day legal-person registration count
from the days the steps took place, not from when they were recorded."""
from __future__ import annotations

from datetime import timedelta

from workflows.founding.tests.flow import (  # noqa: F401  (clock, app_config: fixtures)
    APPROVAL_NO,
    TODAY,
    app_config,
    clock,
    walk,
)


def codes(resp) -> list[str]:
    return [r["code"] for r in resp.get_json()["error"]["reasons"]]


def sanction(api, who, case_id, decided_on):
    return api.post(f"/cases/{case_id}/events", who, {"trigger": "sanction", "data": {"approval_no": APPROVAL_NO},
                                                      "comment": "同意成立", "decided_on": decided_on})


def test_the_registration_window_counts_60_days_from_the_sanctions_business_date(api, tree, make_case, clock):
    prep, fed, fed_b = tree["prep"], tree["fed"], tree["fed_b"]
    case_id = make_case(prep, "founding")["id"]
    walk(lambda *a, **k: _fire(api, *a, **k), case_id, "results_submitted", prep, fed)
    sanctioned_on = TODAY + timedelta(days=2)
    clock.today = TODAY + timedelta(days=30)  # the 批复 was signed on paper four weeks before it is recorded
    resp = sanction(api, fed_b, case_id, sanctioned_on.isoformat())
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    due = sanctioned_on + timedelta(days=60)
    assert body["data"]["founded_on"] == sanctioned_on.isoformat()
    assert body["data"]["registration_due_on"] == due.isoformat()
    assert body["decided_on"] == sanctioned_on.isoformat()
    clock.today = due
    assert api.get(f"/cases/{case_id}", prep).get_json()["overdue"] == []
    clock.today = due + timedelta(days=1)
    assert api.get(f"/cases/{case_id}", prep).get_json()["overdue"] == ["registration_due_on"]


def test_the_sanction_may_not_be_dated_before_the_submission_nor_after_today(api, tree, make_case, clock):
    prep, fed, fed_b = tree["prep"], tree["fed"], tree["fed_b"]
    case_id = make_case(prep, "founding")["id"]
    walk(lambda *a, **k: _fire(api, *a, **k), case_id, "results_submitted", prep, fed)  # all on TODAY
    assert codes(sanction(api, fed_b, case_id, (TODAY - timedelta(days=1)).isoformat())) == ["decided_on_out_of_order"]
    assert codes(sanction(api, fed_b, case_id, (TODAY + timedelta(days=1)).isoformat())) == ["decided_on_future"]
    assert sanction(api, fed_b, case_id, TODAY.isoformat()).status_code == 200


def test_the_candidates_posting_ends_by_the_business_date_of_the_vetting(api, tree, make_case, clock):
    """Posted on TODAY - 8 for 7 days: a vetting dated TODAY - 1 is allowed, one dated TODAY - 2 is not, whenever
    it is recorded."""
    prep, fed = tree["prep"], tree["fed"]
    posted = TODAY - timedelta(days=8)
    created = api.post("/cases", prep, {"workflow": "founding", "org": "ENT-L",
                                        "decided_on": (posted - timedelta(days=5)).isoformat()})
    case_id = created.get_json()["id"]
    events = f"/cases/{case_id}/events"
    for trigger, who, data in [("form_group", prep, {"group_members": ["张伟", "王芳", "李娜", "刘洋", "陈静"]}),
                               ("apply", prep, {}), ("approve_application", fed, {"reply_no": "滨工复〔2026〕12号"}),
                               ("record_members", prep, {"member_count": 40, "female_member_count": 12})]:
        assert api.post(events, who, {"trigger": trigger, "data": data,
                                      "decided_on": (posted - timedelta(days=5)).isoformat()}).status_code == 200
    from workflows.founding.tests.flow import nomination

    resp = api.post(events, prep, {"trigger": "nominate", "data": nomination(posted), "decided_on": posted.isoformat()})
    assert resp.status_code == 200, resp.get_json()
    clock.today = TODAY + timedelta(days=20)
    early = api.post(events, fed, {"trigger": "approve_candidates", "decided_on": (TODAY - timedelta(days=2)).isoformat()})
    assert codes(early) == ["posting_period_not_elapsed"]
    ok = api.post(events, fed, {"trigger": "approve_candidates", "decided_on": (TODAY - timedelta(days=1)).isoformat()})
    assert ok.status_code == 200, ok.get_json()


def _fire(api, who, case_id, trigger, data=None, comment=None):
    body = {"trigger": trigger, "data": data or {}}
    if comment is not None:
        body["comment"] = comment
    resp = api.post(f"/cases/{case_id}/events", who, body)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()
