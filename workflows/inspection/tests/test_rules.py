"""The Workers' Home inspection (职工之家年度检查验收): definition, checklist and
rules at their exact boundaries, on both sides."""
from __future__ import annotations

import shutil
from datetime import date

import pytest

from definitions import freeze, load_definition, thaw
from definitions.loader import PACKAGES_DIR, PROFILES_DIR, REASONS_DIR
from workflow.catalog import checked_catalog
from workflow.rules import CONDITIONS, EFFECTS, GUARDS, Context, OrgFacts, Reason
from workflows.inspection import rules

TODAY = date(2026, 11, 20)
MANDATORY = {"org_sign", "org_office", "org_structure", "org_seal", "org_roster",
             "norms_plan", "norms_records", "norms_account"}  # 八有
# the `extra` of the definition a case runs under, handed to the rules by the engine
EXTRA = load_definition(PACKAGES_DIR / "inspection" / "definition.yaml").extra
SELECTABLE_VETOES = ["no_congress_or_openness", "no_collective_contract", "sub_unions_below_standard",
                     "funds_not_remitted", "abnormal_petition"]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    # only this workflow's file, checked against the rule registries, with every profile and reason file
    workflows = tmp_path_factory.mktemp("workflows")
    shutil.copytree(PACKAGES_DIR / "inspection", workflows / "inspection", ignore=shutil.ignore_patterns("*.py", "__pycache__", "tests", "pages", "templates"))
    return checked_catalog(packages=(), folders=sorted(p for p in workflows.iterdir() if p.is_dir()), profiles_dir=PROFILES_DIR,
                           reasons_dir=REASONS_DIR)


@pytest.fixture(scope="module")
def definition(catalog):
    return catalog.definition("inspection")


@pytest.fixture(scope="module")
def items(definition):
    return definition.extra["checklist"]


@pytest.fixture(scope="module")
def params(catalog):
    return catalog.profile("default").for_workflow("inspection")


def org(members=100, employees=100, status="founded"):
    return OrgFacts(code="ENT-001", name="某物流公司", kind="enterprise", employees=employees,
                    union_status=status, member_count=members)


def make_ctx(params, trigger="inspect", data=None, case=None, organisation=None, today=TODAY, extra=EXTRA):
    return Context(workflow="inspection", trigger=trigger, state="", data=data or {}, case=case or {},
                   params=params, org=organisation or org(), today=today, extra=extra)


def full_scores(items):
    return {i["id"]: i["max"] for i in items}


def scores_totalling(items, total):
    """A complete scoring with every mandatory item present, summing to `total`."""
    scores = full_scores(items)
    excess = 100 - total
    # optional items first, down to 0; then the mandatory ones, never below 1 point
    for item in sorted(items, key=lambda i: i["mandatory"]):
        cut = min(item["max"] - item["mandatory"], excess)
        scores[item["id"]] -= cut
        excess -= cut
    assert excess == 0 and sum(scores.values()) == total
    return scores


def decided(params, scores, respondents, satisfied, vetoes=(), extra=EXTRA):
    """The facts `decide` computes, and the destination its condition chooses."""
    case = {"scores": scores, "vetoes_applied": list(vetoes), "respondents": respondents, "satisfied": satisfied}
    ctx = make_ctx(params, trigger="decide", case=case, extra=extra)
    return rules.decide(ctx).facts, CONDITIONS["inspection_passes"](ctx)


def renders(catalog, reason: Reason) -> tuple[str, str]:
    template = catalog.reasons[reason.code]
    return template.zh.format(**reason.params), template.en.format(**reason.params)


# -- the definition ------------------------------------------------------------

def test_definition_loads_through_the_checked_catalog(definition):
    assert definition.name == "inspection"
    assert definition.initial == "planned"
    assert {s.name for s in definition.states} == {
        "planned", "self_assessed", "evaluated", "inspected", "passed", "failed", "rectifying", "revoked"}
    assert definition.final_states == {"revoked"}


