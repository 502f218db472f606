"""Signed checkpoints: the pure signing and checking, and `flask audit keygen/checkpoint/verify --checkpoint`
catching a rewrite or a truncation that re-chains the trail (which plain verification cannot see)."""
from __future__ import annotations

import json
import stat
from datetime import datetime

import pytest
from sqlalchemy import create_engine, select, text

import audit
from audit import checkpoint as cp
from audit.chain import format_at
from audit.ddl import create_statements, drop_statements
from storage import normalise_url

AT = datetime(2026, 11, 10, 8, 30, 0, 123456)


# -- pure ------------------------------------------------------------------------

def test_sign_and_check_and_every_signed_field_is_covered():
    key = cp.generate_key()
    head = cp.Head(entries=7, seq=7, hash="ab" * 32)
    signed = cp.sign(head, key, AT)
    assert signed["time"] == "2026-11-10T08:30:00.123456Z" and signed["key_id"] == cp.key_id(key.public_key())
    assert cp.loads(cp.dumps(signed)) == signed
    assert cp.check_signature(signed, key.public_key()) is not None
    assert cp.check_signature(signed) is not None  # against the key inside: the file is intact
    for name, value in (("entries", 8), ("seq", 6), ("hash", "cd" * 32), ("time", "2026-11-11T08:30:00.000000Z")):
        with pytest.raises(cp.CheckpointError, match="signature is not valid"):
            cp.check_signature({**signed, name: value}, key.public_key())


def test_a_checkpoint_signed_with_another_key_is_refused():
    office, other = cp.generate_key(), cp.generate_key()
    forged = cp.sign(cp.Head(3, 3, "ab" * 32), other, AT)
    with pytest.raises(cp.CheckpointError, match="not with the trusted key"):
        cp.check_signature(forged, office.public_key())
    # swapping in the office's public key does not help: the signature no longer matches
    swapped = {**forged, "public_key": cp.sign(cp.Head(3, 3, "ab" * 32), office, AT)["public_key"],
               "key_id": cp.key_id(office.public_key())}
    with pytest.raises(cp.CheckpointError, match="signature is not valid"):
        cp.check_signature(swapped, office.public_key())
    with pytest.raises(cp.CheckpointError, match="key id"):
        cp.check_signature({**forged, "key_id": "0" * 16})


@pytest.mark.parametrize("text_", ["", "[]", '{"format": "x"}', json.dumps({"format": cp.FORMAT, "entries": -1}),
                                   json.dumps({"format": cp.FORMAT, "entries": True, "seq": 1})])
def test_loads_refuses_what_is_not_a_checkpoint(text_):
    with pytest.raises(cp.CheckpointError):
        cp.loads(text_)


def test_extension_at_its_boundaries():
    signed = {"entries": 5, "seq": 5, "hash": "h5", "time": "t"}
    assert cp.extension_problem(signed, cp.Head(5, 5, "h5"), "h5") is None  # nothing new: still extends
    assert cp.extension_problem(signed, cp.Head(9, 9, "h9"), "h5") is None
    assert "removed" in cp.extension_problem(signed, cp.Head(4, 4, "h4"), None)
    assert "rewritten" in cp.extension_problem(signed, cp.Head(9, 9, "h9"), "hX")
    assert "truncated" in cp.extension_problem(signed, cp.Head(9, 9, "h9"), None)
    empty = {"entries": 0, "seq": 0, "hash": audit.GENESIS, "time": "t"}
    assert cp.extension_problem(empty, cp.Head(0, 0, audit.GENESIS), None) is None


# -- the command line --------------------------------------------------------------

@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(args=list(args))

    return run


@pytest.fixture
def keys(cli, tmp_path):
    private = tmp_path / "office.key"
    made = cli("audit", "keygen", "--out", str(private))
    assert made.exit_code == 0, made.output
    public = tmp_path / "office.pub"
    public.write_text(made.stdout)
    return private, public


def _raw(db_url: str, *statements: tuple[str, dict]) -> None:
    engine = create_engine(normalise_url(db_url))
    with engine.begin() as conn:
        for s in drop_statements(engine.dialect.name):
            conn.exec_driver_sql(s)
        for sql, params in statements:
            conn.execute(text(sql), params)
        for s in create_statements(engine.dialect.name):
            conn.exec_driver_sql(s)
    engine.dispose()


def _rechain_from(db_url: str, seq: int, **change: str) -> None:
    """What an intruder with write access does: edit entry `seq`, then recompute every later link and the head."""
    engine = create_engine(normalise_url(db_url))
    with engine.connect() as conn:
        table = audit.AuditEntry.__table__
        rows = [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.seq))]
    engine.dispose()
    statements = []
    prev = rows[seq - 2]["hash"] if seq > 1 else audit.GENESIS
    for row in rows[seq - 1:]:
        row.update(change if row["seq"] == seq else {})
        row["prev_hash"] = prev
        fields = {k: row[k] for k in ("seq", "actor", "role", "subject_type", "subject_id", "trigger", "from_state",
                                      "to_state", "version", "comment", "data", "prev_hash")}
        row["hash"] = audit.entry_hash(**fields, at=format_at(row["at"]))
        prev = row["hash"]
        statements.append(("UPDATE audit_entries SET actor = :actor, comment = :comment, prev_hash = :prev_hash, "
                           "hash = :hash WHERE seq = :seq", row))
    statements.append(("UPDATE audit_head SET hash = :hash WHERE id = 1", {"hash": prev}))
    _raw(db_url, *statements)


