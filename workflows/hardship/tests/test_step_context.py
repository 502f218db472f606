"""Every hardship step form says which step of how many the case is at, and shows the application the
decision is about: the applicant (ID number masked), the household as counted, the household's and the
per-capita income (rounded down), the category and its grounds, and the review and posting so far."""
from __future__ import annotations

import re

import pytest

from workflows.hardship.tests.support import (  # noqa: F401  (fixtures)
    APPLICANT_ID,
    application,
    clock,
    config_for,
    founded,
    walk,
)


@pytest.fixture
def app_config(app_config, clock, tmp_path):
    return config_for(app_config, clock, tmp_path)


@pytest.fixture
def login(app):
    def make(username: str, lang: str | None = None):
        client = app.test_client()
        resp = client.post("/login", data={"username": username, "password": "correct-horse-1"})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        if lang:
            client.get(f"/?lang={lang}")
        return client

    return make


def seen(resp) -> str:
    """What a reader sees of the page: its text, tags taken out, whitespace collapsed."""
    assert resp.status_code == 200, resp.status_code
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


# (state the case stands in, who opens the form, the step's address, the step it is at)
FORMS = [
    ("draft", "prep", "application", 1),
    ("applied", "ent_rev", "steps/approve_review", 2),
    ("applied", "ent_rev", "steps/return_review", 2),
    ("reviewed", "ent_rev", "steps/start_posting", 3),
    ("posting", "ent_rev", "steps/submit_to_federation", 4),
    ("posting", "ent_rev", "objections/new", 4),
    ("submitted", "fed", "steps/determine", 5),
    ("submitted", "fed", "steps/decline", 5),
]


@pytest.mark.parametrize("state, who, address, n", FORMS)
def test_each_step_form_says_which_step_of_five(api, fire, founded, clock, login, state, who, address, n):
    case = walk(api, fire, founded, clock, state)
    where = f"/hardship/{case['id']}/{address}" if "/" not in address or address.startswith("objections") \
        else f"/cases/{case['id']}/{address}"
    text = seen(login(who).get(where))
    assert f"第{n}步，共5步" in text
    for other in range(1, 6):
        if other != n:
            assert f"第{other}步，共5步" not in text
    assert "本案情况" in text and "王芳" in text


@pytest.mark.parametrize("state, n, label", [("draft", 1, "提交申请"), ("applied", 2, "审核同意"),
                                             ("posting", 4, "报区总工会"), ("submitted", 5, "确定为帮扶对象")])
def test_the_case_page_lists_the_steps_and_marks_the_current_one(api, fire, founded, clock, login, state, n, label):
    case = walk(api, fire, founded, clock, state)
    body = login("prep").get(f"/cases/{case['id']}").get_data(as_text=True)
    assert f"第{n}步，共5步：{label}" in seen_text(body)
    current = re.search(r'<li class="current" aria-current="step">\s*<span class="num"[^>]*>(\d+)</span>', body)
    assert current is not None and current.group(1) == str(n)
    assert body.count('<li class="done"') == n - 1


