"""The auditor's trail explorer: filter, open an entry, export CSV / JSON Lines, verify."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_login import current_user, login_required
from sqlalchemy import String, and_, cast, or_, select
from sqlalchemy.orm import Session

import audit
from audit import AuditEntry
from workflow import Actor, Case
from workflow.accounts import find_org
from workflow.models import Organisation
from workflow.queries import Page, paginate

from .extensions import get_db, get_engine
from .present import entry_json

bp = Blueprint("audit", __name__, url_prefix="/audit")

READERS = ("auditor", "admin")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _actor() -> Actor:
    actor = current_user.actor()
    if actor.role not in READERS:
        abort(403)
    return actor


def _day(name: str, end: bool = False) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        abort(400)
    moment = datetime.combine(day + timedelta(days=1) if end else day, time(0), tzinfo=SHANGHAI)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _filtered(session: Session, actor: Actor) -> Any:
    """Entries the actor may read, filtered by the query string; newest first."""
    stmt = select(AuditEntry)
    case_subject = and_(AuditEntry.subject_type == "case")
    scope_org = None
    if request.args.get("org"):
        scope_org = find_org(session, request.args["org"])
        if scope_org is None or (actor.role != "admin" and not scope_org.path.startswith(actor.org_path or "\0")):
            abort(404)
    if actor.role != "admin" or scope_org is not None or request.args.get("workflow"):
        # entries about cases within the scope (an auditor reads their subtree only)
        path = scope_org.path if scope_org is not None else actor.org_path
        cases = select(cast(Case.id, String)).join(Case.org)
        if path:
            cases = cases.where(Organisation.path.startswith(path, autoescape=True))
        if request.args.get("workflow"):
            cases = cases.where(Case.workflow == request.args["workflow"])
        stmt = stmt.where(case_subject, AuditEntry.subject_id.in_(cases))
    if request.args.get("actor"):
        stmt = stmt.where(AuditEntry.actor == request.args["actor"])
    if request.args.get("trigger"):
        stmt = stmt.where(AuditEntry.trigger == request.args["trigger"])
    if request.args.get("case"):
        stmt = stmt.where(AuditEntry.subject_type == "case", AuditEntry.subject_id == request.args["case"])
    start, end = _day("from"), _day("to", end=True)
    if start:
        stmt = stmt.where(AuditEntry.at >= start)
    if end:
        stmt = stmt.where(AuditEntry.at < end)
    return stmt.order_by(AuditEntry.seq.desc())


def _masked(actor: Actor) -> bool:
    # the explorer spans many enterprises: ID numbers are always masked here
    return True


@bp.get("/")
@login_required
def explorer() -> Any:
    actor = _actor()
    try:
        page_no = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page_no = 1
    with get_db().read() as session:
        page: Page = paginate(session, _filtered(session, actor), page_no, 50)
        entries = [entry_json(e, _masked(actor)) for e in page.items]
        return render_template("audit/explorer.html", page=page, entries=entries, args=request.args)


@bp.get("/entries/<int:seq>")
@login_required
def entry(seq: int) -> Any:
    actor = _actor()
    with get_db().read() as session:
        found = session.scalars(_filtered(session, actor).where(AuditEntry.seq == seq)).first()
        if found is None:
            abort(404)
        previous = session.get(AuditEntry, seq - 1) if seq > 1 else None
        return render_template("audit/entry.html", entry=entry_json(found, _masked(actor)),
                               previous=entry_json(previous, True) if previous else None, json=json)


def _export_rows(actor: Actor) -> Iterator[dict[str, Any]]:
    with get_db().read() as session:
        result = session.scalars(_filtered(session, actor).execution_options(yield_per=2000))
        for e in result:
            yield entry_json(e, _masked(actor))


EXPORT_COLUMNS = ("seq", "at", "actor", "role", "subject_type", "subject_id", "trigger", "from", "to", "version",
                  "comment", "data", "prev_hash", "hash")


@bp.get("/export.csv")
@login_required
def export_csv() -> Response:
    actor = _actor()

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # so that Excel and WPS open the UTF-8 text as such
        writer.writerow(EXPORT_COLUMNS)
        for row in _export_rows(actor):
            row = {**row, "data": json.dumps(row["data"], ensure_ascii=False, sort_keys=True)}
            writer.writerow([row[c] if row[c] is not None else "" for c in EXPORT_COLUMNS])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(generate()), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=audit-trail.csv"})


@bp.get("/export.jsonl")
@login_required
def export_jsonl() -> Response:
    actor = _actor()

    def generate() -> Iterator[str]:
        for row in _export_rows(actor):
            yield json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"

    return Response(stream_with_context(generate()), mimetype="application/x-ndjson; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=audit-trail.jsonl"})


@bp.post("/verify")
@login_required
def verify() -> Any:
    _actor()
    engine = get_engine()
    with get_db().read(snapshot=True) as session:
        result = audit.verify(session, lambda: engine.subjects(session))
    return render_template("audit/verify.html", result=result), 200


__all__ = ["bp", "or_"]
