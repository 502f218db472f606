"""Materials as real uploads (上传申请材料): who may attach, what is accepted (by content), the
size limit at its bound, deduplication by content hash, the audit entry, downloads only for
those who see the case, and the same through the JSON API."""
from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

import audit
from audit import AuditEntry
from services.attachments import Attachment, clean_filename, size_text, sniff
from workflow import mask_id_number
from workflows.hardship.tests.support import (  # noqa: F401  (fixtures)
    APPLICANT_ID,
    clock,
    config_for,
    founded,
    jpeg_bytes,
    pdf_bytes,
    pdf_of_size,
    png_bytes,
    walk,
)

LIMIT = 4096  # UPLOAD_MAX_BYTES in these tests


@pytest.fixture
def app_config(app_config, clock, tmp_path):
    return config_for(app_config, clock, tmp_path, max_bytes=LIMIT)


@pytest.fixture
def uploads(app) -> Path:
    return Path(app.config["UPLOAD_DIR"])


@pytest.fixture
def login(app):
    def make(username: str):
        client = app.test_client()
        assert client.post("/login", data={"username": username, "password": "correct-horse-1"}).status_code == 302
        return client

    return make


@pytest.fixture
def case(api, fire, founded, clock):
    return walk(api, fire, founded, clock, "applied")


def upload(client, case_id: int, material: str, content: bytes, filename: str):
    return client.post(f"/hardship/{case_id}/attachments", content_type="multipart/form-data",
                       data={"material": material, "file": (io.BytesIO(content), filename)})


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def counts(db) -> tuple[int, int]:
    with db.read() as session:
        rows = session.scalar(select(func.count()).select_from(Attachment))
        entries = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.subject_type == "attachment"))
        return rows, entries


