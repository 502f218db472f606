"""批量审批 on the review queue: a box per row the reviewer may decide now, 全选本页, 批量同意 / 批量退回, a
confirmation listing the cases before anything is done, and a page saying what happened to each case; CSRF on
both forms, the versions those of the queue's rows."""
from __future__ import annotations

import re

import pytest

from tests.api.test_bulk import applied, entries, rows  # noqa: F401  (applied: a fixture)

from .ui_support import PASSWORD, text_of


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'type="hidden" name="csrf_token" value="([^"]+)"', page)
    return found.group(1)


@pytest.fixture
def fed(client, tree):
    token = csrf(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"username": "fed", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302
    return client


def picks(cases) -> list[str]:
    return [f"{c['id']}:{c['version']}" for c in cases]


def test_the_queue_offers_a_box_for_each_case_the_reviewer_may_decide(fed, tree, applied, fire, make_case):
    cases = applied(2)
    # a case waiting for its preparer is no decision of the reviewer's: it is not in the queue at all; one of a
    # town union's (ENT-M, 30 employees) is decided there, not here
    make_case(tree["prep_m"], "founding")
    page = fed.get("/review").get_data(as_text=True)
    boxes = re.findall(r'name="case" value="([^"]+)"', page)
    assert sorted(boxes) == sorted(picks(cases))
    assert "全选本页" in page and 'id="bulk-all"' in page and "批量同意" in page and "批量退回" in page
    assert re.search(r'<form method="post" action="/review/bulk"', page) and 'name="csrf_token"' in page
    assert 'src="/static/bulk.js"' in page
    english = fed.get("/review?lang=en").get_data(as_text=True)
    assert "Select all on this page" in english and "Approve selected" in english and "Return selected" in english
    # supervision decides nothing here: no boxes
    assert 'name="case"' not in fed.get("/supervision").get_data(as_text=True)


def test_select_confirm_and_see_what_happened_to_each_case(fed, api, db, tree, applied, fire):
    a, b, c = applied(3)
    queue = fed.get("/review").get_data(as_text=True)
    token = csrf(queue)
    # without the CSRF token nothing is even asked
    refused = fed.post("/review/bulk", data={"case": picks([a, b, c]), "way": "forward"})
    assert refused.status_code == 400 and "表单已过期" in text_of(refused)

    before = entries(db)
    confirm = fed.post("/review/bulk", data={"csrf_token": token, "case": picks([a, b, c]), "way": "forward"})
    assert confirm.status_code == 200
    shown = text_of(confirm)
    assert "确认批量同意" in shown and "以下 3 件案件将逐件办理“同意候选人”" in shown
    for i in (1, 2, 3):
        assert f"第{i}企业" in shown
    page = confirm.get_data(as_text=True)
    assert re.search(r'name="trigger" type="hidden" value="approve_candidates"', page)
    assert sorted(re.findall(r'name="case" value="([^"]+)"', page)) == sorted(picks([a, b, c]))
    assert entries(db) == before  # nothing done by the confirmation page
    assert {s for s, _v in rows(db, [a["id"], b["id"], c["id"]]).values()} == {"candidates_submitted"}

    # meanwhile a colleague decides c: its version moves on
    fire(tree["fed_b"], c["id"], "approve_candidates")
    form = {"csrf_token": csrf(page), "case": picks([a, b, c]), "action": "forward", "trigger": "approve_candidates",
            "comment": "材料齐全，同意筹建"}
    refused = fed.post("/review/bulk/decide", data={k: v for k, v in form.items() if k != "csrf_token"})
    assert refused.status_code == 400 and entries(db) == before + 1

    done = fed.post("/review/bulk/decide", data=form)
    assert done.status_code == 200
    shown = text_of(done)
    assert "成功 2 件，失败 1 件。" in shown
    html = done.get_data(as_text=True)
    for case in (a, b):
        row = re.search(rf'<tr class="ok" id="result-{case["id"]}">(.*?)</tr>', html, re.S).group(1)
        assert "成功" in row and "候选人已审查同意" in row and f'href="/cases/{case["id"]}"' in row
    row = re.search(rf'<tr class="failed" id="result-{c["id"]}">(.*?)</tr>', html, re.S).group(1)
    assert "失败" in row and "第3企业" in row and "案件已被他人更新，请刷新后重试" in row
    assert f'href="/cases/{c["id"]}"' in row
    assert entries(db) == before + 3
    trail = api.get(f"/cases/{a['id']}/audit", tree["auditor"]).get_json()["entries"]
    assert (trail[-1]["trigger"], trail[-1]["actor"], trail[-1]["comment"]) == (
        "approve_candidates", "fed", "材料齐全，同意筹建")
    assert api.get("/audit/verify", tree["auditor"]).get_json()["ok"] is True


def test_select_all_on_the_page_works_without_the_script(fed, db, applied):
    cases = applied(2)
    queue = fed.get("/review").get_data(as_text=True)
    # 全选本页 ticked, no row box: every row the page offered
    confirm = fed.post("/review/bulk", data={"csrf_token": csrf(queue), "all": "1", "way": "forward",
                                             "page_case": re.findall(r'name="page_case" value="([^"]+)"', queue)})
    page = confirm.get_data(as_text=True)
    assert sorted(re.findall(r'name="case" value="([^"]+)"', page)) == sorted(picks(cases))


def test_a_bulk_return_needs_its_one_reason(fed, api, db, tree, applied):
    a, b = applied(2)
    token = csrf(fed.get("/review").get_data(as_text=True))
    confirm = fed.post("/review/bulk", data={"csrf_token": token, "case": picks([a, b]), "way": "back"})
    page = confirm.get_data(as_text=True)
    assert "确认批量退回" in text_of(confirm) and "退回理由（必填）" in text_of(confirm)
    assert re.search(r'name="trigger" type="hidden" value="return_candidates"', page)
    before = entries(db)
    form = {"csrf_token": csrf(page), "case": picks([a, b]), "action": "back", "trigger": "return_candidates"}
    empty = fed.post("/review/bulk/decide", data={**form, "comment": "  "})
    assert empty.status_code == 400 and "批量退回须填写退回理由。" in text_of(empty)
    assert entries(db) == before
    done = fed.post("/review/bulk/decide", data={**form, "comment": "筹备组成员名单不全，请补充"})
    assert "成功 2 件，失败 0 件。" in text_of(done)
    for case in (a, b):
        got = api.get(f"/cases/{case['id']}", tree["fed"]).get_json()
        assert got["state"] == "members_recruited"
    entry = api.get(f"/cases/{a['id']}/audit", tree["auditor"]).get_json()["entries"][-1]
    assert (entry["trigger"], entry["comment"]) == ("return_candidates", "筹备组成员名单不全，请补充")


def test_cases_that_share_no_decision_are_not_offered_one(fed, db, tree, applied, fire):
    a, b = applied(2)
    moved = fire(tree["fed"], b["id"], "approve_candidates")  # b now waits for its preparer
    token = csrf(fed.get("/review").get_data(as_text=True))
    confirm = fed.post("/review/bulk", data={"csrf_token": token, "way": "forward",
                                             "case": [f"{a['id']}:{a['version']}", f"{b['id']}:{moved['version']}"]})
    shown = text_of(confirm)
    assert "所选案件没有共同的可批量办理的操作" in shown and "此案件当前没有可批量办理的这类操作" in shown
    assert "确认批量同意" not in re.sub(r"<h1>.*?</h1>|<title>.*?</title>", "", confirm.get_data(as_text=True))


def test_nothing_selected_and_bad_selections(fed, db, applied):
    a = applied(1)[0]
    token = csrf(fed.get("/review").get_data(as_text=True))
    nothing = fed.post("/review/bulk", data={"csrf_token": token, "way": "forward"})
    assert nothing.status_code == 302 and nothing.headers["Location"].endswith("/review")
    assert "请先勾选要办理的案件。" in text_of(fed.get("/review"))
    token = csrf(fed.get("/review").get_data(as_text=True))
    for data in ({"case": ["abc"], "way": "forward"}, {"case": [f"{a['id']}:1", f"{a['id']}:2"], "way": "forward"},
                 {"case": [f"{a['id']}:{a['version']}"], "way": "sideways"},
                 {"case": [f"{i}:1" for i in range(1, 102)], "way": "forward"}):
        resp = fed.post("/review/bulk", data={"csrf_token": token, **data})
        assert resp.status_code == 400, data
    before = entries(db)
    too_many = fed.post("/review/bulk/decide", data={"csrf_token": token, "action": "forward",
                                                     "trigger": "approve_candidates",
                                                     "case": [f"{a['id']}:{a['version']}"] +
                                                             [f"{i}:1" for i in range(900, 1000)]})
    assert too_many.status_code == 400 and "一次最多批量办理100件" in text_of(too_many)
    assert entries(db) == before


def test_only_reviewers_decide_in_bulk(client, tree, applied):
    a = applied(1)[0]
    token = csrf(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": "auditor", "password": PASSWORD, "csrf_token": token})
    token = csrf(client.get("/cases").get_data(as_text=True))
    for path in ("/review/bulk", "/review/bulk/decide"):
        resp = client.post(path, data={"csrf_token": token, "case": [f"{a['id']}:{a['version']}"], "way": "forward",
                                       "action": "forward", "trigger": "approve_candidates"})
        assert resp.status_code == 403, path
