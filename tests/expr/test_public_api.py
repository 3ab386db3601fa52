"""The public surface of commitrules.expr, and its docstring examples."""

from __future__ import annotations

import doctest
import importlib
import inspect

import pytest

import commitrules.expr

_MODULES = [
    "commitrules.expr",
    "commitrules.expr.builtins",
    "commitrules.expr._compile",
    "commitrules.expr._context",
    "commitrules.expr._parse",
    "commitrules.expr._types",
]


def test_all_is_sorted_and_every_name_is_exported() -> None:
    names = commitrules.expr.__all__
    # ruff's order (RUF022): CONSTANTS, then Classes, then functions and modules.
    assert list(names) == sorted(
        names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    for name in names:
        assert getattr(commitrules.expr, name) is not None
    assert set(names) >= {
        "CompiledExpression",
        "EvalContext",
        "FieldType",
        "Scope",
        "TableInfo",
        "compile_expression",
    }


def test_public_names_have_docstrings() -> None:
    for name in commitrules.expr.__all__:
        value = getattr(commitrules.expr, name)
        if inspect.isclass(value) or inspect.isfunction(value) or inspect.ismodule(value):
            assert value.__doc__, name


@pytest.mark.parametrize("module", _MODULES)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
