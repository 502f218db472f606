"""The step pages of the founding workflow (建会), registered by `founding.py`.

Four steps get forms of their own: the preparatory group (`form_group`, one name per row), the
nomination (`nominate`, a table of candidates with their positions and bars, more rows on demand
without JavaScript), the assembly (`convene`) and the election (`record_election`, one vote count per
candidate, the chair chosen among the chair candidates). Every other step uses the generic form built
from its field specs, beside the step's requirements filled with the profile's numbers and what the
reviewer is deciding. Every page fires through the engine in one unit of work, passes the case version
(a stale form gets 409), and shows the engine's reasons in Chinese beside the form.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, FieldList, Form, FormField, HiddenField, IntegerField, RadioField, SelectField, \
    StringField, TextAreaField
from wtforms.validators import Optional

try:  # WTForms 3.3 wants options as SelectChoice; older versions take (value, label) pairs
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover
    SelectChoice = None

from definitions import Definition, Transition
from workflow import Actor, Availability, Case, WorkflowError, can_view

from web.extensions import get_db, get_engine
from web.forms import MultiCheckboxField, attach_errors, form_data, step_form
from web.i18n import error_payload, field_errors, reason_message, text
from web.present import case_data
from web.steps import step_availability
from . import view
from web.statuses import status_of

# every founding trigger has a page here (the definition's order)
TRIGGERS = ("form_group", "apply", "approve_application", "return_application", "reject_application",
            "record_members", "nominate", "approve_candidates", "return_candidates", "convene",
            "record_election", "submit_results", "sanction", "return_results", "register", "withdraw")
DEFAULT_ROWS, ADD_ROWS, MAX_ROWS = 12, 6, 200


def options(pairs: Mapping[str, str] | list[tuple[str, str]]) -> list[Any]:
    items = list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)
    return [SelectChoice(v, label) for v, label in items] if SelectChoice is not None else items


@dataclass
class Step:
    actor: Actor
    case: Case
    definition: Definition
    transition: Transition
    availability: Availability | None
    data: dict[str, Any]
    params: Mapping[str, Any]

    @property
    def possible(self) -> bool:
        """The trigger leads somewhere from the case's current state."""
        return self.transition.source == self.case.state

    def label(self, name: str) -> str:
        spec = next((f for f in self.transition.data if f.name == name), None)
        return text(spec.label, name) if spec is not None and spec.label else name


def load(case_id: int, trigger: str) -> Step:
    actor = current_user.actor()
    engine = get_engine()
    with get_db().read() as session:
        case = session.get(Case, case_id)
        if case is None or case.workflow != "founding" or not can_view(actor, case.org):
            abort(404)
        definition = engine.definition_of(case)
        ts = [t for t in definition.transitions if t.trigger == trigger]
        if not ts:
            abort(404)
        t = next((t for t in ts if t.source == case.state), ts[0])
        availability = step_availability(session, engine, case, actor, t)
        return Step(actor, case, definition, t, availability, case_data(actor, case), engine.params_of(case))


@dataclass
class Outcome:
    messages: list[str]
    fields: dict[str, str]
    named: dict[str, list[str]]  # reasons naming a person (candidate, group member), by name
    status: int


def unreadable() -> Outcome:
    return Outcome([_("请按提示更正标出的内容后再提交。")], {}, {}, 400)


def fire(step: Step, event: dict[str, Any], comment: str, version_raw: str | None) -> Any:
    """Fire the step; a redirect to the case on success, else what went wrong."""
    if step.transition.confirm and request.form.get("confirm") != "yes":
        return Outcome([_("此操作不可撤销，请勾选确认后再提交。")], {}, {}, 400)
    version = int(version_raw) if (version_raw or "").isdigit() else None
    try:
        with get_db().write() as session:
            get_engine().fire(session, step.case.id, step.transition.trigger, step.actor, event, comment, version)
    except WorkflowError as err:
        payload = error_payload(err)["error"]
        messages = [r["message"] for r in payload["reasons"] if r["code"] != "invalid_input"]
        named: dict[str, list[str]] = {}
        for r in payload["reasons"]:
            name = (r.get("params") or {}).get("name")
            if name:
                named.setdefault(name, []).append(r["message"])
        fields = field_errors(err.fields) if err.fields else {}
        if not messages and not fields:
            messages = [payload["message"]]
        return Outcome(messages, fields, named, status_of(err))
    flash(_("已办理：%(step)s", step=text(step.transition.label)), "success")
    return redirect(url_for("cases.show", case_id=step.case.id))


def render(template: str, step: Step, form: Any, outcome: Outcome | None,
           paths: Mapping[str, Callable[[str], str]] | None = None, **context: Any) -> Any:
    """The step's page; `paths` words the field errors of the page's tables (None: the generic form)."""
    errors = list(outcome.messages) if outcome else []
    if outcome and outcome.fields:
        errors += attach_errors(form, outcome.fields) if paths is None else _attach(form, outcome.fields, paths)
    return render_template(
        template, step=step, case=step.case, definition=step.definition, transition=step.transition,
        availability=step.availability, data=step.data, form=form, errors=errors,
        named=outcome.named if outcome else {}, need=view.need_text(step.definition, step.transition.trigger,
                                                                    step.params),
        cn_date=view.cn_date, reason_message=reason_message, **context), (outcome.status if outcome else 200)


