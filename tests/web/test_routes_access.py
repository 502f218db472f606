"""Every route of the app, for every role, inside and outside the subtree: the expected status.

The walk is built from `app.url_map`, so a route added later is walked too;
`EXPECT` holds one row per endpoint and method, and an endpoint without a row
fails `test_every_endpoint_has_a_row` (add the row after checking what each
person may do there). A row lists the status for the walkers in `WALKERS`
order; "a/b" accepts either.

Walkers: nobody logged in; the administrator; the preparer, the reviewer and
the auditor of the subject's subtree (ENT-L under FED); and the same three
roles from the other federation's subtree (ENT-X under FED2). Pages answer
with a login redirect (302) for nobody, the API with 401. POSTs send an empty
form (or an empty JSON body), which must never be accepted from someone who
may not act. A step page shows its form, and to someone who may not take
the step the reasons why not (200); the step itself is refused on POST.
"""
from __future__ import annotations

from typing import Any

import pytest
from werkzeug.routing import Rule

from .ui_support import login, world  # noqa: F401  (fixture)

WALKERS = ("anon", "admin", "prep", "fed", "auditor", "prep_x", "fed2", "auditor2")

# endpoint -> method -> statuses for     anon admin prep fed aud | prep_x fed2 aud2
EXPECT: dict[str, dict[str, str]] = {
    "static": {"GET": "200 200 200 200 200 200 200 200"},
    "health": {"GET": "200 200 200 200 200 200 200 200"},
    "favicon": {"GET": "200 200 200 200 200 200 200 200"},
    # sign in and out
    "auth.login": {"GET": "200 302 302 302 302 302 302 302", "POST": "400 302 302 302 302 302 302 302"},
    "auth.logout": {"POST": "302 302 302 302 302 302 302 302"},
    "auth.password": {"GET": "302 200 200 200 200 200 200 200", "POST": "302 400 400 400 400 400 400 400"},
    # home, cases, review queue
    "pages.home": {"GET": "302 200 200 200 200 200 200 200"},
    "cases.index": {"GET": "302 200 200 200 200 200 200 200"},
    "cases.queue": {"GET": "302 403 403 200 403 403 200 403"},
    "cases.supervision": {"GET": "302 403 403 200 403 403 200 403"},
    "cases.reassign": {"POST": "302 403 403 422 403 404 404 404"},
    # 批量审批 from the queue: reviewers only; an empty form asks for nothing to be done (400)
    "bulk.confirm": {"POST": "302 403 403 400 403 403 400 403"},
    "bulk.decide": {"POST": "302 403 403 400 403 403 400 403"},
    "cases.show": {"GET": "302 200 200 200 200 404 404 404"},
    # who handles the sample's draft: its preparer (the walk claims before it releases; assigning needs a user)
    "cases.claim": {"POST": "302 403 302 403 403 404 404 404"},
    "cases.release": {"POST": "302 403 302/409 403 403 404 404 404"},
    "cases.assign": {"POST": "302 403 400 403 403 404 404 404"},
    # 我的代理: those who take decisions; ending fed's delegation is fed's (ended already by the API walk: 409)
    "delegations.index": {"GET": "302 403 200 200 403 200 200 403"},
    "delegations.create": {"POST": "302 403 400 400 403 400 400 403"},
    "delegations.end": {"POST": "302 403 404 302/409 403 404 404 403"},
    "cases.new": {"GET": "302 403 200 403 403 200 403 403", "POST": "302 403 422 403 403 302 403 403"},
    "cases.step": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 400 403 403 404 404 404"},
    # the audit trail
    "audit.explorer": {"GET": "302 200 403 403 200 403 403 200"},
    "audit.entry": {"GET": "302 200 403 403 200 403 403 404"},
    # the proof download needs a signed checkpoint on the server; without one it says so (409)
    "audit.entry_proof": {"GET": "302 409 403 403 409 403 403 404"},
    "audit.export_csv": {"GET": "302 200 403 403 200 403 403 200"},
    "audit.export_jsonl": {"GET": "302 200 403 403 200 403 403 200"},
    "audit.export_xlsx": {"GET": "302 200 403 403 200 403 403 200"},
    "audit.verify": {"POST": "302 200 403 403 200 403 403 200"},
    # 会员名册: whoever sees the union reads it; leaving and death are the union's reviewers' (none walks here)
    "members.roster": {"GET": "302 200 200 200 200 404 404 404"},
    "members.show": {"GET": "302 200 200 200 200 404 404 404"},
    "members.end": {"POST": "302 403 403 403 403 404 404 404"},
    # the roster's import is its own reviewers' (none walks here), its export whoever sees the union's
    "members_import.page": {"GET": "302 403 403 403 403 404 404 404", "POST": "302 403 403 403 403 404 404 404"},
    "members_import.problems_sheet": {"GET": "302 403 403 403 403 404 404 404"},
    "members_import.export": {"GET": "302 200 200 200 200 404 404 404"},
    # 会籍接转: the request from a member's page (its confirmation first); the certificate is the issuing union's
    # (of a transfer case only); any union's preparer or reviewer redeems a code (an empty one is refused)
    "transfer.start": {"POST": "302 302 302 302 302 404 404 404"},
    "transfer.certificate": {"GET": "302 404 404 404 404 404 404 404"},
    "transfer.certificate_pdf": {"GET": "302 404 404 404 404 404 404 404"},
    "transfer.redeem": {"GET": "302 200 200 200 200 200 200 200", "POST": "302 400 400 400 400 400 400 400"},
    "transfer_api.api_redeem": {"POST": "401 400 400 400 400 400 400 400"},
    # administration
    "admin.orgs": {"GET": "302 200 403 403 403 403 403 403", "POST": "302 400 403 403 403 403 403 403"},
    "admin.org_edit": {"GET": "302 200 403 403 403 403 403 403", "POST": "302 400 403 403 403 403 403 403"},
    "admin.org_move": {"GET": "302 200 403 403 403 403 403 403", "POST": "302 400 403 403 403 403 403 403"},
    "admin.users": {"GET": "302 200 403 403 403 403 403 403", "POST": "302 400 403 403 403 403 403 403"},
    "admin.user_edit": {"GET": "302 200 403 403 403 403 403 403", "POST": "302 400 403 403 403 403 403 403"},
    "admin.toggle_active": {"POST": "302 302 403 403 403 403 403 403"},
    "admin.reset_user_password": {"POST": "302 200 403 403 403 403 403 403"},
    "admin.end_user_sessions": {"POST": "302 400 403 403 403 403 403 403"},  # 400: not confirmed
    "admin.tokens": {"GET": "302 200 403 403 403 403 403 403", "POST": "302 400 403 403 403 403 403 403"},
    "admin.revoke": {"POST": "302 302 403 403 403 403 403 403"},
    # the JSON API (bearer tokens)
    "api.get_me": {"GET": "401 200 200 200 200 200 200 200"},
    "api.get_workflows": {"GET": "401 200 200 200 200 200 200 200"},
    "api.get_workflow": {"GET": "401 200 200 200 200 200 200 200"},
    "api.get_org": {"GET": "401 200 200 200 200 404 404 404"},
    "api.get_members": {"GET": "401 200 200 200 200 404 404 404"},
    "members_import_api.post_import": {"POST": "401 403 403 403 403 404 404 404"},
    "api.post_org": {"POST": "401 400 403 403 403 403 403 403"},
    "api.post_user": {"POST": "401 400 403 403 403 403 403 403"},
    "api.post_token": {"POST": "401 201 403 403 403 403 403 403"},
    "api.post_end_sessions": {"POST": "401 200 403 403 403 403 403 403"},
    "api.get_cases": {"GET": "401 200 200 200 200 200 200 200"},
    "api.post_case": {"POST": "401 400 400 400 400 400 400 400"},
    "api.get_case": {"GET": "401 200 200 200 200 404 404 404"},
    "api.post_event": {"POST": "401 400 400 400 400 404 404 404"},
    "api.post_reassign": {"POST": "401 403 403 422 403 404 404 404"},
    "api.post_tasks_bulk": {"POST": "401 400 400 400 400 400 400 400"},
    "api.get_case_audit": {"GET": "401 200 200 200 200 404 404 404"},
    "api.post_claim": {"POST": "401 403 200 403 403 404 404 404"},
    "api.post_release": {"POST": "401 403 200/409 403 403 404 404 404"},
    "api.post_assign": {"POST": "401 403 400 403 403 404 404 404"},
    "api.get_delegations": {"GET": "401 200 200 200 200 200 200 200"},
    "api.post_delegation": {"POST": "401 403 400 400 403 400 400 403"},
    "api.post_end_delegation": {"POST": "401 404 404 200 404 404 404 404"},
    "api.get_verify": {"GET": "401 200 403 403 200 403 403 200"},
    "audit_api.get_tree": {"GET": "401 200 403 403 200 403 403 200"},
    "audit_api.get_inclusion": {"GET": "401 200 403 403 200 403 403 404"},
    "audit_api.get_consistency": {"GET": "401 200 403 403 200 403 403 200"},
    "openapi.openapi_json": {"GET": "200 200 200 200 200 200 200 200"},
    # the work: tasks and the inbox (a notification of the preparer's; another's does not exist for you)
    "work.tasks_page": {"GET": "302 200 200 200 200 200 200 200"},
    "work.inbox_page": {"GET": "302 200 200 200 200 200 200 200"},
    "work.inbox_read": {"POST": "302 404 404 404 404 404 404 404"},
    "work.settings_page": {"GET": "302 200 200 200 200 200 200 200", "POST": "302 302 302 302 302 302 302 302"},
    "work_api.get_tasks": {"GET": "401 200 200 200 200 200 200 200"},
    "work_api.get_notifications": {"GET": "401 200 200 200 200 200 200 200"},
    "work_api.post_notification_read": {"POST": "401 404 200 404 404 404 404 404"},
    # founding pages (the case is a draft: most steps are not possible yet, 409)
    "founding.form_group": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 422 403 403 404 404 404"},
    "founding.apply": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 409 403 403 404 404 404"},
    "founding.approve_application": {"GET": "302 200 200 200 200 404 404 404",
                                     "POST": "302 403 403 409 403 404 404 404"},
    "founding.return_application": {"GET": "302 200 200 200 200 404 404 404",
                                    "POST": "302 403 403 409 403 404 404 404"},
    "founding.reject_application": {"GET": "302 200 200 200 200 404 404 404",
                                    "POST": "302 403 403 400 403 404 404 404"},
    "founding.record_members": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 409 403 403 404 404 404"},
    "founding.nominate": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 409 403 403 404 404 404"},
    "founding.approve_candidates": {"GET": "302 200 200 200 200 404 404 404",
                                    "POST": "302 403 403 409 403 404 404 404"},
    "founding.return_candidates": {"GET": "302 200 200 200 200 404 404 404",
                                   "POST": "302 403 403 409 403 404 404 404"},
    "founding.convene": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 409 403 403 404 404 404"},
    "founding.record_election": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 409 403 403 404 404 404"},
    "founding.submit_results": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 409 403 403 404 404 404"},
    "founding.sanction": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 403 400 403 404 404 404"},
    "founding.return_results": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 403 409 403 404 404 404"},
    "founding.register": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 400 403 403 404 404 404"},
    "founding.withdraw": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 400 403 403 404 404 404"},
    "founding.notice": {"GET": "302 404 404 404 404 404 404 404"},
    "founding.reply": {"GET": "302 404 404 404 404 404 404 404"},
    "founding.notice_pdf": {"GET": "302 404 404 404 404 404 404 404"},
    "founding.reply_pdf": {"GET": "302 404 404 404 404 404 404 404"},
    # hardship pages, materials and their API
    "hardship.new": {"GET": "302 403 200 403 403 200 403 403", "POST": "302 403 400 403 403 400 403 403"},
    "hardship.application": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 400 403 403 404 404 404"},
    "hardship.object": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 409 409 403 404 404 404"},
    "hardship.dismiss_objection": {"GET": "302 200 200 200 200 404 404 404",
                                   "POST": "302 403 403 400 403 404 404 404"},
    "hardship.uphold_objection": {"GET": "302 200 200 200 200 404 404 404",
                                  "POST": "302 403 403 400 403 404 404 404"},
    "hardship.notice": {"GET": "302 404 404 404 404 404 404 404"},
    "hardship.notice_pdf": {"GET": "302 404 404 404 404 404 404 404"},
    "hardship.summary": {"GET": "302 403 403 200 200 403 200 200"},
    "hardship_files.upload": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 400 400 400 400 404 404 404"},
    "hardship_files.download": {"GET": "302 200 200 200 200 404 404 404"},
    # the case is a draft: its own preparer deletes the upload (so its replacement, walked next, finds
    # none); for the others a replacement without a file is refused
    "hardship_files.delete": {"POST": "302 403 302 403 403 404 404 404"},
    "hardship_files.replace_file": {"POST": "302 400 404 400 400 404 404 404"},
    "hardship_files.api_upload": {"POST": "401 400 400 400 400 400 400 400"},
    "hardship_files.api_list": {"GET": "401 200 200 200 200 404 404 404"},
    "hardship_files.api_download": {"GET": "401 200 200 200 200 404 404 404"},
    # inspection pages (the case is planned: only self-assessment is possible)
    "inspection.self_assess": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 302 403 403 404 404 404"},
    "inspection.record_evaluation": {"GET": "302 200 200 200 200 404 404 404",
                                     "POST": "302 403 400 403 403 404 404 404"},
    "inspection.inspect": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 403 409 403 404 404 404"},
    "inspection.reinspect": {"GET": "302 200 200 200 200 404 404 404", "POST": "302 403 403 409 403 404 404 404"},
    "inspection_year.year": {"GET": "302 403 403 200 200 403 200 200"},
    # coverage reports
    "reports.index": {"GET": "302 200 403 302 302 403 302 302"},
    "reports.dashboard": {"GET": "302 200 403 200 200 403 404 404"},
    "reports.ledger_page": {"GET": "302 200 403 200 200 403 404 404"},
    "reports.export_xlsx": {"GET": "302 200 403 200 200 403 404 404"},
    "reports.export_csv": {"GET": "302 200 403 200 200 403 404 404"},
    "reports.import_page": {"GET": "302 200 403 200 403 403 200 403", "POST": "302 400 403 400 403 403 400 403"},
    "reports.import_template": {"GET": "302 200 403 200 403 403 200 403"},
    "reports_api.get_coverage": {"GET": "401 200 403 200 200 403 404 404"},
    "reports_api.get_coverage_csv": {"GET": "401 200 403 200 200 403 404 404"},
    "reports_api.get_coverage_xlsx": {"GET": "401 200 403 200 200 403 404 404"},
}


