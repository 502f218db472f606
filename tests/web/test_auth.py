"""Signing in and out: relative redirects only, the delay after failed logins (by account and by address, alike
for unknown accounts), the rate limit,
CSRF (refused and expired forms), cookie flags, and a password change ending other sessions."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update

from services.login_throttle import LoginThrottle
from storage import utcnow
from web.auth import safe_next
from workflow import User

from .ui_support import PASSWORD, login, text_of


@pytest.mark.parametrize("target, allowed", [
    ("/cases?workflow=sample", True),
    ("/cases/1", True),
    ("/", True),
    ("//evil.example/path", False),
    ("https://evil.example/", False),
    ("http:/evil.example", False),
    ("/\\evil.example", False),
    ("/\t/evil.example", False),
    ("/\n/evil.example", False),
    ("javascript:alert(1)", False),
    ("evil.example/cases", False),
    ("", False),
])
def test_only_a_relative_path_is_a_place_to_return_to(target, allowed):
    assert (safe_next(target) == target) is allowed


def test_a_page_asked_for_before_login_is_reached_after_it(client, tree):
    resp = client.get("/cases?workflow=sample")
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/cases?workflow=sample"]
    resp = client.post(f"/login?{location.query}", data={"username": "prep", "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/cases?workflow=sample"


def test_a_foreign_next_lands_on_the_home_page(client, tree):
    resp = client.post("/login?next=//evil.example/", data={"username": "prep", "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_wrong_password_and_unknown_user_get_the_same_answer(client, tree):
    wrong = login(client, "prep", "not-the-password")
    unknown = login(client, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in text_of(wrong) and "用户名或密码错误" in text_of(unknown)


def _unblock(db) -> None:
    """As if the delay in force had run out."""
    with db.write() as session:
        session.execute(update(LoginThrottle).values(blocked_until=utcnow() - timedelta(seconds=1)))


def test_four_failures_cost_no_delay(client, tree, app):
    assert app.config["LOGIN_FREE_FAILURES"] == 5
    for _ in range(4):
        assert login(client, "prep", "wrong-password").status_code == 401
    assert login(client, "prep").status_code == 302


@pytest.mark.parametrize("username", ["prep", "nobody"])
def test_the_fifth_failure_starts_a_delay_that_doubles_alike_for_unknown_accounts(client, tree, db, username):
    for _ in range(4):
        assert login(client, username, "wrong-password").status_code == 401
    fifth = login(client, username, "wrong-password")
    assert fifth.status_code == 401 and "用户名或密码错误" in text_of(fifth)
    refused = login(client, username, PASSWORD)  # even the right password waits its turn
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert "尝试次数过多，请1秒后再试" in text_of(refused) and "账号已锁定" not in text_of(refused)
    for seconds in (2, 4, 8):
        _unblock(db)
        assert login(client, username, "wrong-password").status_code == 401
        assert int(login(client, username, PASSWORD).headers["Retry-After"]) == seconds
    _unblock(db)
    if username == "prep":
        assert login(client, "prep").status_code == 302


def test_the_delay_stops_at_its_maximum(client, tree, db, app):
    for _ in range(30):
        _unblock(db)
        login(client, "nobody", "wrong-password")
    assert int(login(client, "nobody").headers["Retry-After"]) == app.config["LOGIN_MAX_DELAY_SECONDS"] == 900


def test_an_address_is_throttled_across_usernames(client, tree, db):
    for i in range(20):
        assert login(client, f"nobody{i}", "wrong-password").status_code == 401
    resp = login(client, "prep")  # a further account from the same address waits too
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "1"
    other = client.application.test_client()
    resp = other.post("/login", data={"username": "prep", "password": PASSWORD},
                      environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert resp.status_code == 302


def test_a_success_resets_the_failure_count(client, tree):
    for _ in range(4):
        login(client, "prep", "wrong-password")
    assert login(client, "prep").status_code == 302
    client.post("/logout")
    for _ in range(4):
        assert login(client, "prep", "wrong-password").status_code == 401
    assert login(client, "prep").status_code == 302


def test_an_unknown_user_costs_the_same_password_hash(client, tree, monkeypatch):
    import services.accounts as accounts

    verified = []

    class Counting:
        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

        def verify(self, hashed, password):
            verified.append(hashed)
            return self.real.verify(hashed, password)

    monkeypatch.setattr(accounts, "_hasher", Counting(accounts._hasher))
    for username in ("prep", "nobody"):
        assert login(client, username, "wrong-password").status_code == 401
    assert len(verified) == 2 and verified[0] != verified[1]
    with_prefix = {"$".join(h.split("$")[:4]) for h in verified}  # the same algorithm and cost parameters
    assert len(with_prefix) == 1


def test_a_disabled_user_cannot_log_in_and_is_logged_out(client, tree, db):
    assert login(client, "prep").status_code == 302
    with db.write() as session:
        session.execute(update(User).where(User.username == "prep").values(active=False))
    assert client.get("/").status_code == 302
    assert login(client, "prep").status_code == 401


@pytest.fixture
def strict_app(app, app_config):
    """CSRF and the rate limit switched on, as in production (made after `app`: the limiter is one object)."""
    from web import create_app

    app = create_app({**app_config, "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": True})
    yield app
    app.extensions["unionflow.db"].dispose()


def _csrf(client, path: str = "/login") -> str:
    import re

    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_a_post_without_the_csrf_token_is_refused(strict_app, tree):
    client = strict_app.test_client()
    resp = client.post("/login", data={"username": "prep", "password": PASSWORD})
    assert resp.status_code == 400
    assert "登录表单已过期，请重新输入用户名和密码" in text_of(resp)
    assert 'name="csrf_token"' in resp.get_data(as_text=True)  # a fresh form to sign in with
    assert client.get("/").status_code == 302  # not logged in
    token = _csrf(client)
    assert client.post("/login", data={"username": "prep", "password": PASSWORD, "csrf_token": token}).status_code == 302


def test_an_expired_form_says_so_and_offers_to_reopen_the_page(strict_app, tree):
    import time

    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class NineHoursAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 9 * 3600

    client = strict_app.test_client()
    client.post("/login", data={"username": "prep", "password": PASSWORD, "csrf_token": _csrf(client)})
    _csrf(client, "/password")
    with client.session_transaction() as session:
        raw = session["csrf_token"]
    # the token the form would have carried had it been loaded nine hours ago (the limit is eight)
    old = URLSafeTimedSerializer(strict_app.secret_key, salt="wtf-csrf-token", signer=NineHoursAgo).dumps(raw)
    form = {"current": PASSWORD, "new": "another-horse-2", "confirm": "another-horse-2"}
    resp = client.post("/password", data={**form, "csrf_token": old})
    assert resp.status_code == 400
    assert "表单已过期" in text_of(resp) and 'href="/password"' in resp.get_data(as_text=True)
    assert client.post("/password", data={**form, "csrf_token": _csrf(client, "/password")}).status_code == 302


def test_the_login_form_takes_twenty_posts_a_minute_from_one_address(strict_app, tree):
    client = strict_app.test_client()
    token = _csrf(client)
    for i in range(20):
        resp = client.post("/login", data={"username": f"nobody{i}", "password": "x", "csrf_token": token})
        assert resp.status_code == 401
    resp = client.post("/login", data={"username": "nobody", "password": "x", "csrf_token": token})
    assert resp.status_code == 429
    assert "尝试次数过多" in text_of(resp)


def _cookie(resp, name: str = "session") -> str:
    return next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith(name + "="))


def test_the_session_cookie_is_httponly_and_samesite_and_secure_over_https(client, tree):
    plain = _cookie(login(client, "prep"))
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    client.post("/logout")
    secure = _cookie(client.post("/login", data={"username": "prep", "password": PASSWORD},
                                 base_url="https://unionflow.example"))
    assert "HttpOnly" in secure and "SameSite=Lax" in secure and "Secure" in secure


def test_logout_takes_a_post(client, tree):
    login(client, "prep")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_changing_the_password_ends_the_other_sessions(app, tree):
    here, there = app.test_client(), app.test_client()
    login(here, "prep")
    login(there, "prep")
    assert there.get("/").status_code == 200
    wrong = here.post("/password", data={"current": "not-it", "new": "another-horse-2", "confirm": "another-horse-2"})
    assert wrong.status_code == 400 and "当前密码不正确" in text_of(wrong)
    same = here.post("/password", data={"current": PASSWORD, "new": PASSWORD, "confirm": PASSWORD})
    assert same.status_code == 400 and "不能与当前密码相同" in text_of(same)
    short = here.post("/password", data={"current": PASSWORD, "new": "short-11chr", "confirm": "short-11chr"})
    assert short.status_code == 400 and "至少12个字符" in text_of(short)
    done = here.post("/password", data={"current": PASSWORD, "new": "another-horse-2", "confirm": "another-horse-2"})
    assert done.status_code == 302
    assert here.get("/").status_code == 200
    assert there.get("/").status_code == 302
    assert login(app.test_client(), "prep").status_code == 401
    assert login(app.test_client(), "prep", "another-horse-2").status_code == 302


def test_behind_a_trusted_https_proxy_the_cookie_is_secure(app, app_config, tree):
    from web import create_app

    proxied = create_app({**app_config, "TRUSTED_PROXIES": 1})
    try:
        client = proxied.test_client()
        over_https = client.post("/login", data={"username": "prep", "password": PASSWORD},
                                 headers={"X-Forwarded-Proto": "https"})
        assert "Secure" in _cookie(over_https)
        client.post("/logout", headers={"X-Forwarded-Proto": "https"})
        # without the proxy's word the request is plain HTTP
        assert "Secure" not in _cookie(client.post("/login", data={"username": "prep", "password": PASSWORD}))
    finally:
        proxied.extensions["unionflow.db"].dispose()
