"""Names, types, generated code and run-time semantics (expr/_compile.py)."""

from __future__ import annotations

import datetime as dt
import io
import re
import tokenize
from collections.abc import Callable
from decimal import Decimal

import pytest

from commitrules.errors import ExpressionError
from commitrules.expr import (
    CompiledExpression,
    FieldType,
    Scope,
    StaticContext,
    TableInfo,
    compile_expression,
)

Event = Callable[..., dict[str, object]]


def _error(text: str, scope: Scope, **kwargs: object) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text, scope, **kwargs)  # type: ignore[arg-type]
    return caught.value


# -- names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "offset", "reason"),
    [
        (
            "product_risk > 1 and prodcut_id == 'a'",
            21,
            "unknown field 'prodcut_id'; did you mean 'product_id'?",
        ),
        ("zzz == 1", 0, "unknown field 'zzz'"),
        ("recorded == true", 12, "unknown field 'true'; did you mean True?"),
        ("text == null", 8, "unknown field 'null'; did you mean None?"),
        (
            "customer_age > elderly_age",
            15,
            "unknown field 'elderly_age'; did you mean 'params.elderly_age'?",
        ),
        (
            "prior.risk_levle > 1",
            6,
            "unknown field 'risk_levle' of the prior event; did you mean 'risk_level'?",
        ),
        ("params.eldery_age > 1", 7, "unknown parameter 'eldery_age'; did you mean 'elderly_age'?"),
        ("prior > 1", 0, "'prior' on its own is not a value: write prior.NAME"),
        ("params", 0, "'params' on its own is not a value: write params.NAME"),
        ("len > 1", 0, "'len' is a function: call it as len(x)"),
        (
            "lookup('product', product_id, 'risk_level') > 1",
            7,
            "unknown table 'product'; did you mean 'products'?",
        ),
        (
            "lookup('products', product_id, 'risk_levl') > 1",
            31,
            "unknown column 'risk_levl' in table 'products'; did you mean 'risk_level'?",
        ),
        (
            "lookup(title, product_id, 'risk') > 1",
            7,
            "lookup() needs the table's name written in quotes",
        ),
        (
            "lookup('products', product_id, title) > 1",
            31,
            "lookup() needs the column's name written in quotes",
        ),
        ("exists('nope', product_id)", 7, "unknown table 'nope'"),
    ],
)
def test_an_unknown_name_is_reported_with_a_suggestion(
    scope: Scope, text: str, offset: int, reason: str
) -> None:
    error = _error(text, scope)
    assert reason in error.reason
    assert error.offset == offset


def test_prior_is_refused_where_there_is_no_prior_event() -> None:
    scope = Scope(fields={"risk": FieldType("int")})
    error = _error("risk > prior.risk", scope)
    assert error.reason == "there is no prior event here, so prior.risk cannot be used"
    assert error.offset == 7


