"""The OpenAPI document is true: every /api/v1 route is in it and nothing else, it is valid JSON Schema
throughout, and requests generated from it (hypothesis) with tokens of every role get no 500 and only the
statuses and shapes it names."""
from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.ops.openapi_support import (
    app_routes, documented, json_body, multipart_body, operations, resolve, response_problem,
)
from web.openapi import document

MAX_EXAMPLES = 30


def test_every_api_route_is_documented_and_nothing_else(app, engine):
    doc = document(engine.catalog)
    routes, described = app_routes(app), documented(doc)
    assert routes - described == set(), "routes missing from web/openapi_paths.py"
    assert described - routes == set(), "documented operations the app does not have"


def test_the_route_check_can_fail(app, engine):
    def extra() -> str:
        return ""

    app.add_url_rule("/api/v1/reports/extra/<int:year>", "extra", extra)
    assert app_routes(app) - documented(document(engine.catalog)) == {("/reports/extra/{year}", "get")}


def test_the_document_is_served_and_well_formed(client, engine):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.get_json()
    assert doc == json.loads(json.dumps(document(engine.catalog)))
    assert doc["openapi"].startswith("3.1") and doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(resolve(doc, schema))
    ids = [op["operationId"] for _path, _method, op in operations(doc)]
    assert len(ids) == len(set(ids))
    for path, method, op in operations(doc):
        declared = {p["name"] for p in op.get("parameters", ()) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), (path, method)
        statuses = set(op["responses"])
        assert statuses and all(s.isdigit() for s in statuses), (path, method)
        if op.get("security", doc["security"]):
            assert "401" in statuses, f"{method} {path} takes a token but does not document 401"
        resolve(doc, op)  # every $ref resolves


def test_the_document_names_the_workflows_of_the_apps_catalogue(client, engine, catalog):
    doc = client.get("/api/v1/openapi.json").get_json()
    names = list(engine.catalog.definitions)
    assert "sample" in names  # the test catalogue's extra workflow, which no hand-written list knows
    create = doc["components"]["schemas"]["CaseCreate"]["properties"]
    assert create["workflow"]["enum"] == names
    assert all(f"{name}: " in create["data"]["description"] for name in names)
    named = doc["paths"]["/workflows/{name}"]["get"]["parameters"][0]["description"]
    assert all(name in named for name in names)
    checklist = doc["components"]["schemas"]["Definition"]["properties"]["checklist"]["description"]
    assert checklist == "only for " + " or ".join(n for n, d in catalog.definitions.items() if "checklist" in d.extra)


def test_a_smaller_catalogue_gives_a_smaller_document(catalog):
    from types import SimpleNamespace

    doc = document(SimpleNamespace(definitions={"founding": catalog.definitions["founding"]}))
    assert doc["components"]["schemas"]["CaseCreate"]["properties"]["workflow"]["enum"] == ["founding"]
    assert doc["paths"]["/workflows/{name}"]["get"]["parameters"][0]["description"] == "founding"
    assert doc["components"]["schemas"]["Definition"]["properties"]["vetoes"]["description"] == "no workflow has one"


def test_a_wrong_response_is_reported(app, client, engine):
    """The checker itself: an undocumented status or a body of the wrong shape is named."""
    doc = document(engine.catalog)
    op = doc["paths"]["/me"]["get"]
    resp = client.get("/api/v1/me")
    assert response_problem(doc, op, resp) is None  # 401 in the error shape
    resp.status_code = 418
    assert "418" in response_problem(doc, op, resp)
    resp.status_code = 200
    assert "schema" in response_problem(doc, op, resp)


@pytest.fixture
def app_config(app_config, tmp_path):
    return {**app_config, "UPLOAD_DIR": str(tmp_path / "uploads")}


