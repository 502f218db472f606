"""The printable documents (公示, 批复) as PDF files made on the server, and their hashes in the case's trail.

A document's print view and its PDF are one template: rendered with `pdf=True` it extends `_paper.html`
(the document alone, without the page's navigation, toolbar and the list of issued copies) instead of
`base.html`, and WeasyPrint lays it out with the same stylesheets, for print media. Nothing is fetched
from the network: the URL fetcher serves the application's own static files and refuses every other
address. The file is the same for the same document (its creation date is the document's business date),
so the SHA-256 that `Engine.issue_document` records in the case's trail when it is downloaded is the hash
of every copy issued of it; the print view shows the recorded hashes, so a copy can be checked.
"""
from __future__ import annotations

import hashlib
import mimetypes
from datetime import date
from pathlib import Path
from typing import Any, Mapping, Sequence
from urllib.parse import unquote, urlsplit

from flask import Response, current_app, render_template, request
from flask_login import current_user
from werkzeug.security import safe_join

from web.extensions import get_db, get_engine
from web.i18n import lang
from workflow import DOCUMENT_ISSUED

PDF = "application/pdf"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def doc_date(value: date | str | None) -> str:
    """A document's date: 2026年11月18日 in Chinese, 18 November 2026 in English."""
    if value is None or value == "":
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    if lang() == "en":
        return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


def _fetcher() -> Any:
    """A WeasyPrint URL fetcher that serves this application's static files and nothing else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    root = urlsplit(request.host_url)
    prefix = (current_app.static_url_path or "/static").rstrip("/") + "/"
    folder = current_app.static_folder

    class StaticOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            path = unquote(parts.path)
            if (parts.scheme, parts.netloc) != (root.scheme, root.netloc) or not path.startswith(prefix) \
                    or folder is None:
                raise ValueError(f"not fetched: {url}")
            found = safe_join(folder, path[len(prefix):])
            if found is None or not Path(found).is_file():
                raise ValueError(f"not fetched: {url}")
            kind = mimetypes.guess_type(found)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=Path(found).read_bytes(), headers={"Content-Type": kind})

    return StaticOnly()


def render_pdf(html: str) -> bytes:
    """The PDF of a document's HTML, its relative addresses resolved against this application."""
    from weasyprint import HTML

    return bytes(HTML(string=html, base_url=request.host_url, url_fetcher=_fetcher()).write_pdf())


def issued(entries: Sequence[Mapping[str, Any]], filename: str) -> list[Mapping[str, Any]]:
    """The trail's entries (as `web.present.entry_json` gives them) recording copies of this file issued."""
    return [e for e in entries if e.get("trigger") == DOCUMENT_ISSUED and (e.get("data") or {}).get("filename") == filename]


def send(case_id: int, template: str, context: Mapping[str, Any], title: str, filename: str,
         day: date | None) -> Response:
    """Render the document as PDF, record its issue in the case's trail (once per distinct file) and send it."""
    html = render_template(template, **context, pdf=True, pdf_title=title, pdf_created=day.isoformat() if day else "")
    pdf = render_pdf(html)
    digest = hashlib.sha256(pdf).hexdigest()
    with get_db().write() as session:
        get_engine().issue_document(session, case_id, current_user.actor(), title, filename, digest, len(pdf))
    response = Response(pdf, mimetype=PDF)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Document-SHA256"] = digest
    response.headers["Cache-Control"] = "no-store"
    return response
