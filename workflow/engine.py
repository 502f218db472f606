"""The engine: the one choke point through which every step of every case goes.

`fire` is used alike by the API, the pages, the command line and the tests.
In order it loads and locks the case, checks visibility, the trigger, the
version, the role, the state, competence and four eyes, validates the data,
runs every guard (collecting all reasons), runs the effects, changes the
state, appends the audit entry and flushes. It never commits: the caller's
unit of work does, so the state change and its entry land together or not
at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import audit
from definitions import Catalog, Definition, Transition
from storage import utcnow
from storage.prepared import Prepared

from .competence import FIXED, RULES, OrgNode
from .errors import (
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
)
from .machine import machine_for
from .models import Case, Organisation
from .validation import validate
from .records import CaseRecord, OrgRecord, load_case, orgs_by_id, save_case, update_org
from .rules import CONDITIONS, EFFECTS, GUARDS, ORG_FIELDS, WITHOUT_DATA, ActorFacts, Context, OrgFacts, Reason

CASE = "case"
_SUBJECTS = Prepared(select(Case.id, Case.state, Case.version).order_by(Case.id))


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
    def of(cls, user: Any) -> "Actor":
        org = user.org
        return cls(user.id, user.username, user.role, user.org_id, org.path if org else None, org.code if org else None)

    def facts(self) -> ActorFacts:
        return ActorFacts(self.username, self.role, self.org_code)


@dataclass(frozen=True)
class Availability:
    trigger: str
    dest: str
    allowed: bool
    reasons: tuple[Reason, ...]
    transition: Transition


def can_view(actor: Actor, org: Organisation) -> bool:
    """A user sees their organisation's subtree; an admin sees everything (read only)."""
    if actor.role == "admin":
        return True
    return actor.org_path is not None and org.path.startswith(actor.org_path)


def ancestors_of(session: Session, org: Any) -> list[OrgRecord]:
    """The ancestors of `org` (a model or a record), nearest first, in one query."""
    ids = [int(p) for p in org.path.strip("/").split("/") if p][:-1]
    rows = orgs_by_id(session, ids)
    return [rows[i] for i in reversed(ids) if i in rows]


def _node(o: Organisation) -> OrgNode:
    return OrgNode(o.id, o.code, o.name, o.kind, o.employees)


def _org_facts(o: Organisation) -> OrgFacts:
    return OrgFacts(o.code, o.name, o.kind, o.employees, o.female_employees, o.union_status, o.member_count)


