"""What every rule kind shares: spec pieces, the compile context and the runtime protocol.

A rule kind is one module with three things: a pydantic ``Spec`` (the YAML form, with a
``kind`` literal), a ``compile(spec, ctx) -> Runtime`` function, and the ``Runtime`` class
that reacts to events and to time. The registry in :mod:`commitrules.rules` lists them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import operator
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

import attrs
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import EventValidationError, ExpressionError, Location, Problem
from ..eventtime import WorkingDayCalendar, due_function, to_us
from ..expr import CompiledExpression, FieldType, Scope, TableInfo, compile_expression
from ..violations import FindingKind, Severity

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ..events import EventCatalog

__all__ = [
    "PRESENTATION",
    "Bilingual",
    "Carried",
    "CarriedItem",
    "CarryContext",
    "CompileContext",
    "CountRef",
    "DurationSpec",
    "EventFilterSpec",
    "FieldRef",
    "Finding",
    "Name",
    "ParamRef",
    "RuleId",
    "RuleRuntime",
    "RuleSpecBase",
    "RuntimeServices",
    "Spec",
    "TimerQueue",
    "key_getter",
    "message_names",
]

RuleId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,119}$")]
Name = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,63}$")]


class Spec(BaseModel):
    """Base of every YAML-facing model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(Spec):
    """A text in Chinese (``zh``) and English (``en``)."""

    zh: Annotated[str, Field(min_length=1, max_length=4000)]
    en: Annotated[str, Field(min_length=1, max_length=4000)]


class ParamRef(Spec):
    """A value taken from a named parameter."""

    param: Name


class FieldRef(Spec):
    """A value taken from a field of the triggering event."""

    field: Name


CountRef = Annotated[int, Field(ge=0, le=100_000)] | ParamRef | FieldRef
"""A count: a literal, ``{param: name}`` or ``{field: name}``."""

DurationUnit = Literal["minutes", "hours", "calendar_days", "working_days", "weeks", "months"]


class DurationSpec(Spec):
    """``{count: 15, unit: calendar_days, end_of_day: true}``; count may be a reference."""

    count: CountRef
    unit: DurationUnit
    end_of_day: bool = False


class EventFilterSpec(Spec):
    """Events of one type, optionally filtered, optionally matched on key fields."""

    event: Name
    where: Annotated[str, Field(max_length=2000)] | None = None
    match: list[Name] = Field(default_factory=list)


class RuleSpecBase(Spec):
    """Fields every rule has, whatever its kind."""

    id: RuleId
    clause: Annotated[str, Field(min_length=1, max_length=64)]
    role: Annotated[str, Field(min_length=1, max_length=64)]
    severity: Severity = "medium"
    message: Bilingual
    title: Bilingual | None = None
    description: str | None = None
    key: list[Name] = Field(default_factory=list)
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _dates_in_order(self) -> RuleSpecBase:
        if (
            self.effective_from is not None
            and self.effective_to is not None
            and self.effective_to <= self.effective_from
        ):
            msg = "effective_to must be after effective_from"
            raise ValueError(msg)
        return self


@attrs.frozen
class Finding:
    """A raw finding of one rule, before routing turns it into a Violation."""

    rule: RuleRuntime
    at_us: int
    at: dt.datetime
    event_ids: tuple[str, ...]
    subject: Mapping[str, Any]
    evidence: Mapping[str, Any]
    scope: Mapping[str, Any]
    kind: FindingKind = "violation"
    due_us: int | None = None
    moment_us: int | None = None  # the window/due/period the finding concerns (for its id)
    refers_to: str | None = None
    extra_roles: tuple[str, ...] = ()
    message: tuple[str, str] | None = None  # (zh, en) templates overriding the rule's
    severity: Severity | None = None
    context: Mapping[str, Any] = attrs.field(factory=dict)  # event fields a message may name
    provisional: bool = False  # counted on a provisional calendar year


