"""The `flask` command line of api.md: db (upgrade, backup), users, demo, audit (verify, keygen, checkpoint, tree,
proof, consistency, prove)."""
from __future__ import annotations

import json
import os
import sqlite3
import sys
import unicodedata
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.engine import make_url

import audit
from audit import checkpoint as checkpoints
from audit import merkle
from audit import tree as merkle_tree
from services.accounts import create_user, end_sessions, find_user, issue_token
from storage import migrate, utcnow
from workflow import WorkflowError

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


@db_cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
def db_backup(file: str) -> None:
    """Copy the SQLite database to FILE with SQLite's online backup: consistent while the server runs.

    PostgreSQL is backed up with pg_dump (see the README's Operations section).
    """
    url = make_url(_url())
    if url.get_backend_name() != "sqlite":
        click.echo("error: `flask db backup` copies SQLite databases; back up PostgreSQL with "
                   "pg_dump --format=custom (see the README's Operations section)", err=True)
        sys.exit(2)
    if not url.database or url.database == ":memory:":
        click.echo("error: an in-memory database cannot be backed up", err=True)
        sys.exit(2)
    if os.path.exists(file):
        click.echo(f"error: {file} exists; refusing to overwrite it", err=True)
        sys.exit(2)
    partial = file + ".partial"
    source = sqlite3.connect(url.database, timeout=30)
    target = sqlite3.connect(partial)
    try:
        source.backup(target)  # one step: the copy is one consistent snapshot
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        ok = target.execute("PRAGMA integrity_check").fetchone()[0]
        head = target.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    except BaseException:
        target.close()
        os.unlink(partial)
        raise
    finally:
        target.close()
        source.close()
    if ok != "ok":
        os.unlink(partial)
        click.echo(f"error: the copy failed its integrity check: {ok}", err=True)
        sys.exit(1)
    os.replace(partial, file)
    seq, digest = head or (0, "-")
    click.echo(f"backed up {url.database} to {file}: audit trail head {seq} {digest}")


def _fail(err: WorkflowError) -> NoReturn:
    from workflow import error_message, field_message

    details = "; ".join(f"{k}: {field_message(v.code, v.params, 'en')}" for k, v in err.fields.items())
    if not details and err.code not in ("invalid_input", "guard_failed"):
        details = error_message(err.code, "en")
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
    """Print a new API token for the user on standard output, and nothing else.

    The issue is an audit entry (actor `cli`); a user holds at most 10 live tokens.
    """
    try:
        with get_db().write() as session:
            user = find_user(session, name)
            if user is None:
                click.echo(f"error: no user named {name}", err=True)
                sys.exit(2)
            token = issue_token(session, user, name="cli", days=days or None, actor="cli")
    except WorkflowError as err:
        _fail(err)
    click.echo(token)


@users_cli.command("end-sessions")
@click.argument("name")
def users_end_sessions(name: str) -> None:
    """Sign the user out everywhere: every signed-in session ends at once (an audit entry); tokens stay."""
    with get_db().write() as session:
        user = find_user(session, name)
        if user is None:
            click.echo(f"error: no user named {name}", err=True)
            sys.exit(2)
        end_sessions(session, user, actor="cli")
    click.echo(f"signed out {name} everywhere")


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
    click.echo(f"UnionFlow 工会工作流已启动：http://{host}:{port}/  (running at http://{host}:{port}/)")
    click.echo(f"演示账号，密码均为 {DEMO_PASSWORD}（demo logins, password for all: {DEMO_PASSWORD}）：")
    for line in login_table(DEMO_USERS):
        click.echo(line)
    click.echo("")
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)


def login_table(users: list[tuple[str, str, str, str]]) -> list[str]:
    """The demo's logins as `flask demo run` prints them: a row per user, in Chinese, aligned."""
    from .i18n import ROLE_LABELS

    def row(username: str, role: str, org: str, what: str) -> str:
        return "  " + "".join(_pad(v, w) for v, w in ((username, 18), (role, 12), (org, 10))) + what

    return [row("用户名", "角色", "单位", "说明"),
            *(row(username, ROLE_LABELS[role][0], org, what) for username, role, org, what in users),
            row("prep_d1 … prep_d5", ROLE_LABELS["preparer"][0], "", "区内五家大型企业的建会筹备组")]


