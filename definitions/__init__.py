"""Workflow definitions and rule profiles as data, loaded into frozen objects.

Imports nothing of UnionFlow's own and nothing of SQLAlchemy, Flask or
transitions: a definition is a spec, a running case lives in `workflow/`.
"""
from .loader import (
    Catalog,
    DefinitionError,
    default_catalog,
    load_definition,
    load_params,
    load_profile,
    load_reasons,
    package_dirs,
)
from .model import Creation, Definition, FieldSpec, Label, Party, Profile, State, Transition, freeze, thaw

__all__ = [
    "Catalog", "Creation", "Definition", "DefinitionError", "FieldSpec", "Label", "Party", "Profile", "State",
    "Transition", "default_catalog", "freeze", "load_definition", "load_params", "load_profile", "load_reasons",
    "package_dirs", "thaw",
]
