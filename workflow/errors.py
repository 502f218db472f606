"""What can go wrong when firing a step, each with a stable code (the edges map codes to HTTP statuses).

The engine raises these; the API, the pages and the CLI render them. Each
carries the `Reason`s that explain it (rendered in Chinese or English from the
reason catalogue) and, for bad input, the fields at fault.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .rules import Reason


class WorkflowError(Exception):
    code: str = "invalid_input"

    def __init__(self, reasons: Iterable[Reason] = (), fields: Mapping[str, FieldError] | None = None):
        self.reasons = list(reasons) or [Reason(self.code)]
        self.fields = dict(fields or {})
        super().__init__(f"{self.code}: {', '.join(r.code for r in self.reasons)}")


class FieldError:
    """One bad field: a message code (see workflow.messages) and its parameters."""

    __slots__ = ("code", "params")

    def __init__(self, code: str, **params: Any):
        self.code = code
        self.params = params

    def __repr__(self) -> str:
        return f"FieldError({self.code!r}, {self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldError) and (self.code, self.params) == (other.code, other.params)


class InvalidInput(WorkflowError):
    code = "invalid_input"


class UnknownTrigger(WorkflowError):
    code = "unknown_trigger"


class Forbidden(WorkflowError):
    code = "forbidden"


class NotCompetent(WorkflowError):
    code = "not_competent"


class FourEyes(WorkflowError):
    code = "four_eyes"


class NotFound(WorkflowError):
    code = "not_found"


class InvalidState(WorkflowError):
    code = "invalid_state"


class StaleVersion(WorkflowError):
    code = "stale_version"


class GuardFailed(WorkflowError):
    code = "guard_failed"


class AssignedToOther(WorkflowError):
    """The decision is claimed by, or assigned to, someone else (who is named in the reason)."""

    code = "assigned_to_other"
