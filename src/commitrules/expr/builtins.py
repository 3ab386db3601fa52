"""The functions a condition may call, and the run-time helpers compiled conditions use.

A condition can call only the functions in :data:`FUNCTIONS`, with positional
arguments. Each is safe with None (an absent optional field, no prior event, a key a
table does not hold): it gives the answer listed below instead of failing.

- ``len(x)``: the length of a text or list; 0 for None.
- ``lower(s)``, ``upper(s)``: the text in lower / upper case; None for None.
- ``abs(n)``: the absolute value of a number; None for None.
- ``min(a, b, ...)``, ``max(a, b, ...)``: the smallest / largest argument (numbers,
  texts or date-times); None arguments are skipped, None when all are None.
- ``contains(s, sub)``: whether ``sub`` is in ``s``, ignoring case and full-width /
  half-width differences (both sides NFKC-normalised and case-folded); False for None.
- ``contains_any(s, list)``: whether any text of the list is in ``s``, the same way.
- ``mentions(s, phrases, exceptions)``: whether ``s`` mentions any of ``phrases`` once every
  text of ``exceptions`` is taken out (``不保本`` does not mention ``保本``). Like
  ``contains`` it ignores case and width; dashes and runs of spaces count as one space;
  a phrase made of Latin letters and digits only matches whole words (``no risk`` is
  not in ``no risky bets``). False for None.
- ``trim(s)``: the text without leading and trailing white space; None for None.
- ``starts_with(s, p)``, ``ends_with(s, p)``: exact (case matters); False for None.
- ``includes_all(list, wanted)``: whether the list holds every item of ``wanted``
  (exact); False when either is None; True when ``wanted`` is empty.
- ``includes_any(list, wanted)``: whether the list holds any item of ``wanted``.
- ``is_set(x)``: whether ``x`` is not None.
- ``lookup('table', key, 'column')``: the column of the table's row for the key; None
  when the key is None or the table has no row for it.
- ``exists('table', key)``: whether the table has a row for the key; False for None.

The table and column names of ``lookup`` and ``exists`` must be written as text in
quotes, so the pack can be checked before it runs.

The helpers below the catalogue are what compiled conditions call. They take any value
and never raise on a value of the wrong kind (possible only through a value of kind
``any``, such as a lookup of an untyped column): such a value behaves like None.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

__all__ = ["FUNCTIONS", "Function", "normalise"]


@attrs.frozen
class Function:
    """A function a condition may call: its name, how many arguments, what it does."""

    name: str
    min_args: int
    max_args: int | None  # None: any number from min_args up
    signature: str
    summary: str

    def arity(self) -> str:
        """How many arguments, in words.

        >>> FUNCTIONS["lookup"].arity()
        'exactly 3 arguments'
        """
        if self.max_args is None:
            return f"at least {self.min_args} arguments"
        plural = "s" if self.min_args != 1 else ""
        return f"exactly {self.min_args} argument{plural}"


FUNCTIONS: Mapping[str, Function] = MappingProxyType(
    {
        function.name: function
        for function in (
            Function("len", 1, 1, "len(x)", "the length of a text or list; 0 for None"),
            Function("lower", 1, 1, "lower(s)", "the text in lower case"),
            Function("upper", 1, 1, "upper(s)", "the text in upper case"),
            Function("abs", 1, 1, "abs(n)", "the absolute value of a number"),
            Function("min", 2, None, "min(a, b, ...)", "the smallest argument, skipping None"),
            Function("max", 2, None, "max(a, b, ...)", "the largest argument, skipping None"),
            Function(
                "contains", 2, 2, "contains(s, sub)", "whether sub is in s, ignoring case/width"
            ),
            Function(
                "contains_any",
                2,
                2,
                "contains_any(s, list)",
                "whether any text of the list is in s, ignoring case/width",
            ),
            Function(
                "mentions",
                3,
                3,
                "mentions(s, phrases, exceptions)",
                "whether s mentions a phrase outside the exception texts (whole words for Latin)",
            ),
            Function("trim", 1, 1, "trim(s)", "the text without surrounding white space"),
            Function("starts_with", 2, 2, "starts_with(s, p)", "whether s starts with p"),
            Function("ends_with", 2, 2, "ends_with(s, p)", "whether s ends with p"),
            Function(
                "includes_all",
                2,
                2,
                "includes_all(list, list)",
                "whether the first list holds every item of the second",
            ),
            Function(
                "includes_any",
                2,
                2,
                "includes_any(list, list)",
                "whether the first list holds any item of the second",
            ),
            Function("is_set", 1, 1, "is_set(x)", "whether x is not None"),
            Function(
                "lookup",
                3,
                3,
                "lookup('table', key, 'column')",
                "a column of the table's row for key; None when there is no such row",
            ),
            Function("exists", 2, 2, "exists('table', key)", "whether the table has a row for key"),
        )
    }
)
"""Every function a condition may call, by name."""


def normalise(text: str) -> str:
    """The form ``contains`` and ``contains_any`` compare: NFKC, then case-folded.

    Full-width and half-width forms, and upper and lower case, become the same.

    >>> normalise("\uff21\uff22\uff23 Fee") == normalise("abc fee")  # full-width ABC
    True
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


