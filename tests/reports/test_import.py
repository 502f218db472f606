"""The register import (摸底排查 名录导入): good rows, every bad row with its reason, encodings, all or nothing."""
from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

import audit
from bench.import_register import credit_code, make_register
from workflow import Actor, Organisation
from services.accounts import find_org
from services.register import import_register

HEADER = ["企业名称", "统一社会信用代码", "地址", "职工人数", "女职工人数", "上级组织代码", "是否建会", "会员人数"]
CODE_A, CODE_B, CODE_C = credit_code(1), credit_code(2), credit_code(3)
ADMIN = Actor(0, "importer", "admin")


def csv_bytes(rows, header=HEADER, encoding="utf-8", delimiter=",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER, title: str | None = None) -> bytes:
    book = Workbook()
    ws = book.active
    if title:
        ws.append([title])
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run(db, content: bytes, actor: Actor = ADMIN, dry_run: bool = False, filename: str = "名录.csv"):
    with (db.read() if dry_run else db.write()) as session:
        return import_register(session, content, actor, filename=filename, dry_run=dry_run)


def org(db, code: str) -> Organisation | None:
    with db.read() as session:
        return find_org(session, code)


def entries(db, trigger: str | None = None) -> list[dict]:
    with db.read() as session:
        rows = session.scalars(select(audit.AuditEntry).where(audit.AuditEntry.subject_type == "org")
                               .order_by(audit.AuditEntry.seq)).all()
        return [{"id": e.subject_id, "trigger": e.trigger, "actor": e.actor, "data": json.loads(e.data)}
                for e in rows if trigger is None or e.trigger == trigger]


def org_count(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Organisation))


GOOD = [
    ["海城示范物流有限公司", CODE_A, "海城区人民路1号", 120, 30, "TOWN", "", ""],
    ["海城示范餐饮有限公司", CODE_B.lower(), "", "45", "", "COM", "已建会", "40"],
]


def test_good_rows_create_enterprises_with_their_trail(db, tree):
    result = run(db, csv_bytes(GOOD))
    assert result.ok and result.written and (result.rows, result.created, result.updated) == (2, 2, 0)
    a, b = org(db, CODE_A), org(db, CODE_B)
    town, com = org(db, "TOWN"), org(db, "COM")
    assert (a.name, a.kind, a.credit_code, a.address, a.employees, a.female_employees) == \
        ("海城示范物流有限公司", "enterprise", CODE_A, "海城区人民路1号", 120, 30)
    assert a.parent_id == town.id and a.path == f"{town.path}{a.id}/" and a.union_status == "none"
    assert (b.credit_code, b.address, b.female_employees, b.union_status, b.member_count) == \
        (CODE_B, None, None, "founded", 40)
    assert b.path == f"{com.path}{b.id}/"
    made = entries(db, "import_create")
    assert [e["id"] for e in made] == [CODE_A, CODE_B]
    assert made[0]["actor"] == "importer" and made[0]["data"]["row"] == 2 and made[0]["data"]["file"] == "名录.csv"
    assert made[0]["data"]["changes"] == {
        "name": [None, "海城示范物流有限公司"], "credit_code": [None, CODE_A], "employees": [None, 120],
        "address": [None, "海城区人民路1号"], "female_employees": [None, 30], "parent": [None, "TOWN"]}
    assert made[1]["data"]["changes"]["union_status"] == [None, "founded"]
    assert made[1]["data"]["changes"]["member_count"] == [None, 40]


