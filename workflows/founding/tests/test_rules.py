"""The founding workflow's definition and rules (建会, domain.md §1), at their exact boundaries."""
from __future__ import annotations

import re
import string
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from definitions import Catalog, load_definition
from definitions.loader import PACKAGES_DIR, REASONS_DIR
from workflow.catalog import check_definition, checked_catalog
from workflow.competence import RULES, OrgNode
from workflow.rules import EFFECTS, GUARDS, Context, OrgFacts
from workflows.founding import rules as founding

DEFINITION = load_definition(PACKAGES_DIR / "founding" / "definition.yaml")
DEFAULT = Catalog().profile("default").for_workflow("founding")
BEIJING = Catalog().profile("beijing").for_workflow("founding")
OWN_MESSAGES = yaml.safe_load((PACKAGES_DIR / "founding" / "reasons.yaml").read_text(encoding="utf-8"))
# reasons shared with other workflows (posting, 公示) live in common.yaml
SHARED = {"posted_on_in_future", "posting_period_not_elapsed"}
COMMON = yaml.safe_load((REASONS_DIR / "common.yaml").read_text(encoding="utf-8"))
MESSAGES = {**OWN_MESSAGES, **{code: COMMON[code] for code in SHARED}}
TODAY = date(2026, 11, 10)
ORG = OrgFacts(code="ENT-001", name="某物流公司", kind="enterprise", employees=60, female_employees=20,
               union_status="founding")
MEMBERS = {"member_count": 40, "female_member_count": 12}


# ---- factories -------------------------------------------------------------

def make_ctx(trigger: str, data: dict | None = None, case: dict | None = None, *,
             params=DEFAULT, org: OrgFacts = ORG, today: date = TODAY) -> Context:
    return Context(workflow="founding", trigger=trigger, state="", data=data or {}, case=case or {},
                   params=params, org=org, today=today)


def reasons_of(name: str, ctx: Context) -> list:
    """Run one guard; every reason it gives must have a message that renders in both languages."""
    found = list(GUARDS[name](ctx))
    for r in found:
        for lang in ("zh", "en"):
            MESSAGES[r.code][lang].format_map(dict(r.params))
    return found


def codes(name: str, ctx: Context) -> list[str]:
    return [r.code for r in reasons_of(name, ctx)]


def step_codes(trigger: str, ctx: Context) -> set[str]:
    """Every guard the definition runs for the trigger, as the engine does."""
    (transition,) = {t for t in DEFINITION.transitions if t.trigger == trigger}
    return {code for g in transition.guards for code in codes(g, ctx)}


def cand(name: str, *stands: str, bars: tuple[str, ...] = ()) -> dict:
    return {"name": name, "for": list(stands), "bars": list(bars)}


def slate(committee: int = 6, audit: int = 1, women: int = 1) -> list[dict]:
    """Committee candidates 委员1… (委员1 also for chair), then audit and women candidates."""
    people = [cand(f"委员{i}", "committee", *(["chair"] if i == 1 else [])) for i in range(1, committee + 1)]
    people += [cand(f"经审{i}", "audit") for i in range(1, audit + 1)]
    return people + [cand(f"女工{i}", "women") for i in range(1, women + 1)]


def nomination(**changes) -> dict:
    return {"committee_seats": 5, "audit_seats": 1, "women_seats": 1, "posted_on": TODAY,
            "candidates": slate(), **changes}


# ---- the definition --------------------------------------------------------

