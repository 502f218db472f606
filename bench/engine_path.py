"""Engine path vs raw sqlite3: the same state change and chained audit insert, one commit per step."""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from definitions import Catalog
from definitions.loader import PROFILES_DIR, REASONS_DIR

HERE = Path(__file__).resolve().parent


def bench_catalog() -> Catalog:
    from workflow import checked_catalog

    return checked_catalog(extra=("bench.bench",), profiles_dir=PROFILES_DIR, reasons_dir=REASONS_DIR)


def _setup(url: str) -> tuple[Any, Any, int, Any, Any]:
    """Migrate, then one enterprise under a federation, a preparer, a reviewer and one case."""
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from services.accounts import create_org, create_user, set_password_hasher
    from storage import Database, migrate
    from workflow import Actor, Engine

    set_password_hasher(PasswordHasher.from_parameters(CHEAPEST))
    migrate.upgrade(url)
    db = Database(url)
    engine = Engine(bench_catalog())
    with db.write() as s:
        create_org(s, code="BF", name="bench federation", kind="federation")
        create_org(s, code="BE", name="bench enterprise", kind="enterprise", parent="BF", employees=100)
        prep = Actor.of(create_user(s, username="bp", password="ledger-oak-7315-quiet", role="preparer", org="BE"))
        rev = Actor.of(create_user(s, username="br", password="ledger-oak-7315-quiet", role="reviewer", org="BF"))
    with db.write() as s:
        case_id = engine.create_case(s, "bench", "BE", prep, {}).id
    return db, engine, case_id, prep, rev


