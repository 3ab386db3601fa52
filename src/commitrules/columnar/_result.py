"""What a table run returns: the violations, the refused rows, the counts; as tables too."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import attrs

from .._safe_text import visible
from ..display import violations_html
from ..engine import EngineStats
from ..violations import Violation

__all__ = ["RejectedRow", "TableResult"]


@attrs.frozen
class RejectedRow:
    """A row that was not processed: its source (a file, or ``<table>``), its row number
    there (from 0, in the order the rows are stored) and why.

    >>> str(RejectedRow("events.parquet", 17, "event e1: amount: Field required"))
    'events.parquet row 17: event e1: amount: Field required'
    """

    source: str
    row: int
    reason: str

    def __str__(self) -> str:
        """``source row N: reason`` on one line, terminal controls escaped."""
        return visible(f"{self.source} row {self.row}: {self.reason}", lines=False)


@attrs.frozen(repr=False)
class TableResult:
    """What a table run found: violations in release order, refused rows, and counts.

    ``rows`` counts every row read; ``stats`` are the engine's counts (processed,
    duplicates, rejected, violations). In Jupyter the result shows itself as the counts and
    a table of the violations; :meth:`violations_table` and :meth:`rejects_table` are the
    results as Arrow tables, :meth:`to_pandas` and :meth:`to_polars` the violations as data
    frames.
    """

    violations: tuple[Violation, ...]
    rejected: tuple[RejectedRow, ...]
    stats: EngineStats
    watermark: dt.datetime | None
    rows: int
    timezone: str

    def violations_table(self) -> Any:
        """The violations as a ``pyarrow.Table`` (:func:`violations_table`'s schema)."""
        from ._output import violations_table  # noqa: PLC0415 - one module per output

        return violations_table(self.violations, timezone=self.timezone)

    def rejects_table(self) -> Any:
        """The refused rows as a ``pyarrow.Table``: ``source``, ``row``, ``reason``."""
        from ._output import rejects_table  # noqa: PLC0415

        return rejects_table(self.rejected)

    def to_pandas(self) -> Any:
        """The violations as a pandas DataFrame (the columns of :meth:`violations_table`)."""
        return self.violations_table().to_pandas()

    def to_polars(self) -> Any:
        """The violations as a polars DataFrame (maps become lists of key/value structs)."""
        import polars  # noqa: PLC0415 - optional: only this method needs it

        return polars.from_arrow(self.violations_table())

    def __repr__(self) -> str:
        return f"<TableResult {self.summary()}>"

    def summary(self) -> str:
        """One line: rows read, processed, duplicates, rejected, and violations found."""
        stats = self.stats
        return (
            f"{self.rows} rows: {stats.processed} processed, {stats.duplicates} duplicate, "
            f"{len(self.rejected)} rejected; {len(self.violations)} violations"
        )

    def _repr_html_(self) -> str:
        rejects = ""
        if self.rejected:
            shown = "".join(
                f"<li>{html.escape(str(item), quote=True)}</li>" for item in self.rejected[:20]
            )
            more = len(self.rejected) - 20
            tail = f"<li>… and {more} more</li>" if more > 0 else ""
            rejects = f"<details><summary>rejected rows</summary><ul>{shown}{tail}</ul></details>"
        return (
            '<div class="commitrules-table-result">'
            f"<p>{html.escape(self.summary())}</p>{rejects}"
            f"{violations_html(self.violations, limit=200)}</div>"
        )
