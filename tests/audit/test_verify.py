"""Tampering with the trail is found: edits, deletions, reorderings, cases changed behind the engine."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from audit import AppendOnlyError, AuditEntry, canonical_json, entry_hash
from audit.chain import GENESIS, format_at
from audit.ddl import create_statements, drop_statements


@pytest.fixture
def trail(tree, make_case, fire):
    """Three cases with a few steps each: 9 entries."""
    ids = []
    for who in ("prep", "prep_m", "prep_s"):
        case = make_case(tree[who])
        fire(tree[who], case["id"], "submit", {"amount": 10})
        ids.append(case["id"])
    fire(tree["fed"], ids[0], "approve")
    fire(tree["prep"], ids[0], "close")
    return ids


def run_verify(app):
    runner = app.test_cli_runner()
    return runner.invoke(args=["audit", "verify", "--quiet"])


def api_verify(api, tree):
    resp = api.get("/audit/verify", tree["auditor"])
    assert resp.status_code == 200
    return resp.get_json()


def raw(db, *statements: str, params: dict | None = None) -> None:
    """Raw SQL with the append-only triggers dropped first, as an attacker with DDL rights would."""
    dialect = db.engine.dialect.name
    with db.engine.begin() as conn:
        for s in drop_statements(dialect):
            conn.exec_driver_sql(s)
        for s in statements:
            conn.execute(text(s), params or {})
        for s in create_statements(dialect):
            conn.exec_driver_sql(s)


def test_an_intact_trail_verifies(app, api, tree, trail):
    result = run_verify(app)
    assert result.exit_code == 0, result.output
    assert "intact" in result.output and "entries" in result.output
    body = api_verify(api, tree)
    assert body["ok"] is True and body["checked"] >= 9 and "first_bad" not in body


def _bad(app, api, tree, seq_expected: int | None, problem_part: str) -> None:
    result = run_verify(app)
    assert result.exit_code == 1, result.output
    assert f"entry {seq_expected}" in result.output and problem_part in result.output
    body = api_verify(api, tree)
    assert body["ok"] is False and body["first_bad"]["seq"] == seq_expected
    assert problem_part in body["first_bad"]["problem"]


def _seq_of(db, case_id: int, trigger: str) -> int:
    with db.read() as session:
        return session.query(AuditEntry.seq).filter_by(subject_id=str(case_id), trigger=trigger).scalar()


def test_an_edited_comment_is_found(app, api, db, tree, trail):
    seq = _seq_of(db, trail[1], "submit")
    raw(db, "UPDATE audit_entries SET comment = 'changed' WHERE seq = :s", params={"s": seq})
    _bad(app, api, tree, seq, "edited")


def test_edited_data_is_found(app, api, db, tree, trail):
    seq = _seq_of(db, trail[0], "submit")
    raw(db, "UPDATE audit_entries SET data = :d WHERE seq = :s", params={"d": '{"amount":999}', "s": seq})
    _bad(app, api, tree, seq, "edited")


def test_a_rehashed_edit_breaks_the_next_link(app, api, db, tree, trail):
    """Recomputing the edited entry's own hash does not help: its successor no longer links to it."""
    seq = _seq_of(db, trail[0], "submit")
    with db.read() as session:
        e = session.get(AuditEntry, seq)
        fields = dict(seq=e.seq, at=format_at(e.at), actor="someone_else", role=e.role, subject_type=e.subject_type,
                      subject_id=e.subject_id, trigger=e.trigger, from_state=e.from_state, to_state=e.to_state,
                      version=e.version, comment=e.comment, data=e.data, prev_hash=e.prev_hash)
    forged = entry_hash(**fields)
    raw(db, "UPDATE audit_entries SET actor = 'someone_else', hash = :h WHERE seq = :s", params={"h": forged, "s": seq})
    _bad(app, api, tree, seq + 1, "prev_hash")


def test_a_deleted_entry_is_found(app, api, db, tree, trail):
    seq = _seq_of(db, trail[1], "submit")
    raw(db, "DELETE FROM audit_entries WHERE seq = :s", params={"s": seq})
    _bad(app, api, tree, seq + 1, f"entry {seq} is missing")


