"""Reading an enterprise register file (企业名录, the 摸底排查 survey) into rows: .xlsx or CSV.

CSV may be UTF-8 (with or without a BOM), GB18030 (what Chinese Excel and
WPS save as "CSV"), or UTF-16 with a BOM (Excel's "Unicode text", tab
separated). The header row is found among the first rows by its column names
(Chinese or English), so a title row above it does no harm; every row keeps
the number the user sees in Excel.
"""
from __future__ import annotations

import csv
import io
import unicodedata
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

MAX_ROWS = 50_000
HEADER_SEARCH_ROWS = 10
# rows as numbered in the sheet (blank ones too: a sheet can name row 1,000,000 in a few bytes)
MAX_SHEET_ROWS = 2 * MAX_ROWS
MAX_COLUMNS = 64  # the template has 8; a row is never read wider than this

# An .xlsx file is a zip archive: what its directory declares is checked before anything is unpacked.
# Python's zipfile never unpacks a member beyond its declared size (a lie fails the CRC check).
MAX_PARTS = 200                       # Excel writes about a dozen
MAX_PART_BYTES = 32 * 1024 * 1024     # 50,000 rows of the template unpack to about 15 MB
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_RATIO = 100                       # Excel's sheets compress 5 to 20 times
RATIO_FROM_BYTES = 1024 * 1024        # small parts (styles, empty sheets) may compress better

# field → accepted header texts (compared after normalising: NFKC, no spaces or asterisks, lower case)
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("企业名称", "单位名称", "名称", "name"),
    "credit_code": ("统一社会信用代码", "社会信用代码", "信用代码", "credit_code"),
    "address": ("地址", "单位地址", "企业地址", "注册地址", "address"),
    "employees": ("职工人数", "职工总数", "职工数", "employees"),
    "female_employees": ("女职工人数", "女职工数", "female_employees"),
    "parent": ("上级组织代码", "上级工会代码", "所属工会代码", "上级组织", "parent"),
    "union_status": ("是否建会", "建会情况", "建会状态", "union_status"),
    "member_count": ("会员人数", "会员数", "member_count"),
}
REQUIRED = ("name", "credit_code", "employees", "parent")
LABELS = {f: names[0] for f, names in COLUMNS.items()}


@dataclass(frozen=True)
class Layout:
    """What a kind of file must hold: its columns (field → accepted header texts), the required ones, how
    many rows from the top the header may be found in, and how many data rows a file may have."""

    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    header_search_rows: int = HEADER_SEARCH_ROWS
    max_rows: int = MAX_ROWS

    def label(self, f: str) -> str:
        return self.columns[f][0]

    def lookup(self) -> dict[str, str]:
        return {_norm_header(name): f for f, names in self.columns.items() for name in names}


REGISTER = Layout(COLUMNS, REQUIRED)
LABELS_EN = {"name": "name", "credit_code": "credit code", "address": "address", "employees": "employees",
             "female_employees": "female employees", "parent": "parent organisation",
             "union_status": "union status", "member_count": "members"}


class RegisterFileError(Exception):
    """The file as a whole cannot be read: a code of register.MESSAGES and its parameters."""

    def __init__(self, code: str, **params: Any):
        self.code = code
        self.params = params
        super().__init__(code)


@dataclass
class Table:
    columns: dict[str, int]          # field → column index
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row number, field → raw value)
    header_row: int = 1
    kind: str = "csv"


def _norm_header(value: Any) -> str:
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return "".join(ch for ch in text if not ch.isspace() and ch not in "*＊").lower()


