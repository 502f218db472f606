"""Import of a union's roster from the 实名制 spreadsheet (会员名册导入, domain.md §5): check every row, then put
them all on the roster or none.

The file is read as the enterprise register is (`register_file`: .xlsx or CSV, its size and, for a workbook,
its compression checked before it is opened), with the headers a union office uses in the first row:
姓名 and 身份证号 (required), 工作单位 (an organisation's code or name in the union's subtree; empty: the
union's own enterprise), 入会日期 (YYYY-MM-DD; empty: today), 八大群体 (a group's Chinese name or code) and
会员编号 (empty: the next free number). `row` counts the data rows from 1, the header being row 0.

Every problem of every row is collected (missing fields, an invalid 身份证号, one repeated within the file,
a person who is already an active member of any union of the installation, an unknown employer or one
outside the union's subtree, a bad date, an unknown group, a member number used twice); a dry run, or any
problem, writes nothing. Otherwise `Engine.enrol_members` writes the rows and their audit entries in the
caller's unit of work. Who may import (a reviewer of the union) is the engine's to say.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import (
    MEMBER_GROUPS,
    Actor,
    Engine,
    Member,
    NewMember,
    Organisation,
    gender_of,
    id_number_birth_date,
    id_number_problem,
    lock_roster,
)

from .register_file import Layout, RegisterFileError, Table, read_table
from .register_rows import MESSAGES as FILE_MESSAGES

MAX_ROWS = 100_000
MAX_NAME = 50
MAX_MEMBER_NO = 32
CHUNK = 900  # keys a lookup binds at once
Progress = Callable[[str, int, int], None]

COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "id_number"),
    "employer": ("工作单位", "employer"),
    "joined_on": ("入会日期", "joined_on"),
    "group": ("八大群体", "group"),
    "member_no": ("会员编号", "member_no"),
}
FIELDS = tuple(COLUMNS)
LABELS = {f: names[0] for f, names in COLUMNS.items()}
LABELS_EN = {"name": "name", "id_number": "ID number", "employer": "employer", "joined_on": "joined on",
             "group": "group", "member_no": "member number"}
LAYOUT = Layout(COLUMNS, ("name", "id_number"), header_search_rows=1, max_rows=MAX_ROWS)
PROBLEM_COLUMN = "问题"

ID_PROBLEMS = {
    "length": ("应为18位", "must have 18 characters"),
    "characters": ("前17位须为数字，末位为数字或大写X", "needs 17 digits and a digit or capital X"),
    "birth_date": ("出生日期无效", "holds no valid birth date"),
    "check_character": ("第18位校验码错误", "has a wrong 18th check character"),
    "number": ("被保存为数字，请将该列设为文本格式后重新填写", "was saved as a number: format the column as text"),
}

MESSAGES: dict[str, tuple[str, str]] = {
    **FILE_MESSAGES,
    "required": ("{label}不能为空", "{label} is required"),
    "too_long": ("{label}不能超过 {max} 个字符", "{label} must be at most {max} characters"),
    "control_characters": ("{label}含有不可见的控制字符", "{label} contains invisible control characters"),
    "invalid_id_number": ("身份证号“{value}”无效：{problem}", "The ID number “{value}” is not valid: it {problem}"),
    "duplicate_in_file": ("身份证号与第 {first} 行重复", "The ID number repeats row {first}"),
    "already_a_member": ("此人已是{org}的会员，一人只能在一个工会保有会籍",
                         "This person is already a member of {org}; one person holds one membership only"),
    "unknown_employer": ("没有代码或名称为“{value}”的单位", "No organisation has the code or name “{value}”"),
    "employer_ambiguous": ("名称为“{value}”的单位有多个，请填写单位代码",
                           "Several organisations are named “{value}”: give the code"),
    "employer_outside_union": ("工作单位“{value}”不是本工会所辖的单位",
                               "The employer “{value}” is not an organisation under this union"),
    "bad_date": ("入会日期“{value}”应为“年-月-日”格式的日期，如 2024-03-01",
                 "The date joined “{value}” must be a date written YYYY-MM-DD"),
    "date_in_future": ("入会日期 {value} 晚于今天", "The date joined {value} is after today"),
    "unknown_group": ("“{value}”不是八大群体之一", "“{value}” is not one of the eight groups"),
    "duplicate_member_no": ("会员编号“{value}”{where}", "The member number “{value}” {where}"),
}
WHERE = {"file": ("与第 {first} 行重复", "repeats row {first}"),
         "roster": ("已在名册中使用", "is already on the roster")}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class Problem:
    """One problem of the file (row None) or of a data row, with what its message needs."""

    row: int | None
    field: str | None
    code: str
    params: dict[str, Any] = _field(default_factory=dict)

    def message(self, lang: str = "zh") -> str:
        en = lang.startswith("en")
        params = dict(self.params)
        if self.field in LABELS:
            params.setdefault("label", (LABELS_EN if en else LABELS)[self.field])
        if "problem" in params:
            params["problem"] = ID_PROBLEMS.get(params["problem"], ("", ""))[1 if en else 0]
        if "where" in params:
            params["where"] = WHERE[params["where"]][1 if en else 0].format(**params)
        zh_text, en_text = MESSAGES.get(self.code, (self.code, self.code))
        try:
            return (en_text if en else zh_text).format(**params)
        except (KeyError, IndexError, ValueError):
            return en_text if en else zh_text

    def as_json(self, lang: str = "zh") -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "code": self.code, "message": self.message(lang)}


@dataclass
class RosterImport:
    """What an import found and did: the data rows, how many are valid, every problem, and the new members."""

    filename: str
    dry_run: bool
    rows: int = 0
    valid: int = 0
    problems: list[Problem] = _field(default_factory=list)
    member_ids: list[int] = _field(default_factory=list)
    table: Table | None = None

    @property
    def written(self) -> bool:
        return bool(self.member_ids)

    @property
    def file_problem(self) -> Problem | None:
        """The problem of the file as a whole (it could not be read), if that is what stopped the import."""
        return self.problems[0] if self.problems and self.problems[0].row is None else None

    def as_json(self, lang: str = "zh") -> dict[str, Any]:
        return {"rows": self.rows, "valid": self.valid, "problems": [p.as_json(lang) for p in self.problems]}


@dataclass
class _Row:
    number: int  # the data row, from 1
    raw: dict[str, Any]
    values: dict[str, Any] = _field(default_factory=dict)
    problems: list[Problem] = _field(default_factory=list)

    def bad(self, name: str, code: str, **params: Any) -> None:
        self.problems.append(Problem(self.number, name, code, params))


def group_names(engine: Engine) -> dict[str, str]:
    """The 八大群体 as a file may name them (code, Chinese or English title, normalised) → the group's code."""
    names = {_norm(code): code for code in MEMBER_GROUPS}
    for g in engine.catalog.definition("membership").extra.get("groups") or ():
        for title in (g.get("title") or {}).values():
            names[_norm(title)] = g["id"]
    return names


