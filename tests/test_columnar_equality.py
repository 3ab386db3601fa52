"""The table path gives exactly what the per-event path gives on the same events.

The same events go through :meth:`commitrules.Engine.process` one by one and, as an Arrow
table or a Parquet file, through :mod:`commitrules.columnar`; the violations (every field,
ids included), the outcomes delivered to a sink and the refused rows (position and reason)
must be the same, for every rule kind, with ties in event time, repeated ids (same
payload: a duplicate; another payload: a conflict), rows too late for the watermark, rows
of unknown types, rows with a value in a column their type does not declare, and batches
that split the stream anywhere. A snapshot taken after a table run is the per-event
engine's snapshot, and an engine restored from it continues exactly like the per-event one.

Two encodings of the same events: *as written* (times and decimals as text: each value
exactly as in the JSON event) and *typed* (timestamps in the pack's zone, decimals as
``decimal128(38, 18)``), whose per-event reference is the events with each time written in
that zone and each decimal in its shortest form, which is what those columns hold.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import commitrules  # noqa: E402
from commitrules import Engine  # noqa: E402
from commitrules.columnar import evaluate_files, evaluate_table, events_table  # noqa: E402
from commitrules.errors import CommitRulesError  # noqa: E402
from commitrules.testing import strategies  # noqa: E402
from tests.conftest import MINI, ROOT  # noqa: E402

DEFAULT = commitrules.load_pack()
SMALL = commitrules.load_pack(MINI)
END = dt.datetime(2026, 12, 31, tzinfo=dt.UTC)
#: The mini pack's event types: every rule kind reads some of them.
MINI_TYPES = (
    "sale",
    "suitability_assessed",
    "complaint_received",
    "complaint_extended",
    "complaint_resolved",
    "survey_response",
    "training_completed",
)


class Run:
    """What one path released: violations, outcomes, refused positions, and the state."""

    def __init__(self, pack: commitrules.Pack, state: dict[str, Any] | None = None) -> None:
        self.outcomes: list[commitrules.engine.Outcome] = []
        if state is None:
            self.engine = Engine(pack, outcomes=self.outcomes.append)
        else:
            self.engine = Engine.restore(pack, state, outcomes=self.outcomes.append)
        self.violations: list[commitrules.Violation] = []
        self.rejected: list[tuple[int, str]] = []

    def per_event(self, events: Iterable[dict[str, Any]], start: int = 0) -> None:
        for position, event in enumerate(events, start):
            try:
                self.violations += self.engine.process(event)
            except CommitRulesError as error:
                self.rejected.append((position, str(error)))

    def table(self, data: Any, batch_size: int, start: int = 0) -> None:
        """Rows numbered from ``start`` (the table is a slice of the stream from there)."""
        result = evaluate_table(data, engine=self.engine, batch_size=batch_size)
        self.violations += result.violations
        self.rejected += [(start + row.row, row.reason) for row in result.rejected]

    def advance(self, until: dt.datetime = END) -> None:
        self.violations += self.engine.advance_to(until)

    def seen(self) -> tuple[Any, ...]:
        return (
            [v.to_dict() for v in self.violations],
            [o.to_dict() for o in self.outcomes],
            self.rejected,
        )


def assert_same(table_run: Run, event_run: Run, *, stats: bool = True) -> None:
    got, expected = table_run.seen(), event_run.seen()
    assert got[2] == expected[2], "refused rows differ"
    assert got[0] == expected[0], "violations differ"
    assert got[1] == expected[1], "outcomes differ"
    if stats:
        assert table_run.engine.stats == event_run.engine.stats


def _shortest(text: str) -> str:
    return format(Decimal(text).normalize(), "f")


def as_typed(events: list[dict[str, Any]], pack: commitrules.Pack) -> list[dict[str, Any]]:
    """The events as a typed table holds them: times in the pack's zone, decimals shortest."""
    zone = ZoneInfo(pack.timezone)
    out = []
    for event in events:
        kinds = pack.catalog[event["type"]].fields if event["type"] in pack.catalog else {}
        changed = dict(event)
        for name, value in event.items():
            kind = kinds.get(name, ("", False))[0]
            if kind == "datetime" and isinstance(value, str):
                changed[name] = dt.datetime.fromisoformat(value).astimezone(zone).isoformat()
            elif kind == "decimal" and isinstance(value, str):
                changed[name] = _shortest(value)
        out.append(changed)
    return out


def with_oddities(
    table: Any, events: list[dict[str, Any]], unknown: set[int], extra: set[int]
) -> tuple[Any, list[dict[str, Any]]]:
    """Rows of an unknown type, and rows with a value in a column no type declares."""
    events = [dict(event) for event in events]
    types = table.column("type").to_pylist()
    for index in unknown:
        types[index] = events[index]["type"] = "no_such_type"
    foo = [None] * len(events)
    for index in extra:
        foo[index] = events[index]["foo"] = "x"
    table = table.set_column(table.schema.get_field_index("type"), "type", pa.array(types))
    return table.append_column("foo", pa.array(foo, pa.string())), events


