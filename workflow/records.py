"""The hot path's data access: a case and its organisations as plain records, read and written with
prepared Core statements instead of the ORM's unit of work.

`fire` runs here for every step, so it avoids identity-map bookkeeping, eager
loading and flush planning; it still goes through the caller's session and
transaction, and expires any ORM copy of what it changed.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import JSON, Table, Text, bindparam, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.util import identity_key
from sqlalchemy.types import TypeDecorator

from storage import json_dumps, json_loads
from storage.prepared import Prepared

from .models import Case, CaseParty, Organisation, User


@dataclass(frozen=True)
class OrgRecord:
    id: int
    code: str
    name: str
    kind: str
    path: str
    employees: int | None
    female_employees: int | None
    union_status: str
    member_count: int | None


@dataclass(frozen=True)
class PartyRecord:
    """One party of a case (the same attribute names as `CaseParty`)."""

    party: str
    org: OrgRecord
    sees_case: bool


@dataclass(frozen=True)
class UserRef:
    id: int
    username: str


@dataclass
class CaseRecord:
    """The columns of a case the engine needs, with the same attribute names as the model."""

    id: int
    workflow: str
    definition_version: str
    profile: str
    state: str
    version: int
    closed: bool
    competent_org_id: int | None
    data: dict[str, Any]
    facts: dict[str, Any]
    fired_by: dict[str, Any]
    unique_key: str | None
    decided_on: Any  # the business date of the last step (a date; None only before it was recorded)
    due_on: Any  # the deadline of the step the case waits for (domain.md §6), None when nothing is due
    created_by_id: int
    assignee_id: int | None
    org: OrgRecord
    competent_org: OrgRecord | None
    # read for showing a case, not used by the engine's checks
    created_at: Any = None
    updated_at: Any = None
    state_since: Any = None
    title: str = ""
    created_by: UserRef | None = None
    # loaded only for a definition that declares parties: other cases pay no query for them
    parties: tuple[PartyRecord, ...] = ()
    # the JSON columns' texts as stored (data, facts, fired_by), which the row's digest covers
    stored: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def org_id(self) -> int:
        return self.org.id


_ORG_COLUMNS = (Organisation.id, Organisation.code, Organisation.name, Organisation.kind, Organisation.path,
                Organisation.employees, Organisation.female_employees, Organisation.union_status,
                Organisation.member_count)
_competent = aliased(Organisation)
_COMPETENT_COLUMNS = tuple(getattr(_competent, c.key) for c in _ORG_COLUMNS)
JSON_COLUMNS = ("data", "facts", "fired_by")
# the JSON columns are read as their stored text (parsed here, and kept for the row's digest)
_CASE_COLUMNS = (Case.id, Case.workflow, Case.definition_version, Case.profile, Case.state, Case.version,
                 Case.closed, Case.competent_org_id, sql_cast(Case.data, Text), sql_cast(Case.facts, Text),
                 sql_cast(Case.fired_by, Text), Case.unique_key, Case.decided_on, Case.due_on, Case.created_by_id,
                 Case.assignee_id)
# CaseRecord's first fields, in order
_CASE_FIELDS = ("id", "workflow", "definition_version", "profile", "state", "version", "closed", "competent_org_id",
                *JSON_COLUMNS, "unique_key", "decided_on", "due_on", "created_by_id", "assignee_id")

# the case with its organisations, times, title and creator: all that the engine and a case's JSON use
_loading = (
    select(*_CASE_COLUMNS, *_ORG_COLUMNS, *_COMPETENT_COLUMNS, Case.created_at, Case.updated_at, Case.state_since,
           Case.title, User.username)
    .join(Organisation, Organisation.id == Case.org_id)
    .outerjoin(_competent, _competent.id == Case.competent_org_id)
    .outerjoin(User, User.id == Case.created_by_id)
)
_load = _loading.where(Case.id == bindparam("case_id"))
_LOAD = Prepared(_load)
_LOAD_FOR_UPDATE = Prepared(_load.with_for_update(of=Case.__table__))
_LOAD_MANY_FOR_UPDATE: dict[int, Prepared] = {}  # by the number of ids
_PARTIES = Prepared(
    select(CaseParty.party, CaseParty.sees_case, *_ORG_COLUMNS)
    .join(Organisation, Organisation.id == CaseParty.org_id)
    .where(CaseParty.case_id == bindparam("case_id"))
    .order_by(CaseParty.party))
_ORGS_BY_ID: dict[int, Prepared] = {}  # by the number of ids (an organisation's depth)
_UPDATES: dict[frozenset[str], Prepared] = {}  # by the columns a step changes
UPDATABLE = frozenset(("state", "version", "closed", "competent_org_id", "data", "facts", "fired_by", "unique_key",
                       "updated_at", "state_since", "decided_on", "due_on", "assignee_id"))


class JSONText(TypeDecorator):
    """A JSON column's value given as the text to store: written as it is (cast to JSON on PostgreSQL)."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Any) -> None:
        return None


