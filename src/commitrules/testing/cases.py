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
          violations:               # exactly these (an unexpected extra one fails;
                                    # the engine's own findings, rule ids engine.*,
                                    # only when some are listed)
            - {rule: C5.resolve.simple, role: rights-specialist, count: 1, events: [c1]}
          # violations: []          # explicitly none
        match: exact                # or: subset (only check what is listed)
        ignore: [insufficient_sample]   # optional: left out of an exact comparison

An expected violation names its ``rule`` and, optionally, ``clause``, ``kind``, ``role``,
``route``, ``severity``, ``subject`` (the listed keys), ``events`` (the event ids),
``at`` and ``due_at`` (timestamps), and ``count`` (default 1). A rule the pack does not
have fails the case as such, with the nearest rule id the pack has.

``ignore`` names rule ids or kinds of finding (``violation``, ``escalation``,
``insufficient_sample``, ``excused``) whose findings an exact comparison leaves out: a
finding the case did not expect is not a failure when its rule or its kind is listed. What
the case expects is still checked in full. A file may set ``ignore`` at its top level, as
the default of its cases; a case's own ``ignore`` replaces it (``ignore: []`` for none).
A name that is neither a kind nor a rule of the pack fails the case.
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
from ..errors import CaseError, CommitRulesError, Location, did_you_mean
from ..eventtime import to_us
from ..pack import Pack, load_pack
from ..pack._read import validation_problems
from ..pack._yaml import YamlFile, read_yaml
from ..violations import Violation

__all__ = [
    "FINDING_KINDS",
    "Case",
    "CaseFile",
    "CaseResult",
    "ExpectedViolation",
    "PackCache",
    "ignored",
    "load_case_file",
    "run_case",
    "unknown_names",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedViolation(_Model):
    """One expected violation (or ``count`` of them) and the fields that must match."""

    rule: str
    clause: str | None = None
    kind: (
        Literal["violation", "escalation", "insufficient_sample", "correction", "operational"]
        | None
    ) = None
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
    ignore: list[str] | None = None


class CaseFileModel(_Model):
    """A case file: optional per-type defaults, the default ``ignore``, and the cases."""

    defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)
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
    ignore: tuple[str, ...] = ()

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
        problems = validation_problems(error, source, model=CaseFileModel)
        if len(problems) == 1:
            raise CaseError(problems[0].reason, problems[0].location) from None
        text = f"{len(problems)} problems: " + "; ".join(str(p) for p in problems)
        raise CaseError(text, None, problems=problems) from None
    lines = tuple(source.locate(("cases", i)).line for i in range(len(model.cases)))
    return CaseFile(
        path=path,
        shown=display,
        cases=tuple(model.cases),
        lines=lines,
        defaults=model.defaults,
        source=source,
        ignore=tuple(model.ignore),
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


FINDING_KINDS = ("violation", "escalation", "insufficient_sample", "excused")
"""The kinds of finding a case's ``ignore`` may name (besides rule ids)."""


def ignored(case_file: CaseFile, index: int) -> tuple[str, ...]:
    """What the exact comparison of a case leaves out: its own ``ignore``, else the file's."""
    own = case_file.cases[index].ignore
    return tuple(own) if own is not None else case_file.ignore


def unknown_names(
    case_file: CaseFile, index: int, pack: Pack
) -> list[tuple[tuple[str | int, ...], str]]:
    """The names a case uses that the pack does not have (expected and ignored rules, its
    profile, the parameters it replaces): for each, the key path in the case and why."""
    case = case_file.cases[index]
    rule_ids = [rule.id for rule in pack.rules]
    known = set(rule_ids)
    found: list[tuple[tuple[str | int, ...], str]] = []
    for position, expectation in enumerate(case.expect.violations):
        if expectation.rule not in known:
            hint = did_you_mean(expectation.rule, rule_ids)
            reason = f"expected rule {expectation.rule!r} does not exist in pack {pack.id!r}{hint}"
            found.append((("expect", "violations", position, "rule"), reason))
    if case.profile is not None and case.profile not in pack.profiles:
        hint = did_you_mean(case.profile, pack.profiles)
        known_profiles = ", ".join(pack.profiles) or "none"
        reason = (
            f"no profile {case.profile!r} in pack {pack.id!r} (profiles: {known_profiles}){hint}"
        )
        found.append((("profile",), reason))
    for name in case.parameters:
        if name not in pack.parameters:
            hint = did_you_mean(name, pack.parameters)
            found.append((("parameters", name), f"no parameter {name!r} to replace{hint}"))
    names = ignored(case_file, index)
    for position, name in enumerate(names):
        if name not in known and name not in FINDING_KINDS:
            hint = did_you_mean(name, [*FINDING_KINDS, *rule_ids])
            reason = (
                f"ignore {name!r} is neither a kind of finding ({', '.join(FINDING_KINDS)}) "
                f"nor a rule of pack {pack.id!r}{hint}"
            )
            found.append((("ignore", position), reason))
    return found


def run_case(case_file: CaseFile, index: int, pack_path: Path, cache: PackCache) -> CaseResult:
    """Run one case of a case file against the pack at ``pack_path``."""
    case = case_file.cases[index]
    line = case_file.lines[index]
    expected_rules = frozenset(e.rule for e in case.expect.violations)
    try:
        pack = cache.get(pack_path, case.profile, case.parameters)
        unknown = unknown_names(case_file, index, pack)
        if unknown:
            return CaseResult(
                file=case_file.shown,
                line=line,
                name=case.name,
                passed=False,
                violations=(),
                error="; ".join(reason for _, reason in unknown),
                expected_rules=expected_rules,
            )
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
    missing, unexpected = compare(
        case.expect.violations,
        found,
        exact=case.match == "exact",
        ignore=ignored(case_file, index),
    )
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
    expected: Sequence[ExpectedViolation],
    actual: Sequence[Violation],
    *,
    exact: bool,
    ignore: Sequence[str] = (),
) -> tuple[list[str], list[Violation]]:
    """Match expectations to violations: (what is missing, what was not expected).

    A violation left over whose rule id or kind is in ``ignore`` is not "not expected".
    """
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
    if not exact:
        return missing, []
    # The engine's findings about itself (clause "engine": the calendar's horizon alarm, a
    # rule failing at run time) are left out of an exact comparison unless the case
    # expects one of them: a case tests the pack's rules, not the calendar's age.
    if not any(e.rule.startswith("engine.") for e in expected):
        left = [v for v in left if v.clause_id != "engine"]
    leave_out = set(ignore)
    return missing, [v for v in left if v.rule_id not in leave_out and v.kind not in leave_out]
