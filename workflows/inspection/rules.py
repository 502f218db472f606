"""Rules of the annual Workers' Home inspection (职工之家年度检查验收).

The checklist (验收细则), the veto items (一票否决) and the titles a result
confers are data in the inspection definition (`extra`); the result
thresholds, the membership-rate veto and the rectification period are
profile parameters. Every ratio is tested in integers: satisfaction
(会员评家满意率) as `satisfied * 100 >= respondents * percent`, the
membership rate (入会率) as `members * 100 < employees * percent`.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, Iterator, Mapping, Sequence

from definitions import default_catalog, thaw
from workflow import Context, Outcome, Reason, condition, effect, guard

MEMBERSHIP_VETO = "membership_below_95"
LEVELS = ("model", "advanced", "qualified")  # best first; below them all: failed
FAILED = "failed"


# -- the definition's data -------------------------------------------------
# Read from `ctx.extra`, the `extra` section of the definition version the case
# started under: a case keeps its checklist when a newer version changes it.

def checklist_of(extra: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    return extra["checklist"]


def veto_titles(extra: Mapping[str, Any]) -> dict[str, Mapping[str, str]]:
    """Every veto's title by id: those the inspector marks and the computed ones."""
    return {v["id"]: v["title"] for v in (*extra["vetoes"], *extra.get("computed_vetoes", ()))}


def _items_by_id(ctx: Context) -> dict[str, Mapping[str, Any]]:
    return {item["id"]: item for item in checklist_of(ctx.extra)}


def _joined(titles: Sequence[Mapping[str, str]]) -> dict[str, str]:
    return {"zh": "、".join(t["zh"] for t in titles), "en": "; ".join(t["en"] for t in titles)}


# -- pure arithmetic ---------------------------------------------------------

def fraction(numerator: int, denominator: int) -> dict[str, int]:
    """An exact ratio as JSON; never a float."""
    return {"numerator": numerator, "denominator": denominator}


TENTH = Decimal("0.1")


def percent_display(numerator: int, denominator: int, thresholds: Sequence[int] = ()) -> str | None:
    """The ratio as a percentage with one decimal, rounded half up (78/90 → "86.7", 1/8 → "12.5"),
    except where that would show a threshold of `thresholds` reached that the exact ratio is below:
    then rounded down (8999/10000 against 90 → "89.9", not "90.0"; see `rounded_down`)."""
    if denominator <= 0:
        return None
    exact = Decimal(numerator * 100) / Decimal(denominator)
    shown = exact.quantize(TENTH, rounding=ROUND_HALF_UP)
    if rounded_down(numerator, denominator, thresholds):
        shown = exact.quantize(TENTH, rounding=ROUND_DOWN)
    return str(shown)


def rounded_down(numerator: int, denominator: int, thresholds: Sequence[int]) -> bool:
    """Would rounding half up show one of the thresholds reached that the exact ratio misses?"""
    if denominator <= 0:
        return False
    exact = Decimal(numerator * 100) / Decimal(denominator)
    up = exact.quantize(TENTH, rounding=ROUND_HALF_UP)
    return any(exact < t <= up for t in thresholds)


def satisfaction_thresholds(thresholds: Mapping[str, Mapping[str, int]]) -> list[int]:
    """The satisfaction percentages the titles need (a shown satisfaction never crosses one it misses)."""
    return [int(thresholds[level]["satisfaction_percent"]) for level in LEVELS
            if thresholds[level]["satisfaction_percent"] > 0]


def reaches(numerator: int, denominator: int, percent: int) -> bool:
    """numerator / denominator ≥ percent %, in integers."""
    return numerator * 100 >= denominator * percent


