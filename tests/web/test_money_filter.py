"""Amounts on the pages: one Jinja filter, `money`, to the fen with thousands separators."""
from __future__ import annotations

from decimal import Decimal

import pytest

from web.templating import money


@pytest.mark.parametrize("value, shown", [
    ("12345.6", "12,345.60"),
    (Decimal("12345.60"), "12,345.60"),
    ("999.99", "999.99"),
    ("1000", "1,000.00"),         # the first separator
    ("1234567.89", "1,234,567.89"),
    (0, "0.00"),
    ("0.005", "0.01"),            # half a fen goes up
    ("0.004", "0.00"),
    (2000, "2,000.00"),
    (1950.5, "1,950.50"),         # a float's digits as written
])
def test_money_to_the_fen_with_separators(value, shown):
    assert money(value) == shown


def test_no_amount_and_what_is_not_an_amount():
    assert money(None) == "—" and money("") == "—" and money(None, "0.00") == "0.00"
    assert money("abc") == "abc" and money("NaN") == "NaN"


def test_the_filter_is_registered(app):
    template = app.jinja_env.from_string("{{ a|money }} 元 · {{ b|money('0.00') }}")
    assert template.render(a="12345.6", b=None) == "12,345.60 元 · 0.00"
