"""Working days (工作日) of a rule profile's calendar, for posting periods (公示期).

A working day is Monday–Friday, minus the profile's `holidays` (法定节假日 on
weekdays), plus the profile's `workdays` (weekend days worked to make up for
holidays, 调休上班). A date listed in `workdays` is a working day whatever else
is said of it.

What "at least N working days between posted_on and today" means (decided
here): the day of posting is not counted (as a period in days starts on the
next day, 民法典 第二百零一条), today is counted, so the period has run when

    working days d with posted_on < d <= today   >=   N.

Submission is therefore allowed from the N-th working day after the posting
day: with N = 5, a notice posted on a Monday allows submission from the next
Monday, one posted on a Friday from the next Friday (no holidays between).

Pure functions; dates come as `datetime.date` or ISO strings.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

ONE_DAY = timedelta(days=1)


def as_date(value: Any) -> date:
    """A `datetime.date` from a date or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise TypeError(f"not a date: {value!r}")


def _weekdays_up_to(day: date) -> int:
    """Mondays–Fridays from 0001-01-01 (a Monday, ordinal 1) up to and including `day`."""
    n = day.toordinal()
    weeks, rest = divmod(n, 7)
    return weeks * 5 + min(rest, 5)


@dataclass(frozen=True)
class Calendar:
    """Which days are working days."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, holidays: Iterable[Any] = (), workdays: Iterable[Any] = ()) -> Calendar:
        return cls(frozenset(as_date(d) for d in holidays or ()), frozenset(as_date(d) for d in workdays or ()))

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Calendar:
        """The calendar of a profile section (`holidays`, `workdays`)."""
        return cls.of(params.get("holidays") or (), params.get("workdays") or ())

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def working_days_between(self, start: Any, end: Any) -> int:
        """Working days d with start < d <= end (0 when end is not after start)."""
        start, end = as_date(start), as_date(end)
        if end <= start:
            return 0
        count = _weekdays_up_to(end) - _weekdays_up_to(start)
        count -= sum(
            1 for h in self.holidays
            if start < h <= end and h.weekday() < 5 and h not in self.workdays
        )
        count += sum(1 for w in self.workdays if start < w <= end and w.weekday() >= 5)
        return count

    def nth_working_day_after(self, start: Any, n: int) -> date:
        """The n-th working day after `start` (`start` itself when n <= 0)."""
        day = as_date(start)
        remaining = n
        while remaining > 0:
            day += ONE_DAY
            if self.is_working_day(day):
                remaining -= 1
        return day

    def period_elapsed(self, posted_on: Any, today: Any, n: int) -> bool:
        """True when at least n working days lie after `posted_on`, up to and including `today`."""
        return self.working_days_between(posted_on, today) >= n

    def working_days_left(self, posted_on: Any, today: Any, n: int) -> int:
        """Countdown: working days still to run before submission is allowed (0 when allowed)."""
        return max(0, n - self.working_days_between(posted_on, today))

    def first_allowed_day(self, posted_on: Any, n: int) -> date:
        """The first date on which the period of n working days has run."""
        return self.nth_working_day_after(posted_on, n)
