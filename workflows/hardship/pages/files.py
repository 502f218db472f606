"""Uploading and downloading the materials of a case (申请材料), as pages and in the JSON API.

The body limit of the application (1 MiB) is raised for these views alone to
the upload limit (UPLOAD_MAX_BYTES, 10 MiB by default) before the request
body is read. That is why the page view is exempt from the blanket CSRF hook
(which would read the body under the small limit first): its form checks the
CSRF token itself. Files are served only to users who can see the case, as
downloads (Content-Disposition: attachment) that the browser may not sniff;
scans of ID cards only to those who see ID numbers in full (403 otherwise).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import HiddenField

from audit.chain import format_at
from services.attachments import (
    MAX_ID,
    Attachment,
    UploadRejected,
    UploadTooLarge,
    attach,
    attachments_for,
    detach,
    get_attachment,
    may_attach,
    may_download,
    personal_kinds,
    replace,
    size_text,
)
from storage.files import FileStore
from web.api import endpoint, respond
from web.extensions import csrf, get_db, get_engine
from web.i18n import error_payload, reason_message
from web.statuses import status_of
from workflow import Actor, Case, NotFound, Reason, WorkflowError, can_view

from .view import case_view

WORKFLOW = "hardship"
FORM_OVERHEAD = 64 * 1024  # the multipart envelope and the other fields around the file

bp = Blueprint("hardship_files", __name__)


class UploadForm(FlaskForm):
    material = HiddenField()
    file = FileField()


def store() -> FileStore:
    return FileStore(current_app.config["UPLOAD_DIR"])


def max_bytes() -> int:
    return int(current_app.config["UPLOAD_MAX_BYTES"])


def _raise_body_limit() -> None:
    request.max_content_length = max_bytes() + FORM_OVERHEAD


def _too_large() -> UploadTooLarge:
    """The body was refused before it was read: its declared length is all that is known."""
    return UploadTooLarge([Reason("upload_too_large", {"size": size_text(request.content_length or 0),
                                                       "limit": size_text(max_bytes())})])


def _read_upload(field_name: str = "file") -> tuple[str, bytes]:
    """The uploaded file's name and bytes; refuses a request without a file."""
    upload = request.files.get(field_name)
    if upload is None or not upload.filename:
        raise UploadRejected([Reason("file_missing")])
    # one byte more than allowed is enough to know the file is too large
    content = upload.stream.read(max_bytes() + 1)
    return upload.filename, content


def attachment_json(a: Attachment, downloadable: bool = True) -> dict[str, Any]:
    return {"id": a.id, "case_id": a.case_id, "material": a.material, "filename": a.filename, "size": a.size,
            "content_type": a.content_type, "sha256": a.sha256,
            "uploaded_by": a.uploaded_by.username if a.uploaded_by else None,
            "uploaded_at": format_at(a.uploaded_at), "url": url_for("hardship_files.download", attachment_id=a.id),
            "downloadable": downloadable}


def _download(session: Session, actor: Actor, attachment_id: int) -> Response:
    row, _case = get_attachment(session, get_engine(), attachment_id, actor)
    path = store().path_of(row.sha256)
    if not path.is_file():
        raise NotFound()
    response = send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename,
                         conditional=False, etag=False, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------- pages

def _visible_case(session: Session, case_id: int, actor: Actor) -> Case:
    case = session.get(Case, case_id) if 0 < case_id <= MAX_ID else None
    if case is None or case.workflow != WORKFLOW or not can_view(actor, case.org):
        abort(404)
    return case


@bp.route("/hardship/<int:case_id>/attachments", methods=["GET", "POST"])
@login_required
@csrf.exempt
def upload(case_id: int) -> Any:
    """The materials of a case with an upload form per kind; POST stores one file."""
    actor = current_user.actor()
    if request.method == "POST":
        _raise_body_limit()
    errors: list[str] = []
    status = 200
    try:
        form = UploadForm()
        submitted = request.method == "POST"
    except RequestEntityTooLarge:
        form, submitted = UploadForm(formdata=None), False
        errors, status = [reason_message(_too_large().reasons[0])], 413
    if submitted:
        if not form.validate_on_submit():
            errors, status = [_("表单已过期或无效，请返回上一页刷新后重新提交。")], 400
        else:
            try:
                filename, content = _read_upload()
                with get_db().write() as session:
                    done = attach(session, get_engine(), case_id, actor, form.material.data, filename, content,
                                  store(), max_bytes())
                    name = done.attachment.filename
                flash(_("已上传：%(name)s", name=name), "success")
                return redirect(url_for("cases.show", case_id=case_id, _anchor="materials"))
            except RequestEntityTooLarge:
                errors, status = [reason_message(_too_large().reasons[0])], 413
            except NotFound:
                abort(404)
            except WorkflowError as err:
                errors, status = [reason_message(r) for r in err.reasons] or [error_payload(err)["error"]["message"]], \
                    status_of(err)
    return _upload_page(case_id, actor, form, errors, status)


