"""Long forms in a real browser: the scoring sheet's totals follow the typing, and what was typed is
kept as a draft in the browser: restored after a reload with a notice, cleared by 清除草稿 and after a
successful submission."""
from __future__ import annotations

import pytest

from tests.browser.conftest import login
from workflows.inspection.tests.test_rules import EXTRA, full_scores

ITEMS = EXTRA["checklist"]


@pytest.fixture
def app_config(app_config, clock):
    return {**app_config, "UNIONFLOW_CLOCK": clock}


@pytest.fixture
def founded(found, tree):
    found("ENT-M", 29)
    return tree


def drafts(page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries(Object.keys(localStorage)
        .filter(k => k.startsWith('unionflow.draft.')).map(k => [k, localStorage.getItem(k)]))""")


def test_scores_total_as_one_types_and_the_draft_survives_a_reload(new_page, founded, shot):
    prep = new_page()
    errors: list[str] = []
    prep.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(prep, "prep_m")
    prep.click("a.button:has-text('职工之家年度检查验收')")
    prep.fill("input[name=f_year]", "2026")
    prep.click("button:has-text('创建')")
    prep.wait_for_selector("text=案件已创建")
    case_url = prep.url
    prep.click("a.button:has-text('自查自评')")
    step_url = prep.url

    total = prep.locator("[data-total-all]")
    org = prep.locator('strong[data-total-of="org"]')
    assert total.inner_text() == "0" and org.inner_text() == "0"
    prep.fill("input[name=score_org_structure]", "3")
    prep.fill("input[name=score_org_elections]", "2")
    assert org.inner_text() == "5" and total.inner_text() == "5"
    prep.fill("input[name=score_rights_congress]", "4")
    assert total.inner_text() == "9" and prep.locator('strong[data-total-of="rights"]').inner_text() == "4"
    prep.fill("input[name=score_org_elections]", "9")  # above the item's 2 points: not counted
    assert org.inner_text() == "3" and total.inner_text() == "7"
    prep.fill("input[name=score_org_elections]", "1")
    prep.fill("input[name=note_org_seal]", "印章在刻制中")
    assert total.inner_text() == "8"
    assert not prep.locator("[data-draft-notice]").is_visible()
    [(key, _value)] = drafts(prep).items()
    assert key.startswith("unionflow.draft.case") and key.endswith(".self_assess.v1")

    # a reload (or the browser closed by mistake) brings the answers back, with the notice
    prep.reload()
    prep.wait_for_selector("text=已恢复未提交的草稿")
    assert prep.input_value("input[name=score_org_structure]") == "3"
    assert prep.input_value("input[name=score_org_elections]") == "1"
    assert prep.input_value("input[name=note_org_seal]") == "印章在刻制中"
    assert total.inner_text() == "8" and org.inner_text() == "4"
    shot(prep, "draft-restored")

    # 清除草稿 empties the form and forgets the draft
    prep.click("button:has-text('清除草稿')")
    assert prep.input_value("input[name=score_org_structure]") == ""
    assert total.inner_text() == "0" and drafts(prep) == {}
    assert not prep.locator("[data-draft-notice]").is_visible()
    prep.reload()
    assert not prep.locator("[data-draft-notice]").is_visible()
    assert prep.input_value("input[name=score_org_structure]") == ""

    # typed again and submitted: the step is done and the draft is gone
    for item_id, value in full_scores(ITEMS).items():
        prep.fill(f"input[name=score_{item_id}]", str(value))
    assert total.inner_text() == "100"
    assert len(drafts(prep)) == 1
    prep.click("button[value=submit]")
    prep.wait_for_selector("text=已办理：自查自评")
    assert drafts(prep) == {}
    prep.goto(step_url)  # the step is no longer open (the case moved on): nothing is offered to restore
    assert not prep.locator("[data-draft-notice]").is_visible()
    prep.goto(case_url)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


def test_a_refused_submission_keeps_the_draft(new_page, founded):
    prep = new_page()
    login(prep, "prep_m")
    prep.click("a.button:has-text('职工之家年度检查验收')")
    prep.fill("input[name=f_year]", "2026")
    prep.click("button:has-text('创建')")
    prep.wait_for_selector("text=案件已创建")
    prep.click("a.button:has-text('自查自评')")
    prep.fill("input[name=score_org_structure]", "3")
    prep.fill("input[name=score_org_elections]", "9")
    prep.click("button[value=submit]")  # 9 of 2 points: refused, the form is shown again with the answers
    prep.wait_for_selector("tr.has-error")
    assert prep.input_value("input[name=score_org_structure]") == "3"
    assert len(drafts(prep)) == 1
    assert not prep.locator("[data-draft-notice]").is_visible()  # the server's answers, not a restored draft


def test_the_household_income_totals_as_one_types(new_page, tree, found, shot):
    """The counted members follow the marital status and the 已婚 box; per-capita is rounded down to the fen."""
    found("ENT-M", 29)
    prep = new_page()
    login(prep, "prep_m")
    prep.goto("/cases/new/hardship")
    totals = prep.locator("[data-household-totals]")
    assert totals.is_visible()
    prep.select_option("select[name=marital_status]", "married")
    rows = [("王芳", "self", "1800.50"), ("李强", "spouse", "1000"), ("李小明", "child", "0"),
            ("李大明", "child", "5000")]
    for i, (name, relation, income) in enumerate(rows):
        prep.fill(f"input[name=household-{i}-name]", name)
        prep.select_option(f"select[name=household-{i}-relation]", relation)
        prep.fill(f"input[name=household-{i}-monthly_income]", income)
    count, income, per_capita = (prep.locator(f"[data-hh-{k}]") for k in ("count", "income", "per-capita"))
    assert (count.inner_text(), income.inner_text(), per_capita.inner_text()) == ("4", "7,800.50", "1,950.12")
    prep.check("input[name=household-3-married]")  # a married child does not count
    assert (count.inner_text(), income.inner_text(), per_capita.inner_text()) == ("3", "2,800.50", "933.50")
    prep.fill("input[name=household-1-monthly_income]", "1000.01")  # 2,800.51 ÷ 3 = 933.503…: down to 933.50
    assert (income.inner_text(), per_capita.inner_text()) == ("2,800.51", "933.50")
    prep.fill("input[name=household-1-monthly_income]", "1000.02")  # 2,800.52 ÷ 3 = 933.506…: still 933.50
    assert per_capita.inner_text() == "933.50"
    prep.select_option("select[name=marital_status]", "unmarried")  # parents, self, siblings: only 王芳
    assert (count.inner_text(), income.inner_text(), per_capita.inner_text()) == ("1", "1,800.50", "1,800.50")
    assert "按规定向下取整到分" in totals.inner_text()
    shot(prep, "household-totals")