# -- types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("title < 1", 6, "cannot compare text (str) with a whole number (int) using '<'"),
        ("title == 1", 6, "cannot compare text (str) with a whole number (int): they are never"),
        ("recorded == 1", 9, "cannot compare true/false (bool) with a whole number"),
        ("opened < amount", 7, "cannot compare a date-time (datetime)"),
        ("recorded < approved", 9, "using '<'"),
        ("sections < sections", 9, "using '<'"),
        ("product_risk < None", 13, "with None (none) using '<'"),
        ("title + 1 == title", 6, "cannot add text (str) and a whole number (int)"),
        ("amount - title > 1", 7, "cannot subtract a number (decimal) and text (str)"),
        ("title * 2 == title", 6, "cannot multiply text (str)"),
        ("title / 2 > 1", 6, "cannot divide text (str)"),
        ("opened + 1 > opened", 7, "cannot add a date-time"),
        ("1 + None > 1", 2, "cannot add a whole number (int) and None (none)"),
        ("recorded + 1 > 1", 9, "cannot add true/false"),
        ("-title == title", 0, "'-' needs a number, not text (str)"),
        ("+recorded", 0, "'+' needs a number"),
        ("product_risk is 1", 13, "'is' only works with None"),
        ("title is not title", 6, "'is not' only works with None"),
        ("product_risk in title", 13, "so the left must be text"),
        ("product_risk in sections", 13, "cannot look for a whole number (int) in a list of text"),
        ("title in [1, 2]", 6, "in a list of a whole number"),
        ("title in product_risk", 6, "'in' needs a list or text on the right"),
        ("title in None", 6, "'in' needs a list or text on the right, not None"),
        ("[1, 'a'] == sections", 4, "the items of a list must all be of one kind"),
        ("[[1]] == sections", 1, "a list cannot hold lists"),
        ("product_risk", 0, "a condition must be true or false, but this gives a whole number"),
        ("title + 'x'", 0, "but this gives text (str)"),
        ("(sections)", 1, "but this gives a list"),
        ("None", 0, "but this gives None"),
        ("(1 if recorded else 'a') == 1", 20, "both branches of 'if ... else'"),
        ("len(product_risk) > 1", 4, "len() needs text or a list here, not a whole number"),
        ("lower(product_risk) == 'a'", 6, "lower() needs text here"),
        ("upper(sections) == 'a'", 6, "upper() needs text here"),
        ("abs(title) > 1", 4, "abs() needs a number here, not text"),
        ("min(1, title) > 1", 7, "min() needs arguments of one kind"),
        ("max(recorded, approved)", 4, "max() needs numbers, texts or date-times here"),
        ("contains(title, 1)", 16, "contains() needs text here, not a whole number"),
        ("contains(sections, 'a')", 9, "contains() needs text here, not a list"),
        ("contains_any(title, title)", 20, "contains_any() needs a list of texts here"),
        ("contains_any(title, [1, 2])", 20, "needs a list of texts, not a list of a whole"),
        ("starts_with(title, 1)", 19, "starts_with() needs text here"),
        ("ends_with(1, title)", 10, "ends_with() needs text here"),
        ("includes_all(title, sections)", 13, "includes_all() needs a list here"),
        ("includes_any(sections, [1])", 23, "cannot find items of a whole number"),
        ("lookup('products', 1, 'risk_level') > 1", 19, "lookup() needs a key of text"),
        ("exists('products', 1)", 19, "exists() needs a key of text"),
        ("lookup('products', product_id, 'name') > 1", 39, "cannot compare text (str) with"),
    ],
)
def test_a_type_error_is_reported_at_the_culprit(
    scope: Scope, text: str, offset: int, words: str
) -> None:
    error = _error(text, scope)
    assert words in error.reason
    assert error.offset == offset


def test_require_bool_false_allows_any_result_kind(scope: Scope, context: StaticContext) -> None:
    compiled = compile_expression("amount * 2 + 1", scope, require_bool=False)
    assert compiled.kind == "decimal"
    assert not compiled.optional
    assert compiled({"amount": Decimal("1.5")}, None, context) == Decimal("4.0")
    fee = compile_expression("fee + 1", scope, require_bool=False)
    assert fee.kind == "decimal"
    assert fee.optional
    assert fee({"fee": None}, None, context) is None
    assert compile_expression("title", scope, require_bool=False).kind == "str"


def test_any_mixes_with_every_kind(scope: Scope) -> None:
    for text in (
        "note == 1",
        "note == 'a'",
        "note < 1",
        "note < 'a'",
        "note + 1 > 2",
        "note + 'a' == 'b'",
        "note in sections",
        "title in note",
        "note",
        "lookup('products', product_id, 'extra') > 3",
        "len(note) > 1",
        "contains(note, 'x')",
        "min(note, 1) > 0",
    ):
        assert compile_expression(text, scope).kind == "bool"


# -- what a compiled condition reads ---------------------------------------------------


def test_a_compiled_condition_lists_what_it_reads_in_first_use_order(scope: Scope) -> None:
    compiled = compile_expression(
        "channel == 'branch' and prior.amount < amount and amount > params.threshold "
        "and lookup('products', product_id, 'risk_level') > params.elderly_age "
        "and exists('access_matrix', channel) and channel != 'x'",
        scope,
    )
    assert compiled.fields == ("channel", "amount", "product_id")
    assert compiled.prior_fields == ("amount",)
    assert compiled.params == ("threshold", "elderly_age")
    assert compiled.tables == ("products", "access_matrix")
    assert compiled.kind == "bool"
    assert compiled.source.startswith("channel == 'branch'")
    assert isinstance(compiled, CompiledExpression)


