"""The JSON API of api.md under /api/v1: bearer tokens only, errors in one shape."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from functools import wraps
from typing import Any, Callable

from flask import Blueprint, Response, g, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

import audit
from services.accounts import (
    actor_for_token,
    create_org,
    create_user,
    end_sessions,
    find_org,
    find_user,
    issue_token,
)
from storage import Database, json_bytes
from workflow import (
    MAX_PAGE,
    MAX_PER_PAGE,
    MEMBER_GROUPS,
    MEMBER_STATUSES,
    Actor,
    ApiToken,
    Case,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    WorkflowError,
    can_view,
    can_view_case,
    delegations_of,
    error_message,
    RosterFilter,
    list_cases,
    paginate,
    roster_query,
)

from . import bulk
from .extensions import csrf, get_db, get_engine
from .i18n import error_payload, lang
from .json_depth import MAX_DEPTH, too_deep
from .present import (
    case_json,
    definition_json,
    delegation_json,
    entry_json,
    member_json,
    org_json,
    sees_personal_data,
    sees_roster_data,
)
from .statuses import status_of

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookie sessions here: a bearer token cannot be forged cross-site


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(body: Any) -> bytes:
    """The answer's JSON in UTF-8."""
    return json_bytes(body, _default)


def respond(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status=status, mimetype="application/json")


