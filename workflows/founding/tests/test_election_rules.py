"""Definition version 2 of the founding workflow (domain.md §1, second revision), at its exact bounds: the
total of the votes, the chair's ballot, the deputy heads' relatives, members recorded until the assembly;
and cases opened under version 1 keep it."""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import update

from workflow import Case
from workflow.rules import EFFECTS
from workflows.founding.tests.flow import (  # noqa: F401  (clock, app_config: fixtures)
    app_config,
    assembly,
    candidate,
    candidates,
    clock,
    election,
    nomination,
    walk,
)
from workflows.founding.tests.test_assembly_rules import ELECTION_CASE
from workflows.founding.tests.test_rules import ORG, cand, codes, make_ctx, reasons_of, step_codes

# three committee seats, 30 ballots: at most 90 committee votes
THREE_SEATS = {**ELECTION_CASE, "candidates": [cand("甲", "committee", "chair"), cand("乙", "committee"),
                                                cand("丙", "committee"), cand("丁", "committee", "chair"),
                                                cand("戊", "audit"), cand("庚", "women")]}


def ballot(votes: dict, chair_votes: dict | None = None, method: str = "assembly", ballots_cast: int = 30,
           **data) -> dict:
    return {"ballots_cast": ballots_cast, "votes": {"戊": 21, "庚": 24, **votes}, "chair_method": method,
            "chair_votes": {"甲": 21} if chair_votes is None else chair_votes, **data}


@pytest.mark.parametrize("votes, expected", [
    ({"甲": 30, "乙": 30, "丙": 30, "丁": 0}, []),                          # 90 = 30 × 3
    ({"甲": 30, "乙": 30, "丙": 30, "丁": 1}, ["total_votes_exceed_ballots"]),  # 91
    ({"甲": 30, "乙": 29, "丙": 22, "丁": 9}, []),
])
def test_the_votes_of_a_body_add_up_to_at_most_ballots_times_seats(votes, expected):
    assert codes("founding_total_votes", make_ctx("record_election", ballot(votes), THREE_SEATS)) == expected


def test_the_total_names_the_body_and_its_bound():
    ctx = make_ctx("record_election", ballot({"甲": 30, "乙": 30, "丙": 30, "丁": 1}), THREE_SEATS)
    (reason,) = reasons_of("founding_total_votes", ctx)
    assert dict(reason.params) == {"body": "committee", "body_zh": "工会委员会委员",
                                   "body_en": "union committee member", "total": 91, "ballots_cast": 30, "seats": 3, "max": 90}
    # the audit committee's one seat: 30 ballots, 30 votes pass, 31 fail
    ctx = make_ctx("record_election", ballot({"甲": 30, "乙": 25, "丙": 21, "戊": 30}), {
        **THREE_SEATS, "candidates": [*THREE_SEATS["candidates"], cand("己", "audit")]})
    assert codes("founding_total_votes", ctx) == []
    ctx = make_ctx("record_election", ballot({"甲": 30, "乙": 25, "丙": 21, "戊": 30, "己": 1}), {
        **THREE_SEATS, "candidates": [*THREE_SEATS["candidates"], cand("己", "audit")]})
    assert [dict(r.params)["body"] for r in reasons_of("founding_total_votes", ctx)] == ["audit"]


def test_a_candidate_of_two_bodies_is_bounded_with_everyone_by_all_the_seats():
    # 乙 stands for the committee and the women's committee with one count: the women's own total is 庚's,
    # and every candidate's votes together are bounded by 30 ballots × 5 seats (3 + 1 + 1)
    case = {**THREE_SEATS, "candidates": [cand("甲", "committee", "chair"), cand("乙", "committee", "women"),
                                          cand("丙", "committee"), cand("戊", "audit"), cand("庚", "women")]}
    votes = {"甲": 30, "乙": 30, "丙": 30, "戊": 30, "庚": 30}
    assert codes("founding_total_votes", make_ctx("record_election", ballot(votes), case)) == []  # 150
    found = reasons_of("founding_total_votes", make_ctx("record_election", ballot({**votes, "庚": 31}), case))
    assert [(r.params["body"], r.params["total"], r.params["max"]) for r in found] == [
        ("women", 31, 30), ("all", 151, 150)]


