"""The figures on the demonstration district (`flask demo load`): a real-looking district adds up."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

import audit
from audit import AuditEntry
from web.demo import DEMO_PASSWORD, load_demo
from web.demo_district import ENTERPRISES, FOUNDINGS
from workflow import Organisation
from services.accounts import get_org
from services.reports import Figures, coverage
from tests.web.ui_support import login, text_of


@pytest.fixture
def demo(app):
    summary = load_demo(app)
    assert "demo data loaded" in summary
    return app


def figures(db, engine, code: str):
    params = engine.catalog.profile(engine.profile_name).for_workflow("reports")
    with db.read() as session:
        return coverage(session, get_org(session, code), params=params, year=2026)


def test_the_district_adds_up(demo, db, engine):
    c = figures(db, engine, "FED-HC")
    with db.read() as session:
        enterprises = session.scalar(select(func.count()).select_from(Organisation)
                                     .where(Organisation.kind == "enterprise"))
        imported = session.scalar(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.trigger == "import_create"))
        assert audit.verify(session, lambda: engine.subjects(session)).ok
    assert imported == ENTERPRISES and enterprises >= 300
    assert c.all.enterprises == enterprises
    assert 0.4 < c.all.founding_rate < 0.8 and 0.3 < c.all.membership_rate < 0.9
    assert [r.code for r in c.children] == ["TOWN-BJ", "TOWN-CG", "TOWN-GX", "TOWN-SQ", "TOWN-XG"]
    total = Figures()
    for r in c.children:
        total = total + r.all
        town = figures(db, engine, r.code)
        assert town.all == r.all and town.large.enterprises == r.large.enterprises
    assert total == c.all
    # towns differ: one meets the founding target, another lags well behind
    rates = sorted(r.all.founding_rate for r in c.children)
    assert rates[0] < 0.5 and rates[-1] >= 0.65


def test_the_ledger_shows_the_campaign(demo, db, engine):
    c = figures(db, engine, "FED-HC")
    sizes = [r.employees for r in c.ledger]
    assert sizes == sorted(sizes, reverse=True) and min(sizes) >= 100 and c.ledger_total == len(c.ledger)
    states = {r.code: r.case_state for r in c.ledger}
    assert states["DEMO-SQ-AUTO"] == "group_formed" and states["DEMO-XG-PORT"] == "applied"
    assert states["DEMO-GX-CHIP"] == "members_recruited" and states["DEMO-SQ-TEXT"] == "candidates_approved"
    assert "DEMO-XG-COLD" not in states                    # sanctioned: founded this year
    assert c.large.new_founded >= 2                        # and the base demo's 精密制造
    assert any(r.case_state is None for r in c.ledger)     # large enterprises nobody has started on
    assert len(FOUNDINGS) == 5


def test_the_dashboard_on_the_demo(demo):
    client = demo.test_client()
    assert login(client, "fed_li", DEMO_PASSWORD).status_code == 302
    resp = client.get("/reports/FED-HC")
    assert resp.status_code == 200
    text = text_of(resp)
    for town in ("城关街道工会", "滨江镇工会", "新港街道工会", "石桥镇工会", "高新园区工会"):
        assert town in text
    assert resp.get_data(as_text=True).count('<text class="label" ') == 5
    town = client.get("/reports/TOWN-SQ")
    assert town.status_code == 200 and "桥里社区工会" in text_of(town) and "直属企业" in text_of(town)
