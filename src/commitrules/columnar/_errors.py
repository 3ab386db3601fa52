"""The one error of the table path: an input that is not a table of events at all."""

from __future__ import annotations

from ..errors import CommitRulesError, Location

__all__ = ["TableError"]


class TableError(CommitRulesError):
    """An input that cannot be read as a table of events: a file that is not Parquet or
    Arrow, a glob that matches nothing, a table without a ``type`` column, two columns of
    one name.

    A row that cannot be processed is never this error: it is a rejected row
    (:class:`~commitrules.columnar.RejectedRow`), and the rows after it are still read.

    >>> str(TableError("no 'type' column", Location(file="events.parquet")))
    "events.parquet: no 'type' column"
    """

    def __init__(self, reason: str, location: Location | None = None) -> None:
        super().__init__(reason, location)
