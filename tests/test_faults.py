"""Fault injection: every call is all or nothing, and sinks lose nothing.

The engine is failed at each of its own steps after validation (release, evaluation,
rendering, routing, store): the call raises ProcessingError naming the step and the event,
the state is exactly as before the call, and the same event sent again is processed; over a
stream with such failures the findings are exactly those of a run without them. Sinks (the
outcome sink, observers) fail after the commit: every delivery arrives once the sink works
again, in order, and none is lost.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import commitrules
from commitrules import DeliveryError, Outcome, ProcessingError
from commitrules.engine import _engine, _findings, _intake, _time
from commitrules.routing import Router

ROOT = Path(__file__).resolve().parent.parent
END = dt.datetime(2026, 7, 20, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _events(count: int = 1200) -> list[dict[str, Any]]:
    """The first events of the sample quarter (every kind of rule is exercised)."""
    events = []
    with (ROOT / "examples" / "sample-events.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            events.append(json.loads(line))
            if len(events) == count:
                break
    return events


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return _events()


@pytest.fixture(scope="module")
def reference(
    default_pack: commitrules.Pack, events: list[dict[str, Any]]
) -> tuple[list[commitrules.Violation], list[Outcome], list[int]]:
    """What a run without faults releases and reports, and the places of the events
    whose calls release something."""
    outcomes: list[Outcome] = []
    engine = commitrules.Engine(default_pack, outcomes=outcomes.append)
    found: list[commitrules.Violation] = []
    releasing = []
    for position, event in enumerate(events):
        released = engine.process(event)
        if released:
            releasing.append(position)
        found += released
    found += engine.advance_to(END)
    return found, outcomes, releasing


class Switch:
    """A fault that raises ``count`` times once armed, then lets calls through."""

    def __init__(self, error: type[BaseException] = RuntimeError) -> None:
        self.error = error
        self.left = 0
        self.fired = 0

    def arm(self, count: int = 1) -> None:
        self.left = count

    def __call__(self) -> None:
        if self.left:
            self.left -= 1
            self.fired += 1
            raise self.error("injected fault")


def _wrap(switch: Switch, function: Callable[..., Any]) -> Callable[..., Any]:
    def faulty(*args: Any, **kwargs: Any) -> Any:
        switch()
        return function(*args, **kwargs)

    return faulty


def _inject(step: str, switch: Switch, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make one of the engine's own steps raise when the switch is armed."""
    if step == "release":  # the timers that release due deadlines and closed periods
        monkeypatch.setattr(_time.Timers, "fire", _wrap(switch, _time.Timers.fire))
    elif step == "evaluation":  # a check runs out of memory (not the rule's own failure)
        fuse = _engine.fuse_checks

        def fused(rules: Any, event_type: str) -> Callable[..., Any]:
            function = fuse(rules, event_type)

            def judge(event: Any, at_us: int, services: Any) -> Any:
                try:
                    switch()
                except MemoryError as error:
                    services.rule_failed(rules[0], error, event)
                return function(event, at_us, services)

            return judge

        monkeypatch.setattr(_engine, "fuse_checks", fused)
    elif step == "rendering":
        monkeypatch.setattr(_findings, "local_text", _wrap(switch, _findings.local_text))
    elif step == "routing":
        monkeypatch.setattr(Router, "route", _wrap(switch, Router.route))
    elif step == "store":
        store = _intake.DuplicateStore

        def remember(self: Any, key: int, at_us: int, body: int) -> None:
            # All of it done (the id held, the ring one longer), then the failure: the
            # rollback must withdraw it.
            store.remember.__wrapped__(self, key, at_us, body)  # type: ignore[attr-defined]
            switch()

        remember.__wrapped__ = store.remember  # type: ignore[attr-defined]
        monkeypatch.setattr(store, "remember", remember)
    else:  # pragma: no cover - the parametrisation names only the above
        raise AssertionError(step)


STEPS = ("release", "evaluation", "rendering", "routing", "store")


def _state(engine: commitrules.Engine) -> str:
    return json.dumps(engine.snapshot(), sort_keys=True, default=str)


