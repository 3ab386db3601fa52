"""Every error commitrules raises, in one hierarchy.

::

    CommitRulesError
    ├── PackError                  a pack cannot be loaded (static problem)
    │   ├── PackSyntaxError        YAML that cannot be read (or is refused: aliases, size)
    │   ├── PackValidationError    one or more problems found while validating a pack
    │   └── ExpressionError        a condition that does not parse or type-check
    ├── EventError                 an event that cannot be accepted
    │   ├── EventValidationError   a field is missing, has the wrong type or value
    │   ├── EventConflictError     an id seen before arrives with a different payload
    │   ├── LateEventError         older than the watermark
    │   └── FutureEventError       further ahead of the watermark than the pack allows
    ├── CalendarError              a strict calendar's provisional year was needed
    ├── SnapshotError              a snapshot that cannot be restored
    │   └── CheckpointError        a checkpoint database that cannot be read
    ├── AuditLogError              a decision log that cannot be appended to (also ValueError)
    ├── CaseError                  a pack test case that cannot be read
    ├── ProcessingError            a call failed after validation; rolled back whole
    ├── DeliveryError              a sink failed after the call committed; kept to redeliver
    ├── MigrationError             a restore refused because state would be dropped
    └── EngineConfigError          a bad argument to the engine (also a ValueError)

Every error carries *where* (a :class:`Location`: file, line, column, key, rule id,
expression offset, event id, field path) and *why* (``reason``), and renders both in its
message. A pack with several problems reports them all at once
(:attr:`PackValidationError.problems`). A breach of a rule is never an exception: it is
a :class:`~commitrules.Violation`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import attrs

__all__ = [
    "AuditLogError",
    "CalendarError",
    "CaseError",
    "CheckpointError",
    "CommitRulesError",
    "DeliveryError",
    "EngineConfigError",
    "EventConflictError",
    "EventError",
    "EventValidationError",
    "ExpressionError",
    "FutureEventError",
    "LateEventError",
    "Location",
    "MigrationError",
    "PackError",
    "PackSyntaxError",
    "PackValidationError",
    "Problem",
    "ProcessingError",
    "SnapshotError",
    "did_you_mean",
]


@attrs.frozen
class Location:
    """Where a problem is: any combination of the fields may be known.

    >>> str(Location(file="rules/c1.yaml", line=12, column=5, key="rules[0].when"))
    'rules/c1.yaml:12:5: rules[0].when'
    >>> str(Location(file="rules/c1.yaml", line=12, column=5, key="when", rule_id="C1.x"))
    'rules/c1.yaml:12:5: rule C1.x: when'
    """

    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    key: str | None = None  # dotted path of the offending key in the file or event
    rule_id: str | None = None
    offset: int | None = None  # 0-based offset in an expression
    event_id: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            parts.append(where)
        if self.rule_id is not None:
            parts.append(f"rule {self.rule_id}")
        if self.key:
            parts.append(self.key)
        if self.offset is not None:
            parts.append(f"at offset {self.offset}")
        if self.event_id is not None:
            parts.append(f"event {self.event_id}")
        return ": ".join(parts)


@attrs.frozen
class Problem:
    """One problem found in a pack, an event or a case: where it is and why it is wrong."""

    location: Location
    reason: str

    def __str__(self) -> str:
        where = str(self.location)
        return f"{where}: {self.reason}" if where else self.reason


class CommitRulesError(Exception):
    """Base of every error raised by commitrules."""

    def __init__(self, reason: str, location: Location | None = None) -> None:
        self.reason = reason
        self.location = location if location is not None else Location()
        super().__init__(str(Problem(self.location, reason)))


class PackError(CommitRulesError):
    """A pack cannot be loaded."""


class PackSyntaxError(PackError):
    """A pack file is not YAML we accept (syntax, duplicate key, alias, size)."""


class PackValidationError(PackError):
    """A pack has one or more problems; :attr:`problems` lists them all."""

    def __init__(self, problems: Iterable[Problem], *, where: str = "the pack") -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        first = self.problems[0] if self.problems else Problem(Location(), f"invalid {where}")
        CommitRulesError.__init__(self, first.reason, first.location)
        count = len(self.problems)
        lines = [f"{count} problem{'s' if count != 1 else ''} in {where}:"]
        lines.extend(f"  {problem}" for problem in self.problems)
        self.args = ("\n".join(lines),)


class ExpressionError(PackError):
    """A condition expression does not parse, uses something not allowed, or mistypes."""

    def __init__(
        self, reason: str, *, expression: str, offset: int, location: Location | None = None
    ) -> None:
        self.expression = expression
        self.offset = offset
        base = location if location is not None else Location()
        located = attrs.evolve(base, offset=offset)
        super().__init__(reason, located)
        pointer = " " * offset + "^"
        self.args = (f"{self.args[0]}\n    {expression}\n    {pointer}",)


class EventError(CommitRulesError):
    """An event cannot be accepted; the engine's state is unchanged."""


