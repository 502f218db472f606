"""The OpenAPI 3.1 document of the JSON API, served at /api/v1/openapi.json.

Written by hand from api.md and the views (web/api.py and the attachment
views); tests/ops/test_openapi.py keeps it true: every route under /api/v1 is
in it and nothing else, and generated requests get only the statuses and
shapes it names. The shapes (`components.schemas`) are in `openapi_schemas`,
the operations in `openapi_paths`; both name the workflows of the catalogue
the document is built for. Each app builds its document once.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app

from definitions import Catalog

from .extensions import get_engine
from .openapi_paths import paths
from .openapi_schemas import ref, schemas

bp = Blueprint("openapi", __name__)

PREFIX = "/api/v1"

ERROR_TEXT = {
    400: "Malformed JSON, a missing or wrongly typed field (`fields` says which), an unknown trigger or a refused upload.",
    401: "No token, or one that is unknown, revoked or expired, or whose user is disabled.",
    403: "`forbidden` (role), `not_competent` (organisation) or `four_eyes`.",
    404: "No such thing, or outside the caller's subtree.",
    409: ("`invalid_state` (not possible from the current state) or `stale_version`; for uploads, the case is closed; "
          "`too_many_tokens` when the user already holds 10 live tokens."),
    413: "The request body is larger than the limit.",
    415: "An upload whose content is not a JPEG, PNG or PDF, or whose name's extension disagrees.",
    422: "`guard_failed`: a domain rule failed; `reasons` lists every failed rule.",
}


def document(catalog: Catalog | None = None) -> dict[str, Any]:
    """The document for the workflows of `catalog` (by default, those of the current app's engine)."""
    catalog = catalog if catalog is not None else get_engine().catalog
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "UnionFlow API",
            "version": "1",
            "description": "The JSON API of UnionFlow (工会工作流): organisations, users, workflows, cases, "
                           "their audit trail, materials and reports. Errors always have the `Error` shape. "
                           "Text is UTF-8 without the NUL character (U+0000).",
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearer": []}],
        "paths": paths(catalog),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "a token from `flask users token NAME` or POST /users/{username}/tokens"}},
            "schemas": schemas(catalog),
            "responses": {
                str(status): {"description": text, "content": {"application/json": {"schema": ref("Error")}}}
                for status, text in ERROR_TEXT.items()
            },
        },
    }


@bp.get(PREFIX + "/openapi.json")
def openapi_json() -> Response:
    cached = current_app.extensions.get("unionflow.openapi")
    if cached is None:  # per app: another app in the process may have another catalogue
        cached = current_app.extensions["unionflow.openapi"] = json.dumps(document(), ensure_ascii=False, indent=1)
    return Response(cached, mimetype="application/json")
