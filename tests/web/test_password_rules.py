"""Password and username rules: at least 12 characters, no common password (bare or decorated), not the username;
usernames in one script. Refused alike by the API, the admin pages and the password change page."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from audit import AuditEntry
from services.passwords import MIN_PASSWORD, mixes_scripts, password_problem
from workflow import User

from .ui_support import PASSWORD, login, text_of


@pytest.mark.parametrize("password, username, problem", [
    ("unionflow-demo", "admin", None),          # the demonstration password stays usable
    (PASSWORD, "prep", None),
    ("a" * (MIN_PASSWORD - 1), None, "weak_password"),
    ("a-good-long1", None, None),
    ("123qweasdzxc", None, "common_password"),
    ("QWERTY123456", None, "common_password"),  # case does not make it rarer
    ("dragon2024!!!", None, "common_password"),  # nor digits and symbols around a common word
    ("my-name-is-wangfang", "wangfang", "password_has_username"),
    ("x" * 201, None, "too_long"),
])
def test_password_rules(password, username, problem):
    assert password_problem(password, username) == problem


@pytest.mark.parametrize("username, mixed", [
    ("admin", False), ("wang.fang-2", False), ("张三", False), ("zhang三", False), ("иван", False),
    ("\u0430dmin", True),       # a Cyrillic а before Latin letters
    ("p\u03bfst", True),        # a Greek omicron
    ("\uff41\uff44\uff4d\uff49\uff4e", True),  # full-width letters
    ("user\u0661", True),       # an Arabic-Indic digit
])
def test_usernames_in_one_script(username, mixed):
    assert mixes_scripts(username) is mixed


def _users(db) -> tuple[int, int]:
    with db.read() as session:
        return (session.scalar(select(func.count()).select_from(User)),
                session.scalar(select(func.count()).select_from(AuditEntry)))


@pytest.mark.parametrize("body, field, code", [
    ({"username": "newbie", "password": "long-enough"}, "password", "weak_password"),
    ({"username": "newbie", "password": "qwertyuiop123"}, "password", "common_password"),
    ({"username": "newbie", "password": "newbie-is-here-1"}, "password", "password_has_username"),
    ({"username": "\u0430dmin2", "password": "long-enough-pw"}, "username", "mixed_scripts"),
])
def test_the_api_refuses_weak_passwords_and_mixed_scripts(api, db, tree, body, field, code):
    before = _users(db)
    resp = api.post("/users", tree["admin"], {**body, "role": "preparer", "org": "ENT-L"})
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_input" and list(error["fields"]) == [field] and error["fields"][field]
    assert _users(db) == before


def test_the_admin_page_refuses_a_common_password_in_chinese(client, db, tree):
    login(client, "admin")
    before = _users(db)
    resp = client.post("/admin/users", data={"f_username": "newbie", "f_role": "preparer", "f_org": "ENT-L",
                                             "f_password": "1q2w3e4r5t6y"})
    assert resp.status_code == 400 and "常见密码" in text_of(resp)
    assert _users(db) == before


def test_the_password_page_refuses_a_common_password_or_the_username(client, tree):
    login(client, "prep")
    for new, phrase in (("qwerty123456", "常见密码"), ("prep-prep-prep", "不能包含用户名")):
        resp = client.post("/password", data={"current": PASSWORD, "new": new, "confirm": new})
        assert resp.status_code == 400 and phrase in text_of(resp), new
    assert login(client.application.test_client(), "prep").status_code == 302
