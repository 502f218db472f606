"""What entries and cases record is shown by its name: the audit entry pages and the case pages
label every recorded key, computed fact and enumerated value (in Chinese, and in English on request),
so that an auditor never reads `category_reason` or `illness`."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from audit import AuditEntry
from definitions import Definition
from web.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from web.templating import DefinitionLabels, labels_by_id
from workflow import Case

IDENTIFIER = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
USERNAMES = {u[0] for u in DEMO_USERS}


@pytest.fixture
def demo(app):
    assert "demo data loaded" in load_demo(app)
    return app


def signed_in(app, username: str):
    client = app.test_client()
    resp = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert resp.status_code == 302
    return client


def raw_names(html: str) -> set[str]:
    """Identifiers shown where a label (dt, th) or a value (dd, td, or one item of a list in them) belongs."""
    found = set()
    for tag, inner in re.findall(r"<(dt|th|dd|td)\b[^>]*>([^<]*)</\1>", html):
        parts = [inner.strip()] if tag in ("dt", "th") else re.split(r"[,，、;；]\s*", inner.strip())
        found |= {p for p in parts if IDENTIFIER.fullmatch(p) and p not in USERNAMES}
    return found


def entry_of(db, trigger: str, subject_type: str = "case") -> AuditEntry:
    with db.read() as session:
        return session.scalars(select(AuditEntry).where(AuditEntry.trigger == trigger,
                                                        AuditEntry.subject_type == subject_type)
                               .order_by(AuditEntry.seq)).first()


def text_of(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def first_shown(client, urls: list[str]) -> dict[str, str]:
    """Each identifier the pages show, with the first page that shows it."""
    shown: dict[str, str] = {}
    for url in urls:
        resp = client.get(url)
        assert resp.status_code == 200, url
        for name in raw_names(resp.get_data(as_text=True)):
            shown.setdefault(name, url)
    return shown


def test_no_entry_page_of_the_demonstration_shows_a_raw_key_or_value(demo, db):
    with db.read() as session:
        seqs = session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
    assert len(seqs) > 300
    assert first_shown(signed_in(demo, "admin"), [f"/audit/entries/{seq}" for seq in seqs]) == {}


def test_no_case_page_of_the_demonstration_shows_a_raw_key_or_value(demo, db):
    with db.read() as session:
        ids = session.scalars(select(Case.id).order_by(Case.id)).all()
    assert first_shown(signed_in(demo, "fed_wang"), [f"/cases/{case_id}" for case_id in ids]) == {}


def test_a_hardship_application_entry_reads_as_the_rules_name_it(demo, db):
    client = signed_in(demo, "admin")
    with db.read() as session:
        first = session.scalars(select(Case.id).where(Case.workflow == "hardship").order_by(Case.id)).first()
        entry = session.scalars(select(AuditEntry).where(AuditEntry.subject_type == "case",
                                                         AuditEntry.subject_id == str(first),
                                                         AuditEntry.trigger == "create")).one()
    data = json.loads(entry.data)
    computed = data["computed"]
    assert computed["category"] == 1 and data["causes"] == ["illness"]
    page = text_of(client.get(f"/audit/entries/{entry.seq}"))
    for text in ("帮扶类别 第一类：人均收入低于低保线150%", f"类别依据 {computed['category_reason']['zh']}",
                 f"家庭人均月收入（元） {computed['per_capita_income']}", "计入家庭人口的成员", "与申请人关系",
                 "本人", "配偶", "子女", "婚姻状况 已婚", "致困原因 患重大疾病", "困难职工档案表", "户口本复印件"):
        assert text in page, text
    english = text_of(client.get(f"/audit/entries/{entry.seq}?lang=en"))
    for text in ("Category 1: per-capita income within 150 % of the subsistence line", "Serious illness",
                 "Grounds of the category", computed["category_reason"]["en"], "Spouse"):
        assert text in english, text


def test_an_inspection_decision_names_its_result_and_grounds(demo, db):
    client = signed_in(demo, "admin")
    with db.read() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.trigger == "decide")
                                .order_by(AuditEntry.seq)).first()
    assert json.loads(entry.data)["computed"]["result"] == "failed"
    page = text_of(client.get(f"/audit/entries/{entry.seq}"))
    assert "验收结果 不合格" in page and "评定依据 一票否决：职工入会率低于95%" in page
    assert "veto_applied" not in page and "membership_below_95" not in page
    scored = entry_of(db, "self_assess")
    page = text_of(client.get(f"/audit/entries/{scored.seq}"))
    assert "有工会账户：独立的工会经费银行账户，单独建账核算" in page and "组织健全" in page
    evaluation = entry_of(db, "record_evaluation")
    assert "会员满意率 186 / 200" in text_of(client.get(f"/audit/entries/{evaluation.seq}"))


def test_organisation_and_user_entries_name_kinds_roles_and_union_status(demo, db):
    client = signed_in(demo, "admin")
    org = text_of(client.get(f"/audit/entries/{entry_of(db, 'create_org', 'org').seq}"))
    assert "类型 总工会" in org and "federation" not in org
    user = text_of(client.get(f"/audit/entries/{entry_of(db, 'create_user', 'user').seq}"))
    assert re.search(r"角色 (审核人|经办人|审计人员|系统管理员)", user)


# ---------------------------------------------------------------- the definitions' label sections

def test_every_label_section_a_definition_names_exists_and_labels_in_both_languages(engine):
    for name, d in engine.catalog.definitions.items():
        id_labels = d.extra.get("id_labels") or {}
        sections = [*id_labels.get("keys", ()), *(s for ss in (id_labels.get("values") or {}).values() for s in ss)]
        for section in sections:
            labels = labels_by_id(d.extra.get(section))
            assert labels, f"{name}: extra.{section} holds no labels"
            assert all(label["zh"] and label["en"] for label in labels.values()), f"{name}: extra.{section}"
        for key, label in (d.extra.get("fact_labels") or {}).items():
            assert label["zh"] and label["en"], f"{name}: fact_labels.{key}"
        for state, note in (d.extra.get("waiting_notes") or {}).items():
            assert not d.state(state).final, f"{name}: waiting_notes.{state} is a final state"
            assert "{org}" in note["zh"] and "{org}" in note["en"], f"{name}: waiting_notes.{state}"


def test_a_recorded_field_keeps_its_own_label_and_nested_keys_prefer_the_workflow(engine):
    inspection: Definition = engine.catalog.definitions["inspection"]
    labels = DefinitionLabels(inspection)
    assert labels.key("org")["zh"] == "组织健全"  # a dimension, inside the scores
    assert labels.value("vetoes_applied", "membership_below_95")["zh"] == "职工入会率低于95%"
    assert labels.value("result", "model")["zh"] == "模范"
    hardship = DefinitionLabels(engine.catalog.definitions["hardship"])
    assert hardship.key("marital_status").get("zh") == "婚姻状况"
    assert hardship.value("category", 3)["zh"].startswith("第三类")
    assert hardship.value("category", True) is None and hardship.value("causes", "nothing") is None
