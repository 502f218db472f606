"""The shapes (`components.schemas`) of the OpenAPI document and the small schemas the operations share.

The workflows a shape names (the `workflow` of a new case, what each one's
creation data holds, which definitions carry a checklist) come from the
catalogue the document is built for, not from a list written here.
"""
from __future__ import annotations

from typing import Any, Iterable

from definitions import Catalog
from workflow import MEMBER_GROUPS, MEMBER_STATUSES


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema["type"]
    return {**schema, "type": [*(kind if isinstance(kind, list) else [kind]), "null"]}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


STRING = {"type": "string"}
PRINTABLE = "^[^\\x00-\\x1f\\x7f]+$"  # no control characters
ID = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}  # the id columns are 32-bit integers
INT = {"type": "integer"}
HEX = {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "a SHA-256 hash, hex"}
TIME = {"type": "string", "description": "UTC, e.g. 2026-11-10T08:30:00.000000Z"}
LABEL = {"type": "object", "properties": {"zh": STRING, "en": STRING}}
DAY = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "description": "YYYY-MM-DD"}
DECIDED_ON = {**DAY, "description": "the business date, the day the act took place (YYYY-MM-DD; default today in "
                                    "the profile's zone): not after today (`decided_on_future`) nor before the "
                                    "case's previous step's (`decided_on_out_of_order`)"}
RATE = {"type": ["number", "null"], "minimum": 0, "description": "a fraction (0.9 for 90 %); null when the denominator is 0"}

def spoken_list(names: Iterable[str]) -> str:
    """"a, b or c"."""
    names = list(names)
    return " or ".join(filter(None, [", ".join(names[:-1]), *names[-1:]]))


def creation_data(catalog: Catalog) -> str:
    """What each workflow's creation data holds (api.md has the details)."""
    parts = []
    for name, d in catalog.definitions.items():
        required = [f.name for f in d.creation.data if f.required]
        optional = [f.name for f in d.creation.data if not f.required]
        fields = ", ".join(required + ([f"optionally {', '.join(optional)}"] if optional else []))
        parts.append(f"{name}: {fields or 'nothing'}")
    return f"the workflow's creation data (api.md): {'; '.join(parts)}"


