"""Only the competent organisation decides (domain.md, "Organisations and people"): an ancestor supervises
but does not decide, unless it reassigns the decision (转办 / 上收) to its own or another organisation of its
subtree, with a reason, audited; queues hold what one's organisation is competent for, supervision the rest."""
from __future__ import annotations

import re

import pytest

from workflows.founding.tests.flow import GROUP  # noqa: F401


@pytest.fixture
def town_case(tree, make_case, fire):
    """ENT-M (30 employees) applied to found a union: its town union (TOWN) decides."""
    case_id = make_case(tree["prep_m"], "founding")["id"]
    fire(tree["prep_m"], case_id, "form_group", {"group_members": GROUP})
    case = fire(tree["prep_m"], case_id, "apply", comment="申请成立工会")
    assert case["competent_org"] == "TOWN"
    return case_id


def state(api, tree, case_id):
    case = api.get(f"/cases/{case_id}", tree["fed"]).get_json()
    return case["state"], case["version"], case["competent_org"]


def test_an_ancestor_supervises_but_does_not_decide(api, tree, fire, town_case):
    error = fire(tree["fed"], town_case, "approve_application", expect=403)["error"]
    assert error["code"] == "not_competent" and "城关镇工会" in error["reasons"][0]["message"]
    offered = {a["trigger"]: a for a in api.get(f"/cases/{town_case}", tree["fed"]).get_json()["available"]}
    assert offered["approve_application"]["allowed"] is False
    assert offered["approve_application"]["reasons"][0]["code"] == "not_competent"
    assert fire(tree["town"], town_case, "approve_application", {"reply_no": "城关工复〔2026〕3号"})["state"] == "approved"


def test_an_enterprise_unions_hardship_review_is_its_own(api, tree, fire, make_user, db):
    from workflows.hardship.tests.support import application

    from tests.support import audited_org_update

    with db.write() as session:
        audited_org_update(session, "ENT-L", union_status="founded")
    ent_rev = make_user("ent_rev", "reviewer", "ENT-L")
    case = api.post("/cases", tree["prep"], {"workflow": "hardship", "org": "ENT-L", "data": application()}).get_json()
    fire(tree["prep"], case["id"], "submit")
    assert fire(tree["fed"], case["id"], "approve_review", expect=403)["error"]["code"] == "not_competent"
    assert fire(ent_rev, case["id"], "approve_review")["state"] == "reviewed"
    assert fire(tree["fed"], case["id"], "start_posting", {"posted_on": "2026-11-02"},
                expect=403)["error"]["code"] == "not_competent"


@pytest.mark.parametrize("who, body, status, code", [
    ("fed", {"org": "FED"}, 400, "invalid_input"),                                   # no reason given
    ("fed", {"org": "FED", "comment": "  "}, 400, "invalid_input"),
    ("fed", {"org": "FED2", "comment": "回避"}, 422, "guard_failed"),                 # outside the subtree
    ("fed", {"org": "NOPE", "comment": "回避"}, 422, "guard_failed"),
    ("fed", {"org": "TOWN", "comment": "回避"}, 422, "guard_failed"),                 # already decides
    ("fed", {"comment": "回避"}, 400, "invalid_input"),
    ("fed", {"org": "FED", "comment": "回避", "extra": 1}, 400, "invalid_input"),
    ("town", {"org": "COM", "comment": "回避"}, 403, "not_competent"),                # the competent union itself
    ("prep_m", {"org": "FED", "comment": "回避"}, 403, "forbidden"),
    ("auditor", {"org": "FED", "comment": "回避"}, 403, "forbidden"),
    ("com", {"org": "COM", "comment": "回避"}, 404, "not_found"),                     # ENT-M is not below COM
    ("fed2", {"org": "FED2", "comment": "回避"}, 404, "not_found"),
])
def test_a_bad_reassignment_is_refused_and_changes_nothing(api, tree, town_case, who, body, status, code):
    before = state(api, tree, town_case)
    entries = len(api.get(f"/cases/{town_case}/audit", tree["fed"]).get_json()["entries"])
    resp = api.post(f"/cases/{town_case}/reassign", tree[who], body)
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["error"]["code"] == code
    assert state(api, tree, town_case) == before
    assert len(api.get(f"/cases/{town_case}/audit", tree["fed"]).get_json()["entries"]) == entries


def test_the_reasons_of_a_refused_reassignment(api, tree, town_case):
    resp = api.post(f"/cases/{town_case}/reassign", tree["fed"], {"org": "FED2", "comment": "回避"})
    assert [r["code"] for r in resp.get_json()["error"]["reasons"]] == ["reassign_outside_subtree"]
    resp = api.post(f"/cases/{town_case}/reassign", tree["fed"], {"org": "TOWN", "comment": "回避"})
    assert [r["code"] for r in resp.get_json()["error"]["reasons"]] == ["reassign_same_org"]
    resp = api.post(f"/cases/{town_case}/reassign", tree["fed"], {"org": "FED"})
    assert [r["code"] for r in resp.get_json()["error"]["reasons"]] == ["comment_required"]
    resp = api.post(f"/cases/{town_case}/reassign", tree["town"], {"org": "COM", "comment": "回避"})
    assert [r["code"] for r in resp.get_json()["error"]["reasons"]] == ["not_competent_to_reassign"]
    resp = api.post(f"/cases/{town_case}/reassign", tree["fed"], {"org": "FED", "comment": "回避", "version": 1})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "stale_version"


