"""A checked tree to one Python function: names against the scope, types, code.

One pass over the tree does both jobs: each node gives back its static type and a
fragment of Python source. The fragments are built only from fixed templates, operators
chosen here and generated names (``e``, ``pr``, ``ctx``, ``_k0``, ``_v0``, ``_h_len``);
every value from the condition's text, every field, parameter, table and column name is
a constant in the function's globals, so nothing a pack author writes is ever read by
Python's compiler. The source is compiled once, when the pack loads, into a
``lambda e, pr, ctx: ...`` whose globals hold no built-ins.

Null safety costs a check only where the type says a value may be None.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Protocol, cast

import attrs

from commitrules.errors import ExpressionError, Location

from . import builtins
from ._context import EvalContext
from ._parse import DEFAULT_LIMITS, Limits, ParsedExpression, decimal_literal, parse
from ._types import (
    NUMERIC,
    Kind,
    Scope,
    TableInfo,
    ValueType,
    describe,
    equatable,
    join,
    kind_of_value,
    orderable,
)

__all__ = ["CompiledExpression", "ConditionFunction", "compile_expression"]


ConditionFunction = Callable[
    [Mapping[str, object], Mapping[str, object] | None, EvalContext], object
]
"""The compiled form: ``function(event, prior, ctx)``."""


@attrs.frozen
class CompiledExpression:
    """A condition compiled once, at load time, into a Python function.

    Call it (or, on a hot path, its :attr:`function`) with the event as a plain dict
    holding every declared field, the prior event (or None) and an :class:`EvalContext`.
    ``fields``, ``prior_fields``, ``params`` and ``tables`` list what it reads, in the
    order it first reads them; ``kind`` is its static result kind and ``optional`` says
    whether it may give None (only when compiled with ``require_bool=False``).
    ``python_source`` is the generated source, for debugging; it holds no text of the
    condition.
    """

    source: str
    function: ConditionFunction = attrs.field(repr=False)
    fields: tuple[str, ...]
    prior_fields: tuple[str, ...]
    params: tuple[str, ...]
    tables: tuple[str, ...]
    kind: str
    optional: bool = False
    python_source: str = attrs.field(default="", repr=False)

    def __call__(
        self,
        event: Mapping[str, object],
        prior: Mapping[str, object] | None,
        ctx: EvalContext,
    ) -> object:
        """Evaluate the condition for one event."""
        return self.function(event, prior, ctx)


def compile_expression(
    text: str,
    scope: Scope,
    *,
    location: Location | None = None,
    require_bool: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> CompiledExpression:
    """Parse, check and compile a condition over a scope.

    ``location`` (the file, line, key and rule holding the condition) is carried by
    every error. With ``require_bool`` (the default) the condition must be true or false;
    without it, any kind of value may result (an amount, a text).

    >>> from decimal import Decimal
    >>> from commitrules.expr import FieldType, StaticContext
    >>> scope = Scope(fields={"amount": FieldType("decimal"), "channel": FieldType("str")})
    >>> condition = compile_expression("amount > 1000000 and channel == 'branch'", scope)
    >>> condition({"amount": Decimal("2500000"), "channel": "branch"}, None, StaticContext())
    True
    >>> condition.fields
    ('amount', 'channel')

    Compile once, when the pack loads, not per event: parsing briefly changes the
    process's warning filters (so that a parser warning is refused, not printed), which
    is not safe to do from many threads at once.

    Raises:
        ExpressionError: the condition does not parse, uses something not allowed, names
            something the scope lacks, or mixes kinds; at the offset of the culprit.
    """
    parsed = parse(text, location=location, limits=limits)
    compiler = _Compiler(parsed, scope)
    try:
        result = compiler.visit(parsed.tree)
        body = compiler.top_level(result, require_bool=require_bool)
        python_source = f"lambda e, pr, ctx: {body}"
        code = compile(python_source, "<condition>", "eval")
    except (RecursionError, MemoryError):
        raise parsed.error("the condition is too complex to compile", 0) from None
    namespace: dict[str, object] = {"__builtins__": {}, **builtins.HELPERS, **compiler.constants}
    # The source is ours alone (see the module docstring), and its globals hold no
    # built-ins: evaluating it defines a lambda and nothing else.
    function = cast("ConditionFunction", eval(code, namespace))  # noqa: S307
    return CompiledExpression(
        source=text,
        function=function,
        fields=tuple(compiler.fields),
        prior_fields=tuple(compiler.prior_fields),
        params=tuple(compiler.params),
        tables=tuple(compiler.tables),
        kind="bool" if require_bool else result.type.kind,
        optional=result.type.nullable and not require_bool,
        python_source=python_source,
    )


@attrs.define
class _Code:
    """A compiled part: its source (None until a constant is first used) and type."""

    text: str | None
    type: ValueType
    constant: bool = False
    value: object = None


_SYMBOLS: Mapping[type[ast.AST], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
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

_ORDER_HELPERS: Mapping[type[ast.AST], str] = {
    ast.Lt: "_h_less",
    ast.LtE: "_h_less_equal",
    ast.Gt: "_h_greater",
    ast.GtE: "_h_greater_equal",
}

_ARITHMETIC_HELPERS: Mapping[type[ast.AST], str] = {
    ast.Add: "_h_add",
    ast.Sub: "_h_subtract",
    ast.Mult: "_h_multiply",
}

_ARITHMETIC_WORDS: Mapping[type[ast.AST], str] = {
    ast.Add: "add",
    ast.Sub: "subtract",
    ast.Mult: "multiply",
    ast.Div: "divide",
}

_LITERAL_HINTS: Mapping[str, str] = {
    "true": "True",
    "false": "False",
    "none": "None",
    "null": "None",
    "nil": "None",
}

_TEXT: frozenset[str] = frozenset({"str"})
_LIST: frozenset[str] = frozenset({"list"})
_SIZED: frozenset[str] = frozenset({"str", "list"})
_ORDERED: frozenset[str] = frozenset({"int", "decimal", "str", "datetime"})


def _fits(declared: str, actual: str) -> bool:
    """Whether a constant parameter's value is of the kind its declaration says."""
    if declared == "any" or actual in ("none", declared):
        return True
    return declared == "decimal" and actual == "int"


