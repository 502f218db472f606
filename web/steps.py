"""What every step page (the generic form and the workflows' own pages) does alike on a POST."""
from __future__ import annotations

from typing import Any

from flask import abort, make_response, render_template, request
from flask_babel import gettext as _

from definitions import Transition
from workflow import Actor
from workflow.rules import Reason

from .i18n import reason_message

# the engine's refusals for who is asking, not for what was sent
AUTHORITY = frozenset({"forbidden", "not_competent", "four_eyes"})


def refuse_unauthorised(availability: Any, transition: Transition, actor: Actor) -> None:
    """A POST to a step the engine refuses to the person asking (role, competence, four eyes) is answered
    403 with the engine's reason before its form is read: that form's errors would be beside the point.
    `availability` is None when the case does not stand where the step starts: then only the role is known.

    The engine checks again when the step is fired; this only orders the answers.
    """
    if request.method != "POST":
        return
    if availability is None:
        reasons = [] if actor.role in transition.roles else [Reason("forbidden", {"role": actor.role})]
    else:
        reasons = [r for r in availability.reasons if r.code in AUTHORITY]
    if reasons:
        page = render_template("errors/error.html", status=403, title=_("无权访问"),
                               message="；".join(reason_message(r) for r in reasons))
        abort(make_response(page, 403))
