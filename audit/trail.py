"""Append to the trail and verify it.

`append` locks the head row (SELECT ... FOR UPDATE on PostgreSQL; SQLite
writers are already serialised by BEGIN IMMEDIATE), links the new entry to
the head's hash, stores the Merkle tree nodes the entry completes and moves
the head, all inside the caller's transaction: it never commits. `verify`
recomputes the whole chain, compares every subject's current state and
version (and the digest of its row, where its owner gives one) with its last
entry, and checks the stored tree against the entries.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from storage import utcnow
from storage.prepared import Prepared, dbapi_connection

from .chain import GENESIS, canonical_json, format_at, link_hash
from .check import check_entries
from .merkle import append_leaf
from .models import AuditEntry, AuditHead, AuditNode
from .parallel import check_in_parallel, start_tree_check, stop, tree_check_result
from .tree import check_tree, decode_frontier, encode_frontier, extend, stores_row

HEAD_ID = 1

# built once: executed with parameters, their compiled form is cached
_LOCK_HEAD = Prepared(select(AuditHead.seq, AuditHead.hash, AuditHead.tree_size, AuditHead.frontier)
                      .where(AuditHead.id == HEAD_ID).with_for_update())
_ENTRY_COLUMNS = ("seq", "at", "actor", "role", "subject_type", "subject_id", "trigger", "from_state", "to_state",
                  "version", "comment", "data", "prev_hash", "hash")
# a declarative class's __table__ is typed as any FromClause; these are tables
_ENTRIES, _HEAD = cast(Table, AuditEntry.__table__), cast(Table, AuditHead.__table__)
_TREE = cast(Table, AuditNode.__table__)
_INSERT_ENTRY = Prepared(insert(_ENTRIES).values({c: bindparam(c) for c in _ENTRY_COLUMNS}))
_INSERT_NODES = Prepared(insert(_TREE).values(idx=bindparam("node_idx"), nodes=bindparam("nodes")))
# PostgreSQL writes the entry and its tree row in one statement: no round trip more per step
_INSERT_ENTRY_AND_NODES = Prepared(insert(_ENTRIES).values({c: bindparam(c) for c in _ENTRY_COLUMNS}).add_cte(
    insert(_TREE).values(idx=bindparam("node_idx"), nodes=bindparam("nodes")).cte("tree_row")))
_MOVE_HEAD = Prepared(update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(
    seq=bindparam("seq"), hash=bindparam("hash"), tree_size=bindparam("tree_size"), frontier=bindparam("frontier")))


# the key of an entry's data under which its owner may record a digest of the subject's row as the entry left it
ROW_DIGEST = "_digest"
_ROW_PREFIX = '{"' + ROW_DIGEST + '":"'  # canonical JSON sorts keys: "_digest" comes before every lowercase key
_HEX = frozenset("0123456789abcdef")
ROW_BATCH = 500  # last entries whose recorded row digests are read at a time
_ROW_SEQS = [f"s{i}" for i in range(ROW_BATCH)]
_ROW_STARTS = Prepared(select(AuditEntry.seq, func.substr(AuditEntry.data, 1, 80))
                       .where(AuditEntry.seq.in_([bindparam(name) for name in _ROW_SEQS])))


@dataclass(frozen=True)
class Subject:
    """The current state of something the trail speaks of, as its owner sees it now.

    `row`: a digest of the row's other content, compared with the `_digest` its last entry's data records (an
    entry recording none, written before such digests were kept, is not compared). `digest`: the state is a
    digest of the row's fields, and a last entry that records no state (written before such digests were kept)
    is not compared. `problem`: something the owner found wrong with the row itself (a derived column out of
    step), reported against its last entry.
    """

    type: str
    id: str
    state: str | None
    version: int | None
    row: str | None = None
    digest: bool = False
    problem: str | None = None


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad: dict[str, Any] | None = None
    head: str = GENESIS
    subjects: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # subjects compared, by type
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "checked": self.checked}
        if self.first_bad is not None:
            out["first_bad"] = self.first_bad
        return out


def append(
    session: Session,
    *,
    actor: str,
    role: str,
    subject_type: str,
    subject_id: str,
    trigger: str,
    from_state: str | None,
    to_state: str | None,
    version: int | None,
    comment: str = "",
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write one entry in the caller's transaction and return it as a mapping."""
    head = _LOCK_HEAD.one_or_none(session)
    if head is None:  # a schema made without the migration's head row
        session.execute(insert(AuditHead).values(id=HEAD_ID, seq=0, hash=GENESIS, tree_size=0, frontier=""))
        prev_seq, prev_hash, tree_size, frontier_text = 0, GENESIS, 0, ""
    else:
        prev_seq, prev_hash, tree_size, frontier_text = head
    at = utcnow()  # taken under the head's lock: entries' times follow their order
    row: dict[str, Any] = dict(
        seq=prev_seq + 1,
        at=at,
        actor=actor,
        role=role,
        subject_type=subject_type,
        subject_id=str(subject_id),
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        version=version,
        comment=comment or "",
        data=canonical_json(data or {}),
        prev_hash=prev_hash,
    )
    row["hash"] = link_hash(row["seq"], format_at(at), actor, role, subject_type, row["subject_id"], trigger,
                            from_state, to_state, version, row["comment"], row["data"], prev_hash)
    frontier = decode_frontier(frontier_text)
    if tree_size != prev_seq:
        tree_size = _catch_up(session, tree_size, prev_seq, frontier)
    params = {**row, "tree_size": tree_size, "frontier": frontier_text}
    if tree_size == prev_seq:
        completed = append_leaf(frontier, prev_seq, bytes.fromhex(row["hash"]))
        params["tree_size"], params["frontier"] = prev_seq + 1, encode_frontier(frontier)
        if not stores_row(prev_seq):  # fifteen appends in sixteen: the tile is not complete yet
            _INSERT_ENTRY.execute(session, row)
        elif dbapi_connection(session)[1].name == "postgresql":
            params["node_idx"], params["nodes"] = prev_seq, b"".join(completed)
            _INSERT_ENTRY_AND_NODES.execute(session, params)
        else:
            params["node_idx"], params["nodes"] = prev_seq, b"".join(completed)
            _INSERT_ENTRY.execute(session, row)
            _INSERT_NODES.execute(session, params)
    else:  # the tree is ahead of the trail (entries were removed): left as it is, for verify to report
        _INSERT_ENTRY.execute(session, row)
    _MOVE_HEAD.execute(session, params)
    return row


