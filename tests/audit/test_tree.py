"""The stored Merkle tree on both databases: an auditing client's own RFC 9162 code agrees with
GET /audit/tree and verifies every proof; tampering with an entry, a stored node or a proof byte fails,
naming what; the standalone verifier accepts the entry page's 证明 and refuses a changed byte."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

import audit
from audit import tree as merkle_tree
from audit.ddl import create_statements, drop_statements, tree_create_statements, tree_drop_statements
from audit.models import AuditEntry
from tests.audit.test_merkle import rfc_verify_consistency, rfc_verify_inclusion
from tests.web.ui_support import login

import hashlib

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "verify_proof.py"


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, the auditor's own."""
    if not leaves:
        return _h(b"")
    if len(leaves) == 1:
        return _h(b"\x00" + leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return _h(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def _append(db, n: int) -> None:
    with db.write() as session:
        for i in range(n):
            audit.append(session, actor="admin", role="admin", subject_type="note", subject_id=f"X{i}",
                         trigger="note", from_state=None, to_state=None, version=None, data={"i": i})


def _leaves(db) -> list[bytes]:
    with db.read() as session:
        return [bytes.fromhex(h) for h in session.scalars(AuditEntry.__table__.select()
                                                          .with_only_columns(AuditEntry.hash)
                                                          .order_by(AuditEntry.seq))]


def _raw(db, *statements: str, params: dict | None = None) -> None:
    dialect = db.engine.dialect.name
    with db.engine.begin() as conn:
        for s in (*drop_statements(dialect), *tree_drop_statements(dialect)):
            conn.exec_driver_sql(s)
        for s in statements:
            conn.execute(text(s), params or {})
        for s in (*create_statements(dialect), *tree_create_statements(dialect)):
            conn.exec_driver_sql(s)


def test_the_api_tree_and_every_proof_verify_with_the_clients_own_code(app, db, api, tree):
    _append(db, 37)  # 20 entries of the organisations and users before
    leaves = _leaves(db)
    n = len(leaves)
    resp = api.get("/audit/tree", tree["admin"])
    assert resp.status_code == 200
    head = resp.get_json()
    assert head == {"size": n, "root": mth(leaves).hex()}
    for size in range(1, n + 1):
        root = mth(leaves[:size])
        for seq in range(1, size + 1):
            body = api.get(f"/audit/entries/{seq}/proof?size={size}", tree["admin"]).get_json()
            assert (body["seq"], body["leaf_index"], body["tree_size"], body["root"]) == (seq, seq - 1, size,
                                                                                          root.hex())
            assert rfc_verify_inclusion(seq - 1, size, leaves[seq - 1], [bytes.fromhex(p) for p in body["path"]],
                                        root)
        for old in range(0, size + 1):
            body = api.get(f"/audit/consistency?from={old}&to={size}", tree["admin"]).get_json()
            assert (body["from"], body["to"]) == (old, size)
            assert rfc_verify_consistency(old, size, mth(leaves[:old]), root,
                                          [bytes.fromhex(p) for p in body["path"]])
    default = api.get("/audit/entries/3/proof", tree["admin"]).get_json()
    assert default["tree_size"] == n and default["root"] == head["root"]
    with db.read() as session:
        assert audit.verify(session).ok


def test_bad_requests_are_4xx_with_the_field_named(api, tree):
    admin = tree["admin"]
    for path, field in [("/audit/entries/1/proof?size=x", "size"), ("/audit/entries/5/proof?size=4", "size"),
                        ("/audit/entries/1/proof?size=999", "size"), ("/audit/consistency", "from"),
                        ("/audit/consistency?from=3&to=2", "from"), ("/audit/consistency?from=-1", "from"),
                        ("/audit/consistency?from=1&to=999", "to")]:
        resp = api.get(path, admin)
        assert resp.status_code == 400, path
        assert field in resp.get_json()["error"]["fields"], path
    assert api.get("/audit/entries/999/proof", admin).status_code == 404
    for who in ("prep", "fed"):
        assert api.get("/audit/tree", tree[who]).status_code == 403
        assert api.get("/audit/entries/1/proof", tree[who]).status_code == 403
        assert api.get("/audit/consistency?from=1", tree[who]).status_code == 403


def test_an_auditor_gets_proofs_only_for_entries_of_their_subtree(db, api, tree):
    with db.read() as session:
        seqs = dict(session.execute(text("SELECT subject_id, seq FROM audit_entries WHERE subject_type = 'org'"))
                    .all())
    assert api.get(f"/audit/entries/{seqs['ENT-L']}/proof", tree["auditor"]).status_code == 200
    assert api.get(f"/audit/entries/{seqs['ENT-X']}/proof", tree["auditor"]).status_code == 404
    assert api.get(f"/audit/entries/{seqs['ENT-X']}/proof", tree["auditor2"]).status_code == 200


def test_a_changed_stored_node_or_entry_is_named_by_verify(app, db, tree):
    _append(db, 10)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify", "--quiet"]).exit_code == 0
    _raw(db, "UPDATE audit_tree SET nodes = :n WHERE idx = 15", params={"n": b"\x00" * 32})
    bad = runner.invoke(args=["audit", "verify", "--quiet"])
    assert bad.exit_code == 1 and "entry 16" in bad.output and "Merkle tree node" in bad.output
    # and the database refuses to change the tree at all behind the engine
    from sqlalchemy.exc import DBAPIError

    for statement in ("UPDATE audit_tree SET nodes = nodes", "DELETE FROM audit_tree"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))


def test_a_missing_tree_row_is_named(app, db, tree):
    _append(db, 20)
    _raw(db, "DELETE FROM audit_tree WHERE idx = 31")
    bad = app.test_cli_runner().invoke(args=["audit", "verify", "--quiet"])
    assert bad.exit_code == 1 and "lacks entry 32" in bad.output


def _tree_rows(db) -> dict[int, bytes]:
    with db.read() as session:
        return {int(i): bytes(b) for i, b in session.execute(text("SELECT idx, nodes FROM audit_tree"))}


def test_only_every_sixteenth_entry_writes_a_tree_row(db, api, tree):
    _append(db, 45)
    n = len(_leaves(db))
    assert sorted(_tree_rows(db)) == [i for i in range(n) if (i + 1) % 16 == 0]
    assert merkle_tree.stores_row(15) and not merkle_tree.stores_row(14) and not merkle_tree.stores_row(16)


def test_a_tree_stored_before_tiles_still_proves_and_is_checked(app, db, api, tree):
    """Trails whose tree kept a row for every entry: those rows are compared too, and proofs still verify."""
    from audit.merkle import append_leaf

    _append(db, 20)
    leaves = _leaves(db)
    frontier: list[bytes] = []
    rows = {i: b"".join(append_leaf(frontier, i, leaf)) for i, leaf in enumerate(leaves)}
    stored = _tree_rows(db)
    assert all(rows[i] == blob for i, blob in stored.items())
    legacy = [i for i in rows if i not in stored]
    _raw(db, *["INSERT INTO audit_tree (idx, nodes) VALUES (:i%d, :b%d)" % (i, i) for i in legacy],
         params={**{f"i{i}": i for i in legacy}, **{f"b{i}": rows[i] for i in legacy}})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify", "--quiet"]).exit_code == 0
    size = len(leaves)
    for seq in (1, 7, 16, 17, size):
        body = api.get(f"/audit/entries/{seq}/proof", tree["admin"]).get_json()
        assert rfc_verify_inclusion(seq - 1, size, leaves[seq - 1], [bytes.fromhex(p) for p in body["path"]],
                                    mth(leaves))
    _raw(db, "UPDATE audit_tree SET nodes = :n WHERE idx = 4", params={"n": b"\x01" * 32})
    bad = runner.invoke(args=["audit", "verify", "--quiet"])
    assert bad.exit_code == 1 and "entry 5" in bad.output and "Merkle tree node" in bad.output


@pytest.mark.parametrize("statements", [
    [],
    ["UPDATE audit_tree SET nodes = :n WHERE idx = 11"],
    ["DELETE FROM audit_tree WHERE idx = 19"],
    ["UPDATE audit_head SET frontier = ''"],
], ids=["intact", "node changed", "row removed", "frontier changed"])
def test_the_tree_checked_in_a_process_of_its_own_finds_what_one_pass_finds(app, db, tree, engine, statements,
                                                                             monkeypatch):
    """With the chain checked in several processes the tree is checked beside it, in one more: same answers."""
    import audit.parallel

    answers = []
    result = audit.parallel.tree_check_result
    monkeypatch.setattr(audit.trail, "tree_check_result", lambda proc: answers.append(result(proc)) or answers[-1])
    _append(db, 10)
    if statements:
        _raw(db, *statements, params={"n": b"\x00" * 32})
    out = []
    for kwargs in ({}, {"workers": 3, "parallel_from": 1}):
        with db.read(snapshot=True) as session:
            out.append(audit.verify(session, lambda: engine.subjects(session), **kwargs))
    assert out[0].as_dict() == out[1].as_dict()
    assert out[0].ok is not statements
    assert len(answers) == 1 and answers[0][0] is True and answers[0][1] == out[1].first_bad


@pytest.fixture
def signed(app, tmp_path):
    runner = app.test_cli_runner()
    private = tmp_path / "office.key"
    made = runner.invoke(args=["audit", "keygen", "--out", str(private)])
    public = tmp_path / "office.pub"
    public.write_text(made.stdout)

    def sign() -> Path:
        out = tmp_path / "cp.json"
        result = runner.invoke(args=["audit", "checkpoint", "--key", str(private), "--out", str(out)])
        assert result.exit_code == 0, result.output
        return out.with_suffix(".note")

    return sign, public


def _tool(proof: Path, public: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), str(proof), str(public)], capture_output=True, text=True,
                          cwd="/", env={"PATH": "/usr/bin:/bin"}, timeout=60)


