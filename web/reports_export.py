"""The coverage report as an Excel workbook (openpyxl) and as CSV (UTF-8 with a BOM, so Excel and WPS read it).

Three tables, always with Chinese headers (they are official forms):

* 《100人以上企业新建工会情况统计表》 (seed 000: 百日集中行动) — per child unit the
  enterprises of 100 or more employees, founded, founded this year, without a
  union, being founded, 建会率, employees, members, 入会率; a total row.
* 各单位建会入会情况 — the same figures over all enterprises, with the targets.
* 未建会百人以上企业台账 — the ledger, largest first.

Values are written as values (no formulas, so every viewer shows them);
rates are fractions with a percent format; text that looks like a formula is
written as text in the workbook and prefixed with ' in the CSV.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from services.reports import Coverage, Figures, LedgerRow, Row

STATISTICS_TITLE = "100人以上企业新建工会情况统计表"
CHILDREN_TITLE = "各单位建会入会情况"
LEDGER_TITLE = "未建会百人以上企业台账"
TABLES = ("statistics", "children", "ledger")
PERCENT, INTEGER = "0.0%", "#,##0"
FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class Column:
    title: str
    kind: str = "text"  # text | int | pct
    width: int | None = None


STATISTICS_COLUMNS = (
    Column("序号", "int", 6), Column("单位"), Column("100人以上企业数（家）", "int"), Column("已建会（家）", "int"),
    Column("其中：本年新建（家）", "int"), Column("未建会（家）", "int"), Column("其中：筹建中（家）", "int"),
    Column("建会率", "pct"), Column("职工人数（人）", "int"), Column("会员人数（人）", "int"), Column("入会率", "pct"),
    Column("备注", "text", 24),
)
CHILDREN_COLUMNS = (
    Column("序号", "int", 6), Column("组织代码"), Column("单位名称"), Column("类型"), Column("企业数（家）", "int"),
    Column("已建会（家）", "int"), Column("未建会（家）", "int"), Column("建会率", "pct"), Column("建会率目标", "pct"),
    Column("职工人数（人）", "int"), Column("会员人数（人）", "int"), Column("入会率", "pct"),
    Column("入会率目标", "pct"),
)
LEDGER_COLUMNS = (
    Column("序号", "int", 6), Column("企业名称"), Column("统一社会信用代码", "text", 22), Column("所属组织"),
    Column("职工人数（人）", "int"), Column("女职工人数（人）", "int"), Column("建会状态"), Column("建会案件编号", "int"),
    Column("案件状态"), Column("进入该状态日期"), Column("已停留（天）", "int"),
)
KIND_ZH = {"federation": "总工会", "town": "乡镇(街道)工会", "community": "社区工会", "enterprise": "企业", "direct": "直属企业"}
STATUS_ZH = {"none": "未建会", "founding": "筹建中", "founded": "已建会"}


@dataclass
class Report:
    """What the tables need besides the figures: the state labels and the dates."""

    coverage: Coverage
    ledger: Sequence[LedgerRow]
    state_label: Callable[[str | None], str]
    local_date: Callable[[Any], str]
    today: date


def _row_name(row: Row) -> str:
    return f"直属企业（{row.all.enterprises}家）" if row.kind == "direct" else row.name


def _rows(report: Report) -> list[Row]:
    c = report.coverage
    rows = list(c.union_children)
    if c.direct is not None:
        rows.append(c.direct)
    return rows


def statistics_rows(report: Report) -> list[list[Any]]:
    c = report.coverage
    out = []

    def line(number: Any, name: str, f: Figures, note: str = "") -> list[Any]:
        if not f.enterprises and not note:
            note = "无100人以上企业"
        return [number, name, f.enterprises, f.founded, f.new_founded, f.without_union, f.founding, f.founding_rate,
                f.employees, f.members, f.membership_rate, note]

    for i, row in enumerate(_rows(report), start=1):
        out.append(line(i, _row_name(row), row.large))
    if not out and c.kind == "enterprise":
        out.append(line(1, c.name, c.large))
    out.append(line("", "合计", c.large, "" if c.large.enterprises else "无100人以上企业"))
    return out


def children_rows(report: Report) -> list[list[Any]]:
    c = report.coverage
    t = c.targets
    target_f = None if t.founding_rate is None else float(t.founding_rate)
    target_m = None if t.membership_rate is None else float(t.membership_rate)
    out = []
    for i, row in enumerate(_rows(report), start=1):
        f = row.all
        out.append([i, row.code, _row_name(row), KIND_ZH.get(row.kind, row.kind), f.enterprises, f.founded,
                    f.without_union, f.founding_rate, target_f, f.employees, f.members, f.membership_rate, target_m])
    f = c.all
    # the total is no organisation's row: its code cell stays empty (the sheet's title names the organisation)
    out.append(["", "", "合计", "", f.enterprises, f.founded, f.without_union, f.founding_rate, target_f,
                f.employees, f.members, f.membership_rate, target_m])
    return out


def ledger_rows(report: Report) -> list[list[Any]]:
    return [
        [i, r.name, r.credit_code or "", r.parent_name or "", r.employees, r.female_employees,
         STATUS_ZH.get(r.union_status, r.union_status), r.case_id, report.state_label(r.case_state) if r.case_state
         else "未立案", report.local_date(r.state_since) if r.state_since else "", r.days_in_state]
        for i, r in enumerate(report.ledger, start=1)
    ]


# -- Excel ----------------------------------------------------------------------------

THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="F2DCDB")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
BODY_FONT = Font(name="宋体", size=11)
BOLD = Font(name="宋体", size=11, bold=True)
TITLE_FONT = Font(name="黑体", size=16, bold=True)


def _display_width(value: Any, kind: str) -> int:
    if value is None:
        return 0
    if kind == "pct" and isinstance(value, (int, float)):
        return 7
    text = f"{value:,}" if kind == "int" and isinstance(value, int) else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _clean(value: Any) -> Any:
    """Control characters cannot be stored in the workbook's XML: they are left out."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _put(ws: Any, row: int, col: int, value: Any, kind: str) -> Any:
    value = _clean(value)
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        cell.data_type = "s"  # a name such as "=HYPERLINK(...)" stays text
    if kind == "pct":
        cell.number_format = PERCENT
    elif kind == "int":
        cell.number_format = INTEGER
    return cell


