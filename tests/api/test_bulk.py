"""批量审批 `POST /api/v1/tasks/bulk`: each case through the engine's choke point with its own version, in its own
unit of work; per case the status and error a single step would have answered; a malformed request refused
whole with nothing done; at most 100 cases."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from audit.models import AuditEntry
from web.bulk import BULK_MAX
from workflow import Case
from workflows.founding.tests.flow import walk
from workflows.inspection.tests.test_rules import EXTRA, full_scores

FULL = full_scores(EXTRA["checklist"])


@pytest.fixture
def app_config(app_config):
    from tests.support import Clock

    return {**app_config, "UNIONFLOW_CLOCK": Clock(date(2026, 11, 20))}


def bulk(api, who, body, **kw):
    return api.post("/tasks/bulk", who, body, **kw)


def entries(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry))


def rows(db, ids) -> dict[int, tuple[str, int]]:
    with db.read() as session:
        return {c.id: (c.state, c.version) for c in session.scalars(select(Case).where(Case.id.in_(ids)))}


def trail_length(db, case_id: int) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.subject_type == "case", AuditEntry.subject_id == str(case_id)))


@pytest.fixture
def applied(api, tree, make_org, make_user, make_case, fire):
    """`applied(n)`: n founding cases of enterprises of 60 under FED, each with its candidates posted and waiting for
    FED's approval of them (a decision that takes no data; the application's approval takes a 文号 per case)."""
    made = iter(range(1, 1000))

    def do(n: int) -> list[dict]:
        out = []
        for _ in range(n):
            i = next(made)
            make_org(f"E{i}", "enterprise", "FED", employees=60, female_employees=20, name=f"第{i}企业")
            prep = make_user(f"p{i}", "preparer", f"E{i}")
            case_id = make_case(prep, "founding")["id"]
            out.append(walk(fire, case_id, "candidates_submitted", prep, tree["fed"]))
        return out

    return do


@pytest.fixture
def inspections(api, tree, make_org, make_user, make_case, fire, found):
    """`inspections(n)`: n inspections of founded unions under FED, evaluated by their members."""
    made = iter(range(1, 1000))

    def do(n: int) -> list[int]:
        out = []
        for _ in range(n):
            i = next(made)
            make_org(f"H{i}", "enterprise", "FED", employees=50, female_employees=20, name=f"职工之家{i}")
            found(f"H{i}", 50)
            prep = make_user(f"hp{i}", "preparer", f"H{i}")
            case_id = make_case(prep, "inspection", data={"year": 2026})["id"]
            fire(prep, case_id, "self_assess", {"scores": FULL})
            fire(prep, case_id, "record_evaluation", {"respondents": 20, "satisfied": 18})
            out.append(case_id)
        return out

    return do


def test_a_mixed_bulk_answers_each_case_as_its_single_step_would(api, db, tree, fire, inspections, make_case, found):
    """评定 (decide) of six inspections by fed_b: two pass; one stale, one invisible, one four-eyes, one not yet
    inspected are refused each with its own status and error, and nothing of theirs changes."""
    ok1, ok2, stale, own, planned = inspections(5)
    for case_id in (ok1, ok2, stale):
        fire(tree["fed"], case_id, "inspect", {"scores": FULL, "vetoes": []})
    fire(tree["fed_b"], own, "inspect", {"scores": FULL, "vetoes": []})  # fed_b may not judge their own scoring
    found("ENT-X", 60)
    outside = make_case(tree["prep_x"], "inspection", data={"year": 2026})["id"]  # FED2's: fed_b cannot see it
    ids = [ok1, stale, outside, own, ok2, planned, 987654]
    before = rows(db, ids)
    trails = {i: trail_length(db, i) for i in ids}
    versions = {i: v for i, (_s, v) in before.items()}
    sent = [{"id": i, "version": versions.get(i, 1) - (1 if i == stale else 0)} for i in ids]

    resp = bulk(api, tree["fed_b"], {"trigger": "decide", "comment": "经集体研究评定", "cases": sent})
    assert resp.status_code == 200, resp.get_json()
    results = resp.get_json()["results"]
    assert [(r["id"], r["status"], r["error"] and r["error"]["code"]) for r in results] == [
        (ok1, 200, None), (stale, 409, "stale_version"), (outside, 404, "not_found"), (own, 403, "four_eyes"),
        (ok2, 200, None), (planned, 409, "invalid_state"), (987654, 404, "not_found")]
    # the error object is the single step's: code, message and reasons
    by_id = {r["id"]: r for r in results}
    assert by_id[stale]["error"]["reasons"][0]["code"] == "stale_version"
    assert by_id[stale]["error"]["message"] == "案件已被他人更新，请刷新后重试"
    assert set(by_id[own]["error"]) >= {"code", "message", "reasons"}
    single = api.post(f"/cases/{own}/events", tree["fed_b"], {"trigger": "decide", "version": versions[own]})
    assert (single.status_code, single.get_json()["error"]) == (403, by_id[own]["error"])
    # an invisible case looks like an unknown one
    assert by_id[outside]["error"] == by_id[987654]["error"]

    after = rows(db, ids)
    for case_id in (ok1, ok2):
        assert after[case_id] == ("passed", before[case_id][1] + 1)
        assert (by_id[case_id]["state"], by_id[case_id]["version"]) == after[case_id]
        assert trail_length(db, case_id) == trails[case_id] + 1
        last = api.get(f"/cases/{case_id}/audit", tree["auditor"]).get_json()["entries"][-1]
        assert (last["trigger"], last["actor"], last["comment"]) == ("decide", "fed_b", "经集体研究评定")
    for case_id in (stale, outside, own, planned):
        assert after[case_id] == before[case_id]
        assert trail_length(db, case_id) == trails[case_id]
    verify = api.get("/audit/verify", tree["auditor"]).get_json()
    assert verify["ok"] is True, verify


def test_bulk_approval_and_return_of_founding_applications(api, db, tree, applied):
    cases = applied(3)
    body = {"trigger": "approve_candidates", "cases": [{"id": c["id"], "version": c["version"]} for c in cases]}
    results = bulk(api, tree["fed"], body).get_json()["results"]
    assert [(r["status"], r["state"]) for r in results] == [(200, "candidates_approved")] * 3
    # the same request again: every version has moved on
    again = bulk(api, tree["fed"], body).get_json()["results"]
    assert [(r["status"], r["error"]["code"]) for r in again] == [(409, "stale_version")] * 3

    back = applied(2)
    picks = [{"id": c["id"], "version": c["version"]} for c in back]
    # a return needs its comment: refused per case as the single step is, nothing done
    no_comment = bulk(api, tree["fed"], {"trigger": "return_candidates", "cases": picks}).get_json()["results"]
    assert [(r["status"], r["error"]["code"], [x["code"] for x in r["error"]["reasons"]]) for r in no_comment] == [
        (400, "invalid_input", ["comment_required"])] * 2
    assert all(state == "candidates_submitted" for state, _v in rows(db, [c["id"] for c in back]).values())
    returned = bulk(api, tree["fed"], {"trigger": "return_candidates", "comment": "请补充筹备组成员名单",
                                       "cases": picks}).get_json()["results"]
    assert [(r["status"], r["state"]) for r in returned] == [(200, "members_recruited")] * 2
    entry = api.get(f"/cases/{back[0]['id']}/audit", tree["auditor"]).get_json()["entries"][-1]
    assert (entry["trigger"], entry["comment"]) == ("return_candidates", "请补充筹备组成员名单")


def test_a_step_of_another_role_or_state_is_refused_as_the_single_step_is(api, db, tree, applied, fire):
    case = applied(1)[0]
    version = fire(tree["fed"], case["id"], "approve_candidates")["version"]
    before = entries(db)
    results = bulk(api, tree["fed"], {"trigger": "register", "cases": [{"id": case["id"], "version": version}]})
    row = results.get_json()["results"][0]
    single = api.post(f"/cases/{case['id']}/events", tree["fed"], {"trigger": "register", "version": version})
    assert (row["status"], row["error"]) == (single.status_code, single.get_json()["error"])
    assert row["status"] == 403  # register is the preparer's
    sanction = bulk(api, tree["fed"], {"trigger": "sanction", "cases": [{"id": case["id"], "version": version}]})
    row = sanction.get_json()["results"][0]
    assert row["status"] == 409 and row["error"]["code"] == "invalid_state"  # not at results_submitted
    assert entries(db) == before


def test_a_step_that_needs_data_is_refused_per_case_naming_the_field(api, db, tree, make_user, make_case, fire):
    from tests.support import audited_org_update
    from workflows.hardship.tests.support import application, household_ids

    with db.write() as session:
        audited_org_update(session, "ENT-L", union_status="founded", member_count=50)
    union = make_user("union_l", "reviewer", "ENT-L")
    ids = []
    for n in (1, 2):
        case_id = make_case(tree["prep"], "hardship", data=application(ids=household_ids(n)))["id"]
        ids.append(fire(tree["prep"], case_id, "submit")["id"])
    # the enterprise union's review takes no data: approved in bulk
    reviewed = bulk(api, union, {"trigger": "approve_review", "comment": "经工会委员会研究同意",
                                 "cases": [{"id": i, "version": 2} for i in ids]}).get_json()["results"]
    assert [(r["status"], r["state"], r["version"]) for r in reviewed] == [(200, "reviewed", 3)] * 2
    before = entries(db)
    resp = bulk(api, union, {"trigger": "start_posting", "cases": [{"id": i, "version": 3} for i in ids]})
    results = resp.get_json()["results"]
    assert [(r["status"], r["error"]["code"], sorted(r["error"]["fields"])) for r in results] == [
        (400, "invalid_input", ["posted_on"])] * 2
    assert entries(db) == before


MALFORMED = [
    ([{"id": 1, "version": 1}], "body"),
    ({"trigger": "approve_candidates"}, "cases"),
    ({"trigger": "approve_candidates", "cases": {"id": 1, "version": 1}}, "cases"),
    ({"trigger": "approve_candidates", "cases": []}, "cases"),
    ({"trigger": "approve_candidates", "cases": [1]}, "cases[0]"),
    ({"trigger": "approve_candidates", "cases": [{"id": "1", "version": 1}]}, "cases[0].id"),
    ({"trigger": "approve_candidates", "cases": [{"id": 1.0, "version": 1}]}, "cases[0].id"),
    ({"trigger": "approve_candidates", "cases": [{"id": True, "version": 1}]}, "cases[0].id"),
    ({"trigger": "approve_candidates", "cases": [{"id": 1}]}, "cases[0].version"),
    ({"trigger": "approve_candidates", "cases": [{"id": 1, "version": None}]}, "cases[0].version"),
    ({"trigger": "approve_candidates", "cases": [{"id": 1, "version": "2"}]}, "cases[0].version"),
    ({"trigger": "approve_candidates", "cases": [{"id": 1, "version": 2, "data": {}}]}, "cases[0].data"),
    ({"cases": [{"id": 1, "version": 2}]}, "trigger"),
    ({"trigger": 7, "cases": [{"id": 1, "version": 2}]}, "trigger"),
    ({"trigger": "approve_candidates", "comment": 5, "cases": [{"id": 1, "version": 2}]}, "comment"),
    ({"trigger": "approve_candidates", "data": {}, "cases": [{"id": 1, "version": 2}]}, "data"),
    ({"trigger": "approve_candidates", "decided_on": "2026-02-30", "cases": [{"id": 1, "version": 2}]},
     "decided_on"),
    ({"trigger": "approve_candidates", "decided_on": 20261110, "cases": [{"id": 1, "version": 2}]}, "decided_on"),
]


@pytest.mark.parametrize("body, field", MALFORMED)
def test_a_malformed_request_is_refused_whole_with_nothing_done(api, db, tree, applied, body, field):
    good = applied(1)[0]
    if isinstance(body, dict) and isinstance(body.get("cases"), list) and body["cases"]:
        # a good case first: it must not be decided when the request as a whole is refused
        body = {**body, "cases": [{"id": good["id"], "version": good["version"]}, *body["cases"]]}
        field = field.replace("cases[0]", "cases[1]")
    before = entries(db)
    resp = bulk(api, tree["fed"], body)
    assert resp.status_code == 400, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_input" and field in error["fields"], error
    assert entries(db) == before and rows(db, [good["id"]])[good["id"]] == ("candidates_submitted", good["version"])


def test_malformed_json_and_a_missing_token(api, tree):
    resp = bulk(api, tree["fed"], None, raw=b'{"trigger": "approve_candidates", "cases": [')
    assert resp.status_code == 400 and resp.get_json()["error"]["fields"]["body"]
    assert bulk(api, None, {"trigger": "x", "cases": [{"id": 1, "version": 1}]}).status_code == 401


def test_one_case_twice_is_refused_whole(api, db, tree, applied):
    a, b = applied(2)
    before = entries(db)
    cases = [{"id": a["id"], "version": a["version"]}, {"id": b["id"], "version": b["version"]},
             {"id": a["id"], "version": a["version"] + 1}]
    resp = bulk(api, tree["fed"], {"trigger": "approve_candidates", "cases": cases})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["fields"] == {"cases[2].id": "与前面的项重复"}
    assert entries(db) == before and {s for s, _v in rows(db, [a["id"], b["id"]]).values()} == {"candidates_submitted"}


def test_at_most_100_cases(api, db, tree, applied):
    real = applied(2)
    picks = [{"id": c["id"], "version": c["version"]} for c in real]
    unknown = [{"id": 900_000 + i, "version": 1} for i in range(BULK_MAX - len(picks))]
    before = entries(db)
    too_many = bulk(api, tree["fed"], {"trigger": "approve_candidates",
                                       "cases": picks + unknown + [{"id": 800_000, "version": 1}]})
    assert too_many.status_code == 413
    error = too_many.get_json()["error"]
    assert error["code"] == "too_many_cases" and error["message"] == "一次最多批量办理100件"
    assert error["fields"] == {"cases": "最多100项"}
    assert entries(db) == before and {s for s, _v in rows(db, [c["id"] for c in real]).values()} == {"candidates_submitted"}

    over = picks + unknown + [{"id": 1, "version": 1}]
    english = bulk(api, tree["fed"], {"trigger": "approve_candidates", "cases": over},
                   headers={"Accept-Language": "en"})
    assert english.get_json()["error"]["message"] == "A bulk decision takes at most 100 cases"

    hundred = bulk(api, tree["fed"], {"trigger": "approve_candidates", "cases": picks + unknown})
    assert hundred.status_code == 200
    results = hundred.get_json()["results"]
    assert len(results) == BULK_MAX == 100
    assert [r["status"] for r in results] == [200, 200] + [404] * 98
    assert entries(db) == before + 2


def test_ids_beyond_the_keys_are_unknown_rows(api, tree, applied):
    case = applied(1)[0]
    resp = bulk(api, tree["fed"], {"trigger": "approve_candidates",
                                   "cases": [{"id": 2**40, "version": 1}, {"id": 0, "version": 1},
                                             {"id": -3, "version": 1}, {"id": case["id"], "version": case["version"]}]})
    assert [r["status"] for r in resp.get_json()["results"]] == [404, 404, 404, 200]


def test_a_role_that_never_decides_is_refused_per_case(api, db, tree, applied):
    case = applied(1)[0]
    pick = [{"id": case["id"], "version": case["version"]}]
    for who, status, code in (("prep", 404, "not_found"), ("auditor", 403, "forbidden"), ("admin", 403, "forbidden"),
                              ("town", 404, "not_found"), ("fed2", 404, "not_found")):
        row = bulk(api, tree[who], {"trigger": "approve_candidates", "cases": pick}).get_json()["results"][0]
        assert (row["status"], row["error"]["code"]) == (status, code), who
    assert rows(db, [case["id"]])[case["id"]] == ("candidates_submitted", case["version"])


def test_a_supervising_federation_is_not_competent_per_case(api, db, tree, make_case, fire):
    """ENT-M's 30 employees: the town union approves; the federation above sees the case but may not decide."""
    case_id = make_case(tree["prep_m"], "founding")["id"]
    version = walk(fire, case_id, "candidates_submitted", tree["prep_m"], tree["town"],
                   record_members={"member_count": 28, "female_member_count": 10})["version"]
    pick = [{"id": case_id, "version": version}]
    row = bulk(api, tree["fed"], {"trigger": "approve_candidates", "cases": pick}).get_json()["results"][0]
    assert (row["status"], row["error"]["code"]) == (403, "not_competent")
    row = bulk(api, tree["town"], {"trigger": "approve_candidates", "cases": pick}).get_json()["results"][0]
    assert (row["status"], row["state"]) == (200, "candidates_approved")


def test_the_business_date_is_each_cases_step(api, db, tree, applied):
    """One decided_on for every case: a day after the application passes, a future one is each case's 422."""
    a, b = applied(2)
    picks = [{"id": c["id"], "version": c["version"]} for c in (a, b)]
    future = bulk(api, tree["fed"], {"trigger": "approve_candidates", "decided_on": "2026-11-21", "cases": picks})
    assert [(r["status"], r["error"]["reasons"][0]["code"]) for r in future.get_json()["results"]] == [
        (422, "decided_on_future")] * 2
    done = bulk(api, tree["fed"], {"trigger": "approve_candidates", "decided_on": "2026-11-20", "cases": picks})
    assert [r["status"] for r in done.get_json()["results"]] == [200, 200]
    assert api.get(f"/cases/{a['id']}", tree["fed"]).get_json()["decided_on"] == "2026-11-20"
