"""困难职工帮扶 through the JSON API: the whole route, every category at its bounds, the
household rule, materials, 身份证号, masking outside the enterprise, and every reason."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from definitions.loader import PROFILES_DIR
from tests.support import SAMPLE_PACKAGE, Api
from workflow.catalog import checked_catalog
from workflows.hardship.tests.support import (  # noqa: F401  (fixtures)
    APPLICANT_ID,
    CHILD_ID,
    MONDAY,
    POSTING_ENDS,
    SPOUSE_ID,
    application,
    bad_check,
    clock,
    config_for,
    founded,
    household_ids,
    id_number,
    single,
    walk,
)

HARDSHIP_REASONS = Path(__file__).resolve().parents[1] / "reasons.yaml"


@pytest.fixture
def app_config(app_config, clock, tmp_path):
    return config_for(app_config, clock, tmp_path)


def codes(resp) -> list[str]:
    return [r["code"] for r in resp.get_json()["error"]["reasons"]]


def masked(number: str) -> str:
    return number[:6] + "*" * 8 + number[-4:]


# ---------------------------------------------------------------- the whole route

def test_whole_route_through_the_api(api, fire, founded, clock):
    u = founded
    resp = api.post("/cases", u["prep"], {"workflow": "hardship", "org": "ENT-L",
                                          "data": application(materials=["archive_form"])})
    assert resp.status_code == 201
    case = resp.get_json()
    cid = case["id"]
    assert (case["state"], case["data"]["category"], case["data"]["per_capita_income"]) == ("draft", 1, "600.00")
    assert [a["trigger"] for a in case["available"] if a["allowed"]] == ["submit"]

    # 申请: materials named one by one, then complete
    resp = api.post(f"/cases/{cid}/events", u["prep"], {"trigger": "submit", "data": {}})
    assert resp.status_code == 422 and codes(resp) == ["missing_materials"]
    reason = resp.get_json()["error"]["reasons"][0]
    assert reason["params"]["materials"] == ["id_copies", "household_register", "income_proof", "diagnosis"]
    for title in ("家庭成员身份证复印件", "户口本复印件", "收入证明", "诊断证明"):
        assert title in reason["message"]
    case = fire(u["prep"], cid, "submit", {"materials": ["archive_form", "id_copies", "household_register",
                                                         "income_proof", "diagnosis"]})
    assert case["state"] == "applied"

    # 企业工会审核: only its reviewer; a return needs a comment; the edited application is resubmitted
    fire(u["prep"], cid, "approve_review", expect=403)
    assert fire(u["ent_rev"], cid, "return_review", expect=400)["error"]["reasons"][0]["code"] == "comment_required"
    case = fire(u["ent_rev"], cid, "return_review", comment="请补充配偶收入证明")
    assert case["state"] == "draft"
    household = application()["household"]
    household[1]["monthly_income"] = 1200
    case = fire(u["prep"], cid, "submit", {"household": household}, version=case["version"])
    assert (case["state"], case["data"]["per_capita_income"], case["data"]["category"]) == ("applied", "1000.00", 1)
    fire(u["prep"], cid, "submit", expect=409)  # already submitted
    case = fire(u["ent_rev"], cid, "approve_review", comment="经工会委员会研究同意")
    assert (case["state"], case["data"]["reviewed_on"]) == ("reviewed", MONDAY.isoformat())

    # 单位内公示 with two objections
    case = fire(u["ent_rev"], cid, "start_posting", {"posted_on": MONDAY.isoformat()})
    assert (case["state"], case["data"]["submit_allowed_on"]) == ("posting", POSTING_ENDS.isoformat())
    case = fire(u["prep2"], cid, "object", {"text": "申请人配偶另有经营收入"})
    case = fire(u["ent_rev"], cid, "object", {"text": "家中另有房产出租"})
    assert [(o["id"], o["raised_by"], o["status"]) for o in case["data"]["objections"]] == [
        (1, "prep2", "open"), (2, "ent_rev", "open")]
    fire(u["prep"], cid, "dismiss_objection", {"objection_id": 1}, comment="…", expect=403)
    fire(u["ent_rev"], cid, "dismiss_objection", {"objection_id": 1}, expect=400)  # needs a comment
    case = fire(u["ent_rev"], cid, "dismiss_objection", {"objection_id": 1}, comment="经核实，配偶无经营收入")
    assert case["data"]["objections"][0]["outcome"] == "dismissed"

    # 向区总工会申报: not before 5 working days, not with an open objection
    clock.today = date(2026, 11, 8)  # Sunday: 4 working days (3rd–6th)
    resp = api.post(f"/cases/{cid}/events", u["ent_rev"], {"trigger": "submit_to_federation"})
    assert resp.status_code == 422 and codes(resp) == ["posting_period_not_elapsed", "open_objections"]
    params = resp.get_json()["error"]["reasons"][0]["params"]
    assert (params["elapsed"], params["left"], params["earliest"]) == (4, 1, POSTING_ENDS.isoformat())
    fire(u["ent_rev"], cid, "dismiss_objection", {"objection_id": 2}, comment="房产为租住")
    resp = api.post(f"/cases/{cid}/events", u["ent_rev"], {"trigger": "submit_to_federation"})
    assert codes(resp) == ["posting_period_not_elapsed"]
    clock.today = POSTING_ENDS
    case = fire(u["ent_rev"], cid, "submit_to_federation", comment="公示期满")
    assert (case["state"], case["competent_org"]) == ("submitted", "FED")

    # 区总工会确定: the enterprise union is not competent any more
    resp = api.post(f"/cases/{cid}/events", u["ent_rev"], {"trigger": "determine", "data": {"amount": 2000}})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "not_competent"
    fire(u["fed"], cid, "determine", {"amount": "0.00"}, expect=422)
    case = fire(u["fed"], cid, "determine", {"amount": "2000.00"}, comment="汇总平衡后确定")
    assert (case["state"], case["data"]["amount"], case["data"]["next_recheck_due"]) == (
        "assisted", "2000.00", "2027-11-09")

    # 年度复核 and 脱困销档
    clock.today = date(2027, 11, 10)
    assert api.get(f"/cases/{cid}", u["fed"]).get_json()["overdue"] == ["next_recheck_due"]
    household = application()["household"]
    household[1]["monthly_income"] = 3000  # the spouse works again: 4,800 yuan for three is category 3 now
    case = fire(u["fed"], cid, "recheck", {"amount": 1500, "household": household}, comment="家庭收入有所增加")
    assert (case["data"]["category"], case["data"]["per_capita_income"]) == (3, "1600.00")
    # the re-check reassesses with current incomes: 7,020 yuan for three (2,340 each) still fits, 7,020.01 does not,
    # and the refused re-check changes nothing: the file is to be closed (脱困销档)
    household[1]["monthly_income"] = "5220.01"
    resp = api.post(f"/cases/{cid}/events", u["fed"], {"trigger": "recheck", "data": {"household": household}})
    assert resp.status_code == 422 and codes(resp) == ["not_eligible"]
    assert api.get(f"/cases/{cid}", u["fed"]).get_json()["data"]["category"] == 3
    household[1]["monthly_income"] = "5220.00"
    case = fire(u["fed"], cid, "recheck", {"household": household}, version=case["version"])
    assert (case["data"]["category"], case["data"]["per_capita_income"]) == (3, "2340.00")
    assert (case["data"]["amount"], case["data"]["next_recheck_due"], case["overdue"]) == ("1500.00", "2028-11-10", [])
    assert case["data"]["household"][1]["monthly_income"] == "5220.00"
    fire(u["fed"], cid, "close_file", expect=400)
    case = fire(u["fed"], cid, "close_file", comment="家庭已脱困")
    assert (case["state"], case["closed"], case["available"]) == ("closed", True, [])

    trail = api.get(f"/cases/{cid}/audit", u["prep"]).get_json()["entries"]
    assert [e["trigger"] for e in trail] == [
        "create", "submit", "return_review", "submit", "approve_review", "start_posting", "object", "object",
        "dismiss_objection", "dismiss_objection", "submit_to_federation", "determine", "recheck", "recheck",
        "close_file"]
    assert [e["version"] for e in trail] == list(range(1, 16))
    assert api.get("/audit/verify", u["auditor"]).get_json()["ok"] is True


def test_upheld_objection_rejects(api, fire, founded, clock):
    case = walk(api, fire, founded, clock, "posting")
    fire(founded["prep"], case["id"], "object", {"text": "申请人隐瞒收入"})
    fire(founded["ent_rev"], case["id"], "uphold_objection", {"objection_id": 1}, expect=400)  # comment
    case = fire(founded["ent_rev"], case["id"], "uphold_objection", {"objection_id": 1}, comment="经核实属实")
    assert (case["state"], case["closed"]) == ("rejected", True)
    assert case["data"]["objections"][0]["outcome"] == "upheld"


def test_decline_and_reject_end_the_case(api, fire, founded, clock):
    case = walk(api, fire, founded, clock, "submitted")
    fire(founded["fed"], case["id"], "decline", expect=400)
    case = fire(founded["fed"], case["id"], "decline", comment="本年度名额已满")
    assert (case["state"], case["closed"]) == ("declined", True)
    case = walk(api, fire, founded, clock, "applied")
    case = fire(founded["ent_rev"], case["id"], "reject_review", comment="不属于本单位职工")
    assert case["state"] == "rejected"


def test_the_federation_of_another_branch_sees_nothing(api, fire, founded, clock):
    case = walk(api, fire, founded, clock, "submitted")
    assert api.get(f"/cases/{case['id']}", founded["fed2"]).status_code == 404
    fire(founded["fed2"], case["id"], "determine", {"amount": 100}, expect=404)


# ---------------------------------------------------------------- categories at their bounds

@pytest.mark.parametrize("data, category", [
    (single(1170), 1),
    (single(1171), None),
    (single(1560, causes=["schooling"]), 2),
    (single(1561, causes=["schooling"]), None),
    (single(2340, causes=["illness"]), 3),
    (single(2341, causes=["illness"]), None),
    (single(2341, causes=["illness"], medical=19999), None),
    (single(2341, causes=["illness"], medical=20000), 4),
    (single(9000, causes=["disaster"], loss="19999.99"), None),
    (single(9000, causes=["disaster"], loss=20000), 4),
])
def test_every_category_bound_both_sides(api, fire, founded, clock, data, category):
    data["materials"] = ["archive_form", "id_copies", "household_register", "income_proof", "diagnosis"]
    case = walk(api, fire, founded, clock, "applied", data)
    resp = api.post(f"/cases/{case['id']}/events", founded["ent_rev"], {"trigger": "approve_review"})
    if category is None:
        assert resp.status_code == 422 and codes(resp) == ["not_eligible"]
        assert api.get(f"/cases/{case['id']}", founded["prep"]).get_json()["state"] == "applied"
    else:
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json()["data"]["category"] == category


def test_household_rule_married_child_and_unmarried_sibling(api, fire, founded, clock):
    household = [
        {"name": "王芳", "relation": "self", "id_number": APPLICANT_ID, "monthly_income": 2000},
        {"name": "李强", "relation": "spouse", "monthly_income": 1000},
        {"name": "李小明", "relation": "child", "monthly_income": 0},
        {"name": "李大明", "relation": "child", "married": True, "monthly_income": 9000},
        {"name": "王丽", "relation": "sibling", "monthly_income": 0},
    ]
    case = walk(api, fire, founded, clock, "applied", application(household=household))
    data = case["data"]
    assert [m["name"] for m in data["counted_members"]] == ["王芳", "李强", "李小明"]
    assert data["excluded_members"] == [
        {"name": "李大明", "relation": "child", "reason": "married"},
        {"name": "王丽", "relation": "sibling", "reason": "relation_not_counted"},
    ]
    assert (data["household_size"], data["counted_income"], data["per_capita_income"], data["category"]) == (
        3, "3000.00", "1000.00", 1)


# ---------------------------------------------------------------- 身份证号 and the enterprise

def test_bad_check_character_is_refused(api, founded):
    data = application()
    data["applicant"]["id_number"] = bad_check(APPLICANT_ID)
    data["household"][1]["id_number"] = bad_check(SPOUSE_ID)
    resp = api.post("/cases", founded["prep"], {"workflow": "hardship", "org": "ENT-L", "data": data})
    assert resp.status_code == 422
    reasons = resp.get_json()["error"]["reasons"]
    assert [(r["code"], r["params"]["field"], r["params"]["problem"]) for r in reasons] == [
        ("invalid_id_number", "applicant.id_number", "check_character"),
        ("invalid_id_number", "household[1].id_number", "check_character"),
    ]
    assert "李强" in reasons[1]["message"]
    assert api.get("/cases?workflow=hardship", founded["prep"]).get_json()["total"] == 0
    data = application()
    data["applicant"]["id_number"] = id_number("11010519800101001")  # the good one again
    assert api.post("/cases", founded["prep"], {"workflow": "hardship", "org": "ENT-L", "data": data}).status_code == 201


def test_a_worker_without_a_union_applies_through_the_nearest_community_else_town_union(api, tree, fire, clock):
    """属地管理 (definition version 2): the community (else town) union reviews and posts in the enterprise's
    place; the enterprise's own preparer opens the case."""
    resp = api.post("/cases", tree["prep_m"], {"workflow": "hardship", "org": "ENT-M", "data": application()})
    assert resp.status_code == 201
    case = resp.get_json()
    assert case["competent_org"] == "TOWN"  # ENT-M has no community above it
    resp = api.post("/cases", tree["prep_s"], {"workflow": "hardship", "org": "ENT-S",
                                                "data": application(ids=household_ids(1))})
    small = resp.get_json()
    assert small["competent_org"] == "COM"
    fire(tree["prep_m"], case["id"], "submit")
    assert fire(tree["town"], case["id"], "approve_review")["state"] == "reviewed"
    fire(tree["town"], case["id"], "start_posting", {"posted_on": MONDAY.isoformat()})
    clock.today = POSTING_ENDS
    case = fire(tree["town"], case["id"], "submit_to_federation")
    assert (case["state"], case["competent_org"]) == ("submitted", "FED")
    fire(tree["prep_s"], small["id"], "submit")
    assert fire(tree["com"], small["id"], "approve_review")["state"] == "reviewed"