def _sheet(book: Workbook, title: str, columns: Sequence[Column], rows: list[list[Any]], *, heading: str,
           subtitle: str, notes: Sequence[str] = (), total_last: bool = False) -> None:
    ws = book.create_sheet(title)
    n = len(columns)
    last = get_column_letter(n)
    ws.merge_cells(f"A1:{last}1")
    ws["A1"] = _clean(heading)
    ws["A1"].font = TITLE_FONT
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    ws.merge_cells(f"A2:{last}2")
    ws["A2"] = _clean(subtitle)
    ws["A2"].font = BODY_FONT
    ws["A2"].alignment = Alignment(horizontal="left", vertical="center")
    widths = [max(_display_width(c.title, "text"), 6) for c in columns]
    for j, col in enumerate(columns, start=1):
        cell = ws.cell(row=3, column=j, value=col.title)
        cell.font, cell.fill, cell.border = BOLD, HEAD_FILL, BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.row_dimensions[3].height = 32
    for i, values in enumerate(rows, start=4):
        is_total = total_last and i == len(rows) + 3
        for j, (col, value) in enumerate(zip(columns, values), start=1):
            cell = _put(ws, i, j, value, col.kind)
            cell.border = BORDER
            cell.font = BOLD if is_total else BODY_FONT
            if is_total:
                cell.fill = TOTAL_FILL
            cell.alignment = Alignment(horizontal="left" if col.kind == "text" else "right", vertical="center")
            widths[j - 1] = max(widths[j - 1], _display_width(value, col.kind))
    for j, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(j)].width = col.width or min(max(widths[j - 1] + 2, 8), 48)
    row = len(rows) + 5
    for note in notes:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=n)
        ws.cell(row=row, column=1, value=_clean(note)).font = BODY_FONT
        row += 1
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _pct(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def workbook_bytes(report: Report) -> bytes:
    c = report.coverage
    book = Workbook()
    book.remove(book.active)
    book.properties.creator = "UnionFlow"
    book.properties.title = _clean(f"{c.name}建会入会情况（{c.year}年）")
    stamp = f"填报单位：{c.name}　　统计年度：{c.year}年　　填报日期：{report.today.isoformat()}"
    _sheet(book, STATISTICS_TITLE, STATISTICS_COLUMNS, statistics_rows(report), heading=STATISTICS_TITLE,
           subtitle=stamp, total_last=True, notes=(
               f"注：100人以上企业指职工人数在{c.threshold}人以上（含{c.threshold}人）的企业；"
               "建会率＝已建会企业数÷100人以上企业数；入会率＝会员人数÷职工人数。",
               "百日集中行动目标：100人以上未建会单位全部建立工会组织。“本年新建”指本年经上级工会批准成立的工会。",
               "填表人：　　　　　　　　审核人：　　　　　　　　联系电话：",
           ))
    t = c.targets
    target_note = (f"{t.from_year}年度目标：建会率 {_pct(t.founding_rate)}，入会率 {_pct(t.membership_rate)}。"
                   if t.from_year is not None else "本年度未设定目标。")
    _sheet(book, CHILDREN_TITLE, CHILDREN_COLUMNS, children_rows(report), heading=f"{c.name}各单位建会入会情况",
           subtitle=stamp, total_last=True, notes=(
               target_note, "建会率＝已建会企业数÷企业数；入会率＝已建会企业会员人数÷全部企业职工人数；分母为0时不计算。",
           ))
    _sheet(book, LEDGER_TITLE, LEDGER_COLUMNS, ledger_rows(report), heading=f"{c.name}{LEDGER_TITLE}",
           subtitle=stamp + f"　　共 {len(report.ledger)} 家", notes=("按职工人数从多到少排列；“未立案”指尚无进行中的建会案件。",))
    book.active = 0
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- CSV ------------------------------------------------------------------------------

def _csv_value(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "pct":
        return _pct(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return str(value)


def csv_bytes(report: Report, table: str) -> bytes:
    columns, rows = {
        "statistics": (STATISTICS_COLUMNS, statistics_rows),
        "children": (CHILDREN_COLUMNS, children_rows),
        "ledger": (LEDGER_COLUMNS, ledger_rows),
    }[table]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.title for c in columns])
    for values in rows(report):
        writer.writerow([_csv_value(v, c.kind) for c, v in zip(columns, values)])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def csv_name(table: str) -> str:
    return {"statistics": STATISTICS_TITLE, "children": CHILDREN_TITLE, "ledger": LEDGER_TITLE}[table]
