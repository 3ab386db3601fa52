"""Rows given to the engine validated, straight from the columns (``columnar/_direct.py``).

The reference is the event type's pydantic validator: a row given directly must be the
validator's dict for that row (same fields in the same order, same values written the
same way), and a row the validator refuses must never be given directly.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

pa = pytest.importorskip("pyarrow")

import commitrules  # noqa: E402
from commitrules import EventValidationError  # noqa: E402
from commitrules.columnar import TableError, evaluate_table, events_table  # noqa: E402
from commitrules.columnar._rows import check_batch  # noqa: E402
from commitrules.columnar._schema import Plan, plan_for  # noqa: E402
from commitrules.events import EventCatalog  # noqa: E402
from commitrules.testing import strategies  # noqa: E402

PACKS = Path(__file__).parent / "packs"


@functools.cache
def catalogs() -> dict[str, EventCatalog]:
    return {
        "built-in": commitrules.load_pack().catalog,
        "payment-disputes": commitrules.load_pack(PACKS / "payment-disputes").catalog,
    }


def written(event: dict[str, Any]) -> list[tuple[str, type, str]]:
    """Each field in order, with its value's type and how it is written."""
    return [(key, type(value), repr(value)) for key, value in event.items()]


def _plans(table: pa.Table, catalog: EventCatalog) -> tuple[Plan, Plan]:
    plan = plan_for(table.schema, catalog, allow_float_decimals=False, source="<table>")
    return plan, attrs.evolve(plan, direct={})


def compare(table: pa.Table, catalog: EventCatalog) -> int:
    """Every row: read directly and the usual way; the direct events are the validator's.
    Returns how many rows were given directly."""
    plan, plain = _plans(table, catalog)
    given_directly = 0
    for batch in table.to_batches(max_chunksize=7):
        direct_rows = list(check_batch("<table>", 0, batch, plan).rows())
        plain_rows = list(check_batch("<table>", 0, batch, plain).rows())
        assert [r[:1] + r[2:3] for r in direct_rows] == [r[:1] + r[2:3] for r in plain_rows]
        for (row, event, _, ready), (_, raw, _, was_ready) in zip(
            direct_rows, plain_rows, strict=True
        ):
            assert not was_ready
            if raw is None:
                continue
            try:
                reference: Any = catalog.validate(raw)
            except EventValidationError as error:
                reference = error
            if ready:
                given_directly += 1
                assert not isinstance(reference, EventValidationError), (row, raw, reference)
                assert written(event) == written(reference), row
            else:
                assert event == raw
    return given_directly


