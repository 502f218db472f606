"""困难职工帮扶 pages: the application form (new, and edit-and-resubmit), the case panel,
the objection pages, the printable 公示 notice and the federation's 汇总.

Every step still goes through the engine's `fire` in one unit of work; these
pages only collect the data in a form a union clerk can fill in. Uploads and
downloads of the materials live in `hardship_files`.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

import audit
from definitions import Definition, Transition
from workflow import Actor, Case, Organisation, WorkflowError, can_view
from services.attachments import MAX_ID, attachments_for
from workflow import paginate, visible_orgs

from web.extensions import get_db, get_engine
from web.i18n import error_payload, field_errors, reason_message, text
from web.present import case_data, sees_personal_data
from web.steps import step_availability
from .forms import (
    DecideObjectionForm, ObjectionForm, add_rows, application_data, application_form, field_for, put_errors,
)
from .view import NOTICE_STATES, case_view, posting, recheck_horizon
from web.statuses import status_of

WORKFLOW = "hardship"

bp = Blueprint("hardship", __name__, url_prefix="/hardship")
PANELS = {WORKFLOW: "hardship/panel.html"}
STEPS = {
    (WORKFLOW, "submit"): "hardship.application",
    (WORKFLOW, "object"): "hardship.object",
    (WORKFLOW, "dismiss_objection"): "hardship.dismiss_objection",
    (WORKFLOW, "uphold_objection"): "hardship.uphold_objection",
}


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    def hardship_case_view(case: Case, entries: Any = ()) -> dict[str, Any]:
        with get_db().read() as session:
            return case_view(session, case, current_user.actor(), entries)

    return {"hardship_case_view": hardship_case_view, "hardship_category": category_short}


@bp.before_app_request
def _own_application_form() -> Any:
    """The generic creation page would ask for the application as JSON: use the form below instead."""
    if request.method == "GET" and request.endpoint == "cases.new" and (request.view_args or {}).get("workflow") == WORKFLOW:
        return redirect(url_for("hardship.new"))
    return None


def category_short(category: Any) -> str:
    """The category's short name: the only thing of the assessment a notice may show."""
    labels = {1: _("第一类"), 2: _("第二类"), 3: _("第三类"), 4: _("第四类")}
    return labels.get(category, "—")


def _actor() -> Actor:
    return current_user.actor()


def _case(session: Any, case_id: int, actor: Actor) -> Case:
    case = session.get(Case, case_id) if 0 < case_id <= MAX_ID else None
    if case is None or case.workflow != WORKFLOW or not can_view(actor, case.org):
        abort(404)
    return case


def _transition(definition: Definition, trigger: str) -> Transition:
    return next(t for t in definition.transitions if t.trigger == trigger)


def _page() -> int:
    raw = request.args.get("page", "1")
    return min(max(1, int(raw)), 10_000) if raw.isdigit() else 1


def _version(form: Any) -> int | None:
    raw = form.version.data or ""
    return int(raw) if raw.isdigit() else None


def _explain(err: WorkflowError, form: Any = None, rows: list[int] | None = None) -> tuple[list[str], int]:
    """The engine's refusal as messages for the page, each field's on its input where there is one."""
    payload = error_payload(err)["error"]
    messages = [reason_message(r) for r in err.reasons if r.code != "invalid_input"]
    loose: list[str] = []
    if form is not None and rows is not None:
        loose = put_errors(form, field_errors(err.fields), rows)
        for r in err.reasons:
            where = r.params.get("field") if r.code == "invalid_id_number" else (
                "materials" if r.code == "missing_materials" else None)
            target = field_for(form, where, rows) if where else None
            if target is not None:
                target.errors = list(target.errors or []) + [reason_message(r)]
    elif form is not None:
        for path, message in field_errors(err.fields).items():
            target = getattr(form, path.split(".")[0], None)
            if target is None:
                loose.append(f"{path}：{message}")
            else:
                target.errors = list(target.errors or []) + [message]
    if err.fields and not messages:
        messages = [_("请改正下面标红的栏目。")]
    if not messages and not loose:
        messages = [payload["message"]]
    return messages + loose, status_of(err)


# ---------------------------------------------------------------- the application

