"""Text to a checked tree: bounds, syntax errors and the whitelist (expr/_parse.py)."""

from __future__ import annotations

import pytest

from commitrules.errors import ExpressionError, Location
from commitrules.expr import DEFAULT_LIMITS, Limits, Scope, compile_expression


def _error(text: str, scope: Scope, **kwargs: object) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text, scope, **kwargs)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("__import__('os')", 0, "unknown function '__import__'"),
        ("open('f')", 0, "unknown function 'open'"),
        ("eval('1')", 0, "unknown function 'eval'"),
        ("().__class__", 3, "attribute access is not allowed"),
        ("title.__dict__", 6, "attribute access is not allowed"),
        ("title.upper() == 'A'", 6, "calling methods is not allowed; write upper(...)"),
        ("prior.amount.real > 1", 13, "attribute access is not allowed"),
        ("[x for x in sections]", 0, "comprehensions are not allowed"),
        ("{x for x in sections}", 0, "comprehensions are not allowed"),
        ("any(x for x in sections)", 0, "unknown function 'any'"),
        ("len(x for x in sections) > 1", 3, "generator expressions are not allowed"),
        ("lambda: 1", 0, "lambda functions are not allowed"),
        ("2**99999", 1, "the power operator ** is not allowed"),
        ("amount // 2 > 1", 7, "floor division"),
        ("amount % 2 > 1", 7, "remainder"),
        ("recorded & approved", 9, "did you mean 'and'?"),
        ("recorded | approved", 9, "did you mean 'or'?"),
        ("~recorded", 0, "did you mean 'not'?"),
        ("product_risk << 2 > 1", 13, "bit shifts"),
        ("product_risk ^ 2 > 1", 13, "bitwise operator ^"),
        ("sections @ sections", 9, "the operator @"),
        ("sections[0] == 'a'", 0, "subscripts"),
        ("title[1:] == 'a'", 0, "subscripts"),
        ("f'{title}' == 'a'", 0, "f-strings are not allowed"),
        ("(y := 1)", 1, "assignment expressions"),
        ("len(*sections) > 1", 4, "starred"),
        ("{'a': 1}", 0, "dictionaries are not allowed"),
        ("{'a'}", 0, "sets ({...}) are not allowed"),
        ("1j == 1", 0, "imaginary numbers"),
        ("b'x' == title", 0, "bytes literals"),
        ("... == title", 0, "'...' is not allowed"),
        ("len(title, 1) > 1", 0, "len() takes exactly 1 argument (2 given)"),
        ("min(1) > 1", 0, "min() takes at least 2 arguments (1 given)"),
        ("lookup('products', 'P1') > 1", 0, "lookup() takes exactly 3 arguments (2 given)"),
        ("len(x=title) > 1", 4, "positional arguments only"),
        ("len(**title) > 1", 4, "positional arguments only"),
        ("title.lower()", 6, "calling methods is not allowed"),
        ("title.format(1)", 6, "calling methods is not allowed"),
        ("(lambda: 1)()", 0, "only the built-in functions can be called"),
        ("params.limit(1)", 7, "calling methods is not allowed"),
        ("await title", 0, "await is not allowed"),
    ],
)
def test_a_construct_outside_the_language_is_refused_at_its_offset(
    scope: Scope, text: str, offset: int, words: str
) -> None:
    error = _error(text, scope)
    assert error.offset == offset
    assert words in error.reason
    assert isinstance(error, ExpressionError)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "().__class__",
        "x.__dict__",
        "open('f')",
        "[x for x in y]",
        "lambda: 1",
        "2**99999",
        "'a'*10**9",
        "'a'*1000000000 == 'a'",
        "x[0]",
        "f'{x}'",
        "(x := 1)",
        "(" * 1000 + "x" + ")" * 1000,
        "x or " * 20_000 + "x",
        "().__class__.__bases__[0].__subclasses__()",
        "[].__class__.__mro__[1].__subclasses__()",
        "getattr(x, '__globals__')",
        "__builtins__",
        "ctx.params",
        "e['product_risk'] > 1",
        "_h_len(title) > 1",
        "_k0",
    ],
)
def test_hostile_text_raises_an_expression_error_and_nothing_else(scope: Scope, text: str) -> None:
    error = _error(text, scope)
    assert 0 <= error.offset <= len(error.expression)


