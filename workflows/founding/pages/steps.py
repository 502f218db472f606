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

from typing import Any, Callable, Mapping

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

try:  # WTForms 3.3 wants options as SelectChoice; older versions take (value, label) pairs
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover
    SelectChoice = None

from web.forms import MultiCheckboxField, path_message
from web.steps import Outcome, Step, StepPage

from . import view

# every founding trigger has a page here (the definition's order)
TRIGGERS = ("form_group", "apply", "approve_application", "return_application", "reject_application",
            "record_members", "nominate", "approve_candidates", "return_candidates", "convene",
            "record_election", "submit_results", "sanction", "return_results", "register", "withdraw")
DEFAULT_ROWS, ADD_ROWS, MAX_ROWS = 12, 6, 200


def options(pairs: Mapping[str, str] | list[tuple[str, str]]) -> list[Any]:
    items = list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)
    return [SelectChoice(v, label) for v, label in items] if SelectChoice is not None else items


class FoundingPage(StepPage):
    """A founding step: its requirements filled with the profile's numbers beside the form, and the field
    errors of the page's tables worded by `paths` (None: onto the generic form's inputs)."""

    template = "founding/step.html"
    paths: Mapping[str, Callable[[str], str]] | None = None

    def context(self, step: Step, form: Any) -> dict[str, Any]:
        return {"need": view.need_text(step.definition, step.trigger, step.params), "cn_date": view.cn_date}

    def paths_for(self, form: Any) -> Mapping[str, Callable[[str], str]] | None:
        return self.paths

    def place(self, step: Step, form: Any, outcome: Outcome) -> list[str]:
        paths = self.paths_for(form)
        if paths is None:
            return super().place(step, form, outcome)
        loose = []
        for path, message in outcome.fields.items():
            head = path.split(".")[0].split("[")[0]
            target = getattr(form, head, None)
            if head in paths:
                loose.append(paths[head](path) + message)
            elif target is not None and path == head:
                target.errors = [*(target.errors or []), message]
            else:
                loose.append(path_message(step.transition.data, path, message))
        return loose


# ---- 1 成立筹备组 ------------------------------------------------------------

class FormGroup(FoundingPage):
    template = "founding/form_group.html"
    paths = {"group_members": lambda p: _("筹备组成员：")}

    def form(self, step: Step) -> Any:
        rows = max(int(step.params["group_size_max"]), len(step.data.get("group_members") or ()))

        class GroupForm(FlaskForm):
            members = FieldList(StringField(validators=[Optional()]), min_entries=rows, max_entries=MAX_ROWS)
            comment = TextAreaField(_l("意见说明"))
            version = HiddenField()

        return GroupForm(data={"members": list(step.data.get("group_members") or ())})

    def event(self, step: Step, form: Any) -> dict[str, Any]:
        names = [(n or "").strip() for n in form.members.data]
        return {"group_members": [n for n in names if n]}


# ---- 5 提名候选人 ------------------------------------------------------------

def _rows_wanted(existing: int) -> int:
    try:
        asked = int(request.args.get("rows", DEFAULT_ROWS))
    except ValueError:
        asked = DEFAULT_ROWS
    return min(MAX_ROWS, max(1, asked, existing + 2))


class Nominate(FoundingPage):
    """The candidates as a table, more rows on demand without JavaScript."""

    template = "founding/nominate.html"

    def form(self, step: Step) -> Any:
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

        initial: dict[str, Any] = {k: step.data.get(k) for k in ("committee_seats", "audit_seats", "women_seats")}
        initial["candidates"] = [{"name": c["name"], "stands": c.get("for") or [], "bars": c.get("bars") or []}
                                 for c in previous]
        form = NominateForm(data=initial)
        form.rowmap = []  # the table row of each candidate sent, for the messages
        return form

    def event(self, step: Step, form: Any) -> dict[str, Any] | None:
        if request.form.get("add_rows"):
            for _i in range(min(ADD_ROWS, MAX_ROWS - len(form.candidates.entries))):
                form.candidates.append_entry()
            return None
        people = []
        for i, row in enumerate(form.candidates):
            name = (row.form.name.data or "").strip()
            stands, barred = list(row.form.stands.data or ()), list(row.form.bars.data or ())
            if name or stands or barred:
                form.rowmap.append(i)
                people.append({"name": name, "for": stands, "bars": barred})
        event: dict[str, Any] = {"candidates": people}
        for key in ("committee_seats", "audit_seats", "women_seats"):
            if getattr(form, key).data is not None:
                event[key] = getattr(form, key).data
        if form.posted_on.data is not None:
            event["posted_on"] = form.posted_on.data.isoformat()
        return event

    def paths_for(self, form: Any) -> Mapping[str, Callable[[str], str]]:
        rowmap = form.rowmap

        def row_of(path: str) -> str:
            index = int(path.split("[", 1)[1].split("]", 1)[0]) if "[" in path else None
            if index is None or index >= len(rowmap):
                return _("候选人名单：")
            part = path.split(".", 1)[1] if "." in path else ""
            what = {"name": _("姓名"), "for": _("候选职务"), "bars": _("任职限制情形")}.get(part.split("[")[0], part)
            return _("第%(n)s行 %(what)s：", n=rowmap[index] + 1, what=what)

        return {"candidates": row_of}

    def context(self, step: Step, form: Any) -> dict[str, Any]:
        return {**super().context(step, form),
                "positions": view.labels(step.definition, "for", short=True),
                "bars": view.labels(step.definition, "bars", short=True),
                "full_positions": view.labels(step.definition, "for"), "full_bars": view.labels(step.definition, "bars"),
                "hints": view.nomination_hints(step.data, step.params), "add_rows": ADD_ROWS,
                "more_rows": min(MAX_ROWS, len(form.candidates.entries) + ADD_ROWS)}