def schemas(catalog: Catalog) -> dict[str, Any]:
    """The shapes of the document, for the workflows of `catalog`."""

    def only(extra: str) -> str:
        having = [name for name, d in catalog.definitions.items() if extra in d.extra]
        return f"only for {spoken_list(having)}" if having else "no workflow has one"

    return {
        "Error": {
            "type": "object", "required": ["error"], "additionalProperties": False,
            "properties": {"error": {
                "type": "object", "required": ["code", "message", "reasons"],
                "properties": {
                    "code": STRING,
                    "message": STRING,
                    "reasons": {"type": "array", "items": ref("Reason")},
                    "fields": {"type": "object", "additionalProperties": STRING,
                               "description": "field name (or path) → what is wrong with it"},
                },
            }},
        },
        "Reason": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": STRING, "message": STRING, "params": {"type": "object"}},
        },
        "OrgCreate": {
            "type": "object", "required": ["code", "name", "kind"], "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": PRINTABLE},
                "name": {"type": "string", "minLength": 1, "maxLength": 200},
                "kind": {"type": "string", "enum": ["federation", "town", "community", "enterprise"]},
                "parent": {**STRING, "description": "the parent's code; absent for a root (an enterprise needs one)"},
                "employees": {"type": "integer", "minimum": 0, "description": "enterprise only, required there"},
                "female_employees": {"type": "integer", "minimum": 0},
                "credit_code": {"type": "string", "description": "统一社会信用代码, 18 characters"},
                "address": STRING,
            },
        },
        "Org": {
            "type": "object",
            "required": ["code", "name", "kind", "parent", "employees", "female_employees", "credit_code",
                         "union_status", "member_count"],
            "properties": {
                "code": STRING, "name": STRING,
                "kind": {"type": "string", "enum": ["federation", "town", "community", "enterprise"]},
                "parent": nullable(STRING), "employees": nullable(INT), "female_employees": nullable(INT),
                "credit_code": nullable(STRING), "address": nullable(STRING),
                "union_status": {"type": "string", "enum": ["none", "founding", "founded"]},
                "member_count": nullable(INT),
                "covered_by": nullable({**STRING, "description": "the joint union covering the enterprise"}),
            },
        },
        "UserCreate": {
            "type": "object", "required": ["username", "password", "role"], "additionalProperties": False,
            "properties": {
                "username": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9._-]+$"},
                "password": {"type": "string", "minLength": 12, "maxLength": 200, "writeOnly": True},
                "role": {"type": "string", "enum": ["preparer", "reviewer", "auditor", "admin"]},
                "org": {**STRING, "description": "organisation code; not needed for admin"},
                "display_name": STRING,
            },
        },
        "UserCreated": {
            "type": "object", "required": ["username", "role", "org"],
            "properties": {"username": STRING, "role": STRING, "org": nullable(STRING)},
        },
        "Token": {
            "type": "object", "required": ["token"],
            "properties": {"token": {"type": "string", "description": "shown once; only its hash is stored"}},
        },
        "SessionsEnded": {
            "type": "object", "required": ["username", "sessions_ended"],
            "properties": {"username": STRING, "sessions_ended": {"type": "boolean"}},
        },
        "Me": {
            "type": "object", "required": ["username", "role", "org"],
            "properties": {"username": STRING, "role": STRING, "org": nullable(STRING)},
        },
        "WorkflowSummary": {
            "type": "object", "required": ["name", "version", "title"],
            "properties": {"name": STRING, "version": STRING, "title": STRING},
        },
        "Definition": {
            "type": "object", "required": ["name", "version", "profile", "states", "transitions", "params"],
            "properties": {
                "name": STRING, "version": STRING, "fingerprint": STRING, "title": STRING, "profile": STRING,
                "initial": STRING,
                "states": {"type": "array", "items": {
                    "type": "object", "required": ["name", "label", "final"],
                    "properties": {"name": STRING, "label": LABEL, "final": {"type": "boolean"}}}},
                "transitions": {"type": "array", "items": {
                    "type": "object", "required": ["trigger", "source", "dest", "roles"],
                    "properties": {"trigger": STRING, "source": STRING, "dest": STRING,
                                   "roles": {"type": "array", "items": STRING}, "label": LABEL,
                                   "comment": {"type": "string", "description": "optional or required"},
                                   "data": {"type": "array", "items": STRING}}}},
                "params": {"type": "object", "description": "the rule profile's parameters for this workflow"},
                "checklist": {"type": "array", "description": only("checklist"), "items": {
                    "type": "object", "required": ["id", "dimension", "title", "max", "mandatory"],
                    "properties": {"id": STRING, "dimension": STRING, "title": STRING, "max": INT,
                                   "mandatory": {"type": "boolean"}}}},
                "vetoes": {"type": "array", "description": only("vetoes"), "items": {
                    "type": "object", "required": ["id", "title"], "properties": {"id": STRING, "title": STRING}}},
            },
        },
        "CaseCreate": {
            "type": "object", "required": ["workflow", "org"], "additionalProperties": False,
            "properties": {
                "workflow": {"type": "string", "enum": list(catalog.definitions)},
                "org": {**STRING, "description": "the enterprise's code"},
                "data": {"type": "object", "description": creation_data(catalog)},
                "decided_on": DECIDED_ON,
            },
        },
        "Event": {
            "type": "object", "required": ["trigger"], "additionalProperties": False,
            "properties": {
                "trigger": {"type": "string", "minLength": 1},
                "data": {"type": "object", "description": "the trigger's data (api.md, Event data per trigger)"},
                "comment": STRING,
                "version": {"type": "integer", "description": "apply only to this version of the case (else 409)"},
                "decided_on": DECIDED_ON,
            },
        },
        "Reassignment": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "org": {"type": "string", "minLength": 1, "description": "the organisation that decides from now on"},
                "comment": {"type": "string", "minLength": 1, "description": "the reason (required)"},
                "version": {"type": "integer", "description": "apply only to this version of the case (else 409)"},
            },
        },
        "BulkDecision": {
            "type": "object", "required": ["trigger", "cases"], "additionalProperties": False,
            "properties": {
                "trigger": {"type": "string", "minLength": 1, "description": "the one trigger fired on every case"},
                "comment": {**STRING, "description": "the one comment of every case's step (a return needs it)"},
                "cases": {"type": "array", "minItems": 1, "maxItems": 100,
                          "description": "at most 100 cases, each once (more: 413 `too_many_cases`; "
                                         "one case twice: 400 `invalid_input`)",
                          "items": {"type": "object", "required": ["id", "version"], "additionalProperties": False,
                                    "properties": {"id": INT, "version": {
                                        **INT, "description": "the version the caller saw (else that case's 409 "
                                                              "`stale_version`)"}}}},
                "decided_on": DECIDED_ON,
            },
        },
        "BulkResults": {
            "type": "object", "required": ["results"],
            "properties": {"results": {"type": "array", "description": "one per case, in the order sent", "items": {
                "type": "object", "required": ["id", "status", "error"],
                "properties": {
                    "id": INT,
                    "status": {"type": "integer", "description": "the HTTP status the single step would have "
                                                                 "answered: 200, 400, 403, 404, 409 or 422"},
                    "error": {"type": ["object", "null"], "description": "null when done; else the single "
                                                                         "step's error object (code, message, "
                                                                         "reasons, fields)"},
                    "state": {**STRING, "description": "when done: the case's new state"},
                    "version": {**INT, "description": "when done: the case's new version"},
                },
            }}},
        },
        "VersionOnly": {
            "type": "object", "additionalProperties": False,
            "properties": {"version": {"type": "integer", "description": "apply only to this version of the case "
                                                                        "(else 409)"}},
        },
        "Assignment": {
            "type": "object", "additionalProperties": False, "required": ["user"],
            "properties": {
                "user": {"type": "string", "minLength": 1, "description": "the colleague's username"},
                "comment": {"type": "string", "description": "a note for the colleague (optional)"},
                "version": {"type": "integer", "description": "apply only to this version of the case (else 409)"},
            },
        },
        "DelegationCreate": {
            "type": "object", "additionalProperties": False, "required": ["to", "starts_on", "ends_on"],
            "properties": {"to": {"type": "string", "minLength": 1, "description": "the substitute's username"},
                           "starts_on": DAY, "ends_on": DAY},
        },
        "Delegation": {
            "type": "object",
            "required": ["id", "from", "to", "starts_on", "ends_on", "ended_at", "active"],
            "properties": {
                "id": INT, "from": STRING, "from_name": STRING, "to": STRING, "to_name": STRING,
                "starts_on": DAY, "ends_on": DAY, "ended_at": nullable(TIME),
                "active": {"type": "boolean", "description": "the substitute stands in today"},
            },
        },
        "Delegations": {
            "type": "object", "required": ["items"],
            "properties": {"items": {"type": "array", "items": ref("Delegation")}},
        },
        "Available": {
            "type": "object", "required": ["trigger", "dest", "allowed", "reasons"],
            "properties": {"trigger": STRING, "dest": STRING, "label": STRING, "allowed": {"type": "boolean"},
                           "reasons": {"type": "array", "items": ref("Reason")}},
        },
        "Case": {
            "type": "object",
            "required": ["id", "workflow", "definition_version", "profile", "org", "state", "version",
                         "competent_org", "data", "created_at", "updated_at"],
            "properties": {
                "id": INT, "workflow": STRING, "definition_version": STRING, "profile": STRING, "org": STRING,
                "org_name": STRING, "state": STRING, "state_label": STRING, "version": INT,
                "closed": {"type": "boolean"}, "competent_org": nullable(STRING),
                "data": {"type": "object", "description": "recorded data and computed facts; 身份证号 masked outside "
                                                          "the case's own enterprise"},
                "created_by": nullable(STRING), "created_at": TIME, "updated_at": TIME, "state_since": TIME,
                "decided_on": {**nullable(DAY), "description": "the business date of the case's last step (`at` of its "
                                                               "entry is when it was recorded)"},
                "overdue": {"type": "array", "items": STRING, "description": "deadline facts that have passed"},
                "due_on": {**nullable(DAY), "description": "the deadline of the step the case waits for (办理时限)"},
                "deadline": {"type": ["string", "null"], "enum": ["due_soon", "overdue", "escalated", None],
                             "description": "where that deadline stands today"},
                "assignee": {**nullable(STRING), "description": "who holds the decision the case waits for "
                                                                "(claimed or assigned), or null"},
                "assignee_name": nullable(STRING),
                "available": {"type": "array", "items": ref("Available")},
            },
        },
        "Task": {
            "type": "object",
            "required": ["case", "workflow", "org", "org_name", "subject", "state", "triggers", "competent_org",
                         "since", "due_on", "due_soon", "overdue", "assignee", "returned"],
            "properties": {
                "case": INT, "workflow": STRING, "org": STRING, "org_name": STRING,
                "subject": {**STRING, "description": "what a person recognises the case by: the applicant's name "
                                                     "(hardship), else the organisation's"},
                "state": STRING, "triggers": {"type": "array", "items": STRING,
                                              "description": "the decisions waited for"},
                "competent_org": STRING, "competent_org_name": STRING, "since": TIME,
                "due_on": nullable(DAY), "due_soon": {"type": "boolean"}, "overdue": {"type": "boolean"},
                "assignee": nullable(STRING),
                "returned": {"type": ["object", "null"], "description": "who returned the case to its preparer, "
                                                                        "when and why",
                             "properties": {"by": STRING, "at": TIME, "comment": STRING}},
            },
        },
        "TaskPage": {
            "type": "object", "required": ["items", "total", "page", "per_page"],
            "properties": {"items": {"type": "array", "items": ref("Task")}, "total": INT, "page": INT,
                           "per_page": INT, "more": {"type": "boolean"}},
        },
        "Notification": {
            "type": "object", "required": ["id", "kind", "case", "text", "at", "read"],
            "properties": {"id": INT, "kind": {"type": "string", "enum": ["due_soon", "overdue", "escalated",
                                                                          "returned", "waiting", "assigned", "decided"]},
                           "kind_label": STRING, "case": nullable(INT), "text": STRING, "at": TIME,
                           "read": {"type": "boolean"}},
        },
        "NotificationPage": {
            "type": "object", "required": ["items", "total", "unread"],
            "properties": {"items": {"type": "array", "items": ref("Notification")}, "total": INT, "unread": INT},
        },
        "Member": {
            "type": "object",
            "required": ["id", "name", "id_number", "gender", "born_on", "joined_on", "member_no", "employer", "group",
                         "status"],
            "properties": {
                "id": INT, "name": STRING,
                "id_number": {"type": "string", "description": "身份证号; masked (first 6 and last 4 characters) for "
                                                               "everyone but the users of the member's union"},
                "gender": {"type": "string", "enum": ["male", "female"], "description": "read from the 身份证号"},
                "born_on": nullable(DAY), "joined_on": DAY, "member_no": STRING,
                "employer": nullable({**STRING, "description": "an organisation's code, or the employer's name"}),
                "employer_name": nullable(STRING),
                "group": nullable({"type": "string", "enum": list(MEMBER_GROUPS), "description": "八大群体"}),
                "status": {"type": "string", "enum": list(MEMBER_STATUSES)},
                "left_on": nullable(DAY), "org": STRING, "version": INT,
            },
        },
        "RosterUpload": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream",
                                    "description": "the roster: .xlsx, or CSV in UTF-8 (BOM or not) or GB18030"}},
        },
        "RosterImport": {
            "type": "object", "required": ["rows", "valid", "problems"],
            "properties": {
                "rows": INT, "valid": {**INT, "description": "data rows without a problem"},
                "problems": {"type": "array", "items": {
                    "type": "object", "required": ["row", "field", "code", "message"],
                    "properties": {"row": nullable(INT), "field": nullable(STRING), "code": STRING,
                                   "message": STRING}}},
            },
        },
        "MemberPage": {
            "type": "object", "required": ["items", "total", "page", "per_page"],
            "properties": {"items": {"type": "array", "items": ref("Member")}, "total": INT, "page": INT,
                           "per_page": INT},
        },
        "CasePage": {
            "type": "object", "required": ["items", "total", "page", "per_page"],
            "properties": {"items": {"type": "array", "items": ref("Case")}, "total": INT, "page": INT,
                           "per_page": INT},
        },
        "AuditEntry": {
            "type": "object",
            "required": ["seq", "at", "decided_on", "actor", "role", "trigger", "from", "to", "version", "comment",
                         "data", "hash", "prev_hash"],
            "properties": {
                "seq": INT, "at": TIME,
                "decided_on": {**DAY, "description": "the business date the entry's data records (a step's "
                                                     "`decided_on`), else the local day of `at`"},
                "actor": STRING, "role": STRING, "subject_type": STRING, "subject_id": STRING,
                "trigger": STRING, "from": nullable(STRING), "to": nullable(STRING), "version": nullable(INT),
                "comment": STRING, "data": {"type": "object"},
                "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "prev_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            },
        },
        "AuditEntries": {
            "type": "object", "required": ["entries"],
            "properties": {"entries": {"type": "array", "items": ref("AuditEntry")}},
        },
        "VerifyResult": {
            "type": "object", "required": ["ok", "checked"],
            "properties": {"ok": {"type": "boolean"}, "checked": INT, "first_bad": {
                "type": "object", "required": ["seq", "problem"],
                "properties": {"seq": nullable(INT), "problem": STRING}}},
        },
        "TreeHead": {
            "type": "object", "required": ["size", "root"],
            "properties": {"size": INT, "root": HEX},
        },
        "InclusionProof": {
            "type": "object", "required": ["seq", "leaf_index", "tree_size", "path", "root"],
            "properties": {"seq": INT, "leaf_index": INT, "tree_size": INT, "path": {"type": "array", "items": HEX},
                           "root": HEX},
        },
        "ConsistencyProof": {
            "type": "object", "required": ["from", "to", "path"],
            "properties": {"from": INT, "to": INT, "path": {"type": "array", "items": HEX}, "from_root": HEX,
                           "to_root": HEX},
        },
        "Figures": {
            "type": "object", "required": ["enterprises", "founded", "founding_rate", "employees", "members",
                                           "membership_rate"],
            "properties": {"enterprises": INT, "founded": INT, "founding_rate": RATE, "employees": INT, "members": INT,
                           "membership_rate": RATE},
        },
        "Coverage": {
            "type": "object",
            "required": ["org", "enterprises", "founded", "founding_rate", "employees", "members", "membership_rate",
                         "targets", "large_without_union", "children"],
            "properties": {
                "org": STRING, "name": STRING, "year": INT,
                "enterprises": INT, "founded": INT, "founding_rate": RATE, "employees": INT, "members": INT,
                "membership_rate": RATE,
                "targets": {"type": "object", "required": ["founding_rate", "membership_rate"],
                            "properties": {"founding_rate": RATE, "membership_rate": RATE, "year": nullable(INT)}},
                "progress": {"type": "object"},
                "large_enterprise_employees": INT,
                "large": {"type": "object"},
                "large_without_union": {"type": "array", "items": {
                    "type": "object", "required": ["org", "name", "employees", "case_state"],
                    "properties": {"org": STRING, "name": STRING, "employees": INT, "case_state": nullable(STRING),
                                   "case_id": nullable(INT), "union_status": STRING}}},
                "children": {"type": "array", "items": {
                    "allOf": [ref("Figures")], "type": "object", "required": ["org", "name"],
                    "properties": {"org": STRING, "name": STRING, "kind": STRING}}},
            },
        },
        "Upload": {
            "type": "object", "required": ["material", "file"],
            "properties": {"material": {**STRING, "description": "a material kind of the case's workflow"},
                           "file": {"type": "string", "contentMediaType": "application/octet-stream",
                                    "description": "a JPEG, PNG or PDF"}},
        },
        "Attachment": {
            "type": "object",
            "required": ["id", "case_id", "material", "filename", "size", "content_type", "sha256", "uploaded_by",
                         "uploaded_at", "url", "downloadable"],
            "properties": {
                "id": INT, "case_id": INT, "material": STRING, "filename": STRING, "size": INT,
                "content_type": {"type": "string", "enum": ["application/pdf", "image/png", "image/jpeg"]},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "uploaded_by": nullable(STRING),
                "uploaded_at": TIME, "url": STRING,
                "downloadable": {"type": "boolean", "description": "false for an ID-card scan when the caller sees "
                                 "ID numbers masked: its url answers 403"},
            },
        },
        "AttachmentList": {
            "type": "object", "required": ["items", "may_upload"],
            "properties": {"items": {"type": "array", "items": ref("Attachment")}, "may_upload": {"type": "boolean"}},
        },
    }
