"""A union founded in the browser (建会): a preparer and two federation reviewers, each in their own
browser, walk one case from the draft to the legal-person registration through the founding pages,
with the printable candidate notice and replies; screenshots at each major step."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.browser.conftest import login

CANDIDATES = [  # name, positions, bars
    ("张伟", ["committee", "chair"], []),
    ("王芳", ["committee", "women"], []),
    ("李娜", ["committee"], []),
    ("刘洋", ["committee"], []),
    ("陈静", ["committee"], ["hr_head"]),   # 人力资源负责人: may sit on the committee, not chair it
    ("杨帆", ["committee"], []),
    ("赵敏", ["audit"], []),
    ("周婷", ["women"], []),
]
VOTES = {"张伟": 28, "王芳": 26, "李娜": 25, "刘洋": 24, "陈静": 22, "杨帆": 12, "赵敏": 27, "周婷": 25}


def shanghai_today():
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def submit(page, flash: str) -> None:
    """Press the step's submit button and land back on the case page with its confirmation."""
    page.click("button[name=fire]")
    page.wait_for_selector(f".flash >> text={flash}")
    assert re.search(r"/cases/\d+$", page.url), page.url


def open_case(page, case_id: int) -> None:
    page.goto(f"/cases/{case_id}")
    page.wait_for_selector("text=建会进度")


def next_step(page, label: str) -> None:
    """Follow the panel's button for the next step."""
    page.click(f".fd-next a.button.primary:has-text('{label}')")
    page.wait_for_selector(f"h1:has-text('{label}')")


def printed(page, shot, name: str) -> None:
    page.emulate_media(media="print")
    shot(page, name)
    page.emulate_media(media="screen")


