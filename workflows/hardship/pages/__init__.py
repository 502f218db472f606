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
from sqlalchemy import case as sa_case
from sqlalchemy import select

import audit
from services.attachments import MAX_ID, attachments_for
from web.extensions import get_db, get_engine
from web.forms import path_message
from web.i18n import reason_message, text
from web import documents
from web.people import load_people
from web.present import case_data, entry_json, sees_personal_data
from web.steps import CONFIRM_FIRST, BusinessDate, Outcome, Step, StepPage, explain, sent_date, shown_date, step_view
from web.workflow_pages import Panel
from workflow import Actor, Case, Organisation, WorkflowError, can_view, paginate, visible_orgs

from .forms import (
    DecideObjectionForm,
    ObjectionForm,
    add_rows,
    application_data,
    application_form,
    field_for,
    put_errors,
)
from .view import NOTICE_STATES, case_view, posting, recheck_horizon

WORKFLOW = "hardship"

bp = Blueprint("hardship", __name__, url_prefix="/hardship")
PANELS = {WORKFLOW: Panel("hardship/panel.html", lambda v: case_view(v.session, v.case, v.actor, v.entries))}


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"hardship_category": category_short}


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


def _page() -> int:
    raw = request.args.get("page", "1")
    return min(max(1, int(raw)), 10_000) if raw.isdigit() else 1


def place_errors(form: Any, outcome: Outcome, rows: list[int] | None = None) -> list[str]:
    """The refusal's field errors on their inputs, each person's row by `rows`; reasons that concern one
    field (an ID number, the materials) beside it too. What has no input comes back as sentences."""
    loose: list[str] = []
    specs = get_engine().catalog.definition(WORKFLOW).creation.data  # the application's fields, to name a path
    if rows is not None:
        loose = put_errors(form, outcome.fields, rows, specs)
        for r in outcome.reasons:
            where = r.params.get("field") if r.code == "invalid_id_number" else (
                "materials" if r.code == "missing_materials" else None)
            target = field_for(form, where, rows) if where else None
            if target is not None:
                target.errors = list(target.errors or []) + [reason_message(r)]
    else:
        for path, message in outcome.fields.items():
            target = getattr(form, path.split(".")[0], None)
            if target is None:
                loose.append(path_message(specs, path, message))
            else:
                target.errors = list(target.errors or []) + [message]
    if outcome.fields and not outcome.messages:
        loose.insert(0, _("请改正下面标红的栏目。"))
    return loose


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
    decided_on: BusinessDate | None = None
    if request.method == "POST" and form.validate_on_submit():
        if "add_rows" in request.form:
            add_rows(form, definition.extra)
        else:
            data, rows = application_data(form)
            submit = request.form.get("action") == "submit"
            day = sent_date()
            try:
                with get_db().write() as session:
                    case = engine.create_case(session, WORKFLOW, actor.org_code or "", actor, data, decided_on=day)
                    if submit:  # created and submitted together, or neither; on the same day
                        engine.fire(session, case.id, "submit", actor, {}, "", decided_on=day)
                    case_id = case.id
                flash(_("申请已提交，等待企业工会审核。") if submit else
                      _("申请已保存为草稿。上传材料并核对后，请点击“提交申请”。"), "success")
                return redirect(url_for("cases.show", case_id=case_id))
            except WorkflowError as err:
                outcome = explain(err)
                decided_on = shown_date(engine, None, request.form.get("decided_on"), outcome)
                errors, status = [*outcome.messages, *place_errors(form, outcome, rows)], outcome.status
    elif request.method == "POST":
        status = 400
    if decided_on is None:
        decided_on = shown_date(engine, None, request.form.get("decided_on"), None)
    return render_template("hardship/application.html", form=form, errors=errors, case=None, org_name=org_name,
                           founded=founded, definition=definition, returned=None, availability=None,
                           files={}, reason_message=reason_message, decided_on=decided_on), status


class Application(StepPage):
    """Edit the application and submit it (again, after a return for correction): the `submit` step."""

    template = "hardship/application.html"

    def gather(self, session: Any, step: Step) -> dict[str, Any]:
        entries = audit.entries_for(session, "case", str(step.case.id))
        files: dict[str, list[Any]] = {}
        for f in attachments_for(session, step.case.id):
            files.setdefault(f.material, []).append(f)
        returned = next((e for e in reversed(entries) if e.trigger == "return_review"), None)
        load_people(session, [returned.actor if returned else None])
        return {"returned": returned, "files": files}

    def form(self, step: Step) -> Any:
        form = application_form(step.definition.extra, step.data if request.method == "GET" else None)
        form.rows = []
        return form

    def event(self, step: Step, form: Any) -> dict[str, Any] | None:
        if "add_rows" in request.form:
            add_rows(form, step.definition.extra)
            return None
        data, form.rows = application_data(form)
        return data

    def place(self, step: Step, form: Any, outcome: Outcome) -> list[str]:
        return place_errors(form, outcome, form.rows)

    def context(self, step: Step, form: Any) -> dict[str, Any]:
        return {"org_name": step.case.org.name, "founded": True, **step.gathered}

    def done(self, step: Step) -> tuple[str, str]:
        return _("申请已提交，等待企业工会审核。"), url_for("cases.show", case_id=step.case.id)


# ---------------------------------------------------------------- objections (异议)

