"""`GET /health` for load balancers and monitoring: is the database reachable, is its schema this code's?

200 `{"status": "ok", "database": "ok", "revision": R, "head": R, "schema": "current"}` when the
database answers and is at the newest migration this code knows (or newer:
during a rolling deployment the migration runs first, and the servers still
on the old code keep serving). 503 with `"status": "unavailable"` when the
database does not answer, and with `"status": "outdated"` when its schema is
behind this code (`flask db upgrade` has not run yet), so that a balancer
sends no traffic to a server that would fail. It needs no login and is not
held back when SECRET_KEY is missing.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, Response
from sqlalchemy.exc import SQLAlchemyError

from storage import migrate

from .extensions import get_db

log = logging.getLogger("unionflow.health")


def code_heads(url: str) -> tuple[str, ...]:
    """The newest revisions of the migrations shipped with this code."""
    return tuple(sorted(ScriptDirectory.from_config(migrate.alembic_config(url)).get_heads()))


def known_revisions(url: str) -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(migrate.alembic_config(url)).walk_revisions()}


def report(app: Flask) -> tuple[dict[str, Any], int]:
    db = get_db(app)
    cache = app.extensions.setdefault("unionflow.health", {})
    if "heads" not in cache:
        cache["heads"] = code_heads(db.url)
        cache["known"] = known_revisions(db.url)
    heads: tuple[str, ...] = cache["heads"]
    body: dict[str, Any] = {"status": "ok", "database": "ok", "revision": None, "head": ",".join(heads)}
    try:
        with db.engine.connect() as conn:
            current = tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    except SQLAlchemyError as err:
        log.warning("health: database unreachable: %s", type(err).__name__)
        body.update(status="unavailable", database="unreachable")
        return body, 503
    body["revision"] = ",".join(current) or None
    if current == heads:
        body["schema"] = "current"
    elif current and not all(r in cache["known"] for r in current):
        body["schema"] = "newer"  # migrated ahead of this code: a rolling deployment in progress
    else:
        body.update(status="outdated", schema="behind")  # no schema, or an older one
        return body, 503
    return body, 200


def init_app(app: Flask) -> None:
    @app.get("/health")
    def health() -> Response:
        body, status = report(app)
        return Response(json.dumps(body), status=status, mimetype="application/json",
                        headers={"Cache-Control": "no-store"})
