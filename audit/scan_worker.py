"""A worker process of `audit.parallel`, run as `python -m audit.scan_worker`: checks ranges of the trail,
or the stored Merkle tree.

The request comes on stdin, the runs (or the tree's first problem) go back on
stdout, both pickled. A worker on a SQLite file reads it with `sqlite3`,
`audit.scan` and `audit.tree_check` alone (the standard library: no
SQLAlchemy to import); any other database is read through `storage` under the
caller's exported snapshot (PostgreSQL).
"""
from __future__ import annotations

import gc
import pickle
import sqlite3
import sys
from typing import Any

from .scan import Run, check_sqlite
from .tree_check import check_rows

Ranges = list[tuple[int, int]]


def check_file(path: str, ranges: Ranges, chunk: int) -> list[Run]:
    """Check each range lo..hi of the SQLite trail in `path` (each first entry's link is left to the caller)."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN")  # one snapshot for all of them
        return [check_sqlite(connection, chunk, lo, hi, None) for lo, hi in ranges]
    finally:
        connection.close()


def check_url(url: str, ranges: Ranges, snapshot: str | None, chunk: int) -> list[Run]:
    """Check each range lo..hi of the trail at `url`, under the exported `snapshot` when there is one."""
    from sqlalchemy import text

    from storage import Database

    from .check import check_entries

    db = Database(url, pool_size=1)
    try:
        with db.read() as session:
            if snapshot is not None:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                session.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
            return [check_entries(session, chunk, lo, hi, None) for lo, hi in ranges]
    finally:
        db.dispose()


def _fetched(cursor: sqlite3.Cursor, size: int) -> Any:
    while batch := cursor.fetchmany(size):
        yield from batch


def tree_file(path: str, chunk: int) -> dict[str, Any] | None:
    """The stored tree of the SQLite trail in `path` checked against its entries, in one snapshot."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN")
        head = connection.execute("SELECT tree_size, frontier FROM audit_head WHERE id = 1").fetchone()
        entries = connection.execute("SELECT seq, hash FROM audit_entries ORDER BY seq")
        nodes = connection.execute("SELECT idx, nodes FROM audit_tree ORDER BY idx")
        return check_rows(head, _fetched(entries, chunk), _fetched(nodes, chunk))
    finally:
        connection.close()


def tree_url(url: str, snapshot: str | None, chunk: int) -> dict[str, Any] | None:
    from sqlalchemy import text

    from storage import Database

    from .tree import check_tree

    db = Database(url, pool_size=1)
    try:
        with db.read() as session:
            if snapshot is not None:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                session.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
            return check_tree(session, chunk)
    finally:
        db.dispose()


def main() -> None:
    request: tuple[Any, ...] = pickle.loads(sys.stdin.buffer.read())
    kind = request[0]
    if kind in ("sqlite", "tree_sqlite"):
        gc.disable()  # nothing here makes cycles: the collector would only walk the rows again and again
    answer: Any
    if kind == "sqlite":
        answer = check_file(*request[1:])
    elif kind == "tree_sqlite":
        answer = tree_file(*request[1:])
    elif kind == "tree_url":
        answer = tree_url(*request[1:])
    else:
        answer = check_url(*request[1:])
    sys.stdout.buffer.write(pickle.dumps(answer))


if __name__ == "__main__":
    main()
