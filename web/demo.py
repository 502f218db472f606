"""A demonstration data set: a district's organisation tree, users, and cases in many states.

Every case is walked through the engine itself, so the demo trail is a real,
verifiable trail.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from services.accounts import create_org, create_user, find_user
from workflow import Actor, Case, Engine, Organisation, User
from workflow import credit_code_check_character as credit_check
from workflow import id_number_check_character as id_check

from .extensions import get_db, get_engine

DEMO_PASSWORD = "unionflow-demo"

# (code, name, kind, parent, employees, female employees)
ORGS: list[tuple[str, str, str, str | None, int | None, int | None]] = [
    ("FED-HC", "海城区总工会", "federation", None, None, None),
    ("TOWN-CG", "城关街道工会", "town", "FED-HC", None, None),
    ("TOWN-BJ", "滨江镇工会", "town", "FED-HC", None, None),
    ("COM-DM", "东门社区工会", "community", "TOWN-CG", None, None),
    ("COM-XH", "西湖社区工会", "community", "TOWN-BJ", None, None),
    ("ENT-SHOP", "东门便民超市", "enterprise", "COM-DM", 6, 4),
    ("ENT-CAFE", "东门茶餐厅", "enterprise", "COM-DM", 28, 15),
    ("ENT-LOGI", "海城顺达物流有限公司", "enterprise", "TOWN-CG", 120, 34),
    ("ENT-PREC", "滨江精密制造有限公司", "enterprise", "TOWN-BJ", 640, 210),
    ("ENT-TEXT", "滨江纺织有限公司", "enterprise", "COM-XH", 85, 60),
    ("ENT-SOFT", "海城云软件科技有限公司", "enterprise", "TOWN-CG", 230, 70),
    ("ENT-FOOD", "滨江食品加工厂", "enterprise", "TOWN-BJ", 160, 95),
    ("ENT-AUTO", "城关汽车维修服务有限公司", "enterprise", "COM-DM", 45, 6),
]

# (username, role, org, what they do in the demo and their real name in brackets)
DEMO_USERS: list[tuple[str, str, str, str]] = [
    ("admin", "admin", "-", "系统管理员"),
    ("fed_li", "reviewer", "FED-HC", "区总工会审核人（李敏）"),
    ("fed_wang", "reviewer", "FED-HC", "区总工会第二审核人（王强）"),
    ("town_zhao", "reviewer", "TOWN-CG", "城关街道工会审核人（赵芳）"),
    ("com_chen", "reviewer", "COM-DM", "东门社区工会审核人（陈刚）"),
    ("auditor", "auditor", "FED-HC", "区总工会经审（孙丽）"),
    ("prep_logi", "preparer", "ENT-LOGI", "顺达物流筹备组（周杰）"),
    ("prep_prec", "preparer", "ENT-PREC", "精密制造工会经办人（吴婷）"),
    ("union_prec", "reviewer", "ENT-PREC", "精密制造工会委员会（郑伟）"),
    ("prep_soft", "preparer", "ENT-SOFT", "云软件筹备组（冯雪）"),
    ("prep_cafe", "preparer", "ENT-CAFE", "茶餐厅筹备组（何宇）"),
    ("prep_food", "preparer", "ENT-FOOD", "食品加工厂筹备组（许静）"),
]


def real_name(described: str) -> str:
    """The real name a demo user's description ends with: 区总工会审核人（李敏） → 李敏."""
    found = re.search(r"（([^（）]+)）$", described)
    return found.group(1) if found else described


def _credit_code(n: int) -> str:
    body = f"91330100MA2{n:06d}"[:17]
    return body + credit_check(body)


def _id_number(region: str, born: str, seq: int, sex: int) -> str:
    first17 = f"{region}{born}{seq:02d}{sex}"
    return first17 + id_check(first17)


def has_data(app: Flask) -> bool:
    with get_db(app).read() as session:
        return bool(session.scalar(select(func.count()).select_from(Organisation)))


