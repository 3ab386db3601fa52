"""Decoding JSON text from outside within documented bounds: depth and number length.

Python's :func:`json.loads` recurses once per nesting level (100,000 levels end in a
``RecursionError``) and reads any number of digits (5,000 digits end in a ``ValueError``
that is no ``JSONDecodeError``). Every reader of JSON from outside (event lines, run logs,
decision logs, snapshots, pack test events) checks the text first, in C-speed passes that
need no parse, and refuses what is beyond :data:`MAX_DEPTH` levels or has a number of more
than :data:`MAX_NUMBER_DIGITS` digits, before any parser sees it.

>>> decode('{"a": [1, 2]}')
{'a': [1, 2]}
>>> check_bounds("[" * 100 + "]" * 100)
'JSON nested deeper than 64 levels'
>>> check_bounds('{"n": ' + "9" * 200 + "}")
'a JSON number with more than 100 digits'
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_NUMBER_DIGITS", "SNAPSHOT_MAX_DEPTH", "check_bounds", "decode"]

MAX_DEPTH = 64
"""Levels of nested arrays and objects in one event line, run-log line or decision record."""

SNAPSHOT_MAX_DEPTH = 100
"""Levels in a snapshot: it holds events (up to :data:`MAX_DEPTH`) a few levels down."""

MAX_NUMBER_DIGITS = 100
"""Digits of one JSON number, exponent included (the largest accepted value needs 45)."""

# A JSON string, escapes included; possessive, so an unterminated one cannot backtrack.
_STRING_BYTES = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_STRING_TEXT = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET_BYTES = re.compile(rb"[^\[\]{}]++")
_NOT_BRACKET_TEXT = re.compile(r"[^\[\]{}]++")
_NUMBER_BYTES = re.compile(rb"[-+.0-9eE]++")
_NUMBER_TEXT = re.compile(r"[-+.0-9eE]++")
_DIGITS = b"0123456789"
_NO_DIGITS = str.maketrans("", "", "0123456789")
# One step of nesting per bracket: +1 opens, -1 closes (indexed by byte value).
_STEP_BYTES = [0] * 256
_STEP_BYTES[ord("[")] = _STEP_BYTES[ord("{")] = 1
_STEP_BYTES[ord("]")] = _STEP_BYTES[ord("}")] = -1
_STEP_TEXT = {"[": 1, "{": 1, "]": -1, "}": -1}


def _deepest(text: str | bytes) -> int:
    """The deepest nesting outside strings (an upper bound of any parser's recursion)."""
    if isinstance(text, bytes):
        brackets = _NOT_BRACKET_BYTES.sub(b"", _STRING_BYTES.sub(b"", text))
        return max(accumulate(map(_STEP_BYTES.__getitem__, brackets)), default=0)
    brackets_text = _NOT_BRACKET_TEXT.sub("", _STRING_TEXT.sub("", text))
    return max(accumulate(map(_STEP_TEXT.__getitem__, brackets_text)), default=0)


def _most_digits(text: str | bytes) -> int:
    """The most digits in one number outside strings."""
    if isinstance(text, bytes):
        numbers = _NUMBER_BYTES.findall(_STRING_BYTES.sub(b'""', text))
        return max((len(n) - len(n.translate(None, _DIGITS)) for n in numbers), default=0)
    found = _NUMBER_TEXT.findall(_STRING_TEXT.sub('""', text))
    return max((len(n) - len(n.translate(_NO_DIGITS)) for n in found), default=0)


def check_bounds(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> str | None:
    """Why ``text`` is beyond the bounds (too deep, a number too long), or None.

    Cheap on ordinary input: a text with at most ``max_depth`` brackets and at most
    :data:`MAX_NUMBER_DIGITS` digits in all is not scanned further. Malformed text is
    left to the parser, which never recurses deeper than the nesting counted here.
    """
    if isinstance(text, bytes):
        opens = text.count(b"[") + text.count(b"{")
        digits = len(text) - len(text.translate(None, _DIGITS))
    else:
        opens = text.count("[") + text.count("{")
        digits = len(text) - len(text.translate(_NO_DIGITS))
    if opens > max_depth and _deepest(text) > max_depth:
        return f"JSON nested deeper than {max_depth} levels"
    if digits > MAX_NUMBER_DIGITS and _most_digits(text) > MAX_NUMBER_DIGITS:
        return f"a JSON number with more than {MAX_NUMBER_DIGITS} digits"
    return None


def decode(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text within the bounds.

    Raises:
        ValueError: the reason in words: ``not JSON: …``, ``JSON nested deeper than 64
            levels``, ``a JSON number with more than 100 digits``, ``not UTF-8 …``.
    """
    problem = check_bounds(text, max_depth=max_depth)
    if problem is not None:
        raise ValueError(problem)
    try:
        return json.loads(text)
    except UnicodeDecodeError as error:
        msg = f"not UTF-8 text: {error.reason} at byte {error.start}"
        raise ValueError(msg) from None
    except ValueError as error:
        msg = f"not JSON: {error}"
        raise ValueError(msg) from None
