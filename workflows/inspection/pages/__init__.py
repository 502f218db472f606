"""Pages of the annual Workers' Home inspection (职工之家年度检查验收).

Its own step pages: the scoring forms over the checklist (自查自评 by the
union, 检查验收打分 and 复查 by the federation) and the members' evaluation
(会员评家); and the case panel with the scores side by side, satisfaction,
membership rate, vetoes, the computed result and the rule that decided it,
the rectification deadline and the title held. Every step goes through the
engine; its errors come back onto the form.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from definitions import Definition, Transition
from workflow import Actor, Case, WorkflowError, can_view
from .. import rules

from web.extensions import get_db, get_engine
from web.i18n import error_payload, field_errors, reason_message, text
from web.present import case_data
from web.steps import step_availability
from . import forms
from web.statuses import status_of

WORKFLOW = "inspection"
bp = Blueprint("inspection", __name__, url_prefix="/inspection")
PANELS = {WORKFLOW: "inspection/panel.html"}
STEPS = {(WORKFLOW, trigger): f"inspection.{trigger}"
         for trigger in ("self_assess", "record_evaluation", "inspect", "reinspect")}


def _actor() -> Actor:
    return current_user.actor()


class _Step:
    """What a step page needs of its case, read in one unit of work (the form is then handled outside it)."""

    def __init__(self, case_id: int, trigger: str):
        actor = _actor()
        engine = get_engine()
        with get_db().read() as session:
            case = session.get(Case, case_id)
            if case is None or case.workflow != WORKFLOW or not can_view(actor, case.org):
                abort(404)
            self.case = case
            self.definition: Definition = engine.definition_of(case)
            self.transition: Transition = _transition(self.definition, case.state, trigger)
            self.availability = step_availability(session, engine, case, actor, self.transition)
            self.data = case_data(actor, case)
            self.params = engine.params_of(case)
            self.members, self.employees = case.org.member_count, case.org.employees
        self.actor = actor
        self.trigger = trigger
        self.extra = self.definition.extra

    def context(self) -> dict[str, Any]:
        return {"case": self.case, "definition": self.definition, "transition": self.transition,
                "availability": self.availability, "data": self.data,
                "need": (self.extra.get("needs") or {}).get(self.trigger), "reason_message": reason_message}

    def fire(self, event: Mapping[str, Any], comment: str, version_raw: str | None) -> None:
        version = int(version_raw) if (version_raw or "").isdigit() else None
        with get_db().write() as session:
            get_engine().fire(session, self.case.id, self.trigger, self.actor, dict(event), comment, version)
        flash(_("已办理：%(step)s", step=text(self.transition.label, self.trigger)), "success")


def _transition(definition: Definition, state: str, trigger: str) -> Transition:
    for t in (*definition.transitions_from(state), *definition.transitions):
        if t.trigger == trigger:
            return t
    abort(404)


def _explain(err: WorkflowError) -> tuple[list[str], dict[str, list[str]], int]:
    """The engine's refusal as messages, plus those that concern one checklist item (by item id)."""
    payload = error_payload(err)["error"]
    messages = [r["message"] for r in payload["reasons"] if r["code"] != "invalid_input"]
    by_item: dict[str, list[str]] = {}
    for reason, shown in zip(err.reasons, payload["reasons"]):
        if "item" in reason.params:
            by_item.setdefault(reason.params["item"], []).append(shown["message"])
        for item_id in reason.params.get("items", ()) if reason.code == "scores_incomplete" else ():
            by_item.setdefault(item_id, []).append(_("未打分"))
    for path, message in field_errors(err.fields).items():
        head, _sep, rest = path.partition(".")
        if head in ("scores", "notes") and rest:
            by_item.setdefault(rest, []).append(message)
        else:
            messages.append(f"{path}: {message}")
    if not messages:
        messages = [payload["message"]]
    return messages, by_item, status_of(err)


def _confirmed(t: Transition) -> bool:
    return not t.confirm or request.form.get("confirm") == "yes"


# -- scoring: 自查自评, 检查验收打分, 复查 ------------------------------------------------

