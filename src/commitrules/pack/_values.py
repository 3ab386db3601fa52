"""Parameters and reference tables as loaded: typed values with the dates they apply from."""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

from ..expr import FieldType, TableInfo
from .models import SourceModel

__all__ = ["Parameter", "ParameterTimeline", "Table", "coerce"]

_KIND = {
    "int": "int",
    "decimal": "decimal",
    "str": "str",
    "bool": "bool",
    "list": "list",
    "date": "any",
}


def coerce(value: Any, value_type: str) -> Any:
    """Check and convert a YAML value to a parameter/column type; ValueError says why."""
    if value_type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            msg = f"expected a whole number, got {value!r}"
            raise ValueError(msg)
        return value
    if value_type == "decimal":
        if isinstance(value, float) and math.isfinite(value):
            return Decimal(repr(value))
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            msg = f"expected a number, got {value!r}"
            raise ValueError(msg)
        return Decimal(value)
    if value_type == "str":
        if not isinstance(value, str):
            msg = f"expected text, got {value!r}"
            raise ValueError(msg)
        return value
    if value_type == "bool":
        if not isinstance(value, bool):
            msg = f"expected true or false, got {value!r}"
            raise ValueError(msg)
        return value
    if value_type == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            msg = f"expected a list of texts, got {value!r}"
            raise ValueError(msg)
        return tuple(value)
    if value_type == "date":
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            msg = f"expected a date (YYYY-MM-DD), got {value!r}"
            raise ValueError(msg)
        return value
    msg = f"unknown type {value_type!r}"  # pragma: no cover - the model restricts it
    raise ValueError(msg)


@attrs.frozen
class Parameter:
    """A named parameter: dated values (``None`` date = from the beginning), unit, source."""

    name: str
    type: str
    values: tuple[tuple[dt.date | None, Any], ...]
    unit: str | None
    description: str | None
    source: SourceModel | None
    defined_in: str

    @property
    def field_type(self) -> FieldType:
        """The expression type of the parameter."""
        return FieldType(_KIND[self.type])  # type: ignore[arg-type]

    @property
    def constant(self) -> bool:
        """Whether it has a single value for all time."""
        return len(self.values) == 1 and self.values[0][0] is None

    def value_at(self, day: dt.date) -> Any:
        """The value in force on a date (None before the first dated value)."""
        current = None
        for start, value in self.values:
            if start is None or start <= day:
                current = value
        return current


class ParameterTimeline:
    """Parameter values in force at any instant, looked up with one bisect."""

    def __init__(self, parameters: Mapping[str, Parameter], date_us: Any) -> None:
        points: set[int] = set()
        for parameter in parameters.values():
            for start, _ in parameter.values:
                if start is not None:
                    points.add(date_us(start))
        self._starts: list[int] = sorted(points)
        self._views: list[Mapping[str, Any]] = []
        boundaries: Sequence[int | None] = [None, *self._starts]
        for boundary in boundaries:
            view: dict[str, Any] = {}
            for name, parameter in parameters.items():
                value = None
                for start, candidate in parameter.values:
                    if start is None or (boundary is not None and date_us(start) <= boundary):
                        value = candidate
                view[name] = value
            self._views.append(MappingProxyType(view))

    def at(self, at_us: int) -> Mapping[str, Any]:
        """The parameter values in force at an instant."""
        return self._views[bisect.bisect_right(self._starts, at_us)]

    def span(self, at_us: int) -> tuple[Mapping[str, Any], int, int]:
        """The values in force at an instant, and the interval ``[from, to)`` they hold for."""
        index = bisect.bisect_right(self._starts, at_us)
        starts = self._starts
        lower = starts[index - 1] if index > 0 else -(2**63)
        upper = starts[index] if index < len(starts) else 2**63
        return self._views[index], lower, upper

    def series(self, name: str) -> list[tuple[int | None, Any]]:
        """Change points of one parameter: (start µs or None, value)."""
        out: list[tuple[int | None, Any]] = [(None, self._views[0][name])]
        out.extend(
            (start, view[name]) for start, view in zip(self._starts, self._views[1:], strict=True)
        )
        return out


@attrs.frozen
class Table:
    """A reference table; each row may be limited by valid_from/valid_to dates."""

    id: str
    key: str
    columns: Mapping[str, tuple[str, bool]]  # column -> (type, optional)
    rows: tuple[Mapping[str, Any], ...]
    description: str | None
    defined_in: str

    @property
    def info(self) -> TableInfo:
        """The columns' expression types."""
        return TableInfo(
            columns={
                name: FieldType(_KIND[kind], optional)  # type: ignore[arg-type]
                for name, (kind, optional) in self.columns.items()
            }
        )


class TableIndex:
    """Rows by key with their validity in µs, for lookups at an event's time."""

    def __init__(self, table: Table, date_us: Any) -> None:
        self.table = table
        self.by_key: dict[Any, list[tuple[int | None, int | None, Mapping[str, Any]]]] = {}
        self.spans: list[tuple[int | None, int | None, Mapping[str, Any]]] = []
        for row in table.rows:
            start = row.get("valid_from")
            end = row.get("valid_to")
            span = (
                date_us(start) if start is not None else None,
                date_us(end) if end is not None else None,
                row,
            )
            self.by_key.setdefault(row[table.key], []).append(span)
            self.spans.append(span)
        #: Keys with one row, valid for all time (most of a register): one dict lookup.
        self.always: dict[Any, Mapping[str, Any]] = {
            key: spans[0][2]
            for key, spans in self.by_key.items()
            if len(spans) == 1 and spans[0][0] is None and spans[0][1] is None
        }

    def row(self, key: Any, at_us: int) -> Mapping[str, Any] | None:
        """The row for a key in force at an instant."""
        spans = self.by_key.get(key)
        if not spans:
            return None
        for start, end, row in spans:
            if (start is None or start <= at_us) and (end is None or at_us < end):
                return row
        return None

    def rows_at(self, at_us: int) -> list[dict[str, Any]]:
        """Every row in force at an instant (all columns present)."""
        columns = self.table.columns
        return [
            {name: row.get(name) for name in columns}
            for start, end, row in self.spans
            if (start is None or start <= at_us) and (end is None or at_us < end)
        ]