def error(code: str, status: int, fields: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": error_message(code, lang()), "reasons": []}
    if fields:
        body["fields"] = fields
    return respond({"error": body}, status)


class _Unauthenticated(Exception):
    pass


class AfterCommit:
    """A write view's answer, rendered in a fresh read once its unit of work has committed."""

    def __init__(self, render: Callable[[Session], Response]):
        self.render = render


def read_json() -> dict[str, Any]:
    """The request body as a JSON object; numbers with a fraction become Decimals (never floats)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if too_deep(raw):  # before json.loads, which recurses and would fail with RecursionError
        raise InvalidInput(fields={"body": FieldError("too_deep", max=MAX_DEPTH)})
    try:
        body = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(fields={"body": FieldError("malformed_json")}) from None
    if not isinstance(body, dict):
        raise InvalidInput(fields={"body": FieldError("not_object")})
    bad = first_unstorable(body)
    if bad is not None:
        raise InvalidInput(fields={bad or "body": FieldError("bad_characters")})
    return body


def first_unstorable(value: Any, path: str = "") -> str | None:
    """The path of the first string no database can store (NUL, lone surrogates), or None."""
    if isinstance(value, str):
        return path if not storable(value) else None
    if isinstance(value, dict):
        for k, v in value.items():
            found = first_unstorable(k, path) if isinstance(k, str) and not storable(k) else None
            found = found if found is not None else first_unstorable(v, f"{path}.{k}" if path else str(k))
            if found is not None:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = first_unstorable(v, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def endpoint(write: bool = False, units: bool = False) -> Callable:
    """Open one unit of work, authenticate the bearer token, map engine errors to the error shape.

    With `units` the view is handed the database instead of a session and opens its units of work itself
    (a bulk decision: one unit per case)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            db = get_db()
            try:
                if units:
                    with db.read() as session:
                        actor = _authenticate(session)
                    g.actor = actor
                    return view(db, actor, *args, **kwargs)
                if not write:  # a read: who is calling and what they asked for, in one transaction
                    with db.read() as session:
                        g.actor = actor = _authenticate(session)
                        result = view(session, actor, *args, **kwargs)
                        return result.render(session) if isinstance(result, AfterCommit) else result
                # the write transaction holds only the step itself: who is calling is read before it,
                # and the answer is rendered after its commit (SQLite admits one writer at a time)
                with db.read() as session:
                    actor = _authenticate(session)
                g.actor = actor
                with db.write() as session:
                    result = view(session, actor, *args, **kwargs)
                if isinstance(result, AfterCommit):
                    with db.read() as session:
                        return result.render(session)
                return result
            except _Unauthenticated:
                return error("unauthenticated", 401)
            except WorkflowError as err:
                return respond(error_payload(err), status_of(err))

        return wrapper

    return decorate


def _authenticate(session: Session) -> Actor:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise _Unauthenticated()
    found = actor_for_token(session, secret.strip())
    if found is None:
        raise _Unauthenticated()
    g.user_language, g.api_token_id = found.language, found.token_id
    return found.actor


def _require(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise Forbidden()


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(fields={name: FieldError("not_integer")}) from None
    if value < 1:
        raise InvalidInput(fields={name: FieldError("below_min", min=1)})
    if value > MAX_PAGE:
        raise InvalidInput(fields={name: FieldError("above_max", max=MAX_PAGE)})
    return value


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    code = {413: "payload_too_large", 405: "method_not_allowed", 404: "not_found", 429: "rate_limited"}.get(
        exc.code or 500, "invalid_input")
    return error(code, exc.code or 400)


# -- organisations and users (admin) ----------------------------------------

@bp.post("/orgs")
@endpoint(write=True)
def post_org(session: Session, actor: Actor) -> Response:
    _require(actor, "admin")
    body = read_json()
    unknown = set(body) - {"code", "name", "kind", "parent", "employees", "female_employees", "credit_code", "address"}
    if unknown:
        raise InvalidInput(fields={k: FieldError("unknown_field") for k in sorted(unknown)})
    org = create_org(session, **body, actor=actor.username, role=actor.role)
    return respond(org_json(org), 201)


@bp.get("/orgs/<code>")
@endpoint()
def get_org(session: Session, actor: Actor, code: str) -> Response:
    org = find_org(session, code)
    if org is None or not can_view(actor, org):
        raise NotFound()
    return respond(org_json(org))


@bp.get("/orgs/<code>/members")
@endpoint()
def get_members(session: Session, actor: Actor, code: str) -> Response:
    """The union's roster (会员名册), filtered and paged; ID numbers masked outside the union."""
    org = find_org(session, code)
    if org is None or not can_view(actor, org):
        raise NotFound()
    wanted = roster_filter(request.args)
    unmasked = sees_roster_data(actor, org)
    page = paginate(session, roster_query(org.id, wanted, full_ids=unmasked), _int_arg("page", 1),
                    min(_int_arg("per_page", 20), MAX_PER_PAGE))
    return respond({"items": [member_json(m, unmasked) for m in page.items], "total": page.total,
                    "page": page.page, "per_page": page.per_page})


def roster_filter(args: Any) -> RosterFilter:
    """The roster's filters from a query string: an unknown status or group is bad input (400 naming it)."""
    status, group, q = args.get("status") or None, args.get("group") or None, args.get("q") or ""
    errors = {}
    if status is not None and status not in MEMBER_STATUSES:
        errors["status"] = FieldError("not_in_choices", choices=", ".join(MEMBER_STATUSES))
    if group is not None and group not in MEMBER_GROUPS:
        errors["group"] = FieldError("not_in_choices", choices=", ".join(MEMBER_GROUPS))
    if len(q) > 64:
        errors["q"] = FieldError("too_long", max=64)
    if errors:
        raise InvalidInput(fields=errors)
    return RosterFilter(status, group, q)


@bp.post("/users")
@endpoint(write=True)
def post_user(session: Session, actor: Actor) -> Response:
    _require(actor, "admin")
    body = read_json()
    unknown = set(body) - {"username", "password", "role", "org", "display_name"}
    if unknown:
        raise InvalidInput(fields={k: FieldError("unknown_field") for k in sorted(unknown)})
    user = create_user(session, username=body.get("username"), password=body.get("password"), role=body.get("role"),
                       org=body.get("org"), display_name=body.get("display_name"), actor=actor.username)
    return respond({"username": user.username, "role": user.role, "org": user.org.code if user.org else None}, 201)


def _user_for(session: Session, actor: Actor, username: str) -> Any:
    """The user named, for an admin or the user themself; anyone else is refused alike, whether or not it exists."""
    if actor.role != "admin" and actor.username != username:
        raise Forbidden()
    user = find_user(session, username)
    if user is None:
        raise NotFound()
    return user


@bp.post("/users/<username>/tokens")
@endpoint(write=True)
def post_token(session: Session, actor: Actor, username: str) -> Response:
    """A new token, minted with the caller's: it expires no later than that one and is revoked with it."""
    user = _user_for(session, actor, username)
    parent = session.get(ApiToken, g.api_token_id)
    secret = issue_token(session, user, name="api", actor=actor.username, actor_role=actor.role, parent=parent)
    return respond({"token": secret}, 201)


@bp.post("/users/<username>/sessions/end")
@endpoint(write=True)
def post_end_sessions(session: Session, actor: Actor, username: str) -> Response:
    """Sign the user out everywhere (admin): every signed-in session of theirs ends; their tokens stay."""
    _require(actor, "admin")
    user = find_user(session, username)
    if user is None:
        raise NotFound()
    end_sessions(session, user, actor=actor.username, actor_role=actor.role)
    return respond({"username": user.username, "sessions_ended": True})


# -- workflows ---------------------------------------------------------------

@bp.get("/workflows")
@endpoint()
def get_workflows(session: Session, actor: Actor) -> Response:
    engine = get_engine()
    from .i18n import text

    return respond([{"name": d.name, "version": d.version, "title": text(d.title, d.name)}
                    for d in engine.catalog.definitions.values()])


@bp.get("/workflows/<name>")
@endpoint()
def get_workflow(session: Session, actor: Actor, name: str) -> Response:
    engine = get_engine()
    if name not in engine.catalog.definitions:
        raise NotFound()
    return respond(definition_json(engine, name))


# -- cases ---------------------------------------------------------------------

@bp.post("/cases")
@endpoint(write=True)
def post_case(session: Session, actor: Actor) -> Response:
    body = read_json()
    fields = {}
    for key in ("workflow", "org"):
        if not isinstance(body.get(key), str):
            fields[key] = FieldError("required" if body.get(key) is None else "not_string")
    unknown = set(body) - {"workflow", "org", "data", "decided_on"}
    fields.update({k: FieldError("unknown_field") for k in sorted(unknown)})
    if fields:
        raise InvalidInput(fields=fields)
    engine = get_engine()
    case_id = engine.create_case(session, body["workflow"], body["org"], actor, body.get("data") or {},
                                 decided_on=body.get("decided_on")).id
    return AfterCommit(lambda read: respond(case_json(read, engine, read.get(Case, case_id), actor), 201))


@bp.get("/cases")
@endpoint()
def get_cases(session: Session, actor: Actor) -> Response:
    engine = get_engine()
    org = None
    if request.args.get("org"):
        org = find_org(session, request.args["org"])
        if org is None or not can_view(actor, org):
            raise NotFound()
    page = list_cases(
        session, actor, workflow=request.args.get("workflow") or None, state=request.args.get("state") or None,
        org=org, page=_int_arg("page", 1), per_page=_int_arg("per_page", 20),
    )
    return respond({
        "items": [case_json(session, engine, c, actor, with_available=False) for c in page.items],
        "total": page.total, "page": page.page, "per_page": page.per_page,
    })


def _visible_case(session: Session, actor: Actor, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None or not can_view_case(actor, case):  # its own side, or a party's
        raise NotFound()
    return case


@bp.get("/cases/<int:case_id>")
@endpoint()
def get_case(session: Session, actor: Actor, case_id: int) -> Response:
    case = _visible_case(session, actor, case_id)
    return respond(case_json(session, get_engine(), case, actor))


@bp.post("/cases/<int:case_id>/events")
@endpoint(write=True)
def post_event(session: Session, actor: Actor, case_id: int) -> Response:
    body = read_json()
    fields: dict[str, FieldError] = {}
    trigger = body.get("trigger")
    if not isinstance(trigger, str) or not trigger:
        fields["trigger"] = FieldError("required" if trigger is None else "not_string")
    version = body.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        fields["version"] = FieldError("not_integer")
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        fields["comment"] = FieldError("not_string")
    unknown = set(body) - {"trigger", "data", "comment", "version", "decided_on"}
    fields.update({k: FieldError("unknown_field") for k in sorted(unknown)})
    if fields:
        # an unknown case stays unknown, whatever the body says
        _visible_case(session, actor, case_id)
        raise InvalidInput(fields=fields)
    engine = get_engine()
    case = engine.fire(session, case_id, trigger, actor, body.get("data"), comment or "", version,
                       decided_on=body.get("decided_on"))
    # the answer shows the case as the step left it, and what may be done next as seen once it has committed
    return AfterCommit(lambda read: respond(case_json(read, engine, case, actor)))


@bp.post("/cases/<int:case_id>/reassign")
@endpoint(write=True)
def post_reassign(session: Session, actor: Actor, case_id: int) -> Response:
    """转办 / 上收 `{"org", "comment", "version"}`: a reviewer of an ancestor of the competent organisation
    hands the decision to an organisation of its subtree."""
    body = read_json()
    fields: dict[str, FieldError] = {}
    version = body.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        fields["version"] = FieldError("not_integer")
    fields.update({k: FieldError("unknown_field") for k in sorted(set(body) - {"org", "comment", "version"})})
    if fields:
        _visible_case(session, actor, case_id)
        raise InvalidInput(fields=fields)
    engine = get_engine()
    case = engine.reassign(session, case_id, actor, body.get("org"), body.get("comment"), version)
    return AfterCommit(lambda read: respond(case_json(read, engine, case, actor)))


@bp.post("/tasks/bulk")
@endpoint(units=True)
def post_tasks_bulk(db: Database, actor: Actor) -> Response:
    """批量审批 `{"trigger", "comment", "cases": [{"id", "version"}]}`: each case through the same choke point as
    one step, with its version, in a unit of work of its own; one refused case does not stop the others."""
    trigger, comment, picks, decided_on = bulk.read_request(read_json())
    results = bulk.decide_each(db, get_engine(), actor, trigger, comment, picks, decided_on)
    return respond({"results": [r.as_json() for r in results]})


def _version_body(session: Session, actor: Actor, case_id: int, allowed: set[str]) -> dict[str, Any]:
    """The body of a write on a case: `version` (optional, an integer) and the fields `allowed`."""
    body = read_json()
    fields: dict[str, FieldError] = {}
    version = body.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        fields["version"] = FieldError("not_integer")
    fields.update({k: FieldError("unknown_field") for k in sorted(set(body) - allowed - {"version"})})
    if fields:
        _visible_case(session, actor, case_id)  # an unknown case stays unknown, whatever the body says
        raise InvalidInput(fields=fields)
    return body


@bp.post("/cases/<int:case_id>/claim")
@endpoint(write=True)
def post_claim(session: Session, actor: Actor, case_id: int) -> Response:
    """认领 `{"version"}`: the caller takes the decision the case waits for; others of the union get 403
    `assigned_to_other` until it is released or the case moves on."""
    body = _version_body(session, actor, case_id, set())
    engine = get_engine()
    case = engine.claim(session, case_id, actor, body.get("version"))
    return AfterCommit(lambda read: respond(case_json(read, engine, case, actor)))


@bp.post("/cases/<int:case_id>/release")
@endpoint(write=True)
def post_release(session: Session, actor: Actor, case_id: int) -> Response:
    """释放 `{"version"}`: the holder (or their substitute) gives the decision back to the union."""
    body = _version_body(session, actor, case_id, set())
    engine = get_engine()
    case = engine.release(session, case_id, actor, body.get("version"))
    return AfterCommit(lambda read: respond(case_json(read, engine, case, actor)))


@bp.post("/cases/<int:case_id>/assign")
@endpoint(write=True)
def post_assign(session: Session, actor: Actor, case_id: int) -> Response:
    """指派 `{"user", "comment", "version"}`: to a colleague of the same organisation and role."""
    body = _version_body(session, actor, case_id, {"user", "comment"})
    engine = get_engine()
    case = engine.assign(session, case_id, actor, body.get("user"), body.get("comment") or "", body.get("version"))
    return AfterCommit(lambda read: respond(case_json(read, engine, case, actor)))


@bp.get("/delegations")
@endpoint()
def get_delegations(session: Session, actor: Actor) -> Response:
    """The caller's delegations (代理), given and received, newest first."""
    today = get_engine().today()
    return respond({"items": [delegation_json(d, today) for d in delegations_of(session, actor)]})


@bp.post("/delegations")
@endpoint(write=True)
def post_delegation(session: Session, actor: Actor) -> Response:
    """`{"to", "starts_on", "ends_on"}`: `to` (same organisation and role) may take the caller's decisions in
    that period, both days included."""
    body = read_json()
    unknown = set(body) - {"to", "starts_on", "ends_on"}
    if unknown:
        raise InvalidInput(fields={k: FieldError("unknown_field") for k in sorted(unknown)})
    engine = get_engine()
    delegation_id = engine.delegate(session, actor, body.get("to"), body.get("starts_on"), body.get("ends_on")).id
    return AfterCommit(lambda read: respond(_delegation(read, actor, delegation_id), 201))


@bp.post("/delegations/<int:delegation_id>/end")
@endpoint(write=True)
def post_end_delegation(session: Session, actor: Actor, delegation_id: int) -> Response:
    """The delegator ends a delegation early: from now the substitute no longer stands in."""
    get_engine().end_delegation(session, actor, delegation_id)
    return AfterCommit(lambda read: respond(_delegation(read, actor, delegation_id)))


def _delegation(session: Session, actor: Actor, delegation_id: int) -> dict[str, Any]:
    found = next(d for d in delegations_of(session, actor) if d.id == delegation_id)
    return delegation_json(found, get_engine().today())


@bp.get("/cases/<int:case_id>/audit")
@endpoint()
def get_case_audit(session: Session, actor: Actor, case_id: int) -> Response:
    case = _visible_case(session, actor, case_id)
    masked = not sees_personal_data(actor, case)
    entries = audit.entries_for(session, "case", str(case.id))
    return respond({"entries": [entry_json(e, masked) for e in entries]})


@bp.get("/audit/verify")
@endpoint()
def get_verify(session: Session, actor: Actor) -> Response:
    _require(actor, "auditor", "admin")
    engine = get_engine()
    with get_db().read(snapshot=True) as snap:
        result = audit.verify(snap, lambda: engine.subjects(snap))
    return respond(result.as_dict())


@bp.get("/me")
@endpoint()
def get_me(session: Session, actor: Actor) -> Response:
    return respond({"username": actor.username, "role": actor.role, "org": actor.org_code})
