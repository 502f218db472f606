"""Checking consecutive entries of the trail: numbering, links, and every entry's hash recomputed.

`Checker.rows` is the authority: it takes entries as the driver returns
them, recomputes each hash with `link_hash` and stops at the first bad entry.

On SQLite, `check_sqlite` lets SQLite write each entry's hashed text in C
(the header through json_array, whose strings are escaped exactly as the
canonical encoder escapes them, a newline, the stored data) and checks a
batch at a time with C-level steps: the numbers against a range, the links
against the hashes before them, each SHA-256 against the stored hash. A
batch that does not pass as a whole (something wrong, a value of an unusual
type or form, text that is not UTF-8) is read again the ordinary way and
checked entry by entry by `Checker.rows`, which names the first bad entry
exactly as always. Should anything raise, the whole run is checked again
the ordinary way, which raises (or reports) just as it always did. A batch
that passes is one `Checker.rows` would have passed: SQLite writes a text
only for values whose text is, byte for byte, the one `link_hash` hashes,
and the text must be UTF-8, as the driver requires of every column it reads.

The module needs only the standard library: a worker process checking
ranges of a SQLite trail (`audit.scan_worker`) starts without SQLAlchemy.
"""
from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from .chain import GENESIS, canonical_json, hashed_at, link_hash

Progress = Callable[[int], None]
BATCH = 1000  # rows checked at a time on SQLite: a batch stays in the CPU's cache across its passes


@dataclass
class Run:
    """What checking a run of consecutive entries found."""

    checked: int
    first_prev: str | None  # the prev_hash of the run's first entry
    last_hash: str | None
    last: dict[tuple[str, str], tuple[int, str | None, int | None]]
    bad: dict[str, Any] | None = None


class Checker:
    """Entries first_seq, first_seq + 1, ... each linked to the one before and each matching its hash.

    With `first_prev` None the first entry's link is left to the caller.
    Rows may come in several calls; checking stops at the first bad entry.
    """

    def __init__(self, first_seq: int, first_prev: str | None, progress: Progress | None = None,
                 every: int = 20000):
        self.run = Run(0, None, None, {})
        self.next_seq = first_seq
        self.prev = first_prev
        self.link_first = first_prev is not None
        self.progress, self.every = progress, every

    def rows(self, rows: Iterable[tuple]) -> bool:
        """Check `rows` (every column, as the driver returns them); False once a bad entry is found."""
        run, progress, every, link_first = self.run, self.progress, self.every, self.link_first
        last = run.last
        expected_seq, expected_prev, checked = self.next_seq, self.prev, run.checked
        try:
            for (seq, at, actor, role, stype, sid, trigger, frm, to, version, comment, data, prev, digest) in rows:
                if seq != expected_seq:
                    problem = (f"entry {expected_seq} is missing (next entry is {seq})" if seq > expected_seq
                               else "entries out of order")
                    run.bad = {"seq": seq, "problem": problem}
                    break
                if checked == 0:
                    run.first_prev = prev
                if prev != expected_prev and (checked or link_first):
                    run.bad = {"seq": seq, "problem": "prev_hash does not match the previous entry's hash"}
                    break
                if link_hash(seq, hashed_at(at), actor, role, stype, sid, trigger, frm, to, version, comment, data,
                             prev) != digest:
                    run.bad = {"seq": seq, "problem": "content does not match its hash (entry edited)"}
                    break
                last[(stype, sid)] = (seq, to, version)
                expected_prev = digest
                expected_seq += 1
                checked += 1
                if progress is not None and checked % every == 0:
                    progress(checked)
        finally:
            self.next_seq, self.prev, run.checked = expected_seq, expected_prev, checked
        return run.bad is None

    def batch(self, rows: list[tuple]) -> bool:
        """Check rows of `_FAST` as a whole; False, taking nothing from them, unless every entry passes."""
        n = len(rows)
        first_seq = self.next_seq
        if list(map(_SEQ, rows)) != list(range(first_seq, first_seq + n)):
            return False
        prevs, digests = list(map(_PREV, rows)), list(map(_DIGEST, rows))
        if prevs[0] != self.prev and (self.run.checked or self.link_first):
            return False
        if prevs[1:] != digests[:-1]:
            return False
        texts = list(map(_TEXT, rows))
        try:
            if list(map(_hexdigest, map(_sha256, texts))) != digests:
                return False
            b"\n".join(texts).decode("utf-8")  # the newline ends any sequence a text leaves open
        except (TypeError, UnicodeDecodeError):  # no text written (None), or not UTF-8
            return False
        run = self.run
        if run.checked == 0:
            run.first_prev = prevs[0]
        run.last.update(zip(map(_SUBJECT, rows), map(_STATE, rows), strict=True))
        before = run.checked
        run.checked += n
        self.next_seq, self.prev = first_seq + n, digests[-1]
        if self.progress is not None:
            for checked in range(before - before % self.every + self.every, run.checked + 1, self.every):
                self.progress(checked)
        return True

    def done(self) -> Run:
        self.run.last_hash = self.prev
        return self.run


_sha256 = hashlib.sha256
_hexdigest = type(hashlib.sha256()).hexdigest
_SEQ, _TEXT, _PREV, _DIGEST = itemgetter(0), itemgetter(1), itemgetter(2), itemgetter(3)
_SUBJECT, _STATE = itemgetter(4, 5), itemgetter(0, 6, 7)

