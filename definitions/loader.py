"""Load and validate definition, profile and reason files into frozen objects.

Every problem in a file is reported as `DefinitionError("file:line: problem")`
so that whoever edits a rule profile sees exactly where it went wrong.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from .model import (
    COMMENT_RULES,
    FIELD_TYPES,
    ORG_KINDS,
    ROLES,
    SUGGESTIONS,
    Creation,
    Definition,
    FieldSpec,
    Label,
    Party,
    Profile,
    State,
    Transition,
    freeze,
)

HERE = Path(__file__).resolve().parent
PACKAGES_DIR = HERE.parent / "workflows"  # the built-in workflow packages, one folder each
PROFILES_DIR = HERE / "profiles"
REASONS_DIR = HERE / "reasons"  # the reasons every workflow shares; each package has its own beside it
DEFINITION, REASONS, PARAMS = "definition.yaml", "reasons.yaml", "params.yaml"
WAYS = ("forward", "back", "out", "leave")  # what a transition is to the procedure (see Transition.way)


class DefinitionError(ValueError):
    """A definition, profile or reason file is broken; the message names file and line."""


class _LineDict(dict):
    line: int = 0


if TYPE_CHECKING:
    from yaml import SafeLoader as _BaseLoader
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when present


class _Loader(_BaseLoader):
    """SafeLoader that remembers the line of every mapping (1-based)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    result = _LineDict()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise DefinitionError(
                f"{loader.name}:{key_node.start_mark.line + 1}: duplicate key {key!r}"
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def display_name(path: Path) -> str:
    """How a file is named in messages: a package's files with their package (`founding/definition.yaml`)."""
    return f"{path.parent.name}/{path.name}" if path.name in (DEFINITION, REASONS, PARAMS) else path.name


def package_dirs(root: Path = PACKAGES_DIR) -> list[Path]:
    """The workflow packages under `root`: every folder holding a definition.yaml, by name."""
    return sorted(p.parent for p in root.glob(f"*/{DEFINITION}"))


def _read_yaml(path: Path) -> tuple[Any, str]:
    name = display_name(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(f"{name}: cannot read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError(f"{name}: not UTF-8 text") from exc
    loader = _Loader(text)
    loader.name = name
    try:
        doc = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else 0
        raise DefinitionError(f"{name}:{line}: {exc.problem}") from exc
    finally:
        loader.dispose()
    return doc, hashlib.sha256(raw).hexdigest()


class _Checker:
    """Small helpers that turn a malformed value into a file:line error."""

    def __init__(self, path: Path):
        self.name = display_name(path)

    def fail(self, node: Any, problem: str) -> DefinitionError:
        line = getattr(node, "line", 0)
        return DefinitionError(f"{self.name}:{line}: {problem}")

    def mapping(self, node: Any, what: str) -> Mapping[str, Any]:
        if not isinstance(node, dict):
            raise self.fail(node, f"{what} must be a mapping")
        return node

    def require(self, node: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
        if key not in node:
            raise self.fail(node, f"{what}: missing key {key!r}")
        value = node[key]
        if not isinstance(value, kind):
            raise self.fail(node, f"{what}: {key!r} has the wrong type")
        return value

    def names(self, node: Mapping[str, Any], key: str, what: str) -> tuple[str, ...]:
        value = node.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(node, f"{what}: {key!r} must be a list of names")
        return tuple(value)

    def label(self, node: Any, what: str) -> Label:
        if isinstance(node, dict) and isinstance(node.get("zh"), str) and isinstance(node.get("en"), str):
            return Label(zh=node["zh"], en=node["en"])
        raise self.fail(node, f"{what}: label needs 'zh' and 'en' strings")

    def unknown_keys(self, node: Mapping[str, Any], allowed: set[str], what: str) -> None:
        extra = sorted(set(node) - allowed)
        if extra:
            raise self.fail(node, f"{what}: unknown key {extra[0]!r}")

    def fields(self, node: Any, what: str) -> tuple[FieldSpec, ...]:
        if node is None:
            return ()
        node = self.mapping(node, what)
        return tuple(self.field(name, spec, f"{what}.{name}") for name, spec in node.items())

    def field(self, name: str, spec: Any, what: str) -> FieldSpec:
        if isinstance(spec, str):  # shorthand: `name: integer`
            spec = _LineDict(type=spec)
        spec = self.mapping(spec, what)
        self.unknown_keys(
            spec,
            {"type", "required", "label", "values", "items", "fields", "min", "max", "max_length", "suggest"},
            what,
        )
        ftype = spec.get("type")
        if ftype not in FIELD_TYPES:
            raise self.fail(spec, f"{what}: type must be one of {sorted(FIELD_TYPES)}")
        items = None
        if ftype in ("list", "map"):
            if "items" not in spec:
                raise self.fail(spec, f"{what}: a {ftype} needs 'items'")
            items = self.field("item", spec["items"], f"{what}[]")
        sub = self.fields(spec.get("fields"), what) if ftype == "object" else ()
        values = self.names(spec, "values", what) if ftype == "enum" else ()
        if ftype == "enum" and not values:
            raise self.fail(spec, f"{what}: an enum needs 'values'")
        for key in ("min", "max", "max_length"):
            if key in spec and not isinstance(spec[key], int):
                raise self.fail(spec, f"{what}: {key!r} must be an integer")
        if "suggest" in spec and (spec["suggest"] not in SUGGESTIONS
                                  or (spec["suggest"] == "this_year") != (ftype == "integer")
                                  or (spec["suggest"] == "today") != (ftype == "date")):
            raise self.fail(spec, f"{what}: 'suggest' must be this_year (an integer) or today (a date)")
        return FieldSpec(
            name=name,
            type=ftype,
            required=bool(spec.get("required", False)),
            label=self.label(spec["label"], what) if "label" in spec else None,
            values=values,
            items=items,
            fields=sub,
            min=spec.get("min"),
            max=spec.get("max"),
            max_length=spec.get("max_length"),
            suggest=spec.get("suggest"),
        )


_TRANSITION_KEYS = {
    "trigger", "source", "dest", "roles", "label", "competent", "fix_competent", "reviews",
    "comment", "data", "guards", "effects", "conditions", "unless", "confirm", "record", "party", "way",
}
_PARTY_KEYS = {"label", "org_kind", "field", "sees_case", "may_be_case_org"}
# an entity's name is the subject type of its audit entries (16 characters at most)
_ENTITY_NAME = re.compile(r"[a-z][a-z0-9_]{0,15}")


def _parties(c: _Checker, node: Any, creation: Creation) -> tuple[Party, ...]:
    """`parties:` maps a party's name to its label, organisation kind(s), the creation data field naming
    its organisation and whether its side sees the case."""
    if node is None:
        return ()
    node = c.mapping(node, "parties")
    fields = {f.name: f for f in creation.data}
    parties = []
    for name, spec in node.items():
        what = f"party {name!r}"
        if not isinstance(name, str) or not _ENTITY_NAME.fullmatch(name):
            raise c.fail(node, f"{what}: a party's name is a snake_case word of at most 16 characters")
        spec = c.mapping(spec, what)
        c.unknown_keys(spec, _PARTY_KEYS, what)
        kinds = c.names(spec, "org_kind", what)
        if not kinds or not set(kinds) <= set(ORG_KINDS):
            raise c.fail(spec, f"{what}: org_kind must be one or more of {list(ORG_KINDS)}")
        field_name = spec.get("field")  # none: the party joins with its first step (Engine.join_and_fire)
        if field_name is not None and (field_name not in fields or fields[field_name].type != "string"):
            raise c.fail(spec, f"{what}: field {field_name!r} must be a string field of create.data")
        for flag in ("sees_case", "may_be_case_org"):
            if not isinstance(spec.get(flag, False), bool):
                raise c.fail(spec, f"{what}: {flag!r} must be true or false")
        parties.append(Party(
            name=name, label=c.label(spec.get("label"), what), org_kinds=kinds, field=field_name,
            sees_case=spec.get("sees_case", True), may_be_case_org=spec.get("may_be_case_org", False),
            line=cast(_LineDict, spec).line,
        ))
    return tuple(parties)


def _entities(c: _Checker, doc: Mapping[str, Any]) -> tuple[str, ...]:
    names = c.names(doc, "entities", "definition")
    for name in names:
        if not _ENTITY_NAME.fullmatch(name) or name == "case":
            raise c.fail(doc, f"entities: {name!r} is not an entity name (snake_case, at most 16 characters)")
    if len(set(names)) != len(names):
        raise c.fail(doc, "entities: a name is listed twice")
    return names


def load_definition(path: Path) -> Definition:
    """Read, validate and freeze one workflow definition file."""
    doc, fingerprint = _read_yaml(path)
    c = _Checker(path)
    doc = c.mapping(doc, "definition")
    c.unknown_keys(
        doc,
        {"name", "version", "title", "initial", "states", "transitions", "create", "extra", "parties", "entities"},
        "definition",
    )
    name = c.require(doc, "name", str, "definition")
    version = str(c.require(doc, "version", (str, int), "definition"))
    title = c.label(c.require(doc, "title", dict, "definition"), "title")

    states: list[State] = []
    for node in c.require(doc, "states", list, "definition"):
        node = c.mapping(node, "state")
        c.unknown_keys(node, {"name", "label", "final"}, "state")
        sname = c.require(node, "name", str, "state")
        if any(s.name == sname for s in states):
            raise c.fail(node, f"state {sname!r} defined twice")
        states.append(State(sname, c.label(node.get("label"), f"state {sname}"), bool(node.get("final", False))))
    state_names = {s.name for s in states}
    initial = c.require(doc, "initial", str, "definition")
    if initial not in state_names:
        raise c.fail(doc, f"initial state {initial!r} is not among the states")

    transitions: list[Transition] = []
    for node in c.require(doc, "transitions", list, "definition"):
        node = c.mapping(node, "transition")
        trigger = c.require(node, "trigger", str, "transition")
        what = f"transition {trigger!r}"
        c.unknown_keys(node, _TRANSITION_KEYS, what)
        sources = c.names(node, "source", what)
        if sources == ("*",):
            sources = tuple(s.name for s in states if not s.final)
        if not sources:
            raise c.fail(node, f"{what}: missing key 'source'")
        dest = c.require(node, "dest", str, what)
        for s in (*sources, dest):
            if s not in state_names:
                raise c.fail(node, f"{what}: unknown state {s!r}")
        roles = c.names(node, "roles", what)
        if roles == ("system",):
            pass  # a step the system alone takes (the deadline sweep: an expiry); no user has this role
        elif not roles or not set(roles) <= ROLES:
            raise c.fail(node, f"{what}: roles must be a non-empty subset of {sorted(ROLES)}, or [system] alone")
        if {"auditor", "admin"} & set(roles):
            raise c.fail(node, f"{what}: auditors and admins never fire a workflow step")
        record = node.get("record", "merge")
        if record not in ("merge", "none"):
            raise c.fail(node, f"{what}: record must be 'merge' or 'none'")
        way = node.get("way", "forward")
        if way not in WAYS:
            raise c.fail(node, f"{what}: way must be one of {', '.join(WAYS)}")
        comment = node.get("comment", "optional")
        if comment not in COMMENT_RULES:
            raise c.fail(node, f"{what}: comment must be 'optional' or 'required'")
        party = node.get("party")
        if party is not None:
            if not isinstance(party, str):
                raise c.fail(node, f"{what}: party must be the name of a party")
            if "competent" in node or "fix_competent" in node:
                raise c.fail(node, f"{what}: a party's step is decided by the party; it takes no competence rule")
        for source in sources:
            transitions.append(
                Transition(
                    trigger=trigger,
                    source=source,
                    dest=dest,
                    roles=roles,
                    label=c.label(node.get("label"), what),
                    competent=node.get("competent", "case_org"),
                    fix_competent=node.get("fix_competent"),
                    reviews=c.names(node, "reviews", what),
                    comment=comment,
                    data=c.fields(node.get("data"), f"{what}.data"),
                    guards=c.names(node, "guards", what),
                    effects=c.names(node, "effects", what),
                    conditions=c.names(node, "conditions", what),
                    unless=c.names(node, "unless", what),
                    confirm=bool(node.get("confirm", False)),
                    record=record,
                    party=party,
                    way=way,
                    line=cast(_LineDict, node).line,
                )
            )
    triggers = {t.trigger for t in transitions}
    for t in transitions:
        for r in t.reviews:
            if r not in triggers and r != "create":  # `create`: the decision judges the case as created
                raise DefinitionError(f"{path.name}:{t.line}: transition {t.trigger!r} reviews unknown trigger {r!r}")
    # several transitions of one trigger from one source must be told apart by conditions
    seen: dict[tuple[str, str], int] = {}
    for t in transitions:
        seen[(t.trigger, t.source)] = seen.get((t.trigger, t.source), 0) + 1
    for t in transitions:
        if seen[(t.trigger, t.source)] > 1 and not (t.conditions or t.unless):
            raise DefinitionError(
                f"{path.name}:{t.line}: transition {t.trigger!r} from {t.source!r} has several "
                "destinations but no conditions to choose between them"
            )

    create = c.mapping(c.require(doc, "create", dict, "definition"), "create")
    c.unknown_keys(create, {"roles", "data", "guards", "effects", "fix_competent", "unique", "org_kind"}, "create")
    unique = create.get("unique")
    if unique is not None:
        unique = c.mapping(unique, "create.unique")
        if unique.get("scope") not in ("open", "key") or not isinstance(unique.get("reason"), str):
            raise c.fail(unique, "create.unique needs scope 'open' or 'key' and a reason")
        if unique["scope"] == "key" and not isinstance(unique.get("key"), str):
            raise c.fail(unique, "create.unique with scope 'key' needs the data field in 'key'")
    org_kind = create.get("org_kind", "enterprise")
    if org_kind not in ORG_KINDS:
        raise c.fail(create, f"create.org_kind must be one of {list(ORG_KINDS)}")
    creation = Creation(
        roles=c.names(create, "roles", "create"),
        data=c.fields(create.get("data"), "create.data"),
        guards=c.names(create, "guards", "create"),
        effects=c.names(create, "effects", "create"),
        fix_competent=create.get("fix_competent"),
        unique=freeze(dict(unique)) if unique else None,
        org_kind=org_kind,
    )
    parties = _parties(c, doc.get("parties"), creation)
    seeing = {p.name: p.sees_case for p in parties}
    for t in transitions:
        if t.party is not None and t.party not in seeing:
            raise DefinitionError(f"{path.name}:{t.line}: transition {t.trigger!r}: unknown party {t.party!r}")
        if t.party is not None and not seeing[t.party]:
            raise DefinitionError(f"{path.name}:{t.line}: transition {t.trigger!r}: party {t.party!r} decides a "
                                  "step but does not see the case (sees_case: false)")
    return Definition(
        name=name,
        version=version,
        title=title,
        initial=initial,
        states=tuple(states),
        transitions=tuple(transitions),
        creation=creation,
        fingerprint=fingerprint,
        path=str(path),
        extra=freeze(dict(doc.get("extra") or {})),
        parties=parties,
        entities=_entities(c, doc),
    )


def load_params(path: Path) -> Mapping[str, Any]:
    """A workflow package's default parameters (`params.yaml`: parameter -> value); none when it has no file."""
    if not path.exists():
        return freeze({})
    doc, _ = _read_yaml(path)
    return freeze(dict(_Checker(path).mapping(doc if doc is not None else _LineDict(), "params")))


def load_profile(path: Path, profiles_dir: Path | None = None, _seen: tuple[str, ...] = (),
                 packages: Mapping[str, Mapping[str, Any]] | None = None) -> Profile:
    """Read a profile; `extends: NAME` merges the named profile's parameters underneath, and a profile that
    extends none has the workflow packages' own parameters (`packages`, by workflow) underneath."""
    doc, fingerprint = _read_yaml(path)
    c = _Checker(path)
    doc = c.mapping(doc, "profile")
    c.unknown_keys(doc, {"name", "title", "extends", "params"}, "profile")
    name = c.require(doc, "name", str, "profile")
    if name != path.stem:
        raise c.fail(doc, f"profile name {name!r} does not match the file name {path.stem!r}")
    params = c.mapping(doc.get("params") or _LineDict(), "params")
    merged: dict[str, dict[str, Any]] = {}
    base = doc.get("extends")
    if base is not None:
        if base in _seen or base == name:
            raise c.fail(doc, f"profile {name!r} extends itself through {base!r}")
        parent = load_profile((profiles_dir or path.parent) / f"{base}.yaml", profiles_dir, (*_seen, name),
                              packages)
        merged = {wf: dict(p) for wf, p in parent.params.items()}
        fingerprint = hashlib.sha256((parent.fingerprint + fingerprint).encode()).hexdigest()
    elif packages:
        merged = {wf: dict(p) for wf, p in packages.items()}
        fingerprint = hashlib.sha256((fingerprint + repr(sorted(packages.items()))).encode()).hexdigest()
    for workflow, values in params.items():
        values = c.mapping(values, f"params.{workflow}")
        if base is not None and workflow not in merged and packages is not None and workflow not in packages:
            continue  # a workflow this catalogue does not hold: nothing to override
        target = merged.setdefault(workflow, {})
        for key, value in values.items():
            if base is not None and key not in target:
                raise c.fail(values, f"params.{workflow}: {key!r} is not a parameter of profile {base!r}")
            if base is None and workflow in (packages or {}) and key not in target:
                raise c.fail(values, f"params.{workflow}: {key!r} is not a parameter of workflow {workflow!r}")
            target[key] = value
    return Profile(
        name=name,
        title=c.label(doc.get("title"), "profile title"),
        params=freeze(merged),
        fingerprint=fingerprint,
        path=str(path),
    )


def load_reasons(directory: Path = REASONS_DIR, files: Sequence[Path] = ()) -> Mapping[str, Label]:
    """Every reason code with its Chinese and English message template: the shared ones of `directory` and
    those of the workflow packages (`files`)."""
    result: dict[str, Label] = {}
    for path in [*sorted(directory.glob("*.yaml")), *files]:
        doc, _ = _read_yaml(path)
        c = _Checker(path)
        doc = c.mapping(doc, "reasons")
        for code, node in doc.items():
            if code in result:
                raise c.fail(node, f"reason {code!r} is defined in more than one file")
            result[code] = c.label(node, f"reason {code}")
    return freeze(result)


class Catalog:
    """Every workflow package's definition (by name), reasons and parameters, and the rule profiles, loaded
    once. A package is a folder with `definition.yaml` and, optionally, `reasons.yaml`, `params.yaml` and
    `archive/*.yaml` (superseded versions, still loadable: a case keeps the version it started under)."""

    def __init__(
        self,
        packages: Sequence[Path] | None = None,
        profiles_dir: Path = PROFILES_DIR,
        reasons_dir: Path = REASONS_DIR,
    ):
        self.packages: dict[str, Path] = {}  # workflow name -> its package folder
        self.modules: dict[str, str] = {}  # workflow name -> its package's import name, where its code was loaded
        self.definitions: dict[str, Definition] = {}  # the current version of each
        self.versions: dict[tuple[str, str], Definition] = {}  # every version, old ones too
        params: dict[str, Mapping[str, Any]] = {}
        for directory in package_dirs() if packages is None else packages:
            path = directory / DEFINITION
            d = load_definition(path)
            if d.name != directory.name:
                raise DefinitionError(f"{display_name(path)}: workflow {d.name!r} must sit in a folder of that name")
            if d.name in self.definitions:
                raise DefinitionError(f"{display_name(path)}: workflow {d.name!r} is defined twice")
            self.packages[d.name] = directory
            self.definitions[d.name] = d
            self.versions[(d.name, d.version)] = d
            for old in sorted((directory / "archive").glob("*.yaml")):
                o = load_definition(old)
                self.versions.setdefault((o.name, o.version), o)
            params[d.name] = load_params(directory / PARAMS)
        self.profiles_dir = profiles_dir
        self.profiles: dict[str, Profile] = {
            p.stem: load_profile(p, profiles_dir, packages=params) for p in sorted(profiles_dir.glob("*.yaml"))
        }
        own = [d / REASONS for d in self.packages.values() if (d / REASONS).exists()]
        self.reasons = load_reasons(reasons_dir, own)

    def definition(self, name: str) -> Definition:
        try:
            return self.definitions[name]
        except KeyError:
            raise KeyError(f"no workflow named {name!r}") from None

    def definition_version(self, name: str, version: str) -> Definition:
        try:
            return self.versions[(name, version)]
        except KeyError:
            raise KeyError(f"no version {version!r} of workflow {name!r}") from None

    def profile(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except KeyError:
            raise KeyError(f"no rule profile named {name!r}") from None


@cache
def default_catalog() -> Catalog:
    return Catalog()
