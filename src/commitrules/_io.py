"""Reading event files: JSON Lines from files or stdin, gzip by suffix, one record per line.

A line that cannot be read is returned as a rejected line (its number and why), never
dropped: the caller decides what to do with it. The reader's memory is bounded whatever
the input: a line is read at most :data:`MAX_LINE_BYTES` (+2) bytes at a time, and the rest
of a longer line is skipped in chunks of :data:`SKIP_CHUNK` bytes, never held. Every line
is checked against the JSON bounds of :mod:`commitrules._json_limits` (nesting depth,
digits of a number) before any parser sees it. A gzip file that ends early, or is damaged,
gives one last rejected line that says so, after every line read before it.
"""

from __future__ import annotations

import functools
import gzip
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

import attrs

from ._json_limits import MAX_DEPTH, MAX_NUMBER_DIGITS, check_bounds, decode

__all__ = [
    "MAX_LINE_BYTES",
    "SKIP_CHUNK",
    "Line",
    "bounded_lines",
    "checked_lines",
    "raw_lines",
    "read_lines",
]

MAX_LINE_BYTES = 1_000_000
"""Bytes of one line (without its line break); a longer line is rejected, unread."""

SKIP_CHUNK = 64 * 1024
"""Bytes read at a time while skipping the rest of a line that is too long."""

_DIGITS = b"0123456789"


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


def _damage(error: BaseException, number: int) -> str:
    """Why a gzip stream stopped, in words (reported at the first line not read whole)."""
    before = f" (the {number} lines before it were read)" if number else ""
    if isinstance(error, EOFError):
        return (
            "the gzip file is truncated here: it ends before its end-of-stream marker, so "
            f"this line and any after it are missing{before}"
        )
    return (
        f"the gzip file is damaged here ({error}): this line and any after it cannot be "
        f"read{before}"
    )


def bounded_lines(
    stream: IO[bytes], *, limit: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes, str | None]]:
    """Yield ``(number, line, error)`` for every line of a binary stream, blank ones too.

    ``line`` is stripped of surrounding whitespace; a line longer than ``limit`` bytes
    comes with an error and its first 200 bytes, and its remainder is skipped without
    being kept. Memory stays within ``limit`` plus a few chunks, whatever the input.
    A damaged or truncated compressed stream ends with one error line saying so.
    """
    read = stream.readline
    number = 0
    try:
        for raw in iter(functools.partial(read, limit + 2), b""):
            number += 1
            if len(raw) <= limit or (raw.endswith(b"\n") and len(raw.rstrip()) <= limit):
                yield number, raw.strip(), None
                continue
            head = raw[:200]
            ended = raw.endswith(b"\n")
            while not ended:
                chunk = read(SKIP_CHUNK)
                ended = not chunk or chunk.endswith(b"\n")
            yield number, head, f"line longer than {limit} bytes"
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        yield number + 1, b"", _damage(error, number)


def checked_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes, str | None]]:
    """Yield ``(number, text, error)`` for every non-blank line of a binary stream.

    ``error`` is None, or why the line cannot be read (then ``text`` is at most its first
    200 bytes): longer than :data:`MAX_LINE_BYTES`, nested deeper than
    :data:`~commitrules._json_limits.MAX_DEPTH` levels, a number of more than
    :data:`~commitrules._json_limits.MAX_NUMBER_DIGITS` digits, or the end of a damaged
    gzip stream.
    """
    for number, line, problem in bounded_lines(stream):
        if problem is not None:
            yield number, line, problem
            continue
        if not line:
            continue
        # Two counts in C first: most lines cannot be too deep or hold a long number.
        if (
            line.count(b"[") + line.count(b"{") > MAX_DEPTH
            or len(line) - len(line.translate(None, _DIGITS)) > MAX_NUMBER_DIGITS
        ):
            beyond = check_bounds(line)
            if beyond is not None:
                yield number, line[:200], beyond
                continue
        yield number, line, None


def raw_lines(path: str) -> Iterator[tuple[int, bytes, str | None]]:
    """Yield ``(number, text, error)`` for every non-blank line of a file, undecoded.

    ``-`` is stdin, a name ending in ``.gz`` is read as gzip; see :func:`checked_lines`
    for the errors. The batch path reads lines this way: no object per line.
    """
    stream = _open(path)
    try:
        yield from checked_lines(stream)
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
            record = decode(line)
        except ValueError as error:
            yield Line(path, number, line, error=str(error))
            continue
        if not isinstance(record, dict):
            yield Line(path, number, line, error="a line must hold a JSON object")
            continue
        yield Line(path, number, line, record=record)