def test_repetition_of_a_text_is_a_type_error_never_run(scope: Scope) -> None:
    error = _error("'a' * 1000000000 == title", scope)
    assert error.offset == 4
    assert "cannot multiply text (str) and a whole number (int)" in error.reason
    error = _error("sections * 1000000000 == sections", scope)
    assert "cannot multiply a list (list)" in error.reason


def test_a_misspelt_function_gets_a_suggestion(scope: Scope) -> None:
    error = _error("lenght(title) > 1", scope)
    assert error.reason == "unknown function 'lenght'; did you mean 'len'?"
    assert error.offset == 0


def test_an_unknown_function_lists_the_functions(scope: Scope) -> None:
    error = _error("open('f')", scope)
    assert "the functions are: abs, contains" in error.reason


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("(product_risk > 1", 0, "'(' was never closed"),
        ("'unterminated", 0, "unterminated string"),
        ("title == 'a\\d'", 9, "invalid escape sequence"),
        ("\u00e9\u00e9\u00e9 $", 4, "invalid syntax"),
        ("  (product_risk > 1", 2, "'(' was never closed"),
    ],
)
def test_a_syntax_error_is_reported_at_its_character_offset(
    scope: Scope, text: str, offset: int, words: str
) -> None:
    error = _error(text, scope)
    assert words in error.reason
    assert error.offset == offset


@pytest.mark.parametrize(
    "text",
    [
        "product_risk >",
        "product_risk = 1",
        "recorded && approved",
        "!recorded",
        "1if recorded else 2",
        "x = 1; y",
        "import os",
        "def f(): pass",
        "yield 1",
        "recorded;",
    ],
)
def test_text_that_is_not_an_expression_is_refused(scope: Scope, text: str) -> None:
    error = _error(text, scope)
    assert 0 <= error.offset <= len(text)


def test_a_comment_is_refused(scope: Scope) -> None:
    error = _error("(recorded) # and approved", scope)
    assert error.reason == "comments are not allowed in a condition"
    assert error.offset == 11
    assert compile_expression("title == '#1'", scope).kind == "bool"


def test_an_empty_condition_is_refused(scope: Scope) -> None:
    for text in ("", "   ", "\t\n"):
        error = _error(text, scope)
        assert error.reason == "the condition is empty"
        assert error.offset == 0


def test_leading_blanks_shift_offsets_and_trailing_blanks_are_ignored(scope: Scope) -> None:
    error = _error("   prodcut_id == 'a'  \n", scope)
    assert error.offset == 3
    assert error.expression == "   prodcut_id == 'a'"
    compiled = compile_expression("  recorded \n", scope)
    assert compiled.source == "  recorded \n"


def test_offsets_count_characters_not_bytes(scope: Scope) -> None:
    error = _error("title == '\u57fa\u91d1\u4ea7\u54c1' and prodcut_id == 'x'", scope)
    assert error.offset == 20
    assert error.expression[error.offset :].startswith("prodcut_id")


