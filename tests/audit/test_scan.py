"""SQLite's fast check gives exactly what the entry-by-entry check gives, value by value, at every boundary.

Each test builds a small trail in its own SQLite database and checks it two
ways: `check_sqlite` (SQLite writes the hashed text, batches are checked as
a whole) and the authority, `Checker.rows` over every column. The outcomes
(the run, or the exception raised) must be the same; where SQLite's text is
the canonical one, the fast check must not have needed the authority at all.
"""
from __future__ import annotations

import hashlib
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from audit import parallel, scan
from audit.chain import GENESIS, hashed_at, link_hash

COLUMNS = ("seq", "at", "actor", "role", "subject_type", "subject_id", "trigger", "from_state", "to_state",
           "version", "comment", "data", "prev_hash", "hash")
# the columns as the migrations declare them; UNTYPED keeps every value as it was stored, as a table rebuilt
# by someone else might
TYPED = ('CREATE TABLE audit_entries (seq INTEGER NOT NULL PRIMARY KEY, at DATETIME NOT NULL, actor VARCHAR(64), '
         'role VARCHAR(16), subject_type VARCHAR(16), subject_id VARCHAR(64), "trigger" VARCHAR(64), '
         'from_state VARCHAR(64), to_state VARCHAR(64), version INTEGER, comment TEXT, data TEXT, '
         'prev_hash VARCHAR(64), hash VARCHAR(64))')
UNTYPED = ('CREATE TABLE audit_entries (seq INTEGER PRIMARY KEY, at, actor, role, subject_type, subject_id, '
           '"trigger", from_state, to_state, version, comment, data, prev_hash, hash)')

AT = "2026-11-21 08:00:00.000001"  # as SQLAlchemy stores a time on SQLite


def entry(seq: int, **fields: Any) -> dict[str, Any]:
    row = dict(seq=seq, at=AT, actor="prep", role="preparer", subject_type="case", subject_id=str(seq % 3),
               trigger="submit", from_state="draft", to_state="submitted", version=seq, comment="",
               data='{"amount":10}')
    row.update(fields)
    return row


def authoritative_hash(row: dict[str, Any]) -> str:
    return link_hash(row["seq"], hashed_at(row["at"]), *(row[c] for c in COLUMNS[2:13]))


def connect(schema: str = TYPED) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute(schema)
    return connection


def build(rows: list[dict[str, Any]], schema: str = TYPED, links: dict[int, str] | None = None) -> sqlite3.Connection:
    """A trail of `rows`, each linked to the one before (or to `links[seq]`) and hashed as `link_hash` hashes it."""
    connection = connect(schema)
    prev = GENESIS
    for row in rows:
        row = {**row, "prev_hash": (links or {}).get(row["seq"], prev)}
        row["hash"] = prev = authoritative_hash(row)
        connection.execute(f"INSERT INTO audit_entries VALUES ({', '.join('?' * 14)})", [row[c] for c in COLUMNS])
    return connection


def sqlite_text_hash(connection: sqlite3.Connection, seq: int) -> str:
    """The hash of the text SQLite writes for an entry, whatever its values (what a forger could store)."""
    text = connection.execute(f"SELECT {scan._TEXT_SQL} FROM audit_entries WHERE seq = ?", (seq,)).fetchone()[0]
    return hashlib.sha256(text).hexdigest()


def forge_last(connection: sqlite3.Connection, seq: int) -> None:
    """Store over the last entry the hash of SQLite's text of it, so that no later link gives the change away."""
    connection.execute("UPDATE audit_entries SET hash = ? WHERE seq = ?", (sqlite_text_hash(connection, seq), seq))


def outcome(check, connection: sqlite3.Connection) -> tuple:
    try:
        run = check(connection)
    except Exception as err:  # noqa: BLE001  the exception is part of the outcome
        return "raised", type(err), str(err)
    return "run", run.checked, run.first_prev, run.last_hash, run.last, run.bad


def by_authority(connection: sqlite3.Connection, lo: int | None = None, hi: int | None = None,
                 first_prev: str | None = GENESIS) -> scan.Run:
    checker = scan.Checker(1 if lo is None else lo, first_prev)
    if lo is None:
        checker.rows(connection.execute(scan._ROWS_ALL))
    else:
        checker.rows(connection.execute(scan._ROWS_RANGE, (lo, hi)))
    return checker.done()


