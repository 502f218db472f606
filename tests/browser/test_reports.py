"""The coverage dashboard (建会入会统计) in a real browser, on the demonstration district."""
from __future__ import annotations

import io

import openpyxl
import pytest

from tests.browser.conftest import ARTIFACTS, login
from web.demo import DEMO_PASSWORD, load_demo


@pytest.fixture
def district(live_app, live_server):
    load_demo(live_app)
    return live_server


def sign_in(new_page, username: str):
    page = new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, username, DEMO_PASSWORD)
    page.wait_for_load_state()
    return page, problems


def test_dashboard_charts_drill_down_and_ledger(new_page, district, shot):
    page, csp = sign_in(new_page, "fed_li")
    page.goto("/reports")
    page.wait_for_selector("svg.chart.rates")
    assert page.url.endswith("/reports/FED-HC")
    assert page.locator("h1").inner_text() == "海城区总工会建会入会情况"
    # the charts are drawn: two rate bars against their targets, a pair of bars per town
    assert page.locator("svg.chart.rates rect.bar").count() == 2
    assert page.locator("svg.chart.rates line.target").count() == 2
    assert page.locator("svg.chart.children text.label").count() == 5
    box = page.locator("svg.chart.children").bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 200
    shot(page, "dashboard")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("svg.chart.rates").screenshot(path=str(ARTIFACTS / "reports-rates-chart.png"))
    page.locator("svg.chart.children").screenshot(path=str(ARTIFACTS / "reports-children-chart.png"))

    page.click("table.figures >> text=石桥镇工会")
    page.wait_for_selector("text=石桥镇工会建会入会情况")
    assert "/reports/TOWN-SQ" in page.url
    assert page.locator("table.figures tbody tr").count() >= 2   # its community and its own enterprises
    shot(page, "town")

    page.click("text=查看未建会企业台账")
    page.wait_for_selector("text=未建会百人以上企业台账")
    rows = page.locator("table.ledger tbody tr")
    assert rows.count() >= 3
    sizes = [int(rows.nth(i).locator("td").nth(3).inner_text().replace(",", "")) for i in range(rows.count())]
    assert sizes == sorted(sizes, reverse=True)
    shot(page, "ledger")
    page.locator("table.ledger a", has_text="建会案件").first.click()
    page.wait_for_url("**/cases/*")
    assert "石桥" in page.content()
    assert csp == []


def test_year_targets_and_excel_download(new_page, district, shot):
    page, csp = sign_in(new_page, "fed_li")
    page.goto("/reports/FED-HC")
    page.select_option("select#year", "2028")
    page.click("form.year-form button")
    page.wait_for_selector("text=目标 90%")
    assert "year=2028" in page.url
    with page.expect_download() as info:
        page.click("text=导出 Excel")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(open(download.path(), "rb").read()))
    ws = book["100人以上企业新建工会情况统计表"]
    assert ws["A1"].value == "100人以上企业新建工会情况统计表" and "2028年" in ws["A2"].value
    assert [ws.cell(row=r, column=2).value for r in range(4, 9)] == [
        "滨江镇工会", "城关街道工会", "高新园区工会", "石桥镇工会", "新港街道工会"]
    assert csp == []


def test_import_page_reports_bad_rows(new_page, district, shot, tmp_path):
    page, csp = sign_in(new_page, "fed_li")
    page.goto("/reports/import")
    bad = "企业名称,统一社会信用代码,职工人数,女职工人数,上级组织代码\n,91330100MA2000001X,-3,,TOWN-CG\n某公司,123,10,12,NOPE\n"
    path = tmp_path / "名录.csv"
    path.write_bytes(bad.encode("gb18030"))
    page.set_input_files("input[type=file]", str(path))
    page.click("button[value=check]")
    page.wait_for_selector("text=检查结果：文件有误，未写入任何数据")
    text = page.locator("table.problems").inner_text()
    for phrase in ("不能为空", "校验位错误", "不能为负数", "应为18位", "女职工人数（12）不能大于职工人数（10）", "没有代码为“NOPE”的组织"):
        assert phrase in text, phrase
    shot(page, "import-errors")
    assert csp == []


def test_another_town_is_not_found(new_page, district):
    page, _csp = sign_in(new_page, "town_zhao")
    response = page.goto("/reports/TOWN-BJ")
    assert response is not None and response.status == 404
    response = page.goto("/reports/TOWN-CG")
    assert response is not None and response.status == 200
