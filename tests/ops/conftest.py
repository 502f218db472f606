"""Operations tests: databases of their own (a scratch PostgreSQL database beside the suite's), servers as
subprocesses, the `flask` command.

Tests that migrate, kill or restore a database get one of their own, so the
suite's shared database is never touched: a file under the test's tmp_path on
SQLite, and on PostgreSQL a database created for the test through the same
server (as the superuser of TEST_DATABASE_URL) and dropped afterwards.
"""
from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from storage import normalise_url
from tests.support import BACKENDS, PG_URL

ROOT = Path(__file__).resolve().parents[2]


def pg_url(database: str) -> str:
    assert PG_URL is not None
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


def _admin(statement: str) -> None:
    engine = create_engine(normalise_url(pg_url("postgres")), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


@contextmanager
def scratch_postgres(name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database `name` for the duration of the block."""
    assert name.replace("_", "").isalnum()
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def empty_db(request, tmp_path) -> Iterator[str]:
    """An empty database (no schema) of the test's own, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'own.db'}"
        return
    with scratch_postgres(f"test_ops_{os.getpid()}") as url:
        yield url


def flask_cli(db_url: str, *args: str, env: dict[str, str] | None = None, stdin: str = "",
              timeout: int = 300) -> subprocess.CompletedProcess:
    """Run `flask ARGS` as an operator would: production settings, no SECRET_KEY."""
    full = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "UNIONFLOW_ENV")}
    full.update({"DATABASE_URL": db_url, "FLASK_APP": "wsgi"})
    full.update(env or {})
    exe = Path(sys.executable).with_name("flask")
    return subprocess.run([str(exe), *args], cwd=ROOT, env=full, input=stdin, capture_output=True, text=True,
                          timeout=timeout)
