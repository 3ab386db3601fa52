"""The functions a condition may call (expr/builtins.py)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from commitrules.expr import builtins

Evaluate = Callable[..., object]


def test_every_function_is_documented_in_the_catalogue() -> None:
    assert sorted(builtins.FUNCTIONS) == [
        "abs",
        "contains",
        "contains_any",
        "ends_with",
        "exists",
        "includes_all",
        "includes_any",
        "is_set",
        "len",
        "lookup",
        "lower",
        "max",
        "mentions",
        "min",
        "starts_with",
        "trim",
        "upper",
    ]
    for name, function in builtins.FUNCTIONS.items():
        assert function.name == name
        assert function.signature.startswith(f"{name}(")
        assert function.summary
    assert builtins.FUNCTIONS["min"].arity() == "at least 2 arguments"
    assert builtins.FUNCTIONS["len"].arity() == "exactly 1 argument"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("len(title) == 4", True),
        ("len(sections) == 3", True),
        ("len(['a', 'b']) == 2", True),
        ("len('') == 0", True),
        ("lower(title) == 'fund'", True),
        ("upper(title) == 'FUND'", True),
        ("abs(-product_risk) == 4", True),
        ("abs(-1.5) == 1.5", True),
        ("min(product_risk, 2, 9) == 2", True),
        ("max(product_risk, 2, 9) == 9", True),
        ("max(amount, 1) == amount", True),
        ("min('b', title) == 'Fund'", True),
        ("max(opened, opened) == opened", True),
        ("contains(title, 'UN')", True),
        ("contains(title, 'xyz')", False),
        ("contains(title, title)", True),
        ("contains(text, 'guaranteed return')", True),
        ("contains(text, '\uff27\uff55\uff41\uff52\uff41\uff4e\uff54\uff45\uff45\uff44')", True),
        ("contains_any(text, ['nothing', 'GUARANTEED'])", True),
        ("contains_any(text, ['nothing'])", False),
        ("contains_any(text, [])", False),
        ("contains_any(text, params.banned_phrases)", True),
        ("contains_any(text, sections)", False),
        ("starts_with(title, 'Fu')", True),
        ("starts_with(title, 'fu')", False),
        ("ends_with(title, 'nd')", True),
        ("ends_with(title, 'ND')", False),
        ("includes_all(sections, ['product', 'risk', 'fees'])", True),
        ("includes_all(sections, ['product', 'other'])", False),
        ("includes_all(sections, [])", True),
        ("includes_all(sections, sections)", True),
        ("includes_any(sections, ['other', 'fees'])", True),
        ("includes_any(sections, ['other'])", False),
        ("includes_any(sections, [])", False),
        ("includes_any(sections, [title, 'risk'])", True),
        ("is_set(customer_age)", True),
        ("is_set(fee)", False),
        ("is_set(prior.risk_level)", False),
    ],
)
def test_each_function_gives_its_documented_answer(
    evaluate: Evaluate, text: str, expected: bool
) -> None:
    assert evaluate(text) is expected


def test_contains_any_matches_full_width_and_half_width_forms(evaluate: Evaluate) -> None:
    # banned_phrases holds a full-width 'risk-free'; the event writes it half-width.
    assert evaluate("contains_any(text, params.banned_phrases)", text="A RISK-FREE plan")
    # fixed_phrases (a constant) holds a full-width 'RISK'; the event writes it half-width.
    assert evaluate("contains_any(text, params.fixed_phrases)", text="a risk-free plan")
    # and the other way round.
    full_width = "\uff21 \uff52\uff49\uff53\uff4b-\uff46\uff52\uff45\uff45 plan"
    assert evaluate("contains_any(text, ['risk-free'])", text=full_width)
    assert evaluate("contains(text, 'RISK-FREE')", text=full_width)
    assert evaluate("contains_any(text, params.banned_phrases)", text=full_width)


def test_contains_with_a_text_that_changes_is_normalised_too(evaluate: Evaluate) -> None:
    assert evaluate("contains(text, title)", text="MY \uff26\uff35\uff2e\uff24", title="fund")


def test_functions_on_none() -> None:
    assert builtins.length(None) == 0
    assert builtins.lower(None) is None
    assert builtins.upper(None) is None
    assert builtins.absolute(None) is None
    assert builtins.minimum(None, None) is None
    assert builtins.maximum(None, 3, None) == 3
    assert builtins.contains(None, "a") is False
    assert builtins.contains("a", None) is False
    assert builtins.contains_any(None, ["a"]) is False
    assert builtins.contains_any("a", None) is False
    assert builtins.contains_normalised(None, "a") is False
    assert builtins.contains_any_normalised(None, ("a",)) is False
    assert builtins.starts_with(None, "a") is False
    assert builtins.ends_with("a", None) is False
    assert builtins.includes_all(None, []) is False
    assert builtins.includes_any(["a"], None) is False


def test_helpers_treat_a_value_of_the_wrong_kind_like_none() -> None:
    assert builtins.length(5) == 0
    assert builtins.lower(5) is None
    assert builtins.absolute("x") is None
    assert builtins.absolute(True) is None
    assert builtins.minimum(1, "a") is None
    assert builtins.maximum(1, "a") is None
    assert builtins.contains_any("abc", "abc") is False
    assert builtins.contains_any("abc", ["x", 1, "B"]) is True
    assert builtins.includes_all([[1]], [[1]]) is True
    assert builtins.includes_all(["a"], [["a"]]) is False
    assert builtins.includes_any(["a"], [["a"], "a"]) is True
    assert builtins.includes_any("ab", ["a"]) is False
    assert builtins.divide("a", 1) is None
    assert builtins.divide(1, 0) is None
    assert builtins.divide(Decimal("1e999999"), Decimal("1e-999999")) is None
    assert builtins.divide(1, 4) == Decimal("0.25")
    assert builtins.add("a", 1) is None
    assert builtins.add("a", "b") == "ab"
    assert builtins.add(True, 1) is None
    assert builtins.subtract("a", "b") is None
    assert builtins.multiply("a", 1000000000) is None
    assert builtins.multiply(["a"], 1000000000) is None
    assert builtins.negate("a") is None
    assert builtins.positive("a") is None
    assert builtins.less(1, "a") is False
    assert builtins.greater_equal(None, 1) is False
    assert builtins.less_equal(1, 2) is True
    assert builtins.greater(2, 1) is True
    assert builtins.member(None, ["a"]) is False
    assert builtins.member(["a"], frozenset({"a"})) is False
    assert builtins.member(1, "abc") is False
    assert builtins.member("b", "abc") is True
    assert builtins.member("a", 5) is False
    assert builtins.same_items(["a"], ("a",)) is True
    assert builtins.same_items(None, ("a",)) is False


def test_normalise_folds_case_and_width() -> None:
    assert builtins.normalise("\uff33\uff34\uff32\uff21\uff33\uff33\uff25") == "strasse"
    assert builtins.normalise("Stra\u00dfe") == "strasse"
    assert builtins.normalise("\uff76\uff9e") == "\u30ac"  # half-width katakana + voiced mark


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("本產品不保本", False),
        ("非保本浮动收益型", False),
        ("保本保收益", True),
        ("Not risk free.", False),
        ("no risky bets", False),
        ("Capital-guaranteed", True),
        ("a risk\u2011free fund", True),
        ("ZERO   RISK", True),
        ("\uff32\uff29\uff33\uff2b\uff0d\uff26\uff32\uff25\uff25", True),
        ("it is risk free, not risk free", True),
        (None, False),
    ],
)
def test_mentions_takes_out_exceptions_and_matches_latin_words_whole(
    text: str | None, expected: bool
) -> None:
    banned = ["保本", "保收益", "risk-free", "no risk", "capital guaranteed", "zero risk"]
    allowed = ["不保本", "非保本", "not risk free"]
    assert builtins.mentions(text, banned, allowed) is expected


def test_trim() -> None:
    assert builtins.trim("  x ") == "x"
    assert builtins.trim(None) is None


_COMPARABLE_OR_NOT = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.decimals(min_value=-3, max_value=3, places=1),
    st.just(Decimal("NaN")),
    st.floats(-3, 3),
    st.just(float("nan")),
    st.booleans(),
    st.sampled_from(["a", "b"]),
)


@given(st.lists(_COMPARABLE_OR_NOT, max_size=5))
@example([1, True, None, Decimal("1.0")])  # equal values: the first is the result
@example([float("nan"), 2, 1])
def test_min_and_max_are_the_builtins_on_the_values_present(values: list[object]) -> None:
    # They run per event in common conditions, so they loop instead of building a list;
    # the result must be what min/max of the present values give (None when they do
    # not compare), the very object (the first of equals).
    def reference(pick: Callable[[list[object]], object]) -> object:
        present = [v for v in values if v is not None]
        if not present:
            return None
        try:
            return pick(present)
        except (TypeError, ArithmeticError):
            return None

    assert builtins.minimum(*values) is reference(min)  # type: ignore[arg-type]
    assert builtins.maximum(*values) is reference(max)  # type: ignore[arg-type]
