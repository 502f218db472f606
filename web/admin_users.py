"""Administration of accounts: users (create, change role and organisation, disable, reset the password,
sign out everywhere) and API tokens (issue, list, revoke). A new password or token secret is shown once, in the response
to the request that made it, and never stored anywhere but as its hash.
"""
from __future__ import annotations

import secrets
from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from services.accounts import (
    MIN_PASSWORD,
    create_user,
    end_sessions,
    find_user,
    issue_token,
    reset_password,
    revoke_token,
    set_user_active,
    update_user,
)
from storage import utcnow
from workflow import ROLES, ApiToken, Organisation, User, WorkflowError, paginate

from .admin_common import bp, choices, show_errors
from .extensions import get_db
from .i18n import ROLE_LABELS, error_payload, pick
from .listing import page_number
from .statuses import status_of

PER_PAGE = 50
TOKEN_DAYS = (("30", _l("30天")), ("90", _l("90天")), ("365", _l("一年")), ("0", _l("长期有效")))


class UserEditForm(FlaskForm):
    f_display_name = StringField(_l("姓名"), validators=[Optional(), Length(max=100)])
    f_role = SelectField(_l("角色"), choices=[])
    f_org = StringField(_l("所属组织代码"), validators=[Optional(), Length(max=64)],
                        description=_l("系统管理员可不填；其他角色必填"), render_kw={"list": "org-codes"})


class UserForm(UserEditForm):
    f_username = StringField(_l("用户名"), validators=[DataRequired(message=_l("请填写用户名")), Length(max=64)],
                             description=_l("字母、数字和 . _ -，登录时使用"),
                             render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"})
    f_password = PasswordField(_l("初始密码"), validators=[DataRequired(message=_l("请填写初始密码"))],
                               description=_l("至少%(n)s个字符；请当面或电话告知本人，并提醒其登录后修改。", n=MIN_PASSWORD),
                               render_kw={"autocomplete": "new-password"})


class EndSessionsForm(FlaskForm):
    f_confirm = BooleanField(_l("我已确认：该用户在所有设备上的登录立即失效，需重新登录。"))


class TokenForm(FlaskForm):
    f_username = StringField(_l("用户名"), validators=[DataRequired(message=_l("请填写用户名"))],
                             render_kw={"list": "usernames", "autocomplete": "off"})
    f_name = StringField(_l("用途"), validators=[Optional(), Length(max=100)],
                         description=_l("例如：财务系统对接"))
    f_days = SelectField(_l("有效期"), choices=[], default="365")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.f_days.choices = choices(TOKEN_DAYS)


def _role_choices() -> list[tuple[str, str]]:
    return choices((r, pick(ROLE_LABELS[r])) for r in ROLES)


def _org_codes(session: Session) -> list[tuple[str, str]]:
    return [(c, n) for c, n in session.execute(select(Organisation.code, Organisation.name).order_by(Organisation.path))]


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _no_store(body: str, status: int = 200) -> Any:
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/users", methods=["GET", "POST"])
def users() -> Any:
    form = UserForm()
    form.f_role.choices = _role_choices()
    status, errors = 200, []
    if form.validate_on_submit():
        try:
            with get_db().write() as session:
                user = create_user(session, username=form.f_username.data.strip(), password=form.f_password.data,
                                   role=form.f_role.data, org=(form.f_org.data or "").strip() or None,
                                   display_name=(form.f_display_name.data or "").strip() or None,
                                   actor=current_user.username)
                name = user.username
            flash(_("已创建用户 %(name)s。请将初始密码告知本人。", name=name), "success")
            return redirect(url_for("admin.users"))
        except WorkflowError as err:
            errors, status = show_errors(form, err), status_of(err)
    elif request.method == "POST":
        status = 400
    q = (request.args.get("q") or "").strip()
    with get_db().read() as session:
        stmt = select(User).order_by(User.username)
        if q:
            stmt = stmt.outerjoin(User.org).where(or_(User.username.contains(q, autoescape=True),
                                                      User.display_name.contains(q, autoescape=True),
                                                      Organisation.code == q))
        page = paginate(session, stmt, page_number(), PER_PAGE)
        return render_template("admin/users.html", page=page, form=form, errors=errors, q=q,
                               org_codes=_org_codes(session), now=utcnow()), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int) -> Any:
    with get_db().read() as session:
        user = _user(session, user_id)
        form = UserEditForm()
        form.f_role.choices = _role_choices()
        if request.method == "GET":
            form.f_display_name.data = user.display_name
            form.f_role.data = user.role
            form.f_org.data = user.org.code if user.org else ""
        tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())).all()
        codes = _org_codes(session)
    status, errors = 200, []
    if form.validate_on_submit():
        if user.id == current_user.id and form.f_role.data != "admin":
            form.f_role.errors = [_("不能取消自己的系统管理员角色。")]
            status = 400
        else:
            try:
                with get_db().write() as session:
                    changes = update_user(session, _user(session, user_id), role=form.f_role.data,
                                          org=(form.f_org.data or "").strip() or None,
                                          display_name=form.f_display_name.data, actor=current_user.username)
                flash(_("已保存修改。") if changes else _("没有需要保存的修改。"), "success" if changes else "info")
                return redirect(url_for("admin.user_edit", user_id=user_id))
            except WorkflowError as err:
                errors, status = show_errors(form, err), status_of(err)
    elif request.method == "POST":
        status = 400
    return render_template("admin/user_edit.html", user=user, form=form, errors=errors, tokens=tokens,
                           org_codes=codes, now=utcnow(), new_password=None,
                           end_form=EndSessionsForm(formdata=None)), status


