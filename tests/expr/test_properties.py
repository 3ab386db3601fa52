"""Invariants of the condition language, stated as properties."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from commitrules.errors import ExpressionError
from commitrules.expr import (
    CompiledExpression,
    FieldType,
    Limits,
    Scope,
    StaticContext,
    TableInfo,
    compile_expression,
)

# The scope the properties compile against (conftest's fixtures are function-bound
# helpers; hypothesis wants plain values here).
F = FieldType
FIELDS: dict[str, FieldType] = {
    "risk": F("int"),
    "age": F("int", optional=True),
    "amount": F("decimal"),
    "fee": F("decimal", optional=True),
    "title": F("str"),
    "text": F("str", optional=True),
    "recorded": F("bool"),
    "flag": F("bool", optional=True),
    "opened": F("datetime"),
    "closed": F("datetime", optional=True),
    "sections": F("list"),
    "tags": F("list", optional=True),
    "note": F("any"),
}
SCOPE = Scope(
    fields=FIELDS,
    prior_fields={name: F(t.kind, optional=True) for name, t in FIELDS.items()},
    params={"limit": F("decimal"), "phrases": F("list"), "cap": F("int"), "gone": F("int", True)},
    constant_params={"cap": 3},
    tables={
        "products": TableInfo(
            {"id": F("str"), "risk": F("int", optional=True), "extra": F("any")}, key="id"
        )
    },
)
CONTEXT = StaticContext(
    params={"limit": Decimal("2.5"), "phrases": ["fee", "\uff26\uff25\uff25"], "gone": None},
    tables={"products": {"P1": {"id": "P1", "risk": 3, "extra": "x"}, "P2": {"id": "P2"}}},
)
UTC = dt.UTC

_any_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.text(max_size=5),
    st.decimals(min_value=-1000, max_value=1000, places=2),
    st.lists(st.text(max_size=3), max_size=3),
)
_KIND_VALUES: dict[str, st.SearchStrategy[object]] = {
    "int": st.integers(-(10**6), 10**6),
    "decimal": st.decimals(min_value=-(10**6), max_value=10**6, places=3),
    "str": st.text(max_size=8),
    "bool": st.booleans(),
    "datetime": st.datetimes(timezones=st.just(UTC)),
    "list": st.lists(st.sampled_from(["a", "fee", "P1", ""]), max_size=3),
    "any": _any_value,
}


def _value(field: FieldType) -> st.SearchStrategy[object]:
    base = _KIND_VALUES[field.kind]
    return st.one_of(st.none(), base) if field.optional else base


events = st.fixed_dictionaries({name: _value(field) for name, field in FIELDS.items()})
priors = st.none() | events

_ATOMS: dict[str, list[str]] = {
    "num": [
        "risk",
        "age",
        "amount",
        "fee",
        "prior.risk",
        "prior.age",
        "prior.amount",
        "prior.fee",
        "params.limit",
        "params.cap",
        "params.gone",
        "note",
        "0",
        "3",
        "-7",
        "2.50",
        "1e3",
        "1000000000000000000",
    ],
    "str": ["title", "text", "prior.title", "prior.text", "note", "'P1'", "'fee'", "''"],
    "list": ["sections", "tags", "prior.sections", "params.phrases", "['a', 'fee']", "[]", "note"],
    "bool": ["recorded", "flag", "prior.flag", "prior.recorded", "True", "False", "note"],
    "date": ["opened", "closed", "prior.opened", "prior.closed"],
}


@functools.cache
def _typed(kind: str, depth: int) -> st.SearchStrategy[str]:
    """Expressions of one kind, nested at most ``depth`` deep: they mostly type-check."""
    atoms = st.sampled_from(_ATOMS[kind])
    if kind == "str":
        atoms = atoms | st.text(max_size=6).map(repr)
    if kind == "num":
        atoms = atoms | st.decimals(min_value=-1000, max_value=1000, places=2).map(
            lambda d: f"{d:f}"
        )
    if depth == 0 or kind == "date":
        return atoms
    n, s, b, li = (
        st.deferred(lambda k=k: _typed(k, depth - 1)) for k in ("num", "str", "bool", "list")
    )
    d = _typed("date", 0)
    pair = st.tuples
    if kind == "num":
        grown = st.one_of(
            pair(n, st.sampled_from("+-*/"), n).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            n.map(lambda x: f"(-{x})"),
            n.map(lambda x: f"abs({x})"),
            (s | li).map(lambda x: f"len({x})"),
            pair(st.sampled_from(["min", "max"]), n, n).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            s.map(lambda x: f"lookup('products', {x}, 'risk')"),
            s.map(lambda x: f"lookup('products', {x}, 'extra')"),
            pair(n, b, n).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        )
    elif kind == "str":
        grown = st.one_of(
            pair(s, s).map(lambda t: f"({t[0]} + {t[1]})"),
            pair(st.sampled_from(["lower", "upper"]), s).map(lambda t: f"{t[0]}({t[1]})"),
            pair(s, s).map(lambda t: f"max({t[0]}, {t[1]})"),
            pair(s, b, s).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        )
    elif kind == "list":
        grown = st.one_of(
            pair(s, s).map(lambda t: f"[{t[0]}, {t[1]}]"),
            pair(li, b, li).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        )
    else:
        compare = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
        grown = st.one_of(
            b.map(lambda x: f"(not {x})"),
            pair(b, st.sampled_from(["and", "or"]), b).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            pair(n, compare, n).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            pair(s, compare, s).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            pair(d, compare, d).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            pair(n, compare, n, compare, n).map(lambda t: "({} {} {} {} {})".format(*t)),
            pair(s, st.sampled_from(["in", "not in"]), li | s).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            pair(n, st.sampled_from(["in", "not in"])).map(lambda t: f"({t[0]} {t[1]} [1, 2.5])"),
            pair(li, st.sampled_from(["==", "!="]), li).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            pair(n | s | li | b | d, st.sampled_from(["is", "is not"])).map(
                lambda t: f"({t[0]} {t[1]} None)"
            ),
            (n | s | d).map(lambda x: f"is_set({x})"),
            pair(st.sampled_from(["contains", "starts_with", "ends_with"]), s, s).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            ),
            pair(s, li).map(lambda t: f"contains_any({t[0]}, {t[1]})"),
            pair(st.sampled_from(["includes_all", "includes_any"]), li, li).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            ),
            s.map(lambda x: f"exists('products', {x})"),
        )
    return atoms | grown


expressions = st.sampled_from(["num", "str", "bool", "list", "date"]).flatmap(
    lambda kind: _typed(kind, 3)
)
conditions = _typed("bool", 3)

_NEAR_ALPHABET = [
    *"abceilnorstx_.()[]{}'\",:;=<>!+-*/%&|^~@ 0123456789#\\\t",
    "and ",
    "or ",
    "not ",
    "in ",
    "is ",
    "None",
    "lambda",
    "prior.",
    "params.",
    "risk",
    "title",
    "len(",
    "lookup(",
    "__class__",
    "if ",
    "else ",
    "\u00e9",
    "\u202e",
    "\n",
]


def _compile(text: str, **kwargs: object) -> CompiledExpression | ExpressionError:
    """The compiled condition, or the ExpressionError; any other exception escapes."""
    try:
        return compile_expression(text, SCOPE, **kwargs)  # type: ignore[arg-type]
    except ExpressionError as error:
        return error


@given(st.text())
def test_any_text_compiles_or_raises_an_expression_error(text: str) -> None:
    result = _compile(text)
    if isinstance(result, ExpressionError):
        assert 0 <= result.offset <= len(result.expression)


@given(st.lists(st.sampled_from(_NEAR_ALPHABET), max_size=40).map("".join))
def test_text_near_the_language_compiles_or_raises_an_expression_error(text: str) -> None:
    result = _compile(text)
    if isinstance(result, ExpressionError):
        assert 0 <= result.offset <= len(result.expression)
    else:
        assert result.kind == "bool"


@given(conditions, events, priors)
def test_a_compiled_condition_never_raises_and_is_true_or_false(
    text: str, event: dict[str, object], prior: dict[str, object] | None
) -> None:
    try:
        compiled = compile_expression(text, SCOPE)
    except ExpressionError:
        return
    assert compiled(event, prior, CONTEXT) in (True, False)
    assert type(compiled(event, prior, CONTEXT)) is bool


@given(expressions, events, priors)
def test_a_compiled_value_never_raises(
    text: str, event: dict[str, object], prior: dict[str, object] | None
) -> None:
    try:
        compiled = compile_expression(text, SCOPE, require_bool=False)
    except ExpressionError:
        return
    result = compiled(event, prior, CONTEXT)
    assert not isinstance(result, float)
    if result is None:
        assert compiled.optional or compiled.kind in ("none", "any")


_TEMPLATE = (
    "title == {0} or contains(text, {1}) or {0} in sections or "
    "contains_any(text, [{1}, {0}]) or starts_with(title, {1}) or lower(title) == {0} "
    "or lookup('products', {0}, 'risk') == 1 or ({0} if recorded else {1}) == title "
    "or {1} + title == {0} or {0} in title or max({0}, {1}) == title"
)


@given(st.text(min_size=3, max_size=40), st.text(min_size=3, max_size=40))
def test_the_generated_source_never_holds_a_literal_of_the_condition(
    first: str, second: str
) -> None:
    roomy = Limits(max_length=10_000)  # twenty escaped literals can exceed 2000 characters
    baseline = compile_expression(_TEMPLATE.format("'a'", "'b'"), SCOPE).python_source
    compiled = compile_expression(_TEMPLATE.format(repr(first), repr(second)), SCOPE, limits=roomy)
    # The source does not depend on the literals' values at all...
    assert compiled.python_source == baseline
    # ...so a literal can only appear in it by coinciding with the fixed template text.
    for literal in (first, second):
        assume(literal not in baseline)
        assert literal not in compiled.python_source


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=6))
def test_a_decimal_literal_is_exactly_the_decimal_written(value: Decimal) -> None:
    written = f"{value:f}"
    if "." not in written:
        written += ".0"
    compiled = compile_expression(f"amount == {written}", SCOPE)
    assert compiled({"amount": value}, None, CONTEXT) is True
    value_of = compile_expression(f"{written} + amount", SCOPE, require_bool=False)
    result = value_of({"amount": Decimal(0)}, None, CONTEXT)
    assert isinstance(result, Decimal)
    assert result == value


@given(st.integers(min_value=0, max_value=200))
def test_nesting_up_to_the_limit_compiles_and_beyond_is_an_expression_error(
    depth: int,
) -> None:
    text = "not " * depth + "recorded"
    result = _compile(text)
    if isinstance(result, ExpressionError):
        assert depth >= 40
        assert "nested too deeply" in result.reason
    else:
        assert depth < 40
        assert result({"recorded": True}, None, CONTEXT) is (depth % 2 == 0)
