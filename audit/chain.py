"""Pure hashing: the canonical encoding of an entry and its SHA-256 link."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

GENESIS = "0" * 64


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return format_at(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default).encode


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept as is: one text for one value."""
    return _ENCODE(value)


def format_at(at: datetime) -> str:
    """UTC timestamp with microseconds, as hashed and as shown by the API."""
    if at.tzinfo is None and at.year >= 1000:  # the same text, written in C without a format to parse
        return at.isoformat(timespec="microseconds") + "Z"
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    *,
    seq: int,
    at: str,
    actor: str,
    role: str,
    subject_type: str,
    subject_id: str,
    trigger: str,
    from_state: str | None,
    to_state: str | None,
    version: int | None,
    comment: str,
    data: str,
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical header line, a newline, and the stored data text."""
    return link_hash(seq, at, actor, role, subject_type, subject_id, trigger, from_state, to_state, version, comment,
                     data, prev_hash)


def link_hash(seq: int, at: str, actor: str, role: str, subject_type: str, subject_id: str, trigger: str,
              from_state: str | None, to_state: str | None, version: int | None, comment: str, data: str,
              prev_hash: str) -> str:
    """`entry_hash` with the fields in column order, for verifying a million entries without keywords.

    The header is written out directly when every field has its usual type
    (the same text the canonical encoder gives, in half the time); anything
    else goes through the encoder.
    """
    if (type(seq) is int and (version is None or type(version) is int) and type(at) is str and type(actor) is str
            and type(role) is str and type(subject_type) is str and type(subject_id) is str and type(trigger) is str
            and (from_state is None or type(from_state) is str) and (to_state is None or type(to_state) is str)
            and type(comment) is str and type(prev_hash) is str):
        header = (f"[{seq},{_q(at)},{_q(actor)},{_q(role)},{_q(subject_type)},{_q(subject_id)},{_q(trigger)},"
                  f"{'null' if from_state is None else _q(from_state)},{'null' if to_state is None else _q(to_state)},"
                  f"{'null' if version is None else version},{_q(comment)},{_q(prev_hash)}]")
    else:
        header = _ENCODE([seq, at, actor, role, subject_type, subject_id, trigger, from_state, to_state, version,
                          comment, prev_hash])
    return _sha256(f"{header}\n{data}".encode()).hexdigest()


_sha256 = hashlib.sha256
_q = encode_basestring  # a JSON string as the canonical encoder (ensure_ascii=False) writes it


def hashed_at(stored: Any) -> str:
    """The hashed form of an entry's time as the driver returns it: a datetime, or SQLite's stored text."""
    if isinstance(stored, str):
        if len(stored) == 26 and stored[10] == " ":  # 'YYYY-MM-DD HH:MM:SS.ffffff', as SQLAlchemy stores it
            return f"{stored[:10]}T{stored[11:]}Z"
        stored = datetime.fromisoformat(stored)
    return format_at(stored)
