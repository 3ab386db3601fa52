"""Rows straight to the engine's validated events, where the columns decide every field.

A row read from a table was turned into a dict and then validated by the event type's
pydantic validator, as a JSON event is: about 5 µs a row, a sixth of the engine's whole
cost per event. For most rows the columns already say everything the validator would:
a string column holds text, an integer column whole numbers, a timestamp column aware
times. So, per batch and event type, the checks the validator makes are made over whole
columns, and the rows that pass become the validated dict directly (every declared
field, in the type's order, defaults filled), as ``EventCatalog.validate`` returns it.

A type goes this way only when every one of its fields is one the JSON decoder also
decides exactly (:func:`commitrules._event_decoder.field_rule`: text with lengths, a
choice of texts, whole numbers and decimals with bounds, booleans, lists of text, and
timestamps), with defaults of None, text, numbers or booleans, or an empty list; and
only from columns that hold the field's values as they are (text from a string column,
a whole number from an integer column, a time from a timestamp column with a zone).
Anything else (a float column for a whole number, text for a time, a type with a field
of its own kind) goes the usual way, and so does a row that any check does not pass: a
required field null, text too long or not among the choices, a number out of bounds, a
time outside 1901-2199, a decimal that is not plain digits. The validator then builds
the error the user reads, as before. The property test in ``tests/test_columnar_direct.py``
checks that a row given directly equals what the validator makes of it.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from .._event_decoder import FieldRule, UnsupportedError, decimal_within, field_rule
from ..events import EventType
from ._values import python_values

if TYPE_CHECKING:
    from ._schema import Plan

__all__ = ["DirectField", "DirectType", "direct_type", "for_schema", "ready_events"]


@attrs.frozen
class DirectField:
    """One field of a type given directly: how it is checked and what fills it."""

    name: str
    #: None for the ``type`` field and for timestamps.
    rule: FieldRule | None
    time: bool
    required: bool
    default: Any
    #: A fresh empty list when the field is left out (a list default).
    fresh_list: bool = False
    #: The column that carries it in a schema (None: no column).
    index: int | None = None


@attrs.frozen
class DirectType:
    """An event type whose rows can be given to the engine validated (see the module)."""

    name: str
    fields: tuple[DirectField, ...]


#: A type's reading of its model, by model: worked out once per model, not once per schema
#: (a folder of files of several schemas, a stream's micro-batches).
_BY_MODEL: weakref.WeakKeyDictionary[type, DirectType | None] = weakref.WeakKeyDictionary()


def direct_type(event_type: EventType) -> DirectType | None:
    """How to give ``event_type``'s rows directly, or None when its validator must."""
    try:
        return _BY_MODEL[event_type.model]
    except KeyError:
        found = _BY_MODEL[event_type.model] = _direct_type(event_type)
        return found


def _direct_type(event_type: EventType) -> DirectType | None:
    times = dict(event_type.times)
    fields: list[DirectField] = []
    for name, info in event_type.model.model_fields.items():
        required = info.is_required() or name == "type"
        rule: FieldRule | None = None
        if name != "type" and name not in times:
            try:
                rule = field_rule(info.annotation, info.metadata)
            except UnsupportedError:
                return None
        if required:
            fields.append(DirectField(name, rule, name in times, True, None))
            continue
        default = info.get_default(call_default_factory=True)
        if type(default) is list and default == []:
            fields.append(DirectField(name, rule, name in times, False, None, fresh_list=True))
            continue
        if default is not None and type(default) not in (str, int, bool):
            return None
        fields.append(DirectField(name, rule, name in times, False, default))
    return DirectType(event_type.name, tuple(fields))


def _exact(field: DirectField, arrow_type: pa.DataType, conversion: str) -> bool:
    """Whether a column of ``arrow_type`` gives ``field`` its values as they are."""
    bare = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    if pa.types.is_null(bare):
        return True
    if field.time:
        return conversion == "timestamp"
    rule = field.rule
    if rule is None:  # the type field: rows are grouped by it
        return True
    text = pa.types.is_string(bare) or pa.types.is_large_string(bare)
    if rule.kind in {"str", "literal"}:
        return bool(text)
    if rule.kind == "int":
        return bool(pa.types.is_integer(bare))
    if rule.kind == "bool":
        return bool(pa.types.is_boolean(bare))
    if rule.kind == "decimal":
        return bool(conversion == "decimal" or text or pa.types.is_integer(bare))
    return bool(
        (pa.types.is_list(bare) or pa.types.is_large_list(bare))
        and (pa.types.is_string(bare.value_type) or pa.types.is_large_string(bare.value_type))
    )


