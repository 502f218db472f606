"""`flask members import FILE --org CODE [--dry-run]`: the problems as a table and exit code 1, nothing
written; a good file written with each member's audit entry; `flask audit verify` green after, red once an
imported row is changed behind the trail's back."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from workflows.membership.tests.support import unions  # noqa: F401  (fixtures)

from .support import bad_check, csv_bytes, member_count, members_of, people, person, row, xlsx_bytes


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=list(args))

    return invoke


def test_a_file_with_problems_prints_them_as_a_table_and_exits_1(run, db, unions, tmp_path):
    path = tmp_path / "名册.csv"
    path.write_bytes(csv_bytes([row("张伟", person(1)), row("李娜", bad_check(person(2))), row("", person(3))]))
    for extra in ((), ("--dry-run",)):
        result = run("members", "import", str(path), "--org", "ENT-L", *extra)
        assert result.exit_code == 1, result.output
        lines = result.stdout.splitlines()
        assert lines[0].split() == ["行", "列", "问题"]
        assert lines[1].split()[:2] == ["2", "身份证号"] and "校验码" in lines[1]
        assert lines[2].split()[:2] == ["3", "姓名"]
        assert "未写入任何数据" in result.stdout
    assert members_of(db, "ENT-L") == []


def test_a_good_file_is_imported_with_a_progress_bar_and_the_trail_verifies(run, db, unions, tmp_path):
    path = tmp_path / "名册.xlsx"
    path.write_bytes(xlsx_bytes([row(f"人{i}", n) for i, n in enumerate(people(30))]))
    dry = run("members", "import", str(path), "--org", "ENT-L", "--dry-run")
    assert dry.exit_code == 0 and "仅检查" in dry.stdout and members_of(db, "ENT-L") == []
    done = run("members", "import", str(path), "--org", "ENT-L", "--user", "rev_l")
    assert done.exit_code == 0, done.output
    assert "已导入 30 名会员" in done.stdout and "检查并导入" in done.stderr
    assert len(members_of(db, "ENT-L")) == 30 and member_count(db, "ENT-L") == 70
    verify = run("audit", "verify")
    assert verify.exit_code == 0, verify.output
    with db.write() as session:
        session.execute(text("UPDATE members SET group_code = 'courier' WHERE member_no = 'ENT-L-000007'"))
    verify = run("audit", "verify")
    assert verify.exit_code == 1


def test_who_and_where(run, unions, tmp_path):
    path = tmp_path / "名册.csv"
    path.write_bytes(csv_bytes([row()]))
    assert run("members", "import", str(path), "--org", "NOPE").exit_code == 2
    assert run("members", "import", str(path), "--org", "ENT-L", "--user", "nobody").exit_code == 2
    refused = run("members", "import", str(path), "--org", "ENT-L", "--user", "prep")
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    not_founded = run("members", "import", str(path), "--org", "ENT-M")
    assert not_founded.exit_code == 1 and "ENT-M" not in not_founded.stdout
