"""The append-only, hash-chained audit trail (审计留痕).

It knows nothing about workflows: an entry's subject is an opaque
(type, id) pair with an optional state and version.
"""
from .chain import GENESIS, canonical_json, entry_hash
from .models import AppendOnlyError, AuditEntry, AuditHead
from .trail import Subject, VerifyResult, append, entries_for, verify

__all__ = [
    "GENESIS", "AppendOnlyError", "AuditEntry", "AuditHead", "Subject", "VerifyResult", "append",
    "canonical_json", "entries_for", "entry_hash", "verify",
]
