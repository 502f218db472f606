"""Check an event's data against the field specs of its trigger.

Returns clean Python values for the guards (dates, Decimals) and the JSON
form to record; collects an error for every bad field, keyed by its path
(`candidates[2].name`), instead of stopping at the first.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from definitions import FieldSpec

from .errors import FieldError

MONEY_STEP = Decimal("0.01")
MAX_STRING = 2000
MAX_ITEMS = 2000
MAX_INTEGER = 2**53 - 1  # what every JSON reader represents exactly


class _Result:
    def __init__(self) -> None:
        self.errors: dict[str, FieldError] = {}

    def fail(self, path: str, code: str, **params: Any) -> None:
        self.errors.setdefault(path, FieldError(code, **params))


def _money(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = repr(value)  # keep the digits written, never binary arithmetic
    if isinstance(value, (int, str, Decimal)):
        try:
            amount = Decimal(value)
        except InvalidOperation:
            return None
        return amount if amount.is_finite() else None
    return None


def _one(spec: FieldSpec, value: Any, path: str, out: _Result) -> tuple[Any, Any]:
    """(clean, json) for one value; (None, None) after recording an error."""
    t = spec.type
    if t == "string":
        if not isinstance(value, str):
            out.fail(path, "not_string")
            return None, None
        limit = spec.max_length or MAX_STRING
        if len(value) > limit:
            out.fail(path, "too_long", max=limit)
            return None, None
        value = value.strip()
        if spec.required and not value:
            out.fail(path, "required")
            return None, None
        return value, value
    if t == "integer":
        if isinstance(value, Decimal) and value == value.to_integral_value() and value.is_finite():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            out.fail(path, "not_integer")
            return None, None
        if spec.min is not None and value < spec.min:
            out.fail(path, "below_min", min=spec.min)
            return None, None
        if spec.max is not None and value > spec.max:
            out.fail(path, "above_max", max=spec.max)
            return None, None
        if abs(value) > MAX_INTEGER:
            out.fail(path, "above_max", max=MAX_INTEGER)
            return None, None
        return value, value
    if t == "money":
        amount = _money(value)
        if amount is None:
            out.fail(path, "not_money")
            return None, None
        exponent = cast(int, amount.as_tuple().exponent)  # an int: _money keeps only finite amounts
        if exponent < -2 and amount != amount.quantize(MONEY_STEP):
            out.fail(path, "money_precision")
            return None, None
        minimum = spec.min if spec.min is not None else 0
        if amount < minimum:
            out.fail(path, "below_min", min=minimum)
            return None, None
        if amount >= Decimal("1e12"):
            out.fail(path, "above_max", max=10**12 - 1)
            return None, None
        amount = amount.quantize(MONEY_STEP)
        return amount, str(amount)
    if t == "date":
        if not isinstance(value, str):
            out.fail(path, "not_date")
            return None, None
        try:
            day = date.fromisoformat(value)
        except ValueError:
            out.fail(path, "not_date")
            return None, None
        if len(value) != 10:
            out.fail(path, "not_date")
            return None, None
        return day, day.isoformat()
    if t == "boolean":
        if not isinstance(value, bool):
            out.fail(path, "not_boolean")
            return None, None
        return value, value
    if t == "enum":
        if not isinstance(value, str) or value not in spec.values:
            out.fail(path, "not_in_choices", choices=", ".join(spec.values))
            return None, None
        return value, value
    if t == "list":
        if not isinstance(value, list):
            out.fail(path, "not_list")
            return None, None
        if len(value) > MAX_ITEMS:
            out.fail(path, "too_many", max=MAX_ITEMS)
            return None, None
        assert spec.items is not None
        pairs = [_one(spec.items, v, f"{path}[{i}]", out) for i, v in enumerate(value)]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    if t == "map":
        if not isinstance(value, dict):
            out.fail(path, "not_object")
            return None, None
        if len(value) > MAX_ITEMS:
            out.fail(path, "too_many", max=MAX_ITEMS)
            return None, None
        assert spec.items is not None
        clean, js = {}, {}
        for k, v in value.items():
            if not isinstance(k, str) or not k.strip() or len(k) > 200:
                out.fail(f"{path}.{k}", "bad_key")
                continue
            clean[k], js[k] = _one(spec.items, v, f"{path}.{k}", out)
        return clean, js
    if t == "object":
        if not isinstance(value, dict):
            out.fail(path, "not_object")
            return None, None
        return _fields(spec.fields, value, f"{path}.", out)
    raise AssertionError(f"unknown field type {t}")


def _fields(specs: tuple[FieldSpec, ...], data: dict[str, Any], prefix: str, out: _Result) -> tuple[dict, dict]:
    known = {s.name for s in specs}
    for key in data:
        if key not in known:
            out.fail(f"{prefix}{key}", "unknown_field")
    clean: dict[str, Any] = {}
    js: dict[str, Any] = {}
    for spec in specs:
        path = f"{prefix}{spec.name}"
        if spec.name not in data or data[spec.name] is None:
            if spec.required:
                out.fail(path, "required")
            continue
        clean[spec.name], js[spec.name] = _one(spec, data[spec.name], path, out)
    return clean, js


def validate(specs: tuple[FieldSpec, ...], data: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, FieldError]]:
    """(clean values, JSON form, errors by field path)."""
    out = _Result()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        out.fail("data", "not_object")
        return {}, {}, out.errors
    clean, js = _fields(specs, data, "", out)
    return clean, js, out.errors