@contextmanager
def _database(url: str | None, tag: str = "") -> Iterator[str]:
    """A fresh SQLite file, or a fresh schema of the given PostgreSQL database, dropped afterwards
    (`tag` tells apart the schemas one process uses at once)."""
    if url is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    from sqlalchemy import create_engine, text

    from storage import normalise_url

    schema = f"uf_bench_{os.getpid()}{tag}"
    admin = create_engine(normalise_url(url))
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def engine_steps_per_s(steps: int, url: str | None = None, tree: bool = True) -> float:
    """Fire `steps` steps through Engine.fire, each in its own unit of work (commit). With `tree` false the
    trail is kept without its Merkle tree (the baseline of `tree_steps_ratio`)."""
    with _database(url) as url:
        db, engine, case_id, prep, rev = _setup(url)
        if not tree:
            from sqlalchemy import text

            with db.write() as s:  # a tree size the trail never reaches: appends leave the tree alone
                s.execute(text("UPDATE audit_head SET tree_size = -1 WHERE id = 1"))
        start = time.perf_counter()
        for i in range(steps // 2):
            with db.write() as s:
                engine.fire(s, case_id, "hold", prep, {"amount": i % 500})
            with db.write() as s:
                engine.fire(s, case_id, "release", rev)
        elapsed = time.perf_counter() - start
        db.dispose()
    return (steps // 2 * 2) / elapsed


def tree_pair_steps_per_s(steps: int, url: str | None = None, block: int = 50) -> tuple[float, float]:
    """The engine's steps/s with and without the Merkle tree, measured interleaved: blocks of `block` steps
    alternate between two databases, one keeping its tree and one not (each block's order alternating too),
    so that whatever else the machine is doing falls on both alike."""
    from sqlalchemy import text

    with _database(url, "t") as with_tree, _database(url, "n") as without_tree:
        pair = [_setup(with_tree), _setup(without_tree)]
        with pair[1][0].write() as s:  # a tree size the trail never reaches: appends leave the tree alone
            s.execute(text("UPDATE audit_head SET tree_size = -1 WHERE id = 1"))
        elapsed, done = [0.0, 0.0], 0
        rounds = max(1, steps // block)
        for r in range(rounds):
            for k in ((0, 1) if r % 2 == 0 else (1, 0)):
                db, engine, case_id, prep, rev = pair[k]
                start = time.perf_counter()
                for i in range(block // 2):
                    with db.write() as s:
                        engine.fire(s, case_id, "hold", prep, {"amount": i % 500})
                    with db.write() as s:
                        engine.fire(s, case_id, "release", rev)
                elapsed[k] += time.perf_counter() - start
            done += block // 2 * 2
        for db, *_rest in pair:
            db.dispose()
    return done / elapsed[0], done / elapsed[1]


_ENTRY = ("seq", "at", "actor", "role", "subject_type", "subject_id", "trigger", "from_state", "to_state",
          "version", "comment", "data", "prev_hash", "hash")


def raw_steps_per_s(steps: int, url: str | None = None) -> float:
    """The database's own limit for the same work, on the same schema, in plain DBAPI calls.

    Per step, as the engine: begin (IMMEDIATE on SQLite), read and lock the
    case, update its state, version, data and timestamps, lock the trail's
    head, insert the SHA-256-chained entry (the same canonical form), move the
    head, commit. No roles, competence, four eyes, guards or validation.
    """
    from audit.chain import canonical_json, entry_hash, format_at
    from storage import utcnow

    with _database(url) as url:
        db, _engine, case_id, _prep, _rev = _setup(url)
        db.dispose()
        postgres = url.startswith("postgres")
        if postgres:
            import psycopg

            conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
            begin, lock, mark = "BEGIN", " FOR UPDATE", "%s"
        else:
            conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                conn.execute(f"PRAGMA {pragma}")
            begin, lock, mark = "BEGIN IMMEDIATE", "", "?"

        def q(sql: str) -> str:
            return sql.replace("?", mark)

        select_case = q(f"SELECT state, version, data, fired_by FROM cases WHERE id = ?{lock}")
        # as the engine, only the columns the step changes: the reviewer's step records no data
        update_held = q("UPDATE cases SET data = ?, fired_by = ?, state = ?, state_since = ?, updated_at = ?,"
                        " version = ? WHERE id = ?")
        update_released = q("UPDATE cases SET fired_by = ?, state = ?, state_since = ?, updated_at = ?,"
                            " version = ? WHERE id = ?")
        select_head = q(f"SELECT seq, hash FROM audit_head WHERE id = 1{lock}")
        insert_entry = q(f"INSERT INTO audit_entries ({', '.join(_ENTRY)}) VALUES ({', '.join('?' * 14)})")
        move_head = q("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1")
        flip = {"open": ("hold", "held", "preparer"), "held": ("release", "open", "reviewer")}
        cur = conn.cursor()
        start = time.perf_counter()
        for i in range(steps):
            cur.execute(begin)
            cur.execute(select_case, (case_id,))
            state, version, data, fired_by = cur.fetchone()
            data, fired_by = (data, fired_by) if postgres else (json.loads(data), json.loads(fired_by))
            trigger, dest, role = flip[state]
            if trigger == "hold":
                data["amount"] = i % 500
            fired_by[trigger] = [1, version + 1]
            now = utcnow()
            stamp = now if postgres else now.isoformat(" ")
            if trigger == "hold":
                cur.execute(update_held, (json.dumps(data), json.dumps(fired_by), dest, stamp, stamp, version + 1,
                                          case_id))
            else:
                cur.execute(update_released, (json.dumps(fired_by), dest, stamp, stamp, version + 1, case_id))
            cur.execute(select_head)
            seq, prev = cur.fetchone()
            entry = dict(seq=seq + 1, at=format_at(now), actor="bench", role=role, subject_type="case",
                         subject_id=str(case_id), trigger=trigger, from_state=state, to_state=dest,
                         version=version + 1, comment="", data=canonical_json({"amount": i % 500}), prev_hash=prev)
            entry["hash"] = entry_hash(**entry)
            entry["at"] = stamp
            cur.execute(insert_entry, tuple(entry[c] for c in _ENTRY))
            cur.execute(move_head, (seq + 1, entry["hash"]))
            cur.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
    return steps / elapsed


def raw_sqlite_minimal_steps_per_s(steps: int) -> float:
    """For reference: the same loop on three bare tables (no indexes, no foreign keys)."""
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
