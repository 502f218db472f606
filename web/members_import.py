"""会员名册导入导出: a union's roster imported from the 实名制 spreadsheet (the API, the page's dry run and
confirmed import, the sheet handed back with a 问题 column, `flask members import`), and exported to xlsx.

The checks and the writing are `services.roster_import`'s and the engine's (`Engine.enrol_members`); this
module reads the upload under the upload limit, frames the units of work and shows the outcome. Between the
dry run and the confirmed import the page keeps the file on the server for a day, under a random name bound
to the user and the union, so that the confirmation imports exactly the file that was checked.
"""
from __future__ import annotations

import io
import re
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, Flask, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.accounts import find_org, find_user
from services.roster_import import (
    COLUMNS,
    LABELS,
    LABELS_EN,
    PROBLEM_COLUMN,
    RosterImport,
    import_roster,
    problems_by_row,
)
from workflow import (
    Actor,
    FieldError,
    InvalidInput,
    NotFound,
    Organisation,
    WorkflowError,
    can_view,
    mask_id_number,
    roster_query,
)

from .api import endpoint, error, respond, roster_filter
from .extensions import csrf, get_db, get_engine
from .i18n import error_payload, lang
from .members import GENDER_LABELS, STATUS_LABELS, group_labels
from .present import sees_roster_data
from .reports import FILE_REFUSALS
from .reports_import import max_bytes, raise_body_limit
from .statuses import status_of
from .steps import explain