def _upload_page(case_id: int, actor: Actor, form: UploadForm, errors: list[str], status: int) -> Any:
    with get_db().read() as session:
        case = _visible_case(session, case_id, actor)
        view = case_view(session, case, actor)
        definition = get_engine().definition_of(case)
    return render_template("hardship/upload.html", case=case, hv=view, errors=errors, definition=definition,
                           chosen=form.material.data or request.args.get("material", ""),
                           limit=size_text(max_bytes())), status


def _change_failed(err: WorkflowError, case_id: int | None) -> Any:
    """Back to the materials with the refusal, or the error page when there is no case to go back to."""
    messages = [reason_message(r) for r in err.reasons] or [error_payload(err)["error"]["message"]]
    if case_id is None:
        return render_template("errors/error.html", status=status_of(err), title=_("无法办理"),
                               message="；".join(messages)), status_of(err)
    return _upload_page(case_id, current_user.actor(), UploadForm(formdata=None), messages, status_of(err))


def _case_of(attachment_id: int) -> int | None:
    with get_db().read() as session:
        row = session.get(Attachment, attachment_id) if 0 < attachment_id <= MAX_ID else None
        return row.case_id if row is not None else None


@bp.post("/hardship/attachments/<int:attachment_id>/delete")
@login_required
def delete(attachment_id: int) -> Any:
    """Delete one upload (the blanket CSRF check guards this form) before the step that uses it."""
    case_id = _case_of(attachment_id)
    try:
        with get_db().write() as session:
            row = detach(session, get_engine(), attachment_id, current_user.actor())
            name, case_id = row.filename, row.case_id
    except NotFound:
        abort(404)
    except WorkflowError as err:
        return _change_failed(err, case_id)
    flash(_("已删除：%(name)s", name=name), "success")
    return redirect(url_for("cases.show", case_id=case_id, _anchor="materials"))


@bp.post("/hardship/attachments/<int:attachment_id>/replace")
@login_required
@csrf.exempt
def replace_file(attachment_id: int) -> Any:
    """Put a new file in place of an upload; the form checks its CSRF token itself (see `upload`)."""
    _raise_body_limit()
    case_id = _case_of(attachment_id)
    if case_id is None:
        abort(404)
    try:
        form = UploadForm()
        if not form.validate_on_submit():
            return _upload_page(case_id, current_user.actor(), UploadForm(formdata=None),
                                [_("表单已过期或无效，请返回上一页刷新后重新提交。")], 400)
        filename, content = _read_upload()
        with get_db().write() as session:
            done = replace(session, get_engine(), attachment_id, current_user.actor(), filename, content, store(),
                           max_bytes())
            name, case_id = done.attachment.filename, done.attachment.case_id
    except RequestEntityTooLarge:
        return _upload_page(case_id, current_user.actor(), UploadForm(formdata=None),
                            [reason_message(_too_large().reasons[0])], 413)
    except NotFound:
        abort(404)
    except WorkflowError as err:
        return _change_failed(err, case_id)
    flash(_("已替换为：%(name)s", name=name), "success")
    return redirect(url_for("cases.show", case_id=case_id, _anchor="materials"))


@bp.get("/hardship/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int) -> Any:
    try:
        with get_db().read() as session:
            return _download(session, current_user.actor(), attachment_id)
    except NotFound:
        abort(404)
    except WorkflowError as err:
        return render_template("errors/error.html", status=status_of(err), title=_("无权访问"),
                               message="；".join(reason_message(r) for r in err.reasons)), status_of(err)


# ---------------------------------------------------------------- the JSON API

@bp.post("/api/v1/cases/<int:case_id>/attachments")
@csrf.exempt
def api_upload(case_id: int) -> Response:
    """multipart/form-data: `material` and `file` → 201 the attachment (200 when it was there already)."""
    _raise_body_limit()
    return _api_upload(case_id)


@endpoint(write=True)
def _api_upload(session: Session, actor: Actor, case_id: int) -> Response:
    try:
        filename, content = _read_upload()
        material = request.form.get("material")
    except RequestEntityTooLarge:
        engine = get_engine()
        engine.load_for_update(session, case_id, actor)  # an unknown case stays unknown
        raise _too_large() from None
    done = attach(session, get_engine(), case_id, actor, material, filename, content, store(), max_bytes())
    return respond(attachment_json(done.attachment), 201 if done.created else 200)


@bp.get("/api/v1/cases/<int:case_id>/attachments")
@endpoint()
def api_list(session: Session, actor: Actor, case_id: int) -> Response:
    case = session.get(Case, case_id) if 0 < case_id <= MAX_ID else None
    if case is None or not can_view(actor, case.org):
        raise NotFound()
    personal = personal_kinds(get_engine().definition_of(case).extra)
    items = [attachment_json(a, may_download(actor, case, a.material, personal))
             for a in attachments_for(session, case.id)]
    return respond({"items": items, "may_upload": may_attach(actor, case)})


@bp.get("/api/v1/attachments/<int:attachment_id>")
@endpoint()
def api_download(session: Session, actor: Actor, attachment_id: int) -> Response:
    return _download(session, actor, attachment_id)
