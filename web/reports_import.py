"""The upload form of the register import, its body limit, and the blank template workbook."""
from __future__ import annotations

import io

from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from werkzeug.exceptions import RequestEntityTooLarge

FORM_OVERHEAD = 64 * 1024

TEMPLATE_COLUMNS = (
    ("企业名称", 34, "必填"), ("统一社会信用代码", 24, "必填，18位，校验位按 GB 32100-2015 检查"),
    ("地址", 36, "选填；更新时留空表示不修改"), ("职工人数", 10, "必填，非负整数"),
    ("女职工人数", 11, "选填，不能大于职工人数"), ("上级组织代码", 14, "必填，乡镇(街道)或社区工会的组织代码"),
    ("是否建会", 10, "选填：已建会 / 未建会；有进行中的建会案件时不能填写“已建会”"),
    ("会员人数", 10, "已建会时必填，1 至职工人数"),
)


class ImportForm(FlaskForm):
    file = FileField(_l("企业名录文件（.xlsx 或 .csv）"))


def max_bytes() -> int:
    return int(current_app.config["UPLOAD_MAX_BYTES"])


def raise_body_limit() -> None:
    request.max_content_length = max_bytes() + FORM_OVERHEAD


def read_upload(form: ImportForm) -> tuple[str, bytes, str | None]:
    """(file name, bytes, None) or ("", b"", the reason in the page's language)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return "", b"", _("请选择要导入的文件。")
    try:
        content = upload.stream.read(max_bytes() + 1)
    except RequestEntityTooLarge:
        content = b"x" * (max_bytes() + 1)
    if len(content) > max_bytes():
        return "", b"", _("文件超过 %(mb)s MB，请拆分后分批导入。", mb=max_bytes() // (1024 * 1024))
    name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:200]
    return name, content, None


def template_bytes() -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = "企业名录"
    for j, (title, width, note) in enumerate(TEMPLATE_COLUMNS, start=1):
        cell = ws.cell(row=1, column=j, value=title)
        cell.font = Font(name="宋体", bold=True)
        cell.fill = PatternFill("solid", fgColor="F2DCDB")
        cell.alignment = Alignment(horizontal="center")
        cell.comment = Comment(note, "UnionFlow")
        ws.column_dimensions[cell.column_letter].width = width
    ws.freeze_panes = "A2"
    for row in range(2, 1002):
        ws.cell(row=row, column=2).number_format = "@"  # credit codes stay text, never a rounded number
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
