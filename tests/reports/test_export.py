"""The Excel workbook and the CSV files of the coverage report, read back cell by cell."""
from __future__ import annotations

import csv
import io
import re
import zipfile

import openpyxl
import pytest

STATS = "100人以上企业新建工会情况统计表"
CHILDREN = "各单位建会入会情况"
LEDGER = "未建会百人以上企业台账"


@pytest.fixture
def book(api, district):
    resp = api.get("/reports/coverage.xlsx?org=FED&year=2026", district["fed"])
    assert resp.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(resp.data))


def values(ws, row: int) -> list:
    return [c.value for c in ws[row]]


def test_statistics_sheet(book):
    ws = book[STATS]
    assert book.sheetnames[0] == STATS and book.active.title == STATS
    assert ws["A1"].value == STATS and "A1:L1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A1"].font.bold and ws["A1"].font.size == 16
    assert ws["A2"].value == "填报单位：某区总工会　　统计年度：2026年　　填报日期：2026-11-10"
    assert values(ws, 3) == ["序号", "单位", "100人以上企业数（家）", "已建会（家）", "其中：本年新建（家）", "未建会（家）",
                             "其中：筹建中（家）", "建会率", "职工人数（人）", "会员人数（人）", "入会率", "备注"]
    assert values(ws, 4) == [1, "城关镇工会", 1, 0, 0, 1, 0, 0, 100, 0, 0, None]
    assert values(ws, 5) == [2, "空白镇工会", 0, 0, 0, 0, 0, None, 0, 0, None, "无100人以上企业"]
    assert values(ws, 6) == [3, "直属企业（3家）", 2, 1, 0, 1, 1, 0.5, 400, 200, 0.5, None]
    total = values(ws, 7)
    assert total[:7] == [None, "合计", 3, 1, 0, 2, 1] and total[7] == pytest.approx(1 / 3)
    assert total[8:] == [500, 200, 0.4, None]
    assert ws["B7"].font.bold and not ws["B6"].font.bold
    assert ws["A9"].value.startswith("注：100人以上企业指职工人数在100人以上（含100人）的企业")
    assert ws["A11"].value.startswith("填表人：")


def test_number_formats_widths_freeze_and_print(book):
    for ws in book.worksheets:
        assert ws.freeze_panes == "A4"
        assert ws.print_title_rows == "$3:$3"
        assert ws.page_setup.orientation == "landscape"
        for cell in ws[3]:
            assert cell.font.bold and cell.alignment.wrap_text
    ws = book[STATS]
    for col in "HK":
        assert ws[f"{col}4"].number_format == "0.0%" and ws[f"{col}7"].number_format == "0.0%"
    for col in "CDEFGIJ":
        assert ws[f"{col}4"].number_format == "#,##0"
    assert ws.column_dimensions["A"].width == 6
    assert ws.column_dimensions["L"].width == 24
    # wide enough for the header (CJK characters count double) and never absurdly wide
    assert ws.column_dimensions["C"].width >= 2 * len("100人以上企业数（家）") - 3
    for ws in book.worksheets:
        for letter, dim in ws.column_dimensions.items():
            assert 6 <= dim.width <= 50, (ws.title, letter, dim.width)
    led = book[LEDGER]
    assert led.column_dimensions["B"].width >= 2 * len("恰好百人公司")


def test_children_sheet(book):
    ws = book[CHILDREN]
    assert ws["A1"].value == "某区总工会各单位建会入会情况"
    assert values(ws, 3) == ["序号", "组织代码", "单位名称", "类型", "企业数（家）", "已建会（家）", "未建会（家）", "建会率",
                             "建会率目标", "职工人数（人）", "会员人数（人）", "入会率", "入会率目标"]
    town = values(ws, 4)
    assert town[:8] == [1, "TOWN", "城关镇工会", "乡镇(街道)工会", 4, 1, 3, 0.25]
    assert town[8:11] == [0.65, 234, 27] and town[11] == pytest.approx(27 / 234) and town[12] == 0.82
    assert values(ws, 5) == [2, "TOWN2", "空白镇工会", "乡镇(街道)工会", 0, 0, 0, None, 0.65, 0, 0, None, 0.82]
    direct = values(ws, 6)
    assert direct[:7] == [3, None, "直属企业（3家）", "直属企业", 3, 1, 2] and direct[7] == pytest.approx(1 / 3)
    assert direct[9:11] == [460, 200]
    total = values(ws, 7)
    assert total[:7] == [None, None, "合计", None, 7, 2, 5]  # the total row names no organisation by code and total[7] == pytest.approx(2 / 7)
    assert total[9:11] == [694, 227] and total[11] == pytest.approx(227 / 694)
    for col in "HILM":
        assert ws[f"{col}4"].number_format == "0.0%"
    assert ws["A9"].value == "2026年度目标：建会率 65.0%，入会率 82.0%。"