def test_calling_the_compiled_condition_is_calling_its_function(
    scope: Scope, context: StaticContext, event_factory: Event
) -> None:
    compiled = compile_expression("product_risk >= 4 and not recorded", scope)
    event = event_factory()
    assert compiled(event, None, context) is compiled.function(event, None, context) is True


# -- the generated source --------------------------------------------------------------

_ALLOWED_NAMES = re.compile(r"^(e|pr|ctx|_k\d+|_v\d+|_h_[a-z_]+|lookup|exists|params|get)$")


def _check_source(compiled: CompiledExpression) -> None:
    source = compiled.python_source
    assert source.startswith("lambda e, pr, ctx: ")
    assert source.isascii()
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for token in tokens:
        assert token.type not in (tokenize.STRING, tokenize.NUMBER, tokenize.COMMENT), token
        if token.type == tokenize.NAME and token.string not in (
            "lambda",
            "and",
            "or",
            "not",
            "in",
            "is",
            "if",
            "else",
            "None",
            "True",
            "False",
        ):
            assert _ALLOWED_NAMES.match(token.string), token.string


@pytest.mark.parametrize(
    "text",
    [
        "product_risk >= 4 and not recorded",
        "product_risk <= prior.risk_level",
        "contains_any(text, params.banned_phrases) or not approved",
        "lookup('products', product_id, 'risk_level') != product_risk",
        "customer_age is not None and customer_age >= params.elderly_age",
        "includes_all(sections, ['product', 'risk', 'fees'])",
        "data_class in ['confidential', 'sensitive'] and "
        "not exists('access_matrix', staff_role + ':' + data_class)",
        "amount > 1000000 and channel == 'branch'",
        "1 <= product_risk <= 5 and -fee < 2.5 * amount / 3",
        "(title if recorded else 'lambda: __import__') == 'x'",
        "title == \"') or __import__('os') or ('\"",
    ],
)
def test_the_generated_source_holds_no_text_of_the_condition(scope: Scope, text: str) -> None:
    compiled = compile_expression(text, scope)
    _check_source(compiled)
    for literal in re.findall(r"'([^']*)'", text):
        if len(literal) >= 3:
            assert literal not in compiled.python_source


def test_the_compiled_function_has_no_builtins(scope: Scope) -> None:
    compiled = compile_expression("recorded", scope)
    function = compiled.function
    assert function.__globals__["__builtins__"] == {}  # type: ignore[attr-defined]


# -- run-time semantics ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("product_risk >= 4 and not recorded", True),
        ("product_risk > 4 or recorded", False),
        ("not (product_risk == 4)", False),
        ("product_risk != 3", True),
        ("product_risk < 5 and product_risk <= 4 and product_risk > 3 and product_risk >= 4", True),
        ("1 <= product_risk <= 5", True),
        ("1 <= product_risk <= 3", False),
        ("1 < 2 < product_risk < 3", False),
        ("product_risk + 1 == 5", True),
        ("product_risk - 5 == -1", True),
        ("product_risk * 2 == 8", True),
        ("product_risk / 8 == 0.5", True),
        ("-product_risk == -4", True),
        ("+product_risk == 4", True),
        ("amount == 2000000", True),
        ("amount == 2e6", True),
        ("amount > 1999999.99", True),
        ("amount / 3 > 666666.66", True),
        ("title + '!' == 'Fund!'", True),
        ("channel in ['branch', 'online']", True),
        ("channel not in ['branch', 'online']", False),
        ("channel in ('branch',)", True),
        ("channel in [title, 'branch']", True),
        ("'ran' in channel", True),
        ("'RAN' in channel", False),
        ("'risk' in sections", True),
        ("'other' not in sections", True),
        ("product_risk in [1, 2, 4]", True),
        ("amount in [2000000.0]", True),
        ("customer_age is not None and customer_age >= params.elderly_age", True),
        ("fee is None", True),
        ("None is fee", True),
        ("(1 if recorded else 2) == 2", True),
        ("(title if recorded else 'other') == 'other'", True),
        ("title and product_risk", True),
        ("text or ''", True),
        ("sections == ['product', 'risk', 'fees']", True),
        ("sections != ['product']", True),
        ("['product', 'risk', 'fees'] == sections", True),
        ("tags == None", True),
        ("True", True),
        ("False or not True", False),
        ("opened == opened", True),
        ("product_risk == 4.0", True),
        ("product_risk > 3.5", True),
    ],
)
def test_operators_evaluate_as_written(
    evaluate: Callable[..., object], text: str, expected: bool
) -> None:
    assert evaluate(text) is expected


