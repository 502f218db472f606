"""Administration: the organisation tree (create, edit, move with every descendant's path), users
(create, change role and organisation, disable, reset the password) and API tokens (issue once, list,
revoke); each change lands in the audit trail."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from audit import AuditEntry
from workflow import Actor, ApiToken, InvalidInput, Organisation, User, can_view
from services.accounts import move_org, update_org

from .ui_support import login, text_of


def _org(db, code: str) -> Organisation:
    with db.read() as session:
        return session.scalars(select(Organisation).where(Organisation.code == code)).one()


def _user(db, username: str) -> User:
    with db.read() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def _last_entry(db, subject_type: str, subject_id: str) -> AuditEntry:
    with db.read() as session:
        return session.scalars(select(AuditEntry).where(AuditEntry.subject_type == subject_type,
                                                        AuditEntry.subject_id == subject_id)
                               .order_by(AuditEntry.seq.desc())).first()


@pytest.fixture
def admin(client, tree):
    login(client, "admin")
    return client


def test_the_tree_lists_every_organisation_with_subtree_figures(admin):
    resp = admin.get("/admin/orgs")
    text = text_of(resp)
    for name in ("某区总工会", "城关镇工会", "东门社区工会", "小店", "中型企业", "大型企业", "另一区总工会", "外区企业"):
        assert name in text
    # FED: three enterprises of 5 + 30 + 60 employees; TOWN: 5 + 30
    row = re.search(r"某区总工会.*?</tr>", resp.get_data(as_text=True), re.S).group(0)
    assert ">3 <small" in row and ">95<" in row
    row = re.search(r"城关镇工会.*?</tr>", resp.get_data(as_text=True), re.S).group(0)
    assert ">2 <small" in row and ">35<" in row


def test_create_an_enterprise_under_a_town(admin, db):
    resp = admin.post("/admin/orgs", data={"f_code": "ENT-NEW", "f_name": "新企业", "f_kind": "enterprise",
                                           "f_parent": "TOWN", "f_employees": "12", "f_female_employees": "5"})
    assert resp.status_code == 302
    org, town = _org(db, "ENT-NEW"), _org(db, "TOWN")
    assert org.path == f"{town.path}{org.id}/" and org.employees == 12
    assert _last_entry(db, "org", "ENT-NEW").trigger == "create_org"


def test_creating_an_enterprise_checks_its_figures(admin, db):
    resp = admin.post("/admin/orgs", data={"f_code": "ENT-BAD", "f_name": "坏企业", "f_kind": "enterprise",
                                           "f_parent": "TOWN", "f_employees": "10", "f_female_employees": "11",
                                           "f_credit_code": "91330100MA2000001X"})
    assert resp.status_code == 400
    text = text_of(resp)
    assert "不能大于10" in text and "统一社会信用代码校验位错误" in text
    with db.read() as session:
        assert session.scalars(select(Organisation).where(Organisation.code == "ENT-BAD")).first() is None


def test_edit_an_enterprise(admin, db):
    org = _org(db, "ENT-M")
    assert "中型企业" in text_of(admin.get(f"/admin/orgs/{org.id}"))
    resp = admin.post(f"/admin/orgs/{org.id}", data={"f_name": "中型企业（更名）", "f_employees": "31",
                                                     "f_female_employees": "10"})
    assert resp.status_code == 302
    org = _org(db, "ENT-M")
    assert (org.name, org.employees) == ("中型企业（更名）", 31)
    entry = _last_entry(db, "org", "ENT-M")
    assert entry.trigger == "update_org" and entry.actor == "admin"
    assert json.loads(entry.data)["changes"] == {"employees": [30, 31], "name": ["中型企业", "中型企业（更名）"]}


def test_saving_an_unchanged_organisation_writes_nothing(admin, db):
    org = _org(db, "ENT-M")
    before = _last_entry(db, "org", "ENT-M").seq
    admin.post(f"/admin/orgs/{org.id}", data={"f_name": "中型企业", "f_employees": "30", "f_female_employees": "10"})
    assert _last_entry(db, "org", "ENT-M").seq == before


def test_moving_a_community_moves_its_enterprises_paths(admin, db, tree):
    com, ent_s, fed2 = _org(db, "COM"), _org(db, "ENT-S"), _org(db, "FED2")
    resp = admin.post(f"/admin/orgs/{com.id}/move", data={"f_parent": "FED2", "f_confirm": "y"})
    assert resp.status_code == 302
    com2, ent_s2 = _org(db, "COM"), _org(db, "ENT-S")
    assert com2.parent_id == fed2.id and com2.path == f"{fed2.path}{com.id}/"
    assert ent_s2.path == f"{fed2.path}{com.id}/{ent_s.id}/" and ent_s2.parent_id == com.id
    # the untouched rest of the tree keeps its paths
    assert _org(db, "ENT-M").path == _org(db, "TOWN").path + str(_org(db, "ENT-M").id) + "/"
    entry = json.loads(_last_entry(db, "org", "COM").data)
    assert entry["from_parent"] == "TOWN" and entry["to_parent"] == "FED2" and entry["moved"] == 2
    # visibility follows at once: FED's reviewer no longer sees ENT-S, FED2's does
    with db.read() as session:
        fed = Actor.of(session.scalars(select(User).where(User.username == "fed")).one())
        fed2_reviewer = Actor.of(session.scalars(select(User).where(User.username == "fed2")).one())
        ent = session.scalars(select(Organisation).where(Organisation.code == "ENT-S")).one()
        assert not can_view(fed, ent) and can_view(fed2_reviewer, ent)


def test_moving_needs_a_confirmation(admin, db):
    ent = _org(db, "ENT-L")
    resp = admin.post(f"/admin/orgs/{ent.id}/move", data={"f_parent": "TOWN"})
    assert resp.status_code == 400 and "请勾选确认" in text_of(resp)
    assert _org(db, "ENT-L").parent_id == _org(db, "FED").id


def test_an_organisation_cannot_move_below_itself(db, tree):
    with db.write() as session:
        town = session.scalars(select(Organisation).where(Organisation.code == "TOWN")).one()
        with pytest.raises(InvalidInput) as err:
            move_org(session, town, "COM")
        assert err.value.fields["parent"].code == "inside_subtree"
        with pytest.raises(InvalidInput) as err:
            move_org(session, town, "ENT-M")
        assert err.value.fields["parent"].code == "not_in_choices"
        with pytest.raises(InvalidInput) as err:
            move_org(session, town, "FED")
        assert err.value.fields["parent"].code == "unchanged"


def test_the_move_page_explains_a_refusal(admin, db):
    town = _org(db, "TOWN")
    page = admin.get(f"/admin/orgs/{town.id}/move").get_data(as_text=True)
    assert 'value="COM"' not in page and 'value="FED2"' in page  # its own subtree is not offered
    resp = admin.post(f"/admin/orgs/{town.id}/move", data={"f_parent": "FED", "f_confirm": "y"})
    assert resp.status_code == 400 and "已在该上级组织之下" in text_of(resp)


def test_update_org_refuses_fewer_employees_than_members(db, tree):
    with db.write() as session:
        ent = session.scalars(select(Organisation).where(Organisation.code == "ENT-L")).one()
        ent.member_count = 40
    with db.write() as session:
        ent = session.scalars(select(Organisation).where(Organisation.code == "ENT-L")).one()
        with pytest.raises(InvalidInput) as err:
            update_org(session, ent, name="大型企业", employees=39, female_employees=10)
        assert err.value.fields["employees"].code == "below_min"
        assert update_org(session, ent, name="大型企业", employees=40, female_employees=10) == {
            "employees": [60, 40], "female_employees": [20, 10]}


def test_the_admin_creates_a_user_who_then_logs_in(admin, app, db):
    resp = admin.post("/admin/users", data={"f_username": "newbie", "f_display_name": "新同事", "f_role": "reviewer",
                                            "f_org": "TOWN", "f_password": "a-good-long-password"})
    assert resp.status_code == 302
    user = _user(db, "newbie")
    assert (user.role, user.display_name) == ("reviewer", "新同事")
    assert _last_entry(db, "user", "newbie").trigger == "create_user"
    other = app.test_client()
    assert login(other, "newbie", "a-good-long-password").status_code == 302
    assert "新同事" in text_of(other.get("/"))


def test_a_user_needs_a_long_password_and_an_organisation(admin):
    resp = admin.post("/admin/users", data={"f_username": "weak", "f_role": "preparer", "f_password": "short"})
    assert resp.status_code == 400
    assert "密码至少12个字符" in text_of(resp) and "必填项" in text_of(resp)


def test_change_a_users_role_and_organisation(admin, db, app):
    town = _user(db, "town")
    resp = admin.post(f"/admin/users/{town.id}", data={"f_display_name": "镇审核", "f_role": "auditor", "f_org": "COM"})
    assert resp.status_code == 302
    changed = _user(db, "town")
    assert changed.role == "auditor" and changed.org_id == _org(db, "COM").id
    data = json.loads(_last_entry(db, "user", "town").data)["changes"]
    assert data["role"] == ["reviewer", "auditor"] and data["org"] == ["TOWN", "COM"]
    # the change applies at once to a signed-in session
    other = app.test_client()
    login(other, "town")
    assert other.get("/review").status_code == 403 and other.get("/audit/").status_code == 200


def test_the_admin_cannot_demote_or_disable_themselves(admin, db):
    me = _user(db, "admin")
    resp = admin.post(f"/admin/users/{me.id}", data={"f_role": "auditor", "f_org": "FED"})
    assert resp.status_code == 400 and "不能取消自己的系统管理员角色" in text_of(resp)
    admin.post(f"/admin/users/{me.id}/active")
    assert _user(db, "admin").active and _user(db, "admin").role == "admin"


def test_disable_and_enable_a_user(admin, db, app, tree):
    prep = _user(db, "prep")
    other = app.test_client()
    login(other, "prep")
    assert admin.post(f"/admin/users/{prep.id}/active").status_code == 302
    assert not _user(db, "prep").active
    assert other.get("/").status_code == 302  # signed out at once
    assert app.test_client().get("/api/v1/me", headers=tree["prep"].headers).status_code == 401
    assert _last_entry(db, "user", "prep").trigger == "disable_user"
    admin.post(f"/admin/users/{prep.id}/active")
    assert _user(db, "prep").active and _last_entry(db, "user", "prep").trigger == "enable_user"


def test_reset_a_password_shows_it_once_and_ends_sessions(admin, db, app):
    prep = _user(db, "prep")
    other = app.test_client()
    login(other, "prep")
    resp = admin.post(f"/admin/users/{prep.id}/password")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    password = re.search(r'<code class="secret-value">([^<]+)</code>', resp.get_data(as_text=True)).group(1)
    assert len(password) >= 10
    assert password not in admin.get(f"/admin/users/{prep.id}").get_data(as_text=True)
    assert other.get("/").status_code == 302
    assert login(app.test_client(), "prep", password).status_code == 302
    entry = _last_entry(db, "user", "prep")
    assert entry.trigger == "reset_password" and password not in entry.data


def test_issue_a_token_shown_once_then_revoke_it(admin, db, app):
    resp = admin.post("/admin/tokens", data={"f_username": "auditor", "f_name": "对接测试", "f_days": "30"})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    secret = re.search(r'<code class="secret-value">([^<]+)</code>', resp.get_data(as_text=True)).group(1)
    api = app.test_client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    listing = admin.get("/admin/tokens").get_data(as_text=True)
    assert "对接测试" in listing and secret not in listing
    with db.read() as session:
        token = session.scalars(select(ApiToken).where(ApiToken.name == "对接测试")).one()
        assert secret not in token.token_hash
    assert json.loads(_last_entry(db, "user", "auditor").data)["name"] == "对接测试"
    assert admin.post(f"/admin/tokens/{token.id}/revoke").status_code == 302
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert _last_entry(db, "user", "auditor").trigger == "revoke_token"
    assert "已吊销" in text_of(admin.get("/admin/tokens"))


def test_a_token_for_nobody_is_refused(admin):
    resp = admin.post("/admin/tokens", data={"f_username": "ghost", "f_days": "30"})
    assert resp.status_code == 400 and "没有这个用户" in text_of(resp)
    assert admin.post("/admin/tokens/9999/revoke").status_code == 404
