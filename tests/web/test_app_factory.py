"""The app factory `create_app(config)`: what an app is built with, what two apps in one process keep apart,
and how it behaves without SECRET_KEY outside development."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from flask_babel import get_locale

from storage import migrate
from workflow import default_catalog

from .ui_support import login

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def make_app(app_config):
    """Further apps, in the same process as `app`; disposed of afterwards."""
    from web import create_app

    made = []

    def make(**config):
        made.append(create_app({**app_config, **config}))
        return made[-1]

    yield make
    for other in made:
        other.extensions["unionflow.db"].dispose()


def test_an_app_has_its_blueprints_commands_and_extensions(app, catalog):
    from web.extensions import csrf, login_manager

    assert {"pages", "auth", "cases", "audit", "admin", "api", "openapi", "reports", "reports_api"} <= set(app.blueprints)
    # one blueprint per workflow with pages of its own; joining's pages are a panel and a summary (the roster's
    # pages, which transfers share, are `members`)
    assert set(catalog.definitions) - {"sample", "membership"} <= set(app.blueprints)
    assert "members" in app.blueprints
    admin = sorted(r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("admin."))
    assert admin == ["admin.end_user_sessions", "admin.org_edit", "admin.org_move", "admin.orgs",
                     "admin.reset_user_password", "admin.revoke", "admin.toggle_active", "admin.tokens",
                     "admin.user_edit", "admin.users"]
    assert {"db", "users", "demo", "audit", "orgs"} <= set(app.cli.commands)
    assert app.extensions["csrf"] is csrf and app.login_manager is login_manager
    assert app.extensions["babel"].locale_selector is not None
    assert app.extensions["unionflow.engine"].catalog is catalog
    assert app.config["ENV_NAME"] == "testing"


def test_the_command_line_runs_against_the_apps_database(app, tree):
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--quiet"])
    assert result.exit_code == 0, result.output


def test_pages_ask_for_a_login_and_answer_in_the_asked_language(app, client):
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert 'lang="zh-CN"' in client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in client.get("/login?lang=en").get_data(as_text=True)
    with app.test_request_context("/login?lang=en"):
        assert str(get_locale()) == "en"
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_csrf_is_checked_unless_the_config_turns_it_off(client, make_app, tree):
    assert login(client, "prep").status_code == 302  # the test config: off
    strict = make_app(WTF_CSRF_ENABLED=True).test_client()
    assert login(strict, "prep").status_code == 400


def test_health_answers(client):
    resp = client.get("/health")
    assert resp.status_code == 200 and resp.get_json()["status"] == "ok"


def test_two_apps_keep_their_databases_engines_and_documents_apart(app, make_app, tmp_path):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    migrate.upgrade(url)
    other = make_app(DATABASE_URL=url, UNIONFLOW_CATALOG=default_catalog())
    assert other.extensions["unionflow.db"] is not app.extensions["unionflow.db"]
    assert other.extensions["unionflow.engine"] is not app.extensions["unionflow.engine"]
    assert "sample" in app.jinja_env.globals["workflows"] and "sample" not in other.jinja_env.globals["workflows"]

    def workflows(an_app):
        doc = an_app.test_client().get("/api/v1/openapi.json").get_json()
        return doc["components"]["schemas"]["CaseCreate"]["properties"]["workflow"]["enum"]

    assert "sample" in workflows(app)
    assert workflows(other) == list(default_catalog().definitions)  # not the first app's cached document
    assert "sample" in workflows(app)
    assert other.test_client().get("/health").status_code == 200


def test_a_session_is_good_only_for_the_app_whose_key_signed_it(client, make_app, tree):
    login(client, "prep")
    cookie = client.get_cookie("session")
    assert cookie is not None and client.get("/").status_code == 200

    def home_with_that_cookie(an_app) -> int:
        other = an_app.test_client()
        other.set_cookie("session", cookie.value)
        return other.get("/").status_code

    assert home_with_that_cookie(make_app()) == 200  # same key, same database: the same session
    assert home_with_that_cookie(make_app(SECRET_KEY="another-secret")) == 302


def test_a_development_app_without_a_key_makes_its_own(make_app, monkeypatch):
    monkeypatch.setenv("UNIONFLOW_ENV", "development")
    first, second = make_app(SECRET_KEY=None, TESTING=False), make_app(SECRET_KEY=None, TESTING=False)
    assert first.config["ENV_NAME"] == "development" and not first.config.get("SECRET_KEY_MISSING")
    assert len(first.config["SECRET_KEY"]) == 64 and first.config["SECRET_KEY"] != second.config["SECRET_KEY"]


@pytest.mark.xfail(strict=True, reason="flask-limiter keeps its switch and its counts on the one Limiter of "
                                       "web.extensions: the app made last decides for all")
def test_the_rate_limit_of_one_app_does_not_reach_another(app, client, make_app, tree):
    make_app(RATELIMIT_ENABLED=True)
    codes = {login(client, "prep", "wrong-password").status_code for _ in range(25)}
    assert 429 not in codes


def test_production_without_secret_key_serves_only_health(db_url, monkeypatch):
    from web import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("UNIONFLOW_ENV", raising=False)
    app = create_app({"DATABASE_URL": db_url})
    try:
        assert app.config["ENV_NAME"] == "production" and app.config["SECRET_KEY_MISSING"]
        client = app.test_client()
        assert client.get("/login").status_code == 503
        assert client.post("/api/v1/cases", json={}).status_code == 503
        assert client.get("/health").status_code == 200
    finally:
        app.extensions["unionflow.db"].dispose()


def test_the_wsgi_entry_point_refuses_to_serve_without_secret_key(db_url, monkeypatch):
    """(With a key it would go on to settle the worker, which a test process should not: tests/ops covers that.)"""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("UNIONFLOW_ENV", raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set: refusing to serve"):
        runpy.run_path(str(ROOT / "wsgi.py"))
