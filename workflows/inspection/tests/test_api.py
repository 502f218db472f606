"""The annual Workers' Home inspection (职工之家年度检查验收) driven through the JSON API:
the whole cycle, competence and four eyes, every result threshold on both
sides, each veto, the "八有" items, membership at 95 %, and every reason code."""
from __future__ import annotations

import shutil
from datetime import date

import pytest
import yaml

from definitions.loader import PACKAGES_DIR, PROFILES_DIR, REASONS_DIR
from workflow.catalog import checked_catalog
from workflow.models import Case
from workflows.inspection.tests.test_rules import EXTRA, MANDATORY, SELECTABLE_VETOES, full_scores, scores_totalling

ITEMS = EXTRA["checklist"]
FULL = full_scores(ITEMS)
START = date(2026, 11, 20)


@pytest.fixture
def app_config(app_config, clock):
    return {**app_config, "UNIONFLOW_CLOCK": clock}


@pytest.fixture
def big(tree, make_org, make_user, found):
    """A founded union of 2000 employees and 1900 members: exactly 95 %."""
    make_org("ENT-BIG", "enterprise", "FED", employees=2000, female_employees=900, name="大型制造集团")
    found("ENT-BIG", 1900)
    return make_user("prep_big", "preparer", "ENT-BIG")


@pytest.fixture
def walk(api, make_case, fire, tree):
    """An inspection walked up to `decide`: returns the decided case (or the failed response)."""
    def do(prep, year=2026, respondents=190, satisfied=171, scores=None, vetoes=(), expect=200):
        case = make_case(prep, "inspection", data={"year": year})
        fire(prep, case["id"], "self_assess", {"scores": FULL})
        fire(prep, case["id"], "record_evaluation", {"respondents": respondents, "satisfied": satisfied})
        fire(tree["fed"], case["id"], "inspect", {"scores": FULL if scores is None else scores, "vetoes": list(vetoes)})
        return fire(tree["fed_b"], case["id"], "decide", expect=expect)

    return do


def codes(resp) -> list[str]:
    return [r["code"] for r in resp.get_json()["error"]["reasons"]]


def audit_count(api, who, case_id) -> int:
    return len(api.get(f"/cases/{case_id}/audit", who).get_json()["entries"])


# -- the definition as the API shows it ------------------------------------------------

def test_the_workflow_lists_its_checklist_and_the_vetoes_to_mark(api, tree):
    body = api.get("/workflows/inspection", tree["prep"]).get_json()
    assert body["name"] == "inspection"
    assert len(body["checklist"]) == len(ITEMS)
    for shown, item in zip(body["checklist"], ITEMS):
        assert set(shown) >= {"id", "dimension", "title", "max", "mandatory"}
        assert (shown["id"], shown["dimension"], shown["max"], shown["mandatory"]) == (
            item["id"], item["dimension"], item["max"], item["mandatory"])
        # the title is a text in the caller's language, as the workflow's own title; `label` holds both
        assert shown["title"] == item["title"]["zh"]
        assert shown["label"] == {"zh": item["title"]["zh"], "en": item["title"]["en"]}
    assert {i["id"] for i in body["checklist"] if i["mandatory"]} == MANDATORY
    assert [(v["id"], v["title"], v["label"]["en"]) for v in body["vetoes"]] == [
        (v["id"], v["title"]["zh"], v["title"]["en"]) for v in EXTRA["vetoes"]]
    english = api.get("/workflows/inspection", tree["prep"], headers={"Accept-Language": "en"}).get_json()
    assert [i["title"] for i in english["checklist"]] == [i["title"]["en"] for i in ITEMS]
    assert [v["title"] for v in english["vetoes"]] == [v["title"]["en"] for v in EXTRA["vetoes"]]
    # the membership-rate veto is computed, never marked: not among them
    assert "membership_below_95" not in {v["id"] for v in body["vetoes"]}
    assert body["params"]["membership_veto_percent"] == 95


# -- creating ---------------------------------------------------------------------------------

