"""Signed-in sessions end for good: logout, a new password, a role or organisation change, disabling and an
admin's "sign out everywhere" end every session of the user on every server (two server processes here);
30 idle minutes and 12 hours end a session whatever its cookie says, and a remember-me cookie cannot revive
it. The clock is the app's UNIONFLOW_NOW, moved by the tests."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from audit import AuditEntry
from services.accounts import find_user, update_user
from workflow import User

from .ui_support import PASSWORD, login, text_of

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 20, 1, 0, 0)  # naive UTC, as storage.utcnow


class Now:
    """A settable UTC clock for the app (UNIONFLOW_NOW)."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
def timed_app(app_config, now):
    from web import create_app

    app = create_app({**app_config, "UNIONFLOW_NOW": now})
    yield app
    app.extensions["unionflow.db"].dispose()


def _entries(db, username: str) -> list[AuditEntry]:
    with db.read() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.subject_type == "user",
                                                             AuditEntry.subject_id == username)
                                    .order_by(AuditEntry.seq)))


def _signed_in(client) -> bool:
    resp = client.get("/")
    assert resp.status_code in (200, 302)
    return resp.status_code == 200


def _copy(client):
    """A second browser holding a copy of this one's cookies."""
    twin = client.application.test_client()
    for cookie in client._cookies.values():
        twin.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return twin


# -- logout, and what ends every session -----------------------------------------------

def test_a_cookie_copied_before_logout_is_refused_after_it(client, tree):
    assert login(client, "prep").status_code == 302
    copied = _copy(client)
    assert _signed_in(copied)
    assert client.post("/logout").status_code == 302
    assert not _signed_in(copied)
    page = copied.get("/", follow_redirects=True)
    assert "登录已失效，请重新登录" in text_of(page)


def test_logging_out_ends_the_users_sessions_in_every_browser_but_not_other_users(app, tree):
    phone, laptop, colleague = app.test_client(), app.test_client(), app.test_client()
    login(phone, "prep")
    login(laptop, "prep")
    login(colleague, "prep_m")
    phone.post("/logout")
    assert not _signed_in(laptop)
    assert _signed_in(colleague)
    assert login(laptop, "prep").status_code == 302 and _signed_in(laptop)  # a new sign-in works at once


def test_a_role_change_ends_the_users_sessions(client, tree, db):
    login(client, "town")
    assert _signed_in(client)
    with db.write() as session:
        update_user(session, find_user(session, "town"), role="reviewer", org="TOWN", display_name="新的名字",
                    actor="admin")
    assert _signed_in(client)  # a new display name alone changes nothing of what the user may do
    with db.write() as session:
        update_user(session, find_user(session, "town"), role="auditor", org="TOWN", actor="admin")
    assert not _signed_in(client)
    entry = _entries(db, "town")[-1]
    assert entry.trigger == "update_user" and entry.actor == "admin"
    assert json.loads(entry.data)["sessions_ended"] is True


def test_an_organisation_change_ends_the_users_sessions(client, tree, db):
    login(client, "town")
    with db.write() as session:
        update_user(session, find_user(session, "town"), role="reviewer", org="COM", actor="admin")
    assert not _signed_in(client)


def test_a_role_change_on_the_admin_page_ends_the_users_sessions(app, tree, db):
    admin, town = app.test_client(), app.test_client()
    login(admin, "admin")
    login(town, "town")
    user_id = tree["town"].id
    assert admin.post(f"/admin/users/{user_id}", data={"f_role": "auditor", "f_org": "TOWN"}).status_code == 302
    assert not _signed_in(town)
    assert _signed_in(admin)


def test_disabling_ends_the_sessions_for_good(app, tree, db):
    from services.accounts import set_user_active

    client = app.test_client()
    login(client, "prep")
    with db.write() as session:
        user = find_user(session, "prep")
        set_user_active(session, user, False, actor="admin")
        set_user_active(session, user, True, actor="admin")
    assert not _signed_in(client)  # enabled again, the old session stays ended


# -- sign out everywhere ---------------------------------------------------------------

def test_an_admin_signs_a_user_out_everywhere_once_confirmed(app, tree, db):
    admin, prep, other = app.test_client(), app.test_client(), app.test_client()
    login(admin, "admin")
    login(prep, "prep")
    login(other, "prep")
    user_id = tree["prep"].id
    page = admin.get(f"/admin/users/{user_id}")
    assert "在所有设备上退出登录" in text_of(page)
    before = len(_entries(db, "prep"))
    unconfirmed = admin.post(f"/admin/users/{user_id}/sessions", data={})
    assert unconfirmed.status_code == 400 and "请勾选确认后再退出该用户的全部登录" in text_of(unconfirmed)
    assert _signed_in(prep) and len(_entries(db, "prep")) == before
    done = admin.post(f"/admin/users/{user_id}/sessions", data={"f_confirm": "y"}, follow_redirects=True)
    assert done.status_code == 200 and "已退出 prep 在所有设备上的登录" in text_of(done)
    assert not _signed_in(prep) and not _signed_in(other)
    assert _signed_in(admin)
    entry = _entries(db, "prep")[-1]
    assert (entry.trigger, entry.actor, entry.role) == ("end_sessions", "admin", "admin")
    assert app.test_client().get("/api/v1/me", headers=tree["prep"].headers).status_code == 200  # tokens stay
    assert admin.post("/admin/users/9999/sessions", data={"f_confirm": "y"}).status_code == 404
    login(prep, "prep")
    assert prep.post(f"/admin/users/{tree['fed'].id}/sessions", data={"f_confirm": "y"}).status_code == 403


