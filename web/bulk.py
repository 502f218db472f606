"""Bulk decisions (批量审批): one decision taken on many cases at once, each through the engine's choke point.

`POST /api/v1/tasks/bulk` and the review queue's 批量同意 / 批量退回 both end in `decide_each`: every case is
fired with the version the caller saw, in a unit of work of its own, so that one refused case rolls back only
itself (its state change and its entry commit together or not at all) and never stops the others. A bulk
decision carries no per-case data: a step that needs data is refused per case as a single step without it is.

Each case has its own transaction rather than a savepoint of one long one: no lock is held from one case to
the next, so other writers interleave with a bulk decision, and on PostgreSQL two bulk decisions cannot
deadlock on the trail's head and each other's case rows.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import HiddenField, TextAreaField

from storage import Database
from workflow import Actor, Case, Engine, FieldError, InvalidInput, NotFound, WorkflowError, can_view

from .extensions import MAX_ID, get_db, get_engine  # MAX_ID: the database's keys, a larger id names no case
from .i18n import error_payload, text
from .statuses import status_of
from .steps import explain

BULK_MAX = 100  # cases in one bulk decision; more is refused whole (413 `too_many_cases`), nothing done
WAYS = ("forward", "back")  # what the queue offers in bulk: 批量同意 (the next step) and 批量退回 (a return)


class TooManyCases(WorkflowError):
    code = "too_many_cases"


@dataclass(frozen=True)
class Pick:
    """One case of a bulk decision and the version the caller saw it at."""

    id: int
    version: int


@dataclass
class Result:
    """What one case's step answered: the status a single step would have had, its error or the new state."""

    id: int
    status: int
    error: WorkflowError | None = None
    state: str | None = None
    version: int | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "status": self.status,
                               "error": error_payload(self.error)["error"] if self.error is not None else None}
        if self.error is None:
            out.update(state=self.state, version=self.version)
        return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_request(body: Mapping[str, Any]) -> tuple[str, str, list[Pick], Any]:
    """The trigger, comment, cases and business date of `POST /tasks/bulk`; any fault refuses the whole request
    (400 `invalid_input` naming each field, 413 `too_many_cases` beyond `BULK_MAX`) before anything is done."""
    fields: dict[str, FieldError] = {}
    trigger = body.get("trigger")
    if not isinstance(trigger, str) or not trigger:
        fields["trigger"] = FieldError("required" if trigger in (None, "") else "not_string")
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        fields["comment"] = FieldError("not_string")
    fields.update({k: FieldError("unknown_field") for k in sorted(set(body) - {"trigger", "comment", "cases",
                                                                                "decided_on"})})
    decided_on = body.get("decided_on")
    if Engine.business_date(decided_on, date.min) is None:  # its format; its day is each case's to check
        fields["decided_on"] = FieldError("not_date")
    cases = body.get("cases")
    picks: list[Pick] = []
    if not isinstance(cases, list):
        fields["cases"] = FieldError("required" if cases is None else "not_list")
    elif not cases:
        fields["cases"] = FieldError("required")
    elif len(cases) > BULK_MAX:
        raise TooManyCases(fields={"cases": FieldError("too_many", max=BULK_MAX)})
    else:
        seen: set[int] = set()
        for i, item in enumerate(cases):
            at = f"cases[{i}]"
            if not isinstance(item, dict):
                fields[at] = FieldError("not_object")
                continue
            fields.update({f"{at}.{k}": FieldError("unknown_field") for k in sorted(set(item) - {"id", "version"})})
            case_id, version = item.get("id"), item.get("version")
            for key, value in (("id", case_id), ("version", version)):
                if not _is_int(value):
                    fields[f"{at}.{key}"] = FieldError("required" if value is None else "not_integer")
            if _is_int(case_id):
                if case_id in seen:
                    fields[f"{at}.id"] = FieldError("duplicate")
                seen.add(case_id)
            if _is_int(case_id) and _is_int(version):
                picks.append(Pick(case_id, version))
    if fields:
        raise InvalidInput(fields=fields)
    return trigger, comment or "", picks, decided_on


