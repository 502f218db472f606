"""Login, logout and password change (Flask-Login, CSRF-protected WTForms, rate limited).

* The session cookie is HttpOnly and SameSite=Lax; it is Secure when the
  deployment says so (UNIONFLOW_HTTPS=1) or the request itself came over
  HTTPS (directly, or through a trusted proxy's X-Forwarded-Proto).
* Wrong passwords are throttled by username and by address with a delay that
  doubles (services.login_throttle), the same for accounts that do not exist;
  an unknown or disabled account costs the same password hash as a real one.
  Every address may also post the form 20 times a minute.
* After login the user goes back where they were going, but only to a path on
  this site: never another host, scheme, or anything a browser would read so.
* A session is refused on every server once the user's session generation
  (a column of `users`, read on each request) has moved past the one it was
  opened under: logging out, a password change or reset, a change of role
  or organisation, disabling and an administrator's "sign out everywhere"
  each raise it (services.accounts.end_sessions).
* A session also ends after SESSION_IDLE_MINUTES without a request and
  SESSION_MAX_HOURS after signing in, whatever the cookie says: the login
  and last-seen times are in the signed session and checked here against
  the server's clock (UNIONFLOW_NOW in tests). A remember-me cookie cannot
  revive an ended session: a session without those times is refused.
"""
from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from services.accounts import (
    MIN_PASSWORD,
    change_password,
    check_password,
    end_sessions,
    find_user,
    needs_rehash,
    rehash_password,
    verify_login,
)
from services.login_throttle import Policy, account_key, address_key, forget, record_failure, wait_seconds
from services.passwords import MAX_PASSWORD, password_problem
from storage import utcnow
from workflow import Actor, User

from .extensions import get_db, limiter, login_manager

bp = Blueprint("auth", __name__)


class LoginUser(UserMixin):
    """The logged-in user as the pages see it, detached from any database session."""

    def __init__(self, user: User):
        self.id = user.id
        self.username = user.username
        self.display_name = user.display_name or user.username
        self.role = user.role
        self.org_id = user.org_id
        self.org_code = user.org.code if user.org else None
        self.org_name = user.org.name if user.org else None
        self.org_path = user.org.path if user.org else None
        self.org_kind = user.org.kind if user.org else None
        self.language = user.language
        self.active = user.active
        # the session names the generation it was opened under; raising the user's ends it
        self._session_id = f"{user.id}:{user.session_generation or 0}"

    def get_id(self) -> str:
        return self._session_id

    @property
    def is_active(self) -> bool:
        return self.active

    def actor(self) -> Actor:
        return Actor(self.id, self.username, self.role, self.org_id, self.org_path, self.org_code)


LOGIN_AT, SEEN_AT = "uf_login_at", "uf_seen_at"  # seconds since the epoch, in the signed session


def now_seconds() -> float:
    """The server's clock (UNIONFLOW_NOW, a callable returning a UTC datetime, in tests) in epoch seconds."""
    clock = current_app.config.get("UNIONFLOW_NOW")
    moment = clock() if clock is not None else utcnow()
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _timed_out(now: float) -> bool | None:
    """True past the idle or absolute limit, None when the session has no times (not opened by this code)."""
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (login_at, seen_at)):
        return None
    config = current_app.config
    idle = float(config["SESSION_IDLE_MINUTES"]) * 60
    lifetime = float(config["SESSION_MAX_HOURS"]) * 3600
    return now - seen_at >= idle or now - login_at >= lifetime


def _end_here(message: str | None) -> None:
    """Forget the sign-in of this browser (and its remember-me cookie); say why on the next page."""
    for key in ("_user_id", "_fresh", "_id", "_remember_seconds", LOGIN_AT, SEEN_AT):
        session.pop(key, None)
    session["_remember"] = "clear"
    if message:
        flash(message, "info")


@login_manager.user_loader
def _load_user(session_id: str) -> LoginUser | None:
    user_id, _sep, generation = session_id.partition(":")
    if not user_id.isdigit() or not generation.isdigit():
        _end_here(None)
        return None
    now = now_seconds()
    timed_out = _timed_out(now)
    if timed_out is None:  # e.g. restored from a remember-me cookie: never a way around the limits
        _end_here(None)
        return None
    if timed_out:
        _end_here(_("登录已超时，请重新登录。"))
        return None
    with get_db().read() as db_session:
        user = db_session.get(User, int(user_id))
        loaded = LoginUser(user) if user is not None and user.active else None
    # logged out elsewhere, a new password, another role or organisation, disabled, signed out by an admin
    if loaded is None or loaded.get_id() != session_id:
        _end_here(_("登录已失效，请重新登录。"))
        return None
    session[SEEN_AT] = now
    g.user_language = loaded.language
    return loaded


def start_session(user: LoginUser) -> None:
    """Sign `user` in on this browser, the idle and absolute limits counting from now."""
    login_user(user)
    session[LOGIN_AT] = session[SEEN_AT] = now_seconds()


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    """To the login page, remembering the page asked for as a relative path."""
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=safe_next(target)))


