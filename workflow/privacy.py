"""Masking of personal data for viewers outside the case's own enterprise."""
from __future__ import annotations

from typing import Any

SENSITIVE_KEYS = frozenset({"id_number"})


def mask_id_number(value: str) -> str:
    """身份证号: keep the first 6 and the last 4 characters, the rest becomes '*'."""
    if not isinstance(value, str) or len(value) <= 10:
        return "*" * len(value) if isinstance(value, str) else value
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask(value: Any) -> Any:
    """A copy of `value` with every ID number masked, at any depth."""
    if isinstance(value, dict):
        return {k: (mask_id_number(v) if k in SENSITIVE_KEYS and isinstance(v, str) else mask(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value
