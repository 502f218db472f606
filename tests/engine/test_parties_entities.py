"""Cases of two organisations (parties) and effects on declared entities, on both databases."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, func, select, text

import audit
from audit import AuditEntry
from tests.support import SAMPLE_PACKAGE
from workflow import (
    Actor, CaseParty, Engine, FourEyes, InvalidInput, NotCompetent, NotFound, can_view_case, list_cases,
    review_queue,
)
from workflow.catalog import checked_catalog

from tests.fixtures.sample_transfer.rules import SampleNote

WF = "sample_transfer"


@pytest.fixture(scope="module")
def party_catalog():
    return checked_catalog(extra=(SAMPLE_PACKAGE, "tests.fixtures.sample_transfer"))


@pytest.fixture
def eng(party_catalog):
    return Engine(party_catalog)


@pytest.fixture
def notes(db):
    """The test entity's table, empty."""
    with db.write() as session:
        SampleNote.__table__.create(session.connection(), checkfirst=True)
        session.execute(delete(SampleNote))
    yield


@pytest.fixture
def people(tree, make_user, db):
    """ENT-L (under FED) issues to ENT-X (under FED2); COM is notified but does not see the case."""
    made = dict(tree)
    made["rx"] = make_user("rx", "reviewer", "ENT-X")
    made["rx2"] = make_user("rx2", "reviewer", "ENT-X")
    made["px"] = make_user("px", "preparer", "ENT-X")
    made["rev_l"] = make_user("rev_l", "reviewer", "ENT-L")
    return {k: v.actor(db) for k, v in made.items()}


def _create(db, eng, actor, receiving="ENT-X", notified="COM", **data):
    with db.write() as session:
        case = eng.create_case(session, WF, "ENT-L", actor, {"receiving": receiving, "notified": notified, **data})
        return case.id


def _note_id(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.max(SampleNote.id)))


def _entries(db, case_id):
    with db.read() as session:
        return [(e.trigger, json.loads(e.data)) for e in audit.entries_for(session, "case", str(case_id))]


# -- parties ------------------------------------------------------------------

def test_create_records_each_party_and_names_them_in_the_entry(db, eng, notes, people):
    # the issuing preparer names the receiving organisation without seeing it
    case_id = _create(db, eng, people["prep"], text="凭证")
    with db.read() as session:
        rows = session.execute(select(CaseParty.party, CaseParty.sees_case).where(CaseParty.case_id == case_id)
                               .order_by(CaseParty.party)).all()
        assert rows == [("notified", False), ("receiving", True)]
    assert _entries(db, case_id)[0][1]["parties"] == {"receiving": "ENT-X", "notified": "COM"}


@pytest.mark.parametrize("receiving, notified, field, code", [
    ("", "COM", "receiving", "required"),
    ("NOPE", "COM", "receiving", "unknown_org"),
    ("FED2", "COM", "receiving", "not_in_choices"),
    ("ENT-L", "COM", "receiving", "same_org"),
    ("ENT-X", "ENT-S", "notified", "not_in_choices"),
])
def test_a_party_must_exist_be_of_its_kind_and_not_the_cases_own(db, eng, notes, people, receiving, notified,
                                                                   field, code):
    with pytest.raises(InvalidInput) as err:
        _create(db, eng, people["prep"], receiving=receiving, notified=notified)
    assert err.value.fields[field].code == code
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(CaseParty)) == 0


def test_a_party_side_that_sees_the_case_sees_it_and_no_one_else(db, eng, notes, people):
    case_id = _create(db, eng, people["prep"])
    for who, sees in (("rx", True), ("fed2", True), ("fed", True), ("prep", True), ("com", False),
                      ("town", False), ("auditor2", True), ("prep_x", True)):
        actor = people[who]
        with db.read() as session:
            listed = [c.id for c in list_cases(session, actor).items]
            assert (case_id in listed) is sees, who
            from workflow import Case
            assert can_view_case(actor, session.get(Case, case_id)) is sees, who
        with db.write() as session:
            if sees:
                eng.load_for_update(session, case_id, actor)
            else:
                with pytest.raises(NotFound):
                    eng.load_for_update(session, case_id, actor)
                with pytest.raises(NotFound):
                    eng.fire(session, case_id, "note", actor)


def test_a_party_step_is_decided_by_the_partys_side_with_four_eyes(db, eng, notes, people):
    case_id = _create(db, eng, people["prep"])
    with db.write() as session:  # the issuing side sees the case but does not decide the party's step
        with pytest.raises(NotCompetent) as err:
            eng.fire(session, case_id, "note", people["rev_l"])
        assert err.value.reasons[0].params["competent_code"] == "ENT-X"
    with db.write() as session:
        eng.fire(session, case_id, "note", people["rx"])
    with db.read() as session:
        from workflow import Case
        case = session.get(Case, case_id)
        allowed = {a.trigger: a.allowed for a in eng.available(session, case, people["rx2"])}
        assert allowed == {"accept": True, "remark": False}
        assert {a.trigger: a.allowed for a in eng.available(session, case, people["rx"])}["accept"] is False
        with pytest.raises(NotFound):
            eng.available(session, case, people["town"])
        queue = review_queue(session, people["rx2"], {WF: ["noted"]}).items
        assert [c.id for c in queue] == [case_id]
    note = _note_id(db)
    with db.write() as session:  # whoever noted it may not accept it
        with pytest.raises(FourEyes):
            eng.fire(session, case_id, "accept", people["rx"], {"note": note})
    with db.write() as session:
        out = eng.fire(session, case_id, "accept", people["rx2"], {"note": note})
        assert out.state == "accepted"
    case_id2 = _create(db, eng, people["prep"])
    with db.write() as session:  # the case's own steps stay with the case's own organisation
        with pytest.raises(NotCompetent):
            eng.fire(session, case_id2, "remark", people["rx"])
        eng.fire(session, case_id2, "remark", people["rev_l"])


