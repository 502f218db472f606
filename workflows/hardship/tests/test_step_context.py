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
    assert "Applicant 王芳" in text and "Household size 3" in text
    assert "Per-capita monthly income 600.00 yuan" in text and "Proposed category Category 1" in text
