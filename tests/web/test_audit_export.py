"""The auditor's exports for people (Excel and CSV): Chinese headers (English on English pages), real names
with organisation, labels instead of keys, Beijing times, the explorer's filters; and the search by a
person's real name."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from audit import AuditEntry
from services.accounts import find_user, update_user

from .ui_support import login

HEADERS = ["序号", "时间（北京时间）", "办理日期", "操作人", "用户名", "所属组织", "角色", "对象类型", "对象", "案件",
           "流程", "案件单位", "操作", "原状态", "新状态", "说明", "哈希", "前一条哈希"]


@pytest.fixture
def trail(tree, make_case, fire, db):
    """A sample case in FED's subtree, decided by `fed`, who is called 李敏; one in FED2's."""
    with db.write() as session:  # as an administrator names a user: audited, so the trail stays whole
        update_user(session, find_user(session, "fed"), role="reviewer", org="FED", display_name="李敏")
    ours = make_case(tree["prep"], "sample")["id"]
    fire(tree["prep"], ours, "submit", {"amount": 10}, comment="=HYPERLINK(\"http://evil\")")
    fire(tree["fed"], ours, "approve", comment="同意")
    theirs = make_case(tree["prep_x"], "sample")["id"]
    fire(tree["prep_x"], theirs, "submit", {"amount": 20})
    return {"ours": ours, "theirs": theirs}


def entries(db, **where) -> list[AuditEntry]:
    with db.read() as session:
        stmt = select(AuditEntry).order_by(AuditEntry.seq.desc())
        for k, v in where.items():
            stmt = stmt.where(getattr(AuditEntry, k) == v)
        return list(session.scalars(stmt))


def sheet_rows(resp) -> tuple[list[tuple], list[dict]]:
    """The workbook's first three lines (title, filters, headers) and its rows by header."""
    ws = load_workbook(io.BytesIO(resp.get_data())).active
    lines = list(ws.iter_rows(values_only=True))
    return lines[:3], [dict(zip(lines[2], row, strict=True)) for row in lines[3:]]


def csv_rows(resp) -> tuple[str, list[dict]]:
    body = resp.get_data(as_text=True)
    return body, list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


