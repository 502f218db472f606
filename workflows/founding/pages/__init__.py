"""Pages of the founding workflow (建会): the case panel, the step pages, the printable notice and replies.

* `PANELS` puts `founding/panel.html` on the case page: the eight steps, what the next one needs, the
  approving union, the candidate posting countdown (候选人公示), who was elected, the registration deadline.
* `STEPS` gives every founding step its own page (`steps.py`) on the one step page: tables for the candidates and
  the votes, and the step texts filled with the rule profile's numbers.
* The printable 候选人公示 and 批复 are shown to whoever may see the case, and to nobody else (404).
"""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping, Sequence

from flask import Blueprint, abort, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

import audit
from web import documents
from web.extensions import get_db, get_engine
from web.i18n import text
from web.present import case_data, entry_json, sees_personal_data
from web.steps import step_view
from web.workflow_pages import CaseView, Panel
from workflow import Case, can_view

from . import steps as founding_steps
from . import view
from .summary import summary

bp = Blueprint("founding", __name__)
PANELS: dict[str, Panel] = {}  # set below, once `panel` is defined
STEPS = {trigger: founding_steps.PAGES.get(trigger, founding_steps.DECISION) for trigger in founding_steps.TRIGGERS}
ADDRESSES = {trigger: f"founding.{trigger}" for trigger in founding_steps.TRIGGERS}
SUMMARIES = {"founding": summary}  # what every founding step form shows of the case

# every founding step keeps its own address (`founding.<trigger>`), served by the one step page
for _trigger, _page in STEPS.items():
    bp.add_url_rule(f"/cases/<int:case_id>/founding/{_trigger}", endpoint=_trigger, methods=["GET", "POST"],
                    view_func=login_required(step_view(_trigger, _page, "founding")))


def _waiting(case: Case, definition: Any) -> str:
    """Who acts next on the case, for those who cannot."""
    roles = {r for t in definition.transitions_from(case.state) if t.way != "leave" and t.dest != case.state
             for r in t.roles}
    if "reviewer" in roles and case.competent_org is not None:
        return _("等待%(org)s审核", org=case.competent_org.name)
    if "preparer" in roles:
        return _("等待筹备组办理")
    return ""


def panel(view_: CaseView) -> dict[str, Any]:
    """Everything the case panel shows, worked out once per page."""
    engine, case, data, entries, available = view_.engine, view_.case, view_.data, view_.entries, view_.available
    definition = view_.definition
    params = engine.params_of(case)
    today = engine.today(case.profile)
    waiting = _waiting(case, definition)
    # a step taken again in place (recording members until the assembly) is not the case's next step
    allowed = [a for a in available if a.allowed and a.transition.way != "leave" and a.dest != case.state]
    primary = next((a for a in allowed if a.transition.way == "forward"), None)
    forward = next((t for t in definition.transitions_from(case.state)
                    if t.way == "forward" and t.dest != case.state), None)
    blocked = [r for a in available if forward is not None and a.trigger == forward.trigger for r in a.reasons
               if r.code not in ("forbidden", "not_competent", "four_eyes")]
    expected = None
    if case.competent_org is None and not case.closed:  # the union that will approve, once applied
        rule = next((t.fix_competent for t in definition.transitions if t.fix_competent), None)
        if rule is not None:
            expected = engine.competent_org(view_.session, case, rule).name
    return {
        "phases": view.phases(definition, case, entries, _("请您办理") if primary else waiting),
        "numbered": sum(1 for p in definition.extra.get("phases", ()) if p["n"]),
        "primary": primary,
        "next": forward,
        "next_need": view.need_text(definition, (primary or forward).trigger, params) if (primary or forward) else "",
        "blocked": blocked,
        "waiting": "" if allowed else waiting,
        "expected_competent": expected,
        "posting": view.posting(data, params, today) if case.state != "members_recruited" else None,
        "registration": view.registration(data, today),
        "candidates": view.candidate_rows(data),
        "election": view.election_summary(data),
        "for_labels": view.labels(definition, "for"),
        "bar_labels": view.labels(definition, "bars"),
        "assembly_labels": view.labels(definition, "assembly_type"),
        "method_labels": view.labels(definition, "chair_method"),
        "printables": printables(case, data, entries),
        "today": today,
        "cn_date": view.cn_date,
    }