class Engine:
    """Runs the definitions of one catalogue under a default rule profile."""

    def __init__(self, catalog: Catalog, profile: str = "default", clock: Any = None):
        self.catalog = catalog
        self.profile_name = profile
        catalog.profile(profile)  # fail early on an unknown profile
        self._clock = clock
        self._zones: dict[str, ZoneInfo] = {}  # each profile's time zone, by profile name

    # -- time ------------------------------------------------------------
    def today(self, profile: str | None = None) -> date:
        if self._clock is not None:
            return self._clock()
        name = profile or self.profile_name
        tz = self._zones.get(name)
        if tz is None:
            tz = self._zones[name] = ZoneInfo(
                self.catalog.profile(name).for_workflow("common").get("timezone", "Asia/Shanghai"))
        return datetime.now(tz).date()

    # -- lookups ---------------------------------------------------------
    def definition_of(self, case: Case) -> Definition:
        return self.catalog.definition_version(case.workflow, case.definition_version)

    def params_of(self, case: Case) -> Mapping[str, Any]:
        return self.catalog.profile(case.profile).for_workflow(case.workflow)

    def _context(self, case: Case, trigger: str, data: Mapping[str, Any], actor: Actor | None, today: date,
                 org: Organisation) -> Context:
        profile = self.catalog.profile(case.profile)
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
            extra=self.definition_of(case).extra,
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
    def _authority_reasons(self, session: Session, case: Case, t: Transition, actor: Actor) -> list[Reason]:
        if actor.role not in t.roles:
            return [Reason("forbidden", {"role": actor.role})]
        competent = self.competent_org(session, case, t.competent)
        if actor.org_path is None or not competent.path.startswith(actor.org_path):
            return [Reason("not_competent", {"competent": competent.name, "competent_code": competent.code})]
        if t.reviews and actor.id in self._four_eyes_excluded(case, t):
            return [Reason("four_eyes")]
        return []

    @staticmethod
    def _four_eyes_excluded(case: Case, t: Transition) -> set[int]:
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
    def _run_effects(names: Iterable[str], ctx: Context) -> tuple[dict, dict, dict, Context]:
        facts: dict[str, Any] = {}
        data: dict[str, Any] = {}
        org: dict[str, Any] = {}
        for name in names:
            out = EFFECTS[name](ctx)
            facts.update(out.facts)
            data.update(out.data)
            org.update(out.org)
            ctx = Context(**{**ctx.__dict__, "case": {**ctx.case, **out.data, **out.facts}})
        bad = set(org) - ORG_FIELDS
        if bad:
            raise ValueError(f"effects may not change organisation fields {sorted(bad)}")
        return facts, data, org, ctx

    # -- the choke point ---------------------------------------------------
    def load_for_update(self, session: Session, case_id: int, actor: Actor) -> CaseRecord:
        case = load_case(session, case_id, lock=True)
        if case is None or not can_view(actor, case.org):
            raise NotFound()
        return case

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
    ) -> CaseRecord:
        """Fire `trigger` on the case; returns the case as it now stands (a record, not a model), as it will
        be once the caller's unit of work commits."""
        case_id = case.id if isinstance(case, (Case, CaseRecord)) else case
        if not isinstance(case_id, int) or isinstance(case_id, bool):
            raise NotFound()
        case = self.load_for_update(session, case_id, actor)
        definition = self.definition_of(case)
        if trigger not in definition.triggers:
            raise UnknownTrigger([Reason("unknown_trigger", {"trigger": trigger})])
        if expected_version is not None and expected_version != case.version:
            raise StaleVersion([Reason("stale_version", {"version": case.version})])
        machine = machine_for(definition)
        candidates = machine.transitions_for(trigger, case.state)
        if actor.role not in machine.roles_of(trigger):
            raise Forbidden([Reason("forbidden", {"role": actor.role})])
        if not candidates:
            raise InvalidState([Reason("invalid_state", {"state": case.state})])
        t = candidates[0]
        for reason in self._authority_reasons(session, case, t, actor):
            raise {"forbidden": Forbidden, "not_competent": NotCompetent, "four_eyes": FourEyes}[reason.code]([reason])
        comment = (comment or "").strip() if isinstance(comment, str) or comment is None else comment
        if not isinstance(comment, str):
            raise InvalidInput(fields={"comment": FieldError("not_string")})
        if t.comment == "required" and not comment:
            raise InvalidInput([Reason("comment_required")], fields={"comment": FieldError("required")})
        if len(comment) > 2000:
            raise InvalidInput(fields={"comment": FieldError("too_long", max=2000)})
        clean, recorded, errors = validate(t.data, data)
        if errors:
            raise InvalidInput(fields=errors)

        today = today or self.today(case.profile)
        org = case.org
        ctx = self._context(case, trigger, clean, actor, today, org)
        reasons = self._run_guards(t.guards, ctx)
        if reasons:
            raise GuardFailed(reasons)
        facts, effect_data, org_changes, ctx = self._run_effects(t.effects, ctx)
        t = machine.choose(candidates, ctx, CONDITIONS)

        before = case.state
        changed = {"version", "fired_by", "updated_at"}
        if t.record == "merge" and recorded:
            case.data.update(recorded)
            changed.add("data")
        if effect_data:
            case.data.update(effect_data)
            changed.add("data")
        if facts:
            case.facts.update(facts)
            changed.add("facts")
        case.fired_by[trigger] = [actor.id, case.version + 1]
        if t.fix_competent:
            case.competent_org = self.competent_org(session, case, t.fix_competent)
            if case.competent_org_id != case.competent_org.id:
                case.competent_org_id = case.competent_org.id
                changed.add("competent_org_id")
        if org_changes:
            update_org(session, org.id, org_changes)
        case.updated_at = now = utcnow()
        if t.dest != before:
            case.state, case.state_since = t.dest, now
            changed.update(("state", "state_since"))
        case.version += 1
        if t.dest in definition.final_states and not case.closed:
            case.closed = True
            changed.add("closed")
            if case.unique_key is not None and definition.creation.unique.get("scope") == "open":
                case.unique_key = None
                changed.add("unique_key")
        save_case(session, case, frozenset(changed))
        entry_data: dict[str, Any] = dict(recorded)
        if facts or effect_data:
            entry_data["computed"] = {**effect_data, **facts}
        if org_changes:
            entry_data["org"] = {"code": org.code, **org_changes}
        if t.fix_competent and case.competent_org is not None:
            entry_data["competent_org"] = case.competent_org.code
        audit.append(
            session,
            actor=actor.username,
            role=actor.role,
            subject_type=CASE,
            subject_id=str(case.id),
            trigger=trigger,
            from_state=before,
            to_state=case.state,
            version=case.version,
            comment=comment,
            data=entry_data,
        )
        return case

    # -- creating a case ---------------------------------------------------
    def create_case(
        self,
        session: Session,
        workflow: str,
        org_code: str,
        actor: Actor,
        data: Any = None,
        profile: str | None = None,
        today: date | None = None,
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
        clean, recorded, errors = validate(creation.data, data)
        if errors:
            raise InvalidInput(fields=errors)
        if org.kind != creation.org_kind:
            raise GuardFailed([Reason("wrong_org_kind", {"kind": creation.org_kind})])

        today = today or self.today(profile)
        now = utcnow()
        case = Case(
            workflow=workflow, definition_version=definition.version, profile=profile, org=org,
            state=definition.initial, version=1, data={}, facts={}, fired_by={},
            created_by_id=actor.id, created_at=now, updated_at=now, state_since=now,
        )
        ctx = self._context(case, "create", clean, actor, today, org)
        reasons = self._run_guards(creation.guards, ctx)
        unique_key = self._unique_key(definition, org, clean)
        if unique_key is not None and session.scalar(select(Case.id).where(Case.unique_key == unique_key)):
            reasons.append(Reason(creation.unique["reason"]))
        if reasons:
            raise GuardFailed(reasons)
        facts, effect_data, org_changes, _ = self._run_effects(creation.effects, ctx)
        case.data = {**recorded, **effect_data}
        case.facts = facts
        case.unique_key = unique_key
        case.fired_by = {"create": [actor.id, 1]}
        if creation.fix_competent:
            node = RULES[creation.fix_competent](_node(org), [_node(a) for a in ancestors_of(session, org)],
                                                 self.catalog.profile(profile).for_workflow(workflow))
            case.competent_org = session.get(Organisation, node.id)
        for key, value in org_changes.items():
            setattr(org, key, value)
        session.add(case)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            # a concurrent request created the same case first
            raise GuardFailed([Reason(creation.unique["reason"] if creation.unique else "case_exists")]) from None
        entry_data: dict[str, Any] = dict(recorded)
        if facts or effect_data:
            entry_data["computed"] = {**effect_data, **facts}
        if org_changes:
            entry_data["org"] = {"code": org.code, **org_changes}
        if case.competent_org is not None:
            entry_data["competent_org"] = case.competent_org.code
        audit.append(
            session, actor=actor.username, role=actor.role, subject_type=CASE, subject_id=str(case.id),
            trigger="create", from_state=None, to_state=case.state, version=1, comment="", data=entry_data,
        )
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
        definition = self.definition_of(case)
        machine = machine_for(definition)
        today = today or self.today(case.profile)
        out: list[Availability] = []
        seen: set[str] = set()
        for t in definition.transitions_from(case.state):
            if t.trigger in seen:
                continue
            seen.add(t.trigger)
            reasons = self._authority_reasons(session, case, t, actor)
            # a step's guards need its data; before it is given only those that answer without it can run
            guards = t.guards if not t.data else [g for g in t.guards if g in WITHOUT_DATA]
            if not reasons and guards:
                ctx = self._context(case, t.trigger, {}, actor, today, case.org)
                reasons = self._run_guards(guards, ctx)
            dests = machine.transitions_for(t.trigger, case.state)
            dest = dests[0].dest if len(dests) == 1 else "|".join(d.dest for d in dests)
            out.append(Availability(t.trigger, dest, not reasons, tuple(reasons), t))
        return out

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
        """Every case's current state and version, for audit verification."""
        for case_id, state, version in _SUBJECTS.stream(session, 20000):
            yield audit.Subject(CASE, str(case_id), state, version)
