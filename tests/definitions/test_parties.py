"""A definition's parties and entities: parsed into frozen objects, a mistake named by file and line."""
from __future__ import annotations

import pytest

from definitions import DefinitionError, Party, load_definition

from .test_loader import write

GOOD = """\
name: moving
version: 1
title: {zh: 接转, en: Moving}
initial: a
parties:
  receiving:
    label: {zh: 接收工会, en: Receiving union}
    org_kind: [enterprise, joint]
    field: to
entities: [member]
states:
  - {name: a, label: {zh: 甲, en: A}}
  - {name: b, label: {zh: 乙, en: B}, final: true}
create:
  roles: [preparer]
  data:
    to: {type: string, required: true}
transitions:
  - trigger: take
    source: a
    dest: b
    roles: [reviewer]
    party: receiving
    label: {zh: 接收, en: Take}
"""


def test_parties_and_entities_load(tmp_path):
    d = load_definition(write(tmp_path, GOOD))
    assert d.parties == (Party("receiving", d.parties[0].label, ("enterprise", "joint"), "to", True, False, 7),)
    assert d.parties[0].label.en == "Receiving union" and d.party("receiving").field == "to"
    assert d.entities == ("member",)
    assert d.transitions[0].party == "receiving" and d.transitions[0].competent == "case_org"
    plain = load_definition(write(tmp_path, GOOD.split("parties:")[0] + "states:" + GOOD.split("states:")[1]
                                  .replace("    party: receiving\n", ""), "plain.yaml"))
    assert plain.parties == () and plain.entities == () and plain.transitions[0].party is None


@pytest.mark.parametrize("edit, line, problem", [
    (lambda s: s.replace("    party: receiving\n", "    party: sending\n"), 19, "unknown party 'sending'"),
    (lambda s: s.replace("    field: to\n", "    field: from\n"), 7, "field 'from' must be a string field"),
    (lambda s: s.replace("to: {type: string, required: true}", "to: {type: integer}"), 7, "must be a string field"),
    (lambda s: s.replace("[enterprise, joint]", "[enterprise, planet]"), 7, "org_kind must be one or more"),
    (lambda s: s.replace("    field: to\n", "    field: to\n    sees_case: false\n"), 20,
     "does not see the case"),
    (lambda s: s.replace("    field: to\n", "    field: to\n    colour: red\n"), 7, "unknown key 'colour'"),
    (lambda s: s.replace("    party: receiving\n", "    party: receiving\n    competent: case\n"), 19,
     "takes no competence rule"),
    (lambda s: s.replace("entities: [member]", "entities: [Member]"), 1, "not an entity name"),
    (lambda s: s.replace("entities: [member]", "entities: [member, member]"), 1, "listed twice"),
    (lambda s: s.replace("  receiving:\n", "  Receiving-Union:\n"), 6, "snake_case word"),
])
def test_a_broken_party_or_entity_names_file_line_and_problem(tmp_path, edit, line, problem):
    with pytest.raises(DefinitionError) as err:
        load_definition(write(tmp_path, edit(GOOD)))
    assert str(err.value).startswith(f"tiny.yaml:{line}: ") and problem in str(err.value), str(err.value)