def test_boolean_operators_give_true_or_false(evaluate: Callable[..., object]) -> None:
    assert evaluate("title and product_risk") is True
    assert evaluate("text or title", text=None) is True
    assert evaluate("text and title", text=None) is False
    assert evaluate("flag", flag=None) is False
    assert evaluate("note", note="x") is True
    assert evaluate("note", note="") is False


def test_decimal_literals_are_exact(scope: Scope, context: StaticContext) -> None:
    compiled = compile_expression("amount + 0.1 + 0.2 == 0.3", scope)
    assert compiled({"amount": Decimal(0)}, None, context) is True
    value = compile_expression("1.10 + amount", scope, require_bool=False)
    result = value({"amount": Decimal("0")}, None, context)
    assert result == Decimal("1.10")
    assert isinstance(result, Decimal)
    assert str(result) == "1.10"
    assert isinstance(
        compile_expression("1_000.5 + amount", scope, require_bool=False)(
            {"amount": Decimal(0)}, None, context
        ),
        Decimal,
    )


def test_division_gives_a_decimal_and_by_zero_none(scope: Scope, context: StaticContext) -> None:
    divide = compile_expression("product_risk / customer_age", scope, require_bool=False)
    result = divide({"product_risk": 1, "customer_age": 3}, None, context)
    assert isinstance(result, Decimal)
    assert result == Decimal(1) / Decimal(3)
    assert divide({"product_risk": 1, "customer_age": 0}, None, context) is None
    assert divide({"product_risk": 1, "customer_age": None}, None, context) is None
    assert (
        compile_expression("product_risk / 0 > 1", scope)({"product_risk": 1}, None, context)
        is False
    )


# -- null safety -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("customer_age >= 65", False),
        ("customer_age < 65", False),
        ("customer_age <= 65", False),
        ("customer_age > 65", False),
        ("not customer_age > 65", True),
        ("customer_age == None", True),
        ("customer_age != None", False),
        ("customer_age == 65", False),
        ("customer_age != 65", True),
        ("customer_age + 1 == None", True),
        ("customer_age * 2 > 1", False),
        ("-customer_age < 0", False),
        ("customer_age / 2 > 0", False),
        ("len(text) == 0", True),
        ("len(tags) == 0", True),
        ("contains(text, 'fund')", False),
        ("contains_any(text, ['fund'])", False),
        ("contains_any(text, params.banned_phrases)", False),
        ("starts_with(text, 'a')", False),
        ("ends_with(text, 'a')", False),
        ("text in ['a', 'b']", False),
        ("text not in ['a', 'b']", True),
        ("text in [None, 'b']", False),
        ("text in [title, None]", False),
        ("text in sections", False),
        ("text in title", False),
        ("'x' in text", False),
        ("'x' in tags", False),
        ("'x' not in tags", True),
        ("includes_all(tags, [])", False),
        ("includes_any(tags, ['a'])", False),
        ("lower(text) == None", True),
        ("abs(customer_age) == None", True),
        ("max(customer_age, 3) == 3", True),
        ("min(customer_age, fee) == None", True),
        ("is_set(customer_age)", False),
        ("is_set(text) or is_set(fee)", False),
        ("closed > opened", False),
        ("closed == None", True),
        ("(customer_age if recorded else 1) == 1", True),
        ("flag or not flag", True),
        ("not flag", True),
        ("text + 'x' == None", True),
        ("None in ['a']", False),
        ("None not in ['a']", True),
        ("params.nothing > 1", False),
        ("params.nothing + 1 == None", True),
        ("params.nothing == None", True),
        ("customer_age in [1, 2]", False),
        ("customer_age in [1, customer_age]", False),
    ],
)
def test_none_never_raises(evaluate: Callable[..., object], text: str, expected: bool) -> None:
    assert (
        evaluate(text, text=None, customer_age=None, tags=None, fee=None, closed=None, flag=None)
        is expected
    )


