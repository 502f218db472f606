"""Serving in production: /health (database and migration revision), JSON request logs with a request id
and no secrets, and the server (granian or gunicorn) refusing to start without SECRET_KEY while `flask` keeps
working."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from storage import migrate
from storage import normalise_url
from tests.ops.conftest import ROOT, flask_cli

PASSWORD = "correct-horse-1"


def _head() -> str:
    return ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()


def _app(url: str, **config):
    from web import create_app

    return create_app({"DATABASE_URL": url, "SECRET_KEY": "k", **config})


# -- /health -----------------------------------------------------------------------

def test_health_reports_the_database_and_its_revision(client):
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok", "revision": _head(), "head": _head(),
                               "schema": "current"}
    assert resp.headers["Cache-Control"] == "no-store"


def test_health_is_503_when_the_database_is_unreachable(tmp_path):
    app = _app(f"sqlite:///{tmp_path}/no/such/dir/x.db")
    resp = app.test_client().get("/health")
    assert resp.status_code == 503
    assert resp.get_json()["status"] == "unavailable" and resp.get_json()["database"] == "unreachable"


def test_health_is_503_until_the_schema_is_migrated(empty_db):
    app = _app(empty_db)
    client = app.test_client()
    blank = client.get("/health")
    assert blank.status_code == 503 and blank.get_json()["revision"] is None
    assert blank.get_json()["status"] == "outdated" and blank.get_json()["schema"] == "behind"
    revisions = [s.revision for s in ScriptDirectory.from_config(migrate.alembic_config(empty_db)).walk_revisions()]
    if len(revisions) > 1:
        migrate.upgrade(empty_db, revisions[1])  # the revision before the head
        assert client.get("/health").status_code == 503
    migrate.upgrade(empty_db)
    assert client.get("/health").status_code == 200
    # a database migrated by newer code (a rolling deployment): still served
    engine = create_engine(normalise_url(empty_db), poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    newer = client.get("/health")
    assert newer.status_code == 200 and newer.get_json()["schema"] == "newer"
    app.extensions["unionflow.db"].dispose()


def test_health_answers_when_secret_key_is_missing_in_production(db_url, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    from web import create_app

    app = create_app({"DATABASE_URL": db_url})
    assert app.config["ENV_NAME"] == "production" and app.config.get("SECRET_KEY_MISSING")
    client = app.test_client()
    assert client.get("/login").status_code == 503
    assert client.get("/health").status_code == 200
    app.extensions["unionflow.db"].dispose()


# -- request logs ------------------------------------------------------------------

def _log_lines(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_each_request_is_one_json_line_with_its_request_id(client, tree, capsys):
    capsys.readouterr()
    resp = client.get("/api/v1/me", headers={**tree["prep"].headers, "X-Request-ID": "lb-7f3a.42"})
    assert resp.headers["X-Request-ID"] == "lb-7f3a.42"
    generated = client.get("/health")
    rid = generated.headers["X-Request-ID"]
    assert len(rid) == 32 and int(rid, 16) >= 0
    lines = [line for line in _log_lines(capsys.readouterr().err) if line["logger"] == "unionflow.request"]
    assert len(lines) == 2
    api_line, health_line = lines
    assert {k: api_line[k] for k in ("level", "request_id", "method", "path", "status", "user")} == {
        "level": "INFO", "request_id": "lb-7f3a.42", "method": "GET", "path": "/api/v1/me", "status": 200,
        "user": "prep"}
    assert api_line["time"].endswith("Z") and isinstance(api_line["duration_ms"], float)
    assert health_line["request_id"] == rid and health_line["user"] is None


@pytest.mark.parametrize("incoming", ["", "a" * 129, "two words", "id;Set-Cookie=a", "<script>", "-leading-dash"])
def test_an_unusable_incoming_request_id_is_replaced(client, incoming, capsys):
    resp = client.get("/health", headers={"X-Request-ID": incoming})
    assert resp.headers["X-Request-ID"] != incoming and len(resp.headers["X-Request-ID"]) == 32


def test_the_longest_accepted_request_id(client):
    longest = "a" * 128
    assert client.get("/health", headers={"X-Request-ID": longest}).headers["X-Request-ID"] == longest


def test_no_password_or_token_is_ever_logged(client, tree, capsys):
    capsys.readouterr()
    client.post("/login?next=/cases", data={"username": "prep", "password": PASSWORD})
    client.get("/cases?q=x")
    client.post("/api/v1/users", headers=tree["admin"].headers,
                json={"username": "newbie", "password": "a-secret-password-9", "role": "admin"})
    token = client.post("/api/v1/users/prep/tokens", headers=tree["prep"].headers).get_json()["token"]
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    client.get("/api/v1/me", headers={"Authorization": "Bearer uf_wrong-token-value"})
    err = capsys.readouterr().err
    lines = _log_lines(err)
    assert len(lines) >= 6
    for secret in (PASSWORD, "a-secret-password-9", token, tree["prep"].token, tree["admin"].token,
                   "uf_wrong-token-value"):
        assert secret not in err
    assert "q=x" not in err and "next=" not in err  # paths only, never query strings
    assert {"prep", "admin"} <= {line.get("user") for line in lines}
    page = next(line for line in lines if line.get("path") == "/cases")
    assert page["user"] == "prep" and page["status"] == 200  # the signed-in user of a page, too


def test_an_unhandled_error_is_logged_as_json_with_the_request_id(app_config, capsys):
    from web import create_app

    app = create_app({**app_config, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaput")

    capsys.readouterr()
    resp = app.test_client().get("/boom", headers={"X-Request-ID": "req-500"})
    assert resp.status_code == 500 and resp.headers["X-Request-ID"] == "req-500"
    lines = _log_lines(capsys.readouterr().err)
    error = next(line for line in lines if line["level"] == "ERROR")
    assert error["request_id"] == "req-500" and "RuntimeError: kaput" in error["exception"]
    assert any(line.get("status") == 500 and line["request_id"] == "req-500" for line in lines)
    app.extensions["unionflow.db"].dispose()


# -- SECRET_KEY ----------------------------------------------------------------------

def _server_args(server: str) -> list[str]:
    if server == "granian":
        return [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", "2", "--blocking-threads", "2",
                "--host", "127.0.0.1", "--port", "0"]
    from gunicorn.config import KNOWN_SETTINGS

    args = [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", "127.0.0.1:0"]
    if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
        args.append("--no-control-socket")
    return args


@pytest.mark.slow
@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_the_server_refuses_to_start_without_secret_key_but_flask_works(tmp_path, server):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgraded = flask_cli(url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr  # the command line needs no SECRET_KEY
    assert flask_cli(url, "audit", "verify", "--quiet").returncode == 0
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "UNIONFLOW_ENV")}
    env["DATABASE_URL"] = url
    refused = subprocess.run([*_server_args(server), "wsgi:app"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode != 0
    assert "SECRET_KEY is not set: refusing to serve" in refused.stderr


def test_a_server_worker_leaves_what_it_loaded_out_of_full_collections(tmp_path):
    """wsgi.py freezes what is loaded at start (the app, definitions, libraries) out of the cyclic collector."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "k", "UNIONFLOW_ENV": "production"}
    probe = "import gc, wsgi; print(gc.get_freeze_count())"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) > 10_000  # the app and its libraries, not a handful of objects
