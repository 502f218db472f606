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
The workers are `audit.scan_worker` processes; one on a SQLite file needs
only the standard library and `audit.scan`, so it starts in a few
hundredths of a second instead of half a second.
"""
from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from .chain import GENESIS
from .check import check_entries
from .models import AuditEntry
from .scan import Run

RANGES_EACH = 4  # ranges per process
_SNAPSHOT = re.compile(r"^[0-9A-Fa-f-]+$")
_ROOT = Path(__file__).resolve().parents[1]  # the directory holding the `audit` package
WORKER = "audit.scan_worker"  # the workers' module, run as `python -m`


def _shared_url(session: Session) -> str | None:
    url = session.get_bind().engine.url  # the engine of a session bound to an engine or to a connection
    if url.get_backend_name() == "sqlite" and (not url.database or url.database == ":memory:"
                                               or url.database.startswith("file:")):
        return None
    return url.render_as_string(hide_password=False)


def _sqlite_file(session: Session) -> str | None:
    """The file of a SQLite database named by a plain path, which a worker can open with `sqlite3` alone."""
    url = session.get_bind().engine.url
    return url.database if url.get_backend_name() == "sqlite" and not url.query else None


def check_in_parallel(session: Session, head_seq: int, head_hash: str, workers: int, chunk: int,
                      progress: Callable[[int], None] | None) -> Run | None:
    """The whole trail 1..head_seq checked in `workers` processes; None when this database cannot be shared.

    The trail is cut into RANGES_EACH ranges per process, dealt out in turn, so
    that each process gets some of every part of the trail (older entries may
    be larger or smaller than newer ones). The result is one run as
    `check_entries` would give for the whole trail when every range is intact
    and the ranges join up; any problem gives a run marked bad at its first
    range's start, and the caller checks again in one pass.
    """
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
    size = -(-head_seq // (workers * RANGES_EACH))
    ranges = [(lo, min(lo + size - 1, head_seq)) for lo in range(1, head_seq + 1, size)]
    processes = min(workers, len(ranges))
    shares = [ranges[i::processes] for i in range(processes)]
    # worker processes of their own (`python -m audit.scan_worker`), not forks of this one, which holds database
    # connections; the request goes in on stdin (the URL may hold a password), the runs come back
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))}
    path = _sqlite_file(session)
    procs = []
    for share in shares[1:]:  # this process checks the first share itself, meanwhile
        proc = subprocess.Popen([sys.executable, "-m", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                env=env)
        request = ("sqlite", path, share, chunk) if path is not None else ("url", url, share, snapshot, chunk)
        assert proc.stdin is not None  # stdin=PIPE
        proc.stdin.write(pickle.dumps(request))
        proc.stdin.close()
        procs.append(proc)
    done: list[list[Run]] = []
    try:
        done.append([check_entries(session, chunk, lo, hi, None) for lo, hi in shares[0]])
        if progress is not None:
            progress(sum(r.checked for r in done[0]))
        for proc in procs:
            assert proc.stdout is not None  # stdout=PIPE
            out = proc.stdout.read()
            if proc.wait() != 0:
                return _check_again(session, chunk)
            done.append(pickle.loads(out))
            if progress is not None:
                progress(sum(r.checked for runs in done for r in runs))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    runs = [done[i % processes][i // processes] for i in range(len(ranges))]  # back in the trail's order
    whole = Run(0, None, GENESIS, runs[0].last)  # the first range's subjects, and the later ones' over them
    for (lo, hi), run in zip(ranges, runs, strict=True):
        if run.bad is not None or run.checked != hi - lo + 1 or run.first_prev != whole.last_hash:
            return _check_again(session, chunk)
        whole.checked += run.checked
        whole.last_hash = run.last_hash
        if run is not runs[0]:
            whole.last.update(run.last)
    return whole


def start_tree_check(session: Session, chunk: int) -> subprocess.Popen | None:
    """Check the stored Merkle tree in a worker process of its own, beside the chain's check (under the
    caller's snapshot on PostgreSQL); None when this database cannot be shared. `tree_check_result` waits
    for its answer."""
    url = _shared_url(session)
    if url is None:
        return None
    path = _sqlite_file(session)
    snapshot = None
    if path is None and session.get_bind().dialect.name == "postgresql":
        snapshot = session.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        if not _SNAPSHOT.match(snapshot):
            return None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    request = ("tree_sqlite", path, chunk) if path is not None else ("tree_url", url, snapshot, chunk)
    assert proc.stdin is not None  # stdin=PIPE
    proc.stdin.write(pickle.dumps(request))
    proc.stdin.close()
    return proc


def tree_check_result(proc: subprocess.Popen) -> tuple[bool, dict | None]:
    """(True, the first problem or None) from a tree check's worker; (False, None) when it failed."""
    assert proc.stdout is not None  # stdout=PIPE
    out = proc.stdout.read()
    if proc.wait() != 0:
        return False, None
    return True, pickle.loads(out)


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()


def _check_again(session: Session, chunk: int) -> Run:
    """Something is wrong: one pass over the whole trail names the first bad entry as `verify` always does."""
    return check_entries(session, chunk, every=chunk)