def _columns(header: Iterable[Any], lookup: dict[str, str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, cell in enumerate(header):
        f = lookup.get(_norm_header(cell))
        if f is not None and f not in found:
            found[f] = i
    return found


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _table(lines: Iterator[tuple[int, Any]], kind: str, layout: Layout = REGISTER) -> Table:
    """Find the header among the first rows, then collect the non-blank rows below it."""
    required, lookup, max_rows = layout.required, layout.lookup(), layout.max_rows
    max_sheet_rows = max_rows * MAX_SHEET_ROWS // MAX_ROWS  # blank ones too, as numbered in the sheet
    best: tuple[int, dict[str, int]] | None = None
    for number, cells in lines:
        cols = _columns(cells, lookup)
        if all(f in cols for f in required):
            best = (number, cols)
            break
        if best is None or len(cols) > len(best[1]):
            best = (number, cols) if cols else best
        if number >= layout.header_search_rows:
            break
    if best is None:
        raise RegisterFileError("missing_columns", columns="、".join(layout.label(f) for f in required))
    header_row, cols = best
    missing = [f for f in required if f not in cols]
    if missing:
        raise RegisterFileError("missing_columns", columns="、".join(layout.label(f) for f in missing))
    table = Table(cols, header_row=header_row, kind=kind)
    for number, cells in lines:
        if number > max_sheet_rows:
            raise RegisterFileError("too_many_rows", max=max_rows)
        if cells.count(None) == len(cells):
            # the rows a sheet skips come as rows of None (read-only openpyxl fills the gaps): passed over
            # in C, so that a row numbered far down is refused without the rows between costing seconds
            continue
        values = {f: (cells[i] if i < len(cells) else None) for f, i in cols.items()}
        if all(_blank(v) for v in values.values()):
            continue
        if len(table.rows) >= max_rows:
            raise RegisterFileError("too_many_rows", max=max_rows)
        table.rows.append((number, values))
    if not table.rows:
        raise RegisterFileError("file_empty")
    return table


def _decode(content: bytes) -> tuple[str, str]:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8"), "utf-8-sig"
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise RegisterFileError("file_encoding") from None
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise RegisterFileError("file_encoding") from None


def _csv_lines(content: bytes) -> Iterator[tuple[int, list[str]]]:
    text, _encoding = _decode(content)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # numbered by record, as Excel numbers the rows (a quoted line break does not start a new row)
        for number, row in enumerate(reader, start=1):
            yield number, row
    except csv.Error:
        raise RegisterFileError("file_unreadable") from None


def check_archive(content: bytes) -> None:
    """Refuse a zip whose declared contents would unpack too large (a "zip bomb"), before opening it."""
    import zipfile

    try:
        members = zipfile.ZipFile(io.BytesIO(content)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise RegisterFileError("file_unreadable") from None
    if len(members) > MAX_PARTS:
        raise RegisterFileError("too_many_parts", max=MAX_PARTS)
    mb = MAX_UNPACKED_BYTES // (1024 * 1024)
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > MAX_PART_BYTES or total > MAX_UNPACKED_BYTES:
            raise RegisterFileError("file_too_large_unpacked", mb=mb)
        if member.file_size > RATIO_FROM_BYTES and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise RegisterFileError("file_too_compressed")


def _xlsx_lines(content: bytes) -> Iterator[tuple[int, tuple[Any, ...]]]:
    import openpyxl

    check_archive(content)
    with warnings.catch_warnings():
        # files from other programs may lack styles openpyxl expects; their data is still good
        warnings.simplefilter("ignore")
        try:
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - a damaged upload fails in many ways (zip, XML, openpyxl)
            raise RegisterFileError("file_unreadable") from exc
        try:
            sheet = book.worksheets[0]
            sheet.reset_dimensions()  # the dimension a file states may be wrong: every row is read, up to the limit
            # streamed (read_only), never wider than MAX_COLUMNS whatever the sheet's dimension claims
            for number, row in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
                yield number, row
        except RegisterFileError:
            raise
        except Exception as exc:  # noqa: BLE001 - a corrupt part of a zip shows up only while reading
            raise RegisterFileError("file_unreadable") from exc
        finally:
            book.close()


def read_table(content: bytes, filename: str = "", layout: Layout = REGISTER) -> Table:
    """The rows of an .xlsx or CSV file laid out as `layout` says (the enterprise register unless told);
    raises RegisterFileError when the file cannot be used."""
    if not content or not content.strip():
        raise RegisterFileError("file_empty")
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise RegisterFileError("xls_not_supported")
    if content.startswith(b"PK\x03\x04"):
        lines = _xlsx_lines(content)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _table(lines, "xlsx", layout)
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise RegisterFileError("file_unreadable")
    return _table(_csv_lines(content), "csv", layout)
