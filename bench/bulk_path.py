"""Bulk approval (批量审批) against single steps, both through the JSON API, measured in the same run.

Each run prepares two like batches of cases (the benchmark workflow's preparer `hold`s each, so each waits for
the reviewer's `release`, which four eyes and competence are checked for), then the reviewer releases one batch
with 100 single `POST /cases/<id>/events` and the other with one `POST /tasks/bulk`, in alternating order from
run to run. Both go through the whole app in this process (werkzeug's test client: token authentication, the
engine's checks, the entry, one commit per case, the JSON answer), not over a socket: the network and the
server, which only the single steps pay a hundred times, are left out, so the ratio is the bulk decision's
least favourable one. `bulk_vs_single` is the bulk throughput over the single steps' (goal ≥ 0.8).
"""
from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from .engine_path import bench_catalog


def _app(url: str) -> tuple[Any, str, Any]:
    """The app with the benchmark workflow, a federation's reviewer and an enterprise's preparer."""
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from services.accounts import create_org, create_user, issue_token, set_password_hasher
    from storage import migrate
    from web import create_app
    from workflow import Actor

    set_password_hasher(PasswordHasher.from_parameters(CHEAPEST))
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret", "LOG_LEVEL": "WARNING",
                      "UNIONFLOW_CATALOG": bench_catalog(), "RATELIMIT_ENABLED": False})
    db = app.extensions["unionflow.db"]
    with db.write() as s:
        create_org(s, code="BF", name="bench federation", kind="federation")
        create_org(s, code="BE", name="bench enterprise", kind="enterprise", parent="BF", employees=10)
        reviewer = create_user(s, username="br", password="ledger-oak-7315-quiet", role="reviewer", org="BF")
        prep = create_user(s, username="bp", password="ledger-oak-7315-quiet", role="preparer", org="BE")
        token = issue_token(s, reviewer)
        preparer = Actor.of(prep)
    return app, token, preparer


def _held(app: Any, preparer: Any, n: int) -> list[dict[str, int]]:
    """n new cases, each held by the preparer: waiting for the reviewer's release (prepared, not timed)."""
    db, engine = app.extensions["unionflow.db"], app.extensions["unionflow.engine"]
    out = []
    with db.write() as s:
        for _ in range(n):
            case = engine.create_case(s, "bench", "BE", preparer, {})
            held = engine.fire(s, case.id, "hold", preparer, {"amount": 5})
            out.append({"id": held.id, "version": held.version})
    return out


def _singles(client: Any, headers: dict[str, str], cases: list[dict[str, int]]) -> float:
    start = time.perf_counter()
    for c in cases:
        resp = client.post(f"/api/v1/cases/{c['id']}/events", headers=headers,
                           data=json.dumps({"trigger": "release", "version": c["version"]}))
        if resp.status_code != 200:
            raise RuntimeError(f"a single release answered {resp.status_code}: {resp.get_data(as_text=True)[:200]}")
    return time.perf_counter() - start


def _bulk(client: Any, headers: dict[str, str], cases: list[dict[str, int]]) -> float:
    start = time.perf_counter()
    resp = client.post("/api/v1/tasks/bulk", headers=headers, data=json.dumps({"trigger": "release", "cases": cases}))
    elapsed = time.perf_counter() - start
    results = resp.get_json()["results"] if resp.status_code == 200 else None
    if results is None or [r["status"] for r in results] != [200] * len(cases):
        raise RuntimeError(f"the bulk release answered {resp.status_code}: {resp.get_data(as_text=True)[:200]}")
    return elapsed


def run(cases: int = 100, runs: int = 5) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        app, token, preparer = _app(f"sqlite:///{Path(tmp) / 'bulk.db'}")
        try:
            client = app.test_client()
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            _bulk(client, headers, _held(app, preparer, 5))  # warm both paths before timing
            _singles(client, headers, _held(app, preparer, 5))
            single_s, bulk_s = [], []
            for i in range(runs):
                one, many = _held(app, preparer, cases), _held(app, preparer, cases)
                if i % 2:
                    bulk_s.append(_bulk(client, headers, many))
                    single_s.append(_singles(client, headers, one))
                else:
                    single_s.append(_singles(client, headers, one))
                    bulk_s.append(_bulk(client, headers, many))
        finally:
            app.extensions["unionflow.db"].dispose()
    return {
        "bulk_cases": cases,
        "bulk_runs": runs,
        "bulk_steps_per_s": round(statistics.median(cases / s for s in bulk_s), 1),
        "single_api_steps_per_s": round(statistics.median(cases / s for s in single_s), 1),
        "bulk_vs_single": round(statistics.median(s / b for s, b in zip(single_s, bulk_s, strict=True)), 3),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
