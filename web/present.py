"""JSON shapes of the API (api.md), shared with the pages."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from audit import AuditEntry
from audit.chain import format_at
from definitions import thaw
from workflow import (
    DECIDED_ON,
    Actor,
    Case,
    Delegation,
    Engine,
    Member,
    Organisation,
    can_see_personal_data,
    delegation_active,
    find_holder,
    mask,
    mask_id_number,
)

from .i18n import reason_message, text

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")  # the deployment's zone, in which the pages show times (web.i18n)


def iso(value: datetime | None) -> str | None:
    return format_at(value) if value is not None else None


def day_iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def sees_roster_data(actor: Actor, org: Organisation) -> bool:
    """Only a user of the union itself sees its members' ID numbers unmasked (a higher union sees them masked)."""
    return actor.org_id is not None and actor.org_id == org.id


def sees_personal_data(actor: Actor, case: Case) -> bool:
    """Only the case's own enterprise sees ID numbers unmasked (the engine's rule)."""
    return can_see_personal_data(actor, case)


def case_data(actor: Actor, case: Case) -> dict[str, Any]:
    data = {**(case.data or {}), **(case.facts or {})}
    return data if sees_personal_data(actor, case) else mask(data)


def case_json(session: Session, engine: Engine, case: Case, actor: Actor, with_available: bool = True) -> dict[str, Any]:
    definition = engine.definition_of(case)
    out: dict[str, Any] = {
        "id": case.id,
        "workflow": case.workflow,
        "definition_version": case.definition_version,
        "profile": case.profile,
        "org": case.org.code,
        "org_name": case.org.name,
        "state": case.state,
        "state_label": text(definition.state(case.state).label, case.state),
        "version": case.version,
        "closed": case.closed,
        "competent_org": case.competent_org.code if case.competent_org else None,
        "data": case_data(actor, case),
        "created_by": case.created_by.username if case.created_by else None,
        "created_at": iso(case.created_at),
        "updated_at": iso(case.updated_at),
        "state_since": iso(case.state_since),
        "decided_on": case.decided_on.isoformat() if case.decided_on is not None else None,
        "overdue": engine.overdue(case),
        # the deadline of the step the case waits for (办理时限) and where it stands: due_soon, overdue, escalated
        "due_on": case.due_on.isoformat() if case.due_on is not None else None,
        "deadline": engine.deadline_status(case),
    }
    holder = find_holder(session, case.assignee_id)  # 办理人: who claimed or was assigned the decision
    out["assignee"] = holder.username if holder is not None else None
    out["assignee_name"] = holder.name if holder is not None else None
    if with_available:
        out["available"] = [
            {
                "trigger": a.trigger,
                "dest": a.dest,
                "label": text(a.transition.label, a.trigger),
                "allowed": a.allowed,
                "reasons": [{"code": r.code, "message": reason_message(r)} for r in a.reasons],
            }
            for a in engine.available(session, case, actor)
        ]
    return out


def entry_decided_on(entry: AuditEntry, data: Any) -> str:
    """The business date of an entry: the one its hashed data records, else (an entry written before
    business dates were recorded, or one that is no step) the local day it was recorded."""
    day = data.get(DECIDED_ON) if isinstance(data, dict) else None
    if isinstance(day, str):
        return day
    at = entry.at if entry.at.tzinfo is not None else entry.at.replace(tzinfo=timezone.utc)
    return at.astimezone(LOCAL_ZONE).date().isoformat()  # outside a request too (the command line's proofs)


def entry_json(entry: AuditEntry, masked: bool) -> dict[str, Any]:
    data = json.loads(entry.data)
    return {
        "seq": entry.seq,
        "at": format_at(entry.at),
        "decided_on": entry_decided_on(entry, data),
        "actor": entry.actor,
        "role": entry.role,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "trigger": entry.trigger,
        "from": entry.from_state,
        "to": entry.to_state,
        "version": entry.version,
        "comment": entry.comment,
        "data": mask(data) if masked else data,
        "hash": entry.hash,
        "prev_hash": entry.prev_hash,
    }


def org_json(org: Organisation) -> dict[str, Any]:
    return {
        "code": org.code,
        "name": org.name,
        "kind": org.kind,
        "parent": org.parent.code if org.parent else None,
        "employees": org.employees,
        "female_employees": org.female_employees,
        "credit_code": org.credit_code,
        "address": org.address,
        "union_status": org.union_status,
        "member_count": org.member_count,
        "covered_by": None,  # the joint union covering the enterprise (api.md, revision 2): none yet
    }


def member_json(member: Member, unmasked: bool) -> dict[str, Any]:
    """A roster entry as api.md gives it; the 身份证号 masked unless `unmasked` (a user of the member's union)."""
    employer = member.employer
    return {
        "id": member.id,
        "name": member.name,
        "id_number": member.id_number if unmasked else mask_id_number(member.id_number),
        "gender": member.gender,
        "born_on": day_iso(member.born_on),
        "joined_on": day_iso(member.joined_on),
        "member_no": member.member_no,
        "employer": employer.code if employer is not None else member.employer_name,
        "employer_name": employer.name if employer is not None else member.employer_name,
        "group": member.group_code,
        "status": member.status,
        "left_on": day_iso(member.left_on),
        "org": member.org.code,
        "version": member.version,
    }


def definition_json(engine: Engine, name: str) -> dict[str, Any]:
    d = engine.catalog.definition(name)
    profile = engine.catalog.profile(engine.profile_name)
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    transitions = []
    for t in d.transitions:
        item = {"trigger": t.trigger, "source": t.source, "dest": t.dest, "roles": list(t.roles),
                "label": {"zh": t.label.zh, "en": t.label.en}, "comment": t.comment,
                "data": [f.name for f in t.data]}
        key = (t.trigger, t.source + "->" + t.dest)
        if key not in seen:
            seen[key] = item
            transitions.append(item)
    out: dict[str, Any] = {
        "name": d.name,
        "version": d.version,
        "fingerprint": d.fingerprint,
        "title": text(d.title, d.name),
        "profile": profile.name,
        "initial": d.initial,
        "states": [{"name": s.name, "label": {"zh": s.label.zh, "en": s.label.en}, "final": s.final} for s in d.states],
        "transitions": transitions,
        "params": thaw(profile.for_workflow(d.name)),
    }
    # inspection: items and vetoes with the title in the caller's language and both in `label`
    for key in ("checklist", "vetoes"):
        if key in d.extra:
            out[key] = [_titled(item) for item in thaw(d.extra[key])]
    return out


def _titled(item: dict[str, Any]) -> dict[str, Any]:
    title = item.get("title")
    if isinstance(title, dict):
        return {**item, "title": text(title, item.get("id", "")), "label": {"zh": title.get("zh"), "en": title.get("en")}}
    return item


def delegation_json(d: Delegation, today: Any) -> dict[str, Any]:
    return {
        "id": d.id,
        "from": d.delegator.username,
        "from_name": d.delegator.display_name or d.delegator.username,
        "to": d.substitute.username,
        "to_name": d.substitute.display_name or d.substitute.username,
        "starts_on": d.starts_on.isoformat(),
        "ends_on": d.ends_on.isoformat(),
        "ended_at": iso(d.ended_at),
        "active": delegation_active(d, today),
    }