def _values(w: Any) -> dict[str, Any]:
    """Values for the routes' arguments, by name (a case_id is the case of the endpoint's workflow)."""
    return {
        "trigger": "submit", "workflow": "sample", "name": "sample", "code": "FED", "table": "statistics",
        "kind": "application", "username": "town", "filename": "style.css",
        "seq": w.ids["entry"], "user_id": w.ids["user"], "token_id": w.ids["token"], "org_id": w.ids["org"],
        "attachment_id": w.ids["attachment"], "notification_id": w.ids["notification"], "delegation_id": w.ids["delegation"],
        "member_id": w.ids["member"],
        "token": "A" * 22,
    }


# query strings some endpoints need to say what they are about
QUERY = {"audit_api.get_consistency": "?from=1", "reports_api.get_coverage": "?org=FED", "reports_api.get_coverage_csv": "?org=FED",
         "reports_api.get_coverage_xlsx": "?org=FED"}
# the API's org lookup is by code: in the subject's subtree
CODES = {"api.get_org": "ENT-L", "api.get_members": "ENT-L", "members.roster": "ENT-L",
         "members_import.page": "ENT-L", "members_import.problems_sheet": "ENT-L", "members_import.export": "ENT-L",
         "members_import_api.post_import": "ENT-L"}


def _case_for(endpoint: str, cases: dict[str, int]) -> int:
    blueprint = endpoint.split(".")[0]
    for workflow, case_id in cases.items():
        if blueprint == workflow or blueprint.startswith(workflow + "_"):
            return case_id
    return cases["sample"]


