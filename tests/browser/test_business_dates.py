"""A step done on paper and recorded later, in a real browser: the preparer dates the founding application by
the day it was handed in, through the step's own form, and the case history shows the business date beside
the day it was recorded."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.browser.conftest import login
from workflows.founding.tests.flow import GROUP, TODAY, app_config, clock  # noqa: F401  (fixtures)


def test_a_back_dated_step_through_the_form_shows_both_dates(new_page, tree, api, shot, clock):
    prep = tree["prep"]
    created = api.post("/cases", prep, {"workflow": "founding", "org": "ENT-L",
                                        "decided_on": (TODAY - timedelta(days=9)).isoformat()})
    assert created.status_code == 201, created.get_json()
    case_id = created.get_json()["id"]
    formed = api.post(f"/cases/{case_id}/events", prep, {"trigger": "form_group", "data": {"group_members": GROUP},
                                                         "decided_on": (TODAY - timedelta(days=8)).isoformat()})
    assert formed.status_code == 200, formed.get_json()
    handed_in = (TODAY - timedelta(days=6)).isoformat()
    recorded = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()

    page = new_page()
    login(page, "prep")
    page.wait_for_selector("text=我的案件")
    page.goto(f"/cases/{case_id}/steps/apply")
    field = page.locator("input[name=decided_on]")
    assert field.get_attribute("type") == "date"
    assert field.input_value() == TODAY.isoformat()  # today by default
    assert field.get_attribute("min") == (TODAY - timedelta(days=8)).isoformat()
    assert "不能晚于今天" in page.locator(".field.decided-on .help").inner_text()
    field.fill(handed_in)
    page.fill("textarea[name=comment]", "申请书已于当日送交区总工会")
    shot(page, "01-apply-back-dated")
    page.click("button[type=submit][name=fire]")
    page.wait_for_selector("ol.timeline")
    latest = page.locator("ol.timeline > li").first
    assert latest.locator(".decided-on").inner_text() == f"办理日期 {handed_in}"
    assert f"{recorded}" in latest.locator(".recorded-at").inner_text()
    assert "录入" in latest.locator(".recorded-at").inner_text()
    shot(page, "02-history-both-dates")
    assert api.get(f"/cases/{case_id}", prep).get_json()["decided_on"] == handed_in
