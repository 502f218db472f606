"""Many members onto one union's roster at once (会员名册导入): the rows, their audit entries and the union's
new member count, written in bulk by `Engine.enrol_members`.

Each member gets the entry a change outside a step gets (`entities.append_standalone`: the row's own entry,
with its values, which `audit verify` replays and compares with the row), all of them under one lock of the
trail's head (`audit.append_many`), and the union one entry for its member count. Nothing here checks who
may or what the rows hold: the engine has, before it calls `enrol`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import audit
from storage import utcnow
from storage.prepared import Prepared

from .entities import ENTITIES, STANDALONE
from .errors import GuardFailed
from .members import FIELDS, MEMBER, MEMBER_NO_LENGTH, Member, already_a_member, find_active
from .models import Organisation
from .rows import ORG, org_digest
from .rows import ORG_FIELDS as ORG_ROW_FIELDS

_COLUMNS = ("org_id", "name", "id_number", "gender", "born_on", "joined_on", "member_no", "employer_id",
            "employer_name", "group_code", "status", "left_on", "left_comment", "version", "created_at")
_MEMBERS = cast(Table, Member.__table__)
_ORGS = cast(Table, Organisation.__table__)
_INSERT = Prepared(insert(_MEMBERS).values({c: bindparam(c) for c in _COLUMNS}))


@dataclass(frozen=True)
class NewMember:
    """One member as the import read and checked it; `member_no` None: the next free number is given."""

    name: str
    id_number: str
    gender: str
    born_on: date | None
    joined_on: date
    employer_id: int | None
    group_code: str | None
    member_no: str | None
    row: int  # the data row of the file it came from (for its audit entry)


def taken_member_nos(session: Session, org_id: int) -> set[str]:
    return set(session.scalars(select(Member.member_no).where(Member.org_id == org_id)))


def number_members(session: Session, org: Organisation, members: Sequence[NewMember]) -> list[str]:
    """Each member's number: the one given, else the union's code and the next sequence number that neither
    the roster nor the file uses (as `next_member_no` gives one at a time)."""
    on_roster = taken_member_nos(session, org.id)
    n = len(on_roster)  # the numbers the roster has issued
    taken = on_roster | {m.member_no for m in members if m.member_no}
    numbers = []
    for m in members:
        if m.member_no:
            numbers.append(m.member_no)
            continue
        while True:
            n += 1
            number = f"{org.code}-{n:06d}"[:MEMBER_NO_LENGTH]
            if number not in taken:
                break
        taken.add(number)
        numbers.append(number)
    return numbers


def lock_roster(session: Session, org_id: int) -> int | None:
    """Lock the union's row (its roster's numbers and count) for the rest of the transaction: an import takes
    it before it checks the rows, so that what it checked still holds when it writes. Returns the count."""
    return session.execute(select(Organisation.member_count).where(Organisation.id == org_id)
                           .with_for_update()).scalar_one()


def enrol(session: Session, org_id: int, members: Sequence[NewMember], *, actor: str, role: str, trigger: str,
          extra: Mapping[str, Any] | None = None) -> list[int]:
    """Insert the members (active, version 1) on the union's roster, one audit entry each and one for the
    union's member count, in the caller's transaction. The union's row is locked first, so that numbers are
    given one import (or approval) at a time; a person made a member elsewhere meanwhile breaks the
    active-membership index, refused as `already_a_member`. Returns the new members' ids in order."""
    count = lock_roster(session, org_id)
    org = session.get(Organisation, org_id)
    assert org is not None
    if not members:
        return []
    numbers = number_members(session, org, members)
    now = utcnow()
    rows = []
    for m, number in zip(members, numbers, strict=True):
        rows.append({"org_id": org_id, "name": m.name, "id_number": m.id_number, "gender": m.gender,
                     "born_on": m.born_on, "joined_on": m.joined_on, "member_no": number, "employer_id": m.employer_id,
                     "employer_name": None, "group_code": m.group_code, "status": "active", "left_on": None,
                     "left_comment": None, "version": 1, "created_at": now})
    table = _MEMBERS
    # one executemany on the session's own connection, without RETURNING; the new rows are then found by their
    # numbers (unique in the union, whose row this transaction holds locked)
    try:
        with session.begin_nested():
            _INSERT.execute_many(session, rows)
    except IntegrityError:
        reasons = _conflicts(session, members)
        if not reasons:
            raise  # not the index the rules know: the error is the caller's to see
        raise GuardFailed(reasons) from None
    wanted = set(numbers)
    by_number: dict[str, int] = {no: member_id for member_id, no in session.execute(
        select(table.c.id, table.c.member_no).where(table.c.org_id == org_id)) if no in wanted}
    extra = dict(extra or {})
    entries = []
    ids: list[int] = []
    for number, m in zip(numbers, members, strict=True):
        member_id = by_number[number]
        ids.append(member_id)
        # the values as `entities.jsonable` writes them (dates as ISO text), in FIELDS' order
        values = {"org_id": org_id, "name": m.name, "id_number": m.id_number, "gender": m.gender,
                  "born_on": m.born_on.isoformat() if m.born_on is not None else None,
                  "joined_on": m.joined_on.isoformat(), "member_no": number, "employer_id": m.employer_id,
                  "employer_name": None, "group_code": m.group_code, "status": "active", "left_on": None,
                  "left_comment": None}
        entries.append({
            "actor": actor, "role": role, "subject_type": MEMBER, "subject_id": str(member_id), "trigger": trigger,
            "from_state": None, "to_state": _digest(values), "version": 1, "comment": "",
            "data": {**extra, "row": m.row, "op": "create", "values": values, STANDALONE: True},
        })
    new_count = (count or 0) + len(members)
    session.execute(_ORGS.update().where(_ORGS.c.id == org_id).values(member_count=new_count))
    org_row = session.execute(select(*(getattr(Organisation, f) for f in ORG_ROW_FIELDS))
                              .where(Organisation.id == org_id)).one()
    entries.append({
        "actor": actor, "role": role, "subject_type": ORG, "subject_id": org.code, "trigger": trigger,
        "from_state": None, "to_state": org_digest(dict(zip(ORG_ROW_FIELDS, org_row, strict=True))), "version": None,
        "data": {**extra, "case_id": None, "changes": {"member_count": [count, new_count]}, "rows": len(members)},
    })
    audit.append_many(session, entries)
    session.expire(org)
    return ids


def _digest(values: Mapping[str, Any]) -> str:
    """`entities.digest` of values already as the trail records them (dates as text)."""
    return hashlib.sha256(audit.canonical_json(values).encode()).hexdigest()


def _conflicts(session: Session, members: Sequence[NewMember]) -> list[Any]:
    """Why the insert broke a unique index: the people made members elsewhere since the rows were checked."""
    reasons = []
    for m in members:
        holder = find_active(session, m.id_number)
        if holder is not None:
            reasons.append(already_a_member(holder))
    return reasons


assert MEMBER in ENTITIES and tuple(ENTITIES[MEMBER].fields) == FIELDS  # the values written are the entity's
