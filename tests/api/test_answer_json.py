"""The API's answers: the JSON of json.dumps (with the API's own conversions), written by orjson where it can."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from web.api import _default, dumps


@pytest.mark.parametrize("body", [
    {"名称": "基层工会", "ok": True, "n": None, "list": [1, 2.5, "x"]},
    {"amount": Decimal("1234.50"), "on": date(2026, 12, 3), "at": datetime(2026, 12, 3, 5, 0, 0)},
    {"at": datetime(2026, 12, 3, 5, 0, 0, 123456), "roles": ("preparer", "reviewer"), "set": {"only"}},
    {"big": 2**64, "n": -2**63}, {1: "a key that is not a string"}, {"nested": [{"d": Decimal("0.01")}]},
])
def test_the_answer_is_what_json_dumps_writes(body):
    expected = json.loads(json.dumps(body, ensure_ascii=False, default=_default))
    written = dumps(body)
    assert json.loads(written) == expected
    assert "基层工会".encode() in written or "名称" not in body  # UTF-8 as is, not \\u escapes


def test_a_value_without_a_json_form_is_an_error():
    with pytest.raises(TypeError, match="not JSON serialisable"):
        dumps({"x": object()})