def test_sign_out_everywhere_is_for_admins_and_takes_the_csrf_token(app_config, tree, db):
    import re

    from web import create_app

    strict = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    try:
        prep, admin = strict.test_client(), strict.test_client()
        for client, name in ((prep, "prep"), (admin, "admin")):
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                              client.get("/login").get_data(as_text=True)).group(1)
            assert client.post("/login", data={"username": name, "password": PASSWORD,
                                               "csrf_token": token}).status_code == 302
        user_id = tree["prep"].id
        assert admin.post(f"/admin/users/{user_id}/sessions", data={"f_confirm": "y"}).status_code == 400
        assert _signed_in(prep)
        page = admin.get(f"/admin/users/{user_id}").get_data(as_text=True)
        form = page[page.index('id="end-sessions"'):]
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        assert admin.post(f"/admin/users/{user_id}/sessions",
                          data={"f_confirm": "y", "csrf_token": token}).status_code == 302
        assert not _signed_in(prep)
    finally:
        strict.extensions["unionflow.db"].dispose()


def test_sign_out_everywhere_through_the_api(api, app, tree, db):
    prep = app.test_client()
    login(prep, "prep")
    assert api.post("/users/prep/sessions/end", tree["fed"]).status_code == 403
    assert api.post("/users/prep/sessions/end", tree["prep"]).status_code == 403
    assert _signed_in(prep)
    assert api.post("/users/ghost/sessions/end", tree["admin"]).status_code == 404
    resp = api.post("/users/prep/sessions/end", tree["admin"])
    assert resp.status_code == 200 and resp.get_json() == {"username": "prep", "sessions_ended": True}
    assert not _signed_in(prep)
    entry = _entries(db, "prep")[-1]
    assert (entry.trigger, entry.actor) == ("end_sessions", "admin")


def test_sign_out_everywhere_from_the_command_line(app, db_url, tree, db):
    from tests.cli.test_cli import flask

    prep = app.test_client()
    login(prep, "prep")
    done = flask(db_url, "users", "end-sessions", "prep")
    assert done.returncode == 0, done.stderr
    assert not _signed_in(prep)
    entry = _entries(db, "prep")[-1]
    assert (entry.trigger, entry.actor) == ("end_sessions", "cli")
    missing = flask(db_url, "users", "end-sessions", "ghost")
    assert missing.returncode == 2 and "no user" in missing.stderr


# -- idle and absolute limits ----------------------------------------------------------

@pytest.mark.parametrize("idle, signed_in", [
    (timedelta(minutes=30) - timedelta(seconds=1), True),
    (timedelta(minutes=30), False),
    (timedelta(minutes=30, seconds=1), False),
])
def test_thirty_idle_minutes_end_a_session(timed_app, now, tree, idle, signed_in):
    client = timed_app.test_client()
    login(client, "prep")
    now.at = T0 + idle
    assert _signed_in(client) is signed_in


def test_each_request_restarts_the_idle_time_and_a_timed_out_session_says_so(timed_app, now, tree):
    client = timed_app.test_client()
    login(client, "prep")
    step = timedelta(minutes=30) - timedelta(seconds=1)
    now.at = T0 + step
    assert _signed_in(client)
    now.at = T0 + 2 * step
    assert _signed_in(client)
    now.at = T0 + 2 * step + timedelta(minutes=30)
    page = client.get("/cases", follow_redirects=True)
    assert page.request.path == "/login" and "登录已超时，请重新登录" in text_of(page)
    now.at += timedelta(seconds=1)
    assert not _signed_in(client)  # the session is gone, not merely refused once
    assert login(client, "prep").status_code == 302 and _signed_in(client)


@pytest.mark.parametrize("since_login, signed_in", [
    (timedelta(hours=12) - timedelta(seconds=1), True),
    (timedelta(hours=12), False),
])
def test_twelve_hours_after_signing_in_a_busy_session_ends(timed_app, now, tree, since_login, signed_in):
    client = timed_app.test_client()
    login(client, "prep")
    moment = T0
    while moment + timedelta(minutes=20) < T0 + since_login:
        moment += timedelta(minutes=20)
        now.at = moment
        assert _signed_in(client)
    now.at = T0 + since_login  # less than twenty minutes since the last request
    assert _signed_in(client) is signed_in


