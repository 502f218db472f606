"""Bad input gets the documented 4xx, changes nothing, and never a 500."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from audit import AuditEntry
from workflow import Case


def counts(db) -> tuple[int, int]:
    with db.read() as session:
        return (session.scalar(select(func.count()).select_from(AuditEntry)),
                session.scalar(select(func.count()).select_from(Case)))


BAD_EVENTS = [
    (b"{not json", 400, "invalid_input"),
    (b"[1, 2]", 400, "invalid_input"),
    (b'"a string"', 400, "invalid_input"),
    (b'{"trigger": 5}', 400, "invalid_input"),
    (b'{"data": {}}', 400, "invalid_input"),
    (b'{"trigger": "submit", "data": []}', 400, "invalid_input"),
    (b'{"trigger": "submit", "data": {"amount": "x"}}', 400, "invalid_input"),
    (b'{"trigger": "submit", "data": {"amount": 1}, "version": "1"}', 400, "invalid_input"),
    (b'{"trigger": "submit", "data": {"amount": 1}, "version": true}', 400, "invalid_input"),
    (b'{"trigger": "submit", "data": {"amount": 1}, "comment": []}', 400, "invalid_input"),
    (b'{"trigger": "submit", "data": {"amount": 1}, "extra": 1}', 400, "invalid_input"),
    (b'{"trigger": "submit", "data": {"amount": NaN}}', 400, "invalid_input"),
    (b'{"trigger": "submit", "data": {"amount": 1e400}}', 400, "invalid_input"),
    (b'{"trigger": "fly", "data": {}}', 400, "unknown_trigger"),
    (b'{"trigger": "close"}', 409, "invalid_state"),
    (b'{"trigger": "approve"}', 403, "forbidden"),
    (b'{"trigger": "submit", "data": {"amount": 99999}}', 422, "guard_failed"),
    (b'\xff\xfe\x00', 400, "invalid_input"),
    (b'{"trigger": "submit", "data": {"amount": 1, "note": "' + b"x" * 3000 + b'"}}', 400, "invalid_input"),
]


@pytest.mark.parametrize("raw, status, code", BAD_EVENTS)
def test_bad_events(api, db, tree, make_case, raw, status, code):
    case = make_case(tree["prep"])
    before = counts(db)
    resp = api.post(f"/cases/{case['id']}/events", tree["prep"], raw=raw)
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"]["code"] == code and body["error"]["message"]
    assert counts(db) == before


BAD_CREATES = [
    ({}, "workflow"),
    ({"workflow": "sample"}, "org"),
    ({"workflow": 3, "org": "ENT-L"}, "workflow"),
    ({"workflow": "nope", "org": "ENT-L"}, "workflow"),
    ({"workflow": "sample", "org": "ENT-L", "data": {"title": 5}}, "title"),
    ({"workflow": "sample", "org": "ENT-L", "data": "x"}, "data"),
    ({"workflow": "sample", "org": "ENT-L", "colour": "red"}, "colour"),
]


@pytest.mark.parametrize("body, field", BAD_CREATES)
def test_bad_creates(api, db, tree, body, field):
    before = counts(db)
    resp = api.post("/cases", tree["prep"], body)
    assert resp.status_code == 400, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]
    assert counts(db) == before


def test_oversized_body_is_413(api, db, tree, make_case):
    case = make_case(tree["prep"])
    before = counts(db)
    raw = b'{"trigger": "submit", "data": {"amount": 1, "note": "' + b"x" * (1024 * 1024) + b'"}}'
    resp = api.post(f"/cases/{case['id']}/events", tree["prep"], raw=raw)
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "payload_too_large"
    assert counts(db) == before


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"},
                                     {"Authorization": "Bearer "}])
def test_no_or_bad_token_is_401(api, tree, headers):
    for path in ("/cases", "/workflows", "/audit/verify"):
        resp = api.get(path, headers=headers)
        assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthenticated"


def test_api_ignores_cookie_sessions(client, tree):
    client.post("/login", data={"username": "prep", "password": "correct-horse-1"})
    assert client.get("/api/v1/cases").status_code == 401


def test_unknown_case_and_paths_are_404_json(api, tree):
    assert api.get("/cases/999999", tree["prep"]).get_json()["error"]["code"] == "not_found"
    resp = api.get("/no/such/thing", tree["prep"])
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_405_json(api, tree):
    resp = api._call("DELETE", "/cases", tree["prep"])
    assert resp.status_code == 405 and resp.get_json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("query", ["page=0", "page=x", "per_page=-1", "per_page=abc"])
def test_bad_paging_is_400(api, tree, query):
    resp = api.get(f"/cases?{query}", tree["prep"])
    assert resp.status_code == 400


def test_messages_follow_accept_language(api, tree, make_case):
    case = make_case(tree["prep"])
    zh = api.post(f"/cases/{case['id']}/events", tree["prep"], {"trigger": "approve"}).get_json()
    en = api.post(f"/cases/{case['id']}/events", tree["prep"], {"trigger": "approve"},
                  headers={"Accept-Language": "en"}).get_json()
    assert zh["error"]["message"] != en["error"]["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh["error"]["message"])
    assert en["error"]["message"].isascii()


def test_a_405_names_the_methods_allowed(api, client, tree):
    resp = api._call("DELETE", "/cases", tree["prep"])
    assert resp.status_code == 405 and set(resp.headers["Allow"].split(", ")) >= {"GET", "POST"}
    resp = api._call("PUT", "/me", tree["prep"])
    assert resp.status_code == 405 and "GET" in resp.headers["Allow"] and "PUT" not in resp.headers["Allow"]
    page = client.delete("/login")
    assert page.status_code == 405 and "POST" in page.headers["Allow"] and "不支持" in page.get_data(as_text=True)
