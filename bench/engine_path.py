"""Engine path vs raw sqlite3: the same state change and chained audit insert, one commit per step."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from definitions import Catalog
from definitions.loader import PROFILES_DIR, REASONS_DIR, WORKFLOWS_DIR

HERE = Path(__file__).resolve().parent


def bench_catalog() -> Catalog:
    import bench.rules  # noqa: F401  (registers the guard)
    from workflow.catalog import checked_catalog

    return checked_catalog(workflows_dir=WORKFLOWS_DIR, profiles_dir=PROFILES_DIR, reasons_dir=REASONS_DIR,
                           extra_workflow_dirs=(HERE / "definitions",))


def engine_steps_per_s(steps: int, url: str | None = None) -> float:
    """Fire `steps` steps through Engine.fire, each in its own unit of work (commit)."""
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from storage import Database, migrate
    from workflow import Actor, Engine
    from workflow.accounts import create_org, create_user, set_password_hasher

    set_password_hasher(PasswordHasher.from_parameters(CHEAPEST))
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        db = Database(url)
        engine = Engine(bench_catalog())
        with db.write() as s:
            create_org(s, code="BF", name="bench federation", kind="federation")
            create_org(s, code="BE", name="bench enterprise", kind="enterprise", parent="BF", employees=100)
            prep = Actor.of(create_user(s, username="bp", password="bench-password", role="preparer", org="BE"))
            rev = Actor.of(create_user(s, username="br", password="bench-password", role="reviewer", org="BF"))
        with db.write() as s:
            case_id = engine.create_case(s, "bench", "BE", prep, {}).id
        start = time.perf_counter()
        for i in range(steps // 2):
            with db.write() as s:
                engine.fire(s, case_id, "hold", prep, {"amount": i % 500})
            with db.write() as s:
                engine.fire(s, case_id, "release", rev)
        elapsed = time.perf_counter() - start
        db.dispose()
    return (steps // 2 * 2) / elapsed


def raw_sqlite_steps_per_s(steps: int) -> float:
    """The floor: check the state, update it, append a SHA-256-chained row, commit — in plain sqlite3."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(f"{tmp}/raw.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(
            "CREATE TABLE cases (id INTEGER PRIMARY KEY, state TEXT, version INTEGER);"
            "CREATE TABLE audit (seq INTEGER PRIMARY KEY, at TEXT, actor TEXT, case_id INTEGER, trigger TEXT,"
            " from_state TEXT, to_state TEXT, version INTEGER, data TEXT, prev_hash TEXT, hash TEXT);"
            "CREATE TABLE head (id INTEGER PRIMARY KEY, seq INTEGER, hash TEXT);"
            "INSERT INTO cases VALUES (1, 'open', 1); INSERT INTO head VALUES (1, 0, '');"
        )
        flip = {"open": ("hold", "held"), "held": ("release", "open")}
        start = time.perf_counter()
        for i in range(steps):
            conn.execute("BEGIN IMMEDIATE")
            state, version = conn.execute("SELECT state, version FROM cases WHERE id = 1").fetchone()
            trigger, dest = flip[state]
            conn.execute("UPDATE cases SET state = ?, version = ? WHERE id = 1", (dest, version + 1))
            seq, prev = conn.execute("SELECT seq, hash FROM head WHERE id = 1").fetchone()
            at = time.strftime("%Y-%m-%dT%H:%M:%S")
            data = json.dumps({"amount": i % 500}, sort_keys=True)
            digest = hashlib.sha256(json.dumps([seq + 1, at, "u", 1, trigger, state, dest, version + 1, prev])
                                    .encode() + b"\n" + data.encode()).hexdigest()
            conn.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                         (seq + 1, at, "u", 1, trigger, state, dest, version + 1, data, prev, digest))
            conn.execute("UPDATE head SET seq = ?, hash = ? WHERE id = 1", (seq + 1, digest))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
    return steps / elapsed