def test_ledger_sheet(book, district):
    ws = book[LEDGER]
    assert values(ws, 3) == ["序号", "企业名称", "统一社会信用代码", "所属组织", "职工人数（人）", "女职工人数（人）", "建会状态",
                             "建会案件编号", "案件状态", "进入该状态日期", "已停留（天）"]
    first = values(ws, 4)
    assert first[:9] == [1, "筹建中工厂", None, "某区总工会", 150, 60, "筹建中", district["case_b4"], "已提出建会申请"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", first[9]) and first[10] == 0
    assert values(ws, 5) == [2, "恰好百人公司", None, "城关镇工会", 100, 40, "未建会", None, "未立案", None, None]
    assert ws["A6"].value is None and ws["A7"].value.startswith("按职工人数从多到少排列")
    assert "共 2 家" in ws["A2"].value


def test_workbook_parts_are_well_formed(api, district):
    from xml.dom import minidom

    data = api.get("/reports/coverage.xlsx?org=FED", district["fed"]).data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        names = z.namelist()
        assert "[Content_Types].xml" in names and "xl/workbook.xml" in names
        for name in names:
            if name.endswith((".xml", ".rels")):
                minidom.parseString(z.read(name))  # raises on malformed XML


def test_text_that_looks_like_a_formula_stays_text(api, district, make_org):
    evil = '=HYPERLINK("http://example.invalid","点击")'
    make_org("ENT-EVIL", "enterprise", "FED", employees=300, female_employees=1, name=evil)
    book = openpyxl.load_workbook(io.BytesIO(api.get("/reports/coverage.xlsx?org=FED", district["fed"]).data))
    cell = book[LEDGER]["B4"]
    assert cell.value == evil and cell.data_type == "s"
    text = api.get("/reports/coverage.csv?org=FED&table=ledger", district["fed"]).data.decode("utf-8-sig")
    row = next(csv.reader(io.StringIO(text.splitlines()[1])))
    assert row[1] == "'" + evil


def read_csv(api, who, table: str) -> list[list[str]]:
    resp = api.get(f"/reports/coverage.csv?org=FED&year=2026&table={table}", who)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.data[:3] == b"\xef\xbb\xbf"
    return list(csv.reader(io.StringIO(resp.data[3:].decode("utf-8"), newline="")))


def test_csv_tables_hold_the_same_data(api, district):
    fed = district["fed"]
    stats = read_csv(api, fed, "statistics")
    assert stats[0][:3] == ["序号", "单位", "100人以上企业数（家）"]
    assert stats[1] == ["1", "城关镇工会", "1", "0", "0", "1", "0", "0.0%", "100", "0", "0.0%", ""]
    assert stats[2] == ["2", "空白镇工会", "0", "0", "0", "0", "0", "", "0", "0", "", "无100人以上企业"]
    assert stats[4] == ["", "合计", "3", "1", "0", "2", "1", "33.3%", "500", "200", "40.0%", ""]
    children = read_csv(api, fed, "children")
    assert children[1] == ["1", "TOWN", "城关镇工会", "乡镇(街道)工会", "4", "1", "3", "25.0%", "65.0%", "234", "27",
                           "11.5%", "82.0%"]
    ledger = read_csv(api, fed, "ledger")
    assert [r[1] for r in ledger[1:]] == ["筹建中工厂", "恰好百人公司"]
    assert ledger[2][8:] == ["未立案", "", ""]


def test_control_characters_do_not_break_the_workbook(api, district, db):
    from sqlalchemy import update

    from workflow import Organisation

    with db.write() as session:  # a name from before imports refused them
        session.execute(update(Organisation).where(Organisation.code == "ENT-B1").values(name="恰好\x0b百人\x01公司"))
        session.execute(update(Organisation).where(Organisation.code == "FED").values(name="某区\x1f总工会"))
    resp = api.get("/reports/coverage.xlsx?org=FED", district["fed"])
    assert resp.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    assert book[LEDGER]["B5"].value == "恰好百人公司" and book[STATS]["A2"].value.startswith("填报单位：某区总工会")
