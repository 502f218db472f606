"""The rules of membership transfer (会籍接转, domain.md §5): only an active member of the issuing union is
transferred; the certificate's one-time code is valid `certificate_valid_days` days from the day it is issued
(on the last day still, not the day after), redeemed once, never by the issuing union itself; an unredeemed
certificate expires the day after its last valid day and the member returns to the issuing union's roster."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta
from typing import Any

from workflow import (
    CERTIFICATE,
    Context,
    Outcome,
    Reason,
    certificate_code_hash,
    create_entity,
    effect,
    expired_transfer_cases,
    format_code,
    guard,
    new_code,
    system_step,
    update_entity,
)

MEMBER = "member"


def _member(ctx: Context) -> Mapping[str, Any] | None:
    member_id = ctx.data.get("member_id", ctx.case.get("member_id"))
    return ctx.lookup("roster_member", member_id) if ctx.lookup is not None else None


def _certificate(ctx: Context) -> Mapping[str, Any] | None:
    return ctx.lookup("certificate", ctx.case.get("certificate_id")) if ctx.lookup is not None else None


def valid_until(issued_on: date, params: Mapping[str, Any]) -> date:
    """The certificate's last valid day: `certificate_valid_days` after the day it was issued."""
    return issued_on + timedelta(days=int(params["certificate_valid_days"]))


@guard("transfer_member_active")
def member_active(ctx: Context) -> Iterator[Reason]:
    """The member is on the issuing union's roster, and active."""
    if ctx.lookup is None:
        return
    member = _member(ctx)
    if member is None or member["org_id"] != ctx.org.id:
        yield Reason("member_not_on_roster", {"field": "member_id"})
    elif member["status"] != "active":
        yield Reason("transfer_member_not_active", {"name": member["name"], "status": member["status"]})


@guard("transfer_code_valid")
def code_valid(ctx: Context) -> Iterator[Reason]:
    """The code is the certificate's, the certificate is neither used nor past its last day, the receiving
    union is another union, founded, and the person holds no active membership meanwhile."""
    cert = _certificate(ctx)
    receiving = ctx.parties.get("receiving")
    if receiving is not None and receiving.id == ctx.org.id:
        yield Reason("certificate_own_union")
        return
    if cert is None or cert["code_hash"] != ctx.data.get("code_hash"):
        yield Reason("certificate_code_wrong", {"field": "code"})
        return
    if cert["status"] == "redeemed":
        yield Reason("certificate_used")
    elif cert["status"] == "expired" or ctx.today > cert["valid_until"]:
        yield Reason("certificate_expired", {"valid_until": cert["valid_until"].isoformat()})
    if receiving is not None and receiving.kind in ("enterprise", "joint") and receiving.union_status != "founded":
        yield Reason("union_not_founded", {"org": receiving.name})
    member = _member(ctx)
    holder = ctx.lookup("active_membership", member["id_number"]) if member and ctx.lookup else None
    if holder is not None:
        yield Reason("already_a_member", {"org": holder.org_name, "org_code": holder.org_code})


@guard("transfer_certificate_past")
def certificate_past(ctx: Context) -> Iterator[Reason]:
    cert = _certificate(ctx)
    if cert is None or cert["status"] != "issued" or ctx.today <= cert["valid_until"]:
        until = cert["valid_until"].isoformat() if cert is not None else ""
        yield Reason("certificate_not_expired", {"valid_until": until})


@effect("transfer_describe")
def describe(ctx: Context) -> Outcome:
    """The member's name and number on the case, for its lists and its summary."""
    member = _member(ctx)
    assert member is not None  # the guard has found them
    return Outcome(data={"member_name": member["name"], "member_no": member["member_no"]})


@effect("transfer_issue")
def issue(ctx: Context) -> Outcome:
    """The certificate with a fresh one-time code (its hash on the certificate's row, the code itself in the
    case's data, shown to the issuing union only); the member transferred out; the union one member fewer."""
    assert ctx.lookup is not None and ctx.case_id is not None  # effects run inside a step
    member = _member(ctx)
    assert member is not None
    code = new_code()
    until = valid_until(ctx.today, ctx.params)
    count = ctx.lookup("member_count_locked", ctx.org.id)
    certificate = create_entity(
        CERTIFICATE, key_as="certificate_id", case_id=ctx.case_id, member_id=member["id"], org_id=ctx.org.id,
        code_hash=certificate_code_hash(code), valid_until=until, status="issued", receiving_org_id=None)
    return Outcome(
        data={"certificate_code": format_code(code), "valid_until": until.isoformat()},
        org={"member_count": max(count - 1, 0)},
        entities=[update_entity(MEMBER, member["id"], status="transferred_out"), certificate],
    )


@effect("transfer_redeem")
def redeem(ctx: Context) -> Outcome:
    """The member on the receiving union's roster with the same joined-on date and its next member number;
    the certificate used; the receiving union one member more."""
    assert ctx.lookup is not None
    member = _member(ctx)
    receiving = ctx.parties["receiving"]
    assert member is not None and receiving.id is not None
    issued = ctx.lookup("next_member_no", receiving.id)
    joined = create_entity(
        MEMBER, key_as="new_member_id", org_id=receiving.id, name=member["name"], id_number=member["id_number"],
        gender=member["gender"], born_on=member["born_on"], joined_on=member["joined_on"],
        member_no=issued["member_no"], employer_id=receiving.id, employer_name=None,
        group_code=member["group_code"], status="active")
    return Outcome(
        data={"receiving_org": receiving.code, "receiving_org_name": receiving.name,
              "new_member_no": issued["member_no"]},
        entities=[update_entity(CERTIFICATE, ctx.case["certificate_id"], status="redeemed",
                                receiving_org_id=receiving.id), joined],
        party_orgs={"receiving": {"member_count": issued["member_count"] + 1}},
    )


@effect("transfer_expire")
def expire(ctx: Context) -> Outcome:
    """The certificate expired; the member back on the issuing union's roster, unless the person has joined
    another union meanwhile (then the membership stays transferred out: one active membership per person)."""
    assert ctx.lookup is not None
    member = _member(ctx)
    assert member is not None
    changes = [update_entity(CERTIFICATE, ctx.case["certificate_id"], status="expired")]
    if ctx.lookup("active_membership", member["id_number"]) is not None:
        return Outcome(data={"returned": False}, entities=changes)
    count = ctx.lookup("member_count_locked", ctx.org.id)
    changes.append(update_entity(MEMBER, member["id"], status="active"))
    return Outcome(data={"returned": True}, org={"member_count": count + 1}, entities=changes)


@system_step("transfer", "expire")
def expired(session: Any, today: date) -> Iterable[int]:
    """The transfer cases whose certificate is unredeemed after its last valid day."""
    return list(expired_transfer_cases(session, today))
