"""Reading event files: JSON Lines from files or stdin, gzip by suffix, one record per line.

A line that cannot be read is returned as a rejected line (its number and why), never
dropped: the caller decides what to do with it.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

import attrs

__all__ = ["Line", "read_lines"]

MAX_LINE_BYTES = 1_000_000


@attrs.frozen
class Line:
    """One input line: its source and number, and the decoded record or why it failed."""

    source: str
    number: int
    raw: bytes
    record: Any = None
    error: str | None = None


def _open(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    if path.endswith(".gz"):
        return cast("IO[bytes]", gzip.open(path, "rb"))
    return Path(path).open("rb")


def read_lines(path: str, *, parse: bool = True) -> Iterator[Line]:
    """Yield every non-blank line of a JSON Lines file (``-`` is stdin, ``.gz`` is gzip).

    With ``parse=False`` lines are not decoded (the engine validates the JSON text itself).
    """
    stream = _open(path)
    try:
        for number, raw in enumerate(stream, start=1):
            line = raw.strip()
            if not line:
                continue
            if len(line) > MAX_LINE_BYTES:
                yield Line(
                    path, number, line[:200], error=f"line longer than {MAX_LINE_BYTES} bytes"
                )
                continue
            if not parse:
                yield Line(path, number, line)
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                yield Line(path, number, line, error=f"not JSON: {error}")
                continue
            if not isinstance(record, dict):
                yield Line(path, number, line, error="a line must hold a JSON object")
                continue
            yield Line(path, number, line, record=record)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