TABLE = {
    ("form_group", "draft", "group_formed"), ("apply", "group_formed", "applied"),
    ("approve_application", "applied", "approved"), ("return_application", "applied", "group_formed"),
    ("reject_application", "applied", "rejected"), ("record_members", "approved", "members_recruited"),
    ("nominate", "members_recruited", "candidates_submitted"),
    ("approve_candidates", "candidates_submitted", "candidates_approved"),
    ("return_candidates", "candidates_submitted", "members_recruited"),
    ("convene", "candidates_approved", "assembly_convened"), ("record_election", "assembly_convened", "elected"),
    ("submit_results", "elected", "results_submitted"), ("sanction", "results_submitted", "founded"),
    ("return_results", "results_submitted", "elected"), ("register", "founded", "registered"),
    # members may be recorded again until the assembly (definition version 2)
    ("record_members", "members_recruited", "members_recruited"),
    ("record_members", "candidates_submitted", "candidates_submitted"),
    ("record_members", "candidates_approved", "candidates_approved"),
}
OPEN_BEFORE_FOUNDING = ["draft", "group_formed", "applied", "approved", "members_recruited",
                        "candidates_submitted", "candidates_approved", "assembly_convened", "elected",
                        "results_submitted"]
REVIEWS = {"approve_application": "apply", "return_application": "apply", "reject_application": "apply",
           "approve_candidates": "nominate", "return_candidates": "nominate",
           "sanction": "submit_results", "return_results": "submit_results"}


def test_definition_loads_in_the_checked_catalog_with_the_states_and_steps_of_the_domain():
    d = checked_catalog().definition("founding")
    assert [s.name for s in d.states] == [*OPEN_BEFORE_FOUNDING, "founded", "registered", "rejected", "withdrawn"]
    assert d.final_states == {"registered", "rejected", "withdrawn"}
    assert d.initial == "draft"
    withdraw = {(t.trigger, t.source, t.dest) for t in d.transitions if t.trigger == "withdraw"}
    assert withdraw == {("withdraw", s, "withdrawn") for s in OPEN_BEFORE_FOUNDING}  # not from `founded`
    assert {(t.trigger, t.source, t.dest) for t in d.transitions} - withdraw == TABLE
    assert all(s.label.zh and s.label.en for s in d.states)


def test_roles_competence_four_eyes_comments_and_confirmation():
    by_trigger = {t.trigger: t for t in DEFINITION.transitions}
    for trigger, t in by_trigger.items():
        reviewing = trigger in REVIEWS
        assert t.roles == (("reviewer",) if reviewing else ("preparer",)), trigger
        assert t.competent == ("case" if reviewing else "case_org"), trigger
        assert t.reviews == ((REVIEWS[trigger],) if reviewing else ()), trigger
        expected_comment = trigger.startswith(("return_", "reject_")) or trigger == "withdraw"
        assert (t.comment == "required") is expected_comment, trigger
        assert t.confirm is (trigger in {"reject_application", "withdraw", "sanction", "register"}), trigger
        assert (t.fix_competent == "by_enterprise_size") is (trigger == "apply"), trigger
    c = DEFINITION.creation
    assert c.roles == ("preparer",) and c.org_kind == "enterprise"
    assert dict(c.unique) == {"scope": "open", "reason": "case_exists"}
    check_definition(DEFINITION)


def test_event_data_fields_are_those_of_the_api():
    fields = {t.trigger: {f.name: f for f in t.data} for t in DEFINITION.transitions}
    assert set(fields["form_group"]) == {"group_members"}
    assert set(fields["record_members"]) == {"member_count", "female_member_count"}
    assert set(fields["nominate"]) == {"committee_seats", "audit_seats", "women_seats", "posted_on", "candidates"}
    item = fields["nominate"]["candidates"].items
    parts = {f.name: f for f in item.fields}
    assert set(parts) == {"name", "for", "bars"}
    assert parts["name"].required and parts["for"].required and not parts["bars"].required
    assert parts["for"].items.values == ("committee", "chair", "audit", "women")
    assert set(parts["bars"].items.values) == set(founding.BARS)
    assert fields["convene"]["assembly_type"].values == ("members", "delegates")
    assert fields["record_election"]["votes"].type == "map"
    assert fields["record_election"]["votes"].items.type == "integer"
    assert set(fields["record_election"]) == {"ballots_cast", "votes", "chair", "chair_method", "chair_votes"}
    assert set(fields["sanction"]) == {"approval_no", "founded_on"} and not fields["sanction"]["founded_on"].required
    assert set(fields["register"]) == {"certificate_no"}
    # the approving steps whose decision is printed as a 批复 take its document number (文号), as typed
    assert set(fields["approve_application"]) == {"reply_no"}
    for number in (fields["approve_application"]["reply_no"], fields["sanction"]["approval_no"]):
        assert (number.type, number.required, number.max_length) == ("string", True, 40)
    for trigger in ("apply", "submit_results", *REVIEWS.keys() - {"sanction", "approve_application"}, "withdraw"):
        assert fields[trigger] == {}, trigger


