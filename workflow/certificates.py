"""Transfer certificates (会员组织关系接转凭证, domain.md §5): the one-time code of a membership transfer.

A certificate row is an entity (`workflow.entities`, name `transfer_cert`): the transfer workflow's effects
create it when the issuing union issues the certificate and change it when the receiving union redeems it
or when it expires, each change audited and replayed by `audit verify`.

The row keeps what verification needs and no more: the SHA-256 of the code (for the lookup when a
receiving union enters it; a code of 16 characters of a 25-character alphabet, about 74 bits, is not
found again from its hash), the case, the member, the issuing union, the last valid day and the status. The code
itself is in the case's data only, shown to the issuing union (the case's own organisation) and masked
everywhere else (`workflow.privacy`).
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage import Base

from .entities import register
from .members import find_member
from .models import Organisation
from .rules import lookup

CERTIFICATE = "transfer_cert"
CERT_STATUSES = ("issued", "redeemed", "expired")
# no 0/O, 1/I/L, 2/Z, 5/S, 8/B: what is read off paper and typed in cannot be mistaken
CODE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
CODE_LENGTH = 16
CODE_GROUP = 4


class TransferCertificate(Base):
    """The certificate of one transfer case: the hash of its code, its last valid day, its status."""

    __tablename__ = "transfer_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # the issuing union
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="issued")
    receiving_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        # the sweep's question: the issued certificates whose last valid day has passed
        Index("ix_transfer_certificates_status_valid_until", "status", "valid_until"),
    )


FIELDS = ("case_id", "member_id", "org_id", "code_hash", "valid_until", "status", "receiving_org_id")

register(CERTIFICATE, TransferCertificate, key="id", fields=FIELDS, version="version")


def new_code() -> str:
    """A fresh one-time code: random, CODE_LENGTH characters of CODE_ALPHABET."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(value: Any) -> str:
    """The code as typed or scanned, without spaces and hyphens, upper case ("" when it is no text)."""
    if not isinstance(value, str):
        return ""
    return "".join(c for c in value.upper() if c not in " -\t")


def format_code(code: str) -> str:
    """The code in groups of four for reading: 3467-9ACD-EFGH-JKMN."""
    return "-".join(code[i:i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def find_certificate(session: Session, code: Any, lock: bool = False) -> TransferCertificate | None:
    """The certificate of a code as entered, or None (an unknown code, or no code at all)."""
    text = normalise_code(code)
    if len(text) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in text):
        return None
    stmt = select(TransferCertificate).where(TransferCertificate.code_hash == code_hash(text))
    if lock:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def expired_cases(session: Session, today: date) -> Iterator[int]:
    """The transfer cases whose certificate is still issued after its last valid day (an indexed query)."""
    yield from session.scalars(
        select(TransferCertificate.case_id)
        .where(TransferCertificate.status == "issued", TransferCertificate.valid_until < today)
        .order_by(TransferCertificate.case_id))


@lookup("certificate")
def _certificate(session: Session, certificate_id: Any) -> Mapping[str, Any] | None:
    row = session.get(TransferCertificate, certificate_id) if isinstance(certificate_id, int) else None
    if row is None:
        return None
    return {"id": row.id, "status": row.status, "valid_until": row.valid_until, "code_hash": row.code_hash}


@lookup("roster_member")
def _roster_member(session: Session, member_id: Any) -> Mapping[str, Any] | None:
    """A member's row as the transfer rules read it (None for no such member)."""
    member = find_member(session, member_id)
    if member is None:
        return None
    return {"id": member.id, "org_id": member.org_id, "name": member.name, "id_number": member.id_number,
            "gender": member.gender, "born_on": member.born_on, "joined_on": member.joined_on,
            "member_no": member.member_no, "group_code": member.group_code, "status": member.status}


@lookup("member_count_locked")
def _member_count_locked(session: Session, org_id: int) -> int:
    """A union's member count, read under a lock of its row (the count is then written by the step)."""
    return session.execute(select(Organisation.member_count).where(Organisation.id == org_id)
                           .with_for_update()).scalar_one() or 0
