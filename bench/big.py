"""A large installation: 100,000 cases and a million audit entries; verify and page timings on it.

The data starts from the demonstration set (real cases walked through the
engine, with their real data and trails). Its cases are then cloned, each
clone in the same organisation as its original with its original's trail
re-chained under the clone's id, until there are `cases` cases; entries of an
opaque subject type then bring the trail to `entries`. Every clone's state
and version match its last entry, so the trail verifies as it would in a
real installation of that size.

The measures: `audit.verify` exactly as `flask audit verify` runs it
(entries per second), and the case page, the review queue and the case list
served by the app (p50 / p95 in milliseconds).
"""
from __future__ import annotations

import random
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any, Iterator

from audit.chain import entry_hash

ENTRY_COLUMNS = ("seq", "at", "actor", "role", "subject_type", "subject_id", "trigger", "from_state", "to_state",
                 "version", "comment", "data", "prev_hash", "hash")
FILLER_TYPE = "bench_note"  # entries of a subject type no owner compares: chained and hashed like any other


def _hash_at(stored: str) -> str:
    """The hashed form of a timestamp as SQLite stores it ('YYYY-MM-DD HH:MM:SS.ffffff')."""
    return stored.replace(" ", "T") + "Z"


def build(app: Any, cases: int, entries: int) -> dict[str, int]:
    """Grow the app's (SQLite) database to `cases` cases and `entries` audit entries."""
    from web.demo import load_demo
    from web.extensions import get_db

    with app.app_context():
        load_demo(app)
        path = get_db(app).url.split("///", 1)[1]
        get_db(app).dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        conn.execute("BEGIN IMMEDIATE")
        stats = _grow(conn, cases, entries)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return stats


def _grow(conn: sqlite3.Connection, cases: int, entries: int) -> dict[str, int]:
    case_cols = [r[1] for r in conn.execute("PRAGMA table_info(cases)")]
    originals = conn.execute(f"SELECT {', '.join(case_cols)} FROM cases ORDER BY id").fetchall()
    trails: dict[str, list[tuple]] = {}
    for row in conn.execute(f"SELECT {', '.join(ENTRY_COLUMNS)} FROM audit_entries WHERE subject_type = 'case' "
                            "ORDER BY seq"):
        trails.setdefault(row[5], []).append(row)
    seq, prev = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    next_id = conn.execute("SELECT max(id) FROM cases").fetchone()[0] + 1
    id_at, key_at = case_cols.index("id"), case_cols.index("unique_key")

    def chained(rows: Iterator[tuple]) -> Iterator[tuple]:
        nonlocal seq, prev
        for r in rows:
            seq += 1
            fields = dict(zip(ENTRY_COLUMNS, r))
            fields.update(seq=seq, prev_hash=prev)
            fields["hash"] = entry_hash(**{k: v for k, v in fields.items() if k != "hash"} | {"at": _hash_at(r[1])})
            prev = fields["hash"]
            yield tuple(fields[c] for c in ENTRY_COLUMNS)

    insert_case = f"INSERT INTO cases ({', '.join(case_cols)}) VALUES ({', '.join('?' * len(case_cols))})"
    insert_entry = f"INSERT INTO audit_entries ({', '.join(ENTRY_COLUMNS)}) VALUES ({', '.join('?' * 14)})"
    existing = len(originals)
    total = conn.execute("SELECT count(*) FROM audit_entries").fetchone()[0]
    clone_rows: list[tuple] = []
    clone_entries: list[tuple] = []
    for i in range(max(0, cases - existing)):
        original = originals[i % existing]
        trail = trails.get(str(original[id_at]), [])
        if total + len(trail) > entries:
            break
        row = list(original)
        row[id_at], row[key_at] = next_id, None
        clone_rows.append(tuple(row))
        clone_entries.extend(r[:5] + (str(next_id),) + r[6:] for r in trail)
        total += len(trail)
        next_id += 1
    conn.executemany(insert_case, clone_rows)
    conn.executemany(insert_entry, chained(iter(clone_entries)))
    at = conn.execute("SELECT at FROM audit_entries ORDER BY seq DESC LIMIT 1").fetchone()[0]
    filler = ((0, at, "bench", "admin", FILLER_TYPE, str(n % 1000), "note", None, None, None, "", "{}", "", "")
              for n in range(entries - total))
    conn.executemany(insert_entry, chained(filler))
    conn.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
    _grow_tree(conn)
    return {"cases": existing + len(clone_rows), "entries": seq}


