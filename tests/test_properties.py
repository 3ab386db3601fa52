"""Engine invariants, property-tested with the public strategies on the default pack."""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import commitrules
from commitrules import Engine, EventError
from commitrules.engine._time import Timers
from commitrules.testing import strategies

PACK = commitrules.load_pack()
END = dt.datetime(2026, 12, 31, tzinfo=dt.UTC)

stream_of_events = strategies.streams(PACK.catalog, max_size=40)


def run(
    stream: list[dict[str, Any]], until: dt.datetime | None = END
) -> list[commitrules.Violation]:
    engine = Engine(PACK)
    found = engine.process_many(stream)
    if until is not None:
        found += engine.advance_to(until)
    return found


@given(stream_of_events)
def test_the_same_stream_gives_the_same_violations_in_the_same_order(
    stream: list[dict[str, Any]],
) -> None:
    first = run(stream)
    assert [v.to_dict() for v in first] == [v.to_dict() for v in run(stream)]


@given(stream_of_events)
def test_violation_ids_are_unique_within_a_run(stream: list[dict[str, Any]]) -> None:
    ids = [v.id for v in run(stream)]
    assert len(ids) == len(set(ids))


@given(stream_of_events, st.data())
def test_replaying_ids_changes_nothing(stream: list[dict[str, Any]], data: st.DataObject) -> None:
    expected = run(stream)
    if not stream:
        return
    engine = Engine(PACK)
    found: list[commitrules.Violation] = []
    for index, event in enumerate(stream):
        found += engine.process(event)
        # Re-deliver some earlier event (at-least-once delivery upstream).
        again = stream[data.draw(st.integers(0, index))]
        assert engine.process(again) == []
    found += engine.advance_to(END)
    assert [v.id for v in found] == [v.id for v in expected]
    assert engine.stats.duplicates == len(stream)


@given(stream_of_events, st.data())
def test_a_rejected_event_leaves_the_state_unchanged(
    stream: list[dict[str, Any]], data: st.DataObject
) -> None:
    expected = run(stream)
    engine = Engine(PACK)
    found: list[commitrules.Violation] = []
    split = data.draw(st.integers(0, len(stream)))
    for event in stream[:split]:
        found += engine.process(event)
    bad = data.draw(bad_events(stream[split - 1] if split else None))
    with pytest.raises(EventError):
        engine.process(bad)
    for event in stream[split:]:
        found += engine.process(event)
    found += engine.advance_to(END)
    assert [v.id for v in found] == [v.id for v in expected]