def test_one_inspection_per_founded_union_per_year(api, tree, make_case, found):
    found("ENT-S", 5)
    case = make_case(tree["prep_s"], "inspection", data={"year": 2026})
    assert (case["state"], case["data"]["year"], case["version"]) == ("planned", 2026, 1)
    assert case["competent_org"] == "FED"  # the nearest federation, above the community and the town
    again = api.post("/cases", tree["prep_s"], {"workflow": "inspection", "org": "ENT-S", "data": {"year": 2026}})
    assert again.status_code == 422 and codes(again) == ["inspection_exists"]
    assert make_case(tree["prep_s"], "inspection", data={"year": 2027})["state"] == "planned"
    # a union not (yet) founded cannot be inspected
    resp = api.post("/cases", tree["prep_m"], {"workflow": "inspection", "org": "ENT-M", "data": {"year": 2026}})
    assert resp.status_code == 422 and codes(resp) == ["union_not_founded"]
    # only the union's preparer opens it; the year is required and sane
    resp = api.post("/cases", tree["fed"], {"workflow": "inspection", "org": "ENT-S", "data": {"year": 2028}})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    resp = api.post("/cases", tree["prep_x"], {"workflow": "inspection", "org": "ENT-S", "data": {"year": 2028}})
    assert resp.status_code == 404
    for data, field in (({}, "year"), ({"year": "2026"}, "year"), ({"year": 1999}, "year")):
        resp = api.post("/cases", tree["prep_s"], {"workflow": "inspection", "org": "ENT-S", "data": data})
        assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"]


# -- the whole cycle --------------------------------------------------------------------------

