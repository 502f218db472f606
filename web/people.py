"""Who acted, as the pages show it: "李明（滨江区总工会）" rather than a username.

A handler calls `load_people(session, usernames)` once for the people its page shows (one query);
the templates then name them with `person_name`, `person_org` and `person_label`, which only read
what the handler loaded (a template never opens a database unit) and fall back to the username.
"""
from __future__ import annotations

from typing import Iterable

from flask import Flask, g
from sqlalchemy.orm import Session

from services.people import Person, people_named, unknown

from .templating import punct


def _known() -> dict[str, Person]:
    try:
        known = g.get("uf_people")
        if known is None:
            known = g.uf_people = {}
        return known
    except RuntimeError:  # outside an application context
        return {}


def load_people(session: Session, usernames: Iterable[str | None]) -> dict[str, Person]:
    """Look up, in one query, those of `usernames` the page has not loaded yet; the page's people."""
    known = _known()
    wanted = {u for u in usernames if u and u not in known}
    if wanted:
        found = people_named(session, wanted)
        known.update({u: found.get(u) or unknown(u) for u in wanted})
    return known


def person(username: str | None) -> Person:
    return _known().get(username or "") or unknown(username or "")


def person_name(username: str | None) -> str:
    return person(username).name


def person_org(username: str | None) -> str:
    return person(username).org_name or ""


def label_of(p: Person) -> str:
    """Name and organisation, as plain text: 李明（滨江区总工会）, "李明 (滨江区总工会)" in English; the name
    alone for a user of no organisation."""
    return f"{p.name}{punct('(')}{p.org_name}{punct(')')}" if p.org_name else p.name


def person_label(username: str | None) -> str:
    return label_of(person(username))


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update({"person": person, "person_name": person_name, "person_org": person_org,
                                  "person_label": person_label})
