"""The engine: the one choke point through which every step of every case goes.

`fire` is used alike by the API, the pages, the command line and the tests.
It is the ordered list of its checks, each a small method below: load and
lock the case (404 unless the actor sees it), the trigger, the version, the
trigger's roles, the state, the transition's role, competence, four eyes,
the comment, the data and the business date (`decided_on`: not after today,
not before the previous step's), every guard (collecting all reasons, the
business date's among them; the rules count from that date); then the
effects, the change of state (with the organisation's and the declared
entities' changes), the audit entries, written straight to the database. It
never commits: the caller's unit of work does, so the state change and its
entries land together or not at all.

A self-loop step sent without a version (an objection during the posting) is
idempotent for a short while: when the case's last entry is the same actor's
same step with the same comment and data, less than the profile's
`repeat_window_seconds` ago, `fire` answers with the case as it stands and
records nothing. The last entry is read under the case's lock, so the check
holds across processes and of two identical concurrent requests exactly one
is recorded.

A case may concern a second organisation, a party (a transfer's receiving
union): users of a party's subtree see the case when its side sees it
(`can_view_case`), and a party's steps are decided by reviewers of the
party's organisation.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeAlias, cast
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import audit
from definitions import Catalog, Definition, DefinitionError, Transition
from definitions.loader import display_name
from storage import json_dumps, utcnow
from storage.prepared import Prepared

from .competence import FIXED, RULES, OrgNode
from .deadlines import DEFAULT_DUE_SOON_WORKING_DAYS, ESCALATED, rule_for
from .deadlines import due_on as deadline_of
from .deadlines import status as deadline_status_of
from .delegations import acting_for as active_delegation
from .delegations import delegate as delegate_to
from .delegations import end_delegation as end_delegation_of
from .delegations import find_active_user
from .enrolment import NewMember, enrol
from .entities import ENTITIES, Applied, EntityChange, append_entries, append_standalone, keys_as_data
from .entities import apply as apply_entities
from .entities import check as check_entities
from .entities import subjects as entity_subjects
from .entities import verify_entities as verify_entity_rows
from .errors import (
    AssignedToOther,
    FieldError,
    Forbidden,
    FourEyes,
    GuardFailed,
    InvalidInput,
    InvalidState,
    NotCompetent,
    NotFound,
    StaleVersion,
    UnknownTrigger,
    WorkflowError,
)
from .machine import DefinitionMachine, machine_for
from .members import ENDED, MEMBER, Member
from .models import Case, CaseParty, Delegation, Organisation, User
from .records import (
    CaseRecord,
    OrgRecord,
    load_case,
    load_parties,
    lock_cases,
    orgs_by_id,
    save_case,
    update_org,
)
from .rows import (
    CASE_DIGEST,
    ORG,
    case_digest,
    case_subjects,
    delegation_subjects,
    org_digest,
    org_subjects,
    user_subjects,
)
from .rows import ORG_FIELDS as ORG_ROW_FIELDS
from .rules import CONDITIONS, EFFECTS, GUARDS, LOOKUPS, ORG_FIELDS, WITHOUT_DATA, ActorFacts, Context, OrgFacts, Reason
from .validation import validate
from .workdays import Calendar

CASE = "case"
DOCUMENT_ISSUED = "issue_document"  # the trigger of a case entry recording a document issued as a file
DECIDED_ON = "decided_on"  # the entry data's key of the step's business date
MEMBER_IMPORT = "member_import"  # the trigger of the entries of a roster import
SYSTEM = "system"  # the actor and role of the entries the system writes itself (reminders, escalations)
# what `_entry_data` adds to a step's recorded data in its entry
ON_BEHALF_OF = "on_behalf_of"  # the entry data's key naming the delegator a substitute acted for
_ENGINE_KEYS = frozenset({"computed", "org", "entities", "competent_org", DECIDED_ON, CASE_DIGEST, ON_BEHALF_OF,
                          "delegation"})
# the engine reads models and the hot path's records alike (the same attribute names)
_AnyCase: TypeAlias = "Case | CaseRecord"
_AnyOrg: TypeAlias = "Organisation | OrgRecord"
_ORG_ROW = Prepared(select(*(getattr(Organisation, f) for f in ORG_ROW_FIELDS))
                    .where(Organisation.id == bindparam("org_id")))
_HOLDER = Prepared(select(User.id, User.username, User.display_name, User.role, User.org_id)
                   .where(User.id == bindparam("user_id")))


@dataclass(frozen=True)
class Holder:
    """Who holds a case's decision (认领 or 指派)."""

    id: int
    username: str
    display_name: str | None
    role: str
    org_id: int | None

    @property
    def name(self) -> str:
        return self.display_name or self.username


@dataclass(frozen=True)
class Handling:
    """Who holds a case's decision, and what one person may do about it now."""

    holder: Holder | None
    waiting: bool  # the case is open and waits for a decision
    substitute: bool  # the person stands in for the holder today (代理)
    claim: bool
    release: bool
    assign: bool


def find_holder(session: Session, user_id: int | None) -> Holder | None:
    if user_id is None:
        return None
    row = _HOLDER.one_or_none(session, {"user_id": user_id})
    return Holder(*row) if row is not None else None


@dataclass(frozen=True)
class Actor:
    """Who is acting: handed to the engine by the edge (never Flask's current_user)."""

    id: int
    username: str
    role: str
    org_id: int | None = None
    org_path: str | None = None
    org_code: str | None = None

    @classmethod
    def of(cls, user: Any) -> Actor:
        org = user.org
        return cls(user.id, user.username, user.role, user.org_id, org.path if org else None, org.code if org else None)

    def facts(self) -> ActorFacts:
        return ActorFacts(self.username, self.role, self.org_code)


# who takes the steps a definition gives to the system alone (`roles: [system]`): no user has this role
SYSTEM_ACTOR = Actor(0, SYSTEM, SYSTEM)

StepListener: TypeAlias = "Callable[[Session, Engine, CaseRecord, Transition, Actor, str, str], None]"


@dataclass(frozen=True)
class Waiting:
    """Whose step a case waits for (`Engine.waiting_on`)."""

    org: Any  # the organisation (model or record) that decides it
    roles: tuple[str, ...]
    triggers: tuple[str, ...]


@dataclass(frozen=True)
class Availability:
    trigger: str
    dest: str
    allowed: bool
    reasons: tuple[Reason, ...]
    transition: Transition


def can_view(actor: Actor, org: _AnyOrg) -> bool:
    """A user sees their organisation's subtree; an admin sees everything (read only)."""
    if actor.role == "admin":
        return True
    return actor.org_path is not None and org.path.startswith(actor.org_path)


def can_view_case(actor: Actor, case: Case | CaseRecord) -> bool:
    """A user sees a case of their subtree, and a case one of whose parties that sees it is in their subtree.

    The parties are looked at only when the case's own organisation is not visible (a model's
    `parties` are then loaded; a record's were loaded with it when its definition declares any)."""
    if can_view(actor, case.org):
        return True
    path = actor.org_path
    return path is not None and any(p.sees_case and p.org.path.startswith(path) for p in case.parties)


def ancestors_of(session: Session, org: Any) -> list[OrgRecord]:
    """The ancestors of `org` (a model or a record), nearest first, in one query."""
    ids = [int(p) for p in org.path.strip("/").split("/") if p][:-1]
    rows = orgs_by_id(session, ids)
    return [rows[i] for i in reversed(ids) if i in rows]


def _node(o: _AnyOrg) -> OrgNode:
    return OrgNode(o.id, o.code, o.name, o.kind, o.employees, o.union_status or "none")


def _org_facts(o: _AnyOrg) -> OrgFacts:
    return OrgFacts(o.code, o.name, o.kind, o.employees, o.female_employees, o.union_status, o.member_count, o.id)


def _case_id(case: Any) -> int:
    case_id = case.id if isinstance(case, (Case, CaseRecord)) else case
    if not isinstance(case_id, int) or isinstance(case_id, bool):
        raise NotFound()
    return case_id