api_bp = Blueprint("members_import_api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)  # a bearer token, no cookie
bp = Blueprint("members_import", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KEEP_SECONDS = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


def _status(result: RosterImport, dry_run: bool) -> int:
    """200 a dry run, 201 an import written; a file refused whole 400 (413 for its size); 422 problems."""
    file_problem = result.file_problem
    if file_problem is not None:
        return FILE_REFUSALS.get(file_problem.code, 400)
    if result.problems and not dry_run:
        return 422
    return 200 if dry_run else 201


def _upload() -> tuple[str, bytes] | None:
    """The uploaded `file` (name, bytes) read under the upload limit, or None when none was sent; a larger
    file is refused (413) before anything reads it."""
    raise_body_limit()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    content = upload.stream.read(max_bytes() + 1)
    if len(content) > max_bytes():
        abort(413)
    return upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:200], content


# -- the API ------------------------------------------------------------------------------

@api_bp.post("/orgs/<code>/members/import")
@endpoint(units=True)
def post_import(db: Any, actor: Actor, code: str) -> Response:
    """The roster from a spreadsheet: `?dry_run=1` checks it (200), else every row is written or none (201;
    422 listing the problems). A reviewer of the union."""
    dry_run = request.args.get("dry_run", "") not in ("", "0", "false")
    with db.read() as session:
        union = _union_or_404(session, actor, code)
        refusal = get_engine().roster_import_refusal(actor, union)
        if refusal is not None:
            raise refusal
    upload = _upload()
    if upload is None:
        raise InvalidInput(fields={"file": FieldError("required")})
    filename, content = upload
    result = _run(db, actor, code, content, filename, dry_run)
    return respond(result.as_json(lang()), _status(result, dry_run))


def _union_or_404(session: Session, actor: Actor, code: str) -> Organisation:
    org = find_org(session, code)
    if org is None or not can_view(actor, org):
        raise NotFound()
    return org


def _run(db: Any, actor: Actor, code: str, content: bytes, filename: str, dry_run: bool,
         progress: Any = None) -> RosterImport:
    """The import in one unit of work: a read for a dry run, else a write whose checks and rows land
    together (the union's row locked before the checks read the roster)."""
    engine = get_engine()
    with (db.read() if dry_run else db.write()) as session:
        union = _union_or_404(session, actor, code)
        return import_roster(session, engine, actor, union, content, filename=filename, dry_run=dry_run,
                             progress=progress)


@api_bp.errorhandler(413)
def _too_large(_exc: Any) -> Response:
    return error("payload_too_large", 413)


# -- the page -------------------------------------------------------------------------------

def _kept_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / "roster-imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _kept_path(token: str, actor: Actor, org: Organisation) -> Path:
    return _kept_dir() / f"{token}.{actor.id}.{org.id}"


def _keep(content: bytes, filename: str, actor: Actor, org: Organisation) -> str:
    """Keep a checked upload until the confirmation (and for the sheet of its problems); older ones go."""
    now = time.time()
    for old in _kept_dir().iterdir():
        try:
            if now - old.stat().st_mtime > KEEP_SECONDS:
                old.unlink()
        except OSError:
            continue
    token = secrets.token_urlsafe(16)
    _kept_path(token, actor, org).write_bytes(filename.encode("utf-8")[:600] + b"\n" + content)
    return token


def _kept(token: str, actor: Actor, org: Organisation) -> tuple[str, bytes]:
    """The kept upload (name, bytes); 404 for a token that is not this user's and this union's."""
    if not _TOKEN.fullmatch(token or ""):
        abort(404)
    path = _kept_path(token, actor, org)
    try:
        raw = path.read_bytes()
    except OSError:
        abort(404)
    name, _sep, content = raw.partition(b"\n")
    return name.decode("utf-8", "replace"), content


def _page_union(code: str) -> tuple[Actor, Organisation]:
    actor = current_user.actor()
    with get_db().read() as session:
        org = find_org(session, code)
        if org is None or not can_view(actor, org):
            abort(404)
        session.expunge(org)
    return actor, org


def _refuse_unless_importer(actor: Actor, org: Organisation) -> None:
    """403 for whoever sees the union but may not import into its roster (the engine says who may)."""
    refusal = get_engine().roster_import_refusal(actor, org)
    if refusal is not None:
        abort(404 if status_of(refusal) == 404 else 403)


def may_import_roster(actor: Actor, org: Organisation) -> bool:
    return get_engine().roster_import_refusal(actor, org) is None


def _render(org: Organisation, result: RosterImport | None = None, token: str | None = None,
            problem: str | None = None, status: int = 200) -> Any:
    ui = lang()
    labels = LABELS_EN if ui == "en" else LABELS
    return render_template("members/import.html", org=org, result=result, token=token, problem=problem,
                           ui_lang=ui, field_label=lambda f: labels.get(f, "") if f else "",
                           columns=COLUMNS, max_mb=max_bytes() // (1024 * 1024)), status


@bp.route("/orgs/<code>/members/import", methods=["GET", "POST"])
@login_required
@csrf.exempt  # the form checks its token itself, after the body limit is raised for the file
def page(code: str) -> Any:
    """预检 (a dry run of the uploaded file), then 导入 once confirmed (the kept file, checked again)."""
    actor, org = _page_union(code)
    _refuse_unless_importer(actor, org)
    if request.method == "GET":
        return _render(org)
    raise_body_limit()
    if not FlaskForm().validate_on_submit():
        return _render(org, problem=_("表单已过期或无效，请返回上一页刷新后重新提交。"), status=400)
    token = request.form.get("token") or ""
    if token:
        if request.form.get("confirmed") != "1":
            return _render(org, problem=_("请确认导入。"), status=400)
        filename, content = _kept(token, actor, org)
        return _import(actor, org, token, filename, content)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render(org, problem=_("请选择要导入的文件。"), status=400)
    content = upload.stream.read(max_bytes() + 1)
    if len(content) > max_bytes():
        return _render(org, problem=_("文件超过 %(mb)s MB，请拆分后分批导入。", mb=max_bytes() // (1024 * 1024)),
                       status=413)
    filename = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:200]
    result = _run(get_db(), actor, org.code, content, filename, dry_run=True)
    if result.file_problem is not None:
        return _render(org, result, status=_status(result, True))
    return _render(org, result, token=_keep(content, filename, actor, org))


def _import(actor: Actor, org: Organisation, token: str, filename: str, content: bytes) -> Any:
    try:
        result = _run(get_db(), actor, org.code, content, filename, dry_run=False)
    except IntegrityError:
        return _render(org, problem=_("导入期间名册已被他人修改，未导入任何数据。请重新预检后再导入。"), status=409)
    except WorkflowError as err:
        outcome = explain(err)
        return _render(org, problem="；".join(outcome.messages) or None, status=outcome.status)
    if result.problems:
        return _render(org, result, token=token, status=_status(result, False))
    _kept_path(token, actor, org).unlink(missing_ok=True)
    flash(_("已导入 %(n)s 名会员。", n=len(result.member_ids)), "success")
    return redirect(url_for("members.roster", code=org.code))


@bp.get("/orgs/<code>/members/import/<token>/problems.xlsx")
@login_required
def problems_sheet(code: str, token: str) -> Any:
    """The checked file as a sheet with a 问题 column: each row's problems beside it."""
    actor, org = _page_union(code)
    _refuse_unless_importer(actor, org)
    filename, content = _kept(token, actor, org)
    with get_db().read() as session:
        union = find_org(session, org.code)
        assert union is not None
        result = import_roster(session, get_engine(), actor, union, content, filename=filename, dry_run=True)
    if result.table is None:
        abort(404)
    stem = filename.rsplit(".", 1)[0] or "roster"
    return _download(problem_sheet(result, lang()), f"{stem}-问题.xlsx")


def problem_sheet(result: RosterImport, ui: str = "zh") -> bytes:
    """The file's columns as read, each data row in its place, and the 问题 column."""
    table = result.table
    assert table is not None
    fields = list(table.columns)
    by_row = problems_by_row(result.problems, ui)
    book = Workbook(write_only=True)
    ws = book.create_sheet("名册")
    ws.append([COLUMNS[f][0] for f in fields] + [PROBLEM_COLUMN])
    for number, raw in table.rows:
        row = number - table.header_row
        ws.append([raw.get(f) for f in fields] + [by_row.get(row, "")])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _download(content: bytes, filename: str) -> Response:
    from urllib.parse import quote

    resp = Response(content, mimetype=XLSX)
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", filename) or "roster.xlsx"
    resp.headers["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return resp


# -- export ----------------------------------------------------------------------------------

EXPORT_HEADERS = ("会员编号", "姓名", "身份证号", "性别", "出生日期", "入会日期", "工作单位", "八大群体", "会籍状态",
                  "退会日期")


@bp.get("/orgs/<code>/members/export.xlsx")
@login_required
def export(code: str) -> Any:
    """The roster (the page's filters apply) as a workbook with Chinese headers; ID numbers masked unless the
    user belongs to the union."""
    actor = current_user.actor()
    with get_db().read() as session:
        org = find_org(session, code)
        if org is None or not can_view(actor, org):
            abort(404)
        try:
            wanted = roster_filter(request.args)
        except InvalidInput:
            abort(400)
        content = roster_sheet(session, org, wanted, sees_roster_data(actor, org))
        name = org.name
    return _download(content, f"{name}会员名册.xlsx")


def roster_sheet(session: Session, org: Organisation, wanted: Any, unmasked: bool) -> bytes:
    groups, statuses, genders = group_labels(), STATUS_LABELS, GENDER_LABELS
    book = Workbook(write_only=True)
    ws = book.create_sheet("会员名册")
    header = []
    for title in EXPORT_HEADERS:
        cell_font = Font(bold=True)
        header.append(_cell(ws, title, cell_font))
    ws.append(header)
    for m in session.scalars(roster_query(org.id, wanted, full_ids=unmasked)).yield_per(2000):
        employer = m.employer.name if m.employer is not None else (m.employer_name or "")
        ws.append([m.member_no, m.name, m.id_number if unmasked else mask_id_number(m.id_number),
                   str(genders.get(m.gender, "")), m.born_on.isoformat() if m.born_on else "",
                   m.joined_on.isoformat(), employer, groups.get(m.group_code, "") if m.group_code else "",
                   str(statuses.get(m.status, "")), m.left_on.isoformat() if m.left_on else ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(ws: Any, value: str, font: Font) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.font = font
    cell.fill = PatternFill("solid", fgColor="F2DCDB")
    return cell


# -- command line -----------------------------------------------------------------------------

members_cli = AppGroup("members", help="The roster of named members (会员名册).")


@members_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--org", "code", required=True, help="The union's organisation code.")
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--user", "username", default=None,
              help="Import as this user (a reviewer of the union); default: cli as the union's reviewer.")
def members_import(file: str, code: str, dry_run: bool, username: str | None) -> None:
    """Import a union's roster (会员名册) from the 实名制 .xlsx or CSV FILE."""
    content = Path(file).read_bytes()
    db = get_db()
    with db.read() as session:
        org = find_org(session, code)
        if org is None:
            click.echo(f"error: no organisation has the code {code}", err=True)
            sys.exit(2)
        if username:
            user = find_user(session, username)
            if user is None:
                click.echo(f"error: no user named {username}", err=True)
                sys.exit(2)
            actor = Actor.of(user)
        else:
            actor = Actor(0, "cli", "reviewer", org.id, org.path, org.code)
    bar: Any = None

    def progress(stage: str, done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total * (1 if dry_run else 2), label="检查并导入" if not dry_run else "检查",
                                    file=sys.stderr)
            bar.__enter__()
        bar.update(done + (total if stage == "write" else 0) - bar.pos)

    try:
        result = _run(db, actor, code, content, Path(file).name, dry_run, progress)
    except WorkflowError as err:
        body = error_payload(err)["error"]
        reasons = "；".join(r.get("message", "") for r in body.get("reasons") or ())
        click.echo(f"error: {body['message']}{'：' + reasons if reasons else ''}", err=True)
        sys.exit(2 if status_of(err) != 422 else 1)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if result.problems:
        click.echo(_problem_table(result))
        click.echo(f"共 {result.rows} 行，有误 {result.rows - result.valid} 行，问题 {len(result.problems)} 项。"
                   "文件有误，未写入任何数据。")
        sys.exit(1)
    if dry_run:
        click.echo(f"共 {result.rows} 行，全部无误（仅检查，未写入）。")
    else:
        click.echo(f"共 {result.rows} 行，已导入 {len(result.member_ids)} 名会员。")


def _problem_table(result: RosterImport) -> str:
    """The problems as a plain table: 行 | 列 | 问题."""
    rows = [("行", "列", "问题")] + [
        ("—" if p.row is None else str(p.row), LABELS.get(p.field or "", "—"), p.message("zh"))
        for p in result.problems]
    width = [max(_width(r[i]) for r in rows) for i in range(2)]
    lines = []
    for r in rows:
        lines.append("  ".join(c + " " * (width[i] - _width(c)) for i, c in enumerate(r[:2])) + "  " + r[2])
    return "\n".join(lines)


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def init_app(app: Flask) -> None:
    """The API route, the pages, and `flask members import` (joining a `members` group if one exists)."""
    app.register_blueprint(api_bp)
    app.register_blueprint(bp)
    existing = app.cli.commands.get("members")
    if isinstance(existing, click.Group):
        existing.add_command(members_import)
    else:
        app.cli.add_command(members_cli)

    @app.context_processor
    def _roster_import_helpers() -> dict[str, Any]:
        def may_import(org: Any) -> bool:
            return current_user.is_authenticated and may_import_roster(current_user.actor(), org)

        return {"may_import_roster": may_import}


__all__ = ["api_bp", "bp", "init_app", "members_cli", "problem_sheet", "roster_sheet"]