def test_the_whole_cycle_fail_rectify_reinspect_pass_revoke(api, tree, make_case, fire, found, clock, engine, db):
    prep, fed, fed_b = tree["prep_m"], tree["fed"], tree["fed_b"]
    found("ENT-M", 29)  # 29 of 30 employees: 96.7 %
    case = make_case(prep, "inspection", data={"year": 2026})
    cid = case["id"]
    assert case["competent_org"] == "FED"

    # 自查自评: the preparer's own scoring, kept apart from the inspector's
    resp = api.post(f"/cases/{cid}/events", fed, {"trigger": "self_assess", "data": {"scores": FULL}})
    assert resp.status_code == 403
    self_scores = FULL | {"org_seal": 1, "rights_contract": 3}
    del self_scores["trust_care"]  # a self-assessment may leave items open
    case = fire(prep, cid, "self_assess", {"scores": self_scores, "notes": {"org_seal": "印章正在刻制"}})
    assert case["state"] == "self_assessed"
    assert case["data"]["self_score_total"] == 100 - 1 - 2 - 3
    assert case["data"]["self_scores_by_dimension"] == {"org": 19, "rights": 18, "norms": 20, "role": 20, "trust": 17}
    assert case["data"]["self_notes"] == {"org_seal": "印章正在刻制"}
    assert "scores" not in case["data"]

    # 会员评家; a stale form is refused and changes nothing
    stale = api.post(f"/cases/{cid}/events", prep, {"trigger": "record_evaluation", "version": 1,
                                                    "data": {"respondents": 20, "satisfied": 18}})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "stale_version"
    case = fire(prep, cid, "record_evaluation", {"respondents": 20, "satisfied": 18}, version=2)
    assert case["state"] == "evaluated"
    assert (case["data"]["satisfaction"], case["data"]["satisfaction_percent"]) == (
        {"numerator": 18, "denominator": 20}, "90.0")

    # 检查验收打分 by the nearest federation only
    inspect = {"scores": FULL, "vetoes": ["no_collective_contract"], "notes": {"rights_contract": "未签订集体合同"}}
    before = audit_count(api, prep, cid)
    for who, status, code in ((prep, 403, "forbidden"), (tree["auditor"], 403, "forbidden"),
                              (tree["town"], 403, "not_competent"), (tree["com"], 404, "not_found"),
                              (tree["fed2"], 404, "not_found")):
        resp = api.post(f"/cases/{cid}/events", who, {"trigger": "inspect", "data": inspect})
        assert (resp.status_code, resp.get_json()["error"]["code"]) == (status, code), who.username
    assert audit_count(api, prep, cid) == before
    case = fire(fed, cid, "inspect", inspect)
    data = case["data"]
    assert case["state"] == "inspected"
    assert (data["total_score"], data["scores_by_dimension"]["rights"]) == (100, 20)
    assert (data["membership_rate"], data["membership_rate_percent"]) == ({"numerator": 29, "denominator": 30}, "96.7")
    assert data["vetoes_applied"] == ["no_collective_contract"]
    assert data["result"] is None and data["self_score_total"] == 94  # both scorings kept side by side

    # 评定: by a second reviewer of the federation; the result is computed
    for who, status, code in ((fed, 403, "four_eyes"), (prep, 403, "forbidden"), (tree["town"], 403, "not_competent")):
        resp = api.post(f"/cases/{cid}/events", who, {"trigger": "decide", "data": {}})
        assert (resp.status_code, resp.get_json()["error"]["code"]) == (status, code), who.username
    resp = api.post(f"/cases/{cid}/events", fed_b, {"trigger": "decide", "data": {"result": "model"}})
    assert resp.status_code == 400 and "result" in resp.get_json()["error"]["fields"]  # never typed in
    case = fire(fed_b, cid, "decide")
    data = case["data"]
    assert (case["state"], data["result"], data["title"]) == ("failed", "failed", None)
    assert data["result_rule"]["code"] == "veto_applied"
    assert data["result_rule"]["zh"] == "一票否决：未建立平等协商集体合同制度"
    assert [g["code"] for g in data["result_grounds"]] == ["veto_applied"]
    for trigger in ("revoke", "reinspect", "decide"):
        resp = api.post(f"/cases/{cid}/events", fed, {"trigger": trigger, "data": {}, "comment": "x"})
        assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "invalid_state"

    # 整改: 30 days, overdue from the 31st
    resp = api.post(f"/cases/{cid}/events", fed, {"trigger": "start_rectification", "data": {}})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    case = fire(prep, cid, "start_rectification")
    assert (case["state"], case["data"]["rectification_due_on"], case["overdue"]) == ("rectifying", "2026-12-20", [])
    clock.today = date(2026, 12, 20)
    assert api.get(f"/cases/{cid}", prep).get_json()["overdue"] == []
    clock.today = date(2026, 12, 21)
    assert api.get(f"/cases/{cid}", fed).get_json()["overdue"] == ["rectification_due_on"]
    with db.read() as session:
        row = session.get(Case, cid)
        assert engine.overdue(row, today=date(2026, 12, 20)) == []
        assert engine.overdue(row, today=date(2026, 12, 21)) == ["rectification_due_on"]

    # 复查: a fresh scoring by the other reviewer replaces the first one whole
    rescored = scores_totalling(ITEMS, 92)
    resp = api.post(f"/cases/{cid}/events", tree["town"], {"trigger": "reinspect", "data": {"scores": rescored}})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "not_competent"
    case = fire(fed_b, cid, "reinspect", {"scores": rescored, "vetoes": []})
    data = case["data"]
    assert (case["state"], case["overdue"]) == ("inspected", [])
    assert (data["total_score"], data["vetoes_applied"], data["vetoes"], data["notes"]) == (92, [], [], {})
    assert (data["result"], data["result_rule"], data["title"]) == (None, None, None)
    assert data["inspected_on"] == "2026-12-21"

    # the re-inspection is judged by someone other than its inspector, who may be the first inspector
    resp = api.post(f"/cases/{cid}/events", fed_b, {"trigger": "decide", "data": {}})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "four_eyes"
    case = fire(fed, cid, "decide")
    data = case["data"]
    assert (case["state"], data["result"], data["title"]["zh"]) == ("passed", "model", "模范职工之家")
    assert data["result_rule"]["code"] == "result_model"
    assert data["result_rule"]["zh"] == "总分92分（不低于90分），会员满意率90.0%（不低于90%），评为模范职工之家"
    assert data["result_grounds"] == [] and data["decided_on"] == "2026-12-21"

    # 撤销称号: a reviewer with a stated reason
    resp = api.post(f"/cases/{cid}/events", fed_b, {"trigger": "revoke", "data": {}})
    assert resp.status_code == 400 and codes(resp) == ["comment_required"]
    resp = api.post(f"/cases/{cid}/events", prep, {"trigger": "revoke", "data": {}, "comment": "自行放弃"})
    assert resp.status_code == 403
    case = fire(fed_b, cid, "revoke", comment="发生越级上访事件，经研究撤销称号")
    assert (case["state"], case["closed"], case["data"]["title"]) == ("revoked", True, None)
    assert case["data"]["result"] == "model" and case["data"]["title_revoked_on"] == "2026-12-21"
    assert case["available"] == []

    trail = api.get(f"/cases/{cid}/audit", tree["auditor"]).get_json()["entries"]
    assert [(e["trigger"], e["to"], e["version"], e["actor"]) for e in trail] == [
        ("create", "planned", 1, "prep_m"), ("self_assess", "self_assessed", 2, "prep_m"),
        ("record_evaluation", "evaluated", 3, "prep_m"), ("inspect", "inspected", 4, "fed"),
        ("decide", "failed", 5, "fed_b"), ("start_rectification", "rectifying", 6, "prep_m"),
        ("reinspect", "inspected", 7, "fed_b"), ("decide", "passed", 8, "fed"), ("revoke", "revoked", 9, "fed_b")]
    assert trail[4]["data"]["computed"]["result"] == "failed"
    assert trail[-1]["comment"] == "发生越级上访事件，经研究撤销称号"
    assert api.get("/audit/verify", tree["auditor"]).get_json()["ok"] is True