def _url(rule: Rule, w: Any) -> str:
    values = _values(w)
    args: dict[str, Any] = {}
    for name in rule.arguments:
        if name == "case_id":
            args[name] = _case_for(rule.endpoint, w.cases)
        elif name == "code" and rule.endpoint in CODES:
            args[name] = CODES[rule.endpoint]
        else:
            assert name in values, f"{rule.endpoint}: give the walk a value for <{name}> in _values()"
            args[name] = values[name]
    path = rule.build(args, append_unknown=False)[1]
    return path + QUERY.get(rule.endpoint, "")


def _rules(app) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule))


def _methods(rule: Rule) -> list[str]:
    return sorted(m for m in rule.methods or () if m not in ("HEAD", "OPTIONS"))


def test_every_endpoint_has_a_row(app):
    missing, stale = [], []
    seen = set()
    for rule in _rules(app):
        seen.add(rule.endpoint)
        for method in _methods(rule):
            if method not in EXPECT.get(rule.endpoint, {}):
                missing.append(f"{rule.endpoint} {method} {rule.rule}")
    stale = sorted(set(EXPECT) - seen)
    assert not missing, "routes without a row in EXPECT (say who may use them):\n  " + "\n  ".join(missing)
    assert not stale, f"rows in EXPECT for endpoints that no longer exist: {stale}"