def decide_each(db: Database, engine: Engine, actor: Actor, trigger: str, comment: str, picks: Iterable[Pick],
                decided_on: Any = None) -> list[Result]:
    """Fire `trigger` on every case with its version, each in its own unit of work, in the order given."""
    out: list[Result] = []
    for pick in picks:
        if not 1 <= pick.id <= MAX_ID:
            out.append(Result(pick.id, 404, NotFound()))
            continue
        try:
            with db.write() as session:
                record = engine.fire(session, pick.id, trigger, actor, None, comment, pick.version,
                                     decided_on=decided_on)
                state, version = record.state, record.version
        except WorkflowError as err:
            out.append(Result(pick.id, status_of(err), err))
        else:
            out.append(Result(pick.id, 200, None, state, version))
    return out


# -- the review queue's bulk decisions -----------------------------------------------------------------------

def subject_of(case: Case) -> str:
    """What a person recognises the case by: the applicant's or member's name, else the organisation's."""
    data = case.data or {}
    for key in ("applicant", "member"):
        person = data.get(key)
        if isinstance(person, dict) and isinstance(person.get("name"), str) and person["name"].strip():
            return person["name"]
    return case.org.name


def bulk_steps(session: Session, engine: Engine, case: Case, actor: Actor) -> dict[str, list[tuple[str, str]]]:
    """The steps the actor may take now on the case that a bulk decision can take, by way (forward: a
    reviewer's next step that needs no data; back: a return), each as (trigger, label)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for a in engine.available(session, case, actor):
        t = a.transition
        if not a.allowed or "reviewer" not in t.roles or t.way not in WAYS:
            continue
        if t.way == "forward" and any(spec.required for spec in t.data):
            continue
        out.setdefault(t.way, []).append((t.trigger, text(t.label, t.trigger)))
    return out


def queue_bulk(session: Session, engine: Engine, cases: Iterable[Case], actor: Actor) -> dict[int, dict[str, Any]]:
    """For the queue page: per case the reviewer may decide in bulk now, its steps by way."""
    out: dict[int, dict[str, Any]] = {}
    for case in cases:
        steps = bulk_steps(session, engine, case, actor)
        if steps:
            out[case.id] = steps
    return out


bp = Blueprint("bulk", __name__)

_PICK = re.compile(r"^(\d{1,10}):(\d{1,10})$")


class BulkForm(FlaskForm):
    """The queue's selection (`case` = "id:version", repeated) and the decision asked for."""

    action = HiddenField()
    trigger = HiddenField()
    comment = TextAreaField()


@dataclass
class Row:
    """One selected case as the confirmation and results pages show it."""

    id: int
    version: int
    case: Case | None
    subject: str
    org: str
    action: str | None = None
    note: str | None = None
    result: Result | None = None
    messages: tuple[str, ...] = ()


def _reviewer() -> Actor:
    actor: Actor = current_user.actor()
    if actor.role != "reviewer":
        abort(403)
    return actor


def _picks() -> list[Pick] | str:
    """The selected cases: the ticked rows, or with 全选本页 every row the page offered; else what is wrong."""
    values = request.form.getlist("page_case") if request.form.get("all") else request.form.getlist("case")
    picks: dict[int, Pick] = {}
    for value in values:
        m = _PICK.match(value.strip())
        if m is None:
            return _("所选案件的编号无法识别，请回到待审核列表重新选择。")
        pick = Pick(int(m.group(1)), int(m.group(2)))
        if picks.get(pick.id, pick) != pick:
            return _("同一案件被以两个不同版本选中，请回到待审核列表重新选择。")
        picks[pick.id] = pick
    if len(picks) > BULK_MAX:
        return _("一次最多批量办理%(n)s件，请分批办理。", n=BULK_MAX)
    return list(picks.values())


def _rows(session: Session, engine: Engine, actor: Actor, picks: list[Pick]) -> list[Row]:
    rows = []
    for p in picks:
        case = session.get(Case, p.id) if 1 <= p.id <= MAX_ID else None
        if case is None or not can_view(actor, case.org):
            rows.append(Row(p.id, p.version, None, _("未找到"), "", note=_("未找到，或不在您的管辖范围内")))
            continue
        rows.append(Row(p.id, p.version, case, subject_of(case), case.org.name))
    return rows