def test_a_case_without_a_competent_organisation_has_nothing_to_reassign(api, tree, make_case):
    case_id = make_case(tree["prep_m"], "founding")["id"]
    resp = api.post(f"/cases/{case_id}/reassign", tree["fed"], {"org": "FED", "comment": "回避"})
    assert resp.status_code == 422
    assert [r["code"] for r in resp.get_json()["error"]["reasons"]] == ["no_competent_decision"]


def test_a_reassigned_decision_is_the_new_organisations_and_audited(api, tree, fire, town_case):
    _, version, _ = state(api, tree, town_case)
    case = api.post(f"/cases/{town_case}/reassign", tree["fed"],
                    {"org": "FED", "comment": "镇工会审核人须回避，上收办理", "version": version}).get_json()
    assert (case["state"], case["version"], case["competent_org"]) == ("applied", version + 1, "FED")
    entry = api.get(f"/cases/{town_case}/audit", tree["fed"]).get_json()["entries"][-1]
    assert (entry["trigger"], entry["actor"], entry["from"], entry["to"], entry["comment"]) == (
        "reassign", "fed", "applied", "applied", "镇工会审核人须回避，上收办理")
    assert len(entry["data"].pop("_digest")) == 64  # the case's row as the reassignment left it
    assert entry["data"] == {"competent_org": "FED", "previous_competent_org": "TOWN"}
    assert fire(tree["town"], town_case, "approve_application", expect=403)["error"]["code"] == "not_competent"
    assert fire(tree["fed"], town_case, "approve_application", {"reply_no": "城关工复〔2026〕3号"})["state"] == "approved"
    assert api.get("/audit/verify", tree["auditor"]).get_json()["ok"] is True


def test_a_federation_reassigns_to_another_union_of_its_subtree_above_the_case(api, tree, fire, town_case, make_org,
                                                                              make_user):
    # COM is in the federation's subtree but not above ENT-M: it could not see the case
    resp = api.post(f"/cases/{town_case}/reassign", tree["fed"], {"org": "COM", "comment": "转社区工会办理"})
    assert resp.status_code == 422
    assert [r["code"] for r in resp.get_json()["error"]["reasons"]] == ["reassign_not_above_case"]
    case = api.post(f"/cases/{town_case}/reassign", tree["fed"], {"org": "ENT-M", "comment": "x"}).get_json()
    assert case["competent_org"] == "ENT-M"  # the case's own organisation is above-or-at it
    # the town, an ancestor of the competent organisation again, may take the decision back
    assert api.post(f"/cases/{town_case}/reassign", tree["town"],
                    {"org": "TOWN", "comment": "收回"}).get_json()["competent_org"] == "TOWN"


# ---- the pages -------------------------------------------------------------------------

@pytest.fixture
def login(app):
    def make(username: str):
        client = app.test_client()
        assert client.post("/login", data={"username": username, "password": "correct-horse-1"}).status_code == 302
        return client
    return make


def text(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def test_queues_hold_what_ones_organisation_decides_and_supervision_the_subtree(login, town_case):
    town, fed = login("town"), login("fed")
    assert f"#{town_case}" in text(town.get("/review"))
    assert f"#{town_case}" not in text(fed.get("/review"))
    page = fed.get("/supervision")
    assert page.status_code == 200 and f"#{town_case}" in text(page) and "下级待办" in text(page)
    assert f"#{town_case}" not in text(town.get("/supervision"))
    assert login("prep_m").get("/supervision").status_code == 403


def test_reassigning_on_the_case_page(api, tree, login, town_case):
    fed, town = login("fed"), login("town")
    page = fed.get(f"/cases/{town_case}")
    assert "转办审批" in text(page) and 'name="comment"' in page.get_data(as_text=True)
    assert "转办审批" not in text(town.get(f"/cases/{town_case}"))  # the competent union decides, it does not reassign
    _, version, _ = state(api, tree, town_case)
    resp = fed.post(f"/cases/{town_case}/reassign", data={"org": "FED", "comment": "", "version": str(version)})
    assert resp.status_code == 400 and "此操作须填写意见说明" in text(resp)
    resp = fed.post(f"/cases/{town_case}/reassign", data={"org": "FED", "comment": "回避",
                                                          "version": str(version - 1)})
    assert resp.status_code == 409
    assert state(api, tree, town_case) == ("applied", version, "TOWN")
    resp = fed.post(f"/cases/{town_case}/reassign", data={"org": "FED", "comment": "镇工会须回避",
                                                          "version": str(version)})
    assert resp.status_code == 302
    assert state(api, tree, town_case) == ("applied", version + 1, "FED")
    page = text(fed.get(f"/cases/{town_case}"))
    assert "镇工会须回避" in page and f"#{town_case}" in text(fed.get("/review"))
    assert login("town").post(f"/cases/{town_case}/reassign", data={"org": "TOWN", "comment": "x"}).status_code == 403
