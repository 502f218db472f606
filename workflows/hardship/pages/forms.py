"""The 困难职工档案表 as a page form: applicant, household rows, causes and materials.

The form turns into the application data of api.md and the engine's field
errors and reasons come back onto the inputs they concern (a household row's
身份证号, its income, …). Household rows need no JavaScript: the form shows
enough empty rows, and a button adds more by sending the form back.
"""
from __future__ import annotations

import json
import re
from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, HiddenField, SelectField, StringField, TextAreaField

from web.forms import MultiCheckboxField, path_message
from web.i18n import text

from .. import rules

ROWS_MIN = 6
ROWS_SPARE = 2  # empty rows shown below the recorded members
ROWS_STEP = 4
ROWS_MAX = 30


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class MemberForm(Form):
    """One household member (one table row); a row without name, 身份证号 and income is ignored."""

    name = StringField(_l("姓名"), filters=[_strip])
    relation = SelectField(_l("与申请人关系"), choices=[], validate_choice=False)
    id_number = StringField(_l("身份证号"), filters=[_strip])
    monthly_income = StringField(_l("月收入（元）"), filters=[_strip])
    married = BooleanField(_l("已婚"))


class ApplicationForm(FlaskForm):
    applicant_name = StringField(_l("申请人姓名"), filters=[_strip])
    applicant_id_number = StringField(_l("申请人身份证号"), filters=[_strip])
    marital_status = SelectField(_l("婚姻状况"), choices=[], validate_choice=False)
    household = FieldList(FormField(MemberForm), min_entries=ROWS_MIN, max_entries=ROWS_MAX)
    causes = MultiCheckboxField(_l("致困原因（可多选）"), choices=[], validate_choice=False)
    out_of_pocket_medical = StringField(_l("本年度自负医药费（元）"), filters=[_strip])
    disaster_loss = StringField(_l("本年度灾害财产损失（元）"), filters=[_strip])
    materials = MultiCheckboxField(_l("已提交的纸质材料（逐项勾选）"), choices=[], validate_choice=False)
    version = HiddenField()


class ObjectionForm(FlaskForm):
    text = TextAreaField(_l("异议内容（谁、何时、对什么提出异议）"), filters=[_strip])
    comment = TextAreaField(_l("意见说明"), filters=[_strip])
    version = HiddenField()


class DecideObjectionForm(FlaskForm):
    objection_id = SelectField(_l("异议"), choices=[], validate_choice=False)
    comment = TextAreaField(_l("核实情况（必填）"), filters=[_strip])
    version = HiddenField()


def choices(items: Any) -> list[tuple[str, str]]:
    """(id, title) pairs from a definition's `extra` list of {id, title}."""
    return [(str(i["id"]), text(i["title"], str(i["id"]))) for i in items or ()]


def application_form(extra: Mapping[str, Any], initial: Mapping[str, Any] | None = None) -> ApplicationForm:
    """The form, with its choices in the page's language; prefilled from `initial` on GET."""
    form = ApplicationForm(data=_initial(initial) if initial is not None else None)
    form.marital_status.choices = [("", "—")] + choices(extra.get("marital_statuses"))
    form.causes.choices = choices(extra.get("causes"))
    form.materials.choices = choices(extra.get("materials"))
    relations = [("", "—")] + choices(extra.get("relations"))
    wanted = min(ROWS_MAX, max(ROWS_MIN, _filled_rows(form) + ROWS_SPARE))
    while len(form.household.entries) < wanted:
        form.household.append_entry()
    for row in form.household:
        row.form.relation.choices = relations
    if initial is None and not form.is_submitted():
        form.household.entries[0].form.relation.data = "self"
    # the household rule, for the running total beside the table (the server counts again when it is sent)
    form.household_rule = json.dumps({
        "counted": {k: sorted(v) for k, v in rules.COUNTED_RELATIONS.items()},
        "marry_out": sorted(rules.MAY_MARRY_OUT)}, separators=(",", ":"))
    return form


def add_rows(form: ApplicationForm, extra: Mapping[str, Any]) -> None:
    relations = [("", "—")] + choices(extra.get("relations"))
    for _ in range(ROWS_STEP):
        if len(form.household.entries) >= ROWS_MAX:
            break
        form.household.append_entry()
        form.household.entries[-1].form.relation.choices = relations