def test_the_last_entry_deleted_is_found(app, api, db, tree, trail):
    raw(db, "DELETE FROM audit_entries WHERE seq = (SELECT MAX(seq) FROM audit_entries)")
    result = run_verify(app)
    assert result.exit_code == 1
    assert api_verify(api, tree)["ok"] is False


def test_reordered_entries_are_found(app, api, db, tree, trail):
    """Swap the contents of two entries (keeping seq order): the chain no longer links."""
    a, b = _seq_of(db, trail[1], "submit"), _seq_of(db, trail[2], "submit")
    raw(
        db,
        "UPDATE audit_entries SET seq = -1 WHERE seq = :a",
        "UPDATE audit_entries SET seq = :a WHERE seq = :b",
        "UPDATE audit_entries SET seq = :b WHERE seq = -1",
        params={"a": a, "b": b},
    )
    result = run_verify(app)
    assert result.exit_code == 1
    body = api_verify(api, tree)
    assert body["ok"] is False and body["first_bad"]["seq"] == min(a, b)


def test_a_case_changed_behind_the_engine_is_found(app, api, db, tree, trail):
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET state = 'approved' WHERE id = :i"), {"i": trail[1]})
    seq = _seq_of(db, trail[1], "submit")
    _bad(app, api, tree, seq, f"case {trail[1]} is in state 'approved'")


def test_a_version_bumped_behind_the_engine_is_found(app, api, db, tree, trail):
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET version = version + 1 WHERE id = :i"), {"i": trail[2]})
    result = run_verify(app)
    assert result.exit_code == 1 and f"case {trail[2]}" in result.output


def test_an_entry_appended_by_hand_is_found(app, api, db, tree, trail):
    with db.read() as session:
        last = session.query(AuditEntry).order_by(AuditEntry.seq.desc()).first()
        seq, prev = last.seq + 1, last.hash
    raw(db, "INSERT INTO audit_entries (seq, at, actor, role, subject_type, subject_id, trigger, from_state, "
            "to_state, version, comment, data, prev_hash, hash) VALUES (:s, CURRENT_TIMESTAMP, 'x', 'admin', "
            "'case', :c, 'approve', 'submitted', 'approved', 3, '', '{}', :p, :h)",
        params={"s": seq, "c": str(trail[1]), "p": prev, "h": "f" * 64})
    result = run_verify(app)
    assert result.exit_code == 1 and f"entry {seq}" in result.output


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entries SET comment = 'x'",
    "DELETE FROM audit_entries",
])
def test_database_triggers_refuse_update_and_delete(db, trail, statement):
    with pytest.raises(Exception) as info:
        with db.engine.begin() as conn:
            conn.execute(text(statement))
    assert "append-only" in str(info.value)


def test_postgres_refuses_truncate(db, trail):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    with pytest.raises(Exception) as info:
        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_entries"))
    assert "append-only" in str(info.value)


def test_the_orm_refuses_to_change_or_delete_an_entry(db, trail):
    with pytest.raises(AppendOnlyError):
        with db.write() as session:
            session.get(AuditEntry, 1).comment = "rewritten"
    with pytest.raises(AppendOnlyError):
        with db.write() as session:
            session.delete(session.get(AuditEntry, 1))


def test_hash_is_sha256_over_the_canonical_encoding():
    assert canonical_json({"b": 1, "a": [1, "中"]}) == '{"a":[1,"中"],"b":1}'
    h = entry_hash(seq=1, at="2026-01-01T00:00:00.000000Z", actor="a", role="preparer", subject_type="case",
                   subject_id="1", trigger="create", from_state=None, to_state="draft", version=1, comment="",
                   data="{}", prev_hash=GENESIS)
    import hashlib

    header = '[1,"2026-01-01T00:00:00.000000Z","a","preparer","case","1","create",null,"draft",1,"",' \
             f'"{GENESIS}"]'
    assert h == hashlib.sha256(f"{header}\n{{}}".encode()).hexdigest()


def test_verify_reports_progress_on_long_trails(app, db, engine):
    import audit

    calls = []
    with db.read() as session:
        result = audit.verify(session, lambda: engine.subjects(session), progress=calls.append, chunk=1)
    assert result.ok and calls[-1] == result.checked