@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    actor = _actor()
    engine = get_engine()
    definition = engine.catalog.definition(WORKFLOW)
    if actor.role not in definition.creation.roles:
        abort(403)
    with get_db().read() as session:
        org = session.get(Organisation, actor.org_id) if actor.org_id else None
        if org is None or org.kind != definition.creation.org_kind:
            abort(403)
        org_name, founded = org.name, org.union_status == "founded"
    form = application_form(definition.extra)
    errors: list[str] = []
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        if "add_rows" in request.form:
            add_rows(form, definition.extra)
        else:
            data, rows = application_data(form)
            submit = request.form.get("action") == "submit"
            try:
                with get_db().write() as session:
                    case = engine.create_case(session, WORKFLOW, actor.org_code or "", actor, data)
                    if submit:  # created and submitted together, or neither
                        engine.fire(session, case.id, "submit", actor, {}, "")
                    case_id = case.id
                flash(_("申请已提交，等待企业工会审核。") if submit else
                      _("申请已保存为草稿。上传材料并核对后，请点击“提交申请”。"), "success")
                return redirect(url_for("cases.show", case_id=case_id))
            except WorkflowError as err:
                errors, status = _explain(err, form, rows)
    elif request.method == "POST":
        status = 400
    return render_template("hardship/application.html", form=form, errors=errors, case=None, org_name=org_name,
                           founded=founded, definition=definition, returned=None, availability=None,
                           files={}, reason_message=reason_message), status


@bp.route("/<int:case_id>/application", methods=["GET", "POST"])
@login_required
def application(case_id: int) -> Any:
    """Edit the application and submit it (again, after a return for correction): the `submit` step."""
    actor = _actor()
    engine = get_engine()
    with get_db().read() as session:
        case = _case(session, case_id, actor)
        definition = engine.definition_of(case)
        availability = step_availability(session, engine, case, actor, _transition(definition, "submit"))
        initial = case_data(actor, case)
        entries = audit.entries_for(session, "case", str(case.id))
        returned = next((e for e in reversed(entries) if e.trigger == "return_review"), None)
        files: dict[str, list[Any]] = {}
        for f in attachments_for(session, case.id):
            files.setdefault(f.material, []).append(f)
    form = application_form(definition.extra, initial if request.method == "GET" else None)
    errors: list[str] = []
    status = 200
    if request.method == "GET":
        form.version.data = str(case.version)
    elif form.validate_on_submit():
        if "add_rows" in request.form:
            add_rows(form, definition.extra)
        else:
            data, rows = application_data(form)
            try:
                with get_db().write() as session:
                    engine.fire(session, case_id, "submit", actor, data, "", _version(form))
                flash(_("申请已提交，等待企业工会审核。"), "success")
                return redirect(url_for("cases.show", case_id=case_id))
            except WorkflowError as err:
                errors, status = _explain(err, form, rows)
    else:
        status = 400
    return render_template("hardship/application.html", form=form, errors=errors, case=case,
                           org_name=case.org.name, founded=True, definition=definition, availability=availability,
                           returned=returned, files=files, reason_message=reason_message), status


# ---------------------------------------------------------------- objections (异议)

@bp.route("/<int:case_id>/objections/new", methods=["GET", "POST"])
@login_required
def object(case_id: int) -> Any:
    actor = _actor()
    engine = get_engine()
    with get_db().read() as session:
        case = _case(session, case_id, actor)
        definition = engine.definition_of(case)
        availability = step_availability(session, engine, case, actor, _transition(definition, "object"))
    form = ObjectionForm()
    errors: list[str] = []
    status = 200
    if request.method == "GET":
        form.version.data = str(case.version)
    elif form.validate_on_submit():
        try:
            with get_db().write() as session:
                engine.fire(session, case_id, "object", actor, {"text": form.text.data or ""}, form.comment.data or "",
                            _version(form))
            flash(_("异议已登记。处理前不能报区总工会。"), "success")
            return redirect(url_for("cases.show", case_id=case_id, _anchor="objections"))
        except WorkflowError as err:
            errors, status = _explain(err, form)
    else:
        status = 400
    return render_template("hardship/objection.html", form=form, errors=errors, case=case, definition=definition,
                           availability=availability, trigger="object", reason_message=reason_message), status


def _decide(case_id: int, trigger: str) -> Any:
    actor = _actor()
    engine = get_engine()
    with get_db().read() as session:
        case = _case(session, case_id, actor)
        definition = engine.definition_of(case)
        transition = _transition(definition, trigger)
        availability = step_availability(session, engine, case, actor, transition)
        data = case_data(actor, case)
    pending = [o for o in data.get("objections") or () if o.get("status") == "open"]
    form = DecideObjectionForm()
    form.objection_id.choices = [(str(o["id"]), f"#{o['id']} {o['text'][:40]}") for o in pending]
    errors: list[str] = []
    status = 200
    if request.method == "GET":
        form.version.data = str(case.version)
        form.objection_id.data = request.args.get("objection") or (form.objection_id.choices[0][0] if pending else "")
    elif form.validate_on_submit():
        chosen = form.objection_id.data or ""
        if transition.confirm and request.form.get("confirm") != "yes":
            errors, status = [_("此操作不可撤销，请勾选确认后再提交。")], 400
        elif not chosen.isdigit():
            errors, status = [_("请选择要处理的异议。")], 400
        else:
            try:
                with get_db().write() as session:
                    engine.fire(session, case_id, trigger, actor, {"objection_id": int(chosen)},
                                form.comment.data or "", _version(form))
                flash(_("已办理：%(step)s", step=text(transition.label)), "success")
                return redirect(url_for("cases.show", case_id=case_id, _anchor="objections"))
            except WorkflowError as err:
                errors, status = _explain(err, form)
    else:
        status = 400
    return render_template("hardship/objection.html", form=form, errors=errors, case=case, definition=definition,
                           availability=availability, trigger=trigger, transition=transition,
                           pending=pending, reason_message=reason_message), status


