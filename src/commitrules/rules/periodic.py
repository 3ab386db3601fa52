"""Periodic rules, judged when a calendar period closes in the pack's time zone.

``kind: periodic_target`` — a rate over a period meets a target (KPI):

.. code-block:: yaml

    - id: M4.risk-event-rate
      kind: periodic_target
      clause: M4
      period: month
      numerator: {event: risk_event}
      denominator: [{event: sale}, {event: service_requested}]
      target: {op: "<", value: {param: risk_event_rate_max}}
      min_sample: {param: risk_rate_min_sample}
      role: risk-compliance
      message: {zh: "…", en: "Risk-event rate {rate} in {period} is not below {target}"}

The comparison is exact (95 of 100 meets ``>= 0.95``). A period whose denominator is below
``min_sample`` is reported as ``insufficient_sample``, never silently passed.

``kind: periodic_obligation`` — every member (of a reference table) shows a matching event
each period:

.. code-block:: yaml

    - id: M4.training
      kind: periodic_obligation
      clause: M4.training
      period: quarter
      requires: {event: training_completed, where: "course == 'compliance'"}
      members: {table: staff, where: "customer_facing"}  # omit: "one event per period"
      member_field: staff_id                             # the event field naming the member
      role: training
      message: {zh: "…", en: "{staff_id} had no compliance training in {period}"}

Members are the table's rows in force at the end of the period (and matching ``where``);
members that sent nothing at all are found. Tracking starts with the period of the first
event the engine sees.

An event counts for the period it falls in, unless the rule names a ``period_field``: the
event then counts for the period that field names (a year as a whole number, ``2026``, or
any period label of the rule's unit, ``2026Q3``), whenever it comes, and the period is
judged ``due`` after its last instant (counted like a deadline's duration) instead of at
its end. An annual report published in March 2027 for the year 2026 counts for 2026:

.. code-block:: yaml

    - id: I2.annual-report
      kind: periodic_obligation
      clause: I2
      period: year
      requires: {event: annual_report_published}
      period_field: year                               # the event's field naming the period
      due: {count: {param: annual_report_due_months}, unit: months}  # judged 4 months later
      role: senior-management
      message: {zh: "…", en: "No annual report for {period} by {due_at}"}

An event whose field names no period of the rule's unit, or a period already judged (or
before tracking started), does not count. An event at exactly the due instant is in time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

import attrs
from pydantic import Field, model_validator

from ..eventtime import Period, from_us, next_period, parse_period, period_of
from ..expr import CompiledExpression, FieldType
from ._base import (
    Carried,
    CarryContext,
    CompileContext,
    DurationSpec,
    EventFilterSpec,
    FieldRef,
    Finding,
    Name,
    ParamRef,
    RuleRuntime,
    RuleSpecBase,
    RuntimeServices,
    Spec,
    key_getter,
)
from ._period_timers import PeriodTimers, PlacedPeriods
from .threshold import compare

__all__ = [
    "PeriodicObligationRule",
    "PeriodicObligationSpec",
    "PeriodicTargetRule",
    "PeriodicTargetSpec",
    "compile_obligation",
    "compile_target",
    "judge_group",
    "named_period",
    "period_finding",
    "target_goal",
    "target_groups",
]

INSUFFICIENT = (
    "{period}:樣本不足,未能判定(分母 {denominator},最少 {min_sample})— {rule_id}",
    "{period}: too few observations to judge ({denominator} < {min_sample}) — {rule_id}",
)

PeriodName = Literal["day", "week", "month", "quarter", "half_year", "year"]


class TargetSpec(Spec):
    """``{op: ">=", value: 0.95}``; value may be ``{param: name}``."""

    op: Literal[">=", ">", "<=", "<"]
    value: Decimal | ParamRef


class MembersSpec(Spec):
    """The reference table whose rows must each show up, optionally filtered."""

    table: Name
    where: str | None = Field(default=None, max_length=2000)


class _PeriodicBase(RuleSpecBase):
    period: PeriodName
    members: MembersSpec | None = None
    member_field: Name | None = None


class PeriodicTargetSpec(_PeriodicBase):
    """The YAML form of a periodic target."""

    kind: Literal["periodic_target"]
    numerator: EventFilterSpec | list[EventFilterSpec]
    denominator: EventFilterSpec | list[EventFilterSpec]
    target: TargetSpec
    min_sample: int | ParamRef = 1
    group_by: list[Name] = Field(default_factory=list)


class PeriodicObligationSpec(_PeriodicBase):
    """The YAML form of a periodic obligation."""

    kind: Literal["periodic_obligation"]
    requires: EventFilterSpec | list[EventFilterSpec]
    period_field: Name | None = None
    due: DurationSpec | None = None

    @model_validator(mode="after")
    def _due_needs_a_period_field(self) -> PeriodicObligationSpec:
        if self.due is not None and self.period_field is None:
            msg = (
                "'due' judges a period after its end, which only events placed by "
                "'period_field' can still reach: name the field"
            )
            raise ValueError(msg)
        return self


class _PeriodicRule(RuleRuntime, PeriodTimers):
    """Common machinery: the current period, its close timer, members."""

    stateful = True

    def __init__(self, spec: _PeriodicBase, ctx: CompileContext) -> None:
        super().__init__(spec, ctx)
        self.period_unit: PeriodName = spec.period
        self._current: Period | None = None
        self._members_where: CompiledExpression | None = None
        self._members_table: str | None = None
        self.member_field: str | None = spec.member_field
        #: Optional, for a host that counts a period in parts (one stage of a plan): called
        #: when a period closes, before it is judged; the period is judged only when it
        #: returns True. The counts are reset after it either way.
        self.closing: Callable[[Period], bool] | None = None
        if spec.members is not None:
            table = ctx.tables.get(spec.members.table)
            if table is None:
                ctx.problem(
                    ("members", "table"), ctx.unknown("table", spec.members.table, list(ctx.tables))
                )
            else:
                self._members_table = spec.members.table
                columns: dict[str, FieldType] = dict(table.columns)
                if spec.members.where:
                    self._members_where = ctx.expression(
                        ("members", "where"), spec.members.where, "", fields=columns
                    )
                if self.member_field is None:
                    ctx.problem(
                        ("member_field",),
                        "members need 'member_field': the event field naming a member",
                    )

    def start(self, first_us: int, services: RuntimeServices) -> None:
        self.open_first_period(first_us, services)

    def members(self, period: Period, services: RuntimeServices) -> list[Any]:
        """Keys of the members in force at the end of the period."""
        assert self._members_table is not None
        rows = services.table_rows(self._members_table, period.end_us - 1)
        where = self._members_where
        key_column = services.table_key(self._members_table)
        return [
            row[key_column] for row in rows if where is None or where.function(row, None, services)
        ]

    def on_timer(self, token: Any, fire_us: int, services: RuntimeServices) -> None:
        period = self.ending_period(token)
        if period is None:
            return
        services.set_time(period.end_us - 1)
        judge = self.closing is None or self.closing(period)
        if judge and self.in_force(period.end_us - 1):
            self.close(period, services)
        self.reset()
        self.open_next_period(period, services)

    def close(self, period: Period, services: RuntimeServices) -> None:
        """Judge the period that just ended."""
        raise NotImplementedError

    def partial(self) -> Any:
        """What this rule counted of the current period, JSON-ready: one part of the
        period's count when each part of a stream is counted apart (see :meth:`merge`)."""
        raise NotImplementedError

    def merge(self, partial: Any) -> None:
        """Add a :meth:`partial` count of another part of the stream to the current period's
        (the parts' order does not matter)."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget the counts of the period that just ended."""
        raise NotImplementedError

    def _filters(
        self,
        ctx: CompileContext,
        path: tuple[str | int, ...],
        value: EventFilterSpec | list[EventFilterSpec],
    ) -> list[tuple[str, CompiledExpression | None]]:
        items = value if isinstance(value, list) else [value]
        out: list[tuple[str, CompiledExpression | None]] = []
        for index, item in enumerate(items):
            here = path if not isinstance(value, list) else (*path, index)
            if not ctx.check_event_type((*here, "event"), item.event):
                continue
            where = ctx.expression((*here, "where"), item.where, item.event) if item.where else None
            out.append((item.event, where))
        return out

    def shape_parts(self) -> Any:
        """The counts kept depend on the period and on what is counted; the target, the
        sample size and the members may change."""
        spec = self.spec
        return spec.model_dump(
            mode="json",
            include={
                "period",
                "numerator",
                "denominator",
                "group_by",
                "requires",
                "member_field",
                "period_field",
            },
        )


