"""Concurrent attempts at the same step: exactly one goes through, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from audit import AuditEntry


def _race(app, who, case_id: int, body: dict, n: int = 20) -> list[int]:
    barrier = threading.Barrier(n)
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt() -> None:
        client = app.test_client()
        barrier.wait()
        resp = client.post(f"/api/v1/cases/{case_id}/events", json=body, headers=who.headers)
        with lock:
            statuses.append(resp.status_code)

    threads = [threading.Thread(target=attempt) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return statuses


def _entries(db, case_id: int, trigger: str) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.subject_id == str(case_id), AuditEntry.trigger == trigger))


def test_twenty_threads_fire_the_same_step_once(app, db, tree, make_case):
    case = make_case(tree["prep"])
    statuses = _race(app, tree["prep"], case["id"], {"trigger": "submit", "data": {"amount": 7}})
    assert sorted(statuses) == [200] + [409] * 19
    assert _entries(db, case["id"], "submit") == 1


def test_twenty_threads_with_the_same_version_once(app, db, tree, make_case):
    case = make_case(tree["prep"])
    statuses = _race(app, tree["prep"], case["id"], {"trigger": "submit", "data": {"amount": 7}, "version": 1})
    assert sorted(statuses) == [200] + [409] * 19
    assert _entries(db, case["id"], "submit") == 1


def test_concurrent_steps_on_different_cases_keep_one_chain(app, db, engine, make_org, make_user):
    """Appends from many cases at once never fork the hash chain."""
    import audit

    make_org("FED", "federation")
    users = []
    for i in range(8):
        make_org(f"E{i}", "enterprise", "FED")
        users.append(make_user(f"p{i}", "preparer", f"E{i}"))
    client = app.test_client()
    ids = []
    for u in users:
        resp = client.post("/api/v1/cases", json={"workflow": "sample", "org": u.org}, headers=u.headers)
        ids.append(resp.get_json()["id"])
    barrier = threading.Barrier(len(users))
    results: list[int] = []

    def go(u, case_id):
        c = app.test_client()
        barrier.wait()
        results.append(c.post(f"/api/v1/cases/{case_id}/events", json={"trigger": "submit", "data": {"amount": 1}},
                              headers=u.headers).status_code)

    threads = [threading.Thread(target=go, args=(u, i)) for u, i in zip(users, ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [200] * len(users)
    with db.read() as session:
        result = audit.verify(session, lambda: engine.subjects(session))
    assert result.ok, result.first_bad
