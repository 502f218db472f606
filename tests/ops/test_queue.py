"""The task queue on PostgreSQL (procrastinate): two workers, as two app servers would run them, on one
database; the periodic deadline sweep runs exactly once per period, and its reminders are written once.

The sweep's schedule is set to every minute for the test (UNIONFLOW_SWEEP_CRON); each worker defers the
period that has just begun when it starts, and the database keeps one job of it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from services.accounts import create_org, create_user
from storage import Database, migrate, normalise_url
from tests.ops.conftest import ROOT, flask_cli, scratch_postgres
from tests.support import PG_URL
from workflow import Actor, Engine, default_catalog

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(PG_URL is None, reason="the task queue lives in PostgreSQL "
                                                        "(TEST_DATABASE_URL is not set)")]


@pytest.fixture
def queue_db():
    with scratch_postgres(f"test_queue_{os.getpid()}") as url:
        yield url


def _seed_overdue_case(url: str) -> int:
    """A founding case of a 30-employee enterprise that applied on 2026-01-05: long overdue at its town."""
    migrate.upgrade(url)
    db = Database(url)
    engine = Engine(default_catalog())
    try:
        with db.write() as session:
            create_org(session, code="FED", name="某区总工会", kind="federation")
            create_org(session, code="TOWN", name="城关镇工会", kind="town", parent="FED")
            create_org(session, code="ENT", name="中型企业", kind="enterprise", parent="TOWN", employees=30,
                       female_employees=10)
            create_user(session, username="town", password="correct-horse-1", role="reviewer", org="TOWN")
            create_user(session, username="fed", password="correct-horse-1", role="reviewer", org="FED")
            prep = create_user(session, username="prep", password="correct-horse-1", role="preparer", org="ENT")
            session.flush()
            actor = Actor.of(prep)
            case = engine.create_case(session, "founding", "ENT", actor, decided_on="2026-01-05")
            engine.fire(session, case.id, "form_group", actor, {"group_members": ["张伟", "王芳", "李娜"]},
                        decided_on="2026-01-05")
            engine.fire(session, case.id, "apply", actor, {}, decided_on="2026-01-05")
            return case.id
    finally:
        db.dispose()


def _worker(url: str, name: str, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY",)}
    env.update({"DATABASE_URL": url, "FLASK_APP": "wsgi", "UNIONFLOW_ENV": "production",
                "UNIONFLOW_SWEEP_CRON": "* * * * *"})
    out = open(log, "wb")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("flask")), "worker", "--name", name], cwd=ROOT,
                            env=env, stdout=out, stderr=out, start_new_session=True)
    out.close()
    return proc


def _rows(url: str, sql: str) -> list[tuple]:
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def test_two_workers_run_the_periodic_sweep_once_a_period(queue_db, tmp_path):
    case_id = _seed_overdue_case(queue_db)
    workers = [_worker(queue_db, name, tmp_path / f"{name}.log") for name in ("a", "b")]
    try:
        deadline = time.monotonic() + 60
        done: list[tuple] = []
        while time.monotonic() < deadline:
            assert all(w.poll() is None for w in workers), "\n".join(p.read_text() for p in tmp_path.glob("*.log"))
            try:
                done = _rows(queue_db, "SELECT id FROM procrastinate_jobs WHERE task_name = 'unionflow.sweep' "
                                       "AND status = 'succeeded'")
            except Exception:  # noqa: BLE001  (the tables are created by the first worker)
                done = []
            if done:
                break
            time.sleep(0.5)
        assert done, "no sweep ran:\n" + "\n".join(p.read_text() for p in tmp_path.glob("*.log"))
        time.sleep(3)  # both workers had their chance to defer the same period
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(w.pid, signal.SIGKILL)
                w.wait(10)

    per_period = _rows(queue_db, "SELECT defer_timestamp, count(*) FROM procrastinate_periodic_defers "
                                 "WHERE task_name = 'unionflow.sweep' GROUP BY defer_timestamp")
    assert per_period and all(n == 1 for _, n in per_period), per_period
    jobs = _rows(queue_db, "SELECT status FROM procrastinate_jobs WHERE task_name = 'unionflow.sweep'")
    assert len(jobs) == len(per_period) and {s for (s,) in jobs} <= {"succeeded", "todo", "doing"}
    # the sweep's alerts of the overdue case, each written once however many sweeps and workers ran
    alerts = _rows(queue_db, "SELECT \"trigger\", count(*) FROM audit_entries WHERE subject_type = 'case' "
                             f"AND subject_id = '{case_id}' AND \"trigger\" IN ('remind', 'escalate') "
                             "GROUP BY \"trigger\" ORDER BY \"trigger\"")
    assert alerts == [("escalate", 1), ("remind", 2)]
    verified = flask_cli(queue_db, "audit", "verify", "--quiet")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_worker_refuses_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    migrate.upgrade(url)
    out = flask_cli(url, "worker")
    assert out.returncode == 2 and "flask sweep" in out.stderr