@st.composite
def awkward_streams(draw: st.DrawFn, pack: commitrules.Pack, types: Any = None) -> Any:
    """A stream with ties, repeated ids (same and other payload) and rows moved late."""
    stream = draw(
        strategies.streams(pack.catalog, types=types, max_size=30, max_gap=dt.timedelta(hours=30))
    )
    out = list(stream)
    if out:
        for _ in range(draw(st.integers(0, 3))):
            copy = dict(out[draw(st.integers(0, len(out) - 1))])
            if draw(st.booleans()):
                copy["id"] = copy["id"] + "-other"  # a new event at the same moment: a tie
            elif draw(st.booleans()):
                copy["at"] = out[-1]["at"]  # the same id, another payload: a conflict
            out.insert(draw(st.integers(0, len(out))), copy)
        for _ in range(draw(st.integers(0, 2))):
            moved = out.pop(draw(st.integers(0, len(out) - 1)))
            out.insert(draw(st.integers(0, len(out))), moved)  # possibly late
    unknown = draw(st.sets(st.integers(0, max(len(out) - 1, 0)), max_size=2)) if out else set()
    extra = draw(st.sets(st.integers(0, max(len(out) - 1, 0)), max_size=2)) if out else set()
    return out, unknown, extra


def check_equal(
    pack: commitrules.Pack,
    stream: list[dict[str, Any]],
    unknown: set[int],
    extra: set[int],
    batch_size: int,
    split: int,
    typed: bool,
) -> None:
    table = events_table(
        stream,
        pack.catalog,
        timezone=pack.timezone if typed else None,
        decimals="decimal" if typed else "text",
    )
    table, events = with_oddities(table, stream, unknown, extra)
    if typed:
        events = as_typed(events, pack)
    cut = min(split, len(events))
    by_table, by_event = Run(pack), Run(pack)
    by_table.table(table.slice(0, cut), batch_size)
    by_event.per_event(events[:cut])
    # The state after a table run is the per-event engine's …
    state = json.loads(json.dumps(by_table.engine.snapshot()))
    assert state == json.loads(json.dumps(by_event.engine.snapshot()))
    # … and an engine restored from it continues exactly like the per-event one restored
    # at the same point (a restored engine's duplicate store keeps digests, so its
    # conflict messages name no field: both sides are restored).
    resumed_table, resumed_event = Run(pack, state), Run(pack, state)
    resumed_table.table(table.slice(cut), batch_size, start=cut)
    resumed_event.per_event(events[cut:], start=cut)
    by_table.table(table.slice(cut), batch_size, start=cut)
    by_event.per_event(events[cut:], start=cut)
    for run in (by_table, by_event, resumed_table, resumed_event):
        run.advance()
    assert_same(by_table, by_event)
    assert_same(resumed_table, resumed_event)


# Building an engine for the default pack takes a good part of a second (its calendars):
# fewer examples there; the mini pack (one rule of every kind) takes more.
@settings(max_examples=12)
@given(awkward_streams(DEFAULT), st.integers(1, 12), st.integers(0, 40), st.booleans())
def test_the_table_path_equals_the_per_event_path_on_the_default_pack(
    case: Any, batch_size: int, split: int, typed: bool
) -> None:
    stream, unknown, extra = case
    check_equal(DEFAULT, stream, unknown, extra, batch_size, split, typed)


@settings(max_examples=30)
@given(awkward_streams(SMALL, MINI_TYPES), st.integers(1, 12), st.integers(0, 40), st.booleans())
def test_the_table_path_equals_the_per_event_path_for_every_rule_kind(
    case: Any, batch_size: int, split: int, typed: bool
) -> None:
    stream, unknown, extra = case
    check_equal(SMALL, stream, unknown, extra, batch_size, split, typed)


# -- the benchmark generator, written to Parquet --------------------------------------------


def _streams_module() -> ModuleType:
    name = "commitrules_benchmark_streams"  # shared with tests/test_streams.py
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "streams.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated() -> list[dict[str, Any]]:
    streams = _streams_module()
    start = dt.datetime(2026, 7, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return list(streams.generate(seed=11, start=start, days=40, customers=400, violation_rate=0.02))


@pytest.mark.parametrize("typed", [False, True], ids=["as-written", "typed"])
def test_the_generated_stream_from_parquet_equals_the_per_event_path(
    generated: list[dict[str, Any]], typed: bool, tmp_path: Path
) -> None:
    pack = DEFAULT
    table = events_table(
        generated,
        pack.catalog,
        timezone=pack.timezone if typed else None,
        decimals="decimal" if typed else "text",
    )
    # Several files of several row groups: the order is the files', then the rows'.
    third = table.num_rows // 3
    parts = [table.slice(0, third), table.slice(third, third), table.slice(2 * third)]
    for number, part in enumerate(parts):
        pq.write_table(part, tmp_path / f"part-{number}.parquet", row_group_size=1000)
    events = as_typed(generated, pack) if typed else generated
    by_event = Run(pack)
    by_event.per_event(events)
    by_event.advance()
    by_table = Run(pack)
    result = evaluate_files(tmp_path, engine=by_table.engine, batch_size=777, until=END)
    by_table.violations = list(result.violations)
    assert result.rows == len(events)
    assert not result.rejected
    assert_same(by_table, by_event)
    kind_of = {rule.id: rule.kind for rule in pack.rules}
    kinds = {kind_of[v.rule_id] for v in by_table.violations if v.rule_id in kind_of}
    # Every rule kind fired on this stream: the equality covers each.
    assert kinds == {
        "check",
        "precedence",
        "deadline",
        "threshold",
        "periodic_target",
        "periodic_obligation",
    }, kinds
    assert by_table.outcomes
