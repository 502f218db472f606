"""Business dates on the pages: every step form and the creation form have the 办理日期 (default today), it is
refused at the same bounds as in the API, and the case history and the audit entry show both dates where the
step took place on another day than it was recorded."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.support import Clock

TODAY = date(2026, 11, 20)


@pytest.fixture
def clock() -> Clock:
    return Clock(TODAY)


@pytest.fixture
def app_config(app_config, clock):
    return {**app_config, "UNIONFLOW_CLOCK": clock}


@pytest.fixture
def login(app):
    def make(username: str):
        client = app.test_client()
        resp = client.post("/login", data={"username": username, "password": "correct-horse-1"})
        assert resp.status_code == 302
        return client

    return make


def text(resp) -> str:
    """What a reader sees, whitespace collapsed (none beside full-width brackets)."""
    seen = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))
    return re.sub(r" ?([（）]) ?", r"\1", seen)


def recorded_day() -> str:
    """The local day the test records its steps (the real clock: entries keep the time of recording)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def test_the_step_form_offers_the_business_date_defaulting_to_today(login, tree, make_case):
    case = make_case(tree["prep"])
    page = login("prep").get(f"/cases/{case['id']}/steps/submit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'<input type="date" id="decided_on" name="decided_on" value="2026-11-20" max="2026-11-20"', html)
    assert 'min="2026-11-20"' in html  # the case was opened today
    assert "办理日期" in html and "不能晚于今天" in html


def test_a_back_dated_step_through_the_form_shows_both_dates(login, tree, make_case, api, clock):
    prep = login("prep")
    created = prep.post("/cases/new/sample", data={"org": "ENT-L", "f_title": "报销", "decided_on": "2026-11-02"})
    assert created.status_code == 302, text(created)
    case_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    # the day before the case was opened is out of order; the form keeps what was typed and says why
    refused = prep.post(f"/cases/{case_id}/steps/submit", data={"f_amount": "50", "decided_on": "2026-11-01",
                                                                "version": "1"})
    assert refused.status_code == 422
    assert "办理日期（2026-11-01）不能早于上一步骤的办理日期（2026-11-02）" in text(refused)
    assert 'value="2026-11-01"' in refused.get_data(as_text=True)
    done = prep.post(f"/cases/{case_id}/steps/submit", data={"f_amount": "50", "decided_on": "2026-11-03",
                                                             "version": "1"})
    assert done.status_code == 302, text(done)
    shown = text(prep.get(f"/cases/{case_id}"))
    recorded = recorded_day()
    assert f"办理日期 2026-11-03（{recorded}" in shown and "录入）" in shown
    assert f"办理日期 2026-11-02（{recorded}" in shown
    english = text(prep.get(f"/cases/{case_id}?lang=en"))
    assert f"Done on 2026-11-03 (recorded {recorded}" in english
    body = api.get(f"/cases/{case_id}", tree["prep"]).get_json()
    assert body["decided_on"] == "2026-11-03"
    # the auditor's entry page shows the business date with the day it was recorded
    auditor = login("auditor")
    entries = api.get(f"/cases/{case_id}/audit", tree["prep"]).get_json()["entries"]
    entry = auditor.get(f"/audit/entries/{entries[-1]['seq']}")
    assert entry.status_code == 200
    assert f"办理日期 2026-11-03（{recorded} 录入）" in text(entry)


def test_a_step_form_dated_tomorrow_is_refused_and_today_passes(login, tree, make_case, api):
    case = make_case(tree["prep"])
    prep = login("prep")
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    refused = prep.post(f"/cases/{case['id']}/steps/submit", data={"f_amount": "50", "decided_on": tomorrow,
                                                                   "version": "1"})
    assert refused.status_code == 422
    assert f"办理日期（{tomorrow}）不能晚于今天（2026-11-20）" in text(refused)
    assert api.get(f"/cases/{case['id']}", tree["prep"]).get_json()["version"] == 1
    done = prep.post(f"/cases/{case['id']}/steps/submit", data={"f_amount": "50", "decided_on": "2026-11-20",
                                                                "version": "1"})
    assert done.status_code == 302


def test_a_malformed_business_date_is_shown_on_the_field(login, tree, make_case):
    case = make_case(tree["prep"])
    resp = login("prep").post(f"/cases/{case['id']}/steps/submit", data={"f_amount": "50", "decided_on": "2026-02-30",
                                                                         "version": "1"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert re.search(r'id="decided_on-err" class="error">应为日期（YYYY-MM-DD）', html)


def test_a_step_recorded_on_its_day_shows_only_the_time(login, tree, make_case, clock):
    clock.today = date.fromisoformat(recorded_day())
    case = make_case(tree["prep"])
    shown = text(login("prep").get(f"/cases/{case['id']}"))
    assert "办理日期" not in shown.split("办理记录")[1].split("基本信息")[0]
