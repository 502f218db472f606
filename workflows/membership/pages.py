"""入会 pages: what every step form of a joining case shows of the application (the applicant, the
employer, the group), and, once approved, the way to the member on the roster. The steps themselves are
the one step page's, with the form the definition's fields give."""
from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _

from web.i18n import text
from web.workflow_pages import CaseView, Fact, Panel, Summary
from workflow import gender_of, id_number_birth_date, is_valid_id_number, mask

WORKFLOW = "membership"


def _employer(view: CaseView, data: dict[str, Any]) -> str:
    code, name = data.get("employer"), data.get("employer_name")
    if name:
        return str(name)
    if not code or code == view.case.org.code:
        return _("%(org)s（本单位）", org=view.case.org.name)
    return str(code)


def summary(view: CaseView) -> Summary:
    raw = view.data
    data = mask(dict(raw))  # a step form shows ID numbers masked, whoever looks at it
    applicant = data.get("applicant") or {}
    number = (raw.get("applicant") or {}).get("id_number")
    whole = isinstance(number, str) and is_valid_id_number(number)  # not masked for this person
    groups = {g["id"]: text(g["title"], g["id"]) for g in view.definition.extra.get("groups") or ()}
    born = id_number_birth_date(number) if whole else None
    out = Summary()
    out.add(_("申请人"), [
        Fact(_("姓名"), str(applicant.get("name") or "—"), strong=True),
        Fact(_("身份证号"), str(applicant.get("id_number") or "—")),
        Fact(_("性别"), _("男") if gender_of(number) == "male" else _("女")) if whole else None,
        Fact(_("出生日期"), born.isoformat()) if born else None,
    ])
    out.add(_("入会信息"), [
        Fact(_("申请加入"), view.case.org.name),
        Fact(_("工作单位"), _employer(view, data)),
        Fact(_("八大群体"), groups.get(str(data.get("group")), "—") if data.get("group") else _("不属于八大群体")),
        Fact(_("会员证号"), str(data["member_no"]), strong=True) if data.get("member_no") else None,
    ])
    return out


def member_link(view: CaseView) -> dict[str, Any]:
    member_id = view.data.get("member_id")
    return {"url": url_for("members.show", member_id=member_id) if isinstance(member_id, int) else None,
            "roster": url_for("members.roster", code=view.case.org.code), "summary": summary(view)}


SUMMARIES = {WORKFLOW: summary}
PANELS = {WORKFLOW: Panel("membership/panel.html", member_link)}