def _update_case(columns: frozenset[str]) -> Prepared:
    stmt = _UPDATES.get(columns)
    if stmt is None:
        if not columns <= UPDATABLE:
            raise ValueError(f"not columns a step writes: {sorted(columns - UPDATABLE)}")
        table = cast(Table, Case.__table__)
        stmt = _UPDATES[columns] = Prepared(
            update(table).where(table.c.id == bindparam("case_id"))
            .values({c: bindparam(c, type_=JSONText()) if c in JSON_COLUMNS else bindparam(c)
                     for c in sorted(columns)}))
    return stmt


def _org(values: Sequence[Any]) -> OrgRecord | None:
    return None if values[0] is None else OrgRecord(*values)


def load_case(session: Session, case_id: int, lock: bool = True) -> CaseRecord | None:
    """The case, its organisations, times, title and creator; with `lock`, its row stays locked to the end
    of the transaction."""
    values = (_LOAD_FOR_UPDATE if lock else _LOAD).one_or_none(session, {"case_id": case_id})
    return None if values is None else _record(values)


def lock_cases(session: Session, ids: Sequence[int]) -> dict[int, CaseRecord]:
    """Several cases as `load_case` loads them, locked to the end of the transaction, in one query; a case
    that does not exist is missing from the answer."""
    if not ids:
        return {}
    stmt = _LOAD_MANY_FOR_UPDATE.get(len(ids))
    if stmt is None:
        names = [f"id{i}" for i in range(len(ids))]
        stmt = _LOAD_MANY_FOR_UPDATE[len(ids)] = Prepared(
            _loading.where(Case.id.in_([bindparam(n) for n in names])).with_for_update(of=Case.__table__))
    records = (_record(values) for values in stmt.rows(session, {f"id{i}": v for i, v in enumerate(ids)}))
    return {r.id: r for r in records}


def _record(values: Sequence[Any]) -> CaseRecord:
    n, m = len(_CASE_COLUMNS), len(_ORG_COLUMNS)
    created_at, updated_at, state_since, title, username = values[n + 2 * m:]
    # the case's own columns by name, in _CASE_COLUMNS' order; its organisation is an inner join, never None
    case = CaseRecord(**dict(zip(_CASE_FIELDS, values[:n], strict=True)), org=OrgRecord(*values[n:n + m]),
                      competent_org=_org(values[n + m:n + 2 * m]),
                      created_at=created_at, updated_at=updated_at, state_since=state_since, title=title or "",
                      created_by=UserRef(values[n - 2], username) if username is not None else None)
    case.stored = {c: getattr(case, c) for c in JSON_COLUMNS}
    case.data, case.facts, case.fired_by = (_parsed(case.stored["data"]), _parsed(case.stored["facts"]),
                                            _parsed(case.stored["fired_by"]))
    return case


def _parsed(text: str | None) -> dict[str, Any]:
    return dict(json_loads(text) or {}) if text is not None else {}


def load_parties(session: Session, case_id: int) -> tuple[PartyRecord, ...]:
    """The parties of a case with their organisations, in one query."""
    return tuple(PartyRecord(r[0], OrgRecord(*r[2:]), bool(r[1])) for r in _PARTIES.rows(session, {"case_id": case_id}))


def orgs_by_id(session: Session, ids: Sequence[int]) -> dict[int, OrgRecord]:
    if not ids:
        return {}
    stmt = _ORGS_BY_ID.get(len(ids))
    if stmt is None:
        names = [f"id{i}" for i in range(len(ids))]
        stmt = _ORGS_BY_ID[len(ids)] = Prepared(
            select(*_ORG_COLUMNS).where(Organisation.id.in_([bindparam(n) for n in names])))
    return {r[0]: OrgRecord(*r) for r in stmt.rows(session, {f"id{i}": v for i, v in enumerate(ids)})}


def save_case(session: Session, case: CaseRecord, columns: frozenset[str]) -> None:
    """Write the columns a step changed, and only those: SQLite rewrites an index only when the UPDATE
    names one of its columns. A JSON column is serialised once: the text written is the one kept in
    `case.stored` for the row's digest."""
    values: dict[str, Any] = {"case_id": case.id}
    for c in columns:
        if c in JSON_COLUMNS:
            values[c] = case.stored[c] = json_dumps(getattr(case, c))
        else:
            values[c] = getattr(case, c)
    _update_case(columns).execute(session, values)
    _expire(session, Case, case.id)


def update_org(session: Session, org_id: int, changes: dict[str, Any]) -> None:
    table = cast(Table, Organisation.__table__)
    session.execute(update(table).where(table.c.id == org_id).values(**changes))
    _expire(session, Organisation, org_id)


def _expire(session: Session, model: type, pk: int) -> None:
    """An ORM copy loaded earlier in this session must not show the old values."""
    if not session.identity_map:  # nothing loaded through the ORM in this unit (a step's usual case)
        return
    obj = session.identity_map.get(identity_key(model, pk))
    if obj is not None:
        session.expire(obj)
