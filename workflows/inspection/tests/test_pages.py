"""Pages of the 职工之家 inspection: the scoring forms over the checklist, the members'
evaluation, the case panel, and a federation's view of the year."""
from __future__ import annotations

import re
from datetime import date

import pytest

from workflows.inspection.tests.test_rules import EXTRA, full_scores, scores_totalling

ITEMS = EXTRA["checklist"]
FULL = full_scores(ITEMS)


@pytest.fixture
def app_config(app_config, clock):
    return {**app_config, "UNIONFLOW_CLOCK": clock}


@pytest.fixture
def browse(app):
    """A logged-in test client per user (its own cookies)."""
    def as_user(user):
        client = app.test_client()
        resp = client.post("/login", data={"username": user.username, "password": "correct-horse-1"})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return client

    return as_user


@pytest.fixture
def case_in(api, make_case, fire, tree, found):
    """An ENT-M inspection (29 of 30 employees are members) walked to `state`."""
    def walk(state: str, year: int = 2026, vetoes=("no_collective_contract",)) -> int:
        prep, fed, fed_b = tree["prep_m"], tree["fed"], tree["fed_b"]
        found("ENT-M", 29)
        cid = make_case(prep, "inspection", data={"year": year})["id"]
        steps = [
            ("self_assess", prep, {"scores": FULL | {"org_seal": 1}, "notes": {"org_seal": "印章正在刻制"}}),
            ("record_evaluation", prep, {"respondents": 20, "satisfied": 18}),
            ("inspect", fed, {"scores": FULL, "vetoes": list(vetoes), "notes": {"rights_contract": "未签集体合同"}}),
            ("decide", fed_b, {}),
            ("start_rectification", prep, {}),
        ]
        order = ["planned", "self_assessed", "evaluated", "inspected", "failed", "rectifying"]
        for trigger, who, data in steps[: order.index(state)]:
            fire(who, cid, trigger, data)
        return cid

    return walk


def scoring_post(scores, notes=None, vetoes=(), action="submit", version=None, comment=""):
    data = {f"score_{k}": str(v) for k, v in scores.items()}
    data.update({f"note_{k}": v for k, v in (notes or {}).items()})
    data.update({"action": action, "comment": comment})
    if version is not None:
        data["version"] = str(version)
    if vetoes:
        data["vetoes"] = list(vetoes)
    return data


def html_of(resp) -> str:
    return resp.get_data(as_text=True)


def case_json(api, who, cid):
    return api.get(f"/cases/{cid}", who).get_json()


def dimension_totals(html: str) -> list[str]:
    """The running totals of the summary table ("本次得分" row), in dimension order, then the total."""
    row = re.search(r"<th scope=\"row\">本次得分</th>(.*?)</tr>", html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]


# -- the case page links to the inspection's own step pages ----------------------------------

def test_steps_link_to_their_own_pages(browse, tree, case_in):
    cid = case_in("planned")
    prep = browse(tree["prep_m"])
    page = html_of(prep.get(f"/cases/{cid}"))
    assert f'href="/inspection/cases/{cid}/self-assess"' in page
    assert f'/inspection/cases/{cid}/self-assess' in html_of(prep.get("/"))
    cid2 = case_in("self_assessed", year=2027)
    assert f'href="/inspection/cases/{cid2}/evaluation"' in html_of(prep.get(f"/cases/{cid2}"))
    cid3 = case_in("evaluated", year=2028)
    assert f'href="/inspection/cases/{cid3}/inspect"' in html_of(browse(tree["fed"]).get(f"/cases/{cid3}"))


# -- 自查自评 ------------------------------------------------------------------------------------

def test_the_self_assessment_form_lists_the_checklist_by_dimension(browse, tree, case_in):
    cid = case_in("planned")
    page = html_of(browse(tree["prep_m"]).get(f"/inspection/cases/{cid}/self-assess"))
    for n, title in enumerate(("组织健全", "维权到位", "工作规范", "作用明显", "职工信赖"), start=1):
        assert f"<h2>{n}. {title}" in page
    for item in ITEMS:
        assert item["title"]["zh"] in page
        assert re.search(rf'name="score_{item["id"]}"[^>]*max="{item["max"]}"', page) or \
            re.search(rf'max="{item["max"]}"[^>]*name="score_{item["id"]}"', page)
        assert f'name="note_{item["id"]}"' in page
    assert page.count("八有·必备") == 8
    assert 'name="vetoes"' not in page  # the union marks no vetoes
    assert "自评</th>" not in page  # nothing to compare with yet


