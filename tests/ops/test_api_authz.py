"""The API's authorisation matrix: every route under /api/v1 (from app.url_map) × every role, inside and
outside the subtree of the thing asked for, × no token and a bad one. A route missing from the table fails.

Who is who (tests/conftest.py `tree`): the things asked for belong to ENT-L, under FED.
inside: prep (preparer of ENT-L), fed (reviewer of FED), auditor (of FED); outside: prep_x (ENT-X under FED2),
fed2 (reviewer of FED2), auditor2 (of FED2); admin sees everything.
"""
from __future__ import annotations

import io
import itertools
from datetime import date, timedelta
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from workflows.hardship.tests.support import application, household_ids, png_bytes
from services.accounts import find_org

USERS = ("admin", "prep", "fed", "auditor", "prep_x", "fed2", "auditor2")
_serial = itertools.count(1)


def row(**statuses: int) -> dict[str, int]:
    assert set(statuses) == set(USERS), set(USERS) ^ set(statuses)
    return statuses


SEES_ENT_L = row(admin=200, prep=200, fed=200, auditor=200, prep_x=404, fed2=404, auditor2=404)
EVERYONE = row(admin=200, prep=200, fed=200, auditor=200, prep_x=200, fed2=200, auditor2=200)
ADMIN_ONLY = row(admin=201, prep=403, fed=403, auditor=403, prep_x=403, fed2=403, auditor2=403)
READERS_OF_FED = row(admin=200, prep=403, fed=200, auditor=200, prep_x=403, fed2=404, auditor2=404)


@dataclass
class Call:
    method: str
    path: Callable[[dict[str, Any]], str]
    expect: dict[str, int]
    body: Callable[[dict[str, Any]], Any] | None = None
    form: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    public: bool = False  # answers without a token
    notes: list[str] = field(default_factory=list)


def _new_hardship_case(ctx: dict[str, Any]) -> int:
    # 一户一档: every new case is another household's
    resp = ctx["api"].post("/cases", ctx["tree"]["prep"], {"workflow": "hardship", "org": "ENT-L",
                                                           "data": application(ids=household_ids(next(_serial)))})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def _claimed_case(ctx: dict[str, Any]) -> int:
    case_id = _new_hardship_case(ctx)
    resp = ctx["api"].post(f"/cases/{case_id}/claim", ctx["tree"]["prep"], {})
    assert resp.status_code == 200, resp.get_json()
    return case_id


def _new_delegation(ctx: dict[str, Any]) -> int:
    starts = date(2100, 1, 1) + timedelta(days=2 * next(_serial))  # never overlapping another
    resp = ctx["api"].post("/delegations", ctx["tree"]["fed"],
                           {"to": "fed_c", "starts_on": starts.isoformat(), "ends_on": starts.isoformat()})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


