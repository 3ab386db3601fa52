"""Conditions of the pack language as durable-rules JSON conditions, with computed attributes.

A condition's checked syntax tree (:func:`commitrules.expr._parse.parse`) is walked once,
with ``not`` pushed down to the comparisons (De Morgan), so that each rule gets a positive
form ("holds") and a negative form ("fails") built from durable's operators: ``$and``,
``$or``, equality, ``$neq``, ``$lt``, ``$lte``, ``$gt``, ``$gte`` and ``$iany``, over the
fields of the fact being matched (``{"$m": f}``) and of an earlier pattern of the rule
(``{"p": f}``, the prior event of a precedence rule).

What durable cannot evaluate becomes a *computed attribute*: a field of the fact that
Python fills in before the fact is asserted, from the native compiled sub-expression
(so with the native semantics by construction), and that the durable condition then
compares. These are

- calls of the built-in functions (``lookup``, ``exists``, ``mentions``, ``contains``,
  ``len``, ``trim``, ``max`` …; ``is_set``, and ``includes_all`` / ``includes_any`` of a
  list field and a written list, stay in durable),
- arithmetic (``+ - * /``, exact on decimals) and ``a if c else b``,
- a comparison where one side has no fixed kind (``any``), equality of lists, text
  containment (``'x' in text``), and a negated list membership (durable's ``$iall`` is
  false for an empty list),
- the parameters that change over time (their value at the event's instant).

Values are written as :mod:`._durable_values` encodes them, so equality and order are
exact and typed (no float, no ``'1' == 1``). None is an explicit value (``Z``) in every
fact, which also gives the native null semantics: ``==``/``!=`` treat None as Python does,
ordering comparisons with None are false, and their negation is true.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from ..errors import CommitRulesError, Location
from ..expr import Scope, compile_expression
from ..expr._parse import DEFAULT_LIMITS, ParsedExpression, decimal_literal, parse
from ..expr._types import ValueType, kind_of_value
from ._durable_values import FALSE, NONE, TRUE, encode

__all__ = [
    "ALWAYS",
    "NEVER",
    "Cond",
    "ConditionTranslator",
    "FactLayout",
    "all_of",
    "any_of",
    "pattern",
]

Cond = dict[str, Any] | bool
"""A durable JSON condition, or True / False once folded."""

ALWAYS: Cond = True
NEVER: Cond = False

_FLIP = {"$lt": "$gt", "$lte": "$gte", "$gt": "$lt", "$gte": "$lte", "$eq": "$eq", "$neq": "$neq"}
_OPPOSITE = {
    "$lt": "$gte",
    "$lte": "$gt",
    "$gt": "$lte",
    "$gte": "$lt",
    "$eq": "$neq",
    "$neq": "$eq",
}
_OPS: Mapping[type[ast.cmpop], str] = {
    ast.Eq: "$eq",
    ast.NotEq: "$neq",
    ast.Lt: "$lt",
    ast.LtE: "$lte",
    ast.Gt: "$gt",
    ast.GtE: "$gte",
}
_SYMBOLS: Mapping[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}


def all_of(parts: Sequence[Cond]) -> Cond:
    """Conjunction, folded and flattened."""
    out: list[dict[str, Any]] = []
    for part in parts:
        if part is False:
            return False
        if part is True:
            continue
        assert isinstance(part, dict)
        out.extend(part["$and"] if set(part) == {"$and"} else [part])
    if not out:
        return True
    return out[0] if len(out) == 1 else {"$and": out}


def any_of(parts: Sequence[Cond]) -> Cond:
    """Disjunction, folded and flattened."""
    out: list[dict[str, Any]] = []
    for part in parts:
        if part is True:
            return True
        if part is False:
            continue
        assert isinstance(part, dict)
        out.extend(part["$or"] if set(part) == {"$or"} else [part])
    if not out:
        return False
    return out[0] if len(out) == 1 else {"$or": out}


def pattern(kind: str, *conditions: Cond) -> dict[str, Any] | None:
    """A pattern on facts with ``t == kind``; None when the conditions can never hold."""
    folded = all_of([{"t": kind}, *conditions])
    if folded is False:
        return None
    assert isinstance(folded, dict)
    return folded


class FactLayout:
    """The fields of one kind of fact, and how to fill them from an event.

    Event fields are written as ``f_<name>`` (event field names may start with ``_``);
    the computed attributes, parameters and constants as ``_d<n>``, ``_p_<name>`` and
    ``_c<n>``; ``t`` (the kind of fact) and ``id`` belong to the caller.
    """

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.params: dict[str, str] = {}
        self.constants: dict[str, Any] = {"_none": NONE}
        self.derived: list[tuple[str, Callable[..., object], bool, bool]] = []
        self._derived_keys: dict[tuple[str, bool], str] = {}
        self.null_flags: dict[str, str] = {}

    def field(self, name: str) -> str:
        """The fact field holding an event field (registered on first use)."""
        key = self.fields.get(name)
        if key is None:
            key = self.fields[name] = "f_" + name
        return key

    def param(self, name: str) -> str:
        """The fact field holding a parameter's value at the event's instant."""
        key = self.params.get(name)
        if key is None:
            key = self.params[name] = "_p_" + name
        return key

    def constant(self, encoded: Any) -> str:
        """A fact field holding a fixed value (to compare with another fact's field)."""
        for key, value in self.constants.items():
            if value == encoded and type(value) is type(encoded):
                return key
        key = f"_c{len(self.constants)}"
        self.constants[key] = encoded
        return key

    def null_flag(self, key: str) -> str:
        """A field saying whether a list field is None (durable cannot compare a list)."""
        flag = self.null_flags.get(key)
        if flag is None:
            flag = self.null_flags[key] = "_n" + key
        return flag

    def derive(
        self, source: str, function: Callable[..., object], *, truth: bool, on_prior: bool
    ) -> str:
        """A computed attribute: the value (or truth) of a compiled sub-expression."""
        found = self._derived_keys.get((source, truth))
        if found is not None:
            return found
        key = f"_d{len(self.derived)}"
        self.derived.append((key, function, truth, on_prior))
        self._derived_keys[(source, truth)] = key
        return key

    def values(self, event: Mapping[str, Any], services: Any) -> dict[str, Any]:
        """The fields of the fact for one event (the caller adds ``t`` and ``id``)."""
        out: dict[str, Any] = {key: encode(event.get(name)) for name, key in self.fields.items()}
        if self.params:
            params = services.params
            for name, key in self.params.items():
                out[key] = encode(params.get(name))
        out.update(self.constants)
        for key, function, truth, on_prior in self.derived:
            value = function({}, event, services) if on_prior else function(event, None, services)
            out[key] = encode(bool(value)) if truth else encode(value)
        for key, flag in self.null_flags.items():
            out[flag] = TRUE if out[key] == NONE else FALSE
        return out


@attrs.frozen
class _Term:
    """A value in a comparison: a constant, or a field of this fact or of another pattern."""

    kind: str
    nullable: bool
    field: str | None = None
    alias: str | None = None  # None: the fact being matched
    value: Any = None  # the raw constant when field is None

    @property
    def constant(self) -> bool:
        return self.field is None


class _UnsupportedError(Exception):
    """A sub-expression durable cannot evaluate and no computed attribute can stand for."""


class ConditionTranslator:
    """Translates the conditions of one kind of fact (and its prior, for precedence)."""

    def __init__(
        self,
        scope: Scope,
        layout: FactLayout,
        *,
        rule_id: str,
        prior_alias: str | None = None,
        prior_layout: FactLayout | None = None,
    ) -> None:
        self.scope = scope
        self.layout = layout
        self.rule_id = rule_id
        self.prior_alias = prior_alias
        self.prior_layout = prior_layout
        self._parsed: ParsedExpression | None = None
        self._text = ""

    # -- entry ---------------------------------------------------------------------------
    def translate(self, text: str) -> tuple[Cond, Cond]:
        """(the condition holds, the condition does not hold) as durable conditions."""
        self._parsed = parse(text, location=Location(rule_id=self.rule_id), limits=DEFAULT_LIMITS)
        self._text = text
        tree = self._parsed.tree
        try:
            return self.cond(tree, positive=True), self.cond(tree, positive=False)
        except _UnsupportedError as error:
            msg = (
                f"the durable backend cannot evaluate {error.args[0]!r} in the condition "
                f"{text!r}: it reads the prior event together with the triggering event, "
                "parameters or tables inside a function or arithmetic, which durable-rules "
                "can neither join nor compute before the join; use the native backend, or "
                "compare prior fields directly (prior.x <= ...)"
            )
            raise CommitRulesError(msg, Location(rule_id=self.rule_id)) from None

    # -- tests ----------------------------------------------------------------------------
    def cond(self, node: ast.expr, *, positive: bool) -> Cond:
        """A test node as a durable condition (negated unless ``positive``)."""
        if isinstance(node, ast.BoolOp):
            parts = [self.cond(value, positive=positive) for value in node.values]
            conjunction = isinstance(node.op, ast.And) == positive
            return all_of(parts) if conjunction else any_of(parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self.cond(node.operand, positive=not positive)
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            pieces = [
                self.pair(op, operands[index], operands[index + 1], positive=positive)
                for index, op in enumerate(node.ops)
            ]
            return all_of(pieces) if positive else any_of(pieces)
        if isinstance(node, ast.Constant):
            return bool(node.value) == positive
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name == "is_set":
                return self.null_test(self.term(node.args[0]), is_none=not positive)
            if name in ("includes_all", "includes_any") and positive:
                found = self.includes(node, every=name == "includes_all")
                if found is not None:
                    return found
        term = self.term(node)
        if term.kind == "bool":
            return self.compare("$eq" if positive else "$neq", term, self.const(True))
        truth = self.derive(node, truth=True)
        return self.compare("$eq" if positive else "$neq", truth, self.const(True))

    def pair(self, op: ast.cmpop, left: ast.expr, right: ast.expr, *, positive: bool) -> Cond:
        """One comparison of a (possibly chained) comparison."""
        if isinstance(op, ast.Is | ast.IsNot):
            other = left if _is_none(right) else right
            is_none = isinstance(op, ast.Is) == positive
            return self.null_test(self.term(other), is_none=is_none)
        left_term, right_term = self.term(left), self.term(right)
        kinds = (left_term.kind, right_term.kind)
        if left_term.alias is not None and right_term.alias is not None:
            # Both on the prior event: computed on the prior fact.
            return self.derived_pair(op, left, right, positive=positive)
        if isinstance(op, ast.In | ast.NotIn):
            return self.membership(op, left, right, left_term, right_term, positive=positive)
        operator = _OPS[type(op)]
        if operator in ("$eq", "$neq"):
            if "none" in kinds:
                checked = right_term if left_term.kind == "none" else left_term
                return self.null_test(checked, is_none=(operator == "$eq") == positive)
            if "any" in kinds or "list" in kinds:
                return self.derived_pair(op, left, right, positive=positive)
            return self.compare(
                operator if positive else _OPPOSITE[operator], left_term, right_term
            )
        if "any" in kinds:
            return self.derived_pair(op, left, right, positive=positive)
        if any(term.constant and term.value is None for term in (left_term, right_term)):
            return not positive  # an ordering comparison with None is false
        nullable = [term for term in (left_term, right_term) if term.nullable]
        if positive:
            guards = [self.null_test(term, is_none=False) for term in nullable]
            return all_of([self.compare(operator, left_term, right_term), *guards])
        nulls = [self.null_test(term, is_none=True) for term in nullable]
        return any_of([self.compare(_OPPOSITE[operator], left_term, right_term), *nulls])

    def membership(
        self,
        op: ast.cmpop,
        left: ast.expr,
        right: ast.expr,
        left_term: _Term,
        right_term: _Term,
        *,
        positive: bool,
    ) -> Cond:
        """``x in [a, b]`` as equalities; ``'a' in list_field`` as ``$iany``."""
        inside = isinstance(op, ast.In) == positive
        if left_term.kind == "none":
            return not inside  # None is never a member
        plain = left_term.kind not in ("any", "list")
        if right_term.constant and isinstance(right_term.value, tuple) and plain:
            items = [self.const(item) for item in right_term.value if item is not None]
            if inside:
                return any_of([self.compare("$eq", left_term, item) for item in items])
            return all_of([self.compare("$neq", left_term, item) for item in items])
        if (
            inside
            and right_term.kind == "list"
            and right_term.field is not None
            and right_term.alias is None
            and left_term.constant
            and isinstance(left_term.value, str)
        ):
            return {"$iany": {right_term.field: {"$i": encode(left_term.value)}}}
        return self.derived_pair(op, left, right, positive=positive)

    def includes(self, node: ast.Call, *, every: bool) -> Cond | None:
        """``includes_all(list_field, [...])`` / ``includes_any`` as ``$iany`` tests."""
        items, wanted = node.args
        items_term = self.term(items)
        wanted_term = self.term(wanted)
        if (
            items_term.kind != "list"
            or items_term.field is None
            or items_term.alias is not None
            or not wanted_term.constant
            or not isinstance(wanted_term.value, tuple)
        ):
            return None
        values = wanted_term.value
        if not all(isinstance(value, str) for value in values):
            if every:
                return NEVER  # a list of texts never holds None
            values = tuple(value for value in values if isinstance(value, str))
        tests: list[Cond] = [
            {"$iany": {items_term.field: {"$i": encode(value)}}} for value in values
        ]
        if every:
            # An empty wanted list: true whenever the list is there.
            return all_of([self.null_test(items_term, is_none=False), *tests])
        return any_of(tests)

    def null_test(self, term: _Term, *, is_none: bool) -> Cond:
        """``term is None`` (or ``is not None``)."""
        if term.constant:
            return (term.value is None) == is_none
        if term.kind == "list":
            assert term.field is not None
            layout = self.layout if term.alias is None else self.prior_layout
            assert layout is not None
            flag = _Term("bool", False, field=layout.null_flag(term.field), alias=term.alias)
            return self.compare("$eq" if is_none else "$neq", flag, self.const(True))
        return self.compare("$eq" if is_none else "$neq", term, self.const(None))

    def derived_pair(
        self, op: ast.cmpop, left: ast.expr, right: ast.expr, *, positive: bool
    ) -> Cond:
        """A comparison computed in Python (a computed attribute), tested in durable."""
        assert self._parsed is not None
        text = (
            f"({self._parsed.segment(left)}) {_SYMBOLS[type(op)]} ({self._parsed.segment(right)})"
        )
        term = self._derive_text(text, truth=True, shown=text)
        return self.compare("$eq" if positive else "$neq", term, self.const(True))

    # -- comparisons of two terms -----------------------------------------------------------
    def compare(self, operator: str, left: _Term, right: _Term) -> Cond:
        """``left operator right`` on encoded values, the field of this fact on the left."""
        if left.constant and right.constant:
            a, b = encode(left.value), encode(right.value)
            return _fold(operator, a, b)
        if left.field is None or left.alias is not None:
            if right.field is not None and right.alias is None:
                return self.compare(_FLIP[operator], right, left)
            if left.constant:
                left = _Term(left.kind, False, field=self.layout.constant(encode(left.value)))
            elif right.constant:
                right = _Term(right.kind, False, field=self.layout.constant(encode(right.value)))
                return self.compare(_FLIP[operator], right, left)
            else:
                msg = "two fields of the prior event"
                raise _UnsupportedError(msg)
        assert left.field is not None
        if right.constant:
            value: Any = encode(right.value)
        elif right.alias is None:
            value = {"$m": right.field}
        else:
            value = {right.alias: right.field}
        if operator == "$eq":
            return {left.field: value}
        return {operator: {left.field: value}}

    # -- terms ----------------------------------------------------------------------------
    @staticmethod
    def const(value: object) -> _Term:
        """A constant term."""
        kind = "none" if value is None else kind_of_value(value).kind
        return _Term(kind, value is None, value=value)

    def term(self, node: ast.expr) -> _Term:
        """What a value node reads: a constant, a field, a parameter, or a computed value."""
        assert self._parsed is not None
        if isinstance(node, ast.Constant):
            if isinstance(node.value, float):
                return self.const(decimal_literal(self._parsed, node))
            return self.const(node.value)
        if isinstance(node, ast.Name):
            field = self.scope.fields[node.id]
            value_type = ValueType.of_field(field)
            return _Term(value_type.kind, value_type.nullable, field=self.layout.field(node.id))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "prior":
                assert self.scope.prior_fields is not None
                assert self.prior_layout is not None
                value_type = ValueType.of_field(self.scope.prior_fields[node.attr], nullable=True)
                return _Term(
                    value_type.kind,
                    True,
                    field=self.prior_layout.field(node.attr),
                    alias=self.prior_alias,
                )
            return self.param(node.attr)
        if isinstance(node, ast.List | ast.Tuple):
            items = [self.term(item) for item in node.elts]
            if all(item.constant for item in items):
                return _Term("list", False, value=tuple(item.value for item in items))
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub | ast.UAdd)
            and isinstance(node.operand, ast.Constant)
        ):
            inner = self.term(node.operand)
            number = inner.value
            if isinstance(number, int | Decimal) and not isinstance(number, bool):
                return self.const(-number if isinstance(node.op, ast.USub) else number)
        return self.derive(node, truth=False)

    def param(self, name: str) -> _Term:
        """A parameter: its value when it never changes, else a field of the fact."""
        declared = self.scope.params.get(name)
        if name in self.scope.constant_params:
            value = self.scope.constant_params[name]
            if isinstance(value, list | tuple | frozenset | set):
                value = tuple(value)
            if isinstance(value, float):
                value = Decimal(repr(value))
            return self.const(value)
        assert declared is not None
        value_type = ValueType.of_field(declared)
        return _Term(value_type.kind, value_type.nullable, field=self.layout.param(name))

    def derive(self, node: ast.expr, *, truth: bool) -> _Term:
        """A computed attribute for a value node (or its truth)."""
        assert self._parsed is not None
        text = self._parsed.segment(node)
        return self._derive_text(text, truth=truth, shown=text)

    def _derive_text(self, text: str, *, truth: bool, shown: str) -> _Term:
        compiled = compile_expression(
            text, self.scope, location=Location(rule_id=self.rule_id), require_bool=False
        )
        on_prior = bool(compiled.prior_fields)
        if on_prior and (compiled.fields or compiled.params or compiled.tables):
            raise _UnsupportedError(shown)
        layout = self.layout
        alias = None
        if on_prior:
            assert self.prior_layout is not None
            layout = self.prior_layout
            alias = self.prior_alias
        key = layout.derive(text, compiled.function, truth=truth, on_prior=on_prior)
        if truth:
            return _Term("bool", False, field=key, alias=alias)
        nullable = compiled.optional or compiled.kind in ("any", "none")
        return _Term(compiled.kind, nullable, field=key, alias=alias)


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _fold(operator: str, a: Any, b: Any) -> bool:
    if operator == "$eq":
        return bool(a == b)
    if operator == "$neq":
        return bool(a != b)
    if operator == "$lt":
        return bool(a < b)
    if operator == "$lte":
        return bool(a <= b)
    if operator == "$gt":
        return bool(a > b)
    return bool(a >= b)
