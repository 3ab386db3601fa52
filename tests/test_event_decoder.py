"""The generated JSON decoder (msgspec) accepts exactly what pydantic accepts, with equal values.

pydantic is the reference: whatever the fast decoder takes, pydantic takes with the same
values written the same way (type and ``repr``: the duplicate store digests them); whatever
it declines goes to pydantic, so ``validate_json`` always gives what pydantic gives, errors
included.
"""

from __future__ import annotations

import contextlib
import functools
import json
import types
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import commitrules
from commitrules import EventValidationError
from commitrules._event_decoder import FastDecoder, pydantic_keeps_last
from commitrules.events import EventCatalog, _times
from commitrules.testing import strategies

PACKS = Path(__file__).parent / "packs"
CATALOGS = {
    "built-in": commitrules.load_pack().catalog,
    "payment-disputes": commitrules.load_pack(PACKS / "payment-disputes").catalog,
    "provisional": commitrules.load_pack(PACKS / "provisional").catalog,
}

#: Values that are wrong, or lax forms pydantic may still accept, for any field.
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "yes",
            "no",
            "on",
            "true",
            "1",
            "0",
            "3",
            "3.0",
            " 1",
            "1_000",
            "1e2",
            "+1",
            "-0",
            ".5",
            "5.",
            "NaN",
            "Infinity",
            "١٢",
            "",
            "x" * 201,
            "0.000000000000000001",
            "123456789012345678901.5",
            "12345678901234567890.1234567890123456789",
            "99999999999999999999.999999999999999999",
            "2026-07-01T10:00+08:00",
            "2026-07-01T10:00:00",
            "2026-07-01t10:00:00z",
            "2026-07-01 10:00:00+0800",
            "2026-07-01T10:00:00.123456789+08:00",
            "1899-12-31T23:59:59Z",
            "20260701T100000Z",
        ]
    ),
    st.text(max_size=8),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: json.loads(json.dumps(f))),
    st.lists(st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _limits(annotation: Any, metadata: list[Any]) -> dict[str, Any]:
    """The bounds and lengths of a field, through Optional and Annotated layers."""
    found: dict[str, Any] = {}
    for item in metadata:
        for inner in [item, *getattr(item, "metadata", [])]:
            for key in ("ge", "le", "min_length", "max_length"):
                if getattr(inner, key, None) is not None:
                    found[key] = getattr(inner, key)
    for arg in typing.get_args(annotation):
        if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
            found.update(_limits(arg, list(typing.get_args(annotation)[1:])))
    return found


def edge_values(info: Any) -> st.SearchStrategy[Any]:
    """Values at and just beyond a field's bounds and lengths, as text and as numbers."""
    limits = _limits(info.annotation, list(info.metadata))
    values: list[Any] = []
    for key in ("ge", "le"):
        if key in limits:
            bound = Decimal(limits[key])
            step = Decimal("0.01") if isinstance(limits[key], Decimal) else Decimal(1)
            for value in (bound - step, bound, bound + step):
                values += [str(value), int(value) if value == int(value) else str(value)]
    for key in ("min_length", "max_length"):
        if key in limits:
            for length in (limits[key] - 1, limits[key], limits[key] + 1):
                values += ["x" * max(length, 0), "é" * max(length, 0), "😀" * max(length, 0)]
    return st.sampled_from(values) if values else ODD_VALUES


def _bounded(numbers: bool) -> list[tuple[str, str, str]]:
    """(catalog, type, field) of every field with bounds (numbers) or lengths (text)."""
    keys = ("ge", "le") if numbers else ("min_length", "max_length")
    return [
        (name, event_type.name, field)
        for name, catalog in sorted(CATALOGS.items())
        for event_type in catalog
        for field, info in event_type.model.model_fields.items()
        if any(key in _limits(info.annotation, list(info.metadata)) for key in keys)
    ]


BOUNDED = {"numbers": _bounded(numbers=True), "text": _bounded(numbers=False)}


@st.composite
def json_events(draw: st.DrawFn) -> tuple[EventCatalog, str]:
    """A catalog and the JSON text of one of its events: valid, or changed in a few ways
    (half the time at or just beyond one field's bounds)."""
    focus = draw(st.sampled_from(["numbers", "text", "any", "any"]))
    if focus == "any":
        catalog = CATALOGS[draw(st.sampled_from(sorted(CATALOGS)))]
        type_name = draw(st.sampled_from(catalog.names))
        edge = None
    else:
        catalog_name, type_name, edge = draw(st.sampled_from(BOUNDED[focus]))
        catalog = CATALOGS[catalog_name]
    event: dict[str, Any] = draw(strategies.events(catalog, type_name))
    fields = catalog[type_name].model.model_fields
    names = sorted(fields)
    if edge is not None:
        event[edge] = draw(edge_values(fields[edge]))
    for _ in range(draw(st.integers(0, 2 if edge is None else 1))):
        change = draw(st.sampled_from(["edge", "value", "drop", "unknown", "number"]))
        name = draw(st.sampled_from(names))
        if change == "edge":
            event[name] = draw(edge_values(fields[name]))
        elif change == "value":
            event[name] = draw(ODD_VALUES)
        elif change == "drop":
            event.pop(name, None)
        elif change == "unknown":
            event[draw(st.text(min_size=1, max_size=6))] = draw(ODD_VALUES)
        elif isinstance(event.get(name), str):  # a decimal or other text as a JSON number
            with contextlib.suppress(ValueError):
                event[name] = json.loads(event[name])
    text = json.dumps(event, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 9)) == 0:  # a key given twice (the last one counts)
        key = draw(st.sampled_from(sorted(event) or ["type"]))
        text = text[:-1] + f", {json.dumps(key)}: {json.dumps(draw(ODD_VALUES))}}}"
    return catalog, text


