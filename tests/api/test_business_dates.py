"""Business dates (domain.md, "Business dates"): every step and case creation takes `decided_on`, the day the
act took place; today passes and tomorrow is `decided_on_future`; the previous step's day passes and the day
before it is `decided_on_out_of_order`; the entry keeps it, hashed, beside the recording time."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

import audit
from audit import AuditEntry, canonical_json, entry_hash
from audit.chain import format_at
from tests.support import Clock
from workflow import Case

TODAY = date(2026, 11, 20)


@pytest.fixture
def clock() -> Clock:
    return Clock(TODAY)


@pytest.fixture
def app_config(app_config, clock):
    return {**app_config, "UNIONFLOW_CLOCK": clock}


def codes(resp) -> list[str]:
    return [r["code"] for r in resp.get_json()["error"]["reasons"]]


def create(api, who, decided_on=None, expect=201, **extra):
    body = {"workflow": "sample", "org": who.org, "data": {"title": "报销"}, **extra}
    if decided_on is not None:
        body["decided_on"] = decided_on
    resp = api.post("/cases", who, body)
    assert resp.status_code == expect, resp.get_json()
    return resp


def event(api, who, case_id, trigger, data=None, decided_on=None, expect=200, **extra):
    body = {"trigger": trigger, "data": data or {}, **extra}
    if decided_on is not None:
        body["decided_on"] = decided_on
    resp = api.post(f"/cases/{case_id}/events", who, body)
    assert resp.status_code == expect, resp.get_json()
    return resp


def count_cases(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Case))


def entries(api, who, case_id):
    resp = api.get(f"/cases/{case_id}/audit", who)
    assert resp.status_code == 200
    return resp.get_json()["entries"]


def test_a_case_opened_today_passes_and_one_dated_tomorrow_is_refused(api, tree, db):
    prep = tree["prep"]
    resp = create(api, prep, (TODAY + timedelta(days=1)).isoformat(), expect=422)
    assert resp.get_json()["error"]["code"] == "guard_failed"
    assert codes(resp) == ["decided_on_future"]
    assert "2026-11-21" in resp.get_json()["error"]["reasons"][0]["message"]
    assert count_cases(db) == 0
    case = create(api, prep, TODAY.isoformat()).get_json()
    assert case["decided_on"] == "2026-11-20"
    assert [e["decided_on"] for e in entries(api, prep, case["id"])] == ["2026-11-20"]


def test_without_decided_on_the_business_date_is_today_in_the_profiles_zone(api, tree):
    case = create(api, tree["prep"]).get_json()
    assert case["decided_on"] == TODAY.isoformat()
    [entry] = entries(api, tree["prep"], case["id"])
    assert entry["decided_on"] == TODAY.isoformat() and entry["at"].endswith("Z")


@pytest.mark.parametrize("bad", ["2026-11-31", "20261120", "2026/11/20", "2026-11-2", 20261120, True, [], "明天"])
def test_a_malformed_business_date_is_invalid_input_naming_the_field(api, tree, db, bad):
    resp = create(api, tree["prep"], bad, expect=400)
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_input" and "decided_on" in error["fields"]
    assert count_cases(db) == 0


def test_a_malformed_business_date_is_reported_with_the_steps_other_field_errors(api, tree, make_case):
    case = make_case(tree["prep"])
    resp = event(api, tree["prep"], case["id"], "submit", {"amount": "many"}, decided_on="2026-13-01", expect=400)
    assert set(resp.get_json()["error"]["fields"]) == {"decided_on", "amount"}


def test_a_step_on_the_previous_steps_day_passes_and_the_day_before_is_out_of_order(api, tree, clock):
    prep = tree["prep"]
    case = create(api, prep, "2026-11-10").get_json()
    clock.today = TODAY + timedelta(days=3)  # recorded days later
    resp = event(api, prep, case["id"], "submit", {"amount": 50}, decided_on="2026-11-09", expect=422)
    assert codes(resp) == ["decided_on_out_of_order"]
    assert "2026-11-10" in resp.get_json()["error"]["reasons"][0]["message"]
    body = event(api, prep, case["id"], "submit", {"amount": 50}, decided_on="2026-11-10").get_json()
    assert (body["state"], body["version"], body["decided_on"]) == ("submitted", 2, "2026-11-10")


def test_a_step_dated_today_passes_and_tomorrow_is_refused_with_every_other_reason_and_nothing_changes(api, tree, clock):
    prep = tree["prep"]
    case = create(api, prep).get_json()
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    resp = event(api, prep, case["id"], "submit", {"amount": 5000, "note": "rude"}, decided_on=tomorrow, expect=422)
    assert codes(resp) == ["decided_on_future", "amount_too_large", "note_impolite"]
    after = api.get(f"/cases/{case['id']}", prep).get_json()
    assert (after["state"], after["version"], after["decided_on"]) == ("draft", 1, TODAY.isoformat())
    assert len(entries(api, prep, case["id"])) == 1
    body = event(api, prep, case["id"], "submit", {"amount": 50}, decided_on=TODAY.isoformat()).get_json()
    assert body["state"] == "submitted"
    # the next day tomorrow has come
    clock.today = TODAY + timedelta(days=1)
    assert event(api, tree["fed"], case["id"], "approve", decided_on=tomorrow).get_json()["decided_on"] == tomorrow


def test_the_entry_keeps_the_business_date_hashed_beside_the_recording_time(api, tree, clock, db, engine):
    prep = tree["prep"]
    case = create(api, prep, "2026-11-02").get_json()
    event(api, prep, case["id"], "submit", {"amount": 50}, decided_on="2026-11-03")
    shown = entries(api, prep, case["id"])
    assert [e["decided_on"] for e in shown] == ["2026-11-02", "2026-11-03"]
    with db.read() as session:
        rows = audit.entries_for(session, "case", str(case["id"]))
        assert [json.loads(r.data)["decided_on"] for r in rows] == ["2026-11-02", "2026-11-03"]
        row = rows[-1]
        fields = dict(seq=row.seq, at=format_at(row.at), actor=row.actor, role=row.role,
                      subject_type=row.subject_type, subject_id=row.subject_id, trigger=row.trigger,
                      from_state=row.from_state, to_state=row.to_state, version=row.version, comment=row.comment,
                      prev_hash=row.prev_hash)
        assert entry_hash(**fields, data=row.data) == row.hash
        # another business date would be another hash: verification covers it
        other = {**json.loads(row.data), "decided_on": "2026-11-04"}
        assert entry_hash(**fields, data=canonical_json(other)) != row.hash
        assert audit.verify(session, lambda: engine.subjects(session)).ok


def test_an_entry_written_before_business_dates_takes_the_local_day_it_was_recorded(api, tree, db):
    case = create(api, tree["prep"]).get_json()
    with db.write() as session:  # as an older release wrote an entry: no decided_on in its data
        audit.append(session, actor="prep", role="preparer", subject_type="case", subject_id=str(case["id"]),
                     trigger="noted", from_state="draft", to_state="draft", version=1, data={})
    old = entries(api, tree["prep"], case["id"])[-1]
    at = datetime.fromisoformat(old["at"].replace("Z", "+00:00"))
    assert old["decided_on"] == at.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def test_unknown_top_level_fields_are_still_refused(api, tree):
    resp = create(api, tree["prep"], expect=400, decided="2026-11-20")
    assert "decided" in resp.get_json()["error"]["fields"]
