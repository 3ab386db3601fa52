"""What the command line prints for machines: JSON shapes, SARIF 2.1.0, GitHub annotations.

Each function turns one command's result into plain data (or lines); ``cli.py`` prints it.
The shapes are documented in ``docs/machine-output.md`` and are stable: a field may be
added, none is renamed or removed without a major version.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .errors import Location, Problem
from .lint import LintReport
from .lint import Warning as LintWarning
from .violations import Violation

__all__ = [
    "SARIF_SCHEMA",
    "audit_json",
    "diff_json",
    "github_annotations",
    "lint_json",
    "lint_sarif",
    "location_json",
    "pack_tests_json",
]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
#: The rule id of a SARIF result for a problem that stops a pack from loading.
LOAD_ERROR = "load-error"
_INFORMATION = "https://github.com/commitrules/commitrules/blob/main/docs/cli.md"


def location_json(location: Location) -> dict[str, Any]:
    """Every known part of a location (unknown parts are null)."""
    return {
        "file": location.file,
        "line": location.line,
        "column": location.column,
        "key": location.key,
        "rule_id": location.rule_id,
        "offset": location.offset,
    }


def _logical(location: Location) -> str:
    """Where in the pack, as the errors say it: ``rule R1: require``, a key, or nothing."""
    parts = [f"rule {location.rule_id}" if location.rule_id else "", location.key or ""]
    return ": ".join(part for part in parts if part)


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {"message": problem.reason, **location_json(problem.location)}


def _warning_json(warning: LintWarning) -> dict[str, Any]:
    return {"code": warning.code, "message": warning.message, **location_json(warning.location)}


def lint_json(pack: str | None, report: LintReport) -> dict[str, Any]:
    """``lint --format json``."""
    return {
        "pack": pack,
        "ok": report.ok,
        "errors": [_problem_json(problem) for problem in report.errors],
        "warnings": [_warning_json(warning) for warning in report.warnings],
    }


def _uri(pack_dir: Path | None, file: str) -> str:
    """A file of the pack as SARIF wants it: relative to the working directory (the root of
    the checkout in CI, so code scanning finds it) when it is inside it, else a file URI."""
    path = Path(file)
    if pack_dir is not None and not path.is_absolute():
        path = pack_dir / path
    # No symlink resolution (not resolve()): the path as the user named it.
    path = Path(os.path.abspath(path))
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_uri()


def _sarif_location(pack_dir: Path | None, location: Location) -> list[dict[str, Any]]:
    if location.file is None:
        return []
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(pack_dir, location.file)}}
    if location.line is not None:
        region: dict[str, Any] = {"startLine": location.line}
        if location.column is not None:
            region["startColumn"] = location.column
        physical["region"] = region
    found: dict[str, Any] = {"physicalLocation": physical}
    logical = _logical(location)
    if logical:
        found["logicalLocations"] = [{"fullyQualifiedName": logical}]
    return [found]


def lint_sarif(pack_dir: Path | None, report: LintReport, *, version: str) -> dict[str, Any]:
    """``lint --format sarif``: a SARIF 2.1.0 log, one result per error and warning, so that
    a pack repository's CI (GitHub code scanning and others) annotates the line."""
    items: list[tuple[str, str, str, Location]] = [
        (LOAD_ERROR, "error", problem.reason, problem.location) for problem in report.errors
    ] + [
        (warning.code, "warning", warning.message, warning.location) for warning in report.warnings
    ]
    rule_ids = sorted({rule_id for rule_id, *_ in items})
    index = {rule_id: number for number, rule_id in enumerate(rule_ids)}
    rules = [
        {
            "id": rule_id,
            "shortDescription": {
                "text": "the pack does not load" if rule_id == LOAD_ERROR else rule_id
            },
            "defaultConfiguration": {"level": "error" if rule_id == LOAD_ERROR else "warning"},
        }
        for rule_id in rule_ids
    ]
    results = [
        {
            "ruleId": rule_id,
            "ruleIndex": index[rule_id],
            "level": level,
            "message": {"text": message},
            "locations": _sarif_location(pack_dir, location),
        }
        for rule_id, level, message, location in items
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "commitrules",
                        "version": version,
                        "informationUri": _INFORMATION,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(pack_dir: Path | None, report: LintReport) -> Iterable[str]:
    """``lint --format github``: GitHub Actions workflow commands (``::error file=…::…``)."""
    items: list[tuple[str, str, Location]] = [
        ("error", problem.reason, problem.location) for problem in report.errors
    ] + [
        ("warning", f"{warning.code}: {warning.message}", warning.location)
        for warning in report.warnings
    ]
    for level, message, location in items:
        properties: list[str] = []
        if location.file is not None:
            properties.append(f"file={_escape_property(_uri(pack_dir, location.file))}")
            if location.line is not None:
                properties.append(f"line={location.line}")
                if location.column is not None:
                    properties.append(f"col={location.column}")
        where = _logical(location)
        text = f"{where}: {message}" if where else message
        head = f"::{level} {','.join(properties)}" if properties else f"::{level}"
        yield f"{head}::{_escape_data(text)}"


def pack_tests_json(suites: Sequence[Any], coverages: Mapping[str, Any]) -> dict[str, Any]:
    """``test --format json``: per pack, every case with its outcome (and the coverage)."""
    packs: list[dict[str, Any]] = []
    for suite in suites:
        entry: dict[str, Any] = {
            "pack": suite.pack.id,
            "version": suite.pack.version,
            "passed": sum(result.passed for result in suite.results),
            "failed": sum(not result.passed for result in suite.results),
            "errors": [str(error) for error in suite.errors],
            "cases": [
                {
                    "name": result.name,
                    "file": result.file,
                    "line": result.line,
                    "passed": result.passed,
                    "error": result.error,
                    "missing": list(result.missing),
                    "unexpected": [v.to_dict() for v in result.unexpected],
                    "report": None if result.passed else result.report(),
                }
                for result in suite.results
            ],
        }
        report = coverages.get(suite.pack.id)
        if report is not None:
            entry["coverage"] = {
                "rule_percent": report.rule_percent,
                "clause_percent": report.clause_percent,
                "never_fired": list(report.never_fired),
                "clauses_uncovered": list(report.clauses_uncovered),
                "rules": [
                    {
                        "rule_id": rule.rule_id,
                        "clause_id": rule.clause_id,
                        "violating_cases": list(rule.violating_cases),
                        "compliant_cases": list(rule.compliant_cases),
                        "fired": rule.fired,
                    }
                    for rule in report.rules
                ],
            }
        packs.append(entry)
    return {"ok": all(s.passed for s in suites), "packs": packs}


def diff_json(added: Sequence[Violation], removed: Sequence[Violation], change: Any) -> Any:
    """``diff --format json``: the violations only the new pack finds, and only the old one."""
    return {
        "added": [v.to_dict() for v in added],
        "removed": [v.to_dict() for v in removed],
        "unchanged": change.unchanged,
        "rejected_old": change.rejected_old,
        "rejected_new": change.rejected_new,
    }


def audit_json(path: str, result: Any) -> dict[str, Any]:
    """``audit --format json``: the log and every field of the verification."""
    fields = attrs.asdict(result) if attrs.has(type(result)) else dict(vars(result))
    return {"log": path, **fields}