@functools.cache
def decoder(catalog: EventCatalog) -> FastDecoder:
    return FastDecoder(catalog)


def written(event: dict[str, Any]) -> dict[str, tuple[type, str]]:
    """Each value with its type and how it is written (Decimal('1.0') != Decimal('1.00'))."""
    return {key: (type(value), repr(value)) for key, value in event.items()}


def reference(catalog: EventCatalog, text: str) -> dict[str, Any] | EventValidationError:
    try:
        return catalog._validate_json_pydantic(text)
    except EventValidationError as error:
        return error


@settings(max_examples=300)
@given(json_events())
def test_the_fast_decoder_takes_only_what_pydantic_takes_with_equal_values(
    case: tuple[EventCatalog, str],
) -> None:
    catalog, text = case
    fast = decoder(catalog).decode(text)
    slow = reference(catalog, text)
    if fast is not None and not _times(fast, catalog[fast["type"]].times):
        # Taken (its timestamps read as the pydantic path reads them): pydantic takes it too.
        assert not isinstance(slow, EventValidationError), (text, slow)
        assert written(fast) == written(slow), text
    # Whatever the fast decoder did, validate_json gives pydantic's answer, errors included.
    try:
        given_back: Any = catalog.validate_json(text)
    except EventValidationError as error:
        given_back = error
    if isinstance(slow, EventValidationError):
        assert isinstance(given_back, EventValidationError), text
        assert str(given_back) == str(slow)
    else:
        assert written(given_back) == written(slow), text


@pytest.mark.parametrize("name", sorted(CATALOGS))
def test_every_type_is_decoded_fast(name: str) -> None:
    catalog = CATALOGS[name]
    assert sorted(FastDecoder(catalog).types) == sorted(catalog.names)


def test_the_probe_of_repeated_keys_says_what_the_catalog_does() -> None:
    catalog = CATALOGS["built-in"]
    event = (
        '{"id": "e1", "type": "complaint_extended", "at": "2026-07-01T00:00:00+08:00", '
        '"case_id": "K1", "reason": "r", "complainant_notified": false, "stage": "complex", '
        '"case_id": "K2"}'
    )
    kept = catalog._validate_json_pydantic(event)["case_id"]
    assert kept == ("K2" if pydantic_keeps_last() else "K1")
    assert catalog.validate_json(event)["case_id"] == kept


ON = pytest.mark.skipif(
    not pydantic_keeps_last(),
    reason="this pydantic keeps the first value of a repeated key: the fast decoder is off",
)


@ON
def test_the_common_sale_is_taken_and_lax_forms_go_to_pydantic() -> None:
    catalog = CATALOGS["built-in"]
    decoder = FastDecoder(catalog)
    sale = {
        "id": "s1", "type": "sale", "at": "2026-07-01T10:00:00+08:00", "customer_id": "C1",
        "product_id": "P1", "product_risk": 3, "amount": "50000.10", "currency": "CNY",
        "staff_id": "S1", "branch_id": "B1", "channel": "branch", "recorded": True,
    }  # fmt: skip
    taken = decoder.decode(json.dumps(sale))
    assert taken is not None
    assert taken["amount"] == Decimal("50000.10")
    for lax in ({"recorded": "yes"}, {"product_risk": 3.0}, {"amount": 1.50}, {"extra": 1}):
        assert decoder.decode(json.dumps({**sale, **lax})) is None
    # pydantic decides those: a lax boolean is taken, an unknown field is refused.
    assert catalog.validate_json(json.dumps({**sale, "recorded": "yes"}))["recorded"] is True
    with pytest.raises(EventValidationError, match="extra"):
        catalog.validate_json(json.dumps({**sale, "extra": 1}))