@pytest.fixture
def looked_closer(monkeypatch) -> list[int]:
    """How many times the fast check handed rows to the authority."""
    calls: list[int] = []
    rows = scan.Checker.rows
    monkeypatch.setattr(scan.Checker, "rows", lambda self, given: calls.append(1) or rows(self, given))
    return calls


def both(connection: sqlite3.Connection, looked_closer: list[int]) -> tuple[tuple, int]:
    """The fast outcome, checked against the authority's, and how often the fast check needed the authority."""
    fast = outcome(lambda c: scan.check_sqlite(c, 20000), connection)
    needed = len(looked_closer)
    assert fast == outcome(by_authority, connection)
    return fast, needed


def test_this_sqlite_writes_the_canonical_text():
    assert scan.sqlite_writes_canonical_text(sqlite3.connect(":memory:"))


# every control character, the characters JSON escapes, those it need not (DEL, '/', the line and paragraph
# separators, BOM), each UTF-8 length, NUL inside a text, the empty text
TRICKY = [chr(c) for c in range(32)] + ['"', "\\", "/", "'", "\x7f", "\u0080", "\u00e9", "\u07ff", "\u0800", "\u2028",
                                       "\u2029", "\ufeff", "\uffff", "中文", "\U0001F600", "\U0010ffff", "a\x00b", ""]
TEXT_FIELDS = ("actor", "role", "subject_type", "subject_id", "trigger", "from_state", "to_state", "comment", "data")


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_any_string_is_written_as_the_canonical_encoder_writes_it(field, looked_closer):
    rows = [entry(seq, **{field: f"<{tricky}>"}) for seq, tricky in enumerate(TRICKY, start=1)]
    connection = build(rows)
    (kind, checked, *_rest, bad), needed = both(connection, looked_closer)
    assert (kind, checked, bad, needed) == ("run", len(TRICKY), None, 0)


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("tricky", ["\x00", "\x1f", '"', "\\", "\u2028", "\U0001F600"])
def test_an_edit_of_such_a_string_is_found_as_always(field, tricky, looked_closer):
    connection = build([entry(seq, **{field: f"<{tricky}>"}) for seq in range(1, 5)])
    connection.execute(f'UPDATE audit_entries SET "{field}" = ? WHERE seq = 3', (f"<{tricky}{tricky}>",))
    (kind, checked, *_rest, bad), needed = both(connection, looked_closer)
    assert (kind, checked, bad) == ("run", 2, {"seq": 3, "problem": "content does not match its hash (entry edited)"})
    assert needed == 1


@pytest.mark.parametrize("at, fast", [
    (AT, True),
    ("not a time but 26 chars !!", True),  # 26 characters, the 11th a space: taken as they are, by both
    ("2026-11-21T08:00:00.000001", False),  # no space at the 11th: parsed
    ("2026-11-21X08:00:00.000001", False),
    ("2026-11-21 08:00:00.00000\x00", False),  # 26 characters, one of them NUL, where SQLite's length stops
    ("2026-11-21 08:00:0\x00.000001", False),
    ("2026-11-21 08:00:00.00000é", False),  # 26 characters in 27 bytes
    ("2026-11-21 08:00:00", False),  # SQLite's CURRENT_TIMESTAMP
    ("2026-11-21 08:00:00.000001+00:00", False),
])
def test_times_of_another_form_are_hashed_as_always(at, fast, looked_closer):
    connection = build([entry(1), entry(2, at=at), entry(3)])
    (kind, checked, *_rest, bad), needed = both(connection, looked_closer)
    assert (kind, checked, bad) == ("run", 3, None)
    assert (needed == 0) is fast


