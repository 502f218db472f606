"""Units of work: `Database`, its read and write sessions, and the sessions each thread holds unit after unit.

A unit begins, runs the caller's body, commits once at its end (a commit
asked for inside it is refused) or rolls everything back. Writers to a
SQLite file take their turn at the `WriterQueue` first.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.orm import Session, sessionmaker

from .engine import WRITE, is_postgres, make_engine, normalise_url, sqlite_file
from .prepared import UNIT_CONNECTION
from .writer_lock import WriterQueue

UNIT_OPEN = "unionflow.unit_open"  # session.info key: set while a unit's body runs


class EarlyCommitError(RuntimeError):
    """A commit asked for inside a unit of work, which commits once, at its end."""


def _refuse_early_commit(session: Session) -> None:
    # a savepoint's release (begin_nested) is no commit of the unit
    if session.info.get(UNIT_OPEN) and not session.in_nested_transaction():
        raise EarlyCommitError("a unit of work commits once, at its end: a commit inside it would split a step "
                               "from its audit entry")


@contextmanager
def _body(session: Session) -> Iterator[Session]:
    """The caller's part of a unit: a commit asked for in it is refused (`_refuse_early_commit`)."""
    session.info[UNIT_OPEN] = True
    try:
        yield session
    finally:
        session.info.pop(UNIT_OPEN, None)


class _Held:
    """One thread's connection and session for one kind of unit, reused from unit to unit.

    Closed when the thread ends (its thread-local goes, and this with it) or the database is disposed;
    never in a forked child, which must not touch its parent's SQLite connections.
    """

    __slots__ = ("driver", "unit", "begin", "session", "pid", "busy", "release", "__weakref__")

    def __init__(self, connection: Connection, begin: str):
        driver = connection.connection.driver_connection
        if not isinstance(driver, sqlite3.Connection):  # held only on a SQLite file (`Database._take`)
            raise TypeError(f"a held unit runs on sqlite3, not {type(driver).__name__}")
        self.driver = driver
        self.unit = (self.driver, connection.dialect)  # what prepared statements run on (`UNIT_CONNECTION`)
        self.begin = begin
        self.session = Session(bind=connection, expire_on_commit=False)
        event.listen(self.session, "before_commit", _refuse_early_commit)
        self.pid = os.getpid()
        self.busy = False
        self.release = weakref.finalize(self, _release, self.session, connection, self.pid)


def _release(session: Session, connection: Connection, pid: int) -> None:
    if os.getpid() == pid:
        session.close()
        connection.close()


class Database:
    """One engine and its two session factories: read (default) and write.

    On a SQLite file each thread keeps one connection and one session for
    its reads and one pair for its writes, and reuses them unit after unit:
    opening a SQLite connection is cheap, but checking one out of the pool
    and building a session around it cost more than a whole step's SQL. A
    unit still begins, commits (or rolls back) and leaves the session empty
    as before; a unit opened inside another of the same kind on the same
    thread gets a session of its own, as does a forked child.
    """

    def __init__(self, url: str, **kwargs: Any):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, **kwargs)
        self.postgres = is_postgres(self.engine)
        self._write_engine = self.engine.execution_options(**{WRITE: True})
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self._write_engine, expire_on_commit=False)
        for factory in (self._read, self._write):
            event.listen(factory, "before_commit", _refuse_early_commit)
        path = sqlite_file(self.url)
        self._queue = WriterQueue(path) if path and os.name == "posix" else None
        self._local = threading.local() if path else None
        self._held: weakref.WeakSet[_Held] = weakref.WeakSet()  # every live thread's, to close on dispose
        self._held_lock = threading.Lock()

    def _take(self, kind: str) -> _Held | None:
        """This thread's session for `kind`, marked busy; None when it is busy already (a nested unit)."""
        if self._local is None:
            return None
        held = getattr(self._local, kind, None)
        if held is None or held.pid != os.getpid():
            engine = self._write_engine if kind == "write" else self.engine
            held = _Held(engine.connect(), "BEGIN IMMEDIATE" if kind == "write" else "BEGIN")
            setattr(self._local, kind, held)
            with self._held_lock:
                self._held.add(held)
        elif held.busy:
            return None
        held.busy = True
        return held

    @staticmethod
    def _give_back(held: _Held) -> None:
        if held.session.identity_map:
            held.session.expunge_all()
        held.busy = False

    @contextmanager
    def _unit(self, kind: str, factory: sessionmaker, queue: WriterQueue | None = None) -> Iterator[Session]:
        """A unit of `kind`, in this thread's held session when there is one; after the writers' `queue`."""
        if queue is not None:
            queue.acquire()
        try:
            held = self._take(kind)
            if held is None:
                with factory() as session, session.begin(), _body(session):
                    yield session
                return
            yield from self._held_unit(held)
        finally:
            if queue is not None:
                queue.release()

    def _held_unit(self, held: _Held) -> Iterator[Session]:
        # The unit's transaction is begun and ended on the driver itself: SQLAlchemy's own begin and commit
        # cost more than a step's SQL. Prepared statements run in it directly; the ORM, when used, joins it
        # (the "begin" event sees it open) and its commit, at the end, is the unit's.
        session, driver = held.session, held.driver
        try:
            driver.execute(held.begin)
            session.info[UNIT_CONNECTION] = held.unit
            try:
                with _body(session):
                    yield session
                if session.in_transaction():
                    session.commit()  # flushes what the ORM holds and commits the unit
                if driver.in_transaction:
                    driver.execute("COMMIT")
            except BaseException:
                if session.in_transaction():
                    session.rollback()
                if driver.in_transaction:
                    driver.execute("ROLLBACK")
                raise
        finally:
            session.info.pop(UNIT_CONNECTION, None)
            self._give_back(held)

    def write(self) -> AbstractContextManager[Session]:
        """One unit of work: commits once at the end, rolls everything back on error."""
        return self._unit("write", self._write, self._queue)

    @contextmanager
    def read(self, snapshot: bool = False) -> Iterator[Session]:
        """A read transaction; `snapshot` sees one consistent moment on PostgreSQL too."""
        with self._unit("read", self._read) as session:
            if snapshot and self.postgres:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    def dispose(self) -> None:
        with self._held_lock:
            held, self._held = list(self._held), weakref.WeakSet()
        for h in held:
            h.release()
        self._local = threading.local() if self._local is not None else None
        self.engine.dispose()
        if self._queue is not None:
            self._queue.close()