TABLE: dict[str, Call] = {
    "api.post_org": Call("POST", lambda c: "/orgs", ADMIN_ONLY,
                         body=lambda c: {"code": f"T-{next(_serial)}", "name": "新镇工会", "kind": "town",
                                         "parent": "FED"}),
    "api.get_org": Call("GET", lambda c: "/orgs/ENT-L", SEES_ENT_L),
    "api.get_members": Call("GET", lambda c: "/orgs/ENT-L/members", SEES_ENT_L),
    # the roster's import is a reviewer's of the union itself (none here); the file is not read before that
    "members_import_api.post_import": Call(
        "POST", lambda c: "/orgs/ENT-L/members/import?dry_run=1",
        row(admin=403, prep=403, fed=403, auditor=403, prep_x=404, fed2=404, auditor2=404),
        form=lambda c: {"file": (io.BytesIO("姓名,身份证号\n张伟,110105194912310021\n".encode()), "名册.csv")}),
    # 会籍接转: a code nobody issued is unknown to everyone (the redemption itself: workflows/transfer/tests)
    "transfer_api.api_redeem": Call("POST", lambda c: "/transfers/redeem",
                                    row(admin=404, prep=404, fed=404, auditor=404, prep_x=404, fed2=404, auditor2=404),
                                    body=lambda c: {"code": "3467-9ACD-EFGH-JKMN", "org": "ENT-X"}),
    "api.post_user": Call("POST", lambda c: "/users", ADMIN_ONLY,
                          body=lambda c: {"username": f"u{next(_serial)}", "password": "correct-horse-1",
                                          "role": "preparer", "org": "ENT-L"}),
    # a token for prep: the admin, or prep themself
    "api.post_token": Call("POST", lambda c: "/users/prep/tokens",
                           row(admin=201, prep=201, fed=403, auditor=403, prep_x=403, fed2=403, auditor2=403)),
    # signing a user out everywhere: the admin only
    "api.post_end_sessions": Call("POST", lambda c: "/users/town/sessions/end",
                                  row(admin=200, prep=403, fed=403, auditor=403, prep_x=403, fed2=403, auditor2=403)),
    "api.get_me": Call("GET", lambda c: "/me", EVERYONE),
    "api.get_workflows": Call("GET", lambda c: "/workflows", EVERYONE),
    "api.get_workflow": Call("GET", lambda c: "/workflows/hardship", EVERYONE),
    "api.post_case": Call("POST", lambda c: "/cases",
                          row(admin=403, prep=201, fed=403, auditor=403, prep_x=404, fed2=404, auditor2=404),
                          body=lambda c: {"workflow": "hardship", "org": "ENT-L", "data": application(ids=household_ids(500 + next(_serial)))}),
    "api.get_cases": Call("GET", lambda c: "/cases?org=ENT-L", SEES_ENT_L),
    "api.get_case": Call("GET", lambda c: f"/cases/{c['case']}", SEES_ENT_L),
    # a fresh draft for every caller: only the enterprise's preparer may submit it
    "api.post_event": Call("POST", lambda c: f"/cases/{_new_hardship_case(c)}/events",
                           row(admin=403, prep=200, fed=403, auditor=403, prep_x=404, fed2=404, auditor2=404),
                           body=lambda c: {"trigger": "submit", "data": {}}),
    # a bulk decision answers 200 to every caller with a token; each case's row says what its single step would
    # have (test_a_bulk_row_answers_as_the_single_step_for_every_role)
    "api.post_tasks_bulk": Call("POST", lambda c: "/tasks/bulk", EVERYONE,
                                body=lambda c: {"trigger": "submit",
                                                "cases": [{"id": _new_hardship_case(c), "version": 1}]}),
    # a fresh case decided by ENT-L's own union: only a reviewer above it may take the decision up
    "api.post_reassign": Call("POST", lambda c: f"/cases/{_new_hardship_case(c)}/reassign",
                              row(admin=403, prep=403, fed=200, auditor=403, prep_x=404, fed2=404, auditor2=404),
                              body=lambda c: {"org": "FED", "comment": "企业工会委员回避，上收办理"}),
    # a fresh draft for every caller, waiting for the enterprise's preparer: only they may claim it
    "api.post_claim": Call("POST", lambda c: f"/cases/{_new_hardship_case(c)}/claim",
                           row(admin=403, prep=200, fed=403, auditor=403, prep_x=404, fed2=404, auditor2=404),
                           body=lambda c: {}),
    # ... claimed by the preparer first: only they may release it
    "api.post_release": Call("POST", lambda c: f"/cases/{_claimed_case(c)}/release",
                             row(admin=403, prep=200, fed=403, auditor=403, prep_x=404, fed2=404, auditor2=404),
                             body=lambda c: {}),
    # ... and assign it (to themself: ENT-L has one preparer)
    "api.post_assign": Call("POST", lambda c: f"/cases/{_new_hardship_case(c)}/assign",
                            row(admin=403, prep=200, fed=403, auditor=403, prep_x=404, fed2=404, auditor2=404),
                            body=lambda c: {"user": "prep"}),
    "api.get_delegations": Call("GET", lambda c: "/delegations", EVERYONE),
    # to FED's second reviewer: fed's colleague; everyone else's substitute would be of another organisation or
    # role (422), and who never decides delegates nothing (403)
    "api.post_delegation": Call("POST", lambda c: "/delegations",
                                row(admin=403, prep=422, fed=201, auditor=403, prep_x=422, fed2=422, auditor2=403),
                                body=lambda c: {"to": "fed_c", "starts_on": "2099-01-01", "ends_on": "2099-01-02"}),
    # a fresh delegation of fed's: nobody else's to end
    "api.post_end_delegation": Call("POST", lambda c: f"/delegations/{_new_delegation(c)}/end",
                                    row(admin=404, prep=404, fed=200, auditor=404, prep_x=404, fed2=404,
                                        auditor2=404)),
    "api.get_case_audit": Call("GET", lambda c: f"/cases/{c['case']}/audit", SEES_ENT_L),
    "api.get_verify": Call("GET", lambda c: "/audit/verify",
                           row(admin=200, prep=403, fed=403, auditor=200, prep_x=403, fed2=403, auditor2=200)),
    "audit_api.get_tree": Call("GET", lambda c: "/audit/tree",
                               row(admin=200, prep=403, fed=403, auditor=200, prep_x=403, fed2=403, auditor2=200)),
    # entry 6 records the creation of ENT-L (the tree fixture's sixth organisation)
    "audit_api.get_inclusion": Call("GET", lambda c: "/audit/entries/6/proof",
                                    row(admin=200, prep=403, fed=403, auditor=200, prep_x=403, fed2=403,
                                        auditor2=404)),
    "audit_api.get_consistency": Call("GET", lambda c: "/audit/consistency?from=1",
                                      row(admin=200, prep=403, fed=403, auditor=200, prep_x=403, fed2=403,
                                          auditor2=200)),
    "hardship_files.api_upload": Call(
        "POST", lambda c: f"/cases/{c['case']}/attachments",
        row(admin=403, prep=201, fed=403, auditor=403, prep_x=404, fed2=404, auditor2=404),
        form=lambda c: {"material": "id_copies", "file": (io.BytesIO(png_bytes(3, 3)), "身份证.png")}),
    "hardship_files.api_list": Call("GET", lambda c: f"/cases/{c['case']}/attachments", SEES_ENT_L),
    "hardship_files.api_download": Call("GET", lambda c: f"/attachments/{c['attachment']}", SEES_ENT_L),
    "reports_api.get_coverage": Call("GET", lambda c: "/reports/coverage?org=FED", READERS_OF_FED),
    "reports_api.get_coverage_xlsx": Call("GET", lambda c: "/reports/coverage.xlsx?org=FED", READERS_OF_FED),
    "reports_api.get_coverage_csv": Call("GET", lambda c: "/reports/coverage.csv?org=FED", READERS_OF_FED),
    "openapi.openapi_json": Call("GET", lambda c: "/openapi.json", EVERYONE, public=True),
    "work_api.get_tasks": Call("GET", lambda c: "/tasks", EVERYONE),
    "work_api.get_notifications": Call("GET", lambda c: "/notifications", EVERYONE),
    # one of the preparer's notifications: nobody else's to mark
    "work_api.post_notification_read": Call(
        "POST", lambda c: f"/notifications/{c['notification']}/read",
        row(admin=404, prep=200, fed=404, auditor=404, prep_x=404, fed2=404, auditor2=404)),
}


