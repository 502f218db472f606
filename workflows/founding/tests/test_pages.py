"""Pages of the founding workflow (建会): the case panel, the step pages and the printable notice and replies."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import url_for

from web.workflow_pages import workflow_pages
from workflows.founding.tests.flow import (  # noqa: F401  (clock, app_config: fixtures)
    APPROVAL_NO,
    REPLY_NO,
    COMMITTEE,
    TODAY,
    VOTES,
    app_config,
    clock,
    nomination,
    walk,
)


@pytest.fixture
def browse(app):
    """A logged-in test client per user (its own cookies)."""
    def as_user(user):
        client = app.test_client()
        resp = client.post("/login", data={"username": user.username, "password": "correct-horse-1"})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return client

    return as_user


@pytest.fixture
def case_at(make_case, fire, tree):
    def at(state: str, **overrides) -> int:
        case_id = make_case(tree["prep"], "founding")["id"]
        walk(fire, case_id, state, tree["prep"], tree["fed"], tree["fed_b"], **overrides)
        return case_id

    return at


def state_of(api, tree, case_id: int) -> str:
    return api.get(f"/cases/{case_id}", tree["prep"]).get_json()["state"]


def page(client, path: str, status: int = 200) -> str:
    resp = client.get(path)
    assert resp.status_code == status, resp.get_data(as_text=True)[:2000]
    return resp.get_data(as_text=True)


def plain(html: str) -> str:
    """The page's text without tags and blank runs, for phrases that cross elements."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def step_path(case_id: int, trigger: str) -> str:
    return f"/cases/{case_id}/founding/{trigger}"


def nominate_form(people, version: int, **fields) -> dict:
    form = {"committee_seats": "5", "audit_seats": "1", "women_seats": "1",
            "posted_on": (TODAY - timedelta(days=8)).isoformat(), "version": str(version), **fields}
    for i, (name, stands, bars) in enumerate(people):
        form[f"candidates-{i}-name"] = name
        form[f"candidates-{i}-stands"] = list(stands)
        form[f"candidates-{i}-bars"] = list(bars)
    return form


SLATE = [(n, ["committee", "chair"] if i == 0 else ["committee"], []) for i, n in enumerate(COMMITTEE)] + [
    ("赵敏", ["audit"], []), ("周婷", ["women"], [])]


# ---- registration of the pages -------------------------------------------------

def test_every_founding_step_has_its_own_page(app, catalog):
    addresses = workflow_pages(app).addresses
    assert {t for (wf, t) in addresses if wf == "founding"} == catalog.definition("founding").triggers
    with app.test_request_context():
        for (wf, trigger), endpoint in addresses.items():
            if wf == "founding":
                assert url_for(endpoint, case_id=7) == f"/cases/7/founding/{trigger}"


def test_the_home_page_and_the_case_page_link_to_the_founding_pages(browse, tree, make_case):
    case_id = make_case(tree["prep"], "founding")["id"]
    client = browse(tree["prep"])
    assert f'href="{step_path(case_id, "form_group")}"' in page(client, "/")
    html = page(client, f"/cases/{case_id}")
    assert f'href="{step_path(case_id, "form_group")}"' in html
    assert f'href="{step_path(case_id, "withdraw")}"' in html


# ---- the case panel --------------------------------------------------------------

def test_the_panel_shows_the_eight_steps_and_what_the_next_one_needs(browse, tree, make_case):
    case_id = make_case(tree["prep"], "founding")["id"]
    html = page(browse(tree["prep"]), f"/cases/{case_id}")
    text = plain(html)
    assert "建会进度" in text and "第1步，共8步" in text
    assert html.count('class="current"') == 1 and html.count('class="todo"') == 8
    assert "下一步：成立筹备组" in text and "筹备组由3至7人组成" in text
    assert "某区总工会（按职工60人预计，提出申请时确定）" in text
    assert "founding.css" in html and "{" not in text.split("建会进度")[1].split("可办理的操作")[0]


