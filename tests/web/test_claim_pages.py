"""The pages of who handles a decision: on the case page 办理人 and the buttons 认领 / 释放 / 指派给…, a refusal
explained in place; the review queue's 办理人 column; 我的代理, where a user sets a substitute for a period and
ends it; the case history naming both the substitute and the one they stood in for (王芳（代李明）)."""
from __future__ import annotations

import re
import pytest

from services.accounts import create_user


@pytest.fixture
def app_config(app_config, clock):
    return {**app_config, "UNIONFLOW_CLOCK": clock}


@pytest.fixture
def people(db, tree):
    """Two reviewers of FED with names: 李明 and 王芳."""
    with db.write() as session:
        for username, name in (("li_ming", "李明"), ("wang_fang", "王芳")):
            create_user(session, username=username, password="correct-horse-1", role="reviewer", org="FED",
                        display_name=name)
    return tree


@pytest.fixture
def login(app):
    def make(username: str):
        client = app.test_client()
        assert client.post("/login", data={"username": username, "password": "correct-horse-1"}).status_code == 302
        return client
    return make


@pytest.fixture
def submitted(people, make_case, fire):
    case_id = make_case(people["prep"])["id"]
    fire(people["prep"], case_id, "submit", {"amount": 7})
    return case_id


def text(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def version(api, tree, case_id) -> str:
    return str(api.get(f"/cases/{case_id}", tree["fed"]).get_json()["version"])


def test_claiming_on_the_case_page(api, people, login, submitted):
    li, wang = login("li_ming"), login("wang_fang")
    page = li.get(f"/cases/{submitted}")
    assert "办理人： 未认领" in text(page) and 'action="/cases/%d/claim"' % submitted in page.get_data(as_text=True)
    assert li.post(f"/cases/{submitted}/claim", data={"version": version(api, people, submitted)}).status_code == 302
    assert "办理人： 李明（您）" in text(li.get(f"/cases/{submitted}"))
    page = wang.get(f"/cases/{submitted}")
    shown = text(page)
    assert "办理人： 李明" in shown and "此事项已由李明认领办理" in shown  # the approval explains why not
    assert f'/cases/{submitted}/claim"' not in page.get_data(as_text=True)
    # claiming anyway is refused in place, naming the holder
    resp = wang.post(f"/cases/{submitted}/claim", data={"version": version(api, people, submitted)})
    assert resp.status_code == 403 and "此事项已由李明认领办理" in text(resp)
    resp = wang.post(f"/cases/{submitted}/steps/approve",
                     data={"version": version(api, people, submitted), "confirm": "yes"})
    assert resp.status_code == 403 and "此事项已由李明认领办理" in text(resp)
    # released, it is anyone's again
    assert li.post(f"/cases/{submitted}/release", data={"version": version(api, people, submitted)}).status_code == 302
    assert "办理人： 未认领" in text(wang.get(f"/cases/{submitted}"))


def test_a_stale_claim_is_explained(api, people, login, submitted):
    resp = login("li_ming").post(f"/cases/{submitted}/claim", data={"version": "1"})
    assert resp.status_code == 409 and "案件已被他人更新" in text(resp)


def test_assigning_on_the_case_page(api, people, login, submitted):
    li = login("li_ming")
    page = li.get(f"/cases/{submitted}").get_data(as_text=True)
    options = re.findall(r'<option[^>]*value="([^"]+)"', page.split('name="user"', 1)[1].split("</select>", 1)[0])
    assert set(options) == {"fed", "fed_b", "wang_fang"}  # FED's other reviewers: not the town's, not the auditor
    resp = li.post(f"/cases/{submitted}/assign", data={"user": "wang_fang", "version": version(api, people, submitted)})
    assert resp.status_code == 302
    assert "办理人： 王芳" in text(li.get(f"/cases/{submitted}"))
    resp = li.post(f"/cases/{submitted}/assign", data={"user": "town", "version": version(api, people, submitted)})
    assert resp.status_code == 403 and "此事项已由王芳认领办理" in text(resp)  # it is 王芳's to hand on now
    resp = login("wang_fang").post(f"/cases/{submitted}/assign",
                                   data={"user": "town", "version": version(api, people, submitted)})
    assert resp.status_code == 422 and "只能指派给本组织的同事" in text(resp)


def test_the_queue_shows_who_handles_each_case(api, people, login, submitted, make_case, fire):
    li = login("li_ming")
    assert "未认领" in text(login("fed").get("/review"))
    li.post(f"/cases/{submitted}/claim", data={"version": version(api, people, submitted)})
    queue = text(login("fed").get("/review"))
    assert "办理人" in queue and "李明" in queue and "未认领" not in queue


def test_the_delegation_page_sets_lists_and_ends_a_delegation(api, people, login, clock):
    li = login("li_ming")
    page = li.get("/delegations")
    assert page.status_code == 200 and "我的代理" in text(page)
    assert 'value="wang_fang"' in page.get_data(as_text=True) and 'value="town"' not in page.get_data(as_text=True)
    assert "我的代理" in text(li.get("/"))  # under the user's menu
    resp = li.post("/delegations", data={"to": "wang_fang", "starts_on": "2026-11-23", "ends_on": "2026-11-22"})
    assert resp.status_code == 422 and "代理结束日期（2026-11-22）不能早于开始日期（2026-11-23）" in text(resp)
    resp = li.post("/delegations", data={"to": "wang_fang", "starts_on": "2026/11/23", "ends_on": "2026-11-27"})
    assert resp.status_code == 400 and "应为日期（YYYY-MM-DD）" in text(resp)
    resp = li.post("/delegations", data={"to": "li_ming", "starts_on": "2026-11-23", "ends_on": "2026-11-27"})
    assert resp.status_code == 422 and "不能委托给自己代理" in text(resp)
    assert li.post("/delegations", data={"to": "wang_fang", "starts_on": "2026-11-20",
                                         "ends_on": "2026-11-27"}).status_code == 302
    page = text(li.get("/delegations"))
    assert "王芳" in page and "2026-11-20 至 2026-11-27" in page and "代理中" in page
    assert "代理中" in text(login("wang_fang").get("/delegations"))  # the substitute sees it too
    assert api.get("/delegations", people["fed"]).get_json()["items"] == []  # nothing of fed's
    ends = re.findall(r'action="(/delegations/\d+/end)"', li.get("/delegations").get_data(as_text=True))
    assert len(ends) == 1
    assert login("wang_fang").post(ends[0]).status_code == 404  # only the delegator ends it
    assert li.post(ends[0]).status_code == 302
    assert "已提前结束" in text(li.get("/delegations"))
    assert li.post(ends[0]).status_code == 409


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_who_never_decides_has_no_delegation_page(login, people, who):
    assert login(who).get("/delegations").status_code == 403


def test_the_history_names_the_substitute_and_the_one_they_stood_in_for(api, people, login, submitted, clock):
    li, wang = login("li_ming"), login("wang_fang")
    li.post(f"/cases/{submitted}/claim", data={"version": version(api, people, submitted)})
    li.post("/delegations", data={"to": "wang_fang", "starts_on": "2026-11-20", "ends_on": "2026-11-20"})
    page = text(wang.get(f"/cases/{submitted}"))
    assert "您正在代理李明" in page
    resp = wang.post(f"/cases/{submitted}/steps/approve",
                     data={"version": version(api, people, submitted), "confirm": "yes"})
    assert resp.status_code == 302, text(resp)
    page = text(wang.get(f"/cases/{submitted}"))
    assert "王芳（代李明）" in page and "认领" in page