def test_the_prior_event_may_be_absent(
    evaluate: Callable[..., object], event_factory: Event
) -> None:
    event = event_factory(product_risk=4)
    assert evaluate("product_risk <= prior.risk_level", event, {"risk_level": 5}) is True
    assert evaluate("product_risk <= prior.risk_level", event, {"risk_level": 3}) is False
    assert evaluate("product_risk <= prior.risk_level", event, None) is False
    assert evaluate("prior.risk_level is None", event, None) is True
    assert evaluate("prior.risk_level is None", event, {"risk_level": 1}) is False
    assert evaluate("prior.amount + amount > 0", event, {"risk_level": 1}) is False


def test_lookup_and_exists_read_the_context(evaluate: Callable[..., object]) -> None:
    assert evaluate("lookup('products', product_id, 'risk_level') != product_risk") is True
    assert evaluate("lookup('products', product_id, 'risk_level') == 5", product_id="P2") is True
    assert evaluate("lookup('products', product_id, 'risk_level') > 1", product_id="P9") is False
    assert evaluate("lookup('products', product_id, 'risk_level') == None", product_id="P9")
    assert evaluate("lookup('products', product_id, 'name') == None", product_id="P2") is True
    assert evaluate("exists('products', product_id)") is True
    assert evaluate("exists('products', product_id)", product_id="P9") is False
    assert evaluate("exists('products', text)", text=None) is False
    assert evaluate("lookup('products', text, 'risk_level') == None", text=None) is True
    assert (
        evaluate(
            "data_class in ['confidential', 'sensitive'] "
            "and not exists('access_matrix', staff_role + ':' + data_class)"
        )
        is False
    )
    assert (
        evaluate(
            "data_class in ['confidential', 'sensitive'] "
            "and not exists('access_matrix', staff_role + ':' + data_class)",
            staff_role="teller",
        )
        is True
    )


def test_a_lookup_of_an_any_column_is_safe_whatever_it_holds(
    evaluate: Callable[..., object],
) -> None:
    # P1's extra is 'x' (text), P2's is 7 (a number).
    assert evaluate("lookup('products', product_id, 'extra') > 3", product_id="P1") is False
    assert evaluate("lookup('products', product_id, 'extra') > 3", product_id="P2") is True
    assert evaluate("lookup('products', product_id, 'extra') * 3 > 1", product_id="P1") is False
    assert evaluate("lookup('products', product_id, 'extra') + 1 == 8", product_id="P2") is True
    assert evaluate("len(lookup('products', product_id, 'extra')) == 1", product_id="P1")
    assert evaluate("len(lookup('products', product_id, 'extra')) == 0", product_id="P2")
    assert evaluate("lookup('products', product_id, 'extra') in title", product_id="P2") is False
    assert evaluate("-lookup('products', product_id, 'extra') == -7", product_id="P2") is True
    assert evaluate("-lookup('products', product_id, 'extra') == None", product_id="P1") is True


def test_a_value_of_the_wrong_kind_behaves_like_none(evaluate: Callable[..., object]) -> None:
    for note in ("text", 3, Decimal("1.5"), ["a"], None, True, {"a": 1}):
        for text in (
            "note < 2",
            "note + 1 > 0",
            "note * 1000000000 == 1",
            "note in sections",
            "note in ['a', 'b']",
            "title in note",
            "contains(note, 'x')",
            "len(note) > 100",
            "note / 2 > 0",
            "note - 1 > 0",
            "+note == 1",
            "min(note, 'a') == 'a'",
            "abs(note) == 1",
        ):
            assert evaluate(text, note=note) in (True, False)


# -- constants ---------------------------------------------------------------------------