class PeriodicTargetRule(_PeriodicRule):
    """A compiled periodic target; state: numerator and denominator counts per group."""

    kind = "periodic_target"

    def __init__(self, spec: PeriodicTargetSpec, ctx: CompileContext) -> None:
        super().__init__(spec, ctx)
        self.spec: PeriodicTargetSpec = spec
        self.group_by = tuple(spec.group_by)
        if not self.key_fields:
            self.key_fields = self.group_by
        self._counts: dict[tuple[Any, ...], list[int]] = {}
        self.tz = ctx.tz
        for side, path, value in (
            (0, ("numerator",), spec.numerator),
            (1, ("denominator",), spec.denominator),
        ):
            for event_type, where in self._filters(ctx, path, value):
                ctx.check_fields(("group_by",), event_type, self.group_by)
                self._add_handler(event_type, where, side)
        for param in (spec.target.value, spec.min_sample):
            if isinstance(param, ParamRef) and param.param not in ctx.params:
                ctx.problem(("target",), ctx.unknown("parameter", param.param, list(ctx.params)))

    def _add_handler(self, event_type: str, where: CompiledExpression | None, side: int) -> None:
        previous = self.on_release.get(event_type)
        counts = self._counts
        group_by = self.group_by
        key_of = key_getter(group_by)

        def handle(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
            if previous is not None:
                previous(event, at_us, services)
            if where is not None and not where.function(event, None, services):
                return
            key = key_of(event) if group_by else ()  # most targets are not grouped
            entry = counts.get(key)
            if entry is None:
                entry = counts[key] = [0, 0]
            entry[side] += 1

        self.on_release[event_type] = handle

    def close(self, period: Period, services: RuntimeServices) -> None:
        target = self.spec.target
        goal, min_sample = target_goal(target, self.spec.min_sample, services.params)
        members = self.members(period, services) if self._members_by_group() else None
        groups = target_groups(self._counts, self.group_by, members)
        for key in sorted(groups, key=repr):
            numerator, denominator = groups[key]
            verdict: Literal["met", "missed", "insufficient"] = "insufficient"
            if denominator >= max(min_sample, 1):
                met = compare(Fraction(numerator, denominator), target.op, goal)
                verdict = "met" if met else "missed"
            judge_group(
                self, period, services, key, groups[key], (target.op, goal, min_sample), verdict
            )

    def _members_by_group(self) -> bool:
        """Whether the members table gives the groups (one group field, the member's)."""
        return (
            self._members_table is not None
            and self.member_field is not None
            and len(self.group_by) == 1
        )

    def reset(self) -> None:
        self._counts.clear()

    def partial(self) -> Any:
        return [[list(key), list(value)] for key, value in sorted(self._counts.items(), key=repr)]

    def merge(self, partial: Any) -> None:
        for key, (numerator, denominator) in partial:
            entry = self._counts.setdefault(tuple(key), [0, 0])
            entry[0] += int(numerator)
            entry[1] += int(denominator)

    def state(self) -> Any:
        return {
            "period": self._period_state(),
            "counts": [[list(key), value] for key, value in self._counts.items()],
        }

    def restore(self, state: Any) -> None:
        self._restore_period(state["period"], self.tz)
        self._counts.clear()
        for key, value in state["counts"]:
            self._counts[tuple(key)] = [int(value[0]), int(value[1])]


def named_period(value: Any, unit: PeriodName, tz: Any) -> Period | None:
    """The period of ``unit`` that a field's value names (a year as a whole number, or a
    period label), or None when it names none (both backends place events with it)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if unit != "year" or not 1 <= value <= 9998:
            return None
        value = f"{value:04d}"
    if not isinstance(value, str):
        return None
    try:
        period = parse_period(value, tz)
    except ValueError:
        return None
    return period if period.unit == unit else None


class PeriodicObligationRule(_PeriodicRule, PlacedPeriods):
    """A compiled periodic obligation; state: the members seen this period (with a
    ``period_field``: per period not yet judged)."""

    kind = "periodic_obligation"

    def __init__(self, spec: PeriodicObligationSpec, ctx: CompileContext) -> None:
        super().__init__(spec, ctx)
        self.spec: PeriodicObligationSpec = spec
        self.tz = ctx.tz
        self._seen: set[Any] = set()
        self._any = False
        self.period_field: str | None = spec.period_field
        self._init_placed()
        self._due: Any = None
        self._closing = 0  # with a closing hook: the start of the period being judged
        if spec.due is not None:
            if isinstance(spec.due.count, FieldRef):
                ctx.problem(("due", "count"), "a period's due time is a number or a parameter")
            else:
                self._due = ctx.duration_function(("due",), spec.due, "")
        if self.member_field and not self.key_fields:
            self.key_fields = (self.member_field,)
        for event_type, where in self._filters(ctx, ("requires",), spec.requires):
            if self.member_field is not None:
                ctx.check_fields(("member_field",), event_type, [self.member_field])
            if self.period_field is not None:
                ctx.check_fields(("period_field",), event_type, [self.period_field])
                self._add_placed_handler(event_type, where)
            else:
                self._add_handler(event_type, where)

    def _add_handler(self, event_type: str, where: CompiledExpression | None) -> None:
        previous = self.on_release.get(event_type)
        member_field = self.member_field
        seen = self._seen

        def handle(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
            if previous is not None:
                previous(event, at_us, services)
            if where is not None and not where.function(event, None, services):
                return
            self._any = True
            if member_field is not None:
                seen.add(event.get(member_field))

        self.on_release[event_type] = handle

    def _add_placed_handler(self, event_type: str, where: CompiledExpression | None) -> None:
        previous = self.on_release.get(event_type)
        member_field = self.member_field
        field = self.period_field
        assert field is not None

        def handle(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
            if previous is not None:
                previous(event, at_us, services)
            if where is not None and not where.function(event, None, services):
                return
            period = named_period(event.get(field), self.period_unit, services.tz)
            self.place(period, event.get(member_field) if member_field else None)

        self.on_release[event_type] = handle

    # -- with a period field: judged at the end, or 'due' after it ----------------------
    def start(self, first_us: int, services: RuntimeServices) -> None:
        if self.period_field is None:
            super().start(first_us, services)
        else:
            self.start_placed(first_us, services)

    @property
    def has_due(self) -> bool:
        return self._due is not None

    def due_us(self, period: Period, params: Any) -> int:
        """The inclusive instant by which events may still count for ``period``."""
        if self._due is None:
            return period.end_us - 1
        return int(self._due(period.end_us - 1, {}, params))

    def on_timer(self, token: Any, fire_us: int, services: RuntimeServices) -> None:
        if self.period_field is None:
            super().on_timer(token, fire_us, services)
        else:
            self.placed_timer(token, services)

    def judge(self, period: Period, services: RuntimeServices) -> None:
        """Judge a period named by the period field, at its end or its due time."""
        if self.is_judged(period):
            return
        judged = True
        if self.closing is not None:  # a host counting the period in parts
            self._closing = period.start_us
            judged = self.closing(period)
        seen, seen_any, due = self.take_period(period, services)
        if not judged or not self.in_force(period.end_us - 1):
            return
        self.close_with(period, services, seen, seen_any, due)

    def close(self, period: Period, services: RuntimeServices) -> None:
        self.close_with(period, services, self._seen, self._any, None)

    def close_with(
        self,
        period: Period,
        services: RuntimeServices,
        seen: set[Any],
        seen_any: bool,
        due_us: int | None,
    ) -> None:
        """Emit the period's findings (and outcomes): at its end, or at ``due_us``."""
        extra: dict[str, Any] = {}
        if due_us is not None:
            extra["due"] = from_us(due_us, services.tz).isoformat()
        if self._members_table is None or self.member_field is None:
            if not seen_any:
                services.emit(self._placed(period, services, {}, {"events": 0, **extra}, due_us))
            elif services.tracking:
                moment = period.end_us if due_us is None else due_us
                met = {"period": period.label}
                services.outcome(self, "compliant", met, from_us(moment, services.tz), ())
            return
        members = self.members(period, services)
        missing = [m for m in members if m not in seen]
        if services.tracking:
            end = from_us(period.end_us if due_us is None else due_us, services.tz)
            for member in sorted((m for m in members if m in seen), key=str):
                met = {self.member_field: member, "period": period.label}
                services.outcome(self, "compliant", met, end, ())
        for member in sorted(missing, key=str):
            subject = {self.member_field: member}
            services.emit(self._placed(period, services, subject, {"events": 0, **extra}, due_us))

    def _placed(
        self,
        period: Period,
        services: RuntimeServices,
        subject: dict[str, Any],
        evidence: dict[str, Any],
        due_us: int | None,
    ) -> Finding:
        finding = period_finding(self, period, services, subject, evidence)
        if due_us is None:
            return finding
        return attrs.evolve(finding, at_us=due_us, at=from_us(due_us, services.tz), due_us=due_us)

    def reset(self) -> None:
        self._seen.clear()
        self._any = False

    def partial(self) -> Any:
        if self.period_field is not None:  # the period being judged (see judge)
            seen, seen_any = self._open.get(self._closing, (set(), [False]))
            return {"seen": sorted(seen, key=repr), "any": seen_any[0]}
        return {"seen": sorted(self._seen, key=repr), "any": self._any}

    def merge(self, partial: Any) -> None:
        if self.period_field is not None:
            entry = self._open.setdefault(self._closing, (set(), [False]))
            entry[0].update(partial["seen"])
            entry[1][0] = entry[1][0] or bool(partial["any"])
            return
        self._seen.update(partial["seen"])
        self._any = self._any or bool(partial["any"])

    def state(self) -> Any:
        if self.period_field is not None:
            return self.placed_state()
        return {
            "period": self._period_state(),
            "seen": sorted(self._seen, key=str),
            "any": self._any,
        }

    def restore(self, state: Any) -> None:
        self._restore_period(state["period"], self.tz)
        self._seen.clear()
        self._open.clear()
        if self.period_field is not None:
            self.restore_placed(state)
            return
        self._seen.update(state["seen"])
        self._any = bool(state["any"])

    def carry(self, state: Any, context: CarryContext) -> Carried:
        """Timers follow the state: the next close, and the due time of every period that
        ended and is not judged yet (under the new ``due``)."""
        if self.period_field is None:
            return Carried(state=state)
        current = state.get("period")
        floor = state.get("floor")
        if current is None or floor is None:
            return Carried(state=state, timers=[])
        tz = context.services.tz
        period = period_of(int(current), self.period_unit, tz)
        timers: list[tuple[int, Any]] = []
        waiting = period_of(int(floor), self.period_unit, tz)
        while waiting.start_us < period.start_us:
            due = self.due_us(waiting, context.params_at(waiting.end_us - 1))
            timers.append((due + 1, ["due", waiting.start_us]))
            waiting = next_period(waiting, tz)
        timers.append((period.end_us, period.start_us))
        return Carried(state=state, timers=timers)


def compile_target(spec: PeriodicTargetSpec, ctx: CompileContext) -> PeriodicTargetRule:
    """Compile a periodic target spec."""
    return PeriodicTargetRule(spec, ctx)


def compile_obligation(spec: PeriodicObligationSpec, ctx: CompileContext) -> PeriodicObligationRule:
    """Compile a periodic obligation spec."""
    return PeriodicObligationRule(spec, ctx)


def _percent(value: Decimal) -> str:
    """0.95 -> '95%', 0.001 -> '0.1%' (exact, no float noise)."""
    text = format((value * 100).normalize(), "f")
    return f"{text}%"


def target_goal(
    target: TargetSpec, sample: int | ParamRef, params: Mapping[str, Any]
) -> tuple[Decimal, int]:
    """A periodic target's goal and minimum sample, parameters resolved."""
    value = target.value
    goal = Decimal(params[value.param]) if isinstance(value, ParamRef) else value
    return goal, int(params[sample.param]) if isinstance(sample, ParamRef) else sample


def target_groups(
    counts: Mapping[tuple[Any, ...], list[int]],
    group_by: Sequence[str],
    members: Sequence[Any] | None,
) -> dict[tuple[Any, ...], list[int]]:
    """The groups a period is judged by: those counted, the whole stream when there is no
    ``group_by``, and every member in force (``members``) counted or not."""
    groups = dict(counts)
    if not group_by:
        groups.setdefault((), [0, 0])
    elif members is not None:
        for member in members:
            groups.setdefault((member,), [0, 0])
    return groups


def judge_group(
    rule: Any,
    period: Period,
    services: RuntimeServices,
    key: tuple[Any, ...],
    counts: Sequence[int],
    goal: tuple[str, Decimal, int],
    verdict: Literal["met", "missed", "insufficient"],
) -> None:
    """Emit a periodic target's verdict on one group (both backends judge here; they
    differ only in how they reach ``verdict``): a finding, or a compliant outcome."""
    numerator, denominator = counts
    op, value, min_sample = goal
    subject = dict(zip(rule.group_by, key, strict=True))
    evidence: dict[str, Any] = {
        "numerator": numerator,
        "denominator": denominator,
        "target": f"{op} {_percent(value)}",
        "min_sample": min_sample,
    }
    if verdict == "insufficient":
        evidence["rate"] = None
        finding = period_finding(
            rule, period, services, subject, evidence, kind="insufficient_sample"
        )
        services.emit(attrs.evolve(finding, message=INSUFFICIENT))
        return
    evidence["rate"] = f"{float(Fraction(numerator, denominator)) * 100:.4g}%"
    if verdict == "missed":
        services.emit(period_finding(rule, period, services, subject, evidence))
    elif services.tracking:
        met = {**subject, "period": period.label}
        services.outcome(
            rule,
            "compliant",
            met,
            from_us(period.end_us, services.tz),
            (),
            measure=(numerator, denominator, evidence["target"]),
        )


def period_finding(
    rule: RuleRuntime,
    period: Period,
    services: RuntimeServices,
    subject: dict[str, Any],
    evidence: dict[str, Any],
    *,
    kind: Any = "violation",
) -> Finding:
    """The finding of a period that closed (both backends build it here)."""
    return Finding(
        rule=rule,
        at_us=period.end_us,
        at=from_us(period.end_us, services.tz),
        event_ids=(),
        subject={**subject, "period": period.label},
        evidence={"period": period.label, **evidence},
        scope=dict(subject),
        kind=kind,
        moment_us=period.start_us,
    )
