"""Extreme values in every numeric and time field of every event type.

For every built-in type and every type a pack declares (the default pack's own types, the
Hong Kong and UK packs' and a stand-alone pack's), an event whose one numeric or time field
holds an extreme value is either refused with a documented error and the engine's state
unchanged, or accepted, and then what it releases (at once or when time moves on) renders,
goes to JSON and back, and the engine's state snapshots, stores and restores to the same
state. The limits are those of docs/limits.md: integers in int64, decimals of 38 digits with
18 places, times from 1900 to 2200, the future guard and the lateness.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import commitrules
from _schema_events import base_event
from commitrules.errors import (
    CalendarError,
    EventConflictError,
    EventValidationError,
    FutureEventError,
    LateEventError,
)
from commitrules.events import INT_MAX, INT_MIN
from commitrules.store import CheckpointStore

ROOT = Path(__file__).resolve().parent.parent
#: The errors docs/limits.md lists for values out of range (each names the field or event).
DOCUMENTED = (
    EventValidationError,
    LateEventError,
    FutureEventError,
    EventConflictError,
    CalendarError,
)

INTS: list[Any] = [
    INT_MIN - 1, INT_MIN, INT_MIN + 1, -1, 0, 1, 2**31, 2**53 + 1, INT_MAX - 1, INT_MAX,
    INT_MAX + 1, 2**64, 10**30, -(10**30), 10**400, True, 1.0, 1.5, -0.0, 1e308,
    float("inf"), float("-inf"), float("nan"), "12", "1e3", "", None,
]  # fmt: skip
DECIMALS: list[Any] = [
    "0", "-0", "1", "-1", "0." + "0" * 17 + "1", "0." + "0" * 18 + "1", "9" * 20 + "." + "9" * 18,
    "9" * 21 + "." + "9" * 17, "9" * 38, "9" * 39, "1e37", "1e38", "1E+999999", "1e-18", "1e-19",
    "-1e-999999", "NaN", "sNaN", "Infinity", "-Infinity", "1_000", " 1 ", "0x10", 10**38,
    10**37, INT_MAX, INT_MIN, 0.1, 1e300, float("nan"), float("inf"), Decimal("1e38"),
    Decimal("-0.000000000000000001"), True, "", None,
]  # fmt: skip
TIMES: list[Any] = [
    "1899-12-31T23:59:59.999999+00:00", "1900-01-01T00:00:00+00:00",
    "1900-01-01T00:00:00+14:00", "1900-01-01T00:00:00-12:00", "1970-01-01T00:00:00Z",
    "2026-07-01T10:00:00+08:00", "2026-07-01T10:00:00.000001+08:00",
    "2026-07-01T09:59:59.999999+08:00", "2027-07-01T10:00:00+08:00",
    "2026-06-30T10:00:00+08:00", "2199-12-31T23:59:59.999999+00:00",
    "2200-01-01T00:00:00+00:00", "2200-12-31T23:59:59.999999-12:00",
    "9999-12-31T23:59:59.999999+00:00", "0001-01-01T00:00:00+00:00",
    "2026-07-01T10:00:00+23:59", "2026-07-01T10:00:00-23:59", "2026-07-01T10:00:00+24:00",
    "2026-07-01T10:00:00", "2026-07-01", "2026-02-30T00:00:00+08:00",
    "2026-07-01T24:00:00+08:00", "2026-07-01T10:00:60+08:00", "20260701T100000+0800",
    "2026-07-01T10:00:00.1234567+08:00", "+002026-07-01T10:00:00+08:00", 1_782_871_200,
    1.7e9, "", None,
]  # fmt: skip


def _packs() -> dict[str, commitrules.Pack]:
    return {
        "default": commitrules.load_pack(),
        "hk": commitrules.load_pack("customer-commitments-hk"),
        "uk": commitrules.load_pack("customer-commitments-uk"),
        "standalone": commitrules.load_pack(ROOT / "tests" / "packs" / "payment-disputes"),
    }


PACKS = _packs()


def _fields(pack: commitrules.Pack) -> list[tuple[str, str, str]]:
    """(type, field, kind) of every numeric and time field of every type of a pack."""
    found = []
    for type_name in pack.catalog.names:
        for field, (kind, _) in pack.catalog[type_name].fields.items():
            if kind in ("int", "decimal", "datetime"):
                found.append((type_name, field, kind))
    return found


def test_every_kind_of_field_is_exercised() -> None:
    """The strategy reaches int, decimal and time fields of built-in and pack-declared
    types (the test would prove little if a kind were missing)."""
    kinds = {kind for pack in PACKS.values() for _, _, kind in _fields(pack)}
    assert kinds == {"int", "decimal", "datetime"}
    own = [
        (type_name, kind)
        for pack in PACKS.values()
        for type_name, _, kind in _fields(pack)
        if not pack.catalog[type_name].builtin
    ]
    assert {kind for _, kind in own} >= {"int", "datetime"}
    for pack in PACKS.values():
        for type_name in pack.catalog.names:
            base_event(pack, type_name, 0)


def _state(engine: commitrules.Engine) -> str:
    """The engine's state, without its counts (a refusal counts as rejected)."""
    state = engine.snapshot()
    state.pop("stats", None)
    return json.dumps(state, sort_keys=True)


