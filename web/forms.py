"""WTForms built from a trigger's field specs, and their answers turned back into event data.

Simple fields get their own inputs (text, number, date, choice, checkboxes);
structured ones (a list of candidates, a map of votes or scores) get a text
area taking one entry per line, described beside the field. The engine
validates the result, and its field errors are shown on the inputs.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import Optional

from definitions import FieldSpec

from .extensions import get_engine
from .i18n import lang, text
from .json_depth import too_deep

try:  # WTForms 3.3 takes choices as SelectChoice; older versions as (value, label) pairs
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - WTForms < 3.3
    SelectChoice = None


def choice(value: str, label: str) -> Any:
    return SelectChoice(value, label) if SelectChoice is not None else (value, label)


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _label(spec: FieldSpec) -> str:
    return text(spec.label, spec.name) if spec.label else spec.name


def _choice_labels(spec: FieldSpec, titles: dict[str, Any], key: str, labels: Any = None) -> list[Any]:
    """The choices of an enumerated field (`key`), each by its label: the definition's labels of the values
    recorded under `key` (`labels`, a DefinitionLabels), else its titles."""
    out = []
    for v in spec.values:
        label = (labels.value(key, v) if labels is not None else None) or titles.get(v)
        out.append(choice(v, text(label, v) if label else v))
    return out


def _today() -> date:
    """Today in the rule profile's zone (Beijing time by default), as the engine counts days."""
    return get_engine().today()


def _this_year() -> int:
    return _today().year


def _field_for(spec: FieldSpec, titles: dict[str, Any], labels: Any = None, label: str | None = None) -> Any:
    label = label or _label(spec)
    if spec.type == "string":
        return StringField(label, validators=[Optional()])
    if spec.type == "integer":
        return IntegerField(label, validators=[Optional()], default=_this_year if spec.suggest == "this_year" else None)
    if spec.type == "money":
        return DecimalField(label, places=2, validators=[Optional()])
    if spec.type == "date":
        return DateField(label, validators=[Optional()], default=_today if spec.suggest == "today" else None)
    if spec.type == "boolean":
        return BooleanField(label)
    if spec.type == "enum":
        return SelectField(label, choices=[choice("", "—")] + _choice_labels(spec, titles, spec.name, labels),
                           validators=[Optional()])
    if spec.type == "list" and spec.items is not None and spec.items.type == "enum":
        return MultiCheckboxField(label, choices=_choice_labels(spec.items, titles, spec.name, labels),
                                  validators=[Optional()])
    if spec.type == "list" and spec.items is not None and spec.items.type == "string":
        return TextAreaField(label, description=_l("每行一项"), validators=[Optional()])
    if spec.type == "map" and spec.items is not None and spec.items.type in ("integer", "money", "string"):
        return TextAreaField(label, description=_l("每行一项：名称=数值"), validators=[Optional()])
    return TextAreaField(label, description=_l("JSON 格式"), validators=[Optional()])


def step_form(specs: tuple[FieldSpec, ...], titles: dict[str, Any] | None = None, comment: str = "optional",
              labels: Any = None) -> FlaskForm:
    """A form class for one trigger (or for case creation), instantiated on the request; `labels` (the
    definition's DefinitionLabels) names the choices of its enumerated fields."""

    class StepForm(FlaskForm):
        pass

    titles = titles or {}
    for spec in specs:
        if _flat_object(spec):  # a person (name, 身份证号): one input per field, not a JSON text
            for sub in spec.fields:
                setattr(StepForm, f"f_{spec.name}__{sub.name}",
                        _field_for(sub, titles, labels, label=f"{_label(spec)} · {_label(sub)}"))
            continue
        setattr(StepForm, f"f_{spec.name}", _field_for(spec, titles, labels))
    setattr(StepForm, "comment", TextAreaField(_l("意见说明（必填）") if comment == "required" else _l("意见说明")))
    setattr(StepForm, "version", HiddenField())
    return StepForm()


