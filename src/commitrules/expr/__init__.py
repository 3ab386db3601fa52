"""The condition language of rule packs: short expressions over an event.

A condition reads the event's fields (bare names), the prior event's fields
(``prior.NAME``), parameters (``params.NAME``) and reference tables (``lookup``,
``exists``)::

    product_risk >= 4 and not recorded
    contains_any(text, params.banned_phrases) or not approved
    customer_age is not None and customer_age >= params.elderly_age
    data_class in ['confidential', 'sensitive'] and not exists('access_matrix', staff_role)

The language
    * literals: whole numbers, decimals (``1.5`` is an exact ``Decimal``, never a float),
      texts in quotes, ``True``, ``False``, ``None``, lists ``[a, b]`` (or ``(a, b)``);
    * ``and``, ``or``, ``not``; ``+ - * /`` (``+`` also joins texts; ``/`` always gives
      a decimal); ``== != < <= > >=``, ``in``, ``not in``, ``is None``, ``is not None``
      (comparisons may be chained: ``1 <= x <= 5``);
    * ``a if test else b`` (both branches of one kind);
    * the functions of :mod:`commitrules.expr.builtins` and nothing else callable.

Nothing else is accepted: no other attribute, no subscripts, no comprehensions, no
lambdas, no f-strings, no ``:=``, no ``**``, ``//``, ``%`` or bitwise operators.

Types are checked when the pack loads: comparing text with a number, adding a date, or a
condition that is not true or false, is an :class:`~commitrules.errors.ExpressionError`
with the offset of the culprit and a "did you mean" for a misspelt name.

None at run time (an absent optional field, no prior event, a lookup that finds no
row) never raises: ``< <= > >=`` with None are false; arithmetic with None gives None;
division by zero gives None; ``x in list`` is false when ``x`` is None (and ``not in``
is always the opposite of ``in``); ``==`` and ``!=`` treat None as Python does; a
condition that comes out None counts as false.
"""

from __future__ import annotations

from . import builtins
from ._compile import CompiledExpression, ConditionFunction, compile_expression
from ._context import EvalContext, StaticContext
from ._parse import DEFAULT_LIMITS, Limits
from ._types import FieldKind, FieldType, Scope, TableInfo

__all__ = [
    "DEFAULT_LIMITS",
    "CompiledExpression",
    "ConditionFunction",
    "EvalContext",
    "FieldKind",
    "FieldType",
    "Limits",
    "Scope",
    "StaticContext",
    "TableInfo",
    "builtins",
    "compile_expression",
]
