"""Who handles a decision (api.md, "Work"): a reviewer of the competent organisation claims it (认领), releases
it (释放) or assigns it to a colleague of the same organisation and role (指派); while it is held, nobody else
of that organisation fires it (403 `assigned_to_other`); the claim ends when the case's state changes. Each
an audited event of the case, with the row's digest, so that verification still passes."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from audit import AuditEntry


@pytest.fixture
def submitted(tree, make_case, fire):
    """A sample case of ENT-L submitted by its preparer: FED decides (reviewers fed and fed_b)."""
    case_id = make_case(tree["prep"])["id"]
    case = fire(tree["prep"], case_id, "submit", {"amount": 7})
    assert (case["state"], case["competent_org"], case["assignee"]) == ("submitted", "FED", None)
    return case_id


def post(api, who, case_id, what, body=None):
    return api.post(f"/cases/{case_id}/{what}", who, body or {})


def entries(api, tree, case_id):
    return api.get(f"/cases/{case_id}/audit", tree["auditor"]).get_json()["entries"]


def verified(api, tree) -> bool:
    return api.get("/audit/verify", tree["auditor"]).get_json()["ok"]


def test_a_claimed_decision_is_fired_only_by_its_holder(api, tree, fire, submitted, make_user):
    resp = post(api, tree["fed"], submitted, "claim")
    assert resp.status_code == 200, resp.get_json()
    case = resp.get_json()
    assert (case["assignee"], case["state"], case["version"]) == ("fed", "submitted", 3)
    error = fire(tree["fed_b"], submitted, "approve", expect=403)["error"]
    assert error["code"] == "assigned_to_other"
    assert error["reasons"][0]["code"] == "assigned_to_other" and "fed" in error["reasons"][0]["message"]
    # the other reviewer is told on the case, too
    offered = {a["trigger"]: a for a in api.get(f"/cases/{submitted}", tree["fed_b"]).get_json()["available"]}
    assert offered["approve"]["allowed"] is False
    assert [r["code"] for r in offered["approve"]["reasons"]] == ["assigned_to_other"]
    # the preparer's way out is not the claim's
    assert {a["trigger"]: a for a in api.get(f"/cases/{submitted}", tree["prep"]).get_json()["available"]}[
        "withdraw"]["allowed"] is True
    case = fire(tree["fed"], submitted, "approve")
    assert (case["state"], case["assignee"]) == ("approved", None)  # the next decision is nobody's
    assert verified(api, tree)


def test_claiming_is_audited_with_the_rows_digest(api, tree, submitted):
    post(api, tree["fed"], submitted, "claim")
    entry = entries(api, tree, submitted)[-1]
    assert (entry["trigger"], entry["actor"], entry["from"], entry["to"], entry["version"]) == (
        "claim", "fed", "submitted", "submitted", 3)
    assert len(entry["data"].pop("_digest")) == 64
    assert entry["data"] == {"assignee": "fed"}
    # claiming again what one holds records nothing new
    again = post(api, tree["fed"], submitted, "claim")
    assert again.status_code == 200 and again.get_json()["version"] == 3
    assert len(entries(api, tree, submitted)) == 3
    assert verified(api, tree)


def test_a_claim_changed_behind_the_engines_back_is_found(api, tree, db, submitted):
    post(api, tree["fed"], submitted, "claim")
    assert verified(api, tree)
    with db.write() as session:
        session.execute(text("UPDATE cases SET assignee_id = :u WHERE id = :c"),
                        {"u": tree["fed_b"].id, "c": submitted})
    result = api.get("/audit/verify", tree["auditor"]).get_json()
    assert result["ok"] is False and f"case {submitted}" in result["first_bad"]["problem"]


def test_claiming_what_another_holds_is_refused(api, tree, submitted):
    post(api, tree["fed"], submitted, "claim")
    resp = post(api, tree["fed_b"], submitted, "claim")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "assigned_to_other"
    assert len(entries(api, tree, submitted)) == 3


def test_released_the_decision_is_anyones_again(api, tree, fire, submitted):
    post(api, tree["fed"], submitted, "claim")
    resp = post(api, tree["fed"], submitted, "release")
    assert resp.status_code == 200 and resp.get_json()["assignee"] is None
    entry = entries(api, tree, submitted)[-1]
    assert entry["trigger"] == "release" and entry["data"]["previous_assignee"] == "fed"
    assert fire(tree["fed_b"], submitted, "approve")["state"] == "approved"
    assert verified(api, tree)


def test_releasing_what_one_does_not_hold_is_refused(api, tree, submitted):
    resp = post(api, tree["fed"], submitted, "release")
    assert resp.status_code == 409
    assert [r["code"] for r in resp.get_json()["error"]["reasons"]] == ["not_claimed"]
    post(api, tree["fed"], submitted, "claim")
    resp = post(api, tree["fed_b"], submitted, "release")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "assigned_to_other"
    assert len(entries(api, tree, submitted)) == 3


@pytest.mark.parametrize("who, status, code", [
    ("prep", 403, "forbidden"),
    ("auditor", 403, "forbidden"),
    ("admin", 403, "forbidden"),
    ("fed2", 404, "not_found"),
    ("prep_x", 404, "not_found"),
])
def test_only_who_may_decide_claims(api, tree, submitted, who, status, code):
    resp = post(api, tree[who], submitted, "claim")
    assert resp.status_code == status and resp.get_json()["error"]["code"] == code


def test_an_ancestor_sees_but_does_not_claim(api, tree, make_case, fire):
    from workflows.founding.tests.flow import GROUP

    case_id = make_case(tree["prep_m"], "founding")["id"]
    fire(tree["prep_m"], case_id, "form_group", {"group_members": GROUP})
    fire(tree["prep_m"], case_id, "apply", comment="申请成立工会")
    resp = post(api, tree["fed"], case_id, "claim")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "not_competent"
    assert post(api, tree["town"], case_id, "claim").status_code == 200
    # reassigning the decision to another organisation ends the town's claim
    case = api.post(f"/cases/{case_id}/reassign", tree["fed"], {"org": "FED", "comment": "上收"}).get_json()
    assert (case["competent_org"], case["assignee"]) == ("FED", None)
    assert entries(api, tree, case_id)[-1]["data"]["previous_assignee"] == "town"
    assert verified(api, tree)


@pytest.fixture
def inspected(api, tree, make_org, make_user, make_case, fire, found):
    """An inspection FED's reviewer `fed` scored: its result is decided by another reviewer of FED (four eyes)."""
    from workflows.inspection.tests.test_rules import EXTRA, full_scores

    make_org("ENT-BIG", "enterprise", "FED", employees=2000, female_employees=900, name="大型制造集团")
    found("ENT-BIG", 1900)
    prep = make_user("prep_big", "preparer", "ENT-BIG")
    scores = full_scores(EXTRA["checklist"])
    case_id = make_case(prep, "inspection", data={"year": 2026})["id"]
    fire(prep, case_id, "self_assess", {"scores": scores})
    fire(prep, case_id, "record_evaluation", {"respondents": 190, "satisfied": 171})
    fire(tree["fed"], case_id, "inspect", {"scores": scores, "vetoes": []})
    return case_id


