"""Shared by the transfer tests: two founded unions of different federations with members on the roster, and a
walk through the JSON API to an issued certificate."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.work import sweep
from workflow import Member, Organisation
from workflows.membership.tests.support import application, join, person



@pytest.fixture
def app_config(app_config, clock):
    return {**app_config, "UNIONFLOW_CLOCK": clock}


@pytest.fixture
def unions(tree, make_user, found) -> dict[str, Any]:
    """ENT-L (under FED) issues, ENT-X (under FED2) receives; each union founded with no typed members, a
    preparer and two reviewers of its own."""
    found("ENT-L", 0)
    found("ENT-X", 0)
    made = dict(tree)
    made["rev_l"] = make_user("rev_l", "reviewer", "ENT-L")
    made["rev_l2"] = make_user("rev_l2", "reviewer", "ENT-L")
    made["rev_x"] = make_user("rev_x", "reviewer", "ENT-X")
    made["rev_x2"] = make_user("rev_x2", "reviewer", "ENT-X")
    return made


@pytest.fixture
def member(api, unions) -> int:
    """张伟, an active member of ENT-L (joined through the membership workflow)."""
    case = join(api, unions["prep"], unions["rev_l"], "ENT-L", application("张伟", person(21), group="courier"))
    return case["data"]["member_id"]


def start(api, who, member_id: int, org: str = "ENT-L", reason: str = "job_change"):
    return api.post("/cases", who, {"workflow": "transfer", "org": org,
                                    "data": {"member_id": member_id, "reason": reason}})


def issued(api, unions, member_id: int) -> dict[str, Any]:
    """A transfer case of the member with its certificate issued (prep records, rev_l issues)."""
    resp = start(api, unions["prep"], member_id)
    assert resp.status_code == 201, resp.get_json()
    case = resp.get_json()
    resp = api.post(f"/cases/{case['id']}/events", unions["rev_l"], {"trigger": "issue_certificate", "data": {}})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def redeem(api, who, code: str, org: str = "ENT-X"):
    return api.post("/transfers/redeem", who, {"code": code, "org": org})


def codes(resp) -> list[str]:
    return [r["code"] for r in resp.get_json()["error"]["reasons"]]


def member_row(db, member_id: int) -> Member:
    with db.read() as session:
        m = session.get(Member, member_id)
        session.expunge(m)
        return m


def count(db, code: str) -> int:
    with db.read() as session:
        return session.scalar(select(Organisation.member_count).where(Organisation.code == code))


def sweep_on(db, engine, clock, day):
    clock.today = day
    return sweep(db, engine, day)


def after(clock, days: int):
    return clock.today + timedelta(days=days)
