"""Workbooks built to exhaust a worker: refused from the zip directory or the row numbers, at once and in little
memory (a small upload that unpacks to hundreds of megabytes, millions of empty rows, a row a million down)."""
from __future__ import annotations

import io
import resource
import time
import tracemalloc
import zipfile

import pytest

from services.register_file import MAX_PART_BYTES, MAX_PARTS, MAX_SHEET_ROWS, RegisterFileError, read_table
from tests.web.ui_support import login

from .test_import import CODE_A, org_count, xlsx_bytes
from .test_pages import upload

MB = 1024 * 1024
ROW = ["某公司", CODE_A, "", 10, 1, "TOWN", "", ""]


def rebuilt(replace: dict[str, object], extra_members: int = 0) -> bytes:
    """A real workbook from openpyxl with some members rewritten; a value is a callable writing to a stream."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([ROW])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename in replace:
                with target.open(info.filename, "w", force_zip64=True) as stream:
                    replace[info.filename](stream, data)
            else:
                target.writestr(info.filename, data)
        for i in range(extra_members):
            target.writestr(f"customXml/item{i}.xml", b"<a/>")
    return out.getvalue()


def huge_string(size: int) -> bytes:
    """One cell holding `size` bytes of text (openpyxl writes strings inline, as a shared string would be read)."""
    def write(stream, original: bytes) -> None:
        end = original.rindex(b"</sheetData>")
        stream.write(original[:end] + b'<row r="3"><c r="A3" t="inlineStr"><is><t>')
        chunk = b"A" * MB
        for _ in range(size // MB):
            stream.write(chunk)
        stream.write(b"</t></is></c></row>" + original[end:])
    return rebuilt({"xl/worksheets/sheet1.xml": write})


def extra_rows(rows: bytes = b"", empty: int = 0) -> bytes:
    """The template's sheet with `rows` and then `empty` rows without cells after its own."""
    def write(stream, original: bytes) -> None:
        end = original.rindex(b"</sheetData>")
        stream.write(original[:end] + rows)
        for _ in range(empty // 10_000):
            stream.write(b"<row/>" * 10_000)
        stream.write(original[end:])
    return rebuilt({"xl/worksheets/sheet1.xml": write})


def refused_fast(content: bytes) -> tuple[str, float, int]:
    """The refusal's code, how long it took, and how much Python memory it used at its peak."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(RegisterFileError) as caught:
            read_table(content, "名录.xlsx")
        return caught.value.code, time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_small_file_unpacking_to_hundreds_of_megabytes_is_refused_unopened():
    content = huge_string(100 * MB)
    assert len(content) < MB
    code, seconds, peak = refused_fast(content)
    assert code == "file_too_large_unpacked" and seconds < 1 and peak < 5 * MB


def test_millions_of_empty_rows_are_refused_at_once():
    content = extra_rows(empty=3_000_000)
    assert len(content) < 100_000
    code, seconds, peak = refused_fast(content)
    assert code in ("file_too_large_unpacked", "file_too_compressed") and seconds < 1 and peak < 5 * MB


def test_a_row_numbered_beyond_the_limit_is_refused_without_reading_the_rows_between():
    far = MAX_SHEET_ROWS * 10
    content = extra_rows(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c></row>' % (far, far))
    assert len(content) < 20_000
    code, seconds, peak = refused_fast(content)
    assert code == "too_many_rows" and seconds < 1 and peak < 20 * MB


def test_a_compression_ratio_no_spreadsheet_program_makes_is_refused():
    # below the size caps, but a thousand times smaller packed than unpacked
    content = huge_string(MAX_PART_BYTES // 2)
    assert refused_fast(content)[0] == "file_too_compressed"


def test_too_many_parts_are_refused():
    assert refused_fast(rebuilt({}, extra_members=MAX_PARTS))[0] == "too_many_parts"


@pytest.mark.parametrize("content, status, phrase", [
    (lambda: huge_string(200 * MB), 413, "解压后超过"),
    (lambda: extra_rows(b'<row r="5000000"><c r="A5000000" t="inlineStr"><is><t>x</t></is></c></row>'), 422,
     "一次最多导入"),
])
def test_the_import_page_answers_at_once_and_changes_nothing(client, district, db, content, status, phrase):
    bomb = content()
    before_rows, before_peak = org_count(db), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    login(client, "admin")
    resp = upload(client, bomb, "import", name="名录.xlsx")
    seconds = time.perf_counter() - started
    assert resp.status_code == status and phrase in resp.get_data(as_text=True)
    assert seconds < 3 and org_count(db) == before_rows
    # ru_maxrss is in KiB on Linux: the worker's peak grew by less than 50 MB
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_peak < 50 * 1024