@pytest.mark.parametrize("at, found", [
    ("2026-11-21 08:00:00.00000\x00", "edited"),  # link_hash's text has the NUL, SQLite's substr stops at it
    ("2026-11-21 08:00:0\x00.000001", "edited"),
    ("2026-11-21T08:00:00.000+08", "edited"),  # read by link_hash as the time it names
    ("2026-11-21 08:00:00.0000é", "raised"),  # 25 characters in 26 bytes: not a time link_hash can read
    ("not-a-time-but-26-chars-!!", "raised"),  # no space at the 11th: not a time link_hash can read
    ("2026-11-21 08:00:00.00000é", "accepted"),  # 26 characters in 27 bytes: the same text from both
])
def test_a_hash_over_sqlites_own_text_of_an_odd_time_is_accepted_only_as_always(at, found, looked_closer):
    connection = build([entry(1), entry(2)])
    connection.execute("UPDATE audit_entries SET at = ? WHERE seq = 2", (at,))
    forge_last(connection, 2)
    fast, _needed = both(connection, looked_closer)
    assert {"edited": fast[-1] == {"seq": 2, "problem": "content does not match its hash (entry edited)"},
            "raised": fast[:2] == ("raised", ValueError),
            "accepted": fast[0] == "run" and fast[-1] is None}[found]


@pytest.mark.parametrize("at", ["2026-11-21 08:00:00.000é", "garbage"])
def test_a_time_that_cannot_be_read_raises_as_always(at, looked_closer):
    connection = build([entry(1), entry(2)])
    connection.execute("UPDATE audit_entries SET at = ? WHERE seq = 2", (at,))
    fast, _needed = both(connection, looked_closer)
    assert fast[:2] == ("raised", ValueError)


def test_a_time_edited_in_its_own_form_is_found_as_always(looked_closer):
    connection = build([entry(1), entry(2), entry(3)])
    connection.execute("UPDATE audit_entries SET at = '2026-11-21 08:00:00.000002' WHERE seq = 2")
    fast, needed = both(connection, looked_closer)
    assert (fast[-1], needed) == ({"seq": 2, "problem": "content does not match its hash (entry edited)"}, 1)


# values no column of the app's schema holds, but a rebuilt table may: each is hashed as link_hash hashes it
THIRD = 0.1 + 0.2  # 0.30000000000000004 to Python, 0.3 to SQLite
ODD = [("version", 1.5), ("version", THIRD), ("version", 1e15), ("version", 2.0), ("version", "3"),
       ("actor", 5), ("actor", THIRD), ("actor", None), ("role", THIRD), ("subject_type", THIRD),
       ("subject_id", 7), ("subject_id", THIRD), ("trigger", THIRD), ("from_state", THIRD), ("to_state", THIRD),
       ("comment", 10**18), ("comment", THIRD), ("data", 5), ("data", THIRD), ("data", b"\x00\xff")]


@pytest.mark.parametrize("field, value", ODD)
def test_values_of_other_types_are_checked_as_always(field, value, looked_closer):
    connection = build([entry(1), entry(2, **{field: value}), entry(3)], UNTYPED)
    (kind, checked, *_rest, bad), needed = both(connection, looked_closer)
    assert (kind, checked, bad, needed) == ("run", 3, None, 1)


@pytest.mark.parametrize("field, value", ODD)
def test_a_hash_over_sqlites_own_text_of_an_odd_value_is_not_accepted(field, value, looked_closer):
    """Where SQLite's text of a value is not link_hash's (a real: 0.3 against 0.30000000000000004), a hash
    forged over SQLite's text passes only if link_hash's text is the same."""
    connection = build([entry(1), entry(2, **{field: value})], UNTYPED)
    forge_last(connection, 2)
    row = dict(zip(COLUMNS, connection.execute(scan._ROWS_ALL + " LIMIT 1 OFFSET 1").fetchone()))
    same_text = row["hash"] == authoritative_hash(row)
    fast, _needed = both(connection, looked_closer)
    assert fast[-1] == (None if same_text else {"seq": 2, "problem": "content does not match its hash (entry edited)"})
    if value is THIRD or value == 1e15 or isinstance(value, bytes):
        assert not same_text


def test_a_prev_hash_of_another_type_breaks_the_link_as_always(looked_closer):
    connection = build([entry(1), entry(2)], UNTYPED)
    connection.execute("UPDATE audit_entries SET prev_hash = 1.5 WHERE seq = 2")
    forge_last(connection, 2)
    fast, _needed = both(connection, looked_closer)
    assert fast[-1] == {"seq": 2, "problem": "prev_hash does not match the previous entry's hash"}


