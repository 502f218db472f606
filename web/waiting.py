"""What a case in review waits for: the organisation whose reviewer decides next, and the definition's own
words for it (the case page and the preparer's home page both say so)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from workflow import Case, Engine

from .i18n import text


def waiting_note(engine: Engine, case: Case, org: str | None) -> str | None:
    """The definition's own words for what a case in its state waits for (`extra.waiting_notes`), if any."""
    note = (engine.definition_of(case).extra.get("waiting_notes") or {}).get(case.state)
    if note is None:
        return None
    values = {**(case.data or {}), **(case.facts or {}), "org": org or _("上级工会")}
    try:
        return text(note).format_map(values)
    except (KeyError, IndexError, ValueError):  # a placeholder the case has not recorded (yet)
        return None


def waiting_for(session: Session, engine: Engine, case: Case, available: list[Any]) -> str | None:
    """The name of the organisation that decides the case's next reviewer step, if it has one.

    It is the step's competent organisation, not the case's fixed approval unit: a hardship
    application waits for its own enterprise union before any federation is fixed.
    """
    step = next((a.transition for a in available if "reviewer" in a.transition.roles), None)
    return engine.competent_org(session, case, step.competent).name if step is not None else None


# ---- the rows of the review queue and the case list: whom a case is about, and what it waits for

def case_subject(engine: Engine, case: Case) -> str:
    """Whom or what the case is about, as a person recognises it: the definition's `extra.subject`, its
    `{placeholders}` filled from the case's stored data and facts (`{org}` is its organisation's name), else
    the organisation's name. No query: a list shows it for every row."""
    org = case.org.name if case.org is not None else ""
    definition = engine.catalog.definitions.get(case.workflow)
    pattern = definition.extra.get("subject") if definition is not None else None
    if pattern:
        try:
            shown = text(pattern).format_map({**(case.data or {}), **(case.facts or {}), "org": org}).strip()
        except (KeyError, IndexError, ValueError, TypeError, AttributeError):  # not recorded (yet)
            shown = ""
        if shown:
            return shown
    return org


def _next_forward(definition: Any, state: str) -> Any:
    """The step forward the state waits for: the first forward transition to another state, else one taken
    in place (a yearly recheck), else none."""
    ways = [t for t in definition.transitions_from(state) if t.way == "forward"]
    return next((t for t in ways if t.dest != state), None) or next(iter(ways), None)


def case_awaited(engine: Engine, case: Case) -> dict[str, str]:
    """What the case waits for, in words (`action`), and who is to do it (`by`): the definition's own words
    (`extra.awaiting`, by state) or "待" and the label of the step forward from its state; a closed case (or
    one no step leads on from) says its state. No query: org and competent org come with the case's row."""
    definition = engine.definition_of(case)
    try:
        state_label = text(definition.state(case.state).label, case.state)
    except KeyError:
        state_label = case.state
    step = None if case.closed else _next_forward(definition, case.state)
    if step is None:
        return {"action": state_label, "by": "", "state": state_label}
    own = (definition.extra.get("awaiting") or {}).get(case.state)
    action = text(own) if own else _("待%(step)s", step=text(step.label, step.trigger))
    if "reviewer" in step.roles and case.competent_org is not None:
        by = case.competent_org.name
    else:
        by = case.org.name if case.org is not None else ""
    return {"action": action, "by": by, "state": state_label}


def init_app(app: Any, engine: Engine) -> None:
    """The rows' subject and awaited action for every template (globals: imported macros see them too)."""
    app.jinja_env.globals.update({"case_subject": lambda case: case_subject(engine, case),
                                  "case_awaited": lambda case: case_awaited(engine, case)})
