"""The home page per role: the preparer's cases and next steps, the reviewer's queue (oldest first,
overdue marked, filtered, paged), the auditor's recent activity within their subtree, the admin's overview."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from storage import utcnow
from workflow import Case

from .ui_support import login, text_of


def _submitted(make_case, fire, who, amount: int = 10) -> int:
    case = make_case(who, "sample")
    fire(who, case["id"], "submit", {"amount": amount})
    return case["id"]


def test_the_preparer_sees_their_open_cases_and_the_next_step(client, tree, make_case, fire):
    draft = make_case(tree["prep"], "sample")["id"]
    make_case(tree["prep_x"], "sample")  # another federation's: never shown
    login(client, "prep")
    resp = client.get("/")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert f'href="/cases/{draft}"' in page
    assert f'href="/cases/{draft}/steps/submit"' in page  # the next step, as a button
    assert f'/steps/withdraw"' not in page  # a way out is not a next step
    assert "外区企业" not in text_of(resp)
    assert _tiles(page) == {"待我办理": 1, "等待上级审核": 0, "已逾期": 0, "未办结案件": 1}


def _tiles(page: str) -> dict[str, int]:
    return {label: int(n) for n, label in re.findall(r'<strong>(\d+)</strong><span>([^<]+)</span>', page)}


def test_a_case_waiting_for_review_says_for_whom(client, tree, make_case, fire):
    case_id = _submitted(make_case, fire, tree["prep"])
    login(client, "prep")
    text = text_of(client.get("/"))
    assert "等待某区总工会审核" in text
    assert _tiles(client.get("/").get_data(as_text=True)) == {"待我办理": 0, "等待上级审核": 1, "已逾期": 0,
                                                             "未办结案件": 1}
    assert f"/cases/{case_id}/steps/approve" not in client.get("/").get_data(as_text=True)


def test_the_reviewer_queue_is_oldest_first_and_marks_the_overdue(client, tree, make_case, fire, db, engine,
                                                                   monkeypatch):
    newer = _submitted(make_case, fire, tree["prep"])
    older = _submitted(make_case, fire, tree["prep_m"])
    oldest = _submitted(make_case, fire, tree["prep_s"])
    now = utcnow()
    with db.write() as session:
        for case_id, days in ((newer, 1), (older, 5), (oldest, 9)):
            session.execute(update(Case).where(Case.id == case_id).values(state_since=now - timedelta(days=days)))
    monkeypatch.setattr(type(engine), "overdue", lambda self, case, today=None: ["due_on"] if case.id == older else [])
    login(client, "fed")
    page = client.get("/").get_data(as_text=True)
    rows = re.findall(r'<tr( class="overdue")?>\s*<td data-label="[^"]+"><a class="strong" href="/cases/(\d+)"', page)
    assert [int(r[1]) for r in rows] == [oldest, older, newer]
    assert [bool(r[0]) for r in rows] == [False, True, False]
    assert "9天" in text_of(client.get("/"))


def test_the_queue_filters_by_workflow_and_organisation(client, tree, make_case, fire):
    in_town = _submitted(make_case, fire, tree["prep_m"])
    at_fed = _submitted(make_case, fire, tree["prep"])
    login(client, "fed")
    both = client.get("/").get_data(as_text=True)
    assert f'href="/cases/{in_town}"' in both and f'href="/cases/{at_fed}"' in both
    town_only = client.get("/?org=TOWN").get_data(as_text=True)
    assert f'href="/cases/{in_town}"' in town_only and f'href="/cases/{at_fed}"' not in town_only
    founding_only = client.get("/?workflow=founding").get_data(as_text=True)
    assert f'href="/cases/{in_town}"' not in founding_only and "没有等待您审核的案件" in founding_only
    assert client.get("/?org=FED2").status_code == 404  # another federation's subtree
    assert client.get("/?org=NOPE").status_code == 404
    # by name, whole or in part, as a clerk types it
    for typed in ("城关镇工会", "城关"):
        page = client.get(f"/?org={typed}").get_data(as_text=True)
        assert f'href="/cases/{in_town}"' in page and f'href="/cases/{at_fed}"' not in page, typed
    missing = client.get("/?org=外区企业")                      # a name outside the subtree is not found either
    assert missing.status_code == 404
    assert "在您的辖区内没有找到名称或代码为“外区企业”的单位" in missing.get_data(as_text=True)
    several = client.get("/?org=企业")                           # 中型企业, 大型企业
    assert several.status_code == 400
    assert "有多个单位的名称包含“企业”" in several.get_data(as_text=True)


@pytest.mark.parametrize("cases, pages", [(2, 1), (3, 2)])
def test_the_queue_pages_at_its_exact_boundary(client, tree, make_case, fire, monkeypatch, cases, pages):
    import web.pages

    monkeypatch.setattr(web.pages, "PER_PAGE", 2)
    for who in ("prep", "prep_m", "prep_s")[:cases]:
        _submitted(make_case, fire, tree[who])
    login(client, "fed")
    first = client.get("/").get_data(as_text=True)
    assert len(re.findall(r'class="strong" href="/cases/', first)) == 2
    if pages == 1:
        assert 'rel="next"' not in first
    else:
        assert "第 1 / 2 页，共 3 条" in first and 'rel="next" href="/?page=2"' in first
        second = client.get("/?page=2").get_data(as_text=True)
        assert len(re.findall(r'class="strong" href="/cases/', second)) == 1


def test_the_auditor_sees_recent_activity_of_their_subtree_only(app, tree, make_case, fire):
    ours = _submitted(make_case, fire, tree["prep"])
    theirs = _submitted(make_case, fire, tree["prep_x"])
    here, there = app.test_client(), app.test_client()
    login(here, "auditor")
    login(there, "auditor2")
    page = here.get("/").get_data(as_text=True)
    assert f'href="/cases/{ours}"' in page and f'href="/cases/{theirs}"' not in page
    tiles = _tiles(page)
    assert (tiles["辖区未办结案件"], tiles["已逾期"], tiles["已办结案件"]) == (1, 0, 0)
    assert 'action="/audit/"' in page and 'name="q"' in page  # the search
    other = there.get("/").get_data(as_text=True)
    assert f'href="/cases/{theirs}"' in other and f'href="/cases/{ours}"' not in other


def test_the_admin_sees_the_accounts_at_a_glance(client, tree):
    login(client, "admin")
    resp = client.get("/")
    assert _tiles(resp.get_data(as_text=True)) == {"组织": 8, "在用账号": 12, "已停用账号": 0, "有效令牌": 12,
                                                   "锁定中的账号": 0}
