"""Every founding step form says which of the eight steps the case is at (as the panel does) and shows
the enterprise, its employees, the members and the facts of the steps so far; the lists name the enterprise."""
from __future__ import annotations

import re

import pytest

from workflows.founding.tests.flow import app_config, clock  # noqa: F401  (fixtures)
from workflows.founding.tests.test_pages import browse, case_at, page, step_path  # noqa: F401  (fixtures)


def seen(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# (the state the case stands in, who opens the form, the step, the phase it is in)
FORMS = [
    ("draft", "prep", "form_group", 1),
    ("group_formed", "prep", "apply", 2),
    ("applied", "fed", "approve_application", 3),
    ("approved", "prep", "record_members", 4),
    ("members_recruited", "prep", "nominate", 5),
    ("candidates_submitted", "fed", "approve_candidates", 5),
    ("candidates_approved", "prep", "convene", 6),
    ("assembly_convened", "prep", "record_election", 7),
    ("elected", "prep", "submit_results", 8),
]


@pytest.mark.parametrize("state, who, trigger, n", FORMS)
def test_each_step_form_says_which_of_the_eight_steps(browse, tree, case_at, state, who, trigger, n):
    case_id = case_at(state)
    text = seen(page(browse(tree[who]), step_path(case_id, trigger)))
    assert f"第{n}步，共8步" in text
    assert all(f"第{m}步，共8步" not in text for m in range(1, 9) if m != n)
    assert "本案情况" in text and "单位 大型企业" in text and "职工人数 60人 （女职工20人）" in text


def test_the_form_shows_the_members_and_the_steps_facts(browse, tree, case_at):
    case_id = case_at("candidates_submitted")
    text = seen(page(browse(tree["fed"]), step_path(case_id, "approve_candidates")))
    assert re.search(r"会员人数 \d+人，其中女会员\d+人", text)
    assert re.search(r"候选人 \d+人", text) and "公示期 " in text and "审批单位 某区总工会" in text


def test_a_founded_union_has_done_the_eight_steps(browse, tree, case_at):
    case_id = case_at("founded")
    text = seen(page(browse(tree["prep"]), step_path(case_id, "register")))
    assert "8步均已完成，后续：办理工会法人资格登记" in text


def test_the_english_step_form(browse, tree, case_at):
    case_id = case_at("approved")
    client = browse(tree["prep"])
    client.get("/?lang=en")
    text = seen(page(client, step_path(case_id, "record_members")))
    assert "Step 4 of 8: Recruit members" in text and "Employees 60" in text


def test_the_queue_names_the_enterprise_and_the_action(browse, tree, case_at):
    case_id = case_at("applied")
    row = next(r for r in page(browse(tree["fed"]), "/review").split("<tr") if f"#{case_id}" in r)
    row = seen("<tr" + row)
    assert row.strip().startswith("大型企业") and "待批复同意筹建" in row and "已提出建会申请" not in row
