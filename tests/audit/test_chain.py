"""The hash of an entry: the direct header writer gives exactly the canonical encoder's text."""
from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.chain import canonical_json, entry_hash, hashed_at, link_hash, format_at

FIELDS = ("seq", "at", "actor", "role", "subject_type", "subject_id", "trigger", "from_state", "to_state",
          "version", "comment", "data", "prev_hash")


def reference(fields: dict) -> str:
    header = canonical_json([fields[k] for k in FIELDS if k != "data"])
    return hashlib.sha256(f"{header}\n{fields['data']}".encode("utf-8")).hexdigest()


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
numbers = st.one_of(st.integers(min_value=-2**63, max_value=2**63), st.booleans(), st.floats(allow_nan=False))


@settings(max_examples=400, deadline=None)
@given(seq=numbers, version=st.one_of(st.none(), numbers), strings=st.lists(texts, min_size=9, max_size=9),
       states=st.tuples(st.one_of(st.none(), texts), st.one_of(st.none(), texts)))
def test_link_hash_is_the_canonical_hash_for_any_field_values(seq, version, strings, states):
    at, actor, role, stype, sid, trigger, comment, data, prev = strings
    fields = dict(seq=seq, at=at, actor=actor, role=role, subject_type=stype, subject_id=sid, trigger=trigger,
                  from_state=states[0], to_state=states[1], version=version, comment=comment, data=data,
                  prev_hash=prev)
    assert link_hash(*(fields[k] for k in FIELDS)) == reference(fields)
    assert entry_hash(**fields) == reference(fields)


def test_quotes_backslashes_controls_and_chinese_are_encoded_as_the_canonical_form():
    fields = dict(seq=7, at='2026-11-21T08:00:00.000001Z', actor='a"b', role="re\\viewer", subject_type="case",
                  subject_id="12", trigger="ap\nprove", from_state=None, to_state="已批准\u2028", version=None,
                  comment="\x01\t说明", data='{"a":1}', prev_hash="0" * 64)
    assert link_hash(*(fields[k] for k in FIELDS)) == reference(fields)


def test_the_stored_sqlite_text_and_the_datetime_hash_to_the_same_time():
    from datetime import datetime

    when = datetime(2026, 11, 21, 8, 5, 9, 42)
    assert hashed_at("2026-11-21 08:05:09.000042") == format_at(when) == "2026-11-21T08:05:09.000042Z"
    assert hashed_at(when) == format_at(when)
    assert hashed_at("2026-11-21T08:05:09.000042") == format_at(when)  # any other text is parsed


def test_format_at_is_the_strftime_text_at_every_boundary():
    """The hashed time text must never change: whole seconds, the last microsecond, small years and
    aware times all give what the original strftime format gives."""
    from datetime import datetime, timedelta, timezone

    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    for when in (datetime(2026, 1, 1), datetime(2026, 12, 31, 23, 59, 59, 999999), datetime(1000, 1, 1),
                 datetime(999, 12, 31, 23, 59, 59), datetime(9999, 12, 31, 23, 59, 59, 999999),
                 datetime(2026, 6, 1, 12, tzinfo=timezone.utc), datetime(2026, 6, 1, 12, tzinfo=timezone(timedelta(hours=8)))):
        assert format_at(when) == when.strftime(fmt), when
