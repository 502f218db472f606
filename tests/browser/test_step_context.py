"""The step forms in the browser, on the demo, at 1366 px and 360 px: each says which step of how many the
case is at and shows the case the decision is about; the queue rows name the applicant and the action."""
from __future__ import annotations

from tests.browser.ui_demo import demo, sign_in  # noqa: F401  (fixture)

DESKTOP = {"width": 1366, "height": 768}
NARROW = {"width": 360, "height": 780}


def fits(page, selector: str) -> bool:
    """The element lies within the screen's width (no sideways scrolling needed to read it)."""
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"] + 0.5


def test_the_federation_determines_with_the_whole_application_in_view(new_page, demo, shot):  # noqa: F811
    page = new_page()
    page.set_viewport_size(DESKTOP)
    sign_in(page, "fed_li", "text=待我审核")
    page.goto("/review?workflow=hardship")
    row = page.locator("table.queue tbody tr", has_text="职工5")
    assert "待确定帮扶对象" in row.inner_text() and "已报区总工会" not in row.inner_text()
    assert row.locator("a").first.inner_text() == "职工5"
    row.locator("a").first.click()
    page.wait_for_selector("#h-progress")
    assert "第5步，共5步：确定为帮扶对象" in page.locator("#h-progress").inner_text()
    shot(page, "case")
    page.locator(".actions-card a.button[href$='/steps/determine']").click()
    page.wait_for_selector(".case-summary")
    assert page.locator(".step-progress").inner_text() == "第5步，共5步：确定为帮扶对象"
    summary = page.locator(".case-summary").inner_text()
    for words in ("职工5", "家庭人口\n3人", "家庭人均月收入", "拟定帮扶类别", "类别依据", "公示期", "帮扶金额"):
        assert words in summary, words
    assert page.locator("input[name=f_amount]").is_visible()
    shot(page, "determine")
    page.set_viewport_size(NARROW)
    assert fits(page, ".case-summary") and fits(page, ".step-progress")
    shot(page, "determine-360")


def test_the_inspection_and_founding_forms_show_their_step(new_page, demo, shot):  # noqa: F811
    page = new_page()
    page.set_viewport_size(DESKTOP)
    sign_in(page, "fed_li", "text=待我审核")
    page.goto("/review?workflow=inspection")
    rows = page.locator("table.queue tbody tr")
    if rows.count():
        assert "年度" in rows.first.locator("a").first.inner_text()
    page.goto("/review?workflow=founding")
    row = page.locator("table.queue tbody tr").first
    row.locator("a").first.click()
    page.wait_for_selector(".fd-panel")
    step = page.locator(".actions-card a.button.primary").first
    if step.count():
        step.click()
        page.wait_for_selector(".step-progress")
        assert "共8步" in page.locator(".step-progress").inner_text()
        assert "职工人数" in page.locator(".case-summary").inner_text()
        shot(page, "founding-step")
        page.set_viewport_size(NARROW)
        assert fits(page, ".case-summary")
        shot(page, "founding-step-360")
