"""Organisations, users, tokens and workflows through the API; admins manage but never fire."""
from __future__ import annotations

from workflow.creditcode import check_character


def credit(body17: str) -> str:
    return body17 + check_character(body17)


def test_admin_creates_org_tree_and_user_who_gets_a_token(api, make_user):
    admin = make_user("root", "admin")
    assert api.post("/orgs", admin, {"code": "F1", "name": "某区总工会", "kind": "federation"}).status_code == 201
    resp = api.post("/orgs", admin, {"code": "E1", "name": "某公司", "kind": "enterprise", "parent": "F1",
                                     "employees": 120, "female_employees": 40,
                                     "credit_code": credit("91330100MA2000001")})
    assert resp.status_code == 201
    body = api.get("/orgs/E1", admin).get_json()
    assert body["union_status"] == "none" and body["member_count"] is None and body["parent"] == "F1"
    resp = api.post("/users", admin, {"username": "p1", "password": "long-enough-pw", "role": "preparer", "org": "E1"})
    assert resp.status_code == 201 and resp.get_json() == {"username": "p1", "role": "preparer", "org": "E1"}
    token = api.post("/users/p1/tokens", admin).get_json()["token"]
    me = api.get("/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me == {"username": "p1", "role": "preparer", "org": "E1"}


def test_org_validation(api, make_user):
    admin = make_user("root", "admin")
    api.post("/orgs", admin, {"code": "F1", "name": "总工会", "kind": "federation"})
    cases = [
        ({"code": "E", "name": "x", "kind": "enterprise", "parent": "F1", "employees": 10,
          "credit_code": "91330100MA20000010"}, "credit_code"),
        ({"code": "E", "name": "x", "kind": "enterprise", "parent": "F1", "employees": -1}, "employees"),
        ({"code": "E", "name": "x", "kind": "enterprise", "parent": "F1", "employees": 5, "female_employees": 6},
         "female_employees"),
        ({"code": "E", "name": "x", "kind": "enterprise", "parent": "NOPE", "employees": 5}, "parent"),
        ({"code": "E", "name": "x", "kind": "galaxy"}, "kind"),
        ({"code": "F1", "name": "dup", "kind": "federation"}, "code"),
        ({"name": "no code", "kind": "federation"}, "code"),
    ]
    for body, field in cases:
        resp = api.post("/orgs", admin, body)
        assert resp.status_code == 400, body
        assert field in resp.get_json()["error"]["fields"], body


def test_credit_code_check_character():
    from workflow.creditcode import is_valid_credit_code

    good = credit("91110000600037341")
    assert is_valid_credit_code(good)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    assert not is_valid_credit_code(wrong)
    assert not is_valid_credit_code(good[:17])
    assert not is_valid_credit_code(good[:16] + "I" + good[17])  # I is not in the alphabet


def test_only_admins_manage(api, tree):
    for who in ("prep", "fed", "auditor"):
        assert api.post("/orgs", tree[who], {"code": "Z", "name": "z", "kind": "federation"}).status_code == 403
        assert api.post("/users", tree[who], {"username": "z", "password": "long-enough-pw",
                                              "role": "preparer", "org": "ENT-L"}).status_code == 403
    assert api.post("/users/fed/tokens", tree["prep"]).status_code == 403
    assert api.post("/users/prep/tokens", tree["prep"]).status_code == 201  # one's own token


def test_orgs_outside_the_subtree_are_404(api, tree):
    assert api.get("/orgs/ENT-L", tree["fed"]).status_code == 200
    assert api.get("/orgs/ENT-L", tree["fed2"]).status_code == 404
    assert api.get("/orgs/FED", tree["prep"]).status_code == 404


def test_user_validation(api, tree):
    admin = tree["admin"]
    for body, field in [
        ({"username": "u", "password": "short", "role": "preparer", "org": "ENT-L"}, "password"),
        ({"username": "u", "password": "long-enough-pw", "role": "king", "org": "ENT-L"}, "role"),
        ({"username": "u", "password": "long-enough-pw", "role": "preparer"}, "org"),
        ({"username": "prep", "password": "long-enough-pw", "role": "preparer", "org": "ENT-L"}, "username"),
        ({"username": "u", "password": "long-enough-pw", "role": "preparer", "org": "NOPE"}, "org"),
    ]:
        resp = api.post("/users", admin, body)
        assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"], body


def test_workflows_listed_and_described(api, tree):
    listed = api.get("/workflows", tree["prep"]).get_json()
    names = {w["name"] for w in listed}
    assert {"founding", "hardship", "inspection"} <= names
    d = api.get("/workflows/founding", tree["prep"]).get_json()
    assert d["name"] == "founding" and d["profile"] == "default" and d["version"]
    assert {"trigger": "apply", "source": "group_formed", "dest": "applied", "roles": ["preparer"]}.items() <= \
        next(t for t in d["transitions"] if t["trigger"] == "apply").items()
    assert d["params"]["women_committee_min_female_members"] == 10
    assert api.get("/workflows/nope", tree["prep"]).status_code == 404


def test_admin_reads_cases_but_never_fires(api, tree, make_case, fire):
    case = make_case(tree["prep"])
    assert api.get(f"/cases/{case['id']}", tree["admin"]).status_code == 200
    assert fire(tree["admin"], case["id"], "submit", {"amount": 1}, expect=403)["error"]["code"] == "forbidden"
    assert api.post("/cases", tree["admin"], {"workflow": "sample", "org": "ENT-L"}).status_code == 403


def test_auditor_reads_in_subtree_and_never_fires(api, tree, make_case, fire):
    case = make_case(tree["prep"])
    assert api.get(f"/cases/{case['id']}", tree["auditor"]).status_code == 200
    assert api.get(f"/cases/{case['id']}/audit", tree["auditor"]).status_code == 200
    assert api.get(f"/cases/{case['id']}", tree["auditor2"]).status_code == 404
    fire(tree["auditor"], case["id"], "submit", {"amount": 1}, expect=403)


def test_case_list_paging_and_filters(api, tree, make_case, fire):
    ids = []
    for who in ("prep", "prep_m", "prep_s"):
        ids.append(make_case(tree[who])["id"])
    fire(tree["prep_m"], ids[1], "submit", {"amount": 1})
    page = api.get("/cases?per_page=2&page=1", tree["fed"]).get_json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["per_page"] == 2
    assert [c["id"] for c in page["items"]] == [ids[2], ids[1]]  # newest first
    assert api.get("/cases?per_page=2&page=2", tree["fed"]).get_json()["items"][0]["id"] == ids[0]
    assert api.get("/cases?state=submitted", tree["fed"]).get_json()["total"] == 1
    assert api.get("/cases?org=TOWN", tree["fed"]).get_json()["total"] == 2
    assert api.get("/cases?org=FED2", tree["fed"]).status_code == 404
    assert api.get("/cases", tree["town"]).get_json()["total"] == 2
    assert api.get("/cases", tree["prep"]).get_json()["total"] == 1
