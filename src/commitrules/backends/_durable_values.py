"""Values as durable-rules compares them: typed, exact, order-preserving strings.

durable-rules holds numbers as JSON numbers (floats for decimals) and is loosely typed
(``'1' == 1 == True``); it compares texts on their JSON text, escapes included (so
``'a\\n' > 'a!'`` there, while Python says less). Every value a compiled condition reads is
therefore written into a fact as a string whose equality and byte order are Python's
equality and order for that kind:

- a number (``int``, ``Decimal``, ``bool`` as 0/1, a float exactly) is ``N`` + its sign
  class + a fixed-width exponent + its significant digits (nines' complement and a ``~``
  terminator for negatives), so ``1 == Decimal('1.00')`` and ``0.5 < 0.55`` hold as
  strings, exactly, at any size;
- a text is ``S`` + the hex digits of its UTF-8 bytes (byte order is code point order;
  nothing needs escaping);
- a date-time is ``T`` + the number of its instant in µs;
- None is ``Z`` (always present, never omitted: durable raises error 311 when a join
  refers to an absent field);
- a list is a JSON list of encoded items (for ``$iany``).

Strings of different kinds never compare equal, and a condition never orders values of
different kinds (the type checker refuses it), so the tag letters keep kinds apart.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ..eventtime import to_us

__all__ = ["FALSE", "NONE", "TRUE", "encode", "number"]

NONE = "Z"
_OFFSET = 5 * 10**19  # exponents of any Decimal that exists fit in 20 digits around it
_COMPLEMENT = str.maketrans("0123456789", "9876543210")


def number(value: Decimal | int) -> str:
    """An exact number as an order-preserving string."""
    if isinstance(value, int):
        if value > 0:  # the common case (instants, counts): no Decimal needed
            text = str(value)
            return f"N2{len(text) - 1 + _OFFSET:020d}{text.rstrip('0')}"
        if value == 0:
            return "N1"
        value = Decimal(value)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite: events and parameters hold no NaN
    end = len(digits)
    while end > 0 and digits[end - 1] == 0:
        end -= 1
    if end == 0:
        return "N1"
    start = 0
    while digits[start] == 0:
        start += 1
    text = "".join(map(str, digits[start:end]))
    # The decimal exponent of the leading digit: 123.4 -> 2, 0.05 -> -2.
    leading = exponent + len(digits) - 1 - start
    if not sign:
        return f"N2{leading + _OFFSET:020d}{text}"
    return f"N0{_OFFSET - 1 - leading:020d}{text.translate(_COMPLEMENT)}~"


TRUE = number(1)
FALSE = number(0)


def encode(value: Any) -> Any:
    """A value as the string durable compares (a list of them for a list)."""
    if value is None:
        return NONE
    if isinstance(value, str):
        return "S" + value.encode("utf-8", "surrogatepass").hex()
    if isinstance(value, bool):
        return TRUE if value else FALSE
    if isinstance(value, int | Decimal):
        return number(value)
    if isinstance(value, float):
        return number(Decimal(value))  # exactly, as Python compares a float
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return "t" + value.isoformat()  # naive: equal only to itself, never ordered
        return "T" + number(to_us(value))
    if isinstance(value, list | tuple | frozenset | set):
        return [encode(item) for item in value]
    return "X" + repr(value)  # only through a value of kind 'any', which is never in Rete
