"""The task queue on PostgreSQL (procrastinate, in the same database: no other server): the periodic deadline
sweep and the sending of the notifications' e-mail.

Every app server may run a worker (`flask worker`); a periodic task is deferred once per period however many
workers run — each worker tries to defer it for the same scheduled time and the database keeps one — so the
sweep runs once a period across the installation (`UNIONFLOW_SWEEP_CRON`, UTC, by default 23:00, which is
07:00 in Beijing), and the e-mails go out every minute. On SQLite there is no queue: `flask sweep` from cron
does both.
"""
from __future__ import annotations

import logging
from typing import Any

import procrastinate
from procrastinate.schema import SchemaManager
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.work import sweep

from .extensions import get_db, get_engine

log = logging.getLogger("unionflow.queue")
SWEEP_TASK, MAIL_TASK = "unionflow.sweep", "unionflow.mail"
MAIL_CRON = "* * * * *"
_SCHEMA_LOCK = 730_113  # pg_advisory_xact_lock key: one worker applies the queue's schema at a time


def conninfo(url: str) -> str:
    """The libpq URI of a SQLAlchemy PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def is_postgres(app: Flask) -> bool:
    return make_url(get_db(app).url).get_backend_name() == "postgresql"


def queue_app(app: Flask) -> procrastinate.App:
    """The procrastinate app of this Flask app's database, with the periodic sweep and e-mail tasks."""
    queue = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(get_db(app).url)))

    @queue.periodic(cron=app.config.get("SWEEP_CRON") or "0 23 * * *", periodic_id="sweep")
    @queue.task(name=SWEEP_TASK, queueing_lock=SWEEP_TASK)
    def sweep_task(timestamp: int) -> None:
        with app.app_context():
            result = sweep(get_db(app), get_engine(app))
        log.info("sweep of %s: %s alerts, %s notifications", timestamp, result.written, result.notifications,
                 extra={"alerts": result.alerts, "looked_at": result.looked_at})

    @queue.periodic(cron=MAIL_CRON, periodic_id="mail")
    @queue.task(name=MAIL_TASK, queueing_lock=MAIL_TASK)
    def mail_task(timestamp: int) -> None:
        from .work import send_mail

        sent = send_mail(app)
        if sent is not None and (sent.sent or sent.failed):
            log.info("e-mail: %s sent, %s failed", sent.sent, sent.failed)

    return queue


def ensure_schema(app: Flask) -> bool:
    """Create the queue's tables in the database if they are not there yet; True when it did."""
    engine = get_db(app).engine
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK})
        if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return False
        # on the driver itself: the schema's SQL has % signs that are no placeholders
        conn.connection.driver_connection.execute(SchemaManager.get_schema())
    return True


def run_worker(app: Flask, **options: Any) -> None:
    """Run a worker until it is stopped (SIGINT, SIGTERM), its jobs finished first."""
    queue_app(app).run_worker(**options)
