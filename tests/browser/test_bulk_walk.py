"""批量审批 in the browser: a federation reviewer selects the founding applications waiting in the queue (全选本页,
then one box cleared), approves them in one go after the confirmation, and sees what happened to each; a
case a colleague decided meanwhile is named as failed, out of date."""
from __future__ import annotations

from tests.api.test_bulk import applied  # noqa: F401  (a fixture)
from tests.browser.conftest import login


def test_a_reviewer_selects_rows_and_approves_them_in_bulk(new_page, tree, applied, api, fire, shot):
    a, b, c, d = applied(4)
    page = new_page()
    login(page, "fed")
    page.goto("/review")
    page.wait_for_selector("#bulk-all")
    assert page.locator("input[name=case]").count() == 4
    shot(page, "01-queue")

    page.check("#bulk-all")  # the script ticks every row of the page
    assert all(page.is_checked(f"#pick-{x['id']}") for x in (a, b, c, d))
    page.uncheck(f"#pick-{d['id']}")  # and clearing one clears 全选本页
    assert not page.is_checked("#bulk-all")
    page.fill("#bulk-comment", "材料齐全，同意筹建")
    page.click("button[name=way][value=forward]")
    page.wait_for_selector("h1:has-text('确认批量同意')")
    listed = page.inner_text("table.bulk")
    assert all(f"第{i}企业" in listed for i in (1, 2, 3)) and "第4企业" not in listed
    assert listed.count("同意候选人") == 3
    shot(page, "02-confirm")

    fire(tree["fed_b"], c["id"], "approve_candidates")  # a colleague decides c before the confirmation
    page.click("button:has-text('确认批量同意')")
    page.wait_for_selector("#bulk-summary")
    assert page.inner_text("#bulk-summary") == "成功 2 件，失败 1 件。"
    assert "案件已被他人更新" in page.inner_text(f"#result-{c['id']}")
    assert "成功" in page.inner_text(f"#result-{a['id']}")
    shot(page, "03-results")

    states = {x["id"]: api.get(f"/cases/{x['id']}", tree["fed"]).get_json()["state"] for x in (a, b, c, d)}
    assert states == {a["id"]: "candidates_approved", b["id"]: "candidates_approved", c["id"]: "candidates_approved", d["id"]: "candidates_submitted"}
    entry = api.get(f"/cases/{a['id']}/audit", tree["auditor"]).get_json()["entries"][-1]
    assert (entry["actor"], entry["comment"]) == ("fed", "材料齐全，同意筹建")

    page.click(f"#result-{c['id']} a:has-text('第3企业')")
    page.wait_for_url(f"**/cases/{c['id']}")
