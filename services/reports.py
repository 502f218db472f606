"""Coverage figures (建会率 / 入会率, domain.md §4) of an organisation's subtree, its children and its ledger.

Definitions (decided here where domain.md is brief):

* 建会率 (founding rate) = enterprises whose union is `founded` ÷ enterprises.
* 入会率 (membership rate) = members of the founded unions ÷ employees of
  *all* the enterprises counted (so that it moves with 建会率, as the targets
  of seed 004 assume). `in_founded_rate` is the same over the employees of the
  founded enterprises only (建会单位职工入会率), an extra figure.
* Rates are fractions, `None` when the denominator is 0 (an empty subtree is
  not an error). Whether a target is met is decided with exact fractions,
  never floats (the profile's 0.65 is read as 65/100).
* Figures are the register as it stands now; the year chooses the targets
  (the profile's entry for that year, else the latest earlier one) and which
  foundings count as new (`founded_on` in that year).
* The ledger (未建会百人以上企业台账) lists the enterprises of
  `large_enterprise_employees` (100) or more employees without a founded union,
  largest first, with their open founding case, its state and since when.

Every figure is one aggregate query: the subtree is a prefix match on the
materialised path; the children are one grouped query joining each child to
the enterprises under it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from fractions import Fraction
from typing import Any, Mapping, Sequence

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from workflow import Case, Organisation

FOUNDING = "founding"
KIND_ORDER = {"federation": 0, "town": 1, "community": 2, "enterprise": 3}


def rate(part: int, whole: int) -> float | None:
    return None if not whole else part / whole


@dataclass(frozen=True)
class Figures:
    """Counts over a set of enterprises."""

    enterprises: int = 0
    founded: int = 0
    founding: int = 0          # union_status `founding`: a founding case has applied
    employees: int = 0
    members: int = 0
    founded_employees: int = 0  # employees of the enterprises with a founded union
    new_founded: int = 0       # founded in the report's year through a founding case

    @property
    def without_union(self) -> int:
        return self.enterprises - self.founded

    @property
    def founding_rate(self) -> float | None:
        return rate(self.founded, self.enterprises)

    @property
    def membership_rate(self) -> float | None:
        return rate(self.members, self.employees)

    @property
    def in_founded_rate(self) -> float | None:
        return rate(self.members, self.founded_employees)

    def __add__(self, other: "Figures") -> "Figures":
        return Figures(*(a + b for a, b in zip(self._values(), other._values())))

    def _values(self) -> tuple[int, ...]:
        return (self.enterprises, self.founded, self.founding, self.employees, self.members,
                self.founded_employees, self.new_founded)

    def as_dict(self) -> dict[str, Any]:
        return {
            "enterprises": self.enterprises, "founded": self.founded, "founding_rate": self.founding_rate,
            "employees": self.employees, "members": self.members, "membership_rate": self.membership_rate,
        }


@dataclass(frozen=True)
class Targets:
    year: int
    from_year: int | None
    founding_rate: Fraction | None
    membership_rate: Fraction | None

    def as_dict(self) -> dict[str, Any]:
        return {"founding_rate": _float(self.founding_rate), "membership_rate": _float(self.membership_rate),
                "year": self.from_year}


@dataclass(frozen=True)
class Progress:
    """How the figures stand against the targets: met or not, and how many more are needed."""

    founding_met: bool | None
    membership_met: bool | None
    unions_needed: int | None
    members_needed: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"founding_rate_met": self.founding_met, "membership_rate_met": self.membership_met,
                "unions_needed": self.unions_needed, "members_needed": self.members_needed}


@dataclass(frozen=True)
class Row:
    """One child organisation with its subtree's figures (all enterprises, and the large ones)."""

    id: int
    code: str
    name: str
    kind: str
    all: Figures
    large: Figures

    def as_dict(self) -> dict[str, Any]:
        return {"org": self.code, "name": self.name, "kind": self.kind, **self.all.as_dict()}


@dataclass(frozen=True)
class LedgerRow:
    code: str
    name: str
    credit_code: str | None
    parent_code: str | None
    parent_name: str | None
    employees: int
    female_employees: int | None
    union_status: str
    case_id: int | None
    case_state: str | None
    state_since: datetime | None
    days_in_state: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "org": self.code, "name": self.name, "employees": self.employees, "case_state": self.case_state,
            "case_id": self.case_id, "union_status": self.union_status, "credit_code": self.credit_code,
            "parent": self.parent_code,
            "state_since": _iso(self.state_since), "days_in_state": self.days_in_state,
        }


