"""困难职工帮扶 (hardship assistance): the application checks, the household rule
(家庭成员按三口计算), per-capita income, the four categories (帮扶类别), the
posting period (公示) with its objections (异议), and the federation's decision.

Money is `Decimal`. Definition version 1 quantized per-capita income to the fen
(0.01 yuan, ROUND_HALF_UP) before comparing it with the category limits. Version 2
(domain.md §2, second revision) compares exactly, before any rounding: per-capita ≤
limit means counted income ≤ limit × counted members (3,510.01 yuan for three people
is not category 1), and the figure shown is rounded down to the fen; the causes each
category takes are the profile's `category_causes` (category 3 takes `disaster` too).
The `_exact` rules are version 2's; the others stay for the cases opened under version 1.
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, Iterable, Iterator, Mapping

from workflow import Calendar, Context, Outcome, Reason, as_date, effect, guard, id_number_problem

CENT = Decimal("0.01")

APPLICATION_FIELDS = (
    "applicant", "marital_status", "household", "causes", "out_of_pocket_medical", "disaster_loss", "materials",
)

# 申请材料: always required, and 诊断证明 when the hardship comes of illness or accident
BASE_MATERIALS = ("archive_form", "id_copies", "household_register", "income_proof")
MEDICAL_MATERIALS = ("diagnosis",)
MEDICAL_CAUSES = frozenset({"illness", "accident"})
MATERIAL_TITLES = {
    "archive_form": ("困难职工档案表", "hardship worker archive form"),
    "id_copies": ("家庭成员身份证复印件", "copies of the household members' ID cards"),
    "household_register": ("户口本复印件", "copy of the household register"),
    "income_proof": ("收入证明", "proof of income"),
    "diagnosis": ("县区级以上医院诊断证明、病历及医药费单据",
                  "diagnosis, medical records and bills from a county-level or higher hospital"),
}

# 家庭成员一般按三口计算: which relations count, by the applicant's marital status
COUNTED_RELATIONS = {
    "married": frozenset({"self", "spouse", "child"}),
    "unmarried": frozenset({"parent", "self", "sibling"}),
    "single_parent": frozenset({"self", "child"}),
}
# only children and siblings count while unmarried
MAY_MARRY_OUT = frozenset({"child", "sibling"})

# the causes each category needs (category 1 needs none) under definition version 1; version 2 reads
# them from the profile's `category_causes`
CATEGORY_CAUSES = {
    2: frozenset({"schooling", "disability", "single_parent", "other"}),
    3: frozenset({"illness", "accident"}),
    4: frozenset({"illness", "accident", "disaster"}),
}


# ---------------------------------------------------------------- pure helpers

def money(value: Any) -> Decimal:
    """A Decimal from recorded (string), validated (Decimal) or plain numbers; None is 0."""
    if value is None or value == "":
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def fmt(amount: Decimal) -> str:
    """Yuan with two decimals ("1170.00"); an amount finer than the fen keeps its digits."""
    cents = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return str(cents) if cents == amount else str(amount.normalize())


def application(ctx: Context) -> dict[str, Any]:
    """The application as it stands after this event: the event's fields replace the recorded ones."""
    return {k: ctx.data[k] if k in ctx.data else ctx.case.get(k) for k in APPLICATION_FIELDS}


def split_household(marital_status: str | None, household: Iterable[Mapping[str, Any]]
                    ) -> tuple[list[Mapping[str, Any]], list[dict[str, Any]]]:
    """Counted members and excluded ones ({name, relation, reason}) under the household rule."""
    counted_relations = COUNTED_RELATIONS.get(marital_status or "", frozenset())
    counted: list[Mapping[str, Any]] = []
    excluded: list[dict[str, Any]] = []
    for member in household or ():
        relation = member.get("relation")
        if relation not in counted_relations:
            reason = "relation_not_counted"
        elif relation in MAY_MARRY_OUT and member.get("married"):
            reason = "married"
        else:
            counted.append(member)
            continue
        excluded.append({"name": member.get("name"), "relation": relation, "reason": reason})
    return counted, excluded


def per_capita_income(counted: list[Mapping[str, Any]]) -> Decimal | None:
    """Counted monthly income ÷ counted members, to the fen (ROUND_HALF_UP); None without members."""
    if not counted:
        return None
    total = sum((money(m.get("monthly_income")) for m in counted), Decimal(0))
    return (total / len(counted)).quantize(CENT, rounding=ROUND_HALF_UP)