def test_the_panel_follows_the_case(browse, tree, case_at, clock):
    case_id = case_at("candidates_submitted", nominate=nomination(TODAY - timedelta(days=3)))
    prep, fed = browse(tree["prep"]), browse(tree["fed"])
    text = plain(page(prep, f"/cases/{case_id}"))
    assert "第5步，共8步" in text and "等待某区总工会审核" in text
    assert "某区总工会（提出申请时按职工人数确定）" in text
    assert "公示期：2026年11月7日至2026年11月13日（7天）" in text
    assert "4天后公示期满，2026年11月14日起上级工会方可审查同意" in text
    # the reviewer sees the candidates, why approval must wait, and cannot approve yet
    html = page(fed, f"/cases/{case_id}")
    assert "候选人名单" in html and "张伟" in html and "经费审查委员会委员" in html
    assert "公示期未满：2026-11-07开始公示，2026-11-14起方可办理" in plain(html)
    assert f'href="{step_path(case_id, "approve_candidates")}"' not in html
    clock.days_after(TODAY, 4)
    html = page(fed, f"/cases/{case_id}")
    assert "公示期已满，上级工会可以审查同意" in plain(html)
    assert f'href="{step_path(case_id, "approve_candidates")}"' in html


def test_the_panel_shows_who_was_elected_and_the_registration_deadline(browse, tree, case_at, clock):
    case_id = case_at("founded")
    client = browse(tree["prep"])
    text = plain(page(client, f"/cases/{case_id}"))
    assert "工会已成立，待办理法人资格登记" in text
    assert "工会主席张伟" in text and "工会委员会委员张伟王芳李娜刘洋陈静" in text
    assert "经费审查委员会委员赵敏" in text and "女职工委员会委员周婷" in text
    assert "6 杨帆 工会委员会委员 无 12 未当选" in text
    assert "60天内办理（截止2027年1月9日）" in text and "已逾期" not in text
    clock.days_after(TODAY, 59)
    assert "1天内办理（截止2027年1月9日）" in plain(page(client, f"/cases/{case_id}"))
    clock.days_after(TODAY, 60)
    text = plain(page(client, f"/cases/{case_id}"))
    assert "今天是办理期限（2027年1月9日）的最后一天" in text and "已逾期" not in text
    clock.days_after(TODAY, 61)
    assert "已逾期1天（应于2027年1月9日前办理）" in plain(page(client, f"/cases/{case_id}"))


def test_the_pages_speak_english_on_request(browse, tree, case_at):
    case_id = case_at("members_recruited")
    client = browse(tree["prep"])
    html = page(client, f"/cases/{case_id}?lang=en")
    assert "Nominate the candidates" in html and "Set the seats of the committee" in html
    html = page(client, step_path(case_id, "nominate") + "?lang=en")
    assert "Committee seats" in html and "HR head" in html
    assert "close relative of the head of the employer" in html


def test_the_panel_of_a_rejected_case(browse, tree, case_at, fire):
    case_id = case_at("applied")
    fire(tree["fed"], case_id, "reject_application", comment="筹备组成员不符合要求")
    html = page(browse(tree["prep"]), f"/cases/{case_id}")
    assert html.count('class="done"') == 2 and html.count('class="stopped"') == 1
    assert "上级工会不予批准" in html and "下一步" not in plain(html).split("建会进度")[1]


def test_the_panel_of_a_withdrawn_case_marks_where_it_stopped(browse, tree, case_at, fire):
    case_id = case_at("members_recruited")
    fire(tree["prep"], case_id, "withdraw", comment="企业改制")
    html = page(browse(tree["auditor"]), f"/cases/{case_id}")
    assert html.count('class="done"') == 4 and html.count('class="stopped"') == 1
    assert html.count('class="not_reached"') == 4 and "本案已撤回" in html


# ---- the custom step pages ---------------------------------------------------------

