"""The auditor's trail in the browser: filter, open an entry, export CSV and JSON Lines, verify."""
from __future__ import annotations

import csv
import io
import json

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
    shot(page, "explorer")

    with page.expect_download() as got:
        page.click("a:has-text('导出 CSV')")
    path = tmp_path / "trail.csv"
    got.value.save_as(path)
    body = path.read_text(encoding="utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(body)))
    assert len(exported) == rows.count() and {r["trigger"] for r in exported} == {"approve_review"}

    with page.expect_download() as got:
        page.click("a:has-text('导出 JSON Lines')")
    path = tmp_path / "trail.jsonl"
    got.value.save_as(path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [e["seq"] for e in lines] == [int(r["seq"]) for r in exported]

    page.click("table.entries tbody tr >> nth=0 >> a[aria-label]")
    page.wait_for_selector("text=哈希链")
    assert page.locator(".checks-list li.ok").count() >= 2
    shot(page, "entry")

    page.goto("/audit/")
    page.click("button:has-text('校验审计链')")
    page.wait_for_selector(".verdict.ok")
    assert "审计链完整" in page.locator(".verdict").inner_text()
    shot(page, "verified")
    phone(page)
    shot(page, "verified-phone")
