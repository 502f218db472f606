"""Who handles a decision, in the browser: a federation reviewer claims a case (认领) and a colleague sees who
has it and may not decide it; the reviewer names the colleague their substitute for a week (我的代理); the
substitute then decides, and the history names both."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.browser.conftest import login


def test_a_reviewer_claims_delegates_for_a_week_and_the_substitute_decides(new_page, tree, make_case, fire, api,
                                                                             shot):
    case_id = make_case(tree["prep"])["id"]
    fire(tree["prep"], case_id, "submit", {"amount": 7})

    fed = new_page()
    login(fed, "fed")
    fed.goto(f"/cases/{case_id}")
    assert "未认领" in fed.inner_text("#handler")
    fed.click("button[name=claim]")
    fed.wait_for_selector(".flash >> text=已认领，由您办理")
    assert "办理人：fed（您）" in re.sub(r"\s+", "", fed.inner_text("#handler"))
    shot(fed, "01-claimed")
    assert api.get(f"/cases/{case_id}", tree["fed"]).get_json()["assignee"] == "fed"

    colleague = new_page()
    login(colleague, "fed_b")
    colleague.goto(f"/cases/{case_id}")
    assert "办理人：fed" in re.sub(r"\s+", "", colleague.inner_text("#handler"))
    assert "此事项已由fed认领办理" in colleague.inner_text("#h-actions >> xpath=..")
    assert colleague.locator("button[name=claim]").count() == 0
    shot(colleague, "02-held-by-another")

    # a week's delegation from today, set on 我的代理 under the user's menu
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    fed.click("a.user-link:has-text('我的代理')")
    fed.wait_for_selector("h1:has-text('我的代理')")
    fed.select_option("select[name=to]", "fed_b")
    fed.fill("input[name=starts_on]", (today + timedelta(days=7)).isoformat())
    fed.fill("input[name=ends_on]", today.isoformat())
    fed.click("button:has-text('设置代理')")
    fed.wait_for_selector("[role=alert]")  # an end before the start is refused in place
    assert "不能早于开始日期" in fed.inner_text("main")
    fed.select_option("select[name=to]", "fed_b")
    fed.fill("input[name=starts_on]", today.isoformat())
    fed.fill("input[name=ends_on]", (today + timedelta(days=6)).isoformat())
    fed.click("button:has-text('设置代理')")
    fed.wait_for_selector(".flash >> text=已设置代理")
    assert "代理中" in fed.inner_text("table.delegations")
    shot(fed, "03-delegated")

    colleague.goto(f"/cases/{case_id}")
    assert "您正在代理fed" in colleague.inner_text("#handler")
    colleague.click("#h-actions >> xpath=.. >> a.button.primary:has-text('批准')")
    colleague.wait_for_selector("h1:has-text('批准')")
    colleague.check("input[name=confirm]")
    colleague.click("button:has-text('确认办理')")
    colleague.wait_for_selector(".flash")
    assert api.get(f"/cases/{case_id}", tree["fed"]).get_json()["state"] == "approved"
    colleague.goto(f"/cases/{case_id}")
    assert "fed_b（代fed）" in colleague.inner_text("ol.timeline")
    shot(colleague, "04-decided-for")
    entry = api.get(f"/cases/{case_id}/audit", tree["auditor"]).get_json()["entries"][-1]
    assert (entry["actor"], entry["data"]["on_behalf_of"]) == ("fed_b", "fed")
    assert api.get("/audit/verify", tree["auditor"]).get_json()["ok"] is True