def _pad(value: str, width: int) -> str:
    """`value` padded to `width` terminal columns, counting a CJK character as two."""
    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in value)
    return value + " " * max(1, width - shown)


def verify_workers() -> int:
    """Processes `flask audit verify` checks a long trail in: one per core, up to eight."""
    return max(1, min(os.cpu_count() or 1, 8))


@audit_cli.command("verify")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Prove that the trail extends this signed checkpoint (a signed note: by a consistency proof, "
                   "without a rescan; the JSON form: after recomputing the whole trail).")
@click.option("--public-key", "public_key_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The audit office's public key (PEM) the checkpoint must be signed with.")
def audit_verify(quiet: bool, checkpoint_file: str | None, public_key_file: str | None) -> None:
    """Recompute the whole trail; exit 0 when intact, 1 naming the first bad entry."""
    if checkpoint_file and checkpoints.is_note(Path(checkpoint_file).read_bytes()):
        _verify_note(checkpoint_file, public_key_file)
        return
    engine = get_engine()
    checkpoint = _read_checkpoint(checkpoint_file, public_key_file) if checkpoint_file else None

    def progress(n: int) -> None:
        if not quiet:
            click.echo(f"\r  checked {n} entries…", nl=False, err=True)

    with get_db().read(snapshot=True) as session:
        result = audit.verify(session, lambda: engine.subjects(session), progress=progress,
                              workers=verify_workers())
        # the declared entities (会员名册) replayed from the changes the trail records for them
        replayed = engine.verify_entities(session) if result.ok else []
        problem = None
        if checkpoint is not None and result.ok:
            cp = checkpoint[0]
            problem = checkpoints.extension_problem(cp, checkpoints.head_of(session),
                                                    checkpoints.hash_at(session, cp["seq"]) if cp["seq"] else None)
    if not quiet:
        click.echo("", err=True)
    if not result.ok:
        bad = result.first_bad or {}
        click.echo(f"audit trail BROKEN at entry {bad.get('seq')}: {bad.get('problem')} "
                   f"({result.checked} entries checked before it)")
        sys.exit(1)
    if replayed:
        click.echo(f"audit trail BROKEN: {replayed[0]} ({len(replayed)} rows differ from the changes recorded)")
        sys.exit(1)
    counts = result.counts
    members = f", {counts['member']} members" if counts.get("member") else ""
    click.echo(f"audit trail intact: {result.checked} entries, {counts.get('case', 0)} cases, "
               f"{counts.get('org', 0)} organisations, {counts.get('user', 0)} users{members}, head {result.head}")
    if checkpoint is None:
        return
    cp, trusted = checkpoint
    if problem is not None:
        click.echo(f"audit trail does NOT extend the checkpoint: {problem}")
        sys.exit(1)
    who = "the given public key" if trusted else "the key inside the checkpoint (pass --public-key to check whose)"
    click.echo(f"extends the checkpoint of {cp['time']}: entry {cp['seq']} has hash {cp['hash']}; "
               f"signature by key {cp['key_id']} valid ({who})")


def _read_checkpoint(path: str, public_key_file: str | None) -> tuple[dict, bool]:
    """The checkpoint, its signature checked; exit 2 when a file cannot be read, 1 when the signature fails."""
    try:
        cp = checkpoints.loads(Path(path).read_bytes())
        trusted = checkpoints.load_public_key(Path(public_key_file).read_bytes()) if public_key_file else None
    except (OSError, checkpoints.CheckpointError) as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    try:
        checkpoints.check_signature(cp, trusted)
    except checkpoints.CheckpointError as err:
        click.echo(f"checkpoint signature INVALID: {err}")
        sys.exit(1)
    return cp, trusted is not None


def _read_note(path: str, public_key_file: str | None) -> checkpoints.Note:
    """A signed note, its signature checked against the public key (which a note does not carry)."""
    if not public_key_file:
        click.echo("error: a signed-note checkpoint names no key: pass --public-key", err=True)
        sys.exit(2)
    try:
        note = checkpoints.parse_note(Path(path).read_bytes())
        trusted = checkpoints.load_public_key(Path(public_key_file).read_bytes())
    except (OSError, checkpoints.CheckpointError) as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    try:
        checkpoints.check_note(note, trusted)
    except checkpoints.CheckpointError as err:
        click.echo(f"checkpoint signature INVALID: {err}")
        sys.exit(1)
    return note