def test_the_full_catalog_loads_it_with_its_rules():
    assert "inspection" in checked_catalog().definitions
    names = {"inspection_union_not_founded", "inspection_unknown_item", "inspection_score_out_of_range",
             "inspection_scores_incomplete", "inspection_membership_unknown", "inspection_respondents_invalid",
             "inspection_satisfied_exceeds_respondents"}
    assert names <= set(GUARDS)
    assert {"inspection_self_assess", "inspection_record_evaluation", "inspection_score", "inspection_decide",
            "inspection_start_rectification", "inspection_revoke"} <= set(EFFECTS)
    assert "inspection_passes" in CONDITIONS


def test_transitions_competence_and_four_eyes(definition):
    by = {(t.trigger, t.dest): t for t in definition.transitions}
    assert {(t.trigger, t.source, t.dest) for t in definition.transitions} == {
        ("self_assess", "planned", "self_assessed"), ("record_evaluation", "self_assessed", "evaluated"),
        ("inspect", "evaluated", "inspected"), ("decide", "inspected", "passed"), ("decide", "inspected", "failed"),
        ("start_rectification", "failed", "rectifying"), ("reinspect", "rectifying", "inspected"),
        ("revoke", "passed", "revoked")}
    for trigger in ("self_assess", "record_evaluation", "start_rectification"):
        t = next(t for t in definition.transitions if t.trigger == trigger)
        assert t.roles == ("preparer",) and t.competent == "case_org"
    for t in definition.transitions:
        if t.trigger in ("inspect", "decide", "reinspect", "revoke"):
            assert t.roles == ("reviewer",) and t.competent == "case"
    assert by[("decide", "passed")].conditions == ("inspection_passes",)
    assert by[("decide", "failed")].unless == ("inspection_passes",)
    for dest in ("passed", "failed"):
        assert by[("decide", dest)].reviews == ("inspect", "reinspect")
        assert by[("decide", dest)].data == ()  # the result is computed, never typed in
    revoke = by[("revoke", "revoked")]
    assert revoke.comment == "required" and revoke.confirm
    assert "inspection_scores_incomplete" in by[("inspect", "inspected")].guards
    assert "inspection_scores_incomplete" in by[("reinspect", "inspected")].guards
    assert "inspection_scores_incomplete" not in by[("self_assess", "self_assessed")].guards


def test_creation(definition):
    c = definition.creation
    assert c.roles == ("preparer",) and c.fix_competent == "nearest_federation"
    assert dict(c.unique) == {"scope": "key", "key": "year", "reason": "inspection_exists"}
    assert c.guards == ("inspection_union_not_founded",)
    (year,) = c.data
    assert (year.name, year.type, year.required) == ("year", "integer", True)
    assert [dict(d) | {"states": list(d["states"])} for d in definition.extra["deadlines"]] == [
        {"fact": "rectification_due_on", "states": ["rectifying"]}]


def test_five_dimensions_of_exactly_twenty_points(definition, items):
    dimensions = [d["id"] for d in definition.extra["dimensions"]]
    assert dimensions == ["org", "rights", "norms", "role", "trust"]
    totals = {d: sum(i["max"] for i in items if i["dimension"] == d) for d in dimensions}
    assert totals == {d: 20 for d in dimensions}
    assert all(d["max"] == 20 for d in definition.extra["dimensions"])
    assert {i["dimension"] for i in items} == set(dimensions)
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids))
    for item in items:
        assert item["max"] > 0 and item["title"]["zh"] and item["title"]["en"]
        assert isinstance(item["mandatory"], bool)


def test_the_eight_ba_you_items_are_the_mandatory_ones(items):
    assert {i["id"] for i in items if i["mandatory"]} == MANDATORY


def test_selectable_vetoes_match_the_event_data_and_exclude_the_computed_one(definition):
    listed = [v["id"] for v in definition.extra["vetoes"]]
    assert listed == SELECTABLE_VETOES
    inspect = next(t for t in definition.transitions if t.trigger == "inspect")
    vetoes_field = next(f for f in inspect.data if f.name == "vetoes")
    assert list(vetoes_field.items.values) == listed
    assert rules.MEMBERSHIP_VETO not in listed
    assert [v["id"] for v in definition.extra["computed_vetoes"]] == [rules.MEMBERSHIP_VETO, "organisation_incomplete"]


