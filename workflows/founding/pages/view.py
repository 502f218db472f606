"""What the founding (建会) pages show, worked out from a case: the eight steps, the posting countdown,
who was elected, the registration deadline, and the texts of the printable notice and replies.

Pure presentation: it reads the case, its trail entries, the definition and the rule profile; it never
fires anything. The views that render it are in `founding.py` (panel, printables) and `founding_steps.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping, Sequence

from flask_babel import gettext as _

from definitions import Definition
from web.i18n import lang, local_time, text
from web.progress import Phase
from web.progress import phases as progress_phases
from workflow import DOCUMENT_ISSUED, Case

from ..rules import ELECTED_BODIES, required_candidates, seat_range

# the bodies a candidate may stand for, in the order of the notice
POSITIONS = ("committee", "chair", "audit", "women")


class _Keep(dict):
    """format_map mapping that leaves an unknown {placeholder} as it is."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def need_text(definition: Definition, trigger: str, params: Mapping[str, Any]) -> str:
    """What a step needs (definition extra.steps), filled with the profile's parameters."""
    label = definition.extra.get("steps", {}).get(trigger)
    return text(label).format_map(_Keep(params)) if label else ""


def cn_date(value: date | str | None) -> str:
    """2026年11月10日 (Chinese pages), 2026-11-10 otherwise."""
    if value is None or value == "":
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return day.isoformat() if lang() == "en" else f"{day.year}年{day.month}月{day.day}日"


def entry_day(entry: Mapping[str, Any]) -> date:
    """The business date of a trail entry, the day its step took place (the printed documents are dated by
    it); for an entry without one, the local calendar day it was recorded (its `at` is UTC)."""
    if entry.get("decided_on"):
        return date.fromisoformat(entry["decided_on"])
    at = datetime.strptime(entry["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return date.fromisoformat(local_time(at, "yyyy-MM-dd"))


def last_entry(entries: Sequence[Mapping[str, Any]], trigger: str) -> Mapping[str, Any] | None:
    return next((e for e in reversed(entries) if e["trigger"] == trigger), None)


def labels(definition: Definition, group: str, short: bool = False) -> dict[str, str]:
    table = definition.extra.get("short_labels" if short else "enum_labels", {}).get(group, {})
    return {key: text(label, key) for key, label in table.items()}


@dataclass
class Candidate:
    name: str
    stands: list[str]
    bars: list[str]
    votes: int | None = None
    elected: list[str] = field(default_factory=list)


def phases(definition: Definition, case: Case, entries: Sequence[Mapping[str, Any]], waiting: str) -> list[Phase]:
    """The eight steps of `extra.phases` (and the registration after them), as every workflow's progress is
    worked out (`web.progress`); a case refused stopped where the higher union did not approve."""
    entries = [e for e in entries if e["trigger"] != DOCUMENT_ISSUED]  # an issued copy is no step
    refused = None if case.state in definition.left_states else _("上级工会不予批准")
    return progress_phases(definition, case, entries, waiting, stopped_note=refused)


def candidate_rows(data: Mapping[str, Any]) -> list[Candidate]:
    elected = data.get("elected") or {}
    votes = data.get("votes") or {}
    rows = []
    for c in data.get("candidates") or ():
        won = [b for b in ELECTED_BODIES if c["name"] in (elected.get(b) or ())]
        if elected.get("chair") == c["name"]:
            won.insert(1 if "committee" in won else 0, "chair")
        rows.append(Candidate(c["name"], list(c.get("for") or ()), list(c.get("bars") or ()),
                              votes.get(c["name"]) if votes else None, won))
    return rows


def standing(data: Mapping[str, Any], body: str) -> list[str]:
    return [c["name"] for c in data.get("candidates") or () if body in (c.get("for") or ())]


@dataclass
class Posting:
    posted_on: date
    period_end: date  # the last day of the posting
    earliest: date  # the first day the candidates may be approved
    days: int
    days_left: int


def posting(data: Mapping[str, Any], params: Mapping[str, Any], today: date) -> Posting | None:
    if not data.get("posted_on"):
        return None
    posted = date.fromisoformat(data["posted_on"])
    days = int(params["candidate_posting_days"])
    earliest = posted + timedelta(days=days)
    return Posting(posted, earliest - timedelta(days=1), earliest, days, max(0, (earliest - today).days))


@dataclass
class Registration:
    due: date
    days_left: int  # negative once overdue
    certificate_no: str = ""
    registered_on: date | None = None


def registration(data: Mapping[str, Any], today: date) -> Registration | None:
    if not data.get("registration_due_on"):
        return None
    due = date.fromisoformat(data["registration_due_on"])
    registered = data.get("registered_on")
    return Registration(due, (due - today).days, data.get("certificate_no", ""),
                        date.fromisoformat(registered) if registered else None)


def nomination_hints(data: Mapping[str, Any], params: Mapping[str, Any]) -> list[str]:
    """The numbers the nomination must meet for this case's members."""
    members = int(data.get("member_count") or 0)
    female = int(data.get("female_member_count") or 0)
    low, high = seat_range(params["committee_seats"], members)
    margin = params["candidate_margin_percent"]
    hints = [
        _("会员%(m)s人：工会委员会委员名额应为%(low)s至%(high)s名。", m=members, low=low, high=high),
        _("差额选举：委员候选人数应不少于名额的%(p)s%%（向上取整）且多于名额，例如%(s)s名应至少%(c)s人。",
          p=100 + margin, s=low, c=required_candidates(low, margin)),
        _("须至少提名一名工会主席候选人（同时为委员候选人），经费审查委员会至少1个名额、1名候选人。"),
    ]
    threshold = params["women_committee_min_female_members"]
    if female >= threshold:
        hints.append(_("女会员%(f)s人（%(t)s人以上）：须设立女职工委员会，至少1个名额、1名候选人。", f=female, t=threshold))
    else:
        hints.append(_("女会员%(f)s人（不足%(t)s人）：可不设女职工委员会。", f=female, t=threshold))
    hints.append(_("候选人名单公示满%(d)s天后，上级工会方可审查同意。", d=params["candidate_posting_days"]))
    return hints


def document_file(case: Case, kind: str) -> str:
    """The file name of a document of the case issued as PDF (`notice`, `reply-application`, `reply-founding`)."""
    return f"founding-{case.id}-{kind}.pdf"


def reply_title(org: str, kind: str) -> str:
    if kind == "application":
        return _("关于同意%(org)s筹建工会的批复", org=org)
    return _("关于同意成立%(org)s工会委员会的批复", org=org)


def election_summary(data: Mapping[str, Any]) -> dict[str, Any]:
    entitled = int(data.get("entitled") or 0)
    return {
        "entitled": entitled, "present": data.get("present"), "ballots_cast": data.get("ballots_cast"),
        "votes_needed": entitled // 2 + 1 if entitled else None,
        "seats": {b: data.get(f) for b, f in ELECTED_BODIES.items()},
    }
