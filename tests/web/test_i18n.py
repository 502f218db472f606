"""Chinese by default, English by choice: the catalogue is complete and compiled, the switch is
remembered, Accept-Language is honoured, the `lang` attribute follows, times are Shanghai's."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from babel.messages.catalog import Catalog
from sqlalchemy import update

from web import i18n_catalog
from workflow import Case

from .ui_support import login, text_of


def test_every_text_of_the_pages_has_an_english_translation_and_the_mo_is_current():
    problems = i18n_catalog.check()
    assert not problems, "run `python -m web.i18n_catalog` and translate:\n  " + "\n  ".join(problems[:40])


def test_extraction_reads_python_and_templates():
    found = {m.id for m in i18n_catalog.extract() if m.id}
    assert "待我办理" in found  # web/pages.py, gettext
    assert "请输入用户名" in found  # web/auth.py, lazy_gettext
    assert "您好，%(name)s" in found  # templates/home.html
    assert "第 %(p)s / %(n)s 页，共 %(t)s 条" in found  # a macro


def test_merging_keeps_translations_drops_the_unused_and_compiles(tmp_path, monkeypatch):
    po, mo = tmp_path / "messages.po", tmp_path / "messages.mo"
    old = Catalog(locale="en")
    old.add("保留", "Kept")
    old.add("不再使用", "Gone")
    old.add("改过的文本", "Changed text")
    po.write_bytes(i18n_catalog.po_bytes(old))
    template = Catalog()
    for msgid in ("保留", "新增", "改过的文本！"):
        template.add(msgid, locations=[("x.py", 1)])
    monkeypatch.setattr(i18n_catalog, "extract", lambda root=None: template)
    merged = i18n_catalog.update(po, mo)
    assert i18n_catalog.translations(merged) == {"保留": "Kept"}
    assert set(i18n_catalog.missing(merged)) == {"新增", "改过的文本！"}  # never fuzzy-matched to "改过的文本"
    assert i18n_catalog.read_compiled(mo) == {"保留": "Kept"}
    assert any("no English text: '新增'" in p for p in i18n_catalog.check(po, mo))


def test_a_stale_mo_is_found(tmp_path, monkeypatch):
    po, mo = tmp_path / "messages.po", tmp_path / "messages.mo"
    template = Catalog()
    template.add("保留", locations=[("x.py", 1)])
    monkeypatch.setattr(i18n_catalog, "extract", lambda root=None: template)
    catalog = Catalog(locale="en")
    catalog.add("保留", "Kept")
    po.write_bytes(i18n_catalog.po_bytes(catalog))
    mo.write_bytes(i18n_catalog.mo_bytes(catalog))
    assert i18n_catalog.check(po, mo) == []
    catalog.get("保留").string = "Kept, edited"
    po.write_bytes(i18n_catalog.po_bytes(catalog))
    assert any("does not match" in p for p in i18n_catalog.check(po, mo))


def test_a_translation_must_keep_its_placeholders(tmp_path, monkeypatch):
    po, mo = tmp_path / "messages.po", tmp_path / "messages.mo"
    template = Catalog()
    template.add("您好，%(name)s", locations=[("x.py", 1)], flags=["python-format"])
    monkeypatch.setattr(i18n_catalog, "extract", lambda root=None: template)
    catalog = Catalog(locale="en")
    catalog.add("您好，%(name)s", "Hello, %(nom)s", flags=["python-format"])
    po.write_bytes(i18n_catalog.po_bytes(catalog))
    mo.write_bytes(i18n_catalog.mo_bytes(catalog))
    assert any("placeholder" in p or "nom" in p for p in i18n_catalog.check(po, mo))


def _lang(resp) -> str:
    return re.search(r'<html lang="([^"]+)"', resp.get_data(as_text=True)).group(1)


def test_chinese_by_default(client, tree):
    resp = client.get("/login")
    assert _lang(resp) == "zh-CN" and "登录" in text_of(resp)


@pytest.mark.parametrize("header, lang", [("en-US,en;q=0.9", "en"), ("en", "en"), ("zh-CN,zh;q=0.9,en;q=0.5", "zh-CN"),
                                          ("zh-TW", "zh-CN"), ("fr-FR", "zh-CN")])
def test_accept_language_is_honoured(client, tree, header, lang):
    assert _lang(client.get("/login", headers={"Accept-Language": header})) == lang


def test_the_switch_is_remembered_for_the_session(client, tree):
    english = client.get("/login?lang=en")
    assert _lang(english) == "en" and "Sign in" in text_of(english)
    assert _lang(client.get("/login")) == "en"
    assert _lang(client.get("/login", headers={"Accept-Language": "zh-CN"})) == "en"  # the choice wins
    login(client, "prep")
    home = client.get("/")
    assert _lang(home) == "en" and "Hello" in text_of(home)
    assert _lang(client.get("/?lang=zh_CN")) == "zh-CN" and _lang(client.get("/")) == "zh-CN"
    assert _lang(client.get("/?lang=klingon")) == "zh-CN"


def test_the_switch_keeps_the_page_and_its_filters(client, tree):
    login(client, "prep")
    page = client.get("/cases?workflow=sample&state=draft").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)" lang="en"', page).group(1).replace("&amp;", "&")
    assert link.startswith("/cases?") and "workflow=sample" in link and "state=draft" in link and "lang=en" in link


def test_labels_states_triggers_and_reasons_in_english(client, tree, make_case, fire):
    case = make_case(tree["prep_m"], "sample")
    fire(tree["prep_m"], case["id"], "submit", {"amount": 10})
    login(client, "town")
    text = text_of(client.get(f"/cases/{case['id']}?lang=en"))
    for english in ("Submitted", "Submit", "Approve", "Return", "Cannot be done now", "Workflow diagram", "History",
                    "Preparer", "Reviewer"):
        assert english in text, english
    for chinese in ("已提交", "办理记录", "暂不能办理", "流程图"):
        assert chinese not in text, chinese


def test_times_are_shown_in_shanghai(client, tree, make_case, db):
    case = make_case(tree["prep"], "sample")
    with db.write() as session:
        session.execute(update(Case).where(Case.id == case["id"]).values(updated_at=datetime(2026, 6, 30, 16, 5)))
    login(client, "prep")
    assert "2026-07-01 00:05" in text_of(client.get("/cases"))


def test_texts_inside_f_strings_are_found(tmp_path):
    source = tmp_path / "chart.py"
    source.write_text(
        "from flask_babel import gettext as _\n"
        "def label(n):\n"
        "    return f'<text>{_(\"暂无数据\")} {n}</text>' + f\"{_('目标')}\" + _('普通')\n",
        encoding="utf-8")
    assert i18n_catalog.fstring_messages(source) == [(3, "暂无数据"), (3, "目标")]