def test_keygen_writes_a_private_key_only_its_owner_reads(cli, keys):
    private, public = keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    cp.load_private_key(private.read_bytes())
    again = cli("audit", "keygen", "--out", str(private))
    assert again.exit_code == 2 and "exists" in again.output


def test_the_trail_extends_its_checkpoint_as_it_grows(cli, keys, tree, make_org, tmp_path):
    private, public = keys
    out = tmp_path / "checkpoint.json"
    made = cli("audit", "checkpoint", "--key", str(private), "--out", str(out))
    assert made.exit_code == 0, made.output
    signed = json.loads(out.read_text())
    assert (signed["entries"], signed["seq"]) == (20, 20)  # 8 organisations and 12 users
    ok = cli("audit", "verify", "--quiet", "--checkpoint", str(out), "--public-key", str(public))
    assert ok.exit_code == 0, ok.output
    assert "extends the checkpoint" in ok.stdout and "given public key" in ok.stdout

    make_org("LATER", "federation")
    assert cli("audit", "verify", "--quiet", "--checkpoint", str(out), "--public-key", str(public)).exit_code == 0

    # printed to standard output when there is no --out
    printed = cli("audit", "checkpoint", "--key", str(private))
    assert printed.exit_code == 0 and cp.loads(printed.stdout)["entries"] == 21


def test_a_checkpoint_from_another_key_or_altered_fails(cli, keys, tree, tmp_path):
    private, public = keys
    other = tmp_path / "other.key"
    other_pub = tmp_path / "other.pub"
    other_pub.write_text(cli("audit", "keygen", "--out", str(other)).stdout)
    out = tmp_path / "checkpoint.json"
    assert cli("audit", "checkpoint", "--key", str(other), "--out", str(out)).exit_code == 0
    wrong = cli("audit", "verify", "--quiet", "--checkpoint", str(out), "--public-key", str(public))
    assert wrong.exit_code == 1 and "INVALID" in wrong.stdout
    assert cli("audit", "verify", "--quiet", "--checkpoint", str(out), "--public-key", str(other_pub)).exit_code == 0

    body = json.loads(out.read_text())
    out.write_text(json.dumps({**body, "seq": body["seq"] - 1}))
    altered = cli("audit", "verify", "--quiet", "--checkpoint", str(out), "--public-key", str(other_pub))
    assert altered.exit_code == 1 and "signature is not valid" in altered.stdout
    out.write_text("not json")
    assert cli("audit", "verify", "--quiet", "--checkpoint", str(out)).exit_code == 2


def test_a_rewrite_before_the_checkpoint_passes_the_chain_but_not_the_checkpoint(cli, keys, tree, db_url, tmp_path):
    private, public = keys
    out = tmp_path / "checkpoint.json"
    assert cli("audit", "checkpoint", "--key", str(private), "--out", str(out)).exit_code == 0

    _rechain_from(db_url, 5, actor="mallory", comment="")
    # the chain alone is consistent again, but the Merkle tree's stored nodes still hold the old entries: the
    # first tree row over the rewritten entries (a row every sixteen entries) names where to look
    plain = cli("audit", "verify", "--quiet")
    assert plain.exit_code == 1 and "Merkle tree node stored for entry 16" in plain.output
    assert "one of entries 1 to 16 was rewritten" in plain.output
    caught = cli("audit", "verify", "--quiet", "--checkpoint", str(out), "--public-key", str(public))
    assert caught.exit_code == 1 and "entry 16" in caught.stdout
    # the signed note is checked by a consistency proof: the entry at its size no longer has its leaf
    note = out.with_suffix(".note")
    by_note = cli("audit", "verify", "--quiet", "--checkpoint", str(note), "--public-key", str(public))
    assert by_note.exit_code == 1
    # (the newest entries, of a tile not complete yet, have no stored row: today's root for the signed size
    # is computed from the rewritten entries, and differs from the signed one)
    assert "does NOT extend" in by_note.stdout and "the tree of 20 entries the checkpoint signed" in by_note.stdout


def test_a_truncation_to_before_the_checkpoint_is_caught(cli, keys, tree, db_url, tmp_path):
    private, public = keys
    out = tmp_path / "checkpoint.json"
    assert cli("audit", "checkpoint", "--key", str(private), "--out", str(out)).exit_code == 0
    engine = create_engine(normalise_url(db_url))
    with engine.connect() as conn:
        head17 = conn.execute(text("SELECT hash FROM audit_entries WHERE seq = 17")).scalar_one()
    engine.dispose()
    _raw(db_url, ("DELETE FROM audit_entries WHERE seq > 17", {}),
         ("UPDATE audit_head SET seq = 17, hash = :h WHERE id = 1", {"h": head17}))

    plain = cli("audit", "verify", "--quiet")  # the tree still holds entries 18 to 20
    assert plain.exit_code == 1 and "entry 18" in plain.output and "entries removed" in plain.output
    caught = cli("audit", "verify", "--quiet", "--checkpoint", str(out.with_suffix(".note")), "--public-key",
                 str(public))
    assert caught.exit_code == 1 and "17 entries" in caught.stdout and "removed" in caught.stdout


def test_checkpoint_refuses_to_sign_a_broken_trail(cli, keys, tree, db_url, tmp_path):
    private, _public = keys
    _raw(db_url, ("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 3", {}))
    refused = cli("audit", "checkpoint", "--key", str(private), "--out", str(tmp_path / "c.json"))
    assert refused.exit_code == 1 and "entry 3" in refused.output
    assert not (tmp_path / "c.json").exists()
