"""Every reason the founding rules give, and the boundaries of domain.md §1, through the JSON API.

A refused step changes nothing: the case keeps its state and version and the
trail gets no entry.
"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from workflows.founding import rules as founding
from workflows.founding.tests.flow import (  # noqa: F401  (clock, app_config: fixtures)
    GROUP,
    TODAY,
    app_config,
    assembly,
    candidate,
    candidates,
    clock,
    election,
    nomination,
    walk,
)

# code: (the state the case is walked to, the trigger, its data); `members` replaces the recorded members
REFUSALS = {
    "group_size": ("draft", "form_group", {"group_members": GROUP[:2]}),
    "unnamed_group_member": ("draft", "form_group", {"group_members": [*GROUP[:3], ""]}),
    "duplicate_group_member": ("draft", "form_group", {"group_members": [*GROUP[:3], "张伟"]}),
    "member_count_invalid": ("approved", "record_members", {"member_count": 61, "female_member_count": 12}),
    "duplicate_candidate": ("members_recruited", "nominate",
                            nomination(candidates=[*candidates(), candidate("赵敏", "women")])),
    "candidate_without_position": ("members_recruited", "nominate",
                                   nomination(candidates=[*candidates(), candidate("吴磊")])),
    "candidates_exceed_members": ("members_recruited:5", "nominate", nomination(women_seats=0)),
    "seats_out_of_range": ("members_recruited", "nominate", nomination(committee_seats=8)),
    "insufficient_candidate_margin": ("members_recruited", "nominate", nomination(committee_seats=6)),
    "chair_candidate_required": ("members_recruited", "nominate", nomination(
        candidates=[candidate(n, "committee") for n in GROUP + ["杨帆"]] + [candidate("赵敏", "audit"),
                                                                             candidate("周婷", "women")])),
    "chair_candidate_not_committee": ("members_recruited", "nominate",
                                      nomination(candidates=[*candidates(), candidate("吴磊", "chair")])),
    "audit_committee_required": ("members_recruited", "nominate", nomination(audit_seats=0)),
    "women_committee_required": ("members_recruited", "nominate", nomination(women_seats=0)),
    "too_few_candidates": ("members_recruited", "nominate", nomination(audit_seats=2)),
    "ineligible_candidate": ("members_recruited", "nominate", nomination(
        candidates=[*candidates(), candidate("钱老板", "committee", bars=("principal",))])),
    "posted_on_in_future": ("members_recruited", "nominate", nomination(TODAY + timedelta(days=1))),
    "posting_period_not_elapsed": ("candidates_submitted:posted_today", "approve_candidates", {}),
    "assembly_type_invalid": ("candidates_approved", "convene", assembly(assembly_type="delegates")),
    "entitled_mismatch": ("candidates_approved", "convene", assembly(entitled=39)),
    "entitled_out_of_range": ("candidates_approved", "convene", assembly(assembly_type="delegates", entitled=41)),
    "present_exceeds_entitled": ("candidates_approved", "convene", assembly(present=41)),
    "quorum_not_met": ("candidates_approved", "convene", assembly(present=26)),
    "ballots_exceed_present": ("assembly_convened", "record_election", election(ballots_cast=31)),
    "not_a_candidate": ("assembly_convened", "record_election", election({"吴磊": 3})),
    "votes_exceed_ballots": ("assembly_convened", "record_election", election({"张伟": 31})),
    "seats_unfilled": ("assembly_convened", "record_election", election({"陈静": 20})),
    "tied_for_last_seat": ("assembly_convened", "record_election", election({"杨帆": 22})),
    "chair_not_elected": ("assembly_convened", "record_election", election(chair="杨帆")),
    "total_votes_exceed_ballots": ("assembly_convened", "record_election", election({"杨帆": 30})),
    "chair_majority_not_met": ("assembly_convened", "record_election", election(chair_votes={"张伟": 20})),
    "not_a_chair_candidate": ("assembly_convened", "record_election",
                              election(chair_votes={"张伟": 25, "王芳": 2})),
    "founded_on_in_future": ("results_submitted", "sanction",
                             {"approval_no": "某区总工批〔2026〕12号",
                              "founded_on": (TODAY + timedelta(days=1)).isoformat()}),
}
CREATION_REFUSALS = {"union_already_founded"}


def test_every_reason_of_the_founding_rules_is_produced_through_the_api():
    source = Path(founding.__file__).read_text(encoding="utf-8")
    assert set(re.findall(r'Reason\("(\w+)"', source)) == set(REFUSALS) | CREATION_REFUSALS


def case_at(api, make_case, fire, tree, state: str) -> int:
    prep, fed = tree["prep"], tree["fed"]
    case_id = make_case(prep, "founding")["id"]
    state, _, variant = state.partition(":")
    overrides = {}
    if variant == "5":
        overrides["record_members"] = {"member_count": 5, "female_member_count": 2}
    if variant == "posted_today":
        overrides["nominate"] = nomination(TODAY)
    walk(fire, case_id, state, prep, fed, **overrides)
    return case_id


@pytest.mark.parametrize("code", sorted(REFUSALS))
def test_each_refusal_names_its_rule_in_chinese_and_changes_nothing(api, tree, make_case, fire, code):
    state, trigger, data = REFUSALS[code]
    case_id = case_at(api, make_case, fire, tree, state)
    who = tree["fed"] if trigger in ("approve_candidates", "sanction") else tree["prep"]
    before = api.get(f"/cases/{case_id}", who).get_json()
    entries = len(api.get(f"/cases/{case_id}/audit", who).get_json()["entries"])
    error = fire(who, case_id, trigger, data, expect=422)["error"]
    assert error["code"] == "guard_failed"
    reason = next(r for r in error["reasons"] if r["code"] == code)
    assert reason["message"] and "{" not in reason["message"]
    assert re.search(r"[\u4e00-\u9fff]", reason["message"])
    after = api.get(f"/cases/{case_id}", who).get_json()
    assert (after["state"], after["version"], after["data"]) == (before["state"], before["version"], before["data"])
    assert len(api.get(f"/cases/{case_id}/audit", who).get_json()["entries"]) == entries


def test_union_already_founded_refuses_a_new_case(api, tree, make_case, fire):
    case_at(api, make_case, fire, tree, "registered")
    resp = api.post("/cases", tree["prep"], {"workflow": "founding", "org": "ENT-L", "data": {}})
    assert resp.status_code == 422
    assert [(r["code"], r["message"]) for r in resp.get_json()["error"]["reasons"]] == [
        ("union_already_founded", "“大型企业”已成立工会，不能再次办理建会")]


def test_a_refusal_lists_every_broken_rule(api, tree, make_case, fire):
    case_id = case_at(api, make_case, fire, tree, "members_recruited")
    bad = nomination(TODAY + timedelta(days=1), committee_seats=8, audit_seats=0, women_seats=0,
                     candidates=[candidate(f"委员{i}", "committee") for i in range(7)]
                     + [candidate("钱老板", "committee", bars=("principal",))])
    reasons = fire(tree["prep"], case_id, "nominate", bad, expect=422)["error"]["reasons"]
    assert {r["code"] for r in reasons} == {
        "seats_out_of_range", "insufficient_candidate_margin", "chair_candidate_required",
        "audit_committee_required", "women_committee_required", "ineligible_candidate", "posted_on_in_future"}


def test_blank_names_and_numbers_are_invalid_input(api, tree, make_case, fire):
    prep, fed = tree["prep"], tree["fed"]
    case_id = case_at(api, make_case, fire, tree, "members_recruited")
    error = fire(prep, case_id, "nominate", nomination(candidates=[*candidates(), candidate(" ", "audit")]),
                 expect=400)["error"]
    assert (error["code"], error["fields"]) == ("invalid_input", {"candidates[8].name": "必填项"})
    walk_on = {"nominate": nomination(), "approve_candidates": {}, "convene": assembly(),
               "record_election": election(), "submit_results": {}}
    for trigger, data in walk_on.items():
        fire(fed if trigger.startswith("approve") else prep, case_id, trigger, data)
    assert fire(fed, case_id, "sanction", {"approval_no": " "}, expect=400)["error"]["fields"] == {
        "approval_no": "必填项"}
    fire(fed, case_id, "sanction", {"approval_no": "某区总工批〔2026〕12号"})
    assert fire(prep, case_id, "register", {"certificate_no": ""}, expect=400)["error"]["fields"] == {
        "certificate_no": "必填项"}


# ---- boundaries, both sides -------------------------------------------------

def test_quorum_27_of_40_but_not_26(api, tree, make_case, fire):
    case_id = case_at(api, make_case, fire, tree, "candidates_approved")
    refused = fire(tree["prep"], case_id, "convene", assembly(present=26), expect=422)["error"]["reasons"]
    assert [(r["code"], r["params"]["required"]) for r in refused] == [("quorum_not_met", 27)]
    assert fire(tree["prep"], case_id, "convene", assembly(present=27))["state"] == "assembly_convened"


def test_elected_with_21_of_40_entitled_but_not_20(api, tree, make_case, fire):
    case_id = case_at(api, make_case, fire, tree, "assembly_convened")
    refused = fire(tree["prep"], case_id, "record_election", election({"陈静": 20}), expect=422)["error"]["reasons"]
    assert [(r["code"], r["params"]["elected"], r["params"]["votes_needed"]) for r in refused] == [
        ("seats_unfilled", 4, 21)]
    body = fire(tree["prep"], case_id, "record_election", election({"陈静": 21}))
    assert body["data"]["elected"]["committee"] == ["张伟", "王芳", "李娜", "刘洋", "陈静"]


@pytest.mark.parametrize("standing, ok", [(21, True), (20, False)])
def test_twenty_seats_need_twenty_one_candidates(api, tree, make_org, make_user, make_case, fire, standing, ok):
    make_org("ENT-BIG", "enterprise", "FED", employees=2000, female_employees=600, name="大型制造集团")
    prep = make_user("prep_big", "preparer", "ENT-BIG")
    case_id = make_case(prep, "founding")["id"]
    walk(fire, case_id, "members_recruited", prep, tree["fed"],
         record_members={"member_count": 1500, "female_member_count": 500})
    slate = [candidate(f"候选人{i:02d}", "committee", *(["chair"] if i == 1 else [])) for i in range(1, standing + 1)]
    data = nomination(committee_seats=20, candidates=slate + candidates()[-2:])
    if ok:
        assert fire(prep, case_id, "nominate", data)["state"] == "candidates_submitted"
    else:
        reasons = fire(prep, case_id, "nominate", data, expect=422)["error"]["reasons"]
        assert [(r["code"], r["params"]) for r in reasons] == [
            ("insufficient_candidate_margin", {"seats": 20, "candidates": 20, "required": 21})]


@pytest.mark.parametrize("profile, female, required", [
    ("default", 9, False), ("default", 10, True), ("beijing", 24, False), ("beijing", 25, True)])
def test_womens_committee_threshold_by_profile(api, tree, make_org, make_user, fire, db, engine,
                                               profile, female, required):
    make_org("ENT-W", "enterprise", "FED", employees=60, female_employees=30, name="服装厂")
    prep = make_user("prep_w", "preparer", "ENT-W")
    with db.write() as session:  # a case keeps the rule profile it starts under
        case_id = engine.create_case(session, "founding", "ENT-W", prep.actor(db), {}, profile=profile).id
    assert api.get(f"/cases/{case_id}", prep).get_json()["profile"] == profile
    walk(fire, case_id, "members_recruited", prep, tree["fed"],
         record_members={"member_count": 40, "female_member_count": female})
    without = nomination(women_seats=0, candidates=candidates()[:-1])
    if required:
        reasons = fire(prep, case_id, "nominate", without, expect=422)["error"]["reasons"]
        threshold = {"default": 10, "beijing": 25}[profile]
        assert [(r["code"], r["params"]) for r in reasons] == [
            ("women_committee_required", {"female_members": female, "threshold": threshold})]
        assert fire(prep, case_id, "nominate", nomination())["state"] == "candidates_submitted"
    else:
        assert fire(prep, case_id, "nominate", without)["state"] == "candidates_submitted"


def test_candidates_are_posted_for_seven_calendar_days(api, tree, make_case, fire, clock):
    case_id = case_at(api, make_case, fire, tree, "candidates_submitted:posted_today")
    clock.days_after(TODAY, 6)
    reasons = fire(tree["fed"], case_id, "approve_candidates", expect=422)["error"]["reasons"]
    assert [(r["code"], r["params"]) for r in reasons] == [("posting_period_not_elapsed", {
        "posted_on": TODAY.isoformat(), "days": 7, "earliest": (TODAY + timedelta(days=7)).isoformat()})]
    available = {a["trigger"]: a for a in api.get(f"/cases/{case_id}", tree["fed"]).get_json()["available"]}
    assert available["approve_candidates"]["allowed"] is False
    assert available["return_candidates"]["allowed"] is True
    clock.days_after(TODAY, 7)
    assert fire(tree["fed"], case_id, "approve_candidates")["state"] == "candidates_approved"


@pytest.mark.parametrize("days, ok", [(0, True), (1, False)])
def test_the_posting_date_may_be_today_but_not_tomorrow(api, tree, make_case, fire, days, ok):
    case_id = case_at(api, make_case, fire, tree, "members_recruited")
    data = nomination(TODAY + timedelta(days=days))
    if ok:
        assert fire(tree["prep"], case_id, "nominate", data)["data"]["posted_on"] == TODAY.isoformat()
    else:
        assert fire(tree["prep"], case_id, "nominate", data, expect=422)["error"]["reasons"][0]["code"] == \
            "posted_on_in_future"