def bad_events(last: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    """Events that must be rejected: wrong fields, unknown types, or (if any) too late."""
    options: list[st.SearchStrategy[Any]] = [
        st.just({"id": "x", "type": "sale", "at": "2026-07-01T10:00:00"}),
        st.just({"id": "x", "type": "no_such_type", "at": "2026-07-01T10:00:00+08:00"}),
        st.just({"type": "sale"}),
        st.just(["not", "an", "object"]),
    ]
    if last is not None:
        late = dt.datetime.fromisoformat(last["at"]) - dt.timedelta(seconds=1)
        options.append(st.just({**last, "id": "late-one", "at": late.isoformat()}))
        options.append(st.just({**last, "at": "2030-01-01T00:00:00+00:00"}))  # id conflict
    return st.one_of(options)


@given(stream_of_events)
def test_findings_released_together_are_ordered_by_time_rule_and_id(
    stream: list[dict[str, Any]],
) -> None:
    engine = Engine(PACK)
    for event in stream:
        released = engine.process(event)
        keys = [(v.at, v.rule_id, v.id) for v in released]
        assert keys == sorted(keys)
    released = engine.advance_to(END)
    keys = [(v.at, v.rule_id, v.id) for v in released]
    assert keys == sorted(keys)


@given(stream_of_events, st.data())
def test_advancing_time_in_steps_gives_what_one_step_gives(
    stream: list[dict[str, Any]], data: st.DataObject
) -> None:
    expected = sorted(v.id for v in run(stream))
    engine = Engine(PACK)
    found = engine.process_many(stream)
    start = engine.watermark or END
    steps = sorted(data.draw(st.lists(st.integers(0, 200 * 86400), max_size=4)))
    for seconds in steps:
        moment = start + dt.timedelta(seconds=seconds)
        if moment < END:
            found += engine.advance_to(moment)
    found += engine.advance_to(END)
    assert sorted(v.id for v in found) == expected


@given(
    strategies.streams(
        PACK.catalog,
        min_size=2,
        max_size=20,
        min_gap=dt.timedelta(seconds=1),
        max_gap=dt.timedelta(seconds=3),
    )
)
def test_streams_with_a_min_gap_have_strictly_increasing_times_and_unique_ids(
    stream: list[dict[str, Any]],
) -> None:
    instants = [dt.datetime.fromisoformat(event["at"]) for event in stream]
    assert all(
        later - earlier >= dt.timedelta(seconds=1)
        for earlier, later in itertools.pairwise(instants)
    )
    assert len({event["id"] for event in stream}) == len(stream)
    for event in stream:
        PACK.catalog.validate(event)


def test_a_min_gap_above_the_max_gap_is_refused() -> None:
    with pytest.raises(ValueError, match="min_gap"):
        strategies.streams(
            PACK.catalog, min_gap=dt.timedelta(hours=2), max_gap=dt.timedelta(hours=1)
        )


def _json_line(event: dict[str, Any]) -> bytes:
    def default(value: object) -> str:
        return value.isoformat() if isinstance(value, dt.datetime | dt.date) else str(value)

    return json.dumps(event, default=default).encode()


@given(stream_of_events)
def test_the_entry_points_agree(stream: list[dict[str, Any]]) -> None:
    # process_many and process_json are the batch and bytes paths: each must give exactly
    # what process gives, event by event, and leave the same state behind.
    one_by_one = Engine(PACK)
    expected = [v.to_dict() for event in stream for v in one_by_one.process(event)]
    batch = Engine(PACK)
    from_bytes = Engine(PACK)
    assert [v.to_dict() for v in batch.process_many(stream)] == expected
    found = [v.to_dict() for event in stream for v in from_bytes.process_json(_json_line(event))]
    assert found == expected
    for engine in (batch, from_bytes):
        assert engine.stats == one_by_one.stats
        assert engine.snapshot() == one_by_one.snapshot()


class _Recorder:
    """Stands in for a rule on the engine's timer path: records what fires, and a token
    ("again", n, delay) schedules one more timer ``delay`` later from inside on_timer.
    Tokens in ``spent`` do nothing when they fire; with ``drops`` the recorder also lets
    the engine drop them unfired (as a deadline rule drops the timers of met deadlines)."""

    def __init__(
        self, fired: list[Any], schedule: Any, spent: set[Any] | None = None, *, drops: bool = False
    ) -> None:
        self.fired = fired
        self.schedule = schedule
        self.spent = spent if spent is not None else set()
        self.drop_spent_timers = self._drop if drops else None

    def _drop(self, queue: Any, until_us: int) -> None:
        while queue.fires and queue.fires[0] <= until_us and queue.tokens[0] in self.spent:
            queue.popleft()

    def on_timer(self, token: Any, fire_us: int, services: Any) -> None:
        if token in self.spent:
            return
        self.fired.append((fire_us, token))
        if token[0] == "again":
            self.schedule(fire_us + token[2], self, ("then", token[1]))


class _OneHeap:
    """The reference: every timer on one heap, ordered by (time, sequence)."""

    def __init__(self) -> None:
        self.heap: list[tuple[int, int, Any, Any]] = []
        self.sequence = 0

    def schedule(self, fire_us: int, rule: Any, token: Any) -> None:
        self.sequence += 1
        heapq.heappush(self.heap, (fire_us, self.sequence, rule, token))

    def fire(self, until_us: int) -> None:
        while self.heap and self.heap[0][0] <= until_us:
            fire_us, _, rule, token = heapq.heappop(self.heap)
            rule.on_timer(token, fire_us, None)


_TIMER_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("schedule"), st.integers(0, 2), st.integers(0, 50), st.integers(-5, 9)),
        st.tuples(st.just("fire"), st.integers(0, 50), st.just(0), st.just(0)),
        st.tuples(st.just("reload"), st.just(0), st.just(0), st.just(0)),
        # one of the timers scheduled so far stops mattering (a deadline met in time)
        st.tuples(st.just("spend"), st.integers(0, 60), st.just(0), st.just(0)),
    ),
    max_size=60,
)


@given(_TIMER_STEPS)
# A dropped head whose successor is not next in time order (another rule's timer is).
@example([("schedule", 0, 5, -1), ("schedule", 0, 7, -1), ("schedule", 1, 6, -1),
          ("spend", 0, 0, 0), ("fire", 10, 0, 0)])  # fmt: skip
# A spent timer not yet due stays queued (a snapshot still lists it).
@example([("schedule", 0, 5, -1), ("schedule", 0, 20, -1), ("spend", 0, 0, 0),
          ("spend", 1, 0, 0), ("fire", 10, 0, 0), ("reload", 0, 0, 0)])  # fmt: skip
