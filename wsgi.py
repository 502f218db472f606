"""The WSGI entry point: `granian --interface wsgi wsgi:app` (or `gunicorn wsgi:app`) serves it, and the
`flask` command finds it.

A server must not start without SECRET_KEY outside development and testing
(sessions would be signed with a key no other worker shares, and the pages
would answer 503). The `flask` command line (migrations, users, audit
verification, backups) needs no SECRET_KEY, so the check applies only when
the app is not being loaded by a `flask` command.
"""
import click
from flask.cli import FlaskGroup

from web import create_app, settle_worker

app = create_app()


def _loaded_by_flask_command() -> bool:
    """True under `flask ...`; a server with a click command line of its own (granian) is no `flask` command."""
    ctx = click.get_current_context(silent=True)
    return ctx is not None and isinstance(ctx.find_root().command, FlaskGroup)


serving = not _loaded_by_flask_command()
if app.config.get("SECRET_KEY_MISSING") and serving:
    raise RuntimeError(
        "SECRET_KEY is not set: refusing to serve UnionFlow in production. Set SECRET_KEY in the environment "
        "(a long random value shared by every worker and host), or UNIONFLOW_ENV=development on a development machine."
    )

if serving:  # a worker that will answer requests for a long time, not a command that ends shortly
    settle_worker()
