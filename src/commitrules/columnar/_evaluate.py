"""Evaluation: checked batches through the engine, row by row, in row order.

The reading (:mod:`._sources`), the schema check (:mod:`._schema`) and the vectorised
passes over a batch (:mod:`._rows`) are apart from what evaluates the rows, so that an
evaluator that works on whole columns can take the place of :class:`RowEvaluator`: it
receives each :class:`~._rows.CheckedBatch` in order and must release exactly what the
engine releases for those rows one by one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Protocol

from .._pace import paced
from ..engine import Engine
from ..errors import CommitRulesError
from ..violations import Violation
from ._result import RejectedRow, TableResult
from ._rows import CheckedBatch, check_batch
from ._schema import PlanCache
from ._sources import Damaged, Piece

__all__ = ["BatchEvaluator", "RowEvaluator", "evaluate_pieces"]


class BatchEvaluator(Protocol):
    """What evaluates a checked batch: the violations released, and the rows refused."""

    def __call__(
        self, batch: CheckedBatch, found: list[Violation], reject: Callable[[RejectedRow], None]
    ) -> None:
        """Evaluate every row of ``batch`` in order; extend ``found``; ``reject`` refusals."""


class RowEvaluator:
    """Each row through :meth:`Engine.process`, as the per-event path does.

    A row the engine refuses (validation, a conflicting id, too late, too far ahead …) is
    rejected with the engine's own reason, as a line of JSON is by
    :func:`commitrules.batch.check_files`; the rows after it are still processed.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(
        self, batch: CheckedBatch, found: list[Violation], reject: Callable[[RejectedRow], None]
    ) -> None:
        """Evaluate the rows of ``batch`` in order."""
        engine = self.engine
        process = engine.process
        given = engine._process_validated
        source = batch.source
        for number, event, reason, ready in batch.rows():
            if event is None:
                engine.stats.rejected += 1
                reject(RejectedRow(source, number, reason or "refused"))
                continue
            try:
                released = given(event) if ready else process(event)
            except CommitRulesError as error:
                reject(RejectedRow(source, number, str(error)))
                continue
            if released:
                found.extend(released)


@paced
def evaluate_pieces(
    pieces: Iterable[Piece | Damaged],
    engine: Engine,
    *,
    plans: PlanCache | None = None,
    allow_float_decimals: bool = False,
    until: dt.datetime | None = None,
    on_reject: Callable[[RejectedRow], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    on_violations: Callable[[list[Violation]], None] | None = None,
    keep_violations: bool = True,
    evaluator: BatchEvaluator | None = None,
) -> TableResult:
    """Check each piece's schema (once per schema), then evaluate its rows in order.

    A :class:`Damaged` item (a file that cannot be read further) is a refused row.
    ``on_violations`` gets what each batch (and ``until``) released, in order; without
    ``keep_violations`` the result holds none of them (they are the caller's to keep).
    """
    if plans is None:
        plans = PlanCache(engine.pack.catalog, allow_float_decimals=allow_float_decimals)
    evaluate = evaluator if evaluator is not None else RowEvaluator(engine)
    found: list[Violation] = []
    rejected: list[RejectedRow] = []
    rows = 0

    def reject(item: RejectedRow) -> None:
        rejected.append(item)
        if on_reject is not None:
            on_reject(item)

    for piece in pieces:
        if isinstance(piece, Damaged):
            engine.stats.rejected += 1
            reject(RejectedRow(piece.source, piece.first_row, piece.reason))
            continue
        plan = plans(piece.batch.schema, piece.source)
        checked = check_batch(piece.source, piece.first_row, piece.batch, plan)
        start = len(found)
        evaluate(checked, found, reject)
        if on_violations is not None and len(found) > start:
            on_violations(found[start:])
        if not keep_violations:
            found.clear()
        rows += checked.num_rows
        if on_batch is not None:
            on_batch(checked.num_rows)
    if until is not None:
        moved = engine.advance_to(until)
        if on_violations is not None and moved:
            on_violations(moved)
        if keep_violations:
            found.extend(moved)
    return TableResult(
        violations=tuple(found),
        rejected=tuple(rejected),
        stats=engine.stats,
        watermark=engine.watermark,
        rows=rows,
        timezone=engine.pack.timezone,
    )
