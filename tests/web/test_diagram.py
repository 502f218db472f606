"""The workflow diagram: one box per state, the way out of every step drawn once, back arrows curved,
the path taken marked, labels escaped and in the page's language."""
from __future__ import annotations

import dataclasses
import re

from definitions import Label
from web.diagram import escape_states, path_labels, workflow_svg


def _nodes(svg: str) -> dict[str, str]:
    return {name: cls for cls, name in re.findall(r'<g class="([^"]+)" data-state="(\w+)"', svg)}


def _boxes(svg: str) -> dict[str, tuple[int, int]]:
    found = re.findall(r'data-state="(\w+)"><title>[^<]*</title><rect x="(\d+)" y="(\d+)"', svg)
    return {name: (int(x), int(y)) for name, x, y in found}


def test_withdrawal_is_a_way_out_not_a_step(catalog):
    founding = catalog.definition("founding")
    assert escape_states(founding) == {"withdrawn"}
    assert escape_states(catalog.definition("sample")) == {"withdrawn"}


def test_every_state_has_one_box_and_the_way_out_sits_in_the_last_row(app, catalog):
    founding = catalog.definition("founding")
    with app.test_request_context("/"):
        svg = workflow_svg(founding, "applied", ["draft", "group_formed", "applied"])
    boxes = _boxes(svg)
    assert set(boxes) == {s.name for s in founding.states}
    assert boxes["withdrawn"][1] == max(y for _x, y in boxes.values())
    assert boxes["draft"][1] < boxes["group_formed"][1] < boxes["applied"][1] < boxes["approved"][1]
    assert boxes["rejected"][1] == boxes["approved"][1] and boxes["rejected"][0] > boxes["approved"][0]
    # none of the many arrows into "withdrawn" is drawn while it was not taken
    assert svg.count("<path class=\"edge") == len({(t.source, t.dest) for t in founding.transitions
                                                   if t.source != t.dest and t.dest != "withdrawn"})


def test_the_path_taken_and_the_current_state_are_marked(app, catalog):
    sample = catalog.definition("sample")
    with app.test_request_context("/"):
        svg = workflow_svg(sample, "withdrawn", ["draft", "submitted", "draft", "submitted", "withdrawn"])
    nodes = _nodes(svg)
    assert nodes["withdrawn"] == "node current final"
    assert nodes["draft"] == nodes["submitted"] == "node visited"
    assert nodes["approved"] == "node"
    taken = re.findall(r'<path class="edge taken" d="([^"]+)"', svg)
    assert len(taken) == 3  # draft→submitted, submitted→draft (back), submitted→withdrawn
    assert sum(1 for d in taken if " C" in d) == 2  # the return and the way out are curves
    with app.test_request_context("/"):
        fresh = workflow_svg(sample, "draft", ["draft"])
    assert len(re.findall(r'class="edge back"', fresh)) == 1 and 'class="edge taken"' not in fresh


def test_labels_are_escaped_and_follow_the_language(app, catalog):
    sample = catalog.definition("sample")
    states = tuple(dataclasses.replace(s, label=Label("草稿<b>", "Draft & <i>")) if s.name == "draft" else s
                   for s in sample.states)
    odd = dataclasses.replace(sample, states=states)
    with app.test_request_context("/"):
        chinese = workflow_svg(odd, "draft", ["draft"])
    with app.test_request_context("/?lang=en"):
        english = workflow_svg(odd, "draft", ["draft"])
        assert path_labels(sample, ["draft", "submitted", "submitted", "approved"]) == ["Draft", "Submitted", "Approved"]
    assert "草稿&lt;b&gt;" in chinese and "<b>" not in chinese
    assert "Draft &amp; &lt;i&gt;" in english and "Submitted" in english and "已提交" not in english
    assert 'role="img"' in chinese and "<title id=" in chinese


def test_a_long_label_wraps_onto_two_lines(app, catalog):
    founding = catalog.definition("founding")
    with app.test_request_context("/?lang=en"):
        svg = workflow_svg(founding, "draft", ["draft"])
    box = re.search(r'data-state="registered">.*?</g>', svg).group(0)
    assert box.count("<tspan") == 2
