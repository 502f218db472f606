"""Digests of the rows the audit trail vouches for (行摘要): cases, organisations (单位), users and absence
delegations (代理).

Verification (`audit.verify`) compares every such row with its last entry:

* An organisation's and a user's entries record, as their state, a digest of
  the row's fields that matter, in the manner of the declared entities
  (`workflow.entities.digest`): every change of such a row goes through
  `services.accounts`, the register import or a step's effects, each of which
  appends an entry with the row's new digest. An organisation's `path` is
  derived from its parent's: it is checked against the tree, not digested
  (moving a town does not rewrite an entry for every enterprise under it).
* A case's entries record its state and version; each entry's data also
  records, under `_digest`, a digest of the rest of the row as the step left
  it: the texts of its JSON columns (data, facts, fired_by) exactly as stored,
  and the columns that decide who sees and decides it. The engine hashes the
  texts it writes anyway, so that a step serialises each column once. Who
  holds the decision (`assignee_id`, a claim or an assignment) is covered
  when there is one: the digest of an unclaimed case is the one it was before
  claims existed, so that the entries written before stay valid.

A subject whose last entry predates these digests (an entry written before
they were recorded: no state for an organisation or user, no `_digest` for a
case) is not compared beyond its existence, state and version.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

import audit
from storage import json_dumps
from storage.prepared import Prepared

from .entities import digest
from .models import Case, Delegation, Organisation, User

ORG = "org"
USER = "user"
DELEGATION = "delegation"
CASE_DIGEST = audit.ROW_DIGEST  # the key of a case entry's data holding the row's digest

# what an organisation's digest covers; `path` follows from parent_id and is checked against the tree
ORG_FIELDS = ("code", "name", "kind", "parent_id", "employees", "female_employees", "credit_code", "address",
              "union_status", "member_count")
# what a user's digest covers: not the login counters, the language or the time of the password's change
USER_FIELDS = ("username", "display_name", "role", "org_id", "active", "password_hash")
# covered once set: where notifications go (an address changed behind the engine's back would send a person's
# cases elsewhere) and what the person turned off; a user who set neither keeps the digest of before they
# existed, so that the entries written before stay valid
USER_OPTIONAL_FIELDS = ("email", "notify_off")
# what an absence delegation's digest covers: who stands in for whom, and when
DELEGATION_FIELDS = ("delegator_id", "substitute_id", "starts_on", "ends_on", "ended_at")


def org_digest(values: Mapping[str, Any]) -> str:
    """The state an organisation's entries record: the digest of its ORG_FIELDS."""
    return digest({f: values[f] for f in ORG_FIELDS})


def user_digest(values: Mapping[str, Any]) -> str:
    """The state a user's entries record: the digest of its USER_FIELDS (the password's hash among them)."""
    covered = {f: bool(values[f]) if f == "active" else values[f] for f in USER_FIELDS}
    covered.update({f: values[f] for f in USER_OPTIONAL_FIELDS if values.get(f)})
    return digest(covered)


def delegation_digest(values: Mapping[str, Any]) -> str:
    """The state a delegation's entries record: the digest of its DELEGATION_FIELDS."""
    return digest({f: values[f] for f in DELEGATION_FIELDS})


def org_state(org: Any) -> str:
    return org_digest({f: getattr(org, f) for f in ORG_FIELDS})


def user_state(user: Any) -> str:
    return user_digest({f: getattr(user, f) for f in (*USER_FIELDS, *USER_OPTIONAL_FIELDS)})


def delegation_state(delegation: Any) -> str:
    return delegation_digest({f: getattr(delegation, f) for f in DELEGATION_FIELDS})


def case_digest(workflow: str, definition_version: str, profile: str, org_id: int, competent_org_id: int | None,
                created_by_id: int, closed: Any, decided_on: Any, assignee_id: int | None, data: str, facts: str,
                fired_by: str) -> str:
    """The `_digest` a case entry records: SHA-256 over the columns that decide who sees and decides the case,
    the business date of its last step and, when the decision is held by someone, its holder (a JSON array,
    one line) and, a line each, the stored texts of its data, facts and fired_by (compact JSON text holds no
    newline)."""
    day = decided_on.isoformat() if hasattr(decided_on, "isoformat") else decided_on
    head_values = [workflow, definition_version, profile, org_id, competent_org_id, created_by_id, bool(closed), day]
    if assignee_id is not None:  # absent when unclaimed: the digest of every case before claims existed
        head_values.append(assignee_id)
    head = json_dumps(head_values)
    return _sha256(f"{head}\n{data}\n{facts}\n{fired_by}".encode()).hexdigest()


_sha256 = hashlib.sha256


_CASE_ROWS = Prepared(select(Case.id, Case.state, Case.version, Case.workflow, Case.definition_version, Case.profile,
                     Case.org_id, Case.competent_org_id, Case.created_by_id, Case.closed, Case.decided_on,
                     Case.assignee_id, cast(Case.data, Text),
                     cast(Case.facts, Text), cast(Case.fired_by, Text)).order_by(Case.id))


def case_subjects(session: Session) -> Iterator[audit.Subject]:
    """Every case's state, version and row digest."""
    for case_id, state, version, *rest in _CASE_ROWS.stream(session, 5000):
        yield audit.Subject("case", str(case_id), state, version, row=case_digest(*rest))


def org_subjects(session: Session) -> Iterator[audit.Subject]:
    """Every organisation's digest, and whether its path follows from its parent's."""
    rows = session.execute(select(Organisation.id, Organisation.parent_id, Organisation.path,
                                  *(getattr(Organisation, f) for f in ORG_FIELDS)).order_by(Organisation.code)).all()
    paths = {r[0]: r[2] for r in rows}
    for org_id, parent_id, path, *values in rows:
        fields = dict(zip(ORG_FIELDS, values, strict=True))
        expected = f"{paths.get(parent_id, '?') if parent_id is not None else '/'}{org_id}/"
        problem = None if path == expected else f"has the path {path} but its parent's gives {expected}"
        yield audit.Subject(ORG, str(fields["code"]), org_digest(fields), None, digest=True, problem=problem)


def user_subjects(session: Session) -> Iterator[audit.Subject]:
    names = (*USER_FIELDS, *USER_OPTIONAL_FIELDS)
    for values in session.execute(select(*(getattr(User, f) for f in names)).order_by(User.username)):
        fields = dict(zip(names, values, strict=True))
        yield audit.Subject(USER, str(fields["username"]), user_digest(fields), None, digest=True)


def delegation_subjects(session: Session) -> Iterator[audit.Subject]:
    for values in session.execute(select(Delegation.id, *(getattr(Delegation, f) for f in DELEGATION_FIELDS))
                                  .order_by(Delegation.id)):
        fields = dict(zip(DELEGATION_FIELDS, values[1:], strict=True))
        yield audit.Subject(DELEGATION, str(values[0]), delegation_digest(fields), None, digest=True)
