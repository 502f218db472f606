"""The one step page: every step of every workflow goes through the same phases here.

`serve(case_id, trigger, page)` loads the case (404 outside the person's subtree, before anything else),
asks the engine whether this person may take this step (a POST refused for who is asking is answered 403
with the engine's reason, before its form is read), builds the form, passes the case's version, checks the
confirmation of an irreversible step, fires in one unit of work, and explains every refusal in place.

A workflow gives a step a form and a template of its own with a `StepPage` (its package's
`pages.STEPS = {trigger: page}`); without one, `StepPage` itself builds the form from the definition's
data fields. Both are served by the generic URL `/cases/<id>/steps/<trigger>`; a workflow may keep an
address of its own for a step by routing it to `serve` too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session

import audit
from definitions import Definition, Transition
from services.accounts import find_user
from workflow import DECIDED_ON, Actor, Availability, Case, Engine, Reason, WorkflowError, can_view_case

from .extensions import get_db, get_engine
from .forms import attach_errors, form_data, step_form
from .i18n import error_payload, field_errors, local_time, reason_message, text
from .present import case_data, entry_json, sees_personal_data
from .progress import Progress, progress
from .statuses import status_of
from .workflow_pages import CaseView, Summary
from .templating import definition_labels

# the engine's refusals for who is asking, not for what was sent
AUTHORITY = frozenset({"forbidden", "not_competent", "four_eyes", "assigned_to_other"})
CONFIRM_FIRST = "此操作不可撤销，请勾选确认后再提交。"


@dataclass
class Step:
    """What a step page knows of its case, read in one unit of work (the form is handled outside it)."""

    actor: Actor
    case: Case
    definition: Definition
    transition: Transition
    availability: Availability | None
    data: dict[str, Any]
    params: Mapping[str, Any]
    engine: Engine
    gathered: dict[str, Any] = field(default_factory=dict)  # what the page read beside the case (StepPage.gather)
    # for a step whose destination is computed (the conditions choose it): where it leads now, and the facts
    computed: tuple[str, dict[str, Any]] | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)  # the case's trail, as this person may see it
    progress: Progress | None = None  # the step the case is at, of how many ("第n步，共m步")
    summary: Summary | None = None  # what the form shows of the case the decision is about

    @property
    def dest(self) -> str:
        """The state the step leads to: the computed one where the conditions choose it."""
        return self.computed[0] if self.computed else self.transition.dest

    @property
    def confirm(self) -> bool:
        """Irreversible steps, and those whose outcome is computed, are confirmed before they are fired."""
        return bool(self.transition.confirm or self.computed)

    @property
    def trigger(self) -> str:
        return self.transition.trigger

    @property
    def possible(self) -> bool:
        """The trigger leads somewhere from the case's current state."""
        return self.transition.source == self.case.state

    def label(self, name: str) -> str:
        spec = next((f for f in self.transition.data if f.name == name), None)
        return text(spec.label, name) if spec is not None and spec.label else name


@dataclass
class Outcome:
    """Why a step was not taken, for the page: messages, field errors by path, reasons naming a person."""

    messages: list[str]
    fields: dict[str, str] = field(default_factory=dict)
    named: dict[str, list[str]] = field(default_factory=dict)  # by the person's name (candidate, member)
    status: int = 400
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class BusinessDate:
    """The step form's 办理日期: the day the step took place (default today), with its error if any."""

    value: str
    today: str
    previous: str | None = None
    error: str | None = None


def shown_date(engine: Engine, profile: str | None, raw: str | None, outcome: Outcome | None,
               previous: Any = None) -> BusinessDate:
    """The business date a form shows: what was sent (or today), its field error taken off the outcome."""
    today = engine.today(profile).isoformat()
    error = outcome.fields.pop(DECIDED_ON, None) if outcome else None
    return BusinessDate(raw if raw is not None else today, today, previous.isoformat() if previous else None, error)


def business_date(step: Step, raw: str | None, outcome: Outcome | None) -> BusinessDate:
    return shown_date(step.engine, step.case.profile, raw, outcome, step.case.decided_on)


def sent_date() -> str | None:
    """The 办理日期 a form sent (None for today)."""
    return (request.form.get(DECIDED_ON) or "").strip() or None


def unreadable() -> Outcome:
    return Outcome([_("请按提示更正标出的内容后再提交。")])


