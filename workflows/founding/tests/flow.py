"""A founding case (建会) walked through the JSON API: the data of each step and a walker.

Shared by the API and page tests. The business day is a fixed clock the app
reads (UNIONFLOW_CLOCK), so posting periods and deadlines are exact.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Callable

import pytest

TODAY = date(2026, 11, 10)

GROUP = ["张伟", "王芳", "李娜", "刘洋", "陈静"]
# five committee seats: six committee candidates (张伟 also for chair), one audit, one women's committee
COMMITTEE = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆"]
VOTES = {"张伟": 28, "王芳": 26, "李娜": 25, "刘洋": 24, "陈静": 22, "杨帆": 12, "赵敏": 27, "周婷": 26}
ELECTED = {"committee": ["张伟", "王芳", "李娜", "刘洋", "陈静"], "chair": "张伟", "audit": ["赵敏"], "women": ["周婷"]}
APPROVAL_NO = "某区总工批〔2026〕12号"
REPLY_NO = "滨工复〔2026〕12号"
CERTIFICATE_NO = "工法证字第330100123号"


class Clock:
    """The business day the engine sees; tests move it."""

    def __init__(self, today: date):
        self.today = today

    def __call__(self) -> date:
        return self.today

    def days_after(self, start: date, days: int) -> None:
        self.today = start + timedelta(days=days)


@pytest.fixture
def clock() -> Clock:
    return Clock(TODAY)


@pytest.fixture
def app_config(app_config, clock):
    """The suite's configuration with the engine reading the test's clock."""
    return {**app_config, "UNIONFLOW_CLOCK": clock}


def candidate(name: str, *stands: str, bars: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"name": name, "for": list(stands), "bars": list(bars)}


def candidates(committee: list[str] | None = None) -> list[dict[str, Any]]:
    people = [candidate(n, "committee", *(["chair"] if i == 0 else [])) for i, n in enumerate(committee or COMMITTEE)]
    return people + [candidate("赵敏", "audit"), candidate("周婷", "women")]


def nomination(posted_on: date | str | None = None, **changes: Any) -> dict[str, Any]:
    posted = posted_on or TODAY - timedelta(days=8)
    return {"committee_seats": 5, "audit_seats": 1, "women_seats": 1,
            "posted_on": posted if isinstance(posted, str) else posted.isoformat(),
            "candidates": candidates(), **changes}


def assembly(**changes: Any) -> dict[str, Any]:
    return {"assembly_type": "members", "entitled": 40, "present": 30, **changes}


def election(votes: dict[str, int] | None = None, **changes: Any) -> dict[str, Any]:
    return {"ballots_cast": 30, "votes": {**VOTES, **(votes or {})}, "chair": "张伟",
            "chair_method": "assembly", "chair_votes": {"张伟": 25}, **changes}


def steps(prep: Any, reviewer: Any, sanctioner: Any = None) -> list[tuple[str, Any, dict[str, Any], str, str]]:
    """(trigger, who, data, comment, state after) from draft to registered."""
    sanctioner = sanctioner or reviewer
    return [
        ("form_group", prep, {"group_members": GROUP}, "筹备组由职工推选产生", "group_formed"),
        ("apply", prep, {}, "申请成立工会", "applied"),
        ("approve_application", reviewer, {"reply_no": REPLY_NO}, "同意筹建", "approved"),
        ("record_members", prep, {"member_count": 40, "female_member_count": 12}, "", "members_recruited"),
        ("nominate", prep, nomination(), "候选人名单已在厂区公示栏张贴", "candidates_submitted"),
        ("approve_candidates", reviewer, {}, "候选人符合条件", "candidates_approved"),
        ("convene", prep, assembly(), "", "assembly_convened"),
        ("record_election", prep, election(), "", "elected"),
        ("submit_results", prep, {}, "报请审批选举结果", "results_submitted"),
        ("sanction", sanctioner, {"approval_no": APPROVAL_NO}, "同意成立", "founded"),
        ("register", prep, {"certificate_no": CERTIFICATE_NO}, "", "registered"),
    ]


def walk(fire: Callable[..., dict[str, Any]], case_id: int, until: str, prep: Any, reviewer: Any,
         sanctioner: Any = None, **overrides: dict[str, Any]) -> dict[str, Any] | None:
    """Fire the steps until the case stands in `until`; `overrides` replace a step's data by trigger."""
    last = None
    if until == "draft":
        return last
    for trigger, who, data, comment, after in steps(prep, reviewer, sanctioner):
        last = fire(who, case_id, trigger, overrides.get(trigger, data), comment=comment)
        assert last["state"] == after, last
        if after == until:
            return last
    raise AssertionError(f"no step leads to {until!r}")