def _scoring(case_id: int, trigger: str) -> Any:
    step = _Step(case_id, trigger)
    extra, data = step.extra, step.data
    items = rules.checklist_of(extra)
    inspector = trigger != "self_assess"
    form = forms.scoring_form(items, extra["vetoes"] if inspector else None, step.transition.comment == "required")
    errors: list[str] = []
    item_errors: dict[str, list[str]] = {}
    scores: dict[str, int] = {}
    recalculated = False
    status = 200
    if request.method == "GET":
        form.version.data = str(step.case.version)
    elif form.validate_on_submit():
        scores, notes, problems = forms.read_scores(form, items)
        item_errors = {k: [v] for k, v in problems.items()}
        for item in items:
            if item["id"] in scores and not 0 <= scores[item["id"]] <= item["max"]:
                item_errors.setdefault(item["id"], []).append(_("应为0至%(max)s分", max=item["max"]))
        if request.form.get("action") == "recalculate":
            recalculated = True
        elif not _confirmed(step.transition):
            errors, status = [_("此操作不可撤销，请勾选确认后再提交。")], 400
        elif problems:
            errors, status = [_("有得分不是整数，请修改后再提交。")], 400
        else:
            event: dict[str, Any] = {"scores": scores}
            if notes:
                event["notes"] = notes
            if inspector:
                event["vetoes"] = list(form.vetoes.data or [])
            try:
                step.fire(event, form.comment.data or "", form.version.data)
                return redirect(url_for("cases.show", case_id=case_id))
            except WorkflowError as err:
                errors, item_errors, status = _explain(err)
    else:
        errors = [f"{field.label.text}: {'; '.join(map(str, field.errors))}" for field in form if field.errors]
        status = 400
    groups = forms.groups(extra, form, scores, data.get("self_scores") if inspector else None,
                          data.get("scores") if trigger == "reinspect" else None, item_errors)
    total = sum(g["total"] for g in groups)
    scored = sum(1 for i in items if i["id"] in forms.in_range(scores, items))
    estimate = None
    if inspector and scored == len(items):
        vetoes = [v for v in (form.vetoes.data or []) if v in {x["id"] for x in extra["vetoes"]}]
        rate = forms.membership(step.members, step.employees, step.params)
        applied = vetoes + ([rules.MEMBERSHIP_VETO] if rate.get("vetoed") else [])
        estimate = forms.preview(extra, step.params, get_engine().catalog.reasons,
                                 {**data, "scores": scores, "vetoes_applied": applied})
    return render_template(
        "inspection/scoring.html", form=form, groups=groups, total=total, scored=scored, items=items,
        inspector=inspector, reinspect=trigger == "reinspect", errors=errors, recalculated=recalculated,
        membership=forms.membership(step.members, step.employees, step.params),
        satisfaction=forms.satisfaction(data.get("respondents"), data.get("satisfied"), step.params),
        self_total=data.get("self_score_total"), last_total=data.get("total_score"), estimate=estimate,
        last_vetoes=forms.veto_labels(extra, data.get("vetoes_applied") or []) if trigger == "reinspect" else None,
        **step.context(),
    ), status


@bp.route("/cases/<int:case_id>/self-assess", methods=["GET", "POST"])
@login_required
def self_assess(case_id: int) -> Any:
    return _scoring(case_id, "self_assess")


@bp.route("/cases/<int:case_id>/inspect", methods=["GET", "POST"])
@login_required
def inspect(case_id: int) -> Any:
    return _scoring(case_id, "inspect")


@bp.route("/cases/<int:case_id>/reinspect", methods=["GET", "POST"])
@login_required
def reinspect(case_id: int) -> Any:
    return _scoring(case_id, "reinspect")


# -- 会员评家 ------------------------------------------------------------------------------

