"""What every inspection step form shows of the inspection the decision is about: the union and the year,
the self-assessment, the members' evaluation (respondents, satisfaction), the inspector's scores and the
vetoes so far, and the result where one was decided.

Built from the case as recorded, in the step page's read unit (`web.steps.load_step`).
"""
from __future__ import annotations

from typing import Any, Mapping

from flask_babel import gettext as _

from web.i18n import lang, text
from web.workflow_pages import CaseView, Fact, Summary

from .. import rules
from . import forms


def _points(n: Any) -> str:
    return _("%(n)s分", n=n)


def _by_dimension(extra: Mapping[str, Any], totals: Mapping[str, Any] | None) -> str:
    if not totals:
        return ""
    sep = "、" if lang() == "zh" else "; "
    return sep.join(f"{text(d['title'], d['id'])} {totals.get(d['id'], 0)}/{d['max']}" for d in extra["dimensions"])


def summary(view: CaseView) -> Summary:
    case, data, extra = view.case, view.data, view.definition.extra
    params = view.engine.params_of(case)
    out = Summary()
    members, employees = case.org.member_count, case.org.employees
    rate = forms.membership(members, employees, params)
    out.add(_("检查对象"), [
        Fact(_("单位"), case.org.name, strong=True),
        Fact(_("检查年度"), _("%(year)s年度", year=data["year"]) if data.get("year") else "—", strong=True),
        Fact(_("会员人数"), _("%(n)s人", n=members) if members is not None else "—",
             _("（职工%(n)s人）", n=employees) if employees is not None else ""),
        Fact(_("职工入会率"), f"{rate['percent']}%",
             _("（低于%(p)s%%，一票否决）", p=rate["threshold"]) if rate["vetoed"]
             else _("（不低于%(p)s%%）", p=rate["threshold"])) if rate["known"] else None,
    ])

    self_total = data.get("self_score_total")
    out.add(_("自查自评"), [
        Fact(_("自评总分"), _points(self_total) if self_total is not None else _("尚未自评"),
             _by_dimension(extra, data.get("self_scores_by_dimension")), strong=self_total is not None),
    ])

    satisfaction = forms.satisfaction(data.get("respondents"), data.get("satisfied"), params)
    needed = -(-int(members or 0) * int(params["min_respondents_percent"]) // 100) if members else None
    out.add(_("会员评家"), [
        Fact(_("参评会员人数"), _("%(n)s人", n=data["respondents"]) if data.get("respondents") is not None
             else _("尚未评家"),
             _("（至少%(n)s人，即会员人数的%(p)s%%）", n=needed, p=params["min_respondents_percent"])
             if needed else ""),
        Fact(_("满意人数"), _("%(n)s人", n=data["satisfied"])) if data.get("satisfied") is not None else None,
        Fact(_("会员满意率"), f"{satisfaction['satisfied']} / {satisfaction['respondents']} = "
                         f"{satisfaction['percent']}%", strong=True)
        if satisfaction else None,
    ])

    inspected = data.get("total_score") is not None
    if inspected:
        vetoes = forms.veto_labels(extra, data.get("vetoes_applied") or [])
        missing = forms.item_labels(extra, data.get("missing_mandatory_items") or [])
        out.add(_("检查打分"), [
            Fact(_("检查日期"), str(data["inspected_on"])) if data.get("inspected_on") else None,
            Fact(_("检查总分"), _points(data["total_score"]), _by_dimension(extra, data.get("scores_by_dimension")),
                 strong=True),
            Fact(_("一票否决项"), ("、" if lang() == "zh" else "; ").join(vetoes) if vetoes else _("无"),
                 strong=bool(vetoes)),
            Fact(_("缺失的必备项目"), ("、" if lang() == "zh" else "; ").join(missing)) if missing else None,
        ])
    if data.get("result"):
        passed = data["result"] != rules.FAILED
        out.add(_("评定"), [
            Fact(_("验收结果"), forms.result_label(extra, data["result"]), strong=True),
            Fact(_("评定依据"), text(data["result_rule"])) if data.get("result_rule") else None,
            Fact(_("评定日期"), str(data["decided_on"])) if data.get("decided_on") else None,
            Fact(_("整改期限"), str(data["rectification_due_on"]))
            if not passed and data.get("rectification_due_on") else None,
        ])
    return out
