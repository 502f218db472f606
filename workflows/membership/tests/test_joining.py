"""入会 through the JSON API: the route onto the roster, the 身份证号 at its check character, one active
membership in the whole installation (at creation, at approval, and in the database under a race), four
eyes, the employer, and the member count."""
from __future__ import annotations

from sqlalchemy import select, text, update

import audit
from workflow import Member, Organisation, User

from .support import application, bad_check, codes, join, person, unions  # noqa: F401  (fixtures)


def _count(db, code: str) -> int | None:
    with db.read() as session:
        return session.scalar(select(Organisation.member_count).where(Organisation.code == code))


def test_an_approved_application_puts_the_applicant_on_the_roster_with_a_number(api, db, engine, unions):
    case = join(api, unions["prep"], unions["rev_l"], "ENT-L",
                application("张伟", person(7), employer="ENT-L", group="courier"))
    assert case["state"] == "approved"
    member_id = case["data"]["member_id"]
    assert case["data"]["member_no"] == "ENT-L-000001"
    with db.read() as session:
        m = session.get(Member, member_id)
        assert (m.name, m.id_number, m.gender, m.born_on.isoformat(), m.member_no, m.status, m.group_code) == (
            "张伟", person(7), "male", "1990-05-01", "ENT-L-000001", "active", "courier")
        assert m.org.code == "ENT-L" and m.employer.code == "ENT-L" and m.joined_on == engine.today()
        assert audit.verify(session, lambda: engine.subjects(session)).ok
        assert engine.verify_entities(session) == []
    assert _count(db, "ENT-L") == 41  # the count typed at founding, plus the member who joined
    second = join(api, unions["prep"], unions["rev_l"], "ENT-L",
                  application("李娜", person(8, female=True), employer_name="美团外卖平台", group="food_delivery"))
    with db.read() as session:
        m = session.get(Member, second["data"]["member_id"])
        assert (m.member_no, m.gender, m.employer_id, m.employer_name) == (
            "ENT-L-000002", "female", None, "美团外卖平台")
    assert _count(db, "ENT-L") == 42


def test_a_wrong_check_character_is_refused_and_the_right_one_accepted(api, unions):
    bad = api.post("/cases", unions["prep"], {"workflow": "membership", "org": "ENT-L",
                                              "data": application(number=bad_check(person(3)))})
    assert bad.status_code == 422 and codes(bad) == ["invalid_id_number"]
    assert bad.get_json()["error"]["reasons"][0]["message"]
    lower = person(3)[:17] + "x" if person(3).endswith("X") else None
    if lower:
        assert api.post("/cases", unions["prep"], {"workflow": "membership", "org": "ENT-L",
                                                   "data": application(number=lower)}).status_code == 422
    good = api.post("/cases", unions["prep"], {"workflow": "membership", "org": "ENT-L",
                                               "data": application(number=person(3))})
    assert good.status_code == 201


def test_a_member_of_one_union_cannot_join_another_at_creation_or_at_approval(api, unions):
    join(api, unions["prep"], unions["rev_l"], "ENT-L", application("王芳", person(11)))
    # at creation, in a union of another federation: the union holding the membership is named
    resp = api.post("/cases", unions["prep_x"], {"workflow": "membership", "org": "ENT-X",
                                                 "data": application("王芳", person(11))})
    assert resp.status_code == 422 and codes(resp) == ["already_a_member"]
    assert "大型企业" in resp.get_json()["error"]["reasons"][0]["message"]
    # at approval: two applications open at once, the first approved
    first = api.post("/cases", unions["prep"], {"workflow": "membership", "org": "ENT-L",
                                                "data": application("赵敏", person(12))}).get_json()
    other = api.post("/cases", unions["prep_x"], {"workflow": "membership", "org": "ENT-X",
                                                  "data": application("赵敏", person(12))}).get_json()
    for case, prep in ((first, unions["prep"]), (other, unions["prep_x"])):
        assert api.post(f"/cases/{case['id']}/events", prep, {"trigger": "submit"}).status_code == 200
    assert api.post(f"/cases/{first['id']}/events", unions["rev_l"],
                    {"trigger": "approve_membership"}).status_code == 200
    late = api.post(f"/cases/{other['id']}/events", unions["rev_x"], {"trigger": "approve_membership"})
    assert late.status_code == 422 and codes(late) == ["already_a_member"]


def test_the_database_holds_one_active_membership_when_the_rules_are_raced(api, db, unions, monkeypatch):
    """Two approvals at once both pass the rule before either row is written: the index refuses the second
    (a 422 naming the holder, nothing written), never a 500."""
    join(api, unions["prep"], unions["rev_l"], "ENT-L", application("孙磊", person(21)))
    case = api.post("/cases", unions["prep_x"], {"workflow": "membership", "org": "ENT-X",
                                                 "data": application("孙磊", person(22))}).get_json()
    api.post(f"/cases/{case['id']}/events", unions["prep_x"], {"trigger": "submit"})
    with db.write() as session:  # as if the other approval had written the same person meanwhile
        session.execute(update(Member).values(id_number=person(22)))
    before = _count(db, "ENT-X")
    resp = api.post(f"/cases/{case['id']}/events", unions["rev_x"], {"trigger": "approve_membership"})
    assert resp.status_code == 422, resp.get_json()
    # the rule saw the raw edit too; take it away to reach the index itself
    from workflow import rules

    monkeypatch.setitem(rules.LOOKUPS, "active_membership", lambda session, number: None)
    resp = api.post(f"/cases/{case['id']}/events", unions["rev_x"], {"trigger": "approve_membership"})
    assert resp.status_code == 422 and codes(resp) == ["already_a_member"]
    assert "大型企业" in resp.get_json()["error"]["reasons"][0]["message"]
    assert api.get(f"/cases/{case['id']}", unions["prep_x"]).get_json()["state"] == "submitted"
    assert _count(db, "ENT-X") == before
    with db.read() as session:
        assert session.scalar(select(Member.id).where(Member.org_id != session.scalar(
            select(Organisation.id).where(Organisation.code == "ENT-L")))) is None


