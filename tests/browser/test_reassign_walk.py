"""Reassignment (转办 / 上收) in the browser: the district federation supervises a town union's founding
approval but may not decide it; it hands the decision to itself with a reason, and only then decides."""
from __future__ import annotations

from tests.browser.conftest import login
from tests.browser.test_founding_walk import next_step, open_case, submit
from workflows.founding.tests.flow import GROUP


def test_a_federation_reassigns_a_town_decision_to_itself(new_page, tree, fire, make_case, api, shot):
    case_id = make_case(tree["prep_m"], "founding")["id"]
    fire(tree["prep_m"], case_id, "form_group", {"group_members": GROUP})
    assert fire(tree["prep_m"], case_id, "apply", comment="申请成立工会")["competent_org"] == "TOWN"

    fed = new_page()
    login(fed, "fed")
    open_case(fed, case_id)
    # the federation sees the decision but is told who decides it
    panel = fed.inner_text("#reassign-head >> xpath=..")
    assert "本案由城关镇工会审批" in panel
    assert fed.locator(".fd-next a.button.primary:has-text('批复同意筹建')").count() == 0
    shot(fed, "01-supervised")

    # a reassignment without a reason is refused in place and changes nothing
    fed.select_option("select[name=org]", "FED")
    fed.click("button[name=reassign]")
    fed.wait_for_selector("[role=alert]")
    assert api.get(f"/cases/{case_id}", tree["fed"]).get_json()["competent_org"] == "TOWN"

    # with a reason it is done, audited, and the federation now decides
    fed.select_option("select[name=org]", "FED")
    fed.fill("textarea[name=comment]", "城关镇工会审核人须回避，由区总工会审批")
    fed.click("button[name=reassign]")
    fed.wait_for_selector(".flash >> text=已转办")
    shot(fed, "02-reassigned")
    case = api.get(f"/cases/{case_id}", tree["fed"]).get_json()
    assert case["competent_org"] == "FED"
    items = api.get(f"/cases/{case_id}/audit", tree["auditor"]).get_json()["entries"]
    reassigned = [e for e in items if e["trigger"] == "reassign"]
    assert reassigned and reassigned[-1]["actor"] == "fed"
    assert reassigned[-1]["comment"] == "城关镇工会审核人须回避，由区总工会审批"

    next_step(fed, "批复同意筹建")
    fed.fill("input[name=f_reply_no]", "滨工复〔2026〕12号")
    fed.fill("textarea[name=comment]", "同意筹建")
    submit(fed, "已办理：批复同意筹建")
    assert api.get(f"/cases/{case_id}", tree["fed"]).get_json()["state"] == "approved"

    # the town union no longer decides, and its reviewer is told so
    town = new_page()
    login(town, "town")
    open_case(town, case_id)
    assert town.locator("#reassign-head").count() == 0