@bp.route("/<int:case_id>/objections/dismiss", methods=["GET", "POST"])
@login_required
def dismiss_objection(case_id: int) -> Any:
    return _decide(case_id, "dismiss_objection")


@bp.route("/<int:case_id>/objections/uphold", methods=["GET", "POST"])
@login_required
def uphold_objection(case_id: int) -> Any:
    return _decide(case_id, "uphold_objection")


# ---------------------------------------------------------------- the printable notice (公示)

@bp.get("/<int:case_id>/notice")
@login_required
def notice(case_id: int) -> Any:
    """Name, unit and category only: never ID numbers, incomes, illnesses or other causes."""
    actor = _actor()
    engine = get_engine()
    with get_db().read() as session:
        case = _case(session, case_id, actor)
        if case.state not in NOTICE_STATES:
            abort(404)
        definition = engine.definition_of(case)
        recorded = {**(case.data or {}), **(case.facts or {})}
        period = posting(recorded, engine.params_of(case), engine.today(case.profile))
        shown = {
            "name": (recorded.get("applicant") or {}).get("name", ""),
            "unit": case.org.name,
            "category": category_short(recorded.get("category")),
        }
    return render_template("hardship/notice.html", case=case, notice=shown, period=period,
                           title=text((definition.extra.get("notice") or {}).get("title"), _("困难职工帮扶对象公示")))


# ---------------------------------------------------------------- the federation's summary (汇总)

@bp.get("/summary")
@login_required
def summary() -> Any:
    actor = _actor()
    if actor.role not in ("reviewer", "auditor") or getattr(current_user, "org_kind", None) == "enterprise":
        abort(403)
    engine = get_engine()
    category = request.args.get("category") or ""
    org_code = request.args.get("org") or ""
    if "\x00" in org_code or len(org_code) > 64:
        abort(404)
    with get_db().read() as session:
        scope = (select(Case).join(Case.org)
                 .where(visible_orgs(actor), Case.workflow == WORKFLOW))
        submitted = scope.where(Case.state == "submitted")
        if org_code:
            submitted = submitted.where(Organisation.code == org_code)
        if category.isdigit():
            submitted = submitted.where(Case.facts["category"].as_integer() == int(category))
        page = paginate(session, submitted.order_by(Case.state_since, Case.id), _page(), 20)
        actions = {c.id: {a.trigger: a for a in engine.available(session, c, actor)} for c in page.items}
        per_enterprise = _per_enterprise(session, actor)
        today = engine.today()
        horizon = recheck_horizon(today).isoformat()
        due = session.scalars(
            scope.where(Case.state == "assisted", Case.facts["next_recheck_due"].as_string() <= horizon)
            .order_by(Case.facts["next_recheck_due"].as_string(), Case.id).limit(200)
        ).unique().all()
        rows = [{"case": c, "data": case_data(actor, c), "own": sees_personal_data(actor, c)} for c in page.items]
        due_rows = [{"case": c, "data": case_data(actor, c)} for c in due]
        return render_template("hardship/summary.html", page=page, rows=rows, actions=actions,
                               per_enterprise=per_enterprise, due=due_rows, today=today, horizon=horizon,
                               category=category, org_code=org_code, reason_message=reason_message)


def _per_enterprise(session: Any, actor: Actor) -> list[dict[str, Any]]:
    """Per enterprise: submitted cases by category, assisted files and their total amount."""
    stmt = (select(Organisation.code, Organisation.name, Case.state, Case.facts["category"].as_integer(),
                   Case.data["amount"].as_string())
            .join(Case.org).where(visible_orgs(actor), Case.workflow == WORKFLOW,
                                  Case.state.in_(("submitted", "assisted"))))
    table: dict[str, dict[str, Any]] = {}
    for code, name, state, cat, amount in session.execute(stmt):
        row = table.setdefault(code, {"code": code, "name": name, "submitted": {1: 0, 2: 0, 3: 0, 4: 0},
                                      "submitted_total": 0, "assisted": 0, "amount": Decimal(0)})
        if state == "submitted":
            row["submitted_total"] += 1
            if cat in row["submitted"]:
                row["submitted"][cat] += 1
        else:
            row["assisted"] += 1
            row["amount"] += Decimal(amount or 0)
    return sorted(table.values(), key=lambda r: (-r["submitted_total"], r["name"]))


from . import files  # noqa: E402  (its pages use this module's blueprint name space only through url_for)

BLUEPRINTS = (bp, files.bp)