def test_every_result_has_a_title_but_failed(definition):
    titles = {k: v["title"] for k, v in definition.extra["results"].items()}
    assert titles["model"]["zh"] == "模范职工之家"
    assert titles["advanced"]["zh"] == "先进职工之家"
    assert titles["qualified"]["zh"] == "合格职工之家"
    assert titles["failed"] is None


# -- guards ------------------------------------------------------------------------

@pytest.mark.parametrize("status, codes", [("founded", []), ("founding", ["union_not_founded"]),
                                           ("none", ["union_not_founded"])])
def test_union_must_be_founded(params, status, codes):
    ctx = make_ctx(params, trigger="", data={"year": 2026}, organisation=org(status=status))
    assert [r.code for r in rules.union_not_founded(ctx)] == codes


@pytest.mark.parametrize("item_id", ["org_structure", "rights_contract", "trust_evaluation"])
def test_score_range_on_both_sides(catalog, params, items, item_id):
    top = next(i["max"] for i in items if i["id"] == item_id)
    for score in (0, top):
        assert list(rules.score_out_of_range(make_ctx(params, data={"scores": {item_id: score}}))) == []
    for score in (-1, top + 1):
        (reason,) = rules.score_out_of_range(make_ctx(params, data={"scores": {item_id: score}}))
        assert reason.code == "score_out_of_range"
        assert (reason.params["item"], reason.params["score"], reason.params["max"]) == (item_id, score, top)
        zh, en = renders(catalog, reason)
        title = next(i["title"] for i in items if i["id"] == item_id)
        # the item by its title, its id kept in the reason's params only
        assert title["zh"] in zh and title["en"] in en and str(score) in en and item_id not in zh + en


def test_every_bad_score_is_reported(params, items):
    scores = full_scores(items) | {"org_seal": 3, "role_women": -2}
    reasons = list(rules.score_out_of_range(make_ctx(params, data={"scores": scores})))
    assert sorted(r.params["item"] for r in reasons) == ["org_seal", "role_women"]


def test_unknown_items_in_scores_and_notes(catalog, params, items):
    data = {"scores": full_scores(items) | {"org_pool_table": 1}, "notes": {"org_seal": "见照片", "nope": "x"}}
    reasons = list(rules.unknown_item(make_ctx(params, data=data)))
    assert [(r.code, r.params["item"]) for r in reasons] == [("unknown_item", "org_pool_table"),
                                                            ("unknown_item", "nope")]
    assert "org_pool_table" in renders(catalog, reasons[0])[0]
    assert list(rules.unknown_item(make_ctx(params, data={"scores": full_scores(items)}))) == []
    # an unknown item has no range to test against
    assert list(rules.score_out_of_range(make_ctx(params, data={"scores": {"org_pool_table": 99}}))) == []


def test_every_item_must_be_scored(catalog, params, items):
    assert list(rules.scores_incomplete(make_ctx(params, data={"scores": full_scores(items)}))) == []
    zero = {i["id"]: 0 for i in items}  # scored 0 is scored
    assert list(rules.scores_incomplete(make_ctx(params, data={"scores": zero}))) == []
    scores = full_scores(items)
    del scores["org_seal"], scores["trust_care"]
    (reason,) = rules.scores_incomplete(make_ctx(params, data={"scores": scores}))
    assert reason.code == "scores_incomplete"
    assert reason.params["items"] == ["org_seal", "trust_care"] and reason.params["count"] == 2
    zh, _ = renders(catalog, reason)
    assert "有工会印章" in zh


@pytest.mark.parametrize("respondents, members, ok", [(1, 40, True), (0, 40, False), (-1, 40, False),
                                                     (40, 40, True), (41, 40, False)])
def test_respondents_between_one_and_the_members(catalog, params, respondents, members, ok):
    ctx = make_ctx(params, trigger="record_evaluation", data={"respondents": respondents, "satisfied": 0},
                   organisation=org(members=members))
    reasons = list(rules.respondents_invalid(ctx))
    if ok:
        assert reasons == []
    else:
        assert [(r.code, r.params) for r in reasons] == [
            ("respondents_invalid", {"respondents": respondents, "members": members})]
        renders(catalog, reasons[0])


@pytest.mark.parametrize("satisfied, code", [(80, None), (0, None), (81, "satisfied_exceeds_respondents"),
                                            (-1, "satisfied_invalid")])
