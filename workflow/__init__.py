"""The workflow engine (no Flask here): definitions run on `transitions`, one choke point `fire`."""
from .engine import Actor, Availability, Engine, can_view
from .errors import (
    FieldError, Forbidden, FourEyes, GuardFailed, InvalidInput, InvalidState, NotCompetent, NotFound,
    StaleVersion, UnknownTrigger, WorkflowError,
)
from .models import ApiToken, Case, Organisation, User
from .rules import Context, OrgFacts, Outcome, Reason

__all__ = [
    "Actor", "ApiToken", "Availability", "Case", "Context", "Engine", "FieldError", "Forbidden", "FourEyes",
    "GuardFailed", "InvalidInput", "InvalidState", "NotCompetent", "NotFound", "OrgFacts", "Organisation", "Outcome",
    "Reason", "StaleVersion", "UnknownTrigger", "User", "WorkflowError", "can_view",
]
