"""PostgreSQL at city scale: several processes and two app servers on one database, against raw psycopg.

Every measure here runs the same number of processes (or clients) for the
same time on a fresh schema of the given database, and counts committed
steps. Each process owns its own case, so that what they share is what the
design shares (the trail's head), not a case's row lock:

* `engine`: processes firing steps through `Engine.fire`, one commit a step;
* `raw_same`: psycopg doing the very statements the engine's step runs (lock the
  case, update it, lock the trail's head, insert the chained entry, move the
  head), one round trip a statement;
* `raw_minimal`: psycopg doing a minimal step (lock the case, update it, insert
  an entry numbered by a sequence, no shared head) — what the work needs;
* `commits`: one-row insert transactions, the database's own commit rate on this
  disk (the physical limit of any design that commits once a step);
* `http_two_servers`: two granian servers on two ports (as two hosts would run
  them: each its own workers, one database), clients spread over both.

Processes start together on a barrier and stop at a deadline; the rate is the
steps all of them committed over the time they ran.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import http_path
from .engine_path import _database, bench_catalog

ROOT = Path(__file__).resolve().parents[1]


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _prepare(url: str, n: int) -> list[tuple[int, str]]:
    """Migrate; one federation reviewer and, per process, an enterprise, its preparer and one case."""
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from services.accounts import create_org, create_user, set_password_hasher
    from storage import Database, migrate
    from workflow import Actor, Engine

    set_password_hasher(PasswordHasher.from_parameters(CHEAPEST))
    migrate.upgrade(url)
    db = Database(url)
    engine = Engine(bench_catalog())
    out = []
    with db.write() as s:
        create_org(s, code="BF", name="bench federation", kind="federation")
        create_user(s, username="br", password="ledger-oak-7315-quiet", role="reviewer", org="BF")
        for i in range(n):
            create_org(s, code=f"BE{i}", name=f"bench enterprise {i}", kind="enterprise", parent="BF", employees=10)
            prep = create_user(s, username=f"bp{i}", password="ledger-oak-7315-quiet", role="preparer", org=f"BE{i}")
            out.append((engine.create_case(s, "bench", f"BE{i}", Actor.of(prep), {}).id, f"bp{i}"))
    db.dispose()
    return out


# -- the workers (module level: they run in spawned processes) ---------------------------------------

def _engine_worker(url: str, case_id: int, preparer: str, barrier: Any, seconds: float, out: Any) -> None:
    from storage import Database
    from workflow import Actor, Engine, User

    db = Database(url)
    engine = Engine(bench_catalog())
    with db.read() as s:
        from sqlalchemy import select

        prep = Actor.of(s.scalars(select(User).where(User.username == preparer)).one())
        rev = Actor.of(s.scalars(select(User).where(User.username == "br")).one())
    barrier.wait()
    until, done, i = time.perf_counter() + seconds, 0, 0
    while time.perf_counter() < until:
        with db.write() as s:
            engine.fire(s, case_id, "hold", prep, {"amount": i % 500})
        with db.write() as s:
            engine.fire(s, case_id, "release", rev)
        done, i = done + 2, i + 1
    db.dispose()
    out.put(done)


def _raw_same_worker(url: str, case_id: int, _preparer: str, barrier: Any, seconds: float, out: Any) -> None:
    import json

    import psycopg

    from audit.chain import canonical_json, entry_hash, format_at
    from storage import utcnow

    conn = psycopg.connect(_psycopg_url(url), autocommit=True)
    cur = conn.cursor()
    columns = ("seq", "at", "actor", "role", "subject_type", "subject_id", "trigger", "from_state", "to_state",
               "version", "comment", "data", "prev_hash", "hash")
    insert_entry = f"INSERT INTO audit_entries ({', '.join(columns)}) VALUES ({', '.join(['%s'] * 14)})"
    flip = {"open": ("hold", "held", "preparer"), "held": ("release", "open", "reviewer")}
    barrier.wait()
    until, done, i = time.perf_counter() + seconds, 0, 0
    while time.perf_counter() < until:
        cur.execute("BEGIN")
        cur.execute("SELECT state, version, data, fired_by FROM cases WHERE id = %s FOR UPDATE", (case_id,))
        state, version, data, fired_by = cur.fetchone()
        trigger, dest, role = flip[state]
        if trigger == "hold":
            data["amount"] = i % 500
        fired_by[trigger] = [1, version + 1]
        now = utcnow()
        cur.execute("UPDATE cases SET data = %s, fired_by = %s, state = %s, state_since = %s, updated_at = %s,"
                    " version = %s WHERE id = %s",
                    (json.dumps(data), json.dumps(fired_by), dest, now, now, version + 1, case_id))
        cur.execute("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
        seq, prev = cur.fetchone()
        entry = dict(seq=seq + 1, at=format_at(now), actor="bench", role=role, subject_type="case",
                     subject_id=str(case_id), trigger=trigger, from_state=state, to_state=dest,
                     version=version + 1, comment="", data=canonical_json({"amount": i % 500}), prev_hash=prev)
        entry["hash"] = entry_hash(**entry)
        entry["at"] = now
        cur.execute(insert_entry, tuple(entry[c] for c in columns))
        cur.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (seq + 1, entry["hash"]))
        cur.execute("COMMIT")
        done, i = done + 1, i + 1
    conn.close()
    out.put(done)


MINIMAL_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS min_cases (id integer PRIMARY KEY, state text, version integer, data jsonb)",
    "CREATE TABLE IF NOT EXISTS min_entries (seq bigserial PRIMARY KEY, at timestamptz, actor text,"
    " case_id integer, trigger text, from_state text, to_state text, version integer, data text, hash text)",
    "CREATE TABLE IF NOT EXISTS min_commits (id bigserial PRIMARY KEY, at timestamptz)",
)


def _raw_minimal_worker(url: str, case_id: int, _preparer: str, barrier: Any, seconds: float, out: Any) -> None:
    import hashlib
    import json

    import psycopg

    conn = psycopg.connect(_psycopg_url(url), autocommit=True)
    cur = conn.cursor()
    cur.execute("INSERT INTO min_cases VALUES (%s, 'open', 1, '{}') ON CONFLICT DO NOTHING", (case_id,))
    flip = {"open": ("hold", "held"), "held": ("release", "open")}
    barrier.wait()
    until, done, i = time.perf_counter() + seconds, 0, 0
    while time.perf_counter() < until:
        cur.execute("BEGIN")
        cur.execute("SELECT state, version FROM min_cases WHERE id = %s FOR UPDATE", (case_id,))
        state, version = cur.fetchone()
        trigger, dest = flip[state]
        data = json.dumps({"amount": i % 500}, sort_keys=True)
        cur.execute("UPDATE min_cases SET state = %s, version = %s, data = %s WHERE id = %s",
                    (dest, version + 1, data, case_id))
        digest = hashlib.sha256(f"{case_id}\n{trigger}\n{version + 1}\n{data}".encode()).hexdigest()
        cur.execute("INSERT INTO min_entries (at, actor, case_id, trigger, from_state, to_state, version, data, hash)"
                    " VALUES (now(), 'bench', %s, %s, %s, %s, %s, %s, %s)",
                    (case_id, trigger, state, dest, version + 1, data, digest))
        cur.execute("COMMIT")
        done, i = done + 1, i + 1
    conn.close()
    out.put(done)


def _commit_worker(url: str, _case_id: int, _preparer: str, barrier: Any, seconds: float, out: Any) -> None:
    import psycopg

    conn = psycopg.connect(_psycopg_url(url), autocommit=True)
    cur = conn.cursor()
    barrier.wait()
    until, done = time.perf_counter() + seconds, 0
    while time.perf_counter() < until:
        cur.execute("INSERT INTO min_commits (at) VALUES (now())")
        done += 1
    conn.close()
    out.put(done)


WORKERS: dict[str, Callable[..., None]] = {
    "engine": _engine_worker,
    "raw_same": _raw_same_worker,
    "raw_minimal": _raw_minimal_worker,
    "commits": _commit_worker,
}


def processes(url: str, kind: str, procs: int, seconds: float = 5.0) -> float:
    """Steps (or commits) a second that `procs` processes of `kind` commit together on a fresh schema."""
    import psycopg

    ctx = multiprocessing.get_context("spawn")
    with _database(url, f"_{kind}{procs}") as schema_url:
        cases = _prepare(schema_url, procs)
        with psycopg.connect(_psycopg_url(schema_url), autocommit=True) as conn:
            for statement in MINIMAL_SCHEMA:
                conn.execute(statement)
        barrier, out = ctx.Barrier(procs + 1), ctx.Queue()
        pool = [ctx.Process(target=WORKERS[kind], args=(schema_url, case_id, prep, barrier, seconds, out))
                for case_id, prep in cases]
        for p in pool:
            p.start()
        barrier.wait(timeout=120)
        start = time.perf_counter()
        counts = [out.get(timeout=seconds + 120) for _ in pool]
        elapsed = time.perf_counter() - start
        for p in pool:
            p.join(30)
        if any(p.exitcode for p in pool):
            raise RuntimeError(f"a {kind} process failed")
    return sum(counts) / elapsed


def http_two_servers(url: str, seconds: float = 10.0, clients: int = 32, workers: int = 2) -> dict[str, float]:
    """Two granian servers on two ports sharing one PostgreSQL schema, `clients` clients spread over both."""
    with _database(url, "_http2") as schema_url:
        jobs = http_path._prepare(schema_url, clients)
        env = {**os.environ, "DATABASE_URL": schema_url, "SECRET_KEY": "bench-secret",
               "UNIONFLOW_ENV": "production", "UNIONFLOW_LOG_LEVEL": "WARNING"}
        ports = [http_path._free_port(), http_path._free_port()]
        servers = [subprocess.Popen(http_path.server_command("granian", port, workers, 1), cwd=ROOT, env=env,
                                    start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for port in ports]
        try:
            for port, server in zip(ports, servers, strict=True):
                http_path._wait_for(port, server)
            latencies: list[float] = []
            errors: list[int] = []
            until = time.perf_counter() + seconds
            pool = [threading.Thread(target=http_path._client, args=(ports[i % 2], job, until, latencies, errors))
                    for i, job in enumerate(jobs)]
            start = time.perf_counter()
            for t in pool:
                t.start()
            for t in pool:
                t.join(seconds + 60)
            elapsed = time.perf_counter() - start
        finally:
            for server in servers:
                os.killpg(server.pid, signal.SIGTERM)
            for server in servers:
                server.wait(30)
    if errors:
        raise RuntimeError(f"the servers answered {sorted(set(errors))} during the benchmark")
    latencies.sort()
    return {"steps_per_s": len(latencies) / elapsed, "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1]}


def run(url: str, runs: int = 3, seconds: float = 5.0, http_seconds: float = 10.0) -> dict[str, Any]:
    """Every measure `runs` times, interleaved (each run measures every contender once); medians and spreads."""
    measured: dict[str, list[float]] = {}
    http_runs: list[dict[str, float]] = []
    for _ in range(runs):
        for kind, counts in (("engine", (1, 2, 4)), ("raw_same", (1, 4)), ("raw_minimal", (1, 4)),
                             ("commits", (4,))):
            for procs in counts:
                measured.setdefault(f"{kind}_{procs}p", []).append(processes(url, kind, procs, seconds))
        http_runs.append(http_two_servers(url, http_seconds))
    out: dict[str, Any] = {}
    for name, values in measured.items():
        key = {"engine": "pg_engine", "raw_same": "pg_raw_same", "raw_minimal": "pg_raw_minimal",
               "commits": "pg_commits"}[name.rsplit("_", 1)[0]] + f"_{name.rsplit('_', 1)[1]}"
        out[f"{key}_steps_per_s" if not key.startswith("pg_commits") else f"{key}_per_s"] = \
            round(statistics.median(values), 1)
        out[f"{key}_runs"] = [round(v, 1) for v in values]
    ratios = [e / r for e, r in zip(measured["engine_4p"], measured["raw_minimal_4p"], strict=True)]
    out["pg_engine_4p_vs_raw_minimal_4p"] = round(statistics.median(ratios), 3)
    out["pg_engine_4p_vs_raw_same_4p"] = round(statistics.median(
        [e / r for e, r in zip(measured["engine_4p"], measured["raw_same_4p"], strict=True)]), 3)
    out["pg_http_2servers_steps_per_s"] = round(statistics.median(r["steps_per_s"] for r in http_runs), 1)
    out["pg_http_2servers_p50_ms"] = round(statistics.median(r["p50_ms"] for r in http_runs), 2)
    out["pg_http_2servers_p99_ms"] = round(statistics.median(r["p99_ms"] for r in http_runs), 2)
    out["pg_http_2servers_runs"] = [{k: round(v, 2) for k, v in r.items()} for r in http_runs]
    return out


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(sys.argv[1], runs=int(sys.argv[2]) if len(sys.argv) > 2 else 1,
                         seconds=float(sys.argv[3]) if len(sys.argv) > 3 else 3.0), indent=2))