def test_extra_holds_the_deadline_step_texts_and_the_labels_the_rules_use():
    extra = DEFINITION.extra
    assert [dict(x) for x in extra["deadlines"]] == [{"fact": "registration_due_on", "states": ("founded",)}]
    assert set(extra["steps"]) == DEFINITION.triggers
    for text in extra["steps"].values():
        for lang in ("zh", "en"):
            names = {f for _, f, _, _ in string.Formatter().parse(text[lang]) if f}
            assert names <= set(DEFAULT), names
            text[lang].format_map(dict(DEFAULT))
    labels = extra["enum_labels"]
    assert {k: (v["zh"], v["en"]) for k, v in labels["bars"].items()} == dict(founding.BARS)
    assert {k: (v["zh"], v["en"]) for k, v in labels["for"].items()} == dict(founding.BODIES)


def test_phases_chain_the_eight_steps_and_registration_over_every_forward_step():
    phases = [dict(p) for p in DEFINITION.extra["phases"]]
    assert [p["n"] for p in phases] == [1, 2, 3, 4, 5, 6, 7, 8, None]
    assert phases[0]["from"] == DEFINITION.initial and phases[-1]["done"] == "registered"
    assert all(a["done"] == b["from"] for a, b in zip(phases, phases[1:]))
    forward = {t.trigger: (t.source, t.dest) for t in DEFINITION.transitions
               if not t.trigger.startswith(("return_", "reject_")) and t.trigger != "withdraw"
               and t.source != t.dest}  # a step taken again in place (record_members) moves no phase
    assert [t for p in phases for t in p["triggers"]] == list(forward)
    for p in phases:  # the phase's steps walk from its first state to its last
        state = p["from"]
        for trigger in p["triggers"]:
            assert forward[trigger][0] == state
            state = forward[trigger][1]
        assert state == p["done"]
    short = DEFINITION.extra["short_labels"]
    assert set(short["for"]) == set(founding.BODIES) and set(short["bars"]) == set(founding.BARS)


def test_rules_named_by_the_definition_are_founding_rules_and_every_reason_has_messages():
    d = DEFINITION
    named = {n for t in d.transitions for n in (*t.guards, *t.effects)} | {*d.creation.guards, *d.creation.effects}
    assert named and all(n.startswith("founding_") for n in named)
    source = Path(founding.__file__).read_text(encoding="utf-8")
    assert set(re.findall(r'Reason\("(\w+)"', source)) == set(OWN_MESSAGES) | SHARED
    assert all(set(m) == {"zh", "en"} and m["zh"] and m["en"] for m in MESSAGES.values())


# ---- 审批单位 by enterprise size --------------------------------------------

FED = OrgNode(1, "FED-01", "某区总工会", "federation")
TOWN = OrgNode(2, "TOWN-01", "城关镇工会", "town")
COMM = OrgNode(3, "COMM-01", "某社区工会", "community")


@pytest.mark.parametrize("employees, expected", [(50, FED), (49, TOWN), (8, TOWN), (7, COMM), (0, COMM),
                                                 (5000, FED)])
def test_competent_org_by_enterprise_size(employees, expected):
    ent = OrgNode(9, "ENT-001", "某物流公司", "enterprise", employees=employees)
    assert RULES["by_enterprise_size"](ent, [COMM, TOWN, FED], DEFAULT) == expected