def _norm(value: Any) -> str:
    return "".join(unicodedata.normalize("NFKC", str(value)).split()).lower()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _parse(row: _Row, today: date, groups: Mapping[str, str]) -> None:
    """The row's cells on their own: what needs no database."""
    raw, v = row.raw, row.values
    for name in ("name", "employer", "member_no", "group"):
        text = _text(raw.get(name))
        if text is not None and _CONTROL.search(text):
            row.bad(name, "control_characters")
            text = None
        v[name] = text
    if v["name"] is None and not any(p.field == "name" for p in row.problems):
        row.bad("name", "required")
    elif v["name"] is not None and len(v["name"]) > MAX_NAME:
        row.bad("name", "too_long", max=MAX_NAME)
    _parse_id_number(row, raw.get("id_number"), today)
    if v["member_no"] is not None and len(v["member_no"]) > MAX_MEMBER_NO:
        row.bad("member_no", "too_long", max=MAX_MEMBER_NO)
    v["group_code"] = None
    if v["group"] is not None:
        v["group_code"] = groups.get(_norm(v["group"]))
        if v["group_code"] is None:
            row.bad("group", "unknown_group", value=v["group"])
    v["joined_on"] = _parse_date(row, raw.get("joined_on"), today)


def _parse_id_number(row: _Row, cell: Any, today: date) -> None:
    row.values["id_number"] = None
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        row.bad("id_number", "invalid_id_number", value=_text(cell), problem="number")
        return
    text = _text(cell)
    if text is None:
        row.bad("id_number", "required")
        return
    number = unicodedata.normalize("NFKC", text).replace(" ", "")
    problem = id_number_problem(number, today)
    if problem is not None:
        row.bad("id_number", "invalid_id_number", value=text, problem=problem)
        return
    row.values["id_number"] = number


