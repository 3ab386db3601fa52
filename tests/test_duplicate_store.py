"""The duplicate store keeps ids, not events: digests in a compact table, conflicts kept."""

from __future__ import annotations

import datetime as dt
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import commitrules
from commitrules import Engine, EventConflictError, SnapshotError
from commitrules.engine._intake import LEGACY, SORTED, Digests, DuplicateStore

PACK = commitrules.load_pack()
CST = dt.timezone(dt.timedelta(hours=8))
FIXTURE = Path(__file__).parent / "snapshots" / "v1-default-pack.json"


def sale(event_id: str, minute: int, **changes: Any) -> dict[str, Any]:
    event = {
        "id": event_id,
        "type": "sale",
        "at": (dt.datetime(2026, 7, 1, 10, tzinfo=CST) + dt.timedelta(minutes=minute)).isoformat(),
        "customer_id": "C1",
        "product_id": "P1",
        "product_risk": 2,
        "amount": "900",
        "currency": "CNY",
        "staff_id": "S1",
        "branch_id": "B1",
        "channel": "branch",
        "recorded": True,
    }
    event.update(changes)
    return event


# -- the table against a plain model -------------------------------------------------------
operations = st.lists(
    st.one_of(
        # (insert, id digest, time): small digests collide in the index and wrap around it
        st.tuples(st.just("add"), st.integers(0, 40), st.integers(0, 30)),
        st.tuples(st.just("evict"), st.just(0), st.integers(0, 40)),
        # a new id remembered, then withdrawn (the call failed before it committed)
        st.tuples(st.just("undo"), st.integers(0, 40), st.integers(0, 30)),
    ),
    max_size=120,
)


@given(operations)
def test_the_table_holds_what_a_dict_in_arrival_order_holds(
    ops: list[tuple[str, int, int]],
) -> None:
    store = DuplicateStore(smallest=2)
    model: dict[int, tuple[int, int]] = {}  # key -> (body, time), in arrival order
    for op, key, value in ops:
        if op == "add":
            found = store.find(key)
            assert (found >= 0) == (key in model)
            if key not in model:
                body = key * 7 + 1
                store.remember(key, value, body)
                model[key] = (body, value)
        elif op == "undo":
            if store.find(key) < 0:
                store.remember(key, value, 1)
                store.withdraw(key)
                assert store.find(key) < 0
        else:
            # Oldest first, while older than the cutoff (a newer one stops the walk).
            for held in list(model):
                if model[held][1] >= value:
                    break
                del model[held]
            store.evict_before(value)
        assert len(store) == len(model)
        assert [(int(k, 16), at, int(b, 16)) for k, at, b in store.entries()] == [
            (k, at, b) for k, (b, at) in model.items()
        ]
    for key in range(41):
        assert (store.find(key) >= 0) == (key in model)


def test_withdraw_undoes_a_remember_that_stopped_before_the_ring_moved() -> None:
    store = DuplicateStore(smallest=4)
    for key in (1, 5, 9):  # one probe run: 1, 5 and 9 share a home place
        store.find(key)
        store.remember(key, key, key)
    store.find(13)
    place = store._place  # the index written, the ring not yet advanced
    store._keys[store.tail % store._capacity] = 13
    store._index[place] = store.tail % store._capacity + 1
    store.withdraw(13)
    assert store.find(13) < 0
    assert [int(key, 16) for key, _, _ in store.entries()] == [1, 5, 9]
    assert all(store.find(key) >= 0 for key in (1, 5, 9))


def test_an_id_costs_at_most_64_bytes_at_a_million() -> None:
    store = DuplicateStore()
    digests = Digests(None)
    count = 200_000  # the table's layout per id does not depend on the count
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(count):
            key = digests.of_id(f"e{n}")
            store.find(key)
            store.remember(key, n, n)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held / count <= 64, held / count
    assert store.nbytes() / count <= 64


# -- conflicts -------------------------------------------------------------------------
def test_a_conflict_names_the_fields_while_the_earlier_event_is_held() -> None:
    engine = Engine(PACK)
    engine.process(sale("s1", 1))
    with pytest.raises(EventConflictError, match=r"different: amount, recorded"):
        engine.process(sale("s1", 1, amount="7", recorded=False))