def category_limits(params: Mapping[str, Any]) -> dict[int, Decimal]:
    """Per-capita limits of categories 1–3: subsistence_line × percent / 100, exact."""
    line = money(params["subsistence_line"])
    return {int(k): line * int(pct) / 100 for k, pct in params["category_multipliers_percent"].items()}


def matching_categories(app: Mapping[str, Any], per_capita: Decimal | None,
                        params: Mapping[str, Any]) -> list[int]:
    """Every category (1–4) the application fits, lowest first."""
    causes = set(app.get("causes") or ())
    limits = category_limits(params)
    found = []
    for cat in (1, 2, 3):
        needs = CATEGORY_CAUSES.get(cat)
        if per_capita is not None and per_capita <= limits[cat] and (needs is None or causes & needs):
            found.append(cat)
    threshold = money(params["catastrophic_cost_threshold"])
    costs = max(money(app.get("out_of_pocket_medical")), money(app.get("disaster_loss")))
    if costs >= threshold and causes & CATEGORY_CAUSES[4]:
        found.append(4)
    return found


def causes_by_category(params: Mapping[str, Any]) -> dict[int, frozenset[str]]:
    return {int(k): frozenset(v) for k, v in params["category_causes"].items()}


def matching_categories_exact(app: Mapping[str, Any], counted: list[Mapping[str, Any]],
                              params: Mapping[str, Any]) -> list[int]:
    """Every category (1–4) the application fits, lowest first, each income test exact: counted income ≤
    limit × counted members, with no rounding at all."""
    causes = set(app.get("causes") or ())
    needs_by = causes_by_category(params)
    limits = category_limits(params)
    income = sum((money(m.get("monthly_income")) for m in counted), Decimal(0))
    found = []
    for cat in (1, 2, 3):
        needs = needs_by.get(cat)
        if counted and income <= limits[cat] * len(counted) and (not needs or causes & needs):
            found.append(cat)
    threshold = money(params["catastrophic_cost_threshold"])
    costs = max(money(app.get("out_of_pocket_medical")), money(app.get("disaster_loss")))
    if costs >= threshold and causes & needs_by[4]:
        found.append(4)
    return found


