"""The command line of api.md: db upgrade, users create/token, demo load, audit verify."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def flask(db_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": db_url, "FLASK_APP": "wsgi", "UNIONFLOW_ENV": "development"}
    exe = Path(sys.executable).with_name("flask")
    return subprocess.run([str(exe), *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True,
                          timeout=300)


def test_db_upgrade_twice_users_and_token(db_url, make_org, app):
    assert flask(db_url, "db", "upgrade").returncode == 0
    again = flask(db_url, "db", "upgrade")
    assert again.returncode == 0, again.stderr
    make_org("F", "federation")
    make_org("E", "enterprise", "F")
    created = flask(db_url, "users", "create", "alice", "--role", "preparer", "--org", "E", "--password-stdin",
                    stdin="a-long-password\n")
    assert created.returncode == 0, created.stderr
    token = flask(db_url, "users", "token", "alice")
    assert token.returncode == 0
    secret = token.stdout.strip()
    assert secret.startswith("uf_") and "\n" not in secret and token.stdout.count("\n") == 1
    resp = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert resp.get_json() == {"username": "alice", "role": "preparer", "org": "E"}


def test_users_create_refuses_bad_input_without_a_traceback(db_url, app):
    flask(db_url, "db", "upgrade")
    short = flask(db_url, "users", "create", "bob", "--role", "admin", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "password" in short.stderr and "Traceback" not in short.stderr
    no_org = flask(db_url, "users", "create", "bob", "--role", "reviewer", "--password-stdin",
                   stdin="a-long-password\n")
    assert no_org.returncode == 2 and "org" in no_org.stderr
    missing = flask(db_url, "users", "token", "nobody")
    assert missing.returncode == 2 and "no user" in missing.stderr


def test_demo_load_verifies_and_is_idempotent(db_url, app):
    first = flask(db_url, "demo", "load")
    assert first.returncode == 0, first.stderr
    assert "demo data loaded" in first.stdout
    second = flask(db_url, "demo", "load")
    assert second.returncode == 0 and "already loaded" in second.stdout
    verify = flask(db_url, "audit", "verify")
    assert verify.returncode == 0 and "intact" in verify.stdout
    assert "checked" in verify.stderr  # progress goes to standard error


def test_audit_verify_exits_1_naming_the_entry(db_url, app):
    from sqlalchemy import create_engine, text

    from audit.ddl import create_statements, drop_statements
    from storage import normalise_url

    assert flask(db_url, "demo", "load").returncode == 0
    engine = create_engine(normalise_url(db_url))
    with engine.begin() as conn:
        for s in drop_statements(engine.dialect.name):
            conn.exec_driver_sql(s)
        conn.execute(text("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 20"))
        for s in create_statements(engine.dialect.name):
            conn.exec_driver_sql(s)
    engine.dispose()
    verify = flask(db_url, "audit", "verify", "--quiet")
    assert verify.returncode == 1
    assert "entry 20" in verify.stdout