def test_four_eyes_bars_claiming_and_being_assigned_what_one_may_not_decide(api, tree, inspected):
    resp = post(api, tree["fed"], inspected, "claim")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "four_eyes"
    resp = post(api, tree["fed_b"], inspected, "assign", {"user": "fed"})
    assert resp.status_code == 422
    assert [r["code"] for r in resp.get_json()["error"]["reasons"]] == ["assignee_cannot_decide"]
    # the inspector may hand the decision on to the colleague who may take it
    assert post(api, tree["fed"], inspected, "assign", {"user": "fed_b"}).get_json()["assignee"] == "fed_b"


def test_assigning_to_a_colleague(api, tree, fire, submitted):
    resp = post(api, tree["fed"], submitted, "assign", {"user": "fed_b", "comment": "请协助审核"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["assignee"] == "fed_b"
    entry = entries(api, tree, submitted)[-1]
    assert (entry["trigger"], entry["actor"], entry["comment"]) == ("assign", "fed", "请协助审核")
    assert entry["data"]["assignee"] == "fed_b"
    assert fire(tree["fed"], submitted, "approve", expect=403)["error"]["code"] == "assigned_to_other"
    # the holder hands it on again, back to the colleague who assigned it
    assert post(api, tree["fed_b"], submitted, "assign", {"user": "fed"}).get_json()["assignee"] == "fed"
    assert entries(api, tree, submitted)[-1]["data"]["previous_assignee"] == "fed_b"
    assert fire(tree["fed"], submitted, "approve")["state"] == "approved"
    assert verified(api, tree)


@pytest.mark.parametrize("user, reason", [
    ("town", "assignee_other_org"),      # a reviewer of another organisation
    ("fed2", "assignee_other_org"),
    ("auditor", "assignee_other_role"),  # of FED, but an auditor
    ("nobody", "assignee_unknown"),
    ("prep", "assignee_other_org"),      # the preparer: another organisation and role
])
def test_assigning_outside_ones_organisation_or_role_is_refused(api, tree, submitted, user, reason):
    resp = post(api, tree["fed"], submitted, "assign", {"user": user})
    assert resp.status_code == 422, resp.get_json()
    assert reason in [r["code"] for r in resp.get_json()["error"]["reasons"]]
    assert len(entries(api, tree, submitted)) == 2


@pytest.mark.parametrize("body, field", [
    ({}, "user"), ({"user": 3}, "user"), ({"user": "fed_b", "extra": 1}, "extra"),
    ({"user": "fed_b", "version": "3"}, "version"),
])
def test_a_malformed_assignment_is_a_bad_request(api, tree, submitted, body, field):
    resp = post(api, tree["fed"], submitted, "assign", body)
    assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"]


def test_a_stale_claim_is_refused(api, tree, submitted):
    resp = post(api, tree["fed"], submitted, "claim", {"version": 1})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "stale_version"
    assert post(api, tree["fed"], submitted, "claim", {"version": 2}).status_code == 200


def test_a_state_change_clears_the_claim(api, tree, fire, submitted):
    post(api, tree["fed"], submitted, "claim")
    case = fire(tree["fed"], submitted, "return", comment="请补充")
    assert (case["state"], case["assignee"]) == ("draft", None)
    case = fire(tree["prep"], submitted, "submit", {"amount": 8})
    assert case["assignee"] is None
    assert fire(tree["fed_b"], submitted, "approve")["state"] == "approved"
    assert verified(api, tree)


def test_a_closed_case_has_nothing_to_claim(api, tree, fire, submitted):
    fire(tree["fed"], submitted, "approve")
    fire(tree["prep"], submitted, "close")
    resp = post(api, tree["fed"], submitted, "claim")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "invalid_state"


def test_two_reviewers_claim_at_once_exactly_one_wins(app, api, tree, db, submitted):
    n = 8
    barrier = threading.Barrier(n)
    statuses: list[tuple[str, int]] = []
    lock = threading.Lock()

    def attempt(who) -> None:
        client = app.test_client()
        barrier.wait()
        resp = client.post(f"/api/v1/cases/{submitted}/claim", json={}, headers=who.headers)
        with lock:
            statuses.append((who.username, resp.status_code))

    threads = [threading.Thread(target=attempt, args=(tree["fed" if i % 2 else "fed_b"],)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    holder = api.get(f"/cases/{submitted}", tree["fed"]).get_json()["assignee"]
    assert holder in ("fed", "fed_b")
    # the winner's own repeats answer 200 and record nothing; every attempt of the other is refused
    assert all(code == (200 if who == holder else 403) for who, code in statuses), statuses
    with db.read() as session:
        claims = session.query(AuditEntry).filter(AuditEntry.subject_id == str(submitted),
                                                  AuditEntry.trigger == "claim").count()
    assert claims == 1
    assert verified(api, tree)


def test_a_claim_holds_its_roles_steps_only(api, tree, fire, make_user, found, engine):
    """During a hardship posting the enterprise union's reviewer holds the decision: the preparer still records
    an objection (a step of another role), another reviewer of the union does not."""
    from workflows.hardship.tests.support import application

    found("ENT-L", 50)
    rev_a, rev_b = make_user("ent_a", "reviewer", "ENT-L"), make_user("ent_b", "reviewer", "ENT-L")
    case_id = api.post("/cases", tree["prep"], {"workflow": "hardship", "org": "ENT-L",
                                                "data": application()}).get_json()["id"]
    fire(tree["prep"], case_id, "submit")
    fire(rev_a, case_id, "approve_review")
    fire(rev_a, case_id, "start_posting", {"posted_on": engine.today().isoformat()})
    assert post(api, rev_a, case_id, "claim").status_code == 200
    case = fire(tree["prep"], case_id, "object", {"text": "收入填报不实"})
    assert (case["state"], case["assignee"]) == ("posting", "ent_a")  # a self-loop keeps the claim
    error = fire(rev_b, case_id, "object", {"text": "另一条异议"}, expect=403)["error"]
    assert error["code"] == "assigned_to_other"
    assert verified(api, tree)
