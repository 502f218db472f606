"""What every step page (the generic form and the workflows' own pages) does alike."""
from __future__ import annotations

from flask import abort, make_response, render_template, request
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from definitions import Transition
from workflow import Actor, Availability, Case, Engine
from workflow import Reason

from .i18n import reason_message

# the engine's refusals for who is asking, not for what was sent
AUTHORITY = frozenset({"forbidden", "not_competent", "four_eyes"})


def step_availability(session: Session, engine: Engine, case: Case, actor: Actor,
                      transition: Transition) -> Availability | None:
    """The step's availability to the actor, None when the case does not stand where the step starts.

    A POST to a step the engine refuses to the person asking (role, competence, four eyes) is answered
    403 with the engine's reason here, before its form is read: that form's errors would be beside the
    point. Where the case does not stand at the step only the role is known. The engine checks again
    when the step is fired; this only orders the answers.
    """
    availability = next((a for a in engine.available(session, case, actor) if a.trigger == transition.trigger), None)
    if request.method != "POST":
        return availability
    if availability is None:
        reasons = [] if actor.role in transition.roles else [Reason("forbidden", {"role": actor.role})]
    else:
        reasons = [r for r in availability.reasons if r.code in AUTHORITY]
    if reasons:
        page = render_template("errors/error.html", status=403, title=_("无权访问"),
                               message="；".join(reason_message(r) for r in reasons))
        abort(make_response(page, 403))
    return availability
