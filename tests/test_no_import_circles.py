"""No module of our packages imports itself back, at module level or inside a function.

A circle works only as long as the modules happen to be loaded in one order;
a function-level import hides the circle from the loader but not from the
reader. Every `.py` under the packages is parsed (nothing is imported), every
import at any depth is an edge:

* `import a.b.c` imports `a`, `a.b` and `a.b.c`;
* `from p import n` imports `p`'s `__init__` and `p.n` when that is a module;
  `from . import x` (x a submodule of the importer's own package) imports only
  `x`: the importer's own packages are loaded before it anyway.
"""
from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("definitions", "storage", "audit", "workflow", "services", "web", "workflows")
KNOWN: dict[str, str] = {}  # a package with a circle it cannot lose yet, and why


def modules(root: Path, packages: tuple[str, ...]) -> dict[str, tuple[Path, bool]]:
    """Dotted name → (file, is a package's __init__) of every module under `packages`."""
    out: dict[str, tuple[Path, bool]] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_init = parts[-1] == "__init__"
            if is_init:
                parts.pop()
            out[".".join(parts)] = (path, is_init)
    return out


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _base(importer: str, is_init: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = importer.split(".") if is_init else importer.split(".")[:-1]
    parts = parts[:len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module → the modules of ours it imports (anywhere in its body)."""
    mods = modules(root, packages)
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for importer, (path, is_init) in mods.items():
        own = set(_ancestors(importer))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: set[str] = set()
            if isinstance(node, ast.Import):
                for alias in node.names:
                    targets.update(t for t in [*_ancestors(alias.name), alias.name] if t not in own)
            elif isinstance(node, ast.ImportFrom):
                base = _base(importer, is_init, node)
                targets.update(t for t in _ancestors(base) if t not in own)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in mods:
                        targets.add(sub)
                    if not (sub in mods and base in own | {importer}):
                        targets.add(base)  # a name (or a module of another package) runs base's __init__
            graph[importer].update(t for t in targets if t in mods and t != importer)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle (a → … → a) through each group of modules that reach each other (Tarjan's SCCs)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(v: str) -> None:  # the graph is a few hundred modules: recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_shortest_circle(graph, group) for group in groups]


def _shortest_circle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    start = min(group)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(graph[v] & group):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if w not in came_from:
                came_from[w] = v
                queue.append(w)
    raise AssertionError(f"no circle in {sorted(group)}")  # pragma: no cover - a group always has one


def circles_touching(package: str, found: list[list[str]]) -> list[list[str]]:
    return [c for c in found if any(m == package or m.startswith(package + ".") for m in c)]


@pytest.fixture(scope="module")
def found() -> list[list[str]]:
    return circles(import_graph(ROOT, PACKAGES))


@pytest.mark.parametrize("package", [
    pytest.param(p, marks=pytest.mark.xfail(reason=KNOWN[p], strict=False)) if p in KNOWN else p
    for p in PACKAGES
])
def test_no_import_circle(package, found):
    mine = circles_touching(package, found)
    assert not mine, "import circles:\n" + "\n".join(" → ".join(c) for c in mine)


def test_the_check_finds_circles(tmp_path):
    """Module level, inside a function, relative, `from . import x` and through a package's __init__."""
    files = {
        "pkg/__init__.py": "from .a import thing\n",
        "pkg/a.py": "def f():\n    from . import b\nthing = 1\n",
        "pkg/b.py": "import pkg.c\n",
        "pkg/c.py": "from .a import thing\n",
        "pkg/d.py": "from pkg import thing\n",  # a name of pkg: pkg/__init__ → a, never back to d
        "pkg/e.py": "from . import f\n",
        "pkg/f.py": "from pkg import a\n",  # a submodule of its own package: no edge to pkg/__init__
        "other/__init__.py": "",
        "other/x.py": "from pkg.d import thing\n",
        "other/y.py": "from pkg import e\n",
    }
    for name, body in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
    graph = import_graph(tmp_path, ("pkg", "other"))
    assert graph["pkg.d"] == {"pkg"} and graph["pkg.f"] == {"pkg.a"} and graph["other.y"] == {"pkg", "pkg.e"}
    assert circles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
    assert circles_touching("other", circles(graph)) == []

    (tmp_path / "pkg/a.py").write_text("thing = 1\n", encoding="utf-8")
    (tmp_path / "pkg/c.py").write_text("from pkg import thing\n", encoding="utf-8")
    (tmp_path / "pkg/__init__.py").write_text("from .a import thing\nfrom . import c\n", encoding="utf-8")
    assert circles(import_graph(tmp_path, ("pkg",))) == [["pkg", "pkg.c", "pkg"]]
