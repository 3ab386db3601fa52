"""The schema check: once per batch schema, which column may carry which field of which type.

An event table has a ``type`` column and a column per field name; one table may hold many
event types, so a column serves every type that declares a field of its name. For each
(event type, column) pair the check decides, from the Arrow type alone, whether the column
can carry that field (:data:`ACCEPTED`), and says why not otherwise. Values themselves are
not looked at here: every value a row carries goes through the engine's own validation.

The verdicts are per event type because a column can fit one type's field and not
another's (``amount`` a decimal in one type, text in a pack's own type): a row is refused
for a column only if its type declares the field, the column does not fit it, and the
row's value there is not null.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import pyarrow as pa

from ..errors import Location
from ..events import EventCatalog
from ._direct import DirectType, direct_type, for_schema
from ._errors import TableError

__all__ = ["ACCEPTED", "TYPE_COLUMN", "Plan", "plan_for"]

TYPE_COLUMN = "type"

ACCEPTED: Mapping[str, str] = {
    "str": "a string column (string, large_string, string_view, or dictionary-encoded)",
    "int": "an integer column (int8 to int64, uint8 to uint64), or a float column "
    "(whole values only, as pandas stores integers with missing values)",
    "decimal": "an Arrow decimal column, a string column (decimal text), or an integer "
    "column; a float column only when allowed explicitly",
    "bool": "a boolean column",
    "datetime": "a timestamp column with a time zone (any unit), or a string column of "
    "RFC 3339 text with an offset",
    "list": "a list column (list, large_list, fixed_size_list) of strings",
    "any": "any of the column types above",
}
"""What column types carry each kind of field (the docs' table of accepted types)."""


def _value_type(arrow_type: pa.DataType) -> pa.DataType:
    return arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type


def _is_text(arrow_type: pa.DataType) -> bool:
    arrow_type = _value_type(arrow_type)
    return bool(
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
    )


def _is_list(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
    )


def _fits(kind: str, arrow_type: pa.DataType, allow_float_decimals: bool) -> bool | str:
    """True when a column of ``arrow_type`` carries a field of ``kind``; else a hint or False."""
    bare = _value_type(arrow_type)
    if pa.types.is_null(bare):
        return True  # nothing but nulls: every row leaves the field out
    if kind == "any":
        return any(
            _fits(other, arrow_type, allow_float_decimals=True) is True
            for other in ("str", "int", "decimal", "bool", "datetime", "list")
        )
    if kind == "str":
        return _is_text(bare)
    if kind == "int":
        return bool(pa.types.is_integer(bare) or pa.types.is_floating(bare))
    if kind == "bool":
        return bool(pa.types.is_boolean(bare))
    if kind == "decimal":
        if pa.types.is_floating(bare) and not allow_float_decimals:
            return (
                "a float cannot hold every decimal exactly: use an Arrow decimal or a string "
                "column, or allow float columns explicitly (allow_float_decimals=True, "
                "--allow-float-decimals)"
            )
        return bool(
            pa.types.is_decimal(bare)
            or _is_text(bare)
            or pa.types.is_integer(bare)
            or pa.types.is_floating(bare)
        )
    if kind == "datetime":
        if pa.types.is_timestamp(bare):
            if bare.tz is None:
                return (
                    "a timestamp without a time zone: event times must be aware (a timestamp "
                    "column with a time zone, or RFC 3339 text with an offset)"
                )
            return True
        return _is_text(bare)
    if kind == "list":
        return _is_list(bare) and _is_text(bare.value_type)
    return False


@attrs.frozen
class TypeLayout:
    """One event type's view of a schema: the columns it reads, and those it cannot."""

    name: str
    #: (column index, field name) of every declared field present as a column, in order.
    fields: tuple[tuple[int, str], ...]
    #: column index -> why the column cannot carry this type's field of that name.
    unfit: Mapping[int, str]


@attrs.frozen
class Plan:
    """The verdicts for one schema: built once, then used for every batch of that schema."""

    names: tuple[str, ...]
    type_index: int
    layouts: Mapping[str, TypeLayout]
    #: column index -> the event types that declare a field of that name.
    declared_by: tuple[frozenset[str], ...]
    #: column index -> how its values become Python values: "plain" (``to_pylist``),
    #: "timestamp" (aware datetimes), "decimal" (text), "null" (all None).
    conversions: tuple[str, ...]
    #: The types whose rows can be given to the engine validated (see :mod:`._direct`).
    direct: Mapping[str, DirectType] = attrs.field(factory=dict)


def plan_for(
    schema: pa.Schema, catalog: EventCatalog, *, allow_float_decimals: bool, source: str
) -> Plan:
    """Check a schema against a catalog (the event types the engine accepts).

    Raises:
        TableError: no ``type`` column, a ``type`` column that is not text, or two
            columns of one name.
    """
    names = tuple(schema.names)
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise TableError(f"two columns are named {name!r}", Location(file=source))
        seen.add(name)
    if TYPE_COLUMN not in seen:
        msg = (
            "an event table needs a 'type' column (the event type of each row); the columns "
            f"are {', '.join(repr(n) for n in names) or 'none'}"
        )
        raise TableError(msg, Location(file=source))
    type_index = names.index(TYPE_COLUMN)
    type_column = schema.field(type_index).type
    if not (_is_text(type_column) or pa.types.is_null(type_column)):
        msg = f"the 'type' column must be text, not {type_column}"
        raise TableError(msg, Location(file=source, key=TYPE_COLUMN))
    index_of = {name: i for i, name in enumerate(names)}
    declared: list[set[str]] = [set() for _ in names]
    layouts: dict[str, TypeLayout] = {}
    for event_type in catalog:
        fields: list[tuple[int, str]] = []
        unfit: dict[int, str] = {}
        for field_name, (kind, _optional) in event_type.fields.items():
            index = index_of.get(field_name)
            if index is None:
                continue
            declared[index].add(event_type.name)
            if field_name == TYPE_COLUMN:
                continue  # read once per row, to find the layout
            arrow_type = schema.field(index).type
            verdict = _fits(kind, arrow_type, allow_float_decimals)
            if verdict is True:
                fields.append((index, field_name))
            else:
                hint = verdict if isinstance(verdict, str) else f"it takes {ACCEPTED[kind]}"
                unfit[index] = (
                    f"the column is {arrow_type}, which cannot carry field {field_name!r} of "
                    f"{event_type.name!r}: {hint}"
                )
        layouts[event_type.name] = TypeLayout(event_type.name, tuple(fields), unfit)
    conversions = tuple(_conversion(schema.field(i).type) for i in range(len(names)))
    arrow_types = [schema.field(i).type for i in range(len(names))]
    direct: dict[str, DirectType] = {}
    for event_type in catalog:
        general = direct_type(event_type)
        if general is not None:
            found = for_schema(general, names, arrow_types, conversions)
            if found is not None:
                direct[event_type.name] = found
    return Plan(
        names=names,
        type_index=type_index,
        layouts=layouts,
        declared_by=tuple(frozenset(d) for d in declared),
        conversions=conversions,
        direct=direct,
    )


def _conversion(arrow_type: pa.DataType) -> str:
    bare = _value_type(arrow_type)
    if pa.types.is_null(bare):
        return "null"
    if pa.types.is_timestamp(bare) and bare.tz is not None:
        return "timestamp"
    if pa.types.is_decimal(bare):
        return "decimal"
    return "plain"


class PlanCache:
    """Plans by schema: a folder of files written alike is checked once."""

    def __init__(self, catalog: EventCatalog, *, allow_float_decimals: bool) -> None:
        self._catalog = catalog
        self._allow_float_decimals = allow_float_decimals
        self._plans: dict[Any, Plan] = {}

    def __call__(self, schema: pa.Schema, source: str) -> Plan:
        plan = self._plans.get(schema)
        if plan is None:
            plan = plan_for(
                schema,
                self._catalog,
                allow_float_decimals=self._allow_float_decimals,
                source=source,
            )
            if len(self._plans) < 64:
                self._plans[schema] = plan
        return plan