def _verify_both_ways(app, db):
    """The trail verified in one pass and in three processes (ranges of three entries)."""
    import audit
    from web.extensions import get_engine

    engine = get_engine(app)
    out = []
    for kwargs in ({}, {"workers": 3, "parallel_from": 1}):
        with db.read(snapshot=True) as session:
            out.append(audit.verify(session, lambda: engine.subjects(session), **kwargs))
    return out


def _max_seq(db) -> int:
    with db.read() as session:
        return session.query(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1).scalar()


TAMPERING = {
    "intact": [],
    "comment edited in a later range": ["UPDATE audit_entries SET comment = 'x' WHERE seq = {last}"],
    "entry deleted at a range boundary": ["DELETE FROM audit_entries WHERE seq = 4"],
    "last entry deleted": ["DELETE FROM audit_entries WHERE seq = {last}"],
    "first entry's link changed": ["UPDATE audit_entries SET prev_hash = hash WHERE seq = 1"],
    "head moved back": ["UPDATE audit_head SET seq = seq - 1"],
    "entry added past the head": [
        "INSERT INTO audit_entries (seq, at, actor, role, subject_type, subject_id, \"trigger\", comment, data, "
        "prev_hash, hash) SELECT seq + 1, at, actor, role, subject_type, subject_id, \"trigger\", comment, data, "
        "hash, 'f' || substr(hash, 2) FROM audit_entries WHERE seq = {last}"],
    "case changed behind the engine": ["UPDATE cases SET state = 'approved' WHERE id = {case}"],
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_verifying_in_several_processes_finds_what_one_pass_finds(app, db, tree, trail, name, monkeypatch):
    import audit.parallel

    started = []
    popen = audit.parallel.subprocess.Popen
    monkeypatch.setattr(audit.parallel.subprocess, "Popen", lambda *a, **kw: started.append(a) or popen(*a, **kw))
    last = _max_seq(db)
    statements = [s.format(last=last, case=trail[1]) for s in TAMPERING[name]]
    if statements:
        raw(db, *statements)
    one_pass, parallel = _verify_both_ways(app, db)
    assert parallel.as_dict() == one_pass.as_dict()
    assert one_pass.ok is (name == "intact")
    if name == "intact":
        assert parallel.checked == last and parallel.counts == one_pass.counts == {"case": 3, "org": 8, "user": 12}
        # the first of three ranges is checked in this process, the Merkle tree in one of its own
        assert len(started) == 3
    elif name in ("entry added past the head", "last entry deleted", "head moved back"):
        assert len(started) == 1  # the last entry is not the head's: found before any range is handed out
    else:
        assert len(started) == 3


# controls (escaped by the canonical encoder), what JSON need not escape ('/', DEL, the line and paragraph
# separators), quotes, a backslash, characters of each UTF-8 length
TRICKY = "\x01\x1f\t\n\r\"\\/\x7f\u2028\u2029é中\U0001F600'"


def test_an_entry_with_controls_and_separators_verifies_and_its_edit_is_found(app, api, db, tree, trail, fire,
                                                                               monkeypatch):
    import audit.scan

    fire(tree["fed"], trail[1], "approve", comment=TRICKY)
    seq = _max_seq(db)
    with db.read() as session:
        assert session.get(AuditEntry, seq).comment == TRICKY
    looked_closer = []
    rows = audit.scan.Checker.rows
    monkeypatch.setattr(audit.scan.Checker, "rows", lambda self, given: looked_closer.append(1) or rows(self, given))
    one_pass, parallel = _verify_both_ways(app, db)
    assert one_pass.ok and parallel.as_dict() == one_pass.as_dict() == {"ok": True, "checked": seq}
    if db.engine.dialect.name == "sqlite":
        assert not looked_closer  # SQLite wrote every text, the comment's too, exactly as the canonical encoder
    raw(db, "UPDATE audit_entries SET comment = :c WHERE seq = :s", params={"c": TRICKY + "\u2028", "s": seq})
    _bad(app, api, tree, seq, "edited")
    one_pass, parallel = _verify_both_ways(app, db)
    assert parallel.as_dict() == one_pass.as_dict() == {
        "ok": False, "checked": seq - 1, "first_bad": {"seq": seq, "problem": "content does not match its hash (entry edited)"}}