# ---- 6 召开会员（代表）大会 --------------------------------------------------

class Convene(FoundingPage):
    template = "founding/convene.html"
    paths: Mapping[str, Callable[[str], str]] = {}

    def form(self, step: Step) -> Any:
        kinds = view.labels(step.definition, "assembly_type")

        class ConveneForm(FlaskForm):
            assembly_type = RadioField(step.label("assembly_type"), choices=options(kinds), validators=[Optional()])
            entitled = IntegerField(step.label("entitled"), validators=[Optional()])
            present = IntegerField(step.label("present"), validators=[Optional()])
            comment = TextAreaField(_l("意见说明"))
            version = HiddenField()

        members = step.data.get("member_count")
        small = self._small(step)
        return ConveneForm(data={"assembly_type": "members" if small else None, "entitled": members if small else None})

    @staticmethod
    def _small(step: Step) -> bool:
        members = step.data.get("member_count")
        return members is not None and members <= step.params["members_assembly_max_members"]

    def event(self, step: Step, form: Any) -> dict[str, Any]:
        return {k: getattr(form, k).data for k in ("assembly_type", "entitled", "present")
                if getattr(form, k).data not in (None, "")}

    def context(self, step: Step, form: Any) -> dict[str, Any]:
        return {**super().context(step, form), "members": step.data.get("member_count"), "small": self._small(step)}


# ---- 7 民主选举 --------------------------------------------------------------

def _chairs(step: Step) -> list[str]:
    return [c.name for c in view.candidate_rows(step.data) if "chair" in c.stands and "committee" in c.stands]


def _ballot(step: Step) -> bool:
    """Whether the case's definition elects the chair by ballot (version 2 on)."""
    return any(f.name == "chair_method" for f in step.transition.data)


class RecordElection(FoundingPage):
    """One vote count per candidate; the chair elected by ballot (how, and each chair candidate's votes)."""

    template = "founding/record_election.html"
    paths = {"votes": lambda p: _("“%(name)s”的得票数：", name=p.split(".", 1)[-1]),
             "chair_votes": lambda p: _("“%(name)s”的主席选举得票数：", name=p.split(".", 1)[-1])}

    def form(self, step: Step) -> Any:
        rows = view.candidate_rows(step.data)
        chairs = _chairs(step)
        ballot = _ballot(step)

        class ElectionForm(FlaskForm):
            ballots_cast = IntegerField(step.label("ballots_cast"), validators=[Optional()])
            chair = SelectField(step.label("chair"),
                                choices=options([("", _("— 请选择 —"))] + [(n, n) for n in chairs]),
                                validators=[Optional()])
            comment = TextAreaField(_l("意见说明"))
            version = HiddenField()

        if ballot:
            ElectionForm.chair_method = RadioField(
                step.label("chair_method"), choices=options(view.labels(step.definition, "chair_method")),
                validators=[Optional()])
            for i, name in enumerate(chairs):
                setattr(ElectionForm, f"chair_votes_{i}", IntegerField(name, validators=[Optional()]))
        for i, c in enumerate(rows):
            setattr(ElectionForm, f"votes_{i}", IntegerField(c.name, validators=[Optional()]))
        return ElectionForm()

    def event(self, step: Step, form: Any) -> dict[str, Any] | Outcome:
        rows = view.candidate_rows(step.data)
        votes = {c.name: getattr(form, f"votes_{i}").data for i, c in enumerate(rows)}
        missing = [n for n, v in votes.items() if v is None]
        if missing:
            return Outcome([_("请填写每位候选人的得票数（未得票的填0）：%(names)s", names="、".join(missing))],
                           named={n: [_("请填写得票数")] for n in missing})
        event: dict[str, Any] = {"votes": votes}
        if form.ballots_cast.data is not None:
            event["ballots_cast"] = form.ballots_cast.data
        if form.chair.data:
            event["chair"] = form.chair.data
        if _ballot(step):
            chair_votes = {n: getattr(form, f"chair_votes_{i}").data for i, n in enumerate(_chairs(step))}
            missing = [n for n, v in chair_votes.items() if v is None]
            if missing:
                return Outcome([_("请填写每位主席候选人的得票数（未得票的填0）：%(names)s", names="、".join(missing))])
            event["chair_votes"] = chair_votes
            if form.chair_method.data:
                event["chair_method"] = form.chair_method.data
        return event

    def context(self, step: Step, form: Any) -> dict[str, Any]:
        rows = view.candidate_rows(step.data)
        chair_rows = [(n, getattr(form, f"chair_votes_{i}")) for i, n in enumerate(_chairs(step))] \
            if _ballot(step) else []
        return {**super().context(step, form), "rows": [(c, getattr(form, f"votes_{i}")) for i, c in enumerate(rows)],
                "chair_rows": chair_rows,
                "election": view.election_summary(step.data), "positions": view.labels(step.definition, "for"),
                "bars": view.labels(step.definition, "bars")}


# ---- every other step: the generic form, with what is being decided ----------

class Decision(FoundingPage):
    """The generic form built from the step's fields, beside what the reviewer is deciding."""

    def context(self, step: Step, form: Any) -> dict[str, Any]:
        return {**super().context(step, form), "rows": view.candidate_rows(step.data),
                "positions": view.labels(step.definition, "for"), "bars": view.labels(step.definition, "bars"),
                "election": view.election_summary(step.data),
                "posting": view.posting(step.data, step.params, step.engine.today(step.case.profile))}


PAGES: dict[str, StepPage] = {
    "form_group": FormGroup(),
    "nominate": Nominate(),
    "convene": Convene(),
    "record_election": RecordElection(),
}
DECISION = Decision()