def api_endpoints(app) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            out.setdefault(rule.endpoint, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    return out


def test_every_api_endpoint_is_in_the_table(app):
    endpoints = api_endpoints(app)
    assert sorted(set(endpoints) - set(TABLE)) == [], "add these endpoints to TABLE"
    assert sorted(set(TABLE) - set(endpoints)) == [], "TABLE names endpoints the app does not have"
    for name, methods in endpoints.items():
        assert methods == {TABLE[name].method}, name


@pytest.fixture
def app_config(app_config, tmp_path):
    return {**app_config, "UPLOAD_DIR": str(tmp_path / "uploads")}


@pytest.fixture
def ctx(api, tree, db, make_user) -> dict[str, Any]:
    make_user("fed_c", "reviewer", "FED")  # fed's colleague, to stand in for them
    with db.write() as session:  # hardship needs a founded union (工会) at the enterprise
        org = find_org(session, "ENT-L")
        org.union_status, org.member_count = "founded", 50
    ctx: dict[str, Any] = {"api": api, "tree": tree}
    ctx["case"] = _new_hardship_case(ctx)
    upload = api.client.post(f"/api/v1/cases/{ctx['case']}/attachments", headers=tree["prep"].headers,
                             data={"material": "archive_form", "file": (io.BytesIO(png_bytes()), "档案表.png")},
                             content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    ctx["attachment"] = upload.get_json()["id"]
    with db.write() as session:
        from services.work import Notification

        note = Notification(user_id=tree["prep"].id, kind="waiting", case_id=ctx["case"], params={"title": "困难帮扶"})
        session.add(note)
        session.flush()
        ctx["notification"] = note.id
    return ctx


def _request(client, call: Call, ctx: dict[str, Any], headers: dict[str, str]):
    kwargs: dict[str, Any] = {"headers": headers}
    if call.form is not None:
        kwargs.update(data=call.form(ctx), content_type="multipart/form-data")
    elif call.body is not None:
        kwargs.update(json=call.body(ctx))
    return client.open("/api/v1" + call.path(ctx), method=call.method, **kwargs)


def test_authorisation_matrix(app, client, tree, ctx):
    wrong = []
    for endpoint in sorted(api_endpoints(app)):
        call = TABLE[endpoint]
        cells = [(who, tree[who].headers, status) for who, status in call.expect.items()]
        denied = 200 if call.public else 401
        cells += [("anonymous", {}, denied), ("bad token", {"Authorization": "Bearer uf_forged"}, denied),
                  ("not bearer", {"Authorization": f"Basic {tree['admin'].token}"}, denied)]
        for who, headers, expected in cells:
            resp = _request(client, call, ctx, headers)
            if resp.status_code != expected:
                wrong.append(f"{endpoint} as {who}: {resp.status_code}, expected {expected} "
                             f"{resp.get_data(as_text=True)[:120]}")
            elif expected >= 400 and resp.mimetype == "application/json":
                assert set(resp.get_json()["error"]) >= {"code", "message", "reasons"}
    assert wrong == [], "\n".join(wrong)


def test_a_bulk_row_answers_as_the_single_step_for_every_role(api, tree, ctx):
    """Every role, inside and outside the subtree: a fresh draft submitted in bulk gets, in its row, exactly the
    status a single step gets (`api.post_event`'s row of the table); an unknown case is every caller's 404."""
    for who, expected in TABLE["api.post_event"].expect.items():
        case_id = _new_hardship_case(ctx)
        resp = api.post("/tasks/bulk", tree[who], {"trigger": "submit", "cases": [
            {"id": case_id, "version": 1}, {"id": 2**31 - 1, "version": 1}]})
        assert resp.status_code == 200, (who, resp.get_json())
        mine, unknown = resp.get_json()["results"]
        assert (mine["id"], mine["status"]) == (case_id, expected), (who, mine)
        assert (unknown["status"], unknown["error"]["code"]) == (404, "not_found"), who
        single = api.post(f"/cases/{_new_hardship_case(ctx)}/events", tree[who], {"trigger": "submit", "version": 1})
        assert single.status_code == expected, who
        if expected != 200:
            assert mine["error"]["code"] == single.get_json()["error"]["code"], who