def test_satisfied_at_most_the_respondents(catalog, params, satisfied, code):
    ctx = make_ctx(params, trigger="record_evaluation", data={"respondents": 80, "satisfied": satisfied})
    reasons = list(rules.satisfied_exceeds_respondents(ctx))
    assert [r.code for r in reasons] == ([code] if code else [])
    for r in reasons:
        renders(catalog, r)


@pytest.mark.parametrize("members, employees, ok", [(95, 100, True), (None, 100, False), (0, 0, False),
                                                   (5, None, False), (0, 100, True)])
def test_membership_rate_needs_both_figures(catalog, params, members, employees, ok):
    reasons = list(rules.membership_unknown(make_ctx(params, organisation=org(members, employees))))
    assert [r.code for r in reasons] == ([] if ok else ["membership_unknown"])
    for r in reasons:
        renders(catalog, r)


# -- effects -------------------------------------------------------------------------

def test_self_assessment_totals_per_dimension(params, items):
    scores = full_scores(items) | {"org_seal": 0, "rights_contract": 1}
    out = rules.self_assess(make_ctx(params, trigger="self_assess", data={"scores": scores}))
    assert out.facts["self_scores_by_dimension"] == {"org": 18, "rights": 16, "norms": 20, "role": 20, "trust": 20}
    assert out.facts["self_score_total"] == 94
    assert out.data == {"self_scores": scores, "self_notes": {}}


@pytest.mark.parametrize("respondents, satisfied, shown", [(10, 9, "90.0"), (100, 89, "89.0"), (20, 17, "85.0"),
                                                          (3, 2, "66.7"), (10000, 8999, "89.9"), (7, 7, "100.0")])
def test_satisfaction_is_an_exact_fraction(params, respondents, satisfied, shown):
    out = rules.record_evaluation(make_ctx(params, trigger="record_evaluation",
                                           data={"respondents": respondents, "satisfied": satisfied}))
    assert out.facts == {"satisfaction": {"numerator": satisfied, "denominator": respondents},
                         "satisfaction_percent": shown}


@pytest.mark.parametrize("members, employees, vetoed", [(95, 100, False), (94, 100, True), (19, 20, False),
                                                       (189, 200, True), (190, 200, False), (100, 100, False)])
def test_membership_veto_at_95_percent(params, items, members, employees, vetoed):
    data = {"scores": full_scores(items), "vetoes": []}
    facts = rules.score(make_ctx(params, data=data, organisation=org(members, employees))).facts
    assert facts["membership_rate"] == {"numerator": members, "denominator": employees}
    assert (rules.MEMBERSHIP_VETO in facts["vetoes_applied"]) is vetoed
    result, through = decided(params, full_scores(items), 10, 10, facts["vetoes_applied"])
    assert result["result"] == ("failed" if vetoed else "model")
    assert through is not vetoed


def test_scoring_replaces_the_last_one_and_clears_the_result(params, items):
    scores = scores_totalling(items, 87)
    data = {"scores": scores, "vetoes": ["abnormal_petition", "abnormal_petition"]}
    out = rules.score(make_ctx(params, trigger="reinspect", data=data, organisation=org(189, 200)))
    assert out.data == {"scores": scores, "vetoes": ["abnormal_petition"], "notes": {}}
    assert out.facts["total_score"] == 87 and sum(out.facts["scores_by_dimension"].values()) == 87
    assert out.facts["vetoes_applied"] == ["abnormal_petition", rules.MEMBERSHIP_VETO]
    assert out.facts["membership_rate_percent"] == "94.5"
    assert out.facts["missing_mandatory_items"] == []
    assert (out.facts["result"], out.facts["title"], out.facts["result_grounds"]) == (None, None, [])
    assert out.facts["inspected_on"] == "2026-11-20"


# -- the result ------------------------------------------------------------------------

