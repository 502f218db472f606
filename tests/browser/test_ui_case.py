"""A case page in the browser: its state, the diagram with the path taken, the timeline, and an
action refused with its reason; a step taken through the generic form."""
from __future__ import annotations

from tests.browser.ui_demo import demo, phone, sign_in  # noqa: F401  (fixture)


def _case_id(page, text: str) -> int:
    """The case of the list row that says `text` (its link names the case's subject)."""
    href = page.locator("tr", has_text=text).first.locator("a").first.get_attribute("href")
    return int(href.rstrip("/").split("/")[-1])


def test_the_case_page_with_its_diagram_and_timeline(new_page, demo, shot):  # noqa: F811
    page = new_page()
    sign_in(page, "prep_logi", "text=我的案件")
    page.locator("tr", has_text="建会（组建基层工会） #2").locator("a").first.click()
    page.wait_for_selector("svg.diagram")
    assert page.locator(".head-state .state").inner_text() == "候选人已报批"
    assert page.locator("svg.diagram g.node.current").get_attribute("data-state") == "candidates_submitted"
    visited = page.locator("svg.diagram g.node.visited").evaluate_all("gs => gs.map(g => g.dataset.state)")
    assert visited == ["draft", "group_formed", "applied", "approved", "members_recruited"]
    assert page.locator("svg.diagram path.edge.taken").count() == 5
    assert "草稿 → 已成立筹备组 → 已提出建会申请 → 上级工会已批复筹建 → 已发展会员 → 候选人已报批" in \
        page.locator("p.path").inner_text()
    timeline = page.locator("ol.timeline > li")
    assert timeline.count() == 6
    newest = timeline.first.inner_text()
    assert "提名候选人并报批" in newest and "周杰（海城顺达物流有限公司） · 经办人" in newest  # by name, not username
    assert "候选人名单已在厂区公示栏张贴" in timeline.first.inner_text()
    shot(page, "founding")
    phone(page)
    shot(page, "founding-phone")


def test_a_refused_action_shows_why(new_page, demo, shot):  # noqa: F811
    page = new_page()
    # the street union's reviewer sees 顺达物流 (it is in their street) but the district federation decides
    sign_in(page, "town_zhao", "h1")
    page.goto("/cases")
    case_id = _case_id(page, "建会（组建基层工会） #2")
    page.goto(f"/cases/{case_id}")
    refused = page.locator("ul.refused > li", has_text="同意候选人")
    assert refused.locator(".button.disabled").is_visible()
    assert "海城区总工会" in refused.locator(".why").inner_text()
    assert page.locator(".actions-card a.button", has_text="同意候选人").count() == 0
    refused.scroll_into_view_if_needed()
    shot(page, "refused")