def test_the_excel_export_names_people_and_labels_states_in_beijing_time(client, db, trail):
    login(client, "auditor")
    resp = client.get("/audit/export.xlsx?workflow=sample")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment; filename=audit-trail-" in resp.headers["Content-Disposition"]
    (title, filters, headers), rows = sheet_rows(resp)
    assert title[0] == "审计留痕" and list(headers) == HEADERS
    assert filters[0].startswith("筛选条件：流程：测试流程") and "共 3 条" in filters[0]
    wanted = entries(db, subject_type="case", subject_id=str(trail["ours"]))
    assert [r["序号"] for r in rows] == [e.seq for e in wanted]  # the filter: our case only, newest first
    approve = next(r for r in rows if r["用户名"] == "fed")
    entry = next(e for e in wanted if e.trigger == "approve")
    assert (approve["操作人"], approve["所属组织"], approve["角色"]) == ("李敏", "某区总工会", "审核人")
    assert (approve["操作"], approve["原状态"], approve["新状态"]) == ("批准", "已提交", "已批准")
    assert (approve["案件"], approve["对象"], approve["案件单位"], approve["流程"]) == \
        (trail["ours"], f"案件 #{trail['ours']}", "大型企业", "测试流程")
    assert approve["时间（北京时间）"] == entry.at.replace(microsecond=0) + timedelta(hours=8)
    assert approve["说明"] == "同意" and approve["哈希"] == entry.hash and approve["前一条哈希"] == entry.prev_hash
    # a person without a real name appears by the username, still with the organisation
    submit = next(r for r in rows if r["操作"] == "提交")
    assert (submit["操作人"], submit["所属组织"]) == ("prep", "大型企业")
    assert submit["说明"] == "=HYPERLINK(\"http://evil\")"  # text, not a formula
    ws = load_workbook(io.BytesIO(resp.get_data())).active
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_the_csv_export_has_a_bom_chinese_headers_and_defused_formulas(client, db, trail):
    login(client, "auditor")
    resp = client.get(f"/audit/export.csv?case={trail['ours']}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.get_data()[:3] == b"\xef\xbb\xbf"
    body, rows = csv_rows(resp)
    assert body.removeprefix("\ufeff").splitlines()[0].split(",") == HEADERS
    assert [int(r["序号"]) for r in rows] == [e.seq for e in entries(db, subject_type="case",
                                                                       subject_id=str(trail["ours"]))]
    submit = next(r for r in rows if r["操作"] == "提交")
    assert submit["说明"] == "'=HYPERLINK(\"http://evil\")"  # defused for spreadsheets
    assert (submit["原状态"], submit["新状态"]) == ("草稿", "已提交")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", submit["时间（北京时间）"])
    assert "data" not in rows[0] and "amount" not in body  # no JSON column: that is the JSON Lines export


def test_english_pages_export_english_headers(client, trail):
    login(client, "auditor")
    _body, rows = csv_rows(client.get("/audit/export.csv?workflow=sample&lang=en"))
    assert list(rows[0])[:7] == ["No.", "Time (Beijing)", "Date of the step", "Person", "Username", "Organisation",
                                 "Role"]
    (_title, _filters, headers), _rows = sheet_rows(client.get("/audit/export.xlsx?workflow=sample&lang=en"))
    assert headers[0] == "No." and headers[-1] == "Previous hash"


def test_the_exports_honour_the_filters(client, db, trail):
    login(client, "auditor")
    _body, by_actor = csv_rows(client.get("/audit/export.csv?actor=李敏"))
    assert by_actor and {r["用户名"] for r in by_actor} == {"fed"}
    assert [int(r["序号"]) for r in by_actor] == [e.seq for e in entries(db, actor="fed")]
    _lines, users = sheet_rows(client.get("/audit/export.xlsx?subject=user"))
    assert users and {r["对象类型"] for r in users} == {"用户"}
    assert "李敏（fed）" in {r["对象"] for r in users}  # the user acted on, by name and username
    assert "prep_x" not in {r["对象"] for r in users}  # FED2's users are outside the auditor's subtree
    _lines, none = sheet_rows(client.get("/audit/export.xlsx?subject=user&from=2000-01-01&to=2000-01-01"))
    assert none == []
    assert client.get("/audit/export.xlsx?from=2026-13-01").status_code == 400
    assert client.get("/audit/export.xlsx?org=FED2").status_code == 404


def test_the_excel_export_is_for_readers_of_the_trail(client, trail):
    login(client, "prep")
    assert client.get("/audit/export.xlsx").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


@pytest.mark.parametrize("query, who", [
    ("actor=李敏", {"fed"}),          # the whole real name
    ("actor=敏", {"fed"}),            # a part of it
    ("actor=fed", {"fed"}),           # the username
    ("actor=fe", set()),             # a username is matched whole
    ("actor=prep", {"prep"}),         # a user without a real name: by the username, not as part of others'
    ("q=李敏", {"fed", "system"}),    # the keyword: what fed did, and what was done to fed's account
])
def test_the_explorer_finds_people_by_their_real_name(client, db, trail, query, who):
    login(client, "admin")
    page = client.get(f"/audit/?{query}").get_data(as_text=True)
    seqs = [int(s) for s in re.findall(r'href="/audit/entries/(\d+)" aria-label', page)]
    by_seq = {e.seq: e for e in entries(db)}
    assert {by_seq[s].actor for s in seqs} <= who | {"system", "cli", None}
    if query.startswith("actor="):
        assert seqs == [e.seq for e in entries(db) if e.actor in who]
    else:
        fed_user = [e.seq for e in entries(db, subject_type="user", subject_id="fed")]
        assert set(fed_user) <= set(seqs) and set(e.seq for e in entries(db, actor="fed")) <= set(seqs)
