"""Alembic migrations on both databases: upgrade from empty and from the previous revision, downgrade,
and the migrated schema equal to the models' metadata (whatever the newest revision is)."""
from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

import audit
from audit.chain import GENESIS, format_at
from audit.ddl import create_statements, tree_create_statements
from audit.tree import decode_frontier, encode_frontier, extend
from storage import Base, migrate
from storage import normalise_url


def _all_models() -> None:
    """Import every module of the packages that define tables, so the metadata holds every model."""
    for name in ("storage", "audit", "workflow"):
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(info.name)


def _engine(url: str):
    return create_engine(normalise_url(url), poolclass=NullPool)


def _revisions(url: str) -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    assert len(script.get_heads()) == 1, f"the migrations have several heads: {script.get_heads()}"
    return [s.revision for s in reversed(list(script.walk_revisions()))]


def _current(url: str) -> tuple[str, ...]:
    engine = _engine(url)
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    engine.dispose()
    return tuple(heads)


def _tables(url: str) -> set[str]:
    engine = _engine(url)
    names = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    return names


def _triggers(url: str) -> set[str]:
    engine = _engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
        else:
            rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        names = {r[0] for r in rows}
    engine.dispose()
    return names


def _expected_triggers(dialect: str) -> set[str]:
    found = (re.search(r"CREATE TRIGGER (?:IF NOT EXISTS )?(\w+)", s)
             for s in (*create_statements(dialect), *tree_create_statements(dialect)))
    return {m.group(1) for m in found if m}


def _dialect(url: str) -> str:
    return "postgresql" if url.startswith("postgres") else "sqlite"


def _differences(url: str) -> list:
    _all_models()
    engine = _engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return diff


def _append_raw(url: str, actor: str) -> None:
    """One chained entry written with the columns of the first revision (the models may have moved on)."""
    engine = _engine(url)
    with engine.begin() as conn:
        seq, prev = conn.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).one()
        at = datetime(2026, 11, 10, 8, 0, 0, seq)
        row = dict(seq=seq + 1, at=at, actor=actor, role="admin", subject_type="org", subject_id="ORG-1",
                   trigger="create_org", from_state=None, to_state=None, version=None, comment="", data="{}",
                   prev_hash=prev)
        row["hash"] = audit.entry_hash(**{**row, "at": format_at(at)})
        conn.execute(text(
            "INSERT INTO audit_entries (seq, at, actor, role, subject_type, subject_id, trigger, from_state, to_state,"
            " version, comment, data, prev_hash, hash) VALUES (:seq, :at, :actor, :role, :subject_type, :subject_id,"
            " :trigger, :from_state, :to_state, :version, :comment, :data, :prev_hash, :hash)"), row)
        conn.execute(text("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1"), row)
        if "audit_tree" in inspect(conn).get_table_names():  # from revision 0008: the entry's Merkle tree row
            size, frontier = conn.execute(text("SELECT tree_size, frontier FROM audit_head WHERE id = 1")).one()
            nodes = decode_frontier(frontier)
            for idx, blob in extend(nodes, size, [row["hash"]]):  # a row for every sixteenth entry
                conn.execute(text("INSERT INTO audit_tree (idx, nodes) VALUES (:idx, :nodes)"),
                             {"idx": idx, "nodes": blob})
            conn.execute(text("UPDATE audit_head SET tree_size = :size, frontier = :frontier WHERE id = 1"),
                         {"size": size + 1, "frontier": encode_frontier(nodes)})
    engine.dispose()


def _verify(url: str):
    from storage import Database

    db = Database(url)
    try:
        with db.read() as session:
            return audit.verify(session, tree="audit_tree" in _tables(url))
    finally:
        db.dispose()


def test_upgrade_from_empty_downgrade_to_base_and_again(empty_db):
    url, dialect = empty_db, _dialect(empty_db)
    head = _revisions(url)[-1]
    _all_models()

    migrate.upgrade(url)
    assert _current(url) == (head,)
    assert _tables(url) == set(Base.metadata.tables)
    assert _expected_triggers(dialect) and _expected_triggers(dialect) <= _triggers(url)
    engine = _engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT seq, hash FROM audit_head")).all() == [(0, GENESIS)]
    engine.dispose()

    # the triggers are not decoration: the database itself refuses to change the trail
    _append_raw(url, "admin")
    engine = _engine(url)
    statements = ["UPDATE audit_entries SET actor = 'mallory'", "DELETE FROM audit_entries"]
    if dialect == "postgresql":
        statements.append("TRUNCATE audit_entries")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement))
    engine.dispose()
    assert _verify(url).ok

    migrate.downgrade(url, "base")
    assert _current(url) == ()
    assert _tables(url) == set()
    assert _triggers(url) == set()

    migrate.upgrade(url)
    assert _current(url) == (head,)
    assert _tables(url) == set(Base.metadata.tables)
    assert _differences(url) == []


