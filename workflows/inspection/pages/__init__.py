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

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_login import login_required

from definitions import Definition
from web.forms import path_message
from web.i18n import reason_message, text
from web.steps import CONFIRM_FIRST, Outcome, Step, StepPage, step_view
from web.workflow_pages import Panel
from workflow import Case, Engine

from .. import rules
from . import forms

WORKFLOW = "inspection"
bp = Blueprint("inspection", __name__, url_prefix="/inspection")
PANELS: dict[str, Panel] = {}  # set below, once `panel` is defined
class InspectionPage(StepPage):
    """An inspection step: the case's membership figures and the step's needs beside the form."""

    def gather(self, session: Any, step: Step) -> dict[str, Any]:
        return {"members": step.case.org.member_count, "employees": step.case.org.employees}

    def unreadable(self, step: Step, form: Any) -> Outcome:
        return Outcome([f"{f.label.text}: {'; '.join(map(str, f.errors))}" for f in form if f.errors])

    def context(self, step: Step, form: Any) -> dict[str, Any]:
        return {"need": (step.definition.extra.get("needs") or {}).get(step.trigger)}


def by_item(outcome: Outcome, specs: Any = ()) -> tuple[list[str], dict[str, list[str]]]:
    """The refusal's messages that concern one checklist item, by item id, and the others (a field's named
    by the labels of `specs`, the step's fields)."""
    items: dict[str, list[str]] = {}
    loose: list[str] = []
    for reason in outcome.reasons:
        if "item" in reason.params:
            items.setdefault(reason.params["item"], []).append(reason_message(reason))
        for item_id in reason.params.get("items", ()) if reason.code == "scores_incomplete" else ():
            items.setdefault(item_id, []).append(_("未打分"))
    for path, message in outcome.fields.items():
        head, _sep, rest = path.partition(".")
        if head in ("scores", "notes") and rest:
            items.setdefault(rest, []).append(message)
        else:
            loose.append(path_message(specs, path, message))
    return loose, items


# -- scoring: 自查自评, 检查验收打分, 复查 ------------------------------------------------

class Scoring(InspectionPage):
    """A score per checklist item (and, for the inspector, the vetoes), recalculated on demand."""

    template = "inspection/scoring.html"

    def form(self, step: Step) -> Any:
        extra = step.definition.extra
        inspector = step.trigger != "self_assess"
        form = forms.scoring_form(rules.checklist_of(extra), extra["vetoes"] if inspector else None,
                                  step.transition.comment == "required")
        form.scores, form.item_errors, form.recalculated = {}, {}, False
        return form

    def event(self, step: Step, form: Any) -> dict[str, Any] | Outcome | None:
        items = rules.checklist_of(step.definition.extra)
        form.scores, notes, problems = forms.read_scores(form, items)
        form.item_errors = {k: [v] for k, v in problems.items()}
        for item in items:
            if item["id"] in form.scores and not 0 <= form.scores[item["id"]] <= item["max"]:
                form.item_errors.setdefault(item["id"], []).append(_("应为0至%(max)s分", max=item["max"]))
        if request.form.get("action") == "recalculate":
            form.recalculated = True
            return None
        if step.transition.confirm and request.form.get("confirm") != "yes":
            return Outcome([_(CONFIRM_FIRST)])
        if problems:
            return Outcome([_("有得分不是整数，请修改后再提交。")])
        event: dict[str, Any] = {"scores": form.scores}
        if notes:
            event["notes"] = notes
        if step.trigger != "self_assess":
            event["vetoes"] = list(form.vetoes.data or [])
        return event

    def place(self, step: Step, form: Any, outcome: Outcome) -> list[str]:
        loose, items = by_item(outcome, step.transition.data)
        if outcome.reasons or outcome.fields:
            form.item_errors = items
        return loose

    def context(self, step: Step, form: Any) -> dict[str, Any]:
        extra, data, trigger = step.definition.extra, step.data, step.trigger
        items = rules.checklist_of(extra)
        inspector = trigger != "self_assess"
        members, employees = step.gathered["members"], step.gathered["employees"]
        groups = forms.groups(extra, form, form.scores, data.get("self_scores") if inspector else None,
                              data.get("scores") if trigger == "reinspect" else None, form.item_errors)
        scored = sum(1 for i in items if i["id"] in forms.in_range(form.scores, items))
        estimate = None
        if inspector and scored == len(items):
            vetoes = [v for v in (form.vetoes.data or []) if v in {x["id"] for x in extra["vetoes"]}]
            rate = forms.membership(members, employees, step.params)
            applied = vetoes + rules.item_vetoes(forms.in_range(form.scores, items), extra) \
                + ([rules.MEMBERSHIP_VETO] if rate.get("vetoed") else [])
            estimate = forms.preview(extra, step.params, step.engine.catalog.reasons,
                                     {**data, "scores": form.scores, "vetoes_applied": applied})
        return {
            **super().context(step, form), "groups": groups, "total": sum(g["total"] for g in groups),
            "scored": scored, "items": items, "inspector": inspector, "reinspect": trigger == "reinspect",
            "recalculated": form.recalculated, "membership": forms.membership(members, employees, step.params),
            "satisfaction": forms.satisfaction(data.get("respondents"), data.get("satisfied"), step.params),
            "self_total": data.get("self_score_total"), "last_total": data.get("total_score"), "estimate": estimate,
            "last_vetoes": forms.veto_labels(extra, data.get("vetoes_applied") or []) if trigger == "reinspect"
            else None,
        }


