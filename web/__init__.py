"""The Flask application: pages for preparers, reviewers, auditors and admins; the JSON API; the CLI."""
from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from storage import Database
from workflow import Engine
from workflow.catalog import default as default_catalog

from . import config as config_module
from .extensions import babel, csrf, limiter, login_manager
from .i18n import select_locale

log = logging.getLogger("unionflow")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(config_module.from_env(app.instance_path))
    if config:
        app.config.update(config)
    if app.config.get("TESTING"):
        app.config["ENV_NAME"] = "testing"
    app.instance_path and _ensure_dir(app.instance_path)

    if not app.config.get("SECRET_KEY"):
        if app.config["ENV_NAME"] in config_module.DEV_ENVS:
            app.config["SECRET_KEY"] = secrets.token_hex(32)
        else:
            app.config["SECRET_KEY_MISSING"] = True

    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    db = Database(app.config["DATABASE_URL"])
    catalog = app.config.get("UNIONFLOW_CATALOG") or default_catalog()
    engine = Engine(catalog, app.config["UNIONFLOW_PROFILE"], clock=app.config.get("UNIONFLOW_CLOCK"))
    app.extensions["unionflow.db"] = db
    app.extensions["unionflow.engine"] = engine

    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from . import admin, api, audit_views, auth, cases, cli, pages, workflows

    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(admin.bp)
    pages.init_app(app)
    workflows.init_app(app)
    cli.init_app(app)

    @app.before_request
    def _require_secret_key() -> Response | None:
        if app.config.get("SECRET_KEY_MISSING") and request.endpoint != "health":
            return Response("SECRET_KEY is not configured: set it in the environment.", 503, mimetype="text/plain")
        return None

    @app.get("/health")
    def health() -> Response:
        from sqlalchemy import text

        with db.read() as session:
            session.execute(text("SELECT 1"))
        return Response('{"status":"ok"}', mimetype="application/json")

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
        )
        return response

    app.teardown_appcontext(lambda exc: g.pop("actor", None))
    return app


def _ensure_dir(path: str) -> None:
    import os

    os.makedirs(path, exist_ok=True)
