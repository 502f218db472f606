"""会员名册 pages: a union's roster (search, filters, paging, counts), a member's page with the history of
the membership from its audit entries, and the form that records leaving (退会) or death.

Everyone who sees the union (its own users and those of the unions above it) reads the roster; only the
union's own users see ID numbers whole. Recording leaving or death goes through the engine
(`Engine.end_membership`), which checks who may and audits it; its refusals are shown in place.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

import audit
from services.accounts import find_org
from workflow import (
    MEMBER_GROUPS,
    MEMBER_STATUSES,
    MEMBERSHIP_ENDED,
    Actor,
    Case,
    InvalidInput,
    Member,
    Organisation,
    WorkflowError,
    can_view,
    find_member,
    group_counts,
    mask_id_number,
    paginate,
    roster_counts,
    roster_query,
)

from .api import roster_filter
from .extensions import get_db, get_engine
from .i18n import text
from .people import load_people
from .present import entry_decided_on, sees_roster_data
from .steps import explain

bp = Blueprint("members", __name__)
PER_PAGE = 20

STATUS_LABELS = {"active": _l("在册"), "transferred_out": _l("已转出"), "left": _l("已退会"), "deceased": _l("已去世")}
GENDER_LABELS = {"male": _l("男"), "female": _l("女")}
EVENT_LABELS = {"joined": _l("入会"), "member_left": _l("退会"), "member_deceased": _l("去世"),
                "changed": _l("会籍信息变更"),
                # 会籍接转 (workflows/transfer): the steps that change a membership, by trigger
                "issue_certificate": _l("转出（开具接转凭证）"), "redeem": _l("转入（凭接转码接收）"),
                "expire": _l("接转凭证过期，回到本会")}


def group_labels() -> dict[str, str]:
    """The 八大群体 by code, in the page's language (from the joining workflow's definition)."""
    extra = get_engine().catalog.definition("membership").extra
    return {g["id"]: text(g["title"], g["id"]) for g in extra.get("groups") or ()}


def _actor() -> Actor:
    return current_user.actor()


def _union(session: Session, actor: Actor, code: str) -> Organisation:
    org = find_org(session, code)
    if org is None or not can_view(actor, org):
        abort(404)
    return org


def _member(session: Session, actor: Actor, member_id: int) -> Member:
    member = find_member(session, member_id)
    if member is None or not can_view(actor, member.org):
        abort(404)
    return member


@dataclass(frozen=True)
class Row:
    member: Member
    id_number: str
    employer: str


def _row(m: Member, unmasked: bool) -> Row:
    employer = m.employer.name if m.employer is not None else (m.employer_name or "")
    return Row(m, m.id_number if unmasked else mask_id_number(m.id_number), employer)


@bp.get("/orgs/<code>/members")
@login_required
def roster(code: str) -> Any:
    actor = _actor()
    with get_db().read() as session:
        org = _union(session, actor, code)
        try:
            wanted = roster_filter(request.args)
        except InvalidInput:
            abort(400)
        raw_page = request.args.get("page", "1")
        page_no = min(int(raw_page), 10_000) if raw_page.isdigit() and int(raw_page) > 0 else 1
        unmasked = sees_roster_data(actor, org)
        page = paginate(session, roster_query(org.id, wanted, full_ids=unmasked), page_no, PER_PAGE)
        rows = [_row(m, unmasked) for m in page.items]
        return render_template(
            "members/roster.html", org=org, page=page, rows=rows, wanted=wanted, unmasked=unmasked,
            counts=roster_counts(session, org.id), by_group=group_counts(session, org.id),
            groups=group_labels(), statuses=STATUS_LABELS, genders=GENDER_LABELS,
            may_join=actor.role in get_engine().catalog.definition("membership").creation.roles
            and actor.org_id == org.id,
            # a receiving union's way to a transfer certificate (workflows/transfer), where it is installed
            redeem_url=url_for("transfer.redeem") if "transfer.redeem" in current_app.view_functions else None,
        )


@dataclass(frozen=True)
class Event:
    label: str
    day: str
    who: str
    comment: str
    case_id: int | None
    at: Any


def history(session: Session, member: Member) -> list[Event]:
    """What happened to the membership, oldest first, from the member's own audit entries."""
    entries = audit.entries_for(session, "member", str(member.id))
    people = load_people(session, [e.actor for e in entries])
    events = []
    for e in entries:
        data = _loads(e.data)
        values = data.get("values") or {}
        if e.trigger in ("issue_certificate", "redeem", "expire"):
            kind, day = e.trigger, entry_decided_on(e, data)
        elif data.get("op") == "create":
            kind, day = "joined", values.get("joined_on")
        elif e.trigger in ("member_left", "member_deceased"):
            kind, day = e.trigger, values.get("left_on")
        else:
            kind, day = "changed", data.get("decided_on")
        who = people.get(e.actor)
        events.append(Event(str(EVENT_LABELS[kind]), str(day or ""), who.name if who else e.actor, e.comment or "",
                            data.get("case") if isinstance(data.get("case"), int) else None, e.at))
    return events


