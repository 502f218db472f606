"""会籍接转 in the pages: the request from the member's page (reason, then confirmation), the step form's summary,
the case page's code for the issuing union only, the printable certificate with its QR code (its PDF's hash in
the trail), and the receiving union's redemption form linked from its roster."""
from __future__ import annotations

import hashlib

import audit
from tests.web.ui_support import login, text_of
from workflow import normalise_code

from .support import app_config, issued, member, member_row, unions  # noqa: F401  (fixtures)


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client


def test_the_member_page_asks_for_the_reason_then_a_confirmation(app, api, db, unions, member):
    client = _client(app, "prep")
    page = client.get(f"/members/{member}")
    words = text_of(page)
    assert page.status_code == 200 and "办理会籍接转" in words and "工作调动（更换工作单位）" in words
    first = client.post(f"/transfers/members/{member}", data={"reason": "relocation"})
    assert first.status_code == 302 and "transfer_reason=relocation" in first.headers["Location"]
    confirm = client.get(first.headers["Location"])
    assert "请确认：为“张伟”登记会籍接转申请。" in text_of(confirm)
    done = client.post(f"/transfers/members/{member}", data={"reason": "relocation", "confirmed": "1"})
    assert done.status_code == 302
    case_id = int(done.headers["Location"].rstrip("/").split("/")[-1])
    case = api.get(f"/cases/{case_id}", unions["prep"]).get_json()
    assert (case["workflow"], case["state"], case["data"]["reason"]) == ("transfer", "requested", "relocation")
    # without a reason: the engine's refusal, named on the member's page
    missing = client.post(f"/transfers/members/{member}", data={"confirmed": "1"}, follow_redirects=True)
    assert "办理会籍接转" in text_of(missing)
    # another union's user sees no form (nor the ID number)
    other = _client(app, "fed")
    assert "办理会籍接转" not in text_of(other.get(f"/members/{member}"))


def test_the_step_form_and_the_case_page_show_the_transfer_and_the_code_to_the_issuing_union_only(
        app, api, db, unions, member):
    case = api.post("/cases", unions["prep"], {"workflow": "transfer", "org": "ENT-L",
                                                "data": {"member_id": member, "reason": "job_change"}}).get_json()
    reviewer = _client(app, "rev_l")
    step = reviewer.get(f"/cases/{case['id']}/steps/issue_certificate")
    words = text_of(step)
    assert step.status_code == 200 and "张伟" in words and "大型企业" in words and "工作调动（更换工作单位）" in words
    assert reviewer.post(f"/cases/{case['id']}/steps/issue_certificate",
                         data={"version": case["version"], "confirm": "yes"}).status_code == 302
    code = api.get(f"/cases/{case['id']}", unions["prep"]).get_json()["data"]["certificate_code"]
    assert len(normalise_code(code)) == 16
    own = text_of(reviewer.get(f"/cases/{case['id']}"))
    assert code in own and "打印接转凭证" in own and "有效期至" in own
    higher = text_of(_client(app, "fed").get(f"/cases/{case['id']}"))
    assert code not in higher and "接转码仅开具凭证的工会可见。" in higher
    assert normalise_code(code) not in higher.replace("-", "")
    audit_page = text_of(_client(app, "auditor").get(f"/cases/{case['id']}"))
    assert code not in audit_page


def test_the_printable_certificate_carries_the_code_as_qr_and_its_pdf_hash_goes_into_the_trail(
        app, api, db, unions, member):
    case = issued(api, unions, member)
    code = case["data"]["certificate_code"]
    number = member_row(db, member).id_number
    client = _client(app, "prep")
    page = client.get(f"/transfers/{case['id']}/certificate")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "会员组织关系接转凭证" in body and code in body
    assert "<svg" in body and number not in body and number[:6] + "********" + number[-4:] in body
    assert _client(app, "fed").get(f"/transfers/{case['id']}/certificate").status_code == 404
    assert _client(app, "prep_x").get(f"/transfers/{case['id']}/certificate").status_code == 404
    pdf = client.get(f"/transfers/{case['id']}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    with db.read() as session:
        last = audit.entries_for(session, "case", str(case["id"]))[-1]
        assert last.trigger == "issue_document" and hashlib.sha256(pdf.data).hexdigest() in last.data


def test_the_receiving_union_redeems_on_its_page_linked_from_its_roster(app, api, db, unions, member):
    case = issued(api, unions, member)
    code = case["data"]["certificate_code"]
    client = _client(app, "prep_x")
    roster = client.get("/orgs/ENT-X/members")
    assert "/transfers/redeem" in roster.get_data(as_text=True)
    form = client.get("/transfers/redeem")
    words = text_of(form)
    assert form.status_code == 200 and "只能使用一次" in words and "不限于本区域" in words
    unknown = client.post("/transfers/redeem", data={"code": "3467-9ACD-EFGH-JKMN"})
    assert unknown.status_code == 404 and "没有这个接转码" in text_of(unknown)
    own = _client(app, "rev_l2").post("/transfers/redeem", data={"code": code})
    assert own.status_code == 422 and "不能接收本会开具的接转凭证" in text_of(own)
    done = client.post("/transfers/redeem", data={"code": code})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/cases/{case['id']}")
    page = text_of(client.get(f"/cases/{case['id']}"))
    assert "已完成接转" in page and "外区企业" in page and code not in page
    again = client.post("/transfers/redeem", data={"code": code})
    assert again.status_code == 409 and "已经使用过" in text_of(again)
    en = client.get("/transfers/redeem?lang=en")
    assert "Redeem a transfer code" in text_of(en) or en.status_code in (200, 302)


def test_the_member_pages_history_shows_the_transfer_on_both_sides(app, api, db, unions, member):
    from .support import redeem

    case = issued(api, unions, member)
    done = redeem(api, unions["prep_x"], case["data"]["certificate_code"]).get_json()
    issuing = text_of(_client(app, "prep").get(f"/members/{member}"))
    assert "转出（开具接转凭证）" in issuing and "已转出" in issuing and "办理会籍接转" not in issuing
    receiving = text_of(_client(app, "prep_x").get(f"/members/{done['data']['new_member_id']}"))
    assert "转入（凭接转码接收）" in receiving and "ENT-X-000001" in receiving
