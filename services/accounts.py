"""Organisations, users and API tokens: creation and changes, passwords (argon2), token secrets (SHA-256).

Every change an administrator makes here appends an audit entry (subject
"org" or "user") in the caller's unit of work, so the trail shows who moved an
enterprise (企业) under another union, changed a role, or revoked a token. Each
entry records, as its state, the digest of the row as it leaves it
(`workflow.org_state`, `workflow.user_state`), against which verification
compares the row; so does every change a user makes to their own row (a new
password, a password rehashed at login).

A user's signed-in sessions (web/auth.py) carry the user's session
generation; raising it (`end_sessions`) ends all of them on every server. A
password change or reset, a change of role or organisation and disabling
raise it too. Every token issued or revoked is an entry; a user holds at
most `MAX_LIVE_TOKENS` live tokens, and a token minted with a token expires
no later than it and is revoked with it.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, literal, or_, select, update
from sqlalchemy.orm import Session

import audit
from storage import utcnow
from storage.prepared import Prepared
from workflow import (
    ORG_KINDS,
    ROLES,
    ApiToken,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    Organisation,
    User,
    WorkflowError,
    is_valid_credit_code,
    org_state,
    user_state,
)

from .login_throttle import account_key, forget
from .passwords import MAX_PASSWORD, MIN_PASSWORD, mixes_scripts, password_problem

_hasher = PasswordHasher()
TOKEN_PREFIX = "uf_"
MAX_LIVE_TOKENS = 10  # unrevoked and unexpired tokens a user may hold


class TooManyTokens(WorkflowError):
    """The user already holds MAX_LIVE_TOKENS live tokens (409)."""

    code = "too_many_tokens"


_dummy_hash: str | None = None


def _org_entry(session: Session, org: Organisation, trigger: str, data: dict[str, Any], actor: str,
               role: str) -> None:
    """An entry of the organisation recording the digest of its row as it now stands."""
    audit.append(session, actor=actor, role=role, subject_type="org", subject_id=org.code, trigger=trigger,
                 from_state=None, to_state=org_state(org), version=None, data=data)


def _user_entry(session: Session, user: User, trigger: str, data: dict[str, Any], actor: str, role: str) -> None:
    """An entry of the user recording the digest of its row as it now stands."""
    audit.append(session, actor=actor, role=role, subject_type="user", subject_id=user.username, trigger=trigger,
                 from_state=None, to_state=user_state(user), version=None, data=data)


def set_password_hasher(hasher: PasswordHasher) -> None:
    """Tests use argon2's cheapest parameters; production keeps the library's defaults."""
    global _hasher, _dummy_hash
    _hasher, _dummy_hash = hasher, None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_login(user: User | None, password: str) -> bool:
    """Whether `user` may sign in with `password`, doing the same work whether or not there is such a user.

    For a missing or disabled account the password is verified against a hash of
    a random secret made with the same parameters, so the answer takes as long
    as for a real one and cannot tell which usernames exist.
    """
    global _dummy_hash
    if user is None:
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash(secrets.token_urlsafe(24))
        try:
            _hasher.verify(_dummy_hash, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    return check_password(user, password) and user.active


def needs_rehash(user: User) -> bool:
    try:
        return _hasher.check_needs_rehash(user.password_hash)
    except InvalidHashError:
        return True


def valid_code(code: str) -> bool:
    """An organisation code stands in URLs: letters (any script), digits, '-', '_' and '.' only."""
    return bool(code) and all(c.isalnum() or c in "-_." for c in code)


def find_org(session: Session, code: str) -> Organisation | None:
    if not isinstance(code, str) or not valid_code(code):
        return None
    return session.scalars(select(Organisation).where(Organisation.code == code)).one_or_none()


def get_org(session: Session, code: str) -> Organisation:
    org = find_org(session, code)
    if org is None:
        raise NotFound()
    return org


def find_user(session: Session, username: str) -> User | None:
    if not isinstance(username, str) or "\x00" in username:
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
    code: Any = None,
    name: Any = None,
    kind: Any = None,
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
    elif not valid_code(code.strip()):
        errors["code"] = FieldError("bad_code")
    elif find_org(session, code.strip()):
        errors["code"] = FieldError("taken")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = FieldError("required")
    elif len(name) > 200:
        errors["name"] = FieldError("too_long", max=200)
    elif not name.isprintable():
        errors["name"] = FieldError("bad_characters")
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
    if isinstance(credit_code, str):
        credit_code = credit_code.strip().upper()
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
    _org_entry(session, org, "create_org",
               {"name": org.name, "kind": kind, "parent": parent, "employees": emp,
                "female_employees": org.female_employees, "credit_code": org.credit_code}, actor, role)
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
    elif mixes_scripts(username):
        errors["username"] = FieldError("mixed_scripts")
    elif find_user(session, username):
        errors["username"] = FieldError("taken")
    problem = password_problem(password, username)
    if problem:
        errors["password"] = FieldError(problem, min=MIN_PASSWORD, max=MAX_PASSWORD)
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
    _user_entry(session, user, "create_user", {"role": role, "org": org}, actor, actor_role)
    return user


def _enterprise_figures(session: Session, org: Organisation | None, kind: str, employees: Any,
                        female_employees: Any, credit_code: Any, errors: dict[str, FieldError]) -> tuple:
    """Check an enterprise's employee counts and credit code (`org` is the one being edited, if any)."""
    emp = _int_field(employees, "employees", errors)
    fem = _int_field(female_employees, "female_employees", errors)
    if emp is not None and fem is not None and fem > emp:
        errors["female_employees"] = FieldError("above_max", max=emp)
    if kind == "enterprise":
        if emp is None and "employees" not in errors:
            errors["employees"] = FieldError("required")
        if credit_code is not None:
            taken = select(Organisation.id).where(Organisation.credit_code == credit_code)
            if org is not None:
                taken = taken.where(Organisation.id != org.id)
            if not isinstance(credit_code, str) or not is_valid_credit_code(credit_code):
                errors["credit_code"] = FieldError("invalid_credit_code")
            elif session.scalar(taken):
                errors["credit_code"] = FieldError("taken")
    return emp, fem