def test_a_left_member_may_join_again(api, db, engine, unions):
    case = join(api, unions["prep"], unions["rev_l"], "ENT-L", application("周杰", person(31)))
    with db.write() as session:
        engine.end_membership(session, case["data"]["member_id"], unions["rev_l"].actor(db), "left",
                              engine.today(), "本人申请退会")
    again = join(api, unions["prep_x"], unions["rev_x"], "ENT-X", application("周杰", person(31)))
    assert again["state"] == "approved"


def test_four_eyes_the_person_who_submitted_cannot_approve(api, db, unions):
    case = api.post("/cases", unions["prep"], {"workflow": "membership", "org": "ENT-L",
                                               "data": application()}).get_json()
    api.post(f"/cases/{case['id']}/events", unions["prep"], {"trigger": "submit"})
    with db.write() as session:  # the clerk has since become a reviewer of the union
        session.execute(update(User).where(User.username == "prep").values(role="reviewer"))
    resp = api.post(f"/cases/{case['id']}/events", unions["prep"], {"trigger": "approve_membership"})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "four_eyes"
    assert api.post(f"/cases/{case['id']}/events", unions["rev_l"],
                    {"trigger": "approve_membership"}).status_code == 200


def test_only_a_reviewer_of_the_union_itself_decides(api, unions):
    case = api.post("/cases", unions["prep"], {"workflow": "membership", "org": "ENT-L",
                                               "data": application()}).get_json()
    api.post(f"/cases/{case['id']}/events", unions["prep"], {"trigger": "submit"})
    fed = api.post(f"/cases/{case['id']}/events", unions["fed"], {"trigger": "approve_membership"})
    assert fed.status_code == 403 and fed.get_json()["error"]["code"] == "not_competent"
    other = api.post(f"/cases/{case['id']}/events", unions["rev_x"], {"trigger": "approve_membership"})
    assert other.status_code == 404
    back = api.post(f"/cases/{case['id']}/events", unions["rev_l"], {"trigger": "return_membership"})
    assert back.status_code == 400
    back = api.post(f"/cases/{case['id']}/events", unions["rev_l"],
                    {"trigger": "return_membership", "comment": "身份证号请核对"})
    assert back.status_code == 200 and back.get_json()["state"] == "draft"
    api.post(f"/cases/{case['id']}/events", unions["prep"], {"trigger": "submit"})
    no = api.post(f"/cases/{case['id']}/events", unions["rev_l"],
                  {"trigger": "reject_membership", "comment": "非本单位职工"})
    assert no.get_json()["state"] == "rejected" and "member_id" not in no.get_json()["data"]


def test_the_employer_must_be_of_the_union_and_given_one_way(api, unions):

    def create(**extra):
        return api.post("/cases", unions["prep"], {"workflow": "membership", "org": "ENT-L",
                                                   "data": application(**extra)})

    assert create(employer="ENT-L").status_code == 201
    outside = create(employer="ENT-M")
    assert outside.status_code == 422 and codes(outside) == ["employer_outside_union"]
    unknown = create(employer="NOPE")
    assert unknown.status_code == 422 and codes(unknown) == ["employer_outside_union"]
    both = create(employer="ENT-L", employer_name="某平台")
    assert both.status_code == 422 and codes(both) == ["employer_code_and_name"]
    group = create(group="pilot")
    assert group.status_code == 400 and "group" in group.get_json()["error"]["fields"]


def test_a_union_not_founded_takes_no_members(api, unions):
    resp = api.post("/cases", unions["prep_m"], {"workflow": "membership", "org": "ENT-M",
                                                 "data": application()})
    assert resp.status_code == 422 and codes(resp) == ["union_not_founded"]


def test_the_review_step_has_a_deadline(api, engine, unions):
    case = api.post("/cases", unions["prep"], {"workflow": "membership", "org": "ENT-L",
                                               "data": application()}).get_json()
    submitted = api.post(f"/cases/{case['id']}/events", unions["prep"], {"trigger": "submit"}).get_json()
    assert submitted["due_on"] == engine.calendar().nth_working_day_after(engine.today(), 10).isoformat()


def test_a_tampered_member_row_fails_verification(api, db, engine, unions):
    case = join(api, unions["prep"], unions["rev_l"], "ENT-L", application("吴敏", person(41)))
    member_id = case["data"]["member_id"]
    with db.write() as session:
        session.execute(text("UPDATE members SET name = '冒名' WHERE id = :id"), {"id": member_id})
    with db.read() as session:
        result = audit.verify(session, lambda: engine.subjects(session))
        assert not result.ok and f"member {member_id}" in result.first_bad["problem"]
        assert engine.verify_entities(session) == [f"member {member_id} differs from the audit trail in name"]
