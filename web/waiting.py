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
