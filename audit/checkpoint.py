"""Signed checkpoints of the trail (a tree head in the manner of certificate transparency, on the hash chain).

A hash chain alone proves that no entry was changed *relative to the newest
one*: someone able to write the database could still rewrite or truncate the
trail and rebuild every link after the change. A checkpoint fixes one
moment — how many entries there were, the head's seq and hash, when — and is
signed with an Ed25519 key that never lives on the server. Later, the trail
*extends* the checkpoint when the signature is valid, the entry at the
checkpoint's seq still carries the checkpoint's hash and the whole chain
verifies: since every hash covers its predecessor, the first `seq` entries
are then exactly those that were signed.

The encoding, signing and checking are pure functions; `head_of` and
`hash_at` read the trail in the caller's session.
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .chain import GENESIS, canonical_json, format_at
from .models import AuditEntry, AuditHead

FORMAT = "unionflow-audit-checkpoint/1"
# signed bytes start with this line, so a checkpoint signature is never valid for anything else
CONTEXT = b"UnionFlow audit checkpoint v1\n"
SIGNED_FIELDS = ("format", "entries", "seq", "hash", "time", "key_id", "public_key")


class CheckpointError(ValueError):
    """A checkpoint or key that cannot be read, or whose signature is not valid."""


# -- keys ------------------------------------------------------------------------

def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"not an unencrypted PEM private key: {err}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError("the private key is not an Ed25519 key")
    return key


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"not a PEM public key: {err}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError("the public key is not an Ed25519 key")
    return key


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key: short enough to read aloud."""
    return hashlib.sha256(_raw(key)).hexdigest()[:16]


# -- checkpoints ---------------------------------------------------------------

@dataclass(frozen=True)
class Head:
    """What a checkpoint fixes: the number of entries and the newest entry's seq and hash."""

    entries: int
    seq: int
    hash: str


def signed_bytes(body: dict[str, Any]) -> bytes:
    return CONTEXT + canonical_json({k: body[k] for k in SIGNED_FIELDS}).encode("utf-8")


def sign(head: Head, key: Ed25519PrivateKey, at: datetime) -> dict[str, Any]:
    """The checkpoint of `head` at time `at` (naive UTC), signed with `key`."""
    public = key.public_key()
    body: dict[str, Any] = {
        "format": FORMAT,
        "entries": head.entries,
        "seq": head.seq,
        "hash": head.hash,
        "time": format_at(at),
        "key_id": key_id(public),
        "public_key": base64.b64encode(_raw(public)).decode("ascii"),
    }
    body["signature"] = base64.b64encode(key.sign(signed_bytes(body))).decode("ascii")
    return body


def dumps(checkpoint: dict[str, Any]) -> str:
    return json.dumps(checkpoint, indent=2, sort_keys=True) + "\n"


def loads(text: str | bytes) -> dict[str, Any]:
    """Parse a checkpoint file, checking that every field is there and well-typed (not the signature)."""
    try:
        body = json.loads(text)
    except ValueError as err:
        raise CheckpointError(f"not JSON: {err}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise CheckpointError(f"not a checkpoint (format must be {FORMAT!r})")
    for name in ("entries", "seq"):
        if isinstance(body.get(name), bool) or not isinstance(body.get(name), int) or body[name] < 0:
            raise CheckpointError(f"field {name!r} must be a non-negative integer")
    for name in ("hash", "time", "key_id", "public_key", "signature"):
        if not isinstance(body.get(name), str):
            raise CheckpointError(f"field {name!r} is missing")
    return body


def check_signature(checkpoint: dict[str, Any], trusted: Ed25519PublicKey | None = None) -> Ed25519PublicKey:
    """The key the checkpoint is signed with, after checking the signature.

    With `trusted` (the audit office's public key) the checkpoint must have
    been signed by exactly that key; without it, the key inside the
    checkpoint is used, which proves the file is intact but not who signed it.
    """
    try:
        embedded = Ed25519PublicKey.from_public_bytes(base64.b64decode(checkpoint["public_key"], validate=True))
        signature = base64.b64decode(checkpoint["signature"], validate=True)
    except (ValueError, TypeError, KeyError):
        raise CheckpointError("the checkpoint's key or signature is not valid base64") from None
    key = embedded
    if trusted is not None:
        if _raw(trusted) != _raw(embedded):
            raise CheckpointError(f"signed with key {key_id(embedded)}, not with the trusted key {key_id(trusted)}")
        key = trusted
    if checkpoint.get("key_id") != key_id(key):
        raise CheckpointError("the checkpoint's key id does not match its key")
    try:
        key.verify(signature, signed_bytes(checkpoint))
    except (InvalidSignature, KeyError):
        raise CheckpointError("the signature is not valid: the checkpoint was altered or signed with another "
                              "key") from None
    return key


def extension_problem(checkpoint: dict[str, Any], now: Head, hash_at_seq: str | None) -> str | None:
    """Why a trail whose head is `now`, and whose entry at the checkpoint's seq has `hash_at_seq`,
    does not extend the checkpoint; None when it does (the chain itself is verified separately)."""
    seq, entries = checkpoint["seq"], checkpoint["entries"]
    if now.entries < entries or now.seq < seq:
        return (f"the trail has {now.entries} entries (head {now.seq}) but the checkpoint of {checkpoint['time']} "
                f"recorded {entries} (head {seq}): entries were removed")
    expected = checkpoint["hash"]
    if seq == 0:
        return None if expected == GENESIS else "the checkpoint of an empty trail must carry the genesis hash"
    if hash_at_seq is None:
        return f"entry {seq}, the checkpoint's head, is missing: the trail was truncated"
    if hash_at_seq != expected:
        return f"entry {seq} no longer has the hash the checkpoint recorded: the trail up to it was rewritten"
    return None


# -- reading the trail ---------------------------------------------------------

def head_of(session: Session) -> Head:
    """The trail's head as stored, and how many entries there are."""
    row = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one_or_none()
    count = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    seq, digest = row if row is not None else (0, GENESIS)
    return Head(entries=int(count), seq=int(seq), hash=digest)


def hash_at(session: Session, seq: int) -> str | None:
    return session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == seq))


