"""Rows changed behind the engine's back are found: a case's data and facts, a user's row, an organisation's.

Each case entry records a digest of the case's row (`_digest`), each organisation and user entry the digest
of its row as its state; verification compares every row with its last entry and names both. Untouched
installations (the demo, a register import, every change made through the services) verify; entries
written before the digests were kept are not held against their rows.
"""
from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select, text

import audit
from audit import AuditEntry
from audit.trail import recorded_row_digests
from bench.import_register import credit_code
from services import accounts
from services.register import import_register
from workflow import Actor

from .test_verify import _verify_both_ways, api_verify, run_verify


@pytest.fixture
def trail(tree, make_case, fire):
    """Three sample cases: one closed (create, submit, approve, close), two submitted."""
    ids = []
    for who in ("prep", "prep_m", "prep_s"):
        case = make_case(tree[who])
        fire(tree[who], case["id"], "submit", {"amount": 10})
        ids.append(case["id"])
    fire(tree["fed"], ids[0], "approve")
    fire(tree["prep"], ids[0], "close")
    return ids


def last_seq(db, subject_type: str, subject_id: str) -> int:
    with db.read() as session:
        return session.scalar(select(AuditEntry.seq).where(AuditEntry.subject_type == subject_type,
                                                           AuditEntry.subject_id == str(subject_id))
                              .order_by(AuditEntry.seq.desc()).limit(1))


def sql(db, statement: str, **params) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(statement), params)


def reported(app, api, tree, seq: int | None, named: str) -> None:
    """`flask audit verify` exits 1 naming the row and the entry; the API says the same."""
    result = run_verify(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN at entry {seq}:" in result.output and named in result.output, result.output
    body = api_verify(api, tree)
    assert body["ok"] is False and body["first_bad"]["seq"] == seq, body
    assert named in body["first_bad"]["problem"]


def intact(app, api, tree) -> None:
    result = run_verify(app)
    assert result.exit_code == 0, result.output
    assert api_verify(api, tree)["ok"] is True


def case_json(db, case_id: int, column: str) -> dict:
    with db.engine.connect() as conn:
        value = conn.execute(text(f"SELECT {column} FROM cases WHERE id = :i"), {"i": case_id}).scalar_one()
    return value if isinstance(value, dict) else json.loads(value)


# -- cases ------------------------------------------------------------------------------------------------

def test_an_untouched_trail_records_every_rows_digest_and_verifies(app, api, db, tree, trail):
    intact(app, api, tree)
    with db.read() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert all(audit.ROW_DIGEST in json.loads(e.data) for e in entries if e.subject_type == "case")
    assert all(len(e.to_state or "") == 64 for e in entries if e.subject_type in ("org", "user"))
    assert "3 cases, 8 organisations, 12 users" in run_verify(app).output


def test_case_data_edited_keeping_state_and_version_is_named_with_its_last_entry(app, api, db, tree, trail):
    data = case_json(db, trail[1], "data")
    assert data["amount"] == 10
    sql(db, "UPDATE cases SET data = :d WHERE id = :i", d=json.dumps({**data, "amount": 11}), i=trail[1])
    reported(app, api, tree, last_seq(db, "case", trail[1]), f"case {trail[1]} does not match its last entry")


def test_case_data_edited_with_json_set_is_found(app, api, db, tree, trail):
    """The edit of the issue, in each database's own JSON function: nothing else of the row changes."""
    edit = ("UPDATE cases SET data = json_set(data, '$.title', 'forged') WHERE id = :i"
            if db.engine.dialect.name == "sqlite" else
            "UPDATE cases SET data = jsonb_set(data::jsonb, '{title}', '\"forged\"')::json WHERE id = :i")
    sql(db, edit, i=trail[2])
    assert case_json(db, trail[2], "data")["title"] == "forged"
    reported(app, api, tree, last_seq(db, "case", trail[2]), f"case {trail[2]} does not match its last entry")


def test_case_facts_edited_are_found(app, api, db, tree, trail):
    facts = case_json(db, trail[0], "facts")
    assert facts == {"doubled": 20}
    sql(db, "UPDATE cases SET facts = :f WHERE id = :i", f=json.dumps({"doubled": 21}), i=trail[0])
    reported(app, api, tree, last_seq(db, "case", trail[0]), f"case {trail[0]} does not match its last entry")


@pytest.mark.parametrize("edit", [
    "UPDATE cases SET fired_by = '{}' WHERE id = :i",  # four eyes would forget who submitted
    "UPDATE cases SET competent_org_id = (SELECT id FROM organisations WHERE code = 'TOWN') WHERE id = :i",
    "UPDATE cases SET created_by_id = (SELECT id FROM users WHERE username = 'fed') WHERE id = :i",
    "UPDATE cases SET profile = 'beijing' WHERE id = :i",
])
def test_the_columns_that_decide_who_sees_and_decides_a_case_are_covered(app, api, db, tree, trail, edit):
    sql(db, edit, i=trail[1])
    reported(app, api, tree, last_seq(db, "case", trail[1]), f"case {trail[1]} does not match its last entry")


def test_the_first_changed_case_is_named_and_a_state_change_still_says_so(app, api, db, tree, trail):
    sql(db, "UPDATE cases SET facts = '{}' WHERE id IN (:a, :b)", a=trail[1], b=trail[2])
    reported(app, api, tree, last_seq(db, "case", trail[1]), f"case {trail[1]} does not match")
    sql(db, "UPDATE cases SET state = 'approved' WHERE id = :i", i=trail[0])
    reported(app, api, tree, last_seq(db, "case", trail[0]), f"case {trail[0]} is in state 'approved'")


def test_a_case_rewritten_with_the_same_content_verifies(app, api, db, tree, trail, fire):
    """Steps after an edit record the row as they leave it: only what no entry vouches for is reported."""
    fire(tree["fed"], trail[1], "approve")
    fire(tree["prep_m"], trail[1], "close")
    intact(app, api, tree)


# -- users ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("edit", [
    "UPDATE users SET role = 'admin' WHERE username = 'prep'",
    "UPDATE users SET active = :no WHERE username = 'prep'",
    "UPDATE users SET display_name = 'someone' WHERE username = 'prep'",
    "UPDATE users SET org_id = (SELECT id FROM organisations WHERE code = 'FED') WHERE username = 'prep'",
    "UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE username = 'admin') "
    "WHERE username = 'prep'",
])
def test_a_user_row_edited_behind_the_services_is_named(app, api, db, tree, edit):
    seq = last_seq(db, "user", "prep")
    sql(db, edit, no=False)
    reported(app, api, tree, seq, "user prep does not match its last entry")