def test_the_signed_note_verifies_by_consistency_as_the_trail_grows(app, db, tree, signed):
    sign, public = signed
    note = sign()
    lines = note.read_text(encoding="utf-8").split("\n")
    leaves = _leaves(db)
    import base64

    assert lines[1] == str(len(leaves)) and base64.b64decode(lines[2]) == mth(leaves)
    assert lines[3] == "" and lines[4].startswith("\u2014 unionflow/audit ")
    _append(db, 5)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify", "--checkpoint", str(note), "--public-key", str(public)])
    assert ok.exit_code == 0, ok.output
    assert "consistency proof" in ok.stdout and f"{len(leaves) + 5} entries" in ok.stdout
    no_key = runner.invoke(args=["audit", "verify", "--checkpoint", str(note)])
    assert no_key.exit_code == 2
    forged = note.read_text(encoding="utf-8").replace(f"\n{len(leaves)}\n", f"\n{len(leaves) - 1}\n")
    note.write_text(forged, encoding="utf-8")
    bad = runner.invoke(args=["audit", "verify", "--checkpoint", str(note), "--public-key", str(public)])
    assert bad.exit_code == 1 and "signature is not valid" in bad.stdout


def test_prove_and_the_standalone_verifier(app, db, tree, signed, tmp_path):
    sign, public = signed
    note = sign()
    _append(db, 3)  # entries after the checkpoint do not disturb a proof against it
    runner = app.test_cli_runner()
    out = tmp_path / "proof.json"
    made = runner.invoke(args=["audit", "prove", "--entry", "7", "--checkpoint", str(note), "--out", str(out)])
    assert made.exit_code == 0, made.output
    checked = _tool(out, public)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "content hashes" in checked.stdout and "PROOF VALID" in checked.stdout
    too_new = runner.invoke(args=["audit", "prove", "--entry", "22", "--checkpoint", str(note), "--out", str(out)])
    assert too_new.exit_code == 2 and "newer than the checkpoint" in too_new.output

    body = json.loads(out.read_text(encoding="utf-8"))
    tampered = [
        ("actor", lambda b: b["entry"].update(actor="mallory"), "content does not match its hash"),
        ("hash", lambda b: b["entry"].update(hash=b["entry"]["hash"][:-1] + "0"), ""),
        ("path", lambda b: b["inclusion"].__setitem__(0, "f" * 64), "inclusion proof does not lead"),
        ("note", lambda b: b.update(checkpoint=b["checkpoint"].replace("unionflow/audit\n", "unionflow/audiT\n", 1)),
         "not signed by this public key"),
    ]
    for name, change, said in tampered:
        copy = json.loads(json.dumps(body))
        change(copy)
        if copy == body:
            continue
        path = tmp_path / f"bad-{name}.json"
        path.write_text(json.dumps(copy), encoding="utf-8")
        refused = _tool(path, public)
        assert refused.returncode == 1 and "PROOF INVALID" in refused.stdout, name
        assert said in refused.stdout, (name, refused.stdout)


