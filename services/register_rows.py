"""One row of the register file: its cells read and checked on their own, and the messages of every problem.

What needs the database (parents, known enterprises, open founding cases)
is checked in workflow/register.py; `check_status` gets those facts passed in.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from workflow import CREDIT_CODE_ALPHABET as ALPHABET
from workflow import Organisation, is_valid_credit_code

from .register_file import LABELS, LABELS_EN

MAX_NAME, MAX_ADDRESS = 200, 300
_BREAKS = re.compile(r"[\r\n\t]+")

MESSAGES: dict[str, tuple[str, str]] = {
    # the file
    "file_unreadable": ("无法读取文件：请上传 Excel（.xlsx）或 CSV 文件", "The file is not a readable .xlsx or CSV file"),
    "xls_not_supported": ("不支持旧版 .xls 格式，请在 Excel 或 WPS 中另存为 .xlsx 或 CSV 后再上传",
                          "Old .xls files are not supported: save as .xlsx or CSV"),
    "file_encoding": ("无法识别文件编码，请保存为 UTF-8 或 GB18030（GBK）编码的 CSV",
                      "Unknown text encoding: save the CSV as UTF-8 or GB18030"),
    "file_empty": ("文件中没有数据行", "The file has no data rows"),
    "missing_columns": ("缺少必需的列：{columns}", "Required columns are missing: {columns}"),
    "too_many_rows": ("一次最多导入 {max} 行，请拆分文件", "At most {max} rows per file; split the file"),
    "file_too_large_unpacked": ("文件解压后超过 {mb} MB，请拆分后分批导入",
                                "The workbook unpacks to more than {mb} MB; split the file"),
    "file_too_compressed": ("文件的压缩比异常（可能是恶意构造的文件），请在 Excel 或 WPS 中重新保存后再上传",
                            "The workbook is compressed implausibly well; save it again from Excel or WPS"),
    "too_many_parts": ("文件包含的部件过多（超过 {max} 个），请在 Excel 或 WPS 中重新保存后再上传",
                       "The workbook has more than {max} parts; save it again from Excel or WPS"),
    # a row
    "required": ("不能为空", "is required"),
    "too_long": ("不能超过 {max} 个字符", "must be at most {max} characters"),
    "control_characters": ("含有不可见的控制字符，请删除后重试", "contains invisible control characters"),
    "credit_code_length": ("应为18位（现为{length}位）", "must have 18 characters (has {length})"),
    "credit_code_chars": ("含有无效字符（只能是数字和除 I、O、S、V、Z 以外的大写字母）",
                          "contains characters that cannot occur in a credit code"),
    "credit_code_check": ("校验位错误，请核对代码", "has a wrong check character"),
    "duplicate_in_file": ("与第 {first} 行重复", "repeats row {first}"),
    "not_integer": ("应为整数（现为“{value}”）", "must be a whole number (is “{value}”)"),
    "negative": ("不能为负数", "must not be negative"),
    "female_exceeds": ("女职工人数（{female}）不能大于职工人数（{employees}）",
                       "female employees ({female}) exceed employees ({employees})"),
    "unknown_parent": ("没有代码为“{code}”的组织", "no organisation has the code “{code}”"),
    "parent_is_enterprise": ("上级组织“{code}”是企业，企业下不能再有企业", "“{code}” is an enterprise"),
    "parent_outside": ("上级组织“{code}”不在您的管辖范围内", "“{code}” is outside your jurisdiction"),
    "enterprise_outside": ("该统一社会信用代码已登记在您管辖范围以外的单位，不能导入",
                           "this credit code belongs to an enterprise outside your jurisdiction"),
    "code_taken": ("组织代码“{code}”已被其他组织使用", "the organisation code “{code}” is taken"),
    "below_members": ("职工人数不能少于已登记的会员人数（{members}）",
                      "employees must not be fewer than the recorded members ({members})"),
    "status_invalid": ("应填“已建会”或“未建会”（现为“{value}”）", "must be 已建会 or 未建会 (is “{value}”)"),
    "status_case_open": ("该企业有进行中的建会案件，建会情况以案件办理结果为准",
                         "a founding case is open: the case decides the union status"),
    "status_downgrade": ("已建会企业不能通过导入改为未建会", "an import cannot undo a founded union"),
    "members_required": ("已建会企业须填写会员人数", "a founded union needs its member count"),
    "members_without_union": ("未建会企业不能填写会员人数", "members given for an enterprise without a union"),
    "members_range": ("会员人数应在 1 至职工人数（{employees}）之间", "members must be 1 to {employees}"),
    # warnings (the row is imported)
    "same_name": ("已有同名企业（代码 {code}），请确认不是同一家企业", "an enterprise of the same name exists ({code})"),
}

STATUS_VALUES = {"是": "founded", "已建会": "founded", "已建": "founded", "founded": "founded", "yes": "founded",
                 "否": "none", "未建会": "none", "未建": "none", "none": "none", "no": "none"}


def message(code: str, params: dict[str, Any], lang: str = "zh") -> str:
    zh, en = MESSAGES.get(code, (code, code))
    template = en if lang.startswith("en") else zh
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


@dataclass(frozen=True)
class Problem:
    """One reason a row (or the file, row None) cannot be imported, or a warning about it."""

    row: int | None
    field: str | None
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def column(self, lang: str = "zh") -> str:
        if self.field is None:
            return ""
        return (LABELS_EN if lang.startswith("en") else LABELS).get(self.field, self.field)

    def message(self, lang: str = "zh") -> str:
        return message(self.code, self.params, lang)

    def text(self, lang: str = "zh") -> str:
        where = f"第 {self.row} 行" if lang == "zh" else f"row {self.row}"
        column = self.column(lang)
        body = f"{column}{'：' if lang == 'zh' else ': '}{self.message(lang)}" if column else self.message(lang)
        return f"{where}　{body}" if self.row is not None else body



# -- cell values ----------------------------------------------------------------------

def _text(value: Any) -> str | None:
    """A cell as text: line breaks typed in a cell (Alt+Enter) become spaces; blank is None."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _BREAKS.sub(" ", str(value)).strip()
    return text or None


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def _integer(value: Any) -> tuple[int | None, str | None]:
    """(number, None), (None, None) when blank, or (None, error code)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, bool):
        return None, "not_integer"
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            return None, "not_integer"
        number = int(value)
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "").replace(" ", "")
        digits = text[1:] if text[:1] in "+-" else text
        if not digits.isascii() or not digits.isdigit():
            return None, "not_integer"
        number = int(text)
    return (None, "negative") if number < 0 else (number, None)


def _credit_code(value: Any) -> tuple[str | None, str | None, dict[str, Any]]:
    text = _text(value)
    if text is None:
        return None, "required", {}
    code = unicodedata.normalize("NFKC", text).replace(" ", "").upper()
    if len(code) != 18:
        return None, "credit_code_length", {"length": len(code)}
    if any(ch not in ALPHABET for ch in code):
        return None, "credit_code_chars", {}
    if not is_valid_credit_code(code):
        return None, "credit_code_check", {}
    return code, None, {}


# -- checking ---------------------------------------------------------------------------

@dataclass
class Row:
    number: int
    values: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)

    def bad(self, f: str | None, reason: str, /, **params: Any) -> None:
        self.problems.append(Problem(self.number, f, reason, params))


def parse(row: Row) -> None:
    raw = row.values
    v: dict[str, Any] = {}
    name = _text(raw.get("name"))
    if name is None:
        row.bad("name", "required")
    elif len(name) > MAX_NAME:
        row.bad("name", "too_long", max=MAX_NAME)
    elif _has_control(name):
        row.bad("name", "control_characters")
    v["name"] = name
    code, err, params = _credit_code(raw.get("credit_code"))
    if err:
        row.bad("credit_code", err, **params)
    v["credit_code"] = code
    address = _text(raw.get("address"))
    if address is not None and len(address) > MAX_ADDRESS:
        row.bad("address", "too_long", max=MAX_ADDRESS)
    elif address is not None and _has_control(address):
        row.bad("address", "control_characters")
    v["address"] = address
    for f in ("employees", "female_employees", "member_count"):
        number, err = _integer(raw.get(f))
        if err:
            row.bad(f, err, value=_text(raw.get(f)) or "")
        elif number is None and f == "employees":
            row.bad(f, "required")
        v[f] = number
    if v["employees"] is not None and v["female_employees"] is not None and v["female_employees"] > v["employees"]:
        row.bad("female_employees", "female_exceeds", female=v["female_employees"], employees=v["employees"])
    parent = _text(raw.get("parent"))
    if parent is None:
        row.bad("parent", "required")
    v["parent"] = parent
    status_text = _text(raw.get("union_status"))
    status = None
    if status_text is not None:
        status = STATUS_VALUES.get(status_text.lower())
        if status is None:
            row.bad("union_status", "status_invalid", value=status_text)
    v["union_status"] = status
    row.values = v


def check_status(row: Row, v: dict[str, Any], known: Organisation | None, open_case: bool) -> None:
    status, members, employees = v["union_status"], v["member_count"], v["employees"]
    current = known.union_status if known is not None else "none"
    if status is None and members is not None and current != "founded":
        row.bad("member_count", "members_without_union")
    if status == "none" and members is not None:
        row.bad("member_count", "members_without_union")
    if status == "none" and current == "founded":
        row.bad("union_status", "status_downgrade")
    if status == "founded" and current != "founded" and open_case:
        row.bad("union_status", "status_case_open")
    founded_after = status == "founded" or (status is None and current == "founded")
    if founded_after and employees is not None:
        if status == "founded" and current != "founded" and members is None:
            row.bad("member_count", "members_required")
        if members is not None and not 1 <= members <= employees:
            row.bad("member_count", "members_range", employees=employees)
        elif members is None and known is not None and (known.member_count or 0) > employees:
            row.bad("employees", "below_members", members=known.member_count)


__all__ = ["MAX_ADDRESS", "MAX_NAME", "MESSAGES", "Problem", "Row", "check_status", "message", "parse"]
