"""The case page: the state, the diagram with the current state and the path taken, the timeline,
the actions the viewer may take and, for the others, why not."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import update

from workflow import Case, User

from .ui_support import login, text_of


def _walked(make_case, fire, tree) -> int:
    case = make_case(tree["prep"], "sample")
    fire(tree["prep"], case["id"], "submit", {"amount": 50, "note": "请审批"})
    fire(tree["fed"], case["id"], "approve", comment="同意")
    return case["id"]


def test_the_diagram_marks_the_current_state_and_the_path_taken(client, tree, make_case, fire):
    case_id = _walked(make_case, fire, tree)
    login(client, "prep")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    svg = re.search(r"<svg[^>]*class=\"diagram\".*?</svg>", page, re.S).group(0)
    states = {name: cls for cls, name in re.findall(r'<g class="([^"]+)" data-state="(\w+)"', svg)}
    assert states["approved"] == "node current"
    assert states["draft"] == states["submitted"] == "node visited"
    assert states["large"] == "node"
    assert "final" in states["closed"] and "visited" not in states["closed"]
    assert len(re.findall(r'class="edge taken"', svg)) == 2  # draft → submitted → approved
    assert "办理路径： 草稿 → 已提交 → 已批准" in text_of(client.get(f"/cases/{case_id}"))


def test_the_timeline_says_who_when_what_and_what_changed(client, tree, make_case, fire, db):
    case_id = _walked(make_case, fire, tree)
    with db.write() as session:  # created at 16:30 UTC, i.e. half past midnight the next day in Shanghai
        session.execute(update(Case).where(Case.id == case_id).values(created_at=datetime(2026, 1, 1, 16, 30)))
        session.execute(update(User).where(User.username == "fed").values(display_name="李敏"))
    login(client, "auditor")
    text = text_of(client.get(f"/cases/{case_id}"))
    timeline = text[text.index("办理记录"):]
    # a person by their real name and organisation; one without a real name by the username
    assert "批准 已提交 → 已批准" in timeline and "李敏（某区总工会） · 审核人" in timeline and "同意" in timeline
    assert "fed（" not in timeline
    assert "提交 草稿 → 已提交" in timeline and "prep（大型企业） · 经办人" in timeline and "请审批" in timeline
    assert "创建案件 — → 草稿" in timeline
    assert "系统计算" in timeline  # the data the step recorded and computed
    assert "2026-01-02 00:30" in text


def test_a_refused_action_shows_its_reason(client, tree, make_case, fire):
    case = make_case(tree["prep_m"], "sample")
    fire(tree["prep_m"], case["id"], "submit", {"amount": 10})
    # the town reviewer sees the case (ENT-M is below TOWN) but the federation decides it
    login(client, "town")
    resp = client.get(f"/cases/{case['id']}")
    text = text_of(resp)
    refused = text[text.index("暂不能办理"):text.index("流程图")]
    assert "批准" in refused and "退回" in refused
    assert "某区总工会" in refused  # who is competent instead
    assert f'/cases/{case["id"]}/steps/approve"' not in resp.get_data(as_text=True)


def test_steps_of_other_roles_are_named_with_the_role(app, tree, make_case, fire):
    case = make_case(tree["prep"], "sample")
    fire(tree["prep"], case["id"], "submit", {"amount": 10})
    preparer, reviewer = app.test_client(), app.test_client()
    login(preparer, "prep")
    text = text_of(preparer.get(f"/cases/{case['id']}"))
    assert "由其他角色办理：批准（审核人）；退回（审核人）" in text
    login(reviewer, "fed")
    page = reviewer.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert f'href="/cases/{case["id"]}/steps/approve"' in page and f'href="/cases/{case["id"]}/steps/return"' in page


def test_a_closed_case_offers_nothing(client, tree, make_case, fire):
    case_id = _walked(make_case, fire, tree)
    fire(tree["prep"], case_id, "close")
    login(client, "prep")
    text = text_of(client.get(f"/cases/{case_id}"))
    assert "本案已办结，没有可办理的步骤。" in text


def test_a_case_outside_the_subtree_does_not_exist(client, tree, make_case):
    case = make_case(tree["prep_x"], "sample")
    login(client, "fed")
    assert client.get(f"/cases/{case['id']}").status_code == 404


def test_a_step_posted_by_someone_it_is_refused_to_is_403_before_its_form_is_read(client, tree, make_case, fire, db):
    case = make_case(tree["prep_m"], "sample")
    fire(tree["prep_m"], case["id"], "submit", {"amount": 10})
    login(client, "town")  # sees the case, but the federation decides it
    resp = client.post(f"/cases/{case['id']}/steps/approve", data={})  # an empty form: would be a 400
    assert resp.status_code == 403 and "某区总工会" in text_of(resp)
    client.post("/logout")
    login(client, "prep_m")  # a preparer, on a step only reviewers take
    resp = client.post(f"/cases/{case['id']}/steps/approve", data={"comment": "同意"})
    assert resp.status_code == 403 and "您的角色（经办人）不能执行此操作" in text_of(resp)
    with db.read() as session:
        assert (session.get(Case, case["id"]).state, session.get(Case, case["id"]).version) == ("submitted", 2)


def test_the_side_panels_technical_details_are_behind_a_toggle_and_in_words(client, tree, make_case, fire):
    case_id = _walked(make_case, fire, tree)
    login(client, "prep")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    side = page[page.index('<aside class="case-side">'):]
    details = re.search(r'<details class="more-details">\s*<summary>详情</summary>(.*?)</details>', side, re.S)
    assert details, side[:800]
    assert "案件版本</dt><dd>3</dd>" in details.group(1)
    assert "第1版" in details.group(1) and "规则配置：全国通用规则" in details.group(1)  # the profile by its title
    assert "sample v1" not in page                    # no raw key of the definition
    before = side[:side.index('<details class="more-details">')]
    assert "版本" not in before


def test_a_refused_duplicate_leads_to_the_open_case(client, tree, make_case):
    case = make_case(tree["prep"], "sample")
    login(client, "prep")
    resp = client.post("/cases/new/sample", data={"org": "ENT-L"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "该单位已有一件未办结的同类案件" in page
    assert f'href="/cases/{case["id"]}"' in page and f"查看未办结的案件 #{case['id']}" in page


def test_after_a_decision_the_reviewer_is_led_to_the_next_case(app, client, tree, make_case, fire):
    first = _walked(make_case, fire, tree)                       # approved: nothing left for the reviewer
    second = make_case(tree["prep_s"], "sample")["id"]
    fire(tree["prep_s"], second, "submit", {"amount": 20})
    login(client, "fed")
    page = client.get(f"/cases/{first}").get_data(as_text=True)
    assert f'<a class="button primary" href="/cases/{second}">办理下一件：小店 · ' in page
    # on the next case itself there is a decision to take: no link onward to itself
    page = client.get(f"/cases/{second}").get_data(as_text=True)
    assert "办理下一件" not in page
    # a preparer is never offered the queue
    preparer = app.test_client()
    login(preparer, "prep")
    assert "办理下一件" not in preparer.get(f"/cases/{first}").get_data(as_text=True)
