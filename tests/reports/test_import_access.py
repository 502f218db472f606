"""Who may import the register, and into which part of the tree."""
from __future__ import annotations

import pytest

from tests.reports.test_import import CODE_A, CODE_B, csv_bytes, org, run
from workflow import Forbidden
from services.register import may_import


def test_federation_reviewers_import_within_their_subtree(db, tree):
    fed = tree["fed"].actor(db)
    result = run(db, csv_bytes([["某公司", CODE_A, "", 10, 1, "TOWN", "", ""],
                                ["外区公司", CODE_B, "", 10, 1, "FED2", "", ""]]), fed)
    assert [(p.row, p.field, p.code) for p in result.errors] == [(3, "parent", "parent_outside")]
    assert "不在您的管辖范围内" in result.errors[0].message()
    result = run(db, csv_bytes([["某公司", CODE_A, "", 10, 1, "TOWN", "", ""]]), fed)
    assert result.written and org(db, CODE_A) is not None


def test_a_known_enterprise_outside_the_subtree_is_refused(db, tree, make_org):
    make_org("ENT-FAR", "enterprise", "FED2", employees=70, credit_code=CODE_B, name="外区登记企业")
    fed = tree["fed"].actor(db)
    result = run(db, csv_bytes([["外区登记企业", CODE_B, "", 80, 1, "FED", "", ""]]), fed)
    assert [(p.field, p.code) for p in result.errors] == [("credit_code", "enterprise_outside")]
    assert org(db, "ENT-FAR").employees == 70
    # an administrator may move it
    result = run(db, csv_bytes([["外区登记企业", CODE_B, "", 80, 1, "FED", "", ""]]))
    assert result.written and org(db, "ENT-FAR").parent_id == org(db, "FED").id


@pytest.mark.parametrize("who", ["town", "com", "auditor", "prep"])
def test_others_may_not_import(db, tree, who):
    actor = tree[who].actor(db)
    with db.read() as session:
        assert not may_import(session, actor)
    with pytest.raises(Forbidden):
        run(db, csv_bytes([["某公司", CODE_A, "", 10, 1, "TOWN", "", ""]]), actor, dry_run=True)


def test_an_enterprise_reviewer_may_not_import(db, tree, make_user):
    union = make_user("union_l", "reviewer", "ENT-L").actor(db)
    with db.read() as session:
        assert not may_import(session, union)
        assert may_import(session, tree["fed"].actor(db)) and may_import(session, tree["admin"].actor(db))
