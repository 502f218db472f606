"""Absence delegation (代理, api.md "Work"): a user names a substitute of the same organisation and role for a
period, both days included; in it the substitute takes the decisions claimed by or assigned to the delegator,
and the entry of such a decision names both; four eyes still holds for the substitute. Creating and ending a
delegation are audited; every bad request names each problem."""
from __future__ import annotations

from datetime import date

import pytest

from tests.support import Clock

TODAY = date(2026, 11, 20)


@pytest.fixture
def app_config(app_config, clock):
    return {**app_config, "UNIONFLOW_CLOCK": clock}


def delegate(api, who, to, starts_on, ends_on):
    return api.post("/delegations", who, {"to": to, "starts_on": starts_on, "ends_on": ends_on})


def codes(resp) -> list[str]:
    return [r["code"] for r in resp.get_json()["error"]["reasons"]]


def verified(api, tree) -> bool:
    return api.get("/audit/verify", tree["auditor"]).get_json()["ok"]


@pytest.fixture
def claimed(api, tree, make_case, fire):
    """A sample case submitted by ENT-L's preparer and claimed by FED's reviewer fed."""
    case_id = make_case(tree["prep"])["id"]
    fire(tree["prep"], case_id, "submit", {"amount": 7})
    assert api.post(f"/cases/{case_id}/claim", tree["fed"], {}).status_code == 200
    return case_id


def test_a_delegation_is_created_listed_and_audited(api, tree):
    resp = delegate(api, tree["fed"], "fed_b", "2026-11-23", "2026-11-27")
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    assert (made["from"], made["to"], made["starts_on"], made["ends_on"], made["active"], made["ended_at"]) == (
        "fed", "fed_b", "2026-11-23", "2026-11-27", False, None)
    assert [d["id"] for d in api.get("/delegations", tree["fed"]).get_json()["items"]] == [made["id"]]
    assert [d["id"] for d in api.get("/delegations", tree["fed_b"]).get_json()["items"]] == [made["id"]]
    assert api.get("/delegations", tree["town"]).get_json()["items"] == []
    entries = api.get("/audit/verify", tree["auditor"]).get_json()
    assert entries["ok"] is True


def test_a_one_day_delegation_and_its_boundaries(api, tree, clock: Clock):
    assert delegate(api, tree["fed"], "fed_b", "2026-11-20", "2026-11-20").status_code == 201  # today, one day
    resp = delegate(api, tree["fed_b"], "fed", "2026-11-25", "2026-11-24")  # ends one day before it starts
    assert resp.status_code == 422 and codes(resp) == ["delegation_ends_before_start"]
    resp = delegate(api, tree["fed_b"], "fed", "2026-11-19", "2026-11-24")  # yesterday
    assert resp.status_code == 422 and codes(resp) == ["delegation_starts_in_past"]


@pytest.mark.parametrize("who, to, reasons", [
    ("fed", "fed", ["delegate_to_self"]),
    ("fed", "town", ["delegate_other_org"]),            # a reviewer of another organisation
    ("fed", "auditor", ["delegate_other_role"]),        # FED's auditor
    ("fed", "prep", ["delegate_other_org", "delegate_other_role"]),
    ("fed", "nobody", ["delegate_unknown"]),
])
def test_a_substitute_must_be_a_colleague_of_the_same_role(api, tree, who, to, reasons):
    resp = delegate(api, tree[who], to, "2026-11-23", "2026-11-27")
    assert resp.status_code == 422 and codes(resp) == reasons
    assert api.get("/delegations", tree[who]).get_json()["items"] == []


def test_every_problem_is_named_together(api, tree):
    resp = delegate(api, tree["fed"], "fed", "2026-11-19", "2026-11-18")
    assert resp.status_code == 422
    assert codes(resp) == ["delegate_to_self", "delegation_ends_before_start", "delegation_starts_in_past"]
    messages = " ".join(r["message"] for r in resp.get_json()["error"]["reasons"])
    assert "自己" in messages and "2026-11-18" in messages


@pytest.mark.parametrize("body, fields", [
    ({"to": "fed_b", "starts_on": "2026/11/23", "ends_on": "2026-11-27"}, {"starts_on"}),
    ({"to": "fed_b", "starts_on": "2026-11-23", "ends_on": "2026-11-31"}, {"ends_on"}),
    ({"to": "fed_b", "starts_on": "23.11.2026", "ends_on": 20261127}, {"starts_on", "ends_on"}),
    ({"starts_on": "2026-11-23"}, {"to", "ends_on"}),
    ({"to": "fed_b", "starts_on": "2026-11-23", "ends_on": "2026-11-27", "why": "x"}, {"why"}),
])
def test_dates_not_written_yyyy_mm_dd_are_named(api, tree, body, fields):
    resp = api.post("/delegations", tree["fed"], body)
    assert resp.status_code == 400
    assert set(resp.get_json()["error"]["fields"]) == fields