@dataclass(frozen=True)
class Coverage:
    org_id: int
    code: str
    name: str
    kind: str
    year: int
    threshold: int
    all: Figures
    large: Figures
    targets: Targets
    children: tuple[Row, ...]
    ledger: tuple[LedgerRow, ...] = ()
    ledger_total: int = 0

    @property
    def progress(self) -> Progress:
        return progress(self.all, self.targets)

    @property
    def union_children(self) -> tuple[Row, ...]:
        return tuple(r for r in self.children if r.kind != "enterprise")

    @property
    def direct(self) -> Row | None:
        """The enterprises directly under the organisation, summed into one row (None when there are none)."""
        rows = [r for r in self.children if r.kind == "enterprise"]
        if not rows:
            return None
        total_all, total_large = Figures(), Figures()
        for r in rows:
            total_all, total_large = total_all + r.all, total_large + r.large
        return Row(0, "", "", "direct", total_all, total_large)

    def as_dict(self) -> dict[str, Any]:
        """The JSON of api.md "Reports" (and a few added fields)."""
        return {
            "org": self.code,
            "name": self.name,
            "year": self.year,
            **self.all.as_dict(),
            "targets": self.targets.as_dict(),
            "progress": self.progress.as_dict(),
            "large_enterprise_employees": self.threshold,
            "large": {**self.large.as_dict(), "without_union": self.large.without_union,
                      "founding": self.large.founding, "new_founded": self.large.new_founded},
            "large_without_union": [r.as_dict() for r in self.ledger],
            "children": [r.as_dict() for r in self.children],
        }


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# -- parameters ----------------------------------------------------------------------

def _fraction(value: Any) -> Fraction | None:
    if value is None or isinstance(value, bool):
        return None
    result = Fraction(str(value))  # 0.65 → 13/20 exactly, not the binary float
    if not 0 <= result <= 1:
        raise ValueError(f"a rate target must lie between 0 and 1, not {value!r}")
    return result


def targets_for(params: Mapping[str, Any], year: int) -> Targets:
    """The profile's targets for `year`, else those of the latest earlier year, else none."""
    table = {int(k): v for k, v in (params.get("targets") or {}).items()}
    earlier = [y for y in table if y <= year]
    if not earlier:
        return Targets(year, None, None, None)
    chosen = max(earlier)
    entry = table[chosen] or {}
    return Targets(year, chosen, _fraction(entry.get("founding_rate")), _fraction(entry.get("membership_rate")))


def threshold_of(params: Mapping[str, Any]) -> int:
    return int(params.get("large_enterprise_employees", 100))


def _needed(target: Fraction | None, part: int, whole: int) -> int | None:
    if target is None:
        return None
    return max(0, math.ceil(target * whole) - part)


def progress(f: Figures, t: Targets) -> Progress:
    """Met when part ÷ whole ≥ target, i.e. part × den ≥ whole × num (integers only); None without data."""

    def met(target: Fraction | None, part: int, whole: int) -> bool | None:
        if target is None or not whole:
            return None
        return part * target.denominator >= whole * target.numerator

    return Progress(
        met(t.founding_rate, f.founded, f.enterprises), met(t.membership_rate, f.members, f.employees),
        _needed(t.founding_rate, f.founded, f.enterprises), _needed(t.membership_rate, f.members, f.employees),
    )


# -- queries -------------------------------------------------------------------------

def _sums(ent: Any, threshold: int) -> list[Any]:
    """The aggregate columns over enterprises `ent`: all of them, then those of `threshold` or more employees."""
    founded = ent.union_status == "founded"
    large = ent.employees >= threshold
    employees = func.coalesce(ent.employees, 0)
    members = func.coalesce(ent.member_count, 0)

    def total(cond: Any, value: Any = 1) -> Any:
        return func.coalesce(func.sum(case((cond, value), else_=0)), 0)

    is_ent = ent.id.is_not(None)
    return [
        total(is_ent), total(founded), total(ent.union_status == "founding"), total(is_ent, employees),
        total(founded, members), total(founded, employees),
        total(large), total(large & founded), total(large & (ent.union_status == "founding")),
        total(large, employees), total(large & founded, members), total(large & founded, employees),
    ]


def _figures(values: Sequence[Any], new: tuple[int, int] = (0, 0)) -> tuple[Figures, Figures]:
    v = [int(x or 0) for x in values]
    return Figures(*v[0:6], new_founded=new[0]), Figures(*v[6:12], new_founded=new[1])


def _subtree(ent: Any, org: Organisation) -> Any:
    return and_(ent.kind == "enterprise", ent.path.startswith(org.path, autoescape=True))


