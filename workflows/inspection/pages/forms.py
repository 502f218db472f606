"""The 职工之家 inspection's forms and the figures the pages show beside them.

A scoring form (自查自评, 检查验收打分, 复查) has a score and an optional note
per checklist item of the case's own definition version, and for the
inspector the veto items (一票否决). Totals per dimension are computed here on
the server whenever the form comes back, so a "recalculate" button needs no
JavaScript; the engine stays the judge of every rule when the step is fired.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

try:
    from wtforms import SelectChoice
except ImportError:  # WTForms before 3.3 takes (value, label) pairs
    def SelectChoice(value: str, label: str) -> tuple[str, str]:  # type: ignore[no-redef]  # noqa: N802
        return (value, label)

from web.forms import MultiCheckboxField
from web.i18n import text

from .. import rules

NOTE_MAX = 1000


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def scoring_form(items: Sequence[Mapping[str, Any]], vetoes: Sequence[Mapping[str, Any]] | None,
                 comment_required: bool = False) -> FlaskForm:
    """A form with `score_<item>` and `note_<item>` per checklist item (and the vetoes when given)."""

    class ScoringForm(FlaskForm):
        pass

    for item in items:
        setattr(ScoringForm, f"score_{item['id']}",
                StringField(filters=[_strip], validators=[Optional(), Length(max=8)]))
        setattr(ScoringForm, f"note_{item['id']}",
                StringField(filters=[_strip], validators=[Optional(), Length(max=NOTE_MAX)]))
    if vetoes is not None:
        setattr(ScoringForm, "vetoes", MultiCheckboxField(
            _l("检查中发现的一票否决项"), choices=[SelectChoice(v["id"], text(v["title"], v["id"])) for v in vetoes],
            validators=[Optional()]))
    setattr(ScoringForm, "comment", TextAreaField(_l("意见说明（必填）") if comment_required else _l("意见说明"),
                                                  filters=[_strip]))
    setattr(ScoringForm, "version", HiddenField())
    return ScoringForm()


class EvaluationForm(FlaskForm):
    respondents = StringField(_l("参评会员人数"), filters=[_strip], validators=[Optional(), Length(max=9)],
                              render_kw={"type": "number", "min": 1, "step": 1, "inputmode": "numeric"})
    satisfied = StringField(_l("满意人数"), filters=[_strip], validators=[Optional(), Length(max=9)],
                            render_kw={"type": "number", "min": 0, "step": 1, "inputmode": "numeric"})
    comment = TextAreaField(_l("意见说明"), filters=[_strip])
    version = HiddenField()


def parse_count(raw: str | None) -> int | None | str:
    """A whole number typed by a person: the int, None when blank, or the raw text when it is not one."""
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        return raw


def read_scores(form: FlaskForm, items: Sequence[Mapping[str, Any]]
                ) -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
    """(scores, notes, problems by item id) from the answers; blank scores are left out."""
    scores: dict[str, int] = {}
    notes: dict[str, str] = {}
    problems: dict[str, str] = {}
    for item in items:
        value = parse_count(form[f"score_{item['id']}"].data)
        if isinstance(value, str):
            problems[item["id"]] = _("请填写0至%(max)s之间的整数分值", max=item["max"])
        elif value is not None:
            scores[item["id"]] = value
        note = form[f"note_{item['id']}"].data
        if note:
            notes[item["id"]] = note
    return scores, notes, problems


def fill_scores(form: FlaskForm, scores: Mapping[str, int], notes: Mapping[str, str]) -> None:
    for item_id, value in scores.items():
        if f"score_{item_id}" in form:
            form[f"score_{item_id}"].data = str(value)
    for item_id, note in notes.items():
        if f"note_{item_id}" in form:
            form[f"note_{item_id}"].data = note


def in_range(scores: Mapping[str, int], items: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """The scores that count towards a running total (those within 0 and the item's maximum)."""
    tops = {i["id"]: i["max"] for i in items}
    return {k: v for k, v in scores.items() if k in tops and 0 <= v <= tops[k]}


def groups(extra: Mapping[str, Any], form: FlaskForm | None, scores: Mapping[str, int],
           self_scores: Mapping[str, int] | None = None, last_scores: Mapping[str, int] | None = None,
           item_errors: Mapping[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """The checklist grouped by its five dimensions, with the running totals of `scores`."""
    items = rules.checklist_of(extra)
    counted = in_range(scores, items)
    totals = rules.dimension_totals(counted, items, extra["dimensions"])
    self_totals = rules.dimension_totals(self_scores or {}, items, extra["dimensions"])
    out = []
    for n, dimension in enumerate(extra["dimensions"], start=1):
        rows = []
        for m, item in enumerate((i for i in items if i["dimension"] == dimension["id"]), start=1):
            rows.append({
                "number": f"{n}.{m}", "item": item, "title": text(item["title"], item["id"]),
                "score": form[f"score_{item['id']}"] if form is not None else None,
                "note": form[f"note_{item['id']}"] if form is not None else None,
                "value": scores.get(item["id"]),
                "self": (self_scores or {}).get(item["id"]),
                "last": (last_scores or {}).get(item["id"]),
                "errors": (item_errors or {}).get(item["id"], []),
            })
        out.append({"number": n, "id": dimension["id"], "title": text(dimension["title"], dimension["id"]),
                    "max": dimension["max"], "rows": rows, "total": totals[dimension["id"]],
                    "self_total": self_totals[dimension["id"]]})
    return out


def membership(members: int | None, employees: int | None, params: Mapping[str, Any]) -> dict[str, Any]:
    """The membership rate (入会率) as computed at inspection time, and whether it vetoes."""
    percent = params["membership_veto_percent"]
    if members is None or not employees:
        return {"known": False, "members": members, "employees": employees, "threshold": percent}
    return {"known": True, "members": members, "employees": employees, "threshold": percent,
            "percent": rules.percent_display(members, employees, [percent]),
            "rounded_down": rules.rounded_down(members, employees, [percent]),
            # the exact test in people: members × 100 ≥ employees × percent
            "needed": -(-employees * percent // 100),
            "vetoed": rules.membership_vetoed(members, employees, percent)}


def satisfaction(respondents: Any, satisfied: Any, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The members' satisfaction (满意率) and the best level its percentage reaches."""
    if not isinstance(respondents, int) or not isinstance(satisfied, int) or respondents <= 0:
        return None
    thresholds = params["result_thresholds"]
    reached = next((level for level in rules.LEVELS
                    if rules.reaches(satisfied, respondents, thresholds[level]["satisfaction_percent"])
                    and thresholds[level]["satisfaction_percent"] > 0), None)
    levels = rules.satisfaction_thresholds(thresholds)
    return {"respondents": respondents, "satisfied": satisfied,
            "percent": rules.percent_display(satisfied, respondents, levels),
            "rounded_down": rules.rounded_down(satisfied, respondents, levels), "reached": reached,
            "levels": [(level, thresholds[level]["satisfaction_percent"]) for level in rules.LEVELS
                       if thresholds[level]["satisfaction_percent"] > 0]}


def explained(extra: Mapping[str, Any], reasons: Mapping[str, Any], code: str, params: dict[str, Any]) -> str:
    return text(rules.explain(extra, code, params, reasons), code)


def preview(extra: Mapping[str, Any], params: Mapping[str, Any], reasons: Mapping[str, Any],
            case: Mapping[str, Any]) -> dict[str, Any] | None:
    """What `decide` will compute from a complete scoring and the members' evaluation."""
    items = rules.checklist_of(extra)
    scores = case.get("scores") or {}
    if any(i["id"] not in scores for i in items) or "respondents" not in case or "satisfied" not in case:
        return None
    result, grounds = rules.case_result(case, extra, params)
    return {"result": result, "label": text(extra["results"][result]["label"], result),
            "title": text(extra["results"][result]["title"]) if extra["results"][result]["title"] else None,
            "grounds": [explained(extra, reasons, code, p) for code, p in grounds]}


def result_label(extra: Mapping[str, Any], result: str | None) -> str:
    if not result:
        return ""
    found = extra["results"].get(result)
    return text(found["label"], result) if found else result


def item_labels(extra: Mapping[str, Any], ids: Sequence[str]) -> list[str]:
    titles = {i["id"]: i["title"] for i in rules.checklist_of(extra)}
    return [text(titles[i], i) if i in titles else i for i in ids]


def veto_labels(extra: Mapping[str, Any], ids: Sequence[str]) -> list[str]:
    titles = rules.veto_titles(extra)
    return [text(titles[v], v) if v in titles else v for v in ids]
