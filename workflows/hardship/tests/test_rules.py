"""Hardship assistance (困难职工帮扶): definition, 身份证号, working days, household
rule, categories and objections, at their exact boundaries on both sides."""
from __future__ import annotations

import functools
import shutil
from datetime import date
from decimal import Decimal

import pytest

from definitions.loader import PACKAGES_DIR, PROFILES_DIR, REASONS_DIR
from workflow.catalog import checked_catalog
from workflow.idnumber import check_character, id_number_problem, is_valid_id_number, mask_id_number
from workflow.rules import EFFECTS, GUARDS, ActorFacts, Context, OrgFacts
from workflow.workdays import Calendar
from workflows.hardship import rules

TODAY = date(2026, 11, 20)  # a Friday
ALL_MATERIALS = ["archive_form", "id_copies", "household_register", "income_proof", "diagnosis"]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    workflows = tmp_path_factory.mktemp("workflows")
    shutil.copytree(PACKAGES_DIR / "hardship", workflows / "hardship", ignore=shutil.ignore_patterns("*.py", "__pycache__", "tests", "pages", "templates"))
    return checked_catalog(packages=(), folders=sorted(p for p in workflows.iterdir() if p.is_dir()), profiles_dir=PROFILES_DIR,
                           reasons_dir=REASONS_DIR)


@pytest.fixture(scope="module")
def definition(catalog):
    return catalog.definition("hardship")


@pytest.fixture(scope="module")
def params(catalog):
    return catalog.profile("default").for_workflow("hardship")


