"""Two app servers on one PostgreSQL database, as two hosts of a city would run them: each granian server with
its own workers, the clients spread over both.

* One server is killed with SIGKILL under load from both; the other goes on serving. Afterwards every step
  acknowledged by either server is in the trail once, every case stands where its last entry says, and
  `flask audit verify` passes.
* Twenty-four attempts at the same step, half through each server, released together: exactly one goes
  through, the others are told the case has moved on, and the trail holds one entry for it.

PostgreSQL only: SQLite is the embedded database of one machine.
"""
from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import func, select

import audit
from audit import AuditEntry
from storage import Database
from tests.ops.conftest import flask_cli, scratch_postgres
from tests.ops.test_crash import DEADLINE, Server, _call, _drive, _free_port, _seed
from tests.support import PG_URL
from workflow import Case

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(PG_URL is None, reason="two app servers share a PostgreSQL database "
                                                        "(TEST_DATABASE_URL is not set)")]

CLIENTS_PER_SERVER = 3
KILL_AFTER = 30  # acknowledged steps (both servers together) before one server is killed
AFTER_KILL = 10  # steps the surviving server acknowledges while the other is down
RACERS = 24


@pytest.fixture
def city_db():
    with scratch_postgres(f"test_two_servers_{os.getpid()}") as url:
        yield url


@pytest.fixture
def servers(city_db, tmp_path):
    pair = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        pair.append(Server("granian", city_db, _free_port(), tmp_path / name))
    try:
        yield pair
    finally:
        for server in pair:
            server.stop()


def test_one_server_killed_under_load_from_both_loses_no_acknowledged_step(city_db, servers):
    clients, fed_token = _seed(city_db, 2 * CLIENTS_PER_SERVER)
    a, b = servers
    a.start()
    b.start()
    acknowledged = threading.Semaphore(0)
    stop = threading.Event()
    up = {a.port: threading.Event(), b.port: threading.Event()}
    for event in up.values():
        event.set()
    ports = [a.port if i % 2 == 0 else b.port for i in range(len(clients))]
    threads = [threading.Thread(target=_drive, args=(c, fed_token, port, acknowledged, stop, up[port]), daemon=True)
               for c, port in zip(clients, ports)]
    try:
        for t in threads:
            t.start()
        for _ in range(KILL_AFTER):
            assert acknowledged.acquire(timeout=DEADLINE), "the clients stalled before the kill:\n" + a.log() + b.log()
        up[a.port].clear()
        a.kill()  # server a's master and workers, mid-request; b goes on
        on_b = [c for c, port in zip(clients, ports) if port == b.port]
        before_b = sum(len(c.acknowledged) for c in on_b)
        for _ in range(AFTER_KILL):
            assert acknowledged.acquire(timeout=DEADLINE), "server b stopped serving when a was killed:\n" + b.log()
        assert sum(len(c.acknowledged) for c in on_b) > before_b
        a.start()
        up[a.port].set()
        for t in threads:
            t.join(DEADLINE + 30)
        assert not any(t.is_alive() for t in threads)
    finally:
        stop.set()
        for event in up.values():
            event.set()

    problems = [e for c in clients for e in c.errors if not e[0].isalpha()]
    assert problems == [], problems  # only lost connections to the killed server, never an HTTP error
    lost = [e for c, port in zip(clients, ports) if port == b.port for e in c.errors]
    assert lost == [], f"the surviving server's clients lost connections: {lost}"

    db = Database(city_db)
    try:
        with db.read() as session:
            for client in clients:
                entries = audit.entries_for(session, "case", str(client.case_id))
                recorded = {(int(e.subject_id), e.trigger, e.version, e.to_state) for e in entries}
                missing = [x for x in client.acknowledged if x not in recorded]
                assert missing == [], f"acknowledged but not in the trail: {missing}"
                case = session.get(Case, client.case_id)
                assert (case.state, case.version) == (entries[-1].to_state, entries[-1].version)
                assert [e.version for e in entries] == list(range(1, len(entries) + 1))
    finally:
        db.dispose()
    verified = flask_cli(city_db, "audit", "verify", "--quiet")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_twenty_four_attempts_through_two_servers_let_exactly_one_through(city_db, servers):
    clients, _ = _seed(city_db, 1)
    preparer = clients[0]
    a, b = servers
    a.start()
    b.start()
    status, body = _call(a.port, "POST", "/cases", preparer.token, {"workflow": "founding", "org": preparer.org})
    assert status == 201, body
    case_id = body["id"]
    status, body = _call(b.port, "POST", f"/cases/{case_id}/events", preparer.token,
                         {"trigger": "form_group", "data": {"group_members": ["张伟", "王芳", "李娜"]},
                          "version": body["version"]})
    assert status == 200, body
    version = body["version"]

    barrier = threading.Barrier(RACERS)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def attempt(port: int) -> None:
        barrier.wait(30)
        code, answer = _call(port, "POST", f"/cases/{case_id}/events", preparer.token,
                             {"trigger": "apply", "data": {}, "version": version})
        with lock:
            answers.append((code, (answer.get("error") or {}).get("code", "") if code != 200 else ""))

    threads = [threading.Thread(target=attempt, args=(a.port if i % 2 else b.port,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == RACERS
    assert sorted(code for code, _ in answers) == [200] + [409] * (RACERS - 1), answers
    assert {reason for code, reason in answers if code == 409} <= {"stale_version", "invalid_state"}

    db = Database(city_db)
    try:
        with db.read() as session:
            applied = session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.subject_id == str(case_id), AuditEntry.trigger == "apply"))
            assert applied == 1
            assert session.get(Case, case_id).state == "applied"
    finally:
        db.dispose()
    verified = flask_cli(city_db, "audit", "verify", "--quiet")
    assert verified.returncode == 0, verified.stdout + verified.stderr