# -- results at every threshold, on both sides --------------------------------------------------

@pytest.mark.parametrize("total, result", [(90, "model"), (89, "advanced"), (80, "advanced"), (79, "qualified"),
                                           (60, "qualified"), (59, "failed")])
def test_score_thresholds(walk, big, total, result):
    case = walk(big, scores=scores_totalling(ITEMS, total), respondents=190, satisfied=171)  # 90 %
    data = case["data"]
    assert (data["total_score"], data["result"]) == (total, result)
    assert case["state"] == ("failed" if result == "failed" else "passed")
    assert data["result_rule"]["code"] == ("score_below_qualified" if result == "failed" else f"result_{result}")
    assert data["result_rule"]["params"]["score"] == total


@pytest.mark.parametrize("total, respondents, satisfied, result", [
    (100, 200, 180, "model"), (100, 1000, 900, "model"), (100, 1000, 899, "advanced"),        # 90 %
    (85, 200, 170, "advanced"), (85, 1000, 850, "advanced"), (85, 1000, 849, "qualified"),    # 85 %
    (100, 1000, 849, "qualified"), (60, 1000, 600, "qualified"),                             # 60 % (version 2)
])
def test_satisfaction_thresholds(walk, big, total, respondents, satisfied, result):
    case = walk(big, scores=scores_totalling(ITEMS, total), respondents=respondents, satisfied=satisfied)
    assert case["data"]["satisfaction"] == {"numerator": satisfied, "denominator": respondents}
    assert (case["state"], case["data"]["result"]) == ("passed", result)
    assert case["data"]["result_rule"]["code"] == f"result_{result}"


@pytest.mark.parametrize("satisfied, result", [(600, "qualified"), (599, "failed")])
def test_every_title_needs_sixty_percent_satisfaction(walk, big, satisfied, result):
    """Satisfaction is a main standard: below 60 % even a full score gets no title (parameter)."""
    case = walk(big, scores=FULL, respondents=1000, satisfied=satisfied)
    assert case["data"]["result"] == result
    if result == "failed":
        assert [g["code"] for g in case["data"]["result_grounds"]] == ["satisfaction_below_qualified"]


@pytest.mark.parametrize("respondents, status", [(190, 200), (189, 422)])
def test_the_evaluation_needs_ten_percent_of_the_members(api, make_case, fire, big, respondents, status):
    case = make_case(big, "inspection", data={"year": 2026})
    fire(big, case["id"], "self_assess", {"scores": FULL})
    body = fire(big, case["id"], "record_evaluation", {"respondents": respondents, "satisfied": respondents},
                expect=status)
    if status == 422:
        (reason,) = body["error"]["reasons"]
        assert reason["code"] == "too_few_respondents" and "至少190人" in reason["message"]
        assert api.get(f"/cases/{case['id']}", big).get_json()["state"] == "self_assessed"