def dimension_totals(scores: Mapping[str, int], items: Sequence[Mapping[str, Any]],
                     dimensions: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    totals = {d["id"]: 0 for d in dimensions}
    for item in items:
        totals[item["dimension"]] += scores.get(item["id"], 0)
    return totals


def missing_mandatory(scores: Mapping[str, int], items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Mandatory items ("八有") scored 0 or not scored: missing."""
    return [i for i in items if i["mandatory"] and scores.get(i["id"], 0) == 0]


def membership_vetoed(members: int, employees: int, percent: int) -> bool:
    return members * 100 < employees * percent


def result_of(total: int, satisfied: int, respondents: int, vetoes: Sequence[str],
              missing: Sequence[Mapping[str, Any]], thresholds: Mapping[str, Mapping[str, int]]
              ) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """The result and the rules that decided it, as (code, params) pairs.

    A failed result lists every ground (each veto, the missing items, the
    score); a passing one the single level rule it met.
    """
    grounds: list[tuple[str, dict[str, Any]]] = []
    if vetoes:
        grounds.append(("veto_applied", {"vetoes": list(vetoes)}))
    if missing:
        grounds.append(("mandatory_item_missing", {"items": [i["id"] for i in missing]}))
    shown = percent_display(satisfied, respondents, satisfaction_thresholds(thresholds))
    for level in LEVELS:
        need = thresholds[level]
        if total >= need["score"] and reaches(satisfied, respondents, need["satisfaction_percent"]):
            if grounds:
                return FAILED, grounds
            return level, [(f"result_{level}", {
                "score": total, "satisfaction": shown,
                "min_score": need["score"], "min_satisfaction": need["satisfaction_percent"],
            })]
    lowest = thresholds[LEVELS[-1]]
    if total < lowest["score"]:
        grounds.append(("score_below_qualified", {"score": total, "min_score": lowest["score"]}))
    if not reaches(satisfied, respondents, lowest["satisfaction_percent"]):  # every title needs it (主要标准)
        grounds.append(("satisfaction_below_qualified", {"satisfaction": shown,
                                                         "min_satisfaction": lowest["satisfaction_percent"]}))
    return FAILED, grounds


# -- guards ------------------------------------------------------------------

@guard("inspection_union_not_founded")
def union_not_founded(ctx: Context) -> Iterator[Reason]:
    if ctx.org.union_status != "founded":
        yield Reason("union_not_founded")


@guard("inspection_unknown_item")
def unknown_item(ctx: Context) -> Iterator[Reason]:
    known = _items_by_id(ctx)
    for key in ("scores", "notes"):
        for item_id in ctx.data.get(key) or {}:
            if item_id not in known:
                yield Reason("unknown_item", {"item": item_id})


@guard("inspection_score_out_of_range")
def score_out_of_range(ctx: Context) -> Iterator[Reason]:
    known = _items_by_id(ctx)
    for item_id, score in (ctx.data.get("scores") or {}).items():
        item = known.get(item_id)
        if item is not None and not 0 <= score <= item["max"]:
            yield Reason("score_out_of_range", {
                "item": item_id, "title_zh": item["title"]["zh"], "title_en": item["title"]["en"],
                "score": score, "max": item["max"],
            })


@guard("inspection_scores_incomplete")
def scores_incomplete(ctx: Context) -> Iterator[Reason]:
    scores = ctx.data.get("scores") or {}
    missing = [i for i in checklist_of(ctx.extra) if i["id"] not in scores]
    if missing:
        names = _joined([i["title"] for i in missing])
        yield Reason("scores_incomplete", {
            "items": [i["id"] for i in missing], "count": len(missing),
            "missing_zh": names["zh"], "missing_en": names["en"],
        })


@guard("inspection_membership_unknown")
def membership_unknown(ctx: Context) -> Iterator[Reason]:
    """The membership-rate veto is computed: it needs both figures."""
    if not ctx.org.employees or ctx.org.member_count is None:
        yield Reason("membership_unknown", {"employees": ctx.org.employees, "members": ctx.org.member_count})


@guard("inspection_respondents_invalid")
def respondents_invalid(ctx: Context) -> Iterator[Reason]:
    respondents = ctx.data["respondents"]
    members = ctx.org.member_count or 0
    if not 1 <= respondents <= members:
        yield Reason("respondents_invalid", {"respondents": respondents, "members": members})


@guard("inspection_enough_respondents")
def enough_respondents(ctx: Context) -> Iterator[Reason]:
    """会员评家: respondents × 100 ≥ members × percent, i.e. at least ⌈members × percent / 100⌉ (500 members: 50)."""
    respondents, members = ctx.data["respondents"], ctx.org.member_count or 0
    percent = int(ctx.params["min_respondents_percent"])
    if respondents * 100 < members * percent:
        yield Reason("too_few_respondents", {"respondents": respondents, "members": members, "percent": percent,
                                             "required": -(-members * percent // 100)})


def item_vetoes(scores: Mapping[str, int], extra: Mapping[str, Any]) -> list[str]:
    """The computed vetoes met by their items (组织机构不健全: an organisation item scored below its maximum)."""
    maxima = {i["id"]: i["max"] for i in checklist_of(extra)}
    return [v["id"] for v in extra.get("computed_vetoes", ()) if v.get("items")
            and any(scores.get(i, 0) < maxima[i] for i in v["items"])]


@guard("inspection_satisfied_exceeds_respondents")
def satisfied_exceeds_respondents(ctx: Context) -> Iterator[Reason]:
    satisfied, respondents = ctx.data["satisfied"], ctx.data["respondents"]
    if satisfied < 0:
        yield Reason("satisfied_invalid", {"satisfied": satisfied})
    elif satisfied > respondents:
        yield Reason("satisfied_exceeds_respondents", {"satisfied": satisfied, "respondents": respondents})


# -- effects -----------------------------------------------------------------

@effect("inspection_self_assess")
def self_assess(ctx: Context) -> Outcome:
    extra = ctx.extra
    scores = dict(ctx.data["scores"])
    by_dimension = dimension_totals(scores, extra["checklist"], extra["dimensions"])
    return Outcome(
        data={"self_scores": scores, "self_notes": dict(ctx.data.get("notes") or {})},
        facts={"self_scores_by_dimension": by_dimension, "self_score_total": sum(by_dimension.values())},
    )


@effect("inspection_record_evaluation")
def record_evaluation(ctx: Context) -> Outcome:
    satisfied, respondents = ctx.data["satisfied"], ctx.data["respondents"]
    return Outcome(facts={
        "satisfaction": fraction(satisfied, respondents),
        "satisfaction_percent": percent_display(satisfied, respondents,
                                                satisfaction_thresholds(ctx.params["result_thresholds"])),
    })


@effect("inspection_score")
def score(ctx: Context) -> Outcome:
    """The inspector's scoring (inspect, reinspect): a new scoring replaces the
    last one whole, and any earlier result is cleared until `decide`."""
    extra = ctx.extra
    scores = dict(ctx.data["scores"])
    by_dimension = dimension_totals(scores, extra["checklist"], extra["dimensions"])
    selected = list(dict.fromkeys(ctx.data.get("vetoes") or []))
    members, employees = ctx.org.member_count, ctx.org.employees
    applied = list(selected) + item_vetoes(scores, extra)
    rate = rate_shown = None
    if members is not None and employees:
        rate = fraction(members, employees)
        rate_shown = percent_display(members, employees, [ctx.params["membership_veto_percent"]])
        if membership_vetoed(members, employees, ctx.params["membership_veto_percent"]):
            applied.append(MEMBERSHIP_VETO)
    return Outcome(
        data={"scores": scores, "vetoes": selected, "notes": dict(ctx.data.get("notes") or {})},
        facts={
            "scores_by_dimension": by_dimension,
            "total_score": sum(by_dimension.values()),
            "membership_rate": rate,
            "membership_rate_percent": rate_shown,
            "vetoes_applied": applied,
            "missing_mandatory_items": [i["id"] for i in missing_mandatory(scores, extra["checklist"])],
            "inspected_on": ctx.today.isoformat(),
            "result": None, "result_rule": None, "result_grounds": [], "title": None,
        },
    )


def case_result(case: Mapping[str, Any], extra: Mapping[str, Any], params: Mapping[str, Any]
                ) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """The result the recorded scoring and evaluation of a case lead to (what `decide` will find)."""
    items = checklist_of(extra)
    scores = case.get("scores") or {}
    total = sum(scores.get(i["id"], 0) for i in items)
    return result_of(
        total, case["satisfied"], case["respondents"], case.get("vetoes_applied") or [],
        missing_mandatory(scores, items), params["result_thresholds"],
    )


def _case_result(ctx: Context) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    return case_result(ctx.case, ctx.extra, ctx.params)


def explain(extra: Mapping[str, Any], code: str, params: dict[str, Any],
            reasons: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A result rule with its Chinese and English text (templates in the reason files)."""
    fill = dict(params)
    if code == "veto_applied":
        titles = veto_titles(extra)
        fill.update({f"vetoes_{k}": v for k, v in _joined([titles[v] for v in params["vetoes"]]).items()})
    elif code == "mandatory_item_missing":
        items = {i["id"]: i for i in checklist_of(extra)}
        fill.update({f"items_{k}": v for k, v in _joined([items[i]["title"] for i in params["items"]]).items()})
    template = (reasons if reasons is not None else default_catalog().reasons)[code]
    return {"code": code, "params": params, "zh": template.zh.format(**fill), "en": template.en.format(**fill)}


@effect("inspection_decide")
def decide(ctx: Context) -> Outcome:
    """The result is computed, never typed in: vetoes and missing "八有" items
    fail; else the best level whose score and satisfaction are both reached."""
    result, grounds = _case_result(ctx)
    explained = [explain(ctx.extra, code, params) for code, params in grounds]
    title = ctx.extra["results"][result]["title"]
    return Outcome(facts={
        "result": result,
        "result_rule": explained[0],
        "result_grounds": explained if result == FAILED else [],
        "title": thaw(title),
        "decided_on": ctx.today.isoformat(),
    })


@condition("inspection_passes")
def passes(ctx: Context) -> bool:
    return _case_result(ctx)[0] != FAILED


@effect("inspection_start_rectification")
def start_rectification(ctx: Context) -> Outcome:
    due = ctx.today + timedelta(days=ctx.params["rectification_days"])
    return Outcome(facts={"rectification_due_on": due.isoformat()})


@effect("inspection_revoke")
def revoke(ctx: Context) -> Outcome:
    return Outcome(facts={"title": None, "title_revoked_on": ctx.today.isoformat()})
