"""The roster import (会员名册导入) on a large 实名制 file: rows per second, against the same rows put on the
roster one by one through the engine (the joining workflow: application, submission, approval).

`python -m bench.roster_import [--rows N] [--baseline-rows M] [--format csv|xlsx] [--url URL]` imports a
generated roster of N people into one founded union of a fresh SQLite database (or the database at --url),
with every member's audit entry, and verifies the trail afterwards; then it puts the first M of the same
people on the roster of a fresh database one at a time through the engine (M defaults to 500: the one-by-one
path takes milliseconds a member, so its rate is measured on a sample). It prints the figures and writes
bench/results/roster_import.json (roster_import_postgresql.json for a PostgreSQL --url), with the keys
`roster_import_rows_per_s` (the import, reading the file included) and `roster_import_vs_engine` (that rate
over the engine's).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.import_register import _reset_postgres

RESULTS = Path(__file__).resolve().parent / "results"
HEADER = ["姓名", "身份证号", "工作单位", "入会日期", "八大群体", "会员编号"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
GROUPS = ("", "", "快递员", "网约送餐员", "货车司机", "", "保安员", "家政服务员")
UNION = "BU"


def id_number(n: int) -> str:
    """The n-th distinct valid 身份证号 (born on a day of 1960-1999, sequence 000-999)."""
    from workflow import id_number_check_character

    day, seq = divmod(n, 1000)
    year, rest = 1960 + day // 336, day % 336
    body = f"330102{year}{rest // 28 + 1:02d}{rest % 28 + 1:02d}{seq:03d}"
    return body + id_number_check_character(body)


def roster_rows(count: int) -> list[list[Any]]:
    rows = []
    for i in range(count):
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)]
        joined = f"20{10 + i % 15:02d}-{i % 12 + 1:02d}-{i % 28 + 1:02d}"
        rows.append([name, id_number(i), "" if i % 3 else UNION, joined, GROUPS[i % len(GROUPS)], ""])
    return rows


def make_roster(count: int, fmt: str = "csv") -> bytes:
    rows = roster_rows(count)
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("会员名册")
        sheet.append(HEADER)
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return b"\xef\xbb\xbf" + text.getvalue().encode("utf-8")


def _fresh(tmp: str, name: str, url: str | None) -> tuple[Any, Any, Any]:
    """A migrated database with a federation and one founded enterprise union, and its preparer and reviewer."""
    import audit
    from services.accounts import create_org, create_user
    from storage import Database, migrate
    from workflow import Actor, org_state

    url = url or f"sqlite:///{tmp}/{name}.db"
    if url.startswith("postgres"):
        _reset_postgres(url)
    migrate.upgrade(url)
    db = Database(url)
    with db.write() as s:
        create_org(s, code="BF", name="bench federation", kind="federation")
        org = create_org(s, code=UNION, name="测试精密机械有限公司", kind="enterprise", parent="BF", employees=200_000,
                         female_employees=90_000)
        org.union_status, org.member_count = "founded", 0
        s.flush()
        audit.append(s, actor="bench", role="admin", subject_type="org", subject_id=org.code, trigger="import_update",
                     from_state=None, to_state=org_state(org), version=None,
                     data={"changes": {"union_status": ["none", "founded"], "member_count": [None, 0]}})
        prep = create_user(s, username="bench_prep", password="bench-password-1", role="preparer", org=UNION)
        rev = create_user(s, username="bench_rev", password="bench-password-1", role="reviewer", org=UNION)
        actors = (Actor.of(prep), Actor.of(rev))
    return db, actors[0], actors[1]


def _verify(db: Any, engine: Any) -> bool:
    import audit

    with db.read() as s:
        return audit.verify(s, lambda: engine.subjects(s)).ok and not engine.verify_entities(s)


def _engine() -> Any:
    from workflow import Engine, default_catalog

    return Engine(default_catalog())


def measure(rows: int = 100_000, baseline_rows: int = 500, fmt: str = "csv", url: str | None = None) -> dict[str, Any]:
    """Import `rows` generated people at once (timed from the file's bytes to the commit), verify the trail,
    then put the first `baseline_rows` of them on a fresh roster one by one through the engine."""
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from services.accounts import get_org, set_password_hasher
    from services.roster_import import import_roster

    set_password_hasher(PasswordHasher.from_parameters(CHEAPEST))
    engine = _engine()
    content = make_roster(rows, fmt)
    with tempfile.TemporaryDirectory() as tmp:
        db, _prep, rev = _fresh(tmp, "import", url)
        start = time.perf_counter()
        with db.read() as s:
            checked = import_roster(s, engine, rev, get_org(s, UNION), content, filename=f"bench.{fmt}")
        dry = time.perf_counter() - start
        assert not checked.problems, checked.problems[:3]
        start = time.perf_counter()
        with db.write() as s:
            result = import_roster(s, engine, rev, get_org(s, UNION), content, filename=f"bench.{fmt}",
                                   dry_run=False)
        elapsed = time.perf_counter() - start
        assert len(result.member_ids) == rows
        start = time.perf_counter()
        verified = _verify(db, engine)
        verify_s = time.perf_counter() - start
        assert verified, "the trail does not verify after the import"
        db.dispose()

        db, prep, rev = _fresh(tmp, "engine", url)
        sample = roster_rows(min(baseline_rows, rows))
        start = time.perf_counter()
        for name, number, _employer, _joined, _group, _no in sample:
            with db.write() as s:
                case = engine.create_case(s, "membership", UNION, prep,
                                          {"applicant": {"name": name, "id_number": number}})
                case_id = case.id
            with db.write() as s:
                engine.fire(s, case_id, "submit", prep, {})
            with db.write() as s:
                engine.fire(s, case_id, "approve_membership", rev, {})
        one_by_one = time.perf_counter() - start
        assert _verify(db, engine)
        db.dispose()
    rate = rows / elapsed
    engine_rate = len(sample) / one_by_one
    return {
        "rows": rows, "format": fmt, "file_bytes": len(content), "dry_run_rows_per_s": round(rows / dry, 1),
        "roster_import_rows_per_s": round(rate, 1), "import_seconds": round(elapsed, 2),
        "verify_seconds": round(verify_s, 2), "engine_rows": len(sample),
        "engine_rows_per_s": round(engine_rate, 1), "roster_import_vs_engine": round(rate / engine_rate, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.roster_import")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=500,
                        help="people put on the roster one by one through the engine (the baseline)")
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--url", default=None,
                        help="database URL (default: a temporary SQLite file); a PostgreSQL one is wiped")
    args = parser.parse_args()
    result = measure(args.rows, args.baseline_rows, args.format, args.url)
    out = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "python": platform.python_version(),
           "machine": platform.machine(), "database": "postgresql" if args.url else "sqlite", **result}
    RESULTS.mkdir(exist_ok=True)
    name = "roster_import.json" if not args.url else f"roster_import_{out['database']}.json"
    (RESULTS / name).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{'format':<8}{'rows':>9}{'file KB':>9}{'check rows/s':>14}{'import rows/s':>15}{'engine rows/s':>15}"
          f"{'ratio':>8}")
    r = result
    print(f"{r['format']:<8}{r['rows']:>9}{r['file_bytes'] // 1024:>9}{r['dry_run_rows_per_s']:>14,.0f}"
          f"{r['roster_import_rows_per_s']:>15,.0f}{r['engine_rows_per_s']:>15,.0f}{r['roster_import_vs_engine']:>8}")


if __name__ == "__main__":
    main()