def test_founding_walked_in_the_browser(new_page, tree, shot, api):
    prep, fed, fed_b = new_page(), new_page(), new_page()
    login(prep, "prep")
    login(fed, "fed")
    login(fed_b, "fed_b")

    # the preparer opens the case
    prep.wait_for_selector("text=我的案件")
    prep.click("a.button:has-text('建会（组建基层工会）')")
    prep.click("button[type=submit]:has-text('创建')")
    prep.wait_for_selector("text=建会进度")
    case_id = int(re.search(r"/cases/(\d+)$", prep.url).group(1))
    assert "第1步，共8步" in prep.inner_text(".fd-panel")
    shot(prep, "01-case-opened")

    # 1 筹备组
    next_step(prep, "成立筹备组")
    for i, name in enumerate(["张伟", "王芳", "李娜", "刘洋", "陈静"]):
        prep.fill(f"input[name=members-{i}]", name)
    shot(prep, "02-group-form")
    submit(prep, "已办理：成立筹备组")

    # 2 建会申请: the approving union is fixed by the 60 employees
    next_step(prep, "提出建会申请")
    assert "职工50人以上的由县级以上总工会审批" in prep.inner_text("main")
    prep.fill("textarea[name=comment]", "本单位职工60人，申请成立工会")
    submit(prep, "已办理：提出建会申请")
    assert "某区总工会（提出申请时按职工人数确定）" in prep.inner_text(".fd-panel")

    # 3 the federation approves
    open_case(fed, case_id)
    shot(fed, "03-reviewer-sees-application")
    next_step(fed, "批复同意筹建")
    fed.fill("input[name=f_reply_no]", "滨工复〔2026〕12号")
    fed.fill("textarea[name=comment]", "同意筹建")
    submit(fed, "已办理：批复同意筹建")

    # 4 members
    open_case(prep, case_id)
    next_step(prep, "登记会员人数")
    prep.fill("input[name=f_member_count]", "40")
    prep.fill("input[name=f_female_member_count]", "12")
    submit(prep, "已办理：登记会员人数")

    # 5 nomination: the table, more rows, a refused slate, then the right one
    next_step(prep, "提名候选人并报批")
    assert prep.locator("input[name$='-name'][name^='candidates-']").count() == 12
    prep.click("button[name=add_rows]")
    prep.wait_for_selector("input[name=candidates-17-name]")
    prep.fill("input[name=committee_seats]", "5")
    prep.fill("input[name=audit_seats]", "1")
    prep.fill("input[name=women_seats]", "1")
    prep.fill("input[name=posted_on]", (shanghai_today() - timedelta(days=8)).isoformat())
    for i, (name, stands, bars) in enumerate(CANDIDATES):
        prep.fill(f"input[name=candidates-{i}-name]", name)
        for s in stands:
            prep.check(f"input[name=candidates-{i}-stands][value={s}]")
        for b in bars:
            prep.check(f"input[name=candidates-{i}-bars][value={b}]")
    prep.check("input[name=candidates-4-stands][value=chair]")  # 陈静 heads HR: refused as chair candidate
    shot(prep, "04-nomination-filled")
    prep.click("button[name=fire]")
    prep.wait_for_selector(".errors >> text=候选人“陈静”为人力资源部门负责人，不得作为工会主席候选人")
    assert prep.locator("tr.fd-row-error:not(.fd-row-msg)").count() == 1
    shot(prep, "05-nomination-refused")
    prep.uncheck("input[name=candidates-4-stands][value=chair]")
    prep.fill("textarea[name=comment]", "候选人名单已在厂区公示栏张贴")
    submit(prep, "已办理：提名候选人并报批")

    # the printable notice
    prep.click("a.button:has-text('候选人名单公示')")
    prep.wait_for_selector("text=工会委员会委员候选人（6人，应选5名）")
    shot(prep, "06-notice-screen")
    printed(prep, shot, "07-notice-printed")

    # the federation sees the slate with its bars and approves (the posting began 8 days ago)
    open_case(fed, case_id)
    assert "人力资源部门负责人" in fed.inner_text("#fd-candidates ~ div")
    shot(fed, "08-reviewer-sees-candidates")
    next_step(fed, "同意候选人")
    shot(fed, "09-approve-candidates-page")
    submit(fed, "已办理：同意候选人")

    # 6 the assembly
    open_case(prep, case_id)
    next_step(prep, "召开会员（代表）大会")
    assert prep.is_checked("input[name=assembly_type][value=members]")
    assert prep.input_value("input[name=entitled]") == "40"
    prep.fill("input[name=present]", "30")
    submit(prep, "已办理：召开会员（代表）大会")

    # 7 the election
    next_step(prep, "登记选举结果")
    prep.fill("input[name=ballots_cast]", "30")
    for i, (name, _stands, _bars) in enumerate(CANDIDATES):
        prep.fill(f"input[name=votes_{i}]", str(VOTES[name]))
    prep.select_option("select[name=chair]", "张伟")
    # the chair elected directly by the assembly: 20 of 40 entitled is no majority, 21 is
    prep.check("input[name=chair_method][value=assembly]")
    prep.fill("input[name=chair_votes_0]", "20")
    prep.click("button[name=fire]")
    prep.wait_for_selector("text=主席未能选出")
    prep.fill("input[name=chair_votes_0]", "21")
    shot(prep, "10-election-form")
    submit(prep, "已办理：登记选举结果")
    elected = prep.inner_text("#fd-elected + dl")
    assert "张伟" in elected and "杨帆" not in elected
    assert "会员（代表）大会直接选举，得21票" in elected
    shot(prep, "11-elected")

    # 8 results to the federation; a second reviewer sanctions
    next_step(prep, "选举结果报批")
    submit(prep, "已办理：选举结果报批")
    open_case(fed_b, case_id)
    next_step(fed_b, "批准成立")
    fed_b.fill("input[name=f_approval_no]", "某区总工批〔2026〕12号")
    fed_b.check("input[name=confirm]")
    shot(fed_b, "12-sanction-page")
    submit(fed_b, "已办理：批准成立")
    assert "天内办理" in fed_b.inner_text(".fd-panel")
    shot(fed_b, "13-founded")

    # the replies, printed
    open_case(prep, case_id)
    prep.click("a.button:has-text('关于同意筹建工会的批复')")
    prep.wait_for_selector("text=经研究，同意你单位筹建工会。")
    assert "滨工复〔2026〕12号" in prep.inner_text(".paper")  # as the reviewer typed it
    assert prep.locator("button[data-print]:has-text('打印')").is_visible()
    printed(prep, shot, "14-reply-application-printed")
    prep.emulate_media(media="print")
    assert not prep.locator("button[data-print]").is_visible()  # the screen's toolbar is not printed
    prep.emulate_media(media="screen")
    pdf_url = prep.get_attribute("a.button:has-text('下载PDF')", "href")
    pdf = prep.request.get(prep.url.split("/cases/")[0] + pdf_url)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF-")
    if shutil.which("pdftotext"):  # the PDF made on the server reads back with the number typed
        read = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf.body(), capture_output=True,
                              check=True).stdout.decode("utf-8")
        read = re.sub(r"\s+", "", read)
        assert "滨工复〔2026〕12号" in read and "关于同意大型企业筹建工会的批复" in read
    open_case(prep, case_id)
    prep.click("a.button:has-text('关于同意成立工会的批复')")
    prep.wait_for_selector("text=某区总工批〔2026〕12号")
    shot(prep, "15-reply-founding-screen")
    printed(prep, shot, "16-reply-founding-printed")

    # after founding: the legal-person registration
    open_case(prep, case_id)
    next_step(prep, "登记法人资格")
    prep.fill("input[name=f_certificate_no]", "工法证字第330100123号")
    prep.check("input[name=confirm]")
    submit(prep, "已办理：登记法人资格")
    assert "已全部办结" in prep.inner_text(".fd-panel")
    shot(prep, "17-registered")

    # the trail holds every step, by whom, in order
    entries = api.get(f"/cases/{case_id}/audit", tree["auditor"]).get_json()["entries"]
    assert [(e["trigger"], e["actor"]) for e in entries] == [
        ("create", "prep"), ("form_group", "prep"), ("apply", "prep"), ("approve_application", "fed"),
        ("record_members", "prep"), ("nominate", "prep"), ("approve_candidates", "fed"), ("convene", "prep"),
        ("record_election", "prep"), ("submit_results", "prep"), ("sanction", "fed_b"), ("issue_document", "prep"),
        ("register", "prep")]
    assert api.get("/orgs/ENT-L", tree["prep"]).get_json()["union_status"] == "founded"
