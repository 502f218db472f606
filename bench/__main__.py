"""python -m bench [--quick] [--postgres URL]: print a table and write bench/results/latest.json.

Every timing is paired with its baseline measured in the same run, and every
figure is the median of several runs; ratios compare like with like on this
machine. The measures:

1. the engine's full path in-process on SQLite, one commit per step, against
   raw sqlite3 doing the same statements on the same schema, against raw
   sqlite3 on three bare tables (for reference), and against django-fsm-2 +
   django-fsm-log doing the same two steps (installed by the `bench` extra);
2. steps over HTTP: granian workers on 127.0.0.1 (as the README deploys it), 16 concurrent clients;
   with each worker's peak memory;
3. bulk approval of 100 cases through the API (`POST /tasks/bulk`) against 100 single steps through the API,
   interleaved in the same run (`bench/bulk_path.py`);
4. `flask audit verify` on a large trail (a million entries; fewer with --quick);
5. the case page, the review queue and the case list on that installation;
6. the roster import (会员名册导入) of 100,000 rows against the same people joining one by one through the
   engine (`bench/roster_import.py`);
7. with --postgres, the engine path and its raw baseline on PostgreSQL, and at city scale
   (`bench/pg_scale.py`): the engine in 1, 2 and 4 processes against raw psycopg doing the same
   statements and a minimal step, the database's own commit rate, and HTTP on two granian servers.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import big, bulk_path, engine_path, http_path, pg_scale, roster_import

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]


def django_fsm_log_steps_per_s(steps: int) -> float | None:
    """django-fsm-2 + django-fsm-log in a process of its own; None when the `bench` extra is missing."""
    try:
        import django_fsm  # noqa: F401
        import django_fsm_log  # noqa: F401
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-m", "bench.django_fsm_log_path", str(steps), tmp],
                             cwd=ROOT, capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])["steps_per_s"]


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 4 if all(v < 10 for v in present) else 1) if present else None


def _paired(runs: int, measure: dict[str, Any]) -> dict[str, list[float | None]]:
    """Each run measures every contender once, one after the other, so that they share the machine's moment."""
    out: dict[str, list[float | None]] = {name: [] for name in measure}
    for _ in range(runs):
        for name, fn in measure.items():
            out[name].append(fn())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="fewer steps, runs and entries (under two minutes)")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("BENCH_POSTGRES_URL"),
                        help="also measure on this PostgreSQL database (a schema of its own, dropped afterwards)")
    args = parser.parse_args()
    steps = 600 if args.quick else 4000
    runs = args.runs or (3 if args.quick else 5)
    big_cases, big_entries = (20_000, 200_000) if args.quick else (100_000, 1_000_000)
    started = time.perf_counter()

    m = _paired(runs, {
        "engine": lambda: engine_path.engine_steps_per_s(steps),
        "tree_pair": lambda: engine_path.tree_pair_steps_per_s(steps),
        "raw": lambda: engine_path.raw_steps_per_s(steps),
        "raw_minimal": lambda: engine_path.raw_sqlite_minimal_steps_per_s(steps),
        "django": lambda: django_fsm_log_steps_per_s(steps),
    })
    vs_raw = [e / r for e, r in zip(m["engine"], m["raw"])]
    tree_ratio = [t / n for t, n in m["tree_pair"]]
    vs_minimal = [e / r for e, r in zip(m["engine"], m["raw_minimal"])]
    vs_django = [e / d for e, d in zip(m["engine"], m["django"]) if d]
    seconds = 5 if args.quick else 10
    http_runs = [http_path.run(seconds=seconds) for _ in range(1 if args.quick else 3)]
    http = dict(http_runs[0])
    for key in ("http_steps_per_s", "http_p50_ms", "http_p99_ms", "worker_peak_mb"):
        http[key] = round(statistics.median(r[key] for r in http_runs), 2)
    http["http_runs"] = [{key: r[key] for key in ("http_steps_per_s", "http_p50_ms", "http_p99_ms")} for r in http_runs]
    # for reference, the same app under gunicorn: gthread workers each taking as many connections as threads
    gunicorn = http_path.run(seconds=seconds, server="gunicorn", workers=4, threads=4)
    http.update({f"http_gunicorn_{key[5:]}": gunicorn[key] for key in ("http_steps_per_s", "http_p99_ms")})
    two = http_path.run(seconds=seconds, threads=2)  # granian with two threads a worker (long exports)
    http.update({f"http_2threads_{key[5:]}": two[key] for key in ("http_steps_per_s", "http_p99_ms")})
    bulk = bulk_path.run(cases=100, runs=runs)
    with tempfile.TemporaryDirectory() as tmp:
        large = big.run(Path(tmp), big_cases, big_entries, samples=40 if args.quick else 200)
    # the roster import (bench/roster_import.py, under a minute): rows/s of the import and over the engine's one by one
    roster = roster_import.measure(rows=20_000 if args.quick else 100_000, baseline_rows=200 if args.quick else 500)
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "steps": steps,
        "runs": runs,
        "engine_steps_per_s": _median(m["engine"]),
        "raw_sqlite_steps_per_s": _median(m["raw"]),
        "engine_vs_raw": _median(vs_raw),
        "engine_no_tree_steps_per_s": _median([n for _t, n in m["tree_pair"]]),
        "tree_steps_ratio": _median(tree_ratio),
        "raw_sqlite_minimal_steps_per_s": _median(m["raw_minimal"]),
        "engine_vs_raw_minimal": _median(vs_minimal),
        "django_fsm_log_steps_per_s": _median(m["django"]),
        "engine_vs_django_fsm_log": _median(vs_django),
        **http,
        **bulk,
        **large,
        "roster_import_rows_per_s": roster["roster_import_rows_per_s"],
        "roster_import_vs_engine": roster["roster_import_vs_engine"],
    }
    if args.postgres:
        pg = _paired(runs, {
            "engine": lambda: engine_path.engine_steps_per_s(steps // 2, args.postgres),
            "tree_pair": lambda: engine_path.tree_pair_steps_per_s(steps // 2, args.postgres),
            "raw": lambda: engine_path.raw_steps_per_s(steps // 2, args.postgres),
        })
        result.update({
            "pg_engine_steps_per_s": _median(pg["engine"]),
            "pg_raw_steps_per_s": _median(pg["raw"]),
            "pg_engine_vs_raw": _median([e / r for e, r in zip(pg["engine"], pg["raw"])]),
            "pg_tree_steps_ratio": _median([t / n for t, n in pg["tree_pair"]]),
        })
        result.update(pg_scale.run(args.postgres, runs=1 if args.quick else 3, seconds=3 if args.quick else 5,
                                   http_seconds=5 if args.quick else 10))
    result["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table(result))
    print(f"written to {RESULTS / 'latest.json'}")


ROWS = [
    ("engine full path, SQLite (steps/s)", "engine_steps_per_s", "{:,.0f}"),
    ("raw sqlite3, same schema (steps/s)", "raw_sqlite_steps_per_s", "{:,.0f}"),
    ("engine / raw sqlite3", "engine_vs_raw", "{:.3f}"),
    ("engine without the Merkle tree (steps/s)", "engine_no_tree_steps_per_s", "{:,.0f}"),
    ("engine with / without the tree", "tree_steps_ratio", "{:.3f}"),
    ("raw sqlite3, bare tables (steps/s)", "raw_sqlite_minimal_steps_per_s", "{:,.0f}"),
    ("engine / raw on bare tables", "engine_vs_raw_minimal", "{:.3f}"),
    ("django-fsm-2 + django-fsm-log (steps/s)", "django_fsm_log_steps_per_s", "{:,.0f}"),
    ("engine / django-fsm-log", "engine_vs_django_fsm_log", "{:.2f}"),
    ("HTTP, granian, 16 clients (steps/s)", "http_steps_per_s", "{:,.0f}"),
    ("HTTP p50 (ms)", "http_p50_ms", "{:.1f}"),
    ("HTTP p99 (ms)", "http_p99_ms", "{:.1f}"),
    ("HTTP, granian, 2 threads a worker (steps/s)", "http_2threads_steps_per_s", "{:,.0f}"),
    ("HTTP, granian, 2 threads a worker, p99 (ms)", "http_2threads_p99_ms", "{:.1f}"),
    ("HTTP under gunicorn gthread (steps/s)", "http_gunicorn_steps_per_s", "{:,.0f}"),
    ("HTTP under gunicorn gthread, p99 (ms)", "http_gunicorn_p99_ms", "{:.1f}"),
    ("peak memory per worker (MB)", "worker_peak_mb", "{:.0f}"),
    ("API: 100 single steps (steps/s)", "single_api_steps_per_s", "{:,.0f}"),
    ("API: one bulk decision of 100 (steps/s)", "bulk_steps_per_s", "{:,.0f}"),
    ("bulk / single steps (goal >= 0.8)", "bulk_vs_single", "{:.2f}"),
    ("large installation: cases", "big_cases", "{:,}"),
    ("large installation: audit entries", "big_entries", "{:,}"),
    ("audit verify (entries/s)", "verify_entries_per_s", "{:,.0f}"),
    ("inclusion proof over the API, p95 (ms)", "proof_inclusion_p95_ms", "{:.2f}"),
    ("consistency proof over the API, p95 (ms)", "proof_consistency_p95_ms", "{:.2f}"),
    ("verify --checkpoint (signed note of 90 %) (s)", "checkpoint_verify_s", "{:.3f}"),
    ("pages p50, slowest of three (ms)", "page_p50_ms", "{:.1f}"),
    ("pages p95, slowest of three (ms)", "page_p95_ms", "{:.1f}"),
    ("tasks p95, API and page (ms)", "tasks_p95_ms", "{:.1f}"),
    ("deadline sweep over every open case (s)", "sweep_s", "{:.2f}"),
    ("the same sweep again, writing nothing (s)", "sweep_again_s", "{:.3f}"),
    ("PostgreSQL: engine (steps/s)", "pg_engine_steps_per_s", "{:,.0f}"),
    ("PostgreSQL: engine with / without the tree", "pg_tree_steps_ratio", "{:.3f}"),
    ("PostgreSQL: raw psycopg (steps/s)", "pg_raw_steps_per_s", "{:,.0f}"),
    ("PostgreSQL: engine / raw", "pg_engine_vs_raw", "{:.3f}"),
    ("PostgreSQL: engine, 1 / 2 / 4 processes (steps/s)", "pg_engine_1p_steps_per_s", "{:,.0f}"),
    ("  2 processes", "pg_engine_2p_steps_per_s", "{:,.0f}"),
    ("  4 processes", "pg_engine_4p_steps_per_s", "{:,.0f}"),
    ("PostgreSQL: raw, same statements, 4 processes", "pg_raw_same_4p_steps_per_s", "{:,.0f}"),
    ("PostgreSQL: raw minimal step, 4 processes", "pg_raw_minimal_4p_steps_per_s", "{:,.0f}"),
    ("PostgreSQL: engine / raw minimal, 4 processes", "pg_engine_4p_vs_raw_minimal_4p", "{:.3f}"),
    ("PostgreSQL: commits/s, 4 processes", "pg_commits_4p_per_s", "{:,.0f}"),
    ("PostgreSQL: HTTP, 2 servers, 32 clients (steps/s)", "pg_http_2servers_steps_per_s", "{:,.0f}"),
    ("PostgreSQL: HTTP, 2 servers, p99 (ms)", "pg_http_2servers_p99_ms", "{:.1f}"),
]


def table(result: dict[str, Any]) -> str:
    lines = [f"{'measure':<42}{'median':>14}"]
    for label, key, fmt in ROWS:
        if key in result:
            value = result[key]
            lines.append(f"{label:<42}{'n/a' if value is None else fmt.format(value):>14}")
    for name, p in result.get("pages", {}).items():
        lines.append(f"{'  ' + name + ' p50 / p95 (ms)':<42}{p['p50_ms']:>7.1f} / {p['p95_ms']:.1f}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
