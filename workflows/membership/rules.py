"""The rules of joining (入会, domain.md §5): a valid 身份证号, one active membership per person
(`already_a_member`, naming the union that holds it), an employer of the union's subtree; on approval the
applicant goes on the roster with a member number and the union's member count goes up by one."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from workflow import (
    Context,
    Outcome,
    Reason,
    create_entity,
    effect,
    gender_of,
    guard,
    id_number_birth_date,
    id_number_problem,
)

APPLICATION_FIELDS = ("applicant", "employer", "employer_name", "group")


def application(ctx: Context) -> dict[str, Any]:
    """The application as it stands after this event: the event's fields replace the recorded ones."""
    return {k: ctx.data[k] if k in ctx.data else ctx.case.get(k) for k in APPLICATION_FIELDS}


def _id_number(app: dict[str, Any]) -> Any:
    return (app.get("applicant") or {}).get("id_number")


@guard("membership_union_founded")
def union_founded(ctx: Context) -> Iterator[Reason]:
    if ctx.org.union_status != "founded":
        yield Reason("union_not_founded", {"org": ctx.org.name})


@guard("membership_application_valid")
def application_valid(ctx: Context) -> Iterator[Reason]:
    """The 身份证号 (GB 11643-1999), and the employer: an organisation of the union's subtree or a name."""
    app = application(ctx)
    applicant = app.get("applicant") or {}
    problem = id_number_problem(applicant.get("id_number"), ctx.today)
    if problem is not None:
        yield Reason("invalid_id_number", {"name": applicant.get("name"), "field": "applicant.id_number",
                                           "problem": problem})
    code, name = app.get("employer"), app.get("employer_name")
    if code and name:
        yield Reason("employer_code_and_name", {"field": "employer"})
    elif code and ctx.lookup is not None and ctx.lookup("org_in_subtree", code, ctx.org.id) is None:
        yield Reason("employer_outside_union", {"employer": code, "field": "employer"})


@guard("membership_not_a_member")
def not_a_member(ctx: Context) -> Iterator[Reason]:
    """One person, one active membership in the whole installation."""
    number = _id_number(application(ctx))
    if ctx.lookup is None or id_number_problem(number) is not None:
        return
    holder = ctx.lookup("active_membership", number)
    if holder is not None:
        yield Reason("already_a_member", {"org": holder.org_name, "org_code": holder.org_code})


@effect("membership_enrol")
def enrol(ctx: Context) -> Outcome:
    """The applicant on the union's roster from the day of approval, with the next member number; the
    union's member count one higher (read under the union's lock with the number)."""
    assert ctx.lookup is not None  # effects run inside a step, where the engine binds the lookups
    app = application(ctx)
    applicant = app.get("applicant") or {}
    number = str(applicant["id_number"])
    issued = ctx.lookup("next_member_no", ctx.org.id)
    employer = ctx.lookup("org_in_subtree", app["employer"], ctx.org.id) if app.get("employer") else None
    employer_name = app.get("employer_name") or None
    employer_id = employer["id"] if employer else (None if employer_name else ctx.org.id)
    member = create_entity(
        "member", key_as="member_id",
        org_id=ctx.org.id, name=applicant["name"], id_number=number, gender=gender_of(number),
        born_on=id_number_birth_date(number), joined_on=ctx.today, member_no=issued["member_no"],
        employer_id=employer_id, employer_name=employer_name, group_code=app.get("group") or None,
        status="active",
    )
    return Outcome(data={"member_no": issued["member_no"]}, org={"member_count": issued["member_count"] + 1},
                   entities=[member])