class Objection(StepPage):
    """Anyone who may take the step records an objection to the posting (公示)."""

    template = "hardship/objection.html"

    def form(self, step: Step) -> Any:
        return ObjectionForm()

    def event(self, step: Step, form: Any) -> dict[str, Any]:
        return {"text": form.text.data or ""}

    def place(self, step: Step, form: Any, outcome: Outcome) -> list[str]:
        return place_errors(form, outcome)

    def context(self, step: Step, form: Any) -> dict[str, Any]:
        return {"trigger": step.trigger}

    def done(self, step: Step) -> tuple[str, str]:
        return _("异议已登记。处理前不能报区总工会。"), url_for("cases.show", case_id=step.case.id, _anchor="objections")


class ObjectionDecision(Objection):
    """The enterprise union dismisses or upholds one open objection."""

    @staticmethod
    def pending(step: Step) -> list[dict[str, Any]]:
        return [o for o in step.data.get("objections") or () if o.get("status") == "open"]

    def gather(self, session: Any, step: Step) -> dict[str, Any]:
        load_people(session, [o.get("raised_by") for o in self.pending(step)])
        return {}

    def form(self, step: Step) -> Any:
        pending = self.pending(step)
        form = DecideObjectionForm()
        form.objection_id.choices = [(str(o["id"]), f"#{o['id']} {o['text'][:40]}") for o in pending]
        if request.method == "GET":
            form.objection_id.data = request.args.get("objection") or (form.objection_id.choices[0][0] if pending else "")
        return form

    def event(self, step: Step, form: Any) -> dict[str, Any] | Outcome:
        chosen = form.objection_id.data or ""
        if step.transition.confirm and request.form.get("confirm") != "yes":
            return Outcome([_(CONFIRM_FIRST)])
        if not chosen.isdigit():
            return Outcome([_("请选择要处理的异议。")])
        return {"objection_id": int(chosen)}

    def context(self, step: Step, form: Any) -> dict[str, Any]:
        return {"trigger": step.trigger, "pending": self.pending(step)}

    def done(self, step: Step) -> tuple[str, str]:
        return (_("已办理：%(step)s", step=text(step.transition.label)),
                url_for("cases.show", case_id=step.case.id, _anchor="objections"))


STEPS: dict[str, StepPage] = {"submit": Application(), "object": Objection(),
                              "dismiss_objection": ObjectionDecision(), "uphold_objection": ObjectionDecision()}
ADDRESSES = {"submit": "hardship.application", "object": "hardship.object",
             "dismiss_objection": "hardship.dismiss_objection", "uphold_objection": "hardship.uphold_objection"}
for _trigger, _rule in (("submit", "/<int:case_id>/application"), ("object", "/<int:case_id>/objections/new"),
                        ("dismiss_objection", "/<int:case_id>/objections/dismiss"),
                        ("uphold_objection", "/<int:case_id>/objections/uphold")):
    bp.add_url_rule(_rule, endpoint=ADDRESSES[_trigger].split(".")[1], methods=["GET", "POST"],
                    view_func=login_required(step_view(_trigger, STEPS[_trigger], WORKFLOW)))


# ---------------------------------------------------------------- the printable notice (公示)

def _notice(case_id: int) -> tuple[Case, dict[str, Any], str, Any]:
    """The notice's context, its file name and its date (the day it went up, if it has)."""
    actor = _actor()
    engine = get_engine()
    with get_db().read() as session:
        case = _case(session, case_id, actor)
        if case.state not in NOTICE_STATES:
            abort(404)
        definition = engine.definition_of(case)
        params = engine.params_of(case)
        recorded = {**(case.data or {}), **(case.facts or {})}
        period = posting(recorded, params, engine.today(case.profile), engine.calendar(case.profile))
        shown = {
            "name": (recorded.get("applicant") or {}).get("name", ""),
            "unit": case.org.name,
            "category": category_short(recorded.get("category")),
        }
        masked = not sees_personal_data(actor, case)
        entries = [entry_json(e, masked) for e in audit.entries_for(session, "case", str(case.id))]
    filename = f"hardship-{case.id}-notice.pdf"
    # the counted days: the working days after the day of posting (domain.md, "Posting and submission")
    counted_from = next((d["day"] for d in period["calendar"] if d["kind"] == "work"), None) if period else None
    context = dict(case=case, notice=shown, period=period, counted_from=counted_from,
                   days=period["days_required"] if period else int(params["posting_working_days"]),
                   title=text((definition.extra.get("notice") or {}).get("title"), _("困难职工帮扶对象公示")),
                   cn_date=documents.doc_date, pdf_url=url_for("hardship.notice_pdf", case_id=case.id),
                   copies=documents.issued(entries, filename))
    return case, context, filename, period["posted_on"] if period else None


@bp.get("/<int:case_id>/notice")
@login_required
def notice(case_id: int) -> Any:
    """Name, unit and category only: never ID numbers, incomes, illnesses or other causes."""
    _case_, context, _file, _day = _notice(case_id)
    return render_template("hardship/notice.html", **context)


@bp.get("/<int:case_id>/notice.pdf")
@login_required
def notice_pdf(case_id: int) -> Any:
    """The 公示 notice as a PDF made on the server; its hash goes into the case's trail."""
    case, context, filename, day = _notice(case_id)
    title = f"{context['title']} · {case.org.name}"
    return documents.send(case.id, "hardship/notice.html", context, title, filename, day)


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
        # 已建会企业优先: applicants of founded unions first, then those who applied through a community or town
        founded_first = sa_case((Organisation.union_status == "founded", 0), else_=1)
        page = paginate(session, submitted.order_by(founded_first, Case.state_since, Case.id), _page(), 20)
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

from .summary import summary as _summary  # noqa: E402

SUMMARIES = {WORKFLOW: _summary}  # what every hardship step form shows of the application