def append_many(session: Session, entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Write several entries (each given as `append`'s keyword arguments) in the caller's transaction, in their
    order, under one lock of the head: each linked to the one before it as `append` links it, with one statement
    for all the entries, one for the tree rows they complete and one moving the head. Their time is one."""
    if len(entries) < 2:
        return [append(session, **e) for e in entries]
    head = _LOCK_HEAD.one_or_none(session)
    if head is None:  # a schema made without the migration's head row: the first append makes it
        return [append(session, **e) for e in entries]
    seq, prev_hash, tree_size, frontier_text = head
    frontier = decode_frontier(frontier_text)
    if tree_size != seq:
        tree_size = _catch_up(session, tree_size, seq, frontier)
    keeps_tree = tree_size == seq  # else the tree is ahead of the trail: left as it is, for verify to report
    at = utcnow()
    stamp = format_at(at)
    rows: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    for e in entries:
        row: dict[str, Any] = dict(
            seq=seq + 1, at=at, actor=e["actor"], role=e["role"], subject_type=e["subject_type"],
            subject_id=str(e["subject_id"]), trigger=e["trigger"], from_state=e.get("from_state"),
            to_state=e.get("to_state"), version=e.get("version"), comment=e.get("comment") or "",
            data=canonical_json(e.get("data") or {}), prev_hash=prev_hash)
        row["hash"] = link_hash(row["seq"], stamp, row["actor"], row["role"], row["subject_type"], row["subject_id"],
                                row["trigger"], row["from_state"], row["to_state"], row["version"], row["comment"],
                                row["data"], prev_hash)
        if keeps_tree:
            completed = append_leaf(frontier, seq, bytes.fromhex(row["hash"]))
            if stores_row(seq):
                nodes.append({"node_idx": seq, "nodes": b"".join(completed)})
        rows.append(row)
        seq, prev_hash = row["seq"], row["hash"]
    _INSERT_ENTRY.execute_many(session, rows)
    if nodes:
        _INSERT_NODES.execute_many(session, nodes)
    _MOVE_HEAD.execute(session, {"seq": seq, "hash": prev_hash, "tree_size": seq if keeps_tree else tree_size,
                                 "frontier": encode_frontier(frontier) if keeps_tree else frontier_text})
    return rows


def _catch_up(session: Session, tree_size: int, seq: int, frontier: list[bytes]) -> int:
    """Add to the tree the entries written behind the head's back (by hand, or by a bulk load), so
    that the new entry's leaf has its place; a tree ahead of the trail, or a negative tree size (a trail
    kept without its tree, the benchmarks' baseline), is left alone."""
    if tree_size < 0 or tree_size > seq or (tree_size and len(frontier) != bin(tree_size).count("1")):
        return tree_size
    hashes = session.scalars(select(AuditEntry.hash).where(AuditEntry.seq > tree_size, AuditEntry.seq <= seq)
                             .order_by(AuditEntry.seq)).all()
    if len(hashes) != seq - tree_size:
        return tree_size
    rows = extend(frontier, tree_size, hashes)
    if rows:
        session.execute(insert(_TREE), [{"idx": i, "nodes": blob} for i, blob in rows])
    return seq


def entries_for(session: Session, subject_type: str, subject_id: str) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == str(subject_id))
            .order_by(AuditEntry.seq)
        )
    )


