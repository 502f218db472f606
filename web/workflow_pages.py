"""Each workflow package's own pages and templates, plugged into the app.

For every workflow of the engine's catalogue whose package was imported (`catalog.modules`), its
`templates/` folder serves template names under the workflow's name (`founding/panel.html` is
`workflows/founding/templates/panel.html`), and its `pages` module, when it has one, may give:

* `bp` (or `BLUEPRINTS`, several) — the workflow's own pages (printable notices, uploads, …);
* `PANELS` — {workflow: Panel(template, build)}: a panel on the case page under the header; `build(view)`
  gets what the case page read (`CaseView`) in the page's own unit of work and returns what the template
  shows as `panel` (templates never open a unit of work);
* `SUMMARIES` — {workflow: build(view) -> Summary}: what every step form of the workflow shows of the case
  the decision is about (built, like a panel, from a `CaseView` in the page's own unit of work);
* `STEPS` — {trigger: StepPage} forms and templates of its own for some steps, served by the one step
  page of `web.steps` (see there);
* `ADDRESSES` — {trigger: endpoint} where a step keeps an address of its own (routed to `web.steps.serve`),
  which the pages then link to instead of `/cases/<id>/steps/<trigger>`.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Flask, current_app, url_for
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader
from sqlalchemy.orm import Session

from definitions import Definition
from workflow import Actor, Availability, Case, Engine

EXTENSION = "unionflow.pages"


@dataclass(frozen=True)
class CaseView:
    """What the case page read in its unit of work, handed alike to every workflow's panel."""

    session: Session
    engine: Engine
    actor: Actor
    case: Case
    definition: Definition
    data: dict[str, Any]  # the case's data as this person may see it
    entries: list[dict[str, Any]]  # its trail, oldest first, as `web.present.entry_json` gives them
    available: list[Availability]
    overdue: list[str]


@dataclass(frozen=True)
class Panel:
    """A workflow's panel on the case page: its template, and what the template shows, built from the view;
    `progress` when the panel shows the case's steps itself (else the case page shows them above it)."""

    template: str
    build: Callable[[CaseView], Any]
    progress: bool = False


@dataclass(frozen=True)
class Fact:
    """One line of a case summary: a label and its value, already in words, with an optional note."""

    label: str
    value: str
    note: str = ""
    strong: bool = False


@dataclass
class Summary:
    """What a step form shows of its case: groups of facts under a heading each (empty groups are left out)."""

    groups: list[tuple[str, list[Fact]]] = field(default_factory=list)

    def add(self, heading: str, facts: list[Fact | None]) -> "Summary":
        shown = [f for f in facts if f is not None]
        if shown:
            self.groups.append((heading, shown))
        return self


class WorkflowPages:
    """What the workflow packages add to one app: case-page panels and their own step pages."""

    def __init__(self) -> None:
        self.panels: dict[str, Panel] = {}
        self.summaries: dict[str, Callable[[CaseView], Summary]] = {}
        self.steps: dict[tuple[str, str], Any] = {}  # (workflow, trigger) -> StepPage
        self.addresses: dict[tuple[str, str], str] = {}  # (workflow, trigger) -> endpoint

    def panel(self, workflow: str) -> Panel | None:
        return self.panels.get(workflow)

    def summary(self, workflow: str) -> Callable[[CaseView], Summary] | None:
        return self.summaries.get(workflow)

    def step(self, workflow: str, trigger: str) -> Any:
        return self.steps.get((workflow, trigger))


def init_app(app: Flask, engine: Engine) -> None:
    pages = app.extensions[EXTENSION] = WorkflowPages()
    catalog = engine.catalog
    templates = {name: FileSystemLoader(str(folder / "templates")) for name, folder in catalog.packages.items()
                 if (folder / "templates").is_dir()}
    if templates:
        app.jinja_loader = ChoiceLoader([app.jinja_loader, PrefixLoader(templates)])  # type: ignore[list-item]
    for name, module in catalog.modules.items():
        if importlib.util.find_spec(f"{module}.pages") is None:
            continue
        page_module = importlib.import_module(f"{module}.pages")
        blueprints = getattr(page_module, "BLUEPRINTS", None) or [b for b in [getattr(page_module, "bp", None)] if b]
        for blueprint in blueprints:
            app.register_blueprint(blueprint)
        pages.panels.update(getattr(page_module, "PANELS", {}))
        pages.summaries.update(getattr(page_module, "SUMMARIES", {}))
        pages.steps.update({(name, t): page for t, page in getattr(page_module, "STEPS", {}).items()})
        pages.addresses.update({(name, t): e for t, e in getattr(page_module, "ADDRESSES", {}).items()})

    @app.context_processor
    def _workflow_pages() -> dict[str, Any]:
        return {"step_url": step_url}


def step_url(case: Any, trigger: str) -> str:
    endpoint = current_app.extensions[EXTENSION].addresses.get((case.workflow, trigger))
    if endpoint:
        return url_for(endpoint, case_id=case.id)
    return url_for("cases.step", case_id=case.id, trigger=trigger)


def workflow_pages(app: Flask) -> WorkflowPages:
    return app.extensions[EXTENSION]