@pytest.mark.parametrize("step", STEPS)
def test_a_failed_step_changes_nothing_and_a_retry_is_processed(
    step: str,
    default_pack: commitrules.Pack,
    events: list[dict[str, Any]],
    reference: tuple[list[commitrules.Violation], list[Outcome], list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    switch = Switch(MemoryError if step == "evaluation" else RuntimeError)
    _inject(step, switch, monkeypatch)
    outcomes: list[Outcome] = []
    engine = commitrules.Engine(default_pack, outcomes=outcomes.append)
    found: list[commitrules.Violation] = []
    failures = 0
    # Arm the fault at several places of the stream (early, with little state; late, after
    # checkpoints), at calls that release findings; each time it fires on the next call
    # that reaches the step.
    releasing = reference[2]
    arm_at = {releasing[len(releasing) * k // 5] for k in range(5)}
    for position, event in enumerate(events):
        if position in arm_at:
            switch.arm()
        before = _state(engine) if switch.left else ""  # only while armed: costly
        stats = (engine.stats.processed, engine.stats.violations)
        fired = switch.fired
        failure: ProcessingError | None = None
        try:
            found += engine.process(event)
        except ProcessingError as error:
            failure = error
        if failure is not None:
            assert switch.fired == fired + 1
            failures += 1
            assert failure.step == step
            assert failure.event_id == event["id"]
            assert "nothing was applied" in str(failure)
            assert _state(engine) == before  # the state is exactly as before the call
            assert (engine.stats.processed, engine.stats.violations) == stats
            found += engine.process(event)  # the same event again: processed
        else:
            assert switch.fired == fired
    found += engine.advance_to(END)
    assert failures >= 3, f"the {step} fault fired only {failures} times"
    expected, expected_outcomes, _ = reference
    assert [v.to_dict() for v in found] == [v.to_dict() for v in expected]
    assert outcomes == expected_outcomes
    assert engine.stats.processed == len(events)


def test_a_fault_that_persists_through_the_rollback_loses_nothing(
    default_pack: commitrules.Pack,
    events: list[dict[str, Any]],
    reference: tuple[list[commitrules.Violation], list[Outcome], list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The replay of the committed calls fails too: the engine says so, keeps what was
    committed, and recovers on a later call once the fault is gone."""
    switch = Switch()
    _inject("rendering", switch, monkeypatch)
    engine = commitrules.Engine(default_pack)
    found: list[commitrules.Violation] = []
    steps = []
    position = 0
    while position < len(events):
        if position == 500 and not steps:
            switch.arm(2)  # the call, then the replay that would undo it
        try:
            found += engine.process(events[position])
        except ProcessingError as error:
            steps.append((error.step, "nothing is lost" in str(error)))
            continue  # not applied: the same event again (the engine recovers first)
        position += 1
    found += engine.advance_to(END)
    assert steps == [("recovery", True)]
    assert switch.fired == 2
    expected, _, _ = reference
    assert [v.id for v in found] == [v.id for v in expected]


def test_process_many_stops_at_the_failure_with_what_came_before(
    default_pack: commitrules.Pack,
    events: list[dict[str, Any]],
    reference: tuple[list[commitrules.Violation], list[Outcome], list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    switch = Switch()
    _inject("routing", switch, monkeypatch)
    engine = commitrules.Engine(default_pack)
    found: list[commitrules.Violation] = []
    rest = list(events)
    failed: list[bool] = []  # whether each failure named the event at its position
    switch.arm()
    while rest:
        try:
            found += engine.process_many(rest)
            rest = []
        except ProcessingError as error:
            found += error.violations  # type: ignore[attr-defined]
            position: int = error.position  # type: ignore[attr-defined]
            failed.append(error.event_id == rest[position]["id"])
            rest = rest[position:]  # resume at the failing event
    found += engine.advance_to(END)
    assert switch.fired == 1
    assert failed == [True]
    expected, _, _ = reference
    assert [v.id for v in found] == [v.id for v in expected]


class FlakySink:
    """A sink that fails on chosen calls, and records what it took, in order."""

    def __init__(self, fail_on: set[int]) -> None:
        self.fail_on = fail_on
        self.calls = 0
        self.taken: list[Any] = []

    def __call__(self, *arguments: Any) -> None:
        self.calls += 1
        if self.calls in self.fail_on:
            raise ConnectionError("sink unavailable")
        self.taken.append(arguments[0] if len(arguments) == 1 else arguments)


def _deliver_all(engine: commitrules.Engine, events: list[dict[str, Any]]) -> Iterator[Any]:
    """Drive a stream through an engine whose sinks fail now and then, as a caller should:
    what a DeliveryError carries is kept; an input not processed is sent again."""
    for event in events:
        while True:
            try:
                yield from engine.process(event)
                break
            except DeliveryError as error:
                yield from error.violations
                if error.processed:
                    break
    while True:
        try:
            yield from engine.advance_to(END)
            break
        except DeliveryError as error:
            yield from error.violations
            if error.processed:
                break
    while engine.undelivered:
        try:
            engine.flush()
        except DeliveryError:
            continue


def test_failing_sinks_get_every_delivery_in_order_once_they_work(
    default_pack: commitrules.Pack,
    events: list[dict[str, Any]],
    reference: tuple[list[commitrules.Violation], list[Outcome], list[int]],
) -> None:
    # Fail several times in a row (the redelivery at the start of the next call fails
    # too: that call is not processed and is sent again) and now and then.
    outcomes = FlakySink({3, 4, 5, 40, 41, 300, 301, 302, 303, 900})
    observed = FlakySink({1, 2, 77, 78, 500})
    engine = commitrules.Engine(default_pack, outcomes=outcomes)
    engine.observers.append(observed)
    found = list(_deliver_all(engine, events))
    expected, expected_outcomes, _ = reference
    assert [v.to_dict() for v in found] == [v.to_dict() for v in expected]
    assert outcomes.taken == expected_outcomes  # every outcome, once, in order
    assert engine.undelivered == 0
    # The observer saw every committed call, in order, with what it released.
    calls = [what for what, _ in observed.taken]
    assert [c["event_id"] for c in calls if "event_id" in c] == [e["id"] for e in events]
    assert [v for _, released in observed.taken for v in released] == expected
    assert engine.stats.processed == len(events)


def test_a_sink_failure_does_not_roll_back(default_pack: commitrules.Pack) -> None:
    sink = FlakySink({1})
    engine = commitrules.Engine(default_pack)
    engine.observers.append(sink)
    event = {
        "id": "m1", "type": "marketing_published", "at": "2026-07-01T09:00:00+08:00",
        "material_id": "M-1", "channel": "wechat", "approved": True, "text": "保本保收益",
    }  # fmt: skip
    with pytest.raises(DeliveryError) as raised:
        engine.process(event)
    assert raised.value.processed
    assert [v.rule_id for v in raised.value.violations] == ["C1.marketing.banned-promise"]
    assert engine.stats.processed == 1
    assert engine.undelivered == 1
    assert engine.process(event) == []  # a duplicate now: it was committed
    assert engine.undelivered == 0  # delivered before the call
    # The first call's delivery, redelivered at the start of the second (a duplicate,
    # which commits nothing and notifies no one).
    assert [what["event_id"] for what, _ in sink.taken] == ["m1"]


def test_checkpoints_come_as_the_state_grows_but_at_most_max_interval_calls_apart() -> None:
    from commitrules.engine._atomic import MAX_INTERVAL, MIN_INTERVAL, SPACING, Journal

    journal = Journal()

    def checkpoint(timers: int) -> tuple[object, ...]:
        # (rule states, timers, sequence, buffer, router, clock, derived)
        return ([], list(range(timers)), 0, [], b"", 0, None)

    journal.reset(checkpoint(10))
    assert journal.interval == MIN_INTERVAL
    journal.reset(checkpoint(10_000))
    assert journal.interval == SPACING * 10_000
    # A large state: the journal (about 1 KB an event) stays bounded all the same.
    journal.reset(checkpoint(2_000_000))
    assert journal.interval == MAX_INTERVAL
