"""Back up and restore: `flask db backup` (SQLite's online backup, taken while writes go on) and
pg_dump/pg_restore for PostgreSQL; a restored copy passes `flask audit verify`."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from audit import AuditEntry

from tests.ops.conftest import flask_cli, scratch_postgres


@pytest.fixture
def busy_trail(make_org, tree, make_case, fire):
    """Some cases and steps, and a writer that keeps appending while the backup runs."""
    for who in (tree["prep"], tree["prep_m"], tree["prep_s"]):
        case = make_case(who, data={"title": "申请"})
        fire(who, case["id"], "submit", {"amount": 100})
    stop = threading.Event()
    written: list[str] = []

    def write() -> None:
        for i in range(200):  # bounded
            if stop.is_set():
                return
            written.append(make_org(f"BUSY-{i}", "federation"))

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    yield written
    stop.set()
    writer.join(30)


def test_backup_while_writing_restores_to_a_trail_that_verifies(backend, db_url, app, db, busy_trail, tmp_path):
    if backend["name"] == "sqlite":
        copy = tmp_path / "backup.db"
        runner = app.test_cli_runner()
        made = runner.invoke(args=["db", "backup", str(copy)])
        assert made.exit_code == 0, made.output
        assert "audit trail head" in made.stdout
        again = runner.invoke(args=["db", "backup", str(copy)])
        assert again.exit_code == 2 and "exists" in again.output
        # the copy is one moment of the live trail: every entry up to its head, the same as the live one's
        with sqlite3.connect(copy) as conn:
            count, head, digest = conn.execute(
                "SELECT count(*), max(seq), (SELECT hash FROM audit_head) FROM audit_entries").fetchone()
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        conn.close()
        assert count == head >= 20 + 2 * 3
        with db.read() as session:
            assert session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == head)) == digest
        # restore: the server stopped, the copy put in place of the database file
        restored = tmp_path / "restored.db"
        shutil.copyfile(copy, restored)
        verified = flask_cli(f"sqlite:///{restored}", "audit", "verify", "--quiet")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "audit trail intact" in verified.stdout
        return

    refused = app.test_cli_runner().invoke(args=["db", "backup", str(tmp_path / "x.db")])
    assert refused.exit_code == 2 and "pg_dump" in refused.output
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are not installed (Debian: postgresql-client)")
    dump = tmp_path / "unionflow.dump"
    with db.read() as session:  # the suite may keep its tables in a schema of its own
        schema = session.scalar(text("SELECT current_schema()"))
    subprocess.run(["pg_dump", "--format=custom", f"--schema={schema}", f"--dbname={db_url}", f"--file={dump}"],
                   check=True, capture_output=True, timeout=120)
    with scratch_postgres(f"test_restore_{os.getpid()}") as target:
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={target}", str(dump)], check=True,
                       capture_output=True, timeout=120)
        restored = make_url(target).update_query_dict({"options": f"-csearch_path={schema}"})
        restored_url = restored.render_as_string(hide_password=False)
        verified = flask_cli(restored_url, "audit", "verify", "--quiet")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "audit trail intact" in verified.stdout
        entries = int(verified.stdout.split("intact: ")[1].split(" entries")[0])
        assert entries >= 20 + 2 * 3
