"""POST /orgs/<code>/members/import: the dry run's shape, every problem code at its bound, all or nothing,
csv with and without a BOM and xlsx, files refused whole, who may import, and the trail verified after."""
from __future__ import annotations

import datetime as dt

import pytest

import audit
from workflows.membership.tests.support import join, unions  # noqa: F401  (fixtures)

from .support import (
    bad_check,
    csv_bytes,
    id_number,
    member_count,
    members_of,
    people,
    person,
    post_import,
    row,
    total_members,
    xlsx_bytes,
)


def problems(resp) -> list[tuple[int | None, str | None, str]]:
    return [(p["row"], p["field"], p["code"]) for p in resp.get_json()["problems"]]


def test_a_dry_run_of_a_good_file_answers_the_counts_and_writes_nothing(client, db, unions):
    content = csv_bytes([row("张伟", person(1), group="快递员"), row("李娜", person(2, female=True))])
    resp = post_import(client, unions["rev_l"], "ENT-L", content, dry_run=True)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"rows": 2, "valid": 2, "problems": []}
    assert members_of(db, "ENT-L") == [] and member_count(db, "ENT-L") == 40


def test_the_real_run_writes_every_row_with_numbers_and_counts(client, db, unions, engine):
    content = csv_bytes([row("张伟", person(1), "ENT-L", "2024-03-01", "快递员"),
                         row("李娜", person(2, female=True), "大型企业", "", "courier", "L-7"),
                         row("王强", person(3))])
    resp = post_import(client, unions["rev_l"], "ENT-L", content)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json() == {"rows": 3, "valid": 3, "problems": []}
    members = members_of(db, "ENT-L")
    assert [(m.name, m.member_no, m.joined_on, m.group_code, m.gender, m.status, m.version) for m in members] == [
        ("张伟", "ENT-L-000001", dt.date(2024, 3, 1), "courier", "male", "active", 1),
        ("李娜", "L-7", engine.today(), "courier", "female", "active", 1),
        ("王强", "ENT-L-000002", engine.today(), None, "male", "active", 1)]
    assert {m.employer_id for m in members} == {members[0].org_id}
    assert members[0].born_on == dt.date(1990, 5, 1)
    assert member_count(db, "ENT-L") == 43
    with db.read() as session:
        assert audit.verify(session, lambda: engine.subjects(session)).ok
        assert engine.verify_entities(session) == []
        entries = audit.entries_for(session, "member", str(members[0].id))
        assert [(e.trigger, e.actor, e.version) for e in entries] == [("member_import", "rev_l", 1)]


def test_numbers_given_continue_after_those_the_roster_has(client, db, unions, api):
    join(api, unions["prep"], unions["rev_l"], "ENT-L",
         {"applicant": {"name": "赵敏", "id_number": person(9)}})
    content = csv_bytes([row("张伟", person(1), member_no="ENT-L-000003"), row("李娜", person(2))])
    assert post_import(client, unions["rev_l"], "ENT-L", content).status_code == 201
    assert [m.member_no for m in members_of(db, "ENT-L")] == ["ENT-L-000001", "ENT-L-000003", "ENT-L-000002"]


def test_each_problem_is_named_with_its_row_and_field(client, db, unions, api, engine):
    join(api, unions["prep_x"], unions["rev_x"], "ENT-X", {"applicant": {"name": "赵敏", "id_number": person(9)}})
    tomorrow = (engine.today() + dt.timedelta(days=1)).isoformat()
    rows = [
        row("", person(1)),                                 # 1 name missing
        row("李娜", ""),                                     # 2 ID number missing
        row("王强", bad_check(person(3))),                   # 3 wrong 18th character
        row("刘洋", person(4)),                              # 4 fine
        row("陈静", person(4)),                              # 5 repeats row 4
        row("赵敏", person(9)),                              # 6 a member of ENT-X (another federation)
        row("孙丽", person(6), "NOPE"),                      # 7 unknown employer
        row("周杰", person(7), "ENT-M"),                     # 8 outside the union's subtree
        row("吴磊", person(8), joined="2024/03/01"),         # 9 not YYYY-MM-DD
        row("郑爽", person(10), joined="2024-02-30"),        # 10 no such day
        row("冯巩", person(11), joined=tomorrow),            # 11 after today
        row("褚英", person(12), group="飞行员"),              # 12 not a group
        row("卫青", person(13), member_no="M-1"),            # 13 fine
        row("蒋敏", person(14), member_no="M-1"),            # 14 number repeats row 13
        row("沈阳", person(15), joined=engine.today().isoformat()),  # 15 today is fine
        row("韩梅", person(16).replace("X", "x") if person(16).endswith("X") else person(16)[:17] + "x"),  # 16
    ]
    resp = post_import(client, unions["rev_l"], "ENT-L", csv_bytes(rows), dry_run=True)
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["rows"], body["valid"]) == (16, 3)
    assert problems(resp) == [
        (1, "name", "required"), (2, "id_number", "required"), (3, "id_number", "invalid_id_number"),
        (5, "id_number", "duplicate_in_file"), (6, "id_number", "already_a_member"),
        (7, "employer", "unknown_employer"), (8, "employer", "employer_outside_union"),
        (9, "joined_on", "bad_date"), (10, "joined_on", "bad_date"), (11, "joined_on", "date_in_future"),
        (12, "group", "unknown_group"), (14, "member_no", "duplicate_member_no"),
        (16, "id_number", "invalid_id_number")]
    messages = {p["row"]: p["message"] for p in body["problems"]}
    assert "外区企业" in messages[6] and "第 4 行" in messages[5] and "第18位校验码" in messages[3]
    assert "第 13 行" in messages[14]
    english = post_import(client, unions["rev_l"], "ENT-L", csv_bytes(rows), dry_run=True, lang="en").get_json()
    assert "check character" in english["problems"][2]["message"]
    # the real run: 422 with the same problems, nothing written
    resp = post_import(client, unions["rev_l"], "ENT-L", csv_bytes(rows))
    assert resp.status_code == 422 and problems(resp)[0] == (1, "name", "required")
    assert members_of(db, "ENT-L") == [] and member_count(db, "ENT-L") == 40