def _verify_note(path: str, public_key_file: str | None) -> None:
    note = _read_note(path, public_key_file)
    with get_db().read(snapshot=True) as session:
        problem = checkpoints.note_extension_problem(session, note)
        now = merkle_tree.tree_head(session)
    if problem is not None:
        click.echo(f"audit trail does NOT extend the checkpoint: {problem}")
        sys.exit(1)
    click.echo(f"extends the checkpoint {note.origin} of {note.size} entries (root {note.root.hex()}): consistency "
               f"proof to today's {now.size} entries (root {now.root.hex()}) verified; signature valid (the given "
               "public key). `flask audit verify` alone recomputes every entry and tree node.")


@audit_cli.command("keygen")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write the private key.")
def audit_keygen(out: str) -> None:
    """Create an Ed25519 signing key for checkpoints: the private key goes to OUT (mode 0600),
    the public key is printed. Keep OUT off the server."""
    key = checkpoints.generate_key()
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        click.echo(f"error: {out} exists; refusing to overwrite a key", err=True)
        sys.exit(2)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(checkpoints.private_key_pem(key))
    click.echo(checkpoints.public_key_pem(key.public_key()).decode("ascii"), nl=False)
    click.echo(f"private key written to {out}; key id {checkpoints.key_id(key.public_key())}", err=True)


@audit_cli.command("checkpoint")
@click.option("--key", "key_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The Ed25519 private key (PEM) to sign with.")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False),
              help="Write the JSON checkpoint here, and the signed note beside it (same name, .note).")
@click.option("--note", "note_only", is_flag=True, help="Print the signed note instead of the JSON form.")
@click.option("--origin", default=None, help="The log's name in the signed note (default: UNIONFLOW_AUDIT_ORIGIN "
                                             f"or {checkpoints.DEFAULT_ORIGIN}).")
def audit_checkpoint(key_file: str, out: str | None, note_only: bool, origin: str | None) -> None:
    """Verify the trail, then print (or write) a signed checkpoint of its head: the JSON form and a C2SP
    signed note (origin, tree size, base64 Merkle root, signature line)."""
    try:
        key = checkpoints.load_private_key(Path(key_file).read_bytes())
    except (OSError, checkpoints.CheckpointError) as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    origin = origin or current_app.config.get("UNIONFLOW_AUDIT_ORIGIN") or os.environ.get(
        "UNIONFLOW_AUDIT_ORIGIN") or checkpoints.DEFAULT_ORIGIN
    engine = get_engine()
    with get_db().read(snapshot=True) as session:
        result = audit.verify(session, lambda: engine.subjects(session))
        head = checkpoints.head_of(session)
        tree_head = merkle_tree.tree_head(session)
    if not result.ok:
        bad = result.first_bad or {}
        click.echo(f"refusing to sign: audit trail BROKEN at entry {bad.get('seq')}: {bad.get('problem')}", err=True)
        sys.exit(1)
    try:
        note = checkpoints.sign_note(origin, tree_head.size, tree_head.root, key)
    except checkpoints.CheckpointError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    text = checkpoints.dumps(checkpoints.sign(head, key, utcnow()))
    if out:
        Path(out).write_text(text, encoding="utf-8")
        note_path = Path(out).with_suffix(".note")
        note_path.write_text(note, encoding="utf-8")
        click.echo(f"checkpoint of {head.entries} entries (head {head.seq}) written to {out}, signed note to "
                   f"{note_path}", err=True)
    else:
        click.echo(note if note_only else text, nl=False)


def _proof_error(err: Exception) -> None:
    click.echo(f"error: {err}", err=True)
    sys.exit(2)


@audit_cli.command("tree")
def audit_tree() -> None:
    """Print the Merkle tree's size and root (hex) as JSON."""
    with get_db().read() as session:
        click.echo(json.dumps(merkle_tree.tree_head(session).as_dict()))


@audit_cli.command("proof")
@click.argument("seq", type=int)
@click.option("--size", type=int, default=None, help="The tree size to prove against (default: the current one).")
def audit_proof(seq: int, size: int | None) -> None:
    """Print the inclusion proof of entry SEQ as JSON (the shape of GET /audit/entries/<seq>/proof)."""
    with get_db().read() as session:
        try:
            proof = merkle_tree.inclusion_proof(session, seq - 1, size)
        except merkle.ProofError as err:
            _proof_error(err)
    click.echo(json.dumps({"seq": seq, "leaf_index": proof.leaf_index, "tree_size": proof.tree_size,
                           "path": [h.hex() for h in proof.path], "root": proof.root.hex()}))


