"""A constructed district for the coverage figures, on top of the suite's `tree`.

FED ⊃ TOWN ⊃ COM ⊃ ENT-S (5), ENT-B2 (99); TOWN ⊃ ENT-M (30, founded, 27 members), ENT-B1 (100);
TOWN ⊃ COM2 (no enterprises); FED ⊃ TOWN2 (no enterprises); FED ⊃ ENT-L (60), ENT-B3 (250, founded, 200
members), ENT-B4 (150, a founding case applied); FED2 ⊃ ENT-X (60).
The business day is 2026-11-10 (the founding tests' clock), so the default year is 2026.
"""
from __future__ import annotations

from typing import Any

import pytest

from workflows.founding.tests.flow import app_config, clock  # noqa: F401  (fixtures)


def set_union(db, code: str, members: int | None, status: str = "founded") -> None:
    """Put a union on the register as if it had been founded before the system was used."""
    from tests.support import audited_org_update

    with db.write() as session:
        audited_org_update(session, code, union_status=status, member_count=members)


@pytest.fixture
def district(tree, make_org, make_user, make_case, fire, db) -> dict[str, Any]:
    make_org("TOWN2", "town", "FED", name="空白镇工会")
    make_org("COM2", "community", "TOWN", name="空白社区工会")
    make_org("ENT-B1", "enterprise", "TOWN", employees=100, female_employees=40, name="恰好百人公司")
    make_org("ENT-B2", "enterprise", "COM", employees=99, female_employees=30, name="九十九人公司")
    make_org("ENT-B3", "enterprise", "FED", employees=250, female_employees=90, name="已建会大厂")
    make_org("ENT-B4", "enterprise", "FED", employees=150, female_employees=60, name="筹建中工厂")
    set_union(db, "ENT-M", 27)
    set_union(db, "ENT-B3", 200)
    users = dict(tree)
    users["prep_b4"] = make_user("prep_b4", "preparer", "ENT-B4")
    case = make_case(users["prep_b4"], "founding", "ENT-B4")
    fire(users["prep_b4"], case["id"], "form_group", {"group_members": ["甲", "乙", "丙"]})
    fire(users["prep_b4"], case["id"], "apply", {})
    users["case_b4"] = case["id"]
    return users
