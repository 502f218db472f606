"""The one table from an error's stable code to its HTTP status (api.md, "Errors").

The engine and the services raise errors that name what went wrong (`code`); only the edge knows HTTP.
"""
from __future__ import annotations

from workflow import WorkflowError

STATUS_BY_CODE: dict[str, int] = {
    "invalid_input": 400,
    "unknown_trigger": 400,
    "invalid_upload": 400,
    "forbidden": 403,
    "not_competent": 403,
    "four_eyes": 403,
    "assigned_to_other": 403,
    "not_found": 404,
    "invalid_state": 409,
    "stale_version": 409,
    "too_many_tokens": 409,
    "payload_too_large": 413,
    "too_many_cases": 413,
    "unsupported_media_type": 415,
    "guard_failed": 422,
}


def status_of(err: WorkflowError) -> int:
    """The HTTP status of an engine or service error; an unlisted code is a bad request."""
    return STATUS_BY_CODE.get(err.code, 400)
