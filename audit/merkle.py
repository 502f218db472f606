"""The trail as a Merkle tree (默克尔树), RFC 9162 §2.1: pure hashing, proofs as node ranges, verification.

Leaf *i* is the 32 raw bytes of entry *i*'s hash (entries in seq order).
A node of the tree is named by its range of leaves [start, end). The
proofs below are the RFC's PATH and PROOF written as lists of ranges, so
that the storage side only has to hash a range — from the perfect subtrees
it keeps (`perfect_parts`), never by rehashing the trail.

Perfect subtree (level, index) covers leaves [index·2^level, (index+1)·2^level);
the append that completes it is that of its last leaf.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not verify, or a request for one that cannot exist."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


# -- appending: the frontier ----------------------------------------------------

def append_leaf(frontier: list[bytes], size: int, leaf: bytes) -> list[bytes]:
    """Add leaf number `size` to `frontier` (the roots of the perfect subtrees that make up a tree of
    `size` leaves, largest first), in place; return the perfect subtrees this append completes, from
    level 0 up (the leaf's hash, then every subtree whose last leaf it is)."""
    node = leaf_hash(leaf)
    completed = [node]
    level = 0
    while (size >> level) & 1:
        node = node_hash(frontier.pop(), node)
        completed.append(node)
        level += 1
    frontier.append(node)
    return completed


def root_of_frontier(frontier: Sequence[bytes]) -> bytes:
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for part in reversed(frontier[:-1]):
        root = node_hash(part, root)
    return root


def frontier_parts(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees (level, index) whose roots are the frontier of a tree of `size` leaves."""
    return perfect_parts(0, size)


# -- ranges ----------------------------------------------------------------------

def perfect_parts(start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) as consecutive perfect subtrees (level, index), largest first. For a range that is
    a subtree of an RFC 9162 tree, MTH is these roots folded from the right."""
    parts = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start & ((1 << level) - 1):
            level -= 1
        parts.append((level, start >> level))
        start += 1 << level
    return parts


def range_hash(start: int, end: int, node: Callable[[int, int], bytes]) -> bytes:
    """MTH of leaves [start, end), from `node(level, index)`, the stored perfect subtrees."""
    return root_of_frontier([node(level, index) for level, index in perfect_parts(start, end)])


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size]) as leaf ranges, leaf side first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    out: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
    out.reverse()
    return out


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.4.1 PROOF(old, D[0:new]) as leaf ranges, in the RFC's order."""
    if not 0 <= old <= new:
        raise ProofError(f"no consistency proof from {old} to {new} leaves")
    if old == 0 or old == new:
        return []
    out: list[tuple[int, int]] = []
    start, end, m, complete = 0, new, old, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
            m -= k
            complete = False
    if not complete:
        out.append((start, end))
    out.reverse()
    return out


# -- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) --------------------------------

def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root that `path` proves `leaf` (raw, not yet hashed) to be leaf `index` of; raises when the
    path cannot be a proof for that index and size."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below the tree size {size}")
    fn, sn = index, size - 1
    r = leaf_hash(leaf)
    for p in path:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is too short for the tree size")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> None:
    if root_from_inclusion(index, size, leaf, path) != root:
        raise ProofError(f"the inclusion proof of leaf {index} does not lead to the root of tree size {size}")


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]) -> None:
    """Raise unless `path` proves that the tree of `new` leaves with `new_root` extends the tree of `old`
    leaves with `old_root`."""
    if not 0 <= old <= new:
        raise ProofError(f"a tree of {new} leaves cannot extend one of {old}")
    if old == new:
        if path:
            raise ProofError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError(f"two different roots for the same tree size {old}")
        return
    if old == 0:
        if path:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not path:
        raise ProofError("the consistency proof is empty")
    nodes = list(path)
    if old & (old - 1) == 0:  # a power of two: the old root is the proof's implicit first node
        nodes.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    if fr != old_root:
        raise ProofError(f"the consistency proof does not lead to the old root (tree size {old})")
    if sr != new_root:
        raise ProofError(f"the consistency proof does not lead to the new root (tree size {new})")
