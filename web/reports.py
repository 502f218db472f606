"""Report pages (建会入会统计): the dashboard per organisation, the ledger, exports; the register import page.

Reviewers and auditors see their own subtree (404 outside), administrators
everything; preparers have no report pages (403). The import (摸底排查 名录导入)
is for administrators and federation reviewers (workflow/register.py says
why); `flask orgs import FILE [--dry-run]` does the same from the command line.
"""
from __future__ import annotations

import sys
from typing import Any

import click
from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.register import ImportResult, import_register, may_import
from services.register_file import LABELS, LABELS_EN
from services.reports import Row, coverage, ledger, threshold_of
from workflow import Actor, Organisation, Page, WorkflowError, ancestors_of, can_view

from .extensions import csrf, get_db, get_engine
from .i18n import lang
from .reports_api import (
    READERS,
    XLSX,
    build_report,
    download,
    export_name,
    report_org,
    report_params,
    report_year,
)
from .reports_charts import children_chart, pct, rates_chart
from .reports_export import TABLES, csv_bytes, csv_name, workbook_bytes
from .reports_import import ImportForm, raise_body_limit, read_upload, template_bytes
from .statuses import status_of

bp = Blueprint("reports", __name__, url_prefix="/reports")
LEDGER_PREVIEW = 10
LEDGER_PER_PAGE = 50


def _actor() -> Actor:
    actor = current_user.actor()
    if actor.role not in READERS:
        abort(403)
    return actor


def _org(session: Session, actor: Actor, code: str) -> Organisation:
    try:
        return report_org(session, actor, code)
    except WorkflowError as err:
        abort(status_of(err))


def _year() -> int:
    try:
        return report_year(request.args.get("year"))
    except WorkflowError:
        abort(400)


def _years(current: int) -> list[int]:
    targets = [int(y) for y in (report_params().get("targets") or {})]
    today = get_engine().today().year
    return sorted(set(targets) | {today, today - 1, current})


def _crumbs(session: Session, actor: Actor, org: Organisation) -> list[Organisation]:
    return [a for a in reversed(ancestors_of(session, org)) if can_view(actor, a)]


def child_name(row: Row) -> str:
    return _("直属企业（%(n)s家）", n=row.all.enterprises) if row.kind == "direct" else row.name


@bp.get("")
@login_required
def index() -> Any:
    actor = _actor()
    if actor.org_code:
        return redirect(url_for("reports.dashboard", code=actor.org_code))
    with get_db().read() as session:
        roots = session.scalars(select(Organisation).where(Organisation.parent_id.is_(None))
                                .order_by(Organisation.code)).all()
        if len(roots) == 1:
            return redirect(url_for("reports.dashboard", code=roots[0].code))
        return render_template("reports/index.html", roots=roots, can_import=may_import(session, actor))


@bp.get("/<code>")
@login_required
def dashboard(code: str) -> Any:
    actor = _actor()
    year = _year()
    with get_db().read() as session:
        org = _org(session, actor, code)
        figures = coverage(session, org, params=report_params(), year=year, ledger_limit=LEDGER_PREVIEW)
        rows = list(figures.union_children) + ([figures.direct] if figures.direct is not None else [])
        return render_template(
            "reports/dashboard.html", org=org, c=figures, rows=rows, year=year, years=_years(year),
            crumbs=_crumbs(session, actor, org), pct=pct, child_name=child_name,
            rates_svg=rates_chart(figures), children_svg=children_chart(rows, figures, child_name),
            can_import=may_import(session, actor), today=get_engine().today(),
        )


@bp.get("/<code>/ledger")
@login_required
def ledger_page(code: str) -> Any:
    actor = _actor()
    try:
        page_no = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page_no = 1
    with get_db().read() as session:
        org = _org(session, actor, code)
        threshold = threshold_of(report_params())
        rows, total = ledger(session, org, threshold=threshold, limit=LEDGER_PER_PAGE,
                             offset=(page_no - 1) * LEDGER_PER_PAGE)
        page = Page(rows, total, page_no, LEDGER_PER_PAGE)
        return render_template("reports/ledger.html", org=org, page=page, threshold=threshold,
                               first=(page_no - 1) * LEDGER_PER_PAGE, crumbs=_crumbs(session, actor, org),
                               year=_year())


@bp.get("/<code>/coverage.xlsx")
@login_required
def export_xlsx(code: str) -> Any:
    actor = _actor()
    year = _year()
    with get_db().read() as session:
        report = build_report(session, _org(session, actor, code), year)
    return download(workbook_bytes(report), export_name(report, "建会入会情况") + ".xlsx", XLSX)


@bp.get("/<code>/<table>.csv")
@login_required
def export_csv(code: str, table: str) -> Any:
    actor = _actor()
    if table not in TABLES:
        abort(404)
    year = _year()
    with get_db().read() as session:
        report = build_report(session, _org(session, actor, code), year)
    return download(csv_bytes(report, table), export_name(report, csv_name(table)) + ".csv",
                    "text/csv")


