"""Case pages: the list, opening a case, the case page, and a form per step."""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import HiddenField, SelectField, TextAreaField

import audit
from workflow import (
    ON_BEHALF_OF,
    Actor,
    Case,
    Organisation,
    User,
    WorkflowError,
    can_view_case,
    colleagues,
    list_cases,
    review_queue,
    visible_orgs,
)

from .bulk import BulkForm, queue_bulk
from .diagram import workflow_svg
from .extensions import get_db, get_engine
from .forms import attach_errors, form_data, step_form
from .i18n import reason_message, text
from .listing import COUNT_LIMIT, filter_org
from .listing import page_number as _page
from .people import load_people
from .org_names import ORG_KEYS, remember_entries
from .present import case_data, entry_json, sees_personal_data
from .progress import progress
from .steps import BusinessDate, explain, sent_date, serve, shown_date
from .templating import definition_labels, review_states
from .waiting import waiting_for, waiting_note
from .workflow_pages import CaseView, workflow_pages

bp = Blueprint("cases", __name__)


def _actor() -> Actor:
    return current_user.actor()


def _visible(session: Session, case_id: int, actor: Actor) -> Case:
    case = session.get(Case, case_id)
    if case is None or not can_view_case(actor, case):  # its own side, or a party's (a transfer's receiving union)
        abort(404)
    return case


@bp.get("/cases")
@login_required
def index() -> Any:
    actor = _actor()
    workflow = request.args.get("workflow") or None
    state = request.args.get("state") or None
    with get_db().read() as session:
        org = filter_org(session, actor)
        page = list_cases(session, actor, workflow=workflow, state=state, org=org, page=_page(), per_page=20,
                          count_limit=COUNT_LIMIT)
        return render_template("cases/index.html", page=page, workflow=workflow, state=state, org=org)


@bp.get("/review")
@login_required
def queue(scope: str = "mine") -> Any:
    """待我审核: the decisions the reviewer's own organisation is competent for."""
    actor = _actor()
    if actor.role != "reviewer":
        abort(403)
    workflow = request.args.get("workflow") or None
    with get_db().read() as session:
        org = filter_org(session, actor)
        page = review_queue(session, actor, review_states(), workflow=workflow, org=org, page=_page(), per_page=20,
                            count_limit=COUNT_LIMIT, scope=scope)
        engine = get_engine()
        overdue = {c.id: engine.overdue(c) for c in page.items}
        # 批量审批: the rows the reviewer may decide now in bulk (supervision decides nothing here)
        bulk = queue_bulk(session, engine, page.items, actor) if scope == "mine" else {}
        return render_template("review/queue.html", page=page, workflow=workflow, org=org, overdue=overdue,
                               supervision=scope == "subtree", bulk=bulk, bulk_form=BulkForm() if bulk else None)


@bp.get("/supervision")
@login_required
def supervision() -> Any:
    """下级待办: the decisions waiting in the subtree's other organisations (supervised, not decided here)."""
    return queue("subtree")


class ReassignForm(FlaskForm):
    org = SelectField(_l("转办给"), validate_choice=False)
    comment = TextAreaField(_l("转办理由"))
    version = HiddenField()


def reassign_choices(session: Session, actor: Actor, case: Case) -> list[tuple[str, str]] | None:
    """The organisations a reviewer may hand the case's decision to, or None when they may not reassign it
    (they must be a reviewer of an ancestor of its competent organisation, the case open)."""
    competent = case.competent_org
    if (actor.role != "reviewer" or case.closed or competent is None or actor.org_path is None
            or competent.id == actor.org_id or not competent.path.startswith(actor.org_path)):
        return None
    # the actor's organisation and those between it and the case's organisation (each of them sees the case)
    ids = [int(i) for i in case.org.path.strip("/").split("/") if i]
    orgs = session.scalars(select(Organisation).where(visible_orgs(actor), Organisation.id.in_(ids),
                                                      Organisation.id != competent.id)
                           .order_by(Organisation.path)).all()
    return [(o.code, o.name) for o in orgs]


@bp.post("/cases/<int:case_id>/reassign")
@login_required
def reassign(case_id: int) -> Any:
    """转办 / 上收 on the case page: the engine's checks, its reasons shown in place."""
    actor = _actor()
    form = ReassignForm()
    if not form.validate_on_submit():
        return show(case_id, [_("表单已过期，请刷新后重试。")], 400)
    version = int(form.version.data) if (form.version.data or "").isdigit() else None
    try:
        with get_db().write() as session:
            get_engine().reassign(session, case_id, actor, form.org.data or "", form.comment.data or "", version)
    except WorkflowError as err:
        outcome = explain(err)
        if outcome.status == 404:
            abort(404)
        return show(case_id, [*outcome.messages, *outcome.fields.values()], outcome.status)
    flash(_("已转办"), "success")
    return redirect(url_for("cases.show", case_id=case_id))


