"""The SQLite writers' lock: writers to one file take their turn in order, across threads and processes."""
from __future__ import annotations

import os
import threading

if os.name == "posix":
    import fcntl


class WriterQueue:
    """Writers to one SQLite file wait their turn here, in order, instead of in SQLite's busy handler.

    SQLite admits one writer at a time; a waiting writer polls with growing
    sleeps and may be passed over again and again by a busy process (seconds
    of delay under load). A kernel file lock (flock) queues waiters across
    processes without polling, and a lock per process queues its threads.
    """

    def __init__(self, db_path: str):
        self.path = db_path + "-writer.lock"
        self._local = threading.RLock()
        self._fd = -1  # the lock file, opened on the first writer's turn

    def acquire(self) -> None:
        self._local.acquire()
        try:
            if self._fd < 0:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._local.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._local.release()

    def close(self) -> None:
        """Close the lock file; the next writer opens it again."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