def explain(err: WorkflowError, labels: Any = None) -> Outcome:
    """The engine's refusal as the page shows it (a field's choices by the labels of `labels`, the
    definition's DefinitionLabels)."""
    payload = error_payload(err, labels)["error"]
    messages = [r["message"] for r in payload["reasons"] if r["code"] != "invalid_input"]
    named: dict[str, list[str]] = {}
    for r in payload["reasons"]:
        name = (r.get("params") or {}).get("name")
        if isinstance(name, str) and name:
            named.setdefault(name, []).append(r["message"])
    fields = field_errors(err.fields, labels) if err.fields else {}
    if not messages and not fields:
        messages = [payload["message"]]
    return Outcome(messages, fields, named, status_of(err), list(err.reasons))


class StepPage:
    """How one step looks; the phases around it are `serve`'s. Subclass it for a step's own form."""

    template = "cases/step.html"

    def gather(self, session: Session, step: Step) -> dict[str, Any]:
        """What else the page reads in the step's read unit (attachments, earlier entries): `step.gathered`."""
        return {}

    def form(self, step: Step) -> Any:
        """The step's form (a FlaskForm with `comment` and `version`)."""
        return step_form(step.transition.data, dict(step.definition.extra.get("titles", {})), step.transition.comment,
                         definition_labels(step.definition))

    def event(self, step: Step, form: Any) -> dict[str, Any] | Outcome | None:
        """The event data the form sends, an Outcome to show instead of firing, or None to show the form again
        as it is (e.g. when more rows were asked for)."""
        event, problems = form_data(form, step.transition.data)
        if problems:
            return Outcome([], {k: _("格式不正确：%(v)s", v=v) for k, v in problems.items()})
        return event

    def unreadable(self, step: Step, form: Any) -> Outcome:
        """What to say when the form itself cannot be read (a stale CSRF token, a value of the wrong kind)."""
        return unreadable()

    def place(self, step: Step, form: Any, outcome: Outcome) -> list[str]:
        """Put the outcome's field errors onto the form's inputs; what has no input comes back as sentences."""
        return attach_errors(form, outcome.fields, step.transition.data) if outcome.fields else []

    def context(self, step: Step, form: Any) -> dict[str, Any]:
        """What else the template shows beside the step, the case and the form."""
        return {}

    def summary(self, view: CaseView) -> Summary | None:
        """What the form shows of the case the decision is about, read in the step's read unit: by default
        the workflow's own summary (its pages' `SUMMARIES`)."""
        build = current_app.extensions["unionflow.pages"].summary(view.case.workflow)
        return build(view) if build is not None else None

    def done(self, step: Step) -> tuple[str, str]:
        """The message and the address after the step was taken."""
        return _("已办理：%(step)s", step=text(step.transition.label, step.trigger)), url_for("cases.show",
                                                                                          case_id=step.case.id)


DEFAULT_PAGE = StepPage()


def find_transition(definition: Definition, state: str, trigger: str) -> Transition:
    """The step by its trigger, the one leaving the case's state first; 404 for a trigger the workflow lacks."""
    for t in (*definition.transitions_from(state), *definition.transitions):
        if t.trigger == trigger:
            return t
    abort(404)


def step_availability(session: Session, engine: Engine, case: Case, actor: Actor,
                      transition: Transition) -> Availability | None:
    """The step's availability to the actor, None when the case does not stand where the step starts.

    A POST to a step the engine refuses to the person asking (role, competence, four eyes, a decision
    claimed by someone else) is answered 403 with the engine's reason here, before its form is read: that
    form's errors would be beside the point. Where the case does not stand at the step only the role is known. The engine checks again
    when the step is fired; this only orders the answers.
    """
    availability = next((a for a in engine.available(session, case, actor) if a.trigger == transition.trigger), None)
    if request.method != "POST":
        return availability
    if availability is None:
        reasons = [] if actor.role in transition.roles else [Reason("forbidden", {"role": actor.role})]
    else:
        reasons = [r for r in availability.reasons if r.code in AUTHORITY]
    if reasons:
        page = render_template("errors/error.html", status=403, title=_("无权访问"),
                               message="；".join(reason_message(r) for r in reasons))
        abort(make_response(page, 403))
    return availability


