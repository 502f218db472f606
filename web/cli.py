"""The `flask` command line of api.md: db, users, demo, audit."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

import audit
from storage import migrate
from workflow.accounts import create_user, find_user, issue_token
from workflow.errors import WorkflowError

from .extensions import get_db, get_engine

db_cli = AppGroup("db", help="Create or migrate the database schema (Alembic).")
users_cli = AppGroup("users", help="Create users and API tokens.")
demo_cli = AppGroup("demo", help="Demonstration data.")
audit_cli = AppGroup("audit", help="The hash-chained audit trail.")


def _url() -> str:
    return get_db().url


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Create or migrate the schema to REVISION (default: the newest); safe to run twice."""
    migrate.upgrade(_url(), revision)
    click.echo(f"database at revision {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the schema down to REVISION ('base' removes every table)."""
    migrate.downgrade(_url(), revision)
    click.echo(f"database at revision {revision}")


@db_cli.command("current")
def db_current() -> None:
    migrate.current(_url())


def _fail(err: WorkflowError) -> None:
    from workflow.messages import field_message

    details = "; ".join(f"{k}: {field_message(v.code, v.params, 'en')}" for k, v in err.fields.items())
    click.echo(f"error: {err.code}" + (f" ({details})" if details else ""), err=True)
    sys.exit(2)


@users_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["preparer", "reviewer", "auditor", "admin"]))
@click.option("--org", "org", default=None, help="Organisation code (not needed for admin).")
@click.option("--display-name", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(name: str, role: str, org: str | None, display_name: str | None, password_stdin: bool) -> None:
    """Create a user; the password is read from standard input."""
    if not password_stdin:
        click.echo("error: give --password-stdin and the password on standard input", err=True)
        sys.exit(2)
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with get_db().write() as session:
            create_user(session, username=name, password=password, role=role, org=org,
                        display_name=display_name, actor="cli")
    except WorkflowError as err:
        _fail(err)
    click.echo(f"created {role} {name}")


@users_cli.command("token")
@click.argument("name")
@click.option("--days", default=365, show_default=True, help="Days until the token expires (0: never).")
def users_token(name: str, days: int) -> None:
    """Print a new API token for the user on standard output, and nothing else."""
    with get_db().write() as session:
        user = find_user(session, name)
        if user is None:
            click.echo(f"error: no user named {name}", err=True)
            sys.exit(2)
        token = issue_token(session, user, name="cli", days=days or None)
    click.echo(token)


@demo_cli.command("load")
def demo_load() -> None:
    """Load the demonstration data set (organisation tree, users, cases in several states)."""
    from .demo import load_demo

    summary = load_demo(current_app)
    click.echo(summary)


@demo_cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def demo_run(host: str, port: int) -> None:
    """Migrate, load the demonstration data if the database is empty, print the logins and serve."""
    from .demo import DEMO_PASSWORD, DEMO_USERS, has_data, load_demo

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    migrate.upgrade(_url())
    if not has_data(app):
        click.echo(load_demo(app))
    if app.config.get("SECRET_KEY_MISSING"):
        import secrets

        app.config["SECRET_KEY"] = secrets.token_hex(32)
        app.config.pop("SECRET_KEY_MISSING")
    click.echo("")
    click.echo(f"UnionFlow 工会工作流 running at http://{host}:{port}/")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for username, role, org, what in DEMO_USERS:
        click.echo(f"  {username:<14} {role:<9} {org:<10} {what}")
    click.echo("")
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)


@audit_cli.command("verify")
@click.option("--quiet", is_flag=True, help="No progress output.")
def audit_verify(quiet: bool) -> None:
    """Recompute the whole trail; exit 0 when intact, 1 naming the first bad entry."""
    engine = get_engine()

    def progress(n: int) -> None:
        if not quiet:
            click.echo(f"\r  checked {n} entries…", nl=False, err=True)

    with get_db().read(snapshot=True) as session:
        result = audit.verify(session, lambda: engine.subjects(session), progress=progress)
    if not quiet:
        click.echo("", err=True)
    if result.ok:
        click.echo(f"audit trail intact: {result.checked} entries, {result.subjects} cases, head {result.head}")
        return
    bad = result.first_bad or {}
    click.echo(f"audit trail BROKEN at entry {bad.get('seq')}: {bad.get('problem')} "
               f"({result.checked} entries checked before it)")
    sys.exit(1)


def init_app(app: Flask) -> None:
    for group in (db_cli, users_cli, demo_cli, audit_cli):
        app.cli.add_command(group)
