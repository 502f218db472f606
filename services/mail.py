"""E-mail of the notifications, sent after the commit from an outbox, never inside a step's transaction.

A notification for a person who has an e-mail address and wants that kind by e-mail is written with
`email_status = "pending"` in the step's (or the sweep's) own unit of work. `send_pending` — run by the task
queue's periodic job on PostgreSQL and by `flask sweep` on SQLite — sends each pending one over SMTP
(`UNIONFLOW_SMTP_URL`), marks it `sent`, or records the failure and tries again at the next run, up to
`MAX_ATTEMPTS` times (then `failed`). Each send and each failure is a log line.

`UNIONFLOW_SMTP_URL`: `smtp://host:port` (plain, as a relay on the same host), `smtp+starttls://user:password@
host:587` or `smtps://user:password@host:465`.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select

from storage import utcnow
from workflow import User

from .work import Notification

log = logging.getLogger("unionflow.mail")
MAX_ATTEMPTS = 5
BATCH = 100
SCHEMES = ("smtp", "smtp+starttls", "smtps")


@dataclass(frozen=True)
class SmtpSettings:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpSettings:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError(f"UNIONFLOW_SMTP_URL must be {', '.join(s + '://host[:port]' for s in SCHEMES)}")
        default = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}[parts.scheme]
        return cls(parts.scheme, parts.hostname, parts.port or default,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)

    def connect(self, timeout: float = 30) -> smtplib.SMTP:
        if self.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=timeout)
            if self.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
        if self.username:
            smtp.login(self.username, self.password or "")
        return smtp


@dataclass
class MailResult:
    sent: int = 0
    failed: int = 0  # attempts that failed this run (tried again next run, until MAX_ATTEMPTS)


def message(n: Notification, user: User, sender: str, text: str, link: str | None) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"【UnionFlow 工会工作流】{text}"[:200]
    msg["From"] = sender
    msg["To"] = formataddr((user.display_name or user.username, user.email or ""))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "unionflow.local")
    body = [f"{user.display_name or user.username}：", "", text]
    if link:
        body += ["", f"查看：{link}"]
    body += ["", "—— 此邮件由 UnionFlow 工会工作流自动发送，请勿直接回复。",
             "(Sent by UnionFlow; you can choose what you receive under 通知 → 通知设置.)"]
    msg.set_content("\n".join(body))
    return msg


def send_pending(db: Any, url: str, sender: str, render: Callable[[Notification, User], tuple[str, str | None]],
                 limit: int = BATCH) -> MailResult:
    """Send the pending e-mails, oldest first; one unit of work per message so that a crash between two sends
    loses no record of what was already sent (a crash during one send may repeat that one at the next run)."""
    settings = SmtpSettings.parse(url)
    result = MailResult()
    with db.read() as session:
        ids = list(session.scalars(select(Notification.id).where(Notification.email_status == "pending")
                                   .order_by(Notification.id).limit(limit)))
    if not ids:
        return result
    smtp: smtplib.SMTP | None = None
    try:
        for nid in ids:
            with db.write() as session:
                n = session.get(Notification, nid)
                if n is None or n.email_status != "pending":
                    continue  # sent by another worker meanwhile
                user = session.get(User, n.user_id)
                if user is None or not user.email or not user.active:
                    n.email_status = "skipped"
                    continue
                text, link = render(n, user)
                try:
                    if smtp is None:
                        smtp = settings.connect()
                    smtp.send_message(message(n, user, sender, text, link))
                except (OSError, smtplib.SMTPException) as err:
                    n.email_attempts = (n.email_attempts or 0) + 1
                    n.email_error = f"{type(err).__name__}: {err}"[:300]
                    if n.email_attempts >= MAX_ATTEMPTS:
                        n.email_status = "failed"
                    result.failed += 1
                    log.warning("mail to %s failed (attempt %s): %s", user.username, n.email_attempts, n.email_error,
                                extra={"notification": n.id})
                    smtp = None
                    continue
                n.email_status, n.emailed_at = "sent", utcnow()
                n.email_attempts = (n.email_attempts or 0) + 1
                result.sent += 1
                log.info("mail sent to %s", user.username, extra={"notification": n.id, "kind": n.kind})
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
    return result
