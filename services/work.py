"""The work itself (domain.md §6): deadlines that fire, and the notifications they and the steps send.

The **sweep** (`flask sweep`; on PostgreSQL also the task queue's periodic job) looks at every open case whose
deadline is near or past. For each alert whose day has come — due soon, overdue, escalated (see
the engine's deadlines) — and that was not sent before for the same wait, it writes in one unit of work:

* the alert's row (`deadline_alerts`, unique per case, wait and kind: what makes a second sweep on the same
  day write nothing),
* the case's audited event (`remind`, or `escalate` to the organisation above), through the engine,
* a notification for each person it concerns: the reviewers (or whoever takes the step) of the deciding
  organisation, and for an escalation those of the organisation above it.

Cases that were already waiting before deadlines were recorded get the deadline of their wait first,
counted from the business date of their last step. Nothing is decided automatically.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage import Base, utcnow
from storage.prepared import Prepared
from workflow import (
    DEADLINE_KINDS,
    DEFAULT_DUE_SOON_WORKING_DAYS,
    DUE_SOON,
    ESCALATED,
    OVERDUE,
    SYSTEM_STEPS,
    Case,
    Engine,
    User,
    WorkflowError,
    ancestors_of,
    deadline_alerts,
    deadline_of,
    deadline_rule,
)

# open cases looked at per unit of work: each unit commits its alerts, entries and notifications together
BATCH = 500


class DeadlineAlert(Base):
    """An alert the sweep has sent: one per case, wait (its state and deadline) and kind."""

    __tablename__ = "deadline_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    state: Mapped[str] = mapped_column(String(32))
    due_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    sent_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("case_id", "state", "due_on", "kind", name="uq_deadline_alerts_wait"),)


class Notification(Base):
    """A message to one person in the in-app inbox (站内通知)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(24))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    in_inbox: Mapped[bool] = mapped_column(Boolean, default=True)  # False: sent by e-mail only
    # the e-mail of it (services.mail): None when none is to be sent, else pending, sent, failed or skipped
    email_status: Mapped[str | None] = mapped_column(String(8))
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime)
    email_error: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (Index("ix_notifications_user", "user_id", "read_at", "id"),
                      Index("ix_notifications_email", "email_status"))


def _insert(model: Any, columns: Sequence[str]) -> Prepared:
    return Prepared(insert(model.__table__).values({c: bindparam(c) for c in columns}))


_INSERT_ALERT = _insert(DeadlineAlert, ("case_id", "state", "due_on", "kind", "sent_on", "created_at"))
_INSERT_NOTIFICATION = _insert(Notification, ("user_id", "kind", "case_id", "params", "in_inbox", "email_status",
                                              "email_attempts", "created_at"))


@dataclass
class SweepResult:
    looked_at: int = 0
    deadlines_set: int = 0
    alerts: dict[str, int] = field(default_factory=lambda: {k: 0 for k in DEADLINE_KINDS})
    notifications: int = 0
    system_steps: int = 0  # the steps the system took itself (a transfer certificate's expiry)

    @property
    def written(self) -> int:
        return sum(self.alerts.values())


def _soon(engine: Engine, profile: str) -> int:
    common = engine.catalog.profile(profile).for_workflow("common")
    return int(common.get("due_soon_working_days") or DEFAULT_DUE_SOON_WORKING_DAYS)


