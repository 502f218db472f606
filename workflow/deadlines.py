"""Deadlines (办理时限, domain.md §6): when the step a case waits for is due, due soon, overdue, escalated.

A workflow's parameters name the states that wait for a step, each with its period (`due`):

    due:
      applied: {working_days: 15}
      candidates_submitted: {working_days: 10, from: posted_on, plus_days: candidate_posting_days}
      evaluated: {days: 30}

The period runs from the business date of the step that began the wait, or from the case's date `from`
(its data or facts) with `plus_days` calendar days added first (a parameter's name or a number), and counts
`working_days` of the profile's calendar or calendar `days`. The deadline is the last day on which the step
is on time. Decided here, with the calendar's own convention (the first day is not counted):

* **due soon** from the `due_soon_working_days`-th working day before the deadline (3: a deadline on a
  Friday is due soon from the Tuesday), up to the deadline itself;
* **overdue** from the day after the deadline;
* **escalated** to the organisation above from the first working day after the day it became overdue (a
  deadline on a Wednesday: overdue on Thursday, escalated on Friday; on a Friday: overdue on Saturday,
  escalated on Monday).

Pure functions of dates, parameters and a calendar.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from .workdays import Calendar, as_date

DUE_SOON = "due_soon"
OVERDUE = "overdue"
ESCALATED = "escalated"
KINDS = (DUE_SOON, OVERDUE, ESCALATED)
DEFAULT_DUE_SOON_WORKING_DAYS = 3


def rule_for(params: Mapping[str, Any], state: str) -> Mapping[str, Any] | None:
    """The period of the step the state waits for, or None when nothing is due in it."""
    return (params.get("due") or {}).get(state)


def _number(value: Any, params: Mapping[str, Any]) -> int:
    if isinstance(value, str):
        value = params[value]
    return int(value or 0)


def due_on(rule: Mapping[str, Any], calendar: Calendar, began_on: date, values: Mapping[str, Any],
           params: Mapping[str, Any]) -> date | None:
    """The deadline of a wait that began on `began_on`; None when the date it runs from is not known yet."""
    start: date = began_on
    if rule.get("from"):
        named = values.get(rule["from"])
        if not named:
            return None
        start = as_date(named)
    start = start + timedelta(days=_number(rule.get("plus_days"), params))
    if "working_days" in rule:
        return calendar.nth_working_day_after(start, _number(rule["working_days"], params))
    return start + timedelta(days=_number(rule.get("days"), params))


def due_soon_from(calendar: Calendar, deadline: date, soon: int = DEFAULT_DUE_SOON_WORKING_DAYS) -> date:
    """The first day on which the step is due soon: the `soon`-th working day before the deadline."""
    day, counted = deadline, 0
    while counted < soon:
        day -= timedelta(days=1)
        if calendar.is_working_day(day):
            counted += 1
    return day if soon > 0 else deadline


def escalated_from(calendar: Calendar, deadline: date) -> date:
    """The first day on which overdue work is reported to the organisation above."""
    return calendar.nth_working_day_after(deadline + timedelta(days=1), 1)


def status(calendar: Calendar, deadline: date | None, today: date,
           soon: int = DEFAULT_DUE_SOON_WORKING_DAYS) -> str | None:
    """`due_soon`, `overdue`, `escalated` or None (on time, or nothing due)."""
    if deadline is None:
        return None
    if today > deadline:
        return ESCALATED if today >= escalated_from(calendar, deadline) else OVERDUE
    if today >= due_soon_from(calendar, deadline, soon):
        return DUE_SOON
    return None


def reached(calendar: Calendar, deadline: date, today: date, soon: int = DEFAULT_DUE_SOON_WORKING_DAYS) -> list[str]:
    """Every alert whose day has come by `today`, in order (an escalated step was also due soon and overdue)."""
    current = status(calendar, deadline, today, soon)
    if current is None:
        return []
    return list(KINDS[:KINDS.index(current) + 1])
