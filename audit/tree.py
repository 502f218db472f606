"""The Merkle tree's stored nodes: the head of the tree, proofs from O(log n) rows, and their check.

`audit.trail.append` extends the tree in the entry's own transaction (so
there is no moment when an entry is in the trail but not in the tree); the
head row carries the tree's size and frontier, so an append reads nothing
more. Everything here reads in the caller's session and never commits.

The tree is stored in tiles of 2^TILE leaves: only the append that completes
a perfect subtree of level TILE or more (every sixteenth entry) writes a row,
holding every subtree that append completes. A node below that level is
hashed from at most sixteen entries' hashes when a proof needs it, so a proof
still reads O(log n) rows plus at most two tiles of entry hashes, and fifteen
appends in sixteen write no tree row at all.
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
    leaf_hash,
    node_hash,
    perfect_parts,
    range_hash,
    root_of_frontier,
)
from .models import AuditEntry, AuditHead, AuditNode
from .tree_check import TILE, TILE_MASK, check_rows

CHUNK = 20000
# subtrees below level TILE are not stored but hashed from the entries when needed
_TILE_MASK = TILE_MASK


def stores_row(index: int) -> bool:
    """Whether the append of leaf `index` writes a tree row: it completes a perfect subtree of level TILE."""
    return (index + 1) & _TILE_MASK == 0


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
    """The perfect subtrees that some ranges need: stored ones read in one query, those below TILE
    hashed from the entries' hashes (read in one query too)."""

    def __init__(self, session: Session, ranges: Iterable[tuple[int, int]]):
        parts = {p for start, end in ranges for p in perfect_parts(start, end)}
        rows = sorted({row_of(level, index) for level, index in parts if level >= TILE})
        self.blobs: dict[int, bytes] = {}
        for i in range(0, len(rows), 500):
            for idx, blob in session.execute(select(AuditNode.idx, AuditNode.nodes)
                                             .where(AuditNode.idx.in_(rows[i:i + 500]))):
                self.blobs[int(idx)] = bytes(blob)
        seqs = sorted({leaf + 1 for level, index in parts if level < TILE
                       for leaf in range(index << level, (index + 1) << level)})
        self.leaves: dict[int, bytes] = {}
        for i in range(0, len(seqs), 500):
            for seq, digest in session.execute(select(AuditEntry.seq, AuditEntry.hash)
                                               .where(AuditEntry.seq.in_(seqs[i:i + 500]))):
                self.leaves[int(seq) - 1] = leaf_hash(bytes.fromhex(digest))

    def _below_tile(self, level: int, index: int) -> bytes:
        start = index << level
        layer = []
        for leaf in range(start, start + (1 << level)):
            node = self.leaves.get(leaf)
            if node is None:
                raise ProofError(f"the trail lacks entry {leaf + 1}")
            layer.append(node)
        while len(layer) > 1:
            layer = [node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
        return layer[0]

    def __call__(self, level: int, index: int) -> bytes:
        if level < TILE:
            return self._below_tile(level, index)
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
    the rows to store (those of the appends that complete a tile)."""
    rows = []
    for i, digest in enumerate(hashes, start=size):
        completed = append_leaf(frontier, i, bytes.fromhex(digest))
        if stores_row(i):
            rows.append((i, b"".join(completed)))
    return rows


_ENTRY_HASHES = Prepared(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq))
_NODE_ROWS = Prepared(select(AuditNode.idx, AuditNode.nodes).order_by(AuditNode.idx))


def check_tree(session: Session, chunk: int = CHUNK) -> dict[str, Any] | None:
    """Recompute the tree from the entries and compare every stored node and the head's frontier;
    the first difference as {"seq", "problem"}, or None when the stored tree is the entries' tree
    (`audit.tree_check.check_rows`, over both tables read in order side by side; every tile's row must be
    there, and rows of a tree stored before tiles are compared too)."""
    head = session.execute(select(AuditHead.tree_size, AuditHead.frontier).where(AuditHead.id == 1)).one_or_none()
    return check_rows(head, _ENTRY_HASHES.stream(session, chunk), _NODE_ROWS.stream(session, chunk))
