"""A federation's view of one year of Workers' Home inspections (职工之家年度验收一览).

Every founded union in the viewer's subtree with its inspection of that year
(or none yet), its state, result and the title it holds; counts at the top;
filters for the ones not yet inspected, the titles held and the failures.
Reviewers and auditors only, each within their own subtree.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from services.accounts import find_org
from web.extensions import get_db, get_engine
from web.i18n import text
from workflow import Actor, Case, Organisation, Page, can_view

from . import forms

WORKFLOW = "inspection"
PENDING = ("planned", "self_assessed", "evaluated", "inspected")  # no decision (yet, or since a re-inspection)
FAILED = ("failed", "rectifying")
SHOWS = ("all", "pending", "titled", "failed", "revoked")
PER_PAGE = 20

bp = Blueprint("inspection_year", __name__, url_prefix="/inspection")


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400)
    if not low <= value <= high:
        abort(400)
    return value


def _unions(root: Organisation) -> Any:
    return and_(Organisation.kind == "enterprise", Organisation.union_status == "founded",
                Organisation.path.startswith(root.path, autoescape=True))


def _case_of_year(year: int) -> Any:
    return and_(Case.org_id == Organisation.id, Case.workflow == WORKFLOW, Case.data["year"].as_integer() == year)


def _shown(show: str) -> Any:
    return {
        "pending": or_(Case.id.is_(None), Case.state.in_(PENDING)),
        "titled": Case.state == "passed",
        "failed": Case.state.in_(FAILED),
        "revoked": Case.state == "revoked",
    }.get(show)


def counts(session: Session, root: Organisation, year: int, today: str) -> dict[str, Any]:
    """How the year stands in the subtree: unions, inspections by state, titles by level, overdue."""
    joined = select(Organisation.id).select_from(Organisation).outerjoin(Case, _case_of_year(year)) \
        .where(_unions(root))
    by_state = dict(session.execute(
        joined.with_only_columns(Case.state, func.count()).group_by(Case.state)).all())
    # one labelled expression, so that PostgreSQL sees the GROUP BY and the column as the same
    result = Case.facts["result"].as_string().label("result")
    titles = dict(session.execute(
        joined.with_only_columns(result, func.count()).where(Case.state == "passed").group_by(result)).all())
    overdue = session.scalar(joined.with_only_columns(func.count()).where(
        Case.state == "rectifying", Case.facts["rectification_due_on"].as_string() < today)) or 0
    unions = sum(by_state.values())
    return {
        "unions": unions,
        "not_started": by_state.get(None, 0),
        "under_way": sum(by_state.get(s, 0) for s in PENDING),
        "pending": by_state.get(None, 0) + sum(by_state.get(s, 0) for s in PENDING),
        "titled": by_state.get("passed", 0),
        "titles": {level: titles.get(level, 0) for level in ("model", "advanced", "qualified")},
        "failed": sum(by_state.get(s, 0) for s in FAILED),
        "rectifying": by_state.get("rectifying", 0),
        "overdue": overdue,
        "revoked": by_state.get("revoked", 0),
    }


def rows(session: Session, root: Organisation, year: int, show: str, page: int) -> Page:
    stmt = select(Organisation, Case).select_from(Organisation).outerjoin(Case, _case_of_year(year)) \
        .where(_unions(root))
    if _shown(show) is not None:
        stmt = stmt.where(_shown(show))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(page, pages)
    found = session.execute(stmt.order_by(Organisation.code).limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    engine = get_engine()
    items = []
    for org, case in found:
        row: dict[str, Any] = {"org": org, "case": case, "parent": org.parent.name if org.parent else "",
                               "rate": None, "result": "", "title": "", "total": None, "due_on": None, "late": False}
        if org.member_count is not None and org.employees:
            row["rate"] = forms.membership(org.member_count, org.employees, engine.catalog.profile(
                engine.profile_name).for_workflow(WORKFLOW))
        if case is not None:
            extra = engine.definition_of(case).extra
            facts = case.facts or {}
            row.update({
                "result": forms.result_label(extra, facts.get("result")) if case.state != "inspected" else "",
                "title": text(facts["title"]) if case.state == "passed" and facts.get("title") else "",
                "total": facts.get("total_score"),
                "due_on": facts.get("rectification_due_on") if case.state == "rectifying" else None,
                "late": bool(engine.overdue(case)),
            })
        items.append(row)
    return Page(items, total, page, PER_PAGE)


@bp.get("/year")
@login_required
def year() -> Any:
    actor: Actor = current_user.actor()
    if actor.role not in ("reviewer", "auditor"):
        abort(403)
    engine = get_engine()
    today = engine.today()
    chosen = _int_arg("year", today.year, 2000, 2100)
    page = _int_arg("page", 1, 1, 10**6)
    show = request.args.get("show") or "all"
    if show not in SHOWS:
        abort(400)
    with get_db().read() as session:
        root = session.get(Organisation, actor.org_id) if actor.org_id else None
        if request.args.get("org"):
            root = find_org(session, request.args["org"])
        if root is None or not can_view(actor, root):
            abort(404)
        summary = counts(session, root, chosen, today.isoformat())
        listed = rows(session, root, chosen, show, page)
        return render_template("inspection/year.html", year=chosen, show=show, root=root, summary=summary,
                               page=listed, results=engine.catalog.definition(WORKFLOW).extra["results"])