def _parse_date(row: _Row, cell: Any, today: date) -> date | None:
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return today
    day: date | None = None
    if isinstance(cell, datetime):
        day = cell.date() if (cell.hour, cell.minute, cell.second, cell.microsecond) == (0, 0, 0, 0) else None
    elif isinstance(cell, date):
        day = cell
    elif isinstance(cell, str) and _DATE.fullmatch(cell.strip()):
        try:
            day = date.fromisoformat(cell.strip())
        except ValueError:
            day = None
    if day is None:
        row.bad("joined_on", "bad_date", value=_text(cell))
        return None
    if day > today:
        row.bad("joined_on", "date_in_future", value=day.isoformat())
        return None
    return day


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = sorted(set(values))
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _active_holders(session: Session, numbers: Iterable[str]) -> dict[str, str]:
    """The people among `numbers` who are active members of a union anywhere: 身份证号 → the union's name."""
    out: dict[str, str] = {}
    for part in _chunks(numbers):
        out.update(session.execute(
            select(Member.id_number, Organisation.name).join(Organisation, Organisation.id == Member.org_id)
            .where(Member.id_number.in_(part), Member.status == "active")).all())
    return out


def _employers(session: Session, names: Iterable[str]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The organisations the file names as employers: by code, and by name (a name may be several)."""
    by_code: dict[str, Any] = {}
    by_name: dict[str, list[Any]] = {}
    wanted = set(names)
    cols = (Organisation.id, Organisation.code, Organisation.name, Organisation.path)
    for part in _chunks(wanted):
        for org in session.execute(select(*cols).where(Organisation.code.in_(part))):
            by_code[org.code] = org
    for part in _chunks(wanted - set(by_code)):
        for org in session.execute(select(*cols).where(Organisation.name.in_(part))):
            by_name.setdefault(org.name, []).append(org)
    return by_code, by_name


def _check_employer(row: _Row, union: Organisation, by_code: Mapping[str, Any],
                    by_name: Mapping[str, list[Any]]) -> None:
    given = row.values["employer"]
    row.values["employer_id"] = union.id
    if given is None:
        return
    found = by_code.get(given)
    if found is None:
        named = by_name.get(given, [])
        inside = [o for o in named if o.path.startswith(union.path)]
        if len(inside) > 1:
            row.bad("employer", "employer_ambiguous", value=given)
            return
        found = inside[0] if inside else (named[0] if named else None)
    if found is None:
        row.bad("employer", "unknown_employer", value=given)
    elif not found.path.startswith(union.path):
        row.bad("employer", "employer_outside_union", value=given)
    else:
        row.values["employer_id"] = found.id


def check(session: Session, engine: Engine, union: Organisation, table: Table,
          progress: Progress | None = None) -> tuple[list[Problem], list[NewMember]]:
    """Every problem of every row, against the file itself and the installation; the members of a file
    without problems. Nothing is written."""
    today = engine.today()
    groups = group_names(engine)
    rows = [_Row(number - table.header_row, raw) for number, raw in table.rows]
    first_id: dict[str, int] = {}
    first_no: dict[str, int] = {}
    for i, row in enumerate(rows, start=1):
        _parse(row, today, groups)
        number, member_no = row.values["id_number"], row.values["member_no"]
        if number is not None:
            if number in first_id:
                row.bad("id_number", "duplicate_in_file", first=first_id[number])
            else:
                first_id[number] = row.number
        if member_no is not None and not any(p.field == "member_no" for p in row.problems):
            if member_no in first_no:
                row.bad("member_no", "duplicate_member_no", value=member_no, where="file", first=first_no[member_no])
            else:
                first_no[member_no] = row.number
        if progress is not None and i % 5000 == 0:
            progress("check", i, len(rows))
    holders = _active_holders(session, first_id)
    by_code, by_name = _employers(session, {r.values["employer"] for r in rows if r.values["employer"]})
    on_roster = set(session.scalars(select(Member.member_no).where(Member.org_id == union.id))) if first_no else set()
    members: list[NewMember] = []
    problems: list[Problem] = []
    for row in rows:
        v = row.values
        number = v["id_number"]
        if number is not None and number in holders and first_id.get(number) == row.number:
            row.bad("id_number", "already_a_member", org=holders[number])
        _check_employer(row, union, by_code, by_name)
        if v["member_no"] is not None and v["member_no"] in on_roster:
            row.bad("member_no", "duplicate_member_no", value=v["member_no"], where="roster")
        row.problems.sort(key=lambda p: FIELDS.index(p.field) if p.field in FIELDS else len(FIELDS))
        problems.extend(row.problems)
        if not row.problems and not problems:
            members.append(NewMember(
                name=v["name"], id_number=number, gender=gender_of(number), born_on=id_number_birth_date(number),
                joined_on=v["joined_on"], employer_id=v["employer_id"], group_code=v["group_code"],
                member_no=v["member_no"], row=row.number))
    if progress is not None:
        progress("check", len(rows), len(rows))
    return problems, members if not problems else []


def import_roster(session: Session, engine: Engine, actor: Actor, union: Organisation, content: bytes, *,
                  filename: str = "", dry_run: bool = True, progress: Progress | None = None) -> RosterImport:
    """Check the file; unless `dry_run` or a problem, put every row on the union's roster in the caller's unit
    of work. Refused as the engine refuses (`Engine.roster_import_refusal`) before the file is read."""
    refusal = engine.roster_import_refusal(actor, union)
    if refusal is not None:
        raise refusal
    result = RosterImport(filename, dry_run)
    if not dry_run:
        lock_roster(session, union.id)  # what the rows are checked against holds until they are written
    try:
        table = read_table(content, filename, LAYOUT)
    except RegisterFileError as err:
        result.problems.append(Problem(None, None, err.code, err.params))
        return result
    result.table, result.rows = table, len(table.rows)
    problems, members = check(session, engine, union, table, progress)
    result.problems = problems
    result.valid = result.rows - len({p.row for p in problems})
    if dry_run or problems:
        return result
    result.member_ids = engine.enrol_members(session, actor, union, members,
                                             extra={"file": filename[:200]} if filename else None)
    if progress is not None:
        progress("write", len(members), len(members))
    return result


def problems_by_row(problems: Sequence[Problem], lang: str = "zh") -> dict[int, str]:
    """Each data row's problems as one text (the 问题 column of the sheet handed back)."""
    out: dict[int, list[str]] = {}
    for p in problems:
        if p.row is not None:
            out.setdefault(p.row, []).append(p.message(lang))
    return {row: "；".join(texts) for row, texts in out.items()}


__all__ = ["COLUMNS", "LABELS", "LABELS_EN", "LAYOUT", "MAX_ROWS", "MESSAGES", "PROBLEM_COLUMN", "Problem",
           "RosterImport", "check", "import_roster", "problems_by_row"]
