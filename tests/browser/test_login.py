"""Logging in and out in a real browser, and a refused stale form."""
from __future__ import annotations

from tests.browser.conftest import login


def test_login_home_and_logout(new_page, tree, shot):
    page = new_page()
    login(page, "prep")
    page.wait_for_selector("text=我的案件")
    assert "您好" in page.content()
    shot(page, "preparer-home")
    page.click("text=退出")
    page.wait_for_selector("text=登录")
    assert page.url.endswith("/login")


def test_wrong_password_says_so_in_chinese(new_page, tree):
    page = new_page()
    login(page, "prep", "wrong-password")
    page.wait_for_selector("text=用户名或密码错误")