def test_a_conflict_is_raised_once_the_earlier_event_is_gone() -> None:
    engine = Engine(PACK)
    engine.process(sale("s1", 1))
    engine._journal.entries.clear()  # as after a checkpoint: only the digests remain
    with pytest.raises(EventConflictError, match="no longer held: its digest differs"):
        engine.process(sale("s1", 1, amount="7"))
    assert engine.process(sale("s1", 1)) == []
    assert engine.stats.duplicates == 1


def test_the_same_value_written_differently_is_a_conflict() -> None:
    engine = Engine(PACK)
    engine.process(sale("s1", 1, amount="900"))
    with pytest.raises(EventConflictError, match=r"different: amount"):
        engine.process(sale("s1", 1, amount="900.0"))


class Colliding(Digests):
    """Every id has the same digest."""

    def of_id(self, event_id: str) -> int:
        return 42


def test_a_digest_collision_is_a_conflict_never_a_dropped_event() -> None:
    engine = Engine(PACK)
    engine._digests = engine._store.digests = Colliding(None)
    engine.process(sale("s1", 1))
    with pytest.raises(EventConflictError):
        engine.process(sale("s2", 2))
    assert engine.stats.processed == 1
    assert engine.stats.duplicates == 0


def test_digests_are_keyed_with_the_id_key() -> None:
    plain, keyed, other = Digests(None), Digests(b"k" * 16), Digests(b"j" * 16)
    assert len({plain.of_id("e1"), keyed.of_id("e1"), other.of_id("e1")}) == 3
    body = {"id": "e1", "customer_id": "C1"}
    assert len({plain.of_body(body), keyed.of_body(body), other.of_body(body)}) == 3
    assert plain.fingerprint is None
    assert keyed.fingerprint != other.fingerprint


# -- snapshots -------------------------------------------------------------------------
def test_a_snapshot_holds_digests_not_ids_or_personal_values() -> None:
    engine = Engine(PACK, id_key=b"k" * 16)
    engine.process(sale("sale-of-C-PRIVATE", 1, customer_id="C-PRIVATE"))
    state = engine.snapshot()
    assert state["version"] == 3
    (entry,) = state["seen"]
    assert len(entry[0]) == 16
    assert len(entry[2]) == 16
    assert "PRIVATE" not in json.dumps(state["seen"])
    assert state["seen_key"] == engine._digests.fingerprint


def test_a_restore_with_another_id_key_is_refused() -> None:
    engine = Engine(PACK, id_key=b"k" * 16)
    engine.process(sale("s1", 1))
    state = json.loads(json.dumps(engine.snapshot()))
    with pytest.raises(SnapshotError, match="another id key"):
        Engine.restore(PACK, state, id_key=b"j" * 16)
    with pytest.raises(SnapshotError, match="this engine has none"):
        Engine.restore(PACK, state)
    restored = Engine.restore(PACK, state, id_key=b"k" * 16)
    assert restored.process(sale("s1", 1)) == []


def test_a_version_1_snapshot_still_loads_and_resumes_exactly() -> None:
    # Written by the engine of main at 655fb04 (snapshot version 1): the first half of a
    # seeded benchmark stream (benchmarks/streams.py, seed 11, 8 days, 300 customers).
    saved = json.loads(FIXTURE.read_text(encoding="utf-8"))
    events, split, state = saved["events"], saved["split"], saved["snapshot"]
    assert state["version"] == 1
    end = dt.datetime(2026, 9, 1, tzinfo=CST)
    whole = Engine(PACK)
    expected = whole.process_many(events) + whole.advance_to(end)
    first = Engine(PACK)
    before = first.process_many(events[:split])
    restored = Engine.restore(PACK, state)
    assert restored.fresh_rules == ()
    assert len(restored._store) == len(state["seen"])
    # A replayed id is still a duplicate, with another content a conflict.
    replayed = events[split - 1]
    assert restored.process(replayed) == []
    assert restored.stats.duplicates == state["stats"]["duplicates"] + 1
    with pytest.raises(EventConflictError, match="no longer held"):
        restored.process({**replayed, "id": replayed["id"], "at": events[split]["at"]})
    after = restored.process_many(events[split:]) + restored.advance_to(end)
    assert [v.to_dict() for v in before + after] == [v.to_dict() for v in expected]
    # Saved again, it is a version 3 snapshot that keeps the legacy digests.
    again = restored.snapshot()
    assert again["version"] == 3
    assert any(int(body, 16) & LEGACY for _, _, body in again["seen"]) or not again["seen"]


