"""Throttling password guesses by account and by address, with a delay that doubles (ASVS 2.2.1).

Every failed login counts against the username tried (whether or not such an
account exists, so the answer tells nothing about it) and against the address
it came from. After `free` failures in a row a key is refused for 1 second,
then 2, 4, 8 ... up to `max_delay`; a success clears the account's count, and
a key without failures for `forget` seconds starts again from nought. Nobody
can lock an account for long: the owner waits at most `max_delay`.

The counts live in the database (table login_throttle), so they hold across
workers and hosts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage import Base, utcnow


class LoginThrottle(Base):
    """The failed logins of one key: "user:<username>" or "addr:<address>"."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime)


@dataclass(frozen=True)
class Policy:
    free: int = 5                 # failures of one account before the first delay
    free_per_address: int = 20    # an office behind one address has many users
    max_delay: int = 15 * 60      # seconds
    forget: int = 60 * 60         # seconds without a failure after which a key starts again


def account_key(username: str) -> str:
    return "user:" + username.casefold()[:100]


def address_key(address: str | None) -> str:
    return "addr:" + (address or "unknown")[:100]


def wait_seconds(session: Session, keys: list[str], now: datetime | None = None) -> int:
    """How long the longest of these keys is still refused (0: not at all)."""
    now = now or utcnow()
    until = session.scalars(select(LoginThrottle.blocked_until).where(
        LoginThrottle.key.in_(keys), LoginThrottle.blocked_until > now)).all()
    return max((math.ceil((u - now).total_seconds()) for u in until if u is not None), default=0)


def _delay(failures: int, free: int, policy: Policy) -> int:
    if failures < free:
        return 0
    return min(2 ** min(failures - free, 30), policy.max_delay)


def record_failure(session: Session, keys: dict[str, int], policy: Policy, now: datetime | None = None) -> int:
    """Count a failure against each key (key → its free failures); returns the longest delay now in force.

    The rows are read FOR UPDATE (PostgreSQL), so concurrent failures of one key each count.
    """
    now = now or utcnow()
    _ensure_rows(session, list(keys), now)
    rows = {r.key: r for r in session.scalars(
        select(LoginThrottle).where(LoginThrottle.key.in_(list(keys))).with_for_update()).all()}
    longest = 0
    for key, free in keys.items():
        row = rows[key]
        if row.last_failure_at < now - timedelta(seconds=policy.forget):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        delay = _delay(row.failures, free, policy)
        row.blocked_until = now + timedelta(seconds=delay) if delay else None
        longest = max(longest, delay)
    session.flush()
    return longest


def _ensure_rows(session: Session, keys: list[str], now: datetime) -> None:
    """Insert the keys not yet counted, leaving alone those another request inserted meanwhile."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert: Any = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(LoginThrottle).values(
        [{"key": k, "failures": 0, "last_failure_at": now, "blocked_until": None} for k in keys],
    ).on_conflict_do_nothing(index_elements=["key"]))


def forget(session: Session, key: str) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
