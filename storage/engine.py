"""The engine factory for SQLite (embedded default) and PostgreSQL: URLs, driver settings, how SQLite begins.

SQLite runs in WAL mode with a busy timeout; a connection with the `WRITE`
execution option begins with `BEGIN IMMEDIATE`, so that two writers queue
for the lock instead of failing halfway (the case's version check then sees
the committed state). On PostgreSQL the engine takes row locks
(`SELECT ... FOR UPDATE`).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from .codec import json_dumps, json_loads

WRITE = "unionflow_write"  # execution option: this connection's transactions write (SQLite: BEGIN IMMEDIATE)


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


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite database URL; None for another database or SQLite in memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return parsed.database


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
        if not driver.in_transaction:  # a held unit has begun it on the driver already (`Database`)
            driver.execute("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")
