"""The JSON API authenticates by bearer token alone: a page session's cookie is neither read nor set."""
from __future__ import annotations

from tests.web.ui_support import login


def test_a_logged_in_page_session_does_not_authenticate_the_api(client, tree):
    assert login(client, "prep").status_code == 302
    assert client.get("/").status_code == 200  # the cookie session works for the pages
    resp = client.get("/api/v1/cases")
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthenticated"


def test_api_answers_set_no_session_cookie(client, tree, make_case):
    assert login(client, "prep").status_code == 302
    case = make_case(tree["prep"])
    resp = client.get(f"/api/v1/cases/{case['id']}", headers=tree["prep"].headers)
    assert resp.status_code == 200
    assert "Set-Cookie" not in resp.headers
    # ?lang= is remembered for the pages only: the API answers in the caller's language and stores nothing
    resp = client.get(f"/api/v1/cases/{case['id']}?lang=en", headers=tree["prep"].headers)
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers
