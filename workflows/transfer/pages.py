"""会籍接转 pages and the redemption of a certificate.

* The issuing union starts a transfer from the member's page (`start`: reason and a confirmation); the
  steps are the one step page's, and every step form shows the transfer's summary (member, from, to,
  valid until).
* The case page's panel shows the certificate's code to the issuing union only (masked for everyone else,
  as in the API's case data and the audit pages) and leads to the printable certificate (会员组织关系接转凭证,
  with the code as a QR code, its PDF's hash recorded in the trail by `Engine.issue_document`).
* A receiving union redeems a code anywhere in the installation: the page `redeem` (linked from the roster)
  and `POST /api/v1/transfers/redeem`. Both find the certificate by the hash of the code (an unknown code is
  404), answer a used or expired certificate before anything is written (409 `invalid_state`, reason
  `certificate_used` or `certificate_expired`, also before the sweep has expired it), and fire the step
  through the engine (`Engine.join_and_fire`), which makes the receiving union the case's party. The
  certificate's row is locked first, so of two redemptions at once the second waits and is told it is used.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy.orm import Session

import audit
from web import documents
from web.api import AfterCommit, endpoint, read_json, respond
from web.extensions import csrf, get_db, get_engine
from web.i18n import text
from web.present import case_json, entry_json, sees_personal_data
from web.steps import explain
from web.workflow_pages import CaseView, Fact, Panel, Summary
from workflow import (
    Actor,
    Case,
    Engine,
    FieldError,
    InvalidInput,
    InvalidState,
    Member,
    NotFound,
    Organisation,
    Reason,
    WorkflowError,
    can_view,
    can_view_case,
    certificate_code_hash,
    find_certificate,
    find_member,
    mask_id_number,
    normalise_code,
)

WORKFLOW = "transfer"
REDEEM = "redeem"

bp = Blueprint("transfer", __name__, url_prefix="/transfers")
api_bp = Blueprint("transfer_api", __name__, url_prefix="/api/v1/transfers")
csrf.exempt(api_bp)  # bearer tokens only, as the rest of the API
BLUEPRINTS = [bp, api_bp]


# ---------------------------------------------------------------- redemption (the rule, for the page and API)

def redeem_code(session: Session, engine: Engine, actor: Actor, code: Any, org_code: Any,
                today: date | None = None) -> int:
    """Redeem the certificate of `code` for the receiving union `org_code` (the actor's own); the case's id.

    NotFound for an unknown code; InvalidState (`certificate_used`, `certificate_expired`) for a certificate
    that can no longer be redeemed; everything else is the engine's (`join_and_fire`: role, the party,
    the guards, the effects, the entries)."""
    fields: dict[str, FieldError] = {}
    for key, value in (("code", code), ("org", org_code)):
        if not isinstance(value, str) or not value.strip():
            fields[key] = FieldError("required" if value in (None, "") else "not_string")
    if fields:
        raise InvalidInput(fields=fields)
    cert = find_certificate(session, code, lock=True)  # waits for a redemption of the same code under way
    if cert is None:
        raise NotFound()
    today = today or engine.today()
    if cert.status == "redeemed":
        raise InvalidState([Reason("certificate_used")])
    if cert.status == "expired" or today > cert.valid_until:
        raise InvalidState([Reason("certificate_expired", {"valid_until": cert.valid_until.isoformat()})])
    record = engine.join_and_fire(session, cert.case_id, REDEEM, actor,
                                  {"code_hash": certificate_code_hash(normalise_code(code))}, today=today,
                                  org_code=str(org_code).strip())
    return record.id


@api_bp.post("/redeem")
@endpoint(write=True)
def api_redeem(session: Session, actor: Actor) -> Response:
    """`{"code", "org"}` → 200 the transfer case, now completed and visible to both unions."""
    body = read_json()
    unknown = set(body) - {"code", "org"}
    if unknown:
        raise InvalidInput(fields={k: FieldError("unknown_field") for k in sorted(unknown)})
    engine = get_engine()
    case_id = redeem_code(session, engine, actor, body.get("code"), body.get("org"))
    return AfterCommit(lambda read: respond(case_json(read, engine, read.get(Case, case_id), actor)))


def _actor() -> Actor:
    return current_user.actor()


@bp.route("/redeem", methods=["GET", "POST"])
@login_required
def redeem() -> Any:
    """The receiving union's form: the code from the certificate (typed, or read off its QR code)."""
    actor = _actor()
    engine = get_engine()
    sent = (request.form.get("code") or "").strip()
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        if not FlaskForm().validate_on_submit():
            errors, status = [_("表单已过期，请刷新后重试。")], 400
        else:
            try:
                with get_db().write() as session:
                    case_id = redeem_code(session, engine, actor, sent, actor.org_code or "")
            except NotFound:
                errors = [_("没有这个接转码：请核对接转凭证上的接转码（共16位，不区分大小写，可省略连字符）。")]
                status = 404
            except WorkflowError as err:
                outcome = explain(err)
                errors, status = outcome.messages or [_("接转码不能为空。")], outcome.status
            else:
                flash(_("会员已接收，列入本会会员名册。"), "ok")
                return redirect(url_for("cases.show", case_id=case_id))
    with get_db().read() as session:
        org = session.get(Organisation, actor.org_id) if actor.org_id else None
    return render_template("transfer/redeem.html", org=org, sent=sent, errors=errors,
                           may_redeem=actor.role in ("preparer", "reviewer")), status


# ---------------------------------------------------------------- starting a transfer from the member's page