def test_forming_the_group_one_name_per_row(api, browse, tree, make_case):
    case_id = make_case(tree["prep"], "founding")["id"]
    client = browse(tree["prep"])
    html = page(client, step_path(case_id, "form_group"))
    assert html.count('name="members-') == 7 and "筹备组由3至7人组成" in html
    form = {"members-0": "张伟", "members-1": "王芳", "members-2": "", "members-3": "张伟", "version": "1"}
    resp = client.post(step_path(case_id, "form_group"), data=form)
    assert resp.status_code == 422
    text = plain(resp.get_data(as_text=True))
    assert "筹备组成员“张伟”重复填报" in text and "筹备组应由3至7人组成，现填报2人" in text
    form["members-3"] = "李娜"
    resp = client.post(step_path(case_id, "form_group"), data=form)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case_id}")
    assert api.get(f"/cases/{case_id}", tree["prep"]).get_json()["data"]["group_members"] == ["张伟", "王芳", "李娜"]


def test_the_nomination_table_rows_and_more_rows(browse, tree, case_at):
    case_id = case_at("members_recruited")
    client = browse(tree["prep"])
    html = page(client, step_path(case_id, "nominate"))
    assert len(re.findall(r'name="candidates-\d+-name"', html)) == 12
    assert "会员40人：工会委员会委员名额应为3至7名。" in html
    # short labels on the checkboxes, the full ones in the legend and the tooltip
    assert 'title="单位行政主要负责人（法定代表人）">主要负责人</th>' in html
    assert '<input aria-label="第1行 单位行政主要负责人（法定代表人）" id="candidates-0-bars-0"' in html
    assert "<strong>主要负责人</strong>：单位行政主要负责人（法定代表人）" in html
    assert len(re.findall(r'name="candidates-\d+-name"', page(client, step_path(case_id, "nominate") + "?rows=20"))) == 20
    # adding rows keeps what was typed and fires nothing
    resp = client.post(step_path(case_id, "nominate"), data={**nominate_form(SLATE[:2], 5), "add_rows": "1",
                                                             **{f"candidates-{i}-name": "" for i in range(2, 12)}})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert len(re.findall(r'name="candidates-\d+-name"', html)) == 18
    assert 'name="candidates-0-name" type="text" value="张伟"' in html
    assert 'checked id="candidates-0-stands-1" name="candidates-0-stands" type="checkbox" value="chair">' in html


def test_nominating_shows_each_broken_rule_beside_the_form(api, browse, tree, case_at):
    case_id = case_at("members_recruited")
    client = browse(tree["prep"])
    people = SLATE + [("钱老板", ["committee"], ["principal"]), ("", ["audit"], [])]
    resp = client.post(step_path(case_id, "nominate"), data=nominate_form(people, 5, committee_seats="8"))
    assert resp.status_code == 400  # the blank name is invalid input, refused before the rules run
    assert "第10行 姓名：必填项" in plain(resp.get_data(as_text=True))
    resp = client.post(step_path(case_id, "nominate"), data=nominate_form(people[:-1], 5, committee_seats="8"))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    text = plain(html)
    assert "会员40人的工会，委员会委员名额应为3至7名，现为8名" in text
    assert "候选人“钱老板”为单位行政主要负责人（法定代表人），不得作为工会委员会委员候选人" in text
    assert html.count('<tr class="fd-row-error">') == 1 and 'value="钱老板"' in html
    assert state_of(api, tree, case_id) == "members_recruited"
    resp = client.post(step_path(case_id, "nominate"), data=nominate_form(SLATE, 5))
    assert resp.status_code == 302
    body = api.get(f"/cases/{case_id}", tree["prep"]).get_json()
    assert body["state"] == "candidates_submitted"
    assert body["data"]["candidates"][0] == {"name": "张伟", "for": ["committee", "chair"], "bars": []}
    assert len(body["data"]["candidates"]) == 8


