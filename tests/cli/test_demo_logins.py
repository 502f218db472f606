"""The login table `flask demo run` prints: Chinese on every line, roles by their names, columns aligned."""
from __future__ import annotations

import re
import unicodedata

from web.cli import login_table
from web.demo import DEMO_USERS


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_every_line_of_the_login_table_is_chinese_and_aligned():
    lines = login_table(DEMO_USERS)
    assert len(lines) == len(DEMO_USERS) + 2
    for line in lines:
        assert re.search(r"[\u4e00-\u9fff]", line), line
        after_username = line[20:]
        assert not re.search(r"\b(preparer|reviewer|auditor|admin|enterprises?|founding)\b", after_username), line
    # the description column starts at the same terminal column on every line
    starts = {width(line[:line.rindex("  ") + 2]) for line in lines}
    assert len(starts) == 1, lines
    assert "  admin             系统管理员  " in lines[1]