def test_the_check_character_at_its_bound(client, unions):
    good = person(5)
    wrong = [good[:17] + c for c in "0123456789X" if c != good[17]]
    rows = [row(f"人{i}", n) for i, n in enumerate([good, *wrong])]
    resp = post_import(client, unions["rev_l"], "ENT-L", csv_bytes(rows), dry_run=True)
    assert [p[0] for p in problems(resp)] == list(range(2, 12))
    assert {p[2] for p in problems(resp)} == {"invalid_id_number"}
    ten = id_number("11010519491231002")  # a check character of X
    assert ten.endswith("X")
    ok = post_import(client, unions["rev_l"], "ENT-L", csv_bytes([row("老王", ten)]), dry_run=True)
    assert ok.get_json()["problems"] == []


def test_one_bad_row_writes_nothing(client, db, unions, engine):
    rows = [row(f"人{i}", n) for i, n in enumerate(people(200))]
    rows[199] = row("最后一人", bad_check(rows[199][1]))
    before = total_members(db)
    with db.read() as session:
        head = audit.verify(session).checked
    resp = post_import(client, unions["rev_l"], "ENT-L", csv_bytes(rows))
    assert resp.status_code == 422 and problems(resp) == [(200, "id_number", "invalid_id_number")]
    assert total_members(db) == before and member_count(db, "ENT-L") == 40
    with db.read() as session:
        assert audit.verify(session).checked == head


def test_a_member_of_another_union_and_one_who_left(client, db, unions, api, engine):
    """Against the installation: an active member elsewhere is refused; one who left may join again."""
    case = join(api, unions["prep_x"], unions["rev_x"], "ENT-X",
                {"applicant": {"name": "赵敏", "id_number": person(9)}})
    resp = post_import(client, unions["rev_l"], "ENT-L", csv_bytes([row("赵敏", person(9))]))
    assert resp.status_code == 422 and problems(resp) == [(1, "id_number", "already_a_member")]
    with db.write() as session:
        engine.end_membership(session, case["data"]["member_id"], unions["rev_x"].actor(db), "left",
                              engine.today().isoformat(), "调离")
    assert post_import(client, unions["rev_l"], "ENT-L", csv_bytes([row("赵敏", person(9))])).status_code == 201


def test_a_number_already_on_the_roster(client, db, unions):
    assert post_import(client, unions["rev_l"], "ENT-L", csv_bytes([row("张伟", person(1))])).status_code == 201
    resp = post_import(client, unions["rev_l"], "ENT-L", csv_bytes([row("李娜", person(2), member_no="ENT-L-000001")]),
                       dry_run=True)
    assert problems(resp) == [(1, "member_no", "duplicate_member_no")]
    assert "已在名册中使用" in resp.get_json()["problems"][0]["message"]


@pytest.mark.parametrize("bom", [True, False])
def test_csv_with_and_without_a_bom(client, db, unions, bom):
    content = csv_bytes([row("张伟", person(1), group="快递员")], bom=bom)
    assert content.startswith(b"\xef\xbb\xbf") is bom
    resp = post_import(client, unions["rev_l"], "ENT-L", content)
    assert resp.status_code == 201, resp.get_json()
    assert [(m.name, m.group_code) for m in members_of(db, "ENT-L")] == [("张伟", "courier")]


def test_csv_in_gb18030(client, db, unions):
    content = csv_bytes([row("张伟", person(1), "大型企业")], bom=False, encoding="gb18030")
    assert post_import(client, unions["rev_l"], "ENT-L", content).status_code == 201