COMMITTEE_VOTES = {"甲": 30, "乙": 25, "丙": 21, "丁": 10}


@pytest.mark.parametrize("method, chair_votes, expected", [
    ("assembly", {"甲": 21}, []),                                 # 40 entitled: 21 elects
    ("assembly", {"甲": 20}, ["chair_majority_not_met"]),          # 20 does not
    ("assembly", {"甲": 21, "丁": 9}, []),
    ("assembly", {"甲": 21, "丁": 10}, ["total_votes_exceed_ballots"]),  # one chair a ballot: 31 of 30
    ("assembly", {"甲": 31}, ["votes_exceed_ballots", "total_votes_exceed_ballots"]),
    ("committee", {"甲": 2}, []),                                   # 3 elected members: 2 elects
    ("committee", {"甲": 1}, ["chair_majority_not_met"]),
    ("committee", {"甲": 2, "丁": 1}, []),
    ("committee", {"甲": 4}, ["votes_exceed_ballots", "total_votes_exceed_ballots"]),
    ("assembly", {"丁": 21}, ["chair_not_elected"]),               # stood for chair, not elected to the committee
    ("assembly", {"甲": 21, "乙": 0}, ["not_a_chair_candidate"]),
    ("assembly", {"甲": 10, "丁": 10}, ["chair_majority_not_met"]),
])
def test_the_chair_is_elected_by_ballot_with_more_than_half_of_the_entitled(method, chair_votes, expected):
    data = ballot(COMMITTEE_VOTES, chair_votes, method)  # the committee: 3 seats, 3 elected members
    assert codes("founding_chair_ballot", make_ctx("record_election", data, THREE_SEATS)) == expected


def test_the_committee_method_counts_the_elected_members_and_the_reason_says_so():
    (reason,) = reasons_of("founding_chair_ballot",
                           make_ctx("record_election", ballot(COMMITTEE_VOTES, {"甲": 1}, "committee"), THREE_SEATS))
    assert dict(reason.params) == {"votes": 1, "entitled": 3, "votes_needed": 2}
    (reason,) = reasons_of("founding_chair_ballot",
                           make_ctx("record_election", ballot(COMMITTEE_VOTES, {"甲": 20}), THREE_SEATS))
    assert dict(reason.params) == {"votes": 20, "entitled": 40, "votes_needed": 21}


def test_a_given_chair_must_be_the_one_the_votes_elect_and_the_facts_say_how():
    ctx = make_ctx("record_election", ballot(COMMITTEE_VOTES, {"甲": 21}, chair="乙"), THREE_SEATS)
    assert codes("founding_chair_ballot", ctx) == ["chair_not_elected"]
    ctx = make_ctx("record_election", ballot(COMMITTEE_VOTES, {"甲": 2}, "committee", chair="甲"), THREE_SEATS)
    assert codes("founding_chair_ballot", ctx) == []
    facts = EFFECTS["founding_elected"](ctx).facts
    assert facts["elected"]["chair"] == "甲"
    assert facts["chair_ballot"] == {"chair_method": "committee", "entitled": 3, "votes": {"甲": 2}, "votes_needed": 2,
                                     "chair": "甲"}


def test_a_chair_bar_on_the_winner_refuses_the_chair():
    case = {**THREE_SEATS, "candidates": [cand("甲", "committee", "chair", bars=("deputy_head_relative",)),
                                          *THREE_SEATS["candidates"][1:]]}
    ctx = make_ctx("record_election", ballot(COMMITTEE_VOTES, {"甲": 21}), case)
    assert codes("founding_chair_ballot", ctx) == ["chair_not_elected"]