def test_recalculating_totals_fires_nothing(browse, api, tree, case_in):
    cid = case_in("planned")
    prep = browse(tree["prep_m"])
    scores = {"org_structure": 3, "org_seal": 2, "rights_contract": 4, "trust_care": 9}  # 9 is above its 3
    resp = prep.post(f"/inspection/cases/{cid}/self-assess", data=scoring_post(scores, action="recalculate", version=1))
    page = html_of(resp)
    assert resp.status_code == 200
    assert "已按填写的分值重新计算各项合计" in page
    assert dimension_totals(page) == ["5 / 20", "4 / 20", "0 / 20", "0 / 20", "0 / 20", "9 / 100"]
    assert "应为0至3分" in page and "已打分 3 / 32 项" in page
    assert 'value="9"' in page  # what was typed stays in the form
    case = case_json(api, tree["prep_m"], cid)
    assert (case["state"], case["version"]) == ("planned", 1)
    assert len(api.get(f"/cases/{cid}/audit", tree["prep_m"]).get_json()["entries"]) == 1


def test_self_assessment_submits_scores_and_notes(browse, api, tree, case_in):
    cid = case_in("planned")
    prep = browse(tree["prep_m"])
    bad = prep.post(f"/inspection/cases/{cid}/self-assess", data=scoring_post({"org_seal": "两分"}, version=1))
    assert bad.status_code == 400 and "请填写0至2之间的整数分值" in html_of(bad)
    out = prep.post(f"/inspection/cases/{cid}/self-assess", data=scoring_post({"org_seal": 3}, version=1))
    assert out.status_code == 422
    assert "“有工会印章”得分3超出范围，应为0至2分" in html_of(out)  # the item by its title, not its id
    assert case_json(api, tree["prep_m"], cid)["version"] == 1
    scores = FULL | {"org_seal": 1}
    resp = prep.post(f"/inspection/cases/{cid}/self-assess",
                     data=scoring_post(scores, {"org_seal": "印章正在刻制"}, version=1))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{cid}")
    data = case_json(api, tree["prep_m"], cid)["data"]
    assert (data["self_scores"], data["self_notes"], data["self_score_total"]) == (
        scores, {"org_seal": "印章正在刻制"}, 99)
    # the same form again is stale, and says so
    again = prep.post(f"/inspection/cases/{cid}/self-assess", data=scoring_post(scores, version=1))
    assert again.status_code == 409


def test_stale_form_is_refused(browse, api, tree, case_in, fire):
    cid = case_in("planned")
    prep = browse(tree["prep_m"])
    form = prep.get(f"/inspection/cases/{cid}/self-assess")
    assert 'name="version" type="hidden" value="1"' in html_of(form)
    fire(tree["prep_m"], cid, "self_assess", {"scores": FULL})
    resp = prep.post(f"/inspection/cases/{cid}/self-assess", data=scoring_post(FULL, version=1))
    assert resp.status_code == 409
    assert case_json(api, tree["prep_m"], cid)["version"] == 2


# -- 会员评家 -----------------------------------------------------------------------------------

