"""Crash safety: clients drive founding cases (建会) through `wsgi:app` served with three workers, by granian
as the README deploys it and by gunicorn; the whole server is killed with SIGKILL in the middle of the load
and started again. Afterwards every step that was
acknowledged with a 200 is in the trail, every case stands where its last entry says, and
`flask audit verify` passes.

The server listens on 127.0.0.1 only; every loop is bounded in count and time.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

import audit
from storage import Database, migrate
from tests.ops.conftest import ROOT, flask_cli, scratch_postgres
from tests.support import BACKENDS
from workflow import Case
from services.accounts import create_org, create_user, issue_token

CLIENTS = 4
STEPS_PER_CLIENT = 60  # the most any client fires
KILL_AFTER = 30  # acknowledged steps before the kill
DEADLINE = 45.0  # seconds of load at most, whatever happens
SECRET = "crash-test-secret-" + "x" * 32


@dataclass
class Client:
    token: str
    org: str
    acknowledged: list[tuple[int, str, int, str]] = field(default_factory=list)  # (case, trigger, version, state)
    case_id: int | None = None
    errors: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """granian or gunicorn in its own process group, so that one SIGKILL takes the master and every worker."""

    def __init__(self, kind: str, db_url: str, port: int, log_dir):
        self.kind, self.db_url, self.port, self.log_dir, self.proc = kind, db_url, port, log_dir, None
        self.starts = 0

    def command(self) -> list[str]:
        if self.kind == "granian":
            return [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", "3", "--blocking-threads",
                    "1", "--no-ws", "--host", "127.0.0.1", "--port", str(self.port), "wsgi:app"]
        from gunicorn.config import KNOWN_SETTINGS

        args = [sys.executable, "-m", "gunicorn", "--workers", "3", "--bind", f"127.0.0.1:{self.port}",
                "--timeout", "60", "--graceful-timeout", "5"]
        if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
            args.append("--no-control-socket")
        return [*args, "wsgi:app"]

    def start(self) -> None:
        self.starts += 1
        env = {**os.environ, "DATABASE_URL": self.db_url, "SECRET_KEY": SECRET, "UNIONFLOW_ENV": "production"}
        log = open(self.log_dir / f"server-{self.starts}.log", "wb")
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"{self.kind} did not become healthy:\n" + self.log())

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def log_lines(self) -> list[str]:
        return [line for p in sorted(self.log_dir.glob("server-*.log"))
                for line in p.read_text(errors="replace").splitlines()]

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.log_dir.glob("server-*.log")))


def _call(port: int, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1{path}", data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def _seed(db_url: str, count: int = CLIENTS) -> tuple[list[Client], str]:
    migrate.upgrade(db_url)
    db = Database(db_url)
    clients = []
    with db.write() as session:
        create_org(session, code="FED", name="某区总工会", kind="federation")
        reviewer = create_user(session, username="fed", password="correct-horse-1", role="reviewer", org="FED")
        fed_token = issue_token(session, reviewer)
        for i in range(count):
            code = f"ENT-{i}"
            create_org(session, code=code, name=f"企业{i}", kind="enterprise", parent="FED", employees=60,
                       female_employees=20)
            user = create_user(session, username=f"prep{i}", password="correct-horse-1", role="preparer", org=code)
            clients.append(Client(issue_token(session, user), code))
    db.dispose()
    return clients, fed_token


def _drive(client: Client, fed_token: str, port: int, acknowledged: threading.Semaphore, stop: threading.Event,
           up: threading.Event) -> None:
    """Create a founding case, then form_group, and apply / return_application over and over."""
    state, version = None, None
    deadline = time.monotonic() + DEADLINE
    for _ in range(STEPS_PER_CLIENT):
        if stop.is_set() or time.monotonic() > deadline:
            return
        up.wait(DEADLINE)
        try:
            if client.case_id is None:
                status, body = _call(port, "POST", "/cases", client.token, {"workflow": "founding", "org": client.org})
                trigger = "create"
                if status == 422:  # created by a request whose answer was lost: one open case per enterprise
                    listed = _call(port, "GET", f"/cases?org={client.org}", client.token)[1]
                    client.case_id, state = listed["items"][0]["id"], None
                    continue
            else:
                if state is None:  # after a lost answer: where does the case stand now?
                    status, body = _call(port, "GET", f"/cases/{client.case_id}", client.token)
                    assert status == 200, body
                    state, version = body["state"], body["version"]
                trigger, token, data, comment = {
                    "draft": ("form_group", client.token, {"group_members": ["张伟", "王芳", "李娜"]}, ""),
                    "group_formed": ("apply", client.token, {}, ""),
                    "applied": ("return_application", fed_token, {}, "材料不全，请补充"),
                }[state]
                status, body = _call(port, "POST", f"/cases/{client.case_id}/events", token,
                                     {"trigger": trigger, "data": data, "comment": comment, "version": version})
        except (OSError, ValueError, http.client.HTTPException) as err:  # the server died under the request
            # (before answering, or halfway through the answer): its outcome is unknown
            client.errors.append(type(err).__name__)
            state = None
            time.sleep(0.1)
            continue
        if status in (200, 201):
            client.case_id = body["id"]
            state, version = body["state"], body["version"]
            client.acknowledged.append((body["id"], trigger, version, state))
            acknowledged.release()
        elif status == 409:  # a step whose answer was lost did land: re-read
            state = None
        else:
            client.errors.append(f"{status} {body}")
            return


def _json_line(line: str) -> dict[str, Any]:
    try:
        return json.loads(line)
    except ValueError:  # the line a worker was writing when it was killed
        return {}


@pytest.fixture(params=BACKENDS)
def crash_db(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    with scratch_postgres(f"test_crash_{os.getpid()}") as url:
        yield url


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["granian", "gunicorn"])
def test_sigkill_mid_load_loses_no_acknowledged_step(crash_db, tmp_path, kind):
    clients, fed_token = _seed(crash_db)
    server = Server(kind, crash_db, _free_port(), tmp_path)
    acknowledged = threading.Semaphore(0)
    stop, up = threading.Event(), threading.Event()
    try:
        server.start()
        up.set()
        threads = [threading.Thread(target=_drive, args=(c, fed_token, server.port, acknowledged, stop, up),
                                    daemon=True) for c in clients]
        for t in threads:
            t.start()
        for _ in range(KILL_AFTER):
            assert acknowledged.acquire(timeout=DEADLINE), "the clients stalled before the kill:\n" + server.log()
        up.clear()
        server.kill()  # the master and the three workers, mid-request
        before = sum(len(c.acknowledged) for c in clients)
        server.start()
        up.set()
        for t in threads:
            t.join(DEADLINE + 30)
        assert not any(t.is_alive() for t in threads)
    finally:
        stop.set()
        up.set()
        server.stop()

    assert before >= KILL_AFTER
    problems = [e for c in clients for e in c.errors if not e[0].isalpha()]
    assert problems == [], problems  # only lost connections, never an HTTP error
    after = sum(len(c.acknowledged) for c in clients) - before
    assert after > 0, "no step was acknowledged after the restart"

    db = Database(crash_db)
    try:
        with db.read() as session:
            for client in clients:
                entries = audit.entries_for(session, "case", str(client.case_id))
                recorded = {(int(e.subject_id), e.trigger, e.version, e.to_state) for e in entries}
                missing = [a for a in client.acknowledged if a not in recorded]
                assert missing == [], f"acknowledged but not in the trail: {missing}"
                case = session.get(Case, client.case_id)
                assert (case.state, case.version) == (entries[-1].to_state, entries[-1].version)
                # no step landed twice: the versions in the trail count up by one
                assert [e.version for e in entries] == list(range(1, len(entries) + 1))
            assert session.scalar(select(Case.id).where(Case.id.not_in([c.case_id for c in clients]))) is None
    finally:
        db.dispose()
    verified = flask_cli(crash_db, "audit", "verify", "--quiet")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # the workers logged every request as a JSON line, with the user and never a token
    logged = [_json_line(line) for line in server.log_lines() if line.startswith("{")]
    steps = [line for line in logged if line.get("path", "").endswith("/events") and line.get("status") == 200]
    assert steps and {line["user"] for line in steps} <= {"fed", *(f"prep{i}" for i in range(CLIENTS))}
    assert not any(c.token in "\n".join(server.log_lines()) for c in clients)
