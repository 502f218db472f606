"""The server as the README runs it (its granian command, word for word): a worker killed with SIGKILL is
respawned while the other goes on serving, and a spreadsheet bomb posted to the register import is refused
at once without the workers' memory growing."""
from __future__ import annotations

import io
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.ops.conftest import ROOT, flask_cli

PASSWORD = "correct-horse-battery-1"
MB = 1024 * 1024


def readme_command() -> list[str]:
    """The granian command of the README's Deploy section."""
    lines = [line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
             if line.startswith("granian --")]
    assert lines and len(set(lines)) == 1, lines  # every place the README shows it, the same command
    return shlex.split(lines[0])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(entry.name))
    return out


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))


class Served:
    def __init__(self, proc: subprocess.Popen, port: int, log: Path, workers: int):
        self.proc, self.port, self.log, self.workers = proc, port, log, workers

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def worker_pids(self) -> set[int]:
        return children(self.proc.pid)

    def wait_for_log(self, phrase: str, times: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.log.read_text(errors="replace").count(phrase) < times:
            assert time.monotonic() < deadline, self.log.read_text(errors="replace")[-3000:]
            time.sleep(0.1)

    def wait_for_workers(self, exclude: set[int] = frozenset(), timeout: float = 30) -> set[int]:
        """The workers once all of them run and none of `exclude` is among them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) == self.workers and not pids & exclude:
                return pids
            time.sleep(0.1)
        raise AssertionError(f"workers {self.worker_pids()} (wanted {self.workers} without {exclude}):\n"
                             + self.log.read_text(errors="replace")[-3000:])


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    """The README's granian command on a free port, over an SQLite database with one administrator (one
    server for the module: each test leaves it with all its workers running)."""
    tmp_path = tmp_path_factory.mktemp("served")
    url = f"sqlite:///{tmp_path / 'served.db'}"
    assert flask_cli(url, "db", "upgrade").returncode == 0
    made = flask_cli(url, "users", "create", "boss", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    command = readme_command()
    assert command[0] == "granian" and "--respawn-failed-workers" in command
    port = _free_port()
    command[command.index("--port") + 1] = str(port)
    workers = int(command[command.index("--workers") + 1])
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "workers-secret", "UNIONFLOW_ENV": "production",
           "UNIONFLOW_UPLOAD_DIR": str(tmp_path / "uploads")}
    log = tmp_path / "granian.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT, env=env, stdout=out, stderr=out,
                                start_new_session=True)
    server = Served(proc, port, log, workers)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                with urllib.request.urlopen(server.url("/health"), timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
                time.sleep(0.2)
        server.wait_for_workers()
        server.wait_for_log("Started worker", workers)
        yield server
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def health(server: Served) -> int:
    try:
        with urllib.request.urlopen(server.url("/health"), timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


@pytest.mark.slow
def test_a_killed_worker_is_respawned_while_the_other_serves(served):
    before = served.wait_for_workers()
    victim = min(before)
    answers: list[tuple[float, int]] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            answers.append((time.monotonic(), health(served)))
            time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        time.sleep(0.5)
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        after = served.wait_for_workers(exclude={victim}, timeout=20)
        served.wait_for_log("Started worker", served.workers + 1)  # the new one has loaded the app
        respawned_at = time.monotonic()
        time.sleep(0.5)
    finally:
        stop.set()
        poller.join(10)
    assert served.proc.poll() is None  # the server itself lives on
    assert len(after) == served.workers and victim not in after and (before - {victim}) <= after
    # the one request the victim may have held when it died is lost; every other is answered, by the other
    # worker until the new one has started
    # (a poll is timed when it is sent: the one the victim held may have been sent just before the kill)
    during = [status for at, status in answers if killed_at <= at <= respawned_at]
    assert len(during) > 10 and during.count(200) >= len(during) - 1, during
    failed = [at for at, status in answers if status != 200]
    assert len(failed) <= 1 and all(killed_at - 1.0 <= at <= respawned_at for at in failed), (failed, killed_at)
    assert "Respawning worker" in served.log.read_text(errors="replace")


class Browser:
    """A signed-in browser over HTTP: cookies, and the CSRF token of each form."""

    def __init__(self, server: Served):
        self.server = server
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.server.url(path), timeout=30) as resp:
            return resp.read().decode()

    def post(self, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes]] | None = None,
             ) -> tuple[int, str]:
        boundary = uuid.uuid4().hex
        body = io.BytesIO()
        for name, value in fields.items():
            body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, (filename, content) in (files or {}).items():
            body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                       f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
        body.write(f"--{boundary}--\r\n".encode())
        req = urllib.request.Request(self.server.url(path), data=body.getvalue(), method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        try:
            with self.opener.open(req, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    @staticmethod
    def token(page: str) -> str:
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.mark.slow
def test_a_spreadsheet_bomb_is_refused_at_once_and_the_workers_memory_stays(served):
    from tests.reports.test_import_bombs import huge_string

    bomb = huge_string(500 * MB)  # one cell of 500 MB of text, packed into about half a megabyte
    assert len(bomb) < MB
    browser = Browser(served)
    status, _ = browser.post("/login", {"username": "boss", "password": PASSWORD,
                                        "csrf_token": browser.token(browser.get("/login"))})
    assert status == 200  # redirected to the home page
    form = browser.get("/reports/import")
    workers = served.wait_for_workers()
    for _ in range(2):  # each worker has served a request before it is measured
        browser.get("/reports/import")
    before = {pid: rss_kib(pid) for pid in workers}
    started = time.perf_counter()
    status, page = browser.post("/reports/import", {"csrf_token": browser.token(form), "action": "check"},
                                {"file": ("名录.xlsx", bomb)})
    seconds = time.perf_counter() - started
    after = {pid: rss_kib(pid) for pid in workers}
    assert status == 413 and "解压后超过" in page
    assert seconds < 1, seconds
    assert served.wait_for_workers() == workers  # none died
    grown = {pid: after[pid] - before[pid] for pid in workers}
    assert max(grown.values()) < 20 * 1024, grown  # KiB: no worker grew by 20 MB (the bomb would take 500)