def test_overlapping_delegations_are_refused(api, tree, make_user):
    make_user("fed_c", "reviewer", "FED")
    assert delegate(api, tree["fed"], "fed_b", "2026-11-23", "2026-11-27").status_code == 201
    for starts, ends in (("2026-11-27", "2026-11-30"), ("2026-11-20", "2026-11-23"), ("2026-11-24", "2026-11-25")):
        resp = delegate(api, tree["fed"], "fed_c", starts, ends)
        assert resp.status_code == 422 and codes(resp) == ["delegation_overlaps"], (starts, ends)
    assert delegate(api, tree["fed"], "fed_c", "2026-11-28", "2026-11-30").status_code == 201  # the day after
    assert delegate(api, tree["fed"], "fed_c", "2026-11-20", "2026-11-22").status_code == 201  # the day before


def test_the_substitute_acts_on_the_first_and_last_day_only(api, tree, fire, claimed, clock: Clock):
    assert delegate(api, tree["fed"], "fed_b", "2026-11-23", "2026-11-24").status_code == 201
    for day, allowed in ((date(2026, 11, 22), False), (date(2026, 11, 23), True), (date(2026, 11, 24), True),
                         (date(2026, 11, 25), False)):
        clock.today = day
        offered = {a["trigger"]: a for a in api.get(f"/cases/{claimed}", tree["fed_b"]).get_json()["available"]}
        assert offered["approve"]["allowed"] is allowed, day
    clock.today = date(2026, 11, 22)
    assert fire(tree["fed_b"], claimed, "approve", expect=403)["error"]["code"] == "assigned_to_other"
    clock.today = date(2026, 11, 25)
    assert fire(tree["fed_b"], claimed, "approve", expect=403)["error"]["code"] == "assigned_to_other"
    clock.today = date(2026, 11, 24)
    case = fire(tree["fed_b"], claimed, "approve")
    assert (case["state"], case["assignee"]) == ("approved", None)
    entry = api.get(f"/cases/{claimed}/audit", tree["auditor"]).get_json()["entries"][-1]
    assert (entry["trigger"], entry["actor"], entry["data"]["on_behalf_of"]) == ("approve", "fed_b", "fed")
    assert isinstance(entry["data"]["delegation"], int)
    assert verified(api, tree)


def test_the_substitute_acts_on_the_first_day(api, tree, fire, claimed, clock: Clock):
    assert delegate(api, tree["fed"], "fed_b", "2026-11-23", "2026-11-24").status_code == 201
    clock.today = date(2026, 11, 23)
    assert fire(tree["fed_b"], claimed, "approve")["state"] == "approved"


def test_a_substitute_releases_or_hands_on_the_delegators_decision(api, tree, claimed, make_user):
    make_user("fed_c", "reviewer", "FED")
    assert delegate(api, tree["fed"], "fed_b", "2026-11-20", "2026-11-21").status_code == 201
    resp = api.post(f"/cases/{claimed}/assign", tree["fed_b"], {"user": "fed_c"})
    assert resp.status_code == 200 and resp.get_json()["assignee"] == "fed_c"
    entry = api.get(f"/cases/{claimed}/audit", tree["auditor"]).get_json()["entries"][-1]
    assert (entry["trigger"], entry["actor"], entry["data"]["on_behalf_of"], entry["data"]["assignee"]) == (
        "assign", "fed_b", "fed", "fed_c")
    # fed_c is nobody's substitute: the decision is theirs alone now
    resp = api.post(f"/cases/{claimed}/release", tree["fed_b"], {})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "assigned_to_other"


def test_an_unclaimed_decision_is_anyones_anyway(api, tree, fire, make_case):
    case_id = make_case(tree["prep"])["id"]
    fire(tree["prep"], case_id, "submit", {"amount": 7})
    assert delegate(api, tree["fed"], "fed_b", "2026-11-20", "2026-11-21").status_code == 201
    fire(tree["fed_b"], case_id, "approve")
    entry = api.get(f"/cases/{case_id}/audit", tree["auditor"]).get_json()["entries"][-1]
    assert "on_behalf_of" not in entry["data"]  # fed_b decided in their own right


