"""The founding nomination's long candidate table keeps a draft in the browser: typed names and ticks
come back after a reload, with the notice, until the nomination is submitted."""
from __future__ import annotations

from tests.browser.conftest import login
from workflows.founding.tests.flow import walk


def test_the_candidate_table_is_restored_after_a_reload(new_page, tree, make_case, fire, shot):
    case_id = make_case(tree["prep"], "founding")["id"]
    walk(fire, case_id, "members_recruited", tree["prep"], tree["fed"], tree["fed_b"])
    prep = new_page()
    login(prep, "prep")
    prep.wait_for_selector("text=我的案件")
    prep.goto(f"/cases/{case_id}/founding/nominate")
    assert not prep.locator("[data-draft-notice]").is_visible()
    prep.fill("input[name=committee_seats]", "5")
    prep.fill("input[name=candidates-0-name]", "张伟")
    prep.check("input[name=candidates-0-stands][value=committee]")
    prep.check("input[name=candidates-0-stands][value=chair]")
    prep.fill("input[name=candidates-1-name]", "陈静")
    prep.check("input[name=candidates-1-bars][value=hr_head]")

    prep.reload()
    prep.wait_for_selector("text=已恢复未提交的草稿")
    assert prep.input_value("input[name=committee_seats]") == "5"
    assert prep.input_value("input[name=candidates-0-name]") == "张伟"
    assert prep.is_checked("input[name=candidates-0-stands][value=committee]")
    assert prep.is_checked("input[name=candidates-0-stands][value=chair]")
    assert not prep.is_checked("input[name=candidates-0-stands][value=audit]")
    assert prep.input_value("input[name=candidates-1-name]") == "陈静"
    assert prep.is_checked("input[name=candidates-1-bars][value=hr_head]")
    shot(prep, "nomination-draft-restored")

    prep.click("button:has-text('清除草稿')")
    assert prep.input_value("input[name=candidates-0-name]") == ""
    assert not prep.is_checked("input[name=candidates-0-stands][value=chair]")
    prep.reload()
    assert not prep.locator("[data-draft-notice]").is_visible()