def test_timers_fire_in_time_then_schedule_order_whatever_rule_scheduled_them(
    steps: list[tuple[str, int, int, int]],
) -> None:
    # Each rule keeps its own timer queue with only the head on the engine's heap (and
    # out-of-order timers on the heap itself): the firing order must be that of one heap
    # of every timer, ordered by (time, sequence), also for timers scheduled while timers
    # fire and after the timers are reloaded as a restore does; the timers a rule drops
    # unfired (spent ones, due within the advance) are exactly those that would do nothing.
    fired: list[Any] = []
    spent: set[Any] = set()
    made: list[Timers] = []  # the recorders schedule through the Timers made after them

    def schedule(fire_us: int, rule: Any, token: Any) -> None:
        made[0].schedule(fire_us, rule, token)

    rules = [_Recorder(fired, schedule, spent, drops=index != 1) for index in range(3)]
    timers = Timers(rules)
    made.append(timers)
    model = _OneHeap()
    model_fired: list[Any] = []
    model_rules = [_Recorder(model_fired, model.schedule, spent) for _ in range(3)]
    tokens: list[Any] = []

    def run(rule: Any, token: Any, fire_us: int) -> None:
        rule.on_timer(token, fire_us, None)

    for number, (step, value, fire_us, again) in enumerate(steps):
        if step == "schedule":
            token = ("again", number, again) if again >= 0 else ("t", number, 0)
            tokens.append(token)
            timers.schedule(fire_us, rules[value], token)
            model.schedule(fire_us, model_rules[value], token)
        elif step == "spend":
            if tokens:
                spent.add(tokens[value % len(tokens)])
        elif step == "fire":
            timers.fire(value, rules, lambda _us: None, run)
            model.fire(value)
        else:  # what restore does: every pending timer on the heap, the queues empty
            pending = timers.pending()
            assert [(f, q, t) for f, q, _, t in pending] == [
                (f, q, t) for f, q, _, t in sorted(model.heap, key=lambda item: item[:2])
            ]
            timers.load(pending, timers.sequence)
    timers.fire(10**6, rules, lambda _us: None, run)
    model.fire(10**6)
    assert fired == model_fired
    assert timers.pending() == []
    assert not any(queue.fires or queue.seqs or queue.tokens for queue in timers.queues)


@pytest.fixture(scope="module")
def windowed_pack(tmp_path_factory: pytest.TempPathFactory) -> commitrules.Pack:
    """The default pack and two checks in force for part of the time only."""
    root = tmp_path_factory.mktemp("windowed") / "windowed"
    (root / "rules").mkdir(parents=True)
    (root / "pack.yaml").write_text(
        "id: windowed\nversion: 0.1.0\nname: {zh: 窗口, en: Windowed}\n"
        "extends: customer-commitments\n",
        encoding="utf-8",
    )
    (root / "rules" / "windowed.yaml").write_text(
        "rules:\n"
        "  - {id: X1.windowed, kind: check, clause: C1, on: sale, role: risk-compliance,\n"
        "     effective_from: 2026-07-03, effective_to: 2026-07-20,\n"
        "     when: 'product_risk >= 3', forbid: \"channel == 'online'\",\n"
        "     message: {zh: 窗口, en: windowed}}\n"
        "  - {id: X2.later, kind: check, clause: C1, on: [sale, product_disclosed],\n"
        "     role: risk-compliance, effective_from: 2026-07-10,\n"
        '     require: "is_set(customer_id)", message: {zh: 後, en: later}}\n',
        encoding="utf-8",
    )
    return commitrules.load_pack(root)


@given(stream_of_events)
def test_the_generated_checks_judge_as_the_rules_own_handlers(
    windowed_pack: commitrules.Pack, stream: list[dict[str, Any]]
) -> None:
    # Each type's checks run as one generated function; with it switched off, each
    # check's own handler runs: violations and outcomes must be the same, in order.
    from commitrules.engine import _engine as engine_module

    runs = []
    for fused in (True, False):
        engine_module.FUSE_CHECKS = fused
        try:
            outcomes: list[Any] = []
            engine = Engine(windowed_pack, outcomes=outcomes.append)
        finally:
            engine_module.FUSE_CHECKS = True
        assert (engine._routes["sale"][1][0][1].__name__ == "checks") is fused
        found = engine.process_many(stream) + engine.advance_to(END)
        runs.append(([v.to_dict() for v in found], [o.to_dict() for o in outcomes]))
    assert runs[0] == runs[1]