def test_the_evaluation_form_computes_the_rate(browse, api, tree, case_in):
    cid = case_in("self_assessed")
    prep = browse(tree["prep_m"])
    page = html_of(prep.get(f"/inspection/cases/{cid}/evaluation"))
    assert "会员人数" in page and "29" in page and "参评会员人数" in page and "满意人数" in page
    data = {"respondents": "20", "satisfied": "17", "version": "2"}
    page = html_of(prep.post(f"/inspection/cases/{cid}/evaluation", data=data | {"action": "recalculate"}))
    assert "17 / 20 = 85.0%" in page and "达到先进职工之家满意率要求（不低于85%）" in page
    page = html_of(prep.post(f"/inspection/cases/{cid}/evaluation", data=data | {"satisfied": "18",
                                                                            "action": "recalculate"}))
    assert "18 / 20 = 90.0%" in page and "达到模范职工之家满意率要求（不低于90%）" in page
    page = html_of(prep.post(f"/inspection/cases/{cid}/evaluation", data=data | {"satisfied": "16",
                                                                            "action": "recalculate"}))
    assert "16 / 20 = 80.0%" in page and "达到合格职工之家满意率要求（不低于60%），低于先进职工之家满意率要求" in page
    page = html_of(prep.post(f"/inspection/cases/{cid}/evaluation", data=data | {"satisfied": "11",
                                                                            "action": "recalculate"}))
    assert "11 / 20 = 55.0%" in page and "低于任何称号所需的满意率，不能评为合格" in page
    # 29 members: at least 3 respondents (10 %, rounded up), 2 are too few
    resp = prep.post(f"/inspection/cases/{cid}/evaluation", data=data | {"respondents": "2", "satisfied": "2",
                                                                          "action": "submit"})
    assert resp.status_code == 422 and "即至少3人" in html_of(resp)
    assert case_json(api, tree["prep_m"], cid)["version"] == 2
    # more respondents than members: the engine's reason, on the page
    resp = prep.post(f"/inspection/cases/{cid}/evaluation", data=data | {"respondents": "30", "action": "submit"})
    assert resp.status_code == 422 and "参评会员人数（30）应至少为1人，且不超过会员人数（29）" in html_of(resp)
    resp = prep.post(f"/inspection/cases/{cid}/evaluation", data=data | {"respondents": "", "action": "submit"})
    assert resp.status_code == 400 and "请填写人数" in html_of(resp)
    resp = prep.post(f"/inspection/cases/{cid}/evaluation", data=data | {"action": "submit"})
    assert resp.status_code == 302
    assert case_json(api, tree["prep_m"], cid)["data"]["satisfaction_percent"] == "85.0"


# -- 检查验收打分 ------------------------------------------------------------------------------

def test_the_inspectors_form_shows_self_scores_membership_and_vetoes(browse, api, tree, case_in):
    cid = case_in("evaluated")
    fed = browse(tree["fed"])
    page = html_of(fed.get(f"/inspection/cases/{cid}/inspect"))
    assert "自评</th>" in page
    assert "29 / 30 = <strong>96.7%</strong>" in page and "18 / 20 = <strong>90.0%</strong>" in page
    assert "按人数精确比较：30名职工的95%须有会员29人，现有29人，已达到。" in page
    assert page.count('name="vetoes"') == 5
    for veto in EXTRA["vetoes"]:
        assert veto["title"]["zh"] in page
    # the self-scores stand beside the items: the seal was self-scored 1
    seal_row = re.search(r"有工会印章</label>.*?</tr>", page, re.S).group(0)
    assert "<td>1</td>" in seal_row
    # recalculating a complete scoring previews the result, without firing
    resp = fed.post(f"/inspection/cases/{cid}/inspect",
                    data=scoring_post(scores_totalling(ITEMS, 85), action="recalculate", version=3))
    page = html_of(resp)
    assert resp.status_code == 200 and dimension_totals(page)[-1] == "85 / 100"
    assert "按当前打分预计评定结果：先进（先进职工之家）" in page
    resp = fed.post(f"/inspection/cases/{cid}/inspect", data=scoring_post(
        FULL, vetoes=["abnormal_petition"], action="recalculate", version=3))
    assert "按当前打分预计评定结果：不合格" in html_of(resp) and "一票否决：发生非正常集体上访或越级上访事件" in html_of(resp)
    assert case_json(api, tree["fed"], cid)["state"] == "evaluated"


def test_an_incomplete_inspection_marks_the_items_left_open(browse, api, tree, case_in):
    cid = case_in("evaluated")
    partial = dict(FULL)
    del partial["org_seal"], partial["trust_care"]
    resp = browse(tree["fed"]).post(f"/inspection/cases/{cid}/inspect", data=scoring_post(partial, version=3))
    page = html_of(resp)
    assert resp.status_code == 422 and "还有2个检查项目未打分" in page
    assert len(re.findall(r'<tr class="has-error">', page)) == 2 and page.count("未打分</p>") == 2
    assert case_json(api, tree["fed"], cid)["version"] == 3


def test_the_inspection_is_fired_with_vetoes_and_notes(browse, api, tree, case_in):
    cid = case_in("evaluated")
    resp = browse(tree["fed"]).post(f"/inspection/cases/{cid}/inspect", data=scoring_post(
        FULL | {"org_seal": 0}, {"org_seal": "未见印章"}, vetoes=["funds_not_remitted"], version=3))
    assert resp.status_code == 302
    data = case_json(api, tree["fed"], cid)["data"]
    assert (data["total_score"], data["vetoes"], data["notes"]) == (98, ["funds_not_remitted"], {"org_seal": "未见印章"})
    assert data["missing_mandatory_items"] == ["org_seal"]