def _grow_tree(conn: sqlite3.Connection) -> None:
    """The Merkle tree rows of the entries written above, as the engine's appends would have written them."""
    from audit.tree import decode_frontier, encode_frontier, extend

    size, text = conn.execute("SELECT tree_size, frontier FROM audit_head WHERE id = 1").fetchone()
    frontier = decode_frontier(text)
    while True:
        hashes = [h for (h,) in conn.execute("SELECT hash FROM audit_entries WHERE seq > ? ORDER BY seq LIMIT 50000",
                                             (size,))]
        if not hashes:
            break
        conn.executemany("INSERT INTO audit_tree (idx, nodes) VALUES (?, ?)", extend(frontier, size, hashes))
        size += len(hashes)
    conn.execute("UPDATE audit_head SET tree_size = ?, frontier = ? WHERE id = 1", (size, encode_frontier(frontier)))


def verify_entries_per_s(app: Any) -> tuple[float, int]:
    """`flask audit verify`'s work, timed: the whole chain and every case against its last entry."""
    import audit
    from web.cli import verify_workers
    from web.extensions import get_db, get_engine

    with app.app_context():
        db, engine = get_db(app), get_engine(app)
        start = time.perf_counter()
        with db.read(snapshot=True) as session:
            result = audit.verify(session, lambda: engine.subjects(session), workers=verify_workers())
        elapsed = time.perf_counter() - start
    if not result.ok:
        raise RuntimeError(f"the benchmark's trail does not verify: {result.first_bad}")
    return result.checked / elapsed, result.checked


def _login(client: Any, username: str, password: str) -> None:
    response = client.post("/login", data={"username": username, "password": password})
    if response.status_code != 302:
        raise RuntimeError(f"could not log in as {username} ({response.status_code})")


def _timed(client: Any, paths: list[str]) -> list[float]:
    out = []
    for path in paths:
        start = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def page_times(app: Any, samples: int) -> dict[str, dict[str, float]]:
    """p50 / p95 of the three busiest pages, as a reviewer and a preparer of the demo see them."""
    from sqlalchemy import select

    from web.demo import DEMO_PASSWORD
    from web.extensions import get_db
    from workflow import Case, Organisation

    with app.app_context(), get_db(app).read() as session:
        ids = list(session.scalars(select(Case.id).join(Organisation, Organisation.id == Case.org_id)
                                   .where(Organisation.code == "ENT-PREC")))
    rng = random.Random(7)
    reviewer, preparer = app.test_client(), app.test_client()
    _login(reviewer, "fed_li", DEMO_PASSWORD)
    _login(preparer, "prep_prec", DEMO_PASSWORD)
    pages = {
        "case_page": (preparer, [f"/cases/{rng.choice(ids)}" for _ in range(samples)]),
        "review_queue": (reviewer, [f"/review?page={rng.randint(1, 50)}" for _ in range(samples)]),
        "case_list": (reviewer, [f"/cases?page={rng.randint(1, 50)}" for _ in range(samples)]),
    }
    out = {}
    for name, (client, paths) in pages.items():
        _timed(client, paths[:5])  # warm the templates and the statement caches
        times = _timed(client, paths)
        out[name] = {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(_p(times, 0.95), 2)}
    return out