def _label(engine: Engine, case: Case, trigger: str) -> str:
    t = next((t for t in engine.definition_of(case).transitions if t.trigger == trigger), None)
    return text(t.label, trigger) if t is not None else trigger


def _shared(session: Session, engine: Engine, actor: Actor, rows: list[Row], way: str) -> str | None:
    """The one step of `way` every selected case that has not moved on may take now (noting on each row what it
    is, or why it has none), or None when they share none or several."""
    shared: set[str] | None = None
    for row in rows:
        if row.case is None:
            continue
        if row.case.version != row.version:
            row.note = _("案件在列表显示后已被更新，将按版本已过期拒绝办理")
            continue
        steps = bulk_steps(session, engine, row.case, actor).get(way, [])
        triggers = {trigger for trigger, _label in steps}
        if not triggers:
            row.note = _("此案件当前没有可批量办理的这类操作")
        else:
            row.action = "、".join(label for _trigger, label in steps)
        shared = triggers if shared is None else shared & triggers
    if shared is None or len(shared) != 1:
        return None
    return next(iter(shared))


def _confirm_page(form: BulkForm, actor: Actor, picks: list[Pick], way: str, errors: list[str],
                  status: int = 200) -> Any:
    engine = get_engine()
    with get_db().read() as session:
        rows = _rows(session, engine, actor, picks)
        trigger = _shared(session, engine, actor, rows, way)
        if trigger is not None:
            for row in rows:
                if row.case is not None:
                    row.action = _label(engine, row.case, trigger)
        form.action.data, form.trigger.data = way, trigger or ""
        return render_template("review/bulk_confirm.html", form=form, rows=rows, way=way, trigger=trigger,
                               errors=errors, max=BULK_MAX), status


def _refused(message: str, status: int = 400) -> Any:
    return render_template("errors/error.html", status=status, title=_("无法批量办理"), message=message), status


@bp.post("/review/bulk")
@login_required
def confirm() -> Any:
    """From the queue: the selected cases and the one decision they share, to confirm before anything is done."""
    actor = _reviewer()
    form = BulkForm()
    if not form.validate_on_submit():
        return _refused(_("表单已过期，请刷新后重试。"))
    way = request.form.get("way") or form.action.data
    if way not in WAYS:
        return _refused(_("请选择批量同意或批量退回。"))
    picks = _picks()
    if isinstance(picks, str):
        return _refused(picks)
    if not picks:
        flash(_("请先勾选要办理的案件。"), "error")
        return redirect(url_for("cases.queue"))
    return _confirm_page(form, actor, picks, way, [])


@bp.post("/review/bulk/decide")
@login_required
def decide() -> Any:
    """The confirmed decision: each case through the engine with the version shown, then what each answered."""
    actor = _reviewer()
    form = BulkForm()
    if not form.validate_on_submit():
        return _refused(_("表单已过期，请刷新后重试。"))
    way, trigger = form.action.data, (form.trigger.data or "").strip()
    picks = _picks()
    if isinstance(picks, str):
        return _refused(picks)
    if way not in WAYS or not trigger or not picks:
        return _refused(_("请回到待审核列表重新选择要办理的案件。"))
    comment = (form.comment.data or "").strip()
    if way == "back" and not comment:
        return _confirm_page(form, actor, picks, way, [_("批量退回须填写退回理由。")], 400)
    engine = get_engine()
    results = decide_each(get_db(), engine, actor, trigger, comment, picks)
    with get_db().read() as session:
        rows = _rows(session, engine, actor, picks)
        for row, result in zip(rows, results, strict=True):
            row.result = result
            if row.case is not None:
                row.action = _label(engine, row.case, trigger)
            if result.error is not None:
                outcome = explain(result.error)
                row.messages = (*outcome.messages, *outcome.fields.values())
        done = sum(1 for r in results if r.error is None)
        return render_template("review/bulk_results.html", rows=rows, done=done, failed=len(results) - done,
                               way=way)