def _attach(form: Any, fields: Mapping[str, str], paths: Mapping[str, Callable[[str], str]]) -> list[str]:
    """Engine field errors onto the page's inputs; those without an input come back as sentences."""
    loose = []
    for path, message in fields.items():
        head = path.split(".")[0].split("[")[0]
        field = getattr(form, head, None)
        if head in paths:
            loose.append(paths[head](path) + message)
        elif field is not None and path == head:
            field.errors = [*(field.errors or []), message]
        else:
            loose.append(f"{path}：{message}")
    return loose


def _version(form: Any, step: Step) -> None:
    if request.method == "GET":
        form.version.data = str(step.case.version)


# ---- 1 成立筹备组 ------------------------------------------------------------

def form_group_view(case_id: int, trigger: str) -> Any:
    step = load(case_id, trigger)
    rows = max(int(step.params["group_size_max"]), len(step.data.get("group_members") or ()))

    class GroupForm(FlaskForm):
        members = FieldList(StringField(validators=[Optional()]), min_entries=rows, max_entries=MAX_ROWS)
        comment = TextAreaField(_l("意见说明"))
        version = HiddenField()

    form = GroupForm(data={"members": list(step.data.get("group_members") or ())})
    _version(form, step)
    outcome = None
    if request.method == "POST":
        if not form.validate_on_submit():
            outcome = unreadable()
        else:
            names = [(n or "").strip() for n in form.members.data]
            outcome = fire(step, {"group_members": [n for n in names if n]}, form.comment.data or "",
                           form.version.data)
            if not isinstance(outcome, Outcome):
                return outcome
    return render("founding/form_group.html", step, form, outcome,
                  paths={"group_members": lambda p: _("筹备组成员：")})


# ---- 5 提名候选人 ------------------------------------------------------------

def _rows_wanted(existing: int) -> int:
    try:
        asked = int(request.args.get("rows", DEFAULT_ROWS))
    except ValueError:
        asked = DEFAULT_ROWS
    return min(MAX_ROWS, max(1, asked, existing + 2))


def nominate_view(case_id: int, trigger: str) -> Any:
    step = load(case_id, trigger)
    positions = view.labels(step.definition, "for", short=True)
    bar_labels = view.labels(step.definition, "bars", short=True)

    class CandidateRow(Form):
        name = StringField(validators=[Optional()])
        stands = MultiCheckboxField(choices=options(positions), validators=[Optional()])
        bars = MultiCheckboxField(choices=options(bar_labels), validators=[Optional()])

    previous = list(step.data.get("candidates") or ())

    class NominateForm(FlaskForm):
        committee_seats = IntegerField(step.label("committee_seats"), validators=[Optional()])
        audit_seats = IntegerField(step.label("audit_seats"), validators=[Optional()])
        women_seats = IntegerField(step.label("women_seats"), validators=[Optional()])
        posted_on = DateField(step.label("posted_on"), validators=[Optional()])
        candidates = FieldList(FormField(CandidateRow), min_entries=_rows_wanted(len(previous)),
                               max_entries=MAX_ROWS)
        comment = TextAreaField(_l("意见说明"))
        version = HiddenField()

    initial = {k: step.data.get(k) for k in ("committee_seats", "audit_seats", "women_seats")}
    initial["candidates"] = [{"name": c["name"], "stands": c.get("for") or [], "bars": c.get("bars") or []}
                             for c in previous]
    form = NominateForm(data=initial)
    _version(form, step)
    outcome, rowmap = None, []
    if request.method == "POST":
        if not form.validate_on_submit():
            outcome = unreadable()
        elif request.form.get("add_rows"):
            for _i in range(min(ADD_ROWS, MAX_ROWS - len(form.candidates.entries))):
                form.candidates.append_entry()
        else:
            people = []
            for i, row in enumerate(form.candidates):
                name = (row.form.name.data or "").strip()
                stands, barred = list(row.form.stands.data or ()), list(row.form.bars.data or ())
                if name or stands or barred:
                    rowmap.append(i)
                    people.append({"name": name, "for": stands, "bars": barred})
            event: dict[str, Any] = {"candidates": people}
            for key in ("committee_seats", "audit_seats", "women_seats"):
                if getattr(form, key).data is not None:
                    event[key] = getattr(form, key).data
            if form.posted_on.data is not None:
                event["posted_on"] = form.posted_on.data.isoformat()
            outcome = fire(step, event, form.comment.data or "", form.version.data)
            if not isinstance(outcome, Outcome):
                return outcome

    def row_of(path: str) -> str:
        index = int(path.split("[", 1)[1].split("]", 1)[0]) if "[" in path else None
        if index is None or index >= len(rowmap):
            return _("候选人名单：")
        part = path.split(".", 1)[1] if "." in path else ""
        what = {"name": _("姓名"), "for": _("候选职务"), "bars": _("任职限制情形")}.get(part.split("[")[0], part)
        return _("第%(n)s行 %(what)s：", n=rowmap[index] + 1, what=what)

    return render("founding/nominate.html", step, form, outcome, paths={"candidates": row_of},
                  positions=positions, bars=bar_labels, full_positions=view.labels(step.definition, "for"),
                  full_bars=view.labels(step.definition, "bars"),
                  hints=view.nomination_hints(step.data, step.params), add_rows=ADD_ROWS,
                  more_rows=min(MAX_ROWS, len(form.candidates.entries) + ADD_ROWS))


