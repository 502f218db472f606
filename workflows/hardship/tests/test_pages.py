"""困难职工帮扶 pages: the application form (new, edit and resubmit), the case panel, the
objection pages, the printable 公示 notice and the federation's 汇总, for each role."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select, update

from workflow import Case, User
from workflows.hardship.tests.support import (  # noqa: F401  (fixtures)
    APPLICANT_ID,
    CHILD_ID,
    POSTING_ENDS,
    SPOUSE_ID,
    application,
    bad_check,
    clock,
    config_for,
    founded,
    household_ids,
    walk,
)


@pytest.fixture
def app_config(app_config, clock, tmp_path):
    return config_for(app_config, clock, tmp_path)


@pytest.fixture
def login(app):
    """A logged-in test client per user."""
    def make(username: str):
        client = app.test_client()
        resp = client.post("/login", data={"username": username, "password": "correct-horse-1"})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return client

    return make


def html(resp) -> str:
    return resp.get_data(as_text=True)


def visible_text(resp) -> str:
    """The page's text without tags (what a reader sees), whitespace collapsed."""
    body = re.sub(r"<[^>]+>", " ", html(resp))
    return re.sub(r"\s+", " ", body)


def form_fields(data: dict) -> dict[str, str]:
    """The application as the page form posts it."""
    out = {"applicant_name": data["applicant"]["name"], "applicant_id_number": data["applicant"]["id_number"],
           "marital_status": data["marital_status"], "out_of_pocket_medical": str(data["out_of_pocket_medical"]),
           "disaster_loss": str(data["disaster_loss"]), "causes": data["causes"], "materials": data["materials"]}
    for i, m in enumerate(data["household"]):
        out[f"household-{i}-name"] = m["name"]
        out[f"household-{i}-relation"] = m["relation"]
        out[f"household-{i}-id_number"] = m.get("id_number", "")
        out[f"household-{i}-monthly_income"] = str(m["monthly_income"])
        if m.get("married"):
            out[f"household-{i}-married"] = "y"
    for i in range(len(data["household"]), 6):  # the empty rows a browser sends too
        out.update({f"household-{i}-name": "", f"household-{i}-relation": "", f"household-{i}-id_number": "",
                    f"household-{i}-monthly_income": ""})
    return out


def count_cases(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Case))


# ---------------------------------------------------------------- the application form

def test_generic_creation_page_sends_to_the_form(login, founded):
    client = login("prep")
    resp = client.get("/cases/new/hardship")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/hardship/new")
    page = client.get("/hardship/new")
    assert page.status_code == 200
    body = html(page)
    for label in ("申请人姓名", "申请人身份证号", "婚姻状况", "家庭成员", "与申请人关系", "月收入（元）", "患重大疾病",
                  "子女上学", "本年度自负医药费（元）", "困难职工档案表", "户口本复印件", "保存并提交企业工会审核"):
        assert label in body, label
    assert body.count('name="household-') >= 6 * 5  # six rows of five inputs, no JavaScript
    assert '<option selected value="self">' in body or 'value="self" selected' in body


@pytest.mark.parametrize("who, status", [("fed", 403), ("ent_rev", 403), ("auditor", 403), ("admin", 403)])
def test_only_preparers_open_an_application(login, founded, who, status):
    assert login(who).get("/hardship/new").status_code == status


def test_an_enterprise_without_union_applies_through_the_town(login, founded, db, api, tree):
    """Definition version 2 (属地管理): told who reviews, and the case goes to the town union."""
    client = login("prep_m")
    assert "本单位尚未成立工会：申请由所在社区工会" in html(client.get("/hardship/new"))
    resp = client.post("/hardship/new", data={**form_fields(application()), "action": "submit"})
    assert resp.status_code == 302 and count_cases(db) == 1
    (case,) = api.get("/cases?workflow=hardship", tree["town"]).get_json()["items"]
    assert (case["state"], case["competent_org"]) == ("applied", "TOWN")


def test_save_and_submit_in_one_go(login, founded, db):
    client = login("prep")
    resp = client.post("/hardship/new", data={**form_fields(application()), "action": "submit"})
    assert resp.status_code == 302
    with db.read() as session:
        case = session.scalars(select(Case)).one()
        assert (case.state, case.version, case.data["household"][0]["monthly_income"]) == ("applied", 2, "1800.00")
        assert case.data["causes"] == ["illness"] and case.facts["per_capita_income"] == "600.00"


