"""Administration in the browser: the organisation tree, creating a user who then logs in, moving an
enterprise, a token shown once."""
from __future__ import annotations

from tests.browser.ui_demo import demo, phone, sign_in  # noqa: F401  (fixture)
from tests.browser.conftest import login


def test_the_admin_creates_a_user_who_then_logs_in(new_page, demo, shot):  # noqa: F811
    admin = new_page()
    sign_in(admin, "admin", "text=管理")
    admin.click("nav.main-nav a:has-text('用户')")
    admin.wait_for_selector("h1:has-text('用户')")
    admin.fill("input[name=f_username]", "li_xia")
    admin.fill("input[name=f_display_name]", "李霞")
    admin.select_option("select[name=f_role]", "reviewer")
    admin.fill("input[name=f_org]", "TOWN-BJ")
    admin.fill("input[name=f_password]", "spring-river-2026")
    admin.click("#new-user button[type=submit]")
    admin.wait_for_selector(".flash >> text=已创建用户 li_xia")
    shot(admin, "user-created")

    newcomer = new_page()
    login(newcomer, "li_xia", "spring-river-2026")
    newcomer.wait_for_selector("text=您好，李霞")
    assert "滨江镇工会" in newcomer.locator(".who").inner_text()
    shot(newcomer, "newcomer-home")


def test_the_tree_an_enterprise_moved_and_a_token(new_page, demo, shot):  # noqa: F811
    page = new_page()
    sign_in(page, "admin", "text=管理")
    page.goto("/admin/orgs?q=东门茶餐厅")
    row = page.locator("table.tree tbody tr", has_text="东门茶餐厅")
    row.locator("a:has-text('迁移')").click()
    page.wait_for_selector("h1:has-text('迁移组织')")
    page.select_option("select[name=f_parent]", "COM-XH")
    page.check("input[name=f_confirm]")
    shot(page, "move")
    page.click("button:has-text('迁移')")
    page.wait_for_selector(".flash >> text=已迁移 1 个组织")
    page.goto("/admin/orgs?q=ENT-CAFE")
    assert page.locator("table.tree tbody tr").count() == 1
    page.goto("/admin/orgs")
    shot(page, "tree")

    page.goto("/admin/tokens")
    page.fill("input[name=f_username]", "auditor")
    page.fill("input[name=f_name]", "经审系统对接")
    page.click("button:has-text('签发')")
    secret = page.locator("code.secret-value").inner_text()
    assert secret.startswith("uf_")
    shot(page, "token-once")
    page.goto("/admin/tokens")
    assert secret not in page.content() and page.locator("td", has_text="经审系统对接").count() == 1
    phone(page)
    shot(page, "tokens-phone")
