"""``commitrules check`` on tables: which inputs are tables, and their run with a progress bar.

Apart from ``cli.py`` so that the command stays a shell; importable without the
``columnar`` extra (pyarrow), whose absence is a usage error naming the extra.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ._safe_text import visible
from .pack import Pack
from .violations import Violation

__all__ = ["table_inputs", "write_parquet"]

EXIT_USAGE = 2
#: Rows from which a terminal shows a progress bar (about the 2 MB of JSON Lines that do).
PROGRESS_FROM_ROWS = 10_000


def _error(text: str, *, err: bool = True) -> None:
    click.echo(visible(text), err=err)


_TABLE_SUFFIXES = (".parquet", ".pq", ".arrow", ".feather", ".ipc")
_OUT_SUFFIXES = (".parquet", ".jsonl", ".csv")


def _is_table_input(path: str) -> bool:
    """Parquet or Arrow by suffix, a folder, or a glob pattern (read by commitrules.columnar)."""
    if path == "-":
        return False
    if Path(path).suffix.lower() in _TABLE_SUFFIXES or Path(path).is_dir():
        return True
    return not Path(path).exists() and any(c in path for c in "*?[")


def _columnar(why: str) -> Any:
    try:
        from . import columnar  # noqa: PLC0415 - an optional extra
    except ImportError:
        _error(f"error: {why} needs pyarrow: pip install 'commitrules[columnar]'", err=True)
        raise SystemExit(EXIT_USAGE) from None
    return columnar


def table_inputs(
    events: Sequence[str], out: str | None, rejects: str | None, reasons: str | None
) -> Any:
    """The table inputs of ``check`` (a :class:`_Tables`), or None for JSON Lines inputs."""
    if out is not None and Path(out).suffix.lower() not in _OUT_SUFFIXES:
        _error(
            f"error: --out {out}: the suffix chooses the format: .parquet, .jsonl or .csv", err=True
        )
        raise SystemExit(EXIT_USAGE)
    if out is not None and Path(out).suffix.lower() == ".parquet":
        _columnar("--out .parquet")
    kinds = {_is_table_input(path) for path in events}
    if kinds == {True, False}:
        _error("error: give either JSON Lines files or tables (Parquet, Arrow), not both", err=True)
        raise SystemExit(EXIT_USAGE)
    if kinds != {True}:
        return None
    columnar = _columnar("reading tables")
    if rejects is not None and Path(rejects).suffix.lower() not in _OUT_SUFFIXES:
        _error(
            f"error: --rejects {rejects}: with table inputs the suffix chooses the format: "
            ".parquet, .jsonl or .csv",
            err=True,
        )
        raise SystemExit(EXIT_USAGE)
    if reasons is not None:
        _error("error: with table inputs, --rejects FILE holds the reasons: use it", err=True)
        raise SystemExit(EXIT_USAGE)
    for option, target in (("--out", out), ("--rejects", rejects)):
        for folder in (Path(p) for p in events if Path(p).is_dir()):
            if target is not None and Path(target).resolve().is_relative_to(folder.resolve()):
                _error(
                    f"error: {option} {target} is inside the input folder {folder}: "
                    "a later run would read it as events"
                )
                raise SystemExit(EXIT_USAGE)
    try:
        files = columnar.table_files(list(events))
        total = columnar.count_rows(files)
    except columnar.TableError as error:
        _error(f"error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    return _Tables(columnar, [str(f) for f in files], total)


class _Tables:
    """Table inputs of ``check``: their files in reading order, and their rows."""

    def __init__(self, columnar: Any, files: list[str], rows: int) -> None:
        self.columnar = columnar
        self.files = files
        self.rows = rows

    def run(
        self,
        engine: Any,
        until: dt.datetime | None,
        on_reject: Callable[[Any], None],
        err: Console,
        *,
        allow_float_decimals: bool,
    ) -> Any:
        def evaluate(on_batch: Callable[[int], None] | None) -> Any:
            try:
                return self.columnar.evaluate_files(
                    self.files,
                    engine=engine,
                    until=until,
                    allow_float_decimals=allow_float_decimals,
                    on_reject=on_reject,
                    on_batch=on_batch,
                )
            except self.columnar.TableError as error:
                _error(f"error: {error}", err=True)
                raise SystemExit(EXIT_USAGE) from None

        if not (err.is_terminal and self.rows > PROGRESS_FROM_ROWS):
            return evaluate(None)
        with Progress(
            TextColumn("checking"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("check", total=self.rows)
            return evaluate(lambda rows: progress.advance(task, rows))

    def write_rejects(self, path: str, rejected: Sequence[Any], *, raw: bool) -> None:
        self.columnar.write_rejects(path, rejected, raw=raw)


def write_parquet(path: str, violations: Sequence[Violation], pack: Pack) -> None:
    """``check --out FILE.parquet``: the violations table of :mod:`commitrules.columnar`."""
    columnar = _columnar("--out .parquet")
    import pyarrow.parquet  # noqa: PLC0415 - with the columnar extra

    table = columnar.violations_table(violations, timezone=pack.timezone)
    pyarrow.parquet.write_table(table, path)
