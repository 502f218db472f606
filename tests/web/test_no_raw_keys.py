"""No raw key reaches a person: every page of the demonstration, in every role and in both languages,
shows states, steps, fields, reasons, materials and organisations by their labels and names.

The walk signs in as each kind of user of the demo (every preparer, a reviewer of each level, the auditor,
the administrator), follows every link it finds from the home page on (the navigation, the lists, each
case page, its step forms, the documents, the reports, the audit explorer and an entry of every kind, the
admin pages), sends forms that are refused (so that the error messages are read too), and fails on any
raw key `tests.support_rawkeys` finds in what the pages show. The reports' xlsx is read as well.
"""
from __future__ import annotations

import io
import re
from collections import defaultdict
from datetime import timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from audit import AuditEntry
from tests.support_rawkeys import CODE_LABEL, PO, RawKeys, english_words
from web.demo import DEMO_PASSWORD, load_demo
from workflow import Case, Organisation

# every kind of user the demo has: its preparers, a reviewer of each level (enterprise union, community,
# town, federation), the auditor, the administrator
ROLES = ["prep_logi", "prep_prec", "prep_soft", "prep_cafe", "prep_food", "prep_d1", "prep_d2", "prep_d3", "prep_d4",
         "prep_d5", "union_prec", "com_chen", "town_zhao", "fed_li", "fed_wang", "auditor", "admin"]
# pages of one kind (endpoint and query keys) read at most this often per person: lists paged and filtered
PER_KIND = 6
# downloads, and what is not a page
SKIP = re.compile(r"^/(logout|static/|favicon|api/|health|cases/new/sample)|/export\.|\.(csv|xlsx|jsonl|json)(\?|$)|"
                  r"/attachments/\d+$|[?&]lang=")
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def demo(app):
    assert "demo data loaded" in load_demo(app)
    return app


@pytest.fixture
def keys(demo):
    return RawKeys.for_app(demo)


def signed_in(app, username: str, lang: str):
    client = app.test_client()
    resp = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert resp.status_code == 302, username
    client.get(f"/?lang={lang}")  # remembered for the session
    return client


def _kind(app, url: str) -> tuple[str, frozenset[str]]:
    """A page's kind: its endpoint with the arguments that are not ids (a step's trigger, a document's kind),
    and the names of its query's keys."""
    parts = urlsplit(url)
    try:
        endpoint, args = app.url_map.bind("localhost").match(parts.path, method="GET")
        endpoint += "".join(f" {v}" for k, v in sorted(args.items()) if not k.endswith("id") and k != "seq")
    except Exception:  # noqa: BLE001 - a link the app does not route is still read (and fails on its status)
        endpoint = parts.path
    return endpoint, frozenset(k.split("=")[0] for k in parts.query.split("&") if k)


def walk(app, client, start: list[str]) -> dict[str, str]:
    """Every page reachable from `start` by links (lists and filters sampled), with its HTML, by URL."""
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
        if url not in start:  # every case is read; of its steps and documents, and of lists, a few of each kind
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


def _application(id_number: str) -> dict[str, Any]:
    """The hardship application form as a browser posts it: three people, the applicant's ID as given."""
    out: dict[str, Any] = {"applicant_name": "测试职工", "applicant_id_number": id_number, "marital_status": "married",
                           "causes": ["illness"], "materials": ["archive_form", "income_proof"],
                           "out_of_pocket_medical": "0", "disaster_loss": "0", "action": "submit"}
    for i, (name, relation, income) in enumerate([("测试职工", "self", "900"), ("配偶", "spouse", "0"),
                                                   ("子女", "child", "0")]):
        out.update({f"household-{i}-name": name, f"household-{i}-relation": relation,
                    f"household-{i}-id_number": id_number if relation == "self" else "",
                    f"household-{i}-monthly_income": income})
    return out


