"""Uploaded materials (申请材料) of a case: the table and the service that checks and records them.

A workflow whose definition lists `materials` in its `extra` section takes
uploads of those kinds (困难职工帮扶: 档案表, 身份证复印件, 户口本, 收入证明,
诊断证明). Only the case's own enterprise (its preparers and its union
reviewers) attaches files, and only while the case is open. A file is
accepted when its *content* is a JPEG, PNG or PDF (magic bytes; the name's
extension must agree) and it is neither empty nor over the size limit; the
bytes go to the content-addressed store, the row records what it is and who
brought it, and the audit trail gets an entry of subject type "attachment"
(so a case's own trail, which verification compares with the case row, stays
the record of its steps).

The checklist of the definition stays the rule for submitting (the preparer
ticks the materials handed in); uploads are shown beside it.

A material kind marked `personal` (身份证复印件: scans of ID cards show the
numbers in full) is served only to those who see ID numbers unmasked (the
engine's `can_see_personal_data`); everyone else who may see the case gets
403 and the pages show the file's name without a link.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

import audit
from storage import Base, utcnow
from storage.files import FileStore, sha256_of
from workflow import (
    Actor,
    Case,
    Engine,
    Forbidden,
    InvalidState,
    NotFound,
    Reason,
    User,
    WorkflowError,
    can_see_personal_data,
    can_view,
)

SUBJECT = "attachment"
TRIGGER = "attach"
UPLOAD_ROLES = ("preparer", "reviewer")
MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds on both databases
MAX_FILENAME = 200

# what a file's first bytes say it is, and the names it may carry
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
}
TYPE_NAMES = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG"}


class Attachment(Base):
    """One uploaded file of one material kind of one case."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    material: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    uploaded_by: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (
        # the same bytes once per case and material kind
        UniqueConstraint("case_id", "material", "sha256", name="uq_attachments_case_material_sha256"),
        Index("ix_attachments_case", "case_id", "material", "uploaded_at"),
        Index("ix_attachments_sha256", "sha256"),
    )


# ---------------------------------------------------------------- errors

class UploadRejected(WorkflowError):
    code = "invalid_upload"


class UploadTooLarge(UploadRejected):
    code = "payload_too_large"


class UnsupportedFileType(UploadRejected):
    code = "unsupported_media_type"


# ---------------------------------------------------------------- pure checks

def sniff(content: bytes) -> str | None:
    """The content type the bytes themselves declare (JPEG, PNG or PDF), else None."""
    for magic, content_type in SIGNATURES:
        if content.startswith(magic):
            return content_type
    return None


def clean_filename(filename: Any) -> str:
    """The name as the user's system had it, without folders or control characters."""
    name = str(filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_FILENAME - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:MAX_FILENAME]
    return name or "upload"


def size_text(n: int) -> str:
    """1 MiB = 1024 KiB: whole units as such, others to two decimals ("10 MiB", "10.01 MiB", "512 B")."""
    for unit, name in ((1024 * 1024, "MiB"), (1024, "KiB")):
        if n >= unit:
            return f"{n // unit} {name}" if n % unit == 0 else f"{n / unit:.2f} {name}"
    return f"{n} B"


def _sizes(n: int, limit: int) -> tuple[str, str]:
    """A size and the limit it exceeds, in bytes when the rounded figures would look equal."""
    size, most = size_text(n), size_text(limit)
    if float(size.split()[0]) <= float(most.split()[0]) and size.split()[1] == most.split()[1]:
        return f"{n:,} B", f"{limit:,} B"
    return size, most


def check_file(filename: str, content: bytes, max_bytes: int) -> str:
    """The file's content type; raises when the file is empty, too large or not a JPEG, PNG or PDF."""
    if not content:
        raise UploadRejected([Reason("file_empty", {"filename": filename})])
    if len(content) > max_bytes:
        size, limit = _sizes(len(content), max_bytes)
        raise UploadTooLarge([Reason("file_too_large", {"filename": filename, "size": size, "limit": limit})])
    content_type = sniff(content)
    if content_type is None:
        raise UnsupportedFileType([Reason("file_type_not_allowed", {"filename": filename})])
    if not filename.lower().endswith(EXTENSIONS[content_type]):
        raise UnsupportedFileType([Reason("file_extension_mismatch", {
            "filename": filename, "detected": TYPE_NAMES[content_type],
            "extensions": "/".join(EXTENSIONS[content_type])})])
    return content_type


