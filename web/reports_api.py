"""The reports of api.md ("Reports") under /api/v1/reports, and what the report pages share with them.

Reviewers, auditors and administrators may read reports; a preparer gets 403.
An organisation outside the caller's subtree does not exist for them (404).
"""
from __future__ import annotations

from typing import Any, Mapping

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from services.accounts import find_org
from services.reports import Coverage, coverage, ledger, threshold_of
from workflow import Actor, FieldError, Forbidden, InvalidInput, NotFound, Organisation, can_view

from .api import endpoint, respond
from .extensions import csrf, get_engine
from .i18n import local_date
from .reports_export import TABLES, Report, csv_bytes, csv_name, workbook_bytes

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1/reports")
csrf.exempt(bp)  # bearer tokens only, as the rest of the API

READERS = ("reviewer", "auditor", "admin")
YEAR_MIN, YEAR_MAX = 2000, 2100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_params() -> Mapping[str, Any]:
    engine = get_engine()
    return engine.catalog.profile(engine.profile_name).for_workflow("reports")


def report_org(session: Session, actor: Actor, code: str | None) -> Organisation:
    """The organisation a report is asked for: the caller's own by default; 404 outside their subtree."""
    if actor.role not in READERS:
        raise Forbidden()
    code = code or actor.org_code
    if not code:
        raise InvalidInput(fields={"org": FieldError("required")})
    org = find_org(session, code)
    if org is None or not can_view(actor, org):
        raise NotFound()
    return org


def report_year(raw: str | None) -> int:
    if raw is None or raw == "":
        return get_engine().today().year
    try:
        year = int(raw)
    except ValueError:
        raise InvalidInput(fields={"year": FieldError("not_integer")}) from None
    if year < YEAR_MIN:
        raise InvalidInput(fields={"year": FieldError("below_min", min=YEAR_MIN)})
    if year > YEAR_MAX:
        raise InvalidInput(fields={"year": FieldError("above_max", max=YEAR_MAX)})
    return year


def state_label_zh(state: str | None) -> str:
    if state is None:
        return ""
    try:
        return get_engine().catalog.definition("founding").state(state).label.zh
    except KeyError:
        return state


def build_report(session: Session, org: Organisation, year: int) -> Report:
    """Everything the exports need: the figures and the whole ledger."""
    params = report_params()
    figures = coverage(session, org, params=params, year=year, ledger_limit=0)
    rows, _count = ledger(session, org, threshold=threshold_of(params))
    return Report(figures, rows, state_label_zh, local_date, get_engine().today())


def export_name(report: Report, suffix: str) -> str:
    return f"{report.coverage.name}{suffix}（{report.coverage.year}年）"


def download(content: bytes, filename: str, mimetype: str) -> Response:
    from urllib.parse import quote

    response = Response(content, mimetype=mimetype)
    ascii_name = "report" + filename[filename.rfind("."):]
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def coverage_for(session: Session, actor: Actor) -> Coverage:
    org = report_org(session, actor, request.args.get("org") or None)
    return coverage(session, org, params=report_params(), year=report_year(request.args.get("year")))


@bp.get("/coverage")
@endpoint()
def get_coverage(session: Session, actor: Actor) -> Response:
    return respond(coverage_for(session, actor).as_dict())


@bp.get("/coverage.xlsx")
@endpoint()
def get_coverage_xlsx(session: Session, actor: Actor) -> Response:
    org = report_org(session, actor, request.args.get("org") or None)
    report = build_report(session, org, report_year(request.args.get("year")))
    return download(workbook_bytes(report), export_name(report, "建会入会情况") + ".xlsx", XLSX)


@bp.get("/coverage.csv")
@endpoint()
def get_coverage_csv(session: Session, actor: Actor) -> Response:
    table = request.args.get("table") or "statistics"
    if table not in TABLES:
        raise InvalidInput(fields={"table": FieldError("not_in_choices", choices=", ".join(TABLES))})
    org = report_org(session, actor, request.args.get("org") or None)
    report = build_report(session, org, report_year(request.args.get("year")))
    return download(csv_bytes(report, table), export_name(report, csv_name(table)) + ".csv",
                    "text/csv")
