"""The work in the browser (issue of tasks and notifications): a town reviewer finds the application waiting in
the inbox and the task list, returns it with a reason; the preparer is told, sees on the case and on the form
who returned it, when and why, and resubmits; the reviewer's inbox counts the case waiting again."""
from __future__ import annotations

import re

from tests.browser.conftest import login
from workflows.founding.tests.flow import GROUP


def unread(page) -> int:
    page.goto("/")
    badge = page.locator(".inbox-link .count")
    return int(badge.inner_text()) if badge.count() else 0


def test_a_returned_application_is_told_shown_and_resubmitted(new_page, tree, make_case, fire, shot):
    case_id = make_case(tree["prep_m"], "founding")["id"]
    fire(tree["prep_m"], case_id, "form_group", {"group_members": GROUP})
    fire(tree["prep_m"], case_id, "apply", comment="申请成立工会")

    town = new_page()
    login(town, "town")
    assert unread(town) == 1  # the application waits for the town union
    town.goto("/notifications")
    assert "等待您办理" in town.inner_text("ul.inbox")
    town.goto("/tasks")
    row = town.locator("table.tasks tbody tr").first
    assert "中型企业" in row.inner_text() and "批复同意筹建" in row.inner_text()
    shot(town, "01-task-list")

    town.goto(f"/cases/{case_id}/steps/return_application")
    town.wait_for_selector("h1:has-text('退回建会申请')")
    town.fill("textarea[name=comment]", "筹备组名单缺少职工代表签名，请补充后重新提交")
    town.click("button[name=fire]")
    town.wait_for_selector(".flash")
    assert re.search(rf"/cases/{case_id}$", town.url), town.url

    prep = new_page()
    login(prep, "prep_m")
    assert unread(prep) == 1
    prep.goto("/notifications")
    assert "被退回：筹备组名单缺少职工代表签名" in prep.inner_text("ul.inbox")
    shot(prep, "02-inbox-returned")
    prep.goto(f"/cases/{case_id}")
    banner = prep.inner_text(".returned")
    assert "本案已被退回" in banner and "筹备组名单缺少职工代表签名" in banner
    prep.goto(f"/cases/{case_id}/steps/apply")
    prep.wait_for_selector("h1:has-text('提出建会申请')")
    assert "筹备组名单缺少职工代表签名" in prep.inner_text(".returned")
    shot(prep, "03-form-to-resubmit")
    prep.fill("textarea[name=comment]", "已补充职工代表签名")
    prep.click("button[name=fire]")
    prep.wait_for_selector(".flash")
    assert prep.locator(".returned").count() == 0

    assert unread(town) == 2  # waiting again, after the first one
    town.goto("/notifications")
    town.click("button:has-text('全部标为已读')")
    town.wait_for_selector(".flash >> text=已将 2 条通知标为已读")
    assert unread(town) == 0