class _People:
    """Who is told, looked up once per organisation and roles for a whole sweep (nobody's account changes the
    sweep's outcome within the few seconds it runs): the active users, and the organisation above."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._users: dict[tuple[int, tuple[str, ...]], list[Any]] = {}
        self._above: dict[int, Any] = {}

    def users(self, org_id: int, roles: Sequence[str]) -> list[Any]:
        key = (org_id, tuple(roles))
        if key not in self._users:
            self._users[key] = list(self.session.execute(
                select(User.id, User.username, User.email, User.notify_off)
                .where(User.org_id == org_id, User.role.in_(roles), User.active.is_(True)).order_by(User.id)))
        return self._users[key]

    def above(self, org: Any) -> Any:
        if org.id not in self._above:
            found = ancestors_of(self.session, org)
            self._above[org.id] = found[0] if found else None
        return self._above[org.id]


def _set_missing_deadlines(db: Any, engine: Engine, result: SweepResult) -> None:
    """Cases waiting since before deadlines were recorded: the deadline of their wait, from their last step's
    business date (as the step itself would have set it)."""
    waiting: dict[str, set[str]] = defaultdict(set)  # the states with a deadline, by workflow, in any profile
    for profile in set(engine.catalog.profiles) or {engine.profile_name}:
        for name in engine.catalog.definitions:
            waiting[name].update(engine.catalog.profile(profile).for_workflow(name).get("due") or {})
    pairs = [(Case.workflow == name) & Case.state.in_(sorted(states)) for name, states in waiting.items() if states]
    if not pairs:
        return
    after = 0
    while True:
        with db.write() as session:
            cases = list(session.scalars(
                select(Case).where(Case.closed.is_(False), Case.due_on.is_(None), Case.id > after, or_(*pairs))
                .order_by(Case.id).limit(BATCH)))
            if not cases:
                return
            for case in cases:
                after = case.id
                rule = deadline_rule(engine.params_of(case), case.state)
                if rule is None or case.decided_on is None:
                    continue
                values = {**(case.data or {}), **(case.facts or {})}
                due = deadline_of(rule, engine.calendar(case.profile), case.decided_on, values,
                                       engine.params_of(case))
                if due is None:
                    continue
                # only while the case stands where it was read: a step taken meanwhile set its own deadline
                done = session.execute(update(Case).where(Case.id == case.id, Case.version == case.version,
                                                          Case.due_on.is_(None)).values(due_on=due))
                result.deadlines_set += done.rowcount or 0


def sweep(db: Any, engine: Engine, today: date | None = None) -> SweepResult:
    """Send every deadline alert whose day has come and that was not sent before (idempotent)."""
    result = SweepResult()
    _set_missing_deadlines(db, engine, result)
    today = today or engine.today()
    _system_steps(db, engine, today, result)
    # a deadline can be due soon today only if it lies within the next few working days (holidays only push
    # it further): the longest look-ahead over the profiles in use
    profiles = set(engine.catalog.profiles) or {engine.profile_name}
    horizon = max(engine.calendar(p).nth_working_day_after(today, _soon(engine, p)) for p in profiles)
    after = 0
    while True:
        with db.write() as session:
            rows = session.execute(
                select(Case.id, Case.profile, Case.state, Case.due_on)
                .where(Case.closed.is_(False), Case.due_on.is_not(None), Case.due_on <= horizon, Case.id > after,
                       _may_need_alert(today))
                .order_by(Case.id).limit(BATCH)).all()
            if not rows:
                return result
            after = rows[-1].id
            result.looked_at += len(rows)
            sent = defaultdict(set)
            for case_id, state, due_on, kind in session.execute(
                    select(DeadlineAlert.case_id, DeadlineAlert.state, DeadlineAlert.due_on, DeadlineAlert.kind)
                    .where(DeadlineAlert.case_id.in_([r.id for r in rows]))):
                sent[case_id].add((state, due_on, kind))
            due = {}
            for row in rows:
                kinds = [k for k in deadline_alerts(engine.calendar(row.profile), row.due_on, today,
                                                      _soon(engine, row.profile))
                         if (row.state, row.due_on, k) not in sent[row.id]]
                if kinds:
                    due[row.id] = (row, kinds)
            batch = _Batch(session, today)
            for case in engine.lock_waiting(session, list(due)).values():
                row, kinds = due[case.id]
                if case.state == row.state and case.due_on == row.due_on:  # else it moved on while the sweep ran
                    _alert(session, engine, batch, case, kinds, result)
            batch.write(engine)


def _may_need_alert(today: date) -> Any:
    """What a case still waiting for a near or past deadline may need (the rows then decide exactly): its
    reminder that the deadline is near, or, once the deadline has passed, its overdue reminder or its
    escalation. A case with all of them sent for its wait is not read again: a second sweep reads nothing."""
    def sent(kind: str) -> Any:
        return (select(DeadlineAlert.id).where(DeadlineAlert.case_id == Case.id, DeadlineAlert.state == Case.state,
                                               DeadlineAlert.due_on == Case.due_on, DeadlineAlert.kind == kind)
                .exists())
    return or_(~sent(DUE_SOON), (Case.due_on < today) & (~sent(OVERDUE) | ~sent(ESCALATED)))


@dataclass
class _Batch:
    """What one unit of work of the sweep writes, gathered to be written together: the entries (through the
    engine), the alert rows and the notification rows."""

    session: Session
    today: date
    people: _People = field(init=False)
    entries: list[tuple[Any, str, list[str], str]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.people = _People(self.session)

    def alert(self, case: Any, kind: str) -> None:
        self.alerts.append({"case_id": case.id, "state": case.state, "due_on": case.due_on, "kind": kind,
                            "sent_on": self.today, "created_at": utcnow()})

    def write(self, engine: Engine) -> None:
        if self.entries:
            engine.record_alerts(self.session, self.entries)
        _INSERT_ALERT.execute_many(self.session, self.alerts)
        _INSERT_NOTIFICATION.execute_many(self.session, self.notes)


def _system_steps(db: Any, engine: Engine, today: date, result: SweepResult) -> None:
    """The steps the definitions give to the system (`workflow.system_step`): for each, the cases its one
    query names, each fired through the engine as the system in a unit of work of its own. A case another
    request moved on meanwhile is refused by the engine's checks and left as it is."""
    for (workflow, trigger), due in sorted(SYSTEM_STEPS.items()):
        if workflow not in engine.catalog.definitions:
            continue
        with db.read() as session:
            case_ids = list(due(session, today))
        for case_id in case_ids:
            try:
                with db.write() as session:
                    engine.fire_as_system(session, case_id, trigger, today=today)
            except WorkflowError:
                continue
            result.system_steps += 1