def printables(case: Case, data: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    out = []
    if data.get("candidates") and data.get("posted_on"):
        out.append((_("候选人名单公示"), url_for("founding.notice", case_id=case.id)))
    if view.last_entry(entries, "approve_application"):
        out.append((_("关于同意筹建工会的批复"), url_for("founding.reply", case_id=case.id, kind="application")))
    if view.last_entry(entries, "sanction") and data.get("founded_on"):
        out.append((_("关于同意成立工会的批复"), url_for("founding.reply", case_id=case.id, kind="founding")))
    return out


def _visible_case(case_id: int) -> tuple[Case, dict[str, Any], list[dict[str, Any]]]:
    actor = current_user.actor()
    with get_db().read() as session:
        case = session.get(Case, case_id)
        if case is None or case.workflow != "founding" or not can_view(actor, case.org):
            abort(404)
        masked = not sees_personal_data(actor, case)
        entries = [entry_json(e, masked) for e in audit.entries_for(session, "case", str(case.id))]
        return case, case_data(actor, case), entries


def _notice(case_id: int) -> tuple[Case, str, dict[str, Any], str, date | None]:
    """候选人名单公示: its template, context, title and date (the day the list went up)."""
    case, data, entries = _visible_case(case_id)
    if not data.get("candidates") or not data.get("posted_on"):
        abort(404)
    engine = get_engine()
    definition = engine.definition_of(case)
    posting = view.posting(data, engine.params_of(case), engine.today(case.profile))
    filename = view.document_file(case, "notice")
    context = dict(
        case=case, data=data, posting=posting,
        bodies=[(b, view.standing(data, b), data.get(f"{b}_seats")) for b in view.POSITIONS],
        body_labels=view.labels(definition, "for"), cn_date=documents.doc_date,
        pdf_url=url_for("founding.notice_pdf", case_id=case.id), copies=documents.issued(entries, filename),
    )
    return case, "founding/notice.html", context, filename, posting.posted_on if posting else None


@bp.get("/cases/<int:case_id>/founding/notice")
@login_required
def notice(case_id: int) -> Any:
    """候选人名单公示, for the notice board."""
    _case, template, context, _file, _day = _notice(case_id)
    return render_template(template, **context)


@bp.get("/cases/<int:case_id>/founding/notice.pdf")
@login_required
def notice_pdf(case_id: int) -> Any:
    """候选人名单公示 as a PDF made on the server; its hash goes into the case's trail."""
    case, template, context, filename, day = _notice(case_id)
    return documents.send(case.id, template, context, _("%(org)s候选人名单公示", org=case.org.name), filename, day)


def _reply(case_id: int, kind: str) -> tuple[Case, str, dict[str, Any], str, date]:
    """批复 to the application (批复同意筹建) or to the election results (批准成立): the document number as the
    reviewer typed it in the step, recorded in its entry (none for a case decided before the number was asked)."""
    case, data, entries = _visible_case(case_id)
    engine = get_engine()
    definition = engine.definition_of(case)
    if kind == "application":
        entry = view.last_entry(entries, "approve_application")
        if entry is None:
            abort(404)
        applied = view.last_entry(entries, "apply")
        number = (entry.get("data") or {}).get("reply_no") or ""
        context: dict[str, Any] = {"applied_on": view.entry_day(applied) if applied else None}
    elif kind == "founding":
        entry = view.last_entry(entries, "sanction")
        if entry is None or not data.get("founded_on"):
            abort(404)
        number = (entry.get("data") or {}).get("approval_no") or data.get("approval_no") or ""
        context = {"elected": data.get("elected") or {}, "chair_ballot": data.get("chair_ballot"),
                   "method_labels": view.labels(definition, "chair_method")}
    else:
        abort(404)
    decided_on = view.entry_day(entry)
    filename = view.document_file(case, f"reply-{kind}")
    context.update(
        case=case, data=data, kind=kind, number=number, decided_on=decided_on, decided_by=entry["actor"],
        cn_date=documents.doc_date, body_labels=view.labels(definition, "for"), title=text(definition.title),
        pdf_url=url_for("founding.reply_pdf", case_id=case.id, kind=kind), copies=documents.issued(entries, filename),
    )
    return case, "founding/reply.html", context, filename, decided_on


@bp.get("/cases/<int:case_id>/founding/reply/<kind>")
@login_required
def reply(case_id: int, kind: str) -> Any:
    """批复: to the application (批复同意筹建) or to the election results (批准成立)."""
    _case, template, context, _file, _day = _reply(case_id, kind)
    return render_template(template, **context)


@bp.get("/cases/<int:case_id>/founding/reply/<kind>.pdf")
@login_required
def reply_pdf(case_id: int, kind: str) -> Any:
    """批复 as a PDF made on the server; its hash goes into the case's trail."""
    case, template, context, filename, day = _reply(case_id, kind)
    title = view.reply_title(case.org.name, kind)
    return documents.send(case.id, template, context, title, filename, day)


PANELS["founding"] = Panel("founding/panel.html", panel, progress=True)  # its panel shows the eight steps
