"""Arrow values to the Python values an event holds (a column at a time).

Time columns become aware ``datetime`` values in the column's zone as fixed offsets, as
RFC 3339 text parses to (built from the columns of the local wall time, vectorised);
decimal columns their shortest text (``0.92``, not the column's ``0.920000000000000000``);
dictionary-encoded columns their values; everything else ``to_pylist``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from ._schema import Plan

__all__ = ["python_values"]


def python_values(array: pa.Array, plan: Plan, index: int) -> list[Any]:
    conversion = plan.conversions[index]
    if conversion == "null":
        return [None] * len(array)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if conversion == "timestamp":
        return _datetimes(array)
    if conversion == "decimal":
        return _decimal_texts(array)
    values: list[Any] = array.to_pylist()
    return values


_ZONES: dict[int, dt.tzinfo] = {}


def _zone(offset_us: int) -> dt.tzinfo:
    zone = _ZONES.get(offset_us)
    if zone is None:
        zone = dt.timezone(dt.timedelta(microseconds=offset_us))
        if len(_ZONES) < 4096:
            _ZONES[offset_us] = zone
    return zone


def _datetimes(array: pa.Array) -> list[Any]:
    """Aware datetimes with the offset of the column's zone at each instant.

    A fixed ``datetime.timezone`` per offset, as RFC 3339 text parses to: the value a JSON
    event with that time written in that zone gives the engine. Built from the columns of
    the local wall time (vectorised): ``to_pylist`` of a zoned column costs several times
    more.
    """
    # Refused rows were set to null by check_batch: what is left casts exactly.
    moments = array.cast(pa.timestamp("us", tz=array.type.tz), safe=False)
    valid = moments.is_valid() if moments.null_count else None
    if valid is not None:
        moments = moments.fill_null(pa.scalar(0, pa.timestamp("us", tz=array.type.tz)))
    local = pc.local_timestamp(moments)
    offsets = pc.subtract(local.cast(pa.int64()), moments.cast(pa.int64())).to_pylist()
    zones = list(map(_zone, offsets))
    microseconds = pc.add(
        pc.multiply(pc.millisecond(local), 1000), pc.microsecond(local)
    ).to_pylist()
    parts = [
        part(local).to_pylist()
        for part in (pc.year, pc.month, pc.day, pc.hour, pc.minute, pc.second)
    ]
    values: list[Any] = list(map(dt.datetime, *parts, microseconds, zones))
    if valid is not None:
        values = [v if ok else None for v, ok in zip(values, valid.to_pylist(), strict=True)]
    return values


def _decimal_texts(array: pa.Array) -> list[Any]:
    """Decimal text without the column's padding: ``0.920000`` in decimal(38, 6) is ``0.92``.

    The shortest plain form, as a JSON event would write the value: the scale of a decimal
    column is storage, not part of the value (trailing zeros would show in messages).
    """
    # Arrow writes zero as 0E-18 and may use an exponent elsewhere: read those exactly.
    texts: list[str | None] = array.cast(pa.string()).to_pylist()
    return [
        text
        if text is None
        else format(Decimal(text).normalize(), "f")
        if "E" in text
        else text.rstrip("0").rstrip(".")
        if "." in text
        else text
        for text in texts
    ]