def test_the_entry_page_offers_a_proof_file_the_tool_accepts_and_one_changed_byte_fails(app, db, client, tree,
                                                                                        signed, tmp_path):
    sign, public = signed
    login(client, "auditor")
    with db.read() as session:
        seq = session.execute(text("SELECT seq FROM audit_entries WHERE subject_id = 'ENT-L'")).scalar_one()
    missing = client.get(f"/audit/entries/{seq}/proof.json")
    assert missing.status_code == 409 and "签名检查点" in missing.get_data(as_text=True)
    app.config["UNIONFLOW_AUDIT_CHECKPOINT"] = str(sign())
    page = client.get(f"/audit/entries/{seq}")
    assert "proof.json" in page.get_data(as_text=True) and "证明" in page.get_data(as_text=True)
    resp = client.get(f"/audit/entries/{seq}/proof.json")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    raw = resp.get_data()
    good = tmp_path / "page-proof.json"
    good.write_bytes(raw)
    assert _tool(good, public).returncode == 0
    refused = 0
    for i in range(0, len(raw), max(1, len(raw) // 60)):  # a changed byte anywhere: refused or unreadable
        changed = bytearray(raw)
        changed[i] ^= 0x01
        path = tmp_path / "changed.json"
        path.write_bytes(bytes(changed))
        result = _tool(path, public)
        if result.returncode == 0:  # only bytes no check reads may change: JSON layout
            assert json.loads(bytes(changed)) == json.loads(raw) or raw[i:i + 1] in b" \n"
        else:
            refused += 1
    assert refused > 30
    # another subtree's entry has no proof for this auditor
    with db.read() as session:
        other = session.execute(text("SELECT seq FROM audit_entries WHERE subject_id = 'ENT-X'")).scalar_one()
    assert client.get(f"/audit/entries/{other}/proof.json").status_code == 404


def test_a_masked_entry_is_proven_by_its_hash_alone(app, db, client, tree, signed, tmp_path):
    sign, public = signed
    with db.write() as session:
        audit.append(session, actor="admin", role="admin", subject_type="org", subject_id="ENT-L", trigger="note",
                     from_state=None, to_state=None, version=None, data={"id_number": "110101199003071234"})
        seq = session.execute(text("SELECT max(seq) FROM audit_entries")).scalar_one()
    app.config["UNIONFLOW_AUDIT_CHECKPOINT"] = str(sign())
    login(client, "auditor")
    resp = client.get(f"/audit/entries/{seq}/proof.json")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["masked"] is True and "data_text" not in body["entry"]
    assert "1990" not in resp.get_data(as_text=True) and body["entry"]["data"]["id_number"].startswith("110101*")
    path = tmp_path / "masked.json"
    path.write_bytes(resp.get_data())
    checked = _tool(path, public)
    assert checked.returncode == 0 and "content masked" in checked.stdout, checked.stdout
    # the office's own proof carries the hashed text, so the content is checked too
    out = tmp_path / "full.json"
    runner = app.test_cli_runner()
    note = app.config["UNIONFLOW_AUDIT_CHECKPOINT"]
    assert runner.invoke(args=["audit", "prove", "--entry", str(seq), "--checkpoint", note, "--out", str(out)]
                         ).exit_code == 0
    full = _tool(out, public)
    assert full.returncode == 0 and "content hashes" in full.stdout


def test_the_command_line_gives_the_apis_answers(app, api, tree):
    runner = app.test_cli_runner()
    admin = tree["admin"]
    for args, path in [(["tree"], "/audit/tree"), (["proof", "7", "--size", "15"], "/audit/entries/7/proof?size=15"),
                       (["consistency", "--from", "6", "--to", "19"], "/audit/consistency?from=6&to=19")]:
        result = runner.invoke(args=["audit", *args])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == api.get(path, admin).get_json()
    for args in (["proof", "0"], ["proof", "21"], ["proof", "5", "--size", "4"], ["consistency", "--from", "9",
                                                                                   "--to", "3"]):
        result = runner.invoke(args=["audit", *args])
        assert result.exit_code == 2 and "error:" in result.output, args


def _entries(first: int, n: int) -> list[dict]:
    return [dict(actor="system", role="system", subject_type="note", subject_id=f"M{i}", trigger="note",
                 from_state=None, to_state=None, version=None, data={"i": i}) for i in range(first, first + n)]


def test_entries_appended_together_link_and_grow_the_tree_as_one_by_one(app, db, api, tree):
    """append_many, over a tile's edge and after single appends: the chain, the stored rows every sixteenth
    entry, the tree's root and its proofs are those of the same entries appended one at a time."""
    _append(db, 3)
    with db.write() as session:
        written = audit.append_many(session, _entries(0, 40))
        assert [r["seq"] for r in written] == list(range(written[0]["seq"], written[0]["seq"] + 40))
        assert all(b["prev_hash"] == a["hash"] for a, b in zip(written, written[1:]))
    _append(db, 2)
    with db.write() as session:  # one entry, and none, take the single path
        assert len(audit.append_many(session, _entries(40, 1))) == 1 and audit.append_many(session, []) == []
    leaves = _leaves(db)
    n = len(leaves)
    assert sorted(_tree_rows(db)) == [i for i in range(n) if (i + 1) % 16 == 0]
    assert api.get("/audit/tree", tree["admin"]).get_json() == {"size": n, "root": mth(leaves).hex()}
    body = api.get(f"/audit/entries/{n - 10}/proof?size={n}", tree["admin"]).get_json()
    assert rfc_verify_inclusion(n - 11, n, leaves[n - 11], [bytes.fromhex(p) for p in body["path"]], mth(leaves))
    with db.read() as session:
        assert audit.verify(session).ok
    # an entry of the batch changed afterwards is found
    _raw(db, "UPDATE audit_entries SET comment = 'x' WHERE seq = :s", params={"s": written[20]["seq"]})
    bad = app.test_cli_runner().invoke(args=["audit", "verify", "--quiet"])
    assert bad.exit_code == 1 and f"entry {written[20]['seq']}" in bad.output
