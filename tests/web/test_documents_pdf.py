"""The PDF maker of the printable documents fetches nothing from the network: its URL fetcher serves the
application's own static files and refuses every other address, and a PDF's bytes depend only on the
document (the same HTML twice is the same file)."""
from __future__ import annotations

import hashlib

import pytest

from web import documents


def test_the_fetcher_serves_only_the_static_files(app):
    with app.test_request_context("/", base_url="http://unionflow.test/"):
        fetch = documents._fetcher().fetch
        css = fetch("http://unionflow.test/static/style.css")
        assert css.status == 200 and b"@media print" in css.read()
        for url in ("http://example.com/static/style.css",       # another host
                    "https://unionflow.test/static/style.css",    # another scheme
                    "file:///etc/passwd",
                    "http://unionflow.test/static/../__init__.py",  # out of the folder
                    "http://unionflow.test/static/%2e%2e/__init__.py",
                    "http://unionflow.test/static/missing.css",
                    "http://unionflow.test/cases/1"):             # a page, not a static file
            with pytest.raises(ValueError):
                fetch(url)


def test_the_same_document_is_the_same_file(app):
    html = ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>批复</title>'
            '<meta name="dcterms.created" content="2026-11-18">'
            '<link rel="stylesheet" href="/static/founding.css"><link rel="stylesheet" href="http://example.com/x.css">'
            '</head><body><article class="paper"><p class="docno">滨工复〔2026〕12号</p></article></body></html>')
    with app.test_request_context("/", base_url="http://unionflow.test/"):
        first, second = documents.render_pdf(html), documents.render_pdf(html)
    assert first.startswith(b"%PDF-") and hashlib.sha256(first).digest() == hashlib.sha256(second).digest()


def test_document_dates_in_each_language(app):
    with app.test_request_context("/?lang=en"):
        assert documents.doc_date("2026-11-18") == "18 November 2026"
    with app.test_request_context("/"):
        assert documents.doc_date("2026-01-09") == "2026年1月9日"
        assert documents.doc_date(None) == ""