def load_demo(app: Flask) -> str:
    if has_data(app):
        return "demo data already loaded; nothing changed"
    db, engine = get_db(app), get_engine(app)
    with db.write() as session:
        for i, (code, name, kind, parent, emp, fem) in enumerate(ORGS):
            create_org(session, code=code, name=name, kind=kind, parent=parent, employees=emp, female_employees=fem,
                       credit_code=_credit_code(i + 1) if kind == "enterprise" else None, actor="demo")
        for username, role, org, display in DEMO_USERS:
            create_user(session, username=username, password=DEMO_PASSWORD, role=role,
                        org=None if org == "-" else org, display_name=real_name(display), actor="demo")
    walker = _Walker(app, engine)
    walker.foundings()
    walker.hardship()
    walker.inspections()
    walker.members()
    _district(app, walker)
    from services.work import sweep

    swept = sweep(db, engine)  # what is due soon or overdue today: reminders and escalations in the inboxes
    with db.read() as session:
        orgs = session.scalar(select(func.count()).select_from(Organisation))
        users = session.scalar(select(func.count()).select_from(User))
    return (f"demo data loaded: {orgs} organisations, {users} users, {walker.cases} cases, "
            f"{swept.written} deadline reminders")


class _Walker:
    """Walks cases through the engine, one unit of work per step, as the users would."""

    def __init__(self, app: Flask, engine: Engine):
        self.db = get_db(app)
        self.engine = engine
        self.cases = 0
        self.today = engine.today()

    def actor(self, username: str) -> Actor:
        with self.db.read() as session:
            return Actor.of(find_user(session, username))

    def create(self, workflow: str, org: str, who: str, data: Any = None, days_ago: int = 0) -> int:
        """Open a case; `days_ago` dates its business day back (the trail keeps the real time)."""
        with self.db.write() as session:
            case = self.engine.create_case(session, workflow, org, self.actor(who), data or {},
                                           decided_on=self.today - timedelta(days=days_ago))
            self.cases += 1
            return case.id

    def fire(self, case_id: int, trigger: str, who: str, data: Any = None, comment: str = "",
             days_ago: int = 0) -> None:
        """Fire a step; `days_ago` dates the business day of the step back (the trail keeps real time)."""
        with self.db.write() as session:
            self.engine.fire(session, case_id, trigger, self.actor(who), data or {}, comment,
                             decided_on=self.today - timedelta(days=days_ago))

    # -- founding ------------------------------------------------------------
    def founding(self, org: str, prep: str, reviewer: str, until: str, members: tuple[int, int],
                 ago: int = 0) -> int:
        """A founding case walked up to `until`; its last step `ago` days before today."""
        # each step dated as it took place on paper (days before today), recorded in one go
        steps = [
            ("form_group", prep, {"group_members": ["周杰", "钱芳", "孙磊", "李娜", "吴敏"]}, "", 60),
            ("apply", prep, {}, "申请成立工会", 55),
            ("approve_application", reviewer, {"reply_no": f"海工筹复〔{self.today.year}〕{self.cases + 10}号"}, "同意筹建", 48),
            ("record_members", prep, {"member_count": members[0], "female_member_count": members[1]}, "", 30),
            ("nominate", prep, self._nomination(members, 10 + ago), "候选人名单已在厂区公示栏张贴", 10),
            ("approve_candidates", reviewer, {}, "候选人符合条件", 2),
            ("convene", prep, {"assembly_type": "members" if members[0] <= 100 else "delegates",
                               "entitled": members[0] if members[0] <= 100 else 60,
                               "present": members[0] * 9 // 10 if members[0] <= 100 else 55}, "", 1),
            ("record_election", prep, self._election(members), "", 1),
            ("submit_results", prep, {}, "报请审批选举结果", 1),
            ("sanction", reviewer, {"approval_no": f"海总工批〔{self.today.year}〕{self.cases + 10}号"}, "同意成立", 0),
            ("register", prep, {"certificate_no": f"工法证字第{330100000 + self.cases}号"}, "", 0),
        ]
        case_id = self.create("founding", org, prep, days_ago=60 + ago)
        for trigger, who, data, comment, days_ago in steps:
            if trigger == until:
                break
            self.fire(case_id, trigger, who, data, comment, days_ago + ago)
        return case_id

    COMMITTEE = ["周杰", "钱芳", "孙磊", "李娜", "吴敏", "郑浩", "冯涛", "陈静"]

    @staticmethod
    def _seats(members: tuple[int, int]) -> int:
        return 3 if members[0] < 25 else 5 if members[0] <= 200 else 7

    def _nomination(self, members: tuple[int, int], days_ago: int = 10) -> dict[str, Any]:
        seats = self._seats(members)
        names = self.COMMITTEE[: seats + 1]  # 差额: one candidate more than seats (>= 5 %)
        candidates = [{"name": n, "for": ["committee"], "bars": []} for n in names]
        candidates[0]["for"] = ["committee", "chair"]
        candidates.append({"name": "王丽", "for": ["audit"], "bars": []})
        candidates.append({"name": "赵倩", "for": ["women"], "bars": []})
        return {"committee_seats": seats, "audit_seats": 1, "women_seats": 1 if members[1] >= 10 else 0,
                "posted_on": (self.today - timedelta(days=days_ago)).isoformat(), "candidates": candidates}

    def _election(self, members: tuple[int, int]) -> dict[str, Any]:
        entitled = members[0] if members[0] <= 100 else 60
        cast = entitled * 9 // 10 if members[0] <= 100 else 55
        high, seats = cast - 1, self._seats(members)
        names = self.COMMITTEE[: seats + 1]
        votes = {n: high - i for i, n in enumerate(names[:-1])}
        # the one not elected; each ballot names at most `seats` members, so the votes add up to cast × seats
        votes[names[-1]] = min(entitled // 3, cast * seats - sum(votes.values()))
        votes.update({"王丽": high, "赵倩": high - 2})
        # the chair elected directly by the assembly (主席直选), more than half of the entitled
        return {"ballots_cast": cast, "votes": votes, "chair": "周杰", "chair_method": "assembly",
                "chair_votes": {"周杰": high}}

    def foundings(self) -> None:
        # registered two months ago, before its hardship and inspection cases
        self.founding("ENT-PREC", "prep_prec", "fed_li", until="-", members=(600, 200), ago=60)
        self.founding("ENT-LOGI", "prep_logi", "fed_li", until="approve_candidates", members=(96, 30))
        self.founding("ENT-SOFT", "prep_soft", "fed_li", until="approve_application", members=(0, 0))
        self.founding("ENT-CAFE", "prep_cafe", "town_zhao", until="apply", members=(0, 0))
        self.founding("ENT-FOOD", "prep_food", "fed_li", until="submit_results", members=(150, 90))

    # -- hardship --------------------------------------------------------------
    def _application(self, n: int, income: int) -> dict[str, Any]:
        return {
            "applicant": {"name": f"职工{n}", "id_number": _id_number("330102", "19850312", n, 3)},
            "marital_status": "married",
            "household": [
                {"name": f"职工{n}", "relation": "self", "id_number": _id_number("330102", "19850312", n, 3),
                 "monthly_income": income},
                {"name": f"配偶{n}", "relation": "spouse", "monthly_income": 600},
                {"name": f"子女{n}", "relation": "child", "monthly_income": 0},
            ],
            "causes": ["illness"],
            "out_of_pocket_medical": 8000,
            "disaster_loss": 0,
            "materials": ["archive_form", "id_copies", "household_register", "income_proof", "diagnosis"],
        }

    def hardship(self) -> None:
        stops = ["submit", "approve_review", "start_posting", "submit_to_federation", "determine", "-"]
        for n, until in enumerate(stops, start=1):
            case_id = self.create("hardship", "ENT-PREC", "prep_prec", self._application(n, 1500 + 100 * n), 21)
            walk = [
                ("submit", "prep_prec", {}, "", 20),
                ("approve_review", "union_prec", {}, "经工会委员会研究同意", 16),
                ("start_posting", "union_prec", {"posted_on": (self.today - timedelta(days=15)).isoformat()}, "", 15),
                ("submit_to_federation", "union_prec", {}, "公示无异议", 3),
                ("determine", "fed_li", {"amount": 2000}, "按困难职工帮扶标准确定", 1),
            ]
            for trigger, who, data, comment, days_ago in walk:
                if trigger == until:
                    break
                self.fire(case_id, trigger, who, data, comment, days_ago)

    # -- the roster (会员实名制) -------------------------------------------------------
    def join(self, n: int, name: str, female: bool, group: str | None, employer: str | None, until: str = "-",
             days_ago: int = 0) -> int:
        born = f"{1970 + n % 30}0{1 + n % 9}1{n % 10}"
        number = _id_number("330106", born, n % 100, 2 * (n % 4) + (0 if female else 1))
        data: dict[str, Any] = {"applicant": {"name": name, "id_number": number}}
        if group:
            data["group"] = group
        if employer:
            data["employer_name"] = employer
        case_id = self.create("membership", "ENT-PREC", "prep_prec", data, days_ago=days_ago + 1)
        for trigger, who in (("submit", "prep_prec"), ("approve_membership", "union_prec")):
            if trigger == until:
                break
            self.fire(case_id, trigger, who, {}, "经工会委员会研究同意入会" if who == "union_prec" else "",
                      days_ago=days_ago + (1 if trigger == "submit" else 0))
        return case_id

    def members(self) -> None:
        """Named members of the precision works' union, one application waiting for approval, one who left, and
        one moving elsewhere (会籍接转: the certificate issued, waiting for the receiving union's code)."""
        ids = []
        for n, (name, female, group, employer) in enumerate(MEMBERS, start=1):
            ids.append(self.join(n, name, female, group, employer, days_ago=40 - n))
        self.join(len(MEMBERS) + 1, "蒋立新", False, "security_guard", None, until="approve_membership")
        with self.db.read() as session:
            member_id = session.get(Case, ids[4]).data["member_id"]
        with self.db.write() as session:
            self.engine.end_membership(session, member_id, self.actor("union_prec"), "left",
                                       self.today - timedelta(days=3), "本人调离本单位，申请退会")
        with self.db.read() as session:
            moving = session.get(Case, ids[2]).data["member_id"]
        case_id = self.create("transfer", "ENT-PREC", "prep_prec", {"member_id": moving, "reason": "relocation"},
                              days_ago=2)
        self.fire(case_id, "issue_certificate", "union_prec", {}, "", days_ago=1)

    # -- inspection -----------------------------------------------------------------
    def inspections(self) -> None:
        items = self.engine.catalog.definition("inspection").extra["checklist"]
        full = {i["id"]: i["max"] for i in items}
        year = self.today.year
        case_id = self.create("inspection", "ENT-PREC", "prep_prec", {"year": year})
        self.fire(case_id, "self_assess", "prep_prec", {"scores": full})
        self.fire(case_id, "record_evaluation", "prep_prec", {"respondents": 200, "satisfied": 186})
        # one point short everywhere but the organisation item (below its maximum it is the first veto)
        scores = {k: v if k == "org_structure" else max(v - 1, 1) for k, v in full.items()}
        self.fire(case_id, "inspect", "fed_li", {"scores": scores, "vetoes": []})
        self.fire(case_id, "decide", "fed_wang", {})
        # last year's inspection failed and is being rectified
        case_id = self.create("inspection", "ENT-PREC", "prep_prec", {"year": year - 1})
        self.fire(case_id, "self_assess", "prep_prec", {"scores": full})
        self.fire(case_id, "record_evaluation", "prep_prec", {"respondents": 150, "satisfied": 120})
        self.fire(case_id, "inspect", "fed_li", {"scores": full, "vetoes": ["no_collective_contract"]})
        self.fire(case_id, "decide", "fed_wang", {})
        self.fire(case_id, "start_rectification", "prep_prec", {})


# 会员名册 of 滨江精密制造有限公司工会: (name, female, 八大群体 group or None, employer's name or None)
MEMBERS: list[tuple[str, bool, str | None, str | None]] = [
    ("陈建国", False, None, None), ("林秀英", True, None, None), ("黄志强", False, "truck_driver", None),
    ("周丽华", True, None, None), ("吴海涛", False, "security_guard", None), ("徐桂芳", True, None, None),
    ("孙国庆", False, "truck_driver", None), ("马晓燕", True, None, None), ("朱文斌", False, None, None),
    ("胡玉兰", True, "care_worker", None), ("郭志明", False, "security_guard", None), ("何春梅", True, None, None),
    ("高建华", False, None, None), ("罗美玲", True, None, None), ("梁伟东", False, "courier", "顺丰速运滨江网点"),
    ("宋红霞", True, "domestic_worker", "滨江家政服务中心"), ("谢振宇", False, None, None), ("韩雪梅", True, None, None),
    ("唐国华", False, "food_delivery", "美团外卖滨江站"), ("冯丽娟", True, None, None), ("于海波", False, None, None),
    ("董秀兰", True, None, None), ("萧志刚", False, "truck_driver", None), ("程晓红", True, None, None),
    ("曹建军", False, None, None), ("袁小芳", True, "mall_informant", "滨江万达广场"), ("邓文华", False, None, None),
    ("许丽萍", True, None, None), ("傅志勇", False, "estate_agent", "滨江链家门店"), ("沈春燕", True, None, None),
    ("曾庆丰", False, None, None), ("彭玉梅", True, None, None),
]


def _district(app: Flask, walker: "_Walker") -> str:
    """A district large enough for the coverage reports: see web/demo_district.py.

    Towns and communities are created as an administrator would; the 320
    enterprises (and the unions some founded before the system) go in through
    the register import, one `import_create` audit entry each; a few large
    enterprises then walk founding cases through the engine, stopped at
    different steps.
    """
    from .demo_district import load_district

    return load_district(app, walker, DEMO_PASSWORD)


__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "has_data", "load_demo"]
