"""The work itself (api.md "Revision 2 → Work"): the task list as JSON and as a page, and the inbox with its
unread count, marking read, and nothing of another person's."""
from __future__ import annotations

from datetime import date

import pytest

from services.work import sweep
from tests.web.ui_support import login, text_of
from workflows.founding.tests.flow import GROUP, app_config, clock  # noqa: F401  (fixtures)


@pytest.fixture
def applied(tree, make_case, fire):
    """ENT-M (30 employees) applied on 11-10 to found a union: its town union decides, due 12-01."""
    case_id = make_case(tree["prep_m"], "founding")["id"]
    fire(tree["prep_m"], case_id, "form_group", {"group_members": GROUP})
    fire(tree["prep_m"], case_id, "apply", comment="申请成立工会")
    return case_id


def tasks(api, who, **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    resp = api.get(f"/tasks?{query}", who)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_the_deciding_union_has_the_task_its_federation_supervises_it(api, tree, applied, clock):
    [task] = tasks(api, tree["town"])["items"]
    assert (task["case"], task["subject"], task["state"], task["competent_org"]) == (applied, "中型企业", "applied",
                                                                                     "TOWN")
    assert set(task["triggers"]) == {"approve_application", "return_application", "reject_application"}
    assert (task["due_on"], task["due_soon"], task["overdue"], task["returned"]) == ("2026-12-01", False, False, None)
    assert tasks(api, tree["fed"])["items"] == []                      # the federation does not decide it
    assert [t["case"] for t in tasks(api, tree["fed"], scope="subtree")["items"]] == [applied]
    assert tasks(api, tree["fed2"], scope="subtree")["items"] == []    # another federation sees nothing
    assert tasks(api, tree["prep_m"])["items"] == []                   # nothing waits for the preparer now
    clock.today = date(2026, 12, 2)
    assert tasks(api, tree["town"], overdue=1)["items"][0]["overdue"] is True


def test_a_returned_case_waits_for_its_preparer_with_who_and_why(api, tree, applied, fire):
    fire(tree["town"], applied, "return_application", comment="材料不全，请补充营业执照")
    [task] = tasks(api, tree["prep_m"])["items"]
    assert task["returned"]["by"] == "town" and task["returned"]["comment"] == "材料不全，请补充营业执照"
    assert task["triggers"] == ["apply"]
    assert tasks(api, tree["town"])["items"] == []


def test_search_and_filters(api, tree, applied):
    assert [t["case"] for t in tasks(api, tree["town"], q="中型")["items"]] == [applied]
    assert [t["case"] for t in tasks(api, tree["town"], q=str(applied))["items"]] == [applied]
    assert tasks(api, tree["town"], q="不存在的单位")["items"] == []
    assert tasks(api, tree["town"], workflow="hardship")["items"] == []


@pytest.mark.parametrize("query, field", [("scope=everyone", "scope"), ("workflow=nope", "workflow"),
                                          ("overdue=maybe", "overdue"), ("page=0", "page")])
def test_bad_task_queries_are_refused_naming_the_parameter(api, tree, query, field):
    resp = api.get(f"/tasks?{query}", tree["town"])
    assert resp.status_code == 400
    assert field in resp.get_json()["error"]["fields"]


def test_the_inbox_counts_marks_read_and_keeps_to_its_owner(api, tree, applied, db, engine):
    sweep(db, engine, date(2026, 12, 2))  # due soon and overdue
    body = api.get("/notifications", tree["town"]).get_json()
    assert body["unread"] == 3 and [n["kind"] for n in body["items"]] == ["overdue", "due_soon", "waiting"]
    assert "已超过办理期限（2026-12-01）" in body["items"][0]["text"]
    first = body["items"][0]["id"]
    assert api.post(f"/notifications/{first}/read", tree["fed"]).status_code == 404  # not the federation's
    assert api.post(f"/notifications/{first}/read", tree["town"]).status_code == 200
    unread = api.get("/notifications?unread=1", tree["town"]).get_json()
    assert unread["unread"] == 2 and first not in [n["id"] for n in unread["items"]]
    assert api.get("/notifications?unread=perhaps", tree["town"]).status_code == 400
    english = api.get("/notifications", tree["town"], headers={"Accept-Language": "en"}).get_json()
    assert english["items"][0]["kind"] == "overdue"


def test_the_pages(client, tree, applied, db, engine, clock):
    clock.today = date(2026, 11, 26)
    sweep(db, engine)
    login(client, "town")
    home = client.get("/")
    assert '<span class="count"' in home.get_data(as_text=True)
    page = text_of(client.get("/tasks"))
    assert "中型企业" in page and "2026-12-01" in page and "即将到期" in page and "批复同意筹建" in page
    inbox = client.get("/notifications")
    assert "将于2026-12-01到期" in text_of(inbox)
    resp = client.post("/notifications/read", data={"id": "all"}, follow_redirects=True)
    assert "已将 2 条通知标为已读" in text_of(resp)
    assert '<span class="count"' not in client.get("/").get_data(as_text=True)
    assert client.post("/notifications/read", data={"id": "999999"}).status_code == 404
    assert client.get("/tasks?scope=everyone").status_code == 400


def test_the_case_page_shows_the_deadline_and_where_it_stands(client, tree, applied, clock):
    login(client, "town")
    page = text_of(client.get(f"/cases/{applied}"))
    assert "办理期限：2026-12-01" in page and "即将到期" not in page
    clock.today = date(2026, 11, 26)
    assert "即将到期" in text_of(client.get(f"/cases/{applied}"))
    clock.today = date(2026, 12, 2)
    assert "已逾期" in text_of(client.get(f"/cases/{applied}"))


def test_a_returned_case_says_who_returned_it_when_and_why_on_the_case_and_the_form(client, tree, applied, fire):
    fire(tree["town"], applied, "return_application", comment="材料不全，请补充营业执照")
    login(client, "prep_m")
    for url in (f"/cases/{applied}", f"/cases/{applied}/founding/apply"):
        page = text_of(client.get(url))
        assert "本案已被退回，请修改后重新提交" in page and "材料不全，请补充营业执照" in page, url
    fire(tree["prep_m"], applied, "apply", comment="已补充")
    assert "本案已被退回" not in text_of(client.get(f"/cases/{applied}"))


def test_the_home_counters_open_the_filtered_task_list(client, tree, applied, clock):
    clock.today = date(2026, 12, 2)
    login(client, "town")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/tasks?overdue=1"><strong>1</strong><span>已逾期' in home
    clock.today = date(2026, 11, 26)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/tasks"><strong>1</strong><span>即将到期' in home
