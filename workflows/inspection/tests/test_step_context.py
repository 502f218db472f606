"""Every inspection step form says which step of how many the inspection is at and shows what the decision
is about: the union and the year, the self-assessment, the members' evaluation, the scores and vetoes so far;
the case page lists the steps; the queue names the union and the year and the action waited for."""
from __future__ import annotations

import re

import pytest

from workflows.inspection.tests.test_pages import app_config, browse, case_in  # noqa: F401  (fixtures)


def seen(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


FORMS = [
    ("planned", "prep_m", "/inspection/cases/{id}/self-assess", 1),
    ("self_assessed", "prep_m", "/inspection/cases/{id}/evaluation", 2),
    ("evaluated", "fed", "/inspection/cases/{id}/inspect", 3),
    ("inspected", "fed_b", "/cases/{id}/steps/decide", 4),
    # failed and rectifying: the re-inspection takes the scoring (step 3) again
    ("failed", "prep_m", "/cases/{id}/steps/start_rectification", 3),
    ("rectifying", "fed", "/inspection/cases/{id}/reinspect", 3),
]


@pytest.mark.parametrize("state, who, address, n", FORMS)
def test_each_step_form_says_which_step_of_four(browse, tree, case_in, state, who, address, n):
    cid = case_in(state)
    text = seen(browse(tree[who]).get(address.format(id=cid)))
    assert f"第{n}步，共4步" in text
    assert all(f"第{m}步，共4步" not in text for m in range(1, 5) if m != n)
    assert "本案情况" in text and "检查年度 2026年度" in text and "单位 中型企业" in text


@pytest.mark.parametrize("state, n, label, done", [("planned", 1, "自查自评", 0), ("evaluated", 3, "检查验收打分", 2),
                                                   ("inspected", 4, "评定", 3), ("rectifying", 3, "检查验收打分", 2)])
def test_the_case_page_lists_the_four_steps(browse, tree, case_in, state, n, label, done):
    cid = case_in(state)
    body = browse(tree["prep_m"]).get(f"/cases/{cid}").get_data(as_text=True)
    assert f"第{n}步，共4步：{label}" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))
    current = re.search(r'<li class="current" aria-current="step">\s*<span class="num"[^>]*>(\d+)</span>', body)
    assert current is not None and current.group(1) == str(n)
    assert body.count('<li class="done"') == done
    if state == "rectifying":
        assert "整改中" in body.split('aria-current="step"', 1)[1].split("</li>", 1)[0]


def test_the_decision_form_shows_the_evaluation_scores_and_vetoes(browse, tree, case_in):
    cid = case_in("inspected")
    text = seen(browse(tree["fed_b"]).get(f"/cases/{cid}/steps/decide"))
    assert "会员人数 29人 （职工30人）" in text
    assert re.search(r"自评总分 \d+分", text)
    assert "参评会员人数 20人" in text and "满意人数 18人" in text and "会员满意率 18 / 20 = 90.0%" in text
    assert re.search(r"检查总分 \d+分", text)
    assert "一票否决项 " in text and "一票否决项 无" not in text


def test_a_planned_inspection_has_nothing_scored_yet(browse, tree, case_in):
    cid = case_in("planned")
    text = seen(browse(tree["prep_m"]).get(f"/inspection/cases/{cid}/self-assess"))
    assert "自评总分 尚未自评" in text and "参评会员人数 尚未评家" in text and "检查总分" not in text


def test_the_step_form_in_english(browse, tree, case_in):
    cid = case_in("evaluated")
    client = browse(tree["fed"])
    client.get("/?lang=en")
    text = seen(client.get(f"/inspection/cases/{cid}/inspect"))
    assert "Step 3 of 4: Inspect and score" in text and "Year 2026" in text and "Members who took part 20" in text


def test_queue_rows_name_the_union_and_year_and_the_action(browse, tree, case_in):
    cid = case_in("inspected")
    body = browse(tree["fed"]).get("/review").get_data(as_text=True)
    row = next(r for r in body.split("<tr") if f"#{cid}" in r)
    row = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", "<tr" + row))
    assert "中型企业（2026年度）" in row and "待评定" in row and "已检查打分" not in row
