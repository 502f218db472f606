"""What every founding step form shows of the founding the decision is about: the enterprise and its
employees, the approving union, the preparatory group, the members, and the facts of the steps so far
(the candidates' posting, the assembly, the election, the approval, the registration deadline).

Built from the case as recorded, in the step page's read unit (`web.steps.load_step`).
"""
from __future__ import annotations

from flask_babel import gettext as _

from web.i18n import lang
from web.workflow_pages import CaseView, Fact, Summary

from . import view as fview


def summary(view: CaseView) -> Summary:
    case, data, definition = view.case, view.data, view.definition
    sep = "、" if lang() == "zh" else ", "
    org = case.org
    out = Summary()
    employees = _("%(n)s人", n=org.employees) if org.employees is not None else "—"
    out.add(_("建会单位"), [
        Fact(_("单位"), org.name, strong=True),
        Fact(_("职工人数"), employees,
             _("（女职工%(n)s人）", n=org.female_employees) if org.female_employees is not None else ""),
        Fact(_("审批单位"), case.competent_org.name) if case.competent_org is not None else None,
        Fact(_("筹备组成员"), sep.join(map(str, data["group_members"]))) if data.get("group_members") else None,
        Fact(_("会员人数"), _("%(m)s人，其中女会员%(f)s人", m=data["member_count"], f=data.get("female_member_count", 0)))
        if data.get("member_count") is not None else None,
    ])
    params, today = view.engine.params_of(case), view.engine.today(case.profile)
    posting = fview.posting(data, params, today)
    candidates = data.get("candidates") or []
    elected = data.get("elected") or {}
    positions = fview.labels(definition, "for")
    out.add(_("已办理的事项"), [
        Fact(_("候选人"), _("%(n)s人", n=len(candidates)),
             _("（委员会名额%(c)s名，经审会名额%(a)s名）", c=data.get("committee_seats"), a=data.get("audit_seats"))
             if data.get("committee_seats") else "") if candidates else None,
        Fact(_("公示期"), _("%(a)s至%(b)s", a=fview.cn_date(posting.posted_on), b=fview.cn_date(posting.period_end)),
             _("还需%(n)s天", n=posting.days_left) if posting.days_left > 0 and case.state == "candidates_submitted"
             else "") if posting else None,
        Fact(_("会员（代表）大会"), _("应到%(e)s人，实到%(p)s人", e=data["entitled"], p=data["present"]))
        if data.get("entitled") is not None and data.get("present") is not None else None,
        Fact(positions.get("chair", _("工会主席")), str(elected["chair"])) if elected.get("chair") else None,
        Fact(positions.get("committee", _("工会委员会委员")), sep.join(elected.get("committee") or ()))
        if elected.get("committee") else None,
        Fact(_("批准文号"), str(data["approval_no"])) if data.get("approval_no") else None,
        Fact(_("法人资格登记期限"), fview.cn_date(data["registration_due_on"]))
        if data.get("registration_due_on") and not data.get("registered_on") else None,
    ])
    return out
