"""Definitions and profiles load into frozen objects; a broken file names file, line and problem."""
from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from definitions import Catalog, DefinitionError, load_definition, load_profile
from workflow.catalog import check_definition

GOOD = """\
name: tiny
version: 3
title: {zh: 小流程, en: Tiny}
initial: a
states:
  - {name: a, label: {zh: 甲, en: A}}
  - {name: b, label: {zh: 乙, en: B}, final: true}
create:
  roles: [preparer]
transitions:
  - trigger: go
    source: a
    dest: b
    roles: [preparer]
    label: {zh: 走, en: Go}
    data:
      n: {type: integer, required: true}
"""


def write(tmp_path: Path, text: str, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_good_definition_is_frozen_with_version_and_fingerprint(tmp_path):
    d = load_definition(write(tmp_path, GOOD))
    assert (d.name, d.version, d.initial) == ("tiny", "3", "a")
    assert d.final_states == {"b"} and d.triggers == {"go"}
    assert len(d.fingerprint) == 64
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.version = "4"  # type: ignore[misc]
    changed = load_definition(write(tmp_path, GOOD.replace("走", "去"), "tiny2.yaml"))
    assert changed.fingerprint != d.fingerprint


@pytest.mark.parametrize("edit, line, problem", [
    (lambda s: s.replace("    dest: b\n", "    dest: z\n"), 11, "unknown state 'z'"),
    (lambda s: s.replace("initial: a", "initial: q"), 1, "initial state 'q'"),
    (lambda s: s.replace("    roles: [preparer]\n    label", "    roles: [auditor]\n    label"), 11,
     "auditors and admins never fire"),
    (lambda s: s.replace("{type: integer, required: true}", "{type: float}"), 17, "type must be one of"),
    (lambda s: s.replace("    label: {zh: 走, en: Go}\n", "    label: {zh: 走}\n"), 15, "label needs"),
    (lambda s: s.replace("version: 3\n", "version: 3\nversion: 4\n"), 3, "duplicate key 'version'"),
    (lambda s: s.replace("title: {zh: 小流程, en: Tiny}", "title: [unclosed"), 4, ""),
    (lambda s: s + "colour: red\n", 1, "unknown key 'colour'"),
    (lambda s: s.replace("{type: integer, required: true}", "{type: integer, suggest: today}"), 17,
     "'suggest' must be this_year (an integer) or today (a date)"),
    (lambda s: s.replace("{type: integer, required: true}", "{type: integer, suggest: tomorrow}"), 17, "'suggest'"),
])
def test_a_broken_definition_names_file_line_and_problem(tmp_path, edit, line, problem):
    path = write(tmp_path, edit(GOOD))
    with pytest.raises(DefinitionError) as info:
        load_definition(path)
    message = str(info.value)
    assert message.startswith(f"tiny.yaml:{line}:"), message
    assert problem in message


def test_an_unknown_guard_is_refused_naming_the_line(tmp_path):
    d = load_definition(write(tmp_path, GOOD.replace("    data:", "    guards: [no_such_guard]\n    data:")))
    with pytest.raises(DefinitionError, match=r"tiny.yaml:11: transition 'go': unknown guard 'no_such_guard'"):
        check_definition(d)


def test_ambiguous_destinations_need_conditions(tmp_path):
    text = GOOD + "  - {trigger: go, source: a, dest: a, roles: [preparer], label: {zh: 回, en: Back}}\n"
    with pytest.raises(DefinitionError, match="several destinations but no conditions"):
        load_definition(write(tmp_path, text))


def test_profiles_extend_and_may_only_override_known_parameters(tmp_path):
    write(tmp_path, "name: base\ntitle: {zh: 基础, en: Base}\nparams:\n  founding: {a: 1, b: 2}\n", "base.yaml")
    child = write(tmp_path, "name: child\ntitle: {zh: 子, en: Child}\nextends: base\nparams:\n  founding: {b: 5}\n",
                  "child.yaml")
    p = load_profile(child)
    assert dict(p.for_workflow("founding")) == {"a": 1, "b": 5}
    bad = write(tmp_path, "name: bad\ntitle: {zh: 坏, en: Bad}\nextends: base\nparams:\n  founding: {c: 1}\n",
                "bad.yaml")
    with pytest.raises(DefinitionError, match=r"bad.yaml:5: params.founding: 'c' is not a parameter"):
        load_profile(bad)
    loop = write(tmp_path, "name: loop\ntitle: {zh: 环, en: Loop}\nextends: loop\n", "loop.yaml")
    with pytest.raises(DefinitionError, match="extends itself"):
        load_profile(loop)


def test_the_shipped_catalog_and_the_beijing_override():
    c = Catalog()
    assert {"founding", "hardship", "inspection"} <= set(c.definitions)
    assert c.profile("default").for_workflow("founding")["women_committee_min_female_members"] == 10
    assert c.profile("beijing").for_workflow("founding")["women_committee_min_female_members"] == 25
    assert c.profile("beijing").for_workflow("founding")["quorum_numerator"] == 2  # inherited
    for code, label in c.reasons.items():
        assert label.zh and label.en, code


def test_a_superseded_version_stays_loadable(tmp_path):
    package = tmp_path / "tiny"
    (package / "archive").mkdir(parents=True)
    write(package, GOOD.replace("version: 3", "version: 4"), "definition.yaml")
    write(package / "archive", GOOD)
    profiles = Path(__file__).resolve().parents[2] / "definitions" / "profiles"
    reasons = Path(__file__).resolve().parents[2] / "definitions" / "reasons"
    c = Catalog([package], profiles_dir=profiles, reasons_dir=reasons)
    assert c.definition("tiny").version == "4"
    assert c.definition_version("tiny", "3").version == "3"


def test_a_field_may_suggest_the_current_year(tmp_path):
    d = load_definition(write(tmp_path, GOOD.replace("{type: integer, required: true}",
                                                     "{type: integer, required: true, suggest: this_year}")))
    [go] = d.transitions_from("a")
    assert go.data[0].suggest == "this_year"