def test_a_workflow_without_parties_never_loads_them(db, eng, people, monkeypatch):
    import workflow.engine

    def refuse(*_a, **_k):
        raise AssertionError("parties loaded for a workflow that declares none")

    monkeypatch.setattr(workflow.engine, "load_parties", refuse)
    with db.write() as session:
        case = eng.create_case(session, "sample", "ENT-L", people["prep"], {})
        case_id = case.id
    with db.write() as session:
        eng.fire(session, case_id, "submit", people["prep"], {"amount": 3})


# -- entities -----------------------------------------------------------------

def test_effects_create_and_update_declared_entities_and_the_trail_records_them(db, eng, notes, people):
    case_id = _create(db, eng, people["prep"], text="凭证")
    note = _note_id(db)
    with db.read() as session:
        row = session.get(SampleNote, note)
        assert (row.case_org, row.text, row.status, row.version) == ("ENT-L", "凭证", "open", 1)
    with db.write() as session:
        eng.fire(session, case_id, "note", people["rx"])
        eng.fire(session, case_id, "accept", people["rx2"], {"note": note})
    with db.read() as session:
        row = session.get(SampleNote, note)
        assert (row.text, row.status, row.version) == ("accepted by ENT-X", "accepted", 2)
    entries = _entries(db, case_id)
    assert entries[0][1]["entities"] == [{"entity": "sample_note", "op": "create", "key": note,
                                          "values": {"case_org": "ENT-L", "text": "凭证", "status": "open"}}]
    assert entries[2][1]["entities"] == [{"entity": "sample_note", "op": "update", "key": note,
                                          "values": {"status": "accepted", "text": "accepted by ENT-X"}}]
    with db.read() as session:
        own = audit.entries_for(session, "sample_note", str(note))
        assert [(e.trigger, e.version) for e in own] == [("create", 1), ("accept", 2)]
        assert audit.verify(session, lambda: eng.subjects(session)).ok
        assert eng.verify_entities(session) == []
        # replaying the case entries' changes in seq order gives the row as it stands
        from workflow.entities import replay
        assert replay(session)[("sample_note", str(note))] == {
            "case_org": "ENT-L", "text": "accepted by ENT-X", "status": "accepted"}


def test_a_raw_edit_of_an_entity_row_fails_verification_naming_it(db, eng, notes, people):
    _create(db, eng, people["prep"], text="原文")
    note = _note_id(db)
    with db.write() as session:
        session.execute(text("UPDATE sample_notes SET status = 'forged' WHERE id = :id"), {"id": note})
    with db.read() as session:
        result = audit.verify(session, lambda: eng.subjects(session))
        assert not result.ok
        assert f"sample_note {note} is in state" in result.first_bad["problem"]
        assert eng.verify_entities(session) == [f"sample_note {note} differs from the audit trail in status"]


def test_a_deleted_or_inserted_entity_row_fails_verification(db, eng, notes, people):
    _create(db, eng, people["prep"])
    _create(db, eng, people["prep"])
    note = _note_id(db)
    with db.write() as session:
        session.execute(text("DELETE FROM sample_notes WHERE id = :id"), {"id": note})
    with db.read() as session:
        result = audit.verify(session, lambda: eng.subjects(session))
        assert not result.ok and f"sample_note {note} has entries but no longer exists" in result.first_bad["problem"]
        assert eng.verify_entities(session) == [f"sample_note {note} is in the audit trail but no longer exists"]
    with db.write() as session:
        session.execute(text("INSERT INTO sample_notes (id, case_org, text, status, version) "
                             "VALUES (:id, 'X', 'x', 'open', 1)"), {"id": note})
    with db.read() as session:
        assert not audit.verify(session, lambda: eng.subjects(session)).ok
        assert eng.verify_entities(session) == [
            f"sample_note {note} differs from the audit trail in case_org, text"]


@pytest.mark.parametrize("mode, problem", [("undeclared_entity", "entity 'other_thing'"),
                                           ("undeclared_field", "fields ['secret']")])
def test_changes_to_undeclared_entities_or_fields_are_refused_and_nothing_is_written(db, eng, notes, people,
                                                                                      mode, problem):
    case_id = _create(db, eng, people["prep"])
    with db.write() as session:
        eng.fire(session, case_id, "note", people["rx"])
    with db.read() as session:
        before = session.scalar(select(func.count()).select_from(AuditEntry))
    note = _note_id(db)
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        with db.write() as session:
            eng.fire(session, case_id, "accept", people["rx2"], {"note": note, "mode": mode})
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == before
        assert session.get(SampleNote, note).status == "open"


def test_an_engine_refuses_a_definition_naming_an_unregistered_entity(party_catalog, monkeypatch):
    from definitions import DefinitionError
    from workflow import entities

    monkeypatch.delitem(entities.ENTITIES, "sample_note")
    with pytest.raises(DefinitionError, match="sample_transfer/definition.yaml: entity 'sample_note' is not registered"):
        Engine(party_catalog)
