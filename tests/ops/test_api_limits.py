"""Inputs at and beyond the edges of what the API documents: ids and page numbers past the 32-bit columns,
control characters in names. The generated requests of test_openapi stay inside the document; these go
beyond it on purpose: each must be a clear 4xx (or an empty page), never a 500."""
from __future__ import annotations

import pytest

INT32_MAX = 2**31 - 1


def test_ids_at_the_documented_maximum_are_simply_not_found(api, tree):
    for path in (f"/cases/{INT32_MAX}", f"/cases/{INT32_MAX}/audit", f"/cases/{INT32_MAX}/attachments",
                 f"/attachments/{INT32_MAX}"):
        assert api.get(path, tree["admin"]).status_code == 404, path
    assert api.post(f"/cases/{INT32_MAX}/events", tree["prep"], {"trigger": "submit"}).status_code == 404
    resp = api.get(f"/cases?page={INT32_MAX}&per_page={INT32_MAX}", tree["admin"])
    assert resp.status_code == 200 and resp.get_json()["items"] == []


@pytest.mark.parametrize("case_id", [2**31, 2**63])
def test_ids_beyond_the_columns_are_not_found(request, backend, api, tree, case_id):
    for path in (f"/cases/{case_id}", f"/cases/{case_id}/audit", f"/cases/{case_id}/attachments",
                 f"/attachments/{case_id}"):
        assert api.get(path, tree["admin"]).status_code == 404, path


@pytest.mark.parametrize("path", ["/orgs/A%00B", "/cases?org=A%00B", "/reports/coverage?org=A%00B"])
def test_a_nul_character_in_a_name_finds_nothing(request, backend, api, tree, path):
    assert api.get(path, tree["admin"]).status_code in (400, 404)


def test_a_nul_character_in_a_json_lookup_field(request, backend, api, tree):
    resp = api.post("/cases", tree["prep"], raw=b'{"workflow": "sample", "org": "ENT\\u0000L"}')
    assert resp.status_code in (400, 404)


def test_a_lone_surrogate_in_json_is_invalid_input(request, api, tree):
    resp = api.post("/cases", tree["prep"], raw=b'{"workflow": "sample", "org": "ENT-L", "data": {"title": "\\ud800"}}')
    assert resp.status_code == 400


def test_a_page_far_beyond_the_end_is_empty_or_refused(api, tree):
    resp = api.get(f"/cases?page={2**63}", tree["admin"])
    assert resp.status_code in (200, 400)


def test_control_characters_in_an_organisation_name_are_refused(api, tree):
    made = api.post("/orgs", tree["admin"], {"code": "CTL", "name": "名\x0b称", "kind": "town", "parent": "FED"})
    assert made.status_code == 400 and "name" in made.get_json()["error"]["fields"]
    assert api.get("/reports/coverage.xlsx?org=FED", tree["admin"]).status_code == 200


@pytest.mark.parametrize("code", ["A/B", "A B", "A?B", "A%B", ""])
def test_organisation_codes_that_cannot_stand_in_a_url_are_refused(api, tree, code):
    made = api.post("/orgs", tree["admin"], {"code": code, "name": "某工会", "kind": "town", "parent": "FED"})
    assert made.status_code == 400 and "code" in made.get_json()["error"]["fields"]
