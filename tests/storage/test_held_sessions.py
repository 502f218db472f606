"""On a SQLite file each thread reuses its own connection and session: units still begin, commit or roll
back as before, nested units get their own session, and a thread's connections close when it ends."""
from __future__ import annotations

import gc
import threading

import pytest
from sqlalchemy import text

from storage import Database, migrate


@pytest.fixture
def sqlite_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'held.db'}"
    migrate.upgrade(url)
    db = Database(url)
    with db.write() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    yield db
    db.dispose()


def _count(db: Database) -> int:
    with db.read() as session:
        return session.execute(text("SELECT count(*) FROM t")).scalar_one()


def test_units_reuse_the_threads_session_and_commit_or_roll_back(sqlite_db):
    with sqlite_db.write() as first:
        first.execute(text("INSERT INTO t VALUES (1)"))
    with sqlite_db.write() as second:
        assert second is first  # the same session, unit after unit
        second.execute(text("INSERT INTO t VALUES (2)"))
    with pytest.raises(RuntimeError):
        with sqlite_db.write() as third:
            third.execute(text("INSERT INTO t VALUES (3)"))
            raise RuntimeError("abandon the unit")
    assert _count(sqlite_db) == 2
    with sqlite_db.write() as fourth:  # the session is usable again after a rollback
        fourth.execute(text("INSERT INTO t VALUES (4)"))
    assert _count(sqlite_db) == 3


def test_a_nested_unit_of_the_same_kind_gets_a_session_of_its_own(sqlite_db):
    with sqlite_db.read() as outer:
        with sqlite_db.read() as inner:
            assert inner is not outer
            assert inner.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
        with sqlite_db.write() as writer:  # another kind: the thread's writing session
            assert writer is not outer
            writer.execute(text("INSERT INTO t VALUES (1)"))
    assert _count(sqlite_db) == 1


def test_a_threads_connections_close_when_the_thread_ends(sqlite_db):
    pool = sqlite_db.engine.pool
    _count(sqlite_db)
    mine = len(sqlite_db._held)  # this thread's own (a read and a write session)
    assert mine == 2 and pool.checkedout() == mine

    def work() -> None:
        with sqlite_db.write() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
        assert _count(sqlite_db) >= 1

    for _ in range(3):  # threads that come and go, as a server that starts one a request
        threads = [threading.Thread(target=work) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        gc.collect()
        assert len(sqlite_db._held) == mine
        assert pool.checkedout() == mine
    assert _count(sqlite_db) == 60