def _alert(session: Session, engine: Engine, batch: _Batch, case: Any, kinds: Iterable[str],
           result: SweepResult) -> None:
    """The alerts of one locked case, written with the batch's."""
    waiting = engine.waiting_on(session, case)
    if waiting is None:
        return
    for kind in kinds:
        target, roles = waiting.org, waiting.roles
        if kind == ESCALATED:
            target, roles = batch.people.above(target), ("reviewer",)
            if target is None:  # the deciding organisation is the root: nobody above to tell, nothing to write
                batch.alert(case, kind)  # (but the alert's row, so that it is not looked for again)
                continue
        told = batch.people.users(target.id, roles)
        batch.entries.append((case, kind, [u.username for u in told], target.code))
        batch.alert(case, kind)
        params = {"title": case.title or "", "due_on": case.due_on.isoformat(), "org": waiting.org.name,
                  "workflow": case.workflow, "triggers": list(waiting.triggers)}
        result.alerts[kind] += 1
        result.notifications += notify(session, told, kind, case.id, params, rows=batch.notes)


# -- the inbox -------------------------------------------------------------------

def wants(user: Any, channel: str, kind: str) -> bool:
    """Whether the person receives `kind` in the inbox or by e-mail (by e-mail only with an address)."""
    if channel == "email" and not getattr(user, "email", None):
        return False
    return kind not in ((getattr(user, "notify_off", None) or {}).get(channel) or ())


def notify(session: Session, users: Iterable[Any], kind: str, case_id: int | None,
           params: Mapping[str, Any], rows: list[dict[str, Any]] | None = None) -> int:
    """Notifications of one kind to several people (users, or rows with their id, email and notify_off), in
    the caller's unit of work: in the inbox of those who want it there, and an e-mail to send after the commit
    for those who want it by e-mail. With `rows`, they are appended there for the caller to insert together.
    The number of people told."""
    n = 0
    for user in users:
        inbox, email = wants(user, "inbox", kind), wants(user, "email", kind)
        if not (inbox or email):
            continue
        values = {"user_id": user.id, "kind": kind, "case_id": case_id, "params": dict(params), "in_inbox": inbox,
                  "email_status": "pending" if email else None, "email_attempts": 0, "created_at": utcnow()}
        if rows is None:
            session.add(Notification(**values))
        else:
            rows.append(values)
        n += 1
    return n


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.user_id == user_id, Notification.in_inbox.is_(True),
                                 Notification.read_at.is_(None))) or 0