def text(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


# ---------------------------------------------------------------- pure checks

def test_magic_bytes_decide_the_type():
    assert sniff(pdf_bytes()) == "application/pdf"
    assert sniff(png_bytes()) == "image/png"
    assert sniff(jpeg_bytes()) == "image/jpeg"
    assert sniff(b"GIF89a....") is None and sniff(b"") is None and sniff(b"%PD") is None
    assert clean_filename("C:\\扫描\\..\\户口本.pdf") == "户口本.pdf"
    assert clean_filename("../../etc/passwd\x00.png") == "passwd.png"
    assert clean_filename("") == "upload" and clean_filename(None) == "upload"
    assert [size_text(n) for n in (512, 4096, 5097, 10 * 1024 * 1024, 10 * 1024 * 1024 + 10486)] == [
        "512 B", "4 KiB", "4.98 KiB", "10 MiB", "10.01 MiB"]
    long = clean_filename("甲" * 300 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf")


# ---------------------------------------------------------------- uploading from the case page

def test_preparer_uploads_a_pdf_and_the_reviewer_sees_it(login, founded, case, db, uploads, api):
    content = pdf_bytes("archive form of Wang Fang")
    resp = upload(login("prep"), case["id"], "archive_form", content, "困难职工档案表.pdf")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case['id']}#materials")
    with db.read() as session:
        [row] = session.scalars(select(Attachment)).all()
        assert (row.case_id, row.material, row.filename, row.size, row.content_type) == (
            case["id"], "archive_form", "困难职工档案表.pdf", len(content), "application/pdf")
        [entry] = audit.entries_for(session, "attachment", f"{case['id']}:{row.sha256[:12]}")
        assert (entry.actor, entry.trigger, entry.from_state, entry.to_state, entry.version) == (
            "prep", "attach", None, None, None)
    digest = hashlib.sha256(content).hexdigest()
    assert row.sha256 == digest
    assert stored_files(uploads) == [uploads / digest[:2] / digest]
    assert (uploads / digest[:2] / digest).read_bytes() == content
    # the case's own trail is untouched and the whole trail still verifies
    assert api.get("/audit/verify", founded["auditor"]).get_json()["ok"] is True
    assert [e["trigger"] for e in api.get(f"/cases/{case['id']}/audit", founded["prep"]).get_json()["entries"]] == [
        "create", "submit"]

    page = text(login("ent_rev").get(f"/cases/{case['id']}"))
    assert "困难职工档案表 必需 ✓ 已提交 困难职工档案表.pdf" in page
    assert "户口本复印件 必需 ✓ 已提交 未上传" in page


def test_the_same_file_twice_in_one_case_is_refused_naming_the_earlier_upload(login, case, db, uploads, api,
                                                                              founded):
    reviewer = login("ent_rev")
    image = png_bytes()
    assert upload(reviewer, case["id"], "id_copies", image, "身份证.PNG").status_code == 302
    again = upload(reviewer, case["id"], "id_copies", image, "身份证-副本.png")
    assert again.status_code == 409
    assert re.search(r"文件“身份证-副本.png”与\d{4}-\d\d-\d\d \d\d:\d\d由ent_rev上传的“家庭成员身份证复印件”材料“身份证.PNG”"
                     r"内容相同，不能重复上传", text(again)), text(again)
    assert counts(db) == (1, 1)
    # as another kind too: one file once per case
    other = upload(reviewer, case["id"], "household_register", image, "户口本.png")
    assert other.status_code == 409 and "不能重复上传" in text(other)
    assert counts(db) == (1, 1) and len(stored_files(uploads)) == 1
    assert upload(reviewer, case["id"], "income_proof", jpeg_bytes(), "收入证明.jpeg").status_code == 302
    assert counts(db) == (2, 2) and len(stored_files(uploads)) == 2
    # the same bytes in another case are that case's own upload
    second = walk_second(api, founded)
    assert upload(reviewer, second, "id_copies", image, "身份证.png").status_code == 302
    assert counts(db) == (3, 3) and len(stored_files(uploads)) == 2


def walk_second(api, founded) -> int:
    from workflows.hardship.tests.support import application, household_ids
    resp = api.post("/cases", founded["prep"], {"workflow": "hardship", "org": "ENT-L",
                                                "data": application(name="赵敏", ids=household_ids(901))})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


@pytest.mark.parametrize("material, content, filename, status, message", [
    ("archive_form", b"just some text, not a scan", "档案表.pdf", 415, "不是JPEG、PNG图片或PDF文件"),
    ("archive_form", b"GIF89a\x01\x00\x01\x00", "档案表.gif", 415, "不是JPEG、PNG图片或PDF文件"),
    ("archive_form", png_bytes(), "档案表.pdf", 415, "内容是PNG，文件扩展名应为.png"),
    ("archive_form", pdf_bytes(), "档案表.exe", 415, "文件扩展名应为.pdf"),
    ("archive_form", b"", "空.pdf", 400, "是空文件"),
    ("archive_form", pdf_of_size(LIMIT + 1), "大.pdf", 413, "大小为4,097 B，超过上限4,096 B"),
    ("archive_form", pdf_of_size(200 * 1024), "很大.pdf", 413, "超过单个文件上限4 KiB，未保存"),
    ("passport", pdf_bytes(), "护照.pdf", 400, "请选择材料种类"),
    ("", pdf_bytes(), "档案表.pdf", 400, "请选择材料种类"),
])
def test_bad_uploads_are_refused_in_chinese_and_nothing_is_stored(login, case, db, uploads, material, content,
                                                                  filename, status, message):
    resp = upload(login("prep"), case["id"], material, content, filename)
    assert resp.status_code == status
    assert message in text(resp)
    assert counts(db) == (0, 0) and stored_files(uploads) == []


def test_size_limit_at_its_bound(login, case, db, uploads):
    assert len(pdf_of_size(LIMIT)) == LIMIT
    assert upload(login("prep"), case["id"], "income_proof", pdf_of_size(LIMIT), "收入证明.pdf").status_code == 302
    assert upload(login("prep"), case["id"], "income_proof", pdf_of_size(LIMIT + 1), "收入证明2.pdf").status_code == 413
    assert counts(db) == (1, 1) and len(stored_files(uploads)) == 1


def test_no_file_chosen(login, case, db):
    resp = login("prep").post(f"/hardship/{case['id']}/attachments", data={"material": "archive_form"},
                              content_type="multipart/form-data")
    assert resp.status_code == 400 and "请选择要上传的文件" in text(resp)
    assert counts(db) == (0, 0)


@pytest.mark.parametrize("who, status, message", [
    ("fed", 403, "只有本单位的经办人和工会审核人可以上传申请材料"),
    ("auditor", 403, "只有本单位的经办人和工会审核人可以上传申请材料"),
    ("prep_x", 404, None),
    ("fed2", 404, None),
])
def test_only_the_enterprise_attaches(login, case, db, uploads, who, status, message):
    resp = upload(login(who), case["id"], "archive_form", pdf_bytes(), "档案表.pdf")
    assert resp.status_code == status
    if message:
        assert message in text(resp)
    assert counts(db) == (0, 0) and stored_files(uploads) == []


def test_a_closed_case_takes_no_more_files(login, api, fire, founded, clock, db):
    case = walk(api, fire, founded, clock, "applied")
    fire(founded["ent_rev"], case["id"], "reject_review", comment="不属于本单位职工")
    resp = upload(login("prep"), case["id"], "archive_form", pdf_bytes(), "档案表.pdf")
    assert resp.status_code == 409 and "本案已办结，不能再上传材料" in text(resp)
    assert counts(db) == (0, 0)
    assert "上传</button>" not in login("prep").get(f"/cases/{case['id']}").get_data(as_text=True)


def test_the_upload_form_is_offered_to_the_enterprise_only(login, case):
    own = login("prep").get(f"/cases/{case['id']}").get_data(as_text=True)
    assert own.count('enctype="multipart/form-data"') == 5 and 'name="material" value="diagnosis"' in own
    outside = login("fed").get(f"/cases/{case['id']}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' not in outside


# ---------------------------------------------------------------- downloads

def test_downloads_only_for_those_who_see_the_case(login, case, app):
    content = pdf_bytes()
    upload(login("prep"), case["id"], "archive_form", content, "困难职工档案表.pdf")
    with app.extensions["unionflow.db"].read() as session:
        row_id = session.scalars(select(Attachment.id)).one()
    for who in ("prep", "ent_rev", "fed", "auditor"):
        resp = login(who).get(f"/hardship/attachments/{row_id}")
        assert resp.status_code == 200, who
        assert resp.data == content
        assert resp.headers["Content-Type"] == "application/pdf"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        disposition = resp.headers["Content-Disposition"]
        assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
        assert "%E5%9B%B0%E9%9A%BE" in disposition  # 困难, percent-encoded
        assert "no-store" in resp.headers["Cache-Control"]
    for who in ("prep_x", "fed2", "auditor2", "prep_m"):
        assert login(who).get(f"/hardship/attachments/{row_id}").status_code == 404, who
    assert login("prep").get(f"/hardship/attachments/{row_id + 1}").status_code == 404
    anonymous = app.test_client().get(f"/hardship/attachments/{row_id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_id_card_scans_only_for_those_who_see_id_numbers_in_full(login, case, app, api, founded):
    """身份证复印件 show ID numbers in full: served to the enterprise itself, 403 to everyone who sees them masked."""
    scan, form = png_bytes(), pdf_bytes("archive form")
    upload(login("prep"), case["id"], "id_copies", scan, "身份证.png")
    upload(login("prep"), case["id"], "archive_form", form, "档案表.pdf")
    with app.extensions["unionflow.db"].read() as session:
        ids = dict(session.execute(select(Attachment.material, Attachment.id)).all())
    for who in ("prep", "prep2", "ent_rev"):  # the case's own enterprise sees the full numbers
        client = login(who)
        assert APPLICANT_ID in text(client.get(f"/cases/{case['id']}"))
        resp = client.get(f"/hardship/attachments/{ids['id_copies']}")
        assert resp.status_code == 200 and resp.data == scan, who
        assert api.get(f"/attachments/{ids['id_copies']}", founded[who]).status_code == 200, who
    for who in ("fed", "fed_b", "auditor"):  # they see the case, with ID numbers masked
        client = login(who)
        page = client.get(f"/cases/{case['id']}")
        assert page.status_code == 200 and APPLICANT_ID not in text(page) \
            and mask_id_number(APPLICANT_ID) in text(page)
        html = page.get_data(as_text=True)
        assert f"/hardship/attachments/{ids['id_copies']}" not in html, who  # the scan: its name, no link
        assert "身份证.png" in html and "载有完整身份证号码，仅本单位可以查看" in html
        assert f"/hardship/attachments/{ids['archive_form']}" in html
        refused = client.get(f"/hardship/attachments/{ids['id_copies']}")
        assert refused.status_code == 403 and scan not in refused.data, who
        assert "身份证复印件载有完整的身份证号码，只有本单位的经办人和工会审核人可以查看" in text(refused)
        assert client.get(f"/hardship/attachments/{ids['archive_form']}").data == form  # other materials still
        got = api.get(f"/attachments/{ids['id_copies']}", founded[who])
        assert got.status_code == 403, who
        error = got.get_json()["error"]
        assert error["code"] == "forbidden" and [r["code"] for r in error["reasons"]] == ["id_scan_forbidden"]
        assert error["reasons"][0]["message"].startswith("身份证复印件载有完整的身份证号码")
        listing = api.get(f"/cases/{case['id']}/attachments", founded[who]).get_json()["items"]
        assert {i["material"]: i["downloadable"] for i in listing} == {"id_copies": False, "archive_form": True}
    own = api.get(f"/cases/{case['id']}/attachments", founded["ent_rev"]).get_json()["items"]
    assert all(i["downloadable"] for i in own)
    assert "/hardship/attachments/" + str(ids["id_copies"]) in login("ent_rev").get(
        f"/cases/{case['id']}").get_data(as_text=True)
    for who in ("prep_x", "fed2"):  # outside the subtree the scan stays unknown
        assert login(who).get(f"/hardship/attachments/{ids['id_copies']}").status_code == 404, who


# ---------------------------------------------------------------- the same through the API

def api_upload(client, who, case_id, material, content, filename):
    return client.post(f"/api/v1/cases/{case_id}/attachments", headers=who.headers,
                       content_type="multipart/form-data",
                       data={"material": material, "file": (io.BytesIO(content), filename)})


def test_api_upload_list_and_download(client, api, founded, case, db, uploads):
    reasons: set[str] = set()
    created = api_upload(client, founded["prep"], case["id"], "diagnosis", pdf_bytes("diagnosis"), "诊断证明.pdf")
    assert created.status_code == 201
    body = created.get_json()
    assert (body["material"], body["filename"], body["content_type"], body["uploaded_by"]) == (
        "diagnosis", "诊断证明.pdf", "application/pdf", "prep")
    repeat = api_upload(client, founded["prep"], case["id"], "diagnosis", pdf_bytes("diagnosis"), "x.pdf")
    assert repeat.status_code == 409 and repeat.get_json()["error"]["reasons"][0]["code"] == "duplicate_upload"
    listing = api.get(f"/cases/{case['id']}/attachments", founded["fed"]).get_json()
    assert [i["id"] for i in listing["items"]] == [body["id"]] and listing["may_upload"] is False
    assert api.get(f"/cases/{case['id']}/attachments", founded["ent_rev"]).get_json()["may_upload"] is True
    got = api.get(f"/attachments/{body['id']}", founded["fed"])
    assert got.status_code == 200 and got.data == pdf_bytes("diagnosis")
    assert api.get(f"/attachments/{body['id']}", founded["fed2"]).status_code == 404
    assert api.get(f"/cases/{case['id']}/attachments", founded["prep_x"]).status_code == 404
    assert client.get(f"/api/v1/cases/{case['id']}/attachments").status_code == 401

    def refused(who, material, content, filename, status, code):
        resp = api_upload(client, founded[who], case["id"], material, content, filename)
        assert resp.status_code == status, resp.get_json()
        error = resp.get_json()["error"]
        assert error["code"] == code
        reasons.update(r["code"] for r in error["reasons"])
        return error

    assert "未保存" in refused("prep", "archive_form", b"", "a.pdf", 400, "invalid_upload")["message"]
    refused("prep", "archive_form", pdf_of_size(LIMIT + 1), "a.pdf", 413, "payload_too_large")
    refused("prep", "archive_form", pdf_of_size(200 * 1024), "a.pdf", 413, "payload_too_large")
    refused("prep", "archive_form", b"<html>", "a.pdf", 415, "unsupported_media_type")
    refused("prep", "archive_form", png_bytes(), "a.jpg", 415, "unsupported_media_type")
    refused("prep", "nothing", pdf_bytes(), "a.pdf", 400, "invalid_upload")
    refused("fed", "archive_form", pdf_bytes(), "a.pdf", 403, "forbidden")
    missing = client.post(f"/api/v1/cases/{case['id']}/attachments", headers=founded["prep"].headers,
                          content_type="multipart/form-data", data={"material": "archive_form"})
    assert missing.status_code == 400
    reasons.update(r["code"] for r in missing.get_json()["error"]["reasons"])
    assert api_upload(client, founded["prep_x"], case["id"], "archive_form", pdf_bytes(), "a.pdf").status_code == 404
    assert counts(db) == (1, 1) and len(stored_files(uploads)) == 1

    api.post(f"/cases/{case['id']}/events", founded["ent_rev"], {"trigger": "reject_review", "comment": "不符合"})
    refused("prep", "archive_form", pdf_bytes(), "a.pdf", 409, "invalid_state")
    assert reasons == {"file_empty", "file_too_large", "upload_too_large", "file_type_not_allowed", "file_extension_mismatch",
                       "material_unknown", "attachment_forbidden", "file_missing", "attachments_closed"}


def test_body_limit_is_raised_for_uploads_only_with_csrf_on(app_config, founded, api, fire, clock, tmp_path):
    """A 1.5 MiB scan passes the application's 1 MiB body limit on the upload page, CSRF checked."""
    from web import create_app

    case = walk(api, fire, founded, clock, "applied")
    big = create_app({**app_config, "WTF_CSRF_ENABLED": True, "UPLOAD_MAX_BYTES": 3 * 1024 * 1024,
                      "UPLOAD_DIR": str(tmp_path / "big")})
    try:
        client = big.test_client()
        login_page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
        client.post("/login", data={"username": "prep", "password": "correct-horse-1", "csrf_token": token})
        page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        scan = pdf_of_size(1536 * 1024)
        forged = client.post(f"/hardship/{case['id']}/attachments", content_type="multipart/form-data",
                             data={"material": "income_proof", "file": (io.BytesIO(scan), "收入证明.pdf")})
        assert forged.status_code == 400 and stored_files(tmp_path / "big") == []
        resp = client.post(f"/hardship/{case['id']}/attachments", content_type="multipart/form-data",
                           data={"material": "income_proof", "csrf_token": token,
                                 "file": (io.BytesIO(scan), "收入证明.pdf")})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        assert len(stored_files(tmp_path / "big")) == 1
        # other pages keep the application's limit
        elsewhere = client.post("/hardship/new", content_type="multipart/form-data",
                                data={"csrf_token": token, "file": (io.BytesIO(scan), "收入证明.pdf")})
        assert elsewhere.status_code == 413
    finally:
        big.extensions["unionflow.db"].dispose()


# ---------------------------------------------------------------- deleting and replacing before the review

def attachment_entries(db, case_id: int) -> list[tuple[str, str, int]]:
    with db.read() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.subject_type == "attachment")
                               .order_by(AuditEntry.seq)).all()
        data = [(e.trigger, json.loads(e.data)) for e in rows]
        return [(t, d["filename"], d["attachment_id"]) for t, d in data if d["case_id"] == case_id]


def verified(api, founded) -> bool:
    return api.get("/audit/verify", founded["auditor"]).get_json()["ok"] is True


def only_row(db) -> Attachment:
    with db.read() as session:
        [row] = session.scalars(select(Attachment)).all()
        return row


def test_an_upload_is_deleted_before_the_review_and_the_deletion_is_audited(login, case, db, api, founded):
    prep = login("prep")
    assert upload(prep, case["id"], "income_proof", pdf_bytes("wrong month"), "收入证明-10月.pdf").status_code == 302
    row = only_row(db)
    page = prep.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert f'action="/hardship/attachments/{row.id}/delete"' in page
    assert f'action="/hardship/attachments/{row.id}/replace"' in page
    resp = prep.post(f"/hardship/attachments/{row.id}/delete")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case['id']}#materials")
    assert "已删除：收入证明-10月.pdf" in text(prep.get(f"/cases/{case['id']}"))
    assert counts(db) == (0, 2)
    assert attachment_entries(db, case["id"]) == [("attach", "收入证明-10月.pdf", row.id),
                                                  ("detach", "收入证明-10月.pdf", row.id)]
    with db.read() as session:
        [first, second] = audit.entries_for(session, "attachment", f"{case['id']}:{row.sha256[:12]}")
        assert (second.actor, second.role, second.trigger, json.loads(second.data)["sha256"]) == (
            "prep", "preparer", "detach", row.sha256)
    assert verified(api, founded)
    # deleted, the same file may come again
    assert upload(prep, case["id"], "income_proof", pdf_bytes("wrong month"), "收入证明.pdf").status_code == 302
    assert counts(db) == (1, 3) and verified(api, founded)
    # the case's own trail is its steps only
    assert [e["trigger"] for e in api.get(f"/cases/{case['id']}/audit", founded["prep"]).get_json()["entries"]] == [
        "create", "submit"]


