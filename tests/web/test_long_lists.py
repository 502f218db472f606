"""Long lists count only so far: past the limit the pager says "more than", and paging goes on."""
from __future__ import annotations

import pytest

from tests.web.ui_support import login
from workflow.queries import list_cases, review_queue


def submitted(n, make_org, make_user, make_case, fire):
    """`n` cases waiting for the federation, one per enterprise (one open case per enterprise)."""
    ids = []
    for i in range(n):
        make_org(f"ENT-Q{i}", "enterprise", "FED", employees=40, female_employees=10)
        who = make_user(f"prep_q{i}", "preparer", f"ENT-Q{i}")
        case = make_case(who)
        fire(who, case["id"], "submit", {"amount": 10})
        ids.append(case["id"])
    return ids


@pytest.fixture
def five_submitted(tree, make_org, make_user, make_case, fire):
    return submitted(5, make_org, make_user, make_case, fire)


@pytest.mark.parametrize(("count_limit", "page", "per_page", "total", "more"), [
    (None, 1, 2, 5, False),  # exact count
    (5, 1, 2, 5, False),  # exactly at the limit: nothing more
    (4, 1, 2, 4, True),  # one past it
    (2, 1, 2, 2, True),
    (2, 2, 2, 4, True),  # the limit grows with the page asked for
    (2, 3, 2, 5, False),  # the last page: the count is exact again
])
def test_counting_stops_past_the_limit_and_says_so(app, db, tree, five_submitted, count_limit, page, per_page,
                                                     total, more):
    from web.templating import review_states

    actor = tree["fed"].actor(db)
    with app.test_request_context(), db.read() as session:
        queue = review_queue(session, actor, review_states(), page=page, per_page=per_page, count_limit=count_limit)
        listed = list_cases(session, actor, page=page, per_page=per_page, count_limit=count_limit)
    for p in (queue, listed):
        assert (p.total, p.more) == (total, more)
        assert len(p.items) == min(per_page, 5 - (page - 1) * per_page)
    assert [c.id for c in queue.items] == five_submitted[(page - 1) * per_page:page * per_page]


def test_the_pager_says_more_than_and_offers_the_next_page(app, client, tree, make_org, make_user, make_case, fire,
                                                           monkeypatch):
    import web.cases

    ids = submitted(21, make_org, make_user, make_case, fire)  # 20 a page
    login(client, "fed")
    for path in ("/review", "/cases"):
        html = client.get(path).get_data(as_text=True)
        assert "第 1 / 2 页，共 21 条" in html and "超过" not in html
    monkeypatch.setattr(web.cases, "COUNT_LIMIT", 2)  # counting stops at 20 (the first page), one past it
    for path in ("/review", "/cases"):
        html = client.get(path).get_data(as_text=True)
        assert "第 1 页，超过 20 条" in html and 'rel="next"' in html
        html = client.get(path + "?page=2").get_data(as_text=True)
        assert "第 2 / 2 页，共 21 条" in html and 'rel="next"' not in html
    assert str(ids[0]) in client.get("/review").get_data(as_text=True)


def test_the_trail_explorer_counts_so_far_too(app, client, tree, make_org, make_user, make_case, fire, monkeypatch):
    import web.audit_views

    submitted(3, make_org, make_user, make_case, fire)
    login(client, "auditor")
    html = client.get("/audit/").get_data(as_text=True)
    assert "条记录" in html and "超过" not in html
    monkeypatch.setattr(web.audit_views, "COUNT_LIMIT", 2)
    monkeypatch.setattr(web.audit_views, "PER_PAGE", 3)  # counting stops at 3, one past it
    html = client.get("/audit/").get_data(as_text=True)
    assert "超过 3 条记录" in html and 'rel="next"' in html