def inbox(session: Session, user_id: int, unread_only: bool = False, page: int = 1,
          per_page: int = 20) -> tuple[list[Notification], int]:
    where = [Notification.user_id == user_id, Notification.in_inbox.is_(True)]
    if unread_only:
        where.append(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0
    items = list(session.scalars(select(Notification).where(*where).order_by(Notification.id.desc())
                                 .offset((page - 1) * per_page).limit(per_page)))
    return items, total


def mark_read(session: Session, user_id: int, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications read (or all of them); the number marked. Another person's
    notification is not found (0)."""
    stmt = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    return session.execute(stmt.values(read_at=utcnow())).rowcount or 0


def owns(session: Session, user_id: int, notification_id: int) -> bool:
    return session.scalar(select(Notification.id).where(Notification.id == notification_id,
                                                        Notification.user_id == user_id,
                                                        Notification.in_inbox.is_(True))) is not None




# -- what a step tells the people it concerns -------------------------------------

RETURNED, WAITING, DECIDED, ASSIGNED = "returned", "waiting", "decided", "assigned"
STEP_KINDS = (RETURNED, WAITING, ASSIGNED, DECIDED)
ALL_KINDS = (*DEADLINE_KINDS, *STEP_KINDS)


def _people(session: Session, org_id: int, roles: Sequence[str], besides: int) -> list[Any]:
    return list(session.execute(select(User.id, User.email, User.notify_off)
                                .where(User.org_id == org_id, User.role.in_(roles), User.active.is_(True),
                                       User.id != besides)))


def notify_step(session: Session, engine: Engine, case: Any, t: Any, actor: Any, before: str, comment: str) -> None:
    """A step's notifications, in its unit of work (an engine step listener):

    * a return for correction (`way: back`) tells the preparers of the case's organisation — returned to them,
      by whom and why;
    * a decision that ends the case (a final state) tells them it is decided;
    * a step after which the case waits for somebody else (another organisation or role) tells them it waits
      for them.

    The person who took the step is never told of it."""
    params = {"title": case.title or "", "workflow": case.workflow, "org": case.org.name, "trigger": t.trigger,
              "state": case.state, "by": actor.username, "comment": comment or ""}
    if t.way == "back":
        kind, people = RETURNED, _people(session, case.org.id, ("preparer",), actor.id)
    elif case.closed:
        kind, people = DECIDED, _people(session, case.org.id, ("preparer",), actor.id)
    elif case.state != before:
        waiting = engine.waiting_on(session, case)
        if waiting is None or (waiting.org.id == actor.org_id and actor.role in waiting.roles):
            return  # the next step is the actor's own (or nobody's)
        kind, people = WAITING, _people(session, waiting.org.id, waiting.roles, actor.id)
        params["triggers"] = list(waiting.triggers)
    else:
        return  # a step that leaves the case where it was (an objection, more members): nothing new waits
    notify(session, people, kind, case.id, params)


def set_notification_settings(session: Session, user: User, email: str | None, *, inbox: Iterable[str],
                              email_kinds: Iterable[str]) -> dict[str, list[Any]]:
    """The person's e-mail address and the kinds they receive, by channel (those not listed are turned off);
    an audited change of the user (`update_user`). Returns {field: [old, new]}."""
    from .accounts import _user_entry

    wanted = set(email_kinds)
    shown = set(inbox)
    off = {"inbox": [k for k in ALL_KINDS if k not in shown], "email": [k for k in ALL_KINDS if k not in wanted]}
    current = user.notify_off or {}
    changes: dict[str, list[Any]] = {}
    if (user.email or None) != email:
        changes["email"] = [user.email, email]
    for channel in ("inbox", "email"):
        if sorted(current.get(channel) or []) != sorted(off[channel]):
            changes[f"notify_off.{channel}"] = [sorted(current.get(channel) or []), sorted(off[channel])]
    if not changes:
        return {}
    user.email, user.notify_off = email, off
    session.flush()
    _user_entry(session, user, "update_user", {"changes": changes}, user.username, user.role)
    return changes


def notify_assigned(session: Session, engine: Engine, case: Any, actor: Any, user_id: int, comment: str) -> None:
    """A decision assigned (指派) to someone tells them, by whom and why (an engine assign listener)."""
    person = session.execute(select(User.id, User.email, User.notify_off).where(User.id == user_id)).first()
    if person is not None:
        notify(session, [person], ASSIGNED, case.id, {"title": case.title or "", "workflow": case.workflow,
                                                      "org": case.org.name, "by": actor.username,
                                                      "comment": comment or ""})
