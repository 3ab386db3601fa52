"""Restarts lose nothing: snapshot, restore, and a pack that changed in between."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import commitrules
from commitrules import Engine, SnapshotError
from commitrules.testing import strategies

PACK = commitrules.load_pack()
END = dt.datetime(2026, 10, 15, tzinfo=dt.UTC)
CST = dt.timezone(dt.timedelta(hours=8))


def through_json(snapshot: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(snapshot, ensure_ascii=False)
    assert "pickle" not in text
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@given(strategies.streams(PACK.catalog, max_size=40), st.data())
def test_run_snapshot_restore_run_gives_the_violations_of_one_run(
    stream: list[dict[str, Any]], data: st.DataObject
) -> None:
    whole = Engine(PACK)
    expected = whole.process_many(stream) + whole.advance_to(END)
    split = data.draw(st.integers(0, len(stream)))
    first = Engine(PACK)
    found = first.process_many(stream[:split])
    if data.draw(st.booleans()) and first.watermark is not None:
        found += first.advance_to(
            first.watermark + dt.timedelta(hours=data.draw(st.integers(0, 5)))
        )
        expected_ids = None  # an extra clock move may legitimately change what is late
    else:
        expected_ids = [v.id for v in expected]
    second = Engine.restore(PACK, through_json(first.snapshot()))
    assert second.fresh_rules == ()
    rest = stream[split:]
    try:
        for event in rest:
            found += second.process(event)
    except commitrules.LateEventError:
        assert expected_ids is None
        return
    found += second.advance_to(END)
    if expected_ids is not None:
        assert [v.id for v in found] == expected_ids
        assert [v.to_dict() for v in found] == [v.to_dict() for v in expected]


def complaint(eid: str, day: int, case: str) -> dict[str, Any]:
    return {
        "id": eid,
        "type": "complaint_received",
        "at": dt.datetime(2026, 7, day, 10, tzinfo=CST).isoformat(),
        "case_id": case,
        "customer_id": "C1",
        "channel": "hotline",
        "category": "fees",
        "branch_id": "BR-SH-PD",
        "assignee": "S0007",
    }


def test_a_changed_parameter_carries_its_rule_over_with_the_new_due_time() -> None:
    engine = Engine(PACK)
    engine.process(complaint("c1", 1, "K1"))
    snapshot = through_json(engine.snapshot())
    changed = commitrules.load_pack(parameters={"complaint_ack_days": 5})
    restored = Engine.restore(changed, snapshot)
    assert restored.fresh_rules == ()
    actions = {rule.rule_id: rule.action for rule in restored.migration.rules}
    assert actions["C5.acknowledge.in-time"] == "carried"
    assert [rule for rule, action in actions.items() if action != "kept"] == [
        "C5.acknowledge.in-time"
    ]
    (item,) = next(r for r in restored.migration.rules if r.action == "carried").items
    assert (item.action, dict(item.key)) == ("recomputed", {"case_id": "K1"})
    # Both pending deadlines of K1 survived: the acknowledgement now due 5 days on.
    found = restored.advance_to(dt.datetime(2026, 7, 17, tzinfo=CST))
    late = {v.rule_id: v.due_at for v in found if v.rule_id.startswith("C5")}
    assert set(late) == {"C5.acknowledge.in-time", "C5.resolve.simple"}
    assert late["C5.acknowledge.in-time"] == dt.datetime(2026, 7, 6, 23, 59, 59, 999999, tzinfo=CST)


def test_rewording_a_message_keeps_the_state() -> None:
    engine = Engine(PACK)
    engine.process(complaint("c1", 1, "K1"))
    assert Engine.restore(PACK, through_json(engine.snapshot())).fresh_rules == ()


def test_a_replayed_id_is_still_a_duplicate_after_a_restore() -> None:
    engine = Engine(PACK)
    event = complaint("c1", 1, "K1")
    engine.process(event)
    restored = Engine.restore(PACK, through_json(engine.snapshot()))
    assert restored.process(event) == []
    assert restored.stats.duplicates == 1
    with pytest.raises(commitrules.EventConflictError):
        restored.process({**event, "case_id": "K2"})


@pytest.mark.parametrize(
    ("snapshot", "reason"),
    [
        ({}, "not a commitrules snapshot"),
        ({"format": "commitrules.snapshot", "version": 99}, "version 99"),
        ({"format": "commitrules.snapshot", "version": 1}, "malformed"),
        ([1, 2], "not a commitrules snapshot"),
    ],
)
def test_a_bad_snapshot_is_a_clear_error(snapshot: Any, reason: str) -> None:
    with pytest.raises(SnapshotError, match=reason):
        Engine.restore(PACK, snapshot)


def test_a_snapshot_holds_no_event_payloads_beyond_pending_work() -> None:
    engine = Engine(PACK)
    engine.process(complaint("c1", 1, "K1"))
    text = json.dumps(engine.snapshot(), ensure_ascii=False)
    assert "hotline" not in text  # seen events are kept as hashes


def test_rule_fingerprints_are_the_same_in_every_process() -> None:
    # A snapshot is restored in another process: a fingerprint that followed the hash seed
    # (the order of a set in a calendar spec) marked rules fresh and dropped their state.
    script = (
        "import commitrules, json\n"
        "print(json.dumps({p: {r.rule_id: r.fingerprint for r in "
        "commitrules.load_pack(profile=p).build().rules} for p in ('cn', 'hk', 'uk')}))\n"
    )
    seen = set()
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        seen.add(result.stdout)
    assert len(seen) == 1
    assert len(json.loads(seen.pop())["hk"]) == len(PACK.rules)


def test_state_values_encode_and_decode_alike_whatever_their_container_type() -> None:
    # Plain items of lists, tuples and dicts are copied without a call each; subclasses
    # (an enum, an ordered dict) and tagged values still take the general way.
    import enum
    from collections import OrderedDict
    from decimal import Decimal

    from commitrules.snapshot import decode, encode

    class Level(enum.IntEnum):
        HIGH = 2

    at = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    value = {
        "a": (1, 2.5, None, True, "x"),
        3: [at, dt.date(2026, 7, 1), Decimal("0.92"), Level.HIGH],
        "nested": OrderedDict(k=[{"t": at}], s=frozenset({"b", "a"})),
    }
    encoded = encode(value)
    assert encoded == {
        "a": [1, 2.5, None, True, "x"],
        "3": [
            {"$dt": "2026-07-01T09:00:00+08:00"},
            {"$d": "2026-07-01"},
            {"$dec": "0.92"},
            2,
        ],
        "nested": {"k": [{"t": {"$dt": "2026-07-01T09:00:00+08:00"}}], "s": ["a", "b"]},
    }
    assert json.loads(json.dumps(encoded)) == encoded
    decoded = decode(encoded)
    assert decoded == {
        "a": [1, 2.5, None, True, "x"],
        "3": [at, dt.date(2026, 7, 1), Decimal("0.92"), 2],
        "nested": {"k": [{"t": at}], "s": ["a", "b"]},
    }
    assert decode(
        OrderedDict(k=OrderedDict({"$dec": "1.5"}), l=[OrderedDict({"$d": "2026-01-02"})])
    ) == {
        "k": Decimal("1.5"),
        "l": [dt.date(2026, 1, 2)],
    }
