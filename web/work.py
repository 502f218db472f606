"""The work itself (api.md, "Revision 2 → Work"): the task list (待办) and the inbox (站内通知), as JSON under
/api/v1 and as pages.

A task is an open decision a person recognises: the subject (the applicant's name for hardship, the
organisation's otherwise), the action waited for, the competent organisation, since when, the deadline and
whether it is due soon or overdue, and for a preparer whether the case came back with a reason.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import Email, Length, Optional
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit import AuditEntry
from services.work import STEP_KINDS, inbox, mark_read, owns, set_notification_settings, unread_count
from workflow import (
    DEADLINE_KINDS,
    Actor,
    Case,
    Engine,
    FieldError,
    InvalidInput,
    NotFound,
    Page,
    User,
    find_holder,
    task_list,
    waited_for,
)

from .api import _int_arg, endpoint, respond
from .extensions import csrf, get_db, get_engine
from .i18n import ALERT_LABELS, pick, text
from .listing import page_number
from .present import iso
from .waiting import case_subject

api_bp = Blueprint("work_api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)  # bearer tokens only, as the rest of the API
bp = Blueprint("work", __name__)

SCOPES = ("mine", "org", "subtree")
PER_PAGE = 20
COUNT_LIMIT = 2000
KINDS = (*DEADLINE_KINDS, *STEP_KINDS)


# -- tasks ------------------------------------------------------------------------

def subject_of(case: Case) -> str:
    """What a person recognises the case by (the definition's `extra.subject`: the applicant's name for
    hardship), else the organisation's name."""
    return case_subject(get_engine(), case)


def _returned(session: Session, cases: list[Case], engine: Engine) -> dict[int, dict[str, Any]]:
    """For the cases whose last step returned them for correction: who, when and why (one query)."""
    if not cases:
        return {}
    last = (select(func.max(AuditEntry.seq)).where(AuditEntry.subject_type == "case",
                                                   AuditEntry.subject_id.in_([str(c.id) for c in cases]),
                                                   AuditEntry.trigger.not_in(("remind", "escalate")))
            .group_by(AuditEntry.subject_id))
    out = {}
    by_id = {c.id: c for c in cases}
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.seq.in_(last))):
        case = by_id[int(entry.subject_id)]
        d = engine.definition_of(case)
        if any(t.trigger == entry.trigger and t.way == "back" for t in d.transitions):
            out[case.id] = {"by": entry.actor, "at": iso(entry.at), "comment": entry.comment}
    return out


def _actions(engine: Engine, case: Case, roles: tuple[str, ...]) -> list[dict[str, str]]:
    seen, out = set(), []
    for t in waited_for(engine.definition_of(case), case.state):
        if t.trigger not in seen:
            seen.add(t.trigger)
            if not roles or set(t.roles) & set(roles):
                out.append({"trigger": t.trigger, "label": text(t.label, t.trigger)})
    return out


def task_json(session: Session, engine: Engine, case: Case, returned: dict[str, Any] | None) -> dict[str, Any]:
    deadline = engine.deadline_status(case)
    competent = case.competent_org or case.org
    return {
        "case": case.id,
        "workflow": case.workflow,
        "org": case.org.code,
        "org_name": case.org.name,
        "subject": subject_of(case),
        "state": case.state,
        "triggers": [a["trigger"] for a in _actions(engine, case, ())],
        "competent_org": competent.code,
        "competent_org_name": competent.name,
        "since": iso(case.state_since),
        "due_on": case.due_on.isoformat() if case.due_on else None,
        "due_soon": deadline == "due_soon",
        "overdue": deadline in ("overdue", "escalated"),
        "assignee": holder.username if (holder := find_holder(session, case.assignee_id)) else None,
        "returned": returned,
    }


def _tasks(session: Session, actor: Actor, engine: Engine, page: int, per_page: int) -> tuple[Page, dict]:
    scope = request.args.get("scope") or "mine"
    if scope not in SCOPES:
        raise InvalidInput(fields={"scope": FieldError("not_in_choices", choices=", ".join(SCOPES))})
    workflow = request.args.get("workflow") or None
    if workflow is not None and workflow not in engine.catalog.definitions:
        raise InvalidInput(fields={"workflow": FieldError("unknown_workflow")})
    overdue = request.args.get("overdue") or ""
    if overdue not in ("", "0", "1", "true", "false"):
        raise InvalidInput(fields={"overdue": FieldError("not_boolean")})
    q = (request.args.get("q") or "").strip()[:100] or None
    found = task_list(session, actor, engine.waits(), scope=scope, workflow=workflow,
                      due_before=engine.today() if overdue in ("1", "true") else None, search=q,
                      page=page, per_page=per_page, count_limit=COUNT_LIMIT)
    returned = _returned(session, list(found.items), engine) if actor.role == "preparer" else {}
    return found, returned