# -- 会员评家 ------------------------------------------------------------------------------

class Evaluation(InspectionPage):
    """The members' evaluation (会员评家): how many took part and how many were satisfied."""

    template = "inspection/evaluation.html"

    def form(self, step: Step) -> Any:
        form = forms.EvaluationForm()
        form.rate = None
        return form

    def event(self, step: Step, form: Any) -> dict[str, Any] | Outcome | None:
        respondents, satisfied = forms.parse_count(form.respondents.data), forms.parse_count(form.satisfied.data)
        for field, value in ((form.respondents, respondents), (form.satisfied, satisfied)):
            if value is None:
                field.errors = [_("请填写人数")]
            elif isinstance(value, str):
                field.errors = [_("请填写整数")]
        form.rate = forms.satisfaction(respondents, satisfied, step.params)
        if request.form.get("action") == "recalculate":
            return None
        if form.respondents.errors or form.satisfied.errors:
            return Outcome([_("请填写参评会员人数和满意人数。")])
        if step.transition.confirm and request.form.get("confirm") != "yes":
            return Outcome([_(CONFIRM_FIRST)])
        return {"respondents": respondents, "satisfied": satisfied}

    def place(self, step: Step, form: Any, outcome: Outcome) -> list[str]:
        loose, _items = by_item(outcome, step.transition.data)
        for path, message in outcome.fields.items():
            if path in ("respondents", "satisfied"):
                form[path].errors = list(form[path].errors or []) + [message]
        return [m for m in loose if m.split(":")[0] not in ("respondents", "satisfied")]

    def context(self, step: Step, form: Any) -> dict[str, Any]:
        return {**super().context(step, form), "rate": form.rate, "members": step.gathered["members"]}


class Decide(StepPage):
    """评定: the result the system computes from the scores, the evaluation and the vetoes, with its grounds,
    shown before the reviewer confirms (the result is never typed in)."""

    template = "inspection/decide.html"

    def context(self, step: Step, form: Any) -> dict[str, Any]:
        if step.computed is None:
            return {}
        facts = step.computed[1]
        extra = step.definition.extra
        return {
            "result_label": forms.result_label(extra, facts.get("result")),
            "passed": facts.get("result") not in (None, rules.FAILED),
            "title": text(facts["title"]) if facts.get("title") else None,
            "rule": text(facts["result_rule"]) if facts.get("result_rule") else None,
            "grounds": [text(g) for g in facts.get("result_grounds") or []],
            "total": step.case.facts.get("total_score") if step.case.facts else None,
        }


SCORING = Scoring()
STEPS: dict[str, StepPage] = {"self_assess": SCORING, "inspect": SCORING, "reinspect": SCORING,
                              "record_evaluation": Evaluation(), "decide": Decide()}
ADDRESSES = {trigger: f"inspection.{trigger}" for trigger in STEPS if trigger != "decide"}
for _trigger, _rule in (("self_assess", "self-assess"), ("inspect", "inspect"), ("reinspect", "reinspect"),
                        ("record_evaluation", "evaluation")):
    bp.add_url_rule(f"/cases/<int:case_id>/{_rule}", endpoint=_trigger, methods=["GET", "POST"],
                    view_func=login_required(step_view(_trigger, STEPS[_trigger], WORKFLOW)))


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
            "when": {"at": e["at"], "decided_on": e.get("decided_on")},  # business date and recording time
            "trigger": e["trigger"], "actor": e["actor"], "comment": e.get("comment") or "",
            "total": computed.get("total_score"),
            "vetoes": forms.veto_labels(extra, computed.get("vetoes_applied") or []),
            "result": forms.result_label(extra, computed.get("result")) if e["trigger"] == "decide" else "",
            "passed": computed.get("result") not in (None, rules.FAILED),
            "due_on": computed.get("rectification_due_on"),
        })
    return out


def panel(case: Case, data: Mapping[str, Any], definition: Definition, overdue: Any, entries: Sequence[Mapping[str, Any]],
          engine: Engine) -> dict[str, Any]:
    """What the case page shows of an inspection, computed from its recorded data and facts."""
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


PANELS[WORKFLOW] = Panel("inspection/panel.html",
                         lambda v: panel(v.case, v.data, v.definition, v.overdue, v.entries, v.engine))


from . import year  # noqa: E402  (its pages use this module's blueprint name space only through url_for)

BLUEPRINTS = (bp, year.bp)

from .summary import summary as _summary  # noqa: E402

SUMMARIES = {WORKFLOW: _summary}  # what every inspection step form shows of the inspection
