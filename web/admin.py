"""Administration: the organisation tree and the users (admins only)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Optional

from workflow import User, WorkflowError
from workflow.accounts import create_org, create_user
from workflow.models import ORG_KINDS, ROLES, Organisation
from workflow.queries import paginate

from .extensions import get_db
from .forms import attach_errors
from .i18n import field_errors
from .pages import KIND_LABELS, ROLE_LABELS, _page, pick

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _admins_only() -> None:
    if current_user.role != "admin":
        abort(403)


class OrgForm(FlaskForm):
    f_code = StringField(_l("组织代码"), validators=[DataRequired()])
    f_name = StringField(_l("名称"), validators=[DataRequired()])
    f_kind = SelectField(_l("类型"), choices=[])
    f_parent = StringField(_l("上级组织代码"), validators=[Optional()])
    f_employees = IntegerField(_l("职工人数"), validators=[Optional()])
    f_female_employees = IntegerField(_l("女职工人数"), validators=[Optional()])
    f_credit_code = StringField(_l("统一社会信用代码"), validators=[Optional()])


class UserForm(FlaskForm):
    f_username = StringField(_l("用户名"), validators=[DataRequired()])
    f_display_name = StringField(_l("姓名"), validators=[Optional()])
    f_password = PasswordField(_l("初始密码"), validators=[DataRequired()])
    f_role = SelectField(_l("角色"), choices=[])
    f_org = StringField(_l("所属组织代码"), validators=[Optional()])


@bp.route("/orgs", methods=["GET", "POST"])
def orgs() -> Any:
    form = OrgForm()
    form.f_kind.choices = [(k, pick(KIND_LABELS[k])) for k in ORG_KINDS]
    status = 200
    if form.validate_on_submit():
        try:
            with get_db().write() as session:
                create_org(
                    session, code=form.f_code.data, name=form.f_name.data, kind=form.f_kind.data,
                    parent=form.f_parent.data or None, employees=form.f_employees.data,
                    female_employees=form.f_female_employees.data, credit_code=form.f_credit_code.data or None,
                    actor=current_user.username,
                )
            flash(_("组织已创建"), "success")
            return redirect(url_for("admin.orgs"))
        except WorkflowError as err:
            attach_errors(form, field_errors(err.fields))
            status = err.status
    elif request.method == "POST":
        status = 400
    with get_db().read() as session:
        page = paginate(session, select(Organisation).order_by(Organisation.path), _page(), 50)
        return render_template("admin/orgs.html", page=page, form=form), status


@bp.route("/users", methods=["GET", "POST"])
def users() -> Any:
    form = UserForm()
    form.f_role.choices = [(r, pick(ROLE_LABELS[r])) for r in ROLES]
    status = 200
    if form.validate_on_submit():
        try:
            with get_db().write() as session:
                create_user(session, username=form.f_username.data, password=form.f_password.data,
                            role=form.f_role.data, org=form.f_org.data or None,
                            display_name=form.f_display_name.data or None, actor=current_user.username)
            flash(_("用户已创建"), "success")
            return redirect(url_for("admin.users"))
        except WorkflowError as err:
            attach_errors(form, field_errors(err.fields))
            status = err.status
    elif request.method == "POST":
        status = 400
    with get_db().read() as session:
        page = paginate(session, select(User).order_by(User.username), _page(), 50)
        return render_template("admin/users.html", page=page, form=form), status


@bp.post("/users/<int:user_id>/active")
def toggle_active(user_id: int) -> Any:
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    with get_db().write() as session:
        user = session.get(User, user_id)
        if user is None:
            abort(404)
        if user.id == current_user.id:
            flash(_("不能停用自己的账号"), "error")
        else:
            user.active = not user.active
            flash(_("已启用该用户") if user.active else _("已停用该用户"), "success")
    return redirect(url_for("admin.users"))
