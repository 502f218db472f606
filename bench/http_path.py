"""Steps over HTTP: a multi-worker server (granian, as deployed; or gunicorn) on 127.0.0.1 and concurrent clients.

Each client owns one case and alternates the preparer's `hold` and the
reviewer's `release` (four eyes), so every request is a full step: token
authentication, the engine's checks, the hash-chained entry, one commit, and
the JSON answer with the available actions. Traffic goes to loopback only and
every loop is bounded in time.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(url: str, clients: int) -> list[dict[str, Any]]:
    """Organisations, users, tokens and one case per client, made through the engine."""
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from services.accounts import create_org, create_user, issue_token, set_password_hasher
    from storage import Database, migrate
    from workflow import Actor, Engine

    from .engine_path import bench_catalog

    set_password_hasher(PasswordHasher.from_parameters(CHEAPEST))
    migrate.upgrade(url)
    db = Database(url)
    engine = Engine(bench_catalog())
    out = []
    with db.write() as s:
        create_org(s, code="BF", name="bench federation", kind="federation")
        reviewer = create_user(s, username="br", password="ledger-oak-7315-quiet", role="reviewer", org="BF")
        review_token = issue_token(s, reviewer)
        for i in range(clients):
            create_org(s, code=f"BE{i}", name=f"bench enterprise {i}", kind="enterprise", parent="BF", employees=10)
            prep = create_user(s, username=f"bp{i}", password="ledger-oak-7315-quiet", role="preparer", org=f"BE{i}")
            case = engine.create_case(s, "bench", f"BE{i}", Actor.of(prep), {})
            out.append({"case": case.id, "prep": issue_token(s, prep), "review": review_token})
    db.dispose()
    return out


def _request(path: str, token: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload


class _Connection:
    """A keep-alive HTTP/1.1 connection that sends prepared requests and reads whole answers.

    A load generator should cost the machine little: http.client's parsing
    took CPU from the server it shares two cores with.
    """

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def exchange(self, request: bytes) -> int:
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = next((int(line.split(b":", 1)[1]) for line in lines[1:]
                       if line.lower().startswith(b"content-length:")), 0)
        while len(self.buffer) < length:
            self._fill()
        self.buffer = self.buffer[length:]
        return status

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def _client(port: int, job: dict[str, Any], until: float, latencies: list[float], errors: list[int]) -> None:
    path = f"/api/v1/cases/{job['case']}/events"
    steps = [_request(path, job["prep"], {"trigger": "hold", "data": {"amount": 5}}),
             _request(path, job["review"], {"trigger": "release", "data": {}})]
    conn = _Connection(port)
    i = 0
    while time.perf_counter() < until:
        start = time.perf_counter()
        try:
            status = conn.exchange(steps[i % 2])
        except TimeoutError:  # no answer for the socket's whole timeout: a starved client is a failure
            errors.append(408)
            break
        except OSError:
            conn.close()  # the server closed an idle connection: open a new one and try again
            conn = _Connection(port)
            continue
        elapsed = time.perf_counter() - start
        if status != 200:
            errors.append(status)
            break
        latencies.append(elapsed)
        i += 1
    conn.close()


def server_command(server: str, port: int, workers: int, threads: int) -> list[str]:
    """The command that serves the benchmark app: granian as the README deploys it, or gunicorn's gthread."""
    if server == "granian":
        return [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", str(workers),
                "--blocking-threads", str(threads), "--host", "127.0.0.1", "--port", str(port),
                "--log-level", "warning", "--no-ws", "bench.wsgi_bench:app"]
    from gunicorn.config import KNOWN_SETTINGS

    # each worker takes no more connections than it has threads, so that keep-alive clients spread over them
    args = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "gthread",
            "--threads", str(threads), "--worker-connections", str(threads), "--bind", f"127.0.0.1:{port}",
            "--log-level", "warning"]
    if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
        args.append("--no-control-socket")  # gunicorn 27 would open one under the home directory
    return [*args, "bench.wsgi_bench:app"]


def run(seconds: float = 10.0, clients: int = 16, workers: int = 2, threads: int = 1,
        url: str | None = None, server: str = "granian") -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{tmp}/http.db"
        jobs = _prepare(url, clients)
        port = _free_port()
        # as in production: every request writes its JSON log line (here to a file)
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-secret", "UNIONFLOW_ENV": "production",
               "UNIONFLOW_LOG_LEVEL": "INFO"}
        log = open(Path(tmp) / "server.log", "wb")
        proc = subprocess.Popen(server_command(server, port, workers, threads), cwd=ROOT, env=env,
                                start_new_session=True, stdout=log, stderr=log)
        try:
            _wait_for(port, proc)
            latencies: list[float] = []
            errors: list[int] = []
            until = time.perf_counter() + seconds
            pool = [threading.Thread(target=_client, args=(port, job, until, latencies, errors)) for job in jobs]
            start = time.perf_counter()
            for t in pool:
                t.start()
            for t in pool:
                t.join(seconds + 60)
            elapsed = time.perf_counter() - start
            peak_mb = _worker_peak_mb(proc.pid)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
            log.close()
        if errors:
            raise RuntimeError(f"the server answered {sorted(set(errors))} during the benchmark")
        latencies.sort()
        return {
            "http_steps_per_s": round(len(latencies) / elapsed, 1),
            "http_p50_ms": round(1000 * statistics.median(latencies), 2),
            "http_p99_ms": round(1000 * latencies[int(len(latencies) * 0.99) - 1], 2),
            "http_server": server,
            "http_clients": clients,
            "http_workers": workers,
            "http_threads": threads,
            "worker_peak_mb": peak_mb,
        }


def _worker_peak_mb(master: int) -> float:
    """The largest peak resident size (VmHWM) among the server's worker processes, in MB."""
    peaks = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master) and "VmHWM" in fields:
            peaks.append(int(fields["VmHWM"].split()[0]) / 1024)
    return round(max(peaks), 1) if peaks else float("nan")


def _wait_for(port: int, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server stopped while starting")
        try:  # every worker must be up, not just the listening socket
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start in time")