def test_an_application_handed_in_on_paper_is_dated_by_the_day_it_was_handed_in(login, founded, db, clock, api):
    """The 办理日期 of the application form dates the case and its submission; tomorrow is refused, nothing saved."""
    client = login("prep")
    page = html(client.get("/hardship/new"))
    assert f'name="decided_on" value="{clock.today.isoformat()}"' in page
    tomorrow = date.fromordinal(clock.today.toordinal() + 1).isoformat()
    refused = client.post("/hardship/new", data={**form_fields(application()), "action": "submit",
                                                  "decided_on": tomorrow})
    assert refused.status_code == 422 and "不能晚于今天" in visible_text(refused)
    with db.read() as session:
        assert session.scalars(select(Case)).all() == []
    handed_in = date.fromordinal(clock.today.toordinal() - 3).isoformat()
    resp = client.post("/hardship/new", data={**form_fields(application()), "action": "submit",
                                              "decided_on": handed_in})
    assert resp.status_code == 302
    with db.read() as session:
        case = session.scalars(select(Case)).one()
        assert (case.state, case.decided_on.isoformat()) == ("applied", handed_in)
    entries = api.get(f"/cases/{case.id}/audit", founded["prep"]).get_json()["entries"]
    assert [(e["trigger"], e["decided_on"]) for e in entries] == [("create", handed_in), ("submit", handed_in)]


def test_refused_submission_saves_nothing_and_marks_the_inputs(login, founded, db):
    client = login("prep")
    data = application(materials=["archive_form"])
    data["household"][1]["id_number"] = bad_check(SPOUSE_ID)
    fields = {**form_fields(data), "household-2-monthly_income": "", "action": "submit"}
    resp = client.post("/hardship/new", data=fields)
    assert resp.status_code == 400  # the child's income is missing: the data is refused before any rule
    assert "必填项" in html(resp)
    fields["household-2-monthly_income"] = "0"
    resp = client.post("/hardship/new", data=fields)
    assert resp.status_code == 422
    text = visible_text(resp)
    assert "“李强”的身份证号无效" in text and "household" not in text  # the person, not the field's path
    assert count_cases(db) == 0
    # the message stands in the spouse's row, the typed values are kept
    row = html(resp).split('name="household-1-name"')[1].split("</tr>")[0]
    assert "身份证号" in row and "无效" in row and bad_check(SPOUSE_ID) in row
    # the same application as a draft is refused for the ID number too, and saved once it is right
    fields["household-1-id_number"] = SPOUSE_ID
    resp = client.post("/hardship/new", data=fields)
    assert resp.status_code == 422 and "缺少以下申请材料" in visible_text(resp)
    assert count_cases(db) == 0
    resp = client.post("/hardship/new", data={**fields, "action": "draft"})
    assert resp.status_code == 302 and count_cases(db) == 1


def test_more_rows_without_javascript(login, founded):
    client = login("prep")
    fields = {**form_fields(application()), "add_rows": "1"}
    resp = client.post("/hardship/new", data=fields)
    assert resp.status_code == 200
    body = html(resp)
    assert 'name="household-9-name"' in body and 'name="household-10-name"' not in body
    assert 'value="李小明"' in body and "李强" in body


def test_edit_and_resubmit_after_a_return(login, founded, api, fire, clock, db):
    case = walk(api, fire, founded, clock, "applied")
    fire(founded["ent_rev"], case["id"], "return_review", comment="请补充配偶收入证明")
    with db.write() as session:
        session.execute(update(User).where(User.username == "ent_rev").values(display_name="赵芳"))
    client = login("prep")
    page = client.get(f"/cases/{case['id']}")
    assert f'href="/hardship/{case["id"]}/application"' in html(page)  # the submit step opens the form
    form = client.get(f"/hardship/{case['id']}/application")
    body = html(form)
    assert form.status_code == 200 and "请补充配偶收入证明" in body
    assert "（赵芳（大型企业） · " in visible_text(form) and "ent_rev" not in visible_text(form)  # who returned it
    assert f'value="{APPLICANT_ID}"' in body and 'value="1800"' in body and 'value="王芳"' in body
    version = re.search(r'name="version" type="hidden" value="(\d+)"', body).group(1)
    data = application()
    data["household"][1]["monthly_income"] = 1200
    fields = {**form_fields(data), "version": version, "action": "submit"}
    stale = client.post(f"/hardship/{case['id']}/application", data={**fields, "version": "1"})
    assert stale.status_code == 409 and "您打开的表单已过期，本次未作任何更改" in html(stale)
    resp = client.post(f"/hardship/{case['id']}/application", data=fields)
    assert resp.status_code == 302
    with db.read() as session:
        saved = session.get(Case, case["id"])
        assert (saved.state, saved.facts["per_capita_income"]) == ("applied", "1000.00")
    again = client.get(f"/hardship/{case['id']}/application")
    assert "当前状态" in html(again) and "不能修改申请" in html(again) and 'name="applicant_name"' not in html(again)