# ---- 6 召开会员（代表）大会 --------------------------------------------------

def convene_view(case_id: int, trigger: str) -> Any:
    step = load(case_id, trigger)
    kinds = view.labels(step.definition, "assembly_type")
    members = step.data.get("member_count")

    class ConveneForm(FlaskForm):
        assembly_type = RadioField(step.label("assembly_type"), choices=options(kinds), validators=[Optional()])
        entitled = IntegerField(step.label("entitled"), validators=[Optional()])
        present = IntegerField(step.label("present"), validators=[Optional()])
        comment = TextAreaField(_l("意见说明"))
        version = HiddenField()

    small = members is not None and members <= step.params["members_assembly_max_members"]
    form = ConveneForm(data={"assembly_type": "members" if small else None, "entitled": members if small else None})
    _version(form, step)
    outcome = None
    if request.method == "POST":
        if not form.validate_on_submit():
            outcome = unreadable()
        else:
            event = {k: getattr(form, k).data for k in ("assembly_type", "entitled", "present")
                     if getattr(form, k).data not in (None, "")}
            outcome = fire(step, event, form.comment.data or "", form.version.data)
            if not isinstance(outcome, Outcome):
                return outcome
    return render("founding/convene.html", step, form, outcome, paths={}, members=members, small=small)


# ---- 7 民主选举 --------------------------------------------------------------

def record_election_view(case_id: int, trigger: str) -> Any:
    step = load(case_id, trigger)
    rows = view.candidate_rows(step.data)
    chairs = [c.name for c in rows if "chair" in c.stands and "committee" in c.stands]

    class ElectionForm(FlaskForm):
        ballots_cast = IntegerField(step.label("ballots_cast"), validators=[Optional()])
        chair = SelectField(step.label("chair"), choices=options([("", _("— 请选择 —"))] + [(n, n) for n in chairs]),
                            validators=[Optional()])
        comment = TextAreaField(_l("意见说明"))
        version = HiddenField()

    for i, c in enumerate(rows):
        setattr(ElectionForm, f"votes_{i}", IntegerField(c.name, validators=[Optional()]))
    form = ElectionForm()
    _version(form, step)
    outcome = None
    if request.method == "POST":
        if not form.validate_on_submit():
            outcome = unreadable()
        else:
            votes = {c.name: getattr(form, f"votes_{i}").data for i, c in enumerate(rows)}
            missing = [n for n, v in votes.items() if v is None]
            if missing:
                outcome = Outcome([_("请填写每位候选人的得票数（未得票的填0）：%(names)s", names="、".join(missing))],
                                  {}, {n: [_("请填写得票数")] for n in missing}, 400)
            else:
                event: dict[str, Any] = {"votes": votes}
                if form.ballots_cast.data is not None:
                    event["ballots_cast"] = form.ballots_cast.data
                if form.chair.data:
                    event["chair"] = form.chair.data
                outcome = fire(step, event, form.comment.data or "", form.version.data)
                if not isinstance(outcome, Outcome):
                    return outcome
    vote_fields = [(c, getattr(form, f"votes_{i}")) for i, c in enumerate(rows)]
    return render("founding/record_election.html", step, form, outcome, rows=vote_fields,
                  election=view.election_summary(step.data), positions=view.labels(step.definition, "for"),
                  bars=view.labels(step.definition, "bars"),
                  paths={"votes": lambda p: _("“%(name)s”的得票数：", name=p.split(".", 1)[-1])})


# ---- every other step: the generic form, with what is being decided ----------

def generic(case_id: int, trigger: str) -> Any:
    step = load(case_id, trigger)
    form = step_form(step.transition.data, {}, step.transition.comment)
    _version(form, step)
    outcome = None
    if request.method == "POST":
        if not form.validate_on_submit():
            outcome = unreadable()
        else:
            event, problems = form_data(form, step.transition.data)
            if problems:
                outcome = Outcome([], {k: _("格式不正确：%(v)s", v=v) for k, v in problems.items()}, {}, 400)
            else:
                outcome = fire(step, event, form.comment.data or "", form.version.data)
                if not isinstance(outcome, Outcome):
                    return outcome
    return render("founding/step.html", step, form, outcome, rows=view.candidate_rows(step.data),
                  positions=view.labels(step.definition, "for"), bars=view.labels(step.definition, "bars"),
                  election=view.election_summary(step.data),
                  posting=view.posting(step.data, step.params, get_engine().today(step.case.profile)))


VIEWS: dict[str, Callable[..., Any]] = {
    "form_group": form_group_view,
    "nominate": nominate_view,
    "convene": convene_view,
    "record_election": record_election_view,
}
