"""What the tests share beside the fixtures of the root conftest: the backends, the API client, a clock."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from typing import Any

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
SAMPLE_PACKAGE = "tests.fixtures.sample"  # a small workflow package the tests add to the built-in ones


class Api:
    """The test client speaking JSON with a bearer token."""

    def __init__(self, client):
        self.client = client

    def _call(self, method: str, path: str, who: Any, body: Any = None, raw: bytes | None = None, **kw: Any):
        headers = dict(who.headers) if who else {}
        headers.update(kw.pop("headers", {}))
        data = raw if raw is not None else (json.dumps(body, ensure_ascii=False) if body is not None else None)
        resp = self.client.open("/api/v1" + path, method=method, data=data, headers=headers,
                                content_type="application/json", **kw)
        return resp

    def get(self, path: str, who: Any = None, **kw: Any):
        return self._call("GET", path, who, **kw)

    def post(self, path: str, who: Any = None, body: Any = None, **kw: Any):
        return self._call("POST", path, who, body, **kw)


class Clock:
    """A settable business date: give it to the app as UNIONFLOW_CLOCK (tests move `today` on)."""

    def __init__(self, today: date = date(2026, 11, 20)) -> None:
        self.today = today

    def __call__(self) -> date:
        return self.today


def audited_org_update(session: Any, code: str, **values: Any) -> None:
    """Change an organisation's row as the register import records a union founded before the system was used:
    the values, and an entry of the organisation with the row's new digest (what verification compares)."""
    import audit
    from services.accounts import get_org
    from workflow import org_state

    org = get_org(session, code)
    changes = {k: [getattr(org, k), v] for k, v in values.items()}
    for key, value in values.items():
        setattr(org, key, value)
    session.flush()
    audit.append(session, actor="register", role="admin", subject_type="org", subject_id=org.code,
                 trigger="import_update", from_state=None, to_state=org_state(org), version=None,
                 data={"changes": changes})