def test_a_form_the_page_cannot_read_is_sent_back_marked(api, browse, tree, case_at):
    case_id = case_at("members_recruited")
    resp = browse(tree["prep"]).post(step_path(case_id, "nominate"),
                                     data=nominate_form(SLATE, 5, posted_on="2026-13-45", audit_seats="一"))
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "请按提示更正标出的内容后再提交。" in html and html.count('class="field has-error"') == 2
    assert "Not a valid" not in html, re.findall(r"class=\"error\"[^<]*<", html)
    assert 'value="张伟"' in html and state_of(api, tree, case_id) == "members_recruited"


def test_other_workflows_have_no_founding_pages(browse, tree, make_case):
    case_id = make_case(tree["prep"])["id"]  # the test catalogue's sample workflow
    client = browse(tree["prep"])
    for path in ("nominate", "apply", "notice", "reply/application"):
        page(client, f"/cases/{case_id}/founding/{path}", 404)


def test_a_returned_nomination_comes_back_filled_in(browse, tree, case_at, fire):
    case_id = case_at("candidates_submitted")
    fire(tree["fed"], case_id, "return_candidates", comment="请补充女职工委员会候选人")
    html = page(browse(tree["prep"]), step_path(case_id, "nominate"))
    assert 'value="杨帆"' in html and 'name="committee_seats" type="number" value="5"' in html


def test_convening_and_the_quorum(api, browse, tree, case_at):
    case_id = case_at("candidates_approved")
    client = browse(tree["prep"])
    html = page(client, step_path(case_id, "convene"))
    assert '<input checked id="assembly_type-0" name="assembly_type" type="radio" value="members">' in html
    assert 'name="entitled" type="number" value="40"' in html
    assert "本次至少27人" in html
    form = {"assembly_type": "members", "entitled": "40", "present": "26", "version": "7"}
    resp = client.post(step_path(case_id, "convene"), data=form)
    assert resp.status_code == 422
    assert "实到会人数26人，未达到应到会人数（40人）的三分之二（至少27人），选举无效" in resp.get_data(as_text=True)
    resp = client.post(step_path(case_id, "convene"), data={**form, "present": "27"})
    assert resp.status_code == 302 and state_of(api, tree, case_id) == "assembly_convened"


def test_recording_the_election(api, browse, tree, case_at):
    case_id = case_at("assembly_convened")
    client = browse(tree["prep"])
    html = page(client, step_path(case_id, "record_election"))
    assert "至少21票" in html
    chair = html.split('name="chair"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([^"]*)"', chair) == ["", "张伟"]
    names = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵敏", "周婷"]
    assert 'name="chair_method"' in html and 'name="chair_votes_0"' in html
    form = {"ballots_cast": "30", "chair": "张伟", "version": "8", "chair_method": "assembly", "chair_votes_0": "21",
            **{f"votes_{i}": str(VOTES[n]) for i, n in enumerate(names)}}
    resp = client.post(step_path(case_id, "record_election"), data={**form, "votes_7": ""})
    assert resp.status_code == 400 and "请填写每位候选人的得票数（未得票的填0）：周婷" in resp.get_data(as_text=True)
    resp = client.post(step_path(case_id, "record_election"), data={**form, "votes_4": "20"})
    assert resp.status_code == 422
    assert "得票超过应到会人数半数（至少21票）的仅4人" in resp.get_data(as_text=True)
    # each ballot names at most 5 committee members: 30 ballots give at most 150 votes (137 + 13 passes)
    resp = client.post(step_path(case_id, "record_election"), data={**form, "votes_5": "26"})
    assert resp.status_code == 422 and "得票总数至多150票，现为151票" in resp.get_data(as_text=True)
    # the chair directly elected by the assembly: more than half of the 40 entitled, 20 fails
    resp = client.post(step_path(case_id, "record_election"), data={**form, "chair_votes_0": "20"})
    assert resp.status_code == 422 and "主席未能选出" in resp.get_data(as_text=True)
    resp = client.post(step_path(case_id, "record_election"), data={**form, "votes_5": "25"})
    assert resp.status_code == 302
    data = api.get(f"/cases/{case_id}", tree["prep"]).get_json()["data"]
    assert data["elected"]["chair"] == "张伟"
    assert data["chair_ballot"] == {"chair_method": "assembly", "entitled": 40, "votes": {"张伟": 21}, "votes_needed": 21,
                                    "chair": "张伟"}
    text = plain(page(client, f"/cases/{case_id}"))
    assert "会员（代表）大会直接选举，得21票（应选举人数40人，须至少21票）" in text


