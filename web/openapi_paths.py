"""The operations of the OpenAPI document: every route under /api/v1, its parameters, body and responses."""
from __future__ import annotations

from typing import Any

from definitions import Catalog

from workflow import MEMBER_GROUPS, MEMBER_STATUSES

from .openapi_schemas import ID, INT, ref, spoken_list


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): {"$ref": f"#/components/responses/{s}"} for s in statuses}


SEGMENT = {"type": "string", "pattern": "^[^/\\x00]+$"}  # one path segment


def _path(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _file(mimetype: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {mimetype: {"schema": {"type": "string", "contentMediaType": mimetype}}}}


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT_PARAMS = [
    _query("org", {"type": "string"}, "an organisation code in the caller's subtree (default: the caller's own)"),
    _query("year", {"type": "integer", "minimum": 2000, "maximum": 2100}, "the year of the targets (default: this year)"),
]
CASE_ID = _path("case_id", ID, "the case's id")
# every request may be refused for its size; every authenticated one for its token
WRITE_ERRORS = (400, 401, 413)

def paths(catalog: Catalog) -> dict[str, Any]:
    """Every operation, for the workflows of `catalog`."""
    return {
        "/orgs": {"post": {
            "operationId": "post_org", "tags": ["organisations and users"],
            "summary": "Create an organisation (admin)",
            "requestBody": _body(ref("OrgCreate")),
            "responses": {"201": _json(ref("Org"), "the organisation"), **_errors(*WRITE_ERRORS, 403)},
        }},
        "/orgs/{code}": {"get": {
            "operationId": "get_org", "tags": ["organisations and users"],
            "summary": "An organisation in the caller's subtree",
            "parameters": [_path("code", SEGMENT, "the organisation's code")],
            "responses": {"200": _json(ref("Org"), "the organisation"), **_errors(401, 404)},
        }},
        "/orgs/{code}/members": {"get": {
            "operationId": "get_members", "tags": ["organisations and users"],
            "summary": "The roster (会员名册) of a union in the caller's subtree, newest members first",
            "description": ("ID numbers are masked for everyone but the users of the union itself. `q` matches the "
                            "name or the member number (contained) and the ID number: contained for the union's "
                            "own users, whole for everyone else."),
            "parameters": [
                _path("code", SEGMENT, "the union's organisation code"),
                _query("status", {"type": "string", "enum": list(MEMBER_STATUSES)}, "only members of this status"),
                _query("group", {"type": "string", "enum": list(MEMBER_GROUPS)}, "only this 八大群体 group"),
                _query("q", {"type": "string", "maxLength": 64}, "name, ID number or member number"),
                _query("page", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "default": 1}, "page number"),
                _query("per_page", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "default": 20},
                       "members per page (capped)"),
            ],
            "responses": {"200": _json(ref("MemberPage"), "one page of the roster"), **_errors(400, 401, 404)},
        }},
        "/orgs/{code}/members/import": {"post": {
            "operationId": "post_import", "tags": ["organisations and users"],
            "summary": "The union's roster from the 实名制 spreadsheet (a reviewer of the union): every row or none",
            "description": ("Columns by their headers in the first row: 姓名, 身份证号 (required), 工作单位, 入会日期, "
                            "八大群体, 会员编号. With `dry_run=1` the file is only checked (200). Otherwise every row "
                            "is put on the roster, each member with its audit entry (201), or, when any row has a "
                            "problem, none (422 listing them). `row` counts data rows from 1 (the header is row 0); "
                            "a file that cannot be read is refused whole (400, 413 for its size or compression) "
                            "with its problem listed (`row` null)."),
            "parameters": [_path("code", SEGMENT, "the union's organisation code"),
                           _query("dry_run", {"type": "string", "enum": ["0", "1"]}, "1: check only, write nothing")],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": ref("RosterUpload")}}},
            "responses": {
                "200": _json(ref("RosterImport"), "the dry run's counts and problems"),
                "201": _json(ref("RosterImport"), "every row written"),
                **{str(s): _json({"oneOf": [ref("Error"), ref("RosterImport")]}, text) for s, text in (
                    (400, "bad input, or a file that cannot be read (its problem listed)"),
                    (413, "the request, the file or what it unpacks to is too large"),
                    (422, "problems in the rows, or more rows than one file may hold (nothing written), or a union "
                          "not yet founded"))},
                **_errors(401, 403, 404),
            },
        }},
        "/users": {"post": {
            "operationId": "post_user", "tags": ["organisations and users"],
            "summary": "Create a user (admin)",
            "requestBody": _body(ref("UserCreate")),
            "responses": {"201": _json(ref("UserCreated"), "the user"), **_errors(*WRITE_ERRORS, 403)},
        }},
        "/users/{username}/tokens": {"post": {
            "operationId": "post_token", "tags": ["organisations and users"],
            "summary": "A new API token for the user (admin, or the user themself)",
            "description": ("The request body is ignored. A user mints only their own tokens; anyone but an admin "
                            "asking for another user, existing or not, gets the same 403 `forbidden`, and an admin "
                            "asking for an unknown user 404. At most 10 live (unrevoked, unexpired) tokens a user: "
                            "the 11th is 409 `too_many_tokens`. The new token expires after a year, and no later "
                            "than the token it was minted with; revoking that token revokes this one too. Every "
                            "issue and revocation is an audit entry (actor: the caller; subject: the user)."),
            "parameters": [_path("username", SEGMENT, "the user's name")],
            "responses": {"201": _json(ref("Token"), "the token, shown once"), **_errors(401, 403, 404, 409, 413)},
        }},
        "/users/{username}/sessions/end": {"post": {
            "operationId": "post_end_sessions", "tags": ["organisations and users"],
            "summary": "Sign the user out everywhere (admin)",
            "description": ("Every signed-in browser session of the user ends at once on every server (an audit "
                            "entry `end_sessions`); their API tokens are not touched. The request body is ignored."),
            "parameters": [_path("username", SEGMENT, "the user's name")],
            "responses": {"200": _json(ref("SessionsEnded"), "the user signed out"), **_errors(401, 403, 404, 413)},
        }},
        "/me": {"get": {
            "operationId": "get_me", "tags": ["organisations and users"],
            "summary": "The caller",
            "responses": {"200": _json(ref("Me"), "the token's user"), **_errors(401)},
        }},
        "/workflows": {"get": {
            "operationId": "get_workflows", "tags": ["workflows"],
            "summary": "The workflows",
            "responses": {"200": _json({"type": "array", "items": ref("WorkflowSummary")}, "every workflow"),
                          **_errors(401)},
        }},
        "/workflows/{name}": {"get": {
            "operationId": "get_workflow", "tags": ["workflows"],
            "summary": "A workflow's definition under the current rule profile",
            "parameters": [_path("name", SEGMENT, spoken_list(catalog.definitions))],
            "responses": {"200": _json(ref("Definition"), "the definition"), **_errors(401, 404)},
        }},
        "/cases": {
            "post": {
                "operationId": "post_case", "tags": ["cases"],
                "summary": "Start a case for an enterprise",
                "requestBody": _body(ref("CaseCreate")),
                "responses": {"201": _json(ref("Case"), "the new case"),
                              **_errors(*WRITE_ERRORS, 403, 404, 409, 422)},
            },
            "get": {
                "operationId": "get_cases", "tags": ["cases"],
                "summary": "The cases the caller may see, newest first",
                "parameters": [
                    _query("workflow", {"type": "string"}, "only this workflow"),
                    _query("state", {"type": "string"}, "only this state"),
                    _query("org", {"type": "string"}, "only this organisation's subtree (404 outside the caller's)"),
                    _query("page", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "default": 1},
                           "page number"),
                    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "default": 20},
                           "cases per page (capped)"),
                ],
                "responses": {"200": _json(ref("CasePage"), "one page of cases"), **_errors(400, 401, 404)},
            },
        },
        "/cases/{case_id}": {"get": {
            "operationId": "get_case", "tags": ["cases"],
            "summary": "A case with the steps the caller could take now",
            "parameters": [CASE_ID],
            "responses": {"200": _json(ref("Case"), "the case"), **_errors(401, 404)},
        }},
        "/cases/{case_id}/events": {"post": {
            "operationId": "post_event", "tags": ["cases"],
            "summary": "Fire a trigger: one step of the case",
            "parameters": [CASE_ID],
            "requestBody": _body(ref("Event")),
            "responses": {"200": _json(ref("Case"), "the case after the step"),
                          **_errors(*WRITE_ERRORS, 403, 404, 409, 422)},
        }},
        "/transfers/redeem": {"post": {
            "operationId": "post_transfer_redeem", "tags": ["cases"],
            "summary": "Redeem a transfer certificate's code (会籍接转) for the receiving union, the caller's own",
            "description": ("A preparer or reviewer of the receiving union, anywhere in the installation, enters the "
                            "code of the certificate: the transfer case is completed, the receiving union becomes "
                            "its party (it sees the case from then on, the code masked) and the member is active "
                            "on its roster with the same joined-on date. 404 for an unknown code; 409 "
                            "`invalid_state` with reason `certificate_used` or `certificate_expired` (the day "
                            "after its last valid day, before the sweep too); 422 `certificate_own_union` for the "
                            "issuing union itself."),
            "requestBody": _body({"type": "object", "additionalProperties": False, "required": ["code", "org"],
                                  "properties": {
                                      "code": {"type": "string", "maxLength": 40,
                                               "description": "the certificate's code (case, spaces and hyphens "
                                                              "do not matter)"},
                                      "org": {"type": "string", "maxLength": 64,
                                              "description": "the receiving union: the caller's organisation"}}}),
            "responses": {"200": _json(ref("Case"), "the transfer case, completed"),
                          **_errors(*WRITE_ERRORS, 403, 404, 409, 422)},
        }},
        "/cases/{case_id}/reassign": {"post": {
            "operationId": "post_reassign", "tags": ["cases"],
            "summary": "Reassign the case's decision (转办 / 上收) to an organisation of the caller's subtree",
            "parameters": [CASE_ID],
            "requestBody": _body(ref("Reassignment")),
            "responses": {"200": _json(ref("Case"), "the case, decided by the new organisation"),
                          **_errors(*WRITE_ERRORS, 403, 404, 409, 422)},
        }},
        "/tasks/bulk": {"post": {
            "operationId": "post_tasks_bulk", "tags": ["cases", "tasks"],
            "summary": "A bulk decision (批量审批): one trigger on up to 100 cases, each as its own step",
            "description": ("Each case goes through the same checks as `POST /cases/{case_id}/events` with its "
                            "version and no data, in a unit of work of its own: a refused case changes nothing "
                            "and does not stop the others. Each result carries the status and error the single "
                            "step would have answered (an invisible case looks like an unknown one, 404). A "
                            "malformed request is refused whole with nothing done: 400 `invalid_input` naming "
                            "each field, 413 `too_many_cases` beyond 100 cases."),
            "requestBody": _body(ref("BulkDecision")),
            "responses": {"200": _json(ref("BulkResults"), "what each case's step answered"),
                          **_errors(*WRITE_ERRORS)},
        }},
        "/tasks": {"get": {
            "operationId": "get_tasks", "tags": ["work"],
            "summary": "The open decisions waiting for the caller's organisation (mine, org) or its subtree's",
            "parameters": [
                _query("scope", {"type": "string", "enum": ["mine", "org", "subtree"], "default": "mine"},
                       "mine and org: what the caller's organisation takes; subtree: supervision of the others"),
                _query("workflow", {"type": "string"}, "only this workflow"),
                _query("overdue", {"type": "string", "enum": ["", "0", "1", "true", "false"]},
                       "only decisions past their deadline"),
                _query("q", {"type": "string", "maxLength": 100}, "the case number, or part of the organisation's "
                                                                   "name or of the case's title"),
                _query("page", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "default": 1}, "page number"),
                _query("per_page", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "default": 20},
                       "tasks per page (capped)"),
            ],
            "responses": {"200": _json(ref("TaskPage"), "one page of tasks, longest waiting first"),
                          **_errors(400, 401)},
        }},
        "/notifications": {"get": {
            "operationId": "get_notifications", "tags": ["work"],
            "summary": "The caller's inbox, newest first, with the unread count",
            "parameters": [
                _query("unread", {"type": "string", "enum": ["", "0", "1", "true", "false"]}, "only unread ones"),
                _query("page", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "default": 1}, "page number"),
                _query("per_page", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "default": 20},
                       "notifications per page (at most 100)"),
            ],
            "responses": {"200": _json(ref("NotificationPage"), "one page of notifications"), **_errors(400, 401)},
        }},
        "/notifications/{notification_id}/read": {"post": {
            "operationId": "post_notification_read", "tags": ["work"],
            "summary": "Mark one of the caller's notifications read (another person's is not found)",
            "parameters": [_path("notification_id", ID, "the notification's id")],
            "responses": {"200": _json({"type": "object", "properties": {"id": INT, "read": {"type": "boolean"}}},
                                       "marked read"), **_errors(401, 404)},
        }},
        "/cases/{case_id}/claim": {"post": {
            "operationId": "post_claim", "tags": ["cases", "work"],
            "summary": "Claim the decision the case waits for (认领)",
            "description": ("A user who may take one of the decisions the case waits for (role, competent "
                            "organisation, four eyes) holds it until they release it, hand it on or the case's "
                            "state changes; meanwhile a step of it by anyone else of their role is 403 "
                            "`assigned_to_other`, naming the holder. Claiming what one holds changes nothing; what "
                            "another holds is 403 `assigned_to_other`. An audit entry `claim`."),
            "parameters": [CASE_ID],
            "requestBody": _body(ref("VersionOnly")),
            "responses": {"200": _json(ref("Case"), "the case, with its `assignee`"),
                          **_errors(*WRITE_ERRORS, 403, 404, 409)},
        }},
        "/cases/{case_id}/release": {"post": {
            "operationId": "post_release", "tags": ["cases", "work"],
            "summary": "Release a claimed decision (释放): its holder or their substitute",
            "description": ("An unclaimed decision is 409 (`not_claimed`); someone else's 403 "
                            "`assigned_to_other`. An audit entry `release`."),
            "parameters": [CASE_ID],
            "requestBody": _body(ref("VersionOnly")),
            "responses": {"200": _json(ref("Case"), "the case, unclaimed"), **_errors(*WRITE_ERRORS, 403, 404, 409)},
        }},
        "/cases/{case_id}/assign": {"post": {
            "operationId": "post_assign", "tags": ["cases", "work"],
            "summary": "Assign the decision to a colleague of the same organisation and role (指派)",
            "description": ("By a user who may take the decision (four eyes aside) and, when it is held, by its "
                            "holder or their substitute; to an active colleague of the same organisation and role "
                            "who may decide it (422 `assignee_unknown`, `assignee_other_org`, "
                            "`assignee_other_role`, `assignee_cannot_decide`). An audit entry `assign`."),
            "parameters": [CASE_ID],
            "requestBody": _body(ref("Assignment")),
            "responses": {"200": _json(ref("Case"), "the case, held by the colleague"),
                          **_errors(*WRITE_ERRORS, 403, 404, 409, 422)},
        }},
        "/delegations": {
            "get": {
                "operationId": "get_delegations", "tags": ["work"],
                "summary": "The caller's absence delegations (代理), given and received, newest first",
                "responses": {"200": _json(ref("Delegations"), "the delegations"), **_errors(401)},
            },
            "post": {
                "operationId": "post_delegation", "tags": ["work"],
                "summary": "Name a substitute for a period (代理)",
                "description": ("From `starts_on` to `ends_on`, both included, `to` (an active colleague of the "
                                "caller's organisation and role) may take the decisions claimed by or assigned to "
                                "the caller; the entry of such a decision records `on_behalf_of`. Dates are "
                                "YYYY-MM-DD (else 400 naming each field); every failed rule is listed at once "
                                "(422: `delegate_to_self`, `delegate_unknown`, `delegate_other_org`, "
                                "`delegate_other_role`, `delegation_ends_before_start`, `delegation_starts_in_past`, "
                                "`delegation_overlaps`). An audit entry `delegate` of the caller."),
                "requestBody": _body(ref("DelegationCreate")),
                "responses": {"201": _json(ref("Delegation"), "the delegation"),
                              **_errors(*WRITE_ERRORS, 403, 422)},
            },
        },
        "/delegations/{delegation_id}/end": {"post": {
            "operationId": "post_end_delegation", "tags": ["work"],
            "summary": "End one's delegation early",
            "description": ("The request body is ignored. From now the substitute no longer stands in; a delegation "
                            "that is over is 409 (`delegation_over`), someone else's 404. An audit entry "
                            "`end_delegation` of the caller."),
            "parameters": [_path("delegation_id", ID, "the delegation's id")],
            "responses": {"200": _json(ref("Delegation"), "the delegation, ended"),
                          **_errors(401, 404, 409, 413)},
        }},
        "/cases/{case_id}/audit": {"get": {
            "operationId": "get_case_audit", "tags": ["cases", "audit"],
            "summary": "The case's audit entries, oldest first",
            "parameters": [CASE_ID],
            "responses": {"200": _json(ref("AuditEntries"), "the entries"), **_errors(401, 404)},
        }},
        "/cases/{case_id}/attachments": {
            "post": {
                "operationId": "post_attachment", "tags": ["cases", "materials"],
                "summary": "Attach a material (the case's own enterprise, while the case is open); the same file "
                           "(SHA-256) a second time in one case is refused (409, duplicate_upload)",
                "parameters": [CASE_ID],
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": ref("Upload")}}},
                "responses": {
                    "201": _json(ref("Attachment"), "stored"),
                    **_errors(*WRITE_ERRORS, 403, 404, 409, 415),
                },
            },
            "get": {
                "operationId": "get_attachments", "tags": ["cases", "materials"],
                "summary": "The materials attached to a case",
                "parameters": [CASE_ID],
                "responses": {"200": _json(ref("AttachmentList"), "the attachments"), **_errors(401, 404)},
            },
        },
        "/attachments/{attachment_id}": {"get": {
            "operationId": "get_attachment", "tags": ["materials"],
            "summary": "Download an attached file",
            "description": "An ID-card scan (a material marked personal) only for those who see ID numbers in "
                           "full, the case's own enterprise: 403 `forbidden` (`id_scan_forbidden`) for others.",
            "parameters": [_path("attachment_id", ID, "the attachment's id")],
            "responses": {
                "200": {"description": "the file, as a download",
                        "content": {t: {"schema": {"type": "string", "contentMediaType": t}}
                                    for t in ("application/pdf", "image/png", "image/jpeg")}},
                **_errors(401, 403, 404),
            },
        }},
        "/audit/verify": {"get": {
            "operationId": "get_verify", "tags": ["audit"],
            "summary": "Recompute the whole trail (auditor, admin)",
            "responses": {"200": _json(ref("VerifyResult"), "the result"), **_errors(401, 403)},
        }},
        "/audit/tree": {"get": {
            "operationId": "get_tree", "tags": ["audit"],
            "summary": "The Merkle tree over the trail (RFC 9162): its size and root (auditor, admin)",
            "responses": {"200": _json(ref("TreeHead"), "the tree head"), **_errors(401, 403)},
        }},
        "/audit/entries/{seq}/proof": {"get": {
            "operationId": "get_inclusion", "tags": ["audit"],
            "summary": "RFC 9162 inclusion proof of one entry (auditor of its subtree, admin)",
            "parameters": [_path("seq", {"type": "integer", "minimum": 1}, "the entry's seq"),
                           _query("size", {"type": "integer", "minimum": 1}, "the tree size (default: current)")],
            "responses": {"200": _json(ref("InclusionProof"), "the proof"), **_errors(400, 401, 403, 404)},
        }},
        "/audit/consistency": {"get": {
            "operationId": "get_consistency", "tags": ["audit"],
            "summary": "RFC 9162 consistency proof between two tree sizes (auditor, admin)",
            "parameters": [{**_query("from", {"type": "integer", "minimum": 0}, "the older tree size"),
                            "required": True},
                           _query("to", {"type": "integer", "minimum": 0}, "the newer tree size (default: current)")],
            "responses": {"200": _json(ref("ConsistencyProof"), "the proof"), **_errors(400, 401, 403, 404)},
        }},
        "/reports/coverage": {"get": {
            "operationId": "get_coverage", "tags": ["reports"],
            "summary": "Founding and membership coverage of an organisation's subtree (reviewer, auditor, admin)",
            "parameters": REPORT_PARAMS,
            "responses": {"200": _json(ref("Coverage"), "the figures"), **_errors(400, 401, 403, 404)},
        }},
        "/reports/coverage.xlsx": {"get": {
            "operationId": "get_coverage_xlsx", "tags": ["reports"],
            "summary": "The coverage report as an Excel workbook (reviewer, auditor, admin)",
            "parameters": REPORT_PARAMS,
            "responses": {"200": _file(XLSX, "the workbook, as a download"), **_errors(400, 401, 403, 404)},
        }},
        "/reports/coverage.csv": {"get": {
            "operationId": "get_coverage_csv", "tags": ["reports"],
            "summary": "One table of the coverage report as CSV (reviewer, auditor, admin)",
            "parameters": [*REPORT_PARAMS, _query("table", {"type": "string",
                                                            "enum": ["statistics", "children", "ledger"],
                                                            "default": "statistics"}, "which table")],
            "responses": {"200": _file("text/csv", "the table (UTF-8), as a download"),
                          **_errors(400, 401, 403, 404)},
        }},
        "/openapi.json": {"get": {
            "operationId": "get_openapi", "tags": ["meta"],
            "summary": "This document",
            "security": [],
            "responses": {"200": _json({"type": "object"}, "the OpenAPI document")},
        }},
    }
