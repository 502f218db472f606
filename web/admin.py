"""Administration (admins only): the organisation tree — create, edit, move — with employee counts.

Users and API tokens are in admin_users.py, on the same blueprint (admin_common.py). Every
change goes through services.accounts, which appends it to the audit trail.
"""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from services.accounts import create_org, move_org, update_org
from workflow import ORG_KINDS, Case, Organisation, User, WorkflowError, paginate

from . import admin_users  # noqa: F401  (the users' and tokens' pages, on the same blueprint)
from .admin_common import bp, choices, show_errors
from .extensions import get_db
from .i18n import KIND_LABELS, pick
from .listing import page_number
from .org_names import with_code
from .statuses import status_of

PER_PAGE = 100


class OrgEditForm(FlaskForm):
    f_name = StringField(_l("名称"), validators=[DataRequired(message=_l("请填写名称")), Length(max=200)])
    f_employees = IntegerField(_l("职工人数"), validators=[Optional(), NumberRange(min=0)])
    f_female_employees = IntegerField(_l("女职工人数"), validators=[Optional(), NumberRange(min=0)])
    f_credit_code = StringField(_l("统一社会信用代码"), validators=[Optional(), Length(max=18)],
                                description=_l("18位，末位为校验码"))
    f_address = StringField(_l("地址"), validators=[Optional(), Length(max=300)])


class OrgForm(OrgEditForm):
    f_code = StringField(_l("组织代码"), validators=[DataRequired(message=_l("请填写组织代码")), Length(max=64)],
                         description=_l("唯一，创建后不能修改，例如 ENT-0001"))
    f_kind = SelectField(_l("类型"), choices=[])
    f_parent = SelectField(_l("上级组织"), choices=[])


class MoveForm(FlaskForm):
    f_parent = SelectField(_l("新的上级组织"), choices=[])
    f_confirm = BooleanField(_l("我已确认：迁移后，该组织及其下级的案件由新的上级组织及其审核人、审计人员查看。"))


def parent_choices(session: Session, exclude_path: str | None = None) -> list[tuple[str, str]]:
    """Organisations that may have children (not enterprises), indented by depth."""
    stmt = select(Organisation).where(Organisation.kind != "enterprise").order_by(Organisation.path)
    out = []
    for o in session.scalars(stmt):
        if exclude_path and o.path.startswith(exclude_path):
            continue
        depth = o.path.count("/") - 2
        out.append((o.code, f"{'　' * depth}{with_code(o.name, o.code)}"))
    return out


def subtree_figures(session: Session) -> dict[int, dict[str, int]]:
    """Per organisation id: enterprises, founded unions, employees and members in its subtree."""
    figures: dict[int, dict[str, int]] = {}
    rows = session.execute(select(Organisation.path, Organisation.employees, Organisation.member_count,
                                  Organisation.union_status).where(Organisation.kind == "enterprise"))
    for path, employees, members, status in rows:
        for part in path.strip("/").split("/"):
            f = figures.setdefault(int(part), {"enterprises": 0, "founded": 0, "employees": 0, "members": 0})
            f["enterprises"] += 1
            f["founded"] += status == "founded"
            f["employees"] += employees or 0
            f["members"] += members or 0
    return figures


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) else None