login_manager.session_protection = "basic"


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, Secure whenever the request came over HTTPS.

    The JSON API authenticates by bearer token alone: its requests neither read
    a session cookie nor set one.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (request and request.is_secure))

    def open_session(self, app: Flask, request: Any) -> Any:
        if request.path.startswith("/api/"):
            return self.make_null_session(app)
        return super().open_session(app, request)


@bp.record_once
def _install_session_interface(state: Any) -> None:
    app = state.app
    app.session_interface = _SessionInterface()
    # the cookie's own signature expires with the absolute limit too (checked again above, to the second)
    lifetime = timedelta(hours=float(app.config["SESSION_MAX_HOURS"]))
    app.config["PERMANENT_SESSION_LIFETIME"] = app.config["REMEMBER_COOKIE_DURATION"] = lifetime


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(message=_l("请输入用户名")), Length(max=64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"})
    password = PasswordField(_l("密码"), validators=[DataRequired(message=_l("请输入密码")), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})


class PasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired(message=_l("请输入当前密码"))],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("新密码"), validators=[
        DataRequired(message=_l("请输入新密码")),
        Length(min=MIN_PASSWORD, max=200, message=_l("密码至少%(n)s个字符", n=MIN_PASSWORD))],
        description=_l("至少%(n)s个字符；可用一句容易记住的话。", n=MIN_PASSWORD),
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("确认新密码"), validators=[EqualTo("new", message=_l("两次输入的新密码不一致"))],
                            render_kw={"autocomplete": "new-password"})


def safe_next(target: str | None) -> str | None:
    """Only a relative path on this site: never another host, never a scheme."""
    if not target or len(target) > 2000:
        return None
    # browsers drop tabs and newlines and read a backslash as a slash: "/\t/evil" is "//evil"
    if any(ord(c) < 0x21 or c == "\x7f" or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_key() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"], key_func=_login_key)
def login() -> Any:
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target or url_for("pages.home"))
    form = LoginForm()
    if form.validate_on_submit():
        refusal = _attempt_login(form.username.data.strip(), form.password.data)
        if refusal is None:
            return redirect(target or url_for("pages.home"))
        error, status, headers = refusal
        return render_template("auth/login.html", form=form, error=error), status, headers
    return render_template("auth/login.html", form=form, error=None), (400 if request.method == "POST" else 200)


def _policy() -> Policy:
    config = current_app.config
    return Policy(free=config["LOGIN_FREE_FAILURES"], free_per_address=config["LOGIN_FREE_FAILURES_PER_ADDRESS"],
                  max_delay=config["LOGIN_MAX_DELAY_SECONDS"])


def _throttled(seconds: int) -> tuple[str, int, dict[str, str]]:
    return _("尝试次数过多，请%(seconds)s秒后再试。", seconds=seconds), 429, {"Retry-After": str(seconds)}


def _attempt_login(username: str, password: str) -> tuple[str, int, dict[str, str]] | None:
    """None once signed in, else (message, status, headers): alike for existing and unknown accounts."""
    policy = _policy()
    keys = {account_key(username): policy.free, address_key(request.remote_addr): policy.free_per_address}
    with get_db().write() as db_session:
        wait = wait_seconds(db_session, list(keys))
        if wait:
            return _throttled(wait)  # before any hash: the same refusal whoever the account is
        user = find_user(db_session, username)
        if not verify_login(user, password):
            record_failure(db_session, keys, policy)
            return _("用户名或密码错误。"), 401, {}
        assert user is not None
        forget(db_session, account_key(username))
        if needs_rehash(user):
            rehash_password(db_session, user, password)
        loaded = LoginUser(user)
    start_session(loaded)
    return None


@bp.post("/logout")
def logout() -> Any:
    """Sign out: every session of this user ends, on this browser and every other, on every server."""
    if current_user.is_authenticated:
        with get_db().write() as db_session:
            user = db_session.get(User, current_user.id)
            if user is not None:
                end_sessions(db_session, user)
    logout_user()
    session.pop(LOGIN_AT, None)
    session.pop(SEEN_AT, None)
    flash(_("您已安全退出。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Any:
    form = PasswordForm()
    if form.validate_on_submit():
        with get_db().write() as db_session:
            user = db_session.get(User, current_user.id)
            if user is None or not check_password(user, form.current.data):
                form.current.errors = [_("当前密码不正确")]
                return render_template("auth/password.html", form=form), 400
            if form.new.data == form.current.data:
                form.new.errors = [_("新密码不能与当前密码相同")]
                return render_template("auth/password.html", form=form), 400
            problem = password_problem(form.new.data, user.username)
            if problem:
                from workflow import field_message

                from .i18n import lang

                form.new.errors = [field_message(problem, {"min": MIN_PASSWORD, "max": MAX_PASSWORD}, lang())]
                return render_template("auth/password.html", form=form), 400
            change_password(db_session, user, form.new.data)
            loaded = LoginUser(user)
        login_user(loaded)  # this session goes on under the new generation; its times stay
        flash(_("密码已修改。您在其他设备上的登录已失效。"), "success")
        return redirect(url_for("pages.home"))
    return render_template("auth/password.html", form=form), (400 if request.method == "POST" else 200)
