"""Rules of the founding workflow (建会, domain.md §1): guards and effects.

Every number comes from the profile's `founding` parameters (ctx.params);
every ratio is tested in integers. Recorded case data (ctx.case) holds JSON
values, the event's data (ctx.data) holds clean Python values.

Votes (decided here): the election records one vote count per candidate
name (`votes`), and that count applies to every body the candidate stands
for (工会委员会, 经费审查委员会, 女职工委员会); each body is filled on its own
among its own candidates by the same rule: more than half of those entitled
to attend (应到会人数), the most votes winning when more pass than there are
seats. A tie for the last seat cannot be settled by the count: the assembly
votes again between the tied candidates (`tied_for_last_seat`).

Blank candidate names, approval numbers (批复文号) and certificate numbers
never reach these rules: the definition's field specs require them, so the
engine refuses them as invalid input (400) before any guard runs.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Iterator, Mapping, Sequence

from workflow import Context, Outcome, Reason, effect, guard

# the bodies a candidate may stand for, in the order they are reported
BODIES: Mapping[str, tuple[str, str]] = {
    "committee": ("工会委员会委员", "union committee member"),
    "chair": ("工会主席", "union chair"),
    "audit": ("经费审查委员会委员", "funds audit committee member"),
    "women": ("女职工委员会委员", "women workers' committee member"),
}
# 任职限制情形: who may not stand (the same labels as the definition's extra.enum_labels.bars)
BARS: Mapping[str, tuple[str, str]] = {
    "principal": ("单位行政主要负责人（法定代表人）", "head of the employer (legal representative)"),
    "principal_relative": ("单位行政主要负责人的近亲属", "close relative of the head of the employer"),
    "partner": ("合伙人", "partner"),
    "partner_relative": ("合伙人的近亲属", "close relative of a partner"),
    "deputy_head": ("单位行政副职", "deputy head of the employer"),
    "deputy_head_relative": ("单位行政副职的近亲属", "close relative of a deputy head of the employer"),
    "hr_head": ("人力资源部门负责人", "head of human resources"),
    "foreign": ("外籍职工", "foreign employee"),
}
# 工会法 第十条 and seed 003 for the committee and the audit committee;
# the chair (2008 企业工会主席产生办法 第六条: 企业行政负责人（含行政副职）、合伙人及其近亲属) is barred by
# every bar, the deputy heads' relatives too (a bar only definition version 2 offers)
_OWNER_BARS = ("principal", "principal_relative", "partner", "partner_relative")
BARRED_FROM: Mapping[str, tuple[str, ...]] = {
    "committee": _OWNER_BARS,
    "chair": tuple(BARS),
    "audit": _OWNER_BARS,
    "women": (),
}
# bodies whose seats the election fills, with the nominate field holding their seats
ELECTED_BODIES: Mapping[str, str] = {
    "committee": "committee_seats",
    "audit": "audit_seats",
    "women": "women_seats",
}


# ---- small helpers ---------------------------------------------------------

def _count(value: Any) -> int:
    return 0 if value is None else int(value)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _body(body: str) -> dict[str, str]:
    zh, en = BODIES[body]
    return {"body": body, "body_zh": zh, "body_en": en}


def _candidates(raw: Any) -> list[dict[str, Any]]:
    """Candidates with stripped names, `for` and `bars` as tuples (JSON or clean values)."""
    return [{"name": str(c.get("name") or "").strip(), "for": tuple(c.get("for") or ()),
             "bars": tuple(c.get("bars") or ())} for c in raw or ()]


def _standing(candidates: Sequence[Mapping[str, Any]], body: str) -> list[str]:
    """The distinct names standing for a body."""
    return _distinct_names([c["name"] for c in candidates if body in c["for"]])


def _distinct_names(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(n for n in names if n))


def _votes(ctx: Context) -> dict[str, int]:
    return {str(k).strip(): _count(v) for k, v in (ctx.data.get("votes") or {}).items()}


def _seats(ctx: Context, body: str) -> int:
    return _count(ctx.case.get(ELECTED_BODIES[body]))


def _poll(names: Sequence[str], votes: Mapping[str, int], entitled: int, seats: int) -> tuple[list[str], list[str], int]:
    """One body's result: (elected, tied for the last seat, number passing).

    Passing means more than half of the entitled (`votes * 2 > entitled`); the
    elected are the passing with the most votes, in order of votes then of the
    candidate list. When the last seat is tied, the tied are left out of the
    elected and returned apart.
    """
    passing = [n for n in names if votes.get(n, 0) * 2 > entitled]
    passing.sort(key=lambda n: -votes.get(n, 0))  # stable: list order among equals
    if len(passing) <= seats:
        return passing, [], len(passing)
    if seats < 1:
        return [], [], len(passing)
    cutoff = votes.get(passing[seats - 1], 0)
    if votes.get(passing[seats], 0) == cutoff:
        return ([n for n in passing if votes.get(n, 0) > cutoff],
                [n for n in passing if votes.get(n, 0) == cutoff], len(passing))
    return passing[:seats], [], len(passing)


# ---- creation and status ---------------------------------------------------

@guard("founding_union_not_founded")
def union_not_founded(ctx: Context) -> Iterator[Reason]:
    if ctx.org.union_status == "founded":
        yield Reason("union_already_founded", {"org": ctx.org.name})


@effect("founding_mark_founding")
def mark_founding(ctx: Context) -> Outcome:
    return Outcome(org={"union_status": "founding"})


@effect("founding_reset_status")
def reset_status(ctx: Context) -> Outcome:
    return Outcome(org={"union_status": "none"})


# ---- 1 筹备组 --------------------------------------------------------------

@guard("founding_group")
def group(ctx: Context) -> Iterator[Reason]:
    raw = [str(n).strip() for n in ctx.data.get("group_members") or ()]
    if any(not n for n in raw):
        yield Reason("unnamed_group_member")
    for name in _distinct_names([n for i, n in enumerate(raw) if n and n in raw[:i]]):
        yield Reason("duplicate_group_member", {"name": name})
    count = len(_distinct_names(raw))
    low, high = ctx.params["group_size_min"], ctx.params["group_size_max"]
    if not low <= count <= high:
        yield Reason("group_size", {"count": count, "min": low, "max": high})


# ---- 4 发展会员 ------------------------------------------------------------

@guard("founding_members")
def members(ctx: Context) -> Iterator[Reason]:
    members_ = _count(ctx.data.get("member_count"))
    female = _count(ctx.data.get("female_member_count"))
    employees, female_employees = ctx.org.employees, ctx.org.female_employees
    broken = (
        members_ < 1
        or (employees is not None and members_ > employees)
        or female < 0
        or female > members_
        or (female_employees is not None and female > female_employees)
    )
    if broken:
        yield Reason("member_count_invalid", {
            "member_count": members_, "female_member_count": female,
            "employees": employees, "female_employees": female_employees,
        })


# ---- 5 候选人 --------------------------------------------------------------

@guard("founding_candidate_list")
def candidate_list(ctx: Context) -> Iterator[Reason]:
    candidates = _candidates(ctx.data.get("candidates"))
    names = [c["name"] for c in candidates]
    for name in _distinct_names([n for i, n in enumerate(names) if n and n in names[:i]]):
        yield Reason("duplicate_candidate", {"name": name})
    for c in candidates:
        if c["name"] and not c["for"]:
            yield Reason("candidate_without_position", {"name": c["name"]})
    count, member_count = len(_distinct_names(names)), _count(ctx.case.get("member_count"))
    if count > member_count:
        yield Reason("candidates_exceed_members", {"candidates": count, "member_count": member_count})


def seat_range(table: Sequence[Sequence[Any]], member_count: int) -> tuple[int, int]:
    """(min, max) committee seats for a member count; rows [min members, max members|None, min, max]."""
    for low, high, seats_min, seats_max in table:
        if member_count >= low and (high is None or member_count <= high):
            return seats_min, seats_max
    _, _, seats_min, seats_max = table[0]  # below the table: the smallest union's range
    return seats_min, seats_max


@guard("founding_committee_seats")
def committee_seats(ctx: Context) -> Iterator[Reason]:
    seats = _count(ctx.data.get("committee_seats"))
    member_count = _count(ctx.case.get("member_count"))
    low, high = seat_range(ctx.params["committee_seats"], member_count)
    if not low <= seats <= high:
        yield Reason("seats_out_of_range", {"seats": seats, "min": low, "max": high, "member_count": member_count})


def required_candidates(seats: int, margin_percent: int) -> int:
    """差额选举: at least ⌈seats × (100 + margin) / 100⌉ candidates, and always more than the seats."""
    return max(_ceil_div(seats * (100 + margin_percent), 100), seats + 1)


@guard("founding_candidate_margin")
def candidate_margin(ctx: Context) -> Iterator[Reason]:
    seats = _count(ctx.data.get("committee_seats"))
    count = len(_standing(_candidates(ctx.data.get("candidates")), "committee"))
    needed = required_candidates(seats, ctx.params["candidate_margin_percent"])
    if count < needed:
        yield Reason("insufficient_candidate_margin", {"seats": seats, "candidates": count, "required": needed})


@guard("founding_chair_candidate")
def chair_candidate(ctx: Context) -> Iterator[Reason]:
    chairs = [c for c in _candidates(ctx.data.get("candidates")) if "chair" in c["for"] and c["name"]]
    if not any("committee" in c["for"] for c in chairs):
        yield Reason("chair_candidate_required")
    for c in chairs:
        if "committee" not in c["for"]:
            yield Reason("chair_candidate_not_committee", {"name": c["name"]})


def _body_candidates(ctx: Context, body: str) -> Iterator[Reason]:
    seats = _count(ctx.data.get(ELECTED_BODIES[body]))
    count = len(_standing(_candidates(ctx.data.get("candidates")), body))
    if 0 < count < seats:
        yield Reason("too_few_candidates", {**_body(body), "seats": seats, "candidates": count})


@guard("founding_audit_committee")
def audit_committee(ctx: Context) -> Iterator[Reason]:
    seats = _count(ctx.data.get("audit_seats"))
    count = len(_standing(_candidates(ctx.data.get("candidates")), "audit"))
    if seats < 1 or count < 1:
        yield Reason("audit_committee_required", {"seats": seats, "candidates": count})
    yield from _body_candidates(ctx, "audit")


@guard("founding_women_committee")
def women_committee(ctx: Context) -> Iterator[Reason]:
    seats = _count(ctx.data.get("women_seats"))
    count = len(_standing(_candidates(ctx.data.get("candidates")), "women"))
    female = _count(ctx.case.get("female_member_count"))
    threshold = ctx.params["women_committee_min_female_members"]
    if female >= threshold and (seats < 1 or count < 1):
        yield Reason("women_committee_required", {"female_members": female, "threshold": threshold})
    elif seats > 0 and count == 0:  # seats set up although not required: they need candidates too
        yield Reason("too_few_candidates", {**_body("women"), "seats": seats, "candidates": 0})
    yield from _body_candidates(ctx, "women")


@guard("founding_eligible_candidates")
def eligible_candidates(ctx: Context) -> Iterator[Reason]:
    """One reason per candidate and bar, naming every body the bar excludes them from."""
    for c in _candidates(ctx.data.get("candidates")):
        for bar in (b for b in BARS if b in c["bars"]):
            bodies = [b for b in BODIES if b in c["for"] and bar in BARRED_FROM[b]]
            if bodies:
                yield Reason("ineligible_candidate", {
                    "name": c["name"], "bar": bar, "bar_zh": BARS[bar][0], "bar_en": BARS[bar][1],
                    "bodies": bodies,
                    "bodies_zh": "、".join(BODIES[b][0] for b in bodies),
                    "bodies_en": ", ".join(BODIES[b][1] for b in bodies),
                })


@guard("founding_posted_on")
def posted_on(ctx: Context) -> Iterator[Reason]:
    posted = _as_date(ctx.data["posted_on"])
    if posted > ctx.today:
        yield Reason("posted_on_in_future", {"posted_on": posted.isoformat(), "today": ctx.today.isoformat()})


@guard("founding_posting_elapsed")
def posting_elapsed(ctx: Context) -> Iterator[Reason]:
    """候选人公示: calendar days, so today ≥ posted_on + days."""
    posted = _as_date(ctx.case["posted_on"])
    days = ctx.params["candidate_posting_days"]
    earliest = posted + timedelta(days=days)
    if ctx.today < earliest:
        yield Reason("posting_period_not_elapsed", {
            "posted_on": posted.isoformat(), "days": days, "earliest": earliest.isoformat(),
        })


# ---- 6 会员（代表）大会 ----------------------------------------------------

@guard("founding_assembly")
def assembly(ctx: Context) -> Iterator[Reason]:
    kind = ctx.data.get("assembly_type")
    entitled, present = _count(ctx.data.get("entitled")), _count(ctx.data.get("present"))
    member_count = _count(ctx.case.get("member_count"))
    max_members = ctx.params["members_assembly_max_members"]
    if kind == "delegates":
        if member_count <= max_members:
            yield Reason("assembly_type_invalid", {"member_count": member_count, "max_members": max_members})
        if not 1 <= entitled <= member_count:
            yield Reason("entitled_out_of_range", {"entitled": entitled, "member_count": member_count})
    elif entitled != member_count:
        yield Reason("entitled_mismatch", {"entitled": entitled, "member_count": member_count})
    if present > entitled:
        yield Reason("present_exceeds_entitled", {"present": present, "entitled": entitled})
    num, den = ctx.params["quorum_numerator"], ctx.params["quorum_denominator"]
    if present * den < entitled * num:
        yield Reason("quorum_not_met", {
            "present": present, "entitled": entitled, "required": _ceil_div(entitled * num, den),
        })


# ---- 7 民主选举 ------------------------------------------------------------

@guard("founding_ballots")
def ballots(ctx: Context) -> Iterator[Reason]:
    cast, present = _count(ctx.data.get("ballots_cast")), _count(ctx.case.get("present"))
    if cast > present:
        yield Reason("ballots_exceed_present", {"ballots_cast": cast, "present": present})
    names = {c["name"] for c in _candidates(ctx.case.get("candidates"))}
    for name, votes in _votes(ctx).items():
        if name not in names:
            yield Reason("not_a_candidate", {"name": name})
        if votes > cast:
            yield Reason("votes_exceed_ballots", {"name": name, "votes": votes, "ballots_cast": cast})


@guard("founding_seats_filled")
def seats_filled(ctx: Context) -> Iterator[Reason]:
    candidates = _candidates(ctx.case.get("candidates"))
    entitled, votes = _count(ctx.case.get("entitled")), _votes(ctx)
    for body in ELECTED_BODIES:
        seats = _seats(ctx, body)
        if seats < 1:
            continue
        elected, tied, passing = _poll(_standing(candidates, body), votes, entitled, seats)
        if passing < seats:
            yield Reason("seats_unfilled", {
                **_body(body), "seats": seats, "elected": passing, "votes_needed": entitled // 2 + 1,
            })
        elif tied:
            yield Reason("tied_for_last_seat", {
                **_body(body), "seats": seats, "names": "、".join(tied), "votes": votes.get(tied[0], 0),
            })


@guard("founding_total_votes")
def total_votes(ctx: Context) -> Iterator[Reason]:
    """Each ballot names at most `seats` candidates of a body: their votes add up to at most ballots × seats.

    Decided here, with one vote count per candidate (see the module's docstring): a body's total counts
    the candidates who stand for that body alone; a candidate standing for two bodies is bounded with
    every candidate by the ballots times all the seats.
    """
    cast, votes = _count(ctx.data.get("ballots_cast")), _votes(ctx)
    candidates = _candidates(ctx.case.get("candidates"))
    elected_bodies = [b for b in ELECTED_BODIES if _seats(ctx, b) >= 1]
    for body in elected_bodies:
        seats = _seats(ctx, body)
        alone = [c["name"] for c in candidates
                 if body in c["for"] and not any(b in c["for"] for b in elected_bodies if b != body)]
        total = sum(votes.get(n, 0) for n in _distinct_names(alone))
        if total > cast * seats:
            yield Reason("total_votes_exceed_ballots", {
                **_body(body), "total": total, "ballots_cast": cast, "seats": seats, "max": cast * seats,
            })
    seats = sum(_seats(ctx, b) for b in elected_bodies)
    everyone = _distinct_names([c["name"] for c in candidates if any(b in c["for"] for b in elected_bodies)])
    total = sum(votes.get(n, 0) for n in everyone)
    if len(elected_bodies) > 1 and total > cast * seats:
        yield Reason("total_votes_exceed_ballots", {
            "body": "all", "body_zh": "各委员会委员", "body_en": "members of every body",
            "total": total, "ballots_cast": cast, "seats": seats, "max": cast * seats,
        })


def _chair_votes(ctx: Context) -> dict[str, int]:
    return {str(k).strip(): _count(v) for k, v in (ctx.data.get("chair_votes") or {}).items()}


def chair_ballot_result(ctx: Context) -> dict[str, Any]:
    """The chair's ballot (主席产生办法 第十五、十六条): who voted, how many were entitled, who won.

    Directly by the assembly (主席直选) the entitled are the assembly's and the voters its ballots; by the
    new committee both are the elected committee members. The winner has the most votes and more than
    half of the entitled (`votes * 2 > entitled`), or there is none.
    """
    method = ctx.data.get("chair_method") or "assembly"
    committee, _, _ = _poll(_standing(_candidates(ctx.case.get("candidates")), "committee"), _votes(ctx),
                            _count(ctx.case.get("entitled")), _seats(ctx, "committee"))
    if method == "committee":
        entitled = voters = len(committee)
    else:
        entitled, voters = _count(ctx.case.get("entitled")), _count(ctx.data.get("ballots_cast"))
    votes = _chair_votes(ctx)
    ranked = sorted(votes, key=lambda n: -votes[n])
    top = ranked[0] if ranked else ""
    sole = len(ranked) < 2 or votes[ranked[1]] < votes[top]
    won = bool(top) and sole and votes[top] * 2 > entitled
    return {"chair_method": method, "entitled": entitled, "voters": voters, "votes": votes,
            "votes_needed": entitled // 2 + 1, "chair": top if won else "", "committee": committee}


@guard("founding_chair_ballot")
def chair_ballot(ctx: Context) -> Iterator[Reason]:
    """The chair's votes: only chair candidates, none beyond the voters, one chair a ballot, a majority of
    the entitled; the winner an elected committee member without a chair bar, and `chair`, when given,
    the winner."""
    result = chair_ballot_result(ctx)
    standing = {c["name"]: c for c in _candidates(ctx.case.get("candidates"))}
    voters, votes = result["voters"], result["votes"]
    for name, count in votes.items():
        if name not in standing or "chair" not in standing[name]["for"]:
            yield Reason("not_a_chair_candidate", {"name": name})
        if count > voters:
            yield Reason("votes_exceed_ballots", {"name": name, "votes": count, "ballots_cast": voters})
    total = sum(votes.values())
    if total > voters:
        yield Reason("total_votes_exceed_ballots", {
            **_body("chair"), "total": total, "ballots_cast": voters, "seats": 1, "max": voters,
        })
    chair = result["chair"]
    if not chair:
        best = max(votes.values(), default=0)
        yield Reason("chair_majority_not_met", {
            "votes": best, "entitled": result["entitled"], "votes_needed": result["votes_needed"],
        })
        return
    stood = standing.get(chair, {"for": (), "bars": ()})
    barred = any(b in BARRED_FROM["chair"] for b in stood["bars"])
    given = str(ctx.data.get("chair") or "").strip()
    if chair not in result["committee"] or barred:
        yield Reason("chair_not_elected", {"chair": chair})
    elif given and given != chair:
        yield Reason("chair_not_elected", {"chair": given})


@guard("founding_members_fit_nomination")
def members_fit_nomination(ctx: Context) -> Iterator[Reason]:
    """Members recorded again after the nomination: the nominated seats and committees must still fit."""
    member_count = _count(ctx.data.get("member_count"))
    female = _count(ctx.data.get("female_member_count"))
    seats = _count(ctx.case.get("committee_seats"))
    low, high = seat_range(ctx.params["committee_seats"], member_count)
    if not low <= seats <= high:
        yield Reason("seats_out_of_range", {"seats": seats, "min": low, "max": high, "member_count": member_count})
    count = len(_distinct_names([c["name"] for c in _candidates(ctx.case.get("candidates"))]))
    if count > member_count:
        yield Reason("candidates_exceed_members", {"candidates": count, "member_count": member_count})
    threshold = ctx.params["women_committee_min_female_members"]
    if female >= threshold and _count(ctx.case.get("women_seats")) < 1:
        yield Reason("women_committee_required", {"female_members": female, "threshold": threshold})


@guard("founding_chair_elected")
def chair_elected(ctx: Context) -> Iterator[Reason]:
    """The chair is an elected committee member who stood for chair and carries no bar."""
    chair = str(ctx.data.get("chair") or "").strip()
    candidates = _candidates(ctx.case.get("candidates"))
    elected, _, _ = _poll(_standing(candidates, "committee"), _votes(ctx),
                          _count(ctx.case.get("entitled")), _seats(ctx, "committee"))
    standing = {c["name"]: c for c in candidates}
    stood = standing.get(chair, {"for": (), "bars": ()})
    barred = any(b in BARRED_FROM["chair"] for b in stood["bars"])
    if chair not in elected or "chair" not in stood["for"] or barred:
        yield Reason("chair_not_elected", {"chair": chair})


@effect("founding_elected")
def elected(ctx: Context) -> Outcome:
    candidates = _candidates(ctx.case.get("candidates"))
    entitled, votes = _count(ctx.case.get("entitled")), _votes(ctx)
    result: dict[str, Any] = {}
    for body in ELECTED_BODIES:
        result[body], _, _ = _poll(_standing(candidates, body), votes, entitled, _seats(ctx, body))
    facts: dict[str, Any] = {}
    if ctx.data.get("chair_method"):  # definition version 2: the chair elected by ballot
        ballot = chair_ballot_result(ctx)
        result["chair"] = ballot["chair"]
        facts["chair_ballot"] = {k: ballot[k] for k in ("chair_method", "entitled", "votes", "votes_needed", "chair")}
    else:
        result["chair"] = str(ctx.data.get("chair") or "").strip()
    facts["elected"] = {k: result[k] for k in ("committee", "chair", "audit", "women")}
    return Outcome(facts=facts)


# ---- 8 批准成立, 法人资格登记 ----------------------------------------------

@guard("founding_founded_on")
def founded_on(ctx: Context) -> Iterator[Reason]:
    value = ctx.data.get("founded_on")
    if value is not None and _as_date(value) > ctx.today:
        yield Reason("founded_on_in_future", {"founded_on": _as_date(value).isoformat(),
                                              "today": ctx.today.isoformat()})


@effect("founding_sanction")
def sanction(ctx: Context) -> Outcome:
    value = ctx.data.get("founded_on")
    founded = ctx.today if value is None else _as_date(value)
    due = founded + timedelta(days=ctx.params["registration_days"])
    return Outcome(
        facts={"founded_on": founded.isoformat(), "registration_due_on": due.isoformat()},
        org={"union_status": "founded", "member_count": _count(ctx.case.get("member_count"))},
    )


@effect("founding_registered")
def registered(ctx: Context) -> Outcome:
    return Outcome(facts={"registered_on": ctx.today.isoformat()})
