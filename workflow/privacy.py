"""Masking of personal data for viewers outside the case's own enterprise.

`can_see_personal_data` is the one rule: the pages and the API mask ID numbers for everyone else, and the
materials that carry them in full (身份证复印件, ID-card scans) are served to nobody else.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import Actor
    from .models import Case

SENSITIVE_KEYS = frozenset({"id_number"})
# secrets of the case's own organisation, hidden whole from everyone else: a transfer certificate's one-time
# code (whoever knows it may redeem it)
SECRET_KEYS = frozenset({"certificate_code"})
SECRET_MASK = "••••-••••-••••-••••"


def can_see_personal_data(actor: Actor, case: Case) -> bool:
    """Only the case's own enterprise sees ID numbers unmasked (and the scans of ID cards)."""
    return actor.org_id is not None and actor.org_id == case.org_id


def mask_id_number(value: str) -> str:
    """身份证号: keep the first 6 and the last 4 characters, the rest becomes '*'."""
    if not isinstance(value, str) or len(value) <= 10:
        return "*" * len(value) if isinstance(value, str) else value
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask(value: Any) -> Any:
    """A copy of `value` with every ID number masked and every secret hidden, at any depth."""
    if isinstance(value, dict):
        return {k: (mask_id_number(v) if k in SENSITIVE_KEYS and isinstance(v, str)
                    else SECRET_MASK if k in SECRET_KEYS and isinstance(v, str) else mask(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value
