"""What every hardship step form shows of the application the decision is about: the applicant (ID number
masked), the household as counted, the household's and the per-capita monthly income, the category the
rules give and on what grounds, and the review, posting and determination so far.

Built from the case as recorded, in the step page's read unit (`web.steps.load_step`); never a query of
its own beyond what the view read.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, Sequence

from flask_babel import gettext as _

from web.i18n import lang, text
from web.workflow_pages import CaseView, Fact, Summary
from workflow import mask

from .view import household_rows, posting, titles


def amount(value: Any) -> str:
    """A sum of yuan as the pages write it: 3,510.00."""
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value)


def paren(words: str) -> str:
    return f"（{words}）" if lang() == "zh" else f" ({words})"


def _last(entries: Sequence[Mapping[str, Any]], trigger: str) -> Mapping[str, Any] | None:
    return next((e for e in reversed(entries) if e.get("trigger") == trigger), None)


def _day(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return ""
    return entry.get("decided_on") or str(entry.get("at", ""))[:10]


def summary(view: CaseView) -> Summary:
    case, extra, entries = view.case, view.definition.extra, view.entries
    data = mask(dict(view.data))  # a step form shows ID numbers masked, whoever looks at it
    out = Summary()
    yuan = _("元")
    sep = "、" if lang() == "zh" else ", "

    # 申请人与家庭
    applicant = data.get("applicant") or {}
    marital = {str(m["id"]): m for m in extra.get("marital_statuses") or ()}
    status = marital.get(str(data.get("marital_status") or ""))
    rows = household_rows(data, extra)
    counted = [r for r in rows if r["counted"]]
    left_out = [r for r in rows if not r["counted"]]
    size = data.get("household_size", len(counted) if rows else None)
    household_note = ""
    if rows:
        household_note = _("（共列%(listed)s人：%(names)s）", listed=len(rows),
                           names=sep.join(f"{r['name']}{paren(r['relation'])}" for r in counted) or "—")
        if left_out:
            household_note += _("不计入：%(names)s", names=sep.join(f"{r['name']}{paren(r['why'])}" for r in left_out))
    causes = [titles(extra, "causes").get(c, c) for c in data.get("causes") or ()]
    out.add(_("申请人与家庭"), [
        Fact(_("申请人"), applicant.get("name") or "—",
             _("身份证号 %(n)s", n=applicant["id_number"]) if applicant.get("id_number") else "", strong=True),
        Fact(_("单位"), case.org.name),
        Fact(_("婚姻状况"), text(status["title"]) if status else "—",
             _("（家庭人口按%(rule)s计算）", rule=text(status["counts"])) if status else ""),
        Fact(_("家庭人口"), _("%(n)s人", n=size) if size is not None else "—", household_note),
        Fact(_("致困原因"), sep.join(causes) if causes else "—"),
    ])

    # 收入与类别
    categories = {int(c["id"]): text(c["title"]) for c in extra.get("categories") or ()}
    category = data.get("category")
    reason = data.get("category_reason") or {}
    rounded_down = view.definition.version not in ("1", 1)  # version 2: the per-capita figure shown is rounded down
    determined = case.state in ("assisted", "closed")
    out.add(_("收入与帮扶类别"), [
        Fact(_("家庭月收入合计"), f"{amount(data['counted_income'])} {yuan}" if data.get("counted_income") else "—",
             _("（计入家庭人口的成员月收入之和）")),
        Fact(_("家庭人均月收入"), f"{amount(data['per_capita_income'])} {yuan}" if data.get("per_capita_income") else "—",
             _("（按分向下取整；是否符合类别按未取整的收入判断）") if rounded_down else _("（按分四舍五入）"),
             strong=True),
        Fact(_("本年度自负医药费"), f"{amount(data['out_of_pocket_medical'])} {yuan}")
        if data.get("out_of_pocket_medical") not in (None, "", 0, "0", "0.00") else None,
        Fact(_("本年度灾害财产损失"), f"{amount(data['disaster_loss'])} {yuan}")
        if data.get("disaster_loss") not in (None, "", 0, "0", "0.00") else None,
        Fact(_("确定的帮扶类别") if determined else _("拟定帮扶类别"),
             categories.get(category, "—") if category else _("不符合任何帮扶类别"),
             "" if determined else _("（系统按规则计算）"), strong=True),
        Fact(_("类别依据"), reason.get(lang(), reason.get("zh", ""))) if reason else None,
    ])

    # 审核与公示
    params, today = view.engine.params_of(case), view.engine.today(case.profile)
    period = posting(data, params, today, view.engine.calendar(case.profile))
    submitted = _last(entries, "submit_to_federation")
    objections = list(data.get("objections") or ())
    still_open = sum(1 for o in objections if o.get("status") == "open")
    reviewed = _last(entries, "approve_review")
    out.add(_("审核与公示"), [
        Fact(_("审核单位"), case.competent_org.name) if case.competent_org is not None and submitted is None else None,
        Fact(_("企业工会审核同意"), data.get("reviewed_on") or _day(reviewed))
        if data.get("reviewed_on") or reviewed else None,
        Fact(_("公示期"), _("%(a)s起%(n)s个工作日，至%(b)s期满", a=period["posted_on"].isoformat(),
                           n=period["days_required"], b=period["ends_on"].isoformat()),
             (_("已公示%(e)s个工作日，还需%(l)s个工作日", e=period["elapsed"], l=period["left"])
              if case.state == "posting" and not period["elapsed_now"] else
              (_("公示期已满") if case.state == "posting" else ""))) if period else None,
        Fact(_("异议"), _("%(n)s件，待处理%(o)s件", n=len(objections), o=still_open) if objections else _("无"))
        if period else None,
        Fact(_("最早可报区总工会"), period["allowed_on"].isoformat()) if period and case.state == "posting" else None,
        Fact(_("报区总工会期限"), str(data["submission_deadline"]))
        if data.get("submission_deadline") and case.state in ("draft", "applied", "reviewed", "posting") else None,
        Fact(_("已报区总工会"), _day(submitted)) if submitted else None,
    ])

    # 区总工会确定
    if submitted or data.get("amount"):
        out.add(_("区总工会确定"), [
            Fact(_("审批单位"), case.competent_org.name) if case.competent_org is not None else None,
            Fact(_("帮扶金额"), f"{amount(data['amount'])} {yuan}", strong=True) if data.get("amount") else
            Fact(_("帮扶金额"), _("尚未确定")),
            Fact(_("确定日期"), str(data["determined_on"])) if data.get("determined_on") else None,
            Fact(_("最近复核"), str(data["rechecked_on"])) if data.get("rechecked_on") else None,
            Fact(_("下次年度复核"), str(data["next_recheck_due"])) if data.get("next_recheck_due") else None,
        ])
    return out