def _odd(kind: str, choices: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """Values at or beyond what a field of ``kind`` takes, of the column's own type."""
    if kind == "str":
        return st.sampled_from(["", "x" * 200, "x" * 201, "é" * 201, "nope", *choices])
    if kind == "int":
        return st.sampled_from([-1, 0, 1, 5, 6, 1200, 1201, 2**40])
    if kind == "decimal":
        return st.sampled_from(["-0.01", "0", "0.000000000000000001", "1.5", "99999999"])
    if kind == "bool":
        return st.booleans()
    if kind == "list":
        return st.lists(st.sampled_from(["nope", "", *choices]), max_size=3)
    if kind == "datetime":
        return st.sampled_from(
            [
                "1899-12-31T23:59:59+00:00",
                "1900-01-01T00:00:00+00:00",
                "1900-12-31T23:00:00-08:00",
                "2200-12-31T23:59:59+00:00",
                "2201-01-01T00:00:00+00:00",
                "2026-07-01T10:00:00.5+08:00",
            ]
        )
    return st.nothing()


def _choices(catalog: EventCatalog, kind: str, field: str) -> tuple[str, ...]:
    """The texts a field (or its list's items) may be, when they are a choice."""
    info = catalog[kind].model.model_fields[field]
    found: list[str] = []
    stack = [info.annotation]
    while stack:
        annotation = stack.pop()
        if typing.get_origin(annotation) is typing.Literal:
            found += [v for v in typing.get_args(annotation) if isinstance(v, str)]
        else:
            stack += list(typing.get_args(annotation))
    return tuple(found)


@st.composite
def tables(draw: st.DrawFn) -> tuple[EventCatalog, pa.Table]:
    """A catalog and a table of its events, each field kept, left out, or given a value
    at or beyond what it takes (of the column's own type, so that a table holds it)."""
    name = draw(st.sampled_from(sorted(catalogs())))
    catalog = catalogs()[name]
    kinds = draw(st.lists(st.sampled_from(catalog.names), min_size=1, max_size=3, unique=True))
    events: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(kinds))
        event: dict[str, Any] = draw(strategies.events(catalog, kind))
        for field, (field_kind, _) in sorted(catalog[kind].fields.items()):
            if field == "type":
                continue
            action = draw(st.sampled_from(["keep", "keep", "keep", "drop", "odd"]))
            if action == "drop":
                event.pop(field, None)
            elif action == "odd":
                event[field] = draw(_odd(field_kind, _choices(catalog, kind, field)))
        events.append(event)
    zone = draw(st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", None]))
    decimals = draw(st.sampled_from(["decimal", "text"]))
    try:
        table = events_table(events, catalog, timezone=zone, decimals=decimals, types=kinds)
    except (TableError, pa.ArrowException, ValueError, OverflowError):
        assume(False)
    return catalog, table


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_a_row_given_directly_is_what_the_validator_makes_of_it(
    case: tuple[EventCatalog, pa.Table],
) -> None:
    catalog, table = case
    compare(table, catalog)


SALE = {
    "id": "s1",
    "type": "sale",
    "at": "2026-07-01T10:00:00+08:00",
    "customer_id": "C1",
    "product_id": "P1",
    "product_risk": 3,
    "amount": "50000.10",
    "currency": "CNY",
    "staff_id": "S1",
    "branch_id": "B1",
    "channel": "branch",
    "recorded": True,
}


def test_the_default_packs_rows_are_given_directly() -> None:
    catalog = commitrules.load_pack().catalog
    table = events_table(
        [SALE, {**SALE, "id": "s2", "amount": "7"}], catalog, timezone="Asia/Shanghai"
    )
    assert compare(table, catalog) == 2
    plan, _ = _plans(table, catalog)
    rows = list(check_batch("<table>", 0, table.to_batches()[0], plan).rows())
    event = rows[0][1]
    assert event is not None
    assert event["amount"] == Decimal("50000.10")
    assert event["at"] == dt.datetime(2026, 7, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert list(event)[:3] == ["id", "type", "at"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"staff_id": "x" * 201}, "staff_id: event s1: String should have at most 200"),
        ({"product_risk": 6}, "product_risk: event s1: Input should be less than or equal to 5"),
        ({"customer_id": None}, "customer_id: event s1: Field required"),
        ({"amount": "-1"}, "amount: event s1: Input should be greater than or equal to 0"),
    ],
)
def test_a_row_the_validator_refuses_goes_to_it_and_gets_its_error(
    change: dict[str, Any], reason: str
) -> None:
    pack = commitrules.load_pack()
    catalog = pack.catalog
    event = {**SALE, **change}
    event = {key: value for key, value in event.items() if value is not None}
    table = events_table([event, {**SALE, "id": "s2"}], catalog, timezone="Asia/Shanghai")
    assert compare(table, catalog) == 1  # the good row only
    result = evaluate_table(table, pack)
    assert [(r.row, r.reason[: len(reason)]) for r in result.rejected] == [(0, reason)]
    assert result.stats.processed == 1


def test_a_column_that_does_not_hold_the_values_as_they_are_leaves_the_type_to_the_validator() -> (
    None
):
    catalog = commitrules.load_pack().catalog
    table = events_table([SALE], catalog, timezone="Asia/Shanghai")
    # A whole number in a float column (as pandas stores integers with missing values).
    floats = table.set_column(
        table.schema.get_field_index("product_risk"),
        "product_risk",
        table.column("product_risk").cast(pa.float64()),
    )
    plan, _ = _plans(floats, catalog)
    assert "sale" not in plan.direct
    assert "sale" in _plans(table, catalog)[0].direct
    assert compare(floats, catalog) == 0
