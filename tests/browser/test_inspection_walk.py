"""The 职工之家 inspection walked in a real browser: a union's preparer and two
reviewers of the federation take it through a failure, rectification, a
re-inspection and a pass; the federation then looks at its year."""
from __future__ import annotations

from datetime import date

import pytest


from tests.browser.conftest import login
from workflows.inspection.tests.test_rules import EXTRA, full_scores, scores_totalling

ITEMS = EXTRA["checklist"]


@pytest.fixture
def app_config(app_config, clock):
    return {**app_config, "UNIONFLOW_CLOCK": clock}


@pytest.fixture
def founded(found, tree):
    """中型企业 (ENT-M) has its union, 29 members of 30 employees; so has 小店 (ENT-S), not inspected yet."""
    found("ENT-M", 29)
    found("ENT-S", 5)
    return tree


def fill_scores(page, scores, notes=None):
    for item_id, value in scores.items():
        page.fill(f"input[name=score_{item_id}]", str(value))
    for item_id, note in (notes or {}).items():
        page.fill(f"input[name=note_{item_id}]", note)


def open_step(page, case_url, label):
    page.goto(case_url)
    page.click(f"a.button:has-text('{label}')")


def test_fail_rectify_reinspect_pass(new_page, founded, shot, clock):
    prep = new_page()
    login(prep, "prep_m")

    # 制定计划: the union opens this year's inspection from its home page
    prep.click("a.button:has-text('职工之家年度检查验收')")
    prep.fill("input[name=f_year]", "2026")
    prep.click("button:has-text('创建')")
    prep.wait_for_selector("text=案件已创建")
    case_url = prep.url
    assert "2026年度职工之家检查验收" in prep.content()

    # 自查自评, with a running total before anything is sent
    open_step(prep, case_url, "自查自评")
    self_scores = full_scores(ITEMS) | {"org_seal": 1, "trust_care": 2}
    fill_scores(prep, self_scores, {"org_seal": "印章已送公安机关备案刻制"})
    prep.click("button[value=recalculate]")
    prep.wait_for_selector("text=已按填写的分值重新计算各项合计")
    assert "98 / 100" in prep.locator("main").inner_text()
    shot(prep, "1-self-assessment")
    prep.click("button[value=submit]")
    prep.wait_for_selector("text=已办理：自查自评")

    # 会员评家
    open_step(prep, case_url, "会员评家")
    prep.fill("input[name=respondents]", "20")
    prep.fill("input[name=satisfied]", "18")
    prep.click("button[value=recalculate]")
    prep.wait_for_selector("text=18 / 20 = 90.0%")
    shot(prep, "2-evaluation")
    prep.click("button[value=submit]")
    prep.wait_for_selector("text=已办理：会员评家")

    # 检查验收打分 by the federation, which finds no collective contract
    fed = new_page()
    login(fed, "fed")
    open_step(fed, case_url, "检查验收打分")
    assert "29 / 30" in fed.content() and "96.7%" in fed.content()
    fill_scores(fed, full_scores(ITEMS), {"rights_contract": "未签订集体合同"})
    fed.check("input[name=vetoes][value=no_collective_contract]")
    fed.click("button[value=recalculate]")
    fed.wait_for_selector("text=按当前打分预计评定结果：不合格")
    shot(fed, "3-inspection")
    fed.click("button[value=submit]")
    fed.wait_for_selector("text=已办理：检查验收打分")
    # the inspector may not decide his own inspection
    assert "四眼原则" in fed.content()
    assert fed.locator("a.button:has-text('评定')").count() == 0

    # 评定 by a second reviewer: failed, and why
    fed_b = new_page()
    login(fed_b, "fed_b")
    open_step(fed_b, case_url, "评定")
    # the form shows the computed result and its ground, not the definition's first destination
    computed = fed_b.inner_text(".computed-result")
    assert "不合格" in computed and "一票否决：未建立平等协商集体合同制度" in computed
    assert "→ 未通过验收" in fed_b.inner_text("main")
    shot(fed_b, "4-decision-form")
    fed_b.check("input[name=confirm]")
    fed_b.click("button:has-text('确认办理')")
    fed_b.wait_for_selector("text=已办理：评定")
    assert "一票否决：未建立平等协商集体合同制度" in fed_b.content()
    shot(fed_b, "4-failed")

    # 整改, then the deadline passes
    open_step(prep, case_url, "开始整改")
    prep.click("button:has-text('确认办理')")
    prep.wait_for_selector("text=已办理：开始整改")
    assert "2026-12-20" in prep.content() and "已逾期" not in prep.content()
    clock.today = date(2026, 12, 21)
    prep.reload()
    prep.wait_for_selector(".tag.late")
    shot(prep, "5-rectification-overdue")

    # 复查 by the second reviewer, a fresh scoring
    open_step(fed_b, case_url, "复查")
    assert "上次检查" in fed_b.content()
    fill_scores(fed_b, scores_totalling(ITEMS, 92), {"rights_contract": "已签订集体合同并报备"})
    fed_b.click("button[value=recalculate]")
    fed_b.wait_for_selector("text=按当前打分预计评定结果：模范")
    shot(fed_b, "6-reinspection")
    fed_b.click("button[value=submit]")
    fed_b.wait_for_selector("text=已办理：复查")

    # 评定 by the first reviewer (not the re-inspector): passed, model title
    open_step(fed, case_url, "评定")
    assert "模范" in fed.inner_text(".computed-result")
    fed.check("input[name=confirm]")
    fed.click("button:has-text('确认办理')")
    fed.wait_for_selector("text=已办理：评定")
    content = fed.content()
    assert "模范职工之家" in content and "总分92分（不低于90分），会员满意率90.0%（不低于90%），评为模范职工之家" in content
    shot(fed, "7-passed")

    # the federation's year
    fed.click("a:has-text('查看2026年度辖区职工之家验收情况')")
    fed.wait_for_selector("text=2026年度职工之家验收一览")
    assert "模范职工之家" in fed.content() and "小店" in fed.content()
    fed.click("a:has-text('尚未验收')")
    fed.wait_for_selector("select[name=show] >> option[value=pending][selected]", state="attached")
    assert "小店" in fed.content() and "中型企业" not in fed.locator("table").inner_text()
    shot(fed, "8-year-pending")