@pytest.mark.parametrize("total, respondents, satisfied, result", [
    (90, 10, 9, "model"), (89, 10, 9, "advanced"),            # model score 90 / 89
    (100, 100, 90, "model"), (100, 20, 18, "model"),           # satisfaction exactly 90 %
    (100, 100, 89, "advanced"), (100, 1000, 899, "advanced"),  # just below 90 %
    (80, 10, 9, "advanced"), (79, 10, 9, "qualified"),         # advanced score 80 / 79
    (85, 20, 17, "advanced"), (85, 100, 85, "advanced"),       # satisfaction exactly 85 %
    (85, 200, 169, "qualified"), (85, 100, 84, "qualified"),   # just below 85 %
    (60, 10, 6, "qualified"), (59, 10, 10, "failed"),          # qualified score 60 / 59
    (100, 10, 6, "qualified"), (100, 1000, 600, "qualified"),  # every title needs 60 % satisfaction
    (8, 10, 10, "failed"),
])
def test_result_thresholds_on_both_sides(params, items, total, respondents, satisfied, result):
    facts, passes = decided(params, scores_totalling(items, total), respondents, satisfied)
    assert facts["result"] == result
    assert passes is (result != "failed")
    assert facts["result_rule"]["code"] == ("score_below_qualified" if result == "failed" else f"result_{result}")
    assert facts["result_rule"]["params"]["score"] == total


@pytest.mark.parametrize("total, respondents, satisfied, grounds", [
    (100, 10, 5, ["satisfaction_below_qualified"]), (100, 1000, 599, ["satisfaction_below_qualified"]),
    (59, 10, 5, ["score_below_qualified", "satisfaction_below_qualified"]),
])
def test_below_sixty_percent_satisfaction_no_title(params, items, total, respondents, satisfied, grounds):
    facts, passes = decided(params, scores_totalling(items, total), respondents, satisfied)
    assert (facts["result"], passes) == ("failed", False)
    assert [g["code"] for g in facts["result_grounds"]] == grounds


@pytest.mark.parametrize("respondents, members, ok", [(50, 500, True), (49, 500, False), (1, 10, True),
                                                      (1, 11, False), (2, 11, True), (1, 1, True)])