def assess_exact(app: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Version 2's facts: the exact category, and the per-capita figure rounded down to the fen."""
    counted, excluded = split_household(app.get("marital_status"), app.get("household") or ())
    income = sum((money(m.get("monthly_income")) for m in counted), Decimal(0))
    per_capita = (income / len(counted)).quantize(CENT, rounding=ROUND_DOWN) if counted else None
    categories = matching_categories_exact(app, counted, params)
    category = categories[0] if categories else None
    return {
        "counted_members": [{"name": m.get("name"), "relation": m.get("relation")} for m in counted],
        "excluded_members": excluded,
        "household_size": len(counted),
        "counted_income": fmt(income),
        "per_capita_income": fmt(per_capita) if per_capita is not None else None,
        "category": category,
        "category_reason": _explain(category, per_capita, params),
    }


def household_ids(app: Mapping[str, Any]) -> set[str]:
    """The 身份证号 of the applicant and of the counted household members (建档以户为单位)."""
    counted, _ = split_household(app.get("marital_status"), app.get("household") or ())
    numbers = {str((app.get("applicant") or {}).get("id_number") or "")}
    numbers |= {str(m.get("id_number") or "") for m in counted}
    return {n.strip().upper() for n in numbers if n.strip()}


def _explain(category: int | None, per_capita: Decimal | None, params: Mapping[str, Any]) -> dict[str, str]:
    limits = {k: fmt(v) for k, v in category_limits(params).items()}
    threshold = fmt(money(params["catastrophic_cost_threshold"]))
    pc = fmt(per_capita) if per_capita is not None else "—"
    if category in (1, 2, 3):
        extra = {1: ("", ""), 2: ("，且因子女上学、残疾、单亲或其他特殊原因致困",
                                  ", hardship caused by schooling, disability, single parenthood or other"),
                 3: ("，且因重大疾病、意外伤害或灾害致困",
                                  ", hardship caused by serious illness, accident or disaster")}[category]
        return {"zh": f"家庭人均月收入{pc}元，不高于第{category}类上限{limits[category]}元{extra[0]}",
                "en": f"per-capita monthly income {pc} yuan, at most the category {category} limit "
                      f"{limits[category]} yuan{extra[1]}"}
    if category == 4:
        return {"zh": f"本年度自负医药费或灾害损失达{threshold}元以上，且因病、意外或灾害致困",
                "en": f"out-of-pocket medical costs or disaster losses of {threshold} yuan or more this year, "
                      "hardship caused by illness, accident or disaster"}
    return {"zh": f"家庭人均月收入{pc}元，不符合任何帮扶类别（第1类上限{limits[1]}元；第2类上限{limits[2]}元"
                  f"且须因子女上学、残疾、单亲或其他原因；第3类上限{limits[3]}元且须因病或意外；"
                  f"第4类须自负医药费或灾害损失达{threshold}元以上且因病、意外或灾害）",
            "en": f"per-capita monthly income {pc} yuan fits no category (1: at most {limits[1]} yuan; "
                  f"2: at most {limits[2]} yuan with schooling, disability, single parenthood or other; "
                  f"3: at most {limits[3]} yuan with illness or accident; 4: medical costs or disaster "
                  f"losses of {threshold} yuan or more with illness, accident or disaster)"}


def assess(app: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """The computed facts of an application: household, per-capita income, category."""
    counted, excluded = split_household(app.get("marital_status"), app.get("household") or ())
    per_capita = per_capita_income(counted)
    categories = matching_categories(app, per_capita, params)
    category = categories[0] if categories else None
    income = sum((money(m.get("monthly_income")) for m in counted), Decimal(0))
    return {
        "counted_members": [{"name": m.get("name"), "relation": m.get("relation")} for m in counted],
        "excluded_members": excluded,
        "household_size": len(counted),
        "counted_income": fmt(income.quantize(CENT, rounding=ROUND_HALF_UP)),
        "per_capita_income": fmt(per_capita) if per_capita is not None else None,
        "category": category,
        "category_reason": _explain(category, per_capita, params),
    }


def required_materials(causes: Iterable[str]) -> tuple[str, ...]:
    medical = MEDICAL_MATERIALS if set(causes or ()) & MEDICAL_CAUSES else ()
    return BASE_MATERIALS + medical


def missing_materials(app: Mapping[str, Any]) -> list[str]:
    given = set(app.get("materials") or ())
    return [m for m in required_materials(app.get("causes") or ()) if m not in given]


def _objections(ctx: Context) -> list[dict[str, Any]]:
    return [dict(o) for o in ctx.case.get("objections") or ()]


def _find_objection(objections: list[dict[str, Any]], objection_id: Any) -> dict[str, Any] | None:
    return next((o for o in objections if o.get("id") == objection_id), None)


def _add_year(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


# ---------------------------------------------------------------- guards

@guard("hardship_union_founded")
def union_founded(ctx: Context) -> Iterator[Reason]:
    if ctx.org.union_status != "founded":
        yield Reason("union_not_founded", {"org": ctx.org.name})


@guard("hardship_application_valid")
def application_valid(ctx: Context) -> Iterator[Reason]:
    """身份证号 of everyone, exactly one `self`, at most one spouse (amounts are >= 0 by their field specs)."""
    app = application(ctx)
    applicant = app.get("applicant") or {}
    people = [("applicant", applicant)] + [(f"household[{i}]", m) for i, m in enumerate(app.get("household") or ())]
    for where, person in people:
        number = person.get("id_number")
        if where != "applicant" and number in (None, ""):
            continue  # optional for household members
        problem = id_number_problem(number, ctx.today)
        if problem is not None:
            yield Reason("invalid_id_number", {"name": person.get("name"), "field": f"{where}.id_number",
                                               "problem": problem})
    household = list(app.get("household") or ())
    selves = sum(1 for m in household if m.get("relation") == "self")
    if selves != 1:
        yield Reason("household_self_required", {"count": selves})
    spouses = sum(1 for m in household if m.get("relation") == "spouse")
    if spouses > 1:
        yield Reason("household_spouses_exceed_one", {"count": spouses})


@guard("hardship_materials_complete")
def materials_complete(ctx: Context) -> Iterator[Reason]:
    missing = missing_materials(application(ctx))
    if missing:
        yield Reason("missing_materials", {
            "materials": missing,
            "titles_zh": "、".join(MATERIAL_TITLES[m][0] for m in missing),
            "titles_en": "; ".join(MATERIAL_TITLES[m][1] for m in missing),
        })


@guard("hardship_eligible")
def eligible(ctx: Context) -> Iterator[Reason]:
    facts = assess(application(ctx), ctx.params)
    if facts["category"] is None:
        limits = category_limits(ctx.params)
        yield Reason("not_eligible", {
            "per_capita_income": facts["per_capita_income"],
            "limit_1": fmt(limits[1]), "limit_2": fmt(limits[2]), "limit_3": fmt(limits[3]),
            "cost_threshold": fmt(money(ctx.params["catastrophic_cost_threshold"])),
        })


def _not_eligible(facts: Mapping[str, Any], params: Mapping[str, Any]) -> Reason:
    limits = category_limits(params)
    return Reason("not_eligible", {
        "per_capita_income": facts["per_capita_income"],
        "limit_1": fmt(limits[1]), "limit_2": fmt(limits[2]), "limit_3": fmt(limits[3]),
        "cost_threshold": fmt(money(params["catastrophic_cost_threshold"])),
    })


@guard("hardship_eligible_exact")
def eligible_exact(ctx: Context) -> Iterator[Reason]:
    facts = assess_exact(application(ctx), ctx.params)
    if facts["category"] is None:
        yield _not_eligible(facts, ctx.params)


@guard("hardship_household_has_no_file")
def household_has_no_file(ctx: Context) -> Iterator[Reason]:
    """一户一档: nobody of the counted household may have an open case or an assisted file anywhere; the
    reason names the other case's organisation and nothing else of it."""
    if ctx.others is None:
        return
    mine = household_ids(application(ctx))
    if not mine:
        return
    seen: list[str] = []
    for other in ctx.others():
        if household_ids(other["data"]) & mine and other["org"] not in seen:
            seen.append(other["org"])
            yield Reason("household_has_file", {"org": other["org"]})


def recheck_application(ctx: Context) -> dict[str, Any]:
    """The household as the re-check finds it: its current incomes and causes over the recorded file."""
    app = application(ctx)
    for key in ("marital_status", "household", "causes", "out_of_pocket_medical", "disaster_loss"):
        if key in ctx.data:
            app[key] = ctx.data[key]
    return app


@guard("hardship_recheck_eligible")
def recheck_eligible(ctx: Context) -> Iterator[Reason]:
    """年度复核: reassessed with the same rules; no category any more → refused, the file is to be closed."""
    facts = assess_exact(recheck_application(ctx), ctx.params)
    if facts["category"] is None:
        yield _not_eligible(facts, ctx.params)


@guard("hardship_posted_on_valid")
def posted_on_valid(ctx: Context) -> Iterator[Reason]:
    posted_on = as_date(ctx.data["posted_on"])
    if posted_on > ctx.today:
        yield Reason("posted_on_in_future", {"posted_on": posted_on.isoformat(), "today": ctx.today.isoformat()})
    reviewed_on = ctx.case.get("reviewed_on")
    if reviewed_on and posted_on < as_date(reviewed_on):
        yield Reason("posted_before_review", {"posted_on": posted_on.isoformat(), "reviewed_on": reviewed_on})


@guard("hardship_posting_elapsed")
def posting_elapsed(ctx: Context) -> Iterator[Reason]:
    n = int(ctx.params["posting_working_days"])
    calendar = Calendar.from_params(ctx.common)
    posted_on = as_date(ctx.case["posted_on"])
    elapsed = calendar.working_days_between(posted_on, ctx.today)
    if elapsed < n:
        allowed_on = calendar.first_allowed_day(posted_on, n).isoformat()
        yield Reason("posting_period_not_elapsed", {
            "posted_on": posted_on.isoformat(), "days": n, "working_days": n, "elapsed": elapsed,
            "left": n - elapsed, "allowed_on": allowed_on, "earliest": allowed_on,
        })


@guard("hardship_no_open_objections")
def no_open_objections(ctx: Context) -> Iterator[Reason]:
    open_ids = [o.get("id") for o in _objections(ctx) if o.get("status") == "open"]
    if open_ids:
        yield Reason("open_objections", {"count": len(open_ids), "ids": open_ids,
                                         "id_list": ", ".join(str(i) for i in open_ids)})


@guard("hardship_before_deadline")
def before_deadline(ctx: Context) -> Iterator[Reason]:
    deadline = ctx.params.get("submission_deadline")
    if deadline and ctx.today > as_date(deadline):
        yield Reason("submission_deadline_passed", {"deadline": as_date(deadline).isoformat()})


@guard("hardship_objection_open", without_data=True)
def objection_open(ctx: Context) -> Iterator[Reason]:
    objections = _objections(ctx)
    if "objection_id" not in ctx.data:  # before an objection is named: is any still open?
        if not any(o.get("status") == "open" for o in objections):
            yield Reason("no_open_objection")
        return
    objection_id = ctx.data["objection_id"]
    found = _find_objection(objections, objection_id)
    if found is None:
        yield Reason("objection_not_found", {"id": objection_id})
    elif found.get("status") != "open":
        yield Reason("objection_not_open", {"id": objection_id, "outcome": found.get("outcome")})


@guard("hardship_amount_positive")
def amount_positive(ctx: Context) -> Iterator[Reason]:
    if "amount" in ctx.data and money(ctx.data["amount"]) <= 0:
        yield Reason("amount_not_positive", {"amount": fmt(money(ctx.data["amount"]))})


# ---------------------------------------------------------------- effects

@effect("hardship_assess")
def assess_application(ctx: Context) -> Outcome:
    return Outcome(facts=assess(application(ctx), ctx.params))


@effect("hardship_assess_exact")
def assess_application_exact(ctx: Context) -> Outcome:
    return Outcome(facts=assess_exact(application(ctx), ctx.params))


@effect("hardship_reassess")
def reassess(ctx: Context) -> Outcome:
    return Outcome(facts=assess_exact(recheck_application(ctx), ctx.params))


@effect("hardship_submission_deadline")
def submission_deadline(ctx: Context) -> Outcome:
    deadline = ctx.params.get("submission_deadline")
    return Outcome(facts={"submission_deadline": as_date(deadline).isoformat() if deadline else None})


@effect("hardship_record_review")
def record_review(ctx: Context) -> Outcome:
    return Outcome(facts={"reviewed_on": ctx.today.isoformat()})


@effect("hardship_start_posting")
def start_posting(ctx: Context) -> Outcome:
    n = int(ctx.params["posting_working_days"])
    allowed = Calendar.from_params(ctx.common).first_allowed_day(ctx.data["posted_on"], n)
    return Outcome(facts={"posting_working_days": n, "submit_allowed_on": allowed.isoformat()})


@effect("hardship_add_objection")
def add_objection(ctx: Context) -> Outcome:
    objections = _objections(ctx)
    objections.append({
        "id": max((int(o.get("id") or 0) for o in objections), default=0) + 1,
        "text": str(ctx.data["text"]).strip(),
        "raised_by": ctx.actor.username if ctx.actor else None,
        "raised_on": ctx.today.isoformat(),
        "status": "open",
    })
    return Outcome(data={"objections": objections})


def _decide_objection(ctx: Context, outcome: str) -> Outcome:
    objections = _objections(ctx)
    found = _find_objection(objections, ctx.data["objection_id"])
    if found is not None:
        found.update(status="decided", outcome=outcome, decided_on=ctx.today.isoformat(),
                     decided_by=ctx.actor.username if ctx.actor else None)
    return Outcome(data={"objections": objections})


@effect("hardship_dismiss_objection")
def dismiss_objection(ctx: Context) -> Outcome:
    return _decide_objection(ctx, "dismissed")


@effect("hardship_uphold_objection")
def uphold_objection(ctx: Context) -> Outcome:
    return _decide_objection(ctx, "upheld")


@effect("hardship_record_determination")
def record_determination(ctx: Context) -> Outcome:
    return Outcome(facts={"determined_on": ctx.today.isoformat(), "next_recheck_due": _add_year(ctx.today).isoformat()})


@effect("hardship_record_recheck")
def record_recheck(ctx: Context) -> Outcome:
    return Outcome(facts={"rechecked_on": ctx.today.isoformat(), "next_recheck_due": _add_year(ctx.today).isoformat()})
