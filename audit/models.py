"""The trail's tables: entries, the Merkle tree's stored nodes, and the head row that serialises appends."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, LargeBinary, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage import Base


class AppendOnlyError(RuntimeError):
    """Something tried to change or remove an audit entry."""


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    # on SQLite an INTEGER primary key is the rowid: the trail is stored, and read, in seq order
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(64))
    to_state: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))  # unique by its seq: every hash covers the seq

    __table_args__ = (
        Index("ix_audit_entries_subject", "subject_type", "subject_id", "seq"),
        Index("ix_audit_entries_at", "at"),
        Index("ix_audit_entries_actor", "actor", "seq"),
    )


class AuditHead(Base):
    """One row: the last entry's seq and hash. Appenders lock it, so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    # the Merkle tree over the entries: how many leaves it holds, and the roots of the perfect subtrees
    # it is made of (largest first, hex, concatenated) so that an append extends it without reading it
    tree_size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    frontier: Mapped[str] = mapped_column(Text, default="", server_default="")


class AuditNode(Base):
    """The perfect subtrees completed by the append of leaf `idx` (entry seq idx + 1): its leaf hash,
    then each larger subtree whose last leaf it is, 32 bytes each (one row per entry, two nodes on average)."""

    __tablename__ = "audit_tree"

    idx: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    nodes: Mapped[bytes] = mapped_column(LargeBinary)


@event.listens_for(AuditEntry, "before_update", propagate=True)
def _refuse_update(_mapper, _connection, target: AuditEntry) -> None:
    raise AppendOnlyError(f"audit entry {target.seq} may not be changed")


@event.listens_for(AuditEntry, "before_delete", propagate=True)
def _refuse_delete(_mapper, _connection, target: AuditEntry) -> None:
    raise AppendOnlyError(f"audit entry {target.seq} may not be deleted")


@event.listens_for(AuditNode, "before_update", propagate=True)
def _refuse_node_update(_mapper, _connection, target: AuditNode) -> None:
    raise AppendOnlyError(f"audit tree node {target.idx} may not be changed")


@event.listens_for(AuditNode, "before_delete", propagate=True)
def _refuse_node_delete(_mapper, _connection, target: AuditNode) -> None:
    raise AppendOnlyError(f"audit tree node {target.idx} may not be deleted")


@event.listens_for(Session, "before_flush")
def _refuse_dirty_entries(session: Session, _context, _instances) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyError(f"audit entry {obj.seq} may not be changed or deleted")
        if isinstance(obj, AuditNode) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyError(f"audit tree node {obj.idx} may not be changed or deleted")
