"""On a SQLite file each thread reuses its own connection and session: units still begin, commit or roll
back as before, nested units get their own session, and a thread's connections close when it ends."""
from __future__ import annotations

import gc
import threading
from contextlib import nullcontext

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


def test_prepared_statements_and_the_orm_share_one_transaction_in_a_unit(sqlite_db):
    """Begun on the driver, the unit's transaction holds what both write; both go on error, both stay on commit."""
    from storage.prepared import UNIT_CONNECTION

    for fail in (True, False):
        with pytest.raises(RuntimeError) if fail else nullcontext():
            with sqlite_db.write() as session:
                driver, _dialect = session.info[UNIT_CONNECTION]
                assert driver.in_transaction  # begun before the unit's body runs
                driver.execute("INSERT INTO t VALUES (10)")  # as a prepared statement does
                session.execute(text("INSERT INTO t VALUES (11)"))  # the ORM joins the same transaction
                if fail:
                    raise RuntimeError("abandon the unit")
        assert _count(sqlite_db) == (0 if fail else 2)
    with sqlite_db.write() as session:
        assert not session.in_transaction()
        assert session.info[UNIT_CONNECTION][0].in_transaction


@pytest.mark.parametrize("through", ["driver", "orm"])
def test_a_unit_whose_commit_fails_leaves_nothing_and_the_session_usable(sqlite_db, through):
    """A deferred foreign key fails at COMMIT: the unit rolls back, whether the ORM or the driver wrote."""
    from storage.prepared import UNIT_CONNECTION

    with sqlite_db.write() as session:
        session.execute(text("CREATE TABLE p (id INTEGER PRIMARY KEY)"))
        session.execute(text("CREATE TABLE c (p_id INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)"))
    with pytest.raises(Exception, match="FOREIGN KEY"):
        with sqlite_db.write() as session:
            if through == "driver":  # as prepared statements write: the session itself never begins
                session.info[UNIT_CONNECTION][0].execute("INSERT INTO t VALUES (1)")
                session.info[UNIT_CONNECTION][0].execute("INSERT INTO c VALUES (7)")
                assert not session.in_transaction()
            else:
                session.execute(text("INSERT INTO t VALUES (1)"))
                session.execute(text("INSERT INTO c VALUES (7)"))
    assert _count(sqlite_db) == 0
    with sqlite_db.write() as session:
        session.execute(text("INSERT INTO t VALUES (2)"))
    assert _count(sqlite_db) == 1


def _commit_early(db: Database, kind: str, nested: bool) -> None:
    outer = db.read() if nested else nullcontext()
    with outer:  # a unit inside another of the same kind gets a session of its own (not the thread's)
        with pytest.raises(Exception) as raised:
            with (db.write() if kind == "write" else db.read()) as session:
                session.execute(text("INSERT INTO t VALUES (1)"))
                session.commit()
        assert type(raised.value).__name__ == "EarlyCommitError" and "commits once" in str(raised.value)


@pytest.mark.parametrize("nested", [False, True])
def test_a_commit_inside_a_unit_is_refused_and_the_unit_rolls_back(sqlite_db, nested):
    from storage import EarlyCommitError

    _commit_early(sqlite_db, "read" if nested else "write", nested)
    assert _count(sqlite_db) == 0
    with sqlite_db.write() as session:  # the thread's session works as before
        session.execute(text("INSERT INTO t VALUES (2)"))
    assert _count(sqlite_db) == 1
    assert issubclass(EarlyCommitError, RuntimeError)


def test_a_commit_inside_a_unit_is_refused_on_every_database(db):
    """The same on PostgreSQL, where every unit has a session of its own."""
    with db.write() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    try:
        _commit_early(db, "write", False)
        assert _count(db) == 0
    finally:
        with db.write() as session:
            session.execute(text("DROP TABLE t"))
