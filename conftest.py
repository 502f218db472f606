"""Fixtures of every test (tests/ and each workflow package's tests/): every database test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.

`app` → `client` → `api` build on each other; factories (`make_org`,
`make_user`, `make_case`) sit beside ready-made objects (`tree`).
"""
from __future__ import annotations

import json
import os
from datetime import date
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from storage import migrate
from storage import normalise_url
from services import accounts
from workflow import checked_catalog

from tests.support import BACKENDS, PG_URL, SAMPLE_PACKAGE, Api, Clock

accounts.set_password_hasher(PasswordHasher.from_parameters(CHEAPEST))


@pytest.fixture(scope="session")
def catalog():
    return checked_catalog(extra=(SAMPLE_PACKAGE,))


# each test process gets its own schema, so that two runs against one database never meet
PG_SCHEMA = f"uf_test_{os.getpid()}"


def _schema_url(url: str) -> str:
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{PG_SCHEMA}"


def _recreate_schema(url: str, create: bool = True) -> None:
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        if create:
            conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory) -> dict[str, Any]:
    """A migrated database per backend, made once per test session."""
    if request.param == "sqlite":
        template = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{template}"
        migrate.upgrade(url)
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        return {"name": "sqlite", "template": template}
    _recreate_schema(PG_URL)
    request.addfinalizer(lambda: _recreate_schema(PG_URL, create=False))
    url = _schema_url(PG_URL)
    migrate.upgrade(url)
    return {"name": "postgresql", "url": url}


TABLES = ("api_tokens", "attachments", "delegations", "members", "cases", "users", "organisations", "audit_entries", "audit_tree", "audit_head",
          "login_throttle")


@pytest.fixture
def db_url(backend, tmp_path) -> str:
    """An empty, migrated database for one test."""
    if backend["name"] == "sqlite":
        path = tmp_path / "unionflow.db"
        shutil.copyfile(backend["template"], path)
        return f"sqlite:///{path}"
    engine = create_engine(normalise_url(backend["url"]), poolclass=NullPool)
    with engine.begin() as conn:
        for table in ("audit_entries", "audit_tree"):
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        for table in ("audit_entries", "audit_tree"):
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})
    engine.dispose()
    return backend["url"]


@pytest.fixture
def app_config(db_url, catalog) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATABASE_URL": db_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "UNIONFLOW_CATALOG": catalog,
    }


@pytest.fixture
def app(app_config):
    from web import create_app

    app = create_app(app_config)
    yield app
    app.extensions["unionflow.db"].dispose()


@pytest.fixture
def db(app):
    return app.extensions["unionflow.db"]


@pytest.fixture
def engine(app):
    return app.extensions["unionflow.engine"]


@pytest.fixture
def client(app):
    return app.test_client()


# -- factories ------------------------------------------------------------------

@dataclass
class Made:
    username: str
    token: str
    id: int
    role: str
    org: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def actor(self, db):
        from workflow import Actor
        from services.accounts import find_user

        with db.read() as session:
            return Actor.of(find_user(session, self.username))


@pytest.fixture
def make_org(db):
    def make(code: str, kind: str, parent: str | None = None, **kwargs: Any):
        from services.accounts import create_org

        if kind == "enterprise":
            kwargs.setdefault("employees", 60)
            kwargs.setdefault("female_employees", 20)
        with db.write() as session:
            org = create_org(session, code=code, name=kwargs.pop("name", code), kind=kind, parent=parent, **kwargs)
            return org.code

    return make


@pytest.fixture
def make_user(db):
    def make(username: str, role: str, org: str | None = None, password: str = "correct-horse-1") -> Made:
        from services.accounts import create_user

        with db.write() as session:
            user = create_user(session, username=username, password=password, role=role, org=org)
            return Made(username, fixture_token(session, user), user.id, role, org)

    return make


def fixture_token(session, user) -> str:
    """A year's API token for a fixture's user, written as issue_token would but without its audit entry,
    so that the trail of a test holds only what the test itself did (tests count and prove its entries)."""
    import secrets as _secrets
    from datetime import timedelta

    from services.accounts import TOKEN_PREFIX, token_digest
    from storage import utcnow
    from workflow import ApiToken

    secret = TOKEN_PREFIX + _secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=token_digest(secret), name="",
                         expires_at=utcnow() + timedelta(days=365)))
    session.flush()
    return secret


@pytest.fixture
def tree(make_org, make_user) -> dict[str, Any]:
    """Two federations' branches: FED ⊃ TOWN ⊃ COM ⊃ ENT-S (5 staff); TOWN ⊃ ENT-M (30); FED ⊃ ENT-L (60); FED2 ⊃ ENT-X."""
    make_org("FED", "federation", name="某区总工会")
    make_org("TOWN", "town", "FED", name="城关镇工会")
    make_org("COM", "community", "TOWN", name="东门社区工会")
    make_org("ENT-S", "enterprise", "COM", employees=5, female_employees=2, name="小店")
    make_org("ENT-M", "enterprise", "TOWN", employees=30, female_employees=10, name="中型企业")
    make_org("ENT-L", "enterprise", "FED", employees=60, female_employees=20, name="大型企业")
    make_org("FED2", "federation", name="另一区总工会")
    make_org("ENT-X", "enterprise", "FED2", employees=60, female_employees=20, name="外区企业")
    users = {
        "admin": make_user("admin", "admin"),
        "prep": make_user("prep", "preparer", "ENT-L"),
        "prep_m": make_user("prep_m", "preparer", "ENT-M"),
        "prep_s": make_user("prep_s", "preparer", "ENT-S"),
        "prep_x": make_user("prep_x", "preparer", "ENT-X"),
        "fed": make_user("fed", "reviewer", "FED"),
        "fed_b": make_user("fed_b", "reviewer", "FED"),
        "town": make_user("town", "reviewer", "TOWN"),
        "com": make_user("com", "reviewer", "COM"),
        "fed2": make_user("fed2", "reviewer", "FED2"),
        "auditor": make_user("auditor", "auditor", "FED"),
        "auditor2": make_user("auditor2", "auditor", "FED2"),
    }
    return users


@pytest.fixture
def api(client) -> Api:
    return Api(client)


@pytest.fixture
def make_case(api):
    def make(who: Made, workflow: str = "sample", org: str | None = None, data: Any = None) -> dict[str, Any]:
        resp = api.post("/cases", who, {"workflow": workflow, "org": org or who.org, "data": data or {}})
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    return make


@pytest.fixture
def fire(api):
    def do(who: Made, case_id: int, trigger: str, data: Any = None, comment: str | None = None,
           version: int | None = None, expect: int = 200) -> dict[str, Any]:
        body: dict[str, Any] = {"trigger": trigger, "data": data or {}}
        if comment is not None:
            body["comment"] = comment
        if version is not None:
            body["version"] = version
        resp = api.post(f"/cases/{case_id}/events", who, body)
        assert resp.status_code == expect, resp.get_json()
        return resp.get_json()

    return do


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def found(db):
    """Mark an enterprise's union as founded with its member count (the founding workflow's outcome)."""
    def do(code: str, members: int | None) -> None:
        from tests.support import audited_org_update

        with db.write() as session:
            audited_org_update(session, code, union_status="founded", member_count=members)

    return do


@pytest.fixture(autouse=True)
def _no_leaked_env(monkeypatch) -> Iterator[None]:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("UNIONFLOW_ENV", raising=False)
    yield
