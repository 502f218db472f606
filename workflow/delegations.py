"""Absence delegation (代理): a user names a substitute of the same organisation and role for a period.

From `starts_on` to `ends_on` (both days included, in the profile's zone) the
substitute may take the decisions claimed by or assigned to the delegator
(`Engine.fire` asks `acting_for`); the entry of such a decision names both.
Creating a delegation and ending it early are entries of the delegator (subject
"user", recording the digest of the user's row, which they leave unchanged), in
the caller's unit of work. A delegation is never deleted: ending it early sets
`ended_at`, so the list shows current and past ones alike.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import audit
from storage import utcnow

from .errors import FieldError, Forbidden, GuardFailed, InvalidInput, InvalidState, NotFound
from .models import Delegation, User
from .rows import DELEGATION, USER, delegation_state, user_state
from .rules import Reason

DELEGATING_ROLES = ("preparer", "reviewer")  # the roles that take decisions (auditors and admins never do)


def parse_day(value: Any) -> date | None:
    """A date written YYYY-MM-DD, or None."""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def find_active_user(session: Session, username: Any) -> User | None:
    if not isinstance(username, str) or not username.strip():
        return None
    user = session.scalars(select(User).where(User.username == username.strip())).one_or_none()
    return user if user is not None and user.active else None


def colleagues(session: Session, actor: Any) -> list[User]:
    """The active users of the actor's organisation and role, the actor excepted: who may stand in for them or
    be assigned their decisions."""
    if actor.org_id is None:
        return []
    return list(session.scalars(
        select(User).where(User.org_id == actor.org_id, User.role == actor.role, User.active.is_(True),
                           User.id != actor.id).order_by(User.display_name, User.username)))


def active(delegation: Delegation, today: date) -> bool:
    return delegation.ended_at is None and delegation.starts_on <= today <= delegation.ends_on


def acting_for(session: Session, delegator_id: int, substitute_id: int, today: date) -> Delegation | None:
    """The delegation by which the substitute stands in for the delegator today, or None."""
    return session.scalars(
        select(Delegation).where(Delegation.delegator_id == delegator_id, Delegation.substitute_id == substitute_id,
                                 Delegation.starts_on <= today, Delegation.ends_on >= today,
                                 Delegation.ended_at.is_(None)).order_by(Delegation.id).limit(1)).first()


def delegations_of(session: Session, actor: Any) -> Sequence[Delegation]:
    """The actor's delegations, given and received, newest first."""
    return session.scalars(
        select(Delegation).where(or_(Delegation.delegator_id == actor.id, Delegation.substitute_id == actor.id))
        .order_by(Delegation.starts_on.desc(), Delegation.id.desc())).all()


def _entry(session: Session, user: User, delegation: Delegation, actor: Any, trigger: str,
           data: dict[str, Any]) -> None:
    """The change in the delegator's trail (their history names it) and in the delegation's own, whose state is
    the digest of the row that verification compares."""
    audit.append_many(session, [
        dict(actor=actor.username, role=actor.role, subject_type=USER, subject_id=user.username, trigger=trigger,
             from_state=None, to_state=user_state(user), version=None, data=data),
        dict(actor=actor.username, role=actor.role, subject_type=DELEGATION, subject_id=str(delegation.id),
             trigger=trigger, from_state=None, to_state=delegation_state(delegation), version=None, data=data)])


def delegate(session: Session, actor: Any, to: Any, starts_on: Any, ends_on: Any, today: date) -> Delegation:
    """Name `to` (a username) the actor's substitute from `starts_on` to `ends_on`; every problem is reported
    together: malformed fields (InvalidInput), then every rule that fails (GuardFailed)."""
    if actor.role not in DELEGATING_ROLES or actor.org_id is None:
        raise Forbidden([Reason("forbidden", {"role": actor.role})])
    fields: dict[str, FieldError] = {}
    if not isinstance(to, str) or not to.strip():
        fields["to"] = FieldError("required" if to in (None, "") else "not_string")
    days: dict[str, date] = {}
    for name, value in (("starts_on", starts_on), ("ends_on", ends_on)):
        day = parse_day(value)
        if day is None:
            fields[name] = FieldError("required" if value in (None, "") else "not_date")
        else:
            days[name] = day
    if fields:
        raise InvalidInput(fields=fields)
    start, end = days["starts_on"], days["ends_on"]
    # one at a time a user, so that two at once cannot both take the same days (the row alone: PostgreSQL locks
    # no outer join's nullable side)
    session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    me = session.get(User, actor.id)
    assert me is not None
    reasons: list[Reason] = []
    target = find_active_user(session, to)
    name = to.strip() if isinstance(to, str) else ""
    if target is None:
        reasons.append(Reason("delegate_unknown", {"user": name}))
    elif target.id == me.id:
        reasons.append(Reason("delegate_to_self"))
    else:
        shown = target.display_name or target.username
        if target.org_id != me.org_id:
            reasons.append(Reason("delegate_other_org", {"user": shown, "org": me.org.name if me.org else ""}))
        if target.role != me.role:
            reasons.append(Reason("delegate_other_role", {"user": shown, "role": me.role}))
    if end < start:
        reasons.append(Reason("delegation_ends_before_start", {"starts_on": start.isoformat(),
                                                               "ends_on": end.isoformat()}))
    if start < today:
        reasons.append(Reason("delegation_starts_in_past", {"starts_on": start.isoformat(),
                                                            "today": today.isoformat()}))
    if end >= start:
        clash = session.scalars(
            select(Delegation).where(Delegation.delegator_id == me.id, Delegation.ended_at.is_(None),
                                     Delegation.starts_on <= end, Delegation.ends_on >= start)
            .order_by(Delegation.starts_on).limit(1)).first()
        if clash is not None:
            reasons.append(Reason("delegation_overlaps", {
                "starts_on": clash.starts_on.isoformat(), "ends_on": clash.ends_on.isoformat(),
                "user": clash.substitute.display_name or clash.substitute.username}))
    if reasons:
        raise GuardFailed(reasons)
    assert target is not None
    delegation = Delegation(delegator_id=me.id, substitute_id=target.id, starts_on=start, ends_on=end,
                            created_at=utcnow())
    session.add(delegation)
    session.flush()
    _entry(session, me, delegation, actor, "delegate", {"delegation": delegation.id, "to": target.username,
                                            "starts_on": start.isoformat(), "ends_on": end.isoformat()})
    return delegation


def end_delegation(session: Session, actor: Any, delegation_id: Any, today: date) -> Delegation:
    """The delegator ends a delegation early (or calls off one not begun): from now the substitute no longer
    stands in. Someone else's delegation does not exist for the caller (404)."""
    if isinstance(delegation_id, bool) or not isinstance(delegation_id, int):
        raise NotFound()
    session.execute(select(Delegation.id).where(Delegation.id == delegation_id).with_for_update())
    delegation = session.get(Delegation, delegation_id)
    if delegation is None or delegation.delegator_id != actor.id:
        raise NotFound()
    if delegation.ended_at is not None or delegation.ends_on < today:
        raise InvalidState([Reason("delegation_over", {"ends_on": delegation.ends_on.isoformat()})])
    delegation.ended_at = utcnow()
    session.flush()
    _entry(session, delegation.delegator, delegation, actor, "end_delegation",
           {"delegation": delegation.id, "to": delegation.substitute.username, "ended_on": today.isoformat()})
    return delegation