@bp.route("/orgs", methods=["GET", "POST"])
def orgs() -> Any:
    form = OrgForm()
    with get_db().read() as session:
        form.f_kind.choices = choices((k, pick(KIND_LABELS[k])) for k in ORG_KINDS)
        form.f_parent.choices = choices([("", _("（无上级：顶级组织）"))] + parent_choices(session))
    status, errors = 200, []
    if form.validate_on_submit():
        try:
            with get_db().write() as session:
                org = create_org(
                    session, code=form.f_code.data.strip(), name=form.f_name.data, kind=form.f_kind.data,
                    parent=form.f_parent.data or None, employees=_int_or_none(form.f_employees.data),
                    female_employees=_int_or_none(form.f_female_employees.data),
                    credit_code=form.f_credit_code.data or None, address=form.f_address.data or None,
                    actor=current_user.username,
                )
                name = org.name
            flash(_("已创建组织：%(name)s", name=name), "success")
            return redirect(url_for("admin.orgs", q=request.args.get("q") or None))
        except WorkflowError as err:
            errors, status = show_errors(form, err), status_of(err)
    elif request.method == "POST":
        status = 400
    q = (request.args.get("q") or "").strip()
    with get_db().read() as session:
        stmt = select(Organisation).order_by(Organisation.path)
        if q:
            stmt = stmt.where(or_(Organisation.name.contains(q, autoescape=True), Organisation.code == q))
        page = paginate(session, stmt, page_number(), PER_PAGE)
        users = dict(session.execute(select(User.org_id, func.count()).group_by(User.org_id)).all())
        return render_template("admin/orgs.html", page=page, form=form, errors=errors, q=q,
                               figures=subtree_figures(session), users=users), status


def _org(session: Session, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        abort(404)
    return org


@bp.route("/orgs/<int:org_id>", methods=["GET", "POST"])
def org_edit(org_id: int) -> Any:
    with get_db().read() as session:
        org = _org(session, org_id)
        form = OrgEditForm()
        if request.method == "GET":
            form.f_name.data, form.f_address.data = org.name, org.address
            form.f_employees.data, form.f_female_employees.data = org.employees, org.female_employees
            form.f_credit_code.data = org.credit_code
    status, errors = 200, []
    if form.validate_on_submit():
        try:
            with get_db().write() as session:
                changes = update_org(
                    session, _org(session, org_id), name=form.f_name.data,
                    employees=_int_or_none(form.f_employees.data),
                    female_employees=_int_or_none(form.f_female_employees.data),
                    credit_code=form.f_credit_code.data or None, address=form.f_address.data or None,
                    actor=current_user.username,
                )
            flash(_("已保存修改。") if changes else _("没有需要保存的修改。"), "success" if changes else "info")
            return redirect(url_for("admin.orgs"))
        except WorkflowError as err:
            errors, status = show_errors(form, err), status_of(err)
    elif request.method == "POST":
        status = 400
    with get_db().read() as session:
        org = _org(session, org_id)
        open_cases = session.scalar(select(func.count()).select_from(Case).where(
            Case.org_id == org.id, Case.closed.is_(False))) or 0
        return render_template("admin/org_edit.html", org=org, form=form, errors=errors,
                               open_cases=open_cases), status


@bp.route("/orgs/<int:org_id>/move", methods=["GET", "POST"])
def org_move(org_id: int) -> Any:
    form = MoveForm()
    with get_db().read() as session:
        org = _org(session, org_id)
        form.f_parent.choices = choices(parent_choices(session, exclude_path=org.path))
        if request.method == "GET" and org.parent is not None:
            form.f_parent.data = org.parent.code
    status, errors = 200, []
    if form.validate_on_submit():
        if not form.f_confirm.data:
            form.f_confirm.errors = [_("请勾选确认后再迁移。")]
            status = 400
        else:
            try:
                with get_db().write() as session:
                    moved = move_org(session, _org(session, org_id), form.f_parent.data, actor=current_user.username)
                flash(_("已迁移 %(n)s 个组织。", n=moved), "success")
                return redirect(url_for("admin.orgs"))
            except WorkflowError as err:
                errors, status = show_errors(form, err), status_of(err)
    elif request.method == "POST":
        status = 400
    with get_db().read() as session:
        org = _org(session, org_id)
        below = session.scalar(select(func.count()).select_from(Organisation).where(
            Organisation.path.startswith(org.path, autoescape=True))) or 1
        open_cases = session.scalars(
            select(Case).join(Case.org).where(Organisation.path.startswith(org.path, autoescape=True),
                                              Case.closed.is_(False)).order_by(Case.id).limit(50)).all()
        return render_template("admin/org_move.html", org=org, form=form, errors=errors, below=below,
                               open_cases=open_cases), status