def test_a_returned_application_still_takes_changes(login, case, db, api, founded, fire):
    prep = login("prep")
    assert upload(prep, case["id"], "archive_form", pdf_bytes("v1"), "档案表.pdf").status_code == 302
    fire(founded["ent_rev"], case["id"], "return_review", {}, "请补正收入证明")
    assert prep.post(f"/hardship/attachments/{only_row(db).id}/delete").status_code == 302
    assert counts(db) == (0, 2) and verified(api, founded)


def test_after_the_review_an_upload_is_part_of_the_record(login, case, db, api, founded, fire):
    prep, reviewer = login("prep"), login("ent_rev")
    assert upload(prep, case["id"], "archive_form", pdf_bytes("form"), "档案表.pdf").status_code == 302
    row = only_row(db)
    fire(founded["ent_rev"], case["id"], "approve_review", {}, "同意")
    page = prep.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "/delete" not in page and "/replace" not in page
    assert "已上传的文件是案件记录的一部分，不能删除或替换" in text(prep.get(f"/cases/{case['id']}"))
    for client in (prep, reviewer):
        resp = client.post(f"/hardship/attachments/{row.id}/delete")
        assert resp.status_code == 409
        assert "材料“档案表.pdf”已在“审核同意”时使用，已成为案件记录的一部分，不能删除或替换" in text(resp)
        resp = client.post(f"/hardship/attachments/{row.id}/replace", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(pdf_bytes("other")), "档案表2.pdf")})
        assert resp.status_code == 409 and "不能删除或替换" in text(resp)
    assert counts(db) == (1, 1) and only_row(db).filename == "档案表.pdf" and verified(api, founded)


