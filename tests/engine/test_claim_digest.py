"""The case row digest covers who holds the decision only when someone does: an unclaimed case's digest is
the one every entry written before claims existed recorded, so that a database migrated from before still
verifies; a claimed case's differs, so that a holder changed behind the engine's back is found."""
from __future__ import annotations

import hashlib
from datetime import date

from storage import json_dumps
from workflow.rows import case_digest

ROW = ("founding", "1", "default", 7, 3, 2, False, date(2026, 11, 10))
TEXTS = ('{"a":1}', "{}", '{"apply":[2,2]}')


def _before_claims(workflow, definition_version, profile, org_id, competent_org_id, created_by_id, closed, day,
                   data, facts, fired_by) -> str:
    """The digest as it was computed before claims (the formula of migration 0011's time)."""
    head = json_dumps([workflow, definition_version, profile, org_id, competent_org_id, created_by_id, bool(closed),
                       day.isoformat()])
    return hashlib.sha256(f"{head}\n{data}\n{facts}\n{fired_by}".encode()).hexdigest()


def test_an_unclaimed_cases_digest_is_the_one_recorded_before_claims():
    assert case_digest(*ROW, None, *TEXTS) == _before_claims(*ROW, *TEXTS)


def test_a_claimed_cases_digest_names_its_holder():
    unclaimed = case_digest(*ROW, None, *TEXTS)
    assert case_digest(*ROW, 5, *TEXTS) != unclaimed
    assert case_digest(*ROW, 5, *TEXTS) != case_digest(*ROW, 6, *TEXTS)
