"""The public surface: one door, sorted, complete, documented."""

from __future__ import annotations

import doctest
import importlib
import inspect

import pytest

import commitrules

PUBLIC_MODULES = [
    "commitrules",
    "commitrules.errors",
    "commitrules.events",
    "commitrules.violations",
    "commitrules.engine",
    "commitrules.batch",
    "commitrules.pack",
    "commitrules.display",
    "commitrules.audit",
    "commitrules.store",
    "commitrules.explain",
    "commitrules.compare",
    "commitrules.lint",
    "commitrules.oscal",
    "commitrules.snapshot",
    "commitrules.testing",
    "commitrules.columnar",
]


def test_every_exported_name_exists_and_nothing_private_leaks() -> None:
    # Sorting of __all__ is checked by ruff (RUF022), which runs in test_code_quality.
    for name in commitrules.__all__:
        assert hasattr(commitrules, name), name
        assert not name.startswith("_") or name == "__version__"


def test_every_exported_object_has_a_docstring() -> None:
    for name in commitrules.__all__:
        value = getattr(commitrules, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_docstring_examples_run(module_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import ROOT

    monkeypatch.chdir(ROOT)
    module = importlib.import_module(module_name)
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS, raise_on_error=False)
    assert failures == 0