def _passes(field: DirectField, array: pa.Array) -> Any:
    """A boolean array: the rows whose value the validator takes as it is (None: all)."""
    rule = field.rule
    checks: list[Any] = []
    if field.time:
        year = pc.year(pc.local_timestamp(array))
        checks.append(pc.and_(pc.greater(year, 1900), pc.less(year, 2200)))
    elif rule is not None:
        if rule.kind == "str" and (rule.shortest is not None or rule.longest is not None):
            length = pc.utf8_length(array)
            if rule.shortest is not None:
                checks.append(pc.greater_equal(length, rule.shortest))
            if rule.longest is not None:
                checks.append(pc.less_equal(length, rule.longest))
        elif rule.kind == "literal":
            checks.append(pc.is_in(array, pa.array(rule.values or (), pa.string())))
        elif rule.kind == "int":
            if rule.lowest is not None:
                checks.append(pc.greater_equal(array, pa.scalar(rule.lowest, pa.int64())))
            if rule.highest is not None:
                checks.append(pc.less_equal(array, pa.scalar(rule.highest, pa.int64())))
    passed: Any = None
    for check in checks:
        passed = check if passed is None else pc.and_(passed, check)
    if array.null_count:
        # A null is the field left out: the default, or (required) the validator's error.
        if field.required:
            valid = pc.is_valid(array)
            passed = valid if passed is None else pc.and_(passed, valid)
        elif passed is not None:
            passed = pc.or_kleene(pc.is_null(array), passed)
    if passed is not None and passed.null_count:
        passed = pc.fill_null(passed, False)
    return passed


