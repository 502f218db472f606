"""Deeply nested JSON bodies: refused with 400 before the parser recurses, on every body the API reads."""
from __future__ import annotations

import pytest

from web.json_depth import MAX_DEPTH, nesting_depth

from .test_input import counts


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("raw, depth", [
    (b"{}", 1), (b'{"a": [1, {"b": []}]}', 4), (b'{"a": "[[[[{{{{"}', 1), (b'{"a": "\\"[[["}', 1),
    (nested(10), 10), (b"", 0),
])
def test_the_depth_counts_brackets_outside_strings(raw, depth):
    assert nesting_depth(raw) == depth


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
@pytest.mark.parametrize("path", ["/cases", "/orgs", "/users", "events"])
def test_a_body_nested_too_deeply_is_400_and_changes_nothing(api, db, tree, make_case, path, depth):
    if path == "events":
        path = f"/cases/{make_case(tree['prep'])['id']}/events"
    before = counts(db)
    raw = b'{"trigger": "submit", "data": {"x": ' + nested(depth - 2) + b"}}"
    resp = api.post(path, tree["admin"] if path in ("/orgs", "/users") else tree["prep"], raw=raw)
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_input" and error["message"] and "body" in error["fields"]
    assert counts(db) == before


def test_a_body_at_the_limit_is_parsed(api, db, tree, make_case):
    case = make_case(tree["prep"])
    raw = b'{"trigger": "submit", "data": {"x": ' + nested(MAX_DEPTH - 2) + b"}}"
    resp = api.post(f"/cases/{case['id']}/events", tree["prep"], raw=raw)
    # read as JSON: what is refused then is the field, not the body's depth
    assert resp.status_code in (400, 422) and "body" not in (resp.get_json()["error"].get("fields") or {})
