"""Text from events, packs and files made safe to show: terminals, spreadsheets, JSON.

Event fields reach human-facing output (tables, explanations, reports, error messages).
A field holding ``ESC [ 2 J`` clears an examiner's terminal, an OSC 8 sequence plants a
link, a carriage return overwrites what was printed, a direction override (U+202E)
reorders what is read. :func:`visible` writes every such character as an escape that
shows what it was instead:

* C0 controls (U+0000-U+001F) and DEL: ``\\x1b``, ``\\x07``, ``\\r`` … (a line break and a
  tab are kept unless ``lines=False``);
* C1 controls (U+0080-U+009F), which some terminals obey as ESC sequences: ``\\x9b`` …;
* the invisible characters that reorder or break displayed text: bidirectional
  controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the line and
  paragraph separators U+2028, U+2029: ``\\u202e`` ….

Visible text, Chinese included, is left as it is; a backslash is not doubled (the
output is for reading, not for parsing back).

>>> visible("fee \\x1b[31mwaived\\x1b[0m")
'fee \\\\x1b[31mwaived\\\\x1b[0m'
>>> visible("保本\\u202e")
'保本\\\\u202e'
>>> spreadsheet_cell("=HYPERLINK(\\"http://x\\")")
'\\'=HYPERLINK("http://x")'
"""

from __future__ import annotations

import re

__all__ = ["FORMULA_STARTS", "json_visible", "spreadsheet_cell", "visible"]

_BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
_UNSAFE_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
# Inside JSON text only these can still be raw (json.dumps escapes C0 controls itself).
_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f{_BIDI_AND_SEPARATORS}]")

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula (OWASP, CSV injection)."""

_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: object, *, lines: bool = True) -> str:
    """``text`` with terminal controls and invisible reordering characters escaped.

    ``lines=False`` escapes line breaks and tabs too, for text that must stay on one line
    (a table cell, a rejected line's reason).
    """
    shown = str(text)
    pattern = _UNSAFE if lines else _UNSAFE_ONE_LINE
    if pattern.search(shown) is None:
        return shown
    return pattern.sub(_escape, shown)


def json_visible(text: str) -> str:
    """JSON text with DEL, C1 controls and reordering characters written as ``\\uXXXX``.

    The value read back is unchanged (they can only stand inside strings).
    """
    if _UNSAFE_IN_JSON.search(text) is None:
        return text
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def spreadsheet_cell(value: str) -> str:
    """A CSV field that a spreadsheet cannot run: a leading ``'`` before a formula start.

    As OWASP recommends for CSV injection: a field starting with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return gets a single quote in front, which spreadsheets
    show as text; control characters are escaped as by :func:`visible` (one line).
    """
    if value.startswith(FORMULA_STARTS):
        value = "'" + value
    return visible(value, lines=False)