@pytest.mark.parametrize("ancestors, employees, expected", [
    ([TOWN, FED], 7, TOWN),   # no community above: the town decides
    ([TOWN, FED], 8, TOWN),
    ([COMM, FED], 8, FED),    # no town above: the federation decides
    ([COMM, FED], 7, COMM),
    ([FED], 7, FED),
])
def test_competent_org_falls_to_the_next_higher_kind(ancestors, employees, expected):
    ent = OrgNode(9, "ENT-001", "某物流公司", "enterprise", employees=employees)
    assert RULES["by_enterprise_size"](ent, ancestors, DEFAULT) == expected


# ---- creation, status ------------------------------------------------------

def test_creation_refused_once_the_union_is_founded_and_status_effects():
    assert codes("founding_union_not_founded", make_ctx("", org=ORG)) == []
    none = OrgFacts(code="E", name="某公司", kind="enterprise", union_status="none")
    assert codes("founding_union_not_founded", make_ctx("", org=none)) == []
    founded = OrgFacts(code="E", name="某公司", kind="enterprise", union_status="founded")
    assert codes("founding_union_not_founded", make_ctx("", org=founded)) == ["union_already_founded"]
    assert EFFECTS["founding_mark_founding"](make_ctx("apply")).org == {"union_status": "founding"}
    assert EFFECTS["founding_reset_status"](make_ctx("withdraw")).org == {"union_status": "none"}
    assert DEFINITION.creation.effects == ("founding_mark_founding",)
    resets = {t.trigger for t in DEFINITION.transitions if "founding_reset_status" in t.effects}
    assert resets == {"reject_application", "withdraw"}


# ---- 1 筹备组 --------------------------------------------------------------

@pytest.mark.parametrize("size, ok", [(2, False), (3, True), (7, True), (8, False)])
def test_group_size(size, ok):
    reasons = reasons_of("founding_group", make_ctx("form_group", {"group_members": [f"成员{i}" for i in range(size)]}))
    assert [r.code for r in reasons] == ([] if ok else ["group_size"])
    if not ok:
        assert dict(reasons[0].params) == {"count": size, "min": 3, "max": 7}


def test_group_counts_each_named_person_once():
    ctx = make_ctx("form_group", {"group_members": ["张三", "李四", " 张三 ", ""]})
    reasons = reasons_of("founding_group", ctx)
    assert [(r.code, dict(r.params)) for r in reasons] == [
        ("unnamed_group_member", {}), ("duplicate_group_member", {"name": "张三"}),
        ("group_size", {"count": 2, "min": 3, "max": 7})]


# ---- 4 发展会员 ------------------------------------------------------------

@pytest.mark.parametrize("members, female, ok", [
    (0, 0, False), (1, 0, True), (60, 20, True), (61, 0, False),   # 1 ≤ members ≤ 60 employees
    (10, 10, True), (10, 11, False), (30, 21, False),             # female ≤ members and ≤ 20 female employees
])
def test_member_counts(members, female, ok):
    ctx = make_ctx("record_members", {"member_count": members, "female_member_count": female})
    assert codes("founding_members", ctx) == ([] if ok else ["member_count_invalid"])


# ---- 5 候选人 --------------------------------------------------------------

@pytest.mark.parametrize("member_count, seats, ok", [
    (24, 1, True), (24, 5, True), (24, 6, False), (24, 0, False),
    (25, 2, False), (25, 3, True), (200, 7, True), (200, 8, False),
    (201, 6, False), (201, 7, True), (1000, 15, True), (1000, 16, False),
    (1001, 14, False), (1001, 15, True), (5000, 21, True), (5000, 22, False),
    (5001, 20, False), (5001, 21, True), (10000, 29, True), (10000, 30, False),
    (10001, 28, False), (10001, 29, True), (10001, 37, True), (10001, 38, False),
])
def test_committee_seats_by_member_count(member_count, seats, ok):
    ctx = make_ctx("nominate", nomination(committee_seats=seats), {"member_count": member_count})
    reasons = reasons_of("founding_committee_seats", ctx)
    assert [r.code for r in reasons] == ([] if ok else ["seats_out_of_range"])


