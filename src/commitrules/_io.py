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

__all__ = ["Line", "raw_lines", "read_lines"]

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


def raw_lines(path: str) -> Iterator[tuple[int, bytes, str | None]]:
    """Yield ``(number, text, error)`` for every non-blank line, undecoded.

    ``error`` is None, or why the line cannot be read (then ``text`` is its first 200
    bytes). The batch path reads lines this way: no object per line.
    """
    stream = _open(path)
    try:
        for number, raw in enumerate(stream, start=1):
            line = raw.strip()
            if not line:
                continue
            if len(line) > MAX_LINE_BYTES:
                yield number, line[:200], f"line longer than {MAX_LINE_BYTES} bytes"
                continue
            yield number, line, None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def read_lines(path: str, *, parse: bool = True) -> Iterator[Line]:
    """Yield every non-blank line of a JSON Lines file (``-`` is stdin, ``.gz`` is gzip).

    With ``parse=False`` lines are not decoded (the engine validates the JSON text itself).
    """
    for number, line, problem in raw_lines(path):
        if problem is not None:
            yield Line(path, number, line, error=problem)
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
