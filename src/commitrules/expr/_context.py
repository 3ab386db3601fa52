"""What a compiled condition asks of the engine while it runs, and a simple provider."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import attrs

__all__ = ["EvalContext", "StaticContext"]


class EvalContext(Protocol):
    """What a compiled condition asks of the engine while it runs.

    ``params`` maps each parameter to its value in force at the event's time; ``lookup``
    gives a column of a reference table's row (None when there is no row for the key);
    ``exists`` says whether a table has a row for a key.
    """

    @property
    def params(self) -> Mapping[str, object]:
        """Parameter values in force at the event's time."""
        ...

    def lookup(self, table: str, key: object, column: str) -> object | None:
        """A column of the table's row for ``key``, or None when there is no such row."""
        ...

    def exists(self, table: str, key: object) -> bool:
        """Whether the table has a row for ``key``."""
        ...


@attrs.frozen
class StaticContext:
    """An :class:`EvalContext` over fixed parameter values and in-memory tables.

    ``tables`` maps a table's name to its rows by key, each row a mapping of columns.
    Useful in tests and wherever parameters and tables do not change with time.

    >>> ctx = StaticContext(
    ...     params={"elderly_age": 65},
    ...     tables={"products": {"P1": {"risk_level": 4}}},
    ... )
    >>> ctx.lookup("products", "P1", "risk_level"), ctx.lookup("products", "P9", "risk_level")
    (4, None)
    >>> ctx.exists("products", "P1")
    True
    """

    params: Mapping[str, object] = attrs.field(factory=dict)
    tables: Mapping[str, Mapping[object, Mapping[str, object]]] = attrs.field(factory=dict)

    def _row(self, table: str, key: object) -> Mapping[str, object] | None:
        rows = self.tables.get(table)
        if rows is None:
            return None
        try:
            return rows.get(key)
        except TypeError:  # an unhashable key is in no table
            return None

    def lookup(self, table: str, key: object, column: str) -> object | None:
        """A column of the table's row for ``key``, or None when there is no such row."""
        row = self._row(table, key)
        return None if row is None else row.get(column)

    def exists(self, table: str, key: object) -> bool:
        """Whether the table has a row for ``key``."""
        return self._row(table, key) is not None
