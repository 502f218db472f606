"""The workflow packages, found and loaded: their definitions checked against the rules the engine knows.

A workflow package is an importable Python package whose folder holds `definition.yaml` (and optionally
`reasons.yaml`, `params.yaml`, `rules.py`, `pages/` or `pages.py`, `templates/`, `tests/`; see
docs/adding-a-workflow.md). The built-in ones are the subpackages of `workflows`; an installation adds its
own by import name. Importing a package's `rules` registers its guards, effects and conditions.
"""
from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from definitions import Catalog, Definition, DefinitionError
from definitions.loader import DEFINITION, PROFILES_DIR, REASONS_DIR, display_name

from .competence import FIXED, RULES
from .rules import CONDITIONS, EFFECTS, GUARDS

BUILTIN = "workflows"


def builtin_packages() -> tuple[str, ...]:
    """The import names of the built-in workflow packages (`workflows.<name>`), by name."""
    spec = importlib.util.find_spec(BUILTIN)
    folders = spec.submodule_search_locations if spec is not None else None
    found = {p.parent.name for root in folders or () for p in Path(root).glob(f"*/{DEFINITION}")}
    return tuple(f"{BUILTIN}.{name}" for name in sorted(found))


def package_folder(module: str) -> Path:
    """The folder of an importable workflow package."""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DefinitionError(f"{module}: no workflow package of that name can be imported")
    return Path(next(iter(spec.submodule_search_locations)))


def load_rules(module: str) -> None:
    """Import the package's `rules` module, if it has one: that registers its rules."""
    if importlib.util.find_spec(f"{module}.rules") is not None:
        importlib.import_module(f"{module}.rules")


def check_definition(d: Definition) -> None:
    """Every name a definition uses must be on the engine's allow-lists."""
    name = display_name(Path(d.path))
    tables = (("guard", "guards", GUARDS), ("effect", "effects", EFFECTS),
              ("condition", "conditions", CONDITIONS), ("condition", "unless", CONDITIONS))
    for t in d.transitions:
        for kind, attr, table in tables:
            for rule in getattr(t, attr):
                if rule not in table:
                    raise DefinitionError(f"{name}:{t.line}: transition {t.trigger!r}: unknown {kind} {rule!r}")
        if t.competent not in RULES and t.competent != FIXED:
            raise DefinitionError(f"{name}:{t.line}: transition {t.trigger!r}: unknown competence rule {t.competent!r}")
        if t.fix_competent is not None and t.fix_competent not in RULES:
            raise DefinitionError(
                f"{name}:{t.line}: transition {t.trigger!r}: unknown competence rule {t.fix_competent!r}")
    c = d.creation
    for kind, attr, table in (("guard", "guards", GUARDS), ("effect", "effects", EFFECTS)):
        for rule in getattr(c, attr):
            if rule not in table:
                raise DefinitionError(f"{name}: create: unknown {kind} {rule!r}")
    if c.fix_competent is not None and c.fix_competent not in RULES:
        raise DefinitionError(f"{name}: create: unknown competence rule {c.fix_competent!r}")


def checked_catalog(
    packages: Sequence[str] | None = None,
    extra: Sequence[str] = (),
    folders: Sequence[Path] = (),
    profiles_dir: Path = PROFILES_DIR,
    reasons_dir: Path = REASONS_DIR,
) -> Catalog:
    """The catalogue of the built-in packages (or `packages`), the `extra` ones (import names) and any bare
    `folders` (definitions whose rules are already registered), each definition checked."""
    modules = [*(builtin_packages() if packages is None else packages), *extra]
    for module in modules:
        load_rules(module)
    folder_of = {module: package_folder(module) for module in modules}
    catalog = Catalog([*folder_of.values(), *folders], profiles_dir, reasons_dir)
    by_folder = {folder: module for module, folder in folder_of.items()}
    catalog.modules.update({name: by_folder[f] for name, f in catalog.packages.items() if f in by_folder})
    for d in catalog.versions.values():
        check_definition(d)
    return catalog


@cache
def default() -> Catalog:
    return checked_catalog()
