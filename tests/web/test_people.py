"""People by their real name and organisation: in the audit explorer and its entries, the home pages and the
case pages of the demonstration (the founding progress list, the inspection history); one query for the
people of a page; and the explorer's count agreeing with verification's."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, func, select

from audit import AuditEntry
from services.accounts import find_user, update_user
from services.people import people_named
from web.demo import DEMO_PASSWORD, load_demo
from web.demo import real_name as demo_real_name
from workflow import Case

from .ui_support import login, text_of


@pytest.fixture
def named(tree, make_case, fire, db):
    """`fed` is 李敏 of 某区总工会; `prep` has no real name; a case of ENT-L submitted and approved."""
    with db.write() as session:  # as an administrator names a user: audited, so the trail stays whole
        update_user(session, find_user(session, "fed"), role="reviewer", org="FED", display_name="李敏")
    case_id = make_case(tree["prep"], "sample")["id"]
    fire(tree["prep"], case_id, "submit", {"amount": 10})
    fire(tree["fed"], case_id, "approve", comment="同意")
    return case_id


def entry_of(db, **where) -> AuditEntry:
    with db.read() as session:
        stmt = select(AuditEntry).order_by(AuditEntry.seq.desc())
        for k, v in where.items():
            stmt = stmt.where(getattr(AuditEntry, k) == v)
        return session.scalars(stmt).first()


def test_people_are_looked_up_in_bulk_and_unknown_names_are_left_out(db, named):
    with db.read() as session:
        found = people_named(session, ["fed", "prep", "admin", "cli", None, ""])
    assert set(found) == {"fed", "prep", "admin"}
    assert (found["fed"].name, found["fed"].org_name, found["fed"].named) == ("李敏", "某区总工会", True)
    assert (found["prep"].name, found["prep"].org_name, found["prep"].named) == ("prep", "大型企业", False)
    assert found["admin"].org_name is None


def test_the_explorer_shows_the_name_and_organisation(client, db, named):
    login(client, "auditor")
    text = text_of(client.get("/audit/?workflow=sample"))
    assert "李敏（某区总工会） 审核人" in text and "prep（大型企业） 经办人" in text
    assert " fed " not in f" {text} "
    english = text_of(client.get("/audit/?workflow=sample&lang=en"))
    assert "李敏 (某区总工会) Reviewer" in english


def test_the_entry_page_shows_the_name_then_the_username_and_role(client, db, named):
    approve = entry_of(db, trigger="approve")
    login(client, "auditor")
    text = text_of(client.get(f"/audit/entries/{approve.seq}"))
    assert "操作人 李敏（某区总工会） fed · 审核人" in text
    submitted = entry_of(db, trigger="submit")  # no real name: the username once, with the organisation
    assert "操作人 prep（大型企业） 经办人 对象" in text_of(client.get(f"/audit/entries/{submitted.seq}"))
    created = entry_of(db, subject_type="user", subject_id="fed")
    assert "对象 用户 李敏 fed" in text_of(client.get(f"/audit/entries/{created.seq}"))


def test_an_unknown_actor_is_shown_by_the_username(client, db, named):
    """The command line and the demo loader write entries under names that are no user's."""
    created = entry_of(db, subject_type="user", subject_id="fed")
    assert created.actor == "system"
    login(client, "admin")
    assert "操作人 system 系统管理员 对象" in text_of(client.get(f"/audit/entries/{created.seq}"))


def test_the_home_pages_name_who_acted(app, db, named):
    auditor, admin = app.test_client(), app.test_client()
    login(auditor, "auditor")
    login(admin, "admin")
    assert "李敏（某区总工会）" in text_of(auditor.get("/"))
    from services.accounts import find_org, update_org

    with db.write() as session:  # an administrator with a name changes an organisation
        update_user(session, find_user(session, "admin"), role="admin", display_name="王管理")
        update_org(session, find_org(session, "ENT-L"), name="大型企业（更名）", employees=60, female_employees=20,
                   actor="admin")
    recent = text_of(admin.get("/"))
    assert "王管理 修改组织" in recent


