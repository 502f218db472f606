"""我的代理: a user names a substitute of the same organisation and role for an absence, and ends it early.

The page lists the delegations the user gave and received, current and past; setting and ending one go
through the engine (`Engine.delegate`, `Engine.end_delegation`), which checks and audits them, and every
refusal is shown in place, beside the field at fault.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField

from workflow import WorkflowError, colleagues, delegation_active, delegations_of

from .extensions import get_db, get_engine
from .steps import explain

bp = Blueprint("delegations", __name__)
ROLES = ("preparer", "reviewer")  # who takes decisions, and so may be absent from them


class DelegationForm(FlaskForm):
    to = SelectField(_l("代理人"), validate_choice=False)
    starts_on = DateField(_l("开始日期"))
    ends_on = DateField(_l("结束日期"))


def _actor() -> Any:
    actor = current_user.actor()
    if actor.role not in ROLES or actor.org_id is None:
        abort(403)
    return actor


def _page(form: DelegationForm | None = None, errors: list[str] | None = None, status: int = 200) -> Any:
    actor = _actor()
    engine = get_engine()
    today = engine.today()
    with get_db().read() as session:
        people = colleagues(session, actor)
        form = form or DelegationForm(formdata=None)
        form.to.choices = [(u.username, u.display_name or u.username) for u in people]
        if request.method == "GET":
            form.starts_on.data = form.starts_on.data or today
        rows = [{"d": d, "given": d.delegator_id == actor.id, "active": delegation_active(d, today),
                 "over": d.ended_at is not None or d.ends_on < today}
                for d in delegations_of(session, actor)]
        return render_template("delegations/index.html", form=form, rows=rows, errors=errors or [],
                               today=today, has_colleagues=bool(people)), status


@bp.get("/delegations")
@login_required
def index() -> Any:
    return _page()


@bp.post("/delegations")
@login_required
def create() -> Any:
    actor = _actor()
    form = DelegationForm()  # shown again as sent
    if not FlaskForm().validate_on_submit():  # the CSRF token: the fields are the engine's to judge
        return _page(form, [_("表单已过期，请刷新后重试。")], 400)
    # the dates are the engine's to read (YYYY-MM-DD), so that every problem is named alike
    raw = {name: (request.form.get(name) or "").strip() for name in ("to", "starts_on", "ends_on")}
    try:
        with get_db().write() as session:
            get_engine().delegate(session, actor, raw["to"], raw["starts_on"], raw["ends_on"])
    except WorkflowError as err:
        outcome = explain(err)
        for name, message in outcome.fields.items():
            if name in form:
                form[name].errors = [message]
        return _page(form, outcome.messages if outcome.messages or not outcome.fields else [], outcome.status)
    flash(_("已设置代理"), "success")
    return redirect(url_for("delegations.index"))


@bp.post("/delegations/<int:delegation_id>/end")
@login_required
def end(delegation_id: int) -> Any:
    actor = _actor()
    form = FlaskForm()
    if not form.validate_on_submit():
        return _page(None, [_("表单已过期，请刷新后重试。")], 400)
    try:
        with get_db().write() as session:
            get_engine().end_delegation(session, actor, delegation_id)
    except WorkflowError as err:
        outcome = explain(err)
        if outcome.status == 404:
            abort(404)
        return _page(None, outcome.messages, outcome.status)
    flash(_("代理已结束"), "success")
    return redirect(url_for("delegations.index"))
