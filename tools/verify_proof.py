#!/usr/bin/env python3
"""Check a UnionFlow audit proof file offline (离线核验审计证明).

    python3 verify_proof.py PROOF.json PUBLIC_KEY.pem

PROOF.json is the "证明" download of an audit entry page (or the output of
`flask audit prove`); PUBLIC_KEY.pem is the audit office's published Ed25519
key. Checks, in order: the signed checkpoint's signature, the entry's hash
against its content (when the content is in the file), and the RFC 9162
inclusion proof from the entry's hash to the checkpoint's root. Exit 0 when
every check passes, 1 naming the first that fails, 2 when a file cannot be read.

The Python standard library and the `cryptography` package only; nothing of UnionFlow.
"""
from __future__ import annotations

import base64
import hashlib
import json
import sys
from json.encoder import encode_basestring

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "unionflow-audit-proof/1"
DASH = "\u2014 "


class Failed(Exception):
    pass


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# -- the signed note (c2sp.org/signed-note, c2sp.org/tlog-checkpoint) ---------------

def check_note(text: str, key: Ed25519PublicKey) -> tuple[str, int, bytes]:
    body, sep, rest = text.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3 or not rest.endswith("\n"):
        raise Failed("the checkpoint is not a signed note")
    origin, size_text, root_text = lines[:3]
    if not size_text.isdigit():
        raise Failed("the checkpoint's tree size is not a number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError:
        raise Failed("the checkpoint's root hash is not base64") from None
    if len(root) != 32:
        raise Failed("the checkpoint's root hash is not 32 bytes")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_hash = sha256(origin.encode("utf-8") + b"\n\x01" + raw)[:4]
    for line in rest[:-1].split("\n"):
        if not line.startswith(DASH):
            raise Failed("the checkpoint has a malformed signature line")
        name, _, encoded = line[len(DASH):].rpartition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise Failed("the checkpoint has a signature that is not base64") from None
        if name == origin and blob[:4] == key_hash:
            try:
                key.verify(blob[4:], (body + "\n").encode("utf-8"))
            except InvalidSignature:
                raise Failed("the checkpoint's signature is not valid: the checkpoint was altered") from None
            return origin, int(size_text), root
    raise Failed("the checkpoint is not signed by this public key")


# -- the entry's own hash --------------------------------------------------------------

def _q(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def entry_hash(entry: dict) -> str:
    """SHA-256 over the entry's header (JSON array, as UnionFlow writes it), a newline and its data text."""
    version = entry["version"]
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise Failed("the entry's version is not an integer")
    seq = entry["seq"]
    header = (f"[{int(seq)},{_q(entry['at'])},{_q(entry['actor'])},{_q(entry['role'])},{_q(entry['subject_type'])},"
              f"{_q(entry['subject_id'])},{_q(entry['trigger'])},{_q(entry['from'])},{_q(entry['to'])},"
              f"{'null' if version is None else version},{_q(entry['comment'])},{_q(entry['prev_hash'])}]")
    return hashlib.sha256(f"{header}\n{entry['data_text']}".encode()).hexdigest()


# -- RFC 9162 §2.1.3.2 ------------------------------------------------------------------

def root_from_inclusion(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    if not 0 <= index < size:
        raise Failed("the leaf index is not below the tree size")
    fn, sn = index, size - 1
    r = sha256(b"\x00" + leaf)
    for p in path:
        if sn == 0:
            raise Failed("the inclusion proof is too long")
        if fn % 2 == 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            if fn % 2 == 0:
                while fn != 0 and fn % 2 == 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Failed("the inclusion proof is too short")
    return r


def check(proof: dict, key: Ed25519PublicKey) -> list[str]:
    """What was shown, line by line; raises Failed naming the first check that fails."""
    if not isinstance(proof, dict) or proof.get("format") != FORMAT:
        raise Failed(f"not a UnionFlow audit proof (format {FORMAT})")
    try:
        entry, index, size = proof["entry"], proof["leaf_index"], proof["tree_size"]
        path = [bytes.fromhex(h) for h in proof["inclusion"]]
        leaf = bytes.fromhex(entry["hash"])
        note = proof["checkpoint"]
    except (KeyError, TypeError, ValueError):
        raise Failed("the proof file lacks a field or has a malformed hash") from None
    if len(leaf) != 32 or any(len(p) != 32 for p in path):
        raise Failed("a hash in the proof is not 32 bytes")
    origin, signed_size, root = check_note(note, key)
    said = [f"checkpoint signature valid: {origin}, {signed_size} entries, root {root.hex()}"]
    if size != signed_size:
        raise Failed(f"the proof is for a tree of {size} entries, the checkpoint signs {signed_size}")
    if index != entry.get("seq", 0) - 1:
        raise Failed("the leaf index is not that of the entry's seq")
    if "data_text" in entry:
        try:
            if json.loads(entry["data_text"]) != entry.get("data"):
                raise Failed("the entry's data differs from the hashed data text")
            if entry_hash(entry) != entry["hash"]:
                raise Failed("the entry's content does not match its hash: the entry was altered")
        except (KeyError, TypeError, ValueError):
            raise Failed("the entry lacks a field of its hashed content") from None
        said.append(f"entry {entry['seq']}: its content hashes to {entry['hash']}")
    else:
        said.append(f"entry {entry.get('seq')}: content masked (ID numbers); only its hash {entry['hash']} is proven")
    if root_from_inclusion(index, size, leaf, path) != root:
        raise Failed("the inclusion proof does not lead to the checkpoint's root: the entry or the proof was altered")
    said.append(f"inclusion proof valid: the entry is leaf {index} of the signed tree of {size} entries")
    return said


def load_key(data: bytes) -> Ed25519PublicKey:
    text = data.decode("ascii", errors="replace").strip()
    if "+" in text and "-----" not in text:  # a note verifier key: name+hash+base64(0x01 || key)
        raw = base64.b64decode(text.rsplit("+", 1)[1])
        return Ed25519PublicKey.from_public_bytes(raw[1:])
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        with open(argv[1], "rb") as fh:
            proof = json.loads(fh.read().decode("utf-8"))
        with open(argv[2], "rb") as fh:
            key = load_key(fh.read())
    except (OSError, ValueError, UnicodeDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        lines = check(proof, key)
    except Failed as err:
        print(f"PROOF INVALID 证明无效: {err}")
        return 1
    for line in lines:
        print(line)
    print("PROOF VALID 证明有效")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