def load_step(case_id: int, trigger: str, workflow: str | None = None, page: StepPage | None = None) -> Step:
    """Phase 1 and 2: the case (404 outside the subtree, or not of `workflow`), the step and who may take it."""
    actor = current_user.actor()
    engine = get_engine()
    with get_db().read() as session:
        case = session.get(Case, case_id)
        if case is None or (workflow is not None and case.workflow != workflow) or not can_view_case(actor, case):
            abort(404)
        definition = engine.definition_of(case)
        t = find_transition(definition, case.state, trigger)
        availability = step_availability(session, engine, case, actor, t)
        step = Step(actor, case, definition, t, availability, case_data(actor, case), engine.params_of(case), engine)
        if availability is not None and availability.allowed:
            step.computed = engine.computed_destination(session, case, trigger, actor)
        page = page or pages_of(case.workflow, trigger)
        masked = not sees_personal_data(actor, case)
        step.entries = [entry_json(e, masked) for e in audit.entries_for(session, "case", str(case.id))]
        step.progress = progress(definition, case, step.entries)
        step.summary = page.summary(CaseView(session, engine, actor, case, definition, step.data, step.entries,
                                             [availability] if availability is not None else [],
                                             engine.overdue(case)))
        step.gathered = page.gather(session, step)
        return step


def fire_step(step: Step, page: StepPage, event: Mapping[str, Any], comment: str, version_raw: str | None,
              decided_on: str | None = None) -> Any:
    """Confirm, fire in one unit of work, and redirect to the case; or the refusal as an Outcome."""
    if step.confirm and request.form.get("confirm") != "yes":
        return Outcome([_(CONFIRM_FIRST)])
    version = int(version_raw) if (version_raw or "").isdigit() else None
    try:
        with get_db().write() as session:
            step.engine.fire(session, step.case.id, step.trigger, step.actor, dict(event), comment, version,
                             decided_on=decided_on)
    except WorkflowError as err:
        if err.code == "stale_version" and version is not None:
            return overtaken(step, version) or explain(err)
        return explain(err, definition_labels(step.definition))
    message, address = page.done(step)
    flash(message, "success")
    return redirect(address)


def overtaken(step: Step, version: int) -> Outcome | None:
    """A stale form: who did what to the case, and when, since the form was opened (the newest such step)."""
    with get_db().read() as session:
        later = [e for e in audit.entries_for(session, "case", str(step.case.id))
                 if e.version is not None and e.version > version]
        if not later:
            return None
        last = later[-1]
        user = find_user(session, last.actor)
        who = (user.display_name or user.username) if user is not None else last.actor
    definition = step.definition
    label = next((text(t.label, t.trigger) for t in definition.transitions if t.trigger == last.trigger),
                 _("转办审批") if last.trigger == "reassign" else last.trigger)
    message = _("此案件已由%(who)s于%(when)s办理“%(step)s”，您打开的表单已过期，本次未作任何更改。"
                "请查看案件的最新情况后再办理。", who=who, when=local_time(last.at), step=label)
    return Outcome([message], status=409)


def serve(case_id: int, trigger: str, page: StepPage | None = None, workflow: str | None = None) -> Any:
    """The step page's whole lifecycle, for every step of every workflow."""
    step = load_step(case_id, trigger, workflow, page)
    if page is None:
        page = pages_of(step.case.workflow, trigger)
    form = page.form(step)
    outcome: Outcome | None = None
    decided_raw = request.form.get(DECIDED_ON) if request.method == "POST" else None
    decided_sent = sent_date() if request.method == "POST" else None
    if request.method == "GET":
        form.version.data = str(step.case.version)
    elif not form.validate_on_submit():
        outcome = page.unreadable(step, form)
    else:
        event = page.event(step, form)
        if isinstance(event, dict):
            comment = form.comment.data if hasattr(form, "comment") else ""
            result = fire_step(step, page, event, comment or "", form.version.data, decided_sent)
            if not isinstance(result, Outcome):
                return result
            outcome = result
        else:
            outcome = event
    decided_on = business_date(step, decided_raw, outcome)
    errors = [*outcome.messages, *page.place(step, form, outcome)] if outcome else []
    return render_template(
        page.template, step=step, case=step.case, definition=step.definition, transition=step.transition,
        availability=step.availability, data=step.data, form=form, errors=errors, outcome=outcome,
        decided_on=decided_on,
        named=outcome.named if outcome else {}, reason_message=reason_message, **page.context(step, form),
    ), (outcome.status if outcome else 200)


def pages_of(workflow: str, trigger: str) -> StepPage:
    """The page a workflow gave the step, else the generic one."""
    found = current_app.extensions["unionflow.pages"].step(workflow, trigger)
    return found if isinstance(found, StepPage) else DEFAULT_PAGE


def step_view(trigger: str, page: StepPage, workflow: str) -> Callable[[int], Any]:
    """A view for a workflow's own address of one step (`/cases/<id>/founding/apply`), served by `serve`."""

    def view(case_id: int) -> Any:
        return serve(case_id, trigger, page, workflow)

    view.__name__ = f"{workflow}_{trigger}"
    return view
