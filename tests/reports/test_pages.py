"""The report pages: dashboard, ledger, exports, the import page; and `flask orgs import`."""
from __future__ import annotations

import io
import re

import openpyxl
import pytest

from tests.reports.test_import import CODE_A, CODE_B, csv_bytes, entries, org
from tests.web.ui_support import login, text_of


@pytest.fixture
def browse(app):
    def as_user(username: str):
        client = app.test_client()
        assert login(client, username).status_code == 302
        return client

    return as_user


def test_dashboard_shows_the_figures_and_charts(browse, district):
    resp = browse("fed").get("/reports/FED?year=2026")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    text = text_of(resp)
    assert "某区总工会建会入会情况" in text
    assert "28.6%" in text and "32.7%" in text          # 2/7 and 227/694
    assert "目标 65%" in text and "目标 82%" in text
    assert "距 2026 年度建会率目标还需新建工会 3 家" in text and "还需发展会员 343 人" in text
    # two inline SVG charts, no style attribute anywhere (the CSP forbids them), no script
    assert html.count("<svg") >= 2 and 'class="chart rates"' in html and 'class="chart children"' in html
    # no inline style or script (the CSP allows neither): the only scripts are the app's own static files
    assert not re.search(r"\sstyle=", html) and not re.search(r"<script(?![^>]*\ssrc=\"/static/)", html)
    # a bar per child: the two towns, and the enterprises directly under FED in one row
    assert "城关镇工会" in html and "空白镇工会" in html and "直属企业（3家）" in text
    assert html.count('class="bar founding"') == 2 + 1   # two rows with a rate, and the legend
    assert "无企业" in html                              # the empty town has no rate, not 0 %
    # the ledger preview links to the open case
    assert f'href="/cases/{district["case_b4"]}"' in html and "已提出建会申请" in text and "未立案" in text
    assert 'href="/reports/TOWN?year=2026"' in html


def test_an_empty_subtree_renders(browse, district):
    resp = browse("fed").get("/reports/TOWN2")
    text = text_of(resp)
    assert resp.status_code == 200 and "管辖范围内尚无企业" in text and "均已建会" in text
    assert "暂无数据" in resp.get_data(as_text=True)


def test_outside_the_subtree_is_404_and_preparers_403(browse, district):
    town = browse("town")
    assert town.get("/reports/TOWN").status_code == 200
    for path in ("/reports/FED", "/reports/FED2", "/reports/FED/ledger", "/reports/FED/coverage.xlsx",
                 "/reports/FED/ledger.csv", "/reports/NOPE"):
        assert town.get(path).status_code == 404, path
    prep = browse("prep")
    assert prep.get("/reports/ENT-L").status_code == 403 and prep.get("/reports").status_code == 403
    assert browse("auditor").get("/reports/FED/ledger").status_code == 200
    assert browse("auditor2").get("/reports/FED/ledger").status_code == 404
    assert town.get("/reports/TOWN/nope.csv").status_code == 404
    assert town.get("/reports/TOWN?year=19").status_code == 400


def test_index_goes_to_the_own_organisation(browse, district):
    resp = browse("town").get("/reports")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/reports/TOWN")
    resp = browse("admin").get("/reports")
    assert resp.status_code == 200 and "某区总工会" in text_of(resp) and "另一区总工会" in text_of(resp)


def test_ledger_page(browse, district):
    resp = browse("fed").get("/reports/FED/ledger")
    text = text_of(resp)
    assert resp.status_code == 200 and "共 2 家" in text
    assert text.index("筹建中工厂") < text.index("恰好百人公司")
    assert f'href="/cases/{district["case_b4"]}"' in resp.get_data(as_text=True)


def test_exports_download(browse, district):
    fed = browse("fed")
    resp = fed.get("/reports/FED/coverage.xlsx?year=2026")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    assert book.sheetnames[0] == "100人以上企业新建工会情况统计表"
    for table in ("statistics", "children", "ledger"):
        resp = fed.get(f"/reports/FED/{table}.csv")
        assert resp.status_code == 200 and resp.data.startswith(b"\xef\xbb\xbf")


