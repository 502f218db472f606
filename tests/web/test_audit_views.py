"""The trail explorer: the auditor's scope, the filters (with Shanghai day boundaries), an entry with its
hash and predecessor, CSV and JSON Lines exports of the filtered trail, and verification."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime

import pytest
from sqlalchemy import select, text

from audit import AuditEntry, canonical_json, entry_hash
from audit.ddl import create_statements, drop_statements
from web.audit_export import csv_cell
from web.audit_views import _day

from .ui_support import login, text_of, world  # noqa: F401  (fixture)


@pytest.fixture
def trail(tree, make_case, fire):
    """A case in each federation, and the organisations and users `tree` made."""
    ours = make_case(tree["prep"], "sample")["id"]
    fire(tree["prep"], ours, "submit", {"amount": 10}, comment="=HYPERLINK(\"http://evil\")")
    fire(tree["fed"], ours, "approve")
    theirs = make_case(tree["prep_x"], "sample")["id"]
    fire(tree["prep_x"], theirs, "submit", {"amount": 20})
    return {"ours": ours, "theirs": theirs}


def _seqs(page: str) -> list[int]:
    return [int(s) for s in re.findall(r'href="/audit/entries/(\d+)" aria-label', page)]


def _entries(db, **where) -> list[AuditEntry]:
    with db.read() as session:
        stmt = select(AuditEntry).order_by(AuditEntry.seq.desc())
        for k, v in where.items():
            stmt = stmt.where(getattr(AuditEntry, k) == v)
        return list(session.scalars(stmt))


def raw(db, *statements: str) -> None:
    """Raw SQL with the append-only triggers dropped, as someone with direct database access would."""
    dialect = db.engine.dialect.name
    with db.engine.begin() as conn:
        for s in drop_statements(dialect):
            conn.exec_driver_sql(s)
        for s in statements:
            conn.execute(text(s))
        for s in create_statements(dialect):
            conn.exec_driver_sql(s)


def test_the_auditor_reads_their_subtree_and_the_admin_everything(app, db, trail):
    auditor, auditor2, admin = app.test_client(), app.test_client(), app.test_client()
    login(auditor, "auditor")
    login(auditor2, "auditor2")
    login(admin, "admin")
    ours = {e.seq for e in _entries(db, subject_type="case", subject_id=str(trail["ours"]))}
    theirs = {e.seq for e in _entries(db, subject_type="case", subject_id=str(trail["theirs"]))}
    fed_orgs = {e.seq for e in _entries(db, subject_type="org") if e.subject_id in ("FED", "TOWN", "COM", "ENT-S",
                                                                                     "ENT-M", "ENT-L")}
    seen = set(_seqs(auditor.get("/audit/?subject=").get_data(as_text=True)))
    assert ours <= seen and fed_orgs <= seen and not theirs & seen
    assert {e.seq for e in _entries(db, subject_type="user", subject_id="prep")} <= seen
    assert not {e.seq for e in _entries(db, subject_type="user", subject_id="prep_x")} & seen
    assert not {e.seq for e in _entries(db, subject_type="user", subject_id="admin")} & seen  # no organisation
    seen2 = set(_seqs(auditor2.get("/audit/").get_data(as_text=True)))
    assert theirs <= seen2 and not ours & seen2
    total = len(_entries(db))
    assert f"共 {total} 条记录" in text_of(admin.get("/audit/"))
    assert auditor.get("/audit/?org=FED2").status_code == 404
    assert auditor.get(f"/audit/entries/{min(theirs)}").status_code == 404


@pytest.mark.parametrize("query, expected", [
    ("actor=fed", lambda e: e.actor == "fed"),
    ("trigger=submit", lambda e: e.trigger == "submit"),
    ("subject=org", lambda e: e.subject_type == "org"),
    ("workflow=sample", lambda e: e.subject_type == "case"),
    ("org=ENT-L", lambda e: e.subject_type in ("case", "org", "user") and e.subject_id in ("1", "ENT-L", "prep")),
    ("q=大型", lambda e: e.subject_id in ("1", "ENT-L")),
    ("q=prep_x", lambda e: e.actor == "prep_x" or e.subject_id == "prep_x"),
])
def test_the_filters(client, db, trail, query, expected):
    login(client, "admin")
    wanted = [e.seq for e in _entries(db) if expected(e)]
    assert wanted, "the filter must have something to find"
    assert _seqs(client.get(f"/audit/?{query}").get_data(as_text=True)) == wanted


def test_a_case_number_finds_its_entries(client, db, trail):
    login(client, "auditor")
    wanted = [e.seq for e in _entries(db, subject_type="case", subject_id=str(trail["ours"]))]
    assert _seqs(client.get(f"/audit/?q=%23{trail['ours']}").get_data(as_text=True))[:len(wanted)] == wanted
    assert _seqs(client.get(f"/audit/?case={trail['ours']}").get_data(as_text=True)) == wanted


def test_days_are_shanghai_days(app):
    with app.test_request_context("/"):
        assert _day({"from": "2026-01-02"}, "from") == datetime(2026, 1, 1, 16, 0)
        assert _day({"to": "2026-01-02"}, "to", end=True) == datetime(2026, 1, 2, 16, 0)
        assert _day({}, "from") is None


def test_the_day_filter_at_its_boundaries(client, db, trail):
    """An entry at 16:00 UTC on 1 January is on 2 January in Shanghai; one a microsecond earlier is still on the 1st."""
    first, second = [e.seq for e in _entries(db)][:2]
    raw(db, f"UPDATE audit_entries SET at = '2026-01-01 16:00:00.000000' WHERE seq = {first}",
        f"UPDATE audit_entries SET at = '2026-01-01 15:59:59.999999' WHERE seq = {second}")
    login(client, "admin")
    assert _seqs(client.get("/audit/?from=2026-01-02&to=2026-01-02").get_data(as_text=True)) == [first]
    assert _seqs(client.get("/audit/?from=2026-01-01&to=2026-01-01").get_data(as_text=True)) == [second]
    assert client.get("/audit/?from=2026-13-01").status_code == 400


def test_an_entry_shows_its_hash_and_its_predecessor(client, db, trail):
    entry = _entries(db, subject_type="case", subject_id=str(trail["ours"]), trigger="approve")[0]
    before = _entries(db, seq=entry.seq - 1)[0]
    login(client, "auditor")
    resp = client.get(f"/audit/entries/{entry.seq}")
    page = resp.get_data(as_text=True)
    assert entry.hash in page and entry.prev_hash == before.hash and before.hash in page
    assert f'href="/audit/entries/{before.seq}"' in page
    text_ = text_of(resp)
    assert "按内容重新计算的哈希与本条哈希一致" in text_ and "“前一条哈希”与前一条记录一致" in text_


def test_a_neighbour_outside_the_subtree_is_named_but_not_linked(app, db, trail):
    theirs = _entries(db, subject_type="case", subject_id=str(trail["theirs"]), trigger="create")[0]
    ours = _entries(db, seq=theirs.seq - 1)[0]
    assert ours.subject_id == str(trail["ours"])  # the other federation's case follows ours in the chain
    other, auditor = app.test_client(), app.test_client()
    login(other, "auditor2")
    login(auditor, "auditor")
    page = other.get(f"/audit/entries/{theirs.seq}").get_data(as_text=True)
    assert ours.hash in page and f"#{ours.seq} （不在您的查看范围内）" in page
    assert f'href="/audit/entries/{ours.seq}"' not in page
    page = auditor.get(f"/audit/entries/{ours.seq}").get_data(as_text=True)
    assert f'href="/audit/entries/{theirs.seq}"' not in page and f"#{theirs.seq}" in page


def test_csv_export_of_the_filtered_trail(client, db, trail):
    login(client, "auditor")
    resp = client.get("/audit/export.csv?workflow=sample")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment; filename=audit-trail-" in resp.headers["Content-Disposition"]
    body = resp.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body[1:])))
    wanted = [e for e in _entries(db, subject_type="case", subject_id=str(trail["ours"]))]
    assert [int(r["序号"]) for r in rows] == [e.seq for e in wanted]
    submit = next(r for r in rows if r["操作"] == "提交")
    assert submit["说明"] == "'=HYPERLINK(\"http://evil\")"  # defused for spreadsheets
    assert submit["哈希"] == next(e.hash for e in wanted if e.trigger == "submit")
    assert submit["办理日期"] == json.loads(next(e.data for e in wanted if e.trigger == "submit"))["decided_on"]


def test_jsonl_export_is_verbatim_and_rehashes(client, db, trail):
    login(client, "admin")
    resp = client.get("/audit/export.jsonl?actor=prep")
    lines = [json.loads(line) for line in resp.get_data(as_text=True).splitlines()]
    assert [e["seq"] for e in lines] == [e.seq for e in _entries(db, actor="prep")]
    for e in lines:
        assert entry_hash(seq=e["seq"], at=e["at"], actor=e["actor"], role=e["role"], subject_type=e["subject_type"],
                          subject_id=e["subject_id"], trigger=e["trigger"], from_state=e["from"], to_state=e["to"],
                          version=e["version"], comment=e["comment"], data=canonical_json(e["data"]),
                          prev_hash=e["prev_hash"]) == e["hash"]


def test_exports_refuse_those_who_may_not_read_the_trail(client, trail):
    login(client, "prep")
    assert client.get("/audit/export.csv").status_code == 403
    assert client.get("/audit/export.jsonl").status_code == 403


def test_csv_cells_that_would_be_formulas():
    assert [csv_cell(v) for v in ("=1+1", "+86", "-x", "@a", "\tx", "normal", None, 5)] == \
        ["'=1+1", "'+86", "'-x", "'@a", "'\tx", "normal", "", "5"]


def test_verification_of_an_intact_trail(client, db, trail):
    login(client, "auditor")
    resp = client.post("/audit/verify")
    total = len(_entries(db))
    assert resp.status_code == 200
    assert "审计链完整" in text_of(resp) and f"全部 {total} 条记录" in text_of(resp)


def test_verification_names_the_first_edited_entry(client, db, trail):
    edited = _entries(db, subject_type="case", subject_id=str(trail["ours"]), trigger="submit")[0]
    raw(db, f"UPDATE audit_entries SET comment = 'changed' WHERE seq = {edited.seq}")
    login(client, "auditor")
    resp = client.post("/audit/verify")
    body = text_of(resp)
    assert "审计链已被破坏" in body and "记录内容与其哈希不符：记录被篡改。" in body
    assert f'href="/audit/entries/{edited.seq}"' in resp.get_data(as_text=True)
    assert f"在此之前已校验 {edited.seq - 1} 条记录" in body


def test_verification_finds_a_case_changed_behind_the_engine(client, db, trail):
    raw(db, f"UPDATE cases SET state = 'closed' WHERE id = {trail['ours']}")
    login(client, "admin")
    body = text_of(client.post("/audit/verify"))
    assert "审计链已被破坏" in body and "数据被绕过引擎改动" in body


def test_verification_explains_a_row_changed_behind_the_administration(client, db, trail):
    raw(db, "UPDATE users SET role = 'admin' WHERE username = 'prep'")
    login(client, "auditor")
    body = text_of(client.post("/audit/verify"))
    assert "审计链已被破坏" in body and "用户 prep 与其最后一条记录" in body and "数据被绕过引擎或管理功能改动" in body


def test_verification_takes_a_post(client, trail):
    login(client, "auditor")
    assert client.get("/audit/verify").status_code == 405


def test_a_cases_materials_are_read_with_the_case(app, db, world):  # noqa: F811
    attached = _entries(db, subject_type="attachment")
    assert len(attached) == 1 and attached[0].subject_id.startswith(f"{world.cases['hardship']}:")
    auditor, auditor2 = app.test_client(), app.test_client()
    login(auditor, "auditor")
    login(auditor2, "auditor2")
    assert attached[0].seq in _seqs(auditor.get("/audit/?subject=attachment").get_data(as_text=True))
    assert attached[0].seq in _seqs(auditor.get("/audit/?workflow=hardship").get_data(as_text=True))
    assert attached[0].seq not in _seqs(auditor.get("/audit/?workflow=sample").get_data(as_text=True))
    assert attached[0].seq not in _seqs(auditor2.get("/audit/").get_data(as_text=True))
    page = auditor.get(f"/audit/entries/{attached[0].seq}")
    assert page.status_code == 200 and "上传材料" in text_of(page)
    assert f'href="/cases/{world.cases["hardship"]}"' in page.get_data(as_text=True)