# ---------------------------------------------------------------- the case panel

def test_an_assisted_worker_waits_for_the_yearly_recheck_not_a_review(login, founded, api, fire, clock):
    case = walk(api, fire, founded, clock, "assisted")
    assert case["data"]["next_recheck_due"] == "2027-11-09"
    client = login("prep")
    note = "帮扶中，某区总工会应于2027-11-09前进行年度复核"
    page = visible_text(client.get(f"/cases/{case['id']}"))
    assert note + "。" in page and "等待某区总工会审核" not in page
    assert note in visible_text(client.get("/"))
    english = visible_text(client.get(f"/cases/{case['id']}?lang=en"))
    assert "Assisted; 某区总工会 rechecks the household by 2027-11-09." in english


@pytest.mark.parametrize("until, waits_for", [("applied", "大型企业"), ("submitted", "某区总工会")])
def test_the_applicant_side_is_told_who_decides_next(login, founded, api, fire, clock, until, waits_for):
    """Before the federation is fixed (at submission) the application waits for its own enterprise union."""
    case = walk(api, fire, founded, clock, until)
    text = visible_text(login("prep").get(f"/cases/{case['id']}"))
    assert f"等待{waits_for}审核。" in text and f"审批单位 {waits_for}" in text
    assert "等待上级工会审核" not in text and "尚未确定" not in text



def test_panel_for_the_enterprise_and_for_the_federation(login, founded, api, fire, clock):
    household = application()["household"] + [
        {"name": "李大明", "relation": "child", "married": True, "monthly_income": 9000},
        {"name": "王丽", "relation": "sibling", "monthly_income": 0}]
    case = walk(api, fire, founded, clock, "reviewed", application(household=household))
    own = visible_text(login("ent_rev").get(f"/cases/{case['id']}"))
    for text in ("申请概况", "家庭成员", "✓ 计入", "✗ 不计入：已婚子女或兄弟姐妹不计入家庭人口",
                 "✗ 不计入：按申请人婚姻状况不计入家庭人口", "600.00", "第一类：人均收入低于低保线150%",
                 "家庭人均月收入600.00元，不高于第1类上限1170.00元", APPLICANT_ID, "打印公示"):
        assert text in own, text
    outside = login("fed").get(f"/cases/{case['id']}")
    body = html(outside)
    assert APPLICANT_ID not in body and SPOUSE_ID not in body and CHILD_ID not in body
    assert APPLICANT_ID[:6] + "********" + APPLICANT_ID[-4:] in body
    assert "区总工会汇总" in body


def test_posting_countdown_on_the_panel(login, founded, api, fire, clock):
    case = walk(api, fire, founded, clock, "posting")
    client = login("ent_rev")
    text = visible_text(client.get(f"/cases/{case['id']}"))
    assert "已公示0个工作日，还需5个工作日" in text and "最早可报区总工会 2026-11-09" in text
    assert "5个工作日（周末和法定节假日不计），至2026-11-09期满" in text
    assert "2026-11-07 周六： 周末，不计" in text and "2026-11-08 周日： 周末，不计" in text
    clock.today = date(2026, 11, 6)
    assert "已公示4个工作日，还需1个工作日" in visible_text(client.get(f"/cases/{case['id']}"))
    clock.today = POSTING_ENDS
    assert "公示期已满" in visible_text(client.get(f"/cases/{case['id']}"))


def test_posting_across_a_holiday_skips_it(login, founded, api, fire, clock):
    clock.today = date(2026, 9, 30)  # 国庆: the holidays and the weekend do not count, Saturday 10 October does
    case = api.post("/cases", founded["prep"], {"workflow": "hardship", "org": "ENT-L", "data": application()}).get_json()
    fire(founded["prep"], case["id"], "submit")
    fire(founded["ent_rev"], case["id"], "approve_review")
    fire(founded["ent_rev"], case["id"], "start_posting", {"posted_on": "2026-09-30"})
    clock.today = date(2026, 10, 12)
    text = visible_text(login("ent_rev").get(f"/cases/{case['id']}"))
    assert "2026-10-01 周四： 法定节假日，不计" in text and "2026-10-10 周六： 第3个工作日 ✓" in text
    assert "至2026-10-13期满" in text and "已公示4个工作日，还需1个工作日" in text