def refusals(app, db) -> dict[str, list[tuple[str, dict[str, Any] | None]]]:
    """Forms each person sends that are refused (one upload is kept), so that the messages are read too;
    None: a GET whose query is answered with a message (a filter that finds nothing)."""
    engine = app.extensions["unionflow.engine"]
    with db.read() as session:
        case = {(w, s): i for i, w, s in session.execute(select(Case.id, Case.workflow, Case.state)
                                                         .order_by(Case.id.desc()))}
        version = {i: v for i, v in session.execute(select(Case.id, Case.version))}
        town = session.scalar(select(Organisation.id).where(Organisation.code == "TOWN-SQ"))
    tomorrow = (engine.today() + timedelta(days=1)).isoformat()
    checklist = engine.catalog.definition("inspection").extra["checklist"]
    draft, applied, assisted = (case[("hardship", s)] for s in ("draft", "applied", "assisted"))
    current = {"version": str(version[assisted])}  # the form is not stale: the state refuses the step
    return {
        "prep_prec": [
            ("/hardship/new", _application("330102198503120000")),  # a wrong check character
            (f"/hardship/{draft}/attachments", {"material": "diagnosis", "file": (io.BytesIO(PDF), "诊断证明.pdf")}),
            (f"/hardship/{draft}/attachments", {"material": "income_proof", "file": (io.BytesIO(b"x"), "收入.pdf")}),
            (f"/cases/{assisted}/steps/submit", current),  # long since submitted
            ("/cases/new/inspection", {"f_year": str(engine.today().year)}),  # this year's is there
        ],
        "prep_cafe": [
            (f"/cases/{case[('founding', 'group_formed')]}/founding/apply", {"decided_on": tomorrow}),
            ("/cases/new/founding", {}),  # its founding case is open
        ],
        "prep_d3": [
            (f"/cases/{case[('founding', 'members_recruited')]}/founding/nominate",
             {"committee_seats": "99", "audit_seats": "0", "women_seats": "0", "posted_on": tomorrow,
              "candidates-0-name": "甲", "candidates-0-stands": ["committee", "chair"]}),
        ],
        "union_prec": [
            (f"/cases/{applied}/steps/approve_review", {"version": "0"}),  # a stale form
            (f"/cases/{assisted}/steps/approve_review", current),
        ],
        "fed_li": [
            (f"/cases/{assisted}/steps/recheck",
             {"f_marital_status": "married", "f_household": '[{"name": "甲", "relation": "cousin"}, {"id_number": 7}]',
              "f_amount": "-1"}),
            (f"/inspection/cases/{case[('inspection', 'rectifying')]}/reinspect",
             {f"score_{item['id']}": "99" for item in checklist}),
            ("/review?org=没有这个单位", None),
            ("/cases?org=海城", None),
        ],
        "admin": [
            ("/admin/orgs", {"f_code": "FED-HC", "f_name": "重复", "f_kind": "town", "f_parent": "FED-HC"}),
            ("/admin/orgs", {"f_code": "ENT-NEW", "f_name": "新企业", "f_kind": "enterprise", "f_parent": "FED-HC",
                             "f_employees": "5", "f_female_employees": "9", "f_credit_code": "91330100MA2000000X"}),
            (f"/admin/orgs/{town}/move", {"f_parent": "COM-QL", "f_confirm": "y"}),
            ("/admin/users", {"f_username": "prep_logi", "f_role": "preparer", "f_org": "NO-SUCH", "f_password": "x"}),
            ("/audit/?trigger=no_such_step&subject=nothing", None),
        ],
    }


def send(client, path: str, data: dict[str, Any] | None) -> str:
    if data is None:
        resp = client.get(path, follow_redirects=True)
    else:
        files = any(isinstance(v, tuple) for v in data.values())
        resp = client.post(path, data=data, follow_redirects=True,
                           content_type="multipart/form-data" if files else None)
    assert resp.status_code < 500 and resp.content_type.startswith("text/html"), (path, resp.status_code)
    return resp.get_data(as_text=True)


def entries_of_every_kind(db) -> list[str]:
    """One audit entry page of each subject type and trigger (the first of each)."""
    with db.read() as session:
        seqs = session.scalars(select(func.min(AuditEntry.seq)).group_by(AuditEntry.subject_type,
                                                                          AuditEntry.trigger)).all()
    return [f"/audit/entries/{seq}" for seq in sorted(seqs)]


def report(found: dict[str, list]) -> str:
    """Each raw key once (an organisation's code once per kind of page), with the first page showing it."""
    first: dict[tuple[str, str], str] = {}
    for where, findings in found.items():
        shape = re.sub(r"\d+", "N", where.split(" ", 1)[1].split("?")[0])
        for f in findings:
            first.setdefault((f.kind, f.key if f.kind != "org" else shape), f"{where}: {f}")
    return "\n".join(sorted(first.values()))