@pytest.mark.parametrize("who, status", [("fed", 403), ("prep_x", 404)])
def test_only_the_enterprise_deletes(login, case, db, who, status):
    assert upload(login("prep"), case["id"], "archive_form", pdf_bytes("form"), "档案表.pdf").status_code == 302
    row = only_row(db)
    assert login(who).post(f"/hardship/attachments/{row.id}/delete").status_code == status
    assert login("prep").post("/hardship/attachments/99999/delete").status_code == 404
    assert login("prep").post("/hardship/attachments/0/delete").status_code == 404
    assert counts(db) == (1, 1)


def test_an_upload_is_replaced_by_another_file(login, case, db, api, founded, uploads):
    prep = login("prep")
    assert upload(prep, case["id"], "income_proof", pdf_bytes("october"), "收入证明-10月.pdf").status_code == 302
    old = only_row(db)
    resp = prep.post(f"/hardship/attachments/{old.id}/replace", content_type="multipart/form-data",
                     data={"file": (io.BytesIO(jpeg_bytes()), "收入证明-11月.jpg")})
    assert resp.status_code == 302
    assert "已替换为：收入证明-11月.jpg" in text(prep.get(f"/cases/{case['id']}"))
    new = only_row(db)
    assert (new.material, new.filename, new.content_type) == ("income_proof", "收入证明-11月.jpg", "image/jpeg")
    assert new.id != old.id
    assert attachment_entries(db, case["id"]) == [("attach", "收入证明-10月.pdf", old.id),
                                                  ("attach", "收入证明-11月.jpg", new.id),
                                                  ("detach", "收入证明-10月.pdf", old.id)]
    with db.read() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.subject_type == "attachment")
                                  .order_by(AuditEntry.seq)).all()
        assert json.loads(entries[1].data)["replaces"] == old.id
        assert json.loads(entries[2].data)["replaced_by"] == new.id
    assert verified(api, founded)
    # a replacement is checked like an upload: not the same file again, not a bad file
    same = prep.post(f"/hardship/attachments/{new.id}/replace", content_type="multipart/form-data",
                     data={"file": (io.BytesIO(jpeg_bytes()), "again.jpg")})
    assert same.status_code == 409 and "不能重复上传" in text(same)
    bad = prep.post(f"/hardship/attachments/{new.id}/replace", content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b"plain text"), "x.pdf")})
    assert bad.status_code == 415 and "不是JPEG、PNG图片或PDF文件" in text(bad)
    empty = prep.post(f"/hardship/attachments/{new.id}/replace", content_type="multipart/form-data", data={})
    assert empty.status_code == 400 and "请选择要上传的文件" in text(empty)
    assert counts(db) == (1, 3) and only_row(db).id == new.id


