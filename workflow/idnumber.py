"""公民身份号码 (citizen ID numbers, GB 11643-1999): validation and masking.

An ID number has 18 characters: a 6-digit address code, an 8-digit birth date
(YYYYMMDD), a 3-digit sequence code and a check character computed over the
first 17 digits with ISO 7064 MOD 11-2 (``0``–``9`` or ``X`` for ten). The
check character must be the capital ``X`` that the standard prescribes; a
lower-case ``x`` is refused rather than silently corrected.

Pure functions: the output layer uses `mask_id_number` too.
"""
from __future__ import annotations

from datetime import date
from typing import Any

LENGTH = 18
# ISO 7064 MOD 11-2: the digit at position i (1 = the check character, counted
# from the right) weighs 2**(i-1) mod 11, so the leftmost digit weighs 2**17 mod 11.
WEIGHTS = tuple(pow(2, LENGTH - 1 - i, 11) for i in range(LENGTH - 1))
# the check character for each value of (weighted sum mod 11)
CHECK_CHARACTERS = "10X98765432"

KEEP_HEAD = 6
KEEP_TAIL = 4
MASK = "*"


def check_character(first17: str) -> str:
    """The check character for 17 digits; ValueError for anything else."""
    if len(first17) != LENGTH - 1 or not (first17.isascii() and first17.isdigit()):
        raise ValueError("the check character is computed over exactly 17 digits")
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def birth_date(id_number: str) -> date | None:
    """The birth date encoded in characters 7–14, or None when it is no calendar date."""
    part = id_number[6:14]
    if len(part) != 8 or not (part.isascii() and part.isdigit()):
        return None
    try:
        return date(int(part[:4]), int(part[4:6]), int(part[6:]))
    except ValueError:
        return None


def id_number_problem(value: Any, today: date | None = None) -> str | None:
    """Why `value` is not a valid ID number, or None when it is.

    Problems: ``length`` (not 18 characters), ``characters`` (the first 17 are
    not all digits or the last is not 0–9/X), ``birth_date`` (no calendar date,
    or after `today` when given), ``check_character`` (MOD 11-2 mismatch).
    """
    if not isinstance(value, str) or len(value) != LENGTH:
        return "length"
    body, check = value[:-1], value[-1]
    if not (body.isascii() and body.isdigit()) or check not in "0123456789X":
        return "characters"
    born = birth_date(value)
    if born is None or (today is not None and born > today):
        return "birth_date"
    if check_character(body) != check:
        return "check_character"
    return None


def is_valid_id_number(value: Any, today: date | None = None) -> bool:
    return id_number_problem(value, today) is None


def mask_id_number(value: Any) -> Any:
    """Keep the first 6 and the last 4 characters, replace the rest by ``*``.

    A string too short to hide anything that way (10 characters or fewer) is
    masked entirely; anything that is not a string is returned unchanged.
    """
    if not isinstance(value, str):
        return value
    if len(value) <= KEEP_HEAD + KEEP_TAIL:
        return MASK * len(value)
    hidden = len(value) - KEEP_HEAD - KEEP_TAIL
    return value[:KEEP_HEAD] + MASK * hidden + value[-KEEP_TAIL:]
