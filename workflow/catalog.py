"""The loaded definitions, checked against the rules the engine knows."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from definitions import Catalog, Definition, DefinitionError

from . import guards as _guards  # noqa: F401  (registers every rule)
from .competence import FIXED, RULES
from .rules import CONDITIONS, EFFECTS, GUARDS


def check_definition(d: Definition) -> None:
    """Every name a definition uses must be on the engine's allow-lists."""
    name = Path(d.path).name
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
            raise DefinitionError(f"{name}:{t.line}: transition {t.trigger!r}: unknown competence rule {t.fix_competent!r}")
    c = d.creation
    for kind, attr, table in (("guard", "guards", GUARDS), ("effect", "effects", EFFECTS)):
        for rule in getattr(c, attr):
            if rule not in table:
                raise DefinitionError(f"{name}: create: unknown {kind} {rule!r}")
    if c.fix_competent is not None and c.fix_competent not in RULES:
        raise DefinitionError(f"{name}: create: unknown competence rule {c.fix_competent!r}")


def checked_catalog(**kwargs) -> Catalog:
    catalog = Catalog(**kwargs)
    for d in catalog.versions.values():
        check_definition(d)
    return catalog


@lru_cache(maxsize=None)
def default() -> Catalog:
    return checked_catalog()