@pytest.fixture
def known(tree, make_case, fire):
    """Real things for the generated requests to hit, beside random ones."""
    draft = make_case(tree["prep"], data={"title": "草稿"})
    submitted = make_case(tree["prep_m"], data={"title": "已提交"})
    fire(tree["prep_m"], submitted["id"], "submit", {"amount": 10})
    outside = make_case(tree["prep_x"], data={"title": "外区"})
    return {
        "case_id": st.sampled_from([draft["id"], submitted["id"], outside["id"]]),
        "attachment_id": st.sampled_from([1, 2]),
        "code": st.sampled_from(["FED", "TOWN", "ENT-L", "ENT-X", "FED2"]),
        "org": st.sampled_from(["ENT-L", "ENT-M", "ENT-S", "ENT-X", "FED"]),
        "parent": st.sampled_from(["FED", "TOWN", "ENT-L"]),
        "username": st.sampled_from(list(tree)),
        "name": st.sampled_from(["sample", "founding", "hardship", "inspection"]),
        "workflow": st.sampled_from(["sample", "founding", "hardship", "inspection"]),
        "trigger": st.sampled_from(["submit", "approve", "return", "close", "withdraw", "form_group", "apply"]),
        "state": st.sampled_from(["draft", "submitted"]),
        "material": st.sampled_from(["archive_form", "id_copies", "income_proof"]),
    }


@pytest.mark.slow
def test_generated_requests_get_only_documented_answers(client, engine, tree, known):
    doc = document(engine.catalog)
    tokens = {name: tree[name].token for name in ("admin", "prep", "prep_m", "fed", "town", "auditor", "prep_x")}
    tokens.update({"anonymous": None, "bad token": "uf_not-a-token"})
    failures: list[str] = []
    for path, method, op in operations(doc):
        op = resolve(doc, op)
        params = op.get("parameters", [])
        body = op.get("requestBody", {}).get("content", {})
        failures += _fuzz(client, doc, path, method, op, params, body, tokens, known)
    assert failures == [], "\n".join(failures[:20])


def _fuzz(client, doc, path, method, op, params, body, tokens, known) -> list[str]:
    from tests.ops.openapi_support import from_schema, text

    path_values = st.fixed_dictionaries({p["name"]: from_schema(p["schema"], known, p["name"])
                                         for p in params if p["in"] == "path"})
    query_values = st.fixed_dictionaries({}, optional={
        p["name"]: st.one_of(from_schema(p["schema"], known, p["name"]), text(max_size=6))
        for p in params if p["in"] == "query"})
    if "application/json" in body:
        payload = json_body(body["application/json"]["schema"], known).map(lambda b: ("json", b))
    elif "multipart/form-data" in body:
        payload = multipart_body(known).map(lambda b: ("form", b))
    else:
        payload = st.just(("none", None))
    found: list[str] = []

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(who=st.sampled_from(sorted(tokens)), values=path_values, query=query_values, payload=payload)
    def run(who, values, query, payload):
        url = "/api/v1" + path.format(**{k: quote(str(v), safe="") for k, v in values.items()})
        headers = {"Authorization": f"Bearer {tokens[who]}"} if tokens[who] else {}
        kind, data = payload
        kwargs = {"query_string": query, "headers": headers}
        if kind == "json":
            kwargs.update(data=data, content_type="application/json")
        elif kind == "form":
            kwargs.update(data=data, content_type="multipart/form-data")
        try:
            resp = client.open(url, method=method.upper(), **kwargs)
        except Exception as err:  # noqa: BLE001  (the test client re-raises what a server turns into a 500)
            found.append(f"{method.upper()} {url} {query} as {who}: raised {type(err).__name__}: {err}")
            return
        problem = response_problem(doc, op, resp)
        if resp.status_code >= 500 or problem:
            found.append(f"{method.upper()} {url} {query} as {who} ({kind} {str(data)[:80]}): "
                         f"{problem or resp.status_code} {resp.get_data(as_text=True)[:200]}")

    run()
    return found[:5]

