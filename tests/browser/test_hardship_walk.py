"""困难职工帮扶 walked in a real browser: the enterprise's preparer applies and uploads the
materials, the enterprise union reviewer returns the application, approves the corrected
one, prints the 公示 notice, posts it, decides an objection and reports to the federation,
whose reviewer determines the assistance from the 汇总 page."""
from __future__ import annotations

from datetime import date

import pytest

from tests.browser.conftest import login
from workflows.hardship.tests.support import (  # noqa: F401  (fixtures)
    APPLICANT_ID, CHILD_ID, MONDAY, SPOUSE_ID, clock, config_for, founded, pdf_bytes, png_bytes,
)


@pytest.fixture
def app_config(app_config, clock, tmp_path):
    return config_for(app_config, clock, tmp_path, max_bytes=10 * 1024 * 1024)


def open_action(page, case_url: str, label: str) -> None:
    page.goto(case_url)
    page.click(f"a.button:has-text('{label}')")


def attach(page, material: str, name: str, mime: str, content: bytes) -> None:
    page.set_input_files(f"#file-{material}", files=[{"name": name, "mimeType": mime, "buffer": content}])
    page.click(f"form:has(input[name=material][value={material}]) button[type=submit]")
    page.wait_for_selector(f"text=已上传：{name}")


