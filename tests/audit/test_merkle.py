"""The Merkle tree against an implementation written here from RFC 9162 §2.1 itself: MTH, PATH and PROOF
as the recursive definitions of §2.1.1, §2.1.3.1 and §2.1.4.1, and the verification of §2.1.3.2 and §2.1.4.2
step by step. Every size up to SIZES, every leaf, every pair of sizes."""
from __future__ import annotations

import hashlib
from functools import cache

import pytest

from audit import merkle
from audit.merkle import ProofError

SIZES = 260


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


LEAVES = [_h(str(i).encode()) for i in range(SIZES)]  # as entry hashes are: 32 bytes


@cache
def mth(start: int, end: int) -> bytes:
    n = end - start
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + LEAVES[start])
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01" + mth(start, start + k) + mth(start + k, end))


def rfc_path(m: int, start: int, end: int) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return rfc_path(m, start, start + k) + [mth(start + k, end)]
    return rfc_path(m - k, start + k, end) + [mth(start, start + k)]


def rfc_subproof(m: int, start: int, end: int, b: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if b else [mth(start, end)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return rfc_subproof(m, start, start + k, b) + [mth(start + k, end)]
    return rfc_subproof(m - k, start + k, end, False) + [mth(start, start + k)]


def rfc_verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, _h(b"\x00" + leaf)
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = _h(b"\x01" + p + r)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = _h(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def rfc_verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes,
                           path: list[bytes]) -> bool:
    if first == second:
        return not path and first_hash == second_hash
    if first == 0:
        return not path
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_hash] + path
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = _h(b"\x01" + c + fr)
            sr = _h(b"\x01" + c + sr)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _h(b"\x01" + sr + c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_hash and sr == second_hash


def _stored() -> dict[tuple[int, int], bytes]:
    """What appends store: every perfect subtree, by (level, index)."""
    frontier: list[bytes] = []
    nodes = {}
    for i, leaf in enumerate(LEAVES):
        for level, node in enumerate(merkle.append_leaf(frontier, i, leaf)):
            nodes[(level, i >> level)] = node
    return nodes


NODES = _stored()


def _node(level: int, index: int) -> bytes:
    return NODES[(level, index)]


def test_the_frontier_gives_the_root_of_every_size():
    frontier: list[bytes] = []
    assert merkle.root_of_frontier(frontier) == mth(0, 0)
    for i, leaf in enumerate(LEAVES):
        merkle.append_leaf(frontier, i, leaf)
        assert merkle.root_of_frontier(frontier) == mth(0, i + 1)
        assert len(frontier) == bin(i + 1).count("1")
        assert [NODES[p] for p in merkle.frontier_parts(i + 1)] == frontier


def test_every_inclusion_proof_is_the_rfc_path_and_verifies_both_ways():
    for size in range(1, SIZES + 1):
        root = merkle.range_hash(0, size, _node)
        assert root == mth(0, size)
        for index in range(size):
            path = [merkle.range_hash(a, b, _node) for a, b in merkle.inclusion_ranges(index, size)]
            assert path == rfc_path(index, 0, size)
            assert rfc_verify_inclusion(index, size, LEAVES[index], path, root)
            merkle.verify_inclusion(index, size, LEAVES[index], path, root)


def test_every_consistency_proof_is_the_rfc_proof_and_verifies_both_ways():
    for new in range(1, SIZES + 1):
        new_root = mth(0, new)
        for old in range(0, new + 1):
            path = [merkle.range_hash(a, b, _node) for a, b in merkle.consistency_ranges(old, new)]
            assert path == (rfc_subproof(old, 0, new, True) if old else [])
            assert rfc_verify_consistency(old, new, mth(0, old), new_root, path)
            merkle.verify_consistency(old, new, mth(0, old), new_root, path)


def _flip(data: bytes, i: int) -> bytes:
    return data[:i] + bytes([data[i] ^ 1]) + data[i + 1:]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 9, 100, 255])
def test_a_changed_byte_anywhere_fails_inclusion(size):
    for index in {0, size // 2, size - 1}:
        path = rfc_path(index, 0, size)
        root = mth(0, size)
        with pytest.raises(ProofError):
            merkle.verify_inclusion(index, size, _flip(LEAVES[index], 5), path, root)
        with pytest.raises(ProofError):
            merkle.verify_inclusion(index, size, LEAVES[index], path, _flip(root, 31))
        for j in range(len(path)):
            bad = list(path)
            bad[j] = _flip(bad[j], j % 32)
            with pytest.raises(ProofError):
                merkle.verify_inclusion(index, size, LEAVES[index], bad, root)
        if size > 1:  # another index, a shorter or longer path, another size
            with pytest.raises(ProofError):
                merkle.verify_inclusion((index + 1) % size, size, LEAVES[index], path, root)
            with pytest.raises(ProofError):
                merkle.verify_inclusion(index, size, LEAVES[index], path[:-1], root)
        with pytest.raises(ProofError):
            merkle.verify_inclusion(index, size, LEAVES[index], [*path, LEAVES[0]], root)
        with pytest.raises(ProofError):
            merkle.verify_inclusion(index, size + 1, LEAVES[index], path, mth(0, size + 1))


@pytest.mark.parametrize("old,new", [(1, 2), (3, 7), (4, 8), (6, 8), (7, 9), (64, 200), (100, 255)])
def test_a_changed_byte_anywhere_fails_consistency(old, new):
    path = rfc_subproof(old, 0, new, True)
    merkle.verify_consistency(old, new, mth(0, old), mth(0, new), path)
    with pytest.raises(ProofError, match="root"):  # the old root is the first node for a power of two
        merkle.verify_consistency(old, new, _flip(mth(0, old), 0), mth(0, new), path)
    with pytest.raises(ProofError, match="new root"):
        merkle.verify_consistency(old, new, mth(0, old), _flip(mth(0, new), 0), path)
    for j in range(len(path)):
        bad = list(path)
        bad[j] = _flip(bad[j], 7)
        with pytest.raises(ProofError):
            merkle.verify_consistency(old, new, mth(0, old), mth(0, new), bad)
    with pytest.raises(ProofError):
        merkle.verify_consistency(old, new, mth(0, old), mth(0, new), path[:-1])
    with pytest.raises(ProofError):
        merkle.verify_consistency(old, new, mth(0, old), mth(0, new), [*path, LEAVES[1]])


def test_impossible_requests_are_refused():
    with pytest.raises(ProofError):
        merkle.inclusion_ranges(5, 5)
    with pytest.raises(ProofError):
        merkle.inclusion_ranges(-1, 5)
    with pytest.raises(ProofError):
        merkle.consistency_ranges(6, 5)
    with pytest.raises(ProofError):
        merkle.verify_consistency(2, 2, mth(0, 2), mth(0, 3), [])
    with pytest.raises(ProofError):
        merkle.verify_consistency(0, 3, mth(0, 0), mth(0, 3), [LEAVES[0]])
