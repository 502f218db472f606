"""Organisations, users and API tokens: creation, passwords (argon2), token secrets (SHA-256)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

import audit
from storage import utcnow

from .creditcode import is_valid_credit_code
from .errors import FieldError, InvalidInput, NotFound
from .models import ORG_KINDS, ROLES, ApiToken, Organisation, User

_hasher = PasswordHasher()
MIN_PASSWORD = 10
TOKEN_PREFIX = "uf_"


def set_password_hasher(hasher: PasswordHasher) -> None:
    """Tests use argon2's cheapest parameters; production keeps the library's defaults."""
    global _hasher
    _hasher = hasher


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(user: User) -> bool:
    try:
        return _hasher.check_needs_rehash(user.password_hash)
    except InvalidHashError:
        return True


def find_org(session: Session, code: str) -> Organisation | None:
    if not isinstance(code, str):
        return None
    return session.scalars(select(Organisation).where(Organisation.code == code)).one_or_none()


def get_org(session: Session, code: str) -> Organisation:
    org = find_org(session, code)
    if org is None:
        raise NotFound()
    return org


def find_user(session: Session, username: str) -> User | None:
    if not isinstance(username, str):
        return None
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def _int_field(value: Any, name: str, errors: dict[str, FieldError]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = FieldError("not_integer")
        return None
    if value < 0:
        errors[name] = FieldError("below_min", min=0)
        return None
    return value


def create_org(
    session: Session,
    *,
    code: Any,
    name: Any,
    kind: Any,
    parent: Any = None,
    employees: Any = None,
    female_employees: Any = None,
    credit_code: Any = None,
    address: Any = None,
    actor: str = "system",
    role: str = "admin",
) -> Organisation:
    errors: dict[str, FieldError] = {}
    if not isinstance(code, str) or not code.strip() or len(code) > 64:
        errors["code"] = FieldError("required" if not code else "not_string")
    elif find_org(session, code.strip()):
        errors["code"] = FieldError("taken")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = FieldError("required")
    elif len(name) > 200:
        errors["name"] = FieldError("too_long", max=200)
    if kind not in ORG_KINDS:
        errors["kind"] = FieldError("not_in_choices", choices=", ".join(ORG_KINDS))
    parent_org = None
    if parent is not None:
        parent_org = find_org(session, parent)
        if parent_org is None:
            errors["parent"] = FieldError("unknown_org")
        elif parent_org.kind == "enterprise":
            errors["parent"] = FieldError("not_in_choices", choices=", ".join(ORG_KINDS[:3]))
    emp = _int_field(employees, "employees", errors)
    fem = _int_field(female_employees, "female_employees", errors)
    if emp is not None and fem is not None and fem > emp:
        errors["female_employees"] = FieldError("above_max", max=emp)
    if kind == "enterprise":
        if emp is None and "employees" not in errors:
            errors["employees"] = FieldError("required")
        if credit_code is not None:
            if not isinstance(credit_code, str) or not is_valid_credit_code(credit_code):
                errors["credit_code"] = FieldError("invalid_credit_code")
            elif session.scalar(select(Organisation.id).where(Organisation.credit_code == credit_code)):
                errors["credit_code"] = FieldError("taken")
        if parent is None and "parent" not in errors:
            errors["parent"] = FieldError("required")
    if address is not None and not isinstance(address, str):
        errors["address"] = FieldError("not_string")
    if errors:
        raise InvalidInput(fields=errors)
    org = Organisation(
        code=code.strip(), name=name.strip(), kind=kind, parent=parent_org,
        employees=emp, female_employees=fem if kind == "enterprise" else None,
        credit_code=credit_code if kind == "enterprise" else None, address=address,
        union_status="none", path="/",
    )
    session.add(org)
    session.flush()
    org.path = f"{parent_org.path if parent_org else '/'}{org.id}/"
    session.flush()
    audit.append(
        session, actor=actor, role=role, subject_type="org", subject_id=org.code, trigger="create_org",
        from_state=None, to_state=None, version=None,
        data={"name": org.name, "kind": kind, "parent": parent, "employees": emp,
              "female_employees": org.female_employees, "credit_code": org.credit_code},
    )
    return org


def create_user(
    session: Session,
    *,
    username: Any,
    password: Any,
    role: Any,
    org: Any = None,
    display_name: str | None = None,
    actor: str = "system",
    actor_role: str = "admin",
) -> User:
    errors: dict[str, FieldError] = {}
    if not isinstance(username, str) or not username.strip():
        errors["username"] = FieldError("required")
    elif len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        errors["username"] = FieldError("not_string")
    elif find_user(session, username):
        errors["username"] = FieldError("taken")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        errors["password"] = FieldError("weak_password")
    if role not in ROLES:
        errors["role"] = FieldError("not_in_choices", choices=", ".join(ROLES))
    org_obj = None
    if org is not None:
        org_obj = find_org(session, org)
        if org_obj is None:
            errors["org"] = FieldError("unknown_org")
    elif role in ROLES and role != "admin":
        errors["org"] = FieldError("required")
    if errors:
        raise InvalidInput(fields=errors)
    user = User(
        username=username, display_name=display_name or username, password_hash=hash_password(password),
        role=role, org=org_obj, active=True, failed_logins=0, password_changed_at=utcnow(),
    )
    session.add(user)
    session.flush()
    audit.append(
        session, actor=actor, role=actor_role, subject_type="user", subject_id=username, trigger="create_user",
        from_state=None, to_state=None, version=None, data={"role": role, "org": org},
    )
    return user


def _token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_token(session: Session, user: User, name: str = "", days: int | None = 365) -> str:
    """A new token for `user`; only its hash is stored, the secret is returned once."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=days) if days else None
    session.add(ApiToken(user_id=user.id, token_hash=_token_digest(secret), name=name, expires_at=expires))
    session.flush()
    return secret


def user_for_token(session: Session, secret: str, now: datetime | None = None) -> User | None:
    if not secret or len(secret) > 200:
        return None
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == _token_digest(secret))).one_or_none()
    now = now or utcnow()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    if not token.user.active:
        return None
    return token.user


def revoke_token(session: Session, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
