"""Per-workflow pages: each module here may add a blueprint, case-page panels and custom step pages.

A module registers with:

* `bp` — a Blueprint (registered by the app factory);
* `PANELS` — {workflow: template} included on the case page under the header
  (printable notices, countdowns, tables of the workflow's own data);
* `STEPS` — {(workflow, trigger): endpoint} for a step that has its own page
  instead of the generic form; the endpoint takes `case_id`.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from flask import Flask, url_for

PANELS: dict[str, str] = {}
STEPS: dict[tuple[str, str], str] = {}


def init_app(app: Flask) -> None:
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if getattr(module, "bp", None) is not None:
            app.register_blueprint(module.bp)
        PANELS.update(getattr(module, "PANELS", {}))
        STEPS.update(getattr(module, "STEPS", {}))

    @app.context_processor
    def _workflow_pages() -> dict[str, Any]:
        return {"workflow_panel": PANELS.get, "step_url": step_url}


def step_url(case: Any, trigger: str) -> str:
    endpoint = STEPS.get((case.workflow, trigger))
    if endpoint:
        return url_for(endpoint, case_id=case.id)
    return url_for("cases.step", case_id=case.id, trigger=trigger)
