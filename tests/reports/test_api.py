"""GET /api/v1/reports/coverage(.xlsx|.csv): the documented JSON, who may ask, and for which organisation."""
from __future__ import annotations

import io

import openpyxl
import pytest

DOCUMENTED = {"org", "enterprises", "founded", "founding_rate", "employees", "members", "membership_rate",
              "targets", "large_without_union", "children"}
CHILD = {"org", "name", "enterprises", "founded", "founding_rate", "employees", "members", "membership_rate"}


def test_coverage_json_is_the_documented_shape(api, district):
    resp = api.get("/reports/coverage?org=FED&year=2026", district["fed"])
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert DOCUMENTED <= set(body)
    assert body["org"] == "FED" and body["year"] == 2026
    assert (body["enterprises"], body["founded"], body["employees"], body["members"]) == (7, 2, 694, 227)
    assert body["founding_rate"] == pytest.approx(2 / 7) and body["membership_rate"] == pytest.approx(227 / 694)
    assert body["targets"] == {"founding_rate": 0.65, "membership_rate": 0.82, "year": 2026}
    assert body["progress"] == {"founding_rate_met": False, "membership_rate_met": False,
                                "unions_needed": 3, "members_needed": 343}
    assert body["large_enterprise_employees"] == 100
    assert [(e["org"], e["name"], e["employees"], e["case_state"]) for e in body["large_without_union"]] == [
        ("ENT-B4", "筹建中工厂", 150, "applied"), ("ENT-B1", "恰好百人公司", 100, None)]
    assert body["large_without_union"][0]["case_id"] == district["case_b4"]
    assert [c["org"] for c in body["children"]] == ["TOWN", "TOWN2", "ENT-B3", "ENT-B4", "ENT-L"]
    for child in body["children"]:
        assert CHILD <= set(child)
    empty = body["children"][1]
    assert (empty["founding_rate"], empty["membership_rate"], empty["enterprises"]) == (None, None, 0)
    assert body["children"][2]["founding_rate"] == 1.0 and body["children"][2]["membership_rate"] == 0.8


def test_empty_subtree_answers_nulls(api, district):
    body = api.get("/reports/coverage?org=TOWN2", district["fed"]).get_json()
    assert body["enterprises"] == 0 and body["founding_rate"] is None and body["membership_rate"] is None
    assert body["large_without_union"] == [] and body["children"] == []
    assert body["progress"]["founding_rate_met"] is None


def test_year_chooses_the_targets(api, district):
    fed = district["fed"]
    assert api.get("/reports/coverage?org=FED&year=2028", fed).get_json()["targets"]["founding_rate"] == 0.9
    assert api.get("/reports/coverage?org=FED&year=2030", fed).get_json()["targets"] == {
        "founding_rate": 0.9, "membership_rate": 0.93, "year": 2028}
    assert api.get("/reports/coverage?org=FED&year=2025", fed).get_json()["targets"] == {
        "founding_rate": None, "membership_rate": None, "year": None}
    # no year: the business day's (2026 in these tests)
    assert api.get("/reports/coverage?org=FED", fed).get_json()["year"] == 2026


@pytest.mark.parametrize("year, field", [("abc", "not_integer"), ("1999", "below_min"), ("2101", "above_max")])
def test_bad_year_is_invalid_input(api, district, year, field):
    resp = api.get(f"/reports/coverage?org=FED&year={year}", district["fed"])
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid_input" and "year" in resp.get_json()["error"]["fields"]
    assert api.get("/reports/coverage?org=FED&year=2000", district["fed"]).status_code == 200
    assert api.get("/reports/coverage?org=FED&year=2100", district["fed"]).status_code == 200


def test_own_organisation_by_default(api, district):
    assert api.get("/reports/coverage", district["town"]).get_json()["org"] == "TOWN"
    resp = api.get("/reports/coverage", district["admin"])
    assert resp.status_code == 400 and "org" in resp.get_json()["error"]["fields"]


@pytest.mark.parametrize("path", ["/reports/coverage", "/reports/coverage.xlsx", "/reports/coverage.csv"])
def test_who_may_read(api, district, path):
    sep = "?org="
    assert api.get(f"{path}{sep}FED", district["fed"]).status_code == 200
    assert api.get(f"{path}{sep}TOWN", district["auditor"]).status_code == 200
    assert api.get(f"{path}{sep}FED2", district["admin"]).status_code == 200
    # outside the subtree: it does not exist for them
    for who, org in (("town", "FED"), ("town", "ENT-L"), ("fed", "FED2"), ("auditor2", "FED"), ("com", "TOWN")):
        resp = api.get(f"{path}{sep}{org}", district[who])
        assert resp.status_code == 404, (who, org)
        assert resp.get_json()["error"]["code"] == "not_found"
    assert api.get(f"{path}{sep}NOPE", district["admin"]).status_code == 404
    # preparers have no reports, even of their own enterprise
    resp = api.get(f"{path}{sep}ENT-L", district["prep"])
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert api.get(f"{path}{sep}FED").status_code == 401


def test_xlsx_download(api, district):
    resp = api.get("/reports/coverage.xlsx?org=FED&year=2026", district["auditor"])
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in resp.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    assert book.sheetnames == ["100人以上企业新建工会情况统计表", "各单位建会入会情况", "未建会百人以上企业台账"]
    assert book["未建会百人以上企业台账"]["B4"].value == "筹建中工厂"


def test_csv_download(api, district):
    resp = api.get("/reports/coverage.csv?org=FED&table=ledger", district["fed"])
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.data.startswith(b"\xef\xbb\xbf")
    assert resp.data.decode("utf-8-sig").splitlines()[1].startswith("1,筹建中工厂,")
    resp = api.get("/reports/coverage.csv?org=FED&table=nope", district["fed"])
    assert resp.status_code == 400 and "table" in resp.get_json()["error"]["fields"]


def test_reading_writes_nothing(api, district, db):
    from audit import AuditEntry
    from sqlalchemy import func, select

    with db.read() as session:
        before = session.scalar(select(func.count()).select_from(AuditEntry))
    for path in ("/reports/coverage?org=FED", "/reports/coverage.xlsx?org=FED", "/reports/coverage.csv?org=FED"):
        assert api.get(path, district["fed"]).status_code == 200
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == before
