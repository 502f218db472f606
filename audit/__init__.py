"""The append-only, hash-chained audit trail (审计留痕).

It knows nothing about workflows: an entry's subject is an opaque
(type, id) pair with an optional state and version.

The names below are loaded on first use, so that importing a module of the
package alone costs only that module: a worker checking a SQLite trail
(`audit.scan_worker`) runs on the standard library, without SQLAlchemy.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .chain import GENESIS, canonical_json, entry_hash
    from .models import AppendOnlyError, AuditEntry
    from .trail import ROW_DIGEST, Subject, VerifyResult, append, append_many, entries_for, last_entry_for, verify

_HOMES = {
    "GENESIS": "chain", "canonical_json": "chain", "entry_hash": "chain",
    "AppendOnlyError": "models", "AuditEntry": "models",
    "ROW_DIGEST": "trail", "Subject": "trail", "VerifyResult": "trail", "append": "trail", "append_many": "trail",
    "entries_for": "trail", "last_entry_for": "trail", "verify": "trail",
}

__all__ = [
    "GENESIS", "ROW_DIGEST", "AppendOnlyError", "AuditEntry", "Subject", "VerifyResult", "append", "append_many",
    "canonical_json", "entries_for", "entry_hash", "last_entry_for", "verify",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # found once: later lookups are plain attribute lookups
    return value
