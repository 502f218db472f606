"""What a password and a username must be (ASVS 2.1, 5.1): long, not a common password, not the username;
a username in one script, so that `аdmin` (with a Cyrillic а) cannot pass for `admin`.

The common passwords are the 30,000 of the zxcvbn package's ranked list (from leaked password sets),
shipped with the package and read from it: nothing is fetched at run time.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

MIN_PASSWORD = 12
MAX_PASSWORD = 200

# scripts that may share a username (UTS #39's "highly restrictive" sets for Chinese and Japanese, with Latin)
_COMBINABLE = ({"LATIN", "HAN"}, {"LATIN", "HAN", "HIRAGANA", "KATAKANA"}, {"LATIN", "HAN", "BOPOMOFO"})
_DECORATION = "0123456789!@#$%^&*()-_=+.,;:?~ "


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _is_common(password: str) -> bool:
    folded = password.casefold()
    common = common_passwords()
    # a common word with digits or symbols around it ("Dragon2024!!!!") is as easily guessed
    core = folded.strip(_DECORATION)
    return folded in common or (len(core) >= 4 and core in common)


def password_problem(password: object, username: object = None) -> str | None:
    """The field error code for a password that may not be used, or None."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        return "weak_password"
    if len(password) > MAX_PASSWORD:
        return "too_long"
    if _is_common(password):
        return "common_password"
    if isinstance(username, str) and len(username) >= 3 and username.casefold() in password.casefold():
        return "password_has_username"
    return None


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    if name.startswith("CJK "):
        return "HAN"
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def mixes_scripts(username: str) -> bool:
    """Whether a username's letters come from scripts that do not belong together, or it is not in NFKC form
    (full-width ａｄｍｉｎ), or it uses digits other than 0-9."""
    if unicodedata.normalize("NFKC", username) != username:
        return True
    if any(ch.isdigit() and not ch.isascii() for ch in username):
        return True
    scripts = {_script(ch) for ch in username if ch.isalpha()}
    return len(scripts) > 1 and not any(scripts <= allowed for allowed in _COMBINABLE)