def _filled_rows(form: ApplicationForm) -> int:
    return sum(1 for row in form.household if _row_filled(row.form))


def _row_filled(row: MemberForm) -> bool:
    return any((row.name.data, row.id_number.data, row.monthly_income.data))


def _initial(app: Mapping[str, Any]) -> dict[str, Any]:
    applicant = app.get("applicant") or {}
    return {
        "applicant_name": applicant.get("name", ""),
        "applicant_id_number": applicant.get("id_number", ""),
        "marital_status": app.get("marital_status", ""),
        "household": [{"name": m.get("name", ""), "relation": m.get("relation", ""),
                       "id_number": m.get("id_number", ""), "monthly_income": _plain(m.get("monthly_income")),
                       "married": bool(m.get("married"))} for m in app.get("household") or ()],
        "causes": list(app.get("causes") or ()),
        "out_of_pocket_medical": _plain(app.get("out_of_pocket_medical")),
        "disaster_loss": _plain(app.get("disaster_loss")),
        "materials": list(app.get("materials") or ()),
    }


def _plain(amount: Any) -> str:
    """"1800.00" shows as 1800, "0.50" as 0.50."""
    if amount in (None, ""):
        return ""
    value = str(amount)
    return value[:-3] if value.endswith(".00") else value


def application_data(form: ApplicationForm) -> tuple[dict[str, Any], list[int]]:
    """The application of api.md, and for each household entry the form row it came from."""
    applicant: dict[str, Any] = {"name": form.applicant_name.data or "", "id_number": form.applicant_id_number.data or ""}
    household: list[dict[str, Any]] = []
    rows: list[int] = []
    for i, entry in enumerate(form.household):
        row = entry.form
        if not _row_filled(row):
            continue
        member: dict[str, Any] = {"name": row.name.data or ""}
        if row.relation.data:
            member["relation"] = row.relation.data
        if row.id_number.data:
            member["id_number"] = row.id_number.data
        if row.monthly_income.data:
            member["monthly_income"] = _amount(row.monthly_income.data)
        if row.married.data:
            member["married"] = True
        household.append(member)
        rows.append(i)
    data: dict[str, Any] = {
        "applicant": applicant,
        "household": household,
        "causes": list(form.causes.data or []),
        # an empty amount is none spent this year (and clears an earlier figure when editing)
        "out_of_pocket_medical": _amount(form.out_of_pocket_medical.data or "0"),
        "disaster_loss": _amount(form.disaster_loss.data or "0"),
        "materials": list(form.materials.data or []),
    }
    if form.marital_status.data:
        data["marital_status"] = form.marital_status.data
    return data, rows


def _amount(raw: str) -> str:
    """Amounts as typed, without thousands separators or a trailing 元 (the engine checks the rest)."""
    return re.sub(r"[,，\s元]", "", raw)


ROW_PATH = re.compile(r"^household\[(\d+)\]\.(\w+)$")
TOP_FIELDS = {
    "applicant": "applicant_name", "applicant.name": "applicant_name", "applicant.id_number": "applicant_id_number",
    "marital_status": "marital_status", "out_of_pocket_medical": "out_of_pocket_medical",
    "disaster_loss": "disaster_loss", "causes": "causes", "materials": "materials",
}


def field_for(form: ApplicationForm, path: str, rows: list[int]) -> Any:
    """The input an engine field path (``household[2].monthly_income``) refers to, or None."""
    match = ROW_PATH.match(path)
    if match:
        index, name = int(match.group(1)), match.group(2)
        if index < len(rows):
            return getattr(form.household.entries[rows[index]].form, name, None)
        return None
    head = path.split("[")[0]
    name = TOP_FIELDS.get(path) or TOP_FIELDS.get(head)
    return getattr(form, name) if name else None


def put_errors(form: ApplicationForm, messages: Mapping[str, str], rows: list[int], specs: Any = ()) -> list[str]:
    """Show each message on its input; return those that belong to none, named by the labels of `specs`."""
    loose = []
    for path, message in messages.items():
        field = field_for(form, path, rows)
        if field is None:
            loose.append(path_message(specs, path, message))
        else:
            field.errors = list(field.errors or []) + [message]
    return loose
