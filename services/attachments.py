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

One file once per case: the same bytes (SHA-256) uploaded again, as any kind,
are refused with the earlier upload named. Until the step that uses the
materials (the definition's `materials_used_by`, 困难职工帮扶: the enterprise
union's 审核同意) has been taken, an upload may be deleted or replaced by those
who may attach; afterwards it is part of the record (409). A deletion is an
entry "detach" of the upload's own subject, a replacement a "detach" of the old
file and an "attach" of the new one, written the same way as the upload; the
bytes stay in the content-addressed store, which other cases may share.

A material kind marked `personal` (身份证复印件: scans of ID cards show the
numbers in full) is served only to those who see ID numbers unmasked (the
engine's `can_see_personal_data`); everyone else who may see the case gets
403 and the pages show the file's name without a link.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
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
DETACH = "detach"
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


class DuplicateUpload(UploadRejected):
    """The same bytes are already attached to the case."""
    code = "invalid_state"  # a conflict with what the case holds: 409


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
    created: bool  # always True: a file already attached to the case is refused (DuplicateUpload)


def _title(extra: Any, material: str) -> Any:
    """The material kind's title ({"zh", "en"}), or its id."""
    for m in (extra or {}).get("materials", ()):
        if m["id"] == material:
            return dict(m["title"])
    return material


def _local(engine: Engine, case: Any, at: datetime) -> str:
    return at.replace(tzinfo=UTC).astimezone(engine.zone(case.profile)).strftime("%Y-%m-%d %H:%M")


def _load_for_change(session: Session, engine: Engine, case_id: int, actor: Actor) -> tuple[Any, list[str]]:  # the engine's locked case record
    """The case, locked, for someone who may attach to it while it is open; and its material kinds."""
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
    return case, kinds


def _checked(session: Session, engine: Engine, case: Any, filename: Any, content: bytes,
             max_bytes: int) -> tuple[str, str, str]:
    """(name, content type, SHA-256) of a file the case does not hold yet."""
    name = clean_filename(filename)
    content_type = check_file(name, content, max_bytes)
    digest = sha256_of(content)
    earlier = session.scalars(select(Attachment).where(
        Attachment.case_id == case.id, Attachment.sha256 == digest).order_by(Attachment.id)).first()
    if earlier is not None:
        by = earlier.uploaded_by
        raise DuplicateUpload([Reason("duplicate_upload", {
            "filename": name, "earlier": earlier.filename,
            "material": _title(engine.definition_of(case).extra, earlier.material),
            "by": (by.display_name or by.username) if by else "—",
            "at": _local(engine, case, earlier.uploaded_at)})])
    return name, content_type, digest


def _record(session: Session, case: Any, actor: Actor, material: str, name: str, content: bytes,
            content_type: str, digest: str, replaces: Attachment | None = None) -> Attachment:
    row = Attachment(case_id=case.id, material=material, filename=name, size=len(content),
                     content_type=content_type, sha256=digest, uploaded_by_id=actor.id, uploaded_at=utcnow())
    session.add(row)
    session.flush()
    data: dict[str, Any] = {"case_id": case.id, "attachment_id": row.id, "material": material, "filename": name,
                            "size": len(content), "content_type": content_type, "sha256": digest}
    if replaces is not None:
        data["replaces"] = replaces.id
    audit.append(
        session, actor=actor.username, role=actor.role, subject_type=SUBJECT,
        subject_id=f"{case.id}:{digest[:12]}", trigger=TRIGGER, from_state=None, to_state=None, version=None,
        comment="", data=data,
    )
    session.flush()
    return row


def attach(session: Session, engine: Engine, case_id: int, actor: Actor, material: Any, filename: Any,
           content: bytes, store: FileStore, max_bytes: int) -> Attached:
    """Check and record one upload in the caller's unit of work; nothing is stored when a check fails."""
    case, kinds = _load_for_change(session, engine, case_id, actor)
    if not isinstance(material, str) or material not in kinds:
        raise UploadRejected([Reason("material_unknown", {"material": str(material or "—")[:40]})])
    name, content_type, digest = _checked(session, engine, case, filename, content, max_bytes)
    row = _record(session, case, actor, material, name, content, content_type, digest)
    # the bytes last: a refused row never leaves a file, a failed write rolls the row back
    store.put(content)
    return Attached(row, True)


def used_by(extra: Any) -> tuple[str, ...]:
    """The triggers after which the uploads are part of the record (`materials_used_by`)."""
    value = (extra or {}).get("materials_used_by")
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def fixed(session: Session, engine: Engine, case: Case) -> str | None:
    """The trigger of the step that used the case's uploads, once taken; None while they may change.
    A definition that names no such step keeps every upload."""
    triggers = used_by(engine.definition_of(case).extra)
    if not triggers:
        return "*"
    for entry in audit.entries_for(session, "case", str(case.id)):
        if entry.trigger in triggers:
            return entry.trigger
    return None


def may_change(session: Session, engine: Engine, actor: Actor, case: Case) -> bool:
    """May this person delete or replace the case's uploads now?"""
    return may_attach(actor, case) and fixed(session, engine, case) is None


def _changeable(session: Session, engine: Engine, attachment_id: int, actor: Actor) -> tuple[Attachment, Any]:
    row = session.get(Attachment, attachment_id) if 0 < attachment_id <= MAX_ID else None
    if row is None:
        raise NotFound()
    case, _kinds = _load_for_change(session, engine, row.case_id, actor)
    step = fixed(session, engine, case)
    if step is not None:
        definition = engine.definition_of(case)
        label: Any = {"zh": "办理", "en": "a step"}
        for t in definition.transitions if step != "*" else ():
            if t.trigger == step:
                label = {"zh": t.label.zh, "en": t.label.en}
        raise InvalidState([Reason("attachment_in_record", {"filename": row.filename, "step": label})])
    return row, case


def _detach_entry(session: Session, case: Any, actor: Actor, row: Attachment, replaced_by: int | None) -> None:
    data: dict[str, Any] = {"case_id": case.id, "attachment_id": row.id, "material": row.material,
                            "filename": row.filename, "size": row.size, "content_type": row.content_type,
                            "sha256": row.sha256}
    if replaced_by is not None:
        data["replaced_by"] = replaced_by
    audit.append(
        session, actor=actor.username, role=actor.role, subject_type=SUBJECT,
        subject_id=f"{case.id}:{row.sha256[:12]}", trigger=DETACH, from_state=None, to_state=None, version=None,
        comment="", data=data,
    )


def detach(session: Session, engine: Engine, attachment_id: int, actor: Actor) -> Attachment:
    """Delete one upload before the step that uses it, with its entry; refused (409) afterwards."""
    row, case = _changeable(session, engine, attachment_id, actor)
    _detach_entry(session, case, actor, row, None)
    session.delete(row)
    session.flush()
    return row


def replace(session: Session, engine: Engine, attachment_id: int, actor: Actor, filename: Any, content: bytes,
            store: FileStore, max_bytes: int) -> Attached:
    """Put a new file in place of an upload, as the same material kind, before the step that uses it."""
    old, case = _changeable(session, engine, attachment_id, actor)
    name, content_type, digest = _checked(session, engine, case, filename, content, max_bytes)
    # the new row first: it never takes the id of the row it replaces
    row = _record(session, case, actor, old.material, name, content, content_type, digest, replaces=old)
    _detach_entry(session, case, actor, old, row.id)
    session.delete(old)
    session.flush()
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
