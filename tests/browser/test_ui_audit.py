"""The auditor's trail in the browser: filter, open an entry, export Excel, CSV and JSON Lines, verify; people
by their real name, and the explorer's count agreeing with verification's."""
from __future__ import annotations

import csv
import io
import json
import re

from openpyxl import load_workbook

from tests.browser.ui_demo import demo, phone, sign_in  # noqa: F401  (fixture)


def test_filter_open_export_and_verify(new_page, demo, shot, tmp_path):  # noqa: F811
    page = new_page()
    sign_in(page, "auditor", "text=最近动态")
    page.click("nav.main-nav a:has-text('审计留痕')")
    page.wait_for_selector("h1:has-text('审计留痕')")
    page.select_option("#f-workflow", "hardship")
    page.select_option("#f-trigger", "approve_review")
    page.click("button:has-text('筛选')")
    page.wait_for_selector("text=已筛选")
    rows = page.locator("table.entries tbody tr")
    assert rows.count() >= 1
    assert all(t == "审核同意" for t in page.locator("table.entries tbody tr td:nth-child(5)").all_inner_texts())
    actors = page.locator("table.entries tbody tr td:nth-child(3)").all_inner_texts()
    assert all("union_prec" not in t and "郑伟（滨江精密制造有限公司）" in t for t in actors)  # by name
    shot(page, "explorer")

    with page.expect_download() as got:
        page.click("a:has-text('导出 CSV')")
    path = tmp_path / "trail.csv"
    got.value.save_as(path)
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    body = path.read_text(encoding="utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(body)))
    assert len(exported) == rows.count() and {r["操作"] for r in exported} == {"审核同意"}
    assert {(r["操作人"], r["所属组织"]) for r in exported} == {("郑伟", "滨江精密制造有限公司")}

    with page.expect_download() as got:
        page.click("a:has-text('导出 Excel')")
    path = tmp_path / "trail.xlsx"
    got.value.save_as(path)
    sheet = list(load_workbook(path).active.iter_rows(values_only=True))
    assert sheet[2][:4] == ("序号", "时间（北京时间）", "办理日期", "操作人")
    assert [r[0] for r in sheet[3:]] == [int(r["序号"]) for r in exported]

    with page.expect_download() as got:
        page.click("a:has-text('导出 JSON Lines')")
    path = tmp_path / "trail.jsonl"
    got.value.save_as(path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [e["seq"] for e in lines] == [int(r["序号"]) for r in exported]
    assert {e["actor"] for e in lines} == {"union_prec"}  # the machine's export records the username

    page.click("table.entries tbody tr >> nth=0 >> a[aria-label]")
    page.wait_for_selector("text=哈希链")
    assert page.locator(".checks-list li.ok").count() >= 2
    assert "郑伟（滨江精密制造有限公司） union_prec · 审核人" in page.locator("dl.facts").first.inner_text()
    shot(page, "entry")

    page.goto("/audit/")
    shown = re.search(r"共 (\d+) 条记录\s*（审计链共 (\d+) 条", page.locator(".result-bar").inner_text())
    page.click("button:has-text('校验审计链')")
    page.wait_for_selector(".verdict.ok")
    verdict = page.locator(".verdict").inner_text()
    assert "审计链完整" in verdict
    assert f"全部 {shown.group(2)} 条记录" in verdict and f"其中 {shown.group(1)} 条在您的查看范围内" in verdict
    shot(page, "verified")
    phone(page)
    shot(page, "verified-phone")
