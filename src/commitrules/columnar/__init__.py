"""Events from Arrow tables, Parquet files and data frames, through the engine row by row.

Needs the ``columnar`` extra (``pip install 'commitrules[columnar]'``: pyarrow, pandas and
polars); the rest of commitrules works without it. JSON Lines files are read by
:mod:`commitrules.batch`; this module reads tables:

- :func:`evaluate_table`: a ``pyarrow.Table``, ``RecordBatch`` or ``RecordBatchReader``, a
  pandas or polars ``DataFrame``, or anything with the Arrow stream interface;
- :func:`evaluate_files`: Parquet and Arrow IPC files, folders of them and glob patterns,
  streamed ``batch_size`` rows at a time.

A table holds one event type or many: its ``type`` column says which, a null is a field
left out, and a non-null value in a column that the row's type does not declare refuses the
row (as an unknown field refuses a JSON event). After one check of the column types per
batch schema, every row goes through the engine's own validation and evaluation
(:meth:`commitrules.Engine.process`), in the order the rows are stored: the results are the
per-event engine's, by construction, for the same events. See ``docs/tables.md``.

>>> import commitrules
>>> from commitrules.columnar import evaluate_table, events_table
>>> pack = commitrules.load_pack()
>>> table = events_table([{
...     "id": "m1", "type": "marketing_published", "at": "2026-07-01T09:00:00+08:00",
...     "material_id": "M-1", "channel": "wechat", "approved": True, "text": "保本保收益"}],
...     pack.catalog, timezone="Asia/Shanghai")
>>> result = evaluate_table(table, pack)
>>> [v.clause_id for v in result.violations], result.rejected
(['C1.marketing'], ())
>>> result.violations_table().column("clause_id").to_pylist()
['C1.marketing']
"""

from __future__ import annotations

try:
    import pyarrow  # noqa: F401 - the extra's presence, checked once
except ImportError as missing:  # pragma: no cover - tested in a subprocess without pyarrow
    msg = (
        "commitrules.columnar needs pyarrow, which is not installed: "
        "pip install 'commitrules[columnar]'"
    )
    raise ImportError(msg, name="pyarrow") from missing

import datetime as dt
import os
from collections.abc import Callable, Sequence
from typing import Any

from ..engine import Engine
from ..pack import Pack, load_pack
from ..violations import Violation
from ._errors import TableError
from ._evaluate import evaluate_pieces
from ._output import (
    OUTPUT_SUFFIXES,
    REJECTS_SCHEMA,
    events_table,
    rejects_table,
    violation_schema,
    violations_table,
    write_rejects,
)
from ._result import RejectedRow, TableResult
from ._schema import ACCEPTED, PlanCache
from ._sources import (
    ARROW_SUFFIXES,
    DEFAULT_BATCH_SIZE,
    PARQUET_SUFFIXES,
    count_rows,
    data_pieces,
    file_pieces,
    file_schema,
    table_files,
)

__all__ = [
    "ACCEPTED",
    "ARROW_SUFFIXES",
    "DEFAULT_BATCH_SIZE",
    "OUTPUT_SUFFIXES",
    "PARQUET_SUFFIXES",
    "REJECTS_SCHEMA",
    "RejectedRow",
    "TableError",
    "TableResult",
    "count_rows",
    "evaluate_files",
    "evaluate_table",
    "events_table",
    "rejects_table",
    "table_files",
    "violation_schema",
    "violations_table",
    "write_rejects",
]


def _engine(pack: Pack | None, engine: Engine | None) -> Engine:
    if engine is not None:
        return engine
    return Engine(pack if pack is not None else load_pack())


def evaluate_table(
    data: Any,
    pack: Pack | None = None,
    *,
    engine: Engine | None = None,
    until: dt.datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    allow_float_decimals: bool = False,
    source: str = "<table>",
    on_reject: Callable[[RejectedRow], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    on_violations: Callable[[list[Violation]], None] | None = None,
    keep_violations: bool = True,
) -> TableResult:
    """Evaluate the rows of an in-memory table, in row order; see the module docstring.

    ``engine`` continues an engine (its state, sinks and options); otherwise a new one is
    made for ``pack`` (the default pack if None). ``until`` moves event time forward at
    the end, so deadlines due by then are reported. A float column for a decimal field is
    refused unless ``allow_float_decimals``. ``source`` names the table in refused rows;
    ``on_reject`` is called for each refused row as it happens, ``on_batch`` with the row
    count of each batch done, ``on_violations`` with what each batch released (in release
    order). With ``keep_violations=False`` the result holds no violations (a long input's
    findings can take more memory than anything else: stream them out with
    ``on_violations``); ``stats.violations`` still counts them.

    Raises:
        TableError: not a table, or one without a text ``type`` column.
    """
    runner = _engine(pack, engine)
    return evaluate_pieces(
        data_pieces(data, batch_size, source),
        runner,
        allow_float_decimals=allow_float_decimals,
        until=until,
        on_reject=on_reject,
        on_batch=on_batch,
        on_violations=on_violations,
        keep_violations=keep_violations,
    )


def evaluate_files(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    pack: Pack | None = None,
    *,
    engine: Engine | None = None,
    until: dt.datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    allow_float_decimals: bool = False,
    on_reject: Callable[[RejectedRow], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    on_violations: Callable[[list[Violation]], None] | None = None,
    keep_violations: bool = True,
) -> TableResult:
    """Evaluate Parquet or Arrow files, folders or glob patterns, streamed in order.

    The files are read in the order of :func:`table_files` (inputs as given; a folder's or
    a pattern's files sorted by path), each file's rows in stored order, ``batch_size``
    rows decoded at a time. The other arguments are :func:`evaluate_table`'s.

    Every file is opened and its schema checked before the first row is processed. A
    file that breaks off later (damaged, cut short) is a refused row at the first row not
    read, and the next file is read.

    Raises:
        TableError: an input names no file, or a file that is not Parquet or Arrow, or
            whose table has no text ``type`` column (nothing is processed then).
    """
    runner = _engine(pack, engine)
    files = table_files(paths)
    plans = PlanCache(runner.pack.catalog, allow_float_decimals=allow_float_decimals)
    for path in files:  # every file opens and has a type column before a row is processed
        plans(file_schema(path), str(path))
    return evaluate_pieces(
        file_pieces(files, batch_size),
        runner,
        plans=plans,
        allow_float_decimals=allow_float_decimals,
        until=until,
        on_reject=on_reject,
        on_batch=on_batch,
        on_violations=on_violations,
        keep_violations=keep_violations,
    )
