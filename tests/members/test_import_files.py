"""Files refused whole before they are parsed: larger than the upload limit (413, at the exact bound), a
workbook that would unpack implausibly large (a zip bomb: 413), one that is no workbook (400)."""
from __future__ import annotations

import io
import zipfile

import pytest

from workflows.membership.tests.support import unions  # noqa: F401  (fixtures)

from .support import csv_bytes, person, post_import, row, total_members, xlsx_bytes

LIMIT = 64 * 1024


@pytest.fixture
def app_config(app_config):
    return {**app_config, "UPLOAD_MAX_BYTES": LIMIT}


def padded(size: int) -> bytes:
    """A good one-row csv of exactly `size` bytes (the name padded with spaces, which the import strips)."""
    content = csv_bytes([row("张伟", person(1))])
    return csv_bytes([row("张伟" + " " * (size - len(content)), person(1))])


def test_a_file_at_the_limit_is_read_and_one_byte_more_is_refused_unread(client, db, unions, monkeypatch):
    at_limit = padded(LIMIT)
    assert len(at_limit) == LIMIT
    resp = post_import(client, unions["rev_l"], "ENT-L", at_limit, dry_run=True)
    assert resp.status_code == 200 and resp.get_json()["valid"] == 1

    import services.roster_import as roster_import

    def unread(*_args, **_kw):
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(roster_import, "read_table", unread)
    over = padded(LIMIT + 1)
    assert len(over) == LIMIT + 1
    resp = post_import(client, unions["rev_l"], "ENT-L", over)
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "payload_too_large"
    huge = b"x" * (LIMIT * 40)  # beyond the body limit too: refused by the request's own limit
    resp = post_import(client, unions["rev_l"], "ENT-L", huge)
    assert resp.status_code == 413
    assert total_members(db) == 0


def bomb() -> bytes:
    """A workbook whose sheet unpacks a thousand times larger than it is stored."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([row()])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                end = data.rindex(b"</sheetData>")
                data = data[:end] + b"<row/>" * 400_000 + data[end:]
            target.writestr(info.filename, data)
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_opened(client, db, unions, monkeypatch):
    content = bomb()
    assert len(content) < LIMIT
    import openpyxl

    def unopened(*_args, **_kw):
        raise AssertionError("the workbook was opened")

    monkeypatch.setattr(openpyxl, "load_workbook", unopened)
    for dry_run in (True, False):
        resp = post_import(client, unions["rev_l"], "ENT-L", content, name="名册.xlsx", dry_run=dry_run)
        assert resp.status_code == 413
        assert [p["code"] for p in resp.get_json()["problems"]] == ["file_too_compressed"]
    assert total_members(db) == 0


def test_a_file_that_is_no_spreadsheet_is_bad_input(client, unions):
    resp = post_import(client, unions["rev_l"], "ENT-L", b"PK\x03\x04 not a zip", name="名册.xlsx")
    assert resp.status_code == 400 and resp.get_json()["problems"][0]["code"] == "file_unreadable"
    resp = post_import(client, unions["rev_l"], "ENT-L", b"\xd0\xcf\x11\xe0old", name="名册.xls")
    assert resp.status_code == 400 and resp.get_json()["problems"][0]["code"] == "xls_not_supported"
    resp = post_import(client, unions["rev_l"], "ENT-L", csv_bytes([]), dry_run=True)
    assert resp.status_code == 400 and resp.get_json()["problems"][0]["code"] == "file_empty"