def test_respondents_at_least_ten_percent_rounded_up(params, respondents, members, ok):
    ctx = make_ctx(params, trigger="record_evaluation", data={"respondents": respondents, "satisfied": 0},
                   organisation=org(members, 1000))
    reasons = list(rules.enough_respondents(ctx))
    assert (not reasons) is ok
    if reasons:
        assert reasons[0].params["required"] == -(-members // 10)


def test_a_model_result_is_explained_and_confers_the_title(params, items):
    facts, _ = decided(params, scores_totalling(items, 92), 80, 76)
    assert facts["result"] == "model"
    assert facts["title"] == {"zh": "模范职工之家", "en": "Model Workers' Home"}
    rule = facts["result_rule"]
    assert rule["params"] == {"score": 92, "satisfaction": "95.0", "min_score": 90, "min_satisfaction": 90}
    assert rule["zh"] == "总分92分（不低于90分），会员满意率95.0%（不低于90%），评为模范职工之家"
    assert "Model Workers' Home" in rule["en"]
    assert facts["result_grounds"] == [] and facts["decided_on"] == "2026-11-20"


@pytest.mark.parametrize("veto", SELECTABLE_VETOES + [rules.MEMBERSHIP_VETO])
def test_each_veto_alone_fails_a_perfect_inspection(params, items, definition, veto):
    facts, passes = decided(params, full_scores(items), 10, 10, [veto])
    assert (facts["result"], passes, facts["title"]) == ("failed", False, None)
    assert facts["result_rule"]["code"] == "veto_applied"
    assert facts["result_rule"]["params"] == {"vetoes": [veto]}
    title = next(v["title"] for v in (*definition.extra["vetoes"], *definition.extra["computed_vetoes"])
                 if v["id"] == veto)
    assert facts["result_rule"]["zh"] == f"一票否决：{title['zh']}"


@pytest.mark.parametrize("item_id", sorted(MANDATORY))
def test_a_mandatory_item_at_zero_fails(params, items, item_id):
    scores = full_scores(items) | {item_id: 0}
    facts, passes = decided(params, scores, 10, 10)
    assert (facts["result"], passes) == ("failed", False)
    assert facts["result_rule"]["code"] == "mandatory_item_missing"
    assert facts["result_rule"]["params"] == {"items": [item_id]}
    title = next(i["title"]["zh"] for i in items if i["id"] == item_id)
    assert title in facts["result_rule"]["zh"]
    # the same item at 1 point passes, and an optional item at 0 does not fail
    facts, passes = decided(params, full_scores(items) | {item_id: 1, "rights_letters": 0}, 10, 10)
    assert (facts["result"], passes) == ("model", True)


def test_every_failure_ground_is_listed(params, items):
    scores = scores_totalling(items, 50) | {"org_seal": 0}
    facts, passes = decided(params, scores, 10, 10, ["no_collective_contract", rules.MEMBERSHIP_VETO])
    assert not passes
    assert [g["code"] for g in facts["result_grounds"]] == [
        "veto_applied", "mandatory_item_missing", "score_below_qualified"]
    assert facts["result_grounds"][0]["params"] == {"vetoes": ["no_collective_contract", rules.MEMBERSHIP_VETO]}
    assert facts["result_grounds"][2]["params"] == {"score": 48, "min_score": 60}
    assert facts["result_rule"] == facts["result_grounds"][0]


def test_thresholds_come_from_the_profile(params, items):
    stricter = dict(params) | {"result_thresholds": {"model": {"score": 95, "satisfaction_percent": 95},
                                                     "advanced": {"score": 80, "satisfaction_percent": 85},
                                                     "qualified": {"score": 60, "satisfaction_percent": 0}}}
    assert decided(stricter, scores_totalling(items, 94), 100, 100)[0]["result"] == "advanced"
    assert decided(stricter, scores_totalling(items, 95), 100, 95)[0]["result"] == "model"
    assert decided(stricter, scores_totalling(items, 95), 100, 94)[0]["result"] == "advanced"


def test_rules_render_in_both_languages(catalog, params, items):
    for total, satisfied in ((100, 10), (85, 9), (70, 5), (10, 10)):
        facts, _ = decided(params, scores_totalling(items, total), 10, satisfied)
        for ground in [facts["result_rule"], *facts["result_grounds"]]:
            template = catalog.reasons[ground["code"]]
            assert ground["zh"] and ground["en"] and "{" not in ground["zh"] + ground["en"]
            assert template.zh and template.en


# -- after the result -------------------------------------------------------------------

@pytest.mark.parametrize("days, due", [(None, "2026-12-20"), (45, "2027-01-04")])  # default: 30 days
def test_rectification_due_date(params, days, due):
    ctx = make_ctx(params if days is None else dict(params) | {"rectification_days": days})
    assert rules.start_rectification(ctx).facts == {"rectification_due_on": due}


def test_revoking_clears_the_title_held(params):
    facts = rules.revoke(make_ctx(params, trigger="revoke", case={"result": "model"})).facts
    assert facts == {"title": None, "title_revoked_on": "2026-11-20"}


def test_a_whole_inspection_from_scores_to_result(params, items):
    """Effects chained as the engine chains them: each sees the case updated by the last."""
    case: dict = {"year": 2026}
    evaluation = {"respondents": 80, "satisfied": 70}  # 87.5 %: advanced at best
    case |= evaluation | rules.record_evaluation(make_ctx(params, data=evaluation)).facts
    out = rules.score(make_ctx(params, data={"scores": scores_totalling(items, 93)}, organisation=org(96, 100)))
    case |= out.data | out.facts
    ctx = make_ctx(params, trigger="decide", case=case)
    facts = rules.decide(ctx).facts
    assert (facts["result"], facts["title"]["zh"]) == ("advanced", "先进职工之家")
    assert CONDITIONS["inspection_passes"](make_ctx(params, case=case | facts))


# -- the definition version a case runs under ---------------------------------------------

def _changed_extra():
    """A later version's checklist: `org_seal` is gone and a new mandatory item is worth its points."""
    extra = thaw(EXTRA)
    extra["checklist"] = [i for i in extra["checklist"] if i["id"] != "org_seal"] + [
        {"id": "org_digital", "dimension": "org", "title": {"zh": "有网上工会", "en": "Has an online union"},
         "max": 2, "mandatory": True}]
    extra["results"]["model"]["title"] = {"zh": "模范职工之家（新）", "en": "Model (new)"}
    return freeze(extra)


def test_the_rules_read_the_checklist_of_the_cases_own_version(params, items):
    changed = _changed_extra()
    old_scores = full_scores(items)
    new_scores = {i["id"]: i["max"] for i in changed["checklist"]}
    # under the version the case started with, its own items are known and complete
    assert list(rules.unknown_item(make_ctx(params, data={"scores": old_scores}))) == []
    assert list(rules.scores_incomplete(make_ctx(params, data={"scores": old_scores}))) == []
    # the same scores under the changed checklist: one unknown item, one missing
    assert [r.params["item"] for r in rules.unknown_item(make_ctx(params, data={"scores": old_scores},
                                                                  extra=changed))] == ["org_seal"]
    (reason,) = rules.scores_incomplete(make_ctx(params, data={"scores": old_scores}, extra=changed))
    assert reason.params["items"] == ["org_digital"]
    # the mandatory items, dimension totals and titles are those of the version too
    facts, passes = decided(params, new_scores | {"org_digital": 0}, 10, 10, extra=changed)
    assert (facts["result"], passes) == ("failed", False)
    assert facts["result_rule"]["params"] == {"items": ["org_digital"]}
    assert decided(params, new_scores, 10, 10, extra=changed)[0]["title"]["zh"] == "模范职工之家（新）"
    assert decided(params, old_scores, 10, 10)[0]["title"]["zh"] == "模范职工之家"
    out = rules.score(make_ctx(params, data={"scores": new_scores}, extra=changed))
    assert out.facts["scores_by_dimension"]["org"] == 20 and out.facts["total_score"] == 100


def test_every_computed_fact_has_a_label(params, items):
    """The pages name each computed fact; the recorded fields carry their own labels."""
    outcomes = [
        rules.self_assess(make_ctx(params, trigger="self_assess", data={"scores": full_scores(items)})),
        rules.record_evaluation(make_ctx(params, data={"respondents": 10, "satisfied": 9})),
        rules.score(make_ctx(params, data={"scores": full_scores(items)})),
        rules.start_rectification(make_ctx(params)),
        rules.revoke(make_ctx(params)),
    ]
    keys = {k for out in outcomes for k in (*out.facts, *out.data)}
    keys |= set(decided(params, full_scores(items), 10, 9)[0])
    labels = EXTRA["fact_labels"]
    recorded = {"scores", "vetoes", "notes"}  # fields of the scoring steps, labelled in the definition
    assert keys - recorded == set(labels)
    assert all(labels[k]["zh"] and labels[k]["en"] for k in labels)


# -- percentages shown: half up, except where a threshold would seem reached ----------------------

@pytest.mark.parametrize("numerator, denominator, shown", [
    (78, 90, "86.7"),     # 86.666…: half up, not the 86.6 of rounding down
    (2, 3, "66.7"),
    (1, 8, "12.5"),       # exact
    (1, 16, "6.3"),       # 6.25: the half goes up (half-even would give 6.2)
    (1, 40, "2.5"),
    (1, 400, "0.3"),      # 0.25
    (0, 7, "0.0"),
    (7, 7, "100.0"),
])
def test_percent_display_rounds_half_up(numerator, denominator, shown):
    assert rules.percent_display(numerator, denominator) == shown
    assert rules.rounded_down(numerator, denominator, ()) is False


def test_percent_display_never_shows_a_missed_threshold_reached():
    # 94.995 % would show as 95.0 %: against the 95 % veto it shows 94.9 %, and says so
    assert rules.percent_display(18999, 20000) == "95.0"
    assert rules.percent_display(18999, 20000, [95]) == "94.9" and rules.rounded_down(18999, 20000, [95])
    # reached exactly, or far from the threshold: half up as everywhere
    assert rules.percent_display(19000, 20000, [95]) == "95.0" and not rules.rounded_down(19000, 20000, [95])
    assert rules.percent_display(78, 90, [85, 90]) == "86.7" and not rules.rounded_down(78, 90, [85, 90])
    assert rules.percent_display(8999, 10000, [60, 85, 90]) == "89.9"
    assert rules.rounded_down(8999, 10000, [60, 85, 90])
    assert rules.percent_display(949, 1000, [95]) == "94.9" and not rules.rounded_down(949, 1000, [95])
    assert rules.percent_display(1, 0) is None and rules.rounded_down(1, 0, [95]) is False
