"""The home page per role, the language switch and the error pages.

Preparers see their open cases and the next step each needs; reviewers the
queue of cases awaiting their decision (oldest first, overdue marked);
auditors the recent activity of their subtree and a search; administrators
the state of the organisation tree and the accounts.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from audit import AuditEntry
from storage import utcnow
from workflow import Actor, ApiToken, Case, Engine, Organisation, User, list_cases, review_queue, visible_orgs

from . import templating
from .diagram import escape_states
from .extensions import get_db, get_engine
from .i18n import remember_choice
from .listing import filter_org, page_number
from .people import load_people
from .templating import review_states
from .waiting import waiting_for, waiting_note

bp = Blueprint("pages", __name__)
PER_PAGE = 20
# how many open cases the preparer's counts look at (an enterprise has a handful)
COUNT_LIMIT = 500
# a tile counts up to this many and then shows "2000+"
TILE_LIMIT = 2000


def org_options(session: Session, actor: Actor, limit: int = 300) -> list[tuple[str, str]]:
    """(code, name) of the organisations in the actor's subtree, for a filter's suggestions."""
    rows = session.execute(
        select(Organisation.code, Organisation.name).where(visible_orgs(actor)).order_by(Organisation.path).limit(limit)
    )
    return [(c, n) for c, n in rows]


@bp.get("/")
@login_required
def home() -> Any:
    actor = current_user.actor()
    with get_db().read() as session:
        view = {"preparer": _preparer, "reviewer": _reviewer, "auditor": _auditor, "admin": _admin}[actor.role]
        return render_template("home.html", **view(session, actor, get_engine()))


def _capped_count(session: Session, stmt: Any) -> int | str:
    """The rows of `stmt`, counted up to TILE_LIMIT ("2000+" past it)."""
    n = session.scalar(select(func.count()).select_from(stmt.limit(TILE_LIMIT + 1).subquery())) or 0
    return f"{TILE_LIMIT}+" if n > TILE_LIMIT else n


def _open_total(session: Session, actor: Actor) -> int | str:
    """Open cases in the actor's subtree, counted up to TILE_LIMIT."""
    return _capped_count(session, select(Case.id).join(Case.org).where(visible_orgs(actor), Case.closed.is_(False)))


def _shown(page: Any) -> int | str:
    return f"{page.total}+" if page.more else page.total


def _preparer(session: Session, actor: Actor, engine: Engine) -> dict[str, Any]:
    page = list_cases(session, actor, open_only=True, page=page_number(), per_page=PER_PAGE, count_limit=TILE_LIMIT)
    rows = [_case_row(session, engine, c, actor) for c in page.items]
    everything = list_cases(session, actor, open_only=True, page=1, per_page=COUNT_LIMIT, count_limit=TILE_LIMIT).items
    mine = waiting = late = 0
    for c in everything:
        row = _case_row(session, engine, c, actor, shown=False)
        if row["allowed"]:
            mine += 1
        elif row["reviewing"]:
            waiting += 1
        late += bool(row["overdue"]) or engine.deadline_status(c) in ("overdue", "escalated")
    closed = list_cases(session, actor, page=1, per_page=5)
    recent_closed = [c for c in closed.items if c.closed]
    creatable = [name for name, d in engine.catalog.definitions.items() if actor.role in d.creation.roles]
    return {"cases": page, "rows": rows, "recent_closed": recent_closed, "creatable": creatable,
            "summary": [(_("待我办理"), mine, "todo", url_for("work.tasks_page")),
                        (_("等待上级审核"), waiting, "review"),
                        (_("已逾期"), late, "late"), (_("未办结案件"), len(everything), "open", url_for("cases.index"))]}


def _case_row(session: Session, engine: Engine, case: Case, actor: Actor, shown: bool = True) -> dict[str, Any]:
    """A preparer's case with what it needs next: the steps they may take, or whom it waits for and why
    (looked up only for a row that is `shown`: the tiles count up to thousands of cases).

    A way out that is open at every step (withdrawal) is not a next step: it stays on the case page.
    """
    available = engine.available(session, case, actor)
    ways_out = escape_states(engine.definition_of(case))
    allowed = [a for a in available if a.allowed and a.dest not in ways_out]
    blocked = [a for a in available if not a.allowed and a.dest not in ways_out
               and a.reasons and a.reasons[0].code != "forbidden"]
    reviewing = case.state in review_states().get(case.workflow, [])
    waits = shown and reviewing and not allowed
    waiting = waiting_for(session, engine, case, available) if waits else None
    return {"case": case, "allowed": allowed, "blocked": blocked, "reviewing": reviewing,
            "waiting_for": waiting, "waiting_note": waiting_note(engine, case, waiting) if waits else None,
            "overdue": engine.overdue(case)}