def _released_ok(released: list[commitrules.Violation]) -> None:
    """What an engine released renders and survives JSON."""
    for violation in released:
        assert violation.message.zh
        assert violation.message.en
        data = violation.to_dict()
        text = json.dumps(data, allow_nan=False, ensure_ascii=False)
        assert commitrules.Violation.from_dict(json.loads(text)).to_dict() == data
        str(violation)


def _warm(pack: commitrules.Pack, engine: commitrules.Engine) -> None:
    """Some state first: one event of every type (at the base time)."""
    for number, type_name in enumerate(pack.catalog.names):
        event = base_event(pack, type_name, number)
        event["id"] = f"W-{number}"
        engine.process(event)


@pytest.mark.parametrize("pack_name", sorted(PACKS))
@given(data=st.data())
def test_an_extreme_value_is_refused_cleanly_or_carried_through(
    pack_name: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pack = PACKS[pack_name]
    type_name, field, kind = data.draw(st.sampled_from(_fields(pack)), label="field")
    values = {"int": INTS, "decimal": DECIMALS, "datetime": TIMES}[kind]
    value = data.draw(st.sampled_from(values), label="value")
    engine = commitrules.Engine(pack)
    _warm(pack, engine)
    event = base_event(pack, type_name, 10_000)
    event[field] = value
    before = _state(engine)
    stats = (engine.stats.processed, engine.stats.violations)
    try:
        released = engine.process(event)
    except DOCUMENTED as error:
        # A documented error that says where: the field (or the event) and why.
        text = str(error)
        assert field in text or event["id"] in text or "event time" in text, text
        assert _state(engine) == before
        assert (engine.stats.processed, engine.stats.violations) == stats
        # The engine goes on: a valid event after the refused one is processed.
        engine.process(base_event(pack, type_name, 10_001))
        return
    _released_ok(released)
    # Time moves on: deadlines and periods the value set fall due and render too.
    watermark = engine.watermark
    assert watermark is not None
    _released_ok(engine.advance_to(watermark + dt.timedelta(days=400)))
    # The state snapshots, survives JSON, stores and restores to the same state.
    state = engine.snapshot()
    text = json.dumps(state, allow_nan=False, sort_keys=True)
    restored = commitrules.Engine.restore(pack, json.loads(text))
    assert _state(restored) == _state(engine)
    folder = tmp_path_factory.mktemp("store")
    with CheckpointStore(folder / "state.db") as store:
        store.save(engine, 1)
        resumed, position = store.resume(pack)
    assert position == 1
    assert _state(resumed) == _state(engine)
