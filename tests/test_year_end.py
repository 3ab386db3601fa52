"""The default pack through the year end: 2026-11-01 to 2027-03-31, every event type.

The default pack's mainland calendar is official through 2026 and provisional for 2027 (the
State Council's notice for 2027 was not published when the pack was made). Nothing is
refused for it; every working-day deadline counted through 2027 is marked provisional and
every other finding is not.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import commitrules
from _schema_events import base_event

ROOT = Path(__file__).resolve().parent.parent
CST = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 1, tzinfo=CST)
END = dt.datetime(2027, 4, 1, tzinfo=CST)


def _streams() -> ModuleType:
    name = "commitrules_benchmark_streams"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "streams.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run(
    default_pack: commitrules.Pack,
) -> tuple[list[dict[str, Any]], list[commitrules.Violation], commitrules.Engine]:
    pack = default_pack
    stream = list(
        _streams().generate(
            seed=2026, start=START, days=151, customers=150, violation_rate=0.02, pack=pack
        )
    )
    # One event of every type the pack knows, each month, mixed into the stream in time
    # order: the types the generator does not send are exercised too.
    extra = [
        base_event(pack, type_name, number, dt.datetime(2026, 11 + month, 3, 11, tzinfo=CST))
        if month < 2
        else base_event(pack, type_name, number, dt.datetime(2027, month - 1, 3, 11, tzinfo=CST))
        for month in range(5)
        for number, type_name in enumerate(pack.catalog.names, start=month * 1000)
    ]
    events = sorted(stream + extra, key=lambda e: dt.datetime.fromisoformat(e["at"]))
    engine = commitrules.Engine(pack)
    found = engine.process_many(events)  # raises on the first refusal
    found += engine.advance_to(END)
    return events, found, engine


def test_every_event_is_accepted(
    default_pack: commitrules.Pack,
    run: tuple[list[dict[str, Any]], list[commitrules.Violation], commitrules.Engine],
) -> None:
    events, found, engine = run
    assert engine.stats.rejected == 0
    assert engine.stats.processed == len(events)
    assert {e["type"] for e in events} == set(default_pack.catalog.names)
    assert any(v.at.year == 2027 for v in found)
    assert default_pack.build().calendar is not None


def test_only_deadlines_counted_through_2027_are_provisional(
    default_pack: commitrules.Pack,
    run: tuple[list[dict[str, Any]], list[commitrules.Violation], commitrules.Engine],
) -> None:
    events, found, _ = run
    calendar = default_pack.build().calendar
    assert calendar is not None
    assert calendar.is_official(2026)
    assert not calendar.is_official(2027)
    working = {
        rule.id
        for rule in default_pack.rules
        if rule.kind == "deadline" and rule.within.unit == "working_days"
    }
    opened = {e["id"]: dt.datetime.fromisoformat(e["at"]) for e in events}
    checked = {True: 0, False: 0}
    for violation in found:
        if violation.rule_id in working and violation.kind in ("violation", "escalation"):
            assert violation.due_at is not None
            start = opened[violation.event_ids[0]].astimezone(CST).date()
            due = violation.due_at.astimezone(CST).date()
            through_2027 = due.year >= 2027 or start.year >= 2027
            assert violation.provisional is through_2027, violation
            checked[through_2027] += 1
        else:
            assert violation.provisional is False, violation
    # Both kinds occur: deadlines counted in 2026 only, and through 2027.
    assert checked[True] > 0
    assert checked[False] > 0