@pytest.mark.parametrize("field", ["actor", "comment", "data", "at", "subject_id", "to_state", "hash"])
def test_text_that_is_not_utf8_raises_as_always(field, looked_closer):
    """Also with a hash forged over the raw bytes: the driver refuses to read such a column, so did verify."""
    connection = build([entry(1), entry(2)])
    connection.execute(f"UPDATE audit_entries SET \"{field}\" = CAST(CAST(\"{field}\" AS BLOB) || X'ff' AS TEXT) "
                       "WHERE seq = 2")
    if field != "hash":
        forge_last(connection, 2)
    fast, _needed = both(connection, looked_closer)
    assert fast[:2] == ("raised", sqlite3.OperationalError)


@pytest.mark.parametrize("field, raises", [("actor", True), ("comment", True), ("version", True), ("data", False)])
def test_a_blob_is_checked_as_always(field, raises, looked_closer):
    """The canonical encoder refuses bytes (verify raised); the data is hashed as Python writes bytes."""
    connection = build([entry(1), entry(2), entry(3)], UNTYPED)
    connection.execute(f"UPDATE audit_entries SET \"{field}\" = X'00ff' WHERE seq = 2")
    fast, _needed = both(connection, looked_closer)
    if raises:
        assert fast[:2] == ("raised", TypeError)
    else:
        assert fast[-1] == {"seq": 2, "problem": "content does not match its hash (entry edited)"}


