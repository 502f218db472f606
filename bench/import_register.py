"""The register import (企业名录导入) on a large file: rows per second and peak memory.

`python -m bench.import_register [--rows N] [--format csv|xlsx]` checks and
imports a generated register into a fresh SQLite database (or the database
at --url), prints the figures and writes bench/results/import_register.json
(import_register_postgresql.json for a PostgreSQL --url).
`measure()` returns them for other callers; `make_register()` makes the file.
Memory is Python's own allocations as tracemalloc sees them (the file, the
parsed rows, the ORM objects), not the process's resident size.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import platform
import random
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
HEADER = ["企业名称", "统一社会信用代码", "地址", "职工人数", "女职工人数", "上级组织代码", "是否建会", "会员人数"]
TRADES = ("物流有限公司", "电子科技有限公司", "食品有限公司", "纺织有限公司", "物业服务有限公司", "精密机械有限公司")


def credit_code(n: int, prefix: str = "91330100MB") -> str:
    from workflow import CREDIT_CODE_ALPHABET as ALPHABET
    from workflow import credit_code_check_character as check_character

    digits = []
    for _ in range(7):
        n, r = divmod(n, len(ALPHABET))
        digits.append(ALPHABET[r])
    body = prefix + "".join(reversed(digits))
    return body + check_character(body)


def register_rows(count: int, parents: list[str], seed: int = 7) -> list[list[Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        employees = rng.choice((8, 30, 60, 99, 100, 150, 420, 1300))
        founded = rng.random() < 0.5
        rows.append([f"测试{i:05d}{rng.choice(TRADES)}", credit_code(i), f"海城区测试路{i}号", employees,
                     employees // 3, parents[i % len(parents)], "已建会" if founded else "未建会",
                     max(1, employees * 4 // 5) if founded else ""])
    return rows


def make_register(count: int, parents: list[str], fmt: str = "csv", encoding: str = "utf-8-sig") -> bytes:
    rows = register_rows(count, parents)
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("企业名录")
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
    return text.getvalue().encode(encoding)


def _fresh(tmp: str, name: str, url: str | None, parents: list[str]) -> Any:
    """A migrated database holding a federation and the towns the rows go under."""
    from services.accounts import create_org
    from storage import Database, migrate

    url = url or f"sqlite:///{tmp}/{name}.db"
    if url.startswith("postgres"):
        _reset_postgres(url)
    migrate.upgrade(url)
    db = Database(url)
    with db.write() as s:
        create_org(s, code="BF", name="bench federation", kind="federation")
        for code in parents:
            create_org(s, code=code, name=code, kind="town", parent="BF")
    return db


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from storage import normalise_url

    engine = create_engine(normalise_url(url), poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def measure(rows: int = 10_000, fmt: str = "csv", url: str | None = None) -> dict[str, Any]:
    """Check and import `rows` generated rows: rows/s of each (timed without tracing), and the import's peak MB.

    The peak comes from a second import into a fresh database under tracemalloc,
    which slows Python down too much for its time to mean anything. A PostgreSQL
    `url` has its public schema dropped and made again: give a scratch database.
    """
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from services.accounts import set_password_hasher
    from services.register import import_register
    from workflow import Actor

    set_password_hasher(PasswordHasher.from_parameters(CHEAPEST))
    parents = [f"BT{i}" for i in range(5)]
    content = make_register(rows, parents, fmt)
    actor = Actor(0, "bench", "admin")
    with tempfile.TemporaryDirectory() as tmp:
        db = _fresh(tmp, "timed", url, parents)
        start = time.perf_counter()
        with db.read() as s:
            checked = import_register(s, content, actor, filename=f"bench.{fmt}", dry_run=True)
        dry = time.perf_counter() - start
        assert checked.ok, checked.errors[:3]
        start = time.perf_counter()
        with db.write() as s:
            result = import_register(s, content, actor, filename=f"bench.{fmt}", dry_run=False)
        elapsed = time.perf_counter() - start
        assert result.written and result.created == rows
        db.dispose()

        db = _fresh(tmp, "traced", url, parents)
        tracemalloc.start()
        with db.write() as s:
            import_register(s, content, actor, filename=f"bench.{fmt}", dry_run=False)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        db.dispose()
    return {
        "rows": rows, "format": fmt, "file_bytes": len(content),
        "dry_run_rows_per_s": round(rows / dry, 1), "import_rows_per_s": round(rows / elapsed, 1),
        "import_seconds": round(elapsed, 2), "peak_mb": round(peak / 1024 / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.import_register")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--format", choices=("csv", "xlsx"), default=None, help="one format (default: both)")
    parser.add_argument("--url", default=None,
                        help="database URL (default: a temporary SQLite file); a PostgreSQL one is wiped: a scratch one")
    args = parser.parse_args()
    results = [measure(args.rows, fmt, args.url) for fmt in ([args.format] if args.format else ["csv", "xlsx"])]
    out = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "python": platform.python_version(),
           "machine": platform.machine(), "database": "postgresql" if args.url else "sqlite", "results": results}
    RESULTS.mkdir(exist_ok=True)
    name = "import_register.json" if not args.url else f"import_register_{out['database']}.json"
    (RESULTS / name).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n",
                                                  encoding="utf-8")
    print(f"{'format':<8}{'rows':>8}{'file KB':>10}{'check rows/s':>14}{'import rows/s':>15}{'peak MB':>10}")
    for r in results:
        print(f"{r['format']:<8}{r['rows']:>8}{r['file_bytes'] // 1024:>10}{r['dry_run_rows_per_s']:>14,.0f}"
              f"{r['import_rows_per_s']:>15,.0f}{r['peak_mb']:>10}")


if __name__ == "__main__":
    main()
