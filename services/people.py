"""People by their real name (姓名) and organisation, for the pages and exports that show who acted.

The trail records a person by username (`AuditEntry.actor`, hashed: never rewritten); what a person is
called is read when an entry is shown, in bulk: one query for the people of a page or an export, not one
per row. A username no user has (the demo loader, the command line) stays as it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from workflow import Organisation, User

CHUNK = 500  # usernames per IN list


@dataclass(frozen=True)
class Person:
    username: str
    name: str  # the real name, else the username
    org_name: str | None = None
    org_code: str | None = None
    role: str | None = None

    @property
    def named(self) -> bool:
        """The user has a real name besides the username."""
        return self.name != self.username


def unknown(username: str) -> Person:
    return Person(username, username)


def _people(session: Session, where: Any) -> dict[str, Person]:
    rows = session.execute(
        select(User.username, User.display_name, User.role, Organisation.name, Organisation.code)
        .outerjoin(Organisation, User.org_id == Organisation.id).where(where))
    return {u: Person(u, (d or "").strip() or u, org, code, role) for u, d, role, org, code in rows}


def people_named(session: Session, usernames: Iterable[str | None]) -> dict[str, Person]:
    """{username: Person} for those of `usernames` that are users."""
    wanted = sorted({u for u in usernames if u})
    found: dict[str, Person] = {}
    for i in range(0, len(wanted), CHUNK):
        found.update(_people(session, User.username.in_(wanted[i:i + CHUNK])))
    return found


def people_in(session: Session, usernames: Select) -> dict[str, Person]:
    """{username: Person} for the users a query of usernames names (the actors of an export), in one query."""
    return _people(session, User.username.in_(usernames))


def usernames_called(q: str) -> Select:
    """The users a search for a person means: the username itself, or (part of) a real name. A user
    without a real name (display name = username) is found by the username alone."""
    return select(User.username).where(or_(
        User.username == q,
        (User.display_name != User.username) & User.display_name.contains(q, autoescape=True),
    ))
