"""Pure hashing: the canonical encoding of an entry and its SHA-256 link."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
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


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept as is: one text for one value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def format_at(at: datetime) -> str:
    """UTC timestamp with microseconds, as hashed and as shown by the API."""
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
    header = canonical_json(
        [seq, at, actor, role, subject_type, subject_id, trigger, from_state, to_state, version, comment, prev_hash]
    )
    return hashlib.sha256(f"{header}\n{data}".encode("utf-8")).hexdigest()