class HandleForm(FlaskForm):
    """认领 / 释放 / 指派 on the case page: the version the page showed, and for an assignment the colleague."""

    user = SelectField(_l("指派给"), validate_choice=False)
    version = HiddenField()


def _version(form: HandleForm) -> int | None:
    return int(form.version.data) if (form.version.data or "").isdigit() else None


def _handle(case_id: int, act: Any, done: str) -> Any:
    """One of claim, release, assign through the engine; its refusal explained in place on the case page."""
    form = HandleForm()
    if not form.validate_on_submit():
        return show(case_id, handling_errors=[_("表单已过期，请刷新后重试。")], status=400)
    try:
        with get_db().write() as session:
            act(session, form)
    except WorkflowError as err:
        outcome = explain(err)
        if outcome.status == 404:
            abort(404)
        return show(case_id, handling_errors=[*outcome.messages, *outcome.fields.values()], status=outcome.status)
    flash(done, "success")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.post("/cases/<int:case_id>/claim")
@login_required
def claim(case_id: int) -> Any:
    """认领: the reviewer takes the decision the case waits for."""
    actor = _actor()
    return _handle(case_id, lambda session, form: get_engine().claim(session, case_id, actor, _version(form)),
                   _("已认领，由您办理"))


@bp.post("/cases/<int:case_id>/release")
@login_required
def release(case_id: int) -> Any:
    """释放: the holder gives the decision back to the organisation."""
    actor = _actor()
    return _handle(case_id, lambda session, form: get_engine().release(session, case_id, actor, _version(form)),
                   _("已释放，本组织的同事均可办理"))


@bp.post("/cases/<int:case_id>/assign")
@login_required
def assign(case_id: int) -> Any:
    """指派给…: to a colleague of the same organisation and role."""
    actor = _actor()
    return _handle(case_id, lambda session, form: get_engine().assign(session, case_id, actor, form.user.data or "",
                                                                       "", _version(form)),
                   _("已指派"))


def handling_of(session: Session, actor: Actor, case: Case) -> dict[str, Any]:
    """办理人 on the case page: who holds the decision, what the person may do about it, and the form."""
    found = get_engine().handling(session, case, actor)
    form = None
    if found.claim or found.release or found.assign:
        form = HandleForm(formdata=None)
        form.version.data = str(case.version)
        holder_id = found.holder.id if found.holder is not None else None
        people = [u for u in colleagues(session, actor) if u.id != holder_id]
        if holder_id is not None and holder_id != actor.id:
            people.insert(0, session.get(User, actor.id))
        form.user.choices = [(u.username, u.display_name or u.username) for u in people if u is not None]
        if not form.user.choices:  # nobody to hand it to
            found = replace(found, assign=False)
    return {"handling": found, "handle_form": form}


def actor_names(session: Session, entries: list[dict[str, Any]]) -> dict[str, str]:
    """The display names of the people the entries name: who acted, and for whom a substitute acted."""
    usernames = {e["actor"] for e in entries}
    usernames |= {e["data"][ON_BEHALF_OF] for e in entries
                  if isinstance(e["data"], dict) and isinstance(e["data"].get(ON_BEHALF_OF), str)}
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(usernames))) \
        if usernames else []
    return {username: name or username for username, name in rows}


def _creatable(actor: Actor) -> list[str]:
    engine = get_engine()
    return [name for name, d in engine.catalog.definitions.items() if actor.role in d.creation.roles]