@dataclass
class Effects:
    """What a step's effects added, gathered in their order."""

    facts: dict[str, Any]
    data: dict[str, Any]
    org: dict[str, Any]
    entities: list[EntityChange]
    party_orgs: dict[str, dict[str, Any]] = field(default_factory=dict)


def _entry_data(recorded: Mapping[str, Any], effects: Effects, org: Any,
                applied: list[Applied], day: date) -> dict[str, Any]:
    data: dict[str, Any] = dict(recorded)
    # the business date, part of the hashed entry beside the recording time (`at`)
    data[DECIDED_ON] = day.isoformat()
    if effects.facts or effects.data:
        data["computed"] = {**effects.data, **effects.facts}
    if effects.org:
        data["org"] = {"code": org.code, **effects.org}
    if applied:
        data["entities"] = [a.record for a in applied]
    return data


def waited_for(definition: Definition, state: str) -> list[Transition]:
    """The steps a case standing in `state` waits for: those that move it on, back or out (not a withdrawal
    open at every step, nor a step that leaves it where it is, such as an objection, nor the system's own
    steps or those of a party not yet named)."""
    return [t for t in definition.transitions if t.source == state and t.way != "leave" and t.dest != state
            and t.roles != (SYSTEM,) and not _joins(definition, t)]


def _joins(definition: Definition, t: Transition) -> bool:
    """Whether `t` is the step of a party that joins the case with it (nobody's task before it is taken:
    whoever redeems a transfer certificate)."""
    return t.party is not None and definition.party(t.party).field is None


def _record_digest(case: CaseRecord) -> str:
    """The row digest of a case as the step leaves it, over the JSON texts it read or wrote (`case.stored`)."""
    stored = case.stored
    return case_digest(case.workflow, case.definition_version, case.profile, case.org.id, case.competent_org_id,
                       case.created_by_id, case.closed, case.decided_on, case.assignee_id, stored["data"],
                       stored["facts"], stored["fired_by"])


def _append_org_entry(session: Session, org_id: int, changes: dict[str, list[Any]], actor: Actor, trigger: str,
                      case_id: int | None) -> None:
    """A step's effects changed the case's organisation: an entry of the organisation with its new digest,
    after the case's own."""
    row = _ORG_ROW.one_or_none(session, {"org_id": org_id})
    assert row is not None  # the case's organisation, locked with it
    values = dict(zip(ORG_ROW_FIELDS, row, strict=True))
    audit.append(session, actor=actor.username, role=actor.role, subject_type=ORG, subject_id=str(values["code"]),
                 trigger=trigger, from_state=None, to_state=org_digest(values), version=None,
                 data={"case_id": case_id, "changes": changes})