@bp.route("/cases/<int:case_id>/evaluation", methods=["GET", "POST"])
@login_required
def record_evaluation(case_id: int) -> Any:
    step = _Step(case_id, "record_evaluation")
    form = forms.EvaluationForm()
    errors: list[str] = []
    rate = None
    status = 200
    if request.method == "GET":
        form.version.data = str(step.case.version)
    elif form.validate_on_submit():
        respondents, satisfied = forms.parse_count(form.respondents.data), forms.parse_count(form.satisfied.data)
        for field, value in ((form.respondents, respondents), (form.satisfied, satisfied)):
            if value is None:
                field.errors = [_("请填写人数")]
            elif isinstance(value, str):
                field.errors = [_("请填写整数")]
        rate = forms.satisfaction(respondents, satisfied, step.params)
        bad = form.respondents.errors or form.satisfied.errors
        if request.form.get("action") == "recalculate":
            pass
        elif bad:
            errors, status = [_("请填写参评会员人数和满意人数。")], 400
        elif not _confirmed(step.transition):
            errors, status = [_("此操作不可撤销，请勾选确认后再提交。")], 400
        else:
            try:
                step.fire({"respondents": respondents, "satisfied": satisfied}, form.comment.data or "",
                          form.version.data)
                return redirect(url_for("cases.show", case_id=case_id))
            except WorkflowError as err:
                errors, _by_item, status = _explain(err)
                for path, message in field_errors(err.fields).items():
                    if path in ("respondents", "satisfied"):
                        form[path].errors = list(form[path].errors or []) + [message]
    else:
        status = 400
    return render_template("inspection/evaluation.html", form=form, errors=errors, rate=rate,
                           members=step.members, **step.context()), status


# -- the case panel ----------------------------------------------------------------------------

HISTORY = ("inspect", "reinspect", "decide", "start_rectification", "revoke")


def history(entries: Sequence[Mapping[str, Any]], extra: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The scorings and decisions so far, oldest first: a re-inspection replaces the scores, not this record."""
    out = []
    for e in entries:
        if e.get("trigger") not in HISTORY:
            continue
        computed = (e.get("data") or {}).get("computed") or {}
        out.append({
            "at": datetime.strptime(e["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc),
            "trigger": e["trigger"], "actor": e["actor"], "comment": e.get("comment") or "",
            "total": computed.get("total_score"),
            "vetoes": forms.veto_labels(extra, computed.get("vetoes_applied") or []),
            "result": forms.result_label(extra, computed.get("result")) if e["trigger"] == "decide" else "",
            "passed": computed.get("result") not in (None, rules.FAILED),
            "due_on": computed.get("rectification_due_on"),
        })
    return out


def panel(case: Case, data: Mapping[str, Any], definition: Definition, overdue: Any = (),
          entries: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """What the case page shows of an inspection, computed from its recorded data and facts."""
    engine = get_engine()
    extra = definition.extra
    params = engine.params_of(case)
    groups = forms.groups(extra, None, data.get("scores") or {}, data.get("self_scores") or {})
    for g in groups:
        g["self_total"] = (data.get("self_scores_by_dimension") or {}).get(g["id"])
        g["total"] = (data.get("scores_by_dimension") or {}).get(g["id"])
    rule = data.get("result_rule")
    inspected = data.get("total_score") is not None
    rate = data.get("membership_rate")
    return {
        "year": data.get("year"),
        "groups": groups,
        "self_total": data.get("self_score_total"),
        "total": data.get("total_score"),
        "notes": data.get("notes") or {},
        "self_notes": data.get("self_notes") or {},
        "satisfaction": forms.satisfaction(data.get("respondents"), data.get("satisfied"), params),
        "membership": forms.membership(rate["numerator"], rate["denominator"], params) if rate else None,
        "vetoes": forms.veto_labels(extra, data.get("vetoes_applied") or []) if inspected else None,
        "missing": forms.item_labels(extra, data.get("missing_mandatory_items") or []),
        "result": data.get("result"),
        "result_label": forms.result_label(extra, data.get("result")),
        "passed": data.get("result") not in (None, rules.FAILED),
        "rule": text(rule) if rule else None,
        "grounds": [text(g) for g in data.get("result_grounds") or []],
        "estimate": (forms.preview(extra, params, engine.catalog.reasons, data)
                     if case.state == "inspected" and inspected else None),
        "title": text(data["title"]) if data.get("title") and case.state == "passed" else None,
        "revoked_on": data.get("title_revoked_on"),
        "due_on": data.get("rectification_due_on"),
        "rectifying": case.state == "rectifying",
        "late": "rectification_due_on" in (overdue or ()),
        "decided_on": data.get("decided_on"),
        "inspected_on": data.get("inspected_on"),
        "history": history(entries, extra),
    }


@bp.app_context_processor
def _panel_helpers() -> dict[str, Any]:
    return {"inspection_panel": panel}


from . import year  # noqa: E402  (its pages use this module's blueprint name space only through url_for)

BLUEPRINTS = (bp, year.bp)
