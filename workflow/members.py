"""The roster (会员名册, 会员实名制, domain.md §5): the named members of each union, and the read-only
questions the membership rules may ask of it.

A member row is an entity (`workflow.entities`): it is created and changed only by the effects of a step
(joining, later transfer) or by the engine's own `end_membership` (退会, death), each change audited and
replayed by `audit verify`. One person has at most one active membership in the whole installation: the
rules refuse a second (`already_a_member`), and a partial unique index on the ID number of active rows
holds the line when two unions approve the same person at once.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from storage import Base, utcnow

from .entities import register
from .idnumber import birth_date
from .models import Organisation
from .rules import Reason, lookup

MEMBER = "member"
STATUSES = ("active", "transferred_out", "left", "deceased")
ENDED = ("left", "deceased")  # what `Engine.end_membership` records (退会, 去世)
# the 八大群体 (seed 000): the eight groups of new-form workers the joining campaign is about
GROUPS = ("truck_driver", "courier", "care_worker", "domestic_worker", "mall_informant", "food_delivery",
          "estate_agent", "security_guard")
ACTIVE_INDEX = "uq_members_active_id_number"
MEMBER_NO_LENGTH = 32


class Member(Base):
    """A named member on a union's roster."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # the union whose roster holds them
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18))
    gender: Mapped[str] = mapped_column(String(8))  # male / female, read from the 身份证号
    born_on: Mapped[date | None] = mapped_column(Date)  # read from the 身份证号
    joined_on: Mapped[date] = mapped_column(Date)
    member_no: Mapped[str] = mapped_column(String(MEMBER_NO_LENGTH))
    # the employer: an organisation of the tree, or a free text (a platform worker's 平台)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    employer_name: Mapped[str | None] = mapped_column(String(200))
    group_code: Mapped[str | None] = mapped_column(String(32))  # one of GROUPS, or none
    status: Mapped[str] = mapped_column(String(16), default="active")
    left_on: Mapped[date | None] = mapped_column(Date)
    left_comment: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    org: Mapped[Organisation] = relationship(foreign_keys=[org_id], lazy="selectin")
    employer: Mapped[Organisation | None] = relationship(foreign_keys=[employer_id], lazy="selectin")

    __table_args__ = (
        UniqueConstraint("org_id", "member_no", name="uq_members_org_member_no"),
        Index("ix_members_org_status", "org_id", "status", "id"),
        Index("ix_members_id_number", "id_number"),
        # one person, one active membership in the whole installation (both databases know partial indexes)
        Index(ACTIVE_INDEX, "id_number", unique=True, sqlite_where=text("status = 'active'"),
              postgresql_where=text("status = 'active'")),
    )


FIELDS = ("org_id", "name", "id_number", "gender", "born_on", "joined_on", "member_no", "employer_id",
          "employer_name", "group_code", "status", "left_on", "left_comment")


def gender_of(id_number: str) -> str:
    """The 17th character of a 身份证号 is odd for a man, even for a woman."""
    return "male" if int(id_number[16]) % 2 else "female"


def born_on_of(id_number: str) -> date | None:
    return birth_date(id_number)


@dataclass(frozen=True)
class Holder:
    """Who holds a person's active membership: for `already_a_member`."""

    member_id: int
    org_code: str
    org_name: str


def find_active(session: Session, id_number: str) -> Holder | None:
    row = session.execute(
        select(Member.id, Organisation.code, Organisation.name).join(Organisation, Organisation.id == Member.org_id)
        .where(Member.id_number == id_number, Member.status == "active")).first()
    return Holder(*row) if row is not None else None


def already_a_member(holder: Holder) -> Reason:
    return Reason("already_a_member", {"org": holder.org_name, "org_code": holder.org_code})


def _conflict(session: Session, values: Mapping[str, Any]) -> Reason | None:
    """The reason a member row broke the active-membership index (a concurrent approval elsewhere)."""
    holder = find_active(session, str(values.get("id_number") or ""))
    return already_a_member(holder) if holder is not None else None