def test_known_enterprises_are_updated_by_credit_code(db, tree, api):
    run(db, csv_bytes(GOOD))
    rows = [
        ["海城示范物流股份有限公司", CODE_A, "", 150, "", "TOWN", "", ""],      # renamed, grown; blanks keep
        ["海城示范餐饮有限公司", CODE_B, "", 45, "", "TOWN", "", ""],            # moved to the town
    ]
    result = run(db, csv_bytes(rows))
    assert (result.created, result.updated, result.unchanged) == (0, 2, 0)
    a, b = org(db, CODE_A), org(db, CODE_B)
    assert (a.name, a.employees, a.female_employees, a.address) == ("海城示范物流股份有限公司", 150, 30, "海城区人民路1号")
    assert b.parent_id == org(db, "TOWN").id and b.path == f"{org(db, 'TOWN').path}{b.id}/"
    assert (b.union_status, b.member_count) == ("founded", 40)
    updates = entries(db, "import_update")
    assert updates[0]["id"] == CODE_A and updates[0]["data"]["changes"] == {
        "name": ["海城示范物流有限公司", "海城示范物流股份有限公司"], "employees": [120, 150]}
    assert updates[1]["data"]["changes"] == {"parent": ["COM", "TOWN"]}
    # the same file again changes nothing and writes no entry
    again = run(db, csv_bytes(rows))
    assert (again.updated, again.unchanged) == (0, 2) and len(entries(db, "import_update")) == 2
    # the moved enterprise is now seen by the town, not by the community
    town_fed = api.get(f"/orgs/{CODE_B}", tree["com"])
    assert town_fed.status_code == 404 and api.get(f"/orgs/{CODE_B}", tree["town"]).status_code == 200


def test_an_existing_enterprise_made_by_hand_is_matched(db, tree, make_org):
    make_org("ENT-HAND", "enterprise", "TOWN", employees=80, female_employees=10, credit_code=CODE_C, name="手工登记")
    result = run(db, csv_bytes([["手工登记", CODE_C, "", 80, 10, "TOWN", "", ""]]))
    assert (result.created, result.unchanged) == (0, 1)
    assert [c.code for c in result.changes] == ["ENT-HAND"]


def test_dry_run_writes_nothing_but_tells_everything(db, tree):
    before, trail = org_count(db), len(entries(db))
    result = run(db, csv_bytes(GOOD), dry_run=True)
    assert result.ok and not result.written and result.dry_run
    assert [(c.action, c.code) for c in result.changes] == [("create", CODE_A), ("create", CODE_B)]
    assert org_count(db) == before and len(entries(db)) == trail


def bad_rows() -> list[tuple[list, str, str, str]]:
    """(row, field, code, a fragment of the Chinese message)."""
    wrong_check = CODE_C[:17] + ("0" if CODE_C[17] != "0" else "1")
    return [
        (["", credit_code(10), "", 10, 1, "TOWN", "", ""], "name", "required", "不能为空"),
        (["校验位错", wrong_check, "", 10, 1, "TOWN", "", ""], "credit_code", "credit_code_check", "校验位错误"),
        (["位数错", CODE_C[:17], "", 10, 1, "TOWN", "", ""], "credit_code", "credit_code_length", "应为18位（现为17位）"),
        (["字符错", "91330100MA2I00001" + "X", "", 10, 1, "TOWN", "", ""], "credit_code", "credit_code_chars", "无效字符"),
        (["无代码", "", "", 10, 1, "TOWN", "", ""], "credit_code", "required", "不能为空"),
        (["负数", credit_code(11), "", -5, "", "TOWN", "", ""], "employees", "negative", "不能为负数"),
        (["小数", credit_code(12), "", "12.5", "", "TOWN", "", ""], "employees", "not_integer", "应为整数（现为“12.5”）"),
        (["无人数", credit_code(13), "", "", "", "TOWN", "", ""], "employees", "required", "不能为空"),
        (["女职工多", credit_code(14), "", 10, 11, "TOWN", "", ""], "female_employees", "female_exceeds",
         "女职工人数（11）不能大于职工人数（10）"),
        (["女职工负", credit_code(15), "", 10, -1, "TOWN", "", ""], "female_employees", "negative", "不能为负数"),
        (["无上级", credit_code(16), "", 10, 1, "", "", ""], "parent", "required", "不能为空"),
        (["上级不存在", credit_code(17), "", 10, 1, "NOPE", "", ""], "parent", "unknown_parent", "没有代码为“NOPE”的组织"),
        (["上级是企业", credit_code(18), "", 10, 1, "ENT-L", "", ""], "parent", "parent_is_enterprise", "企业下不能再有企业"),
        (["状态错", credit_code(19), "", 10, 1, "TOWN", "不知道", ""], "union_status", "status_invalid", "已建会"),
        (["会员多", credit_code(20), "", 10, 1, "TOWN", "已建会", 11], "member_count", "members_range", "1 至职工人数（10）"),
        (["缺会员", credit_code(21), "", 10, 1, "TOWN", "已建会", ""], "member_count", "members_required", "须填写会员人数"),
        (["无会有员", credit_code(22), "", 10, 1, "TOWN", "未建会", 5], "member_count", "members_without_union",
         "未建会企业不能填写会员人数"),
    ]


