"""What the hardship pages show of a case: the household as counted, the category, the
materials checklist with the uploads beside it, the posting countdown and the objections.

Everything here is read from the case as recorded (ID numbers masked for viewers
outside the enterprise) and from the pure rules of `workflow.guards.hardship`.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Iterable, Mapping

from flask import current_app
from flask_login import current_user
from sqlalchemy.orm import Session

from services.attachments import Attachment, attachments_for, may_attach, may_change, personal_kinds, size_text
from web.extensions import get_engine
from web.i18n import lang, text
from web.people import load_people, person_label
from web.present import case_data, sees_personal_data
from web.templating import labels_by_id
from workflow import Actor, Calendar, Case, as_date

from .. import rules

NOTICE_STATES = ("reviewed", "posting", "submitted", "assisted")
RECHECK_SOON_DAYS = 30


def titles(extra: Mapping[str, Any], key: str) -> dict[str, str]:
    return {value: text(label, value) for value, label in labels_by_id(extra.get(key)).items()}


def display_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """{username: 姓名（组织）} of those named, looked up together (web.people)."""
    wanted = [u for u in usernames if u]
    load_people(session, wanted)
    return {u: person_label(u) for u in wanted}


def household_rows(data: Mapping[str, Any], extra: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every listed member with whether the household rule counts them, and why not."""
    members = list(data.get("household") or ())
    counted, excluded = rules.split_household(data.get("marital_status"), members)
    counted_ids = {id(m) for m in counted}
    why = iter(excluded)
    relations = titles(extra, "relations")
    reasons = extra.get("exclusion_reasons") or {}
    rows = []
    for m in members:
        row = {"name": m.get("name"), "relation": relations.get(m.get("relation"), m.get("relation")),
               "id_number": m.get("id_number") or "", "income": m.get("monthly_income"),
               "married": bool(m.get("married")), "counted": id(m) in counted_ids, "why": ""}
        if not row["counted"]:
            reason = next(why)["reason"]
            row["why"] = text(reasons.get(reason), reason)
        rows.append(row)
    return rows


def checklist(data: Mapping[str, Any], extra: Mapping[str, Any], files: list[Attachment],
              names: Mapping[str, str], own: bool = True) -> list[dict[str, Any]]:
    """The materials: required or not, ticked on the form or not, and the files uploaded for each (without
    a link to a personal kind, an ID-card scan, for a viewer who sees ID numbers masked: `own` false)."""
    personal = personal_kinds(extra)
    required = set(rules.required_materials(data.get("causes") or ()))
    ticked = set(data.get("materials") or ())
    out = []
    for m in extra.get("materials") or ():
        kind = m["id"]
        mine = [{"id": f.id, "filename": f.filename, "size": size_text(f.size), "content_type": f.content_type,
                 "sha256": f.sha256, "by": names.get(f.uploaded_by.username, f.uploaded_by.username),
                 "at": f.uploaded_at} for f in files if f.material == kind]
        out.append({"id": kind, "title": text(m["title"], kind), "required": kind in required,
                    "ticked": kind in ticked, "files": mine, "restricted": kind in personal and not own,
                    "missing": kind in required and kind not in ticked})
    return out


def posting(data: Mapping[str, Any], params: Mapping[str, Any], today: date,
            calendar: Calendar) -> dict[str, Any] | None:
    """The posting period (公示期) in working days: which days count, how many have run, when it ends."""
    if not data.get("posted_on"):
        return None
    posted_on = as_date(data["posted_on"])
    n = int(data.get("posting_working_days") or params["posting_working_days"])
    ends_on = calendar.first_allowed_day(posted_on, n)
    days = []
    day, counted = posted_on + timedelta(days=1), 0
    while day <= ends_on:
        kind = "work" if calendar.is_working_day(day) else ("weekend" if day.weekday() >= 5 else "holiday")
        counted += kind == "work"
        days.append({"day": day, "kind": kind, "n": counted, "past": day <= today})
        day += timedelta(days=1)
    elapsed = min(n, calendar.working_days_between(posted_on, today))
    return {"posted_on": posted_on, "days_required": n, "elapsed": elapsed, "left": n - elapsed,
            "ends_on": ends_on, "allowed_on": as_date(data.get("submit_allowed_on") or ends_on.isoformat()),
            "elapsed_now": elapsed >= n, "calendar": days}