@pytest.mark.parametrize("points, vetoed", [("max", False), ("max-1", True), (1, True)])
def test_an_organisation_item_below_its_maximum_is_the_first_veto(walk, big, points, vetoed):
    top = FULL["org_structure"]
    score = {"max": top, "max-1": top - 1}.get(points, points)
    data = walk(big, scores=FULL | {"org_structure": score})["data"]
    assert ("organisation_incomplete" in data["vetoes_applied"]) is vetoed
    assert data["result"] == ("failed" if vetoed else "model")


def test_the_membership_veto_reads_the_members_on_the_day_of_the_inspection(api, make_case, fire, tree, big, db):
    case = make_case(big, "inspection", data={"year": 2026})
    fire(big, case["id"], "self_assess", {"scores": FULL})
    fire(big, case["id"], "record_evaluation", {"respondents": 190, "satisfied": 190})
    from tests.support import audited_org_update

    with db.write() as session:  # members left after the founding: 1,899 of 2,000 on the day
        audited_org_update(session, "ENT-BIG", member_count=1899)
    data = fire(tree["fed"], case["id"], "inspect", {"scores": FULL, "vetoes": []})["data"]
    assert data["membership_rate"] == {"numerator": 1899, "denominator": 2000}
    assert "membership_below_95" in data["vetoes_applied"]


@pytest.mark.parametrize("veto", SELECTABLE_VETOES)
def test_each_veto_alone_fails_a_perfect_inspection(walk, big, veto):
    case = walk(big, scores=FULL, respondents=190, satisfied=190, vetoes=[veto])
    data = case["data"]
    assert (case["state"], data["result"], data["total_score"]) == ("failed", "failed", 100)
    assert data["vetoes_applied"] == [veto]
    assert (data["result_rule"]["code"], data["result_rule"]["params"]) == ("veto_applied", {"vetoes": [veto]})


@pytest.mark.parametrize("employees, members, vetoed", [(2000, 1900, False), (2000, 1899, True),
                                                       (60, 57, False), (60, 56, True)])
def test_membership_rate_at_95_percent(walk, tree, make_org, make_user, found, employees, members, vetoed):
    make_org("ENT-R", "enterprise", "FED", employees=employees, female_employees=10)
    found("ENT-R", members)
    prep = make_user("prep_r", "preparer", "ENT-R")
    case = walk(prep, scores=FULL, respondents=members, satisfied=members)
    data = case["data"]
    assert data["membership_rate"] == {"numerator": members, "denominator": employees}
    assert ("membership_below_95" in data["vetoes_applied"]) is vetoed
    assert data["result"] == ("failed" if vetoed else "model")
    if vetoed:
        assert data["result_rule"]["params"] == {"vetoes": ["membership_below_95"]}
        assert data["result_rule"]["zh"] == "一票否决：职工入会率低于95%"


@pytest.mark.parametrize("item_id", sorted(MANDATORY))
def test_a_mandatory_item_scored_zero_fails(walk, big, item_id):
    case = walk(big, scores=FULL | {item_id: 0}, respondents=190, satisfied=190)
    data = case["data"]
    assert (case["state"], data["result"], data["total_score"]) == ("failed", "failed", 100 - FULL[item_id])
    assert data["missing_mandatory_items"] == [item_id]
    if item_id == "org_structure":  # below its maximum: also the first veto (组织机构不健全, version 2)
        assert [g["code"] for g in data["result_grounds"]] == ["veto_applied", "mandatory_item_missing"]
        return
    assert data["result_rule"]["code"] == "mandatory_item_missing"
    assert data["result_rule"]["params"] == {"items": [item_id]}


def test_the_same_item_at_one_point_and_an_optional_item_at_zero_pass(walk, big):
    case = walk(big, scores=FULL | {"org_seal": 1, "rights_letters": 0}, respondents=190, satisfied=190)
    assert (case["state"], case["data"]["result"], case["data"]["total_score"]) == ("passed", "model", 97)


# -- every reason code -----------------------------------------------------------------------------

