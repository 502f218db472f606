"""The Flask application: pages for preparers, reviewers, auditors and admins; the JSON API; the CLI."""
from __future__ import annotations

import gc
import logging
import secrets
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from storage import Database
from workflow import Engine, checked_catalog, default_catalog

from . import config as config_module
from .extensions import MAX_ID, babel, csrf, limiter, login_manager
from .i18n import select_locale

log = logging.getLogger("unionflow")


SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "frame-ancestors 'none'; form-action 'self'; base-uri 'self'"),
)
HSTS = "max-age=31536000; includeSubDomains"  # sent when the deployment says it is served over HTTPS only


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
    catalog = app.config.get("UNIONFLOW_CATALOG")
    if catalog is None:
        extra = tuple(app.config.get("UNIONFLOW_WORKFLOW_PACKAGES") or ())
        catalog = checked_catalog(extra=extra) if extra else default_catalog()
    engine = Engine(catalog, app.config["UNIONFLOW_PROFILE"], clock=app.config.get("UNIONFLOW_CLOCK"))
    from services.work import notify_assigned, notify_step

    engine.step_listeners.append(notify_step)  # returned, waiting, decided: in the inbox of those concerned
    engine.assign_listeners.append(notify_assigned)  # assigned to you
    app.extensions["unionflow.db"] = db
    app.extensions["unionflow.engine"] = engine

    from . import health, logging_setup, openapi

    logging_setup.init_app(app)  # first: every later hook and error already has the request id
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from . import (
        admin,
        api,
        audit_api,
        audit_views,
        auth,
        bulk,
        cases,
        cli,
        delegations,
        members,
        members_import,
        pages,
        people,
        reports,
        reports_api,
        waiting,
        workflow_pages,
    )

    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(bulk.bp)
    app.register_blueprint(delegations.bp)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(reports_api.bp)
    app.register_blueprint(audit_api.bp)
    reports.init_app(app)  # the report pages and `flask orgs import`
    members.init_app(app)  # 会员名册: the roster, a member's page, leaving
    members_import.init_app(app)  # the roster's import and export, `flask members import`
    pages.init_app(app)
    people.init_app(app)  # who acted, by name: person_label() and its kin in every template
    workflow_pages.init_app(app, engine)
    waiting.init_app(app, engine)  # the rows' subject and awaited action
    cli.init_app(app)
    from . import work

    work.init_app(app)  # the task list and the inbox

    @app.url_value_preprocessor
    def _bound_ids(endpoint: str | None, values: dict[str, Any] | None) -> None:
        """Ids in URLs fit the database's 32-bit keys; a larger one names nothing (404)."""
        from flask import abort

        for value in (values or {}).values():
            if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_ID:
                abort(404)

    @app.before_request
    def _refuse_unstorable_text() -> None:
        """A NUL or a lone surrogate in the path or query string can name nothing: 400, before any lookup."""
        from werkzeug.exceptions import BadRequest

        from .api import storable

        if not storable(request.path) or not all(storable(k) and storable(v) for k, v in request.args.items(multi=True)):
            raise BadRequest("The address contains characters that cannot be stored.")

    @app.before_request
    def _require_secret_key() -> Response | None:
        if app.config.get("SECRET_KEY_MISSING") and request.endpoint != "health":
            return Response("SECRET_KEY is not configured: set it in the environment.", 503, mimetype="text/plain")
        return None

    health.init_app(app)  # /health: database reachable, schema at this code's migration
    # browsers ask for /favicon.ico on their own (the pages name the SVG): the same icon, not a 404
    app.add_url_rule("/favicon.ico", "favicon", lambda: app.send_static_file("favicon.svg"))

    @app.after_request
    def _security_headers(response: Response) -> Response:
        present = {name.lower() for name, _value in response.headers.items()}  # a view's own value stays
        for name, value in SECURITY_HEADERS:
            if name.lower() not in present:
                response.headers.add(name, value)
        if app.config.get("UNIONFLOW_HTTPS") and "strict-transport-security" not in present:
            response.headers["Strict-Transport-Security"] = HSTS
        if _authenticated() and "no-store" not in (response.headers.get("Cache-Control") or ""):
            # what a signed-in user was shown stays out of every cache (browser history, shared proxies)
            response.headers["Cache-Control"] = "no-store"
        return response

    app.teardown_appcontext(lambda exc: g.pop("actor", None))
    return app


def _authenticated() -> bool:
    """Whether the request came with credentials: a bearer token (API) or a signed-in session (pages)."""
    if request.endpoint == "static":
        return False
    if "Authorization" in request.headers or g.get("actor") is not None:
        return True
    from flask_login import current_user

    return bool(current_user and current_user.is_authenticated)


def settle_worker() -> None:
    """Called once a server worker has loaded the app (`wsgi.py`).

    What is loaded by then (the app, the definitions, SQLAlchemy's and Flask's
    own objects: over a hundred thousand) lives as long as the worker. Frozen,
    it is left out of the cyclic garbage collector's full passes, which would
    otherwise stop the worker for tens of milliseconds every few thousand
    requests; it is still freed as usual once nothing refers to it.
    """
    gc.collect()
    gc.freeze()


def _ensure_dir(path: str) -> None:
    import os

    os.makedirs(path, exist_ok=True)