def test_the_whole_route(new_page, founded, shot, clock):
    clock.today = MONDAY

    # -- the enterprise's preparer fills in the 档案表 and saves a draft
    prep = new_page()
    login(prep, "prep")
    prep.wait_for_selector("text=我的案件")
    prep.goto("/cases/new/hardship")
    prep.wait_for_selector("h1:has-text('困难职工帮扶申请')")
    prep.fill("input[name=applicant_name]", "王芳")
    prep.fill("input[name=applicant_id_number]", APPLICANT_ID)
    prep.select_option("select[name=marital_status]", "married")
    rows = [("王芳", "self", APPLICANT_ID, "1800", False), ("李强", "spouse", SPOUSE_ID, "0", False),
            ("李小明", "child", CHILD_ID, "0", False), ("李大明", "child", "", "6000", True)]
    for i, (name, relation, number, income, married) in enumerate(rows):
        prep.fill(f"input[name=household-{i}-name]", name)
        prep.select_option(f"select[name=household-{i}-relation]", relation)
        prep.fill(f"input[name=household-{i}-id_number]", number)
        prep.fill(f"input[name=household-{i}-monthly_income]", income)
        if married:
            prep.check(f"input[name=household-{i}-married]")
    prep.check("input[name=causes][value=illness]")
    prep.fill("input[name=out_of_pocket_medical]", "8000")
    for material in ("archive_form", "id_copies", "household_register", "income_proof"):
        prep.check(f"input[name=materials][value={material}]")
    shot(prep, "01-application-form")
    prep.click("button[name=action][value=draft]")
    prep.wait_for_selector("text=申请已保存为草稿")
    case_url = prep.url.split("#")[0]

    # -- uploads: a PDF and a PNG made here from bytes; a text file is refused
    attach(prep, "archive_form", "困难职工档案表.pdf", "application/pdf", pdf_bytes("archive form"))
    attach(prep, "id_copies", "身份证复印件.png", "image/png", png_bytes())
    prep.set_input_files("#file-income_proof", files=[{"name": "收入证明.pdf", "mimeType": "application/pdf",
                                                        "buffer": b"not really a pdf"}])
    prep.click("form:has(input[name=material][value=income_proof]) button[type=submit]")
    prep.wait_for_selector("text=不是JPEG、PNG图片或PDF文件")
    shot(prep, "02-refused-upload")
    prep.goto(case_url)
    assert "家庭人口按本人、配偶和未婚子女计算" in prep.content()
    shot(prep, "03-draft-with-uploads")

    # submitting without the diagnosis is refused, each missing material named
    open_action(prep, case_url, "提交申请")
    prep.click("button[name=action][value=submit]")
    prep.wait_for_selector("text=缺少以下申请材料：县区级以上医院诊断证明、病历及医药费单据")
    prep.check("input[name=materials][value=diagnosis]")
    prep.click("button[name=action][value=submit]")
    prep.wait_for_selector("text=申请已提交，等待企业工会审核")

    # -- the enterprise union reviewer returns it for correction
    rev = new_page()
    login(rev, "ent_rev")
    rev.wait_for_selector("text=待我审核")
    rev.goto(case_url)
    rev.wait_for_selector("text=不计入：已婚子女或兄弟姐妹不计入家庭人口")
    shot(rev, "04-reviewer-sees-the-case")
    open_action(rev, case_url, "退回补正")
    rev.fill("textarea[name=comment]", "请补充配偶的收入证明，配偶有临时工收入的如实填写")
    rev.click("main button[type=submit].primary")
    rev.wait_for_selector("text=已办理")

    # -- the preparer corrects the spouse's income and resubmits
    open_action(prep, case_url, "提交申请")
    prep.wait_for_selector("text=请补充配偶的收入证明")
    prep.fill("input[name=household-1-monthly_income]", "900")
    shot(prep, "05-edit-after-return")
    prep.click("button[name=action][value=submit]")
    prep.wait_for_selector("text=申请已提交，等待企业工会审核")

    # -- approval, the printed notice, the posting (dated in the past) and an objection
    open_action(rev, case_url, "审核同意")
    rev.fill("textarea[name=comment]", "经工会委员会研究同意")
    rev.click("main button[type=submit].primary")
    rev.wait_for_selector("text=已办理")
    rev.goto(case_url + "#materials")
    assert rev.locator("a:has-text('困难职工档案表.pdf')").count() == 1
    clock.today = date(2026, 11, 12)  # ten days on
    open_action(rev, case_url, "开始公示")
    rev.fill("input[name=f_posted_on]", "2026-11-02")
    rev.click("main button[type=submit].primary")
    rev.wait_for_selector("text=公示期已满")
    shot(rev, "06-posting-elapsed")

    rev.goto(case_url)
    rev.click("a.button:has-text('打印公示')")
    rev.wait_for_selector(".paper .subtitle:has-text('困难职工帮扶对象公示')")
    assert rev.inner_text(".paper h1") == "公　示" and rev.locator(".paper .seal").is_visible()
    assert rev.locator("button[data-print]:has-text('打印')").is_visible()
    notice = rev.content()
    assert "王芳" in notice and "大型企业" in notice and "第一类" in notice
    for hidden in (APPLICANT_ID, "1800", "患重大疾病", "8000"):
        assert hidden not in notice
    rev.emulate_media(media="print")
    shot(rev, "07-notice-printed")
    assert not rev.locator("button[data-print]").is_visible()
    rev.emulate_media(media="screen")

    clerk = new_page()
    login(clerk, "prep2")
    open_action(clerk, case_url, "登记异议")
    clerk.fill("textarea[name=text]", "职工张某反映：申请人配偶另有经营收入")
    clerk.click("main button[type=submit].primary")
    clerk.wait_for_selector("text=异议已登记")
    rev.goto(case_url)
    rev.wait_for_selector("text=还有1件异议未处理")
    rev.click("#objections a.button:has-text('异议不成立')")
    rev.fill("textarea[name=comment]", "经核实，配偶为个体摊贩，收入已如实填报")
    shot(rev, "08-dismiss-objection")
    rev.click("main button[type=submit].primary")
    rev.wait_for_selector("text=已办理")
    open_action(rev, case_url, "报区总工会")
    rev.check("input[name=confirm]")
    rev.click("main button[type=submit].primary")
    rev.wait_for_selector("text=已办理")

    # -- the federation's reviewer determines it from the 汇总
    fed = new_page()
    login(fed, "fed")
    fed.goto(case_url)
    assert APPLICANT_ID not in fed.content() and (APPLICANT_ID[:6] + "********" + APPLICANT_ID[-4:]) in fed.content()
    fed.click("a.button:has-text('区总工会汇总')")
    fed.wait_for_selector("h1:has-text('困难职工帮扶汇总')")
    shot(fed, "09-federation-summary")
    fed.click("a.button:has-text('确定为帮扶对象')")
    fed.fill("input[name=f_amount]", "2000")
    fed.fill("textarea[name=comment]", "汇总平衡后确定为帮扶对象")
    fed.check("input[name=confirm]")
    fed.click("main button[type=submit].primary")
    fed.wait_for_selector("text=已办理")
    fed.wait_for_selector("#assistance >> text=2,000.00")
    shot(fed, "10-assisted")