def test_id_numbers_masked_outside_the_enterprise(api, fire, founded, clock):
    case = walk(api, fire, founded, clock, "submitted")
    cid = case["id"]
    full = (APPLICANT_ID, SPOUSE_ID, CHILD_ID)
    for who in ("fed", "auditor"):
        for path in (f"/cases/{cid}", f"/cases/{cid}/audit", "/cases?workflow=hardship"):
            resp = api.get(path, founded[who])
            assert resp.status_code == 200
            body = resp.get_data(as_text=True)
            assert not any(n in body for n in full), (who, path)
            assert all(masked(n) in body for n in full), (who, path)
        data = api.get(f"/cases/{cid}", founded[who]).get_json()["data"]
        assert data["applicant"]["id_number"] == "110105********" + APPLICANT_ID[-4:]
    for who in ("prep", "ent_rev"):
        for path in (f"/cases/{cid}", f"/cases/{cid}/audit", "/cases?workflow=hardship"):
            body = api.get(path, founded[who]).get_data(as_text=True)
            assert all(n in body for n in full), (who, path)


# ---------------------------------------------------------------- every reason, through the API

def test_every_hardship_reason_through_the_api(api, fire, founded, clock, app_config, tmp_path, tree):
    seen: set[str] = set()

    def post(who, path, body, status):
        resp = api.post(path, who, body)
        assert resp.status_code == status, resp.get_json()
        seen.update(codes(resp))
        return resp

    u = founded
    bad = application()
    bad["applicant"]["id_number"] = bad_check(APPLICANT_ID)
    bad["household"] = [{"name": "甲", "relation": "spouse", "monthly_income": 0},
                        {"name": "乙", "relation": "spouse", "monthly_income": 0}]
    post(u["prep"], "/cases", {"workflow": "hardship", "org": "ENT-L", "data": bad}, 422)
    assert seen == {"invalid_id_number", "household_self_required", "household_spouses_exceed_one"}

    case = walk(api, fire, u, clock, "draft", application(materials=[], ids=household_ids(1)))
    post(u["prep"], f"/cases/{case['id']}/events", {"trigger": "submit"}, 422)  # missing_materials
    post(tree["prep_m"], "/cases", {"workflow": "hardship", "org": "ENT-M",
                                    "data": application(ids=household_ids(1))}, 422)  # household_has_file
    case = walk(api, fire, u, clock, "applied", single(5000, n=2))
    post(u["ent_rev"], f"/cases/{case['id']}/events", {"trigger": "approve_review"}, 422)  # not_eligible

    case = walk(api, fire, u, clock, "reviewed")
    cid = case["id"]
    events = f"/cases/{cid}/events"
    post(u["ent_rev"], events, {"trigger": "start_posting", "data": {"posted_on": "2026-11-03"}}, 422)
    post(u["ent_rev"], events, {"trigger": "start_posting", "data": {"posted_on": "2026-11-01"}}, 422)
    fire(u["ent_rev"], cid, "start_posting", {"posted_on": MONDAY.isoformat()})
    fire(u["prep"], cid, "object", {"text": "有异议"})
    post(u["ent_rev"], events, {"trigger": "submit_to_federation"}, 422)  # period, open objection
    post(u["ent_rev"], events, {"trigger": "dismiss_objection", "data": {"objection_id": 7}, "comment": "…"}, 422)
    fire(u["ent_rev"], cid, "dismiss_objection", {"objection_id": 1}, comment="不成立")
    post(u["ent_rev"], events, {"trigger": "uphold_objection", "data": {"objection_id": 1}, "comment": "…"}, 422)
    offered = api.get(f"/cases/{cid}", u["ent_rev"]).get_json()["available"]  # none open: listed, refused
    seen.update(r["code"] for a in offered if a["trigger"] == "uphold_objection" for r in a["reasons"])
    clock.today = POSTING_ENDS
    fire(u["ent_rev"], cid, "submit_to_federation")
    post(u["fed"], events, {"trigger": "determine", "data": {"amount": 0}}, 422)

    # a round with a submission deadline (a profile of its own)
    profiles = tmp_path / "profiles"
    shutil.copytree(PROFILES_DIR, profiles)
    (profiles / "round.yaml").write_text(yaml.safe_dump({
        "name": "round", "title": {"zh": "申报批次", "en": "Round"}, "extends": "default",
        "params": {"hardship": {"submission_deadline": "2026-11-06"}}}, allow_unicode=True), encoding="utf-8")
    from web import create_app

    other = create_app({**app_config, "UNIONFLOW_PROFILE": "round", "UNIONFLOW_CATALOG": checked_catalog(
        profiles_dir=profiles, extra=(SAMPLE_PACKAGE,))})
    try:
        round_api = Api(other.test_client())
        case = walk(round_api, fire_with(round_api), u, clock, "posting", application(ids=household_ids(3)))
        assert case["profile"] == "round" and case["data"]["submission_deadline"] == "2026-11-06"
        clock.today = POSTING_ENDS
        resp = round_api.post(f"/cases/{case['id']}/events", u["ent_rev"], {"trigger": "submit_to_federation"})
        assert resp.status_code == 422 and codes(resp) == ["submission_deadline_passed"]
        seen.update(codes(resp))
    finally:
        other.extensions["unionflow.db"].dispose()

    with HARDSHIP_REASONS.open(encoding="utf-8") as f:
        declared = set(yaml.safe_load(f))
    uploads = {c for c in declared if c.startswith(("file_", "attachment", "upload_"))
               or c in ("material_unknown", "id_scan_forbidden", "duplicate_upload")}
    # union_not_founded is definition version 1's (a worker without a union now applies through the community)
    # (the 身份证号's reason is shared with joining, in definitions/reasons/common.yaml)
    expected = (declared - uploads - {"union_not_founded"}) | {"posted_on_in_future", "posting_period_not_elapsed",
                                                               "invalid_id_number"}
    assert seen == expected
    # the upload reasons are produced in test_uploads.py
    assert uploads == {"file_empty", "file_too_large", "upload_too_large", "file_type_not_allowed",
                       "file_extension_mismatch", "file_missing", "material_unknown", "attachment_forbidden",
                       "attachments_closed", "id_scan_forbidden", "duplicate_upload", "attachment_in_record"}