def test_the_chair_elected_by_the_committee_on_the_page_and_in_the_reply(api, browse, tree, case_at, fire):
    case_id = case_at("assembly_convened")
    client = browse(tree["prep"])
    names = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵敏", "周婷"]
    form = {"ballots_cast": "30", "version": "8", "chair_method": "committee",
            **{f"votes_{i}": str(VOTES[n]) for i, n in enumerate(names)}}
    # five committee members elected: 2 of 5 is not more than half, 3 is
    resp = client.post(step_path(case_id, "record_election"), data={**form, "chair_votes_0": "2"})
    assert resp.status_code == 422 and "须超过应选举人数5人的半数（至少3票）" in resp.get_data(as_text=True)
    resp = client.post(step_path(case_id, "record_election"), data={**form, "chair_votes_0": "3"})
    assert resp.status_code == 302
    fire(tree["prep"], case_id, "submit_results", {})
    fire(tree["fed"], case_id, "sanction", {"approval_no": "某区总工批〔2026〕12号"})
    text = plain(page(client, f"/cases/{case_id}/founding/reply/founding"))
    assert "工会主席经工会委员会选举产生，张伟同志得3票，超过应选举人数5人的半数。" in text


def test_a_stale_form_and_a_missing_confirmation_are_refused(api, browse, tree, case_at):
    case_id = case_at("results_submitted")
    client = browse(tree["fed_b"])
    html = page(client, step_path(case_id, "sanction"))
    assert "张伟" in html and "王芳" in html  # what is being sanctioned
    form = {"f_approval_no": APPROVAL_NO, "version": "10"}
    resp = client.post(step_path(case_id, "sanction"), data=form)
    assert resp.status_code == 400 and "此操作不可撤销，请勾选确认后再提交" in resp.get_data(as_text=True)
    resp = client.post(step_path(case_id, "sanction"), data={**form, "confirm": "yes", "version": "9"})
    stale = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "您打开的表单已过期，本次未作任何更改" in stale
    assert re.search(r"此案件已由\S+于\d{4}-\d\d-\d\d \d\d:\d\d办理“选举结果报批”", stale), stale
    resp = client.post(step_path(case_id, "sanction"), data={**form, "confirm": "yes"})
    assert resp.status_code == 302 and state_of(api, tree, case_id) == "founded"


def test_step_pages_fill_in_the_profile_numbers_and_show_what_is_decided(browse, tree, case_at, fire):
    case_id = case_at("group_formed")
    html = page(browse(tree["prep"]), step_path(case_id, "apply"))
    assert "职工50人以上的由县级以上总工会审批，8人以上不足50人的由乡镇（街道）工会审批" in html
    assert "{" not in plain(html)
    fire(tree["prep"], case_id, "apply")
    text = plain(page(browse(tree["fed"]), step_path(case_id, "approve_application")))
    assert "审查建会申请，同意筹建，并填写批复文号" in text and "批复文号" in text and "筹备组成员张伟、王芳、李娜、刘洋、陈静" in text


def test_the_candidate_review_page_shows_the_slate_and_the_posting(browse, tree, case_at):
    case_id = case_at("candidates_submitted")
    html = page(browse(tree["fed"]), step_path(case_id, "approve_candidates"))
    assert "候选人名单公示满7天后方可同意" in html and "候选人名单" in html
    assert "单位行政主要负责人（法定代表人）" not in html  # nobody on this slate carries a bar