def test_the_login_counters_and_language_are_not_the_rows_content(app, api, db, tree):
    sql(db, "UPDATE users SET failed_logins = 3, language = 'en' WHERE username = 'prep'")
    intact(app, api, tree)


def test_a_user_inserted_behind_the_services_is_named(app, api, db, tree):
    sql(db, "INSERT INTO users (username, display_name, password_hash, role, active, failed_logins, created_at) "
            "SELECT 'mallory', 'mallory', password_hash, 'admin', active, 0, created_at FROM users "
            "WHERE username = 'admin'")
    reported(app, api, tree, None, "user mallory has no audit entry")


def test_every_change_through_the_services_and_pages_verifies(app, api, db, tree, client):
    with db.write() as session:
        prep = accounts.find_user(session, "prep")
        accounts.update_user(session, prep, role="reviewer", org="ENT-M", display_name="新名字")
        accounts.set_user_active(session, accounts.find_user(session, "prep_m"), False)
        accounts.reset_password(session, accounts.find_user(session, "prep_s"), "granite-violet-4471")
        accounts.revoke_token(session, 1, actor="admin")
        ent = accounts.get_org(session, "ENT-M")
        accounts.update_org(session, ent, name="改名企业", employees=35, female_employees=12, address="新地址")
        accounts.move_org(session, accounts.get_org(session, "COM"), "FED")  # COM's enterprise follows it
    intact(app, api, tree)
    resp = client.post("/login", data={"username": "prep_s", "password": "granite-violet-4471"})
    assert resp.status_code == 302
    resp = client.post("/password", data={"current": "granite-violet-4471", "new": "copper-meadow-8823",
                                          "confirm": "copper-meadow-8823"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with db.read() as session:
        assert session.scalar(select(AuditEntry.trigger).where(AuditEntry.subject_id == "prep_s")
                              .order_by(AuditEntry.seq.desc()).limit(1)) == "change_password"
    intact(app, api, tree)


def test_a_password_rehashed_at_login_is_audited(app, api, db, tree, client, monkeypatch):
    monkeypatch.setattr(accounts, "needs_rehash", lambda user: True)
    import web.auth

    monkeypatch.setattr(web.auth, "needs_rehash", lambda user: True)
    before = last_seq(db, "user", "prep")
    assert client.post("/login", data={"username": "prep", "password": "correct-horse-1"}).status_code == 302
    after = last_seq(db, "user", "prep")
    assert after > before
    intact(app, api, tree)


# -- organisations -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("edit", [
    "UPDATE organisations SET name = '冒名企业' WHERE code = 'ENT-M'",
    "UPDATE organisations SET union_status = 'founded', member_count = 30 WHERE code = 'ENT-M'",
    "UPDATE organisations SET employees = 31 WHERE code = 'ENT-M'",
    "UPDATE organisations SET credit_code = NULL, address = 'x' WHERE code = 'ENT-M'",
])
def test_an_organisation_row_edited_is_named(app, api, db, tree, edit):
    seq = last_seq(db, "org", "ENT-M")
    sql(db, edit)
    reported(app, api, tree, seq, "org ENT-M does not match its last entry")