def test_every_inspection_reason_code_comes_through_the_api(api, tree, make_case, fire, found, make_org, make_user,
                                                           walk, big):
    expected = set(yaml.safe_load((PACKAGES_DIR / "inspection" / "reasons.yaml").read_text(encoding="utf-8"))) | {
        "union_not_founded"}
    seen: set[str] = set()

    def refused(who, cid, trigger, data, status=422):
        before = api.get(f"/cases/{cid}", who).get_json()["version"]
        resp = api.post(f"/cases/{cid}/events", who, {"trigger": trigger, "data": data})
        assert resp.status_code == status, resp.get_json()
        assert api.get(f"/cases/{cid}", who).get_json()["version"] == before  # nothing changed
        for r in resp.get_json()["error"]["reasons"]:
            assert r["message"] and "{" not in r["message"]
        return codes(resp)

    resp = api.post("/cases", tree["prep"], {"workflow": "inspection", "org": "ENT-L", "data": {"year": 2026}})
    seen.update(codes(resp))                                                        # union_not_founded
    found("ENT-L", 58)
    cid = make_case(tree["prep"], "inspection", data={"year": 2026})["id"]
    resp = api.post("/cases", tree["prep"], {"workflow": "inspection", "org": "ENT-L", "data": {"year": 2026}})
    seen.update(codes(resp))                                                        # inspection_exists

    # every bad item at once: an unknown one, one above its maximum, one below zero
    got = refused(tree["prep"], cid, "self_assess",
                  {"scores": {"org_pool_table": 1, "org_seal": 3, "role_women": -1}, "notes": {"nope": "x"}})
    assert got == ["unknown_item", "unknown_item", "score_out_of_range", "score_out_of_range"]
    seen.update(got)
    fire(tree["prep"], cid, "self_assess", {"scores": FULL})
    for data, want in (({"respondents": 0, "satisfied": 0}, ["respondents_invalid", "too_few_respondents"]),
                       ({"respondents": 59, "satisfied": 1}, ["respondents_invalid"]),       # 58 members
                       ({"respondents": 5, "satisfied": 1}, ["too_few_respondents"]),        # 6 needed
                       ({"respondents": 58, "satisfied": -1}, ["satisfied_invalid"]),
                       ({"respondents": 10, "satisfied": 11}, ["satisfied_exceeds_respondents"])):
        assert refused(tree["prep"], cid, "record_evaluation", data) == want
        seen.update(want)
    fire(tree["prep"], cid, "record_evaluation", {"respondents": 58, "satisfied": 58})
    partial = dict(FULL)
    del partial["org_seal"], partial["trust_care"]
    got = refused(tree["fed"], cid, "inspect", {"scores": partial})
    assert got == ["scores_incomplete"]
    seen.update(got)

    # the membership rate needs the employee count
    make_org("ENT-Z", "enterprise", "FED", employees=0, female_employees=0)
    found("ENT-Z", 3)
    prep_z = make_user("prep_z", "preparer", "ENT-Z")
    zid = make_case(prep_z, "inspection", data={"year": 2026})["id"]
    fire(prep_z, zid, "self_assess", {"scores": FULL})
    fire(prep_z, zid, "record_evaluation", {"respondents": 3, "satisfied": 3})
    got = refused(tree["fed"], zid, "inspect", {"scores": FULL})
    assert got == ["membership_unknown"]
    seen.update(got)

    # the rules that decide results: every ground of a failure, then each passing level
    failing = scores_totalling(ITEMS, 50) | {"org_seal": 0}
    case = walk(big, year=2020, scores=failing, vetoes=["abnormal_petition"])
    grounds = [g["code"] for g in case["data"]["result_grounds"]]
    assert grounds == ["veto_applied", "mandatory_item_missing", "score_below_qualified"]
    seen.update(grounds)
    case = walk(big, year=2019, scores=FULL, respondents=190, satisfied=113)  # 59.5 %
    grounds = [g["code"] for g in case["data"]["result_grounds"]]
    assert grounds == ["satisfaction_below_qualified"]
    seen.update(grounds)
    for year, total, satisfied in ((2021, 95, 10), (2022, 85, 9), (2023, 65, 6)):
        rule = walk(big, year=year, scores=scores_totalling(ITEMS, total), respondents=190,
                    satisfied=satisfied * 19)["data"]["result_rule"]
        seen.add(rule["code"])
        assert rule["zh"] and rule["en"] and "{" not in rule["zh"] + rule["en"]
    assert seen == expected


# -- a case keeps the checklist of the definition version it started under -------------------------

