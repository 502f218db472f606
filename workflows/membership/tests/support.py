"""Shared by the joining tests: valid and broken 身份证号, founded unions with their reviewers, and a walk
through the JSON API onto the roster."""
from __future__ import annotations

from typing import Any

import pytest

from workflow import id_number_check_character


def id_number(body17: str) -> str:
    return body17 + id_number_check_character(body17)


def person(n: int, female: bool = False) -> str:
    """The n-th test person's 身份证号 (born 1990-05-01; the 17th digit odd for a man, even for a woman)."""
    return id_number(f"33010219900501{n % 100:02d}{(2 * (n // 100) + (0 if female else 1)) % 10}")


def bad_check(number: str) -> str:
    return number[:17] + next(c for c in "0123456789X" if c != number[17])


def application(name: str = "张伟", number: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"applicant": {"name": name, "id_number": number or person(1)}, **extra}


@pytest.fixture
def unions(tree, make_user, found) -> dict[str, Any]:
    """ENT-L (under FED) and ENT-X (under FED2) with founded unions of 40 and 10 members, each with a
    preparer and a reviewer of its own; ENT-M's union not founded."""
    found("ENT-L", 40)
    found("ENT-X", 10)
    made = dict(tree)
    made["rev_l"] = make_user("rev_l", "reviewer", "ENT-L")
    made["rev_l2"] = make_user("rev_l2", "reviewer", "ENT-L")
    made["rev_x"] = make_user("rev_x", "reviewer", "ENT-X")
    return made


def join(api, who_prep, who_rev, org: str, data: dict[str, Any]) -> dict[str, Any]:
    """Create, submit and approve a joining case; the approved case."""
    resp = api.post("/cases", who_prep, {"workflow": "membership", "org": org, "data": data})
    assert resp.status_code == 201, resp.get_json()
    case = resp.get_json()
    resp = api.post(f"/cases/{case['id']}/events", who_prep, {"trigger": "submit", "data": {}})
    assert resp.status_code == 200, resp.get_json()
    resp = api.post(f"/cases/{case['id']}/events", who_rev, {"trigger": "approve_membership", "data": {}})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def codes(resp) -> list[str]:
    return [r["code"] for r in resp.get_json()["error"]["reasons"]]
