"""Checking the stored Merkle tree against the entries, on rows as any driver returns them.

The standard library only: `audit.tree.check_tree` runs it in the caller's
session, and a worker process (`audit.scan_worker`) on a SQLite file runs it
beside the chain's check, with `sqlite3` alone.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

HASH_SIZE = 32
TILE = 4  # the tree is stored in tiles of 2^TILE leaves: a row for every sixteenth append (audit.tree)
TILE_MASK = (1 << TILE) - 1


def _frontier_text(frontier: list[bytes]) -> str:
    return "".join(h.hex() for h in frontier)


def check_rows(head: Any, entries: Iterable[tuple], stored: Iterable[tuple]) -> dict[str, Any] | None:
    """Recompute the tree from the entries' (seq, hash) rows in seq order and compare every stored (idx,
    nodes) row, in idx order, and the head's (tree_size, frontier); the first difference as {"seq",
    "problem"}, or None when the stored tree is the entries' tree. Every tile's row must be there; rows of
    other entries (a tree stored before tiles) are compared too.

    The hashing is written out here rather than through `merkle.append_leaf`: a million entries are checked
    in a few seconds.
    """
    stored_size, stored_frontier = (int(head[0] or 0), head[1] or "") if head is not None else (0, "")
    frontier: list[bytes] = []
    pop, push = frontier.pop, frontier.append
    sha, fromhex, join = hashlib.sha256, bytes.fromhex, b"".join
    nodes: Iterator[tuple] = iter(stored)
    pending = next(nodes, None)
    size = matched = 0
    for seq, digest in entries:
        if seq != size + 1:  # the chain check names gaps; the tree cannot be compared past one
            return {"seq": int(seq), "problem": f"entry {size + 1} is missing: the tree cannot be checked"}
        node = sha(b"\x00" + fromhex(digest)).digest()
        parts = [node]
        walk = size
        while walk & 1:
            node = sha(b"\x01" + pop() + node).digest()
            parts.append(node)
            walk >>= 1
        push(node)
        if pending is not None and pending[0] == size:
            if pending[1] != (computed := join(parts)) and bytes(pending[1]) != computed:
                # the rows before matched: every entry up to the last of them is the one the tree was built from
                return {"seq": seq, "problem": f"the Merkle tree node stored for entry {seq} does not match the "
                                               f"entries: the tree was altered, or one of entries {matched + 1} to "
                                               f"{seq} was rewritten (the tree's rows before it match)"}
            matched = seq
            pending = next(nodes, None)
        elif not (size + 1) & TILE_MASK:
            return {"seq": seq, "problem": f"the Merkle tree lacks entry {seq}: the tree stops at "
                                           f"{min(size, stored_size)} leaves"}
        size += 1
    extra = pending
    if extra is not None:
        return {"seq": int(extra[0]) + 1, "problem": f"the Merkle tree holds a node for entry {int(extra[0]) + 1} "
                                                     f"but the trail has {size} entries (entries removed)"}
    if stored_size > size:
        return {"seq": size + 1, "problem": f"the tree head records {stored_size} leaves but the trail has {size} "
                                            f"entries: entries {size + 1} to {stored_size} were removed "
                                            "(entries removed)"}
    if stored_size != size or stored_frontier != _frontier_text(frontier):
        return {"seq": size or None, "problem": f"the tree head records {stored_size} leaves and a frontier that "
                                                f"is not that of the {size} entries"}
    return None