def proof_times(app: Any, samples: int) -> dict[str, float]:
    """Inclusion and consistency proofs over the API (an administrator's token), p95 in milliseconds; and
    `flask audit verify --checkpoint` against a signed note of 90 % of the trail, in seconds."""
    import tempfile

    from audit import checkpoint as checkpoints
    from audit import tree
    from services.accounts import create_user, issue_token
    from web.extensions import get_db

    with app.app_context():
        with get_db(app).write() as session:
            user = create_user(session, username="bench-proofs", password="ledger-oak-7315-quiet", role="admin")
            token = issue_token(session, user)
        with get_db(app).read() as session:
            size = tree.tree_head(session).size
            old = max(1, size * 9 // 10)
            old_root = tree.root_at(session, old)
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    rng = random.Random(9162)

    def timed(paths: list[str]) -> list[float]:
        out = []
        for path in paths:
            start = time.perf_counter()
            resp = client.get(path, headers=headers)
            out.append((time.perf_counter() - start) * 1000)
            if resp.status_code != 200:
                raise RuntimeError(f"{path}: {resp.status_code} {resp.get_data(as_text=True)[:200]}")
        return out

    timed([f"/api/v1/audit/entries/{rng.randint(1, size)}/proof" for _ in range(20)])  # warm: a running server
    timed([f"/api/v1/audit/consistency?from={rng.randint(1, size)}" for _ in range(20)])
    inclusion = timed([f"/api/v1/audit/entries/{rng.randint(1, size)}/proof" for _ in range(samples)])
    consistency = timed([f"/api/v1/audit/consistency?from={rng.randint(1, size)}" for _ in range(samples)])
    key = checkpoints.generate_key()
    with tempfile.TemporaryDirectory() as tmp:
        note, public = Path(tmp, "cp.note"), Path(tmp, "office.pub")
        note.write_text(checkpoints.sign_note(checkpoints.DEFAULT_ORIGIN, old, old_root, key), encoding="utf-8")
        public.write_bytes(checkpoints.public_key_pem(key.public_key()))
        start = time.perf_counter()
        result = app.test_cli_runner().invoke(args=["audit", "verify", "--checkpoint", str(note), "--public-key",
                                                    str(public)])
        checkpoint_s = time.perf_counter() - start
    if result.exit_code != 0:
        raise RuntimeError(f"verify --checkpoint failed: {result.output}")
    return {"proof_inclusion_p95_ms": round(_p(inclusion, 0.95), 2),
            "proof_consistency_p95_ms": round(_p(consistency, 0.95), 2),
            "checkpoint_verify_s": round(checkpoint_s, 3), "checkpoint_entries": old}


def work_times(app: Any, samples: int) -> dict[str, float]:
    """The work (办理时限): the task list of a federation reviewer over the API and as a page, p95 in
    milliseconds; then one deadline sweep over every open case (writing its reminders, escalations and
    notifications) and a second sweep the same day, which finds everything sent and writes nothing."""
    from services.accounts import find_user, issue_token
    from services.work import sweep
    from web.demo import DEMO_PASSWORD
    from web.extensions import get_db, get_engine

    with app.app_context(), get_db(app).write() as session:
        token = issue_token(session, find_user(session, "fed_li"))
    headers = {"Authorization": f"Bearer {token}"}
    api, page = app.test_client(), app.test_client()
    _login(page, "fed_li", DEMO_PASSWORD)
    rng = random.Random(20)

    def timed(client: Any, paths: list[str], **kw: Any) -> list[float]:
        out = []
        for path in paths:
            start = time.perf_counter()
            resp = client.get(path, **kw)
            out.append((time.perf_counter() - start) * 1000)
            if resp.status_code != 200:
                raise RuntimeError(f"{path}: {resp.status_code} {resp.get_data(as_text=True)[:200]}")
        return out

    paths = [f"/api/v1/tasks?page={rng.randint(1, 50)}" for _ in range(samples)]
    timed(api, paths[:5], headers=headers)
    api_times = timed(api, paths, headers=headers)
    pages = [f"/tasks?page={rng.randint(1, 50)}" for _ in range(samples)]
    timed(page, pages[:5])
    page_times_ = timed(page, pages)
    with app.app_context():
        db, engine = get_db(app), get_engine(app)
        start = time.perf_counter()
        first = sweep(db, engine)
        sweep_s = time.perf_counter() - start
        start = time.perf_counter()
        again = sweep(db, engine)
        sweep_again_s = time.perf_counter() - start
    return {"tasks_api_p95_ms": round(_p(api_times, 0.95), 2), "tasks_page_p95_ms": round(_p(page_times_, 0.95), 2),
            "tasks_p95_ms": round(max(_p(api_times, 0.95), _p(page_times_, 0.95)), 2),
            "sweep_s": round(sweep_s, 2), "sweep_again_s": round(sweep_again_s, 3),
            "sweep_open_cases": first.looked_at, "sweep_alerts": first.written,
            "sweep_notifications": first.notifications, "sweep_again_alerts": again.written}


def run(directory: Path, cases: int, entries: int, samples: int, verify_runs: int = 3) -> dict[str, Any]:
    from web import create_app

    url = f"sqlite:///{directory}/big.db"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING"})
    from storage import migrate

    migrate.upgrade(url)
    start = time.perf_counter()
    sizes = build(app, cases, entries)
    built = time.perf_counter() - start
    rates = []
    for _ in range(verify_runs):
        rate, checked = verify_entries_per_s(app)
        rates.append(rate)
    verify_rate = statistics.median(rates)
    pages = page_times(app, samples)
    proofs = proof_times(app, max(samples, 20))
    work = work_times(app, max(samples, 20))
    return {
        **proofs,
        **work,
        "big_cases": sizes["cases"],
        "big_entries": sizes["entries"],
        "big_build_s": round(built, 1),
        "verify_entries_per_s": round(verify_rate, 1),
        "verify_checked": checked,
        "verify_runs": [round(r, 1) for r in rates],
        "pages": pages,
        "page_p50_ms": max(p["p50_ms"] for p in pages.values()),
        "page_p95_ms": max(p["p95_ms"] for p in pages.values()),
    }