def test_an_organisation_moved_by_hand_is_named(app, api, db, tree):
    """Its parent and path moved together, as a careful forger would: the parent is in the digest."""
    seq = last_seq(db, "org", "ENT-M")
    with db.read() as session:
        fed = accounts.get_org(session, "FED")
        ent = accounts.get_org(session, "ENT-M")
        fed_id, fed_path, ent_id = fed.id, fed.path, ent.id
    sql(db, "UPDATE organisations SET parent_id = :p, path = :path WHERE id = :i", p=fed_id,
        path=f"{fed_path}{ent_id}/", i=ent_id)
    reported(app, api, tree, seq, "org ENT-M does not match its last entry")


def test_an_organisation_path_out_of_step_with_its_parent_is_named(app, api, db, tree):
    """The path decides visibility: moving it alone (under another federation) is found from the tree."""
    seq = last_seq(db, "org", "ENT-S")
    with db.read() as session:
        fed2, ent = accounts.get_org(session, "FED2"), accounts.get_org(session, "ENT-S")
        path, wrong = ent.path, f"{fed2.path}{ent.id}/"
    sql(db, "UPDATE organisations SET path = :w WHERE code = 'ENT-S'", w=wrong)
    reported(app, api, tree, seq, f"org ENT-S has the path {wrong} but its parent's gives {path}")


def test_a_step_that_changes_the_organisation_writes_its_entry(app, api, db, tree, engine):
    """Opening a founding case marks the enterprise `founding`: the effects are in an entry of the
    organisation, after the case's; a later step that sets the same status writes none; an edit is found."""
    actor = tree["prep"].actor(db)
    with db.write() as session:
        case_id = engine.create_case(session, "founding", "ENT-L", actor, {}).id
    with db.read() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(2)).all()
        assert accounts.get_org(session, "ENT-L").union_status == "founding"
    assert [(e.subject_type, e.trigger) for e in reversed(last)] == [("case", "create"), ("org", "create")]
    assert json.loads(last[0].data) == {"case_id": case_id, "changes": {"union_status": ["none", "founding"]}}
    with db.write() as session:
        engine.fire(session, case_id, "form_group", actor, {"group_members": ["甲", "乙", "丙"]})
        engine.fire(session, case_id, "apply", actor, {})
    assert last_seq(db, "org", "ENT-L") == last[0].seq
    intact(app, api, tree)
    sql(db, "UPDATE organisations SET union_status = 'none' WHERE code = 'ENT-L'")
    reported(app, api, tree, last[0].seq, "org ENT-L does not match its last entry")


# -- the register import and the demo -------------------------------------------------------------------

