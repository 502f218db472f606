"""The auditor's export of the explorer (审计留痕导出), for people: an Excel workbook and a CSV.

One row per entry the explorer's filters select, newest first, as the pages show it: Beijing times, who
acted by real name with organisation, username and role, the subject and its case, the step and the
states by their labels, the comment and the hashes. Headers are Chinese (English when the pages are in
English). The CSV is UTF-8 with a BOM (Excel and WPS read it as such) and defuses cells a spreadsheet
would run as formulas; the workbook writes such text as text. The verbatim, re-hashable export stays
the JSON Lines one.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator, Mapping

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import Select, select, union
from sqlalchemy.orm import Session

from audit import AuditEntry
from services.people import Person, people_in, unknown
from workflow import Case, Organisation

from .i18n import ROLE_LABELS, local_time, pick, text
from .present import entry_decided_on
from .templating import ADMIN_TRIGGERS, SUBJECT_LABELS, punct

BATCH = 2000
XLSX_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    title: tuple[str, str]  # Chinese, English (the pages' language chooses)
    kind: str = "text"  # text | int | time
    width: int = 14


COLUMNS = (
    Column(("序号", "No."), "int", 8), Column(("时间（北京时间）", "Time (Beijing)"), "time", 20),
    Column(("办理日期", "Date of the step"), "text", 12), Column(("操作人", "Person"), "text", 12),
    Column(("用户名", "Username"), "text", 14), Column(("所属组织", "Organisation"), "text", 24),
    Column(("角色", "Role"), "text", 10), Column(("对象类型", "Subject type"), "text", 8),
    Column(("对象", "Subject"), "text", 24), Column(("案件", "Case"), "int", 8),
    Column(("流程", "Workflow"), "text", 14), Column(("案件单位", "Organisation of the case"), "text", 24),
    Column(("操作", "Action"), "text", 16), Column(("原状态", "From state"), "text", 12),
    Column(("新状态", "To state"), "text", 12), Column(("说明", "Comment"), "text", 40),
    Column(("哈希", "Hash"), "text", 66), Column(("前一条哈希", "Previous hash"), "text", 66),
)


def headers() -> list[str]:
    return [pick(c.title) for c in COLUMNS]


class Labels:
    """Triggers and states by their labels, in the page's language, from the workflows' definitions."""

    def __init__(self, definitions: Mapping[str, Any]):
        self.definitions = definitions

    def trigger(self, workflow: str | None, trigger: str) -> str:
        if trigger in ADMIN_TRIGGERS:
            return str(ADMIN_TRIGGERS[trigger])
        d = self.definitions.get(workflow or "")
        if d is not None:
            return text(d.trigger_label(trigger), trigger)
        # a step's entry about an organisation (the sanction founds its union): the step's label
        for d in self.definitions.values():
            for t in d.transitions:
                if t.trigger == trigger:
                    return text(t.label, trigger)
        return trigger

    def state(self, workflow: str | None, state: str | None) -> str:
        if not state:
            return ""
        d = self.definitions.get(workflow or "")
        try:
            return text(d.state(state).label, state) if d is not None else state
        except KeyError:
            return state


def case_of(e: AuditEntry) -> int | None:
    """The case an entry is about: a case's own entries and those of its attachments ("<case id>:<digest>")."""
    head = e.subject_id if e.subject_type == "case" else e.subject_id.split(":")[0] if e.subject_type == "attachment" \
        else ""
    return int(head) if head.isdigit() and len(head) < 10 else None


