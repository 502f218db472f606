"""The layering of STYLE.md, enforced by import-linter's contracts in pyproject.toml."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    exe = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def test_only_workflow_imports_transitions():
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {"workflow", ".venv", "tests", "bench"}:
            continue
        text = path.read_text(encoding="utf-8")
        if "import transitions" in text or "from transitions" in text:
            offenders.append(str(rel))
    assert offenders == []


def test_nothing_in_workflow_or_audit_commits():
    for package in ("workflow", "audit"):
        for path in (ROOT / package).rglob("*.py"):
            assert ".commit(" not in path.read_text(encoding="utf-8"), path