def fire_with(api):
    def do(who, case_id, trigger, data=None, comment=None, version=None, expect=200):
        body = {"trigger": trigger, "data": data or {}}
        if comment is not None:
            body["comment"] = comment
        resp = api.post(f"/cases/{case_id}/events", who, body)
        assert resp.status_code == expect, resp.get_json()
        return resp.get_json()

    return do


def test_posting_countdown_in_the_available_steps(api, fire, founded, clock):
    case = walk(api, fire, founded, clock, "posting")
    for today, left in ((MONDAY, 5), (date(2026, 11, 6), 1), (date(2026, 11, 7), 1), (POSTING_ENDS, 0)):
        clock.today = today
        available = {a["trigger"]: a for a in api.get(f"/cases/{case['id']}", founded["ent_rev"]).get_json()["available"]}
        step = available["submit_to_federation"]
        assert step["allowed"] is (left == 0)
        if left:
            assert "2026-11-09" in step["reasons"][0]["message"]


def test_objection_decisions_are_offered_only_while_one_is_open(api, fire, founded, clock):
    case = walk(api, fire, founded, clock, "posting")

    def offered() -> dict[str, tuple[bool, list[str]]]:
        answer = api.get(f"/cases/{case['id']}", founded["ent_rev"]).get_json()["available"]
        return {a["trigger"]: (a["allowed"], [r["code"] for r in a["reasons"]]) for a in answer
                if a["trigger"] in ("object", "dismiss_objection", "uphold_objection")}

    none_open = (False, ["no_open_objection"])
    assert offered() == {"object": (True, []), "dismiss_objection": none_open, "uphold_objection": none_open}
    fire(founded["prep2"], case["id"], "object", {"text": "申请人另有收入"})
    assert offered() == {"object": (True, []), "dismiss_objection": (True, []), "uphold_objection": (True, [])}
    fire(founded["ent_rev"], case["id"], "dismiss_objection", {"objection_id": 1}, comment="经核实不成立")
    assert offered() == {"object": (True, []), "dismiss_objection": none_open, "uphold_objection": none_open}