class Engine:
    """Runs the definitions of one catalogue under a default rule profile."""

    def __init__(self, catalog: Catalog, profile: str = "default", clock: Any = None):
        self.catalog = catalog
        self.profile_name = profile
        catalog.profile(profile)  # fail early on an unknown profile
        self._clock = clock
        self._zones: dict[str, ZoneInfo] = {}  # each profile's time zone, by profile name
        self._calendars: dict[str, Calendar] = {}  # and its working days
        # called at the end of every step, in its unit of work (e.g. the notifications of `services.work`):
        # listener(session, engine, case record, transition, actor, state before, comment)
        self.step_listeners: list[StepListener] = []
        # called when a decision is assigned to someone else: listener(session, engine, case, actor, user id,
        # comment)
        self.assign_listeners: list[Callable[..., None]] = []
        self._waits: dict[str, dict[str, tuple[str, ...]]] | None = None
        self.entity_names = self._declared_entities(catalog)

    @staticmethod
    def _declared_entities(catalog: Catalog) -> frozenset[str]:
        """The entities the catalogue's definitions declare; each must be registered (workflow.entities)."""
        names = set()
        for d in catalog.versions.values():
            for name in d.entities:
                if name not in ENTITIES:
                    raise DefinitionError(f"{display_name(Path(d.path))}: entity {name!r} is not registered")
                names.add(name)
        return frozenset(names)

    # -- time ------------------------------------------------------------
    def today(self, profile: str | None = None) -> date:
        if self._clock is not None:
            return self._clock()
        return datetime.now(self.zone(profile)).date()

    def calendar(self, profile: str | None = None) -> Calendar:
        """The profile's working days (its `common` holidays and make-up days), for every period counted in
        working days."""
        name = profile or self.profile_name
        cal = self._calendars.get(name)
        if cal is None:
            cal = self._calendars[name] = Calendar.from_params(self.catalog.profile(name).for_workflow("common"))
        return cal

    def zone(self, profile: str | None = None) -> ZoneInfo:
        """The profile's time zone (in which its days begin and end)."""
        name = profile or self.profile_name
        tz = self._zones.get(name)
        if tz is None:
            tz = self._zones[name] = ZoneInfo(
                self.catalog.profile(name).for_workflow("common").get("timezone", "Asia/Shanghai"))
        return tz

    @staticmethod
    def business_date(value: Any, today: date) -> date | None:
        """The step's `decided_on` as given (an ISO date "YYYY-MM-DD", a date, or None for today), or None
        when it is no date."""
        if value is None or value == "":
            return today
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        return None

    @staticmethod
    def _check_data_and_date(specs: Any, data: Any, day: date | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """The step's data and its business date, every field's problem reported together."""
        clean, recorded, errors = validate(specs, data)
        if day is None:
            errors[DECIDED_ON] = FieldError("not_date")
        if errors:
            raise InvalidInput(fields=errors)
        return clean, recorded

    @staticmethod
    def _date_reasons(decided_on: date, today: date, previous: date | None) -> list[Reason]:
        """The business date may not be in the future nor before the case's previous step's."""
        reasons = []
        if decided_on > today:
            reasons.append(Reason("decided_on_future", {"decided_on": decided_on.isoformat(),
                                                        "today": today.isoformat()}))
        if previous is not None and decided_on < previous:
            reasons.append(Reason("decided_on_out_of_order", {"decided_on": decided_on.isoformat(),
                                                              "previous": previous.isoformat()}))
        return reasons

    # -- lookups ---------------------------------------------------------
    def definition_of(self, case: _AnyCase) -> Definition:
        return self.catalog.definition_version(case.workflow, case.definition_version)

    def params_of(self, case: _AnyCase) -> Mapping[str, Any]:
        return self.catalog.profile(case.profile).for_workflow(case.workflow)

    @staticmethod
    def _other_open_cases(session: Session, case: _AnyCase) -> list[Mapping[str, Any]]:
        """The workflow's open cases other than `case`, with their organisation's name (for rules such as
        one household, one file)."""
        stmt = (select(Case.data, Case.facts, Organisation.name).join(Case.org)
                .where(Case.workflow == case.workflow, Case.closed.is_(False)))
        if case.id is not None:
            stmt = stmt.where(Case.id != case.id)
        return [{"org": name, "data": {**(data or {}), **(facts or {})}} for data, facts, name in session.execute(stmt)]

    def _context(self, case: _AnyCase, trigger: str, data: Mapping[str, Any], actor: Actor | None, today: date,
                 org: _AnyOrg, parties: Mapping[str, OrgFacts] | None = None,
                 session: Session | None = None) -> Context:
        profile = self.catalog.profile(case.profile)
        definition = self.definition_of(case)
        return Context(
            workflow=case.workflow,
            trigger=trigger,
            state=case.state,
            data=data,
            case={**(case.data or {}), **(case.facts or {})},
            params=profile.for_workflow(case.workflow),
            org=_org_facts(org),
            today=today,
            actor=actor.facts() if actor else None,
            common=profile.for_workflow("common"),
            extra=definition.extra,
            parties=parties if parties is not None else
            {p.party: _org_facts(p.org) for p in case.parties} if definition.parties else {},
            others=(lambda: self._other_open_cases(session, case)) if session is not None else None,
            lookup=(lambda name, *args: LOOKUPS[name](session, *args)) if session is not None else None,
            case_id=case.id,
        )

    def competent_org(self, session: Session, case: Case | CaseRecord, rule: str) -> Organisation | OrgRecord:
        """The organisation that must decide a step under `rule` (the case's own, or an ancestor)."""
        if rule == FIXED:
            if case.competent_org is not None:
                return case.competent_org
            rule = "case_org"
        if rule == "case_org":
            return case.org
        ancestors = ancestors_of(session, case.org)
        node = RULES[rule](_node(case.org), [_node(a) for a in ancestors], self.params_of(case))
        return case.org if node.id == case.org.id else next(a for a in ancestors if a.id == node.id)

    # -- checks shared by fire and available ------------------------------
    # each returns the reason the actor may not take the step, or None
    @staticmethod
    def _role_reason(t: Transition, actor: Actor) -> Reason | None:
        return None if actor.role in t.roles else Reason("forbidden", {"role": actor.role})

    def _competence_reason(self, session: Session, case: Case | CaseRecord, t: Transition,
                           actor: Actor) -> Reason | None:
        if actor.role == SYSTEM:  # the system's own steps (an expiry): no organisation decides them
            return None
        competent = self.party_org(case, t.party) if t.party is not None else \
            self.competent_org(session, case, t.competent)
        if competent is None:  # a party the case does not name decides nothing
            return Reason("not_competent", {"competent": "", "competent_code": ""})
        # only the competent organisation decides: an ancestor supervises (sees the case) but does not decide
        # in its place (no 越级审批), unless it reassigns the decision (`reassign`)
        if actor.org_id is None or competent.id != actor.org_id:
            return Reason("not_competent", {"competent": competent.name, "competent_code": competent.code})
        return None

    def _four_eyes_reason(self, case: Case | CaseRecord, t: Transition, actor: Actor) -> Reason | None:
        if t.reviews and actor.id in self._four_eyes_excluded(case, t):
            return Reason("four_eyes")
        return None

    def _authority_reasons(self, session: Session, case: Case, t: Transition, actor: Actor) -> list[Reason]:
        reason = self._role_reason(t, actor) or self._competence_reason(session, case, t, actor) \
            or self._four_eyes_reason(case, t, actor)
        return [reason] if reason is not None else []

    @staticmethod
    def party_org(case: Case | CaseRecord, party: str) -> Organisation | OrgRecord | None:
        """The organisation of the case's `party`, or None when the case names none."""
        return next((p.org for p in case.parties if p.party == party), None)

    @staticmethod
    def _four_eyes_excluded(case: _AnyCase, t: Transition) -> set[int]:
        excluded = {case.created_by_id}
        fired = [(v[1], v[0]) for k, v in (case.fired_by or {}).items() if k in t.reviews]
        if fired:
            excluded.add(max(fired)[1])  # whoever fired the latest reviewed step
        return excluded

    @staticmethod
    def _run_guards(names: Iterable[str], ctx: Context) -> list[Reason]:
        reasons: list[Reason] = []
        for name in names:
            for reason in GUARDS[name](ctx) or ():
                if reason not in reasons or reason.params != reasons[reasons.index(reason)].params:
                    reasons.append(reason)
        return reasons

    @staticmethod
    def _run_effects(definition: Definition, names: Iterable[str], ctx: Context) -> tuple[Effects, Context]:
        out = Effects({}, {}, {}, [])
        for name in names:
            outcome = EFFECTS[name](ctx)
            out.facts.update(outcome.facts)
            out.data.update(outcome.data)
            out.org.update(outcome.org)
            out.entities.extend(outcome.entities)
            for party, changes in outcome.party_orgs.items():
                out.party_orgs.setdefault(party, {}).update(changes)
            ctx = Context(**{**ctx.__dict__, "case": {**ctx.case, **outcome.data, **outcome.facts}})
        bad = set(out.org).union(*out.party_orgs.values()) - ORG_FIELDS
        if bad:
            raise ValueError(f"effects may not change organisation fields {sorted(bad)}")
        if out.entities:
            check_entities(definition.entities, out.entities)
        return out, ctx

    # -- the choke point, check by check ---------------------------------------
    def load_for_update(self, session: Session, case_id: int, actor: Actor) -> CaseRecord:
        """Load and lock the case (its parties too when its definition declares any); 404 unless visible."""
        case = load_case(session, case_id, lock=True)
        if case is None:
            raise NotFound()
        if self.definition_of(case).parties:
            case.parties = load_parties(session, case.id)
        if actor.role != SYSTEM and not can_view_case(actor, case):
            raise NotFound()
        return case

    @staticmethod
    def _check_trigger(definition: Definition, trigger: str) -> None:
        if trigger not in definition.triggers:
            raise UnknownTrigger([Reason("unknown_trigger", {"trigger": trigger})])

    @staticmethod
    def _check_version(case: CaseRecord, expected_version: int | None) -> None:
        if expected_version is not None and expected_version != case.version:
            raise StaleVersion([Reason("stale_version", {"version": case.version})])

    @staticmethod
    def _check_state(machine: DefinitionMachine, case: CaseRecord, trigger: str,
                     actor: Actor) -> tuple[Transition, ...]:
        """The transitions of `trigger` from the state the locked row holds; a role that never fires the
        trigger is told so before it learns anything of the state."""
        candidates = machine.transitions_for(trigger, case.state)
        if actor.role not in machine.roles_of(trigger):
            raise Forbidden([Reason("forbidden", {"role": actor.role})])
        if not candidates:
            raise InvalidState([Reason("invalid_state", {"state": case.state, "workflow": case.workflow})])
        return candidates

    def _check_role(self, t: Transition, actor: Actor) -> None:
        if (reason := self._role_reason(t, actor)) is not None:
            raise Forbidden([reason])

    def _check_competence(self, session: Session, case: CaseRecord, t: Transition, actor: Actor) -> None:
        if (reason := self._competence_reason(session, case, t, actor)) is not None:
            raise NotCompetent([reason])

    def _check_four_eyes(self, case: CaseRecord, t: Transition, actor: Actor) -> None:
        if (reason := self._four_eyes_reason(case, t, actor)) is not None:
            raise FourEyes([reason])

    @staticmethod
    def _check_comment(t: Transition, comment: Any) -> str:
        return Engine._clean_comment(comment, t.comment == "required")

    @staticmethod
    def _clean_comment(comment: Any, required: bool) -> str:
        comment = (comment or "").strip() if isinstance(comment, str) or comment is None else comment
        if not isinstance(comment, str):
            raise InvalidInput(fields={"comment": FieldError("not_string")})
        if required and not comment:
            raise InvalidInput([Reason("comment_required")], fields={"comment": FieldError("required")})
        if len(comment) > 2000:
            raise InvalidInput(fields={"comment": FieldError("too_long", max=2000)})
        return comment

    def _repeated(self, session: Session, case: CaseRecord, candidates: tuple[Transition, ...], actor: Actor,
                  trigger: str, comment: str, recorded: Mapping[str, Any], expected_version: int | None,
                  day: date) -> bool:
        """Whether this self-loop step without a version repeats the case's last entry within the window (the
        same business date too)."""
        if expected_version is not None or any(c.dest != case.state for c in candidates):
            return False
        window = self.catalog.profile(case.profile).for_workflow("common").get("repeat_window_seconds") or 0
        if window <= 0:
            return False
        last = audit.last_entry_for(session, CASE, str(case.id))
        if last is None or (last.trigger, last.actor, last.role, last.comment, last.to_state, last.version) != (
                trigger, actor.username, actor.role, comment, case.state, case.version):
            return False
        if not timedelta(0) <= utcnow() - last.at < timedelta(seconds=window):
            return False
        stored = json.loads(last.data)
        if stored.get(DECIDED_ON, day.isoformat()) != day.isoformat():
            return False
        sent = json.loads(audit.canonical_json(dict(recorded)))
        return set(stored) - set(sent) <= _ENGINE_KEYS and all(stored.get(k) == v for k, v in sent.items())

    def _change_state(self, session: Session, case: CaseRecord, definition: Definition, t: Transition,
                      actor: Actor, recorded: Mapping[str, Any], effects: Effects, day: date) -> list[Applied]:
        """Write the step: the case's columns it changed, the organisation's and the entities' changes."""
        changed = {"version", "fired_by", "updated_at"}
        if case.decided_on != day:
            case.decided_on = day
            changed.add("decided_on")
        if t.record == "merge" and recorded:
            case.data.update(recorded)
            changed.add("data")
        if effects.data:
            case.data.update(effects.data)
            changed.add("data")
        if effects.facts:
            case.facts.update(effects.facts)
            changed.add("facts")
        case.fired_by[t.trigger] = [actor.id, case.version + 1]
        if t.fix_competent:
            # a record's organisations, and so its competent one, are records
            competent = cast(OrgRecord, self.competent_org(session, case, t.fix_competent))
            case.competent_org = competent
            if case.competent_org_id != competent.id:
                case.competent_org_id = competent.id
                changed.add("competent_org_id")
        if effects.org:
            update_org(session, case.org.id, effects.org)
        case.updated_at = now = utcnow()
        entered = t.dest != case.state
        if entered:
            case.state, case.state_since = t.dest, now
            changed.update(("state", "state_since"))
            if case.assignee_id is not None:  # the next decision is nobody's until claimed
                case.assignee_id = None
                changed.add("assignee_id")
        due = self._due_on(case, day, entered)
        if due != case.due_on:
            case.due_on = due
            changed.add("due_on")
        case.version += 1
        if t.dest in definition.final_states and not case.closed:
            case.closed = True
            changed.add("closed")
            unique = definition.creation.unique  # declared whenever a case has a unique key
            if case.unique_key is not None and unique is not None and unique.get("scope") == "open":
                case.unique_key = None
                changed.add("unique_key")
        applied = apply_entities(session, effects.entities) if effects.entities else []
        keyed = keys_as_data(effects.entities, applied)
        if keyed:  # e.g. the member a joining case put on the roster
            case.data.update(keyed)
            effects.data.update(keyed)
            changed.add("data")
        save_case(session, case, frozenset(changed))
        return applied

    def _due_on(self, case: Case | CaseRecord, day: date, entered: bool) -> date | None:
        """The deadline of the step the case now waits for: set by the step that began the wait (its business
        date), kept by the steps taken while it waits unless the period runs from a date of the case."""
        rule = rule_for(self.params_of(case), case.state)
        if rule is None:
            return None
        if not entered and not rule.get("from"):
            return cast("date | None", case.due_on)
        values = {**(case.data or {}), **(case.facts or {})}
        return deadline_of(rule, self.calendar(case.profile), day, values, self.params_of(case))

    @staticmethod
    def _append_entries(session: Session, case: Case | CaseRecord, actor: Actor, trigger: str,
                        before: str | None, comment: str, data: dict[str, Any],
                        applied: list[Applied]) -> None:
        """The case's entry, then one for each entity row the step changed."""
        audit.append(session, actor=actor.username, role=actor.role, subject_type=CASE, subject_id=str(case.id),
                     trigger=trigger, from_state=before, to_state=case.state, version=case.version,
                     comment=comment, data=data)
        if applied:
            append_entries(session, applied, actor=actor.username, role=actor.role, trigger=trigger,
                           case_id=case.id)

    def fire(
        self,
        session: Session,
        case: Case | int,
        trigger: str,
        actor: Actor,
        data: Any = None,
        comment: str | None = "",
        expected_version: int | None = None,
        today: date | None = None,
        decided_on: Any = None,
        joined: Mapping[str, str] | None = None,
    ) -> CaseRecord:
        """Fire `trigger` on the case; returns the case as it now stands (a record, not a model), as it will
        be once the caller's unit of work commits.

        `decided_on` is the business date of the step, the day it took place (default `today`, the
        profile's today): the rules count postings, deadlines and periods from it, and it may be neither
        after today nor before the case's previous step's."""
        record = self.load_for_update(session, _case_id(case), actor)
        definition = self.definition_of(record)
        self._check_trigger(definition, trigger)
        self._check_version(record, expected_version)
        machine = machine_for(definition)
        candidates = self._check_state(machine, record, trigger, actor)
        t = candidates[0]
        self._check_role(t, actor)
        self._check_competence(session, record, t, actor)
        self._check_four_eyes(record, t, actor)
        today = today or self.today(record.profile)
        acting = self._check_holder(session, record, t, actor, today)
        comment = self._check_comment(t, comment)
        found = self.business_date(decided_on, today)
        clean, recorded = self._check_data_and_date(t.data, data, found)
        day = cast(date, found)
        if self._repeated(session, record, candidates, actor, trigger, comment, recorded, expected_version, day):
            return record  # the same request again: the same answer, nothing new recorded
        ctx = self._context(record, trigger, clean, actor, day, record.org, session=session)
        reasons = self._date_reasons(day, today, record.decided_on) + self._run_guards(t.guards, ctx)
        if reasons:
            raise GuardFailed(reasons)

        effects, ctx = self._run_effects(definition, t.effects, ctx)
        t = machine.choose(candidates, ctx, CONDITIONS)
        before = record.state
        applied = self._change_state(session, record, definition, t, actor, recorded, effects, day)
        entry = _entry_data(recorded, effects, record.org, applied, day)
        if t.fix_competent and record.competent_org is not None:
            entry["competent_org"] = record.competent_org.code
        if joined:  # a party that joined the case with this step (`join_and_fire`)
            entry["parties"] = dict(joined)
        if acting is not None:  # a substitute's decision names both (代理)
            entry[ON_BEHALF_OF], entry["delegation"] = acting[0].username, acting[1].id
        entry[CASE_DIGEST] = _record_digest(record)
        self._append_entries(session, record, actor, trigger, before, comment, entry, applied)
        org_changes = {k: [getattr(record.org, k), v] for k, v in effects.org.items() if getattr(record.org, k) != v}
        if org_changes:
            _append_org_entry(session, record.org.id, org_changes, actor, trigger, record.id)
        for party, values in effects.party_orgs.items():
            porg = self.party_org(record, party)
            if porg is None:
                raise ValueError(f"effects may not change the organisation of party {party!r}: the case names none")
            changes = {k: [getattr(porg, k), v] for k, v in values.items() if getattr(porg, k) != v}
            if changes:
                update_org(session, porg.id, values)
                _append_org_entry(session, porg.id, changes, actor, trigger, record.id)
        for listener in self.step_listeners:  # in the step's unit: what they write commits with it or not at all
            listener(session, self, record, t, actor, before, comment)
        return record


    # -- a party that joins with its step; the system's own steps ------------------------------------
    def join_and_fire(self, session: Session, case: Case | int, trigger: str, actor: Actor, data: Any = None,
                      comment: str | None = "", today: date | None = None, org_code: Any = None) -> CaseRecord:
        """Fire the step of a party that the case does not name yet (one declared without a creation field,
        such as a transfer's receiving union, which is whoever redeems the certificate): the actor's
        organisation joins the case as that party, then the step is fired as any other, with every check of
        `fire`; the party is recorded in the step's entry. The caller has found the case by what only the
        party can know (the certificate's code), so the case need not be visible before. Everything is
        written in the caller's unit of work, so a refused step leaves no party behind. `org_code`, when
        given, must name the actor's own organisation (the party they act for)."""
        case_id = _case_id(case)
        record = load_case(session, case_id, lock=True)
        if record is None:
            raise NotFound()
        definition = self.definition_of(record)
        if trigger not in definition.triggers:
            raise NotFound()
        t = next(x for x in definition.transitions if x.trigger == trigger)
        party = definition.party(t.party) if t.party is not None else None
        if party is None or party.field is not None:
            raise NotFound()  # only a joining party's step is fired this way
        if actor.role not in t.roles:
            raise Forbidden([Reason("forbidden", {"role": actor.role})])
        if org_code is not None and org_code != actor.org_code:  # one acts for one's own organisation only
            raise NotCompetent([Reason("not_competent", {"competent": str(org_code), "competent_code": str(org_code)})])
        parties = load_parties(session, record.id)
        if any(p.party == party.name for p in parties):
            # the party has joined already: the step as it stands (the state tells what happened)
            return self.fire(session, case_id, trigger, actor, data, comment, today=today)
        org = session.get(Organisation, actor.org_id) if actor.org_id is not None else None
        if org is None:
            raise Forbidden([Reason("forbidden", {"role": actor.role})])
        if org.id == record.org.id and not party.may_be_case_org:
            raise GuardFailed([Reason("party_is_case_org", {"org": org.name})])
        if org.kind not in party.org_kinds:
            raise GuardFailed([Reason("party_wrong_kind", {"org": org.name})])
        session.add(CaseParty(case_id=record.id, party=party.name, org_id=org.id, sees_case=party.sees_case))
        session.flush()
        return self.fire(session, case_id, trigger, actor, data, comment, today=today, joined={party.name: org.code})

    def fire_as_system(self, session: Session, case: Case | int, trigger: str, today: date | None = None,
                       data: Any = None) -> CaseRecord:
        """A step the definition gives to the system alone (`roles: [system]`, an expiry), fired by the
        deadline sweep through the same checks (state, guards) and entries as anybody's."""
        return self.fire(session, case, trigger, SYSTEM_ACTOR, data, "", today=today)

    # -- the roster outside a step: leaving (退会) and death ---------------------------------------
    @staticmethod
    def membership_refusal(actor: Actor, member: Member) -> WorkflowError | None:
        """Why `actor` (who sees the member) may not record the member's leaving or death, or None: only a
        reviewer of the member's own union, and only while the membership is active."""
        if actor.role != "reviewer":
            return Forbidden([Reason("forbidden", {"role": actor.role})])
        if actor.org_id != member.org_id:
            return NotCompetent([Reason("not_competent", {"competent": member.org.name,
                                                          "competent_code": member.org.code})])
        if member.status != "active":
            return InvalidState([Reason("member_not_active", {"name": member.name, "status": member.status})])
        return None

    def end_membership(self, session: Session, member_id: Any, actor: Actor, status: Any, left_on: Any,
                       comment: Any, expected_version: int | None = None) -> Member:
        """退会 or death, recorded by a reviewer of the member's union with the date and a comment: the member
        becomes `left` or `deceased`, the union's member count goes down by one, each change an audited
        entry (the member's own, and the union's). 404 unless the actor sees the union."""
        member = session.get(Member, member_id, with_for_update=True) \
            if isinstance(member_id, int) and not isinstance(member_id, bool) and 0 < member_id < 2 ** 31 else None
        if member is None or not can_view(actor, member.org):
            raise NotFound()
        refusal = self.membership_refusal(actor, member)
        if refusal is not None:
            raise refusal
        if expected_version is not None and expected_version != member.version:
            raise StaleVersion([Reason("stale_version", {"version": member.version})])
        errors: dict[str, FieldError] = {}
        if status not in ENDED:
            errors["status"] = FieldError("not_in_choices", choices=", ".join(ENDED))
        today = self.today()
        day = self.business_date(left_on, today)
        if day is None:
            errors["left_on"] = FieldError("not_date")
        try:
            comment = self._clean_comment(comment, required=True)
        except InvalidInput as err:
            errors.update(err.fields)
        if errors:
            raise InvalidInput(fields=errors)
        day = cast(date, day)
        reasons = []
        if day > today:
            reasons.append(Reason("decided_on_future", {"decided_on": day.isoformat(), "today": today.isoformat()}))
        if day < member.joined_on:
            reasons.append(Reason("left_before_joined", {"left_on": day.isoformat(),
                                                         "joined_on": member.joined_on.isoformat()}))
        if reasons:
            raise GuardFailed(reasons)
        org = session.execute(select(Organisation.member_count).where(Organisation.id == member.org_id)
                              .with_for_update()).scalar_one()
        applied = apply_entities(session, [EntityChange(MEMBER, "update", {
            "status": status, "left_on": day, "left_comment": comment}, member.id)])
        append_standalone(session, applied[0], actor=actor.username, role=actor.role, trigger=f"member_{status}",
                          comment=comment, extra={DECIDED_ON: day.isoformat()})
        count = max((org or 0) - 1, 0)
        update_org(session, member.org_id, {"member_count": count})
        _append_org_entry(session, member.org_id, {"member_count": [org, count]}, actor, f"member_{status}", None)
        return member

    @staticmethod
    def roster_import_refusal(actor: Actor, org: Organisation) -> WorkflowError | None:
        """Why `actor` may not put members on `org`'s roster by import (会员名册导入), or None: only a reviewer
        of the union itself, once it is founded. 404 unless the actor sees the union."""
        if not can_view(actor, org):
            return NotFound()
        if actor.role != "reviewer":
            return Forbidden([Reason("forbidden", {"role": actor.role})])
        if actor.org_id != org.id:
            return NotCompetent([Reason("not_competent", {"competent": org.name, "competent_code": org.code})])
        if org.union_status != "founded":
            return GuardFailed([Reason("union_not_founded", {"org": org.name})])
        return None

    def enrol_members(self, session: Session, actor: Actor, org: Organisation, members: Sequence[NewMember],
                      extra: Mapping[str, Any] | None = None) -> list[int]:
        """Put checked rows on the union's roster at once (`workflow.enrolment`): each member audited as a
        change outside a step (trigger `member_import`), the union's member count moved once. Returns the new
        members' ids."""
        refusal = self.roster_import_refusal(actor, org)
        if refusal is not None:
            raise refusal
        return enrol(session, org.id, members, actor=actor.username, role=actor.role, trigger=MEMBER_IMPORT,
                     extra=extra)

    # -- creating a case ---------------------------------------------------
    def reassign(self, session: Session, case: Case | int, actor: Actor, org_code: Any, comment: Any,
                 expected_version: int | None = None) -> CaseRecord:
        """转办 / 上收: a reviewer of an ancestor of the case's competent organisation hands the decision to its
        own organisation or another of its subtree, with a reason; an audited event of the case, after which
        the new organisation is the competent one (domain.md, "Organisations and people")."""
        record = self.load_for_update(session, _case_id(case), actor)
        self._check_version(record, expected_version)
        if actor.role != "reviewer":
            raise Forbidden([Reason("forbidden", {"role": actor.role})])
        if record.closed:
            raise InvalidState([Reason("invalid_state", {"state": record.state, "workflow": record.workflow})])
        current = record.competent_org
        if current is None:
            raise GuardFailed([Reason("no_competent_decision")])
        if actor.org_path is None or current.id == actor.org_id or not current.path.startswith(actor.org_path):
            raise NotCompetent([Reason("not_competent_to_reassign", {"competent": current.name,
                                                                     "competent_code": current.code})])
        if not isinstance(org_code, str) or not org_code.strip():
            raise InvalidInput(fields={"org": FieldError("required" if org_code in (None, "") else "not_string")})
        comment = self._clean_comment(comment, required=True)
        target = session.scalars(select(Organisation).where(Organisation.code == org_code.strip())).one_or_none()
        if target is None or not target.path.startswith(actor.org_path):
            raise GuardFailed([Reason("reassign_outside_subtree", {"org": org_code.strip()})])
        if target.id == current.id:
            raise GuardFailed([Reason("reassign_same_org", {"org": target.name})])
        if not record.org.path.startswith(target.path):  # the deciding union must see the case: one above it
            raise GuardFailed([Reason("reassign_not_above_case", {"org": target.name, "case_org": record.org.name})])
        record.competent_org_id = target.id
        record.competent_org = orgs_by_id(session, [target.id])[target.id]
        record.updated_at = utcnow()
        record.version += 1
        columns = {"competent_org_id", "version", "updated_at"}
        data: dict[str, Any] = {"competent_org": target.code, "previous_competent_org": current.code}
        holder = find_holder(session, record.assignee_id)
        if holder is not None:  # the claim was the former organisation's
            record.assignee_id = None
            columns.add("assignee_id")
            data["previous_assignee"] = holder.username
        save_case(session, record, frozenset(columns))
        data[CASE_DIGEST] = _record_digest(record)
        self._append_entries(session, record, actor, "reassign", record.state, comment, data, [])
        return record

    # -- who handles the decision: claim (认领), release (释放), assign (指派), delegation (代理) ----------
    def _decisions(self, case: _AnyCase) -> list[Transition]:
        """The steps the case waits for, one per trigger: those from its state, but the ways out open at every
        step (a withdrawal)."""
        seen: set[str] = set()
        out = []
        for t in self.definition_of(case).transitions_from(case.state):
            if t.way != "leave" and t.trigger not in seen:
                seen.add(t.trigger)
                out.append(t)
        return out

    def _decide_reasons(self, session: Session, case: Case | CaseRecord, actor: Actor,
                        four_eyes: bool = True) -> list[Reason]:
        """Nothing when `actor` may take one of the decisions the case waits for (their role, their
        organisation competent and, with `four_eyes`, not barred from it); else the first decision's reason."""
        first: Reason | None = None
        for t in self._decisions(case):
            reason = self._role_reason(t, actor) or self._competence_reason(session, case, t, actor) \
                or (self._four_eyes_reason(case, t, actor) if four_eyes else None)
            if reason is None:
                return []
            first = first or reason
        return [first or Reason("no_open_decision", {"state": case.state})]

    def _raise_unless_may_decide(self, session: Session, case: CaseRecord, actor: Actor,
                                 four_eyes: bool = True) -> None:
        reasons = self._decide_reasons(session, case, actor, four_eyes)
        if reasons:
            raise {"forbidden": Forbidden, "not_competent": NotCompetent, "four_eyes": FourEyes}.get(
                reasons[0].code, InvalidState)(reasons)

    @staticmethod
    def _assigned_reason(holder: Holder) -> Reason:
        return Reason("assigned_to_other", {"assignee": holder.name, "assignee_username": holder.username})

    def acting_for(self, session: Session, holder: Holder, actor: Actor,
                   today: date | None = None) -> Delegation | None:
        """The delegation by which `actor` stands in today for the holder of a decision: a substitute still of
        the holder's organisation and role, within the period of a delegation not ended."""
        if holder.org_id != actor.org_id or holder.role != actor.role:
            return None
        return active_delegation(session, holder.id, actor.id, today or self.today())

    def _holder_reason(self, session: Session, case: _AnyCase, t: Transition, actor: Actor,
                       today: date) -> tuple[Reason | None, tuple[Holder, Delegation] | None]:
        """A claimed decision is its holder's, or their substitute's while a delegation lasts; a step of
        another role or organisation (a preparer's objection while the reviewer holds the decision) or a way out
        open at every step (withdrawal) is not the claim's."""
        if case.assignee_id is None or case.assignee_id == actor.id or t.way == "leave":
            return None, None
        holder = find_holder(session, case.assignee_id)
        if holder is None or holder.role != actor.role or holder.org_id != actor.org_id:
            return None, None  # (a holder since moved to another organisation or role holds nothing here)
        delegation = self.acting_for(session, holder, actor, today)
        if delegation is not None:
            return None, (holder, delegation)
        return self._assigned_reason(holder), None

    def _check_holder(self, session: Session, case: CaseRecord, t: Transition, actor: Actor,
                      today: date) -> tuple[Holder, Delegation] | None:
        reason, acting = self._holder_reason(session, case, t, actor, today)
        if reason is not None:
            raise AssignedToOther([reason])
        return acting

    @staticmethod
    def _check_open(case: CaseRecord) -> None:
        if case.closed:
            raise InvalidState([Reason("invalid_state", {"state": case.state})])

    def _holder_or_substitute(self, session: Session, case: CaseRecord, actor: Actor) -> dict[str, Any]:
        """What an entry says of who acts when the decision is held by someone else: the substitute's
        delegator; AssignedToOther when the actor is not their substitute."""
        holder = find_holder(session, case.assignee_id)
        if holder is None or holder.id == actor.id:
            return {}
        delegation = self.acting_for(session, holder, actor)
        if delegation is None:
            raise AssignedToOther([self._assigned_reason(holder)])
        return {ON_BEHALF_OF: holder.username, "delegation": delegation.id}

    def _set_assignee(self, session: Session, case: CaseRecord, actor: Actor, assignee_id: int | None,
                      trigger: str, data: dict[str, Any], comment: str = "") -> CaseRecord:
        """The case's new holder, an entry of the case with the row's digest (the version moves on, so that a
        form opened before is stale)."""
        case.assignee_id = assignee_id
        case.updated_at = utcnow()
        case.version += 1
        save_case(session, case, frozenset({"assignee_id", "version", "updated_at"}))
        data[CASE_DIGEST] = _record_digest(case)
        self._append_entries(session, case, actor, trigger, case.state, comment, data, [])
        if trigger == "assign" and assignee_id is not None and assignee_id != actor.id:
            for listener in self.assign_listeners:  # in the same unit, as a step's listeners
                listener(session, self, case, actor, assignee_id, comment)
        return case

    def claim(self, session: Session, case: Case | int, actor: Actor,
              expected_version: int | None = None) -> CaseRecord:
        """认领: the actor takes the decision the case waits for, which they may take (role, competence, four
        eyes); while they hold it nobody else of their organisation and role fires it. Claiming what one holds
        already changes nothing."""
        record = self.load_for_update(session, _case_id(case), actor)
        self._check_version(record, expected_version)
        self._check_open(record)
        self._raise_unless_may_decide(session, record, actor)
        if record.assignee_id == actor.id:
            return record
        holder = find_holder(session, record.assignee_id)
        if holder is not None:
            raise AssignedToOther([self._assigned_reason(holder)])
        return self._set_assignee(session, record, actor, actor.id, "claim", {"assignee": actor.username})

    def release(self, session: Session, case: Case | int, actor: Actor,
                expected_version: int | None = None) -> CaseRecord:
        """释放: the holder (or their substitute) gives the decision back to the organisation."""
        record = self.load_for_update(session, _case_id(case), actor)
        self._check_version(record, expected_version)
        self._check_open(record)
        holder = find_holder(session, record.assignee_id)
        if holder is None or holder.id != actor.id:  # who could never hold it is told so first
            self._raise_unless_may_decide(session, record, actor, four_eyes=False)
        if holder is None:
            raise InvalidState([Reason("not_claimed")])
        data: dict[str, Any] = {"previous_assignee": holder.username}
        if holder.id != actor.id:
            data.update(self._holder_or_substitute(session, record, actor))
        return self._set_assignee(session, record, actor, None, "release", data)

    def assign(self, session: Session, case: Case | int, actor: Actor, username: Any, comment: Any = "",
               expected_version: int | None = None) -> CaseRecord:
        """指派: someone who may take the decision (role and competence; four eyes bars deciding, not handing
        on) gives it to a colleague of the same organisation and role who may decide it. A decision held by
        someone else is theirs to hand on (or their substitute's)."""
        record = self.load_for_update(session, _case_id(case), actor)
        self._check_version(record, expected_version)
        self._check_open(record)
        self._raise_unless_may_decide(session, record, actor, four_eyes=False)
        if not isinstance(username, str) or not username.strip():
            raise InvalidInput(fields={"user": FieldError("required" if username in (None, "") else "not_string")})
        comment = self._clean_comment(comment, required=False)
        data: dict[str, Any] = {}
        if record.assignee_id not in (None, actor.id):
            data.update(self._holder_or_substitute(session, record, actor))
        target = find_active_user(session, username)
        name = username.strip()
        reasons: list[Reason] = []
        if target is None:
            reasons.append(Reason("assignee_unknown", {"user": name}))
        else:
            shown = target.display_name or target.username
            if target.org_id != actor.org_id:
                reasons.append(Reason("assignee_other_org", {"user": shown}))
            if target.role != actor.role:
                reasons.append(Reason("assignee_other_role", {"user": shown, "role": actor.role}))
            if not reasons:
                barred = self._decide_reasons(session, record, Actor.of(target))
                if barred:
                    reasons.append(Reason("assignee_cannot_decide", {"user": shown,
                                                                     "why": barred[0].code}))
        if reasons:
            raise GuardFailed(reasons)
        assert target is not None
        if target.id == record.assignee_id:
            return record
        previous = find_holder(session, record.assignee_id)
        data["assignee"] = target.username
        if previous is not None:
            data["previous_assignee"] = previous.username
        return self._set_assignee(session, record, actor, target.id, "assign", data, comment)

    def handling(self, session: Session, case: Case, actor: Actor) -> Handling:
        """Who holds the case's decision and what the actor may do about it now (for the case page): the same
        checks as `claim`, `release` and `assign`."""
        holder = find_holder(session, case.assignee_id)
        waiting = not case.closed and bool(self._decisions(case))
        may_take = waiting and not self._decide_reasons(session, case, actor, four_eyes=False)
        own = holder is not None and holder.id == actor.id
        substitute = bool(holder is not None and not own and may_take and self.acting_for(session, holder, actor))
        return Handling(
            holder=holder, waiting=waiting, substitute=substitute,
            claim=waiting and holder is None and not self._decide_reasons(session, case, actor),
            release=waiting and (own or substitute),
            assign=may_take and (holder is None or own or substitute),
        )

    def delegate(self, session: Session, actor: Actor, to: Any, starts_on: Any, ends_on: Any) -> Delegation:
        """代理: the actor's decisions may be taken by `to` (same organisation and role) from `starts_on` to
        `ends_on`, both included (workflow.delegations)."""
        return delegate_to(session, actor, to, starts_on, ends_on, self.today())

    def end_delegation(self, session: Session, actor: Actor, delegation_id: Any) -> Delegation:
        return end_delegation_of(session, actor, delegation_id, self.today())

    def issue_document(self, session: Session, case: Case | int, actor: Actor, title: Any, filename: Any,
                       sha256: Any, size: Any) -> bool:
        """A printable document of the case issued as a file (a PDF made on the server): its title, file name,
        size and SHA-256 go into the case's trail (trigger `issue_document`, state and version unchanged, the
        case's row digest as it stands), so that a printed or sent copy can be checked against the trail. The
        same file issued again (same name and hash) is recorded once; returns whether an entry was added.
        Whoever may see the case may issue its documents; the entry names who did."""
        record = self.load_for_update(session, _case_id(case), actor)
        errors: dict[str, FieldError] = {}
        for key, value, limit in (("title", title, 200), ("filename", filename, 200)):
            if not isinstance(value, str) or not value.strip():
                errors[key] = FieldError("required")
            elif len(value) > limit:
                errors[key] = FieldError("too_long", max=limit)
        if not isinstance(sha256, str) or len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            errors["sha256"] = FieldError("not_string")  # 64 lowercase hexadecimal digits
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            errors["size"] = FieldError("below_min", min=1)
        if errors:
            raise InvalidInput(fields=errors)
        for e in audit.entries_for(session, CASE, str(record.id)):
            if e.trigger == DOCUMENT_ISSUED:
                done = json.loads(e.data)
                if (done.get("filename"), done.get("sha256")) == (filename, sha256):
                    return False
        audit.append(session, actor=actor.username, role=actor.role, subject_type=CASE, subject_id=str(record.id),
                     trigger=DOCUMENT_ISSUED, from_state=record.state, to_state=record.state, version=record.version,
                     data={"title": title, "filename": filename, "sha256": sha256, "size": size,
                           CASE_DIGEST: _record_digest(record)})
        return True

    def _resolve_parties(self, session: Session, definition: Definition, org: Organisation,
                         clean: Mapping[str, Any]) -> list[tuple[Any, Organisation]]:
        """Each declared party's organisation, named by its creation field: it must exist and be of the
        party's kind, and may be the case's own only where the definition allows. Naming an organisation
        does not require seeing it (a transfer's receiving union is usually elsewhere in the tree)."""
        found = []
        errors: dict[str, FieldError] = {}
        for party in definition.parties:
            if party.field is None:  # it joins with its first step (`join_and_fire`)
                continue
            code = clean.get(party.field)
            porg = session.scalars(select(Organisation).where(Organisation.code == code)).one_or_none() \
                if isinstance(code, str) and code else None
            if not code:
                errors[party.field] = FieldError("required")
            elif porg is None:
                errors[party.field] = FieldError("unknown_org")
            elif porg.kind not in party.org_kinds:
                errors[party.field] = FieldError("not_in_choices", choices=", ".join(party.org_kinds))
            elif porg.id == org.id and not party.may_be_case_org:
                errors[party.field] = FieldError("same_org")
            else:
                found.append((party, porg))
        if errors:
            raise InvalidInput(fields=errors)
        return found

    def create_case(
        self,
        session: Session,
        workflow: str,
        org_code: str,
        actor: Actor,
        data: Any = None,
        profile: str | None = None,
        today: date | None = None,
        decided_on: Any = None,
    ) -> Case:
        if not isinstance(workflow, str) or workflow not in self.catalog.definitions:
            raise InvalidInput(fields={"workflow": FieldError("unknown_workflow")})
        definition = self.catalog.definition(workflow)
        profile = profile or self.profile_name
        self.catalog.profile(profile)
        org = session.scalars(select(Organisation).where(Organisation.code == org_code)).one_or_none() \
            if isinstance(org_code, str) else None
        if org is None or not can_view(actor, org):
            raise NotFound()
        creation = definition.creation
        if actor.role not in creation.roles:
            raise Forbidden([Reason("forbidden", {"role": actor.role})])
        today = today or self.today(profile)
        found = self.business_date(decided_on, today)
        clean, recorded = self._check_data_and_date(creation.data, data, found)
        day = cast(date, found)
        if org.kind != creation.org_kind:
            raise GuardFailed([Reason("wrong_org_kind", {"kind": creation.org_kind})])
        parties = self._resolve_parties(session, definition, org, clean) if definition.parties else []

        now = utcnow()
        case = Case(
            workflow=workflow, definition_version=definition.version, profile=profile, org=org,
            state=definition.initial, version=1, data={}, facts={}, fired_by={},
            created_by_id=actor.id, created_at=now, updated_at=now, state_since=now, decided_on=day,
            due_on=None,
        )
        ctx = self._context(case, "create", clean, actor, day, org,
                            parties={p.name: _org_facts(o) for p, o in parties}, session=session)
        reasons = self._date_reasons(day, today, None) + self._run_guards(creation.guards, ctx)
        unique_key = self._unique_key(definition, org, clean)
        existing = session.scalar(select(Case.id).where(Case.unique_key == unique_key)) if unique_key else None
        if existing is not None:  # named, so that the page can lead to it
            reasons.append(Reason(cast(Mapping[str, Any], creation.unique)["reason"], {"case": existing}))
        if reasons:
            raise GuardFailed(reasons)
        effects, _ = self._run_effects(definition, creation.effects, ctx)
        case.data = {**recorded, **effects.data}
        case.facts = effects.facts
        case.unique_key = unique_key
        case.fired_by = {"create": [actor.id, 1]}
        case.due_on = self._due_on(case, day, entered=True)
        if creation.fix_competent:
            node = RULES[creation.fix_competent](_node(org), [_node(a) for a in ancestors_of(session, org)],
                                                 self.catalog.profile(profile).for_workflow(workflow))
            case.competent_org = session.get(Organisation, node.id)
        org_changes = {key: [getattr(org, key), value] for key, value in effects.org.items()
                       if getattr(org, key) != value}
        for key, value in effects.org.items():
            setattr(org, key, value)
        session.add(case)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            # a concurrent request created the same case first
            raise GuardFailed([Reason(creation.unique["reason"] if creation.unique else "case_exists")]) from None
        for party, porg in parties:
            session.add(CaseParty(case_id=case.id, party=party.name, org_id=porg.id, sees_case=party.sees_case))
        applied = apply_entities(session, effects.entities) if effects.entities else []
        keyed = keys_as_data(effects.entities, applied)
        if keyed:
            case.data = {**case.data, **keyed}
            effects.data.update(keyed)
        entry = _entry_data(recorded, effects, org, applied, day)
        if parties:
            entry["parties"] = {p.name: o.code for p, o in parties}
        if case.competent_org is not None:
            entry["competent_org"] = case.competent_org.code
        session.flush()  # the organisation's changes, before its digest is read
        # the ORM stores each JSON column as json_dumps writes it: the same texts
        entry[CASE_DIGEST] = case_digest(case.workflow, case.definition_version, case.profile, case.org_id,
                                         case.competent_org_id, case.created_by_id, case.closed, case.decided_on,
                                         case.assignee_id, json_dumps(case.data), json_dumps(case.facts),
                                         json_dumps(case.fired_by))
        self._append_entries(session, case, actor, "create", None, "", entry, applied)
        if org_changes:
            _append_org_entry(session, org.id, org_changes, actor, "create", case.id)
        session.flush()
        return case

    @staticmethod
    def _unique_key(definition: Definition, org: Organisation, data: Mapping[str, Any]) -> str | None:
        unique = definition.creation.unique
        if not unique:
            return None
        if unique["scope"] == "open":
            return f"{definition.name}:{org.id}:open"
        return f"{definition.name}:{org.id}:{data.get(unique['key'])}"

    # -- what may be done now -----------------------------------------------
    def available(self, session: Session, case: Case, actor: Actor, today: date | None = None) -> list[Availability]:
        if not can_view_case(actor, case):
            raise NotFound()
        definition = self.definition_of(case)
        machine = machine_for(definition)
        today = today or self.today(case.profile)
        out: list[Availability] = []
        seen: set[str] = set()
        for t in definition.transitions_from(case.state):
            if t.trigger in seen or t.roles == (SYSTEM,):  # nobody but the system takes a system step
                continue
            if _joins(definition, t) and self.party_org(case, t.party or "") is None:
                continue  # a party that joins with this step takes it by `join_and_fire`, not from the case
            seen.add(t.trigger)
            reasons = self._authority_reasons(session, case, t, actor)
            if not reasons:
                held, _acting = self._holder_reason(session, case, t, actor, today)
                reasons = [held] if held is not None else []
            # a step's guards need its data; before it is given only those that answer without it can run
            guards = t.guards if not t.data else [g for g in t.guards if g in WITHOUT_DATA]
            if not reasons and guards:
                ctx = self._context(case, t.trigger, {}, actor, today, case.org, session=session)
                reasons = self._run_guards(guards, ctx)
            dests = machine.transitions_for(t.trigger, case.state)
            dest = dests[0].dest if len(dests) == 1 else "|".join(d.dest for d in dests)
            out.append(Availability(t.trigger, dest, not reasons, tuple(reasons), t))
        return out

    def computed_destination(self, session: Session, case: Case, trigger: str, actor: Actor,
                             today: date | None = None) -> tuple[str, dict[str, Any]] | None:
        """For a step that takes no data and whose conditions choose its destination (inspection's 评定):
        where it would lead now and the facts its effects would record, computed as `fire` computes them
        but written nowhere; None for any other step, or where the trigger does not leave the case's state."""
        definition = self.definition_of(case)
        machine = machine_for(definition)
        candidates = machine.transitions_for(trigger, case.state)
        if len(candidates) < 2 or any(t.data for t in candidates):
            return None
        ctx = self._context(case, trigger, {}, actor, today or self.today(case.profile), case.org, session=session)
        effects, ctx = self._run_effects(definition, candidates[0].effects, ctx)
        return machine.choose(candidates, ctx, CONDITIONS).dest, dict(effects.facts)

    # -- deadlines (办理时限, domain.md §6) --------------------------------------
    def waiting_on(self, session: Session, case: Case | CaseRecord) -> Waiting | None:
        """Whose step the case waits for: the organisation that decides it, the roles that may take it and the
        triggers (the forward and return decisions from its state); None when nothing waits in its state."""
        if case.closed:
            return None
        steps = waited_for(self.definition_of(case), case.state)
        if not steps:
            return None
        first = steps[0]
        if first.party is not None:
            org = self.party_org(case, first.party)
            if org is None:
                return None
        else:
            org = self.competent_org(session, case, first.competent)
        roles = tuple(dict.fromkeys(r for t in steps for r in t.roles))
        return Waiting(org, roles, tuple(dict.fromkeys(t.trigger for t in steps)))

    def waits(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """Per workflow and state, the roles whose step a case waits for there (for the task lists)."""
        if self._waits is None:
            out: dict[str, dict[str, tuple[str, ...]]] = {}
            for name, d in self.catalog.definitions.items():
                states = {t.source for t in d.transitions}
                out[name] = {s: tuple(dict.fromkeys(r for t in waited_for(d, s) for r in t.roles))
                             for s in sorted(states) if waited_for(d, s)}
            self._waits = out
        return self._waits

    def deadline_status(self, case: Case | CaseRecord, today: date | None = None) -> str | None:
        """`due_soon`, `overdue`, `escalated` or None for the step the case waits for."""
        if case.closed or case.due_on is None:
            return None
        soon = int(self.catalog.profile(case.profile).for_workflow("common").get("due_soon_working_days")
                   or DEFAULT_DUE_SOON_WORKING_DAYS)
        return deadline_status_of(self.calendar(case.profile), case.due_on, today or self.today(case.profile), soon)

    def lock_waiting(self, session: Session, case_ids: Sequence[int]) -> dict[int, CaseRecord]:
        """The open cases of `case_ids`, locked to the end of the transaction, with their parties where their
        definition declares any (for the sweep, which is no user: no visibility applies); a case that is gone
        or closed is missing from the answer."""
        records = {i: r for i, r in lock_cases(session, case_ids).items() if not r.closed}
        for record in records.values():
            if self.definition_of(record).parties:
                record.parties = load_parties(session, record.id)
        return records

    @staticmethod
    def record_alerts(session: Session, alerts: Sequence[tuple[CaseRecord, str, Sequence[str], str]]) -> None:
        """Reminders (`remind`: due soon or overdue, to the deciding organisation) and escalations (`escalate`:
        to the organisation above), each `(case, kind, people told, organisation told)`, as audited events of
        their cases written by the system, in one append. The caller holds the cases' locks (`lock_waiting`)
        and has checked that each still waits for the same deadline; no case is changed (its version stays,
        so that no open form goes stale)."""
        entries = []
        digests: dict[int, str] = {}  # a case alerted of several kinds at once: its row digested once
        for record, kind, notified, org_code in alerts:
            assert record.due_on is not None
            if record.id not in digests:
                digests[record.id] = _record_digest(record)
            entries.append(dict(
                actor=SYSTEM, role=SYSTEM, subject_type=CASE, subject_id=str(record.id),
                trigger="escalate" if kind == ESCALATED else "remind", from_state=record.state,
                to_state=record.state, version=record.version, comment="",
                data={"alert": kind, "due_on": record.due_on.isoformat(), "notified_org": org_code,
                      "notified": list(notified), CASE_DIGEST: digests[record.id]}))
        audit.append_many(session, entries)

    def overdue(self, case: Case, today: date | None = None) -> list[str]:
        """The deadline facts that have passed while the case stands in their states."""
        today = today or self.today(case.profile)
        late = []
        for d in self.definition_of(case).extra.get("deadlines", ()):
            due = (case.facts or {}).get(d["fact"]) or (case.data or {}).get(d["fact"])
            if due and case.state in d["states"] and today > date.fromisoformat(due):
                late.append(d["fact"])
        return late

    def subjects(self, session: Session) -> Iterable[audit.Subject]:
        """Every case's current state, version and row digest, every organisation's, user's and absence
        delegation's digest (`workflow.rows`), then every row of the entities the definitions declare (a digest
        of its fields and its change counter), for audit verification: `audit.verify` compares each with the
        last entry of its own."""
        yield from case_subjects(session)
        yield from org_subjects(session)
        yield from user_subjects(session)
        yield from delegation_subjects(session)
        if self.entity_names:
            yield from entity_subjects(session, self.entity_names)

    def verify_entities(self, session: Session) -> list[str]:
        """Replay the entity changes the case entries record, in seq order, and compare them with the rows:
        one problem per row that differs (naming the fields), is missing or was never changed by a step."""
        return verify_entity_rows(session, self.entity_names) if self.entity_names else []