def _new_foundings(session: Session, org: Organisation, year: int, threshold: int) -> dict[int | None, list[int]]:
    """Foundings sanctioned in `year` per child id (None: the organisation itself): [all, large].

    `founded_on` lives in the case's JSON facts, read here rather than with a
    dialect's JSON operators; only founded cases of the subtree are fetched.
    """
    rows = session.execute(
        select(Organisation.path, Organisation.employees, Case.facts)
        .join(Case, Case.org_id == Organisation.id)
        .where(_subtree(Organisation, org), Case.workflow == FOUNDING, Case.state.in_(("founded", "registered")),
               Organisation.union_status == "founded")
    ).all()
    out: dict[int | None, list[int]] = {}
    prefix = len(org.path)
    for path, employees, facts in rows:
        if not str((facts or {}).get("founded_on", "")).startswith(f"{year:04d}-"):
            continue
        rest = path[prefix:].split("/", 1)[0]
        key = int(rest) if rest else None
        counts = out.setdefault(key, [0, 0])
        counts[0] += 1
        counts[1] += (employees or 0) >= threshold
    return out


def coverage(
    session: Session,
    org: Organisation,
    *,
    params: Mapping[str, Any],
    year: int,
    ledger_limit: int | None = None,
    now: datetime | None = None,
) -> Coverage:
    """The figures of `org`'s subtree and of each child's subtree, and the ledger (first `ledger_limit` rows)."""
    threshold = threshold_of(params)
    new = _new_foundings(session, org, year, threshold)
    total_new = [sum(c[i] for c in new.values()) for i in (0, 1)]
    ent = aliased(Organisation)
    totals = session.execute(select(*_sums(ent, threshold)).where(_subtree(ent, org))).one()
    all_, large = _figures(totals, (total_new[0], total_new[1]))

    child = aliased(Organisation)
    grouped = session.execute(
        select(child.id, child.code, child.name, child.kind, *_sums(ent, threshold))
        .outerjoin(ent, and_(ent.kind == "enterprise", ent.path.startswith(child.path)))
        .where(child.parent_id == org.id)
        .group_by(child.id, child.code, child.name, child.kind)
    ).all()
    children = []
    for row in grouped:
        c_new = new.get(row[0], [0, 0])
        c_all, c_large = _figures(row[4:], (c_new[0], c_new[1]))
        children.append(Row(row[0], row[1], row[2], row[3], c_all, c_large))
    children.sort(key=lambda r: (KIND_ORDER.get(r.kind, 9), -r.all.employees if r.kind == "enterprise" else 0,
                                 r.code))
    rows, count = ledger(session, org, threshold=threshold, limit=ledger_limit, now=now)
    return Coverage(org.id, org.code, org.name, org.kind, year, threshold, all_, large, targets_for(params, year),
                    tuple(children), tuple(rows), count)


def ledger(
    session: Session,
    org: Organisation,
    *,
    threshold: int,
    limit: int | None = None,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[list[LedgerRow], int]:
    """Enterprises of `threshold` or more employees without a founded union, largest first; and how many there are."""
    ent, parent = aliased(Organisation), aliased(Organisation)
    where = and_(_subtree(ent, org), ent.employees >= threshold, ent.union_status != "founded")
    count = session.scalar(select(func.count()).select_from(ent).where(where)) or 0
    if limit == 0 or count == 0:
        return [], count
    stmt = (
        select(ent.code, ent.name, ent.credit_code, parent.code, parent.name, ent.employees, ent.female_employees,
               ent.union_status, Case.id, Case.state, Case.state_since)
        .outerjoin(parent, parent.id == ent.parent_id)
        .outerjoin(Case, and_(Case.org_id == ent.id, Case.workflow == FOUNDING, Case.closed.is_(False)))
        .where(where)
        .order_by(ent.employees.desc(), ent.name, ent.id)
        .offset(offset)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    now = now or datetime.now(timezone.utc)
    out = []
    for code, name, credit, p_code, p_name, employees, female, status, case_id, state, since in session.execute(stmt):
        days = None
        if since is not None:
            moment = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
            days = max(0, (now - moment).days)
        out.append(LedgerRow(code, name, credit, p_code, p_name, employees or 0, female, status, case_id, state,
                             since, days))
    return out, count


def default_year(today: date) -> int:
    return today.year


__all__ = [
    "Coverage", "Figures", "LedgerRow", "Progress", "Row", "Targets", "coverage", "default_year", "ledger",
    "progress", "rate", "targets_for", "threshold_of",
]
