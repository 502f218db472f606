"""The notifications' e-mail against a real SMTP server on 127.0.0.1 (aiosmtpd): sent after the commit by
`flask sweep`, to the right person in their language, each once; a server that is down is tried again at the
next run; the person's settings decide what is sent where."""
from __future__ import annotations

import email
import socket
from email.policy import default as default_policy

import pytest

from services.work import Notification, set_notification_settings
from tests.web.ui_support import login, text_of
from workflow import User
from workflows.founding.tests.flow import GROUP, app_config as founding_config, clock  # noqa: F401

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's handler name)
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    handler = Inbox()
    controller = aiosmtpd_controller.Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def app_config(founding_config, smtp):
    return {**founding_config, "SMTP_URL": f"smtp://127.0.0.1:{smtp[1]}", "MAIL_FROM": "UnionFlow <uf@example.org>",
            "BASE_URL": "https://gh.example.org"}


def _email(db, username, address, language=None):
    with db.write() as session:
        user = session.query(User).filter_by(username=username).one()
        user.language = language
        set_notification_settings(session, user, address, inbox=["waiting", "returned", "decided", "due_soon",
                                                                 "overdue", "escalated"],
                                  email_kinds=["waiting", "returned", "overdue", "escalated"])


def test_a_waiting_decision_is_mailed_after_the_commit_once(app, db, tree, make_case, fire, smtp):
    inbox, _port = smtp
    _email(db, "town", "town@example.org")
    case_id = make_case(tree["prep_m"], "founding")["id"]
    fire(tree["prep_m"], case_id, "form_group", {"group_members": GROUP})
    fire(tree["prep_m"], case_id, "apply", comment="申请成立工会")
    assert inbox.messages == []  # nothing is sent inside the step
    with db.read() as session:
        [pending] = session.query(Notification).filter_by(email_status="pending").all()
        assert pending.kind == "waiting"
    runner = app.test_cli_runner()
    out = runner.invoke(args=["sweep"])
    assert "e-mail: 1 sent, 0 failed" in out.output, out.output
    [msg] = inbox.messages
    assert msg["X-Envelope-To"] == "town@example.org"
    assert "等待您办理" in msg["Subject"] and "中型企业" in msg["Subject"]
    assert f"https://gh.example.org/cases/{case_id}" in msg.get_content()
    assert "e-mail: 0 sent" in runner.invoke(args=["sweep"]).output  # sent once
    assert len(inbox.messages) == 1


def test_english_for_those_who_read_english_and_nothing_they_turned_off(app, db, tree, make_case, fire, smtp):
    inbox, _port = smtp
    _email(db, "prep_m", "prep@example.org", language="en")
    case_id = make_case(tree["prep_m"], "founding")["id"]
    fire(tree["prep_m"], case_id, "form_group", {"group_members": GROUP})
    fire(tree["prep_m"], case_id, "apply", comment="申请成立工会")
    fire(tree["town"], case_id, "return_application", comment="材料不全")
    fire(tree["prep_m"], case_id, "apply", comment="已补充")
    fire(tree["town"], case_id, "reject_application", comment="不符合条件")  # decided: not wanted by e-mail
    app.test_cli_runner().invoke(args=["sweep"])
    [msg] = inbox.messages
    assert msg["X-Envelope-To"] == "prep@example.org" and "was returned: 材料不全" in msg["Subject"]


def test_a_server_that_is_down_is_tried_again(app, db, tree, make_case, fire, smtp):
    inbox, port = smtp
    _email(db, "town", "town@example.org")
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{_free_port()}"  # nobody listens there
    case_id = make_case(tree["prep_m"], "founding")["id"]
    fire(tree["prep_m"], case_id, "form_group", {"group_members": GROUP})
    fire(tree["prep_m"], case_id, "apply")
    assert "e-mail: 0 sent, 1 failed" in app.test_cli_runner().invoke(args=["sweep"]).output
    with db.read() as session:
        [n] = session.query(Notification).filter(Notification.email_status.is_not(None)).all()
        assert (n.email_status, n.email_attempts) == ("pending", 1) and "ConnectionRefused" in n.email_error
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    assert "e-mail: 1 sent, 0 failed" in app.test_cli_runner().invoke(args=["sweep"]).output
    assert len(inbox.messages) == 1


def test_the_settings_page(client, db, tree):
    login(client, "town")
    assert client.get("/notifications/settings").status_code == 200
    bad = client.post("/notifications/settings", data={"email": "not-an-address", "inbox": ["waiting"]})
    assert bad.status_code == 400 and "邮箱地址格式不正确" in text_of(bad)
    with db.read() as session:
        assert session.query(User).filter_by(username="town").one().email is None  # nothing changed
    ok = client.post("/notifications/settings", data={"email": "town@example.org", "inbox": ["waiting", "overdue"],
                                                       "mail": ["overdue"]}, follow_redirects=True)
    assert "通知设置已保存" in text_of(ok)
    with db.read() as session:
        user = session.query(User).filter_by(username="town").one()
        assert user.email == "town@example.org"
        assert "overdue" not in user.notify_off["email"] and "waiting" in user.notify_off["email"]
        assert "due_soon" in user.notify_off["inbox"]
    assert client.post("/notifications/settings", data={"mail": ["nonsense"]}).status_code == 400


def test_an_address_changed_behind_the_engine_is_found(app, client, db, tree):
    """Where a person's notifications go is vouched for by the trail once set: an address (or a choice of
    what to receive) written into the row directly is found by verification; users who set none keep the
    digest they had before."""
    from sqlalchemy import text

    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify", "--quiet"]).exit_code == 0
    login(client, "town")
    client.post("/notifications/settings", data={"email": "town@example.org", "inbox": ["waiting"], "mail": []})
    assert runner.invoke(args=["audit", "verify", "--quiet"]).exit_code == 0
    for statement in ("UPDATE users SET email = 'someone-else@example.org' WHERE username = 'town'",
                      "UPDATE users SET email = NULL WHERE username = 'town'"):
        with db.engine.begin() as conn:
            conn.execute(text(statement))
        bad = runner.invoke(args=["audit", "verify", "--quiet"])
        assert bad.exit_code == 1 and "user town" in bad.output, bad.output
