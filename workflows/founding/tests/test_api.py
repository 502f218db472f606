"""The founding workflow (建会) end to end through the JSON API: the walk, its trail, who may decide, the deadline."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from workflow import Organisation
from workflows.founding.tests.flow import (  # noqa: F401  (clock, app_config: fixtures)
    APPROVAL_NO,
    CERTIFICATE_NO,
    ELECTED,
    GROUP,
    TODAY,
    REPLY_NO,
    app_config,
    clock,
    steps,
    walk,
)


def open_case(make_case, who) -> int:
    return make_case(who, "founding")["id"]


def trail(api, who, case_id: int) -> list[tuple]:
    resp = api.get(f"/cases/{case_id}/audit", who)
    assert resp.status_code == 200
    return [(e["trigger"], e["actor"], e["comment"], e["from"], e["to"], e["version"])
            for e in resp.get_json()["entries"]]


def org(api, who, code: str) -> dict:
    resp = api.get(f"/orgs/{code}", who)
    assert resp.status_code == 200
    return resp.get_json()


def test_a_whole_founding_from_draft_to_registered(api, tree, make_case, fire, clock):
    prep, fed, fed_b = tree["prep"], tree["fed"], tree["fed_b"]
    assert org(api, prep, "ENT-L")["union_status"] == "none"
    created = make_case(prep, "founding")
    case_id = created["id"]
    assert (created["state"], created["competent_org"], created["profile"]) == ("draft", None, "default")
    assert org(api, prep, "ENT-L")["union_status"] == "founding"

    expected = [("create", "prep", "", None, "draft", 1)]
    for version, (trigger, who, data, comment, after) in enumerate(steps(prep, fed, fed_b), start=2):
        body = fire(who, case_id, trigger, data, comment=comment, version=version - 1)
        assert (body["state"], body["version"]) == (after, version)
        expected.append((trigger, who.username, comment, expected[-1][4], after, version))
        if trigger == "form_group":
            assert body["competent_org"] is None and body["data"]["group_members"] == GROUP
        if trigger == "apply":  # fixed by the enterprise's 60 employees: the federation approves
            assert body["competent_org"] == "FED"
        if trigger == "record_election":
            assert body["data"]["elected"] == ELECTED
        if trigger == "sanction":
            assert body["data"]["approval_no"] == APPROVAL_NO
            assert body["data"]["founded_on"] == TODAY.isoformat()
            assert body["data"]["registration_due_on"] == (TODAY + timedelta(days=60)).isoformat()
            assert body["overdue"] == []
            assert {k: v for k, v in org(api, fed, "ENT-L").items() if k in ("union_status", "member_count")} == {
                "union_status": "founded", "member_count": 40}
            # sixty days to register; shown as overdue from the sixty-first
            clock.days_after(TODAY, 60)
            assert api.get(f"/cases/{case_id}", prep).get_json()["overdue"] == []
            clock.days_after(TODAY, 61)
            assert api.get(f"/cases/{case_id}", prep).get_json()["overdue"] == ["registration_due_on"]
            assert api.get(f"/cases/{case_id}", fed).get_json()["overdue"] == ["registration_due_on"]
    assert body["data"]["certificate_no"] == CERTIFICATE_NO
    assert body["data"]["registered_on"] == (TODAY + timedelta(days=61)).isoformat()
    assert (body["closed"], body["overdue"], body["available"]) == (True, [], [])
    assert body["competent_org"] == "FED"
    # the trail lists every step with its actor, comment and states, in order; the auditor reads it too
    assert trail(api, prep, case_id) == expected
    assert trail(api, tree["auditor"], case_id) == expected
    assert [e[1] for e in expected if e[0] in ("approve_application", "approve_candidates", "sanction")] == [
        "fed", "fed", "fed_b"]
    assert org(api, prep, "ENT-L")["union_status"] == "founded"


def test_the_trail_records_what_each_step_computed(api, tree, make_case, fire):
    case_id = open_case(make_case, tree["prep"])
    walk(fire, case_id, "founded", tree["prep"], tree["fed"])
    entries = {e["trigger"]: e for e in api.get(f"/cases/{case_id}/audit", tree["fed"]).get_json()["entries"]}
    assert entries["apply"]["data"]["competent_org"] == "FED"
    assert entries["apply"]["data"]["org"] == {"code": "ENT-L", "union_status": "founding"}
    assert entries["record_election"]["data"]["computed"] == {
        "elected": ELECTED,
        "chair_ballot": {"chair_method": "assembly", "entitled": 40, "votes": {"张伟": 25}, "votes_needed": 21,
                         "chair": "张伟"}}
    assert entries["sanction"]["data"]["org"] == {"code": "ENT-L", "union_status": "founded", "member_count": 40}
    assert entries["sanction"]["data"]["computed"]["registration_due_on"] == "2027-01-09"


@pytest.mark.parametrize("employees, competent", [(50, "FED"), (49, "TOWN"), (8, "TOWN"), (7, "COM")])
def test_the_approving_union_is_fixed_at_apply_by_the_enterprise_size(
        api, tree, make_org, make_user, make_case, fire, db, employees, competent):
    make_org("ENT-N", "enterprise", "COM", employees=employees, female_employees=min(employees, 3))
    prep = make_user("prep_n", "preparer", "ENT-N")
    case_id = open_case(make_case, prep)
    assert fire(prep, case_id, "form_group", {"group_members": GROUP[:3]})["competent_org"] is None
    assert fire(prep, case_id, "apply")["competent_org"] == competent
    # fixed: a later change of the employee count does not move the decision elsewhere
    with db.write() as session:
        session.execute(update(Organisation).where(Organisation.code == "ENT-N").values(employees=100 - employees))
    body = api.get(f"/cases/{case_id}", prep).get_json()
    assert body["competent_org"] == competent
    reviewers = {"FED": tree["fed"], "TOWN": tree["town"], "COM": tree["com"]}
    below = {"FED": "TOWN", "TOWN": "COM"}.get(competent)
    if below:  # the union one level below sees the case but may not decide it
        refused = fire(reviewers[below], case_id, "approve_application", expect=403)
        assert refused["error"]["code"] == "not_competent"
        assert refused["error"]["reasons"][0]["message"].startswith("此步骤须由")
    assert fire(reviewers[competent], case_id, "approve_application", {"reply_no": REPLY_NO})["state"] == "approved"


def test_a_town_reviewer_is_not_competent_for_sixty_employees(api, tree, make_org, make_user, make_case, fire):
    make_org("ENT-T", "enterprise", "TOWN", employees=60, female_employees=20, name="镇上的大企业")
    prep = make_user("prep_t", "preparer", "ENT-T")
    case_id = open_case(make_case, prep)
    walk(fire, case_id, "applied", prep, tree["fed"])
    assert api.get(f"/cases/{case_id}", tree["town"]).status_code == 200  # within the town's subtree
    available = {a["trigger"]: a for a in api.get(f"/cases/{case_id}", tree["town"]).get_json()["available"]}
    assert available["approve_application"]["allowed"] is False
    assert [r["code"] for r in available["approve_application"]["reasons"]] == ["not_competent"]
    for trigger, comment in (("approve_application", None), ("return_application", "补充材料"),
                             ("reject_application", "不符合条件")):
        assert fire(tree["town"], case_id, trigger, comment=comment, expect=403)["error"]["code"] == "not_competent"
    assert api.get(f"/cases/{case_id}", prep).get_json()["state"] == "applied"
    assert fire(tree["fed"], case_id, "approve_application", {"reply_no": REPLY_NO})["state"] == "approved"


def test_who_may_not_decide(api, tree, make_case, fire):
    prep = tree["prep"]
    case_id = open_case(make_case, prep)
    walk(fire, case_id, "applied", prep, tree["fed"])
    # the preparer who applied: a preparer may not fire a review step at all
    refused = fire(prep, case_id, "approve_application", expect=403)
    assert (refused["error"]["code"], refused["error"]["reasons"][0]["code"]) == ("forbidden", "forbidden")
    assert fire(tree["auditor"], case_id, "approve_application", expect=403)["error"]["code"] == "forbidden"
    # a reviewer of another branch does not even see the case
    assert fire(tree["fed2"], case_id, "approve_application", expect=404)["error"]["code"] == "not_found"
    assert api.get(f"/cases/{case_id}", tree["fed2"]).status_code == 404
    assert api.get(f"/cases/{case_id}/audit", tree["fed2"]).status_code == 404
    assert api.get(f"/cases/{case_id}", tree["prep_x"]).status_code == 404
    # a reviewer may not fire the preparer's steps either
    assert fire(tree["fed"], case_id, "withdraw", comment="x", expect=403)["error"]["code"] == "forbidden"
    # a stale version is refused, the current one accepted
    assert fire(tree["fed"], case_id, "approve_application", version=2, expect=409)["error"]["code"] == \
        "stale_version"
    assert fire(tree["fed"], case_id, "approve_application", {"reply_no": REPLY_NO}, version=3)["version"] == 4
    assert [e[0] for e in trail(api, prep, case_id)] == ["create", "form_group", "apply", "approve_application"]


@pytest.mark.parametrize("state, trigger, back_to", [
    ("applied", "return_application", "group_formed"),
    ("candidates_submitted", "return_candidates", "members_recruited"),
    ("results_submitted", "return_results", "elected"),
])
def test_a_return_needs_a_comment_and_sends_the_case_back(api, tree, make_case, fire, state, trigger, back_to):
    prep, fed = tree["prep"], tree["fed"]
    case_id = open_case(make_case, prep)
    walk(fire, case_id, state, prep, fed)
    version = api.get(f"/cases/{case_id}", fed).get_json()["version"]
    for comment in (None, "  "):
        refused = fire(fed, case_id, trigger, comment=comment, expect=400)["error"]
        assert (refused["code"], list(refused["fields"])) == ("invalid_input", ["comment"])
        assert [r["code"] for r in refused["reasons"]] == ["comment_required"]
    body = api.get(f"/cases/{case_id}", fed).get_json()
    assert (body["state"], body["version"]) == (state, version)  # nothing changed, no entry written
    assert fire(fed, case_id, trigger, comment="请补正后重新报送")["state"] == back_to
    assert trail(api, prep, case_id)[-1][:5] == (trigger, "fed", "请补正后重新报送", state, back_to)
    # the preparer corrects and goes on: the case reaches the state it was returned from again
    walk_on = {"group_formed": "apply", "members_recruited": "nominate", "elected": "submit_results"}[back_to]
    redo = {t: (d, c) for t, _, d, c, _ in steps(prep, fed)}[walk_on]
    assert fire(prep, case_id, walk_on, redo[0], comment=redo[1])["state"] == state


def test_reject_closes_the_case_and_the_enterprise_may_start_again(api, tree, make_case, fire):
    prep, fed = tree["prep"], tree["fed"]
    case_id = open_case(make_case, prep)
    walk(fire, case_id, "applied", prep, fed)
    assert fire(fed, case_id, "reject_application", expect=400)["error"]["code"] == "invalid_input"
    body = fire(fed, case_id, "reject_application", comment="筹备组成员不符合要求")
    assert (body["state"], body["closed"], body["available"]) == ("rejected", True, [])
    assert org(api, prep, "ENT-L")["union_status"] == "none"
    assert fire(prep, case_id, "withdraw", comment="x", expect=409)["error"]["code"] == "invalid_state"
    assert make_case(prep, "founding")["state"] == "draft"


def test_one_open_founding_per_enterprise_and_withdraw(api, tree, make_case, fire):
    prep = tree["prep"]
    case_id = open_case(make_case, prep)
    walk(fire, case_id, "members_recruited", prep, tree["fed"])
    again = api.post("/cases", prep, {"workflow": "founding", "org": "ENT-L", "data": {}})
    assert again.status_code == 422
    assert [r["code"] for r in again.get_json()["error"]["reasons"]] == ["case_exists"]
    assert fire(prep, case_id, "withdraw", expect=400)["error"]["fields"] == {"comment": "必填项"}
    body = fire(prep, case_id, "withdraw", comment="企业改制，暂缓建会")
    assert (body["state"], body["closed"]) == ("withdrawn", True)
    assert trail(api, prep, case_id)[-1][:5] == ("withdraw", "prep", "企业改制，暂缓建会", "members_recruited",
                                                 "withdrawn")
    assert org(api, prep, "ENT-L")["union_status"] == "none"
    second = make_case(prep, "founding")
    assert second["id"] != case_id and second["state"] == "draft"
    # another enterprise's open case does not count
    assert make_case(tree["prep_m"], "founding")["state"] == "draft"


def test_no_withdrawal_once_founded_and_no_second_founding(api, tree, make_case, fire):
    prep = tree["prep"]
    case_id = open_case(make_case, prep)
    walk(fire, case_id, "founded", prep, tree["fed"])
    assert fire(prep, case_id, "withdraw", comment="x", expect=409)["error"]["code"] == "invalid_state"
    refused = api.post("/cases", prep, {"workflow": "founding", "org": "ENT-L", "data": {}}).get_json()["error"]
    assert {r["code"] for r in refused["reasons"]} == {"case_exists", "union_already_founded"}
