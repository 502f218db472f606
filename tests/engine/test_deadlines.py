"""Deadlines (办理时限, domain.md §6) at their exact bounds: the deadline of a wait, due soon, overdue,
escalated, over weekends, holidays and make-up days of the profile's calendar."""
from __future__ import annotations

from datetime import date

import pytest

from workflow import Calendar
from workflow import deadlines

# 2026-10-01..07 国庆 (the weekdays among them are holidays), Saturday 10-10 worked (调休)
CAL = Calendar.of(holidays=["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"],
                  workdays=["2026-10-10"])
PARAMS = {"candidate_posting_days": 7}


def test_working_days_from_the_business_date_of_the_step_that_began_the_wait():
    # applied on Tuesday 11-10: the 15th working day after it is Tuesday 12-01
    assert deadlines.due_on({"working_days": 15}, CAL, date(2026, 11, 10), {}, PARAMS) == date(2026, 12, 1)
    # applied on a Friday: the first working day after it is the Monday
    assert deadlines.due_on({"working_days": 1}, CAL, date(2026, 11, 13), {}, PARAMS) == date(2026, 11, 16)


def test_holidays_and_make_up_days_count_as_the_calendar_says():
    # from Wednesday 09-30: 10-08, 10-09, Saturday 10-10 (worked), 10-12, 10-13
    assert deadlines.due_on({"working_days": 5}, CAL, date(2026, 9, 30), {}, PARAMS) == date(2026, 10, 13)


def test_calendar_days_and_a_period_from_a_date_of_the_case():
    assert deadlines.due_on({"days": 30}, CAL, date(2026, 11, 10), {}, PARAMS) == date(2026, 12, 10)
    rule = {"working_days": 10, "from": "posted_on", "plus_days": "candidate_posting_days"}
    # posted on Monday 11-02: the posting ends 11-09 (7 days), then ten working days: 11-23
    assert deadlines.due_on(rule, CAL, date(2026, 11, 20), {"posted_on": "2026-11-02"}, PARAMS) == date(2026, 11, 23)
    assert deadlines.due_on(rule, CAL, date(2026, 11, 20), {}, PARAMS) is None  # not posted: no deadline yet
    assert deadlines.due_on({"days": 0, "from": "rectification_due_on"}, CAL, date(2026, 1, 5),
                            {"rectification_due_on": "2026-02-04"}, PARAMS) == date(2026, 2, 4)


@pytest.mark.parametrize("today, expected", [
    (date(2026, 11, 23), None),                  # Monday: four working days left (Tue–Fri)
    (date(2026, 11, 24), deadlines.DUE_SOON),    # Tuesday: three working days before Friday's deadline
    (date(2026, 11, 27), deadlines.DUE_SOON),    # the deadline itself is still on time
    (date(2026, 11, 28), deadlines.OVERDUE),     # Saturday, the day after
    (date(2026, 11, 29), deadlines.OVERDUE),     # Sunday
    (date(2026, 11, 30), deadlines.ESCALATED),   # Monday: the first working day after it became overdue
])
def test_due_soon_overdue_escalated_around_a_friday_deadline(today, expected):
    assert deadlines.status(CAL, date(2026, 11, 27), today) == expected


@pytest.mark.parametrize("today, expected", [
    (date(2026, 11, 25), deadlines.DUE_SOON),    # the Wednesday deadline
    (date(2026, 11, 26), deadlines.OVERDUE),     # Thursday
    (date(2026, 11, 27), deadlines.ESCALATED),   # Friday, one working day later
])
def test_escalated_one_working_day_after_a_midweek_deadline_became_overdue(today, expected):
    assert deadlines.status(CAL, date(2026, 11, 25), today) == expected


def test_due_soon_counts_working_days_back_across_a_holiday():
    # a deadline on Thursday 10-08 (10-01..07 off): due soon from Monday 09-28, with 09-29, 09-30 and 10-08 left
    assert deadlines.due_soon_from(CAL, date(2026, 10, 8)) == date(2026, 9, 28)
    assert deadlines.status(CAL, date(2026, 10, 8), date(2026, 9, 27)) is None
    assert deadlines.status(CAL, date(2026, 10, 8), date(2026, 9, 28)) == deadlines.DUE_SOON


def test_reached_lists_every_alert_whose_day_has_come():
    assert deadlines.reached(CAL, date(2026, 11, 27), date(2026, 11, 23)) == []
    assert deadlines.reached(CAL, date(2026, 11, 27), date(2026, 11, 24)) == ["due_soon"]
    assert deadlines.reached(CAL, date(2026, 11, 27), date(2026, 11, 28)) == ["due_soon", "overdue"]
    assert deadlines.reached(CAL, date(2026, 11, 27), date(2026, 12, 7)) == ["due_soon", "overdue", "escalated"]
    assert deadlines.status(CAL, None, date(2026, 11, 28)) is None
