"""The JSON columns' codec: orjson where it writes and reads what the json module does, the json module
for the rest, so that a stored value reads back as it was."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from storage import json_dumps, json_loads


def _stdlib(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                      default=lambda v: str(v) if isinstance(v, Decimal) else (_ for _ in ()).throw(TypeError()))


@pytest.mark.parametrize("value", [
    {}, {"a": 1}, {"名称": "工会", "n": [1, 2.5, None, True]}, {"amount": Decimal("1234.50")},
    {"max": 2**63 - 1, "min": -2**63}, {"big": 2**63}, {"big": -2**63 - 1}, {"huge": 10**30},
    {1: "integer key"}, {"f": 0.1, "e": 1e16, "neg": -0.0}, {"nested": {"a": [{"b": "c"}]}},
])
def test_written_as_the_json_module_writes_and_read_back_equal(value):
    text = json_dumps(value)
    assert text == _stdlib(value)
    assert json_loads(text) == json.loads(text)
    assert type(json_loads(text)) is type(json.loads(text))


@pytest.mark.parametrize("text", ['{"n":9223372036854775808}', '{"n":-9223372036854775809}',
                                  '{"n":123456789012345678901234567890}', '{"n":1234567890123456789}'])
def test_integers_beyond_64_bits_read_back_as_integers(text):
    assert json_loads(text) == json.loads(text)
    assert type(json_loads(text)["n"]) is int


def test_what_orjson_refuses_to_read_is_read_by_the_json_module():
    assert json_loads('{"x":NaN}')["x"] != json_loads('{"x":NaN}')["x"]  # NaN, as json.loads reads it
    with pytest.raises(ValueError):
        json_loads('{"x":')


@pytest.mark.parametrize("value", [datetime(2026, 1, 1), date(2026, 1, 1), object()])
def test_values_without_a_json_form_are_refused(value):
    with pytest.raises(TypeError, match="not JSON serialisable"):
        json_dumps({"v": value})
