"""The roster page's import (预检, then 导入 once confirmed), its problems as a table and as a sheet with a
问题 column, and the export to xlsx: Chinese headers, ID numbers masked for a higher union."""
from __future__ import annotations

import io
import re

import pytest

from tests.web.ui_support import login, text_of
from workflows.membership.tests.support import unions  # noqa: F401  (fixtures)

from .support import bad_check, csv_bytes, member_count, members_of, person, row, sheet, xlsx_bytes


@pytest.fixture
def app_config(app_config, tmp_path):
    return {**app_config, "UPLOAD_DIR": str(tmp_path / "uploads")}


@pytest.fixture
def browse(app):
    def as_user(username: str):
        client = app.test_client()
        assert login(client, username).status_code == 302
        return client

    return as_user


def upload(client, content: bytes, name: str = "名册.csv", code: str = "ENT-L"):
    return client.post(f"/orgs/{code}/members/import", data={"file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def token_of(resp) -> str:
    found = re.search(r'name="token" value="([^"]+)"', resp.get_data(as_text=True)) or \
        re.search(r"/members/import/([A-Za-z0-9_-]{22})/problems\.xlsx", resp.get_data(as_text=True))
    assert found, resp.get_data(as_text=True)
    return found.group(1)


def test_the_roster_page_offers_import_to_the_unions_reviewer_and_export_to_all(browse, unions):
    page = text_of(browse("rev_l").get("/orgs/ENT-L/members"))
    assert "导入名册" in page and "导出 Excel" in page
    for who in ("prep", "fed"):
        page = text_of(browse(who).get("/orgs/ENT-L/members"))
        assert "导入名册" not in page and "导出 Excel" in page, who


def test_dry_run_then_confirmed_import(browse, db, unions):
    rev = browse("rev_l")
    assert rev.get("/orgs/ENT-L/members/import").status_code == 200
    content = xlsx_bytes([row("张伟", person(1), group="快递员"), row("李娜", person(2, female=True))])
    checked = upload(rev, content, "名册.xlsx")
    text = text_of(checked)
    assert checked.status_code == 200 and "预检结果：可以导入" in text and "确认将这 2 人列入" in text
    assert members_of(db, "ENT-L") == []
    token = token_of(checked)
    unconfirmed = rev.post("/orgs/ENT-L/members/import", data={"token": token})
    assert unconfirmed.status_code == 400 and members_of(db, "ENT-L") == []
    other = browse("rev_l2").post("/orgs/ENT-L/members/import", data={"token": token, "confirmed": "1"})
    assert other.status_code == 404  # the kept file is its uploader's
    done = rev.post("/orgs/ENT-L/members/import", data={"token": token, "confirmed": "1"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/orgs/ENT-L/members")
    assert [m.name for m in members_of(db, "ENT-L")] == ["张伟", "李娜"] and member_count(db, "ENT-L") == 42
    roster = rev.get("/orgs/ENT-L/members")
    assert "已导入 2 名会员" in text_of(roster)
    again = rev.post("/orgs/ENT-L/members/import", data={"token": token, "confirmed": "1"})
    assert again.status_code == 404  # used once


def test_problems_as_a_table_and_as_a_sheet_with_a_problems_column(browse, db, unions):
    rev = browse("rev_l")
    content = csv_bytes([row("张伟", person(1)), row("李娜", bad_check(person(2))), row("王强", person(3), "NOPE")])
    checked = upload(rev, content)
    text = text_of(checked)
    assert checked.status_code == 200 and "文件有误，未写入任何数据" in text
    assert "身份证号" in text and "没有代码或名称为“NOPE”的单位" in text
    assert 'name="confirmed"' not in checked.get_data(as_text=True)
    token = token_of(checked)
    download = rev.get(f"/orgs/ENT-L/members/import/{token}/problems.xlsx")
    assert download.status_code == 200 and download.mimetype.endswith("spreadsheetml.sheet")
    cells = sheet(download.data)
    assert cells[0] == ["姓名", "身份证号", "工作单位", "入会日期", "八大群体", "会员编号", "问题"]
    assert [r[0] for r in cells[1:]] == ["张伟", "李娜", "王强"]
    assert cells[1][-1] in (None, "") and "校验码" in cells[2][-1] and "NOPE" in cells[3][-1]
    assert browse("rev_l2").get(f"/orgs/ENT-L/members/import/{token}/problems.xlsx").status_code == 404
    assert rev.get("/orgs/ENT-L/members/import/not-a-token/problems.xlsx").status_code == 404
    assert members_of(db, "ENT-L") == []


def test_a_file_refused_whole_is_said_in_place(browse, unions):
    resp = upload(browse("rev_l"), b"\xd0\xcf\x11\xe0old", "名册.xls")
    assert resp.status_code == 400 and "不支持旧版 .xls 格式" in text_of(resp)
    resp = browse("rev_l").post("/orgs/ENT-L/members/import", data={}, content_type="multipart/form-data")
    assert resp.status_code == 400 and "请选择要导入的文件" in text_of(resp)


def test_who_may_use_the_import_page(browse, unions):
    assert browse("prep").get("/orgs/ENT-L/members/import").status_code == 403
    assert browse("fed").get("/orgs/ENT-L/members/import").status_code == 403
    assert browse("rev_x").get("/orgs/ENT-L/members/import").status_code == 404
    assert upload(browse("prep"), csv_bytes([row()])).status_code == 403


def test_the_export_opens_with_chinese_headers_and_masks_for_a_higher_union(browse, db, unions):
    rev = browse("rev_l")
    token = token_of(upload(rev, csv_bytes([row("张伟", person(1), joined="2024-03-01", group="快递员")])))
    assert rev.post("/orgs/ENT-L/members/import", data={"token": token, "confirmed": "1"}).status_code == 302
    own = rev.get("/orgs/ENT-L/members/export.xlsx")
    assert own.status_code == 200 and own.mimetype.endswith("spreadsheetml.sheet")
    cells = sheet(own.data)
    assert cells[0] == ["会员编号", "姓名", "身份证号", "性别", "出生日期", "入会日期", "工作单位", "八大群体",
                        "会籍状态", "退会日期"]
    assert cells[1] == ["ENT-L-000001", "张伟", person(1), "男", "1990-05-01", "2024-03-01", "大型企业", "快递员",
                        "在册", None]
    masked = sheet(browse("fed").get("/orgs/ENT-L/members/export.xlsx").data)
    assert masked[1][2] == person(1)[:6] + "********" + person(1)[-4:]
    assert browse("rev_x").get("/orgs/ENT-L/members/export.xlsx").status_code == 404
    assert sheet(rev.get("/orgs/ENT-L/members/export.xlsx?status=left").data)[1:] == []
    assert rev.get("/orgs/ENT-L/members/export.xlsx?status=gone").status_code == 400