def update_org(
    session: Session,
    org: Organisation,
    *,
    name: Any,
    employees: Any = None,
    female_employees: Any = None,
    credit_code: Any = None,
    address: Any = None,
    actor: str = "system",
    role: str = "admin",
) -> dict[str, list[Any]]:
    """Change an organisation's name, address and (for an enterprise) its figures; returns {field: [old, new]}."""
    errors: dict[str, FieldError] = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = FieldError("required")
    elif len(name) > 200:
        errors["name"] = FieldError("too_long", max=200)
    if address is not None and (not isinstance(address, str) or len(address) > 300):
        errors["address"] = FieldError("not_string" if not isinstance(address, str) else "too_long", max=300)
    if isinstance(credit_code, str):
        credit_code = credit_code.strip().upper() or None
    emp, fem = _enterprise_figures(session, org, org.kind, employees, female_employees, credit_code, errors)
    if org.kind == "enterprise" and org.member_count is not None and emp is not None and emp < org.member_count:
        errors["employees"] = FieldError("below_min", min=org.member_count)
    if errors:
        raise InvalidInput(fields=errors)
    wanted: dict[str, Any] = {"name": name.strip(), "address": (address or "").strip() or None}
    if org.kind == "enterprise":
        wanted.update(employees=emp, female_employees=fem, credit_code=credit_code or None)
    else:
        wanted.update(employees=emp)
    changes = {k: [getattr(org, k), v] for k, v in wanted.items() if getattr(org, k) != v}
    if not changes:
        return {}
    for key, (_old, new) in changes.items():
        setattr(org, key, new)
    session.flush()
    _org_entry(session, org, "update_org", {"changes": changes}, actor, role)
    return changes


def move_org(session: Session, org: Organisation, parent: Any, *, actor: str = "system",
             role: str = "admin") -> int:
    """Put `org` (and its whole subtree) under the organisation coded `parent`; returns how many moved.

    The materialised paths of the organisation and of every descendant are
    rewritten in one statement; visibility and competence follow the new
    place at once, since both are prefix matches on the path.
    """
    errors: dict[str, FieldError] = {}
    new_parent = find_org(session, parent) if isinstance(parent, str) and parent else None
    if not parent:
        errors["parent"] = FieldError("required")
    elif new_parent is None:
        errors["parent"] = FieldError("unknown_org")
    elif new_parent.kind == "enterprise":
        errors["parent"] = FieldError("not_in_choices", choices=", ".join(ORG_KINDS[:3]))
    elif new_parent.path.startswith(org.path):
        errors["parent"] = FieldError("inside_subtree")
    elif org.parent_id == new_parent.id:
        errors["parent"] = FieldError("unchanged")
    if errors:
        raise InvalidInput(fields=errors)
    assert new_parent is not None
    old_path, new_path = org.path, f"{new_parent.path}{org.id}/"
    old_parent = org.parent.code if org.parent else None
    moved = session.scalar(
        select(func.count()).select_from(Organisation).where(Organisation.path.startswith(old_path, autoescape=True))
    ) or 0
    session.execute(
        update(Organisation)
        .where(Organisation.path.startswith(old_path, autoescape=True))
        .values(path=literal(new_path) + func.substr(Organisation.path, len(old_path) + 1))
        .execution_options(synchronize_session=False)
    )
    session.execute(update(Organisation).where(Organisation.id == org.id).values(parent_id=new_parent.id)
                    .execution_options(synchronize_session=False))
    session.flush()
    session.expire_all()
    # the descendants' paths follow the new one (verification checks each path against its parent's): only the
    # moved organisation's own row, its parent, changed
    _org_entry(session, org, "move_org",
               {"from_parent": old_parent, "to_parent": new_parent.code, "from_path": old_path, "to_path": new_path,
                "moved": moved}, actor, role)
    return moved


