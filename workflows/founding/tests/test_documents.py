"""The founding documents (候选人名单公示, the two 批复) as the union prints them: the 文号 the reviewer typed,
a 打印 button, a PDF made on the server that pdftotext reads back, its SHA-256 in the case's trail."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import update

from workflow import Case
from workflows.founding.tests.flow import (  # noqa: F401  (clock, app_config: fixtures)
    APPROVAL_NO,
    REPLY_NO,
    app_config,
    clock,
    walk,
)

PDFTOTEXT = shutil.which("pdftotext")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "documents"  # the PDFs, to look at
needs_pdftotext = pytest.mark.skipif(PDFTOTEXT is None, reason="poppler-utils' pdftotext is not installed")


@pytest.fixture
def browse(app):
    def as_user(user):
        client = app.test_client()
        resp = client.post("/login", data={"username": user.username, "password": "correct-horse-1"})
        assert resp.status_code == 302
        return client

    return as_user


@pytest.fixture
def case_at(make_case, fire, tree):
    def at(state: str, **overrides) -> int:
        case_id = make_case(tree["prep"], "founding")["id"]
        walk(fire, case_id, state, tree["prep"], tree["fed"], tree["fed_b"], **overrides)
        return case_id

    return at


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def pdf_text(pdf: bytes) -> str:
    """What pdftotext reads in the PDF, blank runs collapsed (a line break falls where the layout puts it)."""
    out = subprocess.run([PDFTOTEXT, "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    return re.sub(r"\s+", "", out.decode("utf-8"))


def issued_entries(api, who, case_id: int) -> list[dict]:
    return [e for e in api.get(f"/cases/{case_id}/audit", who).get_json()["entries"] if e["trigger"] == "issue_document"]


DOCUMENTS = {  # path: what the PDF must read (without blanks)
    "notice": ["公示", "关于大型企业第一届工会委员会", "工会委员会委员候选人（6人，应选5名）",
               "公示期为7天（含张贴当日），自2026年11月2日起至2026年11月8日止。", "大型企业工会筹备组", "（盖章）"],
    "reply/application": ["某区总工会", REPLY_NO, "关于同意大型企业筹建工会的批复", "经研究，同意你单位筹建工会。"],
    "reply/founding": ["某区总工会", APPROVAL_NO, "关于同意成立大型企业工会委员会的批复",
                       "成立日期为2026年11月10日", "请于2027年1月9日前依法办理工会法人资格登记"],
}


@needs_pdftotext
def test_each_document_is_a_pdf_with_its_text_and_its_hash_in_the_trail(api, browse, tree, case_at):
    case_id = case_at("founded")
    client = browse(tree["prep"])
    for path, phrases in DOCUMENTS.items():
        page = client.get(f"/cases/{case_id}/founding/{path}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "data-print" in html and ">打印</button>" in html and "print.js" in html
        assert f'href="/cases/{case_id}/founding/{path}.pdf"' in html
        assert "尚未下载过本文书的PDF" in plain(html)

        resp = client.get(f"/cases/{case_id}/founding/{path}.pdf")
        assert resp.status_code == 200 and resp.mimetype == "application/pdf"
        pdf = resp.get_data()
        assert pdf.startswith(b"%PDF-")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"founding-{path.replace('/', '-')}.pdf").write_bytes(pdf)
        text = pdf_text(pdf)
        for phrase in phrases:
            assert phrase in text, (path, phrase, text)
        assert "返回案件" not in text and "打印" not in text and "SHA-256" not in text  # the document alone

        digest = hashlib.sha256(pdf).hexdigest()
        assert resp.headers["X-Document-SHA256"] == digest
        entry = issued_entries(api, tree["prep"], case_id)[-1]
        filename = f"founding-{case_id}-{path.replace('/', '-')}.pdf"
        assert resp.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
        assert (entry["actor"], entry["from"], entry["to"]) == ("prep", "founded", "founded")
        assert {k: v for k, v in entry["data"].items() if k != "_digest"} == {
            "title": entry["data"]["title"], "filename": filename, "sha256": digest, "size": len(pdf)}
        # the page shows the hash its trail records
        assert digest in client.get(f"/cases/{case_id}/founding/{path}").get_data(as_text=True)

    # the same document again is the same file, recorded once; another user's copy too
    again = browse(tree["fed"]).get(f"/cases/{case_id}/founding/reply/founding.pdf").get_data()
    assert hashlib.sha256(again).hexdigest() == issued_entries(api, tree["prep"], case_id)[-1]["data"]["sha256"]
    assert len(issued_entries(api, tree["prep"], case_id)) == 3
    # issuing changes nothing of the case: its version and the trail still verify
    assert api.get(f"/cases/{case_id}", tree["prep"]).get_json()["state"] == "founded"
    assert api.get("/audit/verify", tree["auditor"]).get_json()["ok"] is True


def test_a_document_of_an_unseen_case_is_404_and_not_recorded(api, browse, tree, case_at):
    case_id = case_at("founded")
    for user in ("fed2", "prep_x"):
        assert browse(tree[user]).get(f"/cases/{case_id}/founding/reply/founding.pdf").status_code == 404
        assert browse(tree[user]).get(f"/cases/{case_id}/founding/notice.pdf").status_code == 404
    assert browse(tree["prep"]).get(f"/cases/{case_id}/founding/reply/other.pdf").status_code == 404
    assert issued_entries(api, tree["prep"], case_id) == []


def test_no_pdf_before_the_decision(browse, tree, case_at):
    case_id = case_at("applied")
    client = browse(tree["prep"])
    for path in ("notice.pdf", "reply/application.pdf", "reply/founding.pdf"):
        assert client.get(f"/cases/{case_id}/founding/{path}").status_code == 404


@pytest.mark.parametrize("field, trigger, state", [("reply_no", "approve_application", "applied"),
                                                    ("approval_no", "sanction", "results_submitted")])
def test_the_document_number_is_required_and_at_most_40_characters(api, tree, case_at, fire, field, trigger, state):
    case_id = case_at(state)
    reviewer = tree["fed"] if trigger == "approve_application" else tree["fed_b"]
    number, longer = ("滨工复〔2026〕" + "1" * n + "号" for n in (30, 31))
    assert (len(number), len(longer)) == (40, 41)
    for bad, problem in (("", "必填项"), ("   ", "必填项"), (longer, "不能超过40个字符")):
        error = fire(reviewer, case_id, trigger, {field: bad}, expect=400)["error"]
        assert error["fields"] == {field: problem}, bad
    refused = fire(reviewer, case_id, trigger, {}, expect=400)["error"]
    assert refused["fields"] == {field: "必填项"}
    done = fire(reviewer, case_id, trigger, {field: number})
    entry = api.get(f"/cases/{case_id}/audit", tree["prep"]).get_json()["entries"][-1]
    assert done["state"] != state and entry["data"][field] == number  # in the step's hashed data, as typed


def test_the_step_form_asks_for_the_number_and_prints_it_as_typed(browse, tree, case_at):
    case_id = case_at("applied")
    client = browse(tree["fed"])
    form = client.get(f"/cases/{case_id}/founding/approve_application").get_data(as_text=True)
    assert "批复文号" in form and 'name="f_reply_no"' in form
    version = re.search(r'name="version"[^>]*value="(\d+)"', form) or re.search(r'value="(\d+)"[^>]*name="version"', form)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    sent = {"f_reply_no": "  滨工复〔2026〕7号 ", "comment": "同意筹建", "fire": "1"}
    if version:
        sent["version"] = version.group(1)
    if token:
        sent["csrf_token"] = token.group(1)
    resp = client.post(f"/cases/{case_id}/founding/approve_application", data=sent)
    assert resp.status_code in (302, 303), plain(resp.get_data(as_text=True))[:1500]
    text = plain(client.get(f"/cases/{case_id}/founding/reply/application").get_data(as_text=True))
    assert "滨工复〔2026〕7号" in text and "未填写文号" not in text


def test_a_reply_decided_before_the_number_was_asked_prints_none(api, browse, db, tree, make_case, fire):
    prep = tree["prep"]
    case_id = make_case(prep, "founding")["id"]
    with db.write() as session:  # opened under version 2, whose approval took no number
        session.execute(update(Case).where(Case.id == case_id).values(definition_version="2"))
    walk(fire, case_id, "approved", prep, tree["fed"], approve_application={})
    assert api.get(f"/cases/{case_id}", prep).get_json()["definition_version"] == "2"
    text = plain(browse(prep).get(f"/cases/{case_id}/founding/reply/application").get_data(as_text=True))
    assert "（未填写文号）" in text and "筹复〔" not in text and "本批复办理时未登记文号" in text


def test_the_english_notice_reads_as_sentences(browse, tree, case_at):
    case_id = case_at("candidates_submitted")
    text = plain(browse(tree["prep"]).get(f"/cases/{case_id}/founding/notice?lang=en").get_data(as_text=True))
    assert "1. Candidates for union committee member (6, for 5 seats)" in text
    assert "2. Candidates for union chair (1)" in text
    assert "The notice stands for 7 days, counting the day it was posted, from 2 November 2026 to 8 November 2026." in text
    for broken in ("一、", "memberCandidates", "年", "月", "日to"):
        assert broken not in text, broken


def test_the_english_reply_reads_as_sentences(browse, tree, case_at):
    case_id = case_at("founded")
    text = plain(browse(tree["prep"]).get(f"/cases/{case_id}/founding/reply/founding?lang=en").get_data(as_text=True))
    assert ("We approve comrade 张伟 as the union chair, comrades 张伟, 王芳, 李娜, 刘洋, 陈静 as members of the union "
            "committee, comrade 赵敏 as a member of the funds audit committee and comrade 周婷 as a member of the "
            "women workers' committee.") in text
    assert "founded on 10 November 2026" in text and "by 9 January 2027" in text
    assert "；" not in text and "。" not in text