def make_id(body17: str) -> str:
    """An ID number with its check character, computed here independently: (12 - S mod 11) mod 11."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(body17))
    value = (12 - total % 11) % 11
    return body17 + ("X" if value == 10 else str(value))


GOOD_ID = make_id("11010519800101001")
SPOUSE_ID = make_id("11010519820202002")


def with_x_check() -> str:
    for seq in range(1000):
        number = make_id(f"44030419900315{seq:03d}")
        if number.endswith("X"):
            return number
    raise AssertionError("no sequence code gives X")


@functools.cache
def _common():
    return checked_catalog().profile("default").for_workflow("common")


def make_ctx(params, data=None, case=None, today=TODAY, status="founded", username="reviewer1"):
    common = _common()
    return Context(workflow="hardship", trigger="test", state="", data=data or {}, case=case or {},
                   params=params, common=common, org=OrgFacts("ENT-001", "某物流公司", "enterprise", union_status=status),
                   today=today, actor=ActorFacts(username, "reviewer", "ENT-001"))


def codes(name, ctx):
    return [r.code for r in GUARDS[name](ctx)]


def app(incomes, status="unmarried", causes=(), medical="0", loss="0", materials=ALL_MATERIALS, household=None):
    """An application; `incomes` are the monthly incomes of self, then parents (unmarried) or spouse/children."""
    if household is None:
        relations = ["self"] + (["parent", "parent", "sibling"] if status == "unmarried" else ["spouse", "child", "child"])
        household = [{"name": f"成员{i}", "relation": relations[i], "monthly_income": str(v)}
                     for i, v in enumerate(incomes)]
    return {"applicant": {"name": "成员0", "id_number": GOOD_ID}, "marital_status": status,
            "household": household, "causes": list(causes), "out_of_pocket_medical": medical,
            "disaster_loss": loss, "materials": list(materials)}


def assessed(params, application):
    return EFFECTS["hardship_assess"](make_ctx(params, data=application)).facts


# ---------------------------------------------------------------- definition

def test_definition_states_and_steps(definition):
    assert definition.initial == "draft"
    assert definition.final_states == {"rejected", "declined", "closed"}
    table = {(t.trigger, t.source, t.dest) for t in definition.transitions}
    assert table == {
        ("submit", "draft", "applied"), ("approve_review", "applied", "reviewed"),
        ("return_review", "applied", "draft"), ("reject_review", "applied", "rejected"),
        ("start_posting", "reviewed", "posting"), ("object", "posting", "posting"),
        ("dismiss_objection", "posting", "posting"), ("uphold_objection", "posting", "rejected"),
        ("submit_to_federation", "posting", "submitted"), ("determine", "submitted", "assisted"),
        ("decline", "submitted", "declined"), ("recheck", "assisted", "assisted"),
        ("close_file", "assisted", "closed"),
    }
    by = {t.trigger: t for t in definition.transitions}
    assert {k for k, t in by.items() if t.comment == "required"} == {
        "return_review", "reject_review", "decline", "dismiss_objection", "uphold_objection", "close_file"}
    assert by["submit_to_federation"].fix_competent == "nearest_federation"
    # definition version 2: the reviewing union (the enterprise's, else the community's or town's) is fixed on
    # the case at creation and decides the review, the posting and the submission
    assert {k for k, t in by.items() if t.competent == "case"} == {
        "approve_review", "return_review", "reject_review", "start_posting", "dismiss_objection", "uphold_objection",
        "submit_to_federation", "determine", "decline", "recheck", "close_file"}
    assert definition.creation.fix_competent == "reviewing_union"
    assert all(by[k].reviews == ("submit",) for k in ("approve_review", "return_review", "reject_review"))
    assert by["determine"].reviews == by["decline"].reviews == ("submit_to_federation",)
    assert by["object"].roles == ("preparer", "reviewer") and by["object"].record == "none"
    assert definition.creation.roles == ("preparer",)
    # the application stays editable at `submit`: the same fields, none of them required
    assert [f.name for f in by["submit"].data] == [f.name for f in definition.creation.data]
    assert not any(f.required for f in by["submit"].data)


def test_extra_matches_the_rules(definition):
    extra = definition.extra
    materials = {m["id"]: m for m in extra["materials"]}
    assert list(materials) == list(rules.BASE_MATERIALS + rules.MEDICAL_MATERIALS)
    assert {k: m["title"]["zh"] for k, m in materials.items()} == {k: v[0] for k, v in rules.MATERIAL_TITLES.items()}
    assert set(materials["diagnosis"]["required"]["causes"]) == rules.MEDICAL_CAUSES
    assert list(extra["notice"]["public_fields"]) == ["name", "unit", "category"]
    assert [c["id"] for c in extra["categories"]] == [1, 2, 3, 4]
    enum = next(f for f in definition.creation.data if f.name == "causes").items.values
    assert [c["id"] for c in extra["causes"]] == list(enum)


def test_every_reason_has_a_message(catalog):
    emitted = {"union_not_founded", "invalid_id_number", "household_self_required", "household_spouses_exceed_one",
               "missing_materials", "not_eligible", "posted_on_in_future", "posted_before_review",
               "posting_period_not_elapsed", "open_objections", "submission_deadline_passed",
               "no_open_objection", "objection_not_found", "objection_not_open", "amount_not_positive"}
    assert emitted <= set(catalog.reasons)


# ---------------------------------------------------------------- 身份证号

def test_check_character_matches_iso_7064():
    assert check_character("11010519491231002") == "X"  # the standard's own example
    assert check_character(GOOD_ID[:17]) == GOOD_ID[17]
    bodies = [f"32010219751104{seq:03d}" for seq in range(200)]
    assert all(check_character(b) == make_id(b)[-1] for b in bodies)
    assert {check_character(b) for b in bodies} == set("0123456789X")  # every residue seen


def test_id_numbers():
    assert is_valid_id_number(GOOD_ID)
    x = with_x_check()
    assert x.endswith("X") and is_valid_id_number(x)
    assert id_number_problem(x[:-1] + "x") == "characters"  # only the capital X
    wrong = GOOD_ID[:17] + next(c for c in "0123456789X" if c != GOOD_ID[17])
    assert id_number_problem(wrong) == "check_character"
    assert id_number_problem(GOOD_ID[:17]) == "length"
    assert id_number_problem(GOOD_ID + "1") == "length"
    assert id_number_problem(make_id("11010519800230001")) == "birth_date"  # 30 February
    born_tomorrow = make_id("110105" + "20261121" + "001")
    assert id_number_problem(born_tomorrow, today=TODAY) == "birth_date"
    assert id_number_problem(make_id("110105" + "20261120" + "001"), today=TODAY) is None
    assert id_number_problem(None) == "length"


def test_mask():
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("1234567890") == "**********"
    assert mask_id_number(None) is None


def test_invalid_id_number_names_the_person(params):
    application = app([1000])
    application["applicant"] = {"name": "张三", "id_number": GOOD_ID[:17] + next(c for c in "01" if c != GOOD_ID[17])}
    application["household"][0]["id_number"] = "123"
    reasons = list(GUARDS["hardship_application_valid"](make_ctx(params, data=application)))
    assert [(r.code, r.params["name"], r.params["field"]) for r in reasons] == [
        ("invalid_id_number", "张三", "applicant.id_number"),
        ("invalid_id_number", "成员0", "household[0].id_number"),
    ]
    application["household"][0].pop("id_number")  # optional for household members
    application["applicant"]["id_number"] = with_x_check()
    assert codes("hardship_application_valid", make_ctx(params, data=application)) == []


def test_household_needs_one_self_and_one_spouse_at_most(params):
    h = [{"name": "甲", "relation": "spouse", "monthly_income": "0"}, {"name": "乙", "relation": "spouse", "monthly_income": "0"}]
    reasons = list(GUARDS["hardship_application_valid"](make_ctx(params, data=app([], household=h, status="married"))))
    assert [(r.code, r.params["count"]) for r in reasons] == [("household_self_required", 0),
                                                             ("household_spouses_exceed_one", 2)]


def test_submit_checks_the_application_after_its_changes(params):
    recorded = app([1000])
    recorded["applicant"] = {"name": "张三", "id_number": "110105198001010000"}
    bad = make_ctx(params, case=recorded)
    assert codes("hardship_application_valid", bad) == ["invalid_id_number"]
    fixed = make_ctx(params, data={"applicant": {"name": "张三", "id_number": GOOD_ID}}, case=recorded)
    assert codes("hardship_application_valid", fixed) == []
    # the replaced household is the one assessed
    facts = EFFECTS["hardship_assess"](make_ctx(params, data={"household": app([900])["household"]}, case=recorded)).facts
    assert facts["per_capita_income"] == "900.00"


# ---------------------------------------------------------------- materials

def test_missing_materials_named_one_by_one(params):
    def missing(materials, causes=()):
        reasons = list(GUARDS["hardship_materials_complete"](make_ctx(params, data=app([1000], causes=causes, materials=materials))))
        return reasons[0].params["materials"] if reasons else []

    assert missing([]) == ["archive_form", "id_copies", "household_register", "income_proof"]
    assert missing(["archive_form", "household_register"]) == ["id_copies", "income_proof"]
    assert missing(ALL_MATERIALS[:4]) == []
    assert missing(ALL_MATERIALS[:4], causes=["illness"]) == ["diagnosis"]
    assert missing(ALL_MATERIALS[:4], causes=["accident"]) == ["diagnosis"]
    assert missing(ALL_MATERIALS[:4], causes=["disaster", "schooling"]) == []
    assert missing(ALL_MATERIALS, causes=["illness"]) == []
    reason = next(iter(GUARDS["hardship_materials_complete"](make_ctx(params, data=app([1], materials=["archive_form"])))))
    assert reason.params["titles_zh"] == "家庭成员身份证复印件、户口本复印件、收入证明"


# ---------------------------------------------------------------- household (三口)

def test_household_rule_married(params):
    household = [
        {"name": "本人", "relation": "self", "monthly_income": "1800"},
        {"name": "配偶", "relation": "spouse", "monthly_income": "600"},
        {"name": "小女", "relation": "child", "monthly_income": "0"},
        {"name": "长子", "relation": "child", "married": True, "monthly_income": "9000"},
        {"name": "父亲", "relation": "parent", "monthly_income": "3000"},
        {"name": "弟弟", "relation": "sibling", "monthly_income": "5000"},
    ]
    facts = assessed(params, app([], status="married", household=household))
    assert [m["name"] for m in facts["counted_members"]] == ["本人", "配偶", "小女"]
    assert facts["excluded_members"] == [
        {"name": "长子", "relation": "child", "reason": "married"},
        {"name": "父亲", "relation": "parent", "reason": "relation_not_counted"},
        {"name": "弟弟", "relation": "sibling", "reason": "relation_not_counted"},
    ]
    assert (facts["household_size"], facts["counted_income"], facts["per_capita_income"]) == (3, "2400.00", "800.00")


def test_household_rule_unmarried_and_single_parent(params):
    household = [
        {"name": "本人", "relation": "self", "monthly_income": "2000"},
        {"name": "父亲", "relation": "parent", "monthly_income": "1000"},
        {"name": "妹妹", "relation": "sibling", "monthly_income": "0"},
        {"name": "哥哥", "relation": "sibling", "married": True, "monthly_income": "8000"},
    ]
    facts = assessed(params, app([], household=household))
    assert [m["name"] for m in facts["counted_members"]] == ["本人", "父亲", "妹妹"]
    assert facts["excluded_members"] == [{"name": "哥哥", "relation": "sibling", "reason": "married"}]
    assert facts["per_capita_income"] == "1000.00"
    single = [{"name": "本人", "relation": "self", "monthly_income": "2500"},
              {"name": "儿子", "relation": "child", "monthly_income": "0"},
              {"name": "前夫", "relation": "spouse", "monthly_income": "6000"}]
    facts = assessed(params, app([], status="single_parent", household=single))
    assert facts["excluded_members"] == [{"name": "前夫", "relation": "spouse", "reason": "relation_not_counted"}]
    assert facts["per_capita_income"] == "1250.00"


def test_per_capita_is_quantized_half_up(params):
    assert assessed(params, app([3500, 0, 0]))["per_capita_income"] == "1166.67"
    assert assessed(params, app(["1000.01", 0, 0]))["per_capita_income"] == "333.34"  # 333.336…
    assert rules.per_capita_income([{"monthly_income": "0.05"}, {"monthly_income": "0"}]) == Decimal("0.03")  # .025 up


# ---------------------------------------------------------------- categories

@pytest.mark.parametrize("incomes, causes, medical, loss, category", [
    ([1170], [], 0, 0, 1),
    (["1170.00"], [], 0, 0, 1),
    (["1170.01"], [], 0, 0, None),
    ([1171], [], 0, 0, None),
    ([3510, 0, 0], [], 0, 0, 1),             # 1170.00 exactly
    (["3510.01", 0, 0], [], 0, 0, 1),        # 1170.0033… → 1170.00
    (["3510.02", 0, 0], [], 0, 0, None),     # 1170.0066… → 1170.01
    ([1171], ["schooling"], 0, 0, 2),
    ([1560], ["disability"], 0, 0, 2),
    ([1560], ["other"], 0, 0, 2),
    ([1561], ["single_parent"], 0, 0, None),
    ([1560], ["disaster"], 0, 0, None),      # disaster is no category 2 cause
    ([1561], ["illness"], 0, 0, 3),
    ([2340], ["accident"], 0, 0, 3),
    (["2340.01"], ["illness"], 0, 0, None),
    ([2341], ["illness"], 0, 0, None),
    ([2341], ["illness"], 19999, 0, None),
    ([2341], ["illness"], "19999.99", 0, None),
    ([2341], ["illness"], 20000, 0, 4),
    ([5000], ["disaster"], 0, 19999, None),
    ([5000], ["disaster"], 0, 20000, 4),
    ([5000], ["schooling"], 20000, 20000, None),  # costs without an illness, accident or disaster
    ([1000], ["illness"], 30000, 0, 1),      # the lowest matching category is recorded
    ([1500], ["illness", "schooling"], 0, 0, 2),
])
def test_category_boundaries(params, incomes, causes, medical, loss, category):
    application = app(incomes, causes=causes, medical=str(medical), loss=str(loss))
    facts = assessed(params, application)
    assert facts["category"] == category
    ctx = make_ctx(params, case={**application, **facts})
    assert codes("hardship_eligible", ctx) == ([] if category else ["not_eligible"])


def test_category_facts_and_not_eligible_explained(params):
    facts = assessed(params, app([1170]))
    assert facts["per_capita_income"] == "1170.00" and facts["category"] == 1
    assert "1170.00" in facts["category_reason"]["zh"]
    [reason] = GUARDS["hardship_eligible"](make_ctx(params, case=app([1171])))
    assert reason.params == {"per_capita_income": "1171.00", "limit_1": "1170.00", "limit_2": "1560.00",
                             "limit_3": "2340.00", "cost_threshold": "20000.00"}


def test_categories_follow_the_profile(params):
    beijing_like = {**params, "subsistence_line": 1000}
    assert assessed(beijing_like, app([1500]))["category"] == 1
    assert assessed(beijing_like, app(["1500.01"]))["category"] is None


# ---------------------------------------------------------------- posting and submission

def test_working_days_across_weekend_holiday_and_make_up_day(catalog):
    cal = Calendar.from_params(catalog.profile("default").for_workflow("common"))
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3  # 8, 9 and Saturday 10 (调休)
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 13)) == 5
    assert cal.first_allowed_day(date(2026, 9, 30), 5) == date(2026, 10, 13)
    assert cal.first_allowed_day(date(2026, 11, 9), 5) == date(2026, 11, 16)  # Monday → next Monday
    assert cal.working_days_between(date(2026, 11, 13), date(2026, 11, 13)) == 0
    assert cal.working_days_left(date(2026, 11, 13), date(2026, 11, 16), 5) == 4


@pytest.mark.parametrize("posted_on, today, allowed", [
    (date(2026, 11, 13), date(2026, 11, 19), False),  # posted Friday: 4 working days by Thursday
    (date(2026, 11, 13), date(2026, 11, 20), True),   # 5 by the next Friday
    (date(2026, 9, 30), date(2026, 10, 12), False),   # across 国庆: 4
    (date(2026, 9, 30), date(2026, 10, 13), True),    # 5
])
def test_posting_period(params, posted_on, today, allowed):
    ctx = make_ctx(params, case={"posted_on": posted_on.isoformat()}, today=today)
    reasons = list(GUARDS["hardship_posting_elapsed"](ctx))
    if allowed:
        assert reasons == []
    else:
        [r] = reasons
        assert (r.code, r.params["elapsed"], r.params["days"]) == ("posting_period_not_elapsed", 4, 5)
        assert r.params["earliest"] == r.params["allowed_on"] == (today.fromordinal(today.toordinal() + 1)).isoformat()


def test_start_posting(params):
    future = make_ctx(params, data={"posted_on": date(2026, 11, 21)})
    assert codes("hardship_posted_on_valid", future) == ["posted_on_in_future"]
    assert codes("hardship_posted_on_valid", make_ctx(params, data={"posted_on": TODAY})) == []
    early = make_ctx(params, data={"posted_on": date(2026, 11, 9)}, case={"reviewed_on": "2026-11-10"})
    assert codes("hardship_posted_on_valid", early) == ["posted_before_review"]
    facts = EFFECTS["hardship_start_posting"](make_ctx(params, data={"posted_on": date(2026, 11, 13)})).facts
    assert facts == {"posting_working_days": 5, "submit_allowed_on": "2026-11-20"}


def test_submission_deadline(params):
    assert codes("hardship_before_deadline", make_ctx(params)) == []  # none set by default
    with_deadline = {**params, "submission_deadline": date(2026, 12, 30)}
    assert codes("hardship_before_deadline", make_ctx(with_deadline, today=date(2026, 12, 30))) == []
    assert codes("hardship_before_deadline", make_ctx(with_deadline, today=date(2026, 12, 31))) == [
        "submission_deadline_passed"]
    assert EFFECTS["hardship_submission_deadline"](make_ctx(with_deadline)).facts == {"submission_deadline": "2026-12-30"}


def test_union_must_be_founded(params):
    assert codes("hardship_union_founded", make_ctx(params, status="founding")) == ["union_not_founded"]
    assert codes("hardship_union_founded", make_ctx(params)) == []


# ---------------------------------------------------------------- objections

def test_objections_block_submission_until_decided(params):
    case = {"posted_on": "2026-11-13"}
    out = EFFECTS["hardship_add_objection"](make_ctx(params, data={"text": "收入未如实申报"}, case=case, username="clerk"))
    case.update(out.data)
    assert case["objections"] == [{"id": 1, "text": "收入未如实申报", "raised_by": "clerk",
                                   "raised_on": "2026-11-20", "status": "open"}]
    case.update(EFFECTS["hardship_add_objection"](make_ctx(params, data={"text": "另有房产"}, case=case)).data)
    assert [o["id"] for o in case["objections"]] == [1, 2]
    [reason] = GUARDS["hardship_no_open_objections"](make_ctx(params, case=case))
    assert (reason.code, reason.params["ids"]) == ("open_objections", [1, 2])
    assert codes("hardship_posting_elapsed", make_ctx(params, case=case)) == []  # only the objections block

    case.update(EFFECTS["hardship_dismiss_objection"](make_ctx(params, data={"objection_id": 1}, case=case)).data)
    assert case["objections"][0] == {"id": 1, "text": "收入未如实申报", "raised_by": "clerk",
                                     "raised_on": "2026-11-20", "status": "decided", "outcome": "dismissed",
                                     "decided_on": "2026-11-20", "decided_by": "reviewer1"}
    [reason] = GUARDS["hardship_no_open_objections"](make_ctx(params, case=case))
    assert reason.params["ids"] == [2]
    case.update(EFFECTS["hardship_dismiss_objection"](make_ctx(params, data={"objection_id": 2}, case=case)).data)
    assert codes("hardship_no_open_objections", make_ctx(params, case=case)) == []


def test_decisions_need_an_open_objection(params):
    case = {"objections": [{"id": 1, "text": "…", "status": "decided", "outcome": "dismissed"},
                           {"id": 2, "text": "…", "status": "open"}]}
    assert codes("hardship_objection_open", make_ctx(params, data={"objection_id": 3}, case=case)) == ["objection_not_found"]
    assert codes("hardship_objection_open", make_ctx(params, data={"objection_id": 1}, case=case)) == ["objection_not_open"]
    assert codes("hardship_objection_open", make_ctx(params, data={"objection_id": 2}, case=case)) == []
    # before an objection is named (the case page's list of steps): one is open, then none
    assert codes("hardship_objection_open", make_ctx(params, case=case)) == []
    decided = {"objections": [{**o, "status": "decided"} for o in case["objections"]]}
    assert codes("hardship_objection_open", make_ctx(params, case=decided)) == ["no_open_objection"]
    assert codes("hardship_objection_open", make_ctx(params, case={})) == ["no_open_objection"]
    upheld = EFFECTS["hardship_uphold_objection"](make_ctx(params, data={"objection_id": 2}, case=case)).data
    assert [(o["status"], o["outcome"]) for o in upheld["objections"]] == [("decided", "dismissed"), ("decided", "upheld")]
    assert case["objections"][1]["status"] == "open"  # the recorded case is not changed in place


# ---------------------------------------------------------------- the federation's decision

def test_amount_must_be_positive(params):
    assert codes("hardship_amount_positive", make_ctx(params, data={"amount": Decimal("0.00")})) == ["amount_not_positive"]
    assert codes("hardship_amount_positive", make_ctx(params, data={"amount": Decimal("0.01")})) == []
    assert codes("hardship_amount_positive", make_ctx(params, data={})) == []  # recheck keeps the amount


def test_determination_sets_the_yearly_recheck(params):
    facts = EFFECTS["hardship_record_determination"](make_ctx(params, today=date(2028, 2, 29))).facts
    assert facts == {"determined_on": "2028-02-29", "next_recheck_due": "2029-02-28"}
    facts = EFFECTS["hardship_record_recheck"](make_ctx(params)).facts
    assert facts == {"rechecked_on": "2026-11-20", "next_recheck_due": "2027-11-20"}