def test_every_bad_row_is_reported_and_nothing_is_written(db, tree):
    cases = bad_rows()
    rows = [GOOD[0]] + [r for r, *_ in cases] + [GOOD[1], ["重复的", CODE_A, "", 10, 1, "TOWN", "", ""]]
    before, trail = org_count(db), len(entries(db))
    for dry_run in (True, False):
        result = run(db, csv_bytes(rows), dry_run=dry_run)
        assert not result.ok and not result.written
        got = {(p.row, p.field, p.code) for p in result.errors}
        for i, (_row, field, code, fragment) in enumerate(cases, start=3):
            assert (i, field, code) in got, (i, field, code)
            problem = next(p for p in result.errors if (p.row, p.field, p.code) == (i, field, code))
            assert fragment in problem.message("zh"), problem.message("zh")
            assert problem.message("en") != problem.message("zh")
        duplicate = [p for p in result.errors if p.code == "duplicate_in_file"]
        assert [(p.row, p.params) for p in duplicate] == [(len(rows) + 1, {"first": 2})]
        assert "与第 2 行重复" in duplicate[0].text()
        assert result.bad_rows == len(cases) + 1
        # the good rows are reported as such, but nothing lands
        assert {c.row for c in result.changes} == {2, len(rows)}
    assert org_count(db) == before and len(entries(db)) == trail


def test_a_row_collects_all_its_reasons(db, tree):
    result = run(db, csv_bytes([["", "123", "", -1, "x", "NOPE", "", ""]]))
    assert {(p.field, p.code) for p in result.errors} == {
        ("name", "required"), ("credit_code", "credit_code_length"), ("employees", "negative"),
        ("female_employees", "not_integer"), ("parent", "unknown_parent")}
    assert result.errors[0].text().startswith("第 2 行　企业名称：")


def test_union_status_rules_against_the_register(db, tree, make_user, make_case, fire):
    run(db, csv_bytes(GOOD))  # CODE_B founded with 40 members
    prep = make_user("prep_a", "preparer", CODE_A)
    case = make_case(prep, "founding", CODE_A)
    fire(prep, case["id"], "form_group", {"group_members": ["甲", "乙", "丙"]})
    rows = [
        ["海城示范物流有限公司", CODE_A, "", 120, 30, "TOWN", "已建会", 100],   # a case is open
        ["海城示范餐饮有限公司", CODE_B, "", 45, "", "COM", "未建会", ""],       # cannot undo a union
        ["海城示范餐饮有限公司", credit_code(30), "", 20, "", "COM", "", 5],     # members, no union
    ]
    result = run(db, csv_bytes(rows))
    assert {(p.row, p.code) for p in result.errors} == {
        (2, "status_case_open"), (3, "status_downgrade"), (4, "members_without_union")}
    # fewer employees than the members already recorded
    result = run(db, csv_bytes([["海城示范餐饮有限公司", CODE_B, "", 39, "", "COM", "", ""]]))
    assert [(p.field, p.code, p.params) for p in result.errors] == [("employees", "below_members", {"members": 40})]
    # a founded union's member count may be corrected
    result = run(db, csv_bytes([["海城示范餐饮有限公司", CODE_B, "", 45, "", "COM", "已建会", 42]]))
    assert result.ok and result.changes[0].changes == {"member_count": [40, 42]}
    assert org(db, CODE_B).member_count == 42


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_encodings(db, tree, encoding):
    rows = [["滨江镇镕鑫纺织有限公司", CODE_A, "滨江镇工业区", 88, 60, "TOWN", "未建会", ""]]
    content = csv_bytes(rows, encoding=encoding, delimiter="\t" if encoding == "utf-16" else ",")
    if encoding == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            content.decode("utf-8")
    if encoding == "utf-8-sig":
        assert content.startswith(b"\xef\xbb\xbf")
    result = run(db, content)
    assert result.ok, [p.text() for p in result.errors]
    a = org(db, CODE_A)
    assert (a.name, a.address) == ("滨江镇镕鑫纺织有限公司", "滨江镇工业区")


