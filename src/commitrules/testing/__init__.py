"""Testing packs: case files, the runner, coverage, and hypothesis strategies.

``commitrules.testing.strategies`` (needs ``hypothesis``) generates valid events of every
type and consistent streams, so users can property-test their own packs.
"""

from __future__ import annotations

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