# -- the register import ------------------------------------------------------------

def _importer() -> Actor:
    actor = current_user.actor()
    with get_db().read() as session:
        if not may_import(session, actor):
            abort(403)
    return actor


@bp.route("/import", methods=["GET", "POST"])
@login_required
@csrf.exempt  # the form checks its token itself, after the body limit is raised for the file
def import_page() -> Any:
    actor = _importer()
    if request.method == "POST":
        raise_body_limit()
    form, result, problem, status = ImportForm(), None, None, 200
    if request.method == "POST":
        if not form.validate_on_submit():
            problem, status = _("表单已过期或无效，请返回上一页刷新后重新提交。"), 400
        else:
            filename, content, problem = read_upload(form)
            if problem is None:
                dry_run = request.form.get("action") != "import"
                result, problem = _run_import(actor, content, filename, dry_run)
            status = 400 if problem or (result is not None and result.errors) else 200
            if result is not None and result.errors and result.errors[0].row is None:
                status = FILE_REFUSALS.get(result.errors[0].code, status)
    home = actor.org_code or None
    labels = LABELS_EN if lang() == "en" else LABELS
    return render_template("reports/import.html", form=form, result=result, problem=problem, ui_lang=lang(),
                           home=home, field_label=lambda k: labels.get(k, k)), status


# a file refused as a whole for its size says so in the status: too large unpacked 413, too many rows 422
FILE_REFUSALS = {"file_too_large_unpacked": 413, "file_too_compressed": 413, "too_many_parts": 413,
                 "too_many_rows": 422}


def _run_import(actor: Actor, content: bytes, filename: str, dry_run: bool) -> tuple[ImportResult | None, str | None]:
    db = get_db()
    try:
        if dry_run:
            with db.read() as session:
                return import_register(session, content, actor, filename=filename, dry_run=True), None
        with db.write() as session:
            result = import_register(session, content, actor, filename=filename, dry_run=False)
    except IntegrityError:
        return None, _("导入期间企业名录已被他人修改，未导入任何数据。请重新检查文件后再导入。")
    if result.written:
        flash(_("已导入 %(rows)s 行：新增 %(created)s 家，更新 %(updated)s 家，未变 %(unchanged)s 家。",
                rows=result.rows, created=result.created, updated=result.updated, unchanged=result.unchanged),
              "success")
    return result, None


@bp.get("/import/template.xlsx")
@login_required
def import_template() -> Any:
    _importer()
    return download(template_bytes(), "企业名录导入模板.xlsx", XLSX)


# -- command line -------------------------------------------------------------------

orgs_cli = AppGroup("orgs", help="The organisation register.")


@orgs_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--user", "username", default=None,
              help="Import as this user (their jurisdiction and name in the audit trail); default: cli as admin.")
def orgs_import(file: str, dry_run: bool, username: str | None) -> None:
    """Import the enterprise register (企业名录) from an .xlsx or CSV FILE."""
    from services.accounts import find_user

    with open(file, "rb") as fh:
        content = fh.read()
    actor = Actor(0, "cli", "admin")
    if username:
        with get_db().read() as session:
            user = find_user(session, username)
            if user is None:
                click.echo(f"error: no user named {username}", err=True)
                sys.exit(2)
            actor = Actor.of(user)

    def progress(stage: str, done: int, total: int) -> None:
        label = "检查" if stage == "check" else "写入"
        click.echo(f"\r  {label} {done}/{total} 行…", nl=done == total, err=True)

    try:
        with (get_db().read() if dry_run else get_db().write()) as session:
            result = import_register(session, content, actor, filename=file.rsplit("/", 1)[-1],
                                     dry_run=dry_run, progress=progress)
    except WorkflowError as err:
        click.echo(f"error: {err.code}", err=True)
        sys.exit(2)
    for w in result.warnings:
        click.echo(f"注意：{w.text()}")
    for p in result.errors:
        click.echo(f"错误：{p.text()}")
    summary = (f"共 {result.rows} 行：新增 {result.created}，更新 {result.updated}，未变 {result.unchanged}，"
               f"有误 {result.bad_rows} 行")
    if result.errors:
        click.echo(f"{summary}。文件有误，未写入任何数据。")
        sys.exit(1)
    click.echo(f"{summary}。" + ("（仅检查，未写入）" if dry_run else "已写入。"))


def init_app(app: Flask) -> None:
    """Register the pages and the `flask orgs` commands (joining an `orgs` group if one exists)."""
    app.register_blueprint(bp)
    existing = app.cli.commands.get("orgs")
    if isinstance(existing, click.Group):
        existing.add_command(orgs_import)
    else:
        app.cli.add_command(orgs_cli)


__all__ = ["bp", "init_app", "orgs_cli"]