def update_user(session: Session, user: User, *, role: Any, org: Any = None, display_name: Any = None,
                actor: str = "system", actor_role: str = "admin") -> dict[str, list[Any]]:
    """Change a user's role, organisation and name; returns {field: [old, new]}."""
    errors: dict[str, FieldError] = {}
    if role not in ROLES:
        errors["role"] = FieldError("not_in_choices", choices=", ".join(ROLES))
    org_obj = None
    if org:
        org_obj = find_org(session, org)
        if org_obj is None:
            errors["org"] = FieldError("unknown_org")
    elif role in ROLES and role != "admin":
        errors["org"] = FieldError("required")
    if display_name is not None and (not isinstance(display_name, str) or len(display_name) > 100):
        errors["display_name"] = FieldError("too_long", max=100)
    if errors:
        raise InvalidInput(fields=errors)
    wanted = {"role": role, "org": org_obj.code if org_obj else None,
              "display_name": (display_name or "").strip() or user.username}
    current = {"role": user.role, "org": user.org.code if user.org else None, "display_name": user.display_name}
    changes = {k: [current[k], v] for k, v in wanted.items() if current[k] != v}
    if not changes:
        return {}
    user.role = role
    user.org = org_obj
    user.display_name = wanted["display_name"]
    data: dict[str, Any] = {"changes": changes}
    if "role" in changes or "org" in changes:  # what the user may see and do has changed: sign in again
        _raise_generation(user)
        data["sessions_ended"] = True
    session.flush()
    _user_entry(session, user, "update_user", data, actor, actor_role)
    return changes


def set_user_active(session: Session, user: User, active: bool, *, actor: str = "system",
                    actor_role: str = "admin") -> None:
    """Disable a user (their sessions and tokens stop working at once) or enable them again."""
    if user.active == active:
        return
    user.active = active
    if not active:
        _raise_generation(user)
    if active:
        user.failed_logins, user.locked_until = 0, None
        forget(session, account_key(user.username))
    session.flush()
    _user_entry(session, user, "enable_user" if active else "disable_user", {}, actor, actor_role)


def reset_password(session: Session, user: User, password: str, *, actor: str = "system",
                   actor_role: str = "admin") -> None:
    """Set a new password chosen by an administrator; it ends the user's sessions and lifts a lockout."""
    problem = password_problem(password, user.username)
    if problem:
        raise InvalidInput(fields={"password": FieldError(problem, min=MIN_PASSWORD, max=MAX_PASSWORD)})
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    _raise_generation(user)
    user.failed_logins, user.locked_until = 0, None
    forget(session, account_key(user.username))
    session.flush()
    _user_entry(session, user, "reset_password", {}, actor, actor_role)


def change_password(session: Session, user: User, password: str) -> None:
    """The user's own new password (already checked against the rules and the current one), audited as theirs;
    it ends their sessions everywhere."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    _raise_generation(user)
    session.flush()
    _user_entry(session, user, "change_password", {}, user.username, user.role)


def rehash_password(session: Session, user: User, password: str) -> None:
    """At a successful login, store the password again under the hasher's current parameters (audited: the
    row's digest covers the hash)."""
    user.password_hash = hash_password(password)
    session.flush()
    _user_entry(session, user, "rehash_password", {}, user.username, user.role)


def _raise_generation(user: User) -> None:
    # in SQL, so that two at once both count; read back (expired) after the flush
    user.session_generation = User.session_generation + 1  # type: ignore[assignment]


def end_sessions(session: Session, user: User, *, actor: str | None = None, actor_role: str = "admin") -> int:
    """End every signed-in session of `user` on every server; returns the new session generation.

    Each session remembers the generation it was opened under and is refused
    once the user's has moved on. With `actor` (an administrator's "sign out
    everywhere") the revocation is an audit entry; a user's own logout is not.
    """
    _raise_generation(user)
    session.flush()
    if actor is not None:
        _user_entry(session, user, "end_sessions", {}, actor, actor_role)
    return user.session_generation