class _Builder(Protocol):
    def __call__(self, operands: Sequence[str]) -> str: ...


class _Compiler:
    """One compilation: its constants, its temporaries, and what the condition reads."""

    def __init__(self, parsed: ParsedExpression, scope: Scope) -> None:
        self.parsed = parsed
        self.scope = scope
        self.constants: dict[str, object] = {}
        self._keys: dict[tuple[str, str], str] = {}
        self._temporaries = 0
        # Ordered sets (dict keys) of what the condition reads.
        self.fields: dict[str, None] = {}
        self.prior_fields: dict[str, None] = {}
        self.params: dict[str, None] = {}
        self.tables: dict[str, None] = {}

    # -- plumbing -----------------------------------------------------------------------
    def error(self, reason: str, at: ast.AST | int) -> ExpressionError:
        """An error at a node, or at a character offset."""
        offset = at if isinstance(at, int) else self.parsed.offset(at)
        return self.parsed.error(reason, offset)

    def constant(self, value: object) -> str:
        """A new global holding a value; its generated name goes in the source."""
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name

    def key(self, role: str, name: str) -> str:
        """The global holding a field, parameter, table or column name (one per name)."""
        found = self._keys.get((role, name))
        if found is None:
            found = self._keys[(role, name)] = self.constant(name)
        return found

    def temporary(self) -> str:
        name = f"_v{self._temporaries}"
        self._temporaries += 1
        return name

    def emit(self, code: _Code) -> str:
        """The source of a part; a constant becomes a global the first time it is used."""
        if code.text is None:
            value = code.value
            if value is None or isinstance(value, bool):
                code.text = repr(value)  # None, True or False: keywords, not user text
            else:
                code.text = self.constant(value)
        return code.text

    def collection(self, code: _Code) -> str:
        """The source of a list for ``in``: a constant list becomes a frozenset."""
        if code.constant and isinstance(code.value, tuple):
            try:
                return self.constant(frozenset(code.value))
            except TypeError:  # pragma: no cover - constant items are all hashable
                return self.constant(code.value)
        return self.emit(code)

    def guarded_value(self, parts: Sequence[_Code], build: _Builder) -> str:
        """``build`` of the parts, or None when a part that may be None is None."""
        names, checks = self._guards(parts, "is None")
        body = build(names)
        return f"(None if {' or '.join(checks)} else {body})" if checks else body

    def guarded_test(self, parts: Sequence[_Code], build: _Builder) -> str:
        """``build`` of the parts, or False when a part that may be None is None."""
        names, checks = self._guards(parts, "is not None")
        body = build(names)
        return f"({' and '.join(checks)} and {body})" if checks else body

    def _guards(self, parts: Sequence[_Code], test: str) -> tuple[list[str], list[str]]:
        names: list[str] = []
        checks: list[str] = []
        for part in parts:
            source = self.emit(part)
            if part.constant and part.value is None:
                # A constant parameter that is None: the guard's outcome is known now.
                checks.append("True" if test == "is None" else "False")
                names.append(source)
            elif part.type.nullable and not part.constant:
                temporary = self.temporary()
                checks.append(f"({temporary} := {source}) {test}")
                names.append(temporary)
            else:
                names.append(source)
        return names, checks

    def truth(self, code: _Code) -> str:
        """A part as True or False (None and empty values are false)."""
        source = self.emit(code)
        if code.type.kind == "bool" and not code.type.nullable:
            return source
        return f"(not not {source})"

    def unknown(self, what: str, name: str, known: Iterable[str], where: str = "") -> str:
        """'unknown field 'x'', with a suggestion when a known name is close."""
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown {what} {name!r}{where}{hint}"

    def expect(
        self, code: _Code, node: ast.AST, kinds: frozenset[str], wanted: str, function: str
    ) -> None:
        kind = code.type.kind
        if kind not in kinds and kind not in ("any", "none"):
            raise self.error(f"{function}() needs {wanted} here, not {describe(kind)}", node)

    # -- the whole condition ------------------------------------------------------------
    def top_level(self, result: _Code, *, require_bool: bool) -> str:
        if not require_bool:
            return self.emit(result)
        kind = result.type.kind
        if kind == "bool" and not result.type.nullable:
            return self.emit(result)
        if kind in ("bool", "any"):
            return self.truth(result)  # a missing value is false
        raise self.error(
            f"a condition must be true or false, but this gives {describe(kind)}",
            self.parsed.offset(self.parsed.tree),
        )

    # -- nodes ----------------------------------------------------------------------------
    def visit(self, node: ast.expr) -> _Code:
        if isinstance(node, ast.Constant):
            return self.visit_constant(node)
        if isinstance(node, ast.Name):
            return self.visit_name(node)
        if isinstance(node, ast.Attribute):
            return self.visit_attribute(node)
        if isinstance(node, ast.List | ast.Tuple):
            return self.visit_list(node)
        if isinstance(node, ast.UnaryOp):
            return self.visit_unary(node)
        if isinstance(node, ast.BinOp):
            return self.visit_binary(node)
        if isinstance(node, ast.BoolOp):
            return self.visit_boolean(node)
        if isinstance(node, ast.Compare):
            return self.visit_compare(node)
        if isinstance(node, ast.IfExp):
            return self.visit_if(node)
        if isinstance(node, ast.Call):
            return self.visit_call(node)
        # parse() lets nothing else through; refuse rather than trust that.
        raise self.error(f"{type(node).__name__} is not allowed", node)  # pragma: no cover

    def visit_constant(self, node: ast.Constant) -> _Code:
        value = node.value
        if value is None:
            return _Code("None", ValueType("none", nullable=True), constant=True)
        if isinstance(value, bool):
            return _Code(repr(value), ValueType("bool"), constant=True, value=value)
        if isinstance(value, int):
            return _Code(None, ValueType("int"), constant=True, value=value)
        if isinstance(value, float):
            number = decimal_literal(self.parsed, node)
            return _Code(None, ValueType("decimal"), constant=True, value=number)
        if isinstance(value, str):
            return _Code(None, ValueType("str"), constant=True, value=value)
        raise self.error(f"{self.parsed.segment(node)!r} is not allowed", node)  # pragma: no cover

    def visit_name(self, node: ast.Name) -> _Code:
        name = node.id
        field = self.scope.fields.get(name)
        if field is None:
            raise self.error(self._unknown_name(name), node)
        self.fields[name] = None
        return _Code(f"e[{self.key('field', name)}]", ValueType.of_field(field))

    def _unknown_name(self, name: str) -> str:
        if name in ("prior", "params"):
            return f"{name!r} on its own is not a value: write {name}.NAME"
        if name in builtins.FUNCTIONS:
            return f"{name!r} is a function: call it as {builtins.FUNCTIONS[name].signature}"
        if name.lower() in _LITERAL_HINTS:
            return f"unknown field {name!r}; did you mean {_LITERAL_HINTS[name.lower()]}?"
        if name in self.scope.params or name in self.scope.constant_params:
            return f"unknown field {name!r}; did you mean 'params.{name}'?"
        return self.unknown("field", name, self.scope.fields)

    def visit_attribute(self, node: ast.Attribute) -> _Code:
        assert isinstance(node.value, ast.Name)
        name = node.attr
        at = self.parsed.attribute_offset(node)
        if node.value.id == "prior":
            prior = self.scope.prior_fields
            if prior is None:
                raise self.error(
                    f"there is no prior event here, so prior.{name} cannot be used",
                    node,
                )
            field = prior.get(name)
            if field is None:
                raise self.error(self.unknown("field", name, prior, " of the prior event"), at)
            self.prior_fields[name] = None
            source = f"(None if pr is None else pr.get({self.key('field', name)}))"
            return _Code(source, ValueType.of_field(field, nullable=True))
        declared = self.scope.params.get(name)
        if name in self.scope.constant_params:
            self.params[name] = None
            value = self.scope.constant_params[name]
            if isinstance(value, list | tuple | frozenset | set):
                value = tuple(value)
            if isinstance(value, float):  # never a float in arithmetic: Decimal as written
                value = Decimal(repr(value))
            actual = kind_of_value(value)
            if declared is None:
                value_type = actual
            else:
                value_type = ValueType.of_field(declared)
                if not _fits(declared.kind, actual.kind):
                    raise self.error(
                        f"parameter {name!r} is declared as {describe(declared.kind)}, "
                        f"but its value is {describe(actual.kind)}",
                        at,
                    )
            if value is None:
                return _Code("None", attrs.evolve(value_type, nullable=True), constant=True)
            return _Code(None, value_type, constant=True, value=value)
        if declared is None:
            known = {*self.scope.params, *self.scope.constant_params}
            raise self.error(self.unknown("parameter", name, known), at)
        self.params[name] = None
        key = self.key("param", name)
        source = f"ctx.params.get({key})" if declared.optional else f"ctx.params[{key}]"
        return _Code(source, ValueType.of_field(declared))

    def visit_list(self, node: ast.List | ast.Tuple) -> _Code:
        items = [self.visit(item) for item in node.elts]
        element = ValueType("any")
        if items:
            element = items[0].type
            for item, item_node in zip(items[1:], node.elts[1:], strict=True):
                joined = join(element, item.type)
                if joined is None:
                    raise self.error(
                        "the items of a list must all be of one kind: "
                        f"{describe(element.kind)} and {describe(item.type.kind)}",
                        item_node,
                    )
                element = joined
        for item, item_node in zip(items, node.elts, strict=True):
            if item.type.kind == "list":
                raise self.error("a list cannot hold lists", item_node)
        list_type = ValueType("list", element=element.kind)
        if all(item.constant for item in items):
            return _Code(None, list_type, constant=True, value=tuple(i.value for i in items))
        sources = [self.emit(item) for item in items]
        return _Code(f"({', '.join(sources)},)", list_type)

    def visit_unary(self, node: ast.UnaryOp) -> _Code:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return _Code(f"(not {self.emit(operand)})", ValueType("bool"))
        symbol = "-" if isinstance(node.op, ast.USub) else "+"
        kind = operand.type.kind
        if kind not in NUMERIC and kind != "any":
            raise self.error(f"'{symbol}' needs a number, not {describe(kind)}", node)
        value = operand.value
        if operand.constant and isinstance(value, int | Decimal) and not isinstance(value, bool):
            folded = -value if symbol == "-" else value
            return _Code(None, operand.type, constant=True, value=folded)
        if kind == "any":
            helper = "_h_negate" if symbol == "-" else "_h_positive"
            return _Code(f"{helper}({self.emit(operand)})", operand.type)
        source = self.guarded_value([operand], lambda n: f"({symbol}{n[0]})")
        return _Code(source, operand.type)

    def visit_binary(self, node: ast.BinOp) -> _Code:
        left, right = self.visit(node.left), self.visit(node.right)
        op = type(node.op)
        at = self.parsed.operator_offset(node.left, node.right)
        lk, rk = left.type.kind, right.type.kind
        nullable = left.type.nullable or right.type.nullable
        texts = lk in ("str", "any") and rk in ("str", "any") and op is ast.Add
        numbers = lk in (*NUMERIC, "any") and rk in (*NUMERIC, "any")
        if not (numbers or texts):
            word = _ARITHMETIC_WORDS[op]
            raise self.error(f"cannot {word} {describe(lk)} and {describe(rk)}", at)
        if op is ast.Div:
            source = f"_h_divide({self.emit(left)}, {self.emit(right)})"
            return _Code(source, ValueType("decimal", nullable=True))
        if "any" in (lk, rk):
            other = rk if lk == "any" else lk
            kind: Kind = "decimal" if other in NUMERIC else "str" if other == "str" else "any"
            source = f"{_ARITHMETIC_HELPERS[op]}({self.emit(left)}, {self.emit(right)})"
            return _Code(source, ValueType(kind, nullable=True))
        if texts:
            result = ValueType("str", nullable)
        else:
            result = ValueType("int" if lk == rk == "int" else "decimal", nullable)
        symbol = _SYMBOLS[op]
        source = self.guarded_value([left, right], lambda n: f"({n[0]} {symbol} {n[1]})")
        return _Code(source, result)

    def visit_boolean(self, node: ast.BoolOp) -> _Code:
        word = " and " if isinstance(node.op, ast.And) else " or "
        parts = [self.truth(self.visit(value)) for value in node.values]
        return _Code(f"({word.join(parts)})", ValueType("bool"))

    def visit_if(self, node: ast.IfExp) -> _Code:
        test = self.visit(node.test)
        body = self.visit(node.body)
        orelse = self.visit(node.orelse)
        joined = join(body.type, orelse.type)
        if joined is None:
            raise self.error(
                "both branches of 'if ... else' must give the same kind, not "
                f"{describe(body.type.kind)} and {describe(orelse.type.kind)}",
                node.orelse,
            )
        source = f"({self.emit(body)} if {self.emit(test)} else {self.emit(orelse)})"
        return _Code(source, joined)

    # -- comparisons ----------------------------------------------------------------------
    def visit_compare(self, node: ast.Compare) -> _Code:
        nodes = [node.left, *node.comparators]
        operands = [self.visit(operand) for operand in nodes]
        pieces = []
        for index, op in enumerate(node.ops):
            at = self.parsed.operator_offset(nodes[index], nodes[index + 1])
            # Chained comparisons repeat the middle operand's code: parts have no side
            # effects, and a chain is rare enough not to need a temporary.
            pieces.append(self.compare(op, operands[index], operands[index + 1], at))
        source = pieces[0] if len(pieces) == 1 else f"({' and '.join(pieces)})"
        return _Code(source, ValueType("bool"))

    def compare(self, op: ast.cmpop, left: _Code, right: _Code, at: int) -> str:
        lk, rk = left.type.kind, right.type.kind
        symbol = _SYMBOLS[type(op)]
        if isinstance(op, ast.Is | ast.IsNot):
            if rk == "none":
                other = left
            elif lk == "none":
                other = right
            else:
                raise self.error(
                    f"'{symbol}' only works with None: write 'x {symbol} None', "
                    f"or use == to compare values",
                    at,
                )
            return f"({self.emit(other)} {symbol} None)"
        if isinstance(op, ast.Eq | ast.NotEq):
            if not equatable(lk, rk):
                raise self.error(
                    f"cannot compare {describe(lk)} with {describe(rk)}: they are never equal",
                    at,
                )
            if "list" in (lk, rk):
                test = f"_h_same_items({self.emit(left)}, {self.emit(right)})"
                return test if isinstance(op, ast.Eq) else f"(not {test})"
            return f"({self.emit(left)} {symbol} {self.emit(right)})"
        if isinstance(op, ast.In | ast.NotIn):
            test = self.membership(left, right, at)
            return test if isinstance(op, ast.In) else f"(not {test})"
        if not orderable(lk, rk):
            raise self.error(
                f"cannot compare {describe(lk)} with {describe(rk)} using '{symbol}'", at
            )
        if "any" in (lk, rk):
            return f"{_ORDER_HELPERS[type(op)]}({self.emit(left)}, {self.emit(right)})"
        return self.guarded_test([left, right], lambda n: f"({n[0]} {symbol} {n[1]})")

    def membership(self, left: _Code, right: _Code, at: int) -> str:
        lk, rk = left.type.kind, right.type.kind
        if rk == "str":
            if lk not in ("str", "any", "none"):
                raise self.error(
                    "'in' with text on the right looks for a piece of text, "
                    f"so the left must be text, not {describe(lk)}",
                    at,
                )
        elif rk == "list":
            element = right.type.element or "any"
            if not equatable(lk, element):
                raise self.error(
                    f"cannot look for {describe(lk)} in a list of {describe(element)}", at
                )
        elif rk != "any":
            raise self.error(f"'in' needs a list or text on the right, not {describe(rk)}", at)
        if lk == "none":
            return "False"  # None is never a member
        if "any" in (lk, rk):
            return f"_h_member({self.emit(left)}, {self.collection(right)})"
        if right.constant and isinstance(right.value, tuple):
            values = right.value
            items = self.collection(right)
            if None in values:
                # `None in [None]` is true in Python; here None is never a member.
                return self.guarded_test([left], lambda n: f"({n[0]} in {items})")
            return f"({self.emit(left)} in {items})"
        return self.guarded_test([left, right], lambda n: f"({n[0]} in {n[1]})")

    # -- function calls -------------------------------------------------------------------
    def visit_call(self, node: ast.Call) -> _Code:
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        if name == "lookup":
            return self.call_lookup(node)
        if name == "exists":
            return self.call_exists(node)
        args = [self.visit(arg) for arg in node.args]
        handler: Callable[[ast.Call, list[_Code]], _Code] = getattr(self, f"call_{name}")
        return handler(node, args)

    def call_len(self, node: ast.Call, args: list[_Code]) -> _Code:
        (value,) = args
        self.expect(value, node.args[0], _SIZED, "text or a list", "len")
        sure = value.type.kind in _SIZED and not value.type.nullable
        helper = "_h_len" if sure else "_h_length"
        return _Code(f"{helper}({self.emit(value)})", ValueType("int"))

    def _text_function(self, node: ast.Call, args: list[_Code], name: str) -> _Code:
        (value,) = args
        self.expect(value, node.args[0], _TEXT, "text", name)
        nullable = value.type.nullable or value.type.kind == "any"
        return _Code(f"_h_{name}({self.emit(value)})", ValueType("str", nullable))

    def call_lower(self, node: ast.Call, args: list[_Code]) -> _Code:
        return self._text_function(node, args, "lower")

    def call_upper(self, node: ast.Call, args: list[_Code]) -> _Code:
        return self._text_function(node, args, "upper")

    def call_abs(self, node: ast.Call, args: list[_Code]) -> _Code:
        (value,) = args
        self.expect(value, node.args[0], NUMERIC, "a number", "abs")
        kind = value.type.kind
        result = ValueType("decimal", True) if kind in ("any", "none") else value.type
        return _Code(f"_h_abs({self.emit(value)})", result)

    def _extreme(self, node: ast.Call, args: list[_Code], name: str) -> _Code:
        result = args[0].type
        for arg, arg_node in zip(args, node.args, strict=True):
            self.expect(arg, arg_node, _ORDERED, "numbers, texts or date-times", name)
            joined = join(result, arg.type)
            if joined is None:
                raise self.error(
                    f"{name}() needs arguments of one kind, not {describe(result.kind)} "
                    f"and {describe(arg.type.kind)}",
                    arg_node,
                )
            result = joined
        # None arguments are skipped: None results only when every argument may be None.
        nullable = all(arg.type.nullable for arg in args) or result.kind == "any"
        sources = ", ".join(self.emit(arg) for arg in args)
        return _Code(f"_h_{name}({sources})", attrs.evolve(result, nullable=nullable))

    def call_min(self, node: ast.Call, args: list[_Code]) -> _Code:
        return self._extreme(node, args, "min")

    def call_max(self, node: ast.Call, args: list[_Code]) -> _Code:
        return self._extreme(node, args, "max")

    def call_contains(self, node: ast.Call, args: list[_Code]) -> _Code:
        text, sub = args
        self.expect(text, node.args[0], _TEXT, "text", "contains")
        self.expect(sub, node.args[1], _TEXT, "text", "contains")
        if sub.constant and isinstance(sub.value, str):
            needle = self.constant(builtins.normalise(sub.value))
            return _Code(f"_h_contains_normalised({self.emit(text)}, {needle})", ValueType("bool"))
        return _Code(f"_h_contains({self.emit(text)}, {self.emit(sub)})", ValueType("bool"))

    def call_contains_any(self, node: ast.Call, args: list[_Code]) -> _Code:
        text, phrases = args
        self.expect(text, node.args[0], _TEXT, "text", "contains_any")
        self.expect(phrases, node.args[1], _LIST, "a list of texts", "contains_any")
        element = phrases.type.element
        if phrases.type.kind == "list" and element not in ("str", "any", "none", None):
            raise self.error(
                f"contains_any() needs a list of texts, not a list of {describe(element)}",
                node.args[1],
            )
        if phrases.constant and isinstance(phrases.value, tuple):
            needles = tuple(
                builtins.normalise(phrase) for phrase in phrases.value if isinstance(phrase, str)
            )
            source = f"_h_contains_any_normalised({self.emit(text)}, {self.constant(needles)})"
            return _Code(source, ValueType("bool"))
        source = f"_h_contains_any({self.emit(text)}, {self.emit(phrases)})"
        return _Code(source, ValueType("bool"))

    def call_mentions(self, node: ast.Call, args: list[_Code]) -> _Code:
        text, phrases, exceptions = args
        self.expect(text, node.args[0], _TEXT, "text", "mentions")
        for code, arg_node in ((phrases, node.args[1]), (exceptions, node.args[2])):
            self.expect(code, arg_node, _LIST, "a list of texts", "mentions")
            element = code.type.element
            if code.type.kind == "list" and element not in ("str", "any", "none", None):
                raise self.error(
                    f"mentions() needs lists of texts, not a list of {describe(element)}",
                    arg_node,
                )
        source = f"_h_mentions({self.emit(text)}, {self.emit(phrases)}, {self.emit(exceptions)})"
        return _Code(source, ValueType("bool"))

    def call_trim(self, node: ast.Call, args: list[_Code]) -> _Code:
        (value,) = args
        self.expect(value, node.args[0], _TEXT, "text", "trim")
        return _Code(f"_h_trim({self.emit(value)})", ValueType("str", True))

    def _affix(self, node: ast.Call, args: list[_Code], name: str) -> _Code:
        text, affix = args
        self.expect(text, node.args[0], _TEXT, "text", name)
        self.expect(affix, node.args[1], _TEXT, "text", name)
        return _Code(f"_h_{name}({self.emit(text)}, {self.emit(affix)})", ValueType("bool"))

    def call_starts_with(self, node: ast.Call, args: list[_Code]) -> _Code:
        return self._affix(node, args, "starts_with")

    def call_ends_with(self, node: ast.Call, args: list[_Code]) -> _Code:
        return self._affix(node, args, "ends_with")

    def _includes(self, node: ast.Call, args: list[_Code], name: str) -> _Code:
        items, wanted = args
        self.expect(items, node.args[0], _LIST, "a list", name)
        self.expect(wanted, node.args[1], _LIST, "a list", name)
        have = items.type.element or "any"
        want = wanted.type.element or "any"
        if not equatable(have, want):
            raise self.error(
                f"{name}() cannot find items of {describe(want)} in a list of {describe(have)}",
                node.args[1],
            )
        source = f"_h_{name}({self.emit(items)}, {self.collection(wanted)})"
        return _Code(source, ValueType("bool"))

    def call_includes_all(self, node: ast.Call, args: list[_Code]) -> _Code:
        return self._includes(node, args, "includes_all")

    def call_includes_any(self, node: ast.Call, args: list[_Code]) -> _Code:
        return self._includes(node, args, "includes_any")

    def call_is_set(self, node: ast.Call, args: list[_Code]) -> _Code:
        (value,) = args
        return _Code(f"({self.emit(value)} is not None)", ValueType("bool"))

    def _table(self, node: ast.Call, function: str) -> tuple[str, TableInfo]:
        argument = node.args[0]
        if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
            raise self.error(
                f"{function}() needs the table's name written in quotes, "
                f"as in {builtins.FUNCTIONS[function].signature}",
                argument,
            )
        name = argument.value
        table = self.scope.tables.get(name)
        if table is None:
            raise self.error(self.unknown("table", name, self.scope.tables), argument)
        self.tables[name] = None
        return name, table

    def _key(self, node: ast.Call, table: TableInfo, function: str) -> _Code:
        key = self.visit(node.args[1])
        column = table.columns.get(table.key) if table.key is not None else None
        if column is not None and not equatable(key.type.kind, column.kind):
            raise self.error(
                f"{function}() needs a key of {describe(column.kind)} for this table, "
                f"not {describe(key.type.kind)}",
                node.args[1],
            )
        return key

    def call_lookup(self, node: ast.Call) -> _Code:
        name, table = self._table(node, "lookup")
        key = self._key(node, table, "lookup")
        column_node = node.args[2]
        if not (isinstance(column_node, ast.Constant) and isinstance(column_node.value, str)):
            raise self.error(
                "lookup() needs the column's name written in quotes, "
                "as in lookup('table', key, 'column')",
                column_node,
            )
        column = column_node.value
        field = table.columns.get(column)
        if field is None:
            reason = self.unknown("column", column, table.columns, f" in table {name!r}")
            raise self.error(reason, column_node)
        table_key, column_key = self.key("table", name), self.key("column", column)
        source = self.guarded_value(
            [key], lambda n: f"ctx.lookup({table_key}, {n[0]}, {column_key})"
        )
        return _Code(source, ValueType.of_field(field, nullable=True))

    def call_exists(self, node: ast.Call) -> _Code:
        name, table = self._table(node, "exists")
        key = self._key(node, table, "exists")
        table_key = self.key("table", name)
        source = self.guarded_test([key], lambda n: f"ctx.exists({table_key}, {n[0]})")
        return _Code(source, ValueType("bool"))