@audit_cli.command("consistency")
@click.option("--from", "old", type=int, required=True, help="The older tree size.")
@click.option("--to", "new", type=int, default=None, help="The newer tree size (default: the current one).")
def audit_consistency(old: int, new: int | None) -> None:
    """Print the consistency proof between two tree sizes as JSON (the shape of GET /audit/consistency)."""
    with get_db().read() as session:
        try:
            proof = merkle_tree.consistency_proof(session, old, new)
        except merkle.ProofError as err:
            _proof_error(err)
    click.echo(json.dumps({"from": proof.old, "to": proof.new, "path": [h.hex() for h in proof.path],
                           "from_root": proof.old_root.hex(), "to_root": proof.new_root.hex()}))


@audit_cli.command("prove")
@click.option("--entry", "seq", type=int, required=True, help="The entry's seq.")
@click.option("--checkpoint", "checkpoint_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A signed-note checkpoint whose tree holds the entry.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write the proof.")
def audit_prove(seq: int, checkpoint_file: str, out: str) -> None:
    """Write a self-contained proof of entry SEQ against the checkpoint: the entry verbatim, its inclusion
    proof and the signed note; `tools/verify_proof.py` checks it with nothing but the public key."""
    from .proofs import ProofUnavailable, proof_file

    note_text = Path(checkpoint_file).read_text(encoding="utf-8", errors="replace")
    with get_db().read() as session:
        try:
            body = proof_file(session, seq, note_text, masked=False)
        except ProofUnavailable as err:
            _proof_error(err)
    Path(out).write_text(json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    click.echo(f"proof of entry {seq} in the tree of {body['tree_size']} entries written to {out}", err=True)


@click.command("sweep")
@with_appcontext
@click.option("--today", default=None, metavar="YYYY-MM-DD",
              help="The day to sweep for (default: today in the profile's zone).")
def sweep_command(today: str | None) -> None:
    """Send the deadline reminders and escalations whose day has come (办理时限); safe to run again."""
    from datetime import date

    from services.work import sweep

    day = None
    if today is not None:
        try:
            day = date.fromisoformat(today)
        except ValueError:
            click.echo(f"--today: 日期格式应为 YYYY-MM-DD (not a date: {today!r})", err=True)
            sys.exit(2)
    result = sweep(get_db(), get_engine(), day)
    click.echo(f"swept {result.looked_at} open cases near or past their deadline: "
               f"{result.alerts['due_soon']} due soon, {result.alerts['overdue']} overdue, "
               f"{result.alerts['escalated']} escalated; {result.notifications} notifications"
               + (f"; {result.deadlines_set} deadlines set" if result.deadlines_set else "")
               + (f"; {result.system_steps} expired by the system" if result.system_steps else ""))
    from .work import send_mail

    mailed = send_mail(current_app._get_current_object())  # type: ignore[attr-defined]
    if mailed is not None:
        click.echo(f"e-mail: {mailed.sent} sent, {mailed.failed} failed (tried again at the next run)")


@click.command("worker")
@with_appcontext
@click.option("--name", default=None, help="The worker's name in the logs.")
def worker_command(name: str | None) -> None:
    """Run a task queue worker (PostgreSQL): the periodic deadline sweep, once a period however many workers
    run, and the notifications' e-mail. Stops on SIGINT or SIGTERM."""
    from . import queue

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not queue.is_postgres(app):
        click.echo("flask worker 需要 PostgreSQL；SQLite 上请用 cron 每天运行 flask sweep "
                   "(the task queue lives in PostgreSQL: on SQLite run `flask sweep` from cron)", err=True)
        sys.exit(2)
    if queue.ensure_schema(app):
        click.echo("task queue tables created", err=True)
    click.echo(f"worker {name or ''} started: sweep at {app.config.get('SWEEP_CRON')} (UTC), e-mail every minute",
               err=True)
    queue.run_worker(app, name=name, wait=True)


def init_app(app: Flask) -> None:
    for group in (db_cli, users_cli, demo_cli, audit_cli):
        app.cli.add_command(group)
    app.cli.add_command(sweep_command)
    app.cli.add_command(worker_command)