@bp.route("/cases/new/<workflow>", methods=["GET", "POST"])
@login_required
def new(workflow: str) -> Any:
    actor = _actor()
    engine = get_engine()
    definition = engine.catalog.definitions.get(workflow)
    if definition is None:
        abort(404)
    if actor.role not in definition.creation.roles:
        abort(403)
    titles = dict(definition.extra.get("titles", {}))
    form = step_form(definition.creation.data, titles, labels=definition_labels(definition))
    with get_db().read() as session:
        orgs = session.scalars(
            select(Organisation).where(visible_orgs(actor), Organisation.kind == definition.creation.org_kind)
            .order_by(Organisation.name).limit(500)
        ).all()
        org_choices = [(o.code, o.name) for o in orgs]
    errors: list[str] = []
    existing: list[int] = []  # the open case a refused creation would duplicate
    status = 200
    decided_on: BusinessDate | None = None
    if request.method == "POST" and form.validate_on_submit():
        data, problems = form_data(form, definition.creation.data)
        org_code = request.form.get("org", actor.org_code or "")
        if problems:
            errors = attach_errors(form, {k: _("格式不正确：%(v)s", v=v) for k, v in problems.items()},
                                   definition.creation.data)
            status = 400
        else:
            try:
                with get_db().write() as session:
                    case = engine.create_case(session, workflow, org_code, actor, data, decided_on=sent_date())
                    case_id = case.id
                flash(_("案件已创建"), "success")
                return redirect(url_for("cases.show", case_id=case_id))
            except WorkflowError as err:
                outcome = explain(err, definition_labels(definition))
                decided_on = shown_date(engine, None, request.form.get("decided_on"), outcome)
                errors, status = [*outcome.messages, *attach_errors(form, outcome.fields, definition.creation.data)], \
                    outcome.status
                existing = [r.params["case"] for r in outcome.reasons if isinstance(r.params.get("case"), int)]
    elif request.method == "POST":
        status = 400
    if decided_on is None:
        decided_on = shown_date(engine, None, request.form.get("decided_on"), None)
    return render_template("cases/new.html", definition=definition, form=form, errors=errors, existing=existing,
                           org_choices=org_choices, org_selected=request.form.get("org", actor.org_code),
                           decided_on=decided_on), status


@bp.get("/cases/<int:case_id>")
@login_required
def show(case_id: int, reassign_errors: list[str] | None = None, status: int = 200,
         handling_errors: list[str] | None = None) -> Any:
    actor = _actor()
    engine = get_engine()
    with get_db().read() as session:
        case = _visible(session, case_id, actor)
        choices = reassign_choices(session, actor, case)
        reassign_form = None
        if choices is not None:
            reassign_form = ReassignForm(formdata=request.form if reassign_errors else None)
            reassign_form.org.choices = choices
            reassign_form.version.data = str(case.version)
        definition = engine.definition_of(case)
        masked = not sees_personal_data(actor, case)
        entries = [entry_json(e, masked) for e in audit.entries_for(session, "case", str(case.id))]
        load_people(session, [*(e["actor"] for e in entries), case.created_by.username if case.created_by else None])
        # the organisations they record by code, a party's too, named on the page
        remember_entries(session, [*entries, {"data": case.data}], ORG_KEYS | {p.field for p in definition.parties if p.field})
        available = engine.available(session, case, actor)
        path = [e["to"] for e in entries if e["to"]]
        svg = workflow_svg(definition, case.state, path)
        waiting = waiting_for(session, engine, case, available)
        data = case_data(actor, case)
        overdue = engine.overdue(case)
        panel = workflow_pages(current_app).panel(case.workflow)
        shown = panel.build(CaseView(session, engine, actor, case, definition, data, entries, available, overdue)) \
            if panel else None
        following = next_in_queue(session, actor, case) if not any(a.allowed for a in available) else None
        handled = handling_of(session, actor, case)
        names = actor_names(session, entries)
        steps = None if panel is not None and panel.progress else progress(definition, case, entries, names=names)
        return render_template(
            "cases/show.html", case=case, definition=definition, data=data, entries=entries,
            available=available, reason_message=reason_message, svg=svg, overdue=overdue,
            waiting_for=waiting, waiting_note=waiting_note(engine, case, waiting), json=json,
            panel_template=panel.template if panel else None, panel=shown,
            reassign_form=reassign_form, reassign_errors=reassign_errors or [], next_case=following,
            deadline=engine.deadline_status(case),
            progress=steps,
            handling_errors=handling_errors or [], names=names, **handled,
        ), status


def next_in_queue(session: Session, actor: Actor, case: Case) -> dict[str, Any] | None:
    """For a reviewer with nothing (more) to do on this case: the oldest other case waiting for them."""
    if actor.role != "reviewer":
        return None
    queue = review_queue(session, actor, review_states(), page=1, per_page=2, count_limit=2)
    found = next((c for c in queue.items if c.id != case.id), None)
    if found is None:
        return None
    title = get_engine().catalog.definitions[found.workflow].title
    return {"id": found.id, "org": found.org.name, "title": text(title, found.workflow)}


@bp.route("/cases/<int:case_id>/steps/<trigger>", methods=["GET", "POST"])
@login_required
def step(case_id: int, trigger: str) -> Any:
    """Every step of every workflow (web.steps), with the form the workflow gave it or one built from its fields."""
    return serve(case_id, trigger)
