"""The Merkle tree's stored nodes: the head of the tree, proofs from O(log n) rows, and their check.

`audit.trail.append` extends the tree in the entry's own transaction (so
there is no moment when an entry is in the trail but not in the tree); the
head row carries the tree's size and frontier, so an append reads nothing
more. Everything here reads in the caller's session and never commits.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.prepared import Prepared

from .merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    ProofError,
    append_leaf,
    consistency_ranges,
    inclusion_ranges,
    perfect_parts,
    range_hash,
    root_of_frontier,
)
from .models import AuditEntry, AuditHead, AuditNode
from .tree_check import check_rows

CHUNK = 20000


def encode_frontier(frontier: Iterable[bytes]) -> str:
    return "".join(h.hex() for h in frontier)


def decode_frontier(text: str | None) -> list[bytes]:
    raw = bytes.fromhex(text or "")
    return [raw[i:i + HASH_SIZE] for i in range(0, len(raw), HASH_SIZE)]


def row_of(level: int, index: int) -> int:
    """The leaf whose append completed perfect subtree (level, index): the row that stores it."""
    return ((index + 1) << level) - 1


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes

    def as_dict(self) -> dict[str, Any]:
        return {"size": self.size, "root": self.root.hex()}


def tree_head(session: Session) -> TreeHead:
    """The tree as the head row records it (what appends have built)."""
    row = session.execute(select(AuditHead.tree_size, AuditHead.frontier).where(AuditHead.id == 1)).one_or_none()
    if row is None:
        return TreeHead(0, EMPTY_ROOT)
    size, frontier = int(row[0] or 0), decode_frontier(row[1])
    return TreeHead(size, root_of_frontier(frontier))


class _Nodes:
    """The stored perfect subtrees that some ranges need, read in one query."""

    def __init__(self, session: Session, ranges: Iterable[tuple[int, int]]):
        parts = {p for start, end in ranges for p in perfect_parts(start, end)}
        rows = sorted({row_of(level, index) for level, index in parts})
        self.blobs: dict[int, bytes] = {}
        for i in range(0, len(rows), 500):
            for idx, blob in session.execute(select(AuditNode.idx, AuditNode.nodes)
                                             .where(AuditNode.idx.in_(rows[i:i + 500]))):
                self.blobs[int(idx)] = bytes(blob)

    def __call__(self, level: int, index: int) -> bytes:
        row = row_of(level, index)
        blob = self.blobs.get(row)
        node = None if blob is None else blob[level * HASH_SIZE:(level + 1) * HASH_SIZE]
        if node is None or len(node) != HASH_SIZE:
            raise ProofError(f"the stored tree lacks the node of entry {row + 1} at level {level}")
        return node

    def hash(self, start: int, end: int) -> bytes:
        return range_hash(start, end, self)


def tree_size(session: Session) -> int:
    """How many leaves the stored tree holds."""
    return int(session.scalar(select(AuditHead.tree_size).where(AuditHead.id == 1)) or 0)


def _size_within(session: Session, size: int | None) -> int:
    built = tree_size(session)
    if size is None:
        return built
    if size < 0 or size > built:
        raise ProofError(f"the tree has {built} leaves, not {size}")
    return size


def root_at(session: Session, size: int) -> bytes:
    size = _size_within(session, size)
    return _Nodes(session, [(0, size)]).hash(0, size)


@dataclass(frozen=True)
class Inclusion:
    leaf_index: int
    tree_size: int
    path: list[bytes]
    root: bytes
    leaf: bytes  # the leaf hash as stored


def inclusion_proof(session: Session, leaf_index: int, size: int | None = None) -> Inclusion:
    size = _size_within(session, size)
    ranges = inclusion_ranges(leaf_index, size)
    nodes = _Nodes(session, [*ranges, (0, size), (leaf_index, leaf_index + 1)])
    return Inclusion(leaf_index, size, [nodes.hash(a, b) for a, b in ranges], nodes.hash(0, size),
                     nodes(0, leaf_index))


@dataclass(frozen=True)
class Consistency:
    old: int
    new: int
    path: list[bytes]
    old_root: bytes
    new_root: bytes


def consistency_proof(session: Session, old: int, new: int | None = None) -> Consistency:
    new = _size_within(session, new)
    if old < 0 or old > new:
        raise ProofError(f"no consistency proof from {old} to {new} leaves")
    ranges = consistency_ranges(old, new)
    nodes = _Nodes(session, [*ranges, (0, old), (0, new)])
    return Consistency(old, new, [nodes.hash(a, b) for a, b in ranges], nodes.hash(0, old), nodes.hash(0, new))


# -- building and checking -------------------------------------------------------

def extend(frontier: list[bytes], size: int, hashes: Iterable[str]) -> list[tuple[int, bytes]]:
    """Append entries' hashes (hex) to the tree of `size` leaves whose frontier is `frontier` (in place);
    the rows to store."""
    rows = []
    for i, digest in enumerate(hashes, start=size):
        rows.append((i, b"".join(append_leaf(frontier, i, bytes.fromhex(digest)))))
    return rows


_ENTRY_HASHES = Prepared(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq))
_NODE_ROWS = Prepared(select(AuditNode.idx, AuditNode.nodes).order_by(AuditNode.idx))


def check_tree(session: Session, chunk: int = CHUNK) -> dict[str, Any] | None:
    """Recompute the tree from the entries and compare every stored node and the head's frontier;
    the first difference as {"seq", "problem"}, or None when the stored tree is the entries' tree
    (`audit.tree_check.check_rows`, over both tables read in order side by side)."""
    head = session.execute(select(AuditHead.tree_size, AuditHead.frontier).where(AuditHead.id == 1)).one_or_none()
    return check_rows(head, _ENTRY_HASHES.stream(session, chunk), _NODE_ROWS.stream(session, chunk))
