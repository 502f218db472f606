"""A federation's view of one year's 职工之家 inspections: who is in it, the counts, the
filters, paging, and who may see it."""
from __future__ import annotations

import re
from datetime import date

import pytest

from workflows.inspection.tests.test_pages import FULL, ITEMS, scores_totalling


@pytest.fixture
def app_config(app_config, clock):
    return {**app_config, "UNIONFLOW_CLOCK": clock}


@pytest.fixture
def browse(app):
    def as_user(user):
        client = app.test_client()
        assert client.post("/login", data={"username": user.username, "password": "correct-horse-1"}).status_code == 302
        return client

    return as_user


@pytest.fixture
def year_2026(tree, make_org, make_case, fire, found, clock):
    """FED's founded unions: ENT-M holds a model title, ENT-L is rectifying past its deadline,
    ENT-S has only last year's inspection; ENT-N has no union; FED2's ENT-X is founded."""
    make_org("ENT-N", "enterprise", "FED", employees=40, female_employees=10, name="未建会企业")
    for code, members in (("ENT-S", 5), ("ENT-M", 29), ("ENT-L", 56), ("ENT-X", 60)):
        found(code, members)
    fed, fed_b = tree["fed"], tree["fed_b"]

    def walk(prep, year, scores, vetoes=()):
        cid = make_case(prep, "inspection", data={"year": year})["id"]
        fire(prep, cid, "self_assess", {"scores": FULL})
        fire(prep, cid, "record_evaluation", {"respondents": 5, "satisfied": 5} if prep is not tree["prep"]
             else {"respondents": 6, "satisfied": 6})  # at least 10 % of the members: 56 need 6
        fire(fed, cid, "inspect", {"scores": scores, "vetoes": list(vetoes)})
        fire(fed_b, cid, "decide")
        return cid

    model = walk(tree["prep_m"], 2026, FULL)
    failed = walk(tree["prep"], 2026, FULL)  # 56 of 60 members: the membership veto
    fire(tree["prep"], failed, "start_rectification")
    last_year = walk(tree["prep_s"], 2025, scores_totalling(ITEMS, 70))
    clock.today = date(2026, 12, 21)  # one day past the rectification deadline
    return {"model": model, "failed": failed, "last_year": last_year}


def listed(html: str) -> list[str]:
    """The codes of the organisations listed in the table, in order (the page names them; the fixtures'
    names are mapped back to their codes, those made here are named by their codes)."""
    names = re.findall(r'<tr(?: class="overdue")?>\s*<td[^>]*>(?:<a href="[^"]*">)?([^<]+?)(?:</a>)?\s*</td>', html)
    return [CODES.get(name, name) for name in names]


CODES = {"小店": "ENT-S", "中型企业": "ENT-M", "大型企业": "ENT-L", "外区企业": "ENT-X", "未建会企业": "ENT-N"}


def count(html: str, label: str) -> int:
    return int(re.search(rf"<strong>(\d+)</strong><span><a href=\"[^\"]*\">{label}</a>", html).group(1))


def test_the_year_of_a_federation(browse, tree, year_2026):
    resp = browse(tree["fed"]).get("/inspection/year?year=2026")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "2026年度职工之家验收一览 · 某区总工会" in page
    assert listed(page) == ["ENT-L", "ENT-M", "ENT-S"]  # founded unions of the subtree only
    assert (count(page, "已建会工会"), count(page, "尚未验收"), count(page, "获得称号"), count(page, "未通过"),
            count(page, "已撤销称号")) == (3, 1, 1, 1, 0)
    assert "未启动 1 · 进行中 0" in page and "模范 1 · 先进 0 · 合格 0" in page and "整改中 1 · 整改逾期 1" in page
    assert "<strong>模范职工之家</strong>" in page
    assert '<tr class="overdue">' in page and "整改期限 2026-12-20" in page
    assert "93.3%" in page and "低于95%" in page  # ENT-L's membership rate


@pytest.mark.parametrize("show, codes", [("pending", ["ENT-S"]), ("titled", ["ENT-M"]), ("failed", ["ENT-L"]),
                                         ("revoked", []), ("all", ["ENT-L", "ENT-M", "ENT-S"])])
def test_filters(browse, tree, year_2026, show, codes):
    page = browse(tree["auditor"]).get(f"/inspection/year?year=2026&show={show}").get_data(as_text=True)
    assert listed(page) == codes
    if not codes:
        assert "没有符合条件的工会。" in page


def test_another_year(browse, tree, year_2026):
    page = browse(tree["fed"]).get("/inspection/year?year=2025").get_data(as_text=True)
    assert (count(page, "尚未验收"), count(page, "获得称号")) == (2, 1)
    assert "<strong>合格职工之家</strong>" in page
    # no year given: the current year of the engine's calendar
    page = browse(tree["fed"]).get("/inspection/year").get_data(as_text=True)
    assert "2026年度职工之家验收一览" in page


@pytest.mark.parametrize("who, codes", [("town", ["ENT-M", "ENT-S"]), ("com", ["ENT-S"]), ("fed2", ["ENT-X"]),
                                        ("auditor2", ["ENT-X"]), ("auditor", ["ENT-L", "ENT-M", "ENT-S"])])
def test_each_sees_their_own_subtree(browse, tree, year_2026, who, codes):
    page = browse(tree[who]).get("/inspection/year?year=2026").get_data(as_text=True)
    assert listed(page) == codes


@pytest.mark.parametrize("who", ["prep", "prep_x", "admin"])
def test_not_for_preparers_nor_admins(browse, tree, who):
    assert browse(tree[who]).get("/inspection/year?year=2026").status_code == 403


def test_narrowing_to_an_organisation_within_the_subtree(browse, tree, year_2026):
    fed = browse(tree["fed"])
    assert listed(fed.get("/inspection/year?year=2026&org=TOWN").get_data(as_text=True)) == ["ENT-M", "ENT-S"]
    assert fed.get("/inspection/year?year=2026&org=FED2").status_code == 404
    assert browse(tree["town"]).get("/inspection/year?year=2026&org=FED").status_code == 404
    assert fed.get("/inspection/year?year=2026&org=NOPE").status_code == 404


@pytest.mark.parametrize("query", ["year=abc", "year=1999", "year=2101", "show=everything", "page=0"])
def test_bad_queries(browse, tree, query):
    assert browse(tree["fed"]).get(f"/inspection/year?{query}").status_code == 400


def test_paging_a_long_list(browse, tree, make_org, found):
    for n in range(25):
        code = f"ENT-P{n:02d}"
        make_org(code, "enterprise", "TOWN", employees=10, female_employees=2)
        found(code, 10)
    fed = browse(tree["fed"])
    first = fed.get("/inspection/year?year=2026&show=pending").get_data(as_text=True)
    assert listed(first) == [f"ENT-P{n:02d}" for n in range(20)]
    assert "第 1 / 2 页，共 25 条" in first and count(first, "尚未验收") == 25
    second = fed.get("/inspection/year?year=2026&show=pending&page=2").get_data(as_text=True)
    assert listed(second) == [f"ENT-P{n:02d}" for n in range(20, 25)]
    assert 'rel="prev"' in second and 'rel="next"' not in second and 'rel="next"' in first
    assert "show=pending" in re.search(r'<a rel="prev" href="([^"]*)"', second).group(1)  # the filter stays
    assert listed(fed.get("/inspection/year?year=2026&show=pending&page=9").get_data(as_text=True)) == listed(second)
