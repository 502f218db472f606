"""Read-side queries, always limited to what the actor may see."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from .engine import Actor
from .models import Case, CaseParty, Organisation

MAX_PER_PAGE = 100
MAX_PAGE = 2**31 - 1  # past it the offset would overflow the database's integers


@dataclass
class Page:
    items: Sequence[Any]
    total: int
    page: int
    per_page: int
    more: bool = False  # counting stopped at `total`: there are more

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def visible_orgs(actor: Actor) -> Any:
    """A WHERE clause: organisations within the actor's subtree (everything for an admin)."""
    if actor.role == "admin":
        return true()
    if not actor.org_path:
        return false()
    return Organisation.path.startswith(actor.org_path, autoescape=True)


def visible_cases(actor: Actor) -> Any:
    """A WHERE clause on cases joined to their organisation: the cases of the actor's subtree, and those
    with a party in it whose side sees the case (everything for an admin)."""
    if actor.role == "admin":
        return true()
    if not actor.org_path:
        return false()
    party_org = aliased(Organisation)
    seen = (select(CaseParty.case_id).join(party_org, party_org.id == CaseParty.org_id)
            .where(CaseParty.sees_case.is_(True), party_org.path.startswith(actor.org_path, autoescape=True)))
    return or_(visible_orgs(actor), Case.id.in_(seen))


def paginate(session: Session, stmt: Select, page: int, per_page: int, count_limit: int | None = None) -> Page:
    """One page of `stmt`, and how many rows there are in all.

    With `count_limit`, counting stops a little past the larger of the limit
    and the current page (a queue of 90,000 cases need not be counted to show
    its first page); the page then says there are more.
    """
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, min(page, MAX_PAGE))
    counted = stmt.order_by(None)
    cap = None
    if count_limit is not None:
        cap = max(count_limit, page * per_page)
        counted = counted.limit(cap + 1)
    total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    items = session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique().all()
    if cap is not None and total > cap:
        return Page(items, cap, page, per_page, more=True)
    return Page(items, total, page, per_page)


def list_cases(
    session: Session,
    actor: Actor,
    *,
    workflow: str | None = None,
    state: str | None = None,
    org: Organisation | None = None,
    open_only: bool = False,
    page: int = 1,
    per_page: int = 20,
    count_limit: int | None = None,
) -> Page:
    stmt = select(Case).join(Case.org).where(visible_cases(actor))
    if workflow:
        stmt = stmt.where(Case.workflow == workflow)
    if state:
        stmt = stmt.where(Case.state == state)
    if org is not None:
        stmt = stmt.where(Organisation.path.startswith(org.path, autoescape=True))
    if open_only:
        stmt = stmt.where(Case.closed.is_(False))
    stmt = stmt.order_by(Case.created_at.desc(), Case.id.desc())
    return paginate(session, stmt, page, per_page, count_limit)


def review_queue(
    session: Session,
    actor: Actor,
    review_states: dict[str, Sequence[str]],
    *,
    workflow: str | None = None,
    org: Organisation | None = None,
    page: int = 1,
    per_page: int = 20,
    count_limit: int | None = None,
    scope: str = "mine",
) -> Page:
    """Open cases standing where a decision waits, oldest first: with `scope` "mine" (待我审核) those the
    actor's organisation is competent for, with "subtree" (下级待办, supervision) those its subtree's other
    organisations are competent for. A case without a fixed competent organisation is decided by its own."""
    competent = aliased(Organisation)
    pairs = [(wf, states) for wf, states in review_states.items() if states and (workflow in (None, wf))]
    if not pairs or not actor.org_path or actor.org_id is None:
        return Page([], 0, 1, per_page)
    deciding_id = func.coalesce(Case.competent_org_id, Case.org_id)
    stmt = (
        select(Case)
        .join(Case.org)
        .outerjoin(competent, Case.competent_org_id == competent.id)
        .where(visible_cases(actor), Case.closed.is_(False))
        .where(or_(*[(Case.workflow == wf) & Case.state.in_(states) for wf, states in pairs]))
    )
    if scope == "subtree":
        stmt = stmt.where(deciding_id != actor.org_id).where(or_(
            competent.path.startswith(actor.org_path, autoescape=True),
            competent.id.is_(None) & Organisation.path.startswith(actor.org_path, autoescape=True)))
    else:  # or a step the case's party decides, where the actor's organisation is that party
        parties = select(CaseParty.case_id).where(CaseParty.org_id == actor.org_id)
        stmt = stmt.where(or_(deciding_id == actor.org_id, Case.id.in_(parties)))
    if org is not None:
        stmt = stmt.where(Organisation.path.startswith(org.path, autoescape=True))
    stmt = stmt.order_by(Case.state_since.asc(), Case.id.asc())
    return paginate(session, stmt, page, per_page, count_limit)


def task_list(
    session: Session,
    actor: Actor,
    waits: dict[str, dict[str, Sequence[str]]],
    *,
    scope: str = "mine",
    workflow: str | None = None,
    due_before: Any = None,
    search: str | None = None,
    page: int = 1,
    per_page: int = 20,
    count_limit: int | None = None,
) -> Page:
    """The open decisions (待办) of api.md's `GET /tasks`, longest waiting first. `waits` gives, per workflow and
    state, the roles whose step the case waits for there. `mine` and `org`: those the actor's organisation
    takes (a reviewer's where it is competent or the deciding party, a preparer's in its own cases); `subtree`
    (supervision, 下级待办): those its subtree's other organisations take. `due_before`: only those whose
    deadline lies before that day (overdue); `search`: the case number, or part of its organisation's name or
    of its title."""
    pairs = [(wf, [s for s, roles in states.items() if actor.role in roles or scope == "subtree"])
             for wf, states in waits.items() if workflow in (None, wf)]
    pairs = [(wf, states) for wf, states in pairs if states]
    if not pairs or not actor.org_path or actor.org_id is None:
        return Page([], 0, 1, per_page)
    competent = aliased(Organisation)
    deciding_id = func.coalesce(Case.competent_org_id, Case.org_id)
    stmt = (
        select(Case)
        .join(Case.org)
        .outerjoin(competent, Case.competent_org_id == competent.id)
        .where(visible_cases(actor), Case.closed.is_(False))
        .where(or_(*[(Case.workflow == wf) & Case.state.in_(states) for wf, states in pairs]))
    )
    if scope == "subtree":
        stmt = stmt.where(deciding_id != actor.org_id).where(or_(
            competent.path.startswith(actor.org_path, autoescape=True),
            competent.id.is_(None) & Organisation.path.startswith(actor.org_path, autoescape=True)))
    elif actor.role == "preparer":
        stmt = stmt.where(Case.org_id == actor.org_id)
    else:
        parties = select(CaseParty.case_id).where(CaseParty.org_id == actor.org_id)
        stmt = stmt.where(or_(deciding_id == actor.org_id, Case.id.in_(parties)))
    if due_before is not None:
        stmt = stmt.where(Case.due_on < due_before)
    if search:
        needle = search.strip()
        clauses = [Organisation.name.contains(needle, autoescape=True), Case.title.contains(needle, autoescape=True)]
        if needle.lstrip("#").isdigit() and len(needle) < 10:
            clauses.append(Case.id == int(needle.lstrip("#")))
        stmt = stmt.where(or_(*clauses))
    stmt = stmt.order_by(Case.state_since.asc(), Case.id.asc())
    return paginate(session, stmt, page, per_page, count_limit)
