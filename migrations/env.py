"""Alembic environment: the schema of every UnionFlow table."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import audit.models  # noqa: F401  (registers the trail's tables)
import workflow.models  # noqa: F401  (registers the domain tables)
import services.attachments  # noqa: F401
import services.login_throttle  # noqa: F401  (failed logins)
import services.work  # noqa: F401  (deadline alerts, notifications)
from storage import Base
from storage import normalise_url

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=normalise_url(config.get_main_option("sqlalchemy.url")), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(normalise_url(config.get_main_option("sqlalchemy.url")), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
