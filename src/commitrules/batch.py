"""Checking files of events in one call: the batch path the CLI and jobs use.

>>> import commitrules, pathlib
>>> from commitrules.batch import check_files
>>> result = check_files(["examples/sample-events.jsonl"])  # doctest: +SKIP
>>> result.stats.processed  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import attrs

from ._io import Line, raw_lines
from ._pace import paced
from ._safe_text import visible
from .engine import Engine, EngineStats
from .errors import CommitRulesError
from .pack import Pack, load_pack
from .violations import Violation

__all__ = ["CheckResult", "Rejected", "check_files"]


@attrs.frozen
class Rejected:
    """An input line that was not processed, with where it is and why."""

    source: str
    line: int
    reason: str
    raw: bytes

    def __str__(self) -> str:
        """``file:line: reason`` on one line, terminal controls escaped."""
        return visible(f"{self.source}:{self.line}: {self.reason}", lines=False)


@attrs.frozen
class CheckResult:
    """What a batch check found: violations in release order, counts, and rejected lines."""

    violations: tuple[Violation, ...]
    stats: EngineStats
    rejected: tuple[Rejected, ...]
    watermark: dt.datetime | None


@paced
def check_files(
    paths: Sequence[str],
    pack: Pack | None = None,
    *,
    until: dt.datetime | None = None,
    engine: Engine | None = None,
    on_reject: Callable[[Rejected], None] | None = None,
    on_line: Callable[[Line], None] | None = None,
) -> CheckResult:
    """Process JSON Lines files in order (``-`` is stdin, ``.gz`` is read as gzip).

    Every line that cannot be processed (bad JSON, failed validation, too late, a
    conflicting id) is reported through ``on_reject`` and in the result; the remaining lines
    are still processed. ``until`` moves event time forward at the end, so deadlines due
    by then are reported.
    """
    runner = engine if engine is not None else Engine(pack if pack is not None else load_pack())
    found: list[Violation] = []
    rejected: list[Rejected] = []

    def reject(source: str, number: int, raw: bytes, reason: str) -> None:
        item = Rejected(source, number, reason, raw)
        rejected.append(item)
        if on_reject is not None:
            on_reject(item)

    stats = runner.stats
    process_json = runner.process_json
    for path in paths:
        for number, raw, problem in raw_lines(path):
            if on_line is not None:
                on_line(Line(path, number, raw, error=problem))
            if problem is not None:
                stats.rejected += 1
                reject(path, number, raw, problem)
                continue
            try:
                released = process_json(raw)
            except CommitRulesError as error:
                reject(path, number, raw, str(error))
                continue
            if released:
                found.extend(released)
    if until is not None:
        found.extend(runner.advance_to(until))
    return CheckResult(
        violations=tuple(found),
        stats=runner.stats,
        rejected=tuple(rejected),
        watermark=runner.watermark,
    )