# ---------------------------------------------------------------- objections

def test_objection_pages(login, founded, api, fire, clock, db):
    case = walk(api, fire, founded, clock, "posting")
    cid = case["id"]
    clerk = login("prep2")
    page = clerk.get(f"/cases/{cid}")
    assert f'href="/hardship/{cid}/objections/new"' in html(page)
    form = clerk.get(f"/hardship/{cid}/objections/new")
    assert form.status_code == 200 and "<textarea" in html(form)
    assert clerk.post(f"/hardship/{cid}/objections/new", data={"text": "  ", "version": "4"}).status_code == 400
    resp = clerk.post(f"/hardship/{cid}/objections/new", data={"text": "职工张某反映：申请人配偶有经营收入", "version": "4"})
    assert resp.status_code == 302
    login("ent_rev").post(f"/hardship/{cid}/objections/new", data={"text": "家中另有房产出租", "version": "5"})

    reviewer = login("ent_rev")
    text = visible_text(reviewer.get(f"/cases/{cid}"))
    assert "#1 职工张某反映：申请人配偶有经营收入 prep2" in text and "待处理" in text
    assert "还有2件异议未处理（编号：1, 2）" in text  # why 报区总工会 is not possible yet
    page = reviewer.get(f"/hardship/{cid}/objections/dismiss?objection=2")
    assert re.search(r'<option selected value="2">|<option value="2" selected>', html(page))
    assert "职工张某反映：申请人配偶有经营收入 prep2（大型企业）" in visible_text(page)  # who raised it, and where
    assert login("prep").get(f"/hardship/{cid}/objections/dismiss").status_code == 200  # the page, not the step
    refused = login("prep").post(f"/hardship/{cid}/objections/dismiss", data={"objection_id": "1", "comment": "…"})
    assert refused.status_code == 403 and "您的角色（经办人）不能执行此操作" in visible_text(refused)
    no_comment = reviewer.post(f"/hardship/{cid}/objections/dismiss", data={"objection_id": "1", "comment": ""})
    assert no_comment.status_code == 400 and "此操作须填写意见说明" in html(no_comment)
    ok = reviewer.post(f"/hardship/{cid}/objections/dismiss",
                       data={"objection_id": "1", "comment": "经核实，配偶无经营收入", "version": "6"})
    assert ok.status_code == 302
    text = visible_text(reviewer.get(f"/cases/{cid}"))
    assert "异议不成立 · ent_rev（大型企业） · 2026-11-02" in text and "经核实，配偶无经营收入" in text

    unconfirmed = reviewer.post(f"/hardship/{cid}/objections/uphold", data={"objection_id": "2", "comment": "属实"})
    assert unconfirmed.status_code == 400 and "请勾选确认" in html(unconfirmed)
    with db.read() as session:
        assert session.get(Case, cid).state == "posting"
    done = reviewer.post(f"/hardship/{cid}/objections/uphold",
                         data={"objection_id": "2", "comment": "经核实属实", "confirm": "yes"})
    assert done.status_code == 302
    with db.read() as session:
        assert session.get(Case, cid).state == "rejected"
    assert "异议成立" in visible_text(reviewer.get(f"/cases/{cid}"))


# ---------------------------------------------------------------- the printable notice

def test_notice_shows_name_unit_and_category_only(login, founded, api, fire, clock):
    data = application(income="2100.50", medical=8000)
    case = walk(api, fire, founded, clock, "applied", data)
    client = login("ent_rev")
    assert client.get(f"/hardship/{case['id']}/notice").status_code == 404  # not approved yet
    fire(founded["ent_rev"], case["id"], "approve_review")
    blank = visible_text(client.get(f"/hardship/{case['id']}/notice"))
    assert "公示期为5个工作日（自张贴次日起计算，公休日和法定节假日不计）。" in blank and "____年____月____日" in blank
    fire(founded["ent_rev"], case["id"], "start_posting", {"posted_on": "2026-11-02"})
    resp = client.get(f"/hardship/{case['id']}/notice")
    assert resp.status_code == 200
    text = visible_text(resp)
    for shown in ("困难职工帮扶对象公示", "王芳", "大型企业", "第一类", "公示期为5个工作日（自张贴次日起计算，公休日和法定节假日不计），自2026年11月3日起至2026年11月9日止。",
                  "大型企业工会 2026年11月2日 （盖章）",
                  "如有异议", "大型企业工会"):
        assert shown in text, shown
    body = html(resp)
    for hidden in (APPLICANT_ID, APPLICANT_ID[:6], APPLICANT_ID[-4:], "2100", "700.17", "8000", "患重大疾病",
                   "illness", "李强", "李小明", "诊断", "低保", "收入"):
        assert hidden not in body, hidden
    assert login("prep_x").get(f"/hardship/{case['id']}/notice").status_code == 404


