"""Shared by the page tests: logging in through the form, and a small world of cases to look at.

`world` builds on `tree`: the large enterprise ENT-L (in FED's subtree) gets one
open case of every workflow, opened by its preparer `prep`, plus an uploaded
hardship material; ENT-X (in FED2's subtree) stays the outsider.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from html import unescape
from typing import Any

import pytest
from sqlalchemy import select, update

from audit import AuditEntry
from workflow import ApiToken, Organisation, User

PASSWORD = "correct-horse-1"
# a minimal PDF: enough for the upload's type sniffing
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def login(client, username: str, password: str = PASSWORD, follow: bool = False):
    return client.post("/login", data={"username": username, "password": password}, follow_redirects=follow)


def text_of(resp) -> str:
    """The visible text of a page, tags stripped, whitespace collapsed."""
    body = resp.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def id_number(body17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights)) % 11]


def hardship_application() -> dict[str, Any]:
    applicant = id_number("11010519800101001")
    return {
        "applicant": {"name": "王芳", "id_number": applicant}, "marital_status": "married",
        "household": [{"name": "王芳", "relation": "self", "id_number": applicant, "monthly_income": 1800},
                      {"name": "李强", "relation": "spouse", "monthly_income": 0}],
        "causes": ["illness"], "out_of_pocket_medical": 0, "disaster_loss": 0,
        "materials": ["archive_form", "id_copies", "household_register", "income_proof", "diagnosis"],
    }


@dataclass
class World:
    users: dict[str, Any]
    cases: dict[str, int]
    ids: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def world(tree, db, make_case, api, make_user) -> World:
    cases = {"sample": make_case(tree["prep"], "sample", data={"title": "样例"})["id"],
             "founding": make_case(tree["prep"], "founding")["id"]}
    with db.write() as session:
        session.execute(update(Organisation).where(Organisation.code == "ENT-L")
                        .values(union_status="founded", member_count=40))
    cases["hardship"] = make_case(tree["prep"], "hardship", data=hardship_application())["id"]
    cases["inspection"] = make_case(tree["prep"], "inspection", data={"year": 2026})["id"]
    # a member on ENT-L's roster, approved by the union's own reviewer (会员名册)
    cases["membership"] = make_case(tree["prep"], "membership", data={
        "applicant": {"name": "张伟", "id_number": id_number("33010219900501011")}, "group": "courier"})["id"]
    union_reviewer = make_user("union_l", "reviewer", "ENT-L")
    for who, trigger in ((tree["prep"], "submit"), (union_reviewer, "approve_membership")):
        resp = api.post(f"/cases/{cases['membership']}/events", who, {"trigger": trigger, "data": {}})
        assert resp.status_code == 200, resp.get_data(as_text=True)
    member_id = resp.get_json()["data"]["member_id"]
    upload = api.client.post(f"/api/v1/cases/{cases['hardship']}/attachments", headers=tree["prep"].headers,
                             data={"material": "archive_form", "file": (io.BytesIO(PDF), "form.pdf")},
                             content_type="multipart/form-data")
    assert upload.status_code in (200, 201), upload.get_data(as_text=True)
    delegation = api.post("/delegations", tree["fed"], {"to": "fed_b", "starts_on": "2099-01-01",
                                                         "ends_on": "2099-01-07"})  # fed's, not yet begun
    assert delegation.status_code == 201, delegation.get_data(as_text=True)
    with db.read() as session:
        town = session.scalars(select(User).where(User.username == "town")).one()
        ids = {
            "attachment": upload.get_json()["id"],
            "delegation": delegation.get_json()["id"],
            "user": town.id,
            "token": session.scalars(select(ApiToken.id).where(ApiToken.user_id == town.id)).first(),
            "org": session.scalars(select(Organisation.id).where(Organisation.code == "ENT-L")).one(),
            "member": member_id,
            "entry": session.scalars(select(AuditEntry.seq).where(AuditEntry.subject_type == "case",
                                                                   AuditEntry.subject_id == str(cases["sample"]))
                                     ).first(),
        }
    with db.write() as session:  # a notification in the preparer's inbox
        from services.work import Notification

        note = Notification(user_id=tree["prep"].id, kind="waiting", case_id=cases["founding"],
                            params={"title": "样例"})
        session.add(note)
        session.flush()
        ids["notification"] = note.id
    return World(tree, cases, ids)