def test_every_revision_upgrades_from_its_predecessor_keeping_the_trail(empty_db):
    url = empty_db
    revisions = _revisions(url)
    for i, revision in enumerate(revisions):
        migrate.upgrade(url, revision)
        assert _current(url) == (revision,)
        _append_raw(url, f"before-{revision}")
        if i > 0:
            # down to the predecessor and up again: the downgrade works and the data written before stays
            migrate.downgrade(url, revisions[i - 1])
            assert _current(url) == (revisions[i - 1],)
            migrate.upgrade(url, revision)
            assert _current(url) == (revision,)
        result = _verify(url)
        assert result.ok and result.checked == i + 1, result.as_dict()
    assert _differences(url) == []


def test_the_schema_made_by_the_migrations_is_the_models_schema(empty_db):
    """compare_metadata would list a model column, index or table that no migration creates (or the reverse)."""
    migrate.upgrade(empty_db)
    assert _differences(empty_db) == []
    # and the check can fail: a table only the database has is reported
    engine = _engine(empty_db)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE stray (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    assert [d[0] for d in _differences(empty_db)] == ["remove_table"]


def test_cases_migrated_to_business_dates_take_the_local_day_of_their_last_change(empty_db):
    """0011: a case of before keeps as the business date of its last step the day, in the profiles' zone
    (UTC+8), of its last change; 20:00 UTC is the next morning in Beijing."""
    url = empty_db
    migrate.upgrade(url, "0010")
    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organisations (id, code, name, kind, path, union_status, created_at) "
                          "VALUES (1, 'ENT', '企业', 'enterprise', '/1/', 'none', :t)"), {"t": datetime(2026, 11, 1)})
        conn.execute(text("INSERT INTO users (id, username, password_hash, role, org_id, active, failed_logins, "
                          "created_at) VALUES (1, 'prep', 'x', 'preparer', 1, :yes, 0, :t)"),
                     {"t": datetime(2026, 11, 1), "yes": True})
        for case_id, updated in ((1, datetime(2026, 11, 10, 15, 59, 59)), (2, datetime(2026, 11, 10, 16, 0, 0))):
            conn.execute(text(
                "INSERT INTO cases (id, workflow, definition_version, profile, org_id, state, version, closed, data, "
                "facts, fired_by, created_by_id, created_at, updated_at, state_since, title) VALUES (:id, 'founding', "
                "'1', 'default', 1, 'draft', 1, :no, '{}', '{}', '{}', 1, :t, :t, :t, '')"),
                {"id": case_id, "t": updated, "no": False})
    engine.dispose()
    migrate.upgrade(url, "0011")
    engine = _engine(url)
    with engine.connect() as conn:
        days = [str(d) for d in conn.execute(text("SELECT decided_on FROM cases ORDER BY id")).scalars()]
    engine.dispose()
    assert days == ["2026-11-10", "2026-11-11"]


def test_cases_migrated_to_claims_are_unclaimed_and_delegations_start_empty(empty_db):
    """0012: a case of before holds no claim (so its recorded row digest stays valid), and there are no
    delegations yet."""
    url = empty_db
    migrate.upgrade(url, "0011")
    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organisations (id, code, name, kind, path, union_status, created_at) "
                          "VALUES (1, 'ENT', '企业', 'enterprise', '/1/', 'none', :t)"), {"t": datetime(2026, 11, 1)})
        conn.execute(text("INSERT INTO users (id, username, password_hash, role, org_id, active, failed_logins, "
                          "created_at) VALUES (1, 'prep', 'x', 'preparer', 1, :yes, 0, :t)"),
                     {"t": datetime(2026, 11, 1), "yes": True})
        conn.execute(text(
            "INSERT INTO cases (id, workflow, definition_version, profile, org_id, state, version, closed, data, "
            "facts, fired_by, created_by_id, created_at, updated_at, state_since, title, decided_on) VALUES (1, "
            "'founding', '1', 'default', 1, 'draft', 1, :no, '{}', '{}', '{}', 1, :t, :t, :t, '', :d)"),
            {"t": datetime(2026, 11, 10), "no": False, "d": date(2026, 11, 10)})
    engine.dispose()
    migrate.upgrade(url)
    engine = _engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT assignee_id FROM cases")).scalars().all() == [None]
        assert conn.execute(text("SELECT count(*) FROM delegations")).scalar() == 0
    engine.dispose()
