"""Checking the trail's entries in the caller's session: read in order, checked by `audit.scan`."""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from storage.prepared import Prepared, dbapi_connection

from .chain import GENESIS
from .models import AuditEntry
from .scan import Checker, Progress, Run, check_sqlite

_COLUMNS = (
    AuditEntry.seq, AuditEntry.at, AuditEntry.actor, AuditEntry.role, AuditEntry.subject_type,
    AuditEntry.subject_id, AuditEntry.trigger, AuditEntry.from_state, AuditEntry.to_state,
    AuditEntry.version, AuditEntry.comment, AuditEntry.data, AuditEntry.prev_hash, AuditEntry.hash,
)
_ALL_ROWS = Prepared(select(*_COLUMNS).order_by(AuditEntry.seq))
_RANGE_ROWS = Prepared(select(*_COLUMNS).where(AuditEntry.seq.between(bindparam("lo"), bindparam("hi")))
                       .order_by(AuditEntry.seq))


def check_entries(session: Session, chunk: int, lo: int | None = None, hi: int | None = None,
                  first_prev: str | None = GENESIS, progress: Progress | None = None, every: int = 20000) -> Run:
    """Check the whole trail (lo and hi None) or entries lo..hi, `chunk` rows at a time, in the session's
    transaction: numbering, links and every hash, as `Checker` does (on SQLite, `check_sqlite`)."""
    connection, dialect = dbapi_connection(session)
    if dialect.name == "sqlite":
        return check_sqlite(connection, chunk, lo, hi, first_prev, progress, every)
    checker = Checker(1 if lo is None else lo, first_prev, progress, every)
    checker.rows(_ALL_ROWS.stream(session, chunk) if lo is None
                 else _RANGE_ROWS.stream(session, chunk, {"lo": lo, "hi": hi}))
    return checker.done()
