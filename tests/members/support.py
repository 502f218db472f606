"""Shared by the roster import tests: sheets built as a union office writes them (xlsx and csv, with or
without a BOM), the upload through the API, and the members of a union as the database holds them."""
from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from workflow import Member, Organisation
from workflows.membership.tests.support import bad_check, id_number, person  # noqa: F401  (re-exported)

HEADER = ["姓名", "身份证号", "工作单位", "入会日期", "八大群体", "会员编号"]


def row(name: str = "张伟", number: str | None = None, employer: str = "", joined: Any = "", group: str = "",
        member_no: str = "") -> list[Any]:
    return [name, number if number is not None else person(1), employer, joined, group, member_no]


def csv_bytes(rows: list[list[Any]], header: list[str] | None = None, bom: bool = True,
              encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    book = Workbook()
    ws = book.active
    ws.append(header or HEADER)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def people(n: int, start: int = 0) -> list[str]:
    """`n` distinct valid 身份证号 (born on days of 1980-1999, sequence numbers 000-999)."""
    out = []
    i = start
    while len(out) < n:
        day, seq = divmod(i, 1000)
        year, rest = 1980 + day // 336, day % 336
        out.append(id_number(f"110105{year}{rest // 28 + 1:02d}{rest % 28 + 1:02d}{seq:03d}"))
        i += 1
    return out


def post_import(client, who: Any, code: str, content: bytes, name: str = "名册.csv", dry_run: bool = False,
                lang: str | None = None):
    headers = dict(who.headers) if who else {}
    if lang:
        headers["Accept-Language"] = lang
    return client.post(f"/api/v1/orgs/{code}/members/import" + ("?dry_run=1" if dry_run else ""),
                       data={"file": (io.BytesIO(content), name)}, headers=headers,
                       content_type="multipart/form-data")


def members_of(db, code: str) -> list[Member]:
    with db.read() as session:
        org_id = session.scalar(select(Organisation.id).where(Organisation.code == code))
        members = list(session.scalars(select(Member).where(Member.org_id == org_id).order_by(Member.id)))
        session.expunge_all()
        return members


def member_count(db, code: str) -> int | None:
    with db.read() as session:
        return session.scalar(select(Organisation.member_count).where(Organisation.code == code))


def total_members(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Member)) or 0


def sheet(content: bytes) -> list[list[Any]]:
    ws = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]