def test_four_eyes_holds_for_the_substitute(api, tree, fire, make_org, make_user, make_case, found):
    from workflows.inspection.tests.test_rules import EXTRA, full_scores

    make_org("ENT-BIG", "enterprise", "FED", employees=2000, female_employees=900, name="大型制造集团")
    found("ENT-BIG", 1900)
    prep = make_user("prep_big", "preparer", "ENT-BIG")
    scores = full_scores(EXTRA["checklist"])
    case_id = make_case(prep, "inspection", data={"year": 2026})["id"]
    fire(prep, case_id, "self_assess", {"scores": scores})
    fire(prep, case_id, "record_evaluation", {"respondents": 190, "satisfied": 171})
    fire(tree["fed"], case_id, "inspect", {"scores": scores, "vetoes": []})
    assert api.post(f"/cases/{case_id}/claim", tree["fed_b"], {}).status_code == 200
    # fed_b names fed, who scored the inspection, as substitute: fed still may not decide its result
    assert delegate(api, tree["fed_b"], "fed", "2026-11-20", "2026-11-27").status_code == 201
    assert fire(tree["fed"], case_id, "decide", expect=403)["error"]["code"] == "four_eyes"
    assert fire(tree["fed_b"], case_id, "decide")["state"] != "inspected"
    assert verified(api, tree)


def test_ending_a_delegation_early(api, tree, fire, claimed, clock: Clock):
    made = delegate(api, tree["fed"], "fed_b", "2026-11-20", "2026-11-27").get_json()
    offered = {a["trigger"]: a for a in api.get(f"/cases/{claimed}", tree["fed_b"]).get_json()["available"]}
    assert offered["approve"]["allowed"] is True
    # only the delegator ends it; for anyone else it does not exist
    assert api.post(f"/delegations/{made['id']}/end", tree["fed_b"]).status_code == 404
    assert api.post("/delegations/999/end", tree["fed"]).status_code == 404
    resp = api.post(f"/delegations/{made['id']}/end", tree["fed"])
    assert resp.status_code == 200 and resp.get_json()["active"] is False and resp.get_json()["ended_at"]
    assert fire(tree["fed_b"], claimed, "approve", expect=403)["error"]["code"] == "assigned_to_other"
    again = api.post(f"/delegations/{made['id']}/end", tree["fed"])
    assert again.status_code == 409 and codes(again) == ["delegation_over"]
    # an ended delegation no longer blocks the same days
    assert delegate(api, tree["fed"], "fed_b", "2026-11-21", "2026-11-22").status_code == 201
    assert verified(api, tree)


def test_delegation_entries_are_the_delegators(api, tree, db):
    from audit import AuditEntry

    made = delegate(api, tree["fed"], "fed_b", "2026-11-20", "2026-11-27").get_json()
    api.post(f"/delegations/{made['id']}/end", tree["fed"])
    with db.read() as session:
        rows = session.query(AuditEntry).filter(AuditEntry.subject_type == "user",
                                                AuditEntry.subject_id == "fed").order_by(AuditEntry.seq).all()
        got = [(e.trigger, e.actor, e.data) for e in rows if e.trigger != "create_user"]
    assert [g[:2] for g in got] == [("delegate", "fed"), ("end_delegation", "fed")]
    assert '"to":"fed_b"' in got[0][2] and '"starts_on":"2026-11-20"' in got[0][2]
    assert '"ended_on":"2026-11-20"' in got[1][2]


@pytest.mark.parametrize("statement", [
    "UPDATE delegations SET ends_on = '2027-06-30'",  # a week's stand-in stretched to half a year
    "UPDATE delegations SET ended_at = NULL",  # an ended one revived
    "UPDATE delegations SET substitute_id = (SELECT id FROM users WHERE username = 'town')",
])
def test_a_delegation_changed_behind_the_engine_is_found(api, tree, db, statement):
    from sqlalchemy import text

    made = delegate(api, tree["fed"], "fed_b", "2026-11-20", "2026-11-27").get_json()
    assert api.post(f"/delegations/{made['id']}/end", tree["fed"]).status_code == 200
    assert verified(api, tree)
    with db.engine.begin() as conn:
        conn.execute(text(statement))
    found = api.get("/audit/verify", tree["auditor"]).get_json()
    assert found["ok"] is False and f"delegation {made['id']}" in found["first_bad"]["problem"], found


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_who_never_decides_delegates_nothing(api, tree, who):
    resp = delegate(api, tree[who], "fed", "2026-11-23", "2026-11-27")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