def seen_text(body: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_an_assisted_file_has_done_the_five_steps_and_a_closed_one_is_finished(api, fire, founded, clock, login):
    case = walk(api, fire, founded, clock, "assisted")
    text = seen(login("fed").get(f"/cases/{case['id']}"))
    assert "5步均已完成，后续：脱困销档" in text and "第5步，共5步" not in text
    closed = walk(api, fire, {**founded}, clock, "closed", application(ids=_ids(7)))
    assert "已全部办结" in seen(login("fed").get(f"/cases/{closed['id']}"))


def _ids(n: int):
    from workflows.hardship.tests.support import household_ids
    return household_ids(n)


def test_a_rejected_application_stopped_at_the_review(api, fire, founded, clock, login):
    case = walk(api, fire, founded, clock, "applied")
    fire(founded["ent_rev"], case["id"], "reject_review", {}, "材料不实")
    text = seen(login("prep").get(f"/cases/{case['id']}"))
    assert "在第2步（审核同意）终止：未通过" in text


def test_the_determination_form_shows_the_whole_application(api, fire, founded, clock, login):
    """Three counted of four listed (a married child is not counted): 1,001.00 a month, 333.66 each (333.666…
    rounded down, not up), category 1 (at most 1.5 × the subsistence line) and why."""
    data = application(1001)
    data["household"].append({"name": "李大", "relation": "child", "monthly_income": 5000, "married": True})
    case = walk(api, fire, founded, clock, "submitted", data)
    text = seen(login("fed").get(f"/cases/{case['id']}/steps/determine"))
    assert "第5步，共5步：确定为帮扶对象" in text
    assert "申请人 王芳" in text
    assert APPLICANT_ID not in text and f"身份证号 {APPLICANT_ID[:6]}" in text and APPLICANT_ID[-4:] in text
    assert "家庭人口 3人" in text and "共列4人" in text and "不计入：李大" in text
    assert "家庭月收入合计 1,001.00 元" in text
    assert "家庭人均月收入 333.66 元" in text and "333.67" not in text and "按分向下取整" in text
    assert "确定的帮扶类别" not in text and "拟定帮扶类别 第一类" in text
    assert "类别依据 家庭人均月收入333.66元，不高于第1类上限" in text
    assert "企业工会审核同意 2026-11-02" in text and "公示期 2026-11-02起5个工作日，至2026-11-09期满" in text
    assert "异议 无" in text and "已报区总工会 2026-11-09" in text
    assert "帮扶金额 尚未确定" in text
    assert 'name="f_amount"' in login("fed").get(f"/cases/{case['id']}/steps/determine").get_data(as_text=True)


def test_the_review_form_in_english(api, fire, founded, clock, login):
    case = walk(api, fire, founded, clock, "applied")
    text = seen(login("ent_rev", "en").get(f"/cases/{case['id']}/steps/approve_review"))
    assert "Step 2 of 5: Approve" in text
    assert "Applicant 王芳 ID number 110105" in text and "Household 3 people (3 listed; counted: 王芳 (Self)" in text
    assert "Per-capita monthly income 600.00 yuan" in text and "Proposed category Category 1" in text


# ---------------------------------------------------------------- the rows of the queue and the case list

def applications(api, fire, founded, clock, names, until="applied"):
    from workflows.hardship.tests.support import household_ids

    return [walk(api, fire, founded, clock, until, application(name=name, ids=household_ids(i + 1)))
            for i, name in enumerate(names)]


def selects_during(db, call):
    """How many SELECT statements `call` sends to the database."""
    from sqlalchemy import event

    seen = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def rows_of(body: str) -> list[str]:
    table = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [seen_text(r) for r in table.split("</tr>")[:-1]]


def test_queue_rows_name_the_applicant_and_the_action_waited_for(api, fire, founded, clock, login):
    cases = applications(api, fire, founded, clock, ["王芳", "赵敏", "孙丽"])
    posted = walk(api, fire, founded, clock, "posting", application(name="周杰", ids=_ids(9)))
    rows = rows_of(login("ent_rev").get("/review").get_data(as_text=True))
    assert len(rows) == 4
    for case, name in zip(cases, ["王芳", "赵敏", "孙丽"]):
        row = next(r for r in rows if f"#{case['id']}" in r)
        assert row.lstrip().startswith(name) and "大型企业 · 困难职工帮扶" in row and "待审核困难申请" in row
        assert "已申请待审核" not in row  # the action, not the state
    row = next(r for r in rows if f"#{posted['id']}" in r)
    assert row.lstrip().startswith("周杰") and "待公示期满后报送" in row and "单位内公示中" not in row


def test_the_case_list_names_the_applicant_the_action_and_who_acts(api, fire, founded, clock, login):
    applications(api, fire, founded, clock, ["王芳"])
    walk(api, fire, founded, clock, "submitted", application(name="赵敏", ids=_ids(5)))
    rows = rows_of(login("fed").get("/cases?workflow=hardship").get_data(as_text=True))
    assert any(r.lstrip().startswith("赵敏") and "待确定帮扶对象 由某区总工会办理" in r for r in rows), rows
    assert any(r.lstrip().startswith("王芳") and "待审核困难申请 由大型企业办理" in r for r in rows), rows


def test_queue_rows_in_english(api, fire, founded, clock, login):
    applications(api, fire, founded, clock, ["王芳"])
    rows = rows_of(login("ent_rev", "en").get("/review").get_data(as_text=True))
    assert len(rows) == 1 and rows[0].lstrip().startswith("王芳") and "Next: review the application" in rows[0]


def test_the_rows_cost_no_query_of_their_own(api, fire, founded, clock, login, db):
    """The subject and the action come from the row itself: two rows or five, the same queries."""
    client = login("ent_rev")
    applications(api, fire, founded, clock, ["王芳", "赵敏"])
    client.get("/review")
    few = selects_during(db, lambda: client.get("/review"))
    listed = selects_during(db, lambda: client.get("/cases"))
    applications_more = [walk(api, fire, founded, clock, "applied", application(name=n, ids=_ids(20 + i)))
                         for i, n in enumerate(["孙丽", "周杰", "吴敏"])]
    assert len(applications_more) == 3
    assert selects_during(db, lambda: client.get("/review")) == few
    assert selects_during(db, lambda: client.get("/cases")) == listed
    body = client.get("/review?page=1").get_data(as_text=True)
    assert len(rows_of(body)) == 5
