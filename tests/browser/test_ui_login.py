"""Signing in with the real browser: the login page, a post without the form's token refused with a
clear message, the lockout after five wrong passwords, the way back to the page asked for."""
from __future__ import annotations

from tests.browser.conftest import login
from tests.browser.ui_demo import PASSWORD, demo, phone, sign_in  # noqa: F401  (fixture)


def test_login_page_and_signing_in_and_out(new_page, demo, shot):  # noqa: F811
    page = new_page()
    page.goto("/login")
    assert page.get_attribute("html", "lang") == "zh-CN"
    shot(page, "login")
    cookie_page = page
    sign_in(page, "prep_logi", "text=我的案件")
    session = next(c for c in cookie_page.context.cookies() if c["name"] == "session")
    assert session["httpOnly"] is True and session["sameSite"] == "Lax"
    page.click("button:has-text('退出')")
    page.wait_for_selector(".flash >> text=您已安全退出")
    assert page.url.endswith("/login")
    phone(page)
    shot(page, "login-phone")


def test_a_post_with_a_bad_form_token_is_refused(new_page, demo, shot):  # noqa: F811
    page = new_page()
    page.goto("/login")
    page.fill("input[name=username]", "prep_logi")
    page.fill("input[name=password]", PASSWORD)
    page.locator("input[name=csrf_token]").evaluate("e => e.value = 'forged'")
    page.click("button[type=submit]")
    page.wait_for_selector(".errors >> text=登录表单已过期")
    shot(page, "csrf-refused")
    # the page offers a fresh form, which works
    page.fill("input[name=username]", "prep_logi")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=我的案件")
    # a cross-site style post without any token is refused outright
    resp = page.request.post("/logout", form={})
    assert resp.status == 400
    page.goto("/")
    page.wait_for_selector("text=我的案件")  # still signed in


def test_repeated_wrong_passwords_delay_further_attempts(new_page, demo, shot):  # noqa: F811
    page = new_page()
    for attempt in range(1, 6):
        login(page, "auditor", "wrong-password")
        page.wait_for_selector(".errors >> text=用户名或密码错误")
    # from the fifth failure on, each further one doubles the wait (1 s, 2 s, 4 s ...): soon one is refused
    for attempt in range(10):
        login(page, "auditor", "wrong-password")
        page.wait_for_selector(".errors")
        if "尝试次数过多" in page.inner_text(".errors"):
            break
    else:
        raise AssertionError("no attempt was refused")
    assert "账号已锁定" not in page.inner_text(".errors") and page.url.endswith("/login")
    shot(page, "throttled")


def test_after_login_the_page_asked_for(new_page, demo):  # noqa: F811
    page = new_page()
    page.goto("/audit/?workflow=founding")
    assert "/login?next=" in page.url
    page.fill("input[name=username]", "auditor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('审计留痕')")
    assert page.url.endswith("/audit/?workflow=founding")
