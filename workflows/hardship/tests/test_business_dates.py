"""Business dates in hardship assistance: the review date is the business date of the review, the posting may
not precede it, and the five working days of the posting count to the business date of the submission."""
from __future__ import annotations

from datetime import timedelta

import pytest

from workflows.hardship.tests.support import (  # noqa: F401  (fixtures)
    MONDAY,
    POSTING_ENDS,
    clock,
    config_for,
    founded,
    walk,
)


@pytest.fixture
def app_config(app_config, clock, tmp_path):
    return config_for(app_config, clock, tmp_path)


def codes(resp) -> list[str]:
    return [r["code"] for r in resp.get_json()["error"]["reasons"]]


def step(api, who, case_id, trigger, data=None, decided_on=None, comment=""):
    body = {"trigger": trigger, "data": data or {}, "comment": comment}
    if decided_on is not None:
        body["decided_on"] = decided_on.isoformat()
    return api.post(f"/cases/{case_id}/events", who, body)


def test_a_posting_period_counts_from_a_back_dated_review(api, fire, founded, clock):
    u = founded
    case = walk(api, fire, u, clock, "applied")  # created and submitted on MONDAY
    clock.today = MONDAY + timedelta(days=10)  # the union's committee met on MONDAY; recorded ten days later
    reviewed = step(api, u["ent_rev"], case["id"], "approve_review", decided_on=MONDAY, comment="经工会委员会研究同意")
    assert reviewed.status_code == 200, reviewed.get_json()
    assert reviewed.get_json()["data"]["reviewed_on"] == MONDAY.isoformat()
    # the posting may start on the day of the review, not the day before (the recording day does not count)
    before = step(api, u["ent_rev"], case["id"], "start_posting", {"posted_on": (MONDAY - timedelta(days=1)).isoformat()},
                  decided_on=MONDAY)
    assert codes(before) == ["posted_before_review"]
    # nor after the day the posting was started, though that is before the day it is recorded
    later = step(api, u["ent_rev"], case["id"], "start_posting", {"posted_on": (MONDAY + timedelta(days=1)).isoformat()},
                 decided_on=MONDAY)
    assert codes(later) == ["posted_on_in_future"]
    assert "不能晚于本步骤的办理日期（2026-11-02）" in later.get_json()["error"]["reasons"][0]["message"]
    posted = step(api, u["ent_rev"], case["id"], "start_posting", {"posted_on": MONDAY.isoformat()}, decided_on=MONDAY)
    assert posted.status_code == 200, posted.get_json()
    # five working days after a Monday posting: the next Monday; the Sunday before is one day short
    early = step(api, u["ent_rev"], case["id"], "submit_to_federation", decided_on=POSTING_ENDS - timedelta(days=1),
                 comment="公示期满无异议")
    assert codes(early) == ["posting_period_not_elapsed"]
    done = step(api, u["ent_rev"], case["id"], "submit_to_federation", decided_on=POSTING_ENDS, comment="公示期满无异议")
    assert done.status_code == 200, done.get_json()
    assert (done.get_json()["state"], done.get_json()["decided_on"]) == ("submitted", POSTING_ENDS.isoformat())
    audit = api.get(f"/cases/{case['id']}/audit", u["ent_rev"]).get_json()["entries"]
    assert [e["decided_on"] for e in audit[-3:]] == [MONDAY.isoformat(), MONDAY.isoformat(), POSTING_ENDS.isoformat()]


def test_a_review_recorded_today_without_a_date_is_dated_today(api, fire, founded, clock):
    u = founded
    case = walk(api, fire, u, clock, "applied")
    clock.today = MONDAY + timedelta(days=3)
    reviewed = step(api, u["ent_rev"], case["id"], "approve_review", comment="同意")
    assert reviewed.get_json()["data"]["reviewed_on"] == clock.today.isoformat()
    # so a posting from MONDAY would precede the review
    early = step(api, u["ent_rev"], case["id"], "start_posting", {"posted_on": MONDAY.isoformat()})
    assert codes(early) == ["posted_before_review"]