@pytest.fixture
def catalog_v2(tmp_path):
    """A version 3 of the inspection is current (the seal item renamed); version 2 is archived beside 1."""
    package = tmp_path / "inspection"
    shutil.copytree(PACKAGES_DIR / "inspection", package, ignore=shutil.ignore_patterns("*.py", "__pycache__", "tests", "pages", "templates"))
    (package / "archive").mkdir(exist_ok=True)
    source = (package / "definition.yaml").read_text(encoding="utf-8")
    (package / "archive" / "inspection-2.yaml").write_text(source, encoding="utf-8")
    changed = source.replace("\nversion: 2\n", "\nversion: 3\n").replace("- id: org_seal", "- id: org_stamp")
    assert changed.count("org_stamp") == 1 and "version: 3" in changed
    (package / "definition.yaml").write_text(changed, encoding="utf-8")
    return checked_catalog(packages=(), folders=[package], profiles_dir=PROFILES_DIR, reasons_dir=REASONS_DIR)


def test_a_case_keeps_the_checklist_it_started_under(app_config, api, tree, make_case, fire, found, catalog_v2):
    from web import create_app

    found("ENT-L", 60)
    old = make_case(tree["prep"], "inspection", data={"year": 2026})
    fire(tree["prep"], old["id"], "self_assess", {"scores": FULL})
    fire(tree["prep"], old["id"], "record_evaluation", {"respondents": 10, "satisfied": 10})  # 60 members: 6 needed

    newer = create_app({**app_config, "UNIONFLOW_CATALOG": catalog_v2})  # the same database, a newer definition
    try:
        client = newer.test_client()

        def post(path, who, body):
            return client.post("/api/v1" + path, json=body, headers=who.headers)

        assert client.get("/api/v1/workflows/inspection", headers=tree["prep"].headers).get_json()["version"] == "3"
        v3 = dict(FULL)
        v3["org_stamp"] = v3.pop("org_seal")
        # the old case still takes version 2's items, and refuses version 3's
        resp = post(f"/cases/{old['id']}/events", tree["fed"], {"trigger": "inspect", "data": {"scores": v3}})
        assert resp.status_code == 422 and codes(resp) == ["unknown_item", "scores_incomplete"]
        resp = post(f"/cases/{old['id']}/events", tree["fed"], {"trigger": "inspect", "data": {"scores": FULL | {
            "org_seal": 0}}})
        assert resp.status_code == 200 and resp.get_json()["definition_version"] == "2"
        resp = post(f"/cases/{old['id']}/events", tree["fed_b"], {"trigger": "decide", "data": {}})
        assert resp.get_json()["data"]["result_rule"]["params"] == {"items": ["org_seal"]}
        # a case opened now runs under version 3
        resp = post("/cases", tree["prep"], {"workflow": "inspection", "org": "ENT-L", "data": {"year": 2027}})
        new_id = resp.get_json()["id"]
        assert resp.get_json()["definition_version"] == "3"
        resp = post(f"/cases/{new_id}/events", tree["prep"], {"trigger": "self_assess", "data": {"scores": FULL}})
        assert resp.status_code == 422 and codes(resp) == ["unknown_item"]
        resp = post(f"/cases/{new_id}/events", tree["prep"], {"trigger": "self_assess", "data": {"scores": v3}})
        assert resp.status_code == 200
    finally:
        newer.extensions["unionflow.db"].dispose()


def test_a_case_opened_under_version_1_keeps_its_evaluation_rule(api, db, make_case, fire, big):
    from sqlalchemy import update

    from workflow import Case

    case = make_case(big, "inspection", data={"year": 2026})
    with db.write() as session:
        session.execute(update(Case).where(Case.id == case["id"]).values(definition_version="1"))
    fire(big, case["id"], "self_assess", {"scores": FULL})
    assert fire(big, case["id"], "record_evaluation", {"respondents": 10, "satisfied": 10})["state"] == "evaluated"
    fresh = make_case(big, "inspection", data={"year": 2027})
    fire(big, fresh["id"], "self_assess", {"scores": FULL})
    fire(big, fresh["id"], "record_evaluation", {"respondents": 10, "satisfied": 10}, expect=422)
