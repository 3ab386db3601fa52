"""The durable backend says why it cannot run: not installed, or installed but not importable.

These run without durable-rules too (tests/test_durable.py needs it): the import is faked.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

import pytest

import commitrules
from commitrules import CommitRulesError, Engine

PACK = commitrules.load_pack()
#: What Python 3.13 says when it imports durable-rules 2.0.28's C extension.
UNDEFINED = (
    "/venv/lib/python3.13/site-packages/durable_rules_engine.cpython-313-x86_64-linux-gnu.so: "
    "undefined symbol: PyEval_CallObject"
)


class _Refuse(importlib.abc.MetaPathFinder):
    """A finder that makes importing durable-rules fail with a given error."""

    def __init__(self, error: ImportError) -> None:
        self.error = error

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".", 1)[0] in ("durable", "durable_rules_engine"):
            raise self.error
        return None


@pytest.fixture
def refuse(monkeypatch: pytest.MonkeyPatch) -> object:
    def install(error: ImportError) -> None:
        for name in list(sys.modules):
            if name.split(".")[0] in ("durable", "durable_rules_engine"):
                monkeypatch.delitem(sys.modules, name)
        monkeypatch.setattr(sys, "meta_path", [_Refuse(error), *sys.meta_path])

    return install


def test_an_extension_that_does_not_load_is_reported_as_it_is(refuse: object) -> None:
    refuse(ImportError(UNDEFINED, name="durable_rules_engine"))  # type: ignore[operator]
    with pytest.raises(CommitRulesError) as caught:
        Engine(PACK, backend="durable")
    message = str(caught.value)
    assert "is installed but cannot be imported" in message
    assert "undefined symbol: PyEval_CallObject" in message
    assert "Python 3.13 removed" in message
    assert "not installed" not in message


def test_a_missing_dependency_of_durable_rules_is_not_called_durable_rules_missing(
    refuse: object,
) -> None:
    refuse(ModuleNotFoundError("No module named 'requests'", name="requests"))  # type: ignore[operator]
    with pytest.raises(CommitRulesError, match=r"installed but cannot be imported.*'requests'"):
        Engine(PACK, backend="durable")


def test_durable_rules_not_installed_says_how_to_install_it(refuse: object) -> None:
    refuse(ModuleNotFoundError("No module named 'durable'", name="durable"))  # type: ignore[operator]
    with pytest.raises(CommitRulesError, match="durable-rules, which is not installed"):
        Engine(PACK, backend="durable")