def token_digest(secret: str) -> str:
    """What is stored of a token: the SHA-256 of its secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def live_tokens(session: Session, user_id: int, now: datetime | None = None) -> int:
    """How many of the user's tokens are neither revoked nor expired."""
    now = now or utcnow()
    return session.scalar(
        select(func.count()).select_from(ApiToken).where(
            ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))) or 0


def _is_live(token: ApiToken, now: datetime) -> bool:
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > now)


def issue_token(session: Session, user: User, name: str = "", days: int | None = 365, *,
                actor: str = "system", actor_role: str = "admin", parent: ApiToken | None = None,
                now: datetime | None = None) -> str:
    """A new token for `user`, recorded in the audit trail (never the secret); the secret is returned once.

    At most MAX_LIVE_TOKENS live tokens a user (TooManyTokens otherwise). A
    token minted with another (`parent`, the API caller's) expires no later
    than it and is revoked with it.
    """
    now = now or utcnow()
    # one minting at a time per user, so that two at once cannot both take the last place
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    if parent is not None and not _is_live(parent, now):
        raise Forbidden()
    if live_tokens(session, user.id, now) >= MAX_LIVE_TOKENS:
        raise TooManyTokens()
    expires = now + timedelta(days=days) if days else None
    if parent is not None and parent.expires_at is not None:
        expires = min(expires or parent.expires_at, parent.expires_at)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_hash=token_digest(secret), name=name, created_at=now,
                     expires_at=expires, parent_id=parent.id if parent is not None else None)
    session.add(token)
    session.flush()
    data: dict[str, Any] = {"token_id": token.id, "name": name,
                            "expires_at": expires.isoformat(timespec="seconds") if expires else None}
    if parent is not None:
        data["minted_with"] = parent.id
    _user_entry(session, user, "issue_token", data, actor, actor_role)
    return secret


def user_for_token(session: Session, secret: str, now: datetime | None = None) -> User | None:
    if not secret or len(secret) > 200:
        return None
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == token_digest(secret))).one_or_none()
    now = now or utcnow()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    if not token.user.active:
        return None
    return token.user


_TOKEN_HOLDER = Prepared(
    select(User.id, User.username, User.role, User.org_id, Organisation.path, Organisation.code, User.language,
           User.active, ApiToken.id, ApiToken.revoked_at, ApiToken.expires_at)
    .select_from(ApiToken)
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(Organisation, Organisation.id == User.org_id)
    .where(ApiToken.token_hash == bindparam("digest"))
)


class TokenHolder(NamedTuple):
    actor: Any  # workflow.Actor
    language: str | None
    token_id: int
    expires_at: datetime | None


def actor_for_token(session: Session, secret: str, now: datetime | None = None) -> TokenHolder | None:
    """`user_for_token` for every API request: the holder as an Actor, their language and the token; one query."""
    from workflow import Actor

    if not secret or len(secret) > 200:
        return None
    row = _TOKEN_HOLDER.one_or_none(session, {"digest": token_digest(secret)})
    if row is None:
        return None
    user_id, username, role, org_id, path, code, language, active, token_id, revoked_at, expires_at = row
    now = now or utcnow()
    if revoked_at is not None or (expires_at and expires_at <= now) or not active:
        return None
    return TokenHolder(Actor(user_id, username, role, org_id, path, code), language, token_id, expires_at)


def revoke_token(session: Session, token_id: int, *, actor: str, actor_role: str = "admin",
                 now: datetime | None = None) -> ApiToken | None:
    """Revoke a token and every token minted with it, or with those (each once, each an audit entry).

    None when there is no such token; revoking a revoked token again changes nothing.
    """
    token = session.get(ApiToken, token_id)
    if token is None:
        return None
    now = now or utcnow()
    pending: list[tuple[ApiToken, int | None]] = [(token, None)]
    seen: set[int] = set()
    while pending:
        current, because = pending.pop(0)
        if current.id in seen:
            continue
        seen.add(current.id)
        if current.revoked_at is None:
            current.revoked_at = now
            session.flush()
            data: dict[str, Any] = {"token_id": current.id, "name": current.name}
            if because is not None:
                data["minted_with"] = because
            _user_entry(session, current.user, "revoke_token", data, actor, actor_role)
        children = session.scalars(select(ApiToken).where(ApiToken.parent_id == current.id)
                                   .order_by(ApiToken.id)).all()
        pending.extend((child, current.id) for child in children)
    return token