@pytest.mark.parametrize("who, get_status, post_status, says", [
    ("prep_m", 200, 403, "您的角色（经办人）不能执行此操作"),
    ("auditor", 200, 403, "您的角色（审计人员）不能执行此操作"),
    ("town", 200, 403, "此步骤须由某区总工会审批"),
    ("fed2", 404, 404, None),
    ("com", 404, 404, None),
])
def test_who_may_not_score(browse, api, tree, case_in, who, get_status, post_status, says):
    cid = case_in("evaluated")
    client = browse(tree[who])
    resp = client.get(f"/inspection/cases/{cid}/inspect")
    assert resp.status_code == get_status
    if says:
        assert "目前不能办理" in html_of(resp) and says in html_of(resp)
        assert 'name="score_org_seal"' not in html_of(resp)
    resp = client.post(f"/inspection/cases/{cid}/inspect", data=scoring_post(FULL, version=3))
    assert resp.status_code == post_status
    assert case_json(api, tree["fed"], cid)["version"] == 3


def test_a_step_page_in_the_wrong_state(browse, tree, case_in):
    cid = case_in("planned")
    resp = browse(tree["fed"]).get(f"/inspection/cases/{cid}/inspect")
    assert resp.status_code == 200 and "不能办理此步骤" in html_of(resp)
    resp = browse(tree["fed"]).post(f"/inspection/cases/{cid}/inspect", data=scoring_post(FULL, version=1))
    assert resp.status_code == 409
    assert browse(tree["fed"]).get("/inspection/cases/99999/inspect").status_code == 404


# -- the case panel ----------------------------------------------------------------------------------