def test_delete_and_replace_forms_need_their_csrf_token(app_config, founded, api, fire, clock, tmp_path, db):
    from web import create_app

    case = walk(api, fire, founded, clock, "applied")
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True, "UPLOAD_DIR": str(tmp_path / "csrf")})
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "prep", "password": "correct-horse-1", "csrf_token": token})
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/hardship/{case['id']}/attachments", content_type="multipart/form-data", data={
        "material": "archive_form", "csrf_token": token,
        "file": (io.BytesIO(pdf_bytes()), "档案表.pdf")}).status_code == 302
    row = only_row(db)
    assert client.post(f"/hardship/attachments/{row.id}/delete").status_code == 400
    forged = client.post(f"/hardship/attachments/{row.id}/replace", content_type="multipart/form-data",
                         data={"file": (io.BytesIO(png_bytes()), "a.png")})
    assert forged.status_code == 400 and "表单已过期或无效" in text(forged)
    assert counts(db) == (1, 1)
    assert client.post(f"/hardship/attachments/{row.id}/replace", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(png_bytes()), "a.png")}).status_code == 302
    row = only_row(db)
    assert client.post(f"/hardship/attachments/{row.id}/delete", data={"csrf_token": token}).status_code == 302
    assert counts(db) == (0, 4)  # attach; attach and detach (the replacement); detach
    assert api.get("/audit/verify", founded["auditor"]).get_json()["ok"] is True
