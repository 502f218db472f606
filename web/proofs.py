"""A self-contained proof (证明) of one entry: the entry as its reader sees it, its RFC 9162 inclusion
proof and the signed-note checkpoint whose tree holds it — what `tools/verify_proof.py` checks offline.

When masking changed the entry's data (ID numbers), the hashed content is
not in the file: the entry is then proven by its hash alone.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from audit import merkle
from audit import tree as merkle_tree
from audit.checkpoint import CheckpointError, parse_note
from audit.models import AuditEntry

from .present import entry_json

FORMAT = "unionflow-audit-proof/1"


class ProofUnavailable(Exception):
    """No proof can be made: (Chinese message, English message)."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


def proof_file(session: Session, seq: int, note_text: str, masked: bool) -> dict[str, Any]:
    try:
        note = parse_note(note_text)
    except CheckpointError as err:
        raise ProofUnavailable("检查点文件无法读取。", f"the checkpoint cannot be read: {err}") from None
    entry = session.get(AuditEntry, seq)
    if entry is None:
        raise ProofUnavailable(f"没有第 {seq} 条记录。", f"there is no entry {seq}")
    if seq > note.size:
        raise ProofUnavailable(f"第 {seq} 条记录晚于最近的签名检查点（{note.size} 条），待下一次检查点后即可下载证明。",
                               f"entry {seq} is newer than the checkpoint of {note.size} entries: wait for the next "
                               "checkpoint")
    try:
        proof = merkle_tree.inclusion_proof(session, seq - 1, note.size)
    except merkle.ProofError as err:
        raise ProofUnavailable("默克尔树不完整，请先运行审计链校验。", str(err)) from None
    if proof.root != note.root or proof.leaf != merkle.leaf_hash(bytes.fromhex(entry.hash)):
        raise ProofUnavailable("当前审计树与签名检查点不一致，请先运行审计链校验。",
                               "the live tree does not match the checkpoint: run `flask audit verify`")
    shown = entry_json(entry, masked)
    del shown["decided_on"]  # the file holds what is hashed: the business date is in the entry's data
    hidden = shown["data"] != json.loads(entry.data)
    body: dict[str, Any] = {
        "format": FORMAT,
        "entry": shown,
        "masked": hidden,
        "leaf_index": proof.leaf_index,
        "tree_size": proof.tree_size,
        "inclusion": [h.hex() for h in proof.path],
        "checkpoint": note_text,
    }
    if not hidden:
        shown["data_text"] = entry.data  # the hashed text itself: the entry's hash can be recomputed
    return body
