"""Vectorised checks: single-event check conditions over whole Arrow columns, merged exactly.

The conditions of ``kind: check`` rules are compiled a second time, to pyarrow compute
expressions (pyarrow was 1.6x faster than polars on a typical condition over a million
rows, the conversion to a polars frame included: ``benchmarks/vector_engines.py``). A batch's
verdicts are computed once per (rule, event type), over the whole batch:

- ``0``: the check does not apply (its ``when`` is false);
- ``1``: it applies and holds;
- ``2``: it applies and is broken;
- ``-1``: undecided: a field the condition reads is null in that row (the engine may fill
  a default, and None has rules of its own), or the column cannot be read as is. The row's
  own condition decides it, through the rule's compiled handler: the fallback is automatic
  and exact.

The merge is exact by construction: every row still goes through
:meth:`commitrules.Engine.process`, which decides duplicates, lateness, ties, the watermark
and every stateful rule as on the per-event path. Only the judging of the vectorised
checks changes: for the batch's rows, the engine's judge of an event type is replaced by
one that reads the precomputed verdicts (a row with nothing to report costs one dict
look-up) and calls the checks' own finding and outcome functions, in rule order, so ids,
routes, waivers, masking, counting and outcomes are the engine's own. A replay after a
failed call (the engine's rollback), a tracer, or the durable backend use the engine's own
judges.

A row with nothing to report skips more than the judging when its type allows it (see
:func:`_lean_types`: no rule prepares or releases it, and only vectorised checks judge it):
its values go to the engine's lean intake (:meth:`commitrules.Engine._accept_values`)
without a dict being made. That intake decides what the full one decides and commits what
it commits; a row that is not plainly new and in time (a repeated id, late, too far ahead)
takes the full intake, which builds the error. On the benchmark's stream with no rules the
lean intake takes a row in about 80% of the full path's time; the reading of the rows and
the per-row digests of the duplicate store remain (``docs/tables.md``).

What is vectorised: fields of text, whole numbers and booleans, constants, parameters with
one value for all time, ``and``/``or``/``not``, comparisons (chained too), ``in`` a list of
constants, whether a field of any kind is set (``is_set``, ``is None``), ``if ... else``,
``max``/``min`` of whole numbers, texts joined with ``+``, ``trim`` and ``len`` of a text,
and ``lookup``/``exists`` in reference tables: a table's
rows for all time by a vectorised index, a key's rows limited by dates matched to each
row's time (the first in force in the table's order, as :class:`TableIndex` does; a batch
whose times are text leaves such a check to the rows). What is not (:func:`vector_plan`
says it per rule and why): stateful kinds (the engine evaluates them row by row), checks
limited to dates, and any condition with a construct the translator does not know exactly:
``mentions`` and the other text functions that normalise or search, ``len`` of a list,
decimals, times and lists as values, parameters whose value changes over time, arithmetic
on numbers.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import Engine
from ..errors import CommitRulesError
from ..eventtime import to_us
from ..pack import Pack
from ..pack._values import TableIndex
from ..rules.check import CheckRule, CheckSpec, emit_violated, fuse_checks
from ..violations import Violation
from ._direct import direct_type
from ._result import RejectedRow
from ._rows import CheckedBatch
from ._schema import Plan

__all__ = ["RulePlan", "VectorEvaluator", "format_plan", "vector_plan"]

NOT_APPLICABLE, HELD, BROKEN, UNDECIDED = 0, 1, 2, -1


@attrs.frozen
class RulePlan:
    """How the vectorised path evaluates one rule on one event type, and why."""

    rule_id: str
    kind: str
    event_type: str | None
    vectorised: bool
    reason: str


class _Untranslatable(Exception):  # noqa: N818 - a control-flow signal, never raised out
    """The condition has a construct without an exact vectorised form."""


@attrs.frozen
class _Condition:
    """A condition compiled for columns: the fields it reads and how to evaluate it."""

    fields: tuple[str, ...]
    evaluate: Callable[[Mapping[str, Any]], Any]
    #: Fields read only for whether they are set (``is_set(x)``, ``x is None``), of any kind.
    present: tuple[str, ...] = ()
    #: Whether it needs each row's time (a look-up in a table with dated rows).
    timed: bool = False


@attrs.frozen
class _VectorCheck:
    """One check on one event type, vectorised."""

    rule_id: str
    when: _Condition | None
    body: _Condition
    obligation: bool


#: Every character ``str.isspace()`` calls white space (what ``str.strip()`` removes).
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_COMPARE: Mapping[type[ast.cmpop], Any] = {
    ast.Eq: pc.equal,
    ast.NotEq: pc.not_equal,
    ast.Lt: pc.less,
    ast.LtE: pc.less_equal,
    ast.Gt: pc.greater,
    ast.GtE: pc.greater_equal,
}
#: Field kinds whose column values reach the event unchanged (text, whole numbers, booleans).
_KINDS = frozenset({"str", "int", "bool"})
_ARROW_TYPES: Mapping[str, pa.DataType] = {
    "str": pa.string(),
    "int": pa.int64(),
    "bool": pa.bool_(),
}


def _constant_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "str"
    raise _Untranslatable(f"a constant of type {type(value).__name__}")


class _Translator:
    """A condition's text to a function of the columns (name -> Arrow array)."""

    def __init__(self, fields: Mapping[str, tuple[str, bool]], pack: Pack) -> None:
        self.fields = fields
        self.pack = pack
        self.read: dict[str, None] = {}
        self.present: dict[str, None] = {}
        self.timed = False

    def translate(self, text: str) -> _Condition:
        tree = ast.parse(text.strip(), mode="eval").body
        kind, build = self.visit(tree)
        if kind != "bool":
            raise _Untranslatable("a condition that is not a plain true or false")
        return _Condition(tuple(self.read), build, tuple(self.present), self.timed)

    def date_us(self, day: dt.date) -> int:
        """A table row's date as the engine reads it: its midnight in the pack's zone."""
        return to_us(dt.datetime.combine(day, dt.time(), tzinfo=self.pack.tz))

    def presence(self, node: ast.expr) -> Any:
        """Whether a field of a kind the columns are not read for is set, or None: a field
        of any kind is set where its column is not null (the engine refuses a row whose
        value it cannot read, so a judged row's non-null value is a value)."""
        if not isinstance(node, ast.Name):
            return None
        declared = self.fields.get(node.id)
        if declared is None or declared[0] in _KINDS:
            return None
        self.present[node.id] = None
        return lambda columns, key=_PRESENT + node.id: columns[key]

    def parameter(self, name: str) -> object:
        parameter = self.pack.parameters.get(name)
        if parameter is None:
            raise _Untranslatable(f"unknown parameter {name!r}")
        values = parameter.values
        if not values or values[0][0] is not None or any(v != values[0][1] for _, v in values):
            raise _Untranslatable(f"params.{name} changes over time (dated values)")
        return values[0][1]

    def constant(self, value: object) -> tuple[str, Any]:
        if isinstance(value, list | tuple):
            kinds = {_constant_kind(item) for item in value}
            if len(kinds) > 1:
                raise _Untranslatable("a list of mixed kinds")
            element = kinds.pop() if kinds else "str"
            return f"list:{element}", list(value)
        if isinstance(value, Decimal) or value is None:
            raise _Untranslatable(f"the constant {value!r}")
        kind = _constant_kind(value)
        return kind, (lambda columns, value=value: value)

    def visit(self, node: ast.expr) -> tuple[str, Any]:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, float):
                raise _Untranslatable("a decimal constant")
            return self.constant(node.value)
        if isinstance(node, ast.List | ast.Tuple):
            values = []
            for item in node.elts:
                if not isinstance(item, ast.Constant):
                    raise _Untranslatable("a list that is not of constants")
                values.append(item.value)
            return self.constant(values)
        if isinstance(node, ast.Name):
            declared = self.fields.get(node.id)
            if declared is None or declared[0] not in _KINDS:
                what = declared[0] if declared else "unknown"
                raise _Untranslatable(f"the field {node.id} ({what})")
            self.read[node.id] = None
            return declared[0], (lambda columns, name=node.id: columns[name])
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "params"
        ):
            return self.constant(self.parameter(node.attr))
        if isinstance(node, ast.BoolOp):
            parts = [self.visit(value) for value in node.values]
            if any(kind != "bool" for kind, _ in parts):
                raise _Untranslatable("'and' or 'or' over values that are not true or false")
            join = pc.and_ if isinstance(node.op, ast.And) else pc.or_
            builds = [build for _, build in parts]

            def joined(columns: Mapping[str, Any]) -> Any:
                result = _truth(builds[0](columns))
                for build in builds[1:]:
                    result = join(result, _truth(build(columns)))
                return result

            return "bool", joined
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            kind, build = self.visit(node.operand)
            if kind != "bool":
                raise _Untranslatable("'not' of a value that is not true or false")
            return "bool", lambda columns: pc.invert(_truth(build(columns)))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            return self.choice(node)
        if isinstance(node, ast.BinOp):
            return self.joined_text(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            name = node.func.id
            if name == "is_set" and len(node.args) == 1:
                argument = node.args[0]
                if isinstance(argument, ast.Constant):
                    raise _Untranslatable("is_set() of a constant")
                present = self.presence(argument)
                if present is not None:
                    return "bool", present
                _, build = self.visit(argument)
                return "bool", lambda columns: pc.is_valid(_array(build(columns), None, columns))
            if name in ("lookup", "exists"):
                return self.table_call(node)
            if name in ("len", "trim") and len(node.args) == 1:
                return self.text_call(name, node.args[0])
            if name in ("max", "min") and len(node.args) >= 2:
                return self.extreme(
                    node, pc.max_element_wise if name == "max" else pc.min_element_wise
                )
            raise _Untranslatable(f"the function {name}()")
        raise _Untranslatable(f"the construct {type(node).__name__}")

    def choice(self, node: ast.IfExp) -> tuple[str, Any]:
        """``a if test else b``: both sides over every row, each row taking one (a test
        that is None is false)."""
        test_kind, test = self.visit(node.test)
        if test_kind != "bool":
            raise _Untranslatable("'if' on a value that is not true or false")
        (kind, body), (other_kind, orelse) = self.visit(node.body), self.visit(node.orelse)
        if kind != other_kind or kind not in _KINDS:
            raise _Untranslatable("'if ... else' across kinds")
        arrow_type = _ARROW_TYPES[kind]

        def chosen(columns: Mapping[str, Any]) -> Any:
            return pc.if_else(
                _truth_array(test(columns), columns),
                _array(body(columns), arrow_type, columns),
                _array(orelse(columns), arrow_type, columns),
            )

        return kind, chosen

    def joined_text(self, node: ast.BinOp) -> tuple[str, Any]:
        """``a + b`` of texts: None when either is (the compiled condition's guard)."""
        if not isinstance(node.op, ast.Add):
            raise _Untranslatable("arithmetic")
        (left_kind, left), (right_kind, right) = self.visit(node.left), self.visit(node.right)
        if left_kind != "str" or right_kind != "str":
            raise _Untranslatable("arithmetic")

        def joined(columns: Mapping[str, Any]) -> Any:
            return pc.binary_join_element_wise(
                _array(left(columns), pa.string(), columns),
                _array(right(columns), pa.string(), columns),
                "",
            )

        return "str", joined

    def text_call(self, name: str, argument: ast.expr) -> tuple[str, Any]:
        """``trim(s)`` (Python's ``str.strip()``: every character ``str.isspace()`` calls
        white space) and ``len(s)`` of a text (in characters; 0 for None)."""
        if isinstance(argument, ast.Constant):
            raise _Untranslatable(f"{name}() of a constant")
        kind, build = self.visit(argument)
        if kind != "str":
            raise _Untranslatable(f"{name}() of a value that is not text")

        def text(columns: Mapping[str, Any]) -> Any:
            return _array(build(columns), pa.string(), columns)

        if name == "trim":
            return "str", lambda columns: pc.utf8_trim(text(columns), characters=WHITESPACE)
        return "int", lambda columns: pc.fill_null(pc.utf8_length(text(columns)), 0)

    def extreme(self, node: ast.Call, function: Any) -> tuple[str, Any]:
        """``max`` and ``min`` of whole numbers, skipping None (None when all are)."""
        parts = [self.visit(argument) for argument in node.args]
        if any(kind != "int" for kind, _ in parts):
            raise _Untranslatable("max() or min() of values that are not whole numbers")
        builds = [build for _, build in parts]

        def extreme(columns: Mapping[str, Any]) -> Any:
            values = [_array(build(columns), pa.int64(), columns) for build in builds]
            return function(*values, skip_nulls=True)

        return "int", extreme

    def table_call(self, node: ast.Call) -> tuple[str, Any]:
        """``lookup('table', key, 'column')`` and ``exists('table', key)``: the table's rows
        by key (the engine's :class:`~commitrules.pack._values.TableIndex`); a row limited by
        dates is matched to each row's time, the first in the table's order winning."""
        lookup = node.func.id == "lookup"  # type: ignore[attr-defined]
        if len(node.args) != (3 if lookup else 2):
            raise _Untranslatable("a look-up with other arguments")
        names = [node.args[0], *node.args[2:]]
        if not all(isinstance(n, ast.Constant) and isinstance(n.value, str) for n in names):
            raise _Untranslatable("a look-up whose table or column is not written as text")
        table = self.pack.tables.get(node.args[0].value)  # type: ignore[attr-defined]
        if table is None:
            raise _Untranslatable("an unknown table")
        key_kind, key = self.visit(node.args[1])
        if isinstance(node.args[1], ast.Constant) or table.columns[table.key][0] != key_kind:
            raise _Untranslatable("a look-up by a constant, or by a key of another kind")
        index = TableIndex(table, self.date_us)
        dated = {k: spans for k, spans in index.by_key.items() if k not in index.always}
        if dated:
            self.timed = True
        key_type = _ARROW_TYPES[key_kind]
        known = pa.array(list(index.always), key_type)
        if not lookup:

            def exists(columns: Mapping[str, Any]) -> Any:
                keys = _array(key(columns), key_type, columns)
                found = pc.fill_null(pc.is_in(keys, value_set=known), False)
                for value, spans in dated.items():
                    for start, end, _ in spans:
                        found = pc.or_(found, _in_force(keys, value, start, end, columns))
                return found

            return "bool", exists
        column = node.args[2].value  # type: ignore[attr-defined]
        declared = table.columns.get(column)
        if declared is None or declared[0] not in _KINDS:
            raise _Untranslatable("a look-up of a column that is not text, whole or boolean")
        value_type = _ARROW_TYPES[declared[0]]
        values = pa.array([row.get(column) for row in index.always.values()], value_type)

        def looked_up(columns: Mapping[str, Any]) -> Any:
            keys = _array(key(columns), key_type, columns)
            result = pc.take(values, pc.index_in(keys, value_set=known))
            for value, spans in dated.items():
                for start, end, row in reversed(spans):  # the first in force wins
                    result = pc.if_else(
                        _in_force(keys, value, start, end, columns),
                        pa.scalar(row.get(column), value_type),
                        result,
                    )
            return result

        return declared[0], looked_up

    def compare(self, node: ast.Compare) -> tuple[str, Any]:
        if (
            len(node.ops) == 1
            and isinstance(node.ops[0], ast.Is | ast.IsNot)
            and isinstance(node.comparators[0], ast.Constant)
            and node.comparators[0].value is None
        ):
            present = self.presence(node.left)
            if present is not None:
                if isinstance(node.ops[0], ast.Is):
                    return "bool", lambda columns: pc.invert(present(columns))
                return "bool", present
            _, build = self.visit(node.left)
            test = pc.is_null if isinstance(node.ops[0], ast.Is) else pc.is_valid
            return "bool", lambda columns: test(build(columns))
        operands = [self.visit(item) for item in (node.left, *node.comparators)]
        pieces = []
        for index, op in enumerate(node.ops):
            (left_kind, left), (right_kind, right) = operands[index], operands[index + 1]
            if isinstance(op, ast.In | ast.NotIn):
                if right_kind.startswith("list:") and not callable(right):
                    element = right_kind.removeprefix("list:")
                    if left_kind != element and right:
                        raise _Untranslatable("'in' across kinds")
                    pieces.append(_membership(left, right, negate=isinstance(op, ast.NotIn)))
                    continue
                raise _Untranslatable("'in' with a value that is not a list of constants")
            function = _COMPARE.get(type(op))
            if function is None or left_kind != right_kind or left_kind.startswith("list:"):
                raise _Untranslatable("a comparison across kinds, or of lists")
            if left_kind == "bool" and not isinstance(op, ast.Eq | ast.NotEq):
                raise _Untranslatable("an order of booleans")
            pieces.append(_binary(function, left, right))
        if len(pieces) == 1:
            return "bool", pieces[0]

        def chained(columns: Mapping[str, Any]) -> Any:
            result = pieces[0](columns)
            for piece in pieces[1:]:
                result = pc.and_(result, piece(columns))
            return result

        return "bool", chained


def _array(value: Any, arrow_type: pa.DataType | None, columns: Mapping[str, Any]) -> Any:
    """A value as a column of the batch's length (a constant repeated; of ``arrow_type``,
    or the type Arrow infers for it)."""
    if isinstance(value, pa.Array | pa.ChunkedArray):
        return value
    if isinstance(value, pa.Scalar):
        value = value.as_py()
    return pa.repeat(pa.scalar(value, arrow_type), columns[_ROWS])


def _truth_array(value: Any, columns: Mapping[str, Any]) -> Any:
    truth = _truth(value)
    if isinstance(truth, bool):
        return pa.repeat(truth, columns[_ROWS])
    return truth


def _in_force(keys: Any, value: Any, start: int | None, end: int | None, columns: Any) -> Any:
    """Where a row's key is ``value`` and its time lies in ``[start, end)``."""
    mask = pc.fill_null(pc.equal(keys, value), False)
    times = columns[_AT_US]
    if start is not None:
        mask = pc.and_(mask, pc.greater_equal(times, start))
    if end is not None:
        mask = pc.and_(mask, pc.less(times, end))
    return mask


def _truth(value: Any) -> Any:
    """A value in a test: None (a field left out, with no default) is false."""
    if isinstance(value, pa.Array | pa.ChunkedArray):
        return pc.fill_null(value, False)
    return bool(value)


def _binary(function: Any, left: Any, right: Any) -> Any:
    if function is pc.equal or function is pc.not_equal:
        # Python's == and !=: None equals None only (a column's null is None here).
        def same(columns: Mapping[str, Any]) -> Any:
            a, b = left(columns), right(columns)
            equal = pc.equal(a, b)
            if isinstance(a, pa.Array | pa.ChunkedArray) and isinstance(
                b, pa.Array | pa.ChunkedArray
            ):
                equal = pc.if_else(
                    pc.and_(pc.is_valid(a), pc.is_valid(b)),
                    equal,
                    pc.equal(pc.is_null(a), pc.is_null(b)),
                )
            elif isinstance(equal, pa.Scalar):  # two constants
                return bool(equal.as_py()) is (function is pc.equal)
            else:  # a column and a constant (never None): a null is not equal
                equal = pc.fill_null(equal, False)
            return pc.invert(equal) if function is pc.not_equal else equal

        return same
    # An order with None is false (the compiled condition's guard).
    return lambda columns: _truth(function(left(columns), right(columns)))


def _membership(left: Any, values: list[Any], *, negate: bool) -> Any:
    def member(columns: Mapping[str, Any]) -> Any:
        value = left(columns)
        if not isinstance(value, pa.Array | pa.ChunkedArray):
            found: Any = value in values
        elif not values:
            found = pa.repeat(False, len(value))
        else:  # None is never a member
            found = pc.fill_null(pc.is_in(value, value_set=pa.array(values)), False)
        if negate:
            return (not found) if isinstance(found, bool) else pc.invert(found)
        return found

    return member


def _translate_check(spec: CheckSpec, event_type: str, pack: Pack) -> _VectorCheck:
    fields = pack.catalog[event_type].fields
    if spec.effective_from is not None or spec.effective_to is not None:
        raise _Untranslatable("in force between dates (effective_from, effective_to)")
    when = _Translator(fields, pack).translate(spec.when) if spec.when else None
    body_text = spec.require if spec.require is not None else spec.forbid
    assert body_text is not None
    body = _Translator(fields, pack).translate(body_text)
    return _VectorCheck(spec.id, when, body, spec.require is not None)


def _plans(pack: Pack) -> Iterator[tuple[RulePlan, _VectorCheck | None]]:
    for spec in pack.rules:
        if not isinstance(spec, CheckSpec):
            kind = str(getattr(spec, "kind", type(spec).__name__))
            reason = f"per row: a {kind} rule is stateful (the engine, in event-time order)"
            yield RulePlan(spec.id, kind, None, vectorised=False, reason=reason), None
            continue
        for event_type in spec.event_types:
            if event_type not in pack.catalog:
                continue
            try:
                check = _translate_check(spec, event_type, pack)
            except _Untranslatable as why:
                yield RulePlan(spec.id, "check", event_type, False, f"per row: {why}"), None
            except SyntaxError:
                yield RulePlan(spec.id, "check", event_type, False, "per row: unparsed"), None
            else:
                yield RulePlan(spec.id, "check", event_type, True, "vectorised"), check


def vector_plan(pack: Pack) -> tuple[RulePlan, ...]:
    """Per rule (and event type, for checks): vectorised or per row, and why.

    >>> import commitrules
    >>> from commitrules.columnar import vector_plan
    >>> plan = {(p.rule_id, p.event_type): p for p in vector_plan(commitrules.load_pack())}
    >>> plan["C1.marketing.unapproved", "marketing_published"].vectorised
    True
    >>> plan["C1.marketing.banned-promise", "marketing_published"].reason
    'per row: the function mentions()'
    """
    return tuple(plan for plan, _ in _plans(pack))


def format_plan(plans: Sequence[RulePlan]) -> str:
    """The plan as lines of text: rule, event type, and how it is evaluated."""
    width = max((len(plan.rule_id) for plan in plans), default=0)
    return "\n".join(
        f"{plan.rule_id:<{width}}  {plan.event_type or '-':<28}  {plan.reason}" for plan in plans
    )


def _column_kind(array: pa.Array) -> str | None:
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "str"
    if pa.types.is_integer(kind):
        return "int"
    if pa.types.is_boolean(kind):
        return "bool"
    return None


_REQUIRED = object()
_PRESENT = "\0set:"
"""The key of a field's presence (a boolean column) among a condition's columns."""
_AT_US = "\0at"
"""The key of the rows' times (µs since 1970) among a condition's columns."""
_ROWS = "\0rows"
"""The key of the batch's number of rows among a condition's columns."""


class _Taken:
    """A batch's columns at some of its rows, each taken when it is first read."""

    def __init__(self, columns: list[Any], positions: Any) -> None:
        self._columns = columns
        self._positions = positions
        self._taken: dict[int, Any] = {}

    def __getitem__(self, index: int) -> Any:
        taken = self._taken.get(index)
        if taken is None:
            taken = self._taken[index] = self._columns[index].take(self._positions)
        return taken


@attrs.frozen
class _Rows:
    """The rows of one event type in a batch: what its checks' verdicts read."""

    plan: Plan
    columns: _Taken
    num_rows: int
    #: Columns derived once for all the type's checks (the rows' times in µs).
    derived: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


def _field_column(name: str, batch: _Rows, kind: str, default: object) -> tuple[Any, bool] | None:
    """A field's column as the events hold it: a null is the field's default (filled
    here when it is a plain value, kept as None when the default is None); and whether
    a null still leaves the row undecided (a required field: the engine refuses the
    row; another default). None: the column cannot be read as is."""
    names = batch.plan.names
    rows = batch.num_rows
    if name not in names:
        array: Any = pa.nulls(rows, _ARROW_TYPES[kind])
    else:
        index = names.index(name)
        array = batch.columns[index]
        if batch.plan.conversions[index] not in ("plain", "null"):
            return None
        if pa.types.is_null(array.type):
            array = pa.nulls(rows, _ARROW_TYPES[kind])
        elif _column_kind(array) != kind:
            return None
    if array.null_count == 0 or default is None:
        return array, False
    if _constant_fits(default, kind):
        return pc.fill_null(array, default), False
    return array, True


def _times(batch: _Rows) -> Any:
    """The rows' event times in µs since 1970, or None: not a time column as is (cast once
    per batch, whatever number of checks read them)."""
    if _AT_US not in batch.derived:
        batch.derived[_AT_US] = _cast_times(batch)
    return batch.derived[_AT_US]


def _cast_times(batch: _Rows) -> Any:
    names = batch.plan.names
    if "at" not in names:
        return None
    index = names.index("at")
    if batch.plan.conversions[index] != "timestamp":
        return None
    array = batch.columns[index]
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    moments = array.cast(pa.timestamp("us", tz=array.type.tz), safe=False)
    return moments.cast(pa.int64())


def _presence(name: str, batch: _Rows) -> Any:
    """Where a field's column holds a value (all false without a column)."""
    names = batch.plan.names
    if name not in names:
        return pa.repeat(False, batch.num_rows)
    return pc.is_valid(batch.columns[names.index(name)])


def _constant_fits(value: object, kind: str) -> bool:
    if isinstance(value, bool):
        return kind == "bool"
    if isinstance(value, int):
        return kind == "int"
    return isinstance(value, str) and kind == "str"


def _verdicts(
    check: _VectorCheck, batch: _Rows, kinds: Mapping[str, str], defaults: Mapping[str, Any]
) -> Any:
    """The batch's verdict codes for one check (an int8 array), or None: all undecided."""
    columns: dict[str, Any] = {_ROWS: batch.num_rows}
    open_on_null: set[str] = set()
    if any(condition is not None and condition.timed for condition in (check.when, check.body)):
        times = _times(batch)
        if times is None:
            return None
        columns[_AT_US] = times
    for condition in (check.when, check.body):
        for name in condition.fields if condition is not None else ():
            column = _field_column(name, batch, kinds[name], defaults.get(name, _REQUIRED))
            if column is None:
                return None
            columns[name], undecided = column
            if undecided:
                open_on_null.add(name)
        for name in condition.present if condition is not None else ():
            columns[_PRESENT + name] = present = _presence(name, batch)
            if defaults.get(name) is not None and not pc.all(present).as_py():
                open_on_null.add(_PRESENT + name)  # left out: its default (not None) is set
    rows = batch.num_rows

    def known(condition: _Condition | None) -> Any:
        result: Any = pa.repeat(True, rows)
        for name in condition.fields if condition is not None else ():
            if name in open_on_null:
                result = pc.and_(result, pc.is_valid(columns[name]))
        for name in condition.present if condition is not None else ():
            if _PRESENT + name in open_on_null:
                result = pc.and_(result, columns[_PRESENT + name])
        return result

    def value(condition: _Condition) -> Any:
        result = condition.evaluate(columns)
        if isinstance(result, pa.Scalar):
            result = result.as_py()
        if not isinstance(result, pa.Array | pa.ChunkedArray):
            result = pa.repeat(bool(result), rows)
        return pc.fill_null(result, False)

    held, broken = (HELD, BROKEN) if check.obligation else (BROKEN, HELD)
    body = pc.if_else(
        known(check.body),
        pc.if_else(value(check.body), pa.scalar(held, pa.int8()), pa.scalar(broken, pa.int8())),
        pa.scalar(UNDECIDED, pa.int8()),
    )
    if check.when is None:
        return body
    return pc.if_else(
        known(check.when),
        pc.if_else(value(check.when), body, pa.scalar(NOT_APPLICABLE, pa.int8())),
        pa.scalar(UNDECIDED, pa.int8()),
    )


class _TypeJudge:
    """What judges the accepted events of one type while a batch is evaluated."""

    def __init__(
        self,
        engine: Engine,
        event_type: str,
        original: list[tuple[Any, Any]],
        pairs: list[tuple[Any, Any]],
        checks: Mapping[str, _VectorCheck],
        cursor: list[int],
    ) -> None:
        self.engine = engine
        #: The row being processed (its index in the batch), shared by every type's judge;
        #: -1 outside a batch.
        self.cursor = cursor
        self.event_type = event_type
        self.original = original
        # Segments in rule order: a vectorised check (its index among them), or a run of
        # other handlers (checks not vectorised fused, as the engine fuses them).
        self.segments: list[tuple[int, Any, Any, Any]] = []
        self.checks: list[_VectorCheck] = []
        run: list[Any] = []

        def close() -> None:
            if not run:
                return
            if all(type(rule) is CheckRule for rule, _ in run):
                rules = [rule for rule, _ in run]
                self.segments.append((-1, rules[0], fuse_checks(rules, event_type), None))
            else:
                self.segments.extend((-1, rule, handler, None) for rule, handler in run)
            run.clear()

        for rule, handler in pairs:
            check = checks.get(rule.rule_id) if type(rule) is CheckRule else None
            if check is None or rule.from_us is not None or rule.to_us is not None:
                run.append((rule, handler))
                continue
            close()
            when, body, _ = rule._conditions[event_type]
            fields = tuple(dict.fromkeys((*(when.fields if when else ()), *body.fields)))
            params = tuple(dict.fromkeys((*(when.params if when else ()), *body.params)))
            self.segments.append((len(self.checks), rule, handler, (fields, params)))
            self.checks.append(check)
        close()
        self.every_row = any(index < 0 for index, *_ in self.segments)
        #: The current batch: row index -> verdict codes (only rows that need anything).
        self.attention: dict[int, tuple[int, ...]] = {}
        #: (row, check) verdicts decided over columns, and left to the rows' conditions.
        self.decided = 0
        self.undecided = 0

    def prepare(
        self,
        batch: CheckedBatch,
        kinds: Mapping[str, str],
        defaults: Mapping[str, Any],
        tracking: bool,
    ) -> None:
        """Compute the batch's verdicts; keep the rows that have anything to report."""
        self.attention = {}
        if not self.checks:
            return
        # Only this type's rows: its verdicts are computed over them alone.
        mine = pc.fill_null(pc.equal(batch.columns[batch.plan.type_index], self.event_type), False)
        positions = pc.indices_nonzero(mine)
        count = len(positions)
        if count == 0:
            return
        rows = _Rows(batch.plan, _Taken(batch.columns, positions), count)
        codes = []
        for check in self.checks:
            try:
                verdict = _verdicts(check, rows, kinds, defaults)
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                verdict = None  # the rows' own conditions decide (an exact fallback)
            if verdict is None:
                verdict = pa.repeat(pa.scalar(UNDECIDED, pa.int8()), count)
            codes.append(verdict)
            open_rows = pc.sum(pc.equal(verdict, UNDECIDED)).as_py() or 0
            self.undecided += open_rows
            self.decided += count - open_rows
        quiet = HELD if not tracking else NOT_APPLICABLE
        needs: Any = None
        for code in codes:
            mask = pc.not_equal(code, NOT_APPLICABLE)
            if quiet == HELD:
                mask = pc.and_(mask, pc.not_equal(code, HELD))
            needs = mask if needs is None else pc.or_(needs, mask)
        chosen = pc.indices_nonzero(needs)
        if len(chosen) == 0:
            return
        columns = [pc.take(code, chosen).to_pylist() for code in codes]
        at = pc.take(positions, chosen).to_pylist()
        self.attention = dict(zip(at, zip(*columns, strict=True), strict=True))

    def __call__(self, event: dict[str, Any], at_us: int, services: Any) -> None:
        """Judge one accepted event: the row's verdicts, or the engine's own judges."""
        engine = self.engine
        row = self.cursor[0]
        if row < 0 or engine._journal.replaying:
            for rule, handler in self.original:
                try:
                    handler(event, at_us, services)
                except Exception as error:  # noqa: BLE001 - the rule's own failure
                    services.rule_failed(rule, error, event)
            return
        codes = self.attention.get(row)
        if codes is None and not self.every_row:
            return
        tracking = services.tracking
        for index, rule, handler, read in self.segments:
            code = codes[index] if index >= 0 and codes is not None else NOT_APPLICABLE
            if index >= 0 and (code == NOT_APPLICABLE or (code == HELD and not tracking)):
                continue
            try:
                if index < 0 or code == UNDECIDED:
                    handler(event, at_us, services)
                elif code == BROKEN:
                    emit_violated(rule, event, at_us, read[0], read[1], services)
                else:
                    services.outcome(
                        rule, "compliant", rule.subject_of(event), event["at"], (event["id"],)
                    )
            except Exception as error:  # noqa: BLE001 - the rule's own failure
                services.rule_failed(rule, error, event)


def _lean_types(engine: Engine, judges: Mapping[str, _TypeJudge]) -> frozenset[str]:
    """The event types whose ready rows may skip the event's dict and the engine's judging
    (:meth:`Engine._accept_values`) when no vectorised check has anything to report on the
    row: types that no rule prepares or releases, and that no rule judges except the
    vectorised checks (a row a check needs, and a row that is not plainly new and in time,
    still goes the full way)."""
    found = set()
    digests = engine._digests
    for event_type in engine.pack.catalog:
        name = event_type.name
        route = engine._routes.get(name)
        if route is not None:
            judge = judges.get(name)
            if route[0] is not None or route[2] is not None or judge is None or judge.every_row:
                continue
        direct = direct_type(event_type)
        names = tuple(field.name for field in direct.fields) if direct is not None else ()
        if names[:3] == ("id", "type", "at") and names == digests.order.get(name):
            found.add(name)
    return frozenset(found)


class VectorEvaluator:
    """A :class:`~._evaluate.BatchEvaluator` that judges single-event checks over columns.

    Use as a context manager: the engine's judges are replaced on entry and given back on
    exit (the engine then continues as any other).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.judges: dict[str, _TypeJudge] = {}
        self.kinds: dict[str, dict[str, str]] = {}
        self.defaults: dict[str, Mapping[str, Any]] = {}
        self._saved: dict[str, Any] = {}
        self.cursor = [-1]
        #: The types whose quiet rows take the engine's lean intake (see :func:`_lean_types`).
        self.lean: frozenset[str] = frozenset()
        #: Rows taken by the lean intake so far.
        self.lean_rows = 0
        if engine.backend != "native":
            return
        checks: dict[str, dict[str, _VectorCheck]] = {}
        for plan, check in _plans(engine.pack):
            if check is not None and plan.event_type is not None:
                checks.setdefault(plan.event_type, {})[plan.rule_id] = check
        accept = engine._accept
        routes = engine._routes
        for event_type, by_rule in checks.items():
            route = routes.get(event_type)
            pairs = accept.get(event_type)
            if route is None or route[1] is None or not pairs:
                continue
            self.judges[event_type] = _TypeJudge(
                engine, event_type, route[1], pairs, by_rule, self.cursor
            )
            declared = engine.pack.catalog[event_type]
            self.kinds[event_type] = {name: kind for name, (kind, _) in declared.fields.items()}
            self.defaults[event_type] = declared.defaults
        self.lean = _lean_types(engine, self.judges)

    def __enter__(self) -> VectorEvaluator:
        routes = self.engine._routes
        for event_type, judge in self.judges.items():
            route = routes[event_type]
            self._saved[event_type] = route
            routes[event_type] = (route[0], [(judge.original[0][0], judge)], route[2])
        return self

    @property
    def decided(self) -> int:
        """(row, check) verdicts decided over columns so far."""
        return sum(judge.decided for judge in self.judges.values())

    @property
    def undecided(self) -> int:
        """(row, check) verdicts left to the row's own condition (a null read, …)."""
        return sum(judge.undecided for judge in self.judges.values())

    def __exit__(self, *exc: object) -> None:
        routes = self.engine._routes
        routes.update(self._saved)
        self._saved.clear()

    def __call__(
        self, batch: CheckedBatch, found: list[Violation], reject: Callable[[RejectedRow], None]
    ) -> None:
        """Evaluate the rows of ``batch`` in order, the checks' verdicts computed first."""
        engine = self.engine
        judges = self.judges
        tracking = engine._services.tracking
        for event_type, judge in judges.items():
            judge.prepare(batch, self.kinds[event_type], self.defaults[event_type], tracking)
        process = engine.process
        given = engine._process_validated
        lean_accept = engine._accept_values
        event_of = engine._digests.event_of
        source = batch.source
        first = batch.first_row
        cursor = self.cursor
        # A tracer sees every rule's handling of every event: nothing lean then.
        lean = self.lean if engine.tracer is None else frozenset()
        taken = 0
        try:
            for number, event, reason, ready in batch.rows(lean):
                if event is None:
                    engine.stats.rejected += 1
                    reject(RejectedRow(source, number, reason or "refused"))
                    continue
                row = cursor[0] = number - first
                try:
                    if type(event) is tuple:  # a quiet type's values (see _lean_types)
                        kind = event[1]
                        checks = judges.get(kind)
                        released = None
                        if checks is None or row not in checks.attention:
                            released = lean_accept(event, kind)
                        if released is None:
                            released = given(event_of(kind, event))
                        else:
                            taken += 1
                    else:
                        released = given(event) if ready else process(event)
                except CommitRulesError as error:
                    reject(RejectedRow(source, number, str(error)))
                    continue
                if released:
                    found.extend(released)
        finally:
            self.lean_rows += taken
            cursor[0] = -1
            for judge in judges.values():
                judge.attention = {}