# -- C2SP signed notes (tlog-checkpoint) -------------------------------------------
#
# The form transparency-log tools read: a body of three lines — origin, tree size, base64 root hash — then a
# blank line and one signature line "— <key name> <base64(key hash ‖ Ed25519 signature)>", where the key
# hash is the first four bytes of SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key) and the signature covers the
# body. https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint

DEFAULT_ORIGIN = "unionflow/audit"
_DASH = "\u2014 "


@dataclass(frozen=True)
class Note:
    origin: str
    size: int
    root: bytes
    body: str
    signatures: tuple[tuple[str, bytes, bytes], ...]  # key name, key hash, signature


def note_key_hash(name: str, key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n\x01" + _raw(key)).digest()[:4]


def verifier_key(name: str, key: Ed25519PublicKey) -> str:
    """The note verifier key (`<name>+<hex key hash>+<base64(0x01 ‖ key)>`) that note tools are given."""
    encoded = base64.b64encode(b"\x01" + _raw(key)).decode("ascii")
    return f"{name}+{note_key_hash(name, key).hex()}+{encoded}"


def _valid_origin(origin: str) -> bool:
    return bool(origin) and origin.isprintable() and " " not in origin and "+" not in origin


def sign_note(origin: str, size: int, root: bytes, key: Ed25519PrivateKey) -> str:
    if not _valid_origin(origin):
        raise CheckpointError("the origin must be one printable word without '+' (for example unionflow/audit)")
    body = f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"
    blob = note_key_hash(origin, key.public_key()) + key.sign(body.encode("utf-8"))
    return f"{body}\n{_DASH}{origin} {base64.b64encode(blob).decode('ascii')}\n"


def is_note(text: str | bytes) -> bool:
    head = text[:1] if isinstance(text, str) else text[:1].decode("latin-1")
    return head not in ("{", "")


def parse_note(text: str | bytes) -> Note:
    try:
        raw = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError:
        raise CheckpointError("the signed note is not UTF-8") from None
    body, sep, rest = raw.partition("\n\n")
    if not sep or not rest.endswith("\n"):
        raise CheckpointError("not a signed note: no blank line before the signatures, or no final newline")
    lines = body.split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint note has an origin, a tree size and a root hash")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")) or len(size_text) > 19:
        raise CheckpointError(f"the tree size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError:
        root = b""
    if len(root) != 32:
        raise CheckpointError("the root hash is not 32 bytes of base64")
    signatures = []
    for line in rest[:-1].split("\n"):
        if not line.startswith(_DASH):
            raise CheckpointError(f"not a signature line: {line[:40]!r}")
        name, _, encoded = line[len(_DASH):].rpartition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except ValueError:
            blob = b""
        if not name or len(blob) < 5:
            raise CheckpointError(f"a malformed signature line: {line[:40]!r}")
        signatures.append((name, blob[:4], blob[4:]))
    return Note(origin, int(size_text), root, body + "\n", tuple(signatures))


def check_note(note: Note, trusted: Ed25519PublicKey) -> None:
    """Raise unless the note carries a valid signature by `trusted` under the note's origin as key name."""
    wanted = note_key_hash(note.origin, trusted)
    for name, key_hash, signature in note.signatures:
        if name == note.origin and key_hash == wanted:
            try:
                trusted.verify(signature, note.body.encode("utf-8"))
            except InvalidSignature:
                raise CheckpointError("the signature is not valid: the checkpoint was altered or signed with "
                                      "another key") from None
            return
    raise CheckpointError(f"no signature by the trusted key {key_id(trusted)} for origin {note.origin!r}")


def note_extension_problem(session: Session, note: Note) -> str | None:
    """Why the live trail does not extend the signed tree `note`; None when it does.

    No rescan: a consistency proof from the stored tree shows that the tree of
    the note's size is a prefix of today's tree, and the leaves at both ends are
    compared with the entries' hashes as stored. (`flask audit verify` without a
    checkpoint recomputes every entry and every stored node.)
    """
    from .merkle import EMPTY_ROOT, ProofError, leaf_hash, verify_consistency
    from .tree import consistency_proof, inclusion_proof

    head = session.execute(select(AuditHead.seq, AuditHead.tree_size).where(AuditHead.id == 1)).one_or_none()
    seq, tree_size = (int(head[0]), int(head[1])) if head is not None else (0, 0)
    old = note.size
    if seq < old:
        return f"the trail has {seq} entries but the checkpoint recorded {old}: entries were removed"
    if tree_size != seq:
        return f"the Merkle tree holds {tree_size} leaves but the trail {seq} entries: the tree was altered"
    if old == 0:
        return None if note.root == EMPTY_ROOT else "the checkpoint of an empty trail has another root"
    try:
        proof = consistency_proof(session, old, seq)
        verify_consistency(old, seq, note.root, proof.new_root, proof.path)
    except ProofError as err:
        return f"the tree of {old} entries the checkpoint signed is not a prefix of today's tree: {err}"
    for at in sorted({old, seq}):
        stored = inclusion_proof(session, at - 1, seq).leaf
        digest = hash_at(session, at)
        if digest is None:
            return f"entry {at} is missing: the trail was truncated"
        if leaf_hash(bytes.fromhex(digest)) != stored:
            return f"entry {at} no longer has the hash the checkpoint's tree holds: the trail up to it was rewritten"
    return None