def test_rows_name_every_walker():
    for endpoint, methods in EXPECT.items():
        for method, row in methods.items():
            assert len(row.split()) == len(WALKERS), f"{endpoint} {method}: {row!r}"


@pytest.mark.parametrize("walker", WALKERS)
def test_walk_every_route(app, client, world, walker):  # noqa: F811
    if walker != "anon":
        assert login(client, walker).status_code == 302
    token = world.users[walker].headers if walker != "anon" else {}
    wrong: list[str] = []
    rules = [r for r in _rules(app) if r.endpoint in EXPECT]
    # the logout comes last: it ends the walker's session
    calls = sorted(((r, m) for r in rules for m in _methods(r)),
                   key=lambda rm: (rm[0].endpoint == "auth.logout", rm[1] != "GET", rm[0].endpoint))
    for rule, method in calls:
        url = _url(rule, world)
        api = url.startswith("/api/")
        headers = dict(token) if api else {}
        if method == "GET":
            resp = client.get(url, headers=headers)
        elif api:
            resp = client.post(url, headers=headers, data="{}", content_type="application/json")
        else:
            resp = client.post(url, headers=headers, data={})
        expected = {int(s) for s in EXPECT[rule.endpoint][method].split()[WALKERS.index(walker)].split("/")}
        if resp.status_code not in expected:
            wrong.append(f"{method} {url} ({rule.endpoint}): {resp.status_code}, expected {sorted(expected)}")
        resp.close()
    assert not wrong, f"{walker}:\n  " + "\n  ".join(wrong)


def test_a_refused_post_changes_nothing(app, client, world, db):  # noqa: F811
    """The outsiders' and wrong roles' posts above leave no trace in the trail."""
    from sqlalchemy import func, select

    from audit import AuditEntry

    with db.read() as session:
        before = session.scalar(select(func.count()).select_from(AuditEntry))
    for walker in ("prep_x", "fed2", "auditor", "auditor2"):
        client.post("/logout")
        login(client, walker)
        for trigger in ("submit", "withdraw"):
            client.post(f"/cases/{world.cases['sample']}/steps/{trigger}",
                        data={"f_amount": "5", "comment": "x", "confirm": "yes"})
        client.post("/admin/users", data={"f_username": "intruder", "f_password": "long-enough-1", "f_role": "admin"})
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == before



def test_the_icon_browsers_ask_for_is_served(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    for url in ("/favicon.ico", "/static/favicon.svg"):
        resp = client.get(url)
        assert resp.status_code == 200 and resp.mimetype == "image/svg+xml", url
        assert resp.get_data(as_text=True).startswith("<svg xmlns=")
        resp.close()
