"""What can go wrong when firing a step, with the HTTP status each maps to.

The engine raises these; the API, the pages and the CLI render them. Each
carries the `Reason`s that explain it (rendered in Chinese or English from the
reason catalogue) and, for bad input, the fields at fault.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from .rules import Reason


class WorkflowError(Exception):
    status = 400
    code = "invalid_input"

    def __init__(self, reasons: Iterable[Reason] = (), fields: Mapping[str, "FieldError"] | None = None):
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
    status, code = 400, "invalid_input"


class UnknownTrigger(WorkflowError):
    status, code = 400, "unknown_trigger"


class Forbidden(WorkflowError):
    status, code = 403, "forbidden"


class NotCompetent(WorkflowError):
    status, code = 403, "not_competent"


class FourEyes(WorkflowError):
    status, code = 403, "four_eyes"


class NotFound(WorkflowError):
    status, code = 404, "not_found"


class InvalidState(WorkflowError):
    status, code = 409, "invalid_state"


class StaleVersion(WorkflowError):
    status, code = 409, "stale_version"


class GuardFailed(WorkflowError):
    status, code = 422, "guard_failed"