def test_a_line_break_inside_the_condition_is_refused(scope: Scope) -> None:
    error = _error("recorded and\napproved", scope)
    assert error.reason == "a condition must fit on one line"
    assert error.offset == 12
    error = _error("(recorded and\r approved)", scope)
    assert error.offset == 13


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("recorded\x00", 8, "control character U+0000"),
        ("title == 'a\x1bb'", 11, "control character U+001B"),
        ("title == 'a\x0cb'", 11, "a condition must fit on one line"),
        ("title == 'a\x7fb'", 11, "control character U+007F"),
        ("title == 'admin\u202e\u2066' or recorded", 15, "direction-changing character U+202E"),
        ("title == '\u2067x'", 10, "U+2067"),
        ("title == 'branch\u200b'", 16, "invisible formatting character U+200B"),
        ("\ufeffrecorded", 0, "invisible formatting character U+FEFF"),
        ("title == 'a\u2028b'", 11, "a condition must fit on one line"),
    ],
)
def test_control_and_direction_changing_characters_are_refused(
    scope: Scope, text: str, offset: int, words: str
) -> None:
    error = _error(text, scope)
    assert words in error.reason
    assert error.offset == offset


def test_a_tab_is_whitespace(scope: Scope) -> None:
    assert compile_expression("recorded\tand approved", scope).kind == "bool"


def test_a_100_kb_condition_is_refused_before_parsing(scope: Scope) -> None:
    text = "recorded or " * 8000 + "recorded"
    error = _error(text, scope)
    assert error.reason == f"the condition is too long: {len(text)} characters, at most 2000"
    assert error.offset == DEFAULT_LIMITS.max_length
    assert len(error.expression) == DEFAULT_LIMITS.max_length


def test_length_is_counted_after_trailing_blanks_are_removed(scope: Scope) -> None:
    text = "recorded" + " " * 5000
    assert compile_expression(text, scope).kind == "bool"


@pytest.mark.parametrize(
    "text",
    [
        "(" * 1000 + "recorded" + ")" * 1000,
        "(" * 250 + "recorded" + ")" * 250,
        "-" * 1990 + "1 > 0",
        "not " * 490 + "recorded",
        "product_risk + " * 130 + "1 > 0",
        "[" * 150 + "]" * 150,
        "len(" * 300 + "title" + ")" * 300,
        "a." * 900 + "b",
    ],
)
def test_deep_nesting_is_refused_with_an_expression_error(scope: Scope, text: str) -> None:
    error = _error(text, scope)
    assert isinstance(error, ExpressionError)


def test_nesting_deeper_than_the_limit_is_refused_at_the_deep_node(scope: Scope) -> None:
    text = "not " * 40 + "recorded"
    error = _error(text, scope)
    assert error.reason == "the condition is nested too deeply (more than 40 levels)"
    assert error.offset == 160
    assert compile_expression("not " * 39 + "recorded", scope).kind == "bool"


def test_brackets_alone_do_not_nest(scope: Scope) -> None:
    assert compile_expression("(" * 190 + "recorded" + ")" * 190, scope).kind == "bool"


def test_too_many_parts_are_refused(scope: Scope) -> None:
    one = "product_risk in [" + ",".join(["1"] * 199) + "]"
    error = _error(f"{one} or {one}", scope)
    assert error.reason == "the condition is too complex (more than 400 parts)"
    compile_expression(one, scope)


def test_limits_are_configurable(scope: Scope) -> None:
    short = Limits(max_length=10)
    assert "too long" in _error("recorded or approved", scope, limits=short).reason
    small = Limits(max_depth=3, max_nodes=5, max_string=2, max_list_items=2)
    assert "nested too deeply" in _error("not not not x", scope, limits=small).reason
    assert "too complex" in _error("1<2<3<4<5", scope, limits=small).reason
    assert "at most 2 characters" in _error("title=='abc'", scope, limits=small).reason
    assert "at most 2 items" in _error("1 in [1,2,3]", scope, limits=small).reason


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("product_risk < 1000000000000000001", 15, "the number is too large"),
        ("product_risk < -1000000000000000001", 16, "the number is too large"),
        ("amount < 1e19", 9, "the number is too large"),
        ("amount < 1e999999", 9, "the number is too large"),
        ("title == '" + "x" * 501 + "'", 9, "a text may be at most 500 characters"),
        ("product_risk in [" + "1," * 201 + "1]", 417, "a list may hold at most 200 items"),
    ],
)
def test_literals_beyond_their_bounds_are_refused(
    scope: Scope, text: str, offset: int, words: str
) -> None:
    error = _error(text, scope)
    assert words in error.reason
    assert error.offset == offset


