"""The same objection (异议) sent twice within a few seconds is recorded once: a self-loop step without a
version is idempotent for the profile's `repeat_window_seconds`, through the API and the page, across
threads; a different actor, comment or text, a version, or the window's end makes a new entry."""
from __future__ import annotations

import shutil
import threading
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import func, select

from audit import AuditEntry
from definitions.loader import PROFILES_DIR
from tests.support import SAMPLE_PACKAGE, Api
from workflow import checked_catalog
from workflows.hardship.tests.support import clock, config_for, founded, walk  # noqa: F401  (fixtures)

WINDOW = 10  # repeat_window_seconds of the default profile


@pytest.fixture
def app_config(app_config, clock, tmp_path):
    return config_for(app_config, clock, tmp_path)


@pytest.fixture
def posting(api, fire, founded, clock):
    return walk(api, fire, founded, clock, "posting")


def objections(db, case_id: int) -> list[AuditEntry]:
    with db.read() as session:
        return list(session.scalars(select(AuditEntry).where(
            AuditEntry.subject_type == "case", AuditEntry.subject_id == str(case_id),
            AuditEntry.trigger == "object").order_by(AuditEntry.seq)))


def entry_count(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry))


def post(api, who, case_id: int, body: dict):
    return api.post(f"/cases/{case_id}/events", who, body)


def test_the_same_objection_twice_is_recorded_once(api, founded, posting, db):
    cid, body = posting["id"], {"trigger": "object", "data": {"text": "申请人配偶有经营收入"}}
    first = post(api, founded["prep2"], cid, body)
    assert first.status_code == 200
    before = entry_count(db)
    again = post(api, founded["prep2"], cid, body)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()  # the same answer: version, data, the one objection
    assert len(again.get_json()["data"]["objections"]) == 1
    assert entry_count(db) == before and len(objections(db, cid)) == 1
    assert api.get("/audit/verify", founded["auditor"]).get_json()["ok"] is True


@pytest.mark.parametrize("second", [
    pytest.param({"who": "ent_rev"}, id="another actor"),
    pytest.param({"text": "申请人另有房产出租"}, id="another text"),
    pytest.param({"comment": "电话反映"}, id="a comment"),
])
def test_a_different_request_is_a_new_objection(api, founded, posting, db, second):
    cid = posting["id"]
    first = {"trigger": "object", "data": {"text": "申请人配偶有经营收入"}}
    assert post(api, founded["prep2"], cid, first).status_code == 200
    body = {"trigger": "object", "data": {"text": second.get("text", "申请人配偶有经营收入")}}
    if "comment" in second:
        body["comment"] = second["comment"]
    resp = post(api, founded[second.get("who", "prep2")], cid, body)
    assert resp.status_code == 200 and len(resp.get_json()["data"]["objections"]) == 2
    assert len(objections(db, cid)) == 2


def test_with_a_version_the_second_is_stale(api, founded, posting, db):
    """api.md: a given version applies only to that version, repeated or not."""
    cid, version = posting["id"], posting["version"]
    body = {"trigger": "object", "data": {"text": "申请人配偶有经营收入"}, "version": version}
    assert post(api, founded["prep2"], cid, body).status_code == 200
    stale = post(api, founded["prep2"], cid, body)
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "stale_version"
    assert len(objections(db, cid)) == 1


def test_only_the_last_entry_counts(api, founded, posting, db):
    """A, B, A: the third repeats the first but not the last entry, so it is a new objection."""
    cid = posting["id"]
    a, b = ({"trigger": "object", "data": {"text": t}} for t in ("第一条异议", "第二条异议"))
    for body in (a, b, a):
        assert post(api, founded["prep2"], cid, body).status_code == 200
    assert len(objections(db, cid)) == 3