@pytest.mark.parametrize("stands, expected", [
    (("committee", "chair"), ["ineligible_candidate"]),
    (("committee",), []),          # a deputy head's relative may sit on the committee
    (("committee", "audit"), []),
])
def test_a_deputy_heads_close_relative_may_not_stand_for_chair(stands, expected):
    data = {"candidates": [cand("甲", *stands, bars=("deputy_head_relative",))]}
    found = reasons_of("founding_eligible_candidates", make_ctx("nominate", data))
    assert [r.code for r in found] == expected
    if found:
        assert found[0].params["bar"] == "deputy_head_relative" and found[0].params["bodies"] == ["chair"]


@pytest.mark.parametrize("members, seats, expected", [
    (200, 3, []),                       # 25–200 members: 3 to 7 seats
    (201, 3, ["seats_out_of_range"]),   # 201–1000: 7 to 15
    (24, 5, []),
    (8, 5, []),
    (7, 5, ["candidates_exceed_members"]),
])
def test_members_recorded_after_the_nomination_must_fit_it(members, seats, expected):
    case = {"committee_seats": seats, "women_seats": 1,
            "candidates": [cand(n, "committee") for n in "甲乙丙丁戊己"] + [cand("庚", "audit"), cand("辛", "women")]}
    ctx = make_ctx("record_members", {"member_count": members, "female_member_count": 2}, case,
                   org=replace(ORG, employees=1000))
    assert codes("founding_members_fit_nomination", ctx) == expected


@pytest.mark.parametrize("female, women_seats, expected", [
    (9, 0, []), (10, 0, ["women_committee_required"]), (10, 1, [])])
def test_members_recorded_after_the_nomination_keep_the_womens_committee(female, women_seats, expected):
    case = {"committee_seats": 5, "women_seats": women_seats, "candidates": [cand("甲", "committee")]}
    ctx = make_ctx("record_members", {"member_count": 40, "female_member_count": female}, case)
    assert codes("founding_members_fit_nomination", ctx) == expected


def test_an_election_breaking_the_new_rules_reports_them_all():
    data = ballot({"甲": 30, "乙": 30, "丙": 30, "丁": 1}, {"甲": 20, "乙": 1})
    assert step_codes("record_election", make_ctx("record_election", data, THREE_SEATS)) == {
        "total_votes_exceed_ballots", "not_a_chair_candidate", "chair_majority_not_met"}


# ---- through the API ---------------------------------------------------------

def new_case(make_case, fire, tree, until: str, **overrides) -> int:
    case_id = make_case(tree["prep"], "founding")["id"]
    walk(fire, case_id, until, tree["prep"], tree["fed"], **overrides)
    return case_id


@pytest.mark.parametrize("total, status", [(150, 200), (151, 422)])
def test_total_votes_through_the_api(api, tree, make_case, fire, total, status):
    case_id = new_case(make_case, fire, tree, "assembly_convened")
    # the flow's committee votes add up to 137 for five seats and 30 ballots
    body = fire(tree["prep"], case_id, "record_election", election({"杨帆": 12 + total - 137}), expect=status)
    if status == 422:
        assert [r["code"] for r in body["error"]["reasons"]] == ["total_votes_exceed_ballots"]
        assert api.get(f"/cases/{case_id}", tree["prep"]).get_json()["state"] == "assembly_convened"


@pytest.mark.parametrize("votes, status", [(21, 200), (20, 422)])
def test_the_chairs_majority_through_the_api(api, tree, make_case, fire, votes, status):
    case_id = new_case(make_case, fire, tree, "assembly_convened")
    body = fire(tree["prep"], case_id, "record_election", election(chair_votes={"张伟": votes}), expect=status)
    if status == 200:
        assert body["data"]["elected"]["chair"] == "张伟" and body["data"]["chair_ballot"]["entitled"] == 40
    else:
        (reason,) = body["error"]["reasons"]
        assert reason["code"] == "chair_majority_not_met" and "至少21票" in reason["message"]