TAMPERING = {
    "intact": [],
    "first entry of a batch edited": ["UPDATE audit_entries SET comment = 'x' WHERE seq = 4"],
    "last entry of a batch edited": ["UPDATE audit_entries SET comment = 'x' WHERE seq = 6"],
    "last entry edited": ["UPDATE audit_entries SET comment = 'x' WHERE seq = 10"],
    "entry deleted": ["DELETE FROM audit_entries WHERE seq = 7"],
    "first entry deleted": ["DELETE FROM audit_entries WHERE seq = 1"],
    "entry with seq 0 added": ["INSERT INTO audit_entries SELECT 0, at, actor, role, subject_type, subject_id, "
                               '"trigger", from_state, to_state, version, comment, data, prev_hash, hash '
                               "FROM audit_entries WHERE seq = 1"],
    "link broken": ["UPDATE audit_entries SET prev_hash = hash WHERE seq = 5"],
    "entries swapped": ["UPDATE audit_entries SET seq = -1 WHERE seq = 4", "UPDATE audit_entries SET seq = 4 WHERE seq = 5",
                        "UPDATE audit_entries SET seq = 5 WHERE seq = -1"],
    "first entry's link changed": ["UPDATE audit_entries SET prev_hash = hash WHERE seq = 1"],
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_batches_find_what_the_authority_finds_with_the_same_progress(name, monkeypatch, looked_closer):
    monkeypatch.setattr(scan, "BATCH", 3)  # batches 1-3, 4-6, 7-9, 10
    connection = build([entry(seq) for seq in range(1, 11)])
    for statement in TAMPERING[name]:
        connection.execute(statement)
    fast_calls: list[int] = []
    fast = outcome(lambda c: scan.check_sqlite(c, 20000, progress=fast_calls.append, every=2), connection)
    needed = len(looked_closer)
    authority_calls: list[int] = []
    checker = scan.Checker(1, GENESIS, authority_calls.append, every=2)
    checker.rows(connection.execute(scan._ROWS_ALL))
    assert fast == outcome(lambda c: checker.done(), connection)
    assert fast_calls == authority_calls
    assert (needed == 0) is (name == "intact")


@pytest.mark.parametrize("seq", [1, 4, 5, 10])
def test_a_rehashed_entry_linked_elsewhere_breaks_the_chain_as_always(seq, monkeypatch, looked_closer):
    """Entry `seq` links to a made-up hash and everything after it is rehashed: only that one link is wrong."""
    monkeypatch.setattr(scan, "BATCH", 3)
    connection = build([entry(n) for n in range(1, 11)], links={seq: "f" * 64})
    fast, needed = both(connection, looked_closer)
    assert (fast[1], fast[-1], needed) == (seq - 1, {"seq": seq, "problem": "prev_hash does not match the previous entry's hash"}, 1)
    ranged = outcome(lambda c: scan.check_sqlite(c, 20000, seq, 10, None), connection)
    assert ranged == outcome(lambda c: by_authority(c, seq, 10, None), connection)
    assert ranged[1:3] == (11 - seq, "f" * 64) and ranged[-1] is None  # a range's first link is its caller's


@pytest.mark.parametrize("seqs, problem", [
    ((1, 2, 4, 5, 6), "entry 3 is missing (next entry is 4)"),  # inside a batch
    ((1, 2, 3, 5, 6), "entry 4 is missing (next entry is 5)"),  # at a batch's start
    ((2, 3, 4), "entry 1 is missing (next entry is 2)"),
    ((0, 1, 2), "entries out of order"),
])
def test_numbering_is_checked_even_where_every_link_holds(seqs, problem, monkeypatch, looked_closer):
    monkeypatch.setattr(scan, "BATCH", 3)
    connection = build([entry(seq) for seq in seqs])
    fast, needed = both(connection, looked_closer)
    assert (fast[-1]["problem"], needed) == (problem, 1)


@pytest.mark.parametrize("lo, hi", [(1, 10), (4, 9), (5, 5), (10, 10)])
@pytest.mark.parametrize("name", ["intact", "first entry of a batch edited", "link broken", "entry deleted"])
def test_a_range_is_checked_as_the_authority_checks_it(lo, hi, name, monkeypatch):
    """The first entry's link is left to the caller: its prev_hash is only reported."""
    monkeypatch.setattr(scan, "BATCH", 3)
    connection = build([entry(seq) for seq in range(1, 11)])
    for statement in TAMPERING[name]:
        connection.execute(statement)
    fast = outcome(lambda c: scan.check_sqlite(c, 20000, lo, hi, None), connection)
    assert fast == outcome(lambda c: by_authority(c, lo, hi, None), connection)


def test_the_subjects_last_entries_are_those_of_the_authority(monkeypatch):
    monkeypatch.setattr(scan, "BATCH", 4)
    rows = [entry(seq, subject_id=str(seq % 4), to_state=None if seq == 13 else f"state {seq}",
                  version=None if seq == 14 else seq) for seq in range(1, 15)]
    connection = build(rows)
    run = scan.check_sqlite(connection, 20000)
    assert run.last == by_authority(connection).last == {
        ("case", "0"): (12, "state 12", 12), ("case", "1"): (13, None, 13),
        ("case", "2"): (14, "state 14", None), ("case", "3"): (11, "state 11", 11),
    }


def test_without_the_json_functions_the_authority_checks_everything(monkeypatch, looked_closer):
    monkeypatch.setattr(scan, "_PROBE_SQL", "SELECT no_such_function(?, ?)")
    connection = build([entry(seq) for seq in range(1, 5)])
    assert not scan.sqlite_writes_canonical_text(connection)
    run = scan.check_sqlite(connection, 20000)
    assert (run.checked, run.bad, len(looked_closer)) == (4, None, 1)


def test_the_sqlite_worker_checks_its_ranges_with_the_standard_library_alone(tmp_path):
    path = tmp_path / "trail.db"
    connection = build([entry(seq) for seq in range(1, 11)])
    connection.execute(f"VACUUM INTO '{path}'")
    ranges = [(2, 4), (8, 10)]
    # the worker's own module, run as `python -m` runs it, then a look at what it imported
    code = (f"import runpy, sys; runpy.run_module({parallel.WORKER!r}, run_name='__main__', alter_sys=True); "
            "assert 'sqlalchemy' not in sys.modules, 'SQLAlchemy was imported'")
    root = Path(scan.__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(("sqlite", str(path), ranges, 20000)),
                          capture_output=True, check=False, cwd=root)
    assert done.returncode == 0, done.stderr.decode()
    runs = pickle.loads(done.stdout)
    expected = [by_authority(connection, lo, hi, None) for lo, hi in ranges]
    assert [(r.checked, r.first_prev, r.last_hash, r.last, r.bad) for r in runs] == \
           [(r.checked, r.first_prev, r.last_hash, r.last, r.bad) for r in expected]
    assert [r.checked for r in runs] == [3, 3]