@api_bp.get("/tasks")
@endpoint()
def get_tasks(session: Session, actor: Actor) -> Response:
    engine = get_engine()
    found, returned = _tasks(session, actor, engine, _int_arg("page", 1), _int_arg("per_page", PER_PAGE))
    return respond({"items": [task_json(session, engine, c, returned.get(c.id)) for c in found.items],
                    "total": found.total, "page": found.page, "per_page": found.per_page, "more": found.more})


@bp.get("/tasks")
@login_required
def tasks_page() -> Any:
    actor = current_user.actor()
    engine = get_engine()
    with get_db().read() as session:
        try:
            found, returned = _tasks(session, actor, engine, page_number(), PER_PAGE)
        except InvalidInput:
            abort(400)
        rows = [{"case": c, "task": task_json(session, engine, c, returned.get(c.id)),
                 "actions": _actions(engine, c, (actor.role,) if request.args.get("scope") != "subtree" else ())}
                for c in found.items]
        return render_template("work/tasks.html", rows=rows, page=found, args=request.args,
                               scope=request.args.get("scope") or "mine",
                               workflows=[(n, text(d.title, n)) for n, d in engine.catalog.definitions.items()])


# -- the inbox -------------------------------------------------------------------

def notification_text(kind: str, params: dict[str, Any]) -> str:
    title = params.get("title") or params.get("org") or ""
    due = params.get("due_on", "")
    if kind == "due_soon":
        return _("%(title)s将于%(due)s到期，请及时办理", title=title, due=due)
    if kind == "overdue":
        return _("%(title)s已超过办理期限（%(due)s），请尽快办理", title=title, due=due)
    if kind == "escalated":
        return _("%(org)s的%(title)s已超过办理期限（%(due)s），请督促办理", org=params.get("org", ""), title=title,
                 due=due)
    if kind == "returned":
        return _("%(title)s被退回：%(comment)s", title=title, comment=params.get("comment") or _("（未说明理由）"))
    if kind == "waiting":
        return _("%(title)s等待您办理", title=title)
    if kind == "assigned":
        return _("%(title)s已指派给您办理", title=title) + (f"：{params['comment']}" if params.get("comment") else "")
    if kind == "decided":
        return _("%(title)s已办结", title=title)
    return title


def notification_json(n: Any) -> dict[str, Any]:
    return {"id": n.id, "kind": n.kind, "kind_label": pick(ALERT_LABELS.get(n.kind), n.kind),
            "case": n.case_id, "text": notification_text(n.kind, n.params or {}), "at": iso(n.created_at),
            "read": n.read_at is not None}


def _unread_arg() -> bool:
    raw = request.args.get("unread") or ""
    if raw not in ("", "0", "1", "true", "false"):
        raise InvalidInput(fields={"unread": FieldError("not_boolean")})
    return raw in ("1", "true")


@api_bp.get("/notifications")
@endpoint()
def get_notifications(session: Session, actor: Actor) -> Response:
    items, total = inbox(session, actor.id, _unread_arg(), _int_arg("page", 1), min(_int_arg("per_page", 20), 100))
    return respond({"items": [notification_json(n) for n in items], "total": total,
                    "unread": unread_count(session, actor.id)})


@api_bp.post("/notifications/<int:notification_id>/read")
@endpoint(write=True)
def post_notification_read(session: Session, actor: Actor, notification_id: int) -> Response:
    if not owns(session, actor.id, notification_id):  # another person's notification does not exist for you
        raise NotFound()
    mark_read(session, actor.id, notification_id)
    return respond({"id": notification_id, "read": True})


@bp.get("/notifications")
@login_required
def inbox_page() -> Any:
    unread_only = request.args.get("unread") == "1"
    with get_db().read() as session:
        items, total = inbox(session, current_user.id, unread_only, page_number(), PER_PAGE)
        page = Page(items, total, page_number(), PER_PAGE)
        return render_template("work/inbox.html", items=[notification_json(n) for n in items], page=page,
                               unread_only=unread_only, unread=unread_count(session, current_user.id))


