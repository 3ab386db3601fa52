"""The benchmark stream generator (benchmarks/streams.py) against the bundled default pack.

The generator is a script outside the package, so it is loaded from its file. It must give
the same events for the same seed, only valid events in time order, nothing the default
pack finds when ``violation_rate`` is 0, and in the bundled sample exactly the breaches it
injected (every violation traces back to an injection).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import commitrules
from commitrules.eventtime import to_us
from commitrules.rules.operational import CALENDAR_HORIZON

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FILE = ROOT / "examples" / "sample-events.jsonl"
CST = dt.timezone(dt.timedelta(hours=8))
SAMPLE_END = dt.datetime(2026, 10, 1, tzinfo=CST)

#: Clauses the sample's injected breaches must reach (the brief's list and the extras).
SAMPLE_CLAUSES = {
    "C1.marketing",
    "C1.recording",
    "C1.risk-level",
    "C2.before-sale",
    "M1.templates",
    "C3.suitability",
    "C3.privacy",
    "M2.data-security",
    "C5.acknowledge",
    "C5.resolve",
    "C5.fair",
    "C4",
    "M3.transparency",
    "M3.account-manager",
    "M4.training",
    "M4.risk-rate",
    "R3",
    "W1",
    "W2",
}


def _load_streams() -> ModuleType:
    name = "commitrules_benchmark_streams"
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "streams.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def streams() -> ModuleType:
    return _load_streams()


def _run(
    pack: commitrules.Pack, events: Iterable[Mapping[str, Any]], end: dt.datetime
) -> tuple[list[commitrules.Violation], int]:
    """Every event through a fresh engine, then time advanced to ``end``."""
    engine = commitrules.Engine(pack)
    found: list[commitrules.Violation] = []
    for event in events:
        found.extend(engine.process(event))
    found.extend(engine.advance_to(end))
    return found, engine.stats.rejected


def _small(streams: ModuleType, seed: int, **extra: Any) -> list[dict[str, Any]]:
    settings: dict[str, Any] = {
        "seed": seed,
        "start": dt.datetime(2026, 7, 27, tzinfo=CST),
        "days": 12,
        "customers": 200,
        "violation_rate": 0.01,
    }
    settings.update(extra)
    return list(streams.generate(**settings))


def test_same_seed_gives_the_same_stream(streams: ModuleType) -> None:
    first = _small(streams, 7)
    assert first == _small(streams, 7)
    assert len(first) > 500


def test_different_seeds_give_different_streams(streams: ModuleType) -> None:
    assert _small(streams, 7) != _small(streams, 8)


def test_events_are_valid_json_ready_and_in_time_order(
    streams: ModuleType, default_pack: commitrules.Pack
) -> None:
    events = _small(streams, 11, violation_rate=0.05)
    catalog = default_pack.catalog
    times = []
    for event in events:
        catalog.validate(event)
        assert event["at"].endswith("+08:00")
        times.append(dt.datetime.fromisoformat(event["at"]))
        json.dumps(event)  # no Decimal, datetime or other non-JSON value
    assert times == sorted(times)
    assert times[0] >= dt.datetime(2026, 7, 27, tzinfo=CST)
    assert times[-1] < dt.datetime(2026, 8, 8, tzinfo=CST)
    assert len({event["id"] for event in events}) == len(events)


def test_bad_settings_are_refused(streams: ModuleType) -> None:
    naive = dt.datetime(2026, 7, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="offset"):
        streams.generate(seed=1, start=naive, days=5, customers=10)
    with pytest.raises(ValueError, match="midnight"):
        streams.generate(seed=1, start=dt.datetime(2026, 7, 1, 9, tzinfo=CST), days=5, customers=10)
    with pytest.raises(ValueError, match="violation_rate"):
        streams.generate(
            seed=1,
            start=dt.datetime(2026, 7, 1, tzinfo=CST),
            days=5,
            customers=10,
            violation_rate=2.0,
        )
    # A window past the official calendar is generated: the engine counts it provisionally.
    assert list(
        streams.generate(seed=1, start=dt.datetime(2100, 12, 1, tzinfo=CST), days=3, customers=5)
    )


def test_the_sample_file_is_what_the_generator_writes(streams: ModuleType) -> None:
    raw = SAMPLE_FILE.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.decode("utf-8").split("\n")[:-1]
    assert 3_000 <= len(lines) <= 6_000
    expected = (streams.dumps_event(event) for event in streams.sample())
    for number, (line, wanted) in enumerate(itertools.zip_longest(lines, expected), start=1):
        assert line == wanted, f"examples/sample-events.jsonl line {number} differs"
        assert line == line.rstrip()


@pytest.mark.parametrize(
    ("start", "days", "customers"),
    [
        # 20 days across the WM-EQ12 re-rating (2026-08-01): July closes inside the window,
        # and the generator plans at least 560 sales and service requests for a month that
        # closes, so the risk-event rate is judged (no insufficient_sample); no quarter or
        # half-year closes, so no survey or training period is judged.
        (dt.datetime(2026, 7, 20, tzinfo=CST), 20, 300),
        # A whole quarter: 2026Q3 closes at the end, so the survey targets (at least 36
        # answers each, above target), quarterly training of every customer-facing staff
        # member in force on 30 September (S0902 joined in August; S0901 left) and three
        # months of risk-event rates are judged, across the TPL-WM 3.1 expiry (09-01) and
        # the National Day holiday in the working-day calendar.
        (dt.datetime(2026, 7, 1, tzinfo=CST), 92, 300),
    ],
    ids=["20-days", "quarter"],
)
def test_a_compliant_stream_breaks_no_rule(
    streams: ModuleType,
    default_pack: commitrules.Pack,
    start: dt.datetime,
    days: int,
    customers: int,
) -> None:
    events = streams.generate(
        seed=2026, start=start, days=days, customers=customers, violation_rate=0.0
    )
    found, rejected = _run(default_pack, events, start + dt.timedelta(days=days))
    assert rejected == 0
    assert [(v.rule_id, v.kind, v.message.en) for v in found] == []


@pytest.fixture(scope="module")
def sample_run(
    streams: ModuleType, default_pack: commitrules.Pack
) -> tuple[list[commitrules.Violation], int, list[Any]]:
    with SAMPLE_FILE.open(encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle]
    found, rejected = _run(default_pack, events, SAMPLE_END)
    injections: list[Any] = []
    for _ in streams.sample(injections):
        pass
    return found, rejected, injections


def test_the_sample_shows_a_few_dozen_violations_across_the_clauses(
    sample_run: tuple[list[commitrules.Violation], int, list[Any]],
) -> None:
    found, rejected, _ = sample_run
    assert rejected == 0
    clauses = {v.clause_id for v in found}
    assert clauses >= SAMPLE_CLAUSES, sorted(SAMPLE_CLAUSES - clauses)
    assert 25 <= len(found) <= 100
    kinds = Counter(v.kind for v in found)
    assert kinds["insufficient_sample"] == 0
    assert kinds["escalation"] >= 1  # the complaint never decided


def test_every_sample_violation_was_injected(
    streams: ModuleType, sample_run: tuple[list[commitrules.Violation], int, list[Any]]
) -> None:
    found, _, injections = sample_run
    assert {i.kind for i in injections} == set(streams.KINDS)
    for injection in injections:
        assert streams.KINDS[injection.kind] == injection.rule_id
    unexplained = []
    for violation in found:
        if violation.rule_id.startswith("W1.frequent-violations."):
            continue  # counts the other findings: a consequence, not an injection
        if not any(
            injection.rule_id == violation.rule_id
            and (
                injection.event_id in violation.event_ids
                or (
                    injection.subject
                    and all(violation.subject.get(k) == v for k, v in injection.subject.items())
                )
            )
            for injection in injections
        ):
            unexplained.append((violation.rule_id, violation.kind, violation.message.en))
    assert unexplained == []


@settings(max_examples=10)
@given(
    seed=st.integers(0, 2**32 - 1),
    start_day=st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2026, 11, 1)),
    days=st.integers(1, 20),
)
@example(seed=0, start_day=dt.date(2026, 10, 12), days=1)  # the CN horizon alarm's day
@example(seed=0, start_day=dt.date(2026, 10, 5), days=3)  # the days before it
def test_a_generated_compliant_stream_gives_no_violations(
    streams: ModuleType, default_pack: commitrules.Pack, seed: int, start_day: dt.date, days: int
) -> None:
    """For any seed and window, a stream with no injected breach breaks no rule."""
    start = dt.datetime.combine(start_day, dt.time(), tzinfo=dt.timezone(dt.timedelta(hours=8)))
    events = streams.generate(seed=seed, start=start, days=days, customers=60, violation_rate=0.0)
    # Time is not advanced past the last event; a period that closes inside a short window
    # with too few observations is reported, correctly, as insufficient_sample.
    engine = commitrules.Engine(default_pack)
    found: list[commitrules.Violation] = []
    last = start
    for event in events:
        found.extend(engine.process(event))
        last = max(last, dt.datetime.fromisoformat(event["at"]))
    rejected = engine.stats.rejected
    assert rejected == 0
    # The calendar's horizon alarm is due from its day on (deadlines then reach the
    # provisional year), whatever the stream: raised once if the stream reaches that day.
    (alarm,) = [rule for rule in engine._rules if rule.rule_id == CALENDAR_HORIZON]
    reaches = to_us(last) >= alarm.alarm_us  # type: ignore[attr-defined]
    horizon = [v for v in found if v.rule_id == CALENDAR_HORIZON]
    assert len(horizon) == (1 if reaches else 0)
    assert [
        (v.rule_id, v.kind)
        for v in found
        if v.kind != "insufficient_sample" and v.rule_id != CALENDAR_HORIZON
    ] == []
