"""The roster import in a browser: the union's reviewer opens the import from the roster page, checks a file
with problems (the table, the sheet to download), then checks a good one, confirms and sees the members on
the roster; the import page with its problems fits a 360 px phone."""
from __future__ import annotations

from tests.browser.ui_demo import demo, sign_in  # noqa: F401  (fixture)
from tests.members.support import bad_check, csv_bytes, people, row

PHONE = {"width": 360, "height": 740}
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def test_check_then_import_from_the_roster_page(demo, new_page, tmp_path):
    page = new_page()
    sign_in(page, "union_prec")
    page.goto("/orgs/ENT-PREC/members")
    page.click("text=导入名册")
    page.wait_for_selector("h1:has-text('导入会员名册')")

    numbers = people(3, start=500)
    bad = tmp_path / "名册-有误.csv"
    bad.write_bytes(csv_bytes([row("秦岚", numbers[0]), row("魏晨", bad_check(numbers[1])),
                               row("蒋欣", numbers[2], "不存在的单位")]))
    page.set_input_files("input[name=file]", str(bad))
    page.click("button:has-text('预检')")
    page.wait_for_selector("text=预检结果：文件有误，未写入任何数据")
    problems = page.locator("table.problems tbody tr")
    assert problems.count() == 2
    assert "校验码" in problems.nth(0).inner_text() and "不存在的单位" in problems.nth(1).inner_text()
    with page.expect_download() as download:
        page.click("text=下载标注问题的表格")
    assert download.value.suggested_filename.endswith(".xlsx")
    page.set_viewport_size(PHONE)
    assert page.evaluate(FITS), "the import page with its problems is wider than a phone"
    page.set_viewport_size({"width": 1280, "height": 900})

    good = tmp_path / "名册.csv"
    good.write_bytes(csv_bytes([row("秦岚", numbers[0], group="快递员"), row("魏晨", numbers[1])]))
    page.set_input_files("input[name=file]", str(good))
    page.click("button:has-text('预检')")
    page.wait_for_selector("text=预检结果：可以导入")
    page.check("input[name=confirmed]")
    page.click("button:has-text('导入')")
    page.wait_for_selector("text=已导入 2 名会员")
    assert page.url.endswith("/orgs/ENT-PREC/members")
    roster = page.locator("table.roster").inner_text()
    assert "秦岚" in roster and "魏晨" in roster
