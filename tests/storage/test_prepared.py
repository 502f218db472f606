"""Prepared statements convert values exactly as the ORM does, in the caller's transaction, on both databases."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update

from storage.prepared import Prepared, dbapi_connection
from workflow.models import Case

UPDATE = Prepared(update(Case.__table__).where(Case.__table__.c.id == bindparam("case_id"))
                  .values(data=bindparam("data"), closed=bindparam("closed"), updated_at=bindparam("at"),
                          unique_key=bindparam("key")))
READ = Prepared(select(Case.data, Case.closed, Case.updated_at, Case.unique_key).where(Case.id == bindparam("case_id")))


def test_values_written_and_read_back_are_the_orms(db, tree, make_case):
    case_id = make_case(tree["prep"])["id"]
    data = {"名称": "精密制造", "n": 3, "list": [1, None, "x"], "nested": {"ok": True}}
    at = datetime(2026, 11, 21, 8, 5, 9, 42)
    with db.write() as session:
        UPDATE.execute(session, {"case_id": case_id, "data": data, "closed": True, "at": at, "key": None})
        assert READ.one_or_none(session, {"case_id": case_id}) == (data, True, at, None)
    with db.read() as session:
        case = session.get(Case, case_id)
        assert (case.data, case.closed, case.updated_at, case.unique_key) == (data, True, at, None)
        assert READ.rows(session, {"case_id": -1}) == []


def test_a_rolled_back_transaction_takes_the_prepared_change_with_it(db, tree, make_case):
    case_id = make_case(tree["prep"])["id"]
    try:
        with db.write() as session:
            UPDATE.execute(session, {"case_id": case_id, "data": {"x": 1}, "closed": True,
                                     "at": datetime(2026, 1, 1), "key": None})
            raise RuntimeError("abandon the unit of work")
    except RuntimeError:
        pass
    with db.read() as session:
        assert session.get(Case, case_id).closed is False


def test_the_driver_connection_is_the_sessions_own_for_each_transaction(db):
    with db.read() as session:
        first, _ = dbapi_connection(session)
        assert dbapi_connection(session)[0] is first is session.connection().connection.driver_connection
    with db.read() as session:
        assert dbapi_connection(session)[0] is session.connection().connection.driver_connection


def test_a_missing_parameter_is_an_error_not_a_null(db, tree, make_case):
    import pytest

    case_id = make_case(tree["prep"])["id"]
    with pytest.raises(KeyError):
        with db.write() as session:
            UPDATE.execute(session, {"case_id": case_id, "data": {}, "closed": False, "at": datetime(2026, 1, 1)})


def test_sqlite_times_are_stored_as_the_orm_writes_them():
    """The fast DATETIME text is SQLAlchemy's own, whole seconds and small years included; anything else
    (an aware datetime, a date) goes through SQLAlchemy's conversion."""
    from datetime import date, timezone

    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    from storage.prepared import _bind_processor

    dialect = sqlite.dialect()
    orm = DateTime().dialect_impl(dialect).bind_processor(dialect)
    fast = _bind_processor(DateTime(), dialect)
    assert fast is not orm
    for value in (datetime(2026, 11, 21, 8, 5, 9, 42), datetime(2026, 1, 1), datetime(2026, 12, 31, 23, 59, 59, 999999),
                  datetime(999, 1, 2, 3, 4, 5), datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999),
                  datetime(2026, 6, 1, 12, tzinfo=timezone.utc), date(2026, 6, 1), None):
        assert fast(value) == orm(value), value