def _loads(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _member_page(member_id: int, form_errors: list[str] | None = None, field_errors: dict[str, str] | None = None,
                 status: int = 200, sent: dict[str, str] | None = None) -> Any:
    actor = _actor()
    engine = get_engine()
    with get_db().read() as session:
        member = _member(session, actor, member_id)
        unmasked = sees_roster_data(actor, member.org)
        events = history(session, member)
        # the joining case, where the member joined through one (not for members recorded otherwise)
        joined_case = next((e.case_id for e in events if e.case_id is not None), None)
        if joined_case is not None and not can_view(actor, session.get(Case, joined_case).org):
            joined_case = None
        refusal = engine.membership_refusal(actor, member)
        return render_template(
            "members/show.html", member=member, row=_row(member, unmasked), unmasked=unmasked, events=events,
            joined_case=joined_case, may_end=refusal is None, groups=group_labels(), statuses=STATUS_LABELS,
            genders=GENDER_LABELS, ended=MEMBERSHIP_ENDED, errors=form_errors or [], field_errors=field_errors or {},
            sent=sent or {"status": "left", "left_on": engine.today().isoformat(), "comment": ""},
            today=engine.today(), confirm=bool(sent and sent.get("confirm")),
        ), status


@bp.get("/members/<int:member_id>")
@login_required
def show(member_id: int) -> Any:
    return _member_page(member_id)


@bp.post("/members/<int:member_id>/end")
@login_required
def end(member_id: int) -> Any:
    """退会 or death: the form is shown again to confirm before the engine records it."""
    actor = _actor()
    sent = {name: (request.form.get(name) or "").strip() for name in ("status", "left_on", "comment", "version")}
    if not FlaskForm().validate_on_submit():
        return _member_page(member_id, [_("表单已过期，请刷新后重试。")], status=400, sent=sent)
    if request.form.get("confirmed") != "1":
        with get_db().read() as session:
            member = _member(session, actor, member_id)
            refusal = get_engine().membership_refusal(actor, member)
        if refusal is not None:
            outcome = explain(refusal)
            return _member_page(member_id, outcome.messages, status=outcome.status, sent=sent)
        problems = _check_form(sent)
        if problems:
            return _member_page(member_id, [], problems, status=400, sent=sent)
        return _member_page(member_id, sent={**sent, "confirm": "1"})
    version = int(sent["version"]) if sent["version"].isdigit() else None
    try:
        with get_db().write() as session:
            get_engine().end_membership(session, member_id, actor, sent["status"], sent["left_on"], sent["comment"],
                                        expected_version=version)
    except WorkflowError as err:
        outcome = explain(err)
        if outcome.status == 404:
            abort(404)
        return _member_page(member_id, outcome.messages if outcome.messages or not outcome.fields else [],
                            outcome.fields, status=outcome.status, sent=sent)
    flash(_("已登记退会") if sent["status"] == "left" else _("已登记去世"), "success")
    return redirect(url_for("members.show", member_id=member_id))


def _check_form(sent: dict[str, str]) -> dict[str, str]:
    """What the confirmation would refuse anyway, said before it is asked for (the engine checks again)."""
    problems = {}
    if sent["status"] not in MEMBERSHIP_ENDED:
        problems["status"] = _("请选择退会或去世。")
    try:
        date.fromisoformat(sent["left_on"])
    except ValueError:
        problems["left_on"] = _("请填写日期（年-月-日）。")
    if not sent["comment"]:
        problems["comment"] = _("请填写说明。")
    return problems


def init_app(app: Any) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def _roster_helpers() -> dict[str, Any]:
        return {"member_statuses": MEMBER_STATUSES, "member_groups": MEMBER_GROUPS}
