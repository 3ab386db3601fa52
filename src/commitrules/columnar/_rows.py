"""Rows: a checked batch's columns turned into one event (a dict) per row, in row order.

This is the last step before evaluation, and the only one that looks at values, in
vectorised passes over whole columns (which rows are null where, which fall outside what
a Python ``datetime`` holds) before any per-row work:

- a null is a field left out (the engine fills its default, or refuses a required one);
- a row whose type declares a field whose column cannot carry it (see :mod:`._schema`)
  and whose value there is not null is refused with the column's reason;
- a row with a non-null value in a column its type does not declare, or whose type is
  unknown or null, is given to the engine with every non-null value it has: the engine
  refuses it exactly as it refuses that event from JSON (an unknown field, an unknown
  type, a missing type);
- a row of a type whose fields the columns decide, that keeps the type's limits, is the
  validator's dict itself (every declared field, defaults filled; see :mod:`._direct`),
  marked ``ready``;
- every other row is the dict of its type's non-null columns, for the engine to validate.

Events are built a type at a time (only the columns that type reads, only its rows), then
handed out in row order. Time columns become aware ``datetime`` values in the column's zone
as fixed offsets, as RFC 3339 text parses to (microseconds: a nanosecond value with a part
below a microsecond is refused); decimal columns their shortest text (``0.92``, not the
column's ``0.920000000000000000``); lists Python lists (see :mod:`._values`).
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import Location, Problem
from ..eventtime._instants import EARLIEST, LATEST
from ._direct import Facts, ready_events
from ._schema import Plan
from ._values import python_values

__all__ = ["CheckedBatch", "check_batch"]

#: What a ``datetime`` holds, with a day to spare for any zone's offset (µs since 1970).
_DATETIME_MIN_US = -62_135_596_800_000_000 + 86_400_000_000
_DATETIME_MAX_US = 253_402_300_799_999_999 - 86_400_000_000
_OUT_OF_RANGE = (
    "time outside the supported range {earliest} to {latest} (the column holds {value} "
    "{unit} since 1970)"
)
_SUB_MICROSECOND = (
    "time {value} ns since 1970 has a part below a microsecond; event times are kept to the "
    "microsecond: truncate the column (cast to timestamp[us]) if that is what is meant"
)


@attrs.frozen
class CheckedBatch:
    """A batch with its plan and the per-row verdicts of the vectorised passes.

    ``refused`` maps a row's index in the batch to the column and why it is refused
    before the engine sees it; ``whole`` holds the rows given to the engine with every
    non-null value (an undeclared column, or an unknown or null type). A vectorised
    evaluator reads the Arrow columns (``batch``) and these verdicts; the row evaluator
    calls :meth:`rows`.
    """

    source: str
    first_row: int
    batch: pa.RecordBatch = attrs.field(repr=False, eq=False)
    plan: Plan = attrs.field(repr=False, eq=False)
    refused: dict[int, tuple[str, str]]
    whole: frozenset[int]
    columns: list[pa.Array] = attrs.field(repr=False, eq=False)

    @property
    def num_rows(self) -> int:
        """Rows in the batch."""
        return int(self.batch.num_rows)

    def rows(self, as_values: Container[str] = ()) -> Iterator[tuple[int, Any, str | None, bool]]:
        """``(row number in the source, event, reason, ready)`` per row; the event is None
        when the row is refused (``reason`` then says why). ``ready`` says the event is
        already the engine's validated dict (see :mod:`._direct`), to be accepted as it
        is; otherwise it is a dict for the engine to validate.

        A ready row of a type in ``as_values`` comes as the tuple of its values in the
        type's field order instead of the dict (the vectorised path's lean intake)."""
        plan = self.plan
        kinds: list[Any] = python_values(self.columns[plan.type_index], plan, plan.type_index)
        refused = self.refused
        whole = self.whole
        # The rows of each type (the rows given whole form a group of their own) …
        groups: dict[Any, list[int]] = {}
        for i, kind in enumerate(kinds):
            if refused and i in refused:
                continue
            groups.setdefault(_WHOLE if whole and i in whole else kind, []).append(i)
        # … become their events a group at a time, converting only the columns the group
        # reads, and only the group's rows of them; then the events go out in row order.
        # A type's rows that the columns decide are given validated (a group of their own).
        events: dict[Any, Iterator[dict[str, Any]]] = {}
        ready: dict[int, Iterator[Any]] = {}
        facts = Facts(self.columns)
        for group, rows in groups.items():
            if group is _WHOLE:
                fields = [(name, index) for index, name in enumerate(plan.names)]
                events[group] = self._events(rows, fields, None)
                continue
            direct = plan.direct.get(group)
            if direct is not None:
                made = ready_events(
                    self.columns,
                    plan,
                    rows,
                    self.num_rows,
                    direct,
                    facts,
                    as_values=group in as_values,
                )
                if made is not None:
                    given, validated = made
                    if given:
                        ready.update(dict.fromkeys(given, validated))
                        if len(given) == len(rows):
                            continue
                        taken = set(given)
                        rows = [i for i in rows if i not in taken]  # noqa: PLW2901
            layout = plan.layouts[group].fields
            events[group] = self._events(rows, [(n, i) for i, n in layout], group)
        ids: list[Any] | None = None
        first = self.first_row
        for i, kind in enumerate(kinds):
            if refused and i in refused:
                if ids is None:
                    ids = self._ids()
                event_id = ids[i]
                column_name, reason = refused[i]
                where = Location(
                    key=column_name, event_id=event_id if isinstance(event_id, str) else None
                )
                yield first + i, None, str(Problem(where, reason)), False
                continue
            if ready:
                made_here = ready.get(i)
                if made_here is not None:
                    yield first + i, next(made_here), None, True
                    continue
            group = _WHOLE if whole and i in whole else kind
            yield first + i, next(events[group]), None, False

    def _ids(self) -> list[Any]:
        if "id" not in self.plan.names:
            return [None] * self.num_rows
        index = self.plan.names.index("id")
        return python_values(self.columns[index], self.plan, index)

    def _events(
        self, rows: list[int], fields: list[tuple[str, int]], kind: str | None
    ) -> Iterator[dict[str, Any]]:
        """The events of ``rows`` (indices in the batch) from the columns in ``fields``.

        Columns are converted at once; each event is made only when it is asked for, so
        that a batch of events never lives at once (thousands of live dicts would survive
        the garbage collector's young generations and make its full passes, over the
        engine's own state, more frequent).
        """
        everything = len(rows) == self.num_rows
        positions = None if everything else pa.array(rows, pa.int64())
        names: list[str] = []
        columns: list[list[Any]] = []
        for name, index in fields:
            array = self.columns[index]
            if array.null_count == len(array):
                continue  # null in every row: left out of every event
            if positions is not None:
                array = array.take(positions)
                if array.null_count == len(array):
                    continue
            names.append(name)
            columns.append(python_values(array, self.plan, index))
        return _made(names, columns, len(rows), kind)


def _made(
    names: list[str], columns: list[list[Any]], count: int, kind: str | None
) -> Iterator[dict[str, Any]]:
    for values in zip(*columns, strict=True) if columns else ((),) * count:
        event: dict[str, Any] = {} if kind is None else {"type": kind}
        for name, value in zip(names, values, strict=True):
            if value is not None:
                event[name] = value
        yield event


_WHOLE = object()
"""The group of rows given to the engine with every non-null value."""


def check_batch(source: str, first_row: int, batch: pa.RecordBatch, plan: Plan) -> CheckedBatch:
    """The vectorised passes over one batch (see the module's docstring)."""
    count = batch.num_rows
    columns = list(batch.columns)
    types = columns[plan.type_index]
    if pa.types.is_dictionary(types.type):
        types = types.dictionary_decode()
    refused: dict[int, tuple[str, str]] = {}
    whole_mask: Any = None
    types = types.cast(pa.string())
    known = pa.array(sorted(plan.layouts), pa.string())
    if types.null_count or not pc.all(pc.is_in(types, known)).as_py():
        whole_mask = pc.invert(pc.fill_null(pc.is_in(types, known), False))
    present = {str(name) for name in pc.unique(types).to_pylist() if name is not None}
    # Rows whose type does not declare a field, per set of declaring types (columns of one
    # type share theirs): computed once per batch.
    outside: dict[frozenset[str], Any] = {}
    for index, name in enumerate(plan.names):
        column = columns[index]
        if column.null_count == count or index == plan.type_index:
            continue
        valid = pc.is_valid(column)
        declared = plan.declared_by[index]
        if present - declared:
            others = outside.get(declared)
            if others is None:
                names = pa.array(sorted(declared), pa.string())
                others = outside[declared] = pc.invert(pc.is_in(types, names))
            undeclared = pc.and_(valid, others)
            if pc.any(undeclared).as_py():
                whole_mask = undeclared if whole_mask is None else pc.or_(whole_mask, undeclared)
        for kind in present & declared:
            reason = plan.layouts[kind].unfit.get(index)
            if reason is None:
                continue
            rows = pc.and_(valid, pc.equal(types, kind))
            for i in _indices(rows):
                refused.setdefault(i, (name, reason))
        if plan.conversions[index] == "timestamp":
            columns[index] = _checked_times(column, refused, name)
    whole: frozenset[int] = frozenset()
    if whole_mask is not None:
        whole = frozenset(i for i in _indices(whole_mask) if i not in refused)
    return CheckedBatch(source, first_row, batch, plan, refused, whole, columns)


def _indices(mask: Any) -> list[int]:
    if not pc.any(mask).as_py():
        return []
    found: list[int] = pc.indices_nonzero(mask).to_pylist()
    return found


_UNIT_NAMES = {"s": "seconds", "ms": "ms", "us": "µs", "ns": "ns"}
_PER_UNIT = {"s": 1_000_000, "ms": 1_000, "us": 1}


def _checked_times(column: pa.Array, refused: dict[int, tuple[str, str]], name: str) -> pa.Array:
    """The column with the times a ``datetime`` cannot hold exactly set to null (refused).

    Seconds, milliseconds and microseconds can lie beyond the years a ``datetime`` holds;
    int64 nanoseconds cannot (1677 to 2262), but can hold a part below a microsecond.
    """
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    unit = column.type.unit
    raw = column.cast(pa.int64())
    drop: dict[int, str] = {}
    if unit in _PER_UNIT:
        scale = _PER_UNIT[unit]
        low = pa.scalar(-(-_DATETIME_MIN_US // scale), pa.int64())
        high = pa.scalar(_DATETIME_MAX_US // scale, pa.int64())
        beyond = pc.fill_null(pc.or_(pc.less(raw, low), pc.greater(raw, high)), False)
        for i in _indices(beyond):
            drop[i] = _OUT_OF_RANGE.format(
                earliest=EARLIEST.isoformat(),
                latest=LATEST.isoformat(),
                value=raw[i].as_py(),
                unit=_UNIT_NAMES[unit],
            )
    else:
        step = pa.scalar(1000, pa.int64())
        whole = pc.multiply(pc.divide(raw, step), step)
        for i in _indices(pc.fill_null(pc.not_equal(raw, whole), False)):
            drop[i] = _SUB_MICROSECOND.format(value=raw[i].as_py())
    if not drop:
        return column
    for i, reason in drop.items():
        refused.setdefault(i, (name, reason))
    mask = pa.array([i in drop for i in range(len(column))])
    return pc.if_else(mask, pa.scalar(None, column.type), column)