def _reviewer(session: Session, actor: Actor, engine: Engine) -> dict[str, Any]:
    workflow = request.args.get("workflow") or None
    org = filter_org(session, actor)
    queue = review_queue(session, actor, review_states(), workflow=workflow, org=org, page=page_number(),
                         per_page=PER_PAGE, count_limit=TILE_LIMIT)
    overdue = {c.id: engine.overdue(c) for c in queue.items}
    everything = review_queue(session, actor, review_states(), page=1, per_page=COUNT_LIMIT, count_limit=TILE_LIMIT)
    late = sum(1 for c in everything.items
               if engine.overdue(c) or engine.deadline_status(c) in ("overdue", "escalated"))
    soon = sum(1 for c in everything.items if engine.deadline_status(c) == "due_soon")
    by_workflow: dict[str, int] = {}
    for c in everything.items:
        by_workflow[c.workflow] = by_workflow.get(c.workflow, 0) + 1
    month_ago = utcnow() - timedelta(days=30)
    # the trail is in time order: find where the month starts (index on `at`), then count the actor's
    # entries from there (index on actor, seq) instead of filtering all of the actor's entries by time
    first = session.scalar(select(func.min(AuditEntry.seq)).where(AuditEntry.at >= month_ago))
    decided = 0 if first is None else session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.actor == actor.username, AuditEntry.seq >= first)) or 0
    return {"queue": queue, "overdue": overdue, "workflow": workflow, "org": org, "by_workflow": by_workflow,
            "org_options": org_options(session, actor),
            "summary": [(_("待我审核"), _shown(everything), "review", url_for("work.tasks_page")),
                        (_("即将到期"), soon, "review", url_for("work.tasks_page")),
                        (_("已逾期"), late, "late", url_for("work.tasks_page", overdue=1)),
                        (_("近30天我办理的"), decided, "done"),
                      (_("辖区未办结案件"), _open_total(session, actor), "open")]}


def _auditor(session: Session, actor: Actor, engine: Engine) -> dict[str, Any]:
    from .audit_views import scoped_entries, workflows_of
    from .org_names import remember_entries
    from .present import entry_json

    recent_rows = session.scalars(scoped_entries(session, actor, {}).limit(15)).all()
    recent = [entry_json(e, True) for e in recent_rows]
    load_people(session, [e["actor"] for e in recent])
    remember_entries(session, recent)
    week_ago = utcnow() - timedelta(days=7)
    # the trail is in time order: the week starts at one seq (index on `at`), counted from there
    first = session.scalar(select(func.min(AuditEntry.seq)).where(AuditEntry.at >= week_ago))
    week = 0 if first is None else _capped_count(
        session, scoped_entries(session, actor, {}).where(AuditEntry.seq >= first).order_by(None))
    closed = _capped_count(session, select(Case.id).join(Case.org).where(visible_orgs(actor), Case.closed.is_(True)))
    late = sum(1 for c in list_cases(session, actor, open_only=True, page=1, per_page=COUNT_LIMIT,
                                     count_limit=TILE_LIMIT).items
               if engine.overdue(c))
    return {"recent": recent, "workflow_of": workflows_of(session, recent),
            "summary": [(_("辖区未办结案件"), _open_total(session, actor), "open"), (_("已逾期"), late, "late"),
                        (_("已办结案件"), closed, "done"), (_("近7天审计记录"), week, "review")]}


def _admin(session: Session, actor: Actor, engine: Engine) -> dict[str, Any]:
    from .audit_views import workflows_of
    from .org_names import remember_entries
    from .present import entry_json

    kinds = dict(session.execute(select(Organisation.kind, func.count()).group_by(Organisation.kind)).all())
    users = dict(session.execute(select(User.active, func.count()).group_by(User.active)).all())
    now = utcnow()
    tokens = session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.revoked_at.is_(None), (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now))) or 0
    locked = session.scalar(select(func.count()).select_from(User).where(User.locked_until > now)) or 0
    recent = [entry_json(e, True) for e in session.scalars(
        select(AuditEntry).where(AuditEntry.subject_type.in_(("org", "user"))).order_by(AuditEntry.seq.desc()).limit(10))]
    remember_entries(session, recent)
    load_people(session, [e["actor"] for e in recent])
    return {"kinds": kinds, "recent_admin": recent, "workflow_of": workflows_of(session, recent),
            "summary": [(_("组织"), sum(kinds.values()), "open"), (_("在用账号"), users.get(True, 0), "done"),
                      (_("已停用账号"), users.get(False, 0), "ended"), (_("有效令牌"), tokens, "review"),
                      (_("锁定中的账号"), locked, "late")]}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    templating.init_app(app)
    app.before_request(remember_choice)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> Any:
        message = _("表单已过期或无效（页面停留过久，或已在别处退出登录）。请重新打开此页，再提交一次。")
        if request.endpoint == "auth.login":
            from .auth import LoginForm

            return render_template("auth/login.html", form=LoginForm(formdata=None),
                                   error=_("登录表单已过期，请重新输入用户名和密码。")), 400
        again = request.full_path.rstrip("?") if request.endpoint and request.endpoint != "auth.logout" else None
        return render_template("errors/error.html", status=400, title=_("表单已过期"), message=message,
                               again=again), 400

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        # what the exception says beside its body (a 405's Allow, a 429's Retry-After) stays on the answer
        kept = [(k, v) for k, v in exc.get_headers() if k.lower() in ("allow", "retry-after")]
        if request.path.startswith("/api/"):
            from .api import error

            code = {413: "payload_too_large", 405: "method_not_allowed", 404: "not_found",
                    429: "rate_limited"}.get(exc.code or 500, "invalid_input")
            answer = error(code, exc.code or 400)
            answer.headers.extend(kept)
            return answer
        titles = {
            400: _("请求有误"),
            403: _("无权访问"),
            404: _("未找到"),
            405: _("不支持此请求方法"),
            409: _("情况已变化"),
            413: _("内容过大"),
            429: _("尝试次数过多"),
        }
        messages = {
            400: _("请求的内容有误，请返回检查后再试。"),
            403: _("您的角色无权查看或办理此页面的内容。"),
            404: _("页面不存在，或不在您的管辖范围内。"),
            405: _("不支持此请求方法。"),
            413: _("提交的内容过大。"),
            429: _("尝试次数过多，请稍后再试。"),
        }
        status = exc.code or 500
        return render_template("errors/error.html", status=status, title=titles.get(status, str(status)),
                               message=messages.get(status, exc.description)), status, kept
