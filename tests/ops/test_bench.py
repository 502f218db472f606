"""The benchmark's own code works and measures what it says (tiny sizes, nothing timed against a goal)."""
from __future__ import annotations

import os
import sqlite3

import pytest

from bench import big, bulk_path, engine_path, http_path


def test_the_raw_baseline_does_the_engines_work_on_the_same_schema(tmp_path, monkeypatch):
    monkeypatch.setattr(engine_path.tempfile, "tempdir", str(tmp_path))
    assert engine_path.raw_steps_per_s(6) > 0
    assert engine_path.engine_steps_per_s(6) > 0
    assert engine_path.engine_steps_per_s(6, tree=False) > 0
    assert engine_path.raw_sqlite_minimal_steps_per_s(6) > 0
    with_tree, without = engine_path.tree_pair_steps_per_s(8, block=4)
    assert with_tree > 0 and without > 0


def test_the_bulk_measure_releases_every_case_both_ways():
    """Both contenders release real held cases through the API (a refused case would raise), in the same run."""
    result = bulk_path.run(cases=4, runs=2)
    assert (result["bulk_cases"], result["bulk_runs"]) == (4, 2)
    assert result["bulk_steps_per_s"] > 0 and result["single_api_steps_per_s"] > 0
    assert result["bulk_vs_single"] > 0


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="the city-scale measures need PostgreSQL")
def test_the_city_scale_measures_commit_real_steps_on_postgresql():
    """Each kind of process commits steps on its own case of a fresh schema, two processes at once."""
    from bench import pg_scale

    url = os.environ["TEST_DATABASE_URL"]
    for kind in pg_scale.WORKERS:
        assert pg_scale.processes(url, kind, 2, seconds=0.5) > 0, kind


def test_the_large_installation_verifies_and_its_pages_answer(tmp_path):
    result = big.run(tmp_path, cases=60, entries=900, samples=3)
    assert (result["big_cases"], result["big_entries"], result["verify_checked"]) == (60, 900, 900)
    assert set(result["pages"]) == {"case_page", "review_queue", "case_list"}
    assert result["verify_entries_per_s"] > 0 and result["page_p95_ms"] > 0
    assert result["proof_inclusion_p95_ms"] > 0 and result["proof_consistency_p95_ms"] > 0
    # 900 entries, then the proofs' administrator and the issue of their token: 90 % of 902
    assert result["checkpoint_verify_s"] > 0 and result["checkpoint_entries"] == 811


def test_a_changed_entry_in_the_large_trail_is_found(tmp_path):
    from web import create_app

    url = f"sqlite:///{tmp_path}/big.db"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "t", "LOG_LEVEL": "WARNING"})
    from storage import migrate

    migrate.upgrade(url)
    big.build(app, 40, 500)
    conn = sqlite3.connect(tmp_path / "big.db")
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE audit_entries SET comment = 'x' WHERE seq = 300")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="300"):
        big.verify_entries_per_s(app)


@pytest.mark.slow
@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_the_http_benchmark_serves_full_steps(server):
    result = http_path.run(seconds=0.5, clients=2, workers=1, threads=2, server=server)
    assert result["http_server"] == server
    assert result["http_steps_per_s"] > 0 and 0 < result["http_p50_ms"] <= result["http_p99_ms"]
    assert result["worker_peak_mb"] > 0
