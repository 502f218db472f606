"""Structured logs: one JSON line per request on standard error, with a request id.

Every request gets an id: the caller's `X-Request-ID` when it is a plausible
one (a reverse proxy or a calling system sets it, so one id follows a request
across machines), a fresh one otherwise; it is echoed in the response's
`X-Request-ID` header and stamped on every log line written while the request
runs. The request line holds time, level, request id, method, path (never the
query string), status, duration and the user's name: no header, body, form,
password or token is ever logged. The application's own log records (an
unhandled exception's traceback, for one) come out as JSON lines too.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import time
import traceback
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from storage import json_bytes

REQUEST_LOGGER = "unionflow.request"
HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")


class JsonFormatter(logging.Formatter):
    """time, level, logger, request_id, message, the record's `fields`, and a traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).replace(tzinfo=None)
                    .isoformat(timespec="microseconds") + "Z",
            "level": record.levelname,
            "logger": record.name,
        }
        request_id = getattr(record, "request_id", None) or _current_request_id()
        if request_id:
            out["request_id"] = request_id
        out["message"] = record.getMessage()
        out.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            out["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json_bytes(out, str).decode("utf-8")  # anything without a JSON form as its str()


class StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time (a test's capture, a server's pipe)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001  (logging must never break a request)
            self.handleError(record)


def _current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


def request_id_from(header: str | None) -> str:
    """The incoming id when it is short and plain (it ends up in logs and headers), else a new one."""
    if header and _VALID_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def _user() -> str | None:
    actor = g.get("actor")  # the API's bearer-token user
    if actor is not None:
        return actor.username
    user = g.get("_login_user")  # Flask-Login's user, only if this request loaded it
    if user is not None and getattr(user, "is_authenticated", False):
        return getattr(user, "username", None) or str(user.get_id())
    return None


def _install(logger: logging.Logger, level: int, propagate: bool) -> None:
    if not any(isinstance(h, StderrHandler) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate


def init_app(app: Flask) -> None:
    name = app.config.get("LOG_LEVEL") or os.environ.get("UNIONFLOW_LOG_LEVEL", "INFO")
    level = logging.getLevelName(str(name).upper())
    level = level if isinstance(level, int) else logging.INFO
    # before Flask builds app.logger, so that it keeps ours instead of adding its plain-text handler
    _install(logging.getLogger(app.import_name), level, propagate=True)
    _install(logging.getLogger("unionflow"), level, propagate=True)
    access = logging.getLogger(REQUEST_LOGGER)
    _install(access, level, propagate=False)

    @app.before_request
    def _start() -> None:
        g.request_id = request_id_from(request.headers.get(HEADER))
        g.request_started = time.perf_counter()

    @app.after_request
    def _log(response: Response) -> Response:
        request_id = g.get("request_id") or request_id_from(None)
        response.headers[HEADER] = request_id
        started = g.get("request_started")
        duration = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
        access.info("%s %s %s", request.method, request.path, response.status_code, extra={"request_id": request_id, "fields": {
            "method": request.method, "path": request.path, "status": response.status_code,
            "duration_ms": duration, "user": _user(),
        }})
        return response
