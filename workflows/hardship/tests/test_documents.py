"""The hardship 公示 as the union prints it: laid out as the founding notices, its period in words that
count as the rule counts (five working days after the day of posting), a 打印 button, a PDF made on the
server that pdftotext reads back, its SHA-256 in the case's trail."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from workflows.hardship.tests.support import (  # noqa: F401  (fixtures)
    application,
    clock,
    config_for,
    founded,
    walk,
)

PDFTOTEXT = shutil.which("pdftotext")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "documents"


@pytest.fixture
def app_config(app_config, clock, tmp_path):
    return config_for(app_config, clock, tmp_path)


@pytest.fixture
def login(app):
    def make(username: str):
        client = app.test_client()
        resp = client.post("/login", data={"username": username, "password": "correct-horse-1"})
        assert resp.status_code == 302
        return client

    return make


def plain(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def posted_on_a_thursday(api, fire, founded, clock) -> dict:
    """Reviewed on Monday 2026-11-02, posted on Thursday 2026-11-05: the counted days are Friday 11-06 and
    the four working days of the next week, to Thursday 11-12."""
    case = walk(api, fire, founded, clock, "reviewed", application())
    clock.today = date(2026, 11, 5)
    fire(founded["ent_rev"], case["id"], "start_posting", {"posted_on": "2026-11-05"})
    return case


PERIOD = "公示期为5个工作日（自张贴次日起计算，公休日和法定节假日不计），自2026年11月6日起至2026年11月12日止。"


def test_the_notice_page_prints_and_states_the_period_as_it_is_counted(login, founded, api, fire, clock):
    case = posted_on_a_thursday(api, fire, founded, clock)
    resp = login("ent_rev").get(f"/hardship/{case['id']}/notice")
    html = resp.get_data(as_text=True)
    assert ">打印</button>" in html and "data-print" in html and f'href="/hardship/{case["id"]}/notice.pdf"' in html
    # as the founding notices: the serif paper, a title, the seal line
    assert 'class="paper"' in html and "founding.css" in html and '<span class="seal">' in html
    text = plain(resp)
    assert PERIOD in text and "大型企业工会 2026年11月5日 （盖章）" in text
    # the rule agrees: submitted on the 5th working day counted, not before
    clock.today = date(2026, 11, 11)
    refused = fire(founded["ent_rev"], case["id"], "submit_to_federation", comment="公示期满无异议", expect=422)
    assert refused["error"]["reasons"][0]["code"] == "posting_period_not_elapsed"
    clock.today = date(2026, 11, 12)
    fire(founded["ent_rev"], case["id"], "submit_to_federation", comment="公示期满无异议")


@pytest.mark.skipif(PDFTOTEXT is None, reason="poppler-utils' pdftotext is not installed")
def test_the_notice_pdf_reads_back_and_its_hash_is_in_the_trail(login, founded, api, fire, clock):
    case = posted_on_a_thursday(api, fire, founded, clock)
    client = login("ent_rev")
    resp = client.get(f"/hardship/{case['id']}/notice.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    pdf = resp.get_data()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "hardship-notice.pdf").write_bytes(pdf)
    out = subprocess.run([PDFTOTEXT, "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    text = re.sub(r"\s+", "", out.decode("utf-8"))
    for phrase in ("公示", "困难职工帮扶对象公示", "王芳", "大型企业", "第一类", PERIOD, "大型企业工会", "2026年11月5日",
                   "（盖章）"):
        assert phrase in text, (phrase, text)
    assert "打印" not in text and "SHA-256" not in text
    digest = hashlib.sha256(pdf).hexdigest()
    entries = [e for e in api.get(f"/cases/{case['id']}/audit", founded["ent_rev"]).get_json()["entries"]
               if e["trigger"] == "issue_document"]
    assert [(e["data"]["filename"], e["data"]["sha256"], e["data"]["size"]) for e in entries] == [
        (f"hardship-{case['id']}-notice.pdf", digest, len(pdf))]
    assert digest in client.get(f"/hardship/{case['id']}/notice").get_data(as_text=True)
    # the same notice again: the same file, recorded once
    assert hashlib.sha256(client.get(f"/hardship/{case['id']}/notice.pdf").get_data()).hexdigest() == digest
    assert len([e for e in api.get(f"/cases/{case['id']}/audit", founded["ent_rev"]).get_json()["entries"]
                if e["trigger"] == "issue_document"]) == 1
    assert login("prep_x").get(f"/hardship/{case['id']}/notice.pdf").status_code == 404


def test_the_english_notice_reads_as_sentences(login, founded, api, fire, clock):
    case = posted_on_a_thursday(api, fire, founded, clock)
    text = plain(login("ent_rev").get(f"/hardship/{case['id']}/notice?lang=en"))
    assert ("The notice stands for 5 working days, counted from the day after it was posted, weekends and public "
            "holidays not counted: from 6 November 2026 to 12 November 2026.") in text
    assert "Trade union of 大型企业 5 November 2026 (seal)" in text
    for broken in ("年", "月", "日", "to2026", "起至"):
        assert broken not in text, broken
