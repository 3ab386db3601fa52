"""The kinds of value a condition handles, and what a condition may refer to.

Two layers live here. The public one describes the names a condition can use:
:class:`FieldType` (an event field, a parameter or a table column), :class:`TableInfo`
and :class:`Scope`. The private one, :class:`ValueType`, is what the compiler infers for
every part of an expression, with the rules that say which kinds combine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Literal, TypeAlias, get_args

import attrs

__all__ = [
    "FIELD_KINDS",
    "NUMERIC",
    "FieldKind",
    "FieldType",
    "Kind",
    "Scope",
    "TableInfo",
    "ValueType",
    "describe",
    "equatable",
    "join",
    "kind_of_value",
    "orderable",
]

FieldKind: TypeAlias = Literal["str", "int", "decimal", "bool", "datetime", "list", "any"]
"""The kind of a field, parameter or column; ``list`` is a list of text."""

Kind: TypeAlias = Literal["str", "int", "decimal", "bool", "datetime", "list", "none", "any"]
"""The kind of any part of an expression: a field kind, or ``none`` (the literal None)."""

FIELD_KINDS: frozenset[str] = frozenset(get_args(FieldKind))
NUMERIC: frozenset[str] = frozenset({"int", "decimal"})
_ORDERED: frozenset[str] = frozenset({"int", "decimal", "str", "datetime"})


@attrs.frozen
class FieldType:
    """The kind of an event field, parameter or table column, and whether it may be None.

    >>> FieldType("decimal", optional=True)
    FieldType(kind='decimal', optional=True)
    """

    kind: FieldKind = attrs.field(validator=attrs.validators.in_(FIELD_KINDS))
    optional: bool = False


@attrs.frozen
class TableInfo:
    """The columns of a reference table that ``lookup`` and ``exists`` may use.

    ``key`` names the key column when it is known; then the key a condition passes is
    checked against that column's kind.

    >>> products = TableInfo(
    ...     columns={"product_id": FieldType("str"), "risk_level": FieldType("int")},
    ...     key="product_id",
    ... )
    >>> products.columns["risk_level"].kind
    'int'
    """

    columns: Mapping[str, FieldType]  # includes the key column
    key: str | None = None


@attrs.frozen
class Scope:
    """Everything a condition may refer to.

    ``fields`` are the event's fields (bare names); ``prior_fields`` the fields of the
    prior event (``prior.NAME``), or None where a condition has no prior event;
    ``params`` the parameters (``params.NAME``); ``constant_params`` the values of the
    parameters that never change, which are built into the compiled condition; ``tables``
    the reference tables ``lookup`` and ``exists`` may read.

    >>> scope = Scope(fields={"amount": FieldType("decimal")})
    >>> scope.prior_fields is None
    True
    """

    fields: Mapping[str, FieldType]
    prior_fields: Mapping[str, FieldType] | None = None
    params: Mapping[str, FieldType] = attrs.field(factory=dict)
    constant_params: Mapping[str, object] = attrs.field(factory=dict)
    tables: Mapping[str, TableInfo] = attrs.field(factory=dict)


@attrs.frozen
class ValueType:
    """What the compiler knows about a part of an expression before it runs.

    ``nullable`` says the value may be None at run time (an optional field, a prior
    field, a lookup, anything of kind ``any``); only then does the compiled code pay for
    a None check. ``element`` is the kind of a list's items.
    """

    kind: Kind
    nullable: bool = False
    element: Kind | None = None

    @classmethod
    def of_field(cls, field: FieldType, *, nullable: bool = False) -> ValueType:
        """The type of a field, parameter or column read at run time."""
        kind = field.kind
        return cls(
            kind,
            nullable or field.optional or kind == "any",
            "str" if kind == "list" else None,
        )


_WORDS: Mapping[str, str] = {
    "str": "text",
    "int": "a whole number",
    "decimal": "a number",
    "bool": "true/false",
    "datetime": "a date-time",
    "list": "a list",
    "none": "None",
    "any": "a value of any kind",
}


def describe(kind: str) -> str:
    """A kind in words a pack author reads, with its name in the language.

    >>> describe("int")
    'a whole number (int)'
    """
    return f"{_WORDS.get(kind, kind)} ({kind})"


def equatable(left: str, right: str) -> bool:
    """Whether ``==`` between the two kinds can ever be true (None compares with all)."""
    if "any" in (left, right) or "none" in (left, right):
        return True
    return left == right or (left in NUMERIC and right in NUMERIC)


def orderable(left: str, right: str) -> bool:
    """Whether ``<`` and friends are defined between the two kinds."""
    if left == "any":
        return right in _ORDERED or right == "any"
    if right == "any":
        return left in _ORDERED
    if left in NUMERIC and right in NUMERIC:
        return True
    return left == right and left in _ORDERED


def join(left: ValueType, right: ValueType) -> ValueType | None:
    """The type of a value that is either ``left`` or ``right``; None if they do not mix."""
    nullable = left.nullable or right.nullable
    if left.kind == "none":
        return attrs.evolve(right, nullable=True)
    if right.kind == "none":
        return attrs.evolve(left, nullable=True)
    if left.kind == "any" or right.kind == "any":
        return ValueType("any", nullable=True)
    if left.kind in NUMERIC and right.kind in NUMERIC:
        kind: Kind = "int" if left.kind == right.kind == "int" else "decimal"
        return ValueType(kind, nullable)
    if left.kind != right.kind:
        return None
    if left.kind == "list":
        items = join(ValueType(left.element or "any"), ValueType(right.element or "any"))
        return ValueType("list", nullable, items.kind if items is not None else "any")
    return ValueType(left.kind, nullable)


def kind_of_value(value: object) -> ValueType:
    """The type of a constant parameter's value, when the scope does not declare it."""
    if value is None:
        return ValueType("none", nullable=True)
    if isinstance(value, bool):
        return ValueType("bool")
    if isinstance(value, int):
        return ValueType("int")
    if isinstance(value, Decimal):
        return ValueType("decimal")
    if isinstance(value, str):
        return ValueType("str")
    if isinstance(value, dt.datetime):
        return ValueType("datetime")
    if isinstance(value, list | tuple | frozenset) and all(isinstance(v, str) for v in value):
        return ValueType("list", element="str")
    return ValueType("any", nullable=True)