def test_seats_out_of_range_names_the_range():
    ctx = make_ctx("nominate", nomination(committee_seats=2), {"member_count": 25})
    (reason,) = reasons_of("founding_committee_seats", ctx)
    assert dict(reason.params) == {"seats": 2, "min": 3, "max": 7, "member_count": 25}


@pytest.mark.parametrize("seats, required", [(1, 2), (3, 4), (7, 8), (20, 21), (21, 23), (37, 39)])
@pytest.mark.parametrize("short", [1, 0])
def test_candidate_margin(seats, required, short):
    ctx = make_ctx("nominate", nomination(committee_seats=seats, candidates=slate(required - short)))
    reasons = reasons_of("founding_candidate_margin", ctx)
    assert [(r.code, dict(r.params)) for r in reasons] == (
        [("insufficient_candidate_margin", {"seats": seats, "candidates": required - 1, "required": required})]
        if short else [])
    assert founding.required_candidates(seats, DEFAULT["candidate_margin_percent"]) == required


def test_margin_counts_committee_candidates_only():
    people = slate(4) + [cand("经审2", "audit"), cand("女工2", "women")]
    assert codes("founding_candidate_margin", make_ctx("nominate", nomination(committee_seats=4,
                                                                            candidates=people))) == [
        "insufficient_candidate_margin"]


def test_chair_candidate_must_stand_for_the_committee_too():
    no_chair = [cand("甲", "committee"), cand("乙", "committee")]
    assert codes("founding_chair_candidate", make_ctx("nominate", {"candidates": no_chair})) == [
        "chair_candidate_required"]
    chair_only = [cand("甲", "chair"), cand("乙", "committee")]
    assert codes("founding_chair_candidate", make_ctx("nominate", {"candidates": chair_only})) == [
        "chair_candidate_required", "chair_candidate_not_committee"]
    assert codes("founding_chair_candidate", make_ctx("nominate", {"candidates": slate()})) == []


@pytest.mark.parametrize("seats, audit_candidates, expected", [
    (0, 1, ["audit_committee_required"]), (1, 0, ["audit_committee_required"]),
    (1, 1, []), (2, 1, ["too_few_candidates"]), (2, 2, []),
])
def test_audit_committee(seats, audit_candidates, expected):
    ctx = make_ctx("nominate", nomination(audit_seats=seats, candidates=slate(audit=audit_candidates)))
    assert codes("founding_audit_committee", ctx) == expected


@pytest.mark.parametrize("params, female, required", [
    (DEFAULT, 9, False), (DEFAULT, 10, True), (BEIJING, 24, False), (BEIJING, 25, True)])
def test_women_committee_threshold(params, female, required):
    case = {"member_count": 60, "female_member_count": female}
    without = make_ctx("nominate", nomination(women_seats=0, candidates=slate(women=0)), case, params=params)
    reasons = reasons_of("founding_women_committee", without)
    assert [r.code for r in reasons] == (["women_committee_required"] if required else [])
    if required:
        assert dict(reasons[0].params) == {"female_members": female,
                                           "threshold": params["women_committee_min_female_members"]}
    with_committee = make_ctx("nominate", nomination(women_seats=1, candidates=slate(women=1)), case, params=params)
    assert codes("founding_women_committee", with_committee) == []


def test_women_seats_need_candidates_even_when_not_required():
    ctx = make_ctx("nominate", nomination(women_seats=2, candidates=slate(women=1)), {"female_member_count": 3})
    assert codes("founding_women_committee", ctx) == ["too_few_candidates"]
    ctx = make_ctx("nominate", nomination(women_seats=1, candidates=slate(women=0)), {"female_member_count": 3})
    assert codes("founding_women_committee", ctx) == ["too_few_candidates"]


