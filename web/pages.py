"""The home page per role, error pages and what every template may use."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from audit import AuditEntry
from workflow import Case
from workflow.queries import list_cases, review_queue, visible_orgs

from .extensions import get_db, get_engine
from .i18n import lang, local_time, text

bp = Blueprint("pages", __name__)

ROLE_LABELS = {
    "preparer": ("经办人", "Preparer"),
    "reviewer": ("审核人", "Reviewer"),
    "auditor": ("审计人员", "Auditor"),
    "admin": ("系统管理员", "Administrator"),
}
KIND_LABELS = {
    "federation": ("总工会", "Federation"),
    "town": ("乡镇(街道)工会", "Town union"),
    "community": ("社区工会", "Community union"),
    "enterprise": ("企事业单位", "Enterprise"),
}
UNION_STATUS_LABELS = {"none": ("未建会", "No union"), "founding": ("筹建中", "Founding"),
                       "founded": ("已建会", "Founded")}


def pick(pair: tuple[str, str] | None, fallback: str = "") -> str:
    if pair is None:
        return fallback
    return pair[1] if lang() == "en" else pair[0]


def review_states() -> dict[str, list[str]]:
    """Per workflow, the states in which a reviewer decides something."""
    out: dict[str, list[str]] = {}
    for name, d in get_engine().catalog.definitions.items():
        out[name] = sorted({t.source for t in d.transitions if "reviewer" in t.roles and "preparer" not in t.roles})
    return out


@bp.get("/")
@login_required
def home() -> Any:
    actor = current_user.actor()
    engine = get_engine()
    with get_db().read() as session:
        context: dict[str, Any] = {}
        if actor.role == "preparer":
            page = list_cases(session, actor, open_only=True, page=_page(), per_page=20)
            context["cases"] = page
            context["next_steps"] = {c.id: [a for a in engine.available(session, c, actor) if a.allowed] for c in page.items}
        elif actor.role == "reviewer":
            context["queue"] = review_queue(session, actor, review_states(), page=_page(), per_page=20)
        elif actor.role in ("auditor", "admin"):
            stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(20)
            context["recent"] = session.scalars(stmt).all()
        counts = dict(
            session.execute(
                select(Case.workflow, func.count()).join(Case.org).where(visible_orgs(actor), Case.closed.is_(False))
                .group_by(Case.workflow)
            ).all()
        )
        context["counts"] = counts
        return render_template("home.html", **context)


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def _helpers() -> dict[str, Any]:
        engine = get_engine(app)

        def workflow_title(name: str) -> str:
            d = engine.catalog.definitions.get(name)
            return text(d.title, name) if d else name

        def state_label(case: Case) -> str:
            try:
                return text(engine.definition_of(case).state(case.state).label, case.state)
            except KeyError:
                return case.state

        def state_name_label(workflow: str, state: str | None) -> str:
            d = engine.catalog.definitions.get(workflow)
            if d is None or state is None:
                return state or "—"
            try:
                return text(d.state(state).label, state)
            except KeyError:
                return state

        def trigger_label(workflow: str, trigger: str) -> str:
            if trigger == "create":
                return _("创建案件")
            d = engine.catalog.definitions.get(workflow)
            return text(d.trigger_label(trigger), trigger) if d else trigger

        return {
            "lang": lang,
            "text": text,
            "local_time": local_time,
            "role_label": lambda r: pick(ROLE_LABELS.get(r), r),
            "kind_label": lambda k: pick(KIND_LABELS.get(k), k),
            "union_status_label": lambda s: pick(UNION_STATUS_LABELS.get(s), s),
            "workflow_title": workflow_title,
            "state_label": state_label,
            "state_name_label": state_name_label,
            "trigger_label": trigger_label,
            "workflows": engine.catalog.definitions,
        }

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> Any:
        return render_template("errors/error.html", status=400,
                               message=_("表单已过期或无效，请返回上一页刷新后重新提交。")), 400

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            from .api import error

            code = {413: "payload_too_large", 405: "method_not_allowed", 404: "not_found",
                    429: "rate_limited"}.get(exc.code or 500, "invalid_input")
            return error(code, exc.code or 400)
        messages = {
            403: _("您无权查看此页面。"),
            404: _("页面不存在，或不在您的管辖范围内。"),
            405: _("不支持此请求方法。"),
            413: _("提交的内容过大。"),
            429: _("尝试次数过多，请稍后再试。"),
        }
        status = exc.code or 500
        return render_template("errors/error.html", status=status,
                               message=messages.get(status, exc.description)), status