def test_the_panel_before_and_after_the_decision(browse, tree, case_in, fire):
    cid = case_in("inspected")
    fed_b = browse(tree["fed_b"])
    page = html_of(fed_b.get(f"/cases/{cid}"))
    assert "2026年度职工之家检查验收" in page and "尚未评定" in page
    assert "按检查打分预计评定结果：不合格" in page
    assert "未建立平等协商集体合同制度" in page                  # the veto applied
    assert "29 / 30 = <strong>96.7%</strong>" in page and "18 / 20 = <strong>90.0%</strong>" in page
    assert "按人数精确比较：30名职工的95%须有会员29人，现有29人，已达到。" in page
    # self vs inspector per dimension: the seal self-scored 1 of 2
    org_row = re.search(r'<tr><th scope="row">组织健全</th>(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r"<td>([^<]*)</td>", org_row) == ["20", "19", "20", "+1"]
    assert "印章正在刻制" in page and "未签集体合同" in page       # the notes of both sides
    fire(tree["fed_b"], cid, "decide")
    page = html_of(fed_b.get(f"/cases/{cid}"))
    assert '<span class="state big tone-late">不合格</span>' in page
    assert "一票否决：未建立平等协商集体合同制度" in page and "预计评定结果" not in page
    rights_row = re.search(r'<tr><th scope="row">维权到位</th>(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r"<td>([^<]*)</td>", rights_row) == ["20", "20", "20", "0"]
    # the record of scorings and decisions
    history = page[page.index("检查与评定经过"):]
    assert "检查得分100分；一票否决：未建立平等协商集体合同制度" in history
    assert '<span class="state tone-late">不合格</span>' in history


def test_the_panel_marks_an_overdue_rectification(browse, tree, case_in, clock):
    cid = case_in("rectifying")
    prep = browse(tree["prep_m"])
    page = html_of(prep.get(f"/cases/{cid}"))
    assert "整改期限" in page and "2026-12-20" in page and "已逾期" not in page
    clock.today = date(2026, 12, 20)
    assert "已逾期" not in html_of(prep.get(f"/cases/{cid}"))
    clock.today = date(2026, 12, 21)
    assert '<strong class="tag late">已逾期</strong>' in html_of(prep.get(f"/cases/{cid}"))


def test_reinspection_page_pass_and_title(browse, api, tree, case_in, fire):
    cid = case_in("rectifying")
    fed_b = browse(tree["fed_b"])
    page = html_of(fed_b.get(f"/inspection/cases/{cid}/reinspect"))
    assert "上次检查</th>" in page and "上次检查总分" in page
    assert re.search(r"上次一票否决项</dt><dd>未建立平等协商集体合同制度</dd>", page)
    resp = fed_b.post(f"/inspection/cases/{cid}/reinspect", data=scoring_post(scores_totalling(ITEMS, 92), version=6))
    assert resp.status_code == 302
    assert case_json(api, tree["fed"], cid)["state"] == "inspected"
    fire(tree["fed"], cid, "decide")
    page = html_of(fed_b.get(f"/cases/{cid}"))
    assert '<span class="state big tone-done">模范</span>' in page and "<strong>模范职工之家</strong>" in page
    history = page[page.index("检查与评定经过"):]
    assert history.index("检查得分100分") < history.index("不合格") < history.index("整改期限 2026-12-20") \
        < history.index("检查得分92分") < history.index("模范</span>")
    assert "总分92分（不低于90分），会员满意率90.0%（不低于90%），评为模范职工之家" in page
    assert "已复查" in page
    fire(tree["fed_b"], cid, "revoke", comment="发生越级上访事件")
    page = html_of(fed_b.get(f"/cases/{cid}"))
    assert "称号已于2026-11-20撤销" in page and "<strong>模范职工之家</strong>" not in page


def test_the_panel_in_english(browse, tree, case_in):
    cid = case_in("inspected")
    page = html_of(browse(tree["fed"]).get(f"/cases/{cid}?lang=en"))
    assert "No equal-consultation and collective-contract system" in page
    assert "Sound organisation" in page


# -- 评定: the computed result before the confirmation -------------------------------------------------

def test_the_decision_page_shows_the_computed_failure_and_asks_for_confirmation(browse, api, tree, case_in):
    cid = case_in("inspected")
    fed_b = browse(tree["fed_b"])
    page = html_of(fed_b.get(f"/cases/{cid}/steps/decide"))
    # the destination shown is the computed one, not the definition's first
    assert '当前状态：<span class="state">已检查打分</span> → <span class="state">未通过验收</span>' in page
    assert "验收通过" not in page
    assert "系统计算的评定结果" in page and "<strong>不合格</strong>" in page
    assert "未建立平等协商集体合同制度" in page                      # the ground: the veto applied
    assert 'name="confirm"' in page
    version = case_json(api, tree["fed"], cid)["version"]
    refused = fed_b.post(f"/cases/{cid}/steps/decide", data={"version": str(version)})
    assert refused.status_code == 400 and "请勾选确认" in html_of(refused)
    assert case_json(api, tree["fed"], cid)["state"] == "inspected"
    done = fed_b.post(f"/cases/{cid}/steps/decide", data={"version": str(version), "confirm": "yes"})
    assert done.status_code == 302
    assert case_json(api, tree["fed"], cid)["state"] == "failed"


def test_the_decision_page_shows_a_computed_pass(browse, api, tree, case_in, fire):
    cid = case_in("evaluated")
    fire(tree["fed"], cid, "inspect", {"scores": FULL, "vetoes": []})
    page = html_of(browse(tree["fed_b"]).get(f"/cases/{cid}/steps/decide"))
    assert '→ <span class="state">验收通过</span>' in page
    assert "<strong>模范</strong>" in page and "（模范职工之家）" in page
    assert "评为模范职工之家" in page
    # who may not decide sees no computed result (the inspector: four eyes)
    page = html_of(browse(tree["fed"]).get(f"/cases/{cid}/steps/decide"))
    assert "系统计算的评定结果" not in page


def test_the_decision_page_in_english(browse, tree, case_in):
    cid = case_in("inspected")
    page = html_of(browse(tree["fed_b"]).get(f"/cases/{cid}/steps/decide?lang=en"))
    assert "Result computed by the system" in page


def test_the_new_inspection_form_proposes_the_current_year(browse, tree, clock):
    page = html_of(browse(tree["prep_m"]).get("/cases/new/inspection"))
    assert re.search(r'<input[^>]*name="f_year"[^>]*value="2026"', page), page[page.find("f_year") - 200:][:400]
    clock.today = date(2027, 1, 1)
    page = html_of(browse(tree["prep_m"]).get("/cases/new/inspection"))
    assert re.search(r'<input[^>]*name="f_year"[^>]*value="2027"', page)