def test_xlsx_with_a_title_row_and_numbers_as_excel_stores_them(db, tree):
    rows = [["高新园区某电子有限公司", CODE_A, None, 300.0, 120, "TOWN", "已建会", 250.0]]
    result = run(db, xlsx_bytes(rows, title="2026年企业名录（摸底排查）"), filename="名录.xlsx")
    assert result.ok, [p.text() for p in result.errors]
    assert [c.row for c in result.changes] == [3]   # the row as numbered in Excel
    a = org(db, CODE_A)
    assert (a.employees, a.member_count, a.union_status) == (300, 250, "founded")


def test_headers_are_recognised_loosely(db, tree):
    header = ["* 企业名称", "统一社会信用代码 ", "职工人数", "上级组织代码", "备注"]
    result = run(db, csv_bytes([["某公司", CODE_A, "1,200", "TOWN", "无关的列"]], header=header))
    assert result.ok and org(db, CODE_A).employees == 1200


@pytest.mark.parametrize("content, code", [
    (b"", "file_empty"),
    (b"\xd0\xcf\x11\xe0" + b"\0" * 100, "xls_not_supported"),
    (b"PK\x03\x04not really a zip", "file_unreadable"),
    ("名称,地址\n某公司,某地\n".encode(), "missing_columns"),
    (csv_bytes([]), "file_empty"),
    (b"\xff\xfe\x00\xd8", "file_encoding"),
])
def test_files_that_cannot_be_used(db, tree, content, code):
    result = run(db, content)
    assert [p.code for p in result.errors] == [code] and result.errors[0].row is None
    assert not result.written


def test_missing_columns_are_named(db, tree):
    result = run(db, "企业名称,地址\n某公司,某地\n".encode())
    assert result.errors[0].message() == "缺少必需的列：统一社会信用代码、职工人数、上级组织代码"


def test_same_name_is_a_warning_not_an_error(db, tree):
    result = run(db, csv_bytes([["大型企业", CODE_A, "", 60, 20, "FED", "", ""]]))
    assert result.ok and result.written
    assert [(w.row, w.code, w.params) for w in result.warnings] == [(2, "same_name", {"code": "ENT-L"})]


def test_a_10000_row_file(db, tree):
    content = make_register(10_000, ["TOWN", "COM", "FED"])
    assert content.count(b"\n") == 10_001
    result = run(db, content)
    assert result.ok and result.written and result.created == 10_000
    made = entries(db, "import_create")
    assert len(made) == 10_000 and made[-1]["data"]["row"] == 10_001
    with db.read() as session:
        town = find_org(session, "TOWN")
        under_town = session.scalar(select(func.count()).select_from(Organisation)
                                    .where(Organisation.path.startswith(town.path), Organisation.kind == "enterprise"))
        result = audit.verify(session)
    # TOWN's own two enterprises, its community's two made by rows 2, 5, 8, ...; and ENT-S, ENT-M
    assert under_town == 2 + 3334 + 3333
    assert result.ok and result.checked >= 10_000


def test_line_breaks_become_spaces_and_control_characters_are_refused(db, tree):
    rows = [["海城\n示范公司", CODE_A, "人民路\r\n1号", 10, 1, "TOWN", "", ""],
            ["坏\x0b名字", CODE_B, "某\x07地", 10, 1, "TOWN", "", ""]]
    result = run(db, csv_bytes(rows))
    assert [(p.row, p.field, p.code) for p in result.errors] == [
        (3, "name", "control_characters"), (3, "address", "control_characters")]
    result = run(db, csv_bytes(rows[:1]))
    assert result.written and (org(db, CODE_A).name, org(db, CODE_A).address) == ("海城 示范公司", "人民路 1号")