class RuntimeServices(Protocol):
    """What the engine offers a rule while it runs."""

    tz: ZoneInfo
    calendar: WorkingDayCalendar | None

    @property
    def params(self) -> Mapping[str, Any]: ...

    def set_time(self, at_us: int) -> None: ...

    def lookup(self, table: str, key: object, column: str) -> object | None: ...

    def exists(self, table: str, key: object) -> bool: ...

    def table_rows(self, table: str, at_us: int) -> list[dict[str, Any]]: ...

    def table_key(self, table: str) -> str: ...

    def emit(self, finding: Finding) -> None: ...

    def schedule(self, fire_us: int, rule: RuleRuntime, token: Any) -> None: ...

    def prepared(self, rule: RuleRuntime) -> Any: ...

    prepared_values: dict[int, Any]
    """What each rule prepared for the event being released, by ``id(rule)``."""

    tracking: bool
    """Whether an outcome sink listens (rules skip outcome work when it does not)."""

    def outcome(
        self,
        rule: RuleRuntime,
        status: str,
        subject: Mapping[str, Any],
        at: dt.datetime,
        event_ids: tuple[str, ...],
        *,
        provisional: bool = False,
        measure: tuple[int, int, str] | None = None,
    ) -> None: ...

    def finding_id(self, finding: Finding) -> str: ...

    def rule_failed(
        self, rule: RuleRuntime, error: BaseException, event: Mapping[str, Any] | None
    ) -> None:
        """A rule raised at run time: the engine skips it for this input and says so."""


Handler = Callable[[dict[str, Any], int, RuntimeServices], None]


class TimerQueue:
    """One rule's timers in firing order, as three parallel queues.

    ``fires[i]`` (µs), ``seqs[i]`` (the engine's sequence number) and ``tokens[i]`` are
    one timer: plain integers in their own queues cost no object per timer for the
    garbage collector to count (a tuple per timer did).
    """

    __slots__ = ("fires", "seqs", "tokens")

    def __init__(self) -> None:
        self.fires: deque[int] = deque()
        self.seqs: deque[int] = deque()
        self.tokens: deque[Any] = deque()

    def popleft(self) -> Any:
        """Remove the first timer; its token."""
        self.fires.popleft()
        self.seqs.popleft()
        return self.tokens.popleft()


