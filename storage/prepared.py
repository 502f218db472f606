"""Statements compiled once per dialect and run on the session's own DBAPI connection.

The engine's hot path runs the same handful of statements for every step.
Through `Session.execute` each one pays for ORM compile-state lookup, cache
keys, result metadata and event dispatch: most of a step's time. A
`Prepared` statement is compiled once per dialect by SQLAlchemy itself (so
the SQL, the parameter order, the casts and the type conversions are the
ones SQLAlchemy would use) and then executed directly on the DBAPI
connection of the caller's session: the same connection, the same
transaction, nothing committed here.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]
_REQUIRED = object()  # a parameter the caller must give
_streams = itertools.count(1)  # names of server-side cursors


@dataclass(frozen=True)
class _Form:
    sql: str
    named: bool  # parameters by name (pyformat) or by position (qmark)
    binds: tuple[tuple[str, Processor | None, Any], ...]  # name, conversion, the literal's own value; in order
    results: tuple[tuple[int, Processor], ...]  # the result columns that need a conversion
    plain: bool  # every parameter required, none converted: the values pass as they are


_SQLITE_DATETIME = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"


def _bind_processor(type_: Any, dialect: Dialect) -> Processor | None:
    """SQLAlchemy's conversion of a parameter; for SQLite's DATETIME text the same text written by
    `datetime.isoformat` (in C) when the value is a naive datetime, as every time UnionFlow stores is."""
    impl = type_.dialect_impl(dialect)
    process = impl.bind_processor(dialect)
    if process is None or dialect.name != "sqlite" or getattr(impl, "_storage_format", None) != _SQLITE_DATETIME:
        return process

    def datetime_text(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is None:
            return value.isoformat(" ", "microseconds")
        return process(value)

    return datetime_text


def _compile(statement: ClauseElement, dialect: Dialect) -> _Form:
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler):  # DDL compiles to another kind: nothing to run with parameters
        raise TypeError(f"not a statement with parameters: {type(statement).__name__}")
    order = (compiled.positiontup or []) if compiled.positional else list(compiled.binds)
    binds = []
    for name in order:
        bind = compiled.binds[name]
        process = _bind_processor(bind.type, dialect)
        binds.append((name, process, _REQUIRED if bind.required else bind.effective_value))
    columns = getattr(statement, "selected_columns", ())
    processors = (c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    results = tuple((i, p) for i, p in enumerate(processors) if p is not None)
    plain = all(process is None and literal is _REQUIRED for _name, process, literal in binds)
    return _Form(compiled.string, not compiled.positional, tuple(binds), results, plain)


def _dialect_key(dialect: Dialect) -> tuple[str, str, str]:
    return dialect.name, dialect.driver, dialect.paramstyle


def _arguments(form: _Form, params: Mapping[str, Any]) -> Any:
    """The driver's parameters: a mapping (pyformat) or a tuple (qmark), each value converted."""
    if form.plain:  # every parameter is required and none needs converting (the usual case)
        if form.named:
            return {name: params[name] for name, _p, _l in form.binds}
        return tuple([params[name] for name, _p, _l in form.binds])
    values = []
    for name, process, literal in form.binds:
        value = params[name] if literal is _REQUIRED or name in params else literal
        values.append(value if process is None else process(value))
    return dict(zip([name for name, _p, _l in form.binds], values, strict=True)) if form.named else tuple(values)


_KEY = "storage.prepared.connection"
# set by `Database` while a unit runs in a transaction of its connection's own: (driver connection, dialect)
UNIT_CONNECTION = "storage.unit.connection"


def dbapi_connection(session: Session) -> tuple[Any, Dialect]:
    """The driver's connection under the session's current transaction (begun if need be), and its dialect.

    Looked up once per transaction: the session's `info` keeps it beside the
    transaction it belongs to.
    """
    unit = session.info.get(UNIT_CONNECTION)
    if unit is not None:
        return unit
    cached = session.info.get(_KEY)
    transaction = session.get_transaction()
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1], cached[2]
    connection = session.connection()
    found = (session.get_transaction(), connection.connection.driver_connection, connection.dialect)
    session.info[_KEY] = found
    return found[1], found[2]


class Prepared:
    """One Core statement, compiled per dialect on first use."""

    __slots__ = ("statement", "_forms")

    def __init__(self, statement: ClauseElement):
        self.statement = statement
        self._forms: dict[tuple[str, str, str], _Form] = {}

    def _form(self, dialect: Dialect) -> _Form:
        key = _dialect_key(dialect)
        form = self._forms.get(key)
        if form is None:
            form = self._forms[key] = _compile(self.statement, dialect)
        return form

    def _run(self, session: Session, params: Mapping[str, Any] | None) -> tuple[Any, _Form]:
        connection, dialect = dbapi_connection(session)
        form = self._form(dialect)
        cursor = connection.cursor()
        cursor.execute(form.sql, _arguments(form, params or {}))
        return cursor, form

    def execute(self, session: Session, params: Mapping[str, Any] | None = None) -> Any:
        """Run the statement in the session's transaction; returns the DBAPI cursor."""
        return self._run(session, params)[0]

    def execute_many(self, session: Session, params: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per mapping of `params`, in one call of the driver (`executemany`)."""
        if not params:
            return
        connection, dialect = dbapi_connection(session)
        form = self._form(dialect)
        connection.cursor().executemany(form.sql, [_arguments(form, p) for p in params])

    def rows(self, session: Session, params: Mapping[str, Any] | None = None) -> list[tuple]:
        """All result rows, with the column types' conversions applied."""
        cursor, form = self._run(session, params)
        raw = cursor.fetchall()
        if not form.results:
            return [tuple(r) for r in raw]
        return [_convert(r, form.results) for r in raw]

    def stream(self, session: Session, size: int, params: Mapping[str, Any] | None = None) -> Iterator[tuple]:
        """Rows as the driver returns them (no conversions), fetched `size` at a time.

        On PostgreSQL a server-side cursor keeps only `size` rows in memory.
        """
        connection, dialect = dbapi_connection(session)
        form = self._form(dialect)
        cursor = connection.cursor(name=f"stream_{next(_streams)}") if dialect.name == "postgresql" \
            else connection.cursor()
        cursor.execute(form.sql, _arguments(form, params or {}))
        try:
            while batch := cursor.fetchmany(size):
                yield from batch
        finally:
            cursor.close()

    def one_or_none(self, session: Session, params: Mapping[str, Any] | None = None) -> tuple | None:
        found = self.rows(session, params)
        if len(found) > 1:
            raise LookupError("more than one row where at most one was expected")
        return found[0] if found else None


def _convert(row: Sequence[Any], processors: tuple[tuple[int, Processor], ...]) -> tuple:
    values = list(row)
    for i, process in processors:
        values[i] = process(values[i])
    return tuple(values)