@bp.post("/users/<int:user_id>/active")
def toggle_active(user_id: int) -> Any:
    if not FlaskForm().validate_on_submit():
        abort(400)
    with get_db().write() as session:
        user = _user(session, user_id)
        if user.id == current_user.id:
            flash(_("不能停用自己的账号。"), "error")
        else:
            set_user_active(session, user, not user.active, actor=current_user.username)
            flash(_("已启用用户 %(name)s。", name=user.username) if user.active
                  else _("已停用用户 %(name)s：其登录和令牌立即失效。", name=user.username), "success")
    return redirect(request.form.get("back") == "edit" and url_for("admin.user_edit", user_id=user_id)
                    or url_for("admin.users"))


@bp.post("/users/<int:user_id>/password")
def reset_user_password(user_id: int) -> Any:
    """A new random password, shown once on this response."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    password = "-".join(secrets.token_hex(3) for _n in range(3))
    with get_db().write() as session:
        user = _user(session, user_id)
        reset_password(session, user, password, actor=current_user.username)
    return _no_store(_user_page(user_id, new_password=password))


def _user_page(user_id: int, *, new_password: str | None = None, errors: list[str] | None = None,
               end_form: EndSessionsForm | None = None) -> str:
    """The user's page as it stands, after an action of its security card."""
    with get_db().read() as session:
        user = _user(session, user_id)
        form = UserEditForm(formdata=None)
        form.f_role.choices = _role_choices()
        form.f_display_name.data, form.f_role.data = user.display_name, user.role
        form.f_org.data = user.org.code if user.org else ""
        tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())).all()
        return render_template("admin/user_edit.html", user=user, form=form, errors=errors or [], tokens=tokens,
                               org_codes=_org_codes(session), now=utcnow(), new_password=new_password,
                               end_form=end_form or EndSessionsForm(formdata=None))


@bp.post("/users/<int:user_id>/sessions")
def end_user_sessions(user_id: int) -> Any:
    """Sign the user out everywhere, once confirmed: every session of theirs ends on every server (audited)."""
    form = EndSessionsForm()
    if not form.validate_on_submit():
        abort(400)
    if not form.f_confirm.data:
        form.f_confirm.errors = [_("请勾选确认后再退出该用户的全部登录。")]
        return _user_page(user_id, end_form=form), 400
    with get_db().write() as session:
        user = _user(session, user_id)
        end_sessions(session, user, actor=current_user.username)
        name = user.username
    flash(_("已退出 %(name)s 在所有设备上的登录。", name=name), "success")
    return redirect(url_for("admin.user_edit", user_id=user_id))


@bp.route("/tokens", methods=["GET", "POST"])
def tokens() -> Any:
    form = TokenForm()
    status, errors, secret, issued_to = 200, [], None, None
    if form.validate_on_submit():
        with get_db().write() as session:
            user = find_user(session, form.f_username.data.strip())
            if user is None:
                form.f_username.errors = [_("没有这个用户")]
                status = 400
            elif not user.active:
                form.f_username.errors = [_("该用户已停用")]
                status = 400
            else:
                days = int(form.f_days.data or "0")
                try:
                    secret = issue_token(session, user, name=(form.f_name.data or "").strip(), days=days or None,
                                         actor=current_user.username)
                    issued_to = user.username
                except WorkflowError as err:
                    errors, status = [error_payload(err)["error"]["message"]], status_of(err)
    elif request.method == "POST":
        status = 400
    with get_db().read() as session:
        page = paginate(session, select(ApiToken).order_by(ApiToken.id.desc()), page_number(), PER_PAGE)
        usernames = session.scalars(select(User.username).where(User.active.is_(True)).order_by(User.username)).all()
        body = render_template("admin/tokens.html", page=page, form=form if secret is None else TokenForm(formdata=None),
                               errors=errors, secret=secret, issued_to=issued_to, usernames=usernames, now=utcnow())
    return _no_store(body, status)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int) -> Any:
    if not FlaskForm().validate_on_submit():
        abort(400)
    with get_db().write() as session:
        token = revoke_token(session, token_id, actor=current_user.username)
        if token is None:
            abort(404)
        name = token.name or f"#{token.id}"
    flash(_("已吊销令牌 %(name)s。", name=name), "success")
    back = request.form.get("back")
    return redirect(url_for("admin.user_edit", user_id=int(back)) if back and back.isdigit()
                    else url_for("admin.tokens"))
