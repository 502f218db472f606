"""会籍接转 through the JSON API on both databases: the certificate at its exact bounds (valid on day 90, expired on
day 91, before and after the sweep), a single redemption (twice; at once), an unknown code, the issuing union's
own, each side's view of the case (the code and the 身份证号 masked), the counts, and the trail verified."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

import audit
from workflow import CaseParty, Member, TransferCertificate, certificate_code_hash, normalise_code

from .support import (  # noqa: F401  (fixtures)
    after,
    app_config,
    codes,
    count,
    issued,
    member,
    member_row,
    redeem,
    start,
    sweep_on,
    unions,
)


def _verified(db, engine) -> None:
    with db.read() as session:
        assert audit.verify(session, lambda: engine.subjects(session)).ok
        assert engine.verify_entities(session) == []


def test_request_issue_and_redeem_move_the_member_with_the_same_joined_on_date(api, db, engine, unions, member):
    joined_on = member_row(db, member).joined_on
    assert count(db, "ENT-L") == 1
    case = issued(api, unions, member)
    code = case["data"]["certificate_code"]
    assert case["state"] == "issued" and len(normalise_code(code)) == 16
    assert case["data"]["valid_until"] == (engine.today() + timedelta(days=90)).isoformat()
    assert member_row(db, member).status == "transferred_out" and count(db, "ENT-L") == 0
    with db.read() as session:  # the certificate's row keeps the hash of the code, never the code
        cert = session.scalars(select(TransferCertificate)).one()
        assert cert.code_hash == certificate_code_hash(code) and normalise_code(code) not in cert.code_hash
    done = redeem(api, unions["prep_x"], code.lower().replace("-", " "))
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["state"] == "completed" and body["data"]["receiving_org"] == "ENT-X"
    new_id = body["data"]["new_member_id"]
    moved = member_row(db, new_id)
    assert (moved.org.code, moved.status, moved.joined_on, moved.name, moved.group_code) == (
        "ENT-X", "active", joined_on, "张伟", "courier")
    assert moved.member_no == "ENT-X-000001" and moved.id != member
    assert member_row(db, member).status == "transferred_out"
    assert (count(db, "ENT-L"), count(db, "ENT-X")) == (0, 1)
    _verified(db, engine)


def test_the_request_is_for_an_active_member_of_the_issuing_union(api, db, unions, member):
    other = start(api, unions["prep_x"], member, org="ENT-X")
    assert other.status_code == 422 and codes(other) == ["member_not_on_roster"]
    unknown = start(api, unions["prep"], member + 1000)
    assert unknown.status_code == 422 and codes(unknown) == ["member_not_on_roster"]
    bad = start(api, unions["prep"], member, reason="elsewhere")
    assert bad.status_code == 400 and "reason" in bad.get_json()["error"]["fields"]
    issued(api, unions, member)
    again = start(api, unions["prep"], member)
    assert again.status_code == 422 and codes(again) == ["transfer_member_not_active"]


def test_the_certificate_is_issued_by_another_reviewer_of_the_issuing_union(api, unions, member):
    case = start(api, unions["rev_l"], member).get_json()
    own = api.post(f"/cases/{case['id']}/events", unions["rev_l"], {"trigger": "issue_certificate", "data": {}})
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "four_eyes"
    higher = api.post(f"/cases/{case['id']}/events", unions["fed"], {"trigger": "issue_certificate", "data": {}})
    assert higher.status_code == 403 and higher.get_json()["error"]["code"] == "not_competent"
    prep = api.post(f"/cases/{case['id']}/events", unions["prep"], {"trigger": "issue_certificate", "data": {}})
    assert prep.status_code == 403
    ok = api.post(f"/cases/{case['id']}/events", unions["rev_l2"], {"trigger": "issue_certificate", "data": {}})
    assert ok.status_code == 200 and ok.get_json()["state"] == "issued"


def test_a_certificate_is_valid_on_its_ninetieth_day(api, db, engine, clock, unions, member):
    code = issued(api, unions, member)["data"]["certificate_code"]
    sweep_on(db, engine, clock, after(clock, 90))  # the sweep on the last valid day leaves it be
    assert member_row(db, member).status == "transferred_out"
    resp = redeem(api, unions["rev_x"], code)
    assert resp.status_code == 200 and resp.get_json()["state"] == "completed"


def test_a_certificate_is_expired_on_its_ninety_first_day_even_before_the_sweep(api, db, engine, clock, unions,
                                                                                member):
    case = issued(api, unions, member)
    clock.today = after(clock, 91)
    resp = redeem(api, unions["rev_x"], case["data"]["certificate_code"])
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "invalid_state"
    assert codes(resp) == ["certificate_expired"]
    assert member_row(db, member).status == "transferred_out"  # nothing written
    with db.read() as session:
        assert session.scalars(select(CaseParty)).all() == []


def test_the_sweep_after_the_last_valid_day_returns_the_member(api, db, engine, clock, unions, member):
    case = issued(api, unions, member)
    last = date_of(case["data"]["valid_until"])
    result = sweep_on(db, engine, clock, last)
    assert result.system_steps == 0 and member_row(db, member).status == "transferred_out"
    result = sweep_on(db, engine, clock, last + timedelta(days=1))
    assert result.system_steps == 1
    assert member_row(db, member).status == "active" and count(db, "ENT-L") == 1
    shown = api.get(f"/cases/{case['id']}", unions["prep"]).get_json()
    assert shown["state"] == "expired" and shown["closed"] and shown["data"]["returned"] is True
    assert sweep_on(db, engine, clock, last + timedelta(days=2)).system_steps == 0  # once
    resp = redeem(api, unions["rev_x"], case["data"]["certificate_code"])
    assert resp.status_code == 409 and codes(resp) == ["certificate_expired"]
    with db.read() as session:
        entries = audit.entries_for(session, "case", str(case["id"]))
        assert (entries[-1].trigger, entries[-1].actor, entries[-1].role) == ("expire", "system", "system")
    _verified(db, engine)


def test_a_certificate_is_redeemed_once(api, db, engine, unions, member, make_org, make_user, found):
    make_org("ENT-Y", "enterprise", "FED2", employees=30, female_employees=5, name="第三企业")
    found("ENT-Y", 0)
    prep_y = make_user("prep_y", "preparer", "ENT-Y")
    code = issued(api, unions, member)["data"]["certificate_code"]
    assert redeem(api, unions["prep_x"], code).status_code == 200
    second = redeem(api, prep_y, code, org="ENT-Y")
    assert second.status_code == 409 and codes(second) == ["certificate_used"]
    same = redeem(api, unions["prep_x"], code)
    assert same.status_code == 409 and codes(same) == ["certificate_used"]
    assert count(db, "ENT-Y") == 0
    _verified(db, engine)


def test_an_unknown_code_is_not_found_and_bad_input_is_named(api, unions, member):
    issued(api, unions, member)
    for code in ("3467-9ACD-EFGH-JKMN", "short", "0000000000000000"):
        resp = redeem(api, unions["prep_x"], code)
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    missing = api.post("/transfers/redeem", unions["prep_x"], {"org": "ENT-X"})
    assert missing.status_code == 400 and "code" in missing.get_json()["error"]["fields"]
    extra = api.post("/transfers/redeem", unions["prep_x"], {"code": "x", "org": "ENT-X", "more": 1})
    assert extra.status_code == 400
    assert api.post("/transfers/redeem", None, {"code": "x", "org": "ENT-X"}).status_code == 401


def test_the_issuing_union_may_not_redeem_its_own_certificate(api, db, unions, member):
    code = issued(api, unions, member)["data"]["certificate_code"]
    own = redeem(api, unions["rev_l2"], code, org="ENT-L")
    assert own.status_code == 422 and codes(own) == ["certificate_own_union"]
    with db.read() as session:
        assert session.scalars(select(CaseParty)).all() == []
    assert member_row(db, member).status == "transferred_out"


def test_only_a_preparer_or_reviewer_redeems_and_only_for_their_own_union(api, unions, member):
    code = issued(api, unions, member)["data"]["certificate_code"]
    auditor = redeem(api, unions["auditor2"], code, org="ENT-X")
    assert auditor.status_code == 403
    elsewhere = redeem(api, unions["prep_x"], code, org="ENT-M")
    assert elsewhere.status_code == 403 and elsewhere.get_json()["error"]["code"] == "not_competent"
    assert redeem(api, unions["prep_x"], code).status_code == 200


def test_each_side_sees_the_case_with_the_code_and_the_id_number_masked_but_for_the_issuing_union(
        api, db, unions, member):
    case = issued(api, unions, member)
    code = case["data"]["certificate_code"]
    number = member_row(db, member).id_number
    # before redemption: the issuing union and its federation see it; the other federation's side does not
    own = api.get(f"/cases/{case['id']}", unions["prep"]).get_json()
    assert own["data"]["certificate_code"] == code
    higher = api.get(f"/cases/{case['id']}", unions["fed"]).get_json()
    assert higher["data"]["certificate_code"] != code and "•" in higher["data"]["certificate_code"]
    assert api.get(f"/cases/{case['id']}", unions["prep_x"]).status_code == 404
    trail = api.get(f"/cases/{case['id']}/audit", unions["fed"]).get_json()["entries"]
    assert normalise_code(code) not in str(trail).replace("-", "")
    done = redeem(api, unions["prep_x"], code).get_json()
    assert done["data"]["certificate_code"] != code  # the receiving union never sees the code
    for who in ("prep_x", "rev_x", "fed2"):
        seen = api.get(f"/cases/{case['id']}", unions[who])
        assert seen.status_code == 200 and seen.get_json()["data"]["certificate_code"] != code
    assert api.get(f"/cases/{case['id']}", unions["prep_m"]).status_code == 404
    listed = api.get("/cases?workflow=transfer", unions["prep_x"]).get_json()
    assert [c["id"] for c in listed["items"]] == [case["id"]]
    trail = api.get(f"/cases/{case['id']}/audit", unions["prep_x"]).get_json()["entries"]
    assert normalise_code(code) not in str(trail).replace("-", "") and number not in str(trail)
    # the rosters: each union sees its own member's 身份证号, the other side's masked
    new_id = done["data"]["new_member_id"]
    x_roster = api.get("/orgs/ENT-X/members", unions["prep_x"]).get_json()["items"]
    assert [(m["id"], m["id_number"]) for m in x_roster] == [(new_id, number)]
    l_roster = api.get("/orgs/ENT-L/members", unions["fed"]).get_json()["items"]
    assert l_roster[0]["id_number"] != number and l_roster[0]["status"] == "transferred_out"


def test_a_person_who_joined_elsewhere_meanwhile_stays_transferred_out_when_the_certificate_expires(
        api, db, engine, clock, unions, member):
    from workflows.membership.tests.support import application, join, person

    case = issued(api, unions, member)
    join(api, unions["prep_x"], unions["rev_x"], "ENT-X", application("张伟", person(21)))
    sweep_on(db, engine, clock, date_of(case["data"]["valid_until"]) + timedelta(days=1))
    assert member_row(db, member).status == "transferred_out"
    shown = api.get(f"/cases/{case['id']}", unions["prep"]).get_json()
    assert shown["state"] == "expired" and shown["data"]["returned"] is False
    _verified(db, engine)


@pytest.mark.parametrize("n", [2])
def test_concurrent_redemptions_let_exactly_one_through(api, db, engine, unions, member, make_org, make_user,
                                                       found, n, backend):
    if backend["name"] != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite admits one writer at a time)")
    make_org("ENT-Y", "enterprise", "FED2", employees=30, female_employees=5, name="第三企业")
    found("ENT-Y", 0)
    prep_y = make_user("prep_y", "preparer", "ENT-Y")
    code = issued(api, unions, member)["data"]["certificate_code"]
    app = api.client.application
    statuses: list[int] = []
    barrier = threading.Barrier(n)

    def go(who, org):
        client = app.test_client()
        from tests.support import Api

        barrier.wait()
        statuses.append(Api(client).post("/transfers/redeem", who, {"code": code, "org": org}).status_code)

    threads = [threading.Thread(target=go, args=a) for a in ((unions["prep_x"], "ENT-X"), (prep_y, "ENT-Y"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409]
    with db.read() as session:
        assert session.scalar(select(Member.id).where(Member.status == "active")) is not None
        assert len(session.scalars(select(Member).where(Member.status == "active")).all()) == 1
    _verified(db, engine)


def date_of(text: str):
    from datetime import date

    return date.fromisoformat(text)


def test_an_issued_certificate_is_nobodys_task_and_the_request_is_the_issuing_reviewers(api, unions, member):
    case = start(api, unions["prep"], member).get_json()
    tasks = api.get("/tasks?scope=mine", unions["rev_l"]).get_json()["items"]
    assert [t["case"] for t in tasks] == [case["id"]]
    api.post(f"/cases/{case['id']}/events", unions["rev_l"], {"trigger": "issue_certificate", "data": {}})
    for who in ("prep", "rev_l", "rev_l2", "prep_x", "rev_x"):
        assert api.get("/tasks?scope=mine", unions[who]).get_json()["items"] == [], who
    shown = api.get(f"/cases/{case['id']}", unions["rev_l2"]).get_json()
    assert [a["trigger"] for a in shown["available"]] == []  # neither the redemption nor the expiry is offered