def test_who_may_use_the_step_pages(api, browse, tree, case_at, make_case):
    case_id = case_at("members_recruited")
    for user in ("fed2", "prep_x", "auditor2"):
        page(browse(tree[user]), step_path(case_id, "nominate"), 404)
        assert browse(tree[user]).post(step_path(case_id, "nominate"), data={}).status_code == 404
    auditor = browse(tree["auditor"])
    assert "您的角色（审计人员）不能执行此操作" in page(auditor, step_path(case_id, "nominate"))
    assert auditor.post(step_path(case_id, "nominate"), data=nominate_form(SLATE, 5)).status_code == 403
    assert "此步骤须由" not in page(browse(tree["fed"]), step_path(case_id, "approve_candidates"))
    # a step the case is not at
    client = browse(tree["prep"])
    html = page(client, step_path(case_id, "convene"))
    assert "案件当前状态为“已发展会员”，不能办理此步骤" in html and "disabled" in html
    resp = client.post(step_path(case_id, "convene"),
                       data={"assembly_type": "members", "entitled": "40", "present": "30", "version": "5"})
    assert resp.status_code == 409 and state_of(api, tree, case_id) == "members_recruited"
    assert browse(tree["prep"]).get("/cases/999/founding/nominate").status_code == 404


# ---- the printable notice and replies ------------------------------------------------

def test_the_candidate_notice(browse, tree, case_at):
    case_id = case_at("candidates_submitted")
    html = page(browse(tree["prep"]), f"/cases/{case_id}/founding/notice")
    text = plain(html)
    assert "关于大型企业第一届工会委员会、经费审查委员会、女职工委员会委员候选人名单的公示" in text
    assert "一、工会委员会委员候选人（6人，应选5名）" in text and "二、工会主席候选人（1人）" in text
    assert "三、经费审查委员会委员候选人（1人，应选1名）" in text and "四、女职工委员会委员候选人（1人，应选1名）" in text
    # seven days counting the day it went up: 11-02 to 11-08, the candidates approved from 11-09
    assert "公示期为7天（含张贴当日），自2026年11月2日起至2026年11月8日止。" in text
    assert "大型企业工会筹备组 2026年11月2日" in text
    for user in ("fed", "auditor", "admin"):
        assert "张伟" in page(browse(tree[user]), f"/cases/{case_id}/founding/notice")
    for user in ("fed2", "prep_x", "auditor2"):
        page(browse(tree[user]), f"/cases/{case_id}/founding/notice", 404)


def test_no_notice_before_the_nomination_and_no_reply_before_the_decision(browse, tree, case_at):
    case_id = case_at("applied")
    client = browse(tree["prep"])
    page(client, f"/cases/{case_id}/founding/notice", 404)
    page(client, f"/cases/{case_id}/founding/reply/application", 404)
    page(client, f"/cases/{case_id}/founding/reply/founding", 404)
    page(client, f"/cases/{case_id}/founding/reply/other", 404)


def test_the_replies(api, browse, tree, case_at):
    case_id = case_at("founded")
    client = browse(tree["prep"])
    case_page = page(client, f"/cases/{case_id}")
    for path in ("notice", "reply/application", "reply/founding"):
        assert f'href="/cases/{case_id}/founding/{path}"' in case_page
    text = plain(page(client, f"/cases/{case_id}/founding/reply/application"))
    # the document number exactly as the reviewer typed it in the step, none invented
    assert REPLY_NO in text and "筹复〔" not in text and "未填写文号" not in text
    assert "关于同意大型企业筹建工会的批复" in text and "经研究，同意你单位筹建工会。" in text
    text = plain(page(client, f"/cases/{case_id}/founding/reply/founding"))
    assert APPROVAL_NO in text and "由系统" not in text
    assert "同意成立大型企业工会委员会，成立日期为2026年11月10日" in text
    assert "同意张伟同志任工会主席；张伟、王芳、李娜、刘洋、陈静同志为工会委员会委员" in text
    assert "请于2027年1月9日前依法办理工会法人资格登记" in text
    for user in ("fed2", "prep_x"):
        page(browse(tree[user]), f"/cases/{case_id}/founding/reply/founding", 404)
    assert "某区总工会" in page(browse(tree["fed_b"]), f"/cases/{case_id}/founding/reply/founding")