@bp.post("/members/<int:member_id>")
@login_required
def start(member_id: int) -> Any:
    """The issuing union's request (reason, then a confirmation); the case page once it is recorded."""
    actor = _actor()
    engine = get_engine()
    reason = (request.form.get("reason") or "").strip()
    back = url_for("members.show", member_id=member_id)
    with get_db().read() as session:
        found = find_member(session, member_id)
        if found is None or not can_view(actor, found.org):
            abort(404)
    if not FlaskForm().validate_on_submit():
        flash(_("表单已过期，请刷新后重试。"), "error")
        return redirect(back)
    if request.form.get("confirmed") != "1":
        return redirect(url_for("members.show", member_id=member_id, transfer_reason=reason) + "#transfer")
    try:
        with get_db().write() as session:
            member = find_member(session, member_id)
            if member is None or not can_view(actor, member.org):
                abort(404)
            case_id = engine.create_case(session, WORKFLOW, member.org.code, actor,
                                         {"member_id": member_id, "reason": reason or None}).id
    except WorkflowError as err:
        for message in explain(err).messages or [_("请选择接转原因。")]:
            flash(message, "error")
        return redirect(back + "#transfer")
    flash(_("接转申请已登记，待本会另一位审核人开具接转凭证。"), "ok")
    return redirect(url_for("cases.show", case_id=case_id))


# ---------------------------------------------------------------- the printable certificate (接转凭证)

def _qr_svg(code: str) -> Markup:
    """The code as a QR code, inline SVG made here (nothing fetched)."""
    import segno

    qr = segno.make(code, error="m", micro=False)
    svg = qr.svg_inline(scale=4, border=2, dark="#000", light="#fff", title=code)
    return Markup(svg)  # noqa: S704 (segno's own markup of a code of our alphabet)


def _certificate(case_id: int) -> tuple[Case, dict[str, Any], str, Any]:
    actor = _actor()
    engine = get_engine()
    with get_db().read() as session:
        case = session.get(Case, case_id)
        if case is None or case.workflow != WORKFLOW or not can_view_case(actor, case):
            abort(404)
        if not sees_personal_data(actor, case) or case.state != "issued":
            abort(404)  # the issuing union's document, while the certificate can be used
        data = {**(case.data or {}), **(case.facts or {})}
        member: Member | None = session.get(Member, data.get("member_id"))
        if member is None:
            abort(404)
        entries = [entry_json(e, False) for e in audit.entries_for(session, "case", str(case.id))]
        definition = engine.definition_of(case)
        reasons = {r["id"]: text(r["title"], r["id"]) for r in definition.extra.get("reasons") or ()}
        filename = f"transfer-{case.id}-certificate.pdf"
        context = dict(
            case=case, member=member, id_number=mask_id_number(member.id_number), org_name=case.org.name,
            code=str(data.get("certificate_code") or ""), valid_until=data.get("valid_until"),
            issued_on=case.decided_on, reason=reasons.get(str(data.get("reason")), ""),
            qr=_qr_svg(str(data.get("certificate_code") or "")), cn_date=documents.doc_date,
            pdf_url=url_for("transfer.certificate_pdf", case_id=case.id), copies=documents.issued(entries, filename),
            title=_("会员组织关系接转凭证"),
        )
    return case, context, filename, case.decided_on


@bp.get("/<int:case_id>/certificate")
@login_required
def certificate(case_id: int) -> Any:
    _case, context, _file, _day = _certificate(case_id)
    return render_template("transfer/certificate.html", **context)


@bp.get("/<int:case_id>/certificate.pdf")
@login_required
def certificate_pdf(case_id: int) -> Any:
    """The certificate as a PDF made on the server; its hash goes into the case's trail."""
    case, context, filename, day = _certificate(case_id)
    return documents.send(case.id, "transfer/certificate.html", context,
                          f"{context['title']} · {context['member'].name}", filename, day)


# ---------------------------------------------------------------- the summary and the case page's panel

def summary(view: CaseView) -> Summary:
    data = view.data
    reasons = {r["id"]: text(r["title"], r["id"]) for r in view.definition.extra.get("reasons") or ()}
    receiving = data.get("receiving_org_name")
    out = Summary()
    out.add(_("会籍接转"), [
        Fact(_("会员"), str(data.get("member_name") or "—"), strong=True),
        Fact(_("原会员证号"), str(data.get("member_no") or "—")),
        Fact(_("转出工会"), view.case.org.name),
        Fact(_("接收工会"), str(receiving) if receiving else _("凭码接收的工会（尚未接收）")),
        Fact(_("接转原因"), reasons.get(str(data.get("reason")), "—")),
        Fact(_("有效期至"), str(data["valid_until"]), note=_("过期未接收的，会员回到原工会名册"))
        if data.get("valid_until") else None,
        Fact(_("接收工会会员证号"), str(data["new_member_no"])) if data.get("new_member_no") else None,
    ])
    return out


def panel(view: CaseView) -> dict[str, Any]:
    data = view.data
    own = sees_personal_data(view.actor, view.case)
    member_id = data.get("member_id") if own else data.get("new_member_id")
    if not own and not (isinstance(member_id, int) and view.actor.org_id is not None):
        member_id = None
    show_member = False
    if isinstance(member_id, int):
        member = find_member(view.session, member_id)
        show_member = member is not None and can_view(view.actor, member.org)
    return {
        "summary": summary(view), "own": own, "state": view.case.state,
        "code": data.get("certificate_code") if own else None,
        "certificate_url": url_for("transfer.certificate", case_id=view.case.id)
        if own and view.case.state == "issued" else None,
        "member_url": url_for("members.show", member_id=member_id) if show_member else None,
    }


SUMMARIES = {WORKFLOW: summary}
PANELS = {WORKFLOW: Panel("transfer/panel.html", panel)}
