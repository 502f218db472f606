"""Organisations by their names on the pages, never by their codes.

Entries and cases record organisations by code (an entry's subject, the competent organisation, the
parent an organisation moved from or to). A handler names the codes it is about to show in its read
unit (`remember`, `remember_entries`); the templates then show each through `org_name`, which falls
back to the code only for an organisation that no longer exists.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import g, has_app_context
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import Organisation

from .i18n import lang

# the keys under which entries and cases record an organisation's code
ORG_KEYS = frozenset({"competent_org", "previous_competent_org", "parent", "from_parent", "to_parent", "notified_org"})


def _names() -> dict[str, str]:
    if not has_app_context():
        return {}
    if "uf_org_names" not in g:
        g.uf_org_names = {}
    return g.uf_org_names


def remember(session: Session, codes: Iterable[Any]) -> None:
    """Look the names of `codes` up once, for `org_name` in this request's templates."""
    names = _names()
    wanted = {c for c in codes if isinstance(c, str) and c and c not in names}
    if wanted:
        names.update((code, name) for code, name in session.execute(
            select(Organisation.code, Organisation.name).where(Organisation.code.in_(sorted(wanted)))))


def codes_in(data: Any, keys: frozenset[str] = ORG_KEYS) -> set[str]:
    """The codes recorded under `keys` anywhere in `data` (a change's pair of old and new values too)."""
    found: set[str] = set()
    if isinstance(data, Mapping):
        for key, value in data.items():
            if key in keys:
                values = value if isinstance(value, (list, tuple)) else [value]
                found |= {v for v in values if isinstance(v, str)}
            else:
                found |= codes_in(value, keys)
    elif isinstance(data, (list, tuple)):
        for value in data:
            found |= codes_in(value, keys)
    return found


def remember_entries(session: Session, entries: Iterable[Mapping[str, Any]],
                     keys: frozenset[str] = ORG_KEYS) -> None:
    """The organisations a list of entries (as `entry_json` gives them) is about or records (under `keys`)."""
    codes: set[str] = set()
    for e in entries:
        if e.get("subject_type") == "org":
            codes.add(str(e.get("subject_id")))
        codes |= codes_in(e.get("data"), keys)
    remember(session, codes)


def org_name(code: Any) -> Any:
    """The organisation's name for its code (the code itself for one that is not known)."""
    return _names().get(code, code) if isinstance(code, str) else code


def with_code(name: str, code: str) -> str:
    """An organisation's name with its code said to be one, where a page offers the codes (the admin's)."""
    return f"{name}（{_('组织代码')} {code}）" if lang() == "zh" else f"{name} ({_('组织代码')} {code})"