register(MEMBER, Member, key="id", fields=FIELDS, version="version", conflict=_conflict)


# -- the questions the membership rules ask (`ctx.lookup(name, ...)`) ----------------------------

@lookup("active_membership")
def _active_membership(session: Session, id_number: Any) -> Holder | None:
    return find_active(session, id_number) if isinstance(id_number, str) and id_number else None


@lookup("org_in_subtree")
def _org_in_subtree(session: Session, code: Any, root_id: int) -> Mapping[str, Any] | None:
    """The organisation `code` when it is `root_id` or below it (an employer of the union's subtree)."""
    if not isinstance(code, str) or not code:
        return None
    root = session.get(Organisation, root_id)
    org = session.scalars(select(Organisation).where(Organisation.code == code)).one_or_none()
    if root is None or org is None or not org.path.startswith(root.path):
        return None
    return {"id": org.id, "code": org.code, "name": org.name}


@lookup("next_member_no")
def _next_member_no(session: Session, org_id: int) -> Mapping[str, Any]:
    """The union's member count and the next member number (its code and a sequence), read under a lock
    of the union's row, so that two approvals in one union at once are taken one after the other."""
    org = session.execute(select(Organisation.code, Organisation.member_count)
                          .where(Organisation.id == org_id).with_for_update()).one()
    issued = session.scalar(select(func.count()).select_from(Member).where(Member.org_id == org_id)) or 0
    n = issued + 1
    while True:
        number = f"{org.code}-{n:06d}"[:MEMBER_NO_LENGTH]
        taken = session.scalar(select(Member.id).where(Member.org_id == org_id, Member.member_no == number))
        if taken is None:
            return {"member_no": number, "member_count": org.member_count or 0}
        n += 1


# -- reading the roster ------------------------------------------------------------------

@dataclass(frozen=True)
class RosterFilter:
    status: str | None = None
    group: str | None = None
    q: str = ""


def roster_query(org_id: int, f: RosterFilter, full_ids: bool) -> Any:
    """The members of one union matching the filter, newest first. `q` matches the name or the member
    number (contained), and the 身份证号: contained for whoever sees them unmasked, whole otherwise (so that
    a masked viewer cannot find the hidden digits by searching)."""
    stmt = select(Member).where(Member.org_id == org_id)
    if f.status:
        stmt = stmt.where(Member.status == f.status)
    if f.group:
        stmt = stmt.where(Member.group_code == f.group)
    q = f.q.strip()
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        by_id = Member.id_number.like(like, escape="\\") if full_ids else Member.id_number == q.upper()
        stmt = stmt.where(or_(Member.name.like(like, escape="\\"), Member.member_no.like(like, escape="\\"), by_id))
    return stmt.order_by(Member.joined_on.desc(), Member.id.desc())


def roster_counts(session: Session, org_id: int) -> dict[str, int]:
    """The union's members by status (every status, 0 where none)."""
    counts = dict.fromkeys(STATUSES, 0)
    rows = session.execute(select(Member.status, func.count()).where(Member.org_id == org_id)
                           .group_by(Member.status))
    counts.update({status: n for status, n in rows})
    return counts


def group_counts(session: Session, org_id: int) -> dict[str, int]:
    """The union's active members by 八大群体 group (groups with none left out)."""
    rows = session.execute(select(Member.group_code, func.count())
                           .where(Member.org_id == org_id, Member.status == "active", Member.group_code.is_not(None))
                           .group_by(Member.group_code))
    return {g: n for g, n in rows if g is not None}


def find_member(session: Session, member_id: Any) -> Member | None:
    if not isinstance(member_id, int) or isinstance(member_id, bool) or not 0 < member_id < 2 ** 31:
        return None
    return session.get(Member, member_id)
