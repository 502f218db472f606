"""The demonstration district's enterprise register: a few more towns and communities and 320 enterprises.

How the figures come about (so that the trail stays true):

* towns and communities are created with `create_org`, as an administrator would;
* the 320 enterprises — varied in size and trade, about half with a union
  founded before the system was used (是否建会/会员人数) — are loaded through the
  register import itself (`services.register.import_register`, from a CSV
  made here), so each has an `import_create` entry in the audit trail;
* a few large enterprises without a union then go through founding cases in
  the engine, stopped at different steps (one is sanctioned, so it counts as
  founded this year), which the ledger shows with their states.

Everything is drawn from a fixed random seed: every load gives the same district.
"""
from __future__ import annotations

import csv
import io
import random
from typing import Any

from flask import Flask

from services.accounts import create_org, create_user
from services.register import import_register
from workflow import CREDIT_CODE_ALPHABET as ALPHABET
from workflow import Actor
from workflow import credit_code_check_character as check_character

from .extensions import get_db

SEED = 20260401
ENTERPRISES = 320

# (code, name, kind, parent)
UNITS: list[tuple[str, str, str, str]] = [
    ("TOWN-XG", "新港街道工会", "town", "FED-HC"),
    ("TOWN-SQ", "石桥镇工会", "town", "FED-HC"),
    ("TOWN-GX", "高新园区工会", "town", "FED-HC"),
    ("COM-NM", "南门社区工会", "community", "TOWN-CG"),
    ("COM-FQ", "府前社区工会", "community", "TOWN-CG"),
    ("COM-JX", "江心社区工会", "community", "TOWN-BJ"),
    ("COM-GK", "港口社区工会", "community", "TOWN-XG"),
    ("COM-HB", "海滨社区工会", "community", "TOWN-XG"),
    ("COM-QL", "桥里社区工会", "community", "TOWN-SQ"),
    ("COM-CY", "创业社区工会", "community", "TOWN-GX"),
]
# per town: its communities, the share of the enterprises it holds, and how readily its enterprises found unions
TOWNS: dict[str, tuple[tuple[str, ...], int, float]] = {
    "TOWN-CG": (("COM-DM", "COM-NM", "COM-FQ"), 22, 1.05),
    "TOWN-BJ": (("COM-XH", "COM-JX"), 20, 0.95),
    "TOWN-XG": (("COM-GK", "COM-HB"), 22, 0.8),
    "TOWN-SQ": (("COM-QL",), 16, 0.6),
    "TOWN-GX": (("COM-CY",), 20, 1.35),
}
PLACES = {"TOWN-CG": ("城关", "海城"), "TOWN-BJ": ("滨江", "江岸"), "TOWN-XG": ("新港", "海州"),
          "TOWN-SQ": ("石桥", "南屿"), "TOWN-GX": ("高新", "东湖")}
CORES = ("华泰", "恒信", "宏达", "金鼎", "瑞丰", "永盛", "鑫源", "远航", "天成", "众诚", "博远", "嘉禾", "汇通",
         "鼎盛", "海润", "盛世", "长青", "利民", "新辉", "东升", "同创", "启明", "景川", "安达", "德丰", "弘毅",
         "锦程", "立信", "明远", "正泰", "华安", "万通", "佳禾", "润泽", "兴业", "致远", "凯达", "昌隆", "泰和", "合力")
# (trade, share of women, typical size bucket weights: small, medium, large, very large)
TRADES: list[tuple[str, float, tuple[int, int, int, int]]] = [
    ("物流有限公司", 0.25, (4, 4, 3, 1)), ("电子科技有限公司", 0.45, (3, 4, 4, 2)),
    ("精密机械有限公司", 0.2, (3, 4, 4, 2)), ("食品有限公司", 0.55, (4, 4, 3, 1)),
    ("纺织有限公司", 0.7, (3, 4, 4, 1)), ("建筑工程有限公司", 0.12, (3, 4, 3, 1)),
    ("物业服务有限公司", 0.45, (5, 4, 2, 0)), ("餐饮管理有限公司", 0.55, (6, 3, 1, 0)),
    ("商贸有限公司", 0.5, (7, 2, 1, 0)), ("医疗器械有限公司", 0.5, (3, 4, 3, 1)),
    ("汽车零部件有限公司", 0.25, (2, 4, 4, 2)), ("包装材料有限公司", 0.35, (4, 4, 2, 0)),
    ("信息技术有限公司", 0.35, (5, 4, 2, 1)), ("家政服务有限公司", 0.85, (6, 3, 1, 0)),
    ("酒店管理有限公司", 0.6, (3, 4, 2, 0)), ("新材料科技有限公司", 0.3, (3, 4, 3, 1)),
    ("印务有限公司", 0.4, (5, 3, 1, 0)), ("服饰有限公司", 0.75, (4, 4, 3, 0)),
    ("连锁超市有限公司", 0.65, (4, 3, 2, 0)), ("保安服务有限公司", 0.1, (4, 4, 2, 0)),
    ("快递服务有限公司", 0.2, (5, 3, 2, 0)), ("化工有限公司", 0.2, (3, 3, 3, 1)),
]
SIZES = ((5, 49), (50, 99), (100, 499), (500, 2600))
ROADS = ("人民路", "解放路", "滨江大道", "港城路", "建设路", "文昌路", "新华街", "工业大道", "科技路", "创业大道",
         "石桥街", "海晏路")