class Facts:
    """What a batch's columns hold, worked out once per column and batch: so that a rule
    every value of a column keeps (the common case) is proven for every type's rows at
    once, and only a column that breaks it somewhere is checked row by row."""

    def __init__(self, columns: list[pa.Array]) -> None:
        self._columns = columns
        self._found: dict[tuple[int, str], Any] = {}

    def _column(self, index: int) -> pa.Array:
        array = self._columns[index]
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        return array

    def _fact(self, index: int, what: str) -> Any:
        key = (index, what)
        if key in self._found:
            return self._found[key]
        array = self._column(index)
        fact: Any
        if what == "length":
            found = pc.min_max(pc.utf8_length(array)).as_py()
            fact = (found["min"], found["max"])
        elif what == "instants":  # µs since 1970
            scale = _PER_US[array.type.unit]
            found = pc.min_max(array.cast(pa.int64())).as_py()
            fact = (
                None if found["min"] is None else found["min"] * scale,
                None if found["max"] is None else found["max"] * scale,
            )
        elif what == "bounds":
            found = pc.min_max(array).as_py()
            fact = (found["min"], found["max"])
        else:  # the distinct values of a text column
            fact = frozenset(pc.unique(array).drop_null().to_pylist())
        self._found[key] = fact
        return fact

    def _within(self, index: int, what: str, lowest: Any, highest: Any) -> bool:
        """Whether a column's span (lengths or values, ``what``) is within the bounds."""
        if lowest is None and highest is None:
            return True
        low, high = self._fact(index, what)
        return low is None or (
            (lowest is None or low >= lowest) and (highest is None or high <= highest)
        )

    def kept(self, field: DirectField) -> bool:
        """Whether every value of the field's column keeps the field's rule (nulls aside)."""
        index = field.index
        assert index is not None
        if field.time:
            low, high = self._fact(index, "instants")
            # Local years 1901-2199 in any zone (an offset is within a day of UTC).
            return low is None or (low >= _EARLIEST_US and high <= _LATEST_US)
        rule = field.rule
        if rule is None:
            return True
        if rule.kind == "str":
            return self._within(index, "length", rule.shortest, rule.longest)
        if rule.kind == "literal":
            return bool(self._fact(index, "values") <= frozenset(rule.values or ()))
        if rule.kind == "int":
            return self._within(index, "bounds", rule.lowest, rule.highest)
        return True  # booleans; decimals and lists are checked a value at a time


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EARLIEST_US = (dt.datetime(1901, 1, 2, tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(microseconds=1)
_LATEST_US = (dt.datetime(2198, 12, 31, tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(microseconds=1)
_PER_US = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}


def _bad_values(field: DirectField, values: list[Any], bad: set[int]) -> list[Any]:
    """Decimals and lists checked a value at a time (the rows that fail join ``bad``)."""
    rule = field.rule
    assert rule is not None
    if rule.kind == "decimal":
        lowest, highest = rule.lowest, rule.highest
        out: list[Any] = []
        for i, value in enumerate(values):
            if value is None:
                out.append(None)
                continue
            number = decimal_within(value, lowest, highest)
            if number is None:
                bad.add(i)
            out.append(number)
        return out
    allowed = None if rule.values is None else frozenset(rule.values)
    for i, value in enumerate(values):
        if value is None:
            continue
        if any(
            type(item) is not str or (allowed is not None and item not in allowed) for item in value
        ):
            bad.add(i)
    return values


def ready_events(
    columns: list[pa.Array],
    plan: Plan,
    rows: list[int],
    count: int,
    direct: DirectType,
    facts: Facts,
    *,
    as_values: bool = False,
) -> tuple[list[int], Iterator[Any]] | None:
    """The rows of ``rows`` (a type's rows of a batch of ``count``) given directly, in
    order, and their validated events (made as they are asked for); None when no row
    of this type can be in this batch (a required field without values).

    With ``as_values``, each event is the tuple of its values in the type's field order
    (what the validated dict would hold, without the dict: see
    :meth:`commitrules.engine._intake.Digests.of_values`)."""
    located: list[tuple[DirectField, int | None]] = []
    for field in direct.fields:
        index = field.index
        if index is not None and columns[index].null_count == count:
            index = None  # null in every row: left out of every event
        if index is None and field.required and field.name != "type":
            return None
        located.append((field, index))
    positions = None if len(rows) == count else pa.array(rows, pa.int64())
    arrays: dict[int, pa.Array] = {}
    passed: Any = None
    for field, index in located:
        if index is None or field.name == "type":
            continue
        array = columns[index]
        if positions is not None:
            array = array.take(positions)
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        arrays[index] = array
        if facts.kept(field):
            # Every value keeps the rule: only a required field's nulls are left to see.
            if not (field.required and array.null_count):
                continue
            verdict: Any = pc.is_valid(array)
        else:
            try:
                verdict = _passes(field, array)
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                return None  # a bound the column's type cannot compare: the validator decides
        if verdict is not None:
            passed = verdict if passed is None else pc.and_(passed, verdict)
    chosen = rows
    if passed is not None and not pc.all(passed).as_py():
        keep = pc.indices_nonzero(passed)
        chosen = [rows[i] for i in keep.to_pylist()]
        if not chosen:
            return [], iter(())
        arrays = {index: array.take(keep) for index, array in arrays.items()}
    size = len(chosen)
    bad: set[int] = set()
    names: list[str] = []
    values: list[Any] = []
    for field, index in located:
        names.append(field.name)
        if field.name == "type":
            values.append([direct.name] * size)
        elif index is None:
            values.append(_absent(field, size))
        else:
            got = python_values(arrays[index], plan, index)
            if field.rule is not None and field.rule.kind in {"decimal", "list"}:
                got = _bad_values(field, got, bad)
            if not field.required and (field.fresh_list or field.default is not None):
                got = _filled(field, got)
            values.append(got)
    if bad:
        chosen = [row for i, row in enumerate(chosen) if i not in bad]
    if as_values:
        made: Iterator[Any] = zip(*values, strict=True)
        if bad:
            made = (row for i, row in enumerate(made) if i not in bad)
        return chosen, made
    return chosen, _made(names, values, bad)


def _absent(field: DirectField, size: int) -> list[Any]:
    if field.fresh_list:
        return [[] for _ in range(size)]
    return [field.default] * size


def _filled(field: DirectField, values: list[Any]) -> list[Any]:
    if field.fresh_list:
        return [[] if value is None else value for value in values]
    default = field.default
    return [default if value is None else value for value in values]


def _made(names: list[str], values: list[Any], bad: set[int]) -> Iterator[dict[str, Any]]:
    if not bad:
        for row in zip(*values, strict=True):
            yield dict(zip(names, row, strict=False))  # one value per name
        return
    for i, row in enumerate(zip(*values, strict=True)):
        if i not in bad:
            yield dict(zip(names, row, strict=False))  # one value per name


def for_schema(
    direct: DirectType,
    names: Sequence[str],
    types: Sequence[pa.DataType],
    conversions: Sequence[str],
) -> DirectType | None:
    """``direct`` with the column of each field in a schema, or None when a column does not
    hold its field's values as they are, or a required field has no column."""
    index_of = {name: index for index, name in enumerate(names)}
    fields: list[DirectField] = []
    for field in direct.fields:
        index = index_of.get(field.name)
        if index is None:
            if field.required:
                return None
        elif not _exact(field, types[index], conversions[index]):
            return None
        fields.append(attrs.evolve(field, index=index))
    return attrs.evolve(direct, fields=tuple(fields))
