"""入会 and the roster in the browser's pages: the application form asks for the applicant field by field,
the step form shows the application, the roster searches and masks by who looks, and leaving is confirmed
before it is recorded."""
from __future__ import annotations

from sqlalchemy import select

from tests.web.ui_support import login, text_of
from workflow import Member

from .support import application, bad_check, join, person, unions  # noqa: F401  (fixtures)


def test_the_application_form_asks_for_the_applicant_field_by_field(app, api, db, unions):
    client = app.test_client()
    login(client, "prep")
    page = client.get("/cases/new/membership")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'name="f_applicant__name"' in body and 'name="f_applicant__id_number"' in body
    assert "JSON" not in text_of(page)
    bad = client.post("/cases/new/membership", data={"org": "ENT-L", "f_applicant__name": "张伟",
                                                      "f_applicant__id_number": bad_check(person(5))})
    assert bad.status_code == 422 and "身份证号无效" in text_of(bad)
    made = client.post("/cases/new/membership", data={"org": "ENT-L", "f_applicant__name": "张伟",
                                                       "f_applicant__id_number": person(5), "f_group": "courier"})
    assert made.status_code == 302
    case_id = int(made.headers["Location"].rstrip("/").split("/")[-1])
    case = api.get(f"/cases/{case_id}", unions["prep"]).get_json()
    assert case["data"]["applicant"] == {"name": "张伟", "id_number": person(5)} and case["data"]["group"] == "courier"
    step = client.get(f"/cases/{case_id}/steps/submit")
    words = text_of(step)
    assert "本案情况" in words and "张伟" in words and "快递员" in words and "大型企业（本单位）" in words
    assert person(5) not in words and person(5)[:6] + "********" in words  # masked on every step form


def test_the_roster_page_searches_filters_and_masks_by_who_looks(app, api, unions):
    join(api, unions["prep"], unions["rev_l"], "ENT-L", application("张伟", person(1), group="courier"))
    join(api, unions["prep"], unions["rev_l"], "ENT-L", application("李娜", person(2, female=True)))
    own = app.test_client()
    login(own, "rev_l")
    page = own.get("/orgs/ENT-L/members")
    words = text_of(page)
    assert page.status_code == 200 and "张伟" in words and "李娜" in words and person(1) in words
    assert "会员名册" in words and "ENT-L-000001" in words
    found = text_of(own.get("/orgs/ENT-L/members?q=李"))
    assert "李娜" in found and "张伟" not in found
    couriers = text_of(own.get("/orgs/ENT-L/members?group=courier"))
    assert "张伟" in couriers and "李娜" not in couriers
    assert own.get("/orgs/ENT-L/members?status=gone").status_code == 400
    fed = app.test_client()
    login(fed, "fed")
    words = text_of(fed.get("/orgs/ENT-L/members"))
    assert "张伟" in words and person(1) not in words and person(1)[:6] + "********" + person(1)[-4:] in words
    other = app.test_client()
    login(other, "fed2")
    assert other.get("/orgs/ENT-L/members").status_code == 404


def test_leaving_is_confirmed_then_recorded_and_shown_in_the_history(app, api, db, unions):
    case = join(api, unions["prep"], unions["rev_l"], "ENT-L", application("王强", person(3)))
    member_id = case["data"]["member_id"]
    client = app.test_client()
    login(client, "rev_l")
    page = client.get(f"/members/{member_id}")
    assert page.status_code == 200 and "登记退会或去世" in text_of(page) and "入会" in text_of(page)
    with db.read() as session:
        joined_on = session.get(Member, member_id).joined_on.isoformat()
    missing = client.post(f"/members/{member_id}/end", data={"status": "left", "left_on": joined_on, "comment": ""})
    assert missing.status_code == 400 and "请填写说明" in text_of(missing)
    ask = client.post(f"/members/{member_id}/end", data={"status": "left", "left_on": joined_on,
                                                         "comment": "本人申请退会", "version": "1"})
    assert ask.status_code == 200 and "请确认" in text_of(ask)
    with db.read() as session:
        assert session.get(Member, member_id).status == "active"  # nothing recorded before the confirmation
    done = client.post(f"/members/{member_id}/end", data={"status": "left", "left_on": joined_on,
                                                          "comment": "本人申请退会", "version": "1", "confirmed": "1"})
    assert done.status_code == 302
    page = text_of(client.get(f"/members/{member_id}"))
    assert "已退会" in page and "本人申请退会" in page and "登记退会或去世" not in page
    again = client.post(f"/members/{member_id}/end", data={"status": "deceased", "left_on": joined_on,
                                                           "comment": "x", "version": "2", "confirmed": "1"})
    assert again.status_code == 409
    # the union's preparer reads the page but is offered no form
    prep = app.test_client()
    login(prep, "prep")
    assert "登记退会或去世" not in text_of(prep.get(f"/members/{member_id}"))
    with db.read() as session:
        assert session.scalar(select(Member.status).where(Member.id == member_id)) == "left"


def test_the_navigation_leads_a_union_to_its_roster(app, unions):
    client = app.test_client()
    login(client, "rev_l")
    assert 'href="/orgs/ENT-L/members"' in client.get("/").get_data(as_text=True)
    fed = app.test_client()
    login(fed, "fed")
    assert "/members" not in fed.get("/").get_data(as_text=True)
