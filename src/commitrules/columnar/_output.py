"""Outputs: violations and refused rows as Arrow tables with a fixed schema, and files of them;
events as typed Arrow tables (to write Parquet from JSON Lines, or to test the table path).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from .._safe_text import json_visible, spreadsheet_cell
from ..errors import Location
from ..events import EventCatalog
from ..violations import Violation
from ._errors import TableError
from ._result import RejectedRow

__all__ = [
    "OUTPUT_SUFFIXES",
    "REJECTS_SCHEMA",
    "events_table",
    "rejects_table",
    "violation_schema",
    "violations_table",
    "write_rejects",
]

OUTPUT_SUFFIXES = (".parquet", ".jsonl", ".csv")
_TEXT_MAP = pa.map_(pa.string(), pa.string())
_MESSAGE = pa.struct([pa.field("zh", pa.string(), False), pa.field("en", pa.string(), False)])
_PACK = pa.struct(
    [
        pa.field("id", pa.string(), False),
        pa.field("version", pa.string(), False),
        pa.field("profile", pa.string(), False),
        pa.field("digest", pa.string(), False),
        pa.field("calendar_package", pa.string()),
    ]
)

REJECTS_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), False),
        pa.field("row", pa.int64(), False),
        pa.field("reason", pa.string(), False),
    ]
)
"""The refused rows: the file (or ``<table>``), the row number there (from 0), and why."""


def violation_schema(timezone: str) -> pa.Schema:
    """The fixed schema of :func:`violations_table`: the fields of ``Violation.to_dict``.

    ``subject``, ``scope`` and ``evidence`` are ``map<string, string>`` (a text value as
    it is, any other value as its JSON text: ``true``, ``5``, ``["a", "b"]``; null stays
    null); ``message`` a struct of the languages; ``route`` and ``event_ids`` lists; ``at``
    and ``due_at`` timestamps in microseconds in ``timezone`` (the pack's).

    >>> violation_schema("Asia/Shanghai").field("at").type
    TimestampType(timestamp[us, tz=Asia/Shanghai])
    """
    moment = pa.timestamp("us", tz=timezone)
    return pa.schema(
        [
            pa.field("id", pa.string(), False),
            pa.field("kind", pa.string(), False),
            pa.field("rule_id", pa.string(), False),
            pa.field("clause_id", pa.string(), False),
            pa.field("severity", pa.string(), False),
            pa.field("role", pa.string(), False),
            pa.field("route", pa.list_(pa.string()), False),
            pa.field("event_ids", pa.list_(pa.string()), False),
            pa.field("subject", _TEXT_MAP, False),
            pa.field("scope", _TEXT_MAP, False),
            pa.field("at", moment, False),
            pa.field("due_at", moment),
            pa.field("message", _MESSAGE, False),
            pa.field("evidence", _TEXT_MAP, False),
            pa.field("pack", _PACK, False),
            pa.field("refers_to", pa.string()),
            pa.field("waiver", pa.string()),
            pa.field("provisional", pa.bool_(), False),
        ]
    )


def _map_text(values: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    return [
        (key, value if isinstance(value, str) or value is None else _json(value))
        for key, value in values.items()
    ]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def violations_table(violations: Iterable[Violation], *, timezone: str) -> pa.Table:
    """Violations as an Arrow table of :func:`violation_schema`, one row each, in order.

    >>> violations_table([], timezone="Asia/Shanghai").num_rows
    0
    """
    schema = violation_schema(timezone)
    rows = []
    for violation in violations:
        data = violation.to_dict()
        rows.append(
            {
                **data,
                "subject": _map_text(data["subject"]),
                "scope": _map_text(data["scope"]),
                "evidence": _map_text(data["evidence"]),
                "at": violation.at,
                "due_at": violation.due_at,
            }
        )
    return pa.Table.from_pylist(rows, schema=schema)


def rejects_table(rejected: Iterable[RejectedRow]) -> pa.Table:
    """Refused rows as an Arrow table of :data:`REJECTS_SCHEMA`.

    >>> rejects_table([RejectedRow("e.parquet", 3, "why")]).to_pylist()
    [{'source': 'e.parquet', 'row': 3, 'reason': 'why'}]
    """
    items = list(rejected)
    return pa.table(
        {
            "source": [item.source for item in items],
            "row": [item.row for item in items],
            "reason": [item.reason for item in items],
        },
        schema=REJECTS_SCHEMA,
    )


def write_rejects(
    path: str | os.PathLike[str], rejected: Sequence[RejectedRow], *, raw: bool = False
) -> None:
    """Write refused rows to ``path``; the suffix chooses the format (.parquet, .jsonl, .csv).

    CSV cells are made safe to open in a spreadsheet unless ``raw`` (see the limits).
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".parquet":
        pq.write_table(rejects_table(rejected), target)
    elif suffix == ".jsonl":
        with target.open("w", encoding="utf-8", errors="backslashreplace") as out:
            for item in rejected:
                record = {"source": item.source, "row": item.row, "reason": item.reason}
                out.write(json_visible(json.dumps(record, ensure_ascii=False)) + "\n")
    elif suffix == ".csv":
        with target.open("w", encoding="utf-8", errors="backslashreplace", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["source", "row", "reason"])
            for item in rejected:
                cells = [item.source, str(item.row), item.reason]
                writer.writerow(cells if raw else [spreadsheet_cell(c) for c in cells])
    else:
        msg = f"the suffix chooses the format: {', '.join(OUTPUT_SUFFIXES)}"
        raise TableError(msg, Location(file=str(path)))


_ARROW_KINDS: Mapping[str, pa.DataType] = {
    "str": pa.string(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "list": pa.list_(pa.string()),
    "any": pa.string(),
}


def events_table(
    events: Iterable[Mapping[str, Any]],
    catalog: EventCatalog,
    *,
    timezone: str | None = "UTC",
    decimals: Literal["decimal", "text"] = "decimal",
    types: Iterable[str] | None = None,
) -> pa.Table:
    """Events (JSON-ready dicts, as in a JSON Lines file) as a typed Arrow table.

    One column per field name of the types that occur, in the catalog's order of fields
    (``id``, ``type``, ``at`` first, even with no events); an absent field is null. Field
    kinds give the column types: text ``string``, integers ``int64``, booleans ``bool``,
    lists ``list<string>``, decimals ``decimal128(38, 18)`` (or their text with
    ``decimals="text"``), times ``timestamp[us]`` in ``timezone`` (or their RFC 3339 text
    with ``timezone=None``). ``types`` fixes the event types whose fields make the columns
    (to write chunks of a long stream with one schema); by default, those that occur.

    Text keeps each value exactly as written: read back, times in a zone show that zone's
    offset, and a decimal column gives every value 18 places (``50000`` reads back as
    ``50000.000000000000000000``, equal but written differently in evidence and subjects).

    Raises:
        TableError: a value that does not fit its column (the events are not valid).

    >>> import commitrules
    >>> table = events_table([{"id": "e1", "type": "complaint_acknowledged",
    ...     "at": "2026-07-01T09:00:00+08:00", "case_id": "K1"}], commitrules.load_pack().catalog)
    >>> table.column_names, str(table.schema.field("at").type)
    (['id', 'type', 'at', 'case_id'], 'timestamp[us, tz=UTC]')
    """
    items = list(events)
    kinds: dict[str, str] = {"id": "str", "type": "str", "at": "datetime"}
    names = types if types is not None else (str(event.get("type")) for event in items)
    for name in dict.fromkeys(names):
        if name not in catalog:
            msg = f"unknown event type {name!r}"
            raise TableError(msg, Location(key="type"))
        for field, (kind, _optional) in catalog[name].fields.items():
            if kinds.setdefault(field, kind) != kind:
                msg = (
                    f"field {field!r} is {kinds[field]} in one event type and {kind} in "
                    f"{name!r}: write these types to separate tables"
                )
                raise TableError(msg, Location(key=field))
    columns: dict[str, pa.Array] = {}
    for field, kind in kinds.items():
        values = [event.get(field) for event in items]
        arrow_type = _column_type(kind, timezone, decimals)
        try:
            if kind == "datetime" and timezone is not None:
                values = [_instant(value) for value in values]
            elif kind == "decimal" and decimals == "decimal":
                values = [Decimal(v) if isinstance(v, str | int) else v for v in values]
            elif kind == "any":
                values = [v if v is None or isinstance(v, str) else _json(v) for v in values]
            columns[field] = pa.array(values, arrow_type)
        except (pa.ArrowException, TypeError, ValueError, ArithmeticError) as error:
            msg = f"the values do not fit a {arrow_type} column: {error}"
            raise TableError(msg, Location(key=field)) from None
    return pa.table(columns)


def _column_type(kind: str, timezone: str | None, decimals: str) -> pa.DataType:
    if kind == "datetime":
        return pa.string() if timezone is None else pa.timestamp("us", tz=timezone)
    if kind == "decimal":
        return pa.string() if decimals == "text" else pa.decimal128(38, 18)
    return _ARROW_KINDS[kind]


def _instant(value: Any) -> Any:
    if isinstance(value, str):
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            msg = f"a time without an offset: {value!r}"
            raise ValueError(msg)
        return moment
    return value
