"""API tokens: a user mints only their own (admins anyone's), every issue and revocation is an audit entry,
at most 10 live tokens a user (409 at the 11th), a token minted with a token expires no later than it and is
revoked with it, and the same rules hold for `flask users token` and the admin page."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from audit import AuditEntry
from services.accounts import MAX_LIVE_TOKENS, TooManyTokens, find_user, issue_token, revoke_token
from storage import utcnow
from workflow import ApiToken


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _token_row(db, secret: str) -> ApiToken:
    from services.accounts import token_digest

    with db.read() as session:
        return session.scalars(select(ApiToken).where(ApiToken.token_hash == token_digest(secret))).one()


def _entries(db, username: str, trigger: str | None = None) -> list[AuditEntry]:
    with db.read() as session:
        stmt = select(AuditEntry).where(AuditEntry.subject_type == "user", AuditEntry.subject_id == username)
        if trigger:
            stmt = stmt.where(AuditEntry.trigger == trigger)
        return list(session.scalars(stmt.order_by(AuditEntry.seq)))


def _live(db, username: str) -> int:
    from services.accounts import live_tokens

    with db.read() as session:
        return live_tokens(session, find_user(session, username).id)


def _mint(api, who, username: str | None = None, secret: str | None = None):
    return api.post(f"/users/{username or who.username}/tokens", None,
                    headers=_bearer(secret or who.token))


def test_a_user_mints_their_own_token_and_the_issue_is_audited(api, tree, db):
    prep = tree["prep"]
    resp = _mint(api, prep)
    assert resp.status_code == 201
    secret = resp.get_json()["token"]
    assert api.get("/me", None, headers=_bearer(secret)).get_json()["username"] == "prep"
    entry = _entries(db, "prep", "issue_token")[-1]
    data = json.loads(entry.data)
    minted = _token_row(db, secret)
    assert (entry.actor, entry.role) == ("prep", "preparer")
    assert data["token_id"] == minted.id and data["minted_with"] == _token_row(db, prep.token).id
    assert secret not in entry.data and minted.token_hash not in entry.data


def test_an_admin_mints_for_another_user_audited_as_the_admin(api, tree, db):
    resp = _mint(api, tree["admin"], "auditor")
    assert resp.status_code == 201
    assert api.get("/me", None, headers=_bearer(resp.get_json()["token"])).get_json()["username"] == "auditor"
    entry = _entries(db, "auditor", "issue_token")[-1]
    assert (entry.actor, entry.role, entry.subject_id) == ("admin", "admin", "auditor")


def test_another_user_existing_or_not_gets_the_same_refusal(api, tree, db):
    before = len(_entries(db, "fed"))
    existing = _mint(api, tree["prep"], "fed")
    unknown = _mint(api, tree["prep"], "ghost")
    assert existing.status_code == unknown.status_code == 403
    assert existing.get_json() == unknown.get_json()
    assert existing.get_json()["error"]["code"] == "forbidden"
    assert len(_entries(db, "fed")) == before
    assert _mint(api, tree["admin"], "ghost").status_code == 404  # an admin may know who exists


def test_at_most_ten_live_tokens_a_user(api, tree, db):
    prep = tree["prep"]
    assert _live(db, "prep") == 1  # the fixture's
    for _ in range(MAX_LIVE_TOKENS - 2):
        assert _mint(api, prep).status_code == 201
    assert _live(db, "prep") == 9
    assert _mint(api, prep).status_code == 201  # the tenth
    issued = len(_entries(db, "prep", "issue_token"))
    with db.read() as session:
        rows = session.scalar(select(func.count()).select_from(ApiToken))
    eleventh = _mint(api, prep)
    assert eleventh.status_code == 409
    body = eleventh.get_json()["error"]
    assert body["code"] == "too_many_tokens" and "10个有效令牌" in body["message"]
    english = api.post("/users/prep/tokens", None, headers={**_bearer(prep.token), "Accept-Language": "en"})
    assert english.status_code == 409 and "10 live tokens" in english.get_json()["error"]["message"]
    assert _live(db, "prep") == 10 and len(_entries(db, "prep", "issue_token")) == issued
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ApiToken)) == rows
    # an admin is held to the same limit for the user
    assert _mint(api, tree["admin"], "prep").status_code == 409


def test_revoked_and_expired_tokens_leave_room(api, tree, db):
    prep = tree["prep"]
    secrets = [_mint(api, prep).get_json()["token"] for _ in range(MAX_LIVE_TOKENS - 1)]
    assert _mint(api, prep).status_code == 409
    with db.write() as session:
        revoke_token(session, _token_row(db, secrets[0]).id, actor="admin")
    assert _mint(api, prep).status_code == 201
    assert _mint(api, prep).status_code == 409
    now = utcnow()
    with db.write() as session:  # one expires this very moment: no longer live
        session.execute(update(ApiToken).where(ApiToken.id == _token_row(db, secrets[1]).id)
                        .values(expires_at=now))
    with db.write() as session:
        user = find_user(session, "prep")
        issue_token(session, user, actor="admin", now=now)
        with pytest.raises(TooManyTokens):
            issue_token(session, user, actor="admin", now=now)


@pytest.mark.parametrize("parent_days, expected_days", [(5, 5), (365 * 2, 365), (None, 365)])
def test_a_token_minted_with_a_token_expires_no_later_than_it(api, tree, db, parent_days, expected_days):
    with db.write() as session:
        parent = issue_token(session, find_user(session, "prep"), days=parent_days, actor="admin")
    parent_row = _token_row(db, parent)
    resp = api.post("/users/prep/tokens", None, headers=_bearer(parent))
    assert resp.status_code == 201
    child = _token_row(db, resp.get_json()["token"])
    assert child.parent_id == parent_row.id
    if parent_days is not None and parent_days < 365:
        assert child.expires_at == parent_row.expires_at
    else:
        assert timedelta(days=expected_days) - timedelta(minutes=1) < child.expires_at - child.created_at \
            <= timedelta(days=expected_days)
    assert json.loads(_entries(db, "prep", "issue_token")[-1].data)["expires_at"] == \
        child.expires_at.isoformat(timespec="seconds")


def test_revoking_a_token_revokes_what_was_minted_with_it(api, app, tree, db):
    prep = tree["prep"]
    child = _mint(api, prep).get_json()["token"]
    grandchild = _mint(api, prep, secret=child).get_json()["token"]
    for_other = _mint(api, tree["admin"], "auditor").get_json()["token"]  # minted with the admin's token
    unrelated = _mint(api, tree["fed"]).get_json()["token"]
    with db.write() as session:
        revoke_token(session, _token_row(db, prep.token).id, actor="admin")
        revoke_token(session, _token_row(db, tree["admin"].token).id, actor="admin")
    for secret in (prep.token, child, grandchild, tree["admin"].token, for_other):
        assert api.get("/me", None, headers=_bearer(secret)).status_code == 401
    assert api.get("/me", None, headers=_bearer(unrelated)).status_code == 200
    revoked = _entries(db, "prep", "revoke_token")
    assert [json.loads(e.data)["token_id"] for e in revoked] == [
        _token_row(db, s).id for s in (prep.token, child, grandchild)]
    assert json.loads(revoked[2].data)["minted_with"] == _token_row(db, child).id
    assert all(e.actor == "admin" for e in revoked)
    assert _entries(db, "auditor", "revoke_token")[-1].actor == "admin"
    with db.write() as session:  # once only
        revoke_token(session, _token_row(db, prep.token).id, actor="admin")
    assert len(_entries(db, "prep", "revoke_token")) == 3


def test_a_revoked_token_mints_nothing(api, tree, db):
    prep = tree["prep"]
    with db.write() as session:
        revoke_token(session, _token_row(db, prep.token).id, actor="admin")
    assert _mint(api, prep).status_code == 401


def test_the_command_line_token_is_audited_and_limited(db_url, app, tree, db):
    from tests.cli.test_cli import flask

    made = flask(db_url, "users", "token", "auditor")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert made.stdout == secret + "\n" and secret.startswith("uf_")
    entry = _entries(db, "auditor", "issue_token")[-1]
    assert entry.actor == "cli" and json.loads(entry.data)["token_id"] == _token_row(db, secret).id
    with db.write() as session:
        user = find_user(session, "auditor")
        for _ in range(MAX_LIVE_TOKENS - 2):
            issue_token(session, user, actor="admin")
    refused = flask(db_url, "users", "token", "auditor")
    assert refused.returncode == 2 and refused.stdout == ""
    assert "too_many_tokens" in refused.stderr and "10 live tokens" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_the_admin_page_is_limited_too(app, tree, db):
    from tests.web.ui_support import login, text_of

    client = app.test_client()
    login(client, "admin")
    with db.write() as session:
        user = find_user(session, "auditor")
        for _ in range(MAX_LIVE_TOKENS - 1):
            issue_token(session, user, actor="admin")
    resp = client.post("/admin/tokens", data={"f_username": "auditor", "f_name": "第十一个", "f_days": "30"})
    assert resp.status_code == 409 and "该用户已有10个有效令牌" in text_of(resp)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.name == "第十一个")) == 0