# Phrases lists repeat from event to event; their normal forms are worth keeping.
_normalise_phrase = functools.lru_cache(maxsize=4096)(normalise)

_COLLECTIONS = (list, tuple, frozenset, set)


def _is_number(value: object) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, Decimal)


# -- functions ------------------------------------------------------------------------


def length(value: object) -> int:
    """``len`` for a value that may be None or of the wrong kind: then 0."""
    if isinstance(value, str | list | tuple | frozenset | set):
        return len(value)
    return 0


def lower(value: object) -> str | None:
    """``lower``: None unless the value is text."""
    return value.lower() if isinstance(value, str) else None


def upper(value: object) -> str | None:
    """``upper``: None unless the value is text."""
    return value.upper() if isinstance(value, str) else None


def absolute(value: object) -> object:
    """``abs``: None unless the value is a number."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return abs(value)
    return None


def minimum(*values: object) -> object:
    """``min`` skipping None; None if every value is None or they do not compare."""
    return _extreme(values, min)


def maximum(*values: object) -> object:
    """``max`` skipping None; None if every value is None or they do not compare."""
    return _extreme(values, max)


def _extreme(values: tuple[object, ...], pick: Callable[[Any, Any], Any]) -> object:
    # A loop, not a list of the values present: this runs per event in common conditions.
    # pick(best, value) keeps the first of equals, as min/max of them all do.
    best: Any = None
    for value in values:
        if value is None:
            continue
        if best is None:
            best = value
            continue
        try:
            best = pick(best, value)
        except (TypeError, ArithmeticError):
            return None
    return best


def contains(text: object, sub: object) -> bool:
    """``contains``: False unless both are text."""
    if not isinstance(text, str) or not isinstance(sub, str):
        return False
    return _normalise_phrase(sub) in normalise(text)


def contains_normalised(text: object, needle: str) -> bool:
    """``contains`` with a constant ``needle`` normalised once, when the rule loaded."""
    return isinstance(text, str) and needle in normalise(text)


def contains_any(text: object, phrases: object) -> bool:
    """``contains_any``: False unless text and a list; items that are not text are skipped."""
    if not isinstance(text, str) or not isinstance(phrases, _COLLECTIONS):
        return False
    haystack = normalise(text)
    return any(_normalise_phrase(p) in haystack for p in phrases if isinstance(p, str))


def contains_any_normalised(text: object, needles: tuple[str, ...]) -> bool:
    """``contains_any`` with constant phrases normalised once, when the rule loaded."""
    if not isinstance(text, str):
        return False
    haystack = normalise(text)
    return any(needle in haystack for needle in needles)


_DASHES = dict.fromkeys(map(ord, "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"), " ")
_SPACES = re.compile(r"\s+")
_LATIN = re.compile(r"^[a-z0-9 ]+$")


def _flat(text: str) -> str:
    return _SPACES.sub(" ", normalise(text).translate(_DASHES)).strip()


@functools.lru_cache(maxsize=4096)
def _phrase_pattern(phrase: str) -> re.Pattern[str] | str:
    flat = _flat(phrase)
    if _LATIN.match(flat):
        # An escaped literal between look-arounds: linear time, no backtracking bombs.
        return re.compile(r"(?<![a-z0-9])" + re.escape(flat) + r"(?![a-z0-9])")
    return flat


def mentions(text: object, phrases: object, exceptions: object) -> bool:
    """``mentions``: any phrase in the text once the exception texts are taken out."""
    if not isinstance(text, str) or not isinstance(phrases, _COLLECTIONS):
        return False
    haystack = f" {_flat(text)} "
    if isinstance(exceptions, _COLLECTIONS):
        texts = (e for e in exceptions if isinstance(e, str))
        for exception in sorted(texts, key=len, reverse=True):
            flat = _flat(exception)
            if flat:
                haystack = haystack.replace(flat, " \x00 ")
    for phrase in phrases:
        if not isinstance(phrase, str) or not phrase.strip():
            continue
        pattern = _phrase_pattern(phrase)
        if isinstance(pattern, str):
            if pattern in haystack:
                return True
        elif pattern.search(haystack):
            return True
    return False


def trim(text: object) -> str | None:
    """``trim``: None unless text."""
    return text.strip() if isinstance(text, str) else None


def starts_with(text: object, prefix: object) -> bool:
    """``starts_with``: exact, False unless both are text."""
    return isinstance(text, str) and isinstance(prefix, str) and text.startswith(prefix)


def ends_with(text: object, suffix: object) -> bool:
    """``ends_with``: exact, False unless both are text."""
    return isinstance(text, str) and isinstance(suffix, str) and text.endswith(suffix)


def includes_all(items: object, wanted: object) -> bool:
    """``includes_all``: False unless both are lists."""
    if not isinstance(items, _COLLECTIONS) or not isinstance(wanted, _COLLECTIONS):
        return False
    try:
        return frozenset(items).issuperset(wanted)
    except TypeError:  # an unhashable item (possible only through `any`)
        listed = list(items)
        return all(item in listed for item in wanted)


def includes_any(items: object, wanted: object) -> bool:
    """``includes_any``: False unless both are lists."""
    if not isinstance(items, _COLLECTIONS) or not isinstance(wanted, _COLLECTIONS):
        return False
    try:
        return not frozenset(items).isdisjoint(wanted)
    except TypeError:  # an unhashable item (possible only through `any`)
        listed = list(items)
        return any(item in listed for item in wanted)


# -- operators where a value's kind is known only at run time -------------------------


def divide(left: object, right: object) -> Decimal | None:
    """``/``: always a Decimal; None for None, a zero divisor or a value that is no number."""
    if not _is_number(left) or not _is_number(right) or right == 0:
        return None
    try:
        return Decimal(left) / Decimal(right)  # type: ignore[arg-type]
    except ArithmeticError:
        return None


def add(left: object, right: object) -> object:
    """``+`` of numbers or of texts; None otherwise."""
    if _is_number(left) and _is_number(right):
        return left + right  # type: ignore[operator]
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    return None


def subtract(left: object, right: object) -> object:
    """``-`` of numbers; None otherwise."""
    if _is_number(left) and _is_number(right):
        return left - right  # type: ignore[operator]
    return None


def multiply(left: object, right: object) -> object:
    """``*`` of numbers; None otherwise (so never a repeated text or list)."""
    if _is_number(left) and _is_number(right):
        return left * right  # type: ignore[operator]
    return None


def negate(value: object) -> object:
    """Unary ``-`` of a number; None otherwise."""
    return -value if _is_number(value) else None  # type: ignore[operator]


def positive(value: object) -> object:
    """Unary ``+`` of a number; None otherwise."""
    return value if _is_number(value) else None


def _ordered(test: Callable[[object, object], bool]) -> Callable[[object, object], bool]:
    def compare(left: object, right: object) -> bool:
        if left is None or right is None:
            return False
        try:
            return test(left, right)
        except (TypeError, ArithmeticError):
            return False

    return compare


less = _ordered(lambda a, b: a < b)  # type: ignore[operator]
less_equal = _ordered(lambda a, b: a <= b)  # type: ignore[operator]
greater = _ordered(lambda a, b: a > b)  # type: ignore[operator]
greater_equal = _ordered(lambda a, b: a >= b)  # type: ignore[operator]


def member(item: object, collection: object) -> bool:
    """``in``: False when the item is None or the collection is not a list or text."""
    if item is None:
        return False
    if isinstance(collection, str):
        return isinstance(item, str) and item in collection
    if not isinstance(collection, _COLLECTIONS):
        return False
    try:
        return item in collection
    except TypeError:  # an unhashable item looked up in a set
        return False


def same_items(left: object, right: object) -> bool:
    """``==`` that treats a list and a tuple with the same items as equal."""
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return list(left) == list(right)
    return left == right


# The names compiled conditions call these by. Nothing else is reachable from them.
HELPERS: Mapping[str, object] = MappingProxyType(
    {
        "_h_len": len,
        "_h_length": length,
        "_h_lower": lower,
        "_h_upper": upper,
        "_h_abs": absolute,
        "_h_min": minimum,
        "_h_max": maximum,
        "_h_contains": contains,
        "_h_contains_normalised": contains_normalised,
        "_h_contains_any": contains_any,
        "_h_contains_any_normalised": contains_any_normalised,
        "_h_mentions": mentions,
        "_h_trim": trim,
        "_h_starts_with": starts_with,
        "_h_ends_with": ends_with,
        "_h_includes_all": includes_all,
        "_h_includes_any": includes_any,
        "_h_divide": divide,
        "_h_add": add,
        "_h_subtract": subtract,
        "_h_multiply": multiply,
        "_h_negate": negate,
        "_h_positive": positive,
        "_h_less": less,
        "_h_less_equal": less_equal,
        "_h_greater": greater,
        "_h_greater_equal": greater_equal,
        "_h_member": member,
        "_h_same_items": same_items,
    }
)
