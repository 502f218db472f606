"""The language switch in the browser: English on request, remembered across pages, Chinese back."""
from __future__ import annotations

from tests.browser.ui_demo import demo, phone, sign_in  # noqa: F401  (fixture)


def test_switch_to_english_and_back(new_page, demo, shot):  # noqa: F811
    page = new_page()
    sign_in(page, "fed_li", "text=待我审核")
    assert page.get_attribute("html", "lang") == "zh-CN"
    page.click("nav.lang a[lang=en]")
    page.wait_for_selector("text=Awaiting my review")
    assert page.get_attribute("html", "lang") == "en"
    shot(page, "reviewer-en")
    # remembered: the next pages are English too, with states and steps from the definitions
    page.click("table.queue a.strong >> nth=0")
    page.wait_for_selector("svg.diagram")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("h2", has_text="History").is_visible()
    assert page.locator("h2", has_text="Workflow diagram").is_visible()
    shot(page, "case-en")
    phone(page)
    shot(page, "case-en-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/cases")
    assert page.locator("h1").inner_text() == "Cases"
    page.click("nav.lang a[lang=zh-CN]")
    page.wait_for_selector("h1:has-text('案件')")
    assert page.get_attribute("html", "lang") == "zh-CN"


def test_a_browser_asking_for_english_gets_it(new_page, demo, shot):  # noqa: F811
    page = new_page("en-US")
    page.goto("/login")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("button[type=submit]").inner_text() == "Sign in"
    shot(page, "login-en")
