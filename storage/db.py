"""Engines and sessions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout; a *write* session begins with
`BEGIN IMMEDIATE`, so that two writers queue for the lock instead of failing
halfway (the case's version check then sees the committed state). On
PostgreSQL the engine takes row locks (`SELECT ... FOR UPDATE`).
"""
from __future__ import annotations

import json
import os
import re
import threading
import weakref
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal
from typing import Any, Callable, Iterator

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from .prepared import UNIT_CONNECTION

if os.name == "posix":
    import fcntl

_WRITE = "unionflow_write"


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# orjson writes what json.dumps writes for the values stored and answered (str keys, 64-bit integers, finite
# floats); the types it would otherwise write on its own (datetimes, dataclasses, str subclasses) go to
# `default`, as with json.dumps
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
_LONG_NUMBER = re.compile(r"[0-9]{19}").search  # may be an integer beyond 64 bits: orjson reads it as a float


def json_bytes(value: Any, default: Callable[[Any], Any]) -> bytes:
    """Compact JSON in UTF-8 (kept as is, not escaped), as json.dumps writes it with `default`: through orjson
    (in C), or json.dumps itself for what orjson refuses (keys that are not strings, integers beyond 64 bits)."""
    try:
        return orjson.dumps(value, default=default, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, ensure_ascii=False, default=default, separators=(",", ":")).encode("utf-8")


def json_dumps(value: Any) -> str:
    """The JSON columns' text."""
    return json_bytes(value, _json_default).decode("utf-8")


def json_loads(text: Any) -> Any:
    """The value json.loads reads; through orjson unless the text may hold an integer beyond 64 bits."""
    if type(text) is str and _LONG_NUMBER(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:  # NaN, Infinity, lone surrogates: json.loads reads (or refuses) those
            pass
    return json.loads(text)


def is_postgres(engine_or_url: Any) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(str(engine_or_url))
    return url.get_backend_name() == "postgresql"


def normalise_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` URLs and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            json_serializer=json_dumps,
            json_deserializer=json_loads,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=NullPool if url.endswith(":memory:") else None,
            # threads keep their own connections (`Database`): the pool must not run out for the others
            **({} if url.endswith(":memory:") else {"max_overflow": -1}),
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        json_serializer=json_dumps,
        json_deserializer=json_loads,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_pre_ping=True,
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # let SQLAlchemy's "begin" event, not the driver, open transactions
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        driver = conn.connection.driver_connection
        if not driver.in_transaction:  # a held unit has begun it on the driver already (`Database._unit`)
            driver.execute("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


class WriterQueue:
    """Writers to one SQLite file wait their turn here, in order, instead of in SQLite's busy handler.

    SQLite admits one writer at a time; a waiting writer polls with growing
    sleeps and may be passed over again and again by a busy process (seconds
    of delay under load). A kernel file lock (flock) queues waiters across
    processes without polling, and a lock per process queues its threads.
    """

    def __init__(self, db_path: str):
        self.path = db_path + "-writer.lock"
        self._local = threading.RLock()
        self._fd: int | None = None

    def acquire(self) -> None:
        self._local.acquire()
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._local.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._local.release()


def _sqlite_file(url: str) -> str | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return parsed.database


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
        self.driver = connection.connection.driver_connection
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
        self._write_engine = self.engine.execution_options(**{_WRITE: True})
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self._write_engine, expire_on_commit=False)
        for factory in (self._read, self._write):
            event.listen(factory, "before_commit", _refuse_early_commit)
        path = _sqlite_file(self.url)
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
        if self._queue is not None and self._queue._fd is not None:
            os.close(self._queue._fd)
            self._queue._fd = None
