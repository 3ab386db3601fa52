"""Reading: files, folders, globs and in-memory tables as a stream of record batches.

Nothing here knows about events. A source becomes :class:`Piece` values, each a record
batch of at most ``batch_size`` rows with where it came from (the file, or a name for an
in-memory table) and the number of its first row there, in the order the rows are stored:
files in the order given (a folder's or a glob's files sorted by their path as text), a
file's row groups in order, a row group's rows in order.

Parquet files are streamed: one batch is decoded at a time, and the reader holds the
column chunks of one row group at most (``buffer_size`` bounds what it reads ahead).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import ipc

from ..errors import Location
from ._errors import TableError

__all__ = [
    "ARROW_SUFFIXES",
    "DEFAULT_BATCH_SIZE",
    "PARQUET_SUFFIXES",
    "Damaged",
    "Piece",
    "count_rows",
    "data_pieces",
    "file_pieces",
    "file_schema",
    "table_files",
]

DEFAULT_BATCH_SIZE = 8192
"""Rows decoded at a time, as Arrow columns and then as Python values for the engine."""

PARQUET_SUFFIXES = (".parquet", ".pq")
ARROW_SUFFIXES = (".arrow", ".feather", ".ipc")
_READ_AHEAD = 1 << 20
"""Bytes the Parquet reader reads ahead within a column chunk (not the whole chunk)."""
_GLOB_CHARACTERS = frozenset("*?[")


@attrs.frozen
class Piece:
    """A record batch of one source: ``first_row`` is its first row's number there (from 0)."""

    source: str
    first_row: int
    batch: pa.RecordBatch = attrs.field(repr=False, eq=False)


@attrs.frozen
class Damaged:
    """Where a file stops being readable: its first row not read, and why."""

    source: str
    first_row: int
    reason: str


def _suffix(path: Path) -> str:
    return path.suffix.lower()


def _readable(path: Path) -> bool:
    return _suffix(path) in PARQUET_SUFFIXES + ARROW_SUFFIXES


def _hidden(relative: Path) -> bool:
    # Written by Spark, Hadoop and Arrow beside the data: _SUCCESS, _metadata, .crc files.
    return any(part.startswith((".", "_")) for part in relative.parts)