def test_xlsx_with_date_cells(client, db, unions):
    content = xlsx_bytes([row("张伟", person(1), joined=dt.datetime(2023, 7, 1)),
                          row("李娜", person(2), joined=dt.date(2022, 1, 2), member_no=1001)])
    resp = post_import(client, unions["rev_l"], "ENT-L", content, name="名册.xlsx")
    assert resp.status_code == 201, resp.get_json()
    assert [(m.joined_on, m.member_no) for m in members_of(db, "ENT-L")] == [
        (dt.date(2023, 7, 1), "ENT-L-000001"), (dt.date(2022, 1, 2), "1001")]


def test_an_id_number_saved_as_a_number_is_named(client, unions):
    content = xlsx_bytes([row("张伟", 110105194912310021)])
    resp = post_import(client, unions["rev_l"], "ENT-L", content, name="名册.xlsx", dry_run=True)
    assert problems(resp) == [(1, "id_number", "invalid_id_number")]
    assert "文本" in resp.get_json()["problems"][0]["message"]


def test_headers_are_read_from_the_first_row_only(client, unions):
    content = csv_bytes([["姓名", "身份证号"], row("张伟", person(1))], header=["会员名册", ""])
    resp = post_import(client, unions["rev_l"], "ENT-L", content, dry_run=True)
    assert resp.status_code == 400
    assert problems(resp) == [(None, None, "missing_columns")]
    assert "姓名" in resp.get_json()["problems"][0]["message"]


def test_a_thousand_bad_rows_are_each_named(client, db, unions):
    rows = [row(f"人{i}", bad_check(n)) for i, n in enumerate(people(1000))]
    resp = post_import(client, unions["rev_l"], "ENT-L", csv_bytes(rows))
    assert resp.status_code == 422
    assert [p[0] for p in problems(resp)] == list(range(1, 1001))
    assert total_members(db) == 0


def test_who_may_import(client, unions, make_user):
    content = csv_bytes([row()])
    assert post_import(client, unions["prep"], "ENT-L", content, dry_run=True).status_code == 403
    assert post_import(client, unions["fed"], "ENT-L", content, dry_run=True).status_code == 403
    assert post_import(client, unions["rev_x"], "ENT-L", content, dry_run=True).status_code == 404
    assert post_import(client, None, "ENT-L", content, dry_run=True).status_code == 401
    assert post_import(client, unions["rev_l"], "NOPE", content, dry_run=True).status_code == 404
    rev_m = make_user("rev_m", "reviewer", "ENT-M")
    resp = post_import(client, rev_m, "ENT-M", content, dry_run=True)
    assert resp.status_code == 422 and resp.get_json()["error"]["reasons"][0]["code"] == "union_not_founded"


def test_no_file_is_bad_input(client, unions):
    resp = client.post("/api/v1/orgs/ENT-L/members/import", headers=unions["rev_l"].headers,
                       data={}, content_type="multipart/form-data")
    assert resp.status_code == 400 and "file" in resp.get_json()["error"]["fields"]


def test_audit_verify_is_red_after_an_imported_row_is_tampered_with(client, db, unions, engine):
    assert post_import(client, unions["rev_l"], "ENT-L", csv_bytes([row("张伟", person(1)),
                                                                    row("李娜", person(2))])).status_code == 201
    from sqlalchemy import text

    with db.write() as session:
        session.execute(text("UPDATE members SET name = '王五' WHERE member_no = 'ENT-L-000002'"))
    with db.read() as session:
        assert not audit.verify(session, lambda: engine.subjects(session)).ok
        assert any("differs" in p and "name" in p for p in engine.verify_entities(session))


def test_lengths_at_their_bounds(client, unions):
    rows = [row("张" * 50, person(1), member_no="N" * 32), row("李" * 51, person(2), member_no="M" * 33)]
    resp = post_import(client, unions["rev_l"], "ENT-L", csv_bytes(rows), dry_run=True)
    assert problems(resp) == [(2, "name", "too_long"), (2, "member_no", "too_long")]


def test_a_hundred_thousand_rows_are_read_and_one_more_is_refused(client, unions):
    from services.roster_import import MAX_ROWS

    numbers = people(MAX_ROWS)
    rows = [[f"人{i}", n] for i, n in enumerate(numbers)]
    header = ["姓名", "身份证号"]
    resp = post_import(client, unions["rev_l"], "ENT-L", csv_bytes(rows, header=header), dry_run=True)
    assert resp.status_code == 200 and resp.get_json() == {"rows": MAX_ROWS, "valid": MAX_ROWS, "problems": []}
    resp = post_import(client, unions["rev_l"], "ENT-L", csv_bytes(rows + [["多一人", person(1)]], header=header),
                       dry_run=True)
    assert resp.status_code == 422 and [p["code"] for p in resp.get_json()["problems"]] == ["too_many_rows"]