# large enterprises without a union that go through founding cases: (employees, female, stop before, members)
FOUNDINGS: list[tuple[str, str, int, int, str, tuple[int, int]]] = [
    ("DEMO-SQ-AUTO", "石桥汽车零部件制造有限公司", 1180, 260, "apply", (0, 0)),
    ("DEMO-XG-PORT", "新港港口物流有限公司", 860, 150, "approve_application", (0, 0)),
    ("DEMO-GX-CHIP", "高新芯联电子科技有限公司", 540, 230, "nominate", (420, 180)),
    ("DEMO-SQ-TEXT", "石桥锦绣纺织有限公司", 310, 220, "convene", (260, 190)),
    ("DEMO-XG-COLD", "新港冷链仓储有限公司", 180, 40, "register", (150, 30)),
]
PREPARERS = ("刘洋", "黄磊", "林静", "高峰", "马丽")  # the real names of the five preparatory groups' clerks
FOUNDING_PARENTS = {"DEMO-SQ-AUTO": "TOWN-SQ", "DEMO-XG-PORT": "TOWN-XG", "DEMO-GX-CHIP": "TOWN-GX",
                    "DEMO-SQ-TEXT": "TOWN-SQ", "DEMO-XG-COLD": "TOWN-XG"}


def _credit_code(rng: random.Random, used: set[str]) -> str:
    while True:
        body = "91330102MA" + "".join(rng.choice(ALPHABET) for _ in range(7))
        code = body + check_character(body)
        if code not in used:
            used.add(code)
            return code


def _rows(rng: random.Random, used_codes: set[str]) -> list[dict[str, Any]]:
    towns = list(TOWNS)
    weights = [TOWNS[t][1] for t in towns]
    used_names: set[str] = set()
    rows = []
    while len(rows) < ENTERPRISES:
        town = rng.choices(towns, weights)[0]
        communities, _share, readiness = TOWNS[town]
        trade, women, buckets = rng.choice(TRADES)
        name = f"{rng.choice(PLACES[town])}{rng.choice(CORES)}{trade}"
        if name in used_names:
            continue
        used_names.add(name)
        low, high = SIZES[rng.choices(range(4), [b * w for b, w in zip(buckets, (8, 4, 3, 1))])[0]]
        employees = int(low + (high - low) * rng.random() ** 2)
        female = min(employees, max(0, round(employees * rng.uniform(women - 0.1, women + 0.1))))
        # small enterprises sit under a community, the larger ones directly under the town
        parent = rng.choice(communities) if employees < 50 and rng.random() < 0.85 else town
        chance = (0.5 if employees < 25 else 0.65 if employees < 100 else 0.78 if employees < 300 else 0.9) * readiness
        founded = rng.random() < min(chance, 0.97)
        members = max(1, round(employees * rng.uniform(0.72, 0.99))) if founded else None
        rows.append({
            "企业名称": name, "统一社会信用代码": _credit_code(rng, used_codes),
            "地址": f"海城区{rng.choice(ROADS)}{rng.randint(1, 999)}号", "职工人数": employees, "女职工人数": female,
            "上级组织代码": parent, "是否建会": "已建会" if founded else "未建会", "会员人数": members or "",
        })
    return rows


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def load_district(app: Flask, walker: Any, password: str) -> str:
    """Add the district's register to the demo; `walker` walks the founding cases through the engine."""
    db = get_db(app)
    rng = random.Random(SEED)
    demo = Actor(0, "demo", "admin")
    used: set[str] = set()
    register = _csv(_rows(rng, used))
    with db.write() as session:
        for code, name, kind, parent in UNITS:
            create_org(session, code=code, name=name, kind=kind, parent=parent, actor="demo")
        for i, (code, name, employees, female, _until, _members) in enumerate(FOUNDINGS, start=1):
            create_org(session, code=code, name=name, kind="enterprise", parent=FOUNDING_PARENTS[code],
                       employees=employees, female_employees=female, credit_code=_credit_code(rng, used),
                       address=f"海城区工业大道{100 + i}号", actor="demo")
            create_user(session, username=f"prep_d{i}", password=password, role="preparer", org=code,
                        display_name=PREPARERS[i - 1], actor="demo")
        result = import_register(session, register, demo, filename="海城区企业名录（演示）.csv", dry_run=False)
        if not result.written:
            raise RuntimeError("the demo register did not import: " + "; ".join(p.text() for p in result.errors[:5]))
    for i, (code, _name, _employees, _female, until, members) in enumerate(FOUNDINGS, start=1):
        walker.founding(code, f"prep_d{i}", "fed_li", until=until, members=members)
    return f"{result.created} enterprises imported, {len(FOUNDINGS)} founding cases"
