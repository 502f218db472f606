"""Definition version 2 of the hardship workflow (domain.md §2, second revision), at its exact bounds: exact
eligibility before any rounding, category 3 for disasters, one household one file, the reviewing union by
属地管理 (the federation's list putting founded unions' applicants first), and cases opened under version 1
keeping it."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update

from definitions import Catalog
from workflow import Case
from workflow.competence import RULES, OrgNode
from workflow.rules import EFFECTS, GUARDS, Context, OrgFacts
from workflows.hardship import rules  # noqa: F401  (registers the rules)
from workflows.hardship.tests.support import (  # noqa: F401  (fixtures)
    APPLICANT_ID,
    CHILD_ID,
    MONDAY,
    POSTING_ENDS,
    SPOUSE_ID,
    application,
    clock,
    config_for,
    founded,
    household_ids,
    walk,
)

PARAMS = Catalog().profile("default").for_workflow("hardship")


@pytest.fixture
def app_config(app_config, clock, tmp_path):
    return config_for(app_config, clock, tmp_path)


def ctx_of(data: dict, others=None) -> Context:
    return Context(workflow="hardship", trigger="test", state="", data=data, case={}, params=PARAMS,
                   org=OrgFacts("ENT-001", "某物流公司", "enterprise", union_status="founded"),
                   today=date(2026, 11, 20), others=others)


def three(income, causes=()) -> dict:
    """A married household of three; the applicant earns `income`, the others nothing."""
    return application(income=income, causes=causes)


@pytest.mark.parametrize("income, causes, category, shown", [
    ("3510.00", [], 1, "1170.00"),
    ("3510.01", [], None, "1170.00"),           # 1170.0033… is more than 1170: no category 1, shown rounded down
    ("3510.01", ["schooling"], 2, "1170.00"),
    ("4680.00", ["other"], 2, "1560.00"),
    ("4680.01", ["other"], None, "1560.00"),
    ("7020.00", ["disaster"], 3, "2340.00"),     # category 3 takes the disaster cause
    ("7020.01", ["disaster"], None, "2340.00"),
    ("7020.00", ["accident"], 3, "2340.00"),
    ("3509.99", [], 1, "1169.99"),              # 1169.9966…: rounded down, never up
])
def test_every_test_is_exact_and_the_figure_is_rounded_down(income, causes, category, shown):
    data = three(income, causes)
    facts = EFFECTS["hardship_assess_exact"](ctx_of(data)).facts
    assert (facts["category"], facts["per_capita_income"]) == (category, shown)
    assert [r.code for r in GUARDS["hardship_eligible_exact"](ctx_of(data))] == ([] if category else ["not_eligible"])


def test_version_1_rounded_before_comparing_and_had_no_disaster_category_3():
    assert EFFECTS["hardship_assess"](ctx_of(three("3510.01"))).facts["category"] == 1
    assert EFFECTS["hardship_assess"](ctx_of(three("7020.00", ["disaster"]))).facts["category"] is None


def test_the_causes_of_each_category_are_parameters():
    assert tuple(PARAMS["category_causes"][3]) == ("illness", "accident", "disaster")
    narrower = {**PARAMS, "category_causes": {**PARAMS["category_causes"], 3: ["illness"]}}
    ctx = Context(**{**ctx_of(three("7020.00", ["disaster"])).__dict__, "params": narrower})
    assert EFFECTS["hardship_assess_exact"](ctx).facts["category"] is None


def other(data: dict, org: str = "另一企业") -> dict:
    return {"org": org, "data": data}


def test_one_household_one_file_by_any_counted_id_number():
    mine = application()
    assert list(GUARDS["hardship_household_has_no_file"](ctx_of(mine, lambda: []))) == []
    # the other file's applicant is my spouse
    theirs = application(ids=(SPOUSE_ID, *household_ids(5)[1:]))
    (reason,) = GUARDS["hardship_household_has_no_file"](ctx_of(mine, lambda: [other(theirs)]))
    assert (reason.code, dict(reason.params)) == ("household_has_file", {"org": "另一企业"})
    # my child is counted in another household: refused too
    theirs = application(ids=(*household_ids(6)[:2], CHILD_ID))
    assert [r.code for r in GUARDS["hardship_household_has_no_file"](ctx_of(mine, lambda: [other(theirs)]))] == [
        "household_has_file"]
    # a married child is not counted in my household, so their own file does not bar mine
    mine["household"][2]["married"] = True
    assert list(GUARDS["hardship_household_has_no_file"](ctx_of(mine, lambda: [other(theirs)]))) == []
    # no ID numbers in common
    assert list(GUARDS["hardship_household_has_no_file"](
        ctx_of(application(), lambda: [other(application(ids=household_ids(7)))]))) == []


def node(i, kind, status="none"):
    return OrgNode(i, f"O{i}", f"O{i}", kind, union_status=status)


@pytest.mark.parametrize("org, ancestors, expected", [
    (node(9, "enterprise", "founded"), [node(3, "community"), node(2, "town"), node(1, "federation")], 9),
    (node(9, "enterprise", "founding"), [node(3, "community"), node(2, "town"), node(1, "federation")], 3),
    (node(9, "enterprise"), [node(2, "town"), node(1, "federation")], 2),
    (node(9, "enterprise"), [node(1, "federation")], 1),
])
def test_the_reviewing_union(org, ancestors, expected):
    assert RULES["reviewing_union"](org, ancestors, {}).id == expected


# ---- through the API ---------------------------------------------------------------

def codes(resp):
    return [r["code"] for r in resp.get_json()["error"]["reasons"]]


def test_a_household_with_an_open_case_or_an_assisted_file_cannot_open_another(api, fire, founded, clock, tree):
    u = founded
    first = walk(api, fire, u, clock, "assisted")
    # the spouse applies at another enterprise (through its town union): refused, and nothing is created
    spouse_applies = application(name="李强", ids=(SPOUSE_ID, APPLICANT_ID, CHILD_ID))
    spouse_applies["household"][0]["name"], spouse_applies["household"][1]["name"] = "李强", "王芳"
    resp = api.post("/cases", tree["prep_m"], {"workflow": "hardship", "org": "ENT-M", "data": spouse_applies})
    assert resp.status_code == 422 and codes(resp) == ["household_has_file"]
    assert "大型企业" in resp.get_json()["error"]["reasons"][0]["message"]
    assert api.get("/cases?workflow=hardship", tree["town"]).get_json()["total"] == 0
    # once the file is closed (脱困销档) the household may apply again
    fire(u["fed"], first["id"], "close_file", comment="家庭已脱困")
    resp = api.post("/cases", tree["prep_m"], {"workflow": "hardship", "org": "ENT-M", "data": spouse_applies})
    assert resp.status_code == 201


def test_an_application_edited_after_a_return_is_checked_again(api, fire, founded, clock, tree):
    u = founded
    walk(api, fire, u, clock, "applied")
    second = walk(api, fire, u, clock, "applied", application(ids=household_ids(1)))
    fire(u["ent_rev"], second["id"], "return_review", comment="请核实家庭成员")
    household = application(ids=household_ids(1))["household"]
    household[2]["id_number"] = CHILD_ID  # the first household's child
    resp = api.post(f"/cases/{second['id']}/events", u["prep"], {"trigger": "submit", "data": {"household": household}})
    assert resp.status_code == 422 and codes(resp) == ["household_has_file"]


def test_the_federation_lists_applicants_of_founded_unions_first(api, fire, founded, clock, tree, app):
    u = founded
    town_case = api.post("/cases", tree["prep_m"], {"workflow": "hardship", "org": "ENT-M",
                                                     "data": application(ids=household_ids(1))}).get_json()
    fire(tree["prep_m"], town_case["id"], "submit")
    fire(tree["town"], town_case["id"], "approve_review")
    fire(tree["town"], town_case["id"], "start_posting", {"posted_on": MONDAY.isoformat()})
    clock.today = POSTING_ENDS
    fire(tree["town"], town_case["id"], "submit_to_federation")
    own = walk(api, fire, u, clock, "submitted")  # submitted later, but its enterprise has a founded union
    client = app.test_client()
    assert client.post("/login", data={"username": "fed", "password": "correct-horse-1"}).status_code == 302
    body = client.get("/hardship/summary").get_data(as_text=True)
    assert body.index(f"#{own['id']}") < body.index(f"#{town_case['id']}")


def test_a_case_opened_under_version_1_keeps_its_rules(api, db, fire, founded, clock):
    u = founded
    case = walk(api, fire, u, clock, "draft", application(income="3510.01", causes=[]))
    with db.write() as session:
        session.execute(update(Case).where(Case.id == case["id"]).values(definition_version="1"))
    data = {"materials": ["archive_form", "id_copies", "household_register", "income_proof"]}
    case = fire(u["prep"], case["id"], "submit", data)
    assert (case["definition_version"], case["data"]["category"]) == ("1", 1)  # rounded first, as version 1 did
    fresh = walk(api, fire, u, clock, "draft", application(income="3510.01", causes=[], ids=household_ids(2)))
    assert (fresh["definition_version"], fresh["data"]["category"]) == ("2", None)
