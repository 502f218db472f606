"""The JSON API against its own OpenAPI document: schemathesis runs every operation of
`/api/v1/openapi.json` against the app served by granian on 127.0.0.1 over the demonstration data, with
the bearer tokens of an administrator, a federation reviewer and a preparer, and fails on any 500, any
answer its schema does not describe (body, status code, content type).

Bounded and reproducible: a fixed number of examples per operation in schemathesis's deterministic
mode (the same inputs on every run, no example database), about half a minute per token."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.conftest import ROOT, flask_cli, scratch_postgres
from tests.support import BACKENDS

EXAMPLES = 20  # per operation and phase
TOKENS = ("admin", "fed_li", "prep_logi")  # every role that writes: administrator, reviewer, preparer
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=BACKENDS)
def demo_url(request, tmp_path) -> Iterator[str]:
    """A database of the test's own with the demonstration data loaded."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'demo.db'}"
        _load(url)
        yield url
        return
    with scratch_postgres(f"test_schemathesis_{os.getpid()}") as url:
        _load(url)
        yield url


def _load(url: str) -> None:
    for args in (("db", "upgrade"), ("demo", "load")):
        done = flask_cli(url, *args)
        assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture
def served(demo_url, tmp_path) -> Iterator[tuple[int, str]]:
    """granian serving the app as the README says, on a free port of 127.0.0.1."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": demo_url, "SECRET_KEY": "schemathesis-secret", "UNIONFLOW_ENV": "production"}
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", "2",
                                 "--blocking-threads", "1", "--no-ws", "--host", "127.0.0.1", "--port", str(port),
                                 "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log_path.read_text(errors="replace")[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text(errors="replace")[-3000:]
                time.sleep(0.2)
        yield port, demo_url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _get(port: int, path: str, token: str) -> object:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _config(port: int, token: str, username: str) -> str:
    """Identifiers that exist and that this user sees, so that operations reach past their 404s."""
    me = _get(port, "/me", token)
    cases = _get(port, "/cases?per_page=1", token)
    items = cases.get("items", []) if isinstance(cases, dict) else []
    lines = ["[parameters]", f"username = {json.dumps(username)}", f"name = {json.dumps(username)}", "seq = 1"]
    if items:
        lines.append(f"case_id = {int(items[0]['id'])}")
    org = me.get("org") if isinstance(me, dict) else None
    if isinstance(org, str) and org:
        lines.append(f"code = {json.dumps(org)}")
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_every_operation_answers_as_its_schema_says(served, tmp_path):
    port, url = served
    failures = []
    for username in TOKENS:
        issued = flask_cli(url, "users", "token", username)
        assert issued.returncode == 0, issued.stderr
        token = issued.stdout.strip()
        config = tmp_path / f"{username}.toml"
        config.write_text(_config(port, token, username), encoding="utf-8")
        run = subprocess.run(
            [str(SCHEMATHESIS), "--config-file", str(config), "run", f"http://127.0.0.1:{port}/api/v1/openapi.json",
             "--header", f"Authorization: Bearer {token}", "--checks", CHECKS, "--max-examples", str(EXAMPLES),
             "--generation-deterministic", "--workers", "1", "--no-color", "--request-timeout", "30",
             "--warnings", "off"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300)
        if run.returncode != 0 or " passed" not in run.stdout:
            failures.append(f"--- schemathesis as {username} (exit {run.returncode}):\n"
                            f"{run.stdout[-8000:]}\n{run.stderr[-2000:]}")
    assert not failures, "\n".join(failures)
