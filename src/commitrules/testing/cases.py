"""Pack test cases: the file format, and running a case against a pack.

Cases live beside the pack, in ``tests/*.yaml``:

.. code-block:: yaml

    defaults:                       # optional: fields every event of a type starts with
      sale: {currency: CNY, channel: branch, staff_id: S0004, branch_id: BR-SH-PD}
    cases:
      - name: a complaint not decided within 15 days is one violation
        profile: cn                 # optional; the pack's default profile otherwise
        parameters: {complaint_decision_days: 15}   # optional overrides
        events:
          - {id: c1, type: complaint_received, at: "2026-07-01T10:00:00+08:00", …}
          - advance_to: "2026-07-20T00:00:00+08:00"      # a clock move between events
        events_file: data/stream.jsonl                    # optional: more events, first
        until: "2026-08-01T00:00:00+08:00"               # optional final clock move
        expect:
          violations:               # exactly these (an unexpected extra one fails)
            - {rule: C5.resolve.simple, role: rights-specialist, count: 1, events: [c1]}
          # violations: []          # explicitly none
        match: exact                # or: subset (only check what is listed)

An expected violation names its ``rule`` and, optionally, ``clause``, ``kind``, ``role``,
``route``, ``severity``, ``subject`` (the listed keys), ``events`` (the event ids),
``at`` and ``due_at`` (timestamps), and ``count`` (default 1).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .._io import raw_lines
from .._json_limits import decode
from ..engine import Engine
from ..errors import CaseError, CommitRulesError, Location
from ..eventtime import to_us
from ..pack import Pack, load_pack
from ..pack._read import validation_problems
from ..pack._yaml import YamlFile, read_yaml
from ..violations import Violation

__all__ = [
    "Case",
    "CaseFile",
    "CaseResult",
    "ExpectedViolation",
    "PackCache",
    "load_case_file",
    "run_case",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedViolation(_Model):
    """One expected violation (or ``count`` of them) and the fields that must match."""

    rule: str
    clause: str | None = None
    kind: Literal["violation", "escalation", "insufficient_sample"] | None = None
    role: str | None = None
    route: list[str] | None = None
    severity: Literal["low", "medium", "high", "critical"] | None = None
    subject: dict[str, Any] | None = None
    events: list[str] | None = None
    at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    count: int = Field(default=1, ge=1, le=100_000)

    def matches(self, violation: Violation) -> bool:
        """Whether a violation has every field this expectation names."""
        checks = (
            violation.rule_id == self.rule,
            self.clause is None or violation.clause_id == self.clause,
            self.kind is None or violation.kind == self.kind,
            self.role is None or violation.role == self.role,
            self.route is None or list(violation.route) == self.route,
            self.severity is None or violation.severity == self.severity,
            self.events is None or list(violation.event_ids) == self.events,
            self.at is None or violation.at == self.at,
            self.due_at is None or violation.due_at == self.due_at,
            self.subject is None
            or all(str(violation.subject.get(k)) == str(v) for k, v in self.subject.items()),
        )
        return all(checks)

    def describe(self) -> str:
        """A one-line description of what is expected."""
        fields = self.model_dump(exclude_none=True, exclude={"count"})
        text = ", ".join(f"{k}={v}" for k, v in fields.items())
        return f"{self.count} x {{{text}}}"


class Expectation(_Model):
    """What a case must produce."""

    violations: list[ExpectedViolation]


class Clock(_Model):
    """A clock move inside the list of events."""

    advance_to: dt.datetime

    @model_validator(mode="after")
    def _aware(self) -> Clock:
        if self.advance_to.tzinfo is None:
            msg = "advance_to needs an offset (e.g. +08:00)"
            raise ValueError(msg)
        return self


class Case(_Model):
    """One test case of a pack."""

    name: str = Field(min_length=3, max_length=300)
    description: str | None = None
    profile: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    events_file: str | None = None
    events: list[dict[str, Any]] = Field(default_factory=list)
    until: dt.datetime | None = None
    expect: Expectation
    match: Literal["exact", "subset"] = "exact"


class CaseFileModel(_Model):
    """A case file: optional per-type defaults, and the cases."""

    defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)
    cases: list[Case] = Field(min_length=1)


@attrs.frozen
class CaseFile:
    """A read case file: its cases, where each one is written, and its folder."""

    path: Path
    shown: str
    cases: tuple[Case, ...]
    lines: tuple[int | None, ...]
    defaults: Mapping[str, Mapping[str, Any]]
    source: YamlFile

    def locate(self, index: int, *keys: str | int) -> Location:
        """Where a key of a case is written."""
        return self.source.locate(("cases", index, *keys))


def load_case_file(path: Path, *, shown: str | None = None) -> CaseFile:
    """Read and validate one case file.

    Raises:
        CaseError: naming the file, line and reason (every problem).
    """
    display = shown or str(path)
    try:
        source = read_yaml(path, display=display)
    except CommitRulesError as error:
        raise CaseError(error.reason, error.location) from None
    try:
        model = CaseFileModel.model_validate(source.data)
    except ValidationError as error:
        problems = validation_problems(error, source)
        text = "; ".join(str(p) for p in problems)
        raise CaseError(
            text, problems[0].location if problems else Location(file=display)
        ) from None
    lines = tuple(source.locate(("cases", i)).line for i in range(len(model.cases)))
    return CaseFile(
        path=path,
        shown=display,
        cases=tuple(model.cases),
        lines=lines,
        defaults=model.defaults,
        source=source,
    )


@attrs.frozen
class CaseResult:
    """The outcome of one case: passed or not, what came out, and the difference."""

    file: str
    line: int | None
    name: str
    passed: bool
    violations: tuple[Violation, ...]
    missing: tuple[str, ...] = ()
    unexpected: tuple[Violation, ...] = ()
    error: str | None = None
    events: tuple[Mapping[str, Any], ...] = ()
    expected_rules: frozenset[str] = frozenset()
    first_us: int | None = None  # event time of the first event
    end_us: int | None = None  # the engine's watermark at the end of the case

    @property
    def where(self) -> str:
        """``file:line`` of the case."""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def report(self) -> str:
        """The expected-versus-actual difference, readable in a terminal."""
        if self.passed:
            return f"{self.where}: {self.name}: passed"
        lines = [f"{self.where}: {self.name}: FAILED"]
        if self.error is not None:
            lines.append(f"  error: {self.error}")
        for item in self.missing:
            lines.append(f"  - expected, not found: {item}")
        for violation in self.unexpected:
            lines.append(f"  + not expected: {_show(violation)}")
        if self.missing or self.unexpected:
            lines.append("  actual violations:")
            lines.extend(f"    {_show(v)}" for v in self.violations)
            if not self.violations:
                lines.append("    (none)")
        return "\n".join(lines)


def _show(violation: Violation) -> str:
    subject = json.dumps(dict(violation.subject), ensure_ascii=False, default=str)
    return (
        f"{violation.kind} {violation.rule_id} role={violation.role} "
        f"route={list(violation.route)} events={list(violation.event_ids)} "
        f"subject={subject} at={violation.at.isoformat()}"
    )


class PackCache:
    """Loads each (pack, profile, parameters) combination once for a run of many cases."""

    def __init__(self) -> None:
        self._packs: dict[tuple[str, str | None, str], Pack] = {}

    def get(self, path: Path, profile: str | None, parameters: Mapping[str, Any]) -> Pack:
        """The pack with that profile and those parameter overrides."""
        key = (str(path), profile, json.dumps(parameters, sort_keys=True, default=str))
        if key not in self._packs:
            self._packs[key] = load_pack(path, profile=profile, parameters=parameters)
        return self._packs[key]


def _events(case_file: CaseFile, case: Case, index: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if case.events_file is not None:
        folder = case_file.path.parent.resolve()
        target = (folder / case.events_file).resolve()
        if not target.is_relative_to(folder.parent):
            raise CaseError(
                "events_file must stay inside the pack", case_file.locate(index, "events_file")
            )
        # The same bounds as every event reader: line length, nesting depth, digits.
        try:
            for number, line, problem in raw_lines(str(target)):
                reason = problem
                if reason is None:
                    try:
                        items.append(decode(line))
                        continue
                    except ValueError as error:
                        reason = str(error)
                raise CaseError(
                    f"{case.events_file}:{number}: {reason}",
                    case_file.locate(index, "events_file"),
                )
        except OSError as error:
            raise CaseError(
                f"cannot read {case.events_file}: {error.strerror}",
                case_file.locate(index, "events_file"),
            ) from None
    for event in case.events:
        event_type = event.get("type")
        base = case_file.defaults.get(event_type, {}) if isinstance(event_type, str) else {}
        items.append({**base, **event})
    return items


def run_case(case_file: CaseFile, index: int, pack_path: Path, cache: PackCache) -> CaseResult:
    """Run one case of a case file against the pack at ``pack_path``."""
    case = case_file.cases[index]
    line = case_file.lines[index]
    expected_rules = frozenset(e.rule for e in case.expect.violations)
    try:
        pack = cache.get(pack_path, case.profile, case.parameters)
        events = _events(case_file, case, index)
        # Cases check logic, so they see real subjects (masking is tested elsewhere).
        engine = Engine(pack, evidence="include")
        found: list[Violation] = []
        for position, item in enumerate(events):
            if set(item) == {"advance_to"}:
                clock = Clock.model_validate(item)
                found.extend(engine.advance_to(clock.advance_to))
                continue
            try:
                found.extend(engine.process(item))
            except CommitRulesError as error:
                where = case_file.locate(
                    index, "events", position - (len(events) - len(case.events))
                )
                raise CaseError(f"event {position + 1}: {error}", where) from None
        if case.until is not None:
            found.extend(engine.advance_to(case.until))
    except (CommitRulesError, ValidationError) as error:
        return CaseResult(
            file=case_file.shown,
            line=line,
            name=case.name,
            passed=False,
            violations=(),
            error=str(error),
            expected_rules=expected_rules,
        )
    missing, unexpected = compare(case.expect.violations, found, exact=case.match == "exact")
    times = [
        to_us(dt.datetime.fromisoformat(str(e["at"]))) for e in events if "type" in e and "at" in e
    ]
    return CaseResult(
        file=case_file.shown,
        line=line,
        name=case.name,
        passed=not missing and not unexpected,
        violations=tuple(found),
        missing=tuple(missing),
        unexpected=tuple(unexpected),
        events=tuple(e for e in events if "type" in e),
        expected_rules=expected_rules,
        first_us=min(times) if times else None,
        end_us=to_us(engine.watermark) if engine.watermark is not None else None,
    )


def compare(
    expected: Sequence[ExpectedViolation], actual: Sequence[Violation], *, exact: bool
) -> tuple[list[str], list[Violation]]:
    """Match expectations to violations: (what is missing, what was not expected)."""
    left = list(actual)
    missing: list[str] = []
    # The most specific expectations claim their violations first.
    order = sorted(
        range(len(expected)),
        key=lambda i: -len(expected[i].model_dump(exclude_none=True)),
    )
    for index in order:
        expectation = expected[index]
        claimed = [v for v in left if expectation.matches(v)][: expectation.count]
        for violation in claimed:
            left.remove(violation)
        if len(claimed) < expectation.count:
            missing.append(f"{expectation.describe()} (found {len(claimed)})")
    return missing, left if exact else []