def test_constant_parameters_are_built_in(scope: Scope) -> None:
    compiled = compile_expression(
        "customer_age >= params.elderly_age and contains_any(text, params.fixed_phrases)",
        scope,
    )
    assert "ctx." not in compiled.python_source
    assert compiled.params == ("elderly_age", "fixed_phrases")
    event = {"customer_age": 70, "text": "risk-free!"}
    assert compiled(event, None, StaticContext()) is True
    assert compiled({"customer_age": 64, "text": "risk-free"}, None, StaticContext()) is False


def test_a_parameter_that_changes_is_read_from_the_context(scope: Scope) -> None:
    compiled = compile_expression("product_risk >= params.threshold", scope)
    assert "ctx.params" in compiled.python_source
    assert compiled({"product_risk": 3}, None, StaticContext(params={"threshold": 3})) is True
    assert compiled({"product_risk": 3}, None, StaticContext(params={"threshold": 4})) is False


def test_an_optional_parameter_may_be_absent_from_the_context(scope: Scope) -> None:
    compiled = compile_expression("amount > params.limit", scope)
    assert compiled({"amount": Decimal(11)}, None, StaticContext(params={})) is False
    assert compiled({"amount": Decimal(11)}, None, StaticContext(params={"limit": 10})) is True


def test_an_undeclared_constant_parameter_takes_the_kind_of_its_value() -> None:
    scope = Scope(
        fields={"n": FieldType("int")},
        constant_params={
            "cap": Decimal("2.5"),
            "names": ("a", "b"),
            "start": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        },
    )
    assert compile_expression("n < params.cap", scope)({"n": 2}, None, StaticContext()) is True
    assert compile_expression("'a' in params.names", scope).kind == "bool"
    assert "cannot compare" in _error("n < params.start", scope).reason


def test_membership_in_a_constant_list_uses_a_frozenset(scope: Scope) -> None:
    compiled = compile_expression("channel in ['branch', 'online', 'phone']", scope)
    sets = [v for v in compiled.function.__globals__.values() if isinstance(v, frozenset)]  # type: ignore[attr-defined]
    assert sets == [frozenset({"branch", "online", "phone"})]
    compiled = compile_expression("'low' in params.levels", scope)
    sets = [v for v in compiled.function.__globals__.values() if isinstance(v, frozenset)]  # type: ignore[attr-defined]
    assert sets == [frozenset({"low", "high"})]


def test_only_nullable_operands_pay_for_a_none_check(scope: Scope) -> None:
    assert compile_expression("product_risk > 1", scope).python_source == (
        "lambda e, pr, ctx: (e[_k0] > _k1)"
    )
    assert ":=" in compile_expression("customer_age > 1", scope).python_source


def test_table_key_kind_is_checked_only_when_the_key_is_known() -> None:
    scope = Scope(
        fields={"n": FieldType("int")},
        tables={"t": TableInfo({"id": FieldType("str"), "v": FieldType("int")})},
    )
    compiled = compile_expression("lookup('t', n, 'v') == 1", scope)
    assert compiled({"n": 1}, None, StaticContext(tables={"t": {1: {"v": 1}}})) is True


def test_a_constant_parameter_must_hold_a_value_of_its_declared_kind() -> None:
    scope = Scope(
        fields={"n": FieldType("int")},
        params={"cap": FieldType("int"), "rate": FieldType("decimal")},
        constant_params={"cap": "three", "rate": 2},
    )
    error = _error("n < params.cap", scope)
    assert error.reason == (
        "parameter 'cap' is declared as a whole number (int), but its value is text (str)"
    )
    assert error.offset == 11
    assert compile_expression("n < params.rate", scope)({"n": 1}, None, StaticContext())


def test_a_constant_float_parameter_is_used_as_the_decimal_it_prints_as() -> None:
    scope = Scope(
        fields={"amount": FieldType("decimal")},
        params={"rate": FieldType("decimal")},
        constant_params={"rate": 0.1},
    )
    value = compile_expression("amount * params.rate", scope, require_bool=False)
    assert value({"amount": Decimal(3)}, None, StaticContext()) == Decimal("0.3")