def last_entry_for(session: Session, subject_type: str, subject_id: str) -> AuditEntry | None:
    """The subject's newest entry, or None (one row through the subject index)."""
    return session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == str(subject_id))
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()


def _head(session: Session) -> tuple[int, str]:
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)).one_or_none()
    return head if head is not None else (0, GENESIS)


def verify(
    session: Session,
    subjects: Callable[[], Iterable[Subject]] | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    chunk: int = 20000,
    workers: int = 1,
    parallel_from: int = 200_000,
    tree: bool = True,
) -> VerifyResult:
    """Recompute every link; then check that each subject matches its last entry.

    `subjects` yields the current state of every subject whose type it owns
    (the engine passes the cases, organisations, users and entity rows);
    entries of other types are chained but not compared. With `workers` > 1 and a trail of at least `parallel_from`
    entries in a database other processes can open, consecutive ranges are
    checked in that many processes and stitched together; should anything
    be wrong, the trail is checked again in one pass, which names the first
    bad entry exactly as always. Last (unless `tree` is false, for a schema
    older than the tree), every stored node of the Merkle tree and the head's
    frontier are recomputed from the entries (when the chain is checked in
    several processes, in one more process of its own started first); a
    problem of the tree is reported before one of the subjects.
    """
    tree_proc = None
    if tree and workers > 1 and _head(session)[0] >= max(parallel_from, workers):
        tree_proc = start_tree_check(session, chunk)  # beside the chain's check: the tree's needs one core
    try:
        return _verify(session, subjects, progress, chunk, workers, parallel_from, tree, tree_proc)
    finally:
        stop(tree_proc)


def _verify(session: Session, subjects: Callable[[], Iterable[Subject]] | None,
            progress: Callable[[int], None] | None, chunk: int, workers: int, parallel_from: int, tree: bool,
            tree_proc: Any) -> VerifyResult:
    run = None
    if workers > 1:
        head_seq, head_hash = _head(session)
        if head_seq >= max(parallel_from, workers):
            run = check_in_parallel(session, head_seq, head_hash, workers, chunk, progress)
    if run is None:
        run = check_entries(session, chunk, progress=progress, every=chunk)
        if progress is not None:
            progress(run.checked)
        head_seq, head_hash = _head(session)
    checked, last = run.checked, run.last
    if run.bad is not None:
        return VerifyResult(False, checked, run.bad)
    if head_seq != checked or head_hash != run.last_hash:
        return VerifyResult(
            False, checked,
            {"seq": head_seq, "problem": f"the trail ends at entry {checked} but its head records entry {head_seq} "
                                         "(entries removed)"},
        )
    expected_prev = run.last_hash

    counts: dict[str, int] = {}
    bad = _compare_subjects(session, subjects(), last, counts) if subjects is not None else None
    tree_problem = None
    if tree:
        done, tree_problem = tree_check_result(tree_proc) if tree_proc is not None else (False, None)
        if not done:
            tree_problem = check_tree(session, chunk)
    # the trail's own integrity (chain, tree) before the rows it vouches for
    if tree_problem is not None or bad is not None:
        return VerifyResult(False, checked, tree_problem or bad)
    return VerifyResult(True, checked, None, head=expected_prev, subjects=sum(counts.values()), counts=counts)