class RuleRuntime:
    """Base of the compiled, running form of a rule (one object per rule per engine).

    Subclasses fill :attr:`on_accept` (run when an event is accepted: single-event
    checks, final at once), :attr:`on_release` (run in event-time order once the
    watermark passes the event: everything stateful), and override :meth:`on_timer`,
    :meth:`on_finding` and the state methods as they need.
    """

    kind: str = ""
    stateful: bool = False
    counts_findings: bool = False
    drop_spent_timers: Callable[[TimerQueue, int], None] | None = None
    """Optional: drop from the front of the rule's timer queue what would do nothing.

    When a rule sets this, the engine calls it as time advances to ``until_us``; it pops
    the leading timers due by then that :meth:`on_timer` would ignore (a deadline met in
    time), and stops at the first that is not due or still matters. Contract: firing
    timers (this rule's or others') never makes a dropped timer matter again; only the
    rule's handlers of a later event may.
    """

    def __init__(self, spec: RuleSpecBase, ctx: CompileContext) -> None:
        self.spec = spec
        self.rule_id = spec.id
        self.clause_id = spec.clause
        self.role = spec.role
        self.severity: Severity = spec.severity
        self.message = (spec.message.zh, spec.message.en)
        self.key_fields: tuple[str, ...] = tuple(spec.key)
        self.from_us = ctx.date_us(spec.effective_from) if spec.effective_from else None
        self.to_us = ctx.date_us(spec.effective_to) if spec.effective_to else None
        self.on_accept: dict[str, Handler] = {}
        self.on_release: dict[str, Handler] = {}
        self.prepare: dict[str, Callable[[dict[str, Any], int, RuntimeServices], Any]] = {}
        self.scope_fields: tuple[str, ...] = ctx.scope_fields
        self.fingerprint: str = ""

    def in_force(self, at_us: int) -> bool:
        """Whether the rule applies at this instant (its effective dates)."""
        if self.from_us is not None and at_us < self.from_us:
            return False
        return not (self.to_us is not None and at_us >= self.to_us)

    def subject_of(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The rule's key values in an event."""
        return {name: event.get(name) for name in self.key_fields}

    def scope_of(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Scope values (branch, staff …) present in an event, to find the people."""
        return {name: event[name] for name in self.scope_fields if event.get(name) is not None}

    def on_timer(self, token: Any, fire_us: int, services: RuntimeServices) -> None:
        """Time reached a point this rule scheduled."""

    def timer_json(self, fire_us: int, token: Any) -> Any:
        """A timer's token as snapshots hold it (JSON-ready after encoding); the token itself."""
        return token

    def on_finding(self, finding: Finding, services: RuntimeServices) -> None:
        """Another rule's finding, for rules that count findings (thresholds)."""

    def state(self) -> Any:
        """The rule's state as JSON-ready data (for snapshots)."""
        return None

    def restore(self, state: Any) -> None:
        """Load state produced by :meth:`state`."""

    def start(self, first_us: int, services: RuntimeServices) -> None:
        """The engine saw its first event (periodic rules schedule their first close)."""

    # -- pack upgrades ---------------------------------------------------------------------
    def shape_parts(self) -> Any:
        """What the rule's state depends on structurally, as JSON-ready data.

        By default the whole logic of the spec: any change leaves nothing to carry over.
        Kinds whose state survives a change of their parameters or conditions narrow this
        to their kind, key and trigger.
        """
        spec = getattr(self, "spec", None)
        if spec is None:
            return self.rule_id
        return spec.model_dump(mode="json", exclude=PRESENTATION)

    def shape(self) -> str:
        """A hash of :meth:`shape_parts`: equal shapes let a restore carry state over."""
        payload = json.dumps([self.kind, list(self.key_fields), self.shape_parts()], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def carry(self, state: Any, context: CarryContext) -> Carried:
        """The state of an earlier version of this rule (same :meth:`shape`), recomputed
        under this version's definition. By default the state as it was."""
        return Carried(state=state)


PRESENTATION = frozenset(
    {"message", "message_missing", "title", "description", "tags", "severity", "role"}
)
"""Spec keys that change only how a finding reads, never what the rule decides."""


@attrs.frozen
class CarriedItem:
    """One obligation a pack upgrade recomputed, dropped or left as it was, and why."""

    rule_id: str
    key: Mapping[str, Any]
    action: str  # kept | recomputed | released | corrected | dropped | not-rejudged
    reason: str
    old_due_us: int | None = None
    new_due_us: int | None = None


@attrs.frozen
class Carried:
    """What :meth:`RuleRuntime.carry` returns: the new state, its timers and the report.

    ``timers`` None keeps the snapshot's timers of the rule; a list replaces them with
    ``(fire µs, token)`` pairs.
    """

    state: Any
    timers: list[tuple[int, Any]] | None = None
    items: list[CarriedItem] = attrs.field(factory=list)


class CarryContext(Protocol):
    """What a rule sees while its state is carried over into a new pack version."""

    watermark_us: int | None
    services: RuntimeServices

    def params_at(self, at_us: int) -> Mapping[str, Any]: ...

    def emit(self, finding: Finding) -> None: ...


class CompileContext:
    """Everything a rule kind needs to compile: names it may use and where it was written."""

    def __init__(
        self,
        *,
        catalog: EventCatalog,
        params: Mapping[str, FieldType],
        constant_params: Mapping[str, object],
        param_values: Callable[[str], Sequence[tuple[int, object]]],
        tables: Mapping[str, TableInfo],
        tz: ZoneInfo,
        calendar: WorkingDayCalendar | None,
        roles: frozenset[str],
        scope_fields: tuple[str, ...],
        locate: Callable[[tuple[str | int, ...]], Location],
        cache: dict[Any, CompiledExpression] | None = None,
        field_cache: dict[str, dict[str, FieldType]] | None = None,
    ) -> None:
        self.catalog = catalog
        self.params = params
        self.constant_params = constant_params
        self.param_values = param_values
        self.tables = tables
        self.tz = tz
        self.calendar = calendar
        self.roles = roles
        self.scope_fields = scope_fields
        self.locate = locate
        self.problems: list[Problem] = []
        # Compiled expressions are immutable: engines built from one pack share them.
        self._cache: dict[Any, CompiledExpression] = cache if cache is not None else {}
        self._fields: dict[str, dict[str, FieldType]] = (
            field_cache if field_cache is not None else {}
        )

    # -- errors ------------------------------------------------------------------------
    def problem(self, path: tuple[str | int, ...], reason: str) -> None:
        """Record a problem at a key of the rule (all are reported together)."""
        self.problems.append(Problem(self.locate(path), reason))

    def unknown(self, what: str, name: str, known: Sequence[str]) -> str:
        """A reason for an unknown name, with a suggestion when one is close."""
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown {what} {name!r}{hint}"

    # -- names -------------------------------------------------------------------------
    def event_fields(self, event_type: str) -> dict[str, FieldType] | None:
        """The expression types of an event type's fields, or None if the type is unknown."""
        if event_type not in self.catalog:
            return None
        known = self._fields.get(event_type)
        if known is None:
            known = self._fields[event_type] = {
                name: FieldType(kind, optional)  # type: ignore[arg-type]
                for name, (kind, optional) in self.catalog[event_type].fields.items()
            }
        return known

    def check_event_type(self, path: tuple[str | int, ...], name: str) -> bool:
        """Whether an event type exists; records a problem when it does not."""
        if name in self.catalog:
            return True
        self.problem(path, self.unknown("event type", name, self.catalog.names))
        return False

    def check_fields(
        self, path: tuple[str | int, ...], event_type: str, names: Sequence[str]
    ) -> bool:
        """Whether every name is a field of the event type; records problems."""
        fields = self.event_fields(event_type)
        if fields is None:
            return False
        ok = True
        for index, name in enumerate(names):
            if name not in fields:
                self.problem(
                    (*path, index), self.unknown(f"field of {event_type}", name, list(fields))
                )
                ok = False
        return ok

    def expression(
        self,
        path: tuple[str | int, ...],
        text: str,
        event_type: str,
        *,
        prior_type: str | None = None,
        fields: Mapping[str, FieldType] | None = None,
    ) -> CompiledExpression | None:
        """Compile a condition over an event type (and a prior event type); None on error."""
        key = (text, event_type, prior_type, None if fields is None else tuple(sorted(fields)))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        own = fields if fields is not None else self.event_fields(event_type)
        if own is None:
            return None
        prior = self.event_fields(prior_type) if prior_type is not None else None
        if prior is not None:
            # A prior event may be absent entirely: every prior field may be None.
            prior = {name: FieldType(t.kind, True) for name, t in prior.items()}
        scope = Scope(
            fields=own,
            prior_fields=prior,
            params=self.params,
            constant_params=self.constant_params,
            tables=self.tables,
        )
        try:
            compiled = compile_expression(text, scope, location=self.locate(path))
        except ExpressionError as error:
            self.problems.append(Problem(error.location, _expression_reason(error)))
            return None
        self._cache[key] = compiled
        return compiled

    # -- values ------------------------------------------------------------------------
    def date_us(self, day: dt.date) -> int:
        """Local midnight of a date in the pack's zone, as µs."""
        if isinstance(day, dt.datetime):
            moment = day if day.tzinfo is not None else day.replace(tzinfo=self.tz)
        else:
            moment = dt.datetime.combine(day, dt.time(), tzinfo=self.tz)
        return to_us(moment)

    def count_getter(
        self, path: tuple[str | int, ...], count: Any, event_type: str
    ) -> Callable[[Mapping[str, Any], Mapping[str, Any]], int] | None:
        """A function (event, params in force) -> count, for a literal or a reference."""
        if isinstance(count, int):
            value = count
            return lambda _event, _params: value
        if isinstance(count, ParamRef):
            name = count.param
            if name not in self.params:
                self.problem((*path, "param"), self.unknown("parameter", name, list(self.params)))
                return None
            if self.params[name].kind != "int":
                self.problem((*path, "param"), f"parameter {name!r} must be a whole number")
                return None
            return lambda _event, params: int(params[name])
        assert isinstance(count, FieldRef)
        fields = self.event_fields(event_type) or {}
        name = count.field
        if name not in fields:
            self.problem(
                (*path, "field"), self.unknown(f"field of {event_type}", name, list(fields))
            )
            return None
        if fields[name].kind != "int":
            self.problem((*path, "field"), f"field {name!r} must be a whole number")
            return None

        def from_field(event: Mapping[str, Any], _params: Mapping[str, Any]) -> int:
            value = int(event[name])
            if value < 0:
                where = Location(key=name, event_id=str(event.get("id")))
                raise EventValidationError([Problem(where, "a duration count must be 0 or more")])
            return value

        return from_field

    def duration_function(
        self, path: tuple[str | int, ...], spec: DurationSpec, event_type: str
    ) -> Callable[[int, Mapping[str, Any], Mapping[str, Any]], int] | None:
        """A function (start µs, event, params) -> inclusive due µs."""
        getter = self.count_getter((*path, "count"), spec.count, event_type)
        if getter is None:
            return None
        if spec.unit == "working_days" and self.calendar is None:
            self.problem((*path, "unit"), "working days need a calendar in pack.yaml")
            return None
        compute = due_function(spec.unit, spec.end_of_day, tz=self.tz, calendar=self.calendar)
        count = spec.count
        # One call less per due time for the common counts: a number or a parameter.
        if isinstance(count, int):

            def due_fixed(
                start_us: int, _event: Mapping[str, Any], _params: Mapping[str, Any]
            ) -> int:
                return compute(start_us, count)

            return due_fixed
        if isinstance(count, ParamRef):
            name = count.param

            def due_param(
                start_us: int, _event: Mapping[str, Any], params: Mapping[str, Any]
            ) -> int:
                return compute(start_us, int(params[name]))

            return due_param

        def due(start_us: int, event: Mapping[str, Any], params: Mapping[str, Any]) -> int:
            return compute(start_us, getter(event, params))

        return due

    def check_role(self, path: tuple[str | int, ...], role: str) -> None:
        """Record a problem when a role id is not in the role catalogue."""
        if role not in self.roles:
            self.problem(path, self.unknown("role", role, sorted(self.roles)))


def key_getter(fields: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A fast function giving the tuple of an event's values for ``fields``.

    Validated events hold every declared field (absent optionals are None), so plain
    indexing is safe; for a pack-declared type the fields were checked at load.
    """
    names = tuple(fields)
    if not names:
        return lambda _event: ()
    if len(names) == 1:
        (name,) = names
        return lambda event: (event.get(name),)
    getter = operator.itemgetter(*names)

    def many(event: Mapping[str, Any]) -> tuple[Any, ...]:
        try:
            return getter(event)  # type: ignore[no-any-return]
        except KeyError:
            return tuple(event.get(name) for name in names)

    return many


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


def message_names(*messages: Bilingual | None) -> set[str]:
    """Names used as ``{placeholders}`` in message templates."""
    names: set[str] = set()
    for message in messages:
        if message is not None:
            names.update(_PLACEHOLDER.findall(message.zh))
            names.update(_PLACEHOLDER.findall(message.en))
    return names


def _expression_reason(error: ExpressionError) -> str:
    return f"{error.reason}\n    {error.expression}\n    {' ' * error.offset}^"