@bp.post("/notifications/read")
@login_required
def inbox_read() -> Any:
    raw = request.form.get("id") or ""
    with get_db().write() as session:
        if raw == "all":
            n = mark_read(session, current_user.id)
            flash(_("已将 %(n)s 条通知标为已读", n=n), "success")
        elif raw.isdigit() and len(raw) < 10 and owns(session, current_user.id, int(raw)):
            mark_read(session, current_user.id, int(raw))
        else:
            abort(404)
    target = request.form.get("next") or ""
    if target.startswith("/cases/") and target[7:].isdigit():
        return redirect(target)
    return redirect(url_for("work.inbox_page"))


def init_app(app: Any) -> None:
    app.register_blueprint(api_bp)
    app.register_blueprint(bp)

    @app.context_processor
    def _unread() -> dict[str, Any]:
        def unread_notifications() -> int:
            if not current_user.is_authenticated:
                return 0
            with get_db().read() as session:
                return unread_count(session, current_user.id)

        def returned_note(case: Any) -> dict[str, Any] | None:
            """For the case's preparers: who returned it, when and why, while it waits for them to resubmit."""
            if not current_user.is_authenticated or current_user.role != "preparer" or case is None:
                return None
            with get_db().read() as session:
                found = _returned(session, [case], get_engine()).get(case.id)
                if found is not None:
                    name = session.scalar(select(User.display_name).where(User.username == found["by"]))
                    found = {**found, "name": name or found["by"]}
            return found

        return {"unread_notifications": unread_notifications, "returned_note": returned_note}


# -- e-mail ---------------------------------------------------------------------

def send_mail(app: Any) -> Any:
    """Send the pending e-mails of the notifications (after their commit), when an SMTP server is configured;
    None when none is. The texts are in the recipient's language."""
    from flask_babel import force_locale

    from services.mail import send_pending

    url = app.config.get("SMTP_URL")
    if not url:
        return None

    def render(n: Any, user: Any) -> tuple[str, str | None]:
        with force_locale("en" if user.language == "en" else "zh_CN"):
            text_ = notification_text(n.kind, n.params or {})
        base = app.config.get("BASE_URL")
        return text_, (f"{base}/cases/{n.case_id}" if base and n.case_id else None)

    with app.test_request_context("/"):
        return send_pending(get_db(app), url, app.config["MAIL_FROM"], render)


# -- what a person receives ----------------------------------------------------------

class SettingsForm(FlaskForm):
    email = StringField(_l("电子邮箱"), validators=[Optional(), Length(max=254, message=_l("邮箱地址过长")),
                                                   Email(message=_l("邮箱地址格式不正确"), check_deliverability=False)],
                        description=_l("填写后，勾选的通知也会发到这个邮箱；不填则只在站内通知。"),
                        render_kw={"autocomplete": "email", "inputmode": "email"})
    inbox = SelectMultipleField(_l("站内通知"), widget=widgets.ListWidget(prefix_label=False),
                                option_widget=widgets.CheckboxInput(), validate_choice=True)
    mail = SelectMultipleField(_l("邮件通知"), widget=widgets.ListWidget(prefix_label=False),
                               option_widget=widgets.CheckboxInput(), validate_choice=True)


def _kind_choices() -> list[tuple[str, str]]:
    return [(k, pick(ALERT_LABELS[k])) for k in KINDS]


@bp.route("/notifications/settings", methods=["GET", "POST"])
@login_required
def settings_page() -> Any:
    form = SettingsForm()
    form.inbox.choices = form.mail.choices = _kind_choices()
    with get_db().read() as session:
        user = session.get(User, current_user.id)
        off = user.notify_off or {}
        if request.method == "GET":
            form.email.data = user.email or ""
            form.inbox.data = [k for k in KINDS if k not in (off.get("inbox") or ())]
            form.mail.data = [k for k in KINDS if k not in (off.get("email") or ())]
    if form.validate_on_submit():
        with get_db().write() as session:
            user = session.get(User, current_user.id)
            set_notification_settings(session, user, (form.email.data or "").strip() or None,
                                      inbox=form.inbox.data or [], email_kinds=form.mail.data or [])
        flash(_("通知设置已保存"), "success")
        return redirect(url_for("work.settings_page"))
    return render_template("work/settings.html", form=form), 400 if form.errors else 200
