"""Verifying a long trail in several processes: consecutive ranges, checked apart, stitched together.

Recomputing a million SHA-256 links is CPU-bound Python, so one process
uses one core. Each worker process opens the same database, reads the
entries of its range in order and checks them as `verify` does (numbering,
links inside the range, every hash). The caller then stitches the ranges:
each range's first entry must link to the previous range's last hash, the
first to the genesis hash, and the last must end at the head.

On PostgreSQL every worker reads under the caller's exported snapshot, so
all see one moment. On SQLite each reads its own snapshot; the entries up
to the caller's head are append-only, so the same entries are read. Only
databases that another process can open take part: not SQLite in memory.
"""
from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from storage.prepared import Prepared

from .chain import GENESIS
from .models import AuditEntry

_SNAPSHOT = re.compile(r"^[0-9A-Fa-f-]+$")
_ROOT = Path(__file__).resolve().parents[1]  # the directory holding the `audit` package


def _range_statement() -> Prepared:
    from .trail import _COLUMNS

    return Prepared(select(*_COLUMNS).where(AuditEntry.seq.between(bindparam("lo"), bindparam("hi")))
                    .order_by(AuditEntry.seq))


def _shared_url(session: Session) -> str | None:
    url = session.get_bind().engine.url  # the engine of a session bound to an engine or to a connection
    if url.get_backend_name() == "sqlite" and (not url.database or url.database == ":memory:"
                                               or url.database.startswith("file:")):
        return None
    return url.render_as_string(hide_password=False)


def check_range(url: str, lo: int, hi: int, snapshot: str | None, chunk: int) -> Any:
    """In a worker process: check entries lo..hi (the first one's link is left to the caller)."""
    from storage import Database

    from .trail import _check

    db = Database(url, pool_size=1)
    try:
        with db.read() as session:
            if snapshot is not None:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                session.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
            return _check(_range_statement().stream(session, chunk, {"lo": lo, "hi": hi}), lo, None)
    finally:
        db.dispose()


def check_in_parallel(session: Session, head_seq: int, head_hash: str, workers: int, chunk: int,
                      progress: Callable[[int], None] | None) -> Any:
    """The whole trail 1..head_seq checked in `workers` processes; None when this database cannot be shared.

    The result is one run as `_check` would give for the whole trail when
    every range is intact and the ranges join up; any problem gives a run
    marked bad at its first range's start, and the caller checks again in one pass.
    """
    from .trail import _check, _Run

    url = _shared_url(session)
    if url is None:
        return None
    if session.scalar(select(func.max(AuditEntry.seq))) != head_seq:  # entries past the head: look closely
        return _check_again(session, chunk)
    snapshot = None
    if session.get_bind().dialect.name == "postgresql":
        snapshot = session.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        if not _SNAPSHOT.match(snapshot):
            return None
    size = -(-head_seq // workers)
    ranges = [(lo, min(lo + size - 1, head_seq)) for lo in range(1, head_seq + 1, size)]
    # worker processes of their own (`python -m audit.parallel`), not forks of this one, which holds
    # database connections; the request goes in on stdin (the URL may hold a password), the run comes back
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))}
    procs = []
    for lo, hi in ranges[1:]:  # this process checks the first range itself, meanwhile
        proc = subprocess.Popen([sys.executable, "-m", "audit.parallel"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, env=env)
        proc.stdin.write(pickle.dumps((url, lo, hi, snapshot, chunk)))
        proc.stdin.close()
        procs.append(proc)
    runs = []
    try:
        lo, hi = ranges[0]
        runs.append(_check(_range_statement().stream(session, chunk, {"lo": lo, "hi": hi}), lo, None))
        if progress is not None:
            progress(runs[0].checked)
        for proc in procs:
            out = proc.stdout.read()
            if proc.wait() != 0:
                return _check_again(session, chunk)
            runs.append(pickle.loads(out))
            if progress is not None:
                progress(sum(r.checked for r in runs))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    whole = _Run(0, None, GENESIS, {})
    for (lo, hi), run in zip(ranges, runs):
        if run.bad is not None or run.checked != hi - lo + 1 or run.first_prev != whole.last_hash:
            return _check_again(session, chunk)
        whole.checked += run.checked
        whole.last_hash = run.last_hash
        whole.last.update(run.last)
    return whole


def _check_again(session: Session, chunk: int) -> Any:
    """Something is wrong: one pass over the whole trail names the first bad entry as `verify` always does."""
    from .trail import _check, _rows

    return _check(_rows(session, chunk), 1, GENESIS, None, chunk)


if __name__ == "__main__":
    request = pickle.loads(sys.stdin.buffer.read())
    sys.stdout.buffer.write(pickle.dumps(check_range(*request)))