def material_kinds(extra: Any) -> list[str]:
    return [m["id"] for m in (extra or {}).get("materials", ())]


def personal_kinds(extra: Any) -> frozenset[str]:
    """The material kinds that carry ID numbers in full (`personal: true` in the definition)."""
    return frozenset(m["id"] for m in (extra or {}).get("materials", ()) if m.get("personal"))


def may_download(actor: Actor, case: Case, material: str, personal: frozenset[str]) -> bool:
    """Anyone who sees the case gets its files, except a personal kind outside those who see ID numbers."""
    return material not in personal or can_see_personal_data(actor, case)


def may_attach(actor: Actor, case: Case) -> bool:
    """The case's own enterprise (preparer or union reviewer) adds materials while the case is open."""
    return actor.role in UPLOAD_ROLES and actor.org_id is not None and actor.org_id == case.org.id and not case.closed


# ---------------------------------------------------------------- the service

@dataclass(frozen=True)
class Attached:
    attachment: Attachment
    created: bool  # False: the same file was already attached as this material


def attach(session: Session, engine: Engine, case_id: int, actor: Actor, material: Any, filename: Any,
           content: bytes, store: FileStore, max_bytes: int) -> Attached:
    """Check and record one upload in the caller's unit of work; nothing is stored when a check fails."""
    if not 0 < case_id <= MAX_ID:
        raise NotFound()
    case = engine.load_for_update(session, case_id, actor)  # 404 outside the actor's subtree
    kinds = material_kinds(engine.definition_of(case).extra)
    if not kinds:
        raise NotFound()
    if actor.role not in UPLOAD_ROLES or actor.org_id != case.org.id:
        raise Forbidden([Reason("attachment_forbidden", {"role": actor.role})])
    if case.closed:
        raise InvalidState([Reason("attachments_closed", {"state": case.state, "workflow": case.workflow})])
    if not isinstance(material, str) or material not in kinds:
        raise UploadRejected([Reason("material_unknown", {"material": str(material or "—")[:40]})])
    name = clean_filename(filename)
    content_type = check_file(name, content, max_bytes)

    digest = sha256_of(content)
    existing = session.scalars(select(Attachment).where(
        Attachment.case_id == case.id, Attachment.material == material, Attachment.sha256 == digest)).first()
    if existing is not None:
        return Attached(existing, False)
    row = Attachment(case_id=case.id, material=material, filename=name, size=len(content),
                     content_type=content_type, sha256=digest, uploaded_by_id=actor.id, uploaded_at=utcnow())
    session.add(row)
    session.flush()
    audit.append(
        session, actor=actor.username, role=actor.role, subject_type=SUBJECT,
        subject_id=f"{case.id}:{digest[:12]}", trigger=TRIGGER, from_state=None, to_state=None, version=None,
        comment="", data={"case_id": case.id, "attachment_id": row.id, "material": material, "filename": name,
                          "size": len(content), "content_type": content_type, "sha256": digest},
    )
    session.flush()
    # the bytes last: a refused row never leaves a file, a failed write rolls the row back
    store.put(content)
    return Attached(row, True)


def attachments_of(session: Session, case_ids: Iterable[int]) -> list[Attachment]:
    ids = list(case_ids)
    if not ids:
        return []
    return list(session.scalars(
        select(Attachment).where(Attachment.case_id.in_(ids)).order_by(Attachment.uploaded_at, Attachment.id)
    ).unique())


def attachments_for(session: Session, case_id: int) -> list[Attachment]:
    return attachments_of(session, [case_id])


def get_attachment(session: Session, engine: Engine, attachment_id: int, actor: Actor) -> tuple[Attachment, Case]:
    """The attachment and its case, for someone who may see the case (NotFound otherwise) and, for a
    personal kind (an ID-card scan), sees ID numbers in full (Forbidden otherwise)."""
    row = session.get(Attachment, attachment_id) if 0 < attachment_id <= MAX_ID else None
    if row is None:
        raise NotFound()
    case = session.get(Case, row.case_id)
    if case is None or not can_view(actor, case.org):
        raise NotFound()
    if not may_download(actor, case, row.material, personal_kinds(engine.definition_of(case).extra)):
        raise Forbidden([Reason("id_scan_forbidden")])
    return row, case