def objections(data: Mapping[str, Any], entries: Iterable[Mapping[str, Any]], extra: Mapping[str, Any],
               names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Each objection with who raised it, its outcome, and the reviewer's findings from the trail."""
    findings: dict[int, str] = {}
    for e in entries or ():
        if e.get("trigger") in ("dismiss_objection", "uphold_objection"):
            findings[(e.get("data") or {}).get("objection_id")] = e.get("comment") or ""
    outcomes = extra.get("objection_outcomes") or {}
    out = []
    for o in data.get("objections") or ():
        out.append({**o, "raised_by_name": names.get(o.get("raised_by"), o.get("raised_by")),
                    "decided_by_name": names.get(o.get("decided_by"), o.get("decided_by")),
                    "outcome_label": text(outcomes.get(o.get("outcome")), o.get("outcome") or ""),
                    "finding": findings.get(o.get("id"), "")})
    return out


def case_view(session: Session, case: Case, actor: Actor, entries: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    engine = get_engine()
    definition = engine.definition_of(case)
    extra = definition.extra
    data = case_data(actor, case)
    params = engine.params_of(case)
    today = engine.today(case.profile)
    files = attachments_for(session, case.id)
    entries = list(entries or ())
    names = display_names(session, [f.uploaded_by.username for f in files]
                          + [o.get(k) for o in data.get("objections") or () for k in ("raised_by", "decided_by")])
    categories = {int(c["id"]): text(c["title"]) for c in extra.get("categories") or ()}
    marital = {str(m["id"]): m for m in extra.get("marital_statuses") or ()}
    status = marital.get(data.get("marital_status") or "")
    reason = data.get("category_reason") or {}
    due = data.get("next_recheck_due")
    applicant = data.get("applicant") or {}
    return {
        "data": data,
        "today": today,
        "own": sees_personal_data(actor, case),
        "applicant": applicant,
        "marital": text(status["title"]) if status else "",
        "counts": text(status["counts"]) if status else "",
        "household": household_rows(data, extra),
        "category": data.get("category"),
        "category_title": categories.get(data.get("category")) if data.get("category") else "",
        "category_reason": reason.get(lang(), reason.get("zh", "")),
        "causes": [titles(extra, "causes").get(c, c) for c in data.get("causes") or ()],
        "checklist": checklist(data, extra, files, names, sees_personal_data(actor, case)),
        "files": files,
        "can_upload": may_attach(actor, case),
        # delete or replace an upload: only before the step that uses the materials
        "can_change": may_change(session, engine, actor, case),
        "upload_limit": size_text(int(current_app.config["UPLOAD_MAX_BYTES"])),
        "posting": posting(data, params, today, engine.calendar(case.profile)),
        "objections": objections(data, entries, extra, names),
        "open_objections": [o for o in data.get("objections") or () if o.get("status") == "open"],
        "amount": data.get("amount"),
        # from version 2 the per-capita figure shown is rounded down (the tests compare exactly)
        "per_capita_floor": int(definition.version) >= 2,
        "recheck_due": as_date(due) if due else None,
        "recheck_overdue": bool(due) and case.state == "assisted" and today > as_date(due),
        "notice": case.state in NOTICE_STATES,
        "summary": actor.role in ("reviewer", "auditor") and getattr(current_user, "org_kind", None) != "enterprise",
    }


def recheck_horizon(today: date) -> date:
    return today + timedelta(days=RECHECK_SOON_DAYS)
