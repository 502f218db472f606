"""A content-addressed file store: each file is kept once, named by the SHA-256 of its bytes.

Files live under a root directory outside the web root (by default the
instance folder's `uploads/`), fanned out by the first two hex digits of
their hash: ``<root>/ab/abcdef…``. A file is written to a temporary name in
its final directory and renamed into place, so a reader never sees half a
file; storing the same bytes twice keeps the first copy. Names are hashes,
never user input, so a request cannot reach outside the root.

The store knows nothing of cases or users: the database row that refers to a
file (see the attachments of the workflow layer) says what it is and who may
read it. A file whose row was rolled back stays behind unreferenced; it is
harmless (content-addressed) and may be swept by comparing the store with the
rows.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

HASH_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    created: bool  # False when the same bytes were already stored


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class FileStore:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def path_of(self, sha256: str) -> Path:
        """Where the file of this hash lives; ValueError for anything that is not a SHA-256 hex digest."""
        if not isinstance(sha256, str) or not HASH_RE.match(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def put(self, content: bytes) -> StoredFile:
        digest = sha256_of(content)
        target = self.path_of(digest)
        if target.is_file():
            return StoredFile(digest, len(content), False)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o640)
            os.replace(tmp, target)  # atomic; a concurrent writer of the same bytes writes the same file
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return StoredFile(digest, len(content), True)

    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes for reading; FileNotFoundError when the store has no such file."""
        return self.path_of(sha256).open("rb")

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as f:
            return f.read()
