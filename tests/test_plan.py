"""The stage plan (commitrules.plan): its stages, and its runner equal to the single engine.

The differential tests feed the single engine a stream in stream-position order (with
duplicates, conflicting repeats, late events and ties in event time) and compare what it
releases with what the in-process runner gives in 1, 2 and 7 partitions: the same
violations in the same order, ids included, the same outcomes, rejects and counts.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import commitrules
from commitrules import Engine
from commitrules.errors import CommitRulesError, EngineConfigError, PackError
from commitrules.plan import Plan, StreamPosition, bucket_of, plan_for, run_plan
from commitrules.testing import strategies

ROOT = Path(__file__).resolve().parent.parent
PACK = commitrules.load_pack()
FIELD = commitrules.load_pack(ROOT / "tests" / "packs" / "field-service")
FIELD_TYPES = ("job_opened", "job_visited", "job_closed", "inspection_done", "feedback")
PARTITIONS = (1, 2, 7)


def single(
    pack: commitrules.Pack, arrival: list[Any], until: dt.datetime | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any, list[tuple[int, str]]]:
    """What the single engine gives for events in arrival (stream-position) order."""
    outcomes: list[commitrules.Outcome] = []
    engine = Engine(pack, outcomes=outcomes.append)
    found: list[commitrules.Violation] = []
    rejects = []
    for position, event in enumerate(arrival):
        try:
            found += engine.process(event)
        except CommitRulesError as error:
            rejects.append((position, type(error).__name__))
    if until is not None:
        found += engine.advance_to(until)
    return (
        [v.to_dict() for v in found],
        [o.to_dict() for o in outcomes],
        engine.stats,
        rejects,
    )


def assert_plan_equals_engine(
    pack: commitrules.Pack, arrival: list[Any], until: dt.datetime | None
) -> int:
    violations, outcomes, stats, rejects = single(pack, arrival, until)
    for partitions in PARTITIONS:
        result = run_plan(pack, arrival, partitions=partitions, until=until, outcomes=True)
        assert [v.to_dict() for v in result.violations] == violations, partitions
        assert [o.to_dict() for o in result.outcomes] == outcomes, partitions
        assert [(r.position, type(r.error).__name__) for r in result.rejects] == rejects
        assert result.stats == stats
    return len(violations)


@st.composite
def arrivals(draw: st.DrawFn, pack: commitrules.Pack, types: Any = None) -> list[Any]:
    """A stream in arrival order: some events arrive late, twice, or again changed."""
    stream = draw(
        strategies.streams(pack.catalog, types=types, max_size=30, max_gap=dt.timedelta(hours=3))
    )
    arrival = list(stream)
    for _ in range(draw(st.integers(0, 4))):
        if not arrival:
            break
        index = draw(st.integers(0, len(arrival) - 1))
        event = dict(arrival[index])
        action = draw(st.sampled_from(["late", "repeat", "conflict"]))
        if action == "late":  # arrives after later events (late, or within the lateness)
            arrival.pop(index)
            arrival.insert(draw(st.integers(index, len(arrival))), event)
        elif action == "repeat":  # at-least-once delivery: the same event again, later
            arrival.insert(draw(st.integers(index + 1, len(arrival))), event)
        else:  # the same id with another payload
            changed = dict(event, at=commitrules.eventtime.from_us(
                commitrules.eventtime.to_us(dt.datetime.fromisoformat(event["at"])) + 60_000_000,
                dt.UTC).isoformat())
            arrival.insert(draw(st.integers(index + 1, len(arrival))), changed)
    return arrival


ENDS = st.sampled_from([None, dt.datetime(2026, 7, 20, tzinfo=dt.UTC)])


@given(arrivals(PACK), ENDS)
def test_the_plan_gives_the_engines_results_on_the_default_pack(
    arrival: list[Any], until: dt.datetime | None
) -> None:
    assert_plan_equals_engine(PACK, arrival, until)


@given(arrivals(FIELD, FIELD_TYPES), ENDS)
def test_the_plan_gives_the_engines_results_on_a_pack_of_another_shape(
    arrival: list[Any], until: dt.datetime | None
) -> None:
    assert_plan_equals_engine(FIELD, arrival, until)
