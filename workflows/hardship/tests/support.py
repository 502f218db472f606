"""Shared by the hardship tests (API, pages, uploads, browser): a settable clock, an enterprise
with a founded union and its union reviewer, applications, real little files, and a walk
through the JSON API up to a given state."""
from __future__ import annotations

import struct
import zlib
from datetime import date
from typing import Any

import pytest

MONDAY = date(2026, 11, 2)          # the walks start here
POSTING_ENDS = date(2026, 11, 9)    # 5 working days after a Monday posting: the next Monday
ALL_MATERIALS = ["archive_form", "id_copies", "household_register", "income_proof", "diagnosis"]
BASE_MATERIALS = ALL_MATERIALS[:4]


class Clock:
    """The engine's today, set by the test (UNIONFLOW_CLOCK)."""

    def __init__(self, today: date):
        self.today = today

    def __call__(self) -> date:
        return self.today


def id_number(body17: str) -> str:
    """An 18-character ID number, its check character computed here: (12 - S mod 11) mod 11."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(body17))
    value = (12 - total % 11) % 11
    return body17 + ("X" if value == 10 else str(value))


APPLICANT_ID = id_number("11010519800101001")
SPOUSE_ID = id_number("11010519820202002")
CHILD_ID = id_number("11010520100303003")


def bad_check(number: str) -> str:
    return number[:17] + next(c for c in "0123456789X" if c != number[17])


def household_ids(n: int) -> tuple[str, str, str]:
    """The ID numbers of the n-th other household (一户一档: every household opens one file)."""
    return (id_number(f"11010619800101{n:03d}"), id_number(f"11010619820202{n:03d}"),
            id_number(f"11010620100303{n:03d}"))


def application(income: Any = 1800, *, name: str = "王芳", status: str = "married", causes=("illness",),
                medical: Any = 0, loss: Any = 0, materials=ALL_MATERIALS, household=None,
                ids: tuple[str, str, str] = (APPLICANT_ID, SPOUSE_ID, CHILD_ID)) -> dict[str, Any]:
    """A married applicant's household (self, spouse, child): `income` is the applicant's, the others earn 0."""
    if household is None:
        household = [
            {"name": name, "relation": "self", "id_number": ids[0], "monthly_income": income},
            {"name": "李强", "relation": "spouse", "id_number": ids[1], "monthly_income": 0},
            {"name": "李小明", "relation": "child", "id_number": ids[2], "monthly_income": 0},
        ]
    return {"applicant": {"name": name, "id_number": ids[0]}, "marital_status": status,
            "household": household, "causes": list(causes), "out_of_pocket_medical": medical,
            "disaster_loss": loss, "materials": list(materials)}


def single(income: Any, causes=(), medical: Any = 0, loss: Any = 0, n: int = 0) -> dict[str, Any]:
    """A one-person household (unmarried, no parents listed): per-capita income is `income`."""
    household = [{"name": "赵敏", "relation": "self", "monthly_income": income}]
    return application(name="赵敏", status="unmarried", causes=causes, medical=medical, loss=loss,
                       household=household, ids=household_ids(900 + n) if n else (APPLICANT_ID, SPOUSE_ID, CHILD_ID))


# ---------------------------------------------------------------- files made from bytes

def png_bytes(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pdf_bytes(text: str = "Hardship archive form", pad: int = 0) -> bytes:
    body = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
            b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
            + b"% " + text.encode("ascii") + b"\n" + b"%" * pad
            + b"\ntrailer <</Root 1 0 R>>\n%%EOF\n")
    return body


def pdf_of_size(size: int) -> bytes:
    head = pdf_bytes()
    return pdf_bytes(pad=size - len(head))


def jpeg_bytes() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32 + b"\xff\xd9"


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY)


@pytest.fixture
def founded(tree, make_user, db) -> dict[str, Any]:
    """ENT-L (under FED) with a founded union, its union reviewer `ent_rev` and a second preparer."""
    from tests.support import audited_org_update

    with db.write() as session:
        audited_org_update(session, "ENT-L", union_status="founded", member_count=50)
    users = dict(tree)
    users["ent_rev"] = make_user("ent_rev", "reviewer", "ENT-L")
    users["prep2"] = make_user("prep2", "preparer", "ENT-L")
    return users


def config_for(app_config: dict[str, Any], clock: Clock, tmp_path, max_bytes: int = 4096) -> dict[str, Any]:
    return {**app_config, "UNIONFLOW_CLOCK": clock, "UPLOAD_DIR": str(tmp_path / "uploads"),
            "UPLOAD_MAX_BYTES": max_bytes}


# ---------------------------------------------------------------- a walk through the API

ORDER = ["draft", "applied", "reviewed", "posting", "submitted", "assisted", "closed"]


def walk(api: Any, fire: Any, users: dict[str, Any], clock: Clock, until: str,
         data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create a case for ENT-L and fire the happy path until the case stands in `until`."""
    clock.today = MONDAY
    resp = api.post("/cases", users["prep"], {"workflow": "hardship", "org": "ENT-L", "data": data or application()})
    assert resp.status_code == 201, resp.get_json()
    case = resp.get_json()
    steps = [
        ("applied", users["prep"], "submit", {}, ""),
        ("reviewed", users["ent_rev"], "approve_review", {}, "经工会委员会研究同意"),
        ("posting", users["ent_rev"], "start_posting", {"posted_on": MONDAY.isoformat()}, ""),
        ("submitted", users["ent_rev"], "submit_to_federation", {}, "公示期满无异议"),
        ("assisted", users["fed"], "determine", {"amount": 2000}, "汇总平衡后确定"),
        ("closed", users["fed"], "close_file", {}, "已脱困"),
    ]
    for state, who, trigger, body, comment in steps:
        if ORDER.index(state) > ORDER.index(until):
            break
        if trigger == "submit_to_federation":
            clock.today = POSTING_ENDS
        case = fire(who, case["id"], trigger, body, comment)
        assert case["state"] == state
    return case