FIXTURE_V2 = Path(__file__).parent / "snapshots" / "v2-default-pack.json"


def test_a_version_2_snapshot_still_loads_and_resumes_exactly() -> None:
    # Written by the engine of main at 07f2f23 (snapshot version 2: content digests of the
    # event as sorted JSON) from the same events and split as the version 1 fixture.
    saved = json.loads(FIXTURE_V2.read_text(encoding="utf-8"))
    events, split, state = saved["events"], saved["split"], saved["snapshot"]
    assert state["version"] == 2
    end = dt.datetime(2026, 9, 1, tzinfo=CST)
    whole = Engine(PACK)
    expected = whole.process_many(events) + whole.advance_to(end)
    first = Engine(PACK)
    before = first.process_many(events[:split])
    restored = Engine.restore(PACK, state)
    assert len(restored._store) == len(state["seen"])
    # Every restored entry keeps its sorted-JSON digest, flagged.
    assert all(int(body, 16) & SORTED for _, _, body in restored.snapshot()["seen"])
    # A replayed id is still a duplicate (its old digest recomputed), with another
    # content a conflict; a new id is accepted and kept with this version's digest.
    replayed = events[split - 1]
    assert restored.process(replayed) == []
    assert restored.stats.duplicates == state["stats"]["duplicates"] + 1
    with pytest.raises(EventConflictError, match="no longer held"):
        restored.process({**replayed, "at": events[split]["at"]})
    later = restored.process_many(events[split:])
    again = restored.snapshot()  # before the horizon passes: old and new digests held
    after = later + restored.advance_to(end)
    assert [v.to_dict() for v in before + after] == [v.to_dict() for v in expected]
    assert again["version"] == 3
    bodies = [int(body, 16) for _, _, body in again["seen"]]
    assert any(body & SORTED for body in bodies)
    assert any(not body & (SORTED | LEGACY) for body in bodies)
    # The version 3 snapshot (old and new digests side by side) restores and still judges
    # both kinds of repeats.
    twice = Engine.restore(PACK, json.loads(json.dumps(again)))
    assert twice.process(replayed) == []
    assert twice.process(events[-1]) == []


def test_the_content_digest_is_of_the_values_in_field_order() -> None:
    digests = Engine(PACK)._digests
    checked = PACK.catalog.validate(sale("s1", 1))
    # The same event with its keys in another order: the same digest.
    shuffled = dict(reversed(list(checked.items())))
    assert digests.of_body(shuffled) == digests.of_body(checked)
    assert digests.of_body(checked) < SORTED  # no flag bit
    # Every change of a value changes it; so does the same instant at another offset.
    for field, value in [("amount", "900.0"), ("recorded", False), ("customer_id", "C2")]:
        other = PACK.catalog.validate(sale("s1", 1, **{field: value}))
        assert digests.of_body(other) != digests.of_body(checked), field
    utc = PACK.catalog.validate(sale("s1", 1, at="2026-07-01T02:01:00+00:00"))
    assert utc["at"] == checked["at"]
    assert digests.of_body(utc) != digests.of_body(checked)
    # A key more or a key fewer than the type declares: hashed as sorted JSON instead,
    # never equal to the event without it.
    assert digests.of_body({**checked, "extra": None}) != digests.of_body(checked)
    fewer = dict(checked)
    del fewer["staff_id"]
    assert digests.of_body(fewer) != digests.of_body(checked)
    swapped = dict(fewer, extra=checked["staff_id"])
    assert digests.of_body(swapped) != digests.of_body(checked)
    assert digests.matches(digests.of_body(checked), checked)
    assert digests.matches(digests.of_body_sorted(checked), checked)