def form_data(form: FlaskForm, specs: tuple[FieldSpec, ...]) -> tuple[dict[str, Any], dict[str, str]]:
    """Event data from the answers; parse problems by field name."""
    data: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for spec in specs:
        if _flat_object(spec):
            parts, bad = form_data(_Prefixed(form, spec.name), spec.fields)
            problems.update({f"{spec.name}.{k}": v for k, v in bad.items()})
            if parts:
                data[spec.name] = parts
            continue
        field = getattr(form, f"f_{spec.name}")
        value = field.data
        if spec.type in ("string", "enum"):
            if value not in (None, ""):
                data[spec.name] = value
        elif spec.type in ("integer", "date"):
            if field.raw_data and field.raw_data[0].strip() and value is None:
                problems[spec.name] = str(field.errors[0]) if field.errors else spec.type
            elif value is not None:
                data[spec.name] = value.isoformat() if spec.type == "date" else value
        elif spec.type == "money":
            if value is not None:
                data[spec.name] = Decimal(value)
        elif spec.type == "boolean":
            data[spec.name] = bool(value)
        elif isinstance(field, MultiCheckboxField):
            data[spec.name] = list(value or [])
        elif spec.type == "list" and spec.items is not None and spec.items.type == "string":
            data[spec.name] = [line.strip() for line in (value or "").splitlines() if line.strip()]
        elif spec.type == "map" and spec.items is not None and spec.items.type in ("integer", "money", "string"):
            parsed, bad = _parse_pairs(value or "", spec.items.type)
            if bad:
                problems[spec.name] = bad
            elif parsed:
                data[spec.name] = parsed
        else:
            if value and value.strip():
                try:
                    if too_deep(value):  # json.loads recurses: a deep enough text is a RecursionError
                        raise ValueError("nested too deeply")
                    data[spec.name] = json.loads(value, parse_float=Decimal)
                except ValueError:
                    problems[spec.name] = "JSON"
    return data, problems


_SCALARS = ("string", "integer", "enum", "date")


def _flat_object(spec: FieldSpec) -> bool:
    """An object of a few plain fields (a person's name and 身份证号), which a form asks for field by field."""
    return spec.type == "object" and bool(spec.fields) and all(f.type in _SCALARS for f in spec.fields)


class _Prefixed:
    """A form's inputs of one object field (`f_applicant__name`), by the names of the object's fields."""

    def __init__(self, form: FlaskForm, name: str):
        self._form, self._name = form, name

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._form, attr.replace("f_", f"f_{self._name}__", 1))


def _parse_pairs(raw: str, value_type: str) -> tuple[dict[str, Any], str | None]:
    out: dict[str, Any] = {}
    for line in raw.splitlines():
        line = line.strip()
        if not line:
            continue
        sep = "=" if "=" in line else ("：" if "：" in line else ":")
        key, _, value = line.partition(sep)
        key, value = key.strip(), value.strip()
        if not key or not value:
            return {}, line
        if value_type == "integer":
            try:
                out[key] = int(value)
            except ValueError:
                return {}, line
        elif value_type == "money":
            out[key] = value
        else:
            out[key] = value
    return out, None


def path_text(specs: Iterable[FieldSpec], path: str) -> str:
    """A field's path as people read it, by the labels of the fields: `household[1].id_number` is
    "家庭成员 › 第2项 › 身份证号". A key of a map (a candidate's name in the votes) is shown as it is."""
    words: list[str] = []
    current = list(specs)
    for part in re.findall(r"\[\d+\]|[^.\[\]]+", path):
        if part.startswith("["):
            words.append(_("第%(n)s项", n=int(part[1:-1]) + 1))
            continue
        spec = next((f for f in current if f.name == part), None)
        if spec is None:
            words.append(part)
            current = []
            continue
        words.append(_label(spec))
        current = list(spec.fields or (spec.items.fields if spec.items is not None else ()))
    return " › ".join(words)


def path_message(specs: Iterable[FieldSpec], path: str, message: str) -> str:
    """A field's error as a sentence of its own: "家庭成员 › 第2项 › 身份证号：必填项"."""
    return f"{path_text(specs, path)}{'：' if lang() == 'zh' else ': '}{message}"


def attach_errors(form: FlaskForm, errors: dict[str, str], specs: Iterable[FieldSpec] = ()) -> list[str]:
    """Put engine field errors on their inputs; return those that belong to no input. A path into a
    field (a row of a list) is named by the labels of `specs`, the fields the form was built from."""
    specs = tuple(specs)
    loose: list[str] = []
    for path, message in errors.items():
        head = path.split(".")[0].split("[")[0]
        field = getattr(form, f"f_{head}", None) if head != "comment" else form.comment
        if field is None and "." in path:  # a field of an object asked for field by field
            field = getattr(form, f"f_{head}__{path.split('.')[1]}", None)
            if field is not None:
                field.errors = list(field.errors or []) + [message]
                continue
        if field is None:
            loose.append(path_message(specs, path, message))
            continue
        field.errors = list(field.errors or []) + ([message] if path == head else [path_message(specs, path, message)])
    return loose
