"""Each role's home page in the browser, on a desk and on a phone."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.browser.ui_demo import demo, phone, sign_in  # noqa: F401  (fixture)
from workflow import Case, Organisation, User


def _count(app, stmt) -> int:
    with app.extensions["unionflow.db"].read() as session:
        return session.scalar(stmt)


def _tiles(page) -> dict[str, int]:
    out = {}
    for tile in page.locator(".tile").all():
        out[tile.locator("span").inner_text()] = int(tile.locator("strong").inner_text())
    return out


def test_the_preparer_sees_their_cases_and_next_steps(new_page, demo, shot):  # noqa: F811
    page = new_page()
    sign_in(page, "prep_prec", "text=我的案件")
    tiles = _tiles(page)
    open_cases = _count(demo, select(func.count()).select_from(Case).join(Case.org)
                        .where(Organisation.code == "ENT-PREC", Case.closed.is_(False)))
    assert tiles["未办结案件"] == open_cases and tiles["待我办理"] >= 1 and tiles["等待上级审核"] >= 1
    row = page.locator("tr", has_text="职工之家年度检查验收 #12")
    assert row.locator("a.button", has_text="开始整改").is_visible()
    assert page.locator("td.next", has_text="等待海城区总工会审核").count() >= 1
    shot(page, "preparer")
    phone(page)
    shot(page, "preparer-phone")


def test_the_reviewer_sees_the_queue_oldest_first_and_filters_it(new_page, demo, shot):  # noqa: F811
    page = new_page()
    sign_in(page, "fed_li", "text=待我审核")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == _tiles(page)["待我审核"] >= 5
    shot(page, "reviewer")
    page.select_option("#f-workflow", "founding")
    page.click("button:has-text('筛选')")
    page.wait_for_url("**/?workflow=founding*")
    assert all("建会" in t for t in page.locator("table.queue tbody tr td:nth-child(1)").all_inner_texts())
    page.fill("#f-org", "TOWN-CG")
    page.click("button:has-text('筛选')")
    page.wait_for_selector("text=仅显示 城关街道工会 及其下级的案件")
    shot(page, "reviewer-filtered")
    phone(page)
    shot(page, "reviewer-phone")


def test_the_auditor_sees_recent_activity_and_searches(new_page, demo, shot):  # noqa: F811
    page = new_page()
    sign_in(page, "auditor", "text=最近动态")
    assert page.locator("table.entries tbody tr").count() == 15
    shot(page, "auditor")
    page.fill("#q", "顺达")
    page.press("#q", "Enter")
    page.wait_for_selector("h1:has-text('审计留痕')")
    subjects = page.locator("table.entries tbody tr td:nth-child(4)").all_inner_texts()
    assert any("#2" in s for s in subjects)  # 顺达物流's founding case
    assert all("#2" in s or "海城顺达物流有限公司" in s for s in subjects)  # and the enterprise itself, by name
    shot(page, "auditor-search")


def test_the_admin_sees_the_accounts_and_the_tree(new_page, demo, shot):  # noqa: F811
    page = new_page()
    sign_in(page, "admin", "text=管理")
    tiles = _tiles(page)
    assert tiles["组织"] == _count(demo, select(func.count()).select_from(Organisation))
    assert tiles["在用账号"] == _count(demo, select(func.count()).select_from(User).where(User.active.is_(True)))
    shot(page, "admin")
    phone(page)
    shot(page, "admin-phone")
