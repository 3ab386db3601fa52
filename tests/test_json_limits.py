"""The JSON bounds: depth and digits counted outside strings, before any parser runs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commitrules._json_limits import (
    MAX_DEPTH,
    MAX_NUMBER_DIGITS,
    SNAPSHOT_MAX_DEPTH,
    check_bounds,
    decode,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab1', max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=30,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@given(json_values, st.integers(1, 8))
def test_the_depth_counted_is_the_true_depth_whatever_the_strings_hold(
    value: Any, limit: int
) -> None:
    text = json.dumps(value)
    problem = check_bounds(text, max_depth=limit)
    assert (problem is not None) == (depth(value) > limit)
    assert check_bounds(text.encode(), max_depth=limit) == problem


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 1_000, 100_000])
def test_too_deep_is_refused_without_recursion(levels: int) -> None:
    with pytest.raises(ValueError, match=f"JSON nested deeper than {MAX_DEPTH} levels"):
        decode(nested(levels))
    with pytest.raises(ValueError, match="nested deeper"):
        decode(("{" + '"a":' * 1 + "[") * levels)  # unclosed: the parser would recurse too


def test_exactly_the_limit_is_read() -> None:
    assert decode(nested(MAX_DEPTH)) is not None
    assert decode(nested(SNAPSHOT_MAX_DEPTH), max_depth=SNAPSHOT_MAX_DEPTH) is not None


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"text": "[" * 10_000 + '\\"{' * 100})
    assert check_bounds(text) is None
    assert decode(text)["text"].startswith("[[[")


@pytest.mark.parametrize(
    "number",
    [
        "9" * (MAX_NUMBER_DIGITS + 1),
        "-" + "9" * 5000,
        "1." + "5" * MAX_NUMBER_DIGITS,
        "1e" + "9" * MAX_NUMBER_DIGITS,
    ],
)
def test_a_number_with_too_many_digits_is_refused(number: str) -> None:
    with pytest.raises(ValueError, match=f"more than {MAX_NUMBER_DIGITS} digits"):
        decode('{"n": ' + number + "}")


def test_many_short_numbers_and_long_digit_strings_are_fine() -> None:
    text = json.dumps({"ids": [123456789] * 50, "account": "9" * 5000, "n": int("9" * 100)})
    assert check_bounds(text) is None
    assert decode(text)["n"] == int("9" * 100)


@pytest.mark.parametrize(
    ("text", "words"),
    [("{bad", "not JSON: "), (b'{"a": "\xff"}', "not UTF-8"), ("", "not JSON: ")],
)
def test_other_problems_say_why(text: str | bytes, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        decode(text)