def test_the_limits_are_configurable(app_config, now, tree):
    from web import create_app

    app = create_app({**app_config, "UNIONFLOW_NOW": now, "SESSION_IDLE_MINUTES": 5, "SESSION_MAX_HOURS": 1})
    try:
        client = app.test_client()
        login(client, "prep")
        now.at = T0 + timedelta(minutes=4, seconds=59)
        assert _signed_in(client)
        now.at += timedelta(minutes=5)
        assert not _signed_in(client)
        assert app.permanent_session_lifetime == timedelta(hours=1)
    finally:
        app.extensions["unionflow.db"].dispose()


def test_the_limits_come_from_the_environment(monkeypatch, app_config):
    from web import create_app

    monkeypatch.setenv("UNIONFLOW_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("UNIONFLOW_SESSION_MAX_HOURS", "8")
    app = create_app({k: v for k, v in app_config.items() if not k.startswith("SESSION_")})
    try:
        assert app.config["SESSION_IDLE_MINUTES"] == 15 and app.config["SESSION_MAX_HOURS"] == 8
        assert app.permanent_session_lifetime == timedelta(hours=8)
    finally:
        app.extensions["unionflow.db"].dispose()


def _remember_cookie(app, username: str) -> str:
    from flask_login.utils import encode_cookie

    with app.app_context(), app.extensions["unionflow.db"].read() as session:
        user = find_user(session, username)
        user_id = f"{user.id}:{user.session_generation}"
    with app.test_request_context():
        return encode_cookie(user_id)


def test_a_remember_me_cookie_does_not_revive_a_timed_out_session(timed_app, now, tree):
    client = timed_app.test_client()
    login(client, "prep")
    client.set_cookie("remember_token", _remember_cookie(timed_app, "prep"))
    now.at = T0 + timedelta(minutes=30)
    page = client.get("/", follow_redirects=True)
    assert page.request.path == "/login" and "登录已超时" in text_of(page)
    assert not _signed_in(client)
    # nor does one on its own, in a browser that never signed in
    stranger = timed_app.test_client()
    stranger.set_cookie("remember_token", _remember_cookie(timed_app, "prep"))
    assert not _signed_in(stranger)


def test_a_new_password_keeps_this_session_with_its_times(timed_app, now, tree):
    here, there = timed_app.test_client(), timed_app.test_client()
    login(here, "prep")
    login(there, "prep")
    now.at = T0 + timedelta(minutes=10)
    form = {"current": PASSWORD, "new": "another-horse-2", "confirm": "another-horse-2"}
    assert here.post("/password", data=form).status_code == 302
    assert _signed_in(here) and not _signed_in(there)
    now.at = T0 + timedelta(minutes=40)
    assert not _signed_in(here)  # thirty minutes after its last request


# -- two server processes on one database ----------------------------------------------

SERVER = """
import sys
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from werkzeug.serving import make_server
from services import accounts
from web import create_app

accounts.set_password_hasher(PasswordHasher.from_parameters(CHEAPEST))
app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": "shared-secret", "WTF_CSRF_ENABLED": False,
                  "RATELIMIT_ENABLED": False})
make_server("127.0.0.1", int(sys.argv[2]), app, threaded=False).serve_forever()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, db_url: str) -> None:
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
        env["UNIONFLOW_ENV"] = "testing"
        self.process = subprocess.Popen([sys.executable, "-c", SERVER, db_url, str(self.port)], cwd=ROOT, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)

    def request(self, method: str, path: str, cookie: str | None = None, form: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": cookie} if cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            return resp.status, resp.getheader("Location"), resp.getheader("Set-Cookie")
        finally:
            conn.close()

    def login(self, username: str) -> str:
        status, _location, set_cookie = self.request("POST", "/login", form={"username": username,
                                                                             "password": PASSWORD})
        assert status == 302 and set_cookie and set_cookie.startswith("session=")
        return set_cookie.split(";", 1)[0]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def two_servers(db_url, tree):
    servers = []
    try:
        servers.append(Server(db_url))
        servers.append(Server(db_url))
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_a_copied_cookie_is_refused_on_another_server_after_logout(two_servers):
    first, second = two_servers
    cookie = first.login("prep")
    assert first.request("GET", "/", cookie)[0] == 200
    assert second.request("GET", "/", cookie)[0] == 200  # one signed session, good on both
    copied = cookie
    status, location, _set = second.request("POST", "/logout", cookie)
    assert status == 302 and location.endswith("/login")
    status, location, _set = first.request("GET", "/", copied)
    assert status == 302 and "/login" in location
    assert second.request("GET", "/", copied)[0] == 302
    # and the other way round: out through the first server, refused by the second
    cookie = first.login("prep")
    assert second.request("GET", "/", cookie)[0] == 200
    assert first.request("POST", "/logout", cookie)[0] == 302
    assert second.request("GET", "/", cookie)[0] == 302
