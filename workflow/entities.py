"""Named entities other than cases that a workflow's effects may create or change (a member, 会员).

A module that owns such a table registers it once:

    entities.register("member", Member, key="id", fields=("status", "org_id", ...), version="version")

A definition lists the entities its effects may change (`entities: [member]`);
an effect returns the changes in its `Outcome` (`entities.create(...)`,
`entities.update(...)`). The engine applies them in the step's transaction,
after the guards have passed, refuses undeclared entities and fields (a
programming error, like an undeclared organisation field), and audits each
change twice: in the case's entry (`data["entities"]`) and in an entry of the
entity row itself (subject type = the entity's name, id = its key, state = a
digest of its declared fields, version = its change counter). The latter lets
`audit.verify` compare every row with the trail as it does cases;
`replay`/`verify_entities` replay the case entries' changes in order, and
the changes the engine makes outside a step (`Engine.end_membership`), which
are recorded in the row's own entry only (its data carries no case).

A unique index of the table (one active membership per person) may refuse a
created row when two steps race: `conflict(session, values)` then names the
reason, and the step is refused with it (422) instead of failing.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import audit
from audit import AuditEntry

from .errors import GuardFailed

CREATE, UPDATE = "create", "update"


@dataclass(frozen=True)
class EntityType:
    name: str
    model: type
    key: str  # the attribute holding the row's key (its primary key)
    fields: tuple[str, ...]  # what an effect may set; a row's digest covers these
    version: str | None = None  # a counter column the engine moves on every change, if the table has one
    # the reason a created row broke a unique index of the table (None: the error is not the rules' to name)
    conflict: Callable[[Session, Mapping[str, Any]], Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class EntityChange:
    """One change an effect asks for: create a row (`key` None: the database gives it) or update one."""

    entity: str
    op: str
    values: Mapping[str, Any]
    key: Any = None
    key_as: str | None = None  # a created row's key is recorded in the case's data under this name


ENTITIES: dict[str, EntityType] = {}


def register(
    name: str, model: type, *, key: str = "id", fields: Iterable[str], version: str | None = None,
    conflict: Callable[[Session, Mapping[str, Any]], Any] | None = None,
) -> EntityType:
    """Make `model` an entity that definitions may declare under `name` (also its audit subject type)."""
    fields = tuple(fields)
    columns: set[str] = set(sa_inspect(model).columns.keys())
    unknown = sorted({key, *fields, *((version,) if version else ())} - columns)
    if unknown:
        raise ValueError(f"entity {name!r}: {model.__name__} has no columns {unknown}")
    if not name or len(name) > 16 or name in ("case", "org", "user"):
        raise ValueError(f"entity name {name!r} must be 1 to 16 characters and not 'case', 'org' or 'user'")
    if key in fields or (version is not None and version in fields):
        raise ValueError(f"entity {name!r}: an effect may not set the key or the version counter")
    found = ENTITIES.get(name)
    entity = EntityType(name, model, key, fields, version, conflict)
    if found is not None and found != entity:
        raise ValueError(f"entity {name!r} is registered twice")
    ENTITIES[name] = entity
    return entity


def create(entity: str, key_as: str | None = None, **values: Any) -> EntityChange:
    """A row to create; with `key_as`, the step records the row's key in the case's data under that name
    (a joining case's `member_id`)."""
    return EntityChange(entity, CREATE, values, key_as=key_as)


def keys_as_data(changes: Iterable[EntityChange], applied: Iterable[Applied]) -> dict[str, Any]:
    """The created rows' keys the changes asked to record in the case's data, by their names."""
    return {c.key_as: a.key for c, a in zip(changes, applied, strict=True) if c.key_as}


def update(entity: str, key: Any, **values: Any) -> EntityChange:
    return EntityChange(entity, UPDATE, values, key)


def jsonable(value: Any) -> Any:
    """A column value as the trail records it (dates as ISO text, money as a string)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def digest(values: Mapping[str, Any]) -> str:
    """The state an entity row's audit entries record: SHA-256 of its declared fields' values."""
    return hashlib.sha256(audit.canonical_json({k: jsonable(v) for k, v in values.items()}).encode()).hexdigest()


def _row_values(entity: EntityType, obj: Any) -> dict[str, Any]:
    return {f: jsonable(getattr(obj, f)) for f in entity.fields}


@dataclass
class Applied:
    """A change as applied: what the case's entry records, and the row's new digest and version."""

    entity: str
    op: str
    key: Any
    values: dict[str, Any]
    state: str
    version: int | None = None
    record: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.record = {"entity": self.entity, "op": self.op, "key": self.key, "values": self.values}


def check(declared: Iterable[str], changes: Iterable[EntityChange]) -> None:
    """Refuse a change the definition does not declare, or a field the entity does not let effects set."""
    declared = set(declared)
    for change in changes:
        entity = ENTITIES.get(change.entity)
        if change.entity not in declared or entity is None:
            raise ValueError(f"effects may not change entity {change.entity!r} (not declared by the definition)")
        if change.op not in (CREATE, UPDATE):
            raise ValueError(f"unknown entity operation {change.op!r}")
        bad = set(change.values) - set(entity.fields)
        if bad:
            raise ValueError(f"effects may not set fields {sorted(bad)} of entity {change.entity!r}")
        if change.op == UPDATE and change.key is None:
            raise ValueError(f"an update of entity {change.entity!r} needs the row's key")


def apply(session: Session, changes: Iterable[EntityChange]) -> list[Applied]:
    """Apply checked changes in the session's transaction; each created row is flushed for its key."""
    applied = []
    for change in changes:
        entity = ENTITIES[change.entity]
        if change.op == CREATE:
            obj = entity.model(**change.values)
            if entity.version is not None:
                setattr(obj, entity.version, 1)
            _add_created(session, entity, obj, change.values)
            values = _row_values(entity, obj)  # with the defaults the database gave
        else:
            obj = session.get(entity.model, change.key, with_for_update=True)
            if obj is None:
                raise LookupError(f"entity {change.entity!r} has no row {change.key!r}")
            for name, value in change.values.items():
                setattr(obj, name, value)
            if entity.version is not None:
                setattr(obj, entity.version, (getattr(obj, entity.version) or 0) + 1)
            session.flush()
            values = {k: jsonable(v) for k, v in change.values.items()}
        key = getattr(obj, entity.key)
        version = getattr(obj, entity.version) if entity.version is not None else None
        applied.append(Applied(change.entity, change.op, jsonable(key), values,
                               digest(_row_values(entity, obj)), version))
    return applied


def _add_created(session: Session, entity: EntityType, obj: Any, values: Mapping[str, Any]) -> None:
    if entity.conflict is None:
        session.add(obj)
        session.flush()
        return
    session.flush()  # what is pending stays outside the savepoint
    try:
        with session.begin_nested():
            session.add(obj)
            session.flush()
    except IntegrityError:
        if obj in session:
            session.expunge(obj)
        reason = entity.conflict(session, values)
        if reason is None:
            raise
        raise GuardFailed([reason]) from None


def append_entries(session: Session, applied: Iterable[Applied], *, actor: str, role: str, trigger: str,
                   case_id: int) -> None:
    """One entry per changed row, after the case's own entry: what `audit.verify` compares the row with."""
    for a in applied:
        audit.append(
            session, actor=actor, role=role, subject_type=a.entity, subject_id=str(a.key), trigger=trigger,
            from_state=None, to_state=a.state, version=a.version, comment="",
            data={"case": case_id, "op": a.op, "values": a.values},
        )


def subjects(session: Session, names: Iterable[str]) -> Iterator[audit.Subject]:
    """Every row of the named entities as it stands: its digest and change counter."""
    for name in sorted(set(names)):
        entity = ENTITIES.get(name)
        if entity is None:
            continue
        model = entity.model
        version = getattr(model, entity.version) if entity.version else None
        columns = [getattr(model, entity.key), *(getattr(model, f) for f in entity.fields)]
        if version is not None:
            columns.append(version)
        n = len(entity.fields)
        for row in session.execute(select(*columns).order_by(columns[0])).yield_per(5000):
            values = dict(zip(entity.fields, row[1:1 + n], strict=True))
            stamp = row[1 + n] if version is not None else None
            yield audit.Subject(name, str(jsonable(row[0])), digest(values), stamp)


def append_standalone(session: Session, applied: Applied, *, actor: str, role: str, trigger: str,
                      comment: str, extra: Mapping[str, Any] | None = None) -> None:
    """The entry of a change the engine made outside any step (`Engine.end_membership`): the row's own,
    which `replay` reads as it reads a case entry's `entities`."""
    audit.append(
        session, actor=actor, role=role, subject_type=applied.entity, subject_id=str(applied.key), trigger=trigger,
        from_state=None, to_state=applied.state, version=applied.version, comment=comment,
        data={**(extra or {}), "op": applied.op, "values": applied.values, STANDALONE: True},
    )


STANDALONE = "standalone"


def replay(session: Session, names: Iterable[str] = ()) -> dict[tuple[str, str], dict[str, Any]]:
    """Every entity row's values as the case entries' `data["entities"]` build them up, in seq order, with
    the standalone changes of the named entities among them."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    names = sorted(set(names))
    where: Any = (AuditEntry.subject_type == "case") & AuditEntry.data.contains('"entities"')
    if names:
        where = or_(where, AuditEntry.subject_type.in_(names) & AuditEntry.data.contains(f'"{STANDALONE}":true'))
    stmt = select(AuditEntry.subject_type, AuditEntry.subject_id, AuditEntry.data).where(where).order_by(AuditEntry.seq)
    for subject_type, subject_id, text in session.execute(stmt).yield_per(5000):
        stored = json.loads(text)
        if subject_type == "case":
            changes = [(c["entity"], str(c["key"]), c["op"], c["values"]) for c in stored.get("entities", ())]
        elif stored.get(STANDALONE) is True:
            changes = [(subject_type, subject_id, stored["op"], stored["values"])]
        else:
            continue
        for entity, key, op, values in changes:
            if op == CREATE:
                rows[(entity, key)] = dict(values)
            else:
                rows.setdefault((entity, key), {}).update(values)
    return rows


def verify_entities(session: Session, names: Iterable[str]) -> list[str]:
    """Replay the trail's entity changes and compare them with the rows: one problem per row that differs,
    is missing, or has no change in the trail (empty when all agree)."""
    expected = replay(session, names)
    problems = []
    seen: set[tuple[str, str]] = set()
    for name in sorted(set(names)):
        entity = ENTITIES.get(name)
        if entity is None:
            continue
        model = entity.model
        columns = [getattr(model, entity.key), *(getattr(model, f) for f in entity.fields)]
        for row in session.execute(select(*columns).order_by(columns[0])).yield_per(5000):
            key = (name, str(jsonable(row[0])))
            seen.add(key)
            values = {f: jsonable(v) for f, v in zip(entity.fields, row[1:], strict=True)}
            want = expected.get(key)
            if want is None:
                problems.append(f"{name} {key[1]} has no change in the audit trail")
                continue
            differ = sorted(f for f in entity.fields if f in want and want[f] != values[f])
            if differ:
                problems.append(f"{name} {key[1]} differs from the audit trail in {', '.join(differ)}")
    for key in sorted(set(expected) - seen):
        if key[0] in set(names):
            problems.append(f"{key[0]} {key[1]} is in the audit trail but no longer exists")
    return problems
