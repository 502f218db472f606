"""The habits: ruff (with isort's rules) and mypy pass over the packages held to them, and no package's modules
import each other in a circle. The settings are pyproject.toml's, the same for `ruff check` and `mypy` by hand."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHECKED = ["audit", "storage", "workflow", "definitions"]


def _run(tool: str, *args: str) -> None:
    done = subprocess.run([str(BIN / tool), *args, *CHECKED], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{tool} {' '.join(args)} found problems:\n{done.stdout}{done.stderr}"


def test_ruff_passes():
    _run("ruff", "check", "--no-fix")


def test_mypy_passes():
    _run("mypy")


def _imports(package: str) -> dict[str, set[str]]:
    """Each module of `package` and the modules of the package it imports, at module level or in a function."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
            here = parts  # a package's relative imports start from the package itself
        else:
            here = parts[:-1]
        name = ".".join(parts)
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                start = here[:len(here) - node.level + 1] if node.level else []
                base = ".".join([*start, *filter(None, [node.module])])
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in node.names)
        found[name] = targets
    return {name: {t for t in targets if t in found and t != name} for name, targets in found.items()}


def _circle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def walk(name: str, path: list[str]) -> list[str] | None:
        for target in sorted(graph[name]):
            if target in path:
                return path[path.index(target):] + [target]
            if target not in done:
                circle = walk(target, path + [target])
                if circle:
                    return circle
        done.add(name)
        return None

    for name in sorted(graph):
        circle = walk(name, [name])
        if circle:
            return circle
    return None


def test_a_circle_is_found():
    assert _circle({"p": {"p.a"}, "p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}}) == ["p.a", "p.b", "p.c", "p.a"]
    assert _circle({"p": {"p.a", "p.b"}, "p.a": {"p.b"}, "p.b": set()}) is None


@pytest.mark.parametrize("package", CHECKED)
def test_no_import_circle(package):
    circle = _circle(_imports(package))
    assert circle is None, "an import circle: " + " -> ".join(circle or [])