@pytest.mark.parametrize(("html", "lang", "raw"), [
    ("<p>当前状态（assisted）下不能执行此操作</p>", "zh", ["assisted"]),
    ("<p>“张三”的身份证号（applicant.id_number）无效</p>", "zh", ["applicant.id_number"]),
    ("<p>household[1].id_number：必填项</p>", "zh", ["household[1].id_number"]),
    ("<dl><dt>材料</dt><dd>diagnosis</dd></dl>", "zh", ["diagnosis"]),
    ("<p>操作 批复同意筹建 <code>approve_application</code></p>", "zh", ["approve_application"]),
    ("<p>上级组织 — → TOWN-SQ</p>", "zh", ["TOWN-SQ"]),
    ("<p>对象 单位 91330100MA2000008H</p>", "zh", ["91330100MA2000008H"]),
    ("<table><tr><th>单位</th></tr><tr><td>FED-HC</td></tr></table>", "zh", ["FED-HC"]),
    ("<table><tr><th>组织代码</th></tr><tr><td>FED-HC</td></tr></table>", "zh", []),  # labelled as a code
    ("<td data-label='组织代码'>FED-HC</td>", "zh", []),
    ("<p>海城区总工会（组织代码 FED-HC）</p>", "zh", []),
    ("<p>统一社会信用代码 91330100MA2000008H</p>", "zh", []),
    ("<p>This cannot be done in the current state (Assisted)</p>", "en", []),
    ("<p>The application was approved</p>", "en", []),  # a one-word key reads as English there
    ("<p>Step approve_review</p>", "en", ["approve_review"]),
    ("<p>已批准</p><script>var s = 'approve_review';</script><a title='FED-HC' href='/x?state=assisted'>案件</a>",
     "zh", []),
    ("<textarea>[{\"relation\": \"self\"}]</textarea><p>诊断证明.pdf 由 prep_logi 上传</p>", "zh", []),
])
def test_the_detector_finds_keys_in_the_text_people_read(catalog, html, lang, raw):
    keys = RawKeys.of(catalog, orgs=[("FED-HC", None), ("TOWN-SQ", None), ("ENT-LOGI", "91330100MA2000008H")],
                      allowed={"prep_logi"}, english=english_words(PO, catalog))
    assert [f.key for f in keys.find(html, lang)] == raw


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_no_page_of_the_demonstration_shows_a_raw_key(demo, db, keys, lang):
    with db.read() as session:
        case_pages = [f"/cases/{i}" for i in session.scalars(select(Case.id).order_by(Case.id))]
    forms = refusals(demo, db)
    found: dict[str, list] = {}
    read = 0
    for username in ROLES:
        client = signed_in(demo, username, lang)
        sent = {f"{path} (sent)": send(client, path, data) for path, data in forms.get(username, [])}
        start = ["/"] + case_pages + (entries_of_every_kind(db) if username in ("auditor", "admin") else [])
        pages = {**walk(demo, client, start), **sent}
        read += len(pages)
        for url, html in pages.items():
            findings = keys.find(html, lang[:2])
            if findings:
                found[f"{username} {url}"] = findings
    assert read > 600
    assert not found, "raw keys shown:\n" + report(found)


def codes_in_workbook(data: bytes, codes: set[str]) -> list[tuple[str, str, str]]:
    """(sheet, column header, value) of each cell showing an organisation's code outside a column labelled as
    one (组织代码, 统一社会信用代码), and in the 合计 row anywhere: a total is no organisation's row."""
    shown = []
    for sheet in load_workbook(io.BytesIO(data)):
        header: list[str] = []
        for row in sheet.iter_rows(values_only=True):
            cells = ["" if v is None else str(v) for v in row]
            if "序号" in cells:
                header = cells
                continue
            total = "合计" in cells
            for column, value in enumerate(cells):
                label = header[column] if column < len(header) else ""
                if value in codes and (total or not CODE_LABEL.search(label)):
                    shown.append((sheet.title, label, value))
    return shown


def test_the_reports_workbook_names_organisations_and_labels_their_codes(demo, db, keys):
    client = signed_in(demo, "fed_li", "zh_CN")
    resp = client.get("/reports/FED-HC/coverage.xlsx")
    assert resp.status_code == 200
    assert codes_in_workbook(resp.data, keys.codes) == []
    # the detector itself: a total row with the federation's code is found
    assert codes_in_workbook(_workbook([["序号", "组织代码", "单位名称"], [1, "TOWN-SQ", "石桥镇工会"],
                                        ["", "FED-HC", "合计"]]), keys.codes) == [("Sheet", "组织代码", "FED-HC")]


def _workbook(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_apis_messages_name_states_and_fields_by_their_labels(demo, db, keys, lang):
    """The JSON API keeps the codes in `code`, `reasons[].code` and the keys of `fields`; its sentences
    (`message`, each reason's) use the labels."""
    from services.accounts import find_user, issue_token

    with db.write() as session:
        token = issue_token(session, find_user(session, "union_prec"), "test")
        assisted = session.scalar(select(Case.id).where(Case.workflow == "hardship", Case.state == "assisted"))
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": lang}
    client = demo.test_client()
    resp = client.post(f"/api/v1/cases/{assisted}/events", json={"trigger": "approve_review"}, headers=headers)
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_state" and error["reasons"][0]["params"]["state"] == "assisted"
    assert ("帮扶对象" if lang == "zh-CN" else "Assisted") in error["message"]
    sentences = " ".join([error["message"], *(r["message"] for r in error["reasons"])])
    assert keys.find(f"<p>{sentences}</p>", lang[:2]) == []
