"""Hypothesis strategies for events and streams (needs the ``hypothesis`` package).

Use them to property-test your own packs:

>>> from hypothesis import given, settings
>>> import commitrules
>>> from commitrules.testing import strategies
>>> pack = commitrules.load_pack()
>>> @settings(max_examples=5, database=None)
... @given(strategies.streams(pack.catalog, max_size=5))
... def test_replaying_a_stream_gives_the_same_violations(stream):
...     first = commitrules.Engine(pack).process_many(stream)
...     again = commitrules.Engine(pack).process_many(stream)
...     assert [v.id for v in first] == [v.id for v in again]
>>> test_replaying_a_stream_gives_the_same_violations()

Every generated event is valid for the catalog it was drawn from: draw from
``pack.catalog`` to get the pack's own types, and, for a stand-alone pack that declares a
type under a built-in name, the pack's type in place of the built-in one (``KEY_POOLS``
apply by field name, whatever the type). Streams have unique
ids, non-decreasing times, and keys (customer, product, case, staff, branch …) drawn from
small pools so that events relate to each other.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import annotated_types
from hypothesis import strategies as st
from pydantic.fields import FieldInfo

from ..events import EventCatalog, EventType

__all__ = ["KEY_POOLS", "event_times", "events", "streams"]

KEY_POOLS: dict[str, tuple[str, ...]] = {
    "customer_id": ("C1", "C2", "C3", "C4"),
    "product_id": ("DEP-TD12", "WM-FIX180", "FUND-BAL03", "FUND-EQ07", "SP-FX05"),
    "case_id": ("K1", "K2", "K3"),
    "request_id": ("R1", "R2", "R3"),
    "incident_id": ("I1", "I2"),
    "staff_id": ("S0001", "S0004", "S0007", "S0010"),
    "branch_id": ("BR-SH-PD", "BR-BJ-CY", "BR-GZ-TH"),
    "material_id": ("M1", "M2"),
    "template_id": ("TPL-WM", "TPL-FUND", "TPL-X"),
    "template_version": ("3.1", "3.2", "2.0", "9.9"),
    "staff_role": ("teller", "account-manager", "risk-compliance", "intern"),
    "survey": ("disclosure", "service", "rights", "education"),
    "course": ("compliance", "product"),
    # The field-service test pack (tests/packs/field-service): other keys than the default's.
    "job_id": ("J1", "J2", "J3"),
    "site_id": ("SITE-A", "SITE-B"),
    "engineer_id": ("E1", "E2", "E3"),
}
"""Small pools for key fields, so generated events refer to each other."""

ZONES = (dt.timezone(dt.timedelta(hours=8)), dt.UTC, dt.timezone(dt.timedelta(hours=-5)))
START = dt.datetime(2026, 7, 1, tzinfo=ZONES[0])


def event_times(
    start: dt.datetime = START, *, max_gap: dt.timedelta = dt.timedelta(days=2)
) -> st.SearchStrategy[dt.datetime]:
    """Aware datetimes from ``start`` on, with varied offsets."""
    gaps = st.integers(min_value=0, max_value=int(max_gap.total_seconds()))
    return st.builds(
        lambda seconds, zone: (start + dt.timedelta(seconds=seconds)).astimezone(zone),
        gaps,
        st.sampled_from(ZONES),
    )


def _bounds(info: FieldInfo) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in info.metadata:
        for name in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            value = getattr(item, name, None)
            if value is not None:
                found[name] = value
        if isinstance(item, annotated_types.Interval):
            found.update({k: v for k, v in vars(item).items() if v is not None})
    return found


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    """Remove Annotated layers, returning the bare type and their metadata."""
    metadata: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        annotation = args[0]
        metadata.extend(args[1:])
    return annotation, metadata


def _value(name: str, annotation: Any, bounds: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    annotation, metadata = _strip(annotation)
    merged = dict(bounds)
    flat: list[Any] = []
    for item in metadata:
        flat.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    for item in flat:
        for key in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            value = getattr(item, key, None)
            if value is not None:
                merged[key] = value
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner = st.one_of(*(_value(name, a, merged) for a in options))
        return (
            st.one_of(st.none(), inner)
            if len(options) < len(typing.get_args(annotation))
            else inner
        )
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation)
        return st.lists(_value(name, item, {}), max_size=4, unique=True)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        low = merged.get("ge", merged.get("gt", -1) + 1 if "gt" in merged else 0)
        high = merged.get("le", 10_000)
        return st.integers(min_value=int(low), max_value=int(high))
    if annotation is Decimal:
        low = merged.get("ge", Decimal(0))
        high = merged.get("le", Decimal(1_000_000))
        return st.decimals(
            min_value=Decimal(low),
            max_value=Decimal(high),
            places=2,
            allow_nan=False,
            allow_infinity=False,
        )
    if annotation is str:
        if name in KEY_POOLS:
            return st.sampled_from(KEY_POOLS[name])
        return st.text(
            alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
            min_size=max(1, int(merged.get("min_length", 1))),
            max_size=min(int(merged.get("max_length", 40)), 40),
        )
    if annotation in (dt.datetime,) or getattr(annotation, "__name__", "") == "AwareDatetime":
        return event_times()
    return st.none()


def events(
    catalog: EventCatalog,
    event_type: str | None = None,
    *,
    times: st.SearchStrategy[dt.datetime] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid events (JSON-ready dicts) of one type, or of any type of the catalog."""
    names = [event_type] if event_type is not None else list(catalog.names)
    return st.one_of(*(_event(catalog[name], times or event_times()) for name in names))


def _event(
    kind: EventType, times: st.SearchStrategy[dt.datetime]
) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in kind.model.model_fields.items():
        if name in ("id", "type", "at"):
            continue
        strategy = _value(name, info.annotation, _bounds(info))
        fields[name] = strategy

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        event: dict[str, Any] = {
            "id": draw(st.uuids()).hex,
            "type": kind.name,
            "at": draw(times).isoformat(),
        }
        for name, strategy in fields.items():
            value = draw(strategy)
            if value is None and name in kind.defaults:
                continue
            event[name] = _jsonable(value)
        return event

    return build()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def streams(
    catalog: EventCatalog,
    *,
    types: Sequence[str] | None = None,
    min_size: int = 0,
    max_size: int = 30,
    start: dt.datetime = START,
    max_gap: dt.timedelta = dt.timedelta(hours=12),
    min_gap: dt.timedelta = dt.timedelta(0),
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Streams of valid events: unique ids, non-decreasing times, related keys.

    ``min_gap`` above zero makes times strictly increasing.
    """
    names = list(types) if types is not None else list(catalog.names)
    low = int(min_gap.total_seconds())
    high = int(max_gap.total_seconds())
    if min_gap != dt.timedelta(seconds=low) or not 0 <= low <= high:
        msg = "min_gap and max_gap must be whole seconds with 0 <= min_gap <= max_gap"
        raise ValueError(msg)

    @st.composite
    def build(draw: st.DrawFn) -> list[dict[str, Any]]:
        size = draw(st.integers(min_value=min_size, max_value=max_size))
        moment = start
        out: list[dict[str, Any]] = []
        for index in range(size):
            # The first event may fall at ``start``; every later one at least min_gap on.
            gap = draw(st.integers(low if index else 0, high))
            moment = moment + dt.timedelta(seconds=gap)
            zone = draw(st.sampled_from(ZONES))
            name = draw(st.sampled_from(names))
            event = draw(_event(catalog[name], st.just(moment.astimezone(zone))))
            event["id"] = f"e{index}"
            out.append(event)
        return out

    return build()
