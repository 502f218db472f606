"""The tables of the running system: organisations, users, API tokens, cases, the parties of cases and
absence delegations."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage import Base, utcnow

ORG_KINDS = ("federation", "town", "community", "enterprise")
ROLES = ("preparer", "reviewer", "auditor", "admin")
UNION_STATUSES = ("none", "founding", "founded")


class Organisation(Base):
    """A node of the jurisdiction tree (federation → town → community → enterprise)."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    # materialised path "/1/4/9/": a subtree is a prefix match
    path: Mapped[str] = mapped_column(String(512), index=True, default="/")
    employees: Mapped[int | None] = mapped_column(Integer)
    female_employees: Mapped[int | None] = mapped_column(Integer)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    address: Mapped[str | None] = mapped_column(String(300))
    union_status: Mapped[str] = mapped_column(String(16), default="none")
    member_count: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    parent: Mapped[Organisation | None] = relationship(remote_side=[id], lazy="select")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(8))
    # where notifications go besides the inbox (邮件通知), and the kinds the user turned off, by channel:
    # {"inbox": [kind, ...], "email": [kind, ...]}
    email: Mapped[str | None] = mapped_column(String(254))
    notify_off: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # raised to end every signed-in session of the user, on every server (web/auth.py)
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    org: Mapped[Organisation | None] = relationship(lazy="joined")


class ApiToken(Base):
    """An API token, stored only as the SHA-256 of its secret."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # the token it was minted with through the API: revoking that one revokes this one
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(lazy="joined")


class Case(Base):
    """A running instance of a workflow definition (the spec stays in definitions/)."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workflow: Mapped[str] = mapped_column(String(32))
    definition_version: Mapped[str] = mapped_column(String(16))
    profile: Mapped[str] = mapped_column(String(32))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    state: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    competent_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    # what was recorded by the steps, and what the rules computed from it
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {trigger: user id} of the latest firing of each trigger, for four eyes
    fired_by: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # set while the case must be unique (e.g. one open founding case per enterprise)
    unique_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    state_since: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    title: Mapped[str] = mapped_column(Text, default="")
    # the business date of the last step (the day it took place, which may precede its recording)
    decided_on: Mapped[date | None] = mapped_column(Date)
    # the deadline of the step the case waits for (办理时限, domain.md §6): set by the step that began the wait
    due_on: Mapped[date | None] = mapped_column(Date)
    # who has claimed (认领) or been assigned (指派) the decision the case waits for; cleared when its state changes
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    org: Mapped[Organisation] = relationship(foreign_keys=[org_id], lazy="joined")
    competent_org: Mapped[Organisation | None] = relationship(foreign_keys=[competent_org_id], lazy="joined")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id], lazy="select")
    # loaded for a page of cases in one query, only for those that have one
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="selectin")
    # read only when a definition declares parties, or when the case's own organisation is not visible
    parties: Mapped[list[CaseParty]] = relationship(lazy="select", order_by="CaseParty.party",
                                                    viewonly=True)

    __table_args__ = (
        Index("ix_cases_org_workflow", "org_id", "workflow"),  # neither column changes with a step
        Index("ix_cases_workflow_state", "workflow", "state"),
        Index("ix_cases_competent_state", "competent_org_id", "state", "state_since"),
        Index("ix_cases_created", "created_at"),
        # the review queue: open cases, longest waiting first, read in index order page by page
        Index("ix_cases_open_since", "closed", "state_since", "id"),
        Index("ix_cases_due", "due_on"),  # the deadline sweep: open cases whose deadline is near or past
    )


class CaseParty(Base):
    """A second organisation a case concerns (a definition's `parties`), e.g. a transfer's receiving union.

    `sees_case` is copied from the definition version the case runs under
    (which never changes), so that the read-side queries can tell which
    parties see a case without the catalogue.
    """

    __tablename__ = "case_parties"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    party: Mapped[str] = mapped_column(String(16), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    sees_case: Mapped[bool] = mapped_column(Boolean, default=True)

    org: Mapped[Organisation] = relationship(lazy="joined")


class Delegation(Base):
    """An absence delegation (代理): from `starts_on` to `ends_on` (both included) the substitute may take the
    decisions claimed by or assigned to the delegator. Ending it early sets `ended_at`; nothing is deleted."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delegator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    substitute_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)

    delegator: Mapped[User] = relationship(foreign_keys=[delegator_id], lazy="joined")
    substitute: Mapped[User] = relationship(foreign_keys=[substitute_id], lazy="joined")