# ---------------------------------------------------------------- the federation's summary

def test_summary_lists_the_subtree_and_decides(login, founded, api, fire, clock, make_org, make_user, db):
    first = walk(api, fire, founded, clock, "submitted")
    second = walk(api, fire, founded, clock, "submitted",
                  application(income=4500, causes=["illness"], ids=household_ids(1)))
    walk(api, fire, founded, clock, "posting", application(ids=household_ids(2)))  # not submitted yet: not listed
    fed = login("fed")
    resp = fed.get("/hardship/summary")
    assert resp.status_code == 200
    text = visible_text(resp)
    assert f"#{first['id']}" in text and f"#{second['id']}" in text
    assert "大型企业 1 0 1 0 2 0 0.00" in text  # per enterprise: one of category 1, one of category 3
    only_three = visible_text(fed.get("/hardship/summary?category=3"))
    assert f"#{second['id']}" in only_three and f"#{first['id']} " not in only_three
    body = html(fed.get("/hardship/summary"))
    assert APPLICANT_ID not in body
    determine = f'href="/cases/{first["id"]}/steps/determine"'
    assert determine in body
    clock.today = POSTING_ENDS
    resp = fed.post(f"/cases/{first['id']}/steps/determine", data={"f_amount": "2000", "comment": "汇总平衡后确定",
                                                                    "confirm": "yes"})
    assert resp.status_code == 302
    text = visible_text(fed.get("/hardship/summary"))
    assert "大型企业 0 0 1 0 1 1 2,000.00" in text
    # a year on, the assisted file is due for its recheck
    assert "近期没有需要复核的帮扶对象" in text
    clock.today = date(2027, 11, 1)
    text = visible_text(fed.get("/hardship/summary"))
    assert "王芳 第一类 2,000.00 2027-11-09" in text and "2027-11-09 已到期" not in text
    clock.today = date(2027, 11, 10)
    assert "2027-11-09 已到期" in visible_text(fed.get("/hardship/summary"))
    assert login("fed2").get("/hardship/summary").status_code == 200
    assert f"#{first['id']}" not in visible_text(login("fed2").get("/hardship/summary"))


@pytest.mark.parametrize("who", ["prep", "ent_rev", "prep_m"])
def test_summary_is_for_the_federation_side(login, founded, who):
    assert login(who).get("/hardship/summary").status_code == 403


def test_pages_of_an_unseen_case_are_404(login, founded, api, fire, clock):
    case = walk(api, fire, founded, clock, "posting")
    client = login("prep_x")
    for path in ("application", "objections/new", "objections/dismiss", "objections/uphold", "notice"):
        assert client.get(f"/hardship/{case['id']}/{path}").status_code == 404, path


def test_amounts_show_thousands_separators_and_the_per_capita_figure_says_it_is_rounded_down(
        login, founded, api, fire, clock):
    # three people, 3,510.01 yuan: 1,170.0033… per person, shown 1,170.00 (rounded down) though above the limit
    household = [{"name": "王芳", "relation": "self", "id_number": APPLICANT_ID, "monthly_income": "3510.01"},
                 {"name": "李强", "relation": "spouse", "id_number": SPOUSE_ID, "monthly_income": 0},
                 {"name": "李小明", "relation": "child", "id_number": CHILD_ID, "monthly_income": 0}]
    data = application(household=household, causes=("illness",), medical="12345.6")
    case = walk(api, fire, founded, clock, "assisted", data)
    page = visible_text(login("ent_rev").get(f"/cases/{case['id']}"))
    assert "本年度自负医药费 12,345.60 元" in page
    assert "月收入合计 3,510.01 元" in page
    assert "人均月收入 1,170.00 元 按规定向下取整到分；是否符合帮扶类别按精确数比较。" in page
    assert "帮扶金额 2,000.00 元" in page
    assert "3,510.01" in page and "3510.01" not in page