def _differs(s: Subject, seq: int) -> dict[str, Any]:
    return {"seq": seq, "problem": f"{s.type} {s.id} does not match its last entry {seq} "
                                   "(the row was changed without an entry)"}


def _compare_subjects(session: Session, subjects: Iterable[Subject],
                      last: dict[tuple[str, str], tuple[int, str | None, int | None]],
                      counts: dict[str, int]) -> dict[str, Any] | None:
    """The first subject that differs from its last entry, or has none; then the first subject of a type
    seen here that has entries but no row any more (in the trail's order)."""
    current: set[tuple[str, str]] = set()
    pending: list[tuple[int, Subject]] = []  # row digests to compare, a batch at a time
    for s in subjects:
        counts[s.type] = counts.get(s.type, 0) + 1
        key = (s.type, str(s.id))
        current.add(key)
        entry = last.get(key)
        problem: dict[str, Any] | None = None
        if entry is None:
            problem = {"seq": None, "problem": f"{s.type} {s.id} has no audit entry"}
        else:
            seq, state, version = entry
            if s.problem is not None:
                problem = {"seq": seq, "problem": f"{s.type} {s.id} {s.problem}"}
            elif s.digest:
                if (state is not None or version is not None) and (state != s.state or version != s.version):
                    problem = _differs(s, seq)
            elif state != s.state or version != s.version:
                problem = {"seq": seq, "problem": f"{s.type} {s.id} is in state {s.state!r} version {s.version} "
                                                  f"but its last entry says {state!r} version {version}"}
            if problem is None and s.row is not None:
                pending.append((seq, s))
        if problem is not None or len(pending) >= ROW_BATCH:
            # the rows before this subject first, so that the first subject in the owner's order is named
            problem = _compare_rows(session, pending) or problem
            pending.clear()
            if problem is not None:
                return problem
    problem = _compare_rows(session, pending)
    if problem is not None:
        return problem
    types = set(counts)
    gone = [(entry[0], key) for key, entry in last.items() if key[0] in types and key not in current]
    if gone:  # the first in the trail's order
        seq, key = min(gone, key=lambda found: found[0])
        return {"seq": seq, "problem": f"{key[0]} {key[1]} has entries but no longer exists"}
    return None


def _compare_rows(session: Session, pending: list[tuple[int, Subject]]) -> dict[str, Any] | None:
    """Compare each subject's row digest with the one its last entry records, if it records one."""
    if not pending:
        return None
    recorded = recorded_row_digests(session, [seq for seq, _s in pending])
    for seq, s in pending:
        found = recorded.get(seq)
        if found is not None and found != s.row:
            return _differs(s, seq)
    return None


def recorded_row_digests(session: Session, seqs: list[int]) -> dict[int, str | None]:
    """The `_digest` each of these entries' data records (None: it records none).

    Only the start of each entry's data is read: in the canonical text the
    digest, when there is one, comes first unless a key sorts before it (a key
    beginning with a capital, a digit or a mark), and when the first key sorts
    after it there is none. Any other text is read whole and parsed.
    """
    out: dict[int, str | None] = {}
    unsure: list[int] = []
    starts: list[tuple] = []
    for i in range(0, len(seqs), ROW_BATCH):
        part = seqs[i:i + ROW_BATCH]
        part += [part[-1]] * (ROW_BATCH - len(part))  # one statement of ROW_BATCH parameters, prepared once
        starts.extend(_ROW_STARTS.rows(session, dict(zip(_ROW_SEQS, part, strict=True))))
    for seq, start in starts:
        start = start if isinstance(start, str) else ""
        if start.startswith(_ROW_PREFIX) and start[76:77] == '"' and _HEX.issuperset(start[12:76]):
            out[seq] = start[12:76]
        elif start == "{}" or (start.startswith('{"') and start[2:3] > "_"):
            out[seq] = None
        else:
            unsure.append(seq)
    for seq, text in (session.execute(select(AuditEntry.seq, AuditEntry.data).where(AuditEntry.seq.in_(unsure)))
                      if unsure else ()):
        try:
            value = json.loads(text)
        except (TypeError, ValueError):
            value = None
        found = value.get(ROW_DIGEST) if isinstance(value, dict) else None
        out[seq] = found if isinstance(found, str) else None
    return out
