"""The roster through the API (GET /orgs/<code>/members): its shape, masking by who looks, filters,
search, paging at its bounds, 404 outside the subtree; and leaving (退会) and death through the engine."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

import audit
from workflow import Forbidden, GuardFailed, InvalidInput, InvalidState, Member, NotCompetent, NotFound, Organisation

from .support import application, join, person, unions  # noqa: F401  (fixtures)

KEYS = {"id", "name", "id_number", "gender", "born_on", "joined_on", "member_no", "employer", "group", "status"}


@pytest.fixture
def roster(api, unions):
    """Three members of ENT-L (two couriers) and one of ENT-X."""
    made = [join(api, unions["prep"], unions["rev_l"], "ENT-L", application(n, person(i), group=g))
            for i, (n, g) in enumerate([("张伟", "courier"), ("李娜", "courier"), ("王强", None)], start=1)]
    join(api, unions["prep_x"], unions["rev_x"], "ENT-X", application("赵敏", person(9)))
    return [c["data"]["member_id"] for c in made]


def _members(api, who, code="ENT-L", **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return api.get(f"/orgs/{code}/members" + (f"?{query}" if query else ""), who)


def test_the_roster_has_the_shape_of_the_api_and_the_union_sees_whole_id_numbers(api, roster, unions):
    body = _members(api, unions["rev_l"]).get_json()
    assert set(body) == {"items", "total", "page", "per_page"} and body["total"] == 3
    assert (body["page"], body["per_page"]) == (1, 20)
    first = body["items"][-1]
    assert KEYS <= set(first)
    assert (first["name"], first["id_number"], first["gender"], first["born_on"], first["member_no"],
            first["employer"], first["group"], first["status"]) == (
        "张伟", person(1), "male", "1990-05-01", "ENT-L-000001", "ENT-L", "courier", "active")
    assert _members(api, unions["prep"]).get_json()["items"][-1]["id_number"] == person(1)


def test_a_higher_union_sees_the_roster_with_id_numbers_masked(api, roster, unions):
    for who in ("fed", "auditor", "admin"):
        items = _members(api, unions[who]).get_json()["items"]
        assert [m["id_number"] for m in items][-1] == person(1)[:6] + "********" + person(1)[-4:], who


def test_outside_the_subtree_the_roster_does_not_exist(api, roster, unions):
    assert _members(api, unions["fed2"]).status_code == 404
    assert _members(api, unions["rev_x"]).status_code == 404
    assert _members(api, unions["prep_m"]).status_code == 404  # a sibling under the same federation
    assert _members(api, unions["fed"], code="NOPE").status_code == 404
    assert _members(api, None).status_code == 401


def test_filters_and_search(api, roster, unions):
    rev = unions["rev_l"]
    assert [m["name"] for m in _members(api, rev, group="courier").get_json()["items"]] == ["李娜", "张伟"]
    assert _members(api, rev, q="王").get_json()["total"] == 1
    assert _members(api, rev, q="ENT-L-000002").get_json()["items"][0]["name"] == "李娜"
    assert _members(api, rev, q=person(3)[6:14]).get_json()["total"] == 3  # part of the ID number, in the union
    assert _members(api, rev, status="left").get_json()["total"] == 0
    # a masked viewer finds an ID number only when giving it whole
    fed = unions["fed"]
    assert _members(api, fed, q=person(3)[:12]).get_json()["total"] == 0
    assert [m["name"] for m in _members(api, fed, q=person(3)).get_json()["items"]] == ["王强"]
    for bad in ({"status": "gone"}, {"group": "pilot"}, {"page": "0"}, {"per_page": "x"}):
        resp = _members(api, rev, **bad)
        assert resp.status_code == 400 and set(bad) <= set(resp.get_json()["error"]["fields"]), bad


def test_paging_at_its_bounds(api, roster, unions):
    rev = unions["rev_l"]
    two = _members(api, rev, per_page=2).get_json()
    assert (len(two["items"]), two["total"], two["per_page"]) == (2, 3, 2)
    last = _members(api, rev, per_page=2, page=2).get_json()
    assert len(last["items"]) == 1
    assert _members(api, rev, per_page=2, page=3).get_json()["items"] == []
    assert {m["id"] for m in two["items"] + last["items"]} == set(roster)
    assert _members(api, rev, per_page=3).get_json()["items"][0]["name"] == "王强"  # newest first


def test_the_organisation_keeps_its_member_count(api, roster, unions):
    assert api.get("/orgs/ENT-L", unions["rev_l"]).get_json()["member_count"] == 43


# -- leaving and death -------------------------------------------------------

def test_leaving_is_recorded_audited_and_counted(api, db, engine, roster, unions):
    member_id = roster[0]
    today = engine.today()
    with db.write() as session:
        engine.end_membership(session, member_id, unions["rev_l"].actor(db), "left", today, "本人申请退会")
    with db.read() as session:
        m = session.get(Member, member_id)
        assert (m.status, m.left_on, m.left_comment, m.version) == ("left", today, "本人申请退会", 2)
        entries = audit.entries_for(session, "member", str(member_id))
        assert [e.trigger for e in entries] == ["approve_membership", "member_left"]
        assert audit.verify(session, lambda: engine.subjects(session)).ok
        assert engine.verify_entities(session) == []
    assert api.get("/orgs/ENT-L", unions["rev_l"]).get_json()["member_count"] == 42
    body = _members(api, unions["rev_l"], status="left").get_json()
    assert [m["name"] for m in body["items"]] == ["张伟"] and body["items"][0]["left_on"] == today.isoformat()
    with db.write() as session:
        engine.end_membership(session, roster[1], unions["rev_l"].actor(db), "deceased", today, "因病去世")
    assert _members(api, unions["rev_l"], status="deceased").get_json()["total"] == 1
    # a raw edit of the ended membership is found
    with db.write() as session:
        session.execute(text("UPDATE members SET status = 'active' WHERE id = :id"), {"id": member_id})
    with db.read() as session:
        assert not audit.verify(session, lambda: engine.subjects(session)).ok
        assert engine.verify_entities(session) == [f"member {member_id} differs from the audit trail in status"]


@pytest.mark.parametrize("who, error", [("prep", Forbidden), ("fed", NotCompetent), ("rev_x", NotFound),
                                        ("auditor", Forbidden)])
def test_only_a_reviewer_of_the_union_records_leaving(db, engine, roster, unions, who, error):
    with pytest.raises(error):
        with db.write() as session:
            engine.end_membership(session, roster[0], unions[who].actor(db), "left", engine.today(), "退会")


def test_leaving_at_the_bounds_of_its_date_and_its_input(db, engine, roster, unions):
    rev = unions["rev_l"].actor(db)
    today = engine.today()

    def end(status="left", day=today, comment="退会", member=roster[0]):
        with db.write() as session:
            engine.end_membership(session, member, rev, status, day, comment)

    with pytest.raises(GuardFailed) as err:
        end(day=today + timedelta(days=1))
    assert [r.code for r in err.value.reasons] == ["decided_on_future"]
    with pytest.raises(GuardFailed) as err:
        end(day=today - timedelta(days=1))  # the member joined today
    assert [r.code for r in err.value.reasons] == ["left_before_joined"]
    with pytest.raises(InvalidInput) as err:
        end(status="transferred_out", day="2026-13-01", comment=" ")
    assert set(err.value.fields) == {"status", "left_on", "comment"}
    with pytest.raises(NotFound):
        end(member=10 ** 12)
    with db.read() as session:
        assert session.get(Member, roster[0]).status == "active"
        assert session.scalar(select(Organisation.member_count).where(Organisation.code == "ENT-L")) == 43
    end()
    with pytest.raises(InvalidState) as err:
        end(status="deceased")
    assert err.value.reasons[0].code == "member_not_active"


def test_flask_audit_verify_counts_the_members_and_names_a_tampered_row(app, db, roster):
    runner = app.test_cli_runner()
    intact = runner.invoke(args=["audit", "verify", "--quiet"])
    assert intact.exit_code == 0 and "4 members" in intact.output, intact.output
    with db.write() as session:
        session.execute(text("UPDATE members SET group_code = 'courier' WHERE id = :id"), {"id": roster[2]})
    broken = runner.invoke(args=["audit", "verify", "--quiet"])
    assert broken.exit_code == 1 and f"member {roster[2]}" in broken.output, broken.output
