"""The founding workflow's rules for the assembly, the election and the sanction (建会 steps 6–8, domain.md §1),
at their exact boundaries. The factories and the definition come from test_founding_rules."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from workflow.rules import EFFECTS, Context
from workflows.founding.tests.test_rules import (
    DEFINITION,
    MEMBERS,
    TODAY,
    cand,
    codes,
    make_ctx,
    reasons_of,
    step_codes,
)

# ---- 6 会员（代表）大会 ----------------------------------------------------

@pytest.mark.parametrize("member_count, kind, entitled, present, expected", [
    (100, "delegates", 60, 50, ["assembly_type_invalid"]),
    (101, "delegates", 60, 50, []),
    (101, "delegates", 102, 80, ["entitled_out_of_range"]),
    (101, "delegates", 0, 0, ["entitled_out_of_range"]),
    (100, "members", 100, 67, []),
    (100, "members", 100, 66, ["quorum_not_met"]),
    (40, "members", 40, 27, []),
    (40, "members", 40, 26, ["quorum_not_met"]),
    (40, "members", 39, 26, ["entitled_mismatch"]),
    (40, "members", 40, 41, ["present_exceeds_entitled"]),
    (30, "members", 30, 20, []),
    (30, "members", 30, 19, ["quorum_not_met"]),
])
def test_assembly(member_count, kind, entitled, present, expected):
    ctx = make_ctx("convene", {"assembly_type": kind, "entitled": entitled, "present": present},
                   {"member_count": member_count})
    assert codes("founding_assembly", ctx) == expected


def test_quorum_names_the_number_required_and_several_broken_rules_are_all_reported():
    ctx = make_ctx("convene", {"assembly_type": "members", "entitled": 40, "present": 26}, {"member_count": 40})
    (reason,) = reasons_of("founding_assembly", ctx)
    assert dict(reason.params) == {"present": 26, "entitled": 40, "required": 27}
    ctx = make_ctx("convene", {"assembly_type": "delegates", "entitled": 90, "present": 10}, {"member_count": 80})
    assert step_codes("convene", ctx) == {"assembly_type_invalid", "entitled_out_of_range", "quorum_not_met"}


# ---- 7 民主选举 ------------------------------------------------------------

ELECTION_CASE = {
    "member_count": 40, "entitled": 40, "present": 30, "committee_seats": 3, "audit_seats": 1, "women_seats": 1,
    "candidates": [cand("甲", "committee", "chair"), cand("乙", "committee", "women"), cand("丙", "committee"),
                   cand("丁", "committee", bars=("hr_head",)), cand("戊", "audit"), cand("己", "audit"),
                   cand("庚", "women")],
}


def election(votes: dict, ballots_cast: int = 30, chair: str = "甲", chair_votes: dict | None = None,
             chair_method: str = "assembly", **case) -> Context:
    """The election's context; with `chair_votes`, the chair's ballot of definition version 2."""
    base = {"甲": 30, "乙": 25, "丙": 21, "丁": 20, "戊": 21, "己": 9, "庚": 24}
    data = {"ballots_cast": ballots_cast, "votes": {**base, **votes}, "chair": chair}
    if chair_votes is not None:
        data.update(chair_method=chair_method, chair_votes=chair_votes)
    return make_ctx("record_election", data, {**ELECTION_CASE, **case})


@pytest.mark.parametrize("votes, expected", [
    ({"丙": 21}, []),                                   # 21 of 40 entitled is more than half
    ({"丙": 20}, ["seats_unfilled"]),                   # 20 is not
    ({"戊": 20}, ["seats_unfilled"]),                   # the audit committee's own seat
    ({"乙": 20, "庚": 20}, ["seats_unfilled"] * 2),       # committee and women's committee
])
def test_elected_with_more_than_half_of_the_entitled(votes, expected):
    assert codes("founding_seats_filled", election(votes)) == expected


def test_seats_unfilled_says_how_many_votes_were_needed():
    (reason,) = reasons_of("founding_seats_filled", election({"丙": 20}))
    assert dict(reason.params) == {"body": "committee", "body_zh": "工会委员会委员",
                                   "body_en": "union committee member", "seats": 3, "elected": 2,
                                   "votes_needed": 21}


def test_most_votes_win_and_a_tie_for_the_last_seat_is_refused():
    assert codes("founding_seats_filled", election({"丙": 23, "丁": 22})) == []
    facts = EFFECTS["founding_elected"](election({"丙": 23, "丁": 22})).facts
    assert facts == {"elected": {"committee": ["甲", "乙", "丙"], "chair": "甲", "audit": ["戊"], "women": ["乙"]}}
    (reason,) = reasons_of("founding_seats_filled", election({"丙": 22, "丁": 22}))
    assert (reason.code, reason.params["names"], reason.params["votes"]) == ("tied_for_last_seat", "丙、丁", 22)


def test_one_vote_count_applies_to_every_body_a_candidate_stands_for():
    facts = EFFECTS["founding_elected"](election({"乙": 26, "庚": 25})).facts["elected"]
    assert facts["women"] == ["乙"] and "乙" in facts["committee"]
    facts = EFFECTS["founding_elected"](election({"乙": 24, "庚": 25})).facts["elected"]
    assert facts["women"] == ["庚"] and "乙" in facts["committee"]


@pytest.mark.parametrize("ballots_cast, votes, expected", [
    (30, {}, []),
    (31, {}, ["ballots_exceed_present"]),
    (30, {"甲": 31}, ["votes_exceed_ballots"]),
    (30, {"路人": 0}, ["not_a_candidate"]),
])
def test_ballots_and_votes(ballots_cast, votes, expected):
    assert codes("founding_ballots", election(votes, ballots_cast=ballots_cast)) == expected


@pytest.mark.parametrize("chair, votes, ok", [
    ("甲", {}, True),
    ("乙", {}, False),                 # elected, but never stood for chair
    ("丁", {"丁": 29}, False),         # elected, but a chair bar (hr_head)
    ("甲", {"甲": 20}, False),         # stood for chair, not elected
    ("", {}, False),
])
def test_the_chair_is_an_elected_committee_member_who_stood_for_chair(chair, votes, ok):
    assert codes("founding_chair_elected", election(votes, chair=chair)) == ([] if ok else ["chair_not_elected"])


def test_an_election_breaking_several_rules_reports_them_all():
    ctx = election({"甲": 35, "丙": 20, "路人": 3}, ballots_cast=33, chair="乙", chair_votes={"甲": 21})
    assert step_codes("record_election", ctx) == {
        "ballots_exceed_present", "votes_exceed_ballots", "not_a_candidate", "seats_unfilled", "chair_not_elected"}


# ---- 8 批准成立, 法人资格登记 ----------------------------------------------

def test_sanction_founds_the_union_and_sets_the_registration_deadline():
    case = {**MEMBERS, "posted_on": "2026-10-01"}
    outcome = EFFECTS["founding_sanction"](make_ctx("sanction", {"approval_no": "区工发〔2026〕12号"}, case))
    assert outcome.org == {"union_status": "founded", "member_count": 40}
    assert outcome.facts == {"founded_on": "2026-11-10", "registration_due_on": "2027-01-09"}
    outcome = EFFECTS["founding_sanction"](make_ctx("sanction", {"approval_no": "x", "founded_on": date(2026, 11, 1)},
                                                    case))
    assert outcome.facts == {"founded_on": "2026-11-01", "registration_due_on": "2026-12-31"}


@pytest.mark.parametrize("founded_on, expected", [
    (None, []), (TODAY, []), (TODAY + timedelta(days=1), ["founded_on_in_future"])])
def test_founding_date_not_in_the_future(founded_on, expected):
    data = {"approval_no": "x"} if founded_on is None else {"approval_no": "x", "founded_on": founded_on}
    assert step_codes("sanction", make_ctx("sanction", data)) == set(expected)


def test_document_numbers_are_required_fields_and_registration_records_its_date():
    by_trigger = {t.trigger: t for t in DEFINITION.transitions}
    # a blank number is refused by the field spec (invalid input) before any rule runs
    assert {f.name: f.required for f in by_trigger["sanction"].data} == {"approval_no": True, "founded_on": False}
    assert {f.name: f.required for f in by_trigger["register"].data} == {"certificate_no": True}
    assert by_trigger["register"].guards == ()
    assert EFFECTS["founding_registered"](make_ctx("register")).facts == {"registered_on": "2026-11-10"}
