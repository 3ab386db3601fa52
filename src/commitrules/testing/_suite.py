"""Running a pack's whole test suite, and its coverage."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from ..errors import CaseError
from ..eventtime import period_of
from ..pack import Pack, load_pack
from ..pack._load import _resolve
from .cases import CaseResult, PackCache, load_case_file, run_case

__all__ = ["Coverage", "RuleCoverage", "SuiteResult", "case_files", "coverage", "run_pack_tests"]


def case_files(pack_dir: Path) -> list[Path]:
    """The case files of a pack: ``tests/*.yaml``, sorted."""
    folder = pack_dir / "tests"
    return sorted(p for p in folder.glob("*.yaml") if p.is_file()) if folder.is_dir() else []


@attrs.frozen
class SuiteResult:
    """Every case result of a pack, plus case files that could not be read."""

    pack: Pack
    results: tuple[CaseResult, ...]
    errors: tuple[CaseError, ...]

    @property
    def passed(self) -> bool:
        """Whether every case passed and every file was read."""
        return not self.errors and all(r.passed for r in self.results)


def run_pack_tests(pack: str | Path | None = None) -> SuiteResult:
    """Run every test case of a pack (a directory or bundled id; the default pack if None).

    >>> result = run_pack_tests()
    >>> result.passed
    True
    """
    pack_dir = _resolve(pack, None)
    loaded = load_pack(pack_dir)
    cache = PackCache()
    results: list[CaseResult] = []
    errors: list[CaseError] = []
    for path in case_files(pack_dir):
        try:
            case_file = load_case_file(path, shown=str(path.relative_to(pack_dir)))
        except CaseError as error:
            errors.append(error)
            continue
        results.extend(
            run_case(case_file, index, pack_dir, cache) for index in range(len(case_file.cases))
        )
    return SuiteResult(pack=loaded, results=tuple(results), errors=tuple(errors))


@attrs.frozen
class RuleCoverage:
    """How one rule is tested."""

    rule_id: str
    clause_id: str
    violating_cases: tuple[str, ...]
    compliant_cases: tuple[str, ...]
    fired: int

    @property
    def complete(self) -> bool:
        """Whether the rule has both a violating and a compliant passing case."""
        return bool(self.violating_cases) and bool(self.compliant_cases)


@attrs.frozen
class Coverage:
    """Which clauses have rules, and which rules have violating and compliant cases."""

    clauses_with_rules: tuple[str, ...]
    clauses_not_automatable: tuple[tuple[str, str], ...]
    clauses_uncovered: tuple[str, ...]
    rules: tuple[RuleCoverage, ...]

    @property
    def never_fired(self) -> tuple[str, ...]:
        """Rules that produced no finding anywhere in the suite."""
        return tuple(r.rule_id for r in self.rules if r.fired == 0)

    @property
    def rule_percent(self) -> float:
        """Share of rules with both a violating and a compliant case."""
        if not self.rules:
            return 100.0
        return 100.0 * sum(r.complete for r in self.rules) / len(self.rules)

    @property
    def clause_percent(self) -> float:
        """Share of clauses with a rule or a stated reason why none can exist."""
        total = (
            len(self.clauses_with_rules)
            + len(self.clauses_not_automatable)
            + len(self.clauses_uncovered)
        )
        if total == 0:
            return 100.0
        return 100.0 * (total - len(self.clauses_uncovered)) / total


def _inputs(pack: Pack) -> dict[str, Any]:
    """The running rules by id (their inputs, kind and period)."""
    return {rule.rule_id: rule for rule in pack.build().rules}


def _closes_a_period(rule: Any, result: CaseResult, tz: Any) -> bool:
    """Whether the case ran past the end of the rule's first period."""
    if result.first_us is None or result.end_us is None:
        return False
    return bool(period_of(result.first_us, rule.period_unit, tz).end_us <= result.end_us)


def _judged(rule: Any, result: CaseResult, tz: Any) -> bool:
    """Whether a passing case gave this rule something to judge."""
    if rule.counts_findings:
        # Fed by findings: the case must produce findings of the rules it counts.
        return any(
            v.rule_id != rule.rule_id and v.kind != "insufficient_sample" for v in result.violations
        )
    fed = set(rule.on_accept) | set(rule.on_release)
    if not any(e.get("type") in fed for e in result.events):
        return False
    if rule.kind.startswith("periodic"):
        return _closes_a_period(rule, result, tz)
    return True


def coverage(suite: SuiteResult) -> Coverage:
    """Coverage of a pack by its suite.

    A case *violates* a rule when it passes and the rule found a violation (or an
    escalation) in it; it is *compliant* for a rule when it passes, the rule had something to
    judge, and found nothing: the case fed it an event (and, for a periodic rule, ran past
    the end of a period), or, for a rule that counts findings, other rules found something.
    An ``insufficient_sample`` finding is neither.
    """
    pack = suite.pack
    inputs = _inputs(pack)
    ruled = {rule.clause for rule in pack.rules}
    clause_ids = [c.id for c in pack.clauses]
    with_rules: list[str] = []
    not_automatable: list[tuple[str, str]] = []
    uncovered: list[str] = []
    for clause in pack.clauses:
        if clause.id in ruled or any(r.startswith(clause.id + ".") for r in ruled):
            with_rules.append(clause.id)
        elif not clause.automatable:
            reason = clause.reason.en if clause.reason else ""
            not_automatable.append((clause.id, reason))
        elif any(other.startswith(clause.id + ".") for other in clause_ids):
            # A parent whose every child is accounted for is accounted for too.
            children = [c for c in pack.clauses if c.id.startswith(clause.id + ".")]
            if all(c.id in ruled or not c.automatable for c in children):
                not_automatable.append((clause.id, "covered by its finer clauses"))
            else:
                uncovered.append(clause.id)
        else:
            uncovered.append(clause.id)
    rules: list[RuleCoverage] = []
    for rule in pack.rules:
        violating: list[str] = []
        compliant: list[str] = []
        fired = 0
        running = inputs[rule.id]
        for result in suite.results:
            own = [v for v in result.violations if v.rule_id == rule.id]
            fired += len(own)
            if not result.passed:
                continue
            if any(v.kind in ("violation", "escalation") for v in own):
                violating.append(result.where)
            elif not own and _judged(running, result, pack.tz):
                compliant.append(result.where)
        rules.append(
            RuleCoverage(
                rule_id=rule.id,
                clause_id=rule.clause,
                violating_cases=tuple(violating),
                compliant_cases=tuple(compliant),
                fired=fired,
            )
        )
    return Coverage(
        clauses_with_rules=tuple(with_rules),
        clauses_not_automatable=tuple(not_automatable),
        clauses_uncovered=tuple(uncovered),
        rules=tuple(rules),
    )


def summarize(results: Iterable[CaseResult]) -> tuple[int, int]:
    """(passed, failed) counts."""
    passed = failed = 0
    for result in results:
        if result.passed:
            passed += 1
        else:
            failed += 1
    return passed, failed
