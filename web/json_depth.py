"""How deeply a JSON text nests, found without parsing it.

Python's json module parses arrays and objects recursively: a body of a
thousand `[` raises RecursionError (a 500) before any check of ours could run.
A linear scan over the brackets outside strings tells the depth first.
"""
from __future__ import annotations

import re

MAX_DEPTH = 64

# a whole string (escapes included) or one bracket; everything else is skipped
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def nesting_depth(raw: bytes | str, limit: int = MAX_DEPTH) -> int:
    """The deepest nesting of arrays and objects in `raw`, counting no further than `limit` + 1."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    depth = deepest = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif token in (b"]", b"}"):
            depth = max(0, depth - 1)
    return deepest


def too_deep(raw: bytes | str, limit: int = MAX_DEPTH) -> bool:
    return nesting_depth(raw, limit) > limit