def _cases(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = session.execute(select(Case.id, Case.workflow, Organisation.name).join(Case.org).where(Case.id.in_(ids)))
    return {i: (w, n) for i, w, n in rows}


def _orgs(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(select(Organisation.code, Organisation.name).where(Organisation.code.in_(codes))).all())


def people_of_export(session: Session, scoped: Select) -> dict[str, Person]:
    """Everyone the selected entries name (who acted, and the users acted on), in one query."""
    entries = scoped.order_by(None)
    actors = entries.with_only_columns(AuditEntry.actor)
    users = entries.with_only_columns(AuditEntry.subject_id).where(AuditEntry.subject_type == "user")
    return people_in(session, select(union(actors, users).subquery().c[0]))


def _subject(e: AuditEntry, case_id: int | None, orgs: Mapping[str, str], people: Mapping[str, Person]) -> str:
    if e.subject_type == "case" and case_id is not None:
        return _("案件 #%(n)s", n=case_id)
    if e.subject_type == "attachment" and case_id is not None:
        return _("案件 #%(n)s 的材料", n=case_id)
    if e.subject_type == "org":
        name = orgs.get(e.subject_id)
        return f"{name}{punct('(')}{e.subject_id}{punct(')')}" if name else e.subject_id
    if e.subject_type == "user":
        p = people.get(e.subject_id)
        return f"{p.name}{punct('(')}{e.subject_id}{punct(')')}" if p is not None and p.named else e.subject_id
    return e.subject_id


def rows(session: Session, scoped: Select, labels: Labels) -> Iterator[list[Any]]:
    """The export's rows, newest first; a query for the people, then two per batch of entries."""
    people = people_of_export(session, scoped)
    result = session.scalars(scoped.execution_options(yield_per=BATCH))
    for batch in result.partitions(BATCH):
        cases = _cases(session, {c for c in map(case_of, batch) if c is not None})
        orgs = _orgs(session, {e.subject_id for e in batch if e.subject_type == "org"})
        for e in batch:
            case_id = case_of(e)
            workflow, case_org = cases.get(case_id, (None, "")) if case_id is not None else (None, "")
            who = people.get(e.actor) or unknown(e.actor)
            states = e.subject_type in ("case", "attachment")
            yield [
                e.seq, local_time(e.at, "yyyy-MM-dd HH:mm:ss"), entry_decided_on(e, json.loads(e.data)),
                who.name, e.actor, who.org_name or "", pick(ROLE_LABELS.get(e.role), e.role),
                str(SUBJECT_LABELS.get(e.subject_type, e.subject_type)), _subject(e, case_id, orgs, people),
                case_id, text(labels.definitions[workflow].title, workflow) if workflow in labels.definitions else "",
                case_org, labels.trigger(workflow, e.trigger),
                labels.state(workflow, e.from_state) if states else "", labels.state(workflow, e.to_state) if states
                else "", e.comment or "", e.hash, e.prev_hash,
            ]


# -- CSV ------------------------------------------------------------------------------

def csv_cell(value: Any) -> str:
    """A cell as text; one that a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    cell = value if isinstance(value, str) else str(value)
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def csv_lines(found: Iterator[list[Any]]) -> Iterator[str]:
    """The CSV text, a BOM first, a line at a time (for a streamed download)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # so that Excel and WPS open the UTF-8 text as such
    writer.writerow(headers())
    for values in found:
        writer.writerow([csv_cell(v) for v in values])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


# -- Excel ----------------------------------------------------------------------------

HEAD_FILL = PatternFill("solid", fgColor="F2DCDB")
BODY_FONT = Font(name="宋体", size=11)
BOLD = Font(name="宋体", size=11, bold=True)
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


def _cell(ws: Any, value: Any, kind: str) -> Any:
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters cannot be stored in the XML
    if kind == "time" and value:
        value = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")  # Beijing time, a date Excel sorts and filters
    cell = WriteOnlyCell(ws, value=value)
    cell.font = BODY_FONT
    if isinstance(value, str) and value.startswith(FORMULA_START):
        cell.data_type = "s"  # "=HYPERLINK(...)" in a comment stays text
    if kind == "time":
        cell.number_format = TIME_FORMAT
    return cell


def workbook_bytes(found: Iterator[list[Any]], title: str, subtitle: str) -> bytes:
    """The workbook: a title line, what was selected, the headers (frozen, repeated on printed pages), the rows."""
    book = Workbook(write_only=True)
    book.properties.creator = "UnionFlow"
    book.properties.title = title
    ws = book.create_sheet(title[:31])
    for j, col in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(j)].width = col.width
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    heading = WriteOnlyCell(ws, value=title)
    heading.font = Font(name="黑体", size=16, bold=True)
    ws.append([heading])
    note = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", subtitle))
    note.font = BODY_FONT
    ws.append([note])
    head = []
    for name in headers():
        cell = WriteOnlyCell(ws, value=name)
        cell.font, cell.fill = BOLD, HEAD_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        head.append(cell)
    ws.append(head)
    for values in found:
        ws.append([_cell(ws, v, c.kind) for c, v in zip(COLUMNS, values, strict=True)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def selection_text(args: Mapping[str, str], labels: Callable[[str, str], str]) -> str:
    """What the explorer's filters selected, in words, for the workbook's second line."""
    names = {"q": _("关键词"), "org": _("组织代码"), "workflow": _("流程"), "subject": _("对象类型"),
             "actor": _("操作人"), "trigger": _("操作"), "case": _("案件编号"), "from": _("起始日期"),
             "to": _("截止日期")}
    parts = [f"{names[k]}{punct(':')}{labels(k, str(v).strip())}" for k, v in args.items()
             if k in names and str(v).strip()]
    return punct(";").join(parts) if parts else _("全部记录")