def _register(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["企业名称", "统一社会信用代码", "地址", "职工人数", "女职工人数", "上级组织代码", "是否建会", "会员人数"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_a_register_import_verifies_and_an_imported_row_edited_is_named(app, api, db, tree):
    admin = Actor(0, "importer", "admin")
    first = _register([["甲公司", credit_code(1), "一路1号", 120, 40, "TOWN", "未建会", ""],
                       ["乙公司", credit_code(2), "", 80, 30, "COM", "已建会", 60]])
    with db.write() as session:
        assert import_register(session, first, admin, filename="a.csv", dry_run=False).written
    second = _register([["甲公司（更名）", credit_code(1), "", 130, 40, "FED", "未建会", ""],
                        ["丙公司", credit_code(3), "三路3号", 9, 3, "COM", "未建会", ""]])
    with db.write() as session:
        result = import_register(session, second, admin, filename="b.csv", dry_run=False)
        assert result.written and result.created == 1 and result.updated == 1
    intact(app, api, tree)
    code = credit_code(2)
    seq = last_seq(db, "org", code)
    sql(db, "UPDATE organisations SET member_count = 61 WHERE code = :c", c=code)
    reported(app, api, tree, seq, f"org {code} does not match its last entry")


def test_the_demo_verifies_and_a_forged_applicant_is_named(app, api, db):
    """The issue's own edit on the demo data (hardship applications), keeping the state and the version."""
    from types import SimpleNamespace

    from web.demo import load_demo

    assert load_demo(app).startswith("demo data loaded")
    with db.write() as session:
        token = accounts.issue_token(session, accounts.find_user(session, "auditor"))
    tree = {"auditor": SimpleNamespace(headers={"Authorization": f"Bearer {token}"})}
    intact(app, api, tree)
    with db.engine.connect() as conn:
        case_id, state, version = conn.execute(text("SELECT id, state, version FROM cases WHERE workflow = "
                                                    "'hardship' ORDER BY id LIMIT 1")).one()
    edit = ("UPDATE cases SET data = json_set(data, '$.applicant.name', 'forged') WHERE id = :i"
            if db.engine.dialect.name == "sqlite" else
            "UPDATE cases SET data = jsonb_set(data::jsonb, '{applicant,name}', '\"forged\"')::json WHERE id = :i")
    sql(db, edit, i=case_id)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT state, version FROM cases WHERE id = :i"), {"i": case_id}).one() == (
            state, version)
    reported(app, api, tree, last_seq(db, "case", case_id), f"case {case_id} does not match its last entry")


# -- old trails ---------------------------------------------------------------------------------------------

def test_entries_written_before_the_digests_still_verify(app, api, db, tree, trail):
    """An installation whose last entries predate the digests: a user's and an organisation's entries with
    no state, a case's entry with no `_digest`. Their rows are not compared (nothing recorded them), so they
    verify; the case's state and version still are."""
    with db.write() as session:
        for subject_type, subject_id in (("user", "prep"), ("org", "ENT-M")):
            audit.append(session, actor="admin", role="admin", subject_type=subject_type, subject_id=subject_id,
                         trigger="update", from_state=None, to_state=None, version=None, data={"changes": {}})
        audit.append(session, actor="prep_m", role="preparer", subject_type="case", subject_id=str(trail[1]),
                     trigger="note", from_state="submitted", to_state="submitted", version=2, data={"note": 1})
    sql(db, "UPDATE users SET display_name = 'x' WHERE username = 'prep'")
    sql(db, "UPDATE organisations SET name = 'x' WHERE code = 'ENT-M'")
    sql(db, "UPDATE cases SET facts = '{}' WHERE id = :i", i=trail[1])
    intact(app, api, tree)
    sql(db, "UPDATE cases SET version = 3 WHERE id = :i", i=trail[1])
    reported(app, api, tree, last_seq(db, "case", trail[1]), f"case {trail[1]} is in state 'submitted' version 3")


def test_the_recorded_digest_is_read_from_any_entry_text(db, tree):
    """From the start of the canonical text when the digest comes first or cannot be there, else parsed."""
    digest = "ab" * 32
    texts = {
        "first": {audit.ROW_DIGEST: digest, "amount": 1},
        "after a capital": {"A": 1, audit.ROW_DIGEST: digest},
        "none": {"amount": 1},
        "empty": {},
        "not a string": {audit.ROW_DIGEST: 5},
        "underscore first": {"_a": 1},
    }
    seqs = {}
    with db.write() as session:
        for name, data in texts.items():
            seqs[name] = audit.append(session, actor="a", role="admin", subject_type="note", subject_id=name,
                                      trigger="note", from_state=None, to_state=None, version=None, data=data)["seq"]
        found = recorded_row_digests(session, list(seqs.values()))
    assert {name: found[seq] for name, seq in seqs.items()} == {
        "first": digest, "after a capital": digest, "none": None, "empty": None, "not a string": None,
        "underscore first": None}


ROW_EDITS = {
    "case data edited": "UPDATE cases SET data = '{{}}' WHERE id = {case}",
    "user role edited": "UPDATE users SET role = 'admin' WHERE username = 'prep'",
    "organisation renamed": "UPDATE organisations SET name = 'x' WHERE code = 'FED2'",
}


@pytest.mark.parametrize("name", list(ROW_EDITS))
def test_several_processes_find_row_edits_as_one_pass_does(app, db, tree, trail, name):
    sql(db, ROW_EDITS[name].format(case=trail[1]))
    one_pass, parallel = _verify_both_ways(app, db)
    assert not one_pass.ok and parallel.as_dict() == one_pass.as_dict()


def test_sign_out_everywhere_and_tokens_keep_the_users_digest(app, api, db, tree):
    """The session and token entries of a user record its row's digest too: the comparison stays on."""
    with db.write() as session:
        prep = accounts.find_user(session, "prep")
        accounts.issue_token(session, prep, "ci", actor="admin")
        accounts.end_sessions(session, prep, actor="admin")
    with db.read() as session:
        rows = session.execute(select(AuditEntry.trigger, AuditEntry.to_state).where(
            AuditEntry.subject_type == "user", AuditEntry.subject_id == "prep").order_by(AuditEntry.seq)).all()
    assert [t for t, _s in rows][-2:] == ["issue_token", "end_sessions"]
    assert all(state for _t, state in rows[-2:])
    intact(app, api, tree)
    seq = last_seq(db, "user", "prep")
    sql(db, "UPDATE users SET role = 'admin' WHERE username = 'prep'")
    reported(app, api, tree, seq, "user prep does not match its last entry")