OWNER_BARS = {"principal", "principal_relative", "partner", "partner_relative"}


@pytest.mark.parametrize("bar", sorted(founding.BARS))
@pytest.mark.parametrize("body", ["committee", "audit", "chair", "women"])
def test_every_bar_for_every_body(bar, body):
    ctx = make_ctx("nominate", {"candidates": [cand("王五", body, bars=(bar,))]})
    reasons = reasons_of("founding_eligible_candidates", ctx)
    barred = {"committee": bar in OWNER_BARS, "audit": bar in OWNER_BARS, "chair": True, "women": False}[body]
    assert [(r.code, r.params["name"], r.params["bar"], r.params["bodies"]) for r in reasons] == (
        [("ineligible_candidate", "王五", bar, [body])] if barred else [])


def test_one_reason_per_candidate_and_bar_naming_every_body():
    people = [cand("赵六", "committee", "chair", bars=("principal_relative", "hr_head"))]
    reasons = reasons_of("founding_eligible_candidates", make_ctx("nominate", {"candidates": people}))
    assert [(r.params["bar"], r.params["bodies"], r.params["bodies_zh"]) for r in reasons] == [
        ("principal_relative", ["committee", "chair"], "工会委员会委员、工会主席"),
        ("hr_head", ["chair"], "工会主席")]


def test_candidate_list_names_and_positions():
    people = [cand("甲", "committee"), cand("甲", "audit"), cand("乙")]
    ctx = make_ctx("nominate", {"candidates": people}, {"member_count": 40})
    assert [(r.code, dict(r.params)) for r in reasons_of("founding_candidate_list", ctx)] == [
        ("duplicate_candidate", {"name": "甲"}), ("candidate_without_position", {"name": "乙"})]
    assert codes("founding_candidate_list", make_ctx("nominate", {"candidates": slate(6, 1, 1)},
                                                     {"member_count": 7})) == ["candidates_exceed_members"]
    assert codes("founding_candidate_list", make_ctx("nominate", {"candidates": slate(6, 1, 1)},
                                                     {"member_count": 8})) == []


@pytest.mark.parametrize("posted_on, ok", [(TODAY + timedelta(days=1), False), (TODAY, True)])
def test_posted_on_not_in_the_future(posted_on, ok):
    ctx = make_ctx("nominate", nomination(posted_on=posted_on))
    assert codes("founding_posted_on", ctx) == ([] if ok else ["posted_on_in_future"])


@pytest.mark.parametrize("days_ago, ok", [(6, False), (7, True), (8, True)])
def test_candidate_posting_lasts_seven_calendar_days(days_ago, ok):
    ctx = make_ctx("approve_candidates", case={"posted_on": (TODAY - timedelta(days=days_ago)).isoformat()})
    reasons = reasons_of("founding_posting_elapsed", ctx)
    assert [r.code for r in reasons] == ([] if ok else ["posting_period_not_elapsed"])
    if not ok:
        assert dict(reasons[0].params) == {"posted_on": "2026-11-04", "days": 7, "earliest": "2026-11-11"}


def test_a_sound_nomination_passes_and_a_bad_one_reports_every_broken_rule():
    assert step_codes("nominate", make_ctx("nominate", nomination(), MEMBERS)) == set()
    people = [cand(f"委员{i}", "committee") for i in range(7)] + [cand("老板", "committee", bars=("principal",))]
    bad = nomination(committee_seats=8, audit_seats=0, women_seats=0, posted_on=TODAY + timedelta(days=1),
                     candidates=people)
    assert step_codes("nominate", make_ctx("nominate", bad, MEMBERS)) == {
        "seats_out_of_range", "insufficient_candidate_margin", "chair_candidate_required",
        "audit_committee_required", "women_committee_required", "ineligible_candidate", "posted_on_in_future"}