def test_literals_at_their_bounds_are_accepted(scope: Scope) -> None:
    compile_expression("product_risk < 1000000000000000000", scope)
    compile_expression("amount < 1e18", scope)
    compile_expression("title == '" + "x" * 500 + "'", scope)
    compile_expression("product_risk in [" + "1," * 199 + "1]", scope)


def test_a_condition_that_is_not_text_is_an_expression_error(scope: Scope) -> None:
    error = _error(5, scope)  # type: ignore[arg-type]
    assert error.reason == "a condition must be text, not int"


def test_every_error_carries_the_location_and_renders_a_caret(scope: Scope) -> None:
    where = Location(file="rules/c1.yaml", line=12, column=9, key="rules[0].when", rule_id="C1")
    error = _error("product_risk > 1 and prodcut_id == 'a'", scope, location=where)
    assert error.location == Location(
        file="rules/c1.yaml", line=12, column=9, key="rules[0].when", rule_id="C1", offset=21
    )
    assert str(error) == (
        "rules/c1.yaml:12:9: rule C1: rules[0].when: at offset 21: "
        "unknown field 'prodcut_id'; did you mean 'product_id'?\n"
        "    product_risk > 1 and prodcut_id == 'a'\n"
        "                         ^"
    )


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("\uff41mount > 5", 0, "U+FF41 FULLWIDTH LATIN SMALL LETTER A"),
        ("amount > params.\uff4cimit", 16, "Python would read it as 'l'"),
        ("title == 'x' and \u30bf > 1", 17, "names are ASCII"),
        ("amount\u00aa > 5", 6, "only allowed inside a text"),
    ],
)
def test_a_name_that_is_not_ascii_is_refused(
    scope: Scope, text: str, offset: int, words: str
) -> None:
    error = _error(text, scope)
    assert words in error.reason
    assert error.reason.startswith("names are ASCII")
    assert error.offset == offset


@pytest.mark.parametrize(
    ("char", "words"),
    [
        ("\u3164", "invisible filler character U+3164 (HANGUL FILLER)"),
        ("\uffa0", "invisible filler character U+FFA0 (HALFWIDTH HANGUL FILLER)"),
        ("\u115f", "U+115F (HANGUL CHOSEONG FILLER)"),
        ("\u034f", "U+034F (COMBINING GRAPHEME JOINER)"),
        ("\ufe0f", "U+FE0F (VARIATION SELECTOR-16)"),
        ("\u2800", "U+2800 (BRAILLE PATTERN BLANK)"),
        ("\u200b", "invisible formatting character U+200B"),
        ("\u200d", "invisible formatting character U+200D"),
        ("\u2060", "invisible formatting character U+2060"),
        ("\u00ad", "invisible formatting character U+00AD"),
        ("\u00a0", "space-like character U+00A0 (NO-BREAK SPACE)"),
        ("\u3000", "space-like character U+3000 (IDEOGRAPHIC SPACE)"),
        ("\ue000", "private-use character U+E000"),
        ("\u0378", "unassigned character U+0378"),
    ],
)
def test_an_invisible_character_in_a_text_is_refused_naming_its_code_point(
    scope: Scope, char: str, words: str
) -> None:
    error = _error(f"title == 'branch{char}'", scope)
    assert words in error.reason
    assert error.offset == 16


def test_visible_text_in_any_script_and_escapes_stay_legal(scope: Scope) -> None:
    for text in (
        "title == '保本保收益' or title == 'Ελληνικά' or title == 'é'",
        "title == 'e\u0301'",  # a visible combining accent
        "title == 'a\\u3164b'",  # written as an escape: visible in the pack
    ):
        assert compile_expression(text, scope).kind == "bool"
