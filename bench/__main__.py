"""python -m bench [--quick]: print a table and write bench/results/latest.json.

Every figure is the median of several runs, each paired with its baseline
measured in the same run; ratios compare like with like on this machine.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

from . import engine_path, http_path

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="fewer steps and runs (well under two minutes)")
    parser.add_argument("--runs", type=int, default=None)
    args = parser.parse_args()
    steps = 600 if args.quick else 3000
    runs = args.runs or (3 if args.quick else 5)

    engine, raw = [], []
    for _ in range(runs):
        engine.append(engine_path.engine_steps_per_s(steps))
        raw.append(engine_path.raw_sqlite_steps_per_s(steps))
    ratios = [e / r for e, r in zip(engine, raw)]
    http = http_path.run(seconds=5 if args.quick else 15)
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "quick": args.quick,
        "steps": steps,
        "runs": runs,
        "engine_steps_per_s": round(statistics.median(engine), 1),
        "raw_sqlite_steps_per_s": round(statistics.median(raw), 1),
        "engine_vs_raw": round(statistics.median(ratios), 4),
        **http,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{'measure':<34}{'median':>14}")
    print(f"{'engine full path (steps/s)':<34}{result['engine_steps_per_s']:>14,.1f}")
    print(f"{'raw sqlite3 same work (steps/s)':<34}{result['raw_sqlite_steps_per_s']:>14,.1f}")
    print(f"{'engine / raw':<34}{result['engine_vs_raw']:>14.3f}")
    print(f"{'HTTP steps/s (16 clients)':<34}{result['http_steps_per_s']:>14,.1f}")
    print(f"{'HTTP p50 / p99 (ms)':<34}{result['http_p50_ms']:>7.1f} / {result['http_p99_ms']:.1f}")
    print(f"written to {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