def upload(client, content: bytes, action: str, name: str = "名录.csv"):
    return client.post("/reports/import", data={"action": action, "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def test_import_page_checks_then_imports(browse, district, db):
    fed = browse("fed")
    page = fed.get("/reports/import")
    assert page.status_code == 200 and "下载导入模板" in text_of(page)
    rows = [["新登记物流有限公司", CODE_A, "", 130, 20, "TOWN", "", ""]]
    resp = upload(fed, csv_bytes(rows), "check")
    text = text_of(resp)
    assert resp.status_code == 200 and "检查结果：可以导入" in text and "将要写入的变更" in text
    assert org(db, CODE_A) is None
    resp = upload(fed, csv_bytes(rows), "import")
    assert resp.status_code == 200 and "导入完成" in text_of(resp)
    assert "已导入 1 行：新增 1 家" in text_of(resp)
    assert org(db, CODE_A).employees == 130
    assert [e["actor"] for e in entries(db, "import_create")] == ["fed"]


def test_import_page_lists_bad_rows_in_chinese(browse, district, db):
    rows = [["", CODE_A, "", -1, "", "FED2", "", ""], ["好企业", CODE_B, "", 10, 20, "TOWN", "", ""]]
    resp = upload(browse("fed"), csv_bytes(rows), "import")
    text = text_of(resp)
    assert resp.status_code == 400 and "文件有误，未写入任何数据" in text
    for phrase in ("不能为空", "不能为负数", "上级组织“FED2”不在您的管辖范围内", "女职工人数（20）不能大于职工人数（10）"):
        assert phrase in text, phrase
    assert org(db, CODE_B) is None


def test_import_page_refuses_others_and_empty_posts(browse, district):
    assert browse("town").get("/reports/import").status_code == 403
    assert browse("auditor").post("/reports/import").status_code == 403
    resp = browse("admin").post("/reports/import", data={"action": "check"})
    assert resp.status_code == 400 and "请选择要导入的文件" in text_of(resp)


def test_import_template_is_a_workbook_the_import_reads(browse, district, db):
    resp = browse("admin").get("/reports/import/template.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    ws = book.active
    header = [c.value for c in ws[1]]
    assert header[:6] == ["企业名称", "统一社会信用代码", "地址", "职工人数", "女职工人数", "上级组织代码"]
    ws.append(["模板企业", CODE_A, "", 12, 3, "COM", "", ""])
    out = io.BytesIO()
    book.save(out)
    resp = upload(browse("admin"), out.getvalue(), "import", "模板.xlsx")
    assert resp.status_code == 200 and org(db, CODE_A).name == "模板企业"


def test_cli_import(app, district, db, tmp_path):
    path = tmp_path / "名录.csv"
    path.write_bytes(csv_bytes([["命令行企业", CODE_A, "", 40, 10, "TOWN", "", ""]], encoding="gb18030"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["orgs", "import", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "共 1 行：新增 1" in result.output and "仅检查，未写入" in result.output
    assert "检查 1/1 行" in result.output and org(db, CODE_A) is None
    result = runner.invoke(args=["orgs", "import", str(path), "--user", "fed"])
    assert result.exit_code == 0 and "已写入" in result.output
    assert org(db, CODE_A).name == "命令行企业" and entries(db, "import_create")[-1]["actor"] == "fed"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([["", CODE_B, "", 1, 2, "TOWN", "", ""]]))
    result = runner.invoke(args=["orgs", "import", str(bad)])
    assert result.exit_code == 1 and "错误：第 2 行" in result.output and "未写入任何数据" in result.output
    result = runner.invoke(args=["orgs", "import", str(path), "--user", "town"])
    assert result.exit_code == 2 and "forbidden" in result.output