def test_the_chair_method_is_required_and_checked(api, tree, make_case, fire):
    case_id = new_case(make_case, fire, tree, "assembly_convened")
    data = election()
    del data["chair_method"]
    assert fire(tree["prep"], case_id, "record_election", data, expect=400)["error"]["fields"] == {
        "chair_method": "必填项"}
    error = fire(tree["prep"], case_id, "record_election", election(chair_method="show_of_hands"), expect=400)
    assert "chair_method" in error["error"]["fields"]


def test_a_deputy_heads_relative_is_refused_as_chair_candidate_through_the_api(api, tree, make_case, fire):
    case_id = new_case(make_case, fire, tree, "members_recruited")
    people = candidates()
    people[0]["bars"] = ["deputy_head_relative"]
    error = fire(tree["prep"], case_id, "nominate", nomination(candidates=people), expect=422)["error"]
    (reason,) = error["reasons"]
    assert reason["code"] == "ineligible_candidate" and "单位行政副职的近亲属" in reason["message"]


def test_members_are_recorded_until_the_assembly_and_the_entitled_is_the_count_then(api, tree, make_case, fire):
    prep = tree["prep"]
    case_id = new_case(make_case, fire, tree, "candidates_approved")
    case = fire(prep, case_id, "record_members", {"member_count": 45, "female_member_count": 14})
    assert (case["state"], case["data"]["member_count"]) == ("candidates_approved", 45)
    # the assembly's entitled is the count now: 40 no longer matches, 45 does
    reasons = fire(prep, case_id, "convene", assembly(), expect=422)["error"]["reasons"]
    assert [r["code"] for r in reasons] == ["entitled_mismatch"]
    # 61 members of 60 employees is refused, and nothing changes
    fire(prep, case_id, "record_members", {"member_count": 61, "female_member_count": 14}, expect=422)
    assert api.get(f"/cases/{case_id}", prep).get_json()["data"]["member_count"] == 45
    fire(prep, case_id, "convene", assembly(entitled=45, present=30))
    error = fire(prep, case_id, "record_members", {"member_count": 46, "female_member_count": 14}, expect=409)
    assert error["error"]["code"] == "invalid_state"


def test_members_recorded_again_before_the_nomination_and_while_it_is_reviewed(api, tree, make_case, fire):
    prep = tree["prep"]
    case_id = new_case(make_case, fire, tree, "members_recruited")
    assert fire(prep, case_id, "record_members", {"member_count": 24, "female_member_count": 9})["state"] == \
        "members_recruited"
    fire(prep, case_id, "record_members", {"member_count": 40, "female_member_count": 12})
    fire(prep, case_id, "nominate", nomination())
    # five seats still fit 24 members (1–5), but nine women need no committee and 24 members fewer candidates
    reasons = fire(prep, case_id, "record_members", {"member_count": 7, "female_member_count": 2},
                   expect=422)["error"]["reasons"]
    assert [r["code"] for r in reasons] == ["candidates_exceed_members"]
    assert fire(prep, case_id, "record_members", {"member_count": 41, "female_member_count": 12})["state"] == \
        "candidates_submitted"


def test_a_case_opened_under_version_1_keeps_it(api, db, tree, make_case, fire):
    prep = tree["prep"]
    case_id = make_case(prep, "founding")["id"]
    with db.write() as session:
        session.execute(update(Case).where(Case.id == case_id).values(definition_version="1"))
    # version 1 knows no document number of the reply
    walk(fire, case_id, "candidates_approved", prep, tree["fed"], approve_application={})
    case = api.get(f"/cases/{case_id}", prep).get_json()
    assert case["definition_version"] == "1"
    assert "record_members" not in {a["trigger"] for a in case["available"]}
    fire(prep, case_id, "convene", assembly())
    old = {k: v for k, v in election().items() if k not in ("chair_method", "chair_votes")}
    assert fire(prep, case_id, "record_election", old)["data"]["elected"]["chair"] == "张伟"
    assert make_case(tree["prep_m"], "founding")["definition_version"] == "3"
