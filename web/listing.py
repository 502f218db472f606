"""Paging of the long lists (cases, the review queue, the trail, the admin tables): the page asked for, and
how far a list counts its rows."""
from __future__ import annotations

from flask import request

# lists count their rows up to this many (and then say "more than"): counting 100,000 cases costs more than the page
COUNT_LIMIT = 2000


def page_number() -> int:
    """The ?page= asked for: 1 when it is missing, not a number or below 1."""
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1
