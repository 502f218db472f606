"""A workflow package added from outside the tree (definition, reasons, one rule, no pages of its own) is
served by the API, the one step page and the OpenAPI document, with nothing edited outside the package."""
from __future__ import annotations

import sys
import textwrap

import pytest

PACKAGE = "uf_tinyflow"
FILES = {
    "__init__.py": '"""A one-step workflow package written by a test."""\n',
    "definition.yaml": """\
        name: uf_tinyflow
        version: 1
        title: {zh: 小流程, en: Tiny workflow}
        initial: open
        states:
          - {name: open, label: {zh: 待报送, en: Open}}
          - {name: reported, label: {zh: 已报送, en: Reported}, final: true}
        create:
          roles: [preparer]
        transitions:
          - trigger: report
            source: open
            dest: reported
            roles: [preparer]
            label: {zh: 报送, en: Report}
            data:
              count: {type: integer, required: true, min: 0, label: {zh: 人数, en: Count}}
            guards: [uf_tinyflow_not_too_many]
        """,
    "reasons.yaml": """\
        uf_tinyflow_too_many: {zh: "人数不能超过{max}人", en: "At most {max} people"}
        """,
    "params.yaml": """\
        max_count: 10
        """,
    "rules.py": '''\
        from workflow import Reason, guard


        @guard("uf_tinyflow_not_too_many")
        def not_too_many(ctx):
            if ctx.data["count"] > ctx.params["max_count"]:
                yield Reason("uf_tinyflow_too_many", {"max": ctx.params["max_count"]})
        ''',
}


@pytest.fixture(scope="session")
def tiny_package(tmp_path_factory):
    root = tmp_path_factory.mktemp("packages")
    folder = root / PACKAGE
    folder.mkdir()
    for name, body in FILES.items():
        (folder / name).write_text(textwrap.dedent(body), encoding="utf-8")
    sys.path.insert(0, str(root))
    yield PACKAGE
    sys.path.remove(str(root))


@pytest.fixture
def tiny_app(app_config, tiny_package):
    from web import create_app

    app = create_app({**app_config, "UNIONFLOW_CATALOG": None, "UNIONFLOW_WORKFLOW_PACKAGES": [tiny_package]})
    yield app
    app.extensions["unionflow.db"].dispose()


def test_the_package_is_served_by_the_api_the_step_page_and_openapi(tiny_app, tree):
    from tests.support import Api

    assert PACKAGE in tiny_app.extensions["unionflow.engine"].catalog.definitions
    api = Api(tiny_app.test_client())
    prep = tree["prep"]
    created = api.post("/cases", prep, {"workflow": PACKAGE, "org": "ENT-L"})
    assert created.status_code == 201, created.get_json()
    case_id = created.get_json()["id"]

    # the package's own rule, with the package's own parameter and message, through the API
    refused = api.post(f"/cases/{case_id}/events", prep, {"trigger": "report", "data": {"count": 11}})
    assert refused.status_code == 422
    assert [r["code"] for r in refused.get_json()["error"]["reasons"]] == ["uf_tinyflow_too_many"]
    assert "10" in refused.get_json()["error"]["reasons"][0]["message"]

    # the one step page builds the form from the definition and fires through the engine
    client = tiny_app.test_client()
    client.post("/login", data={"username": "prep", "password": "correct-horse-1"})
    page = client.get(f"/cases/{case_id}/steps/report")
    assert page.status_code == 200 and "人数" in page.get_data(as_text=True)
    too_many = client.post(f"/cases/{case_id}/steps/report", data={"f_count": "12", "version": "1"})
    assert too_many.status_code == 422, too_many.get_data(as_text=True)[-3000:]
    assert "人数不能超过10人" in too_many.get_data(as_text=True)
    done = client.post(f"/cases/{case_id}/steps/report", data={"f_count": "3", "version": "1"})
    assert done.status_code == 302
    assert api.get(f"/cases/{case_id}", prep).get_json()["state"] == "reported"

    # the OpenAPI document learns the workflow from the catalogue
    document = api.get("/openapi.json").get_json()
    assert PACKAGE in str(document)