class EventValidationError(EventError):
    """An event failed validation; :attr:`problems` names each field and reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        first = self.problems[0] if self.problems else Problem(Location(), "invalid event")
        super().__init__(first.reason, first.location)
        if len(self.problems) > 1:
            ids = {p.location.event_id for p in self.problems}
            if len(ids) == 1 and None not in ids:
                # One event: name it once, then each field and why.
                each = "; ".join(
                    str(attrs.evolve(p, location=attrs.evolve(p.location, event_id=None)))
                    for p in self.problems
                )
                self.args = (f"event {ids.pop()}: {each}",)
            else:
                rest = "; ".join(str(p) for p in self.problems[1:])
                self.args = (f"{self.args[0]}; {rest}",)


class EventConflictError(EventError):
    """An event id that was seen before arrives with a different payload."""


class LateEventError(EventError):
    """An event is older than the watermark and can no longer be judged correctly."""


class FutureEventError(EventError):
    """An event is further ahead of the watermark than the pack's ``max_ahead`` allows.

    It is rejected and does not move time: one event far in the future would otherwise
    release false deadline findings and make every later genuine event late.
    """


class CalendarError(CommitRulesError):
    """A working-day calculation needs a year a strict calendar does not know officially."""


class SnapshotError(CommitRulesError):
    """A snapshot cannot be read or does not fit the pack it is restored into."""


class CheckpointError(SnapshotError):
    """A checkpoint database cannot be opened or read (damaged, or not a database)."""


class AuditLogError(CommitRulesError, ValueError):
    """A decision log cannot be appended to: not a decision log, damaged, or keyed otherwise.

    Also a ``ValueError``, which :class:`~commitrules.audit.DecisionLog` raised before.
    """


class CaseError(CommitRulesError):
    """A pack test case cannot be read; :attr:`problems` lists every problem found."""

    def __init__(
        self,
        reason: str,
        location: Location | None = None,
        *,
        problems: Iterable[Problem] = (),
    ) -> None:
        super().__init__(reason, location)
        self.problems: tuple[Problem, ...] = tuple(problems) or (Problem(self.location, reason),)


class ProcessingError(CommitRulesError):
    """A call failed after its input was validated; nothing of it was applied.

    The engine's state (rule state, duplicate ids, watermark, router) is as before the
    call and the same event can be sent again: it is processed, not called a duplicate.
    :attr:`step` says where it failed (``release``, ``evaluation``, ``rendering``,
    ``routing``, ``store``), :attr:`event_id` which event (None for ``advance_to``), and
    the original exception is the ``__cause__``.
    """

    def __init__(self, reason: str, *, step: str, event_id: str | None = None) -> None:
        self.step = step
        self.event_id = event_id
        super().__init__(reason, Location(event_id=event_id))


class DeliveryError(CommitRulesError):
    """A sink (the outcome sink, an observer, the decision log) failed after a commit.

    Nothing is rolled back: the engine keeps what the sink did not take and delivers it
    again, in order and before anything newer, on the next call or :meth:`Engine.flush`
    (at least once). :attr:`violations` holds what the call released, so the caller loses
    nothing; :attr:`processed` says whether the call's own input was applied (False when
    the redelivery at the start of a call failed: then the call changed nothing and its
    input can simply be sent again).
    """

    def __init__(
        self,
        reason: str,
        *,
        violations: Sequence[object] = (),
        processed: bool = True,
        undelivered: int = 0,
    ) -> None:
        self.violations: list[object] = list(violations)
        self.processed = processed
        self.undelivered = undelivered
        super().__init__(reason)


class MigrationError(CommitRulesError):
    """A restore into a changed pack would drop state and was asked not to (``refuse``).

    :attr:`report` is the :class:`~commitrules.migration.MigrationReport` that says what.
    """

    def __init__(self, reason: str, report: object) -> None:
        self.report = report
        super().__init__(reason)


class EngineConfigError(CommitRulesError, ValueError):
    """A bad argument to the engine (unknown backend, a naive time, a missing key).

    Also a :class:`ValueError`, so callers that caught that keep working.
    """


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """A hint naming the valid name closest to ``name``, or ``""`` when none is close.

    Only names from ``valid`` are proposed, and never ``name`` itself (a name that is valid
    elsewhere is still wrong where it was written).

    >>> did_you_mean("requre", ["require", "forbid"])
    "; did you mean 'require'?"
    >>> did_you_mean("require", ["require", "requires"])
    "; did you mean 'requires'?"
    >>> did_you_mean("zzz", ["require"])
    ''
    """
    others = sorted({item for item in valid if item != name})
    close = difflib.get_close_matches(name, others, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
