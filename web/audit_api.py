"""The audit proofs of api.md ("Revision 2 → Audit proofs") under /api/v1/audit: the Merkle tree's head,
inclusion proofs of entries and consistency proofs between tree sizes (RFC 9162 §2.1).

Auditors and administrators may read them; an auditor gets inclusion proofs
only for the entries of their subtree (another entry is 404, as on the
explorer). The tree's head and consistency proofs are hashes only.
"""
from __future__ import annotations

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from audit import tree
from audit.merkle import ProofError
from audit.models import AuditEntry
from workflow import Actor, FieldError, Forbidden, InvalidInput, NotFound

from .api import endpoint, respond
from .audit_views import scoped_entries
from .extensions import csrf

bp = Blueprint("audit_api", __name__, url_prefix="/api/v1/audit")
csrf.exempt(bp)  # bearer tokens only, as the rest of the API

READERS = ("auditor", "admin")


def _require_reader(actor: Actor) -> None:
    if actor.role not in READERS:
        raise Forbidden()


def _size_arg(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if default is None:
            raise InvalidInput(fields={name: FieldError("required")})
        return default
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput(fields={name: FieldError("not_integer")})
    return int(raw)


def _within(name: str, value: int, low: int, high: int) -> None:
    if value < low:
        raise InvalidInput(fields={name: FieldError("below_min", min=low)})
    if value > high:
        raise InvalidInput(fields={name: FieldError("above_max", max=high)})


@bp.get("/tree")
@endpoint()
def get_tree(session: Session, actor: Actor) -> Response:
    _require_reader(actor)
    return respond(tree.tree_head(session).as_dict())


@bp.get("/entries/<int:seq>/proof")
@endpoint()
def get_inclusion(session: Session, actor: Actor, seq: int) -> Response:
    _require_reader(actor)
    visible = session.scalar(scoped_entries(session, actor, {}).with_only_columns(AuditEntry.seq)
                             .where(AuditEntry.seq == seq).order_by(None))
    if visible is None:
        raise NotFound()
    built = tree.tree_size(session)
    size = _size_arg("size", built)
    assert size is not None
    _within("size", size, seq, built)
    try:
        proof = tree.inclusion_proof(session, seq - 1, size)
    except ProofError:  # the stored tree lacks a node: `flask audit verify` says why
        raise NotFound() from None
    return respond({"seq": seq, "leaf_index": proof.leaf_index, "tree_size": proof.tree_size,
                    "path": [h.hex() for h in proof.path], "root": proof.root.hex()})


@bp.get("/consistency")
@endpoint()
def get_consistency(session: Session, actor: Actor) -> Response:
    _require_reader(actor)
    built = tree.tree_size(session)
    old = _size_arg("from", None)
    new = _size_arg("to", built)
    assert old is not None and new is not None
    _within("to", new, 0, built)
    _within("from", old, 0, new)
    try:
        proof = tree.consistency_proof(session, old, new)
    except ProofError:
        raise NotFound() from None
    return respond({"from": old, "to": new, "path": [h.hex() for h in proof.path],
                    "from_root": proof.old_root.hex(), "to_root": proof.new_root.hex()})