@pytest.mark.parametrize("after, recorded", [
    (timedelta(seconds=WINDOW) - timedelta(microseconds=1), 1),
    (timedelta(seconds=WINDOW), 2),
])
def test_the_window_at_its_bound(api, founded, posting, db, monkeypatch, after, recorded):
    import workflow.engine

    cid, body = posting["id"], {"trigger": "object", "data": {"text": "申请人配偶有经营收入"}}
    assert post(api, founded["prep2"], cid, body).status_code == 200
    [entry] = objections(db, cid)
    monkeypatch.setattr(workflow.engine, "utcnow", lambda: entry.at + after)
    assert post(api, founded["prep2"], cid, body).status_code == 200
    assert len(objections(db, cid)) == recorded


def test_a_profile_turns_it_off(app_config, api, fire, founded, clock, db, tmp_path):
    from web import create_app

    profiles = tmp_path / "profiles"
    shutil.copytree(PROFILES_DIR, profiles)
    (profiles / "strict.yaml").write_text(yaml.safe_dump({
        "name": "strict", "title": {"zh": "每次都记录", "en": "Record every time"}, "extends": "default",
        "params": {"common": {"repeat_window_seconds": 0}}}, allow_unicode=True), encoding="utf-8")
    other = create_app({**app_config, "UNIONFLOW_PROFILE": "strict", "UNIONFLOW_CATALOG": checked_catalog(
        profiles_dir=profiles, extra=(SAMPLE_PACKAGE,))})
    try:
        strict = Api(other.test_client())

        def fire_strict(who, case_id, trigger, data=None, comment=None, version=None, expect=200):
            body = {"trigger": trigger, "data": data or {}, **({"comment": comment} if comment is not None else {})}
            resp = strict.post(f"/cases/{case_id}/events", who, body)
            assert resp.status_code == expect, resp.get_json()
            return resp.get_json()

        case = walk(strict, fire_strict, founded, clock, "posting")
        assert case["profile"] == "strict"
        body = {"trigger": "object", "data": {"text": "申请人配偶有经营收入"}}
        for _ in range(2):
            assert strict.post(f"/cases/{case['id']}/events", founded["prep2"], body).status_code == 200
        assert len(objections(db, case["id"])) == 2
    finally:
        other.extensions["unionflow.db"].dispose()


def test_ten_identical_concurrent_objections_record_one(app, founded, posting, db):
    cid, n = posting["id"], 10
    barrier = threading.Barrier(n)
    answers: list[tuple[int, int]] = []
    lock = threading.Lock()

    def attempt() -> None:
        client = app.test_client()
        barrier.wait()
        resp = client.post(f"/api/v1/cases/{cid}/events", headers=founded["prep2"].headers,
                           json={"trigger": "object", "data": {"text": "申请人配偶有经营收入"}})
        with lock:
            answers.append((resp.status_code, resp.get_json()["version"]))

    threads = [threading.Thread(target=attempt) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [(200, posting["version"] + 1)] * n
    assert len(objections(db, cid)) == 1


def test_the_objection_page_sent_twice_records_one(app, api, founded, posting, db):
    cid = posting["id"]
    clerk = app.test_client()
    assert clerk.post("/login", data={"username": "prep2", "password": "correct-horse-1"}).status_code == 302
    form = {"text": "职工张某反映：申请人配偶有经营收入"}  # a form sent without the case's version
    for _ in range(2):
        resp = clerk.post(f"/hardship/{cid}/objections/new", data=form)
        assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{cid}#objections")
    assert len(objections(db, cid)) == 1
    assert [o["id"] for o in api.get(f"/cases/{cid}", founded["prep2"]).get_json()["data"]["objections"]] == [1]
    # the page with its version: the double post's second answer is the stale version, nothing recorded
    version = str(posting["version"] + 1)
    other = {"text": "家中另有房产出租", "version": version}
    assert clerk.post(f"/hardship/{cid}/objections/new", data=other).status_code == 302
    assert clerk.post(f"/hardship/{cid}/objections/new", data=other).status_code == 409
    assert len(objections(db, cid)) == 2
