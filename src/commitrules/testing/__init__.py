"""Testing packs: case files, the runner, coverage, and hypothesis strategies.

``commitrules.testing.strategies`` (needs ``hypothesis``: ``pip install 'commitrules[testing]'``)
generates valid events of every type and consistent streams, so users can property-test their
own packs. ``commitrules.testing.plugin`` is the pytest plugin (registered on install).

The names below are imported when first used, so that the pytest plugin, which pytest imports
in every run of any project where commitrules is installed, costs almost nothing until it
finds a pack's case file.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._suite import Coverage, RuleCoverage, SuiteResult, case_files, coverage, run_pack_tests
    from .cases import Case, CaseFile, CaseResult, ExpectedViolation, load_case_file, run_case

__all__ = [
    "Case",
    "CaseFile",
    "CaseResult",
    "Coverage",
    "ExpectedViolation",
    "RuleCoverage",
    "SuiteResult",
    "case_files",
    "coverage",
    "load_case_file",
    "run_case",
    "run_pack_tests",
]

_EXPORTS = {
    **dict.fromkeys(
        ("Coverage", "RuleCoverage", "SuiteResult", "case_files", "coverage", "run_pack_tests"),
        "._suite",
    ),
    **dict.fromkeys(
        ("Case", "CaseFile", "CaseResult", "ExpectedViolation", "load_case_file", "run_case"),
        ".cases",
    ),
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