# -- SQLite ---------------------------------------------------------------------------

_ROWS = ('SELECT seq, at, actor, role, subject_type, subject_id, "trigger", from_state, to_state, version, comment, '
         'data, prev_hash, hash FROM audit_entries')
_ROWS_ALL = _ROWS + " ORDER BY seq"
_ROWS_RANGE = _ROWS + " WHERE seq BETWEEN ? AND ? ORDER BY seq"

# SQLite writes the text only for values whose text is known to be link_hash's: the time as SQLAlchemy stores
# it (26 characters of one byte each, no NUL, the 11th a space), the other strings text (`x >= ''` holds for
# text and blobs only, and json_array refuses blobs: an error, and the run is checked again the ordinary way),
# the states text or NULL, the version an integer or NULL, the data text. Anything else gives NULL: the batch
# is checked the ordinary way. prev_hash needs no test: a batch passes only if each entry's prev_hash equals
# the hash before it, a text, and the first entry's, when left to the caller, is compared there.
_WRITABLE = """length(at) = 26 AND length(CAST(at AS BLOB)) = 26 AND substr(at, 11, 1) = ' '
    AND actor >= '' AND role >= '' AND subject_type >= '' AND subject_id >= '' AND "trigger" >= ''
    AND comment >= '' AND (from_state IS NULL OR from_state >= '') AND (to_state IS NULL OR to_state >= '')
    AND (version IS NULL OR typeof(version) = 'integer') AND typeof(data) = 'text'"""
_TEXT_SQL = """CAST(json_array(seq, substr(at, 1, 10) || 'T' || substr(at, 12) || 'Z', actor, role, subject_type,
    subject_id, "trigger", from_state, to_state, version, comment, prev_hash) || char(10) || data AS BLOB)"""
_FAST = (f"SELECT seq, CASE WHEN {_WRITABLE} THEN {_TEXT_SQL} END, prev_hash, hash, subject_type, subject_id, "
         f"to_state, version FROM audit_entries")
_FAST_ALL = _FAST + " ORDER BY seq"
_FAST_RANGE = _FAST + " WHERE seq BETWEEN ? AND ? ORDER BY seq"

# every ASCII character (controls, quotes, backslash, '/', DEL) and characters of each UTF-8 length, the line
# and paragraph separators among them: both writers escape character by character
_PROBE = "".join(map(chr, range(128))) + "\u0080\u00e9\u07ff\u0800\u2028\u2029\ufeff\uffff\U00010000\U0010ffff中"
_PROBE_SQL = ("SELECT CAST(json_array(?, '', NULL, 9223372036854775807, -9223372036854775808, 0) || char(10) || ? "
              "AS BLOB), CAST(json_array(CAST(X'61ff62c3' AS TEXT)) AS BLOB)")


def sqlite_writes_canonical_text(connection: sqlite3.Connection) -> bool:
    """Whether this SQLite writes JSON strings, integers and null exactly as the canonical encoder does, and
    passes bytes that are not UTF-8 through untouched (so that the check that the text is UTF-8 sees them)."""
    expected = (canonical_json([_PROBE, "", None, 2**63 - 1, -2**63, 0]) + "\n" + _PROBE).encode("utf-8")
    try:
        written, raw = connection.execute(_PROBE_SQL, (_PROBE, _PROBE)).fetchone()
    except sqlite3.Error:  # built without the JSON functions
        return False
    return written == expected and raw == b'["a\xffb\xc3"]'


def check_sqlite(connection: sqlite3.Connection, chunk: int, lo: int | None = None, hi: int | None = None,
                 first_prev: str | None = GENESIS, progress: Progress | None = None, every: int = 20000) -> Run:
    """Check the whole trail (lo and hi None) or entries lo..hi on this connection, as `Checker` does."""
    ranged = () if lo is None else (lo, hi)
    first_seq = 1 if lo is None else lo
    if sqlite_writes_canonical_text(connection):
        checker = Checker(first_seq, first_prev, progress, every)
        try:
            _check_fast(connection, checker, min(chunk, BATCH), ranged)
            return checker.done()
        except Exception:  # noqa: BLE001  the ordinary pass below raises it again, or reports, where it always did
            pass
    checker = Checker(first_seq, first_prev, progress, every)
    cursor = connection.execute(_ROWS_RANGE if ranged else _ROWS_ALL, ranged)
    try:
        checker.rows(_fetched(cursor, chunk))
    finally:
        cursor.close()
    return checker.done()


def _check_fast(connection: sqlite3.Connection, checker: Checker, size: int, ranged: tuple) -> None:
    cursor = connection.execute(_FAST_RANGE if ranged else _FAST_ALL, ranged)
    try:
        while rows := cursor.fetchmany(size):
            if not checker.batch(rows):
                again = connection.execute(_ROWS_RANGE, (rows[0][0], rows[-1][0]))
                try:
                    passed = checker.rows(again.fetchall())
                finally:
                    again.close()
                if not passed:
                    return
    finally:
        cursor.close()


def _fetched(cursor: sqlite3.Cursor, size: int) -> Iterator[tuple]:
    while batch := cursor.fetchmany(size):
        yield from batch