def test_one_query_names_the_people_of_a_page(app, client, db, named, make_case, fire, tree):
    for who in ("prep_m", "prep_s"):  # more rows and more people do not mean more queries
        case_id = make_case(tree[who], "sample")["id"]
        fire(tree[who], case_id, "submit", {"amount": 10})
    login(client, "auditor")
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert client.get("/audit/").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    lookups = [s for s in statements if "display_name" in s and "password_hash" not in s]
    assert len(lookups) == 1, lookups


# ---------------------------------------------------------------- the count, the explorer's and verification's

def counts(client) -> tuple[dict[str, int], dict[str, int]]:
    explorer = text_of(client.get("/audit/"))
    shown = re.search(r"共 (\d+) 条记录(?: （审计链共 (\d+) 条，其余 (\d+) 条不在您的查看范围内）)?", explorer)
    verified = text_of(client.post("/audit/verify"))
    assert "审计链完整" in verified
    checked = re.search(r"全部 (\d+) 条记录", verified)
    scope = re.search(r"其中 (\d+) 条在您的查看范围内，即审计留痕页列出的记录；其余 (\d+) 条不在您的查看范围内",
                      verified)
    whole = re.search(r"审计留痕页列出的正是这 (\d+) 条记录", verified)
    in_explorer = {"scope": int(shown.group(1)), "chain": int(shown.group(2) or shown.group(1)),
                   "outside": int(shown.group(3) or 0)}
    in_verify = {"scope": int(scope.group(1) if scope else whole.group(1)), "chain": int(checked.group(1)),
                 "outside": int(scope.group(2)) if scope else 0}
    return in_explorer, in_verify


def test_the_explorer_and_verification_count_alike(app, db, named):
    """A federation's auditor reads its subtree: not the other federation's case, nor the entries about the
    administrator's account (of no organisation); verification checks every entry and says so."""
    with db.read() as session:
        total = session.scalar(select(func.count()).select_from(AuditEntry))
    for who in ("auditor", "admin"):
        client = app.test_client()
        login(client, who)
        in_explorer, in_verify = counts(client)
        assert in_explorer == in_verify, who
        assert in_verify["chain"] == total
        assert (in_verify["outside"] > 0) == (who == "auditor")
    auditor = app.test_client()
    login(auditor, "auditor")
    outside = [e for e in [entry_of(db, subject_type="user", subject_id="admin")] if e is not None]
    assert outside  # one of the entries outside the auditor's scope
    assert f'href="/audit/entries/{outside[0].seq}" aria-label' not in auditor.get("/audit/").get_data(as_text=True)


# ---------------------------------------------------------------- the demonstration

@pytest.fixture
def demo(app):
    assert "demo data loaded" in load_demo(app)
    return app


def signed_in(app, username: str):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": DEMO_PASSWORD}).status_code == 302
    return client


def test_the_demonstration_names_people_and_counts_alike(demo, db):
    assert demo_real_name("区总工会审核人（李敏）") == "李敏" and demo_real_name("系统管理员") == "系统管理员"
    auditor = signed_in(demo, "auditor")
    in_explorer, in_verify = counts(auditor)
    assert in_explorer == in_verify and in_verify["outside"] == 1  # the administrator's account, of no organisation
    with db.read() as session:
        founding = session.scalars(select(Case.id).where(Case.workflow == "founding", Case.state == "registered")
                                   .order_by(Case.id)).first()
        inspection = session.scalars(select(Case.id).where(Case.workflow == "inspection", Case.state != "draft")
                                     .order_by(Case.id)).first()
    page = text_of(auditor.get(f"/cases/{founding}"))
    progress = page[page.index("建会进度") if "建会进度" in page else 0:]
    assert "李敏（海城区总工会）" in progress  # the progress list and the history
    assert "fed_li" not in page and "prep_" not in page
    page = text_of(auditor.get(f"/cases/{inspection}"))
    assert "fed_li" not in page and "fed_wang" not in page and "（海城区总工会）" in page
    explorer = text_of(auditor.get("/audit/?actor=李敏"))
    assert "李敏（海城区总工会）" in explorer and "共 0 条记录" not in explorer