def table_files(inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The files that ``inputs`` name, in the order they are read.

    Each input is a file (Parquet: ``.parquet``, ``.pq``; Arrow IPC: ``.arrow``,
    ``.feather``, ``.ipc``), a folder (every Parquet and Arrow file under it, at any depth,
    except names starting with ``.`` or ``_``) or a glob pattern (``data/2026-*.parquet``,
    ``data/**/*.parquet``). Inputs keep the order given; the files of one folder or one
    pattern are sorted by their path as text (code-point order).

    Raises:
        TableError: an input names nothing, or a file of another kind.

    >>> table_files([]) == []
    True
    """
    items = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    found: list[Path] = []
    for item in items:
        text = os.fspath(item)
        path = Path(text)
        if path.is_dir():
            under = [
                p
                for p in path.rglob("*")
                if p.is_file() and _readable(p) and not _hidden(p.relative_to(path))
            ]
            if not under:
                raise TableError("the folder holds no Parquet or Arrow file", Location(file=text))
            found.extend(sorted(under, key=str))
        elif path.is_file():
            if not _readable(path):
                raise TableError(
                    f"not a table file: the suffix {_suffix(path) or '(none)'!r} is neither "
                    f"Parquet ({', '.join(PARQUET_SUFFIXES)}) nor Arrow "
                    f"({', '.join(ARROW_SUFFIXES)})",
                    Location(file=text),
                )
            found.append(path)
        elif _GLOB_CHARACTERS & set(text):
            matched = [
                Path(p)
                for p in glob.glob(text, recursive=True)
                if Path(p).is_file() and _readable(Path(p))
            ]
            if not matched:
                raise TableError("no Parquet or Arrow file matches", Location(file=text))
            found.extend(sorted(matched, key=str))
        else:
            raise TableError("no such file or folder", Location(file=text))
    return found


def count_rows(files: Iterable[Path]) -> int:
    """The rows of these files, from their metadata (nothing is decoded)."""
    total = 0
    for path in files:
        if _suffix(path) in PARQUET_SUFFIXES:
            parquet = _parquet(path)
            total += parquet.metadata.num_rows
            parquet.close()
        else:
            reader, mapped = _arrow(path)
            with mapped:
                total += sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
    return total


def _parquet(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path, buffer_size=_READ_AHEAD, pre_buffer=False)
    except (pa.ArrowException, OSError) as error:
        raise TableError(f"cannot be read as Parquet: {error}", Location(file=str(path))) from None


def _arrow(path: Path) -> tuple[Any, Any]:
    """An Arrow IPC file's reader, and the memory map to close after it."""
    try:
        mapped = pa.memory_map(str(path), "r")
    except (pa.ArrowException, OSError) as error:
        msg = f"cannot be read as an Arrow IPC file: {error}"
        raise TableError(msg, Location(file=str(path))) from None
    try:
        return ipc.open_file(mapped), mapped
    except (pa.ArrowException, OSError) as error:
        mapped.close()
        msg = f"cannot be read as an Arrow IPC file: {error}"
        raise TableError(msg, Location(file=str(path))) from None


def file_schema(path: Path) -> pa.Schema:
    """The schema of a Parquet or Arrow file (read from its metadata).

    Raises:
        TableError: the file cannot be opened as what its suffix says.
    """
    if _suffix(path) in PARQUET_SUFFIXES:
        parquet = _parquet(path)
        schema = parquet.schema_arrow
        parquet.close()
        return schema
    reader, mapped = _arrow(path)
    with mapped:
        return reader.schema


def file_pieces(
    files: Iterable[Path], batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[Piece | Damaged]:
    """The batches of these files in order (see :func:`table_files` for the order).

    A file that cannot be read further (damaged, cut short) ends there with a
    :class:`Damaged` item, and the next file is read.
    """
    _check_batch_size(batch_size)
    for path in files:
        source = str(path)
        first = 0
        if _suffix(path) in PARQUET_SUFFIXES:
            reader: Any = _parquet(path)
            stored: Iterable[pa.RecordBatch] = reader.iter_batches(
                batch_size=batch_size, use_threads=False
            )
        else:
            opened, reader = _arrow(path)
            stored = _sliced(
                (opened.get_batch(i) for i in range(opened.num_record_batches)), batch_size
            )
        try:
            iterator = iter(stored)
            while True:
                try:
                    batch = next(iterator)
                except StopIteration:
                    break
                except (pa.ArrowException, OSError) as error:
                    reason = (
                        f"the file cannot be read further ({error}): this row and any after "
                        f"it are missing (the {first} rows before it were read)"
                    )
                    yield Damaged(source, first, reason)
                    break
                yield Piece(source, first, batch)
                first += batch.num_rows
        finally:
            reader.close()


def _guarded(batches: Iterable[pa.RecordBatch], source: str) -> Iterator[pa.RecordBatch]:
    """Batches as read; a stream that breaks is a TableError naming it (what was read stays)."""
    iterator = iter(batches)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as error:
            msg = f"cannot be read further: {error}"
            raise TableError(msg, Location(file=source)) from None
        yield batch


def _sliced(batches: Iterable[pa.RecordBatch], batch_size: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        for start in range(0, batch.num_rows, batch_size):
            yield batch.slice(start, batch_size)


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        msg = f"batch_size must be a positive number of rows, not {batch_size!r}"
        raise ValueError(msg)


def data_pieces(
    data: Any, batch_size: int = DEFAULT_BATCH_SIZE, source: str = "<table>"
) -> Iterator[Piece]:
    """The batches of an in-memory table: Arrow, pandas, polars, or any Arrow stream.

    Accepted: a ``pyarrow.Table``, ``RecordBatch`` or ``RecordBatchReader``, a pandas
    ``DataFrame`` (its index is left out), a polars ``DataFrame`` or ``LazyFrame`` (collected),
    and any object with the Arrow PyCapsule stream interface (``__arrow_c_stream__``).
    """
    _check_batch_size(batch_size)
    first = 0
    for batch in _sliced(_batches(data, source), batch_size):
        yield Piece(source, first, batch)
        first += batch.num_rows


def _batches(data: Any, source: str) -> Iterable[pa.RecordBatch]:
    if isinstance(data, pa.RecordBatch):
        return [data]
    if isinstance(data, pa.Table):
        return _table_batches(data)
    if isinstance(data, pa.RecordBatchReader):
        return _guarded(data, source)
    module = type(data).__module__.split(".", 1)[0]
    if module == "pandas" and hasattr(data, "columns"):
        try:
            table = pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowException, ValueError, TypeError) as error:
            msg = f"the data frame cannot be read as Arrow columns: {error}"
            raise TableError(msg, Location(file=source)) from None
        return _table_batches(table)
    if module == "polars":
        if hasattr(data, "collect") and not hasattr(data, "to_arrow"):
            data = data.collect()
        if hasattr(data, "to_arrow"):
            return _table_batches(data.to_arrow())
    if hasattr(data, "__arrow_c_stream__"):
        return _guarded(pa.RecordBatchReader.from_stream(data), source)
    msg = (
        f"cannot read a {type(data).__name__} as a table: give a pyarrow Table, RecordBatch or "
        "RecordBatchReader, a pandas or polars DataFrame, or Parquet or Arrow files"
    )
    raise TableError(msg, Location(file=source))


def _table_batches(table: pa.Table) -> list[pa.RecordBatch]:
    batches: list[pa.RecordBatch] = table.to_batches()
    return batches
