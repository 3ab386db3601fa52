"""Kinds and how they combine (expr/_types.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from commitrules.expr import FieldType, Scope, TableInfo
from commitrules.expr._types import (
    ValueType,
    describe,
    equatable,
    join,
    kind_of_value,
    orderable,
)


def test_a_field_type_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        FieldType("float")  # type: ignore[arg-type]
    assert FieldType("int") == FieldType("int", optional=False)


def test_scope_defaults_are_empty_and_not_shared() -> None:
    one, two = Scope(fields={}), Scope(fields={})
    assert one.params == {}
    assert one.constant_params == {}
    assert one.tables == {}
    assert one.params is not two.params
    assert one.prior_fields is None
    assert TableInfo(columns={}).key is None


def test_equality_needs_kinds_that_can_be_equal() -> None:
    assert equatable("int", "decimal")
    assert equatable("str", "str")
    assert equatable("str", "none")
    assert equatable("any", "list")
    assert not equatable("str", "int")
    assert not equatable("bool", "int")
    assert not equatable("list", "str")


def test_ordering_needs_ordered_kinds() -> None:
    assert orderable("int", "decimal")
    assert orderable("str", "str")
    assert orderable("datetime", "datetime")
    assert orderable("any", "int")
    assert orderable("int", "any")
    assert orderable("any", "any")
    assert not orderable("bool", "bool")
    assert not orderable("list", "list")
    assert not orderable("none", "int")
    assert not orderable("any", "bool")
    assert not orderable("str", "datetime")


def test_join_gives_the_kind_of_either_value() -> None:
    assert join(ValueType("int"), ValueType("int")) == ValueType("int")
    assert join(ValueType("int"), ValueType("decimal")) == ValueType("decimal")
    assert join(ValueType("none", True), ValueType("str")) == ValueType("str", True)
    assert join(ValueType("str"), ValueType("none", True)) == ValueType("str", True)
    assert join(ValueType("any", True), ValueType("str")) == ValueType("any", True)
    assert join(ValueType("str"), ValueType("int")) is None
    assert join(ValueType("list", element="str"), ValueType("list", element="int")) == (
        ValueType("list", element="any")
    )


def test_values_of_constant_parameters_have_kinds() -> None:
    assert kind_of_value(None) == ValueType("none", True)
    assert kind_of_value(True) == ValueType("bool")
    assert kind_of_value(3) == ValueType("int")
    assert kind_of_value(Decimal(1)) == ValueType("decimal")
    assert kind_of_value("a") == ValueType("str")
    assert kind_of_value(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).kind == "datetime"
    assert kind_of_value(["a"]) == ValueType("list", element="str")
    assert kind_of_value([1]) == ValueType("any", True)
    assert kind_of_value(1.5) == ValueType("any", True)


def test_kinds_are_described_in_words() -> None:
    assert describe("str") == "text (str)"
    assert describe("none") == "None (none)"
