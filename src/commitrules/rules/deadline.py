"""``kind: deadline`` — an event must be followed by a matching event within a duration.

.. code-block:: yaml

    - id: C5.complaint.resolve
      kind: deadline
      clause: C5
      on: complaint_received
      when: "complexity != 'complex'"
      key: [case_id]
      within: {count: {param: complaint_decision_days}, unit: calendar_days, end_of_day: true}
      until: {event: complaint_resolved, match: [case_id]}
      extend:                                   # optional: approved extensions
        - {event: complaint_extended, match: [case_id], where: "is_set(approved_by)",
           to: {count: {param: complaint_decision_days_max}, unit: calendar_days, end_of_day: true}}
      cancel: [{event: complaint_withdrawn, match: [case_id]}]  # optional; a type of events.yaml
      escalate:                                 # optional: still open long after the due time
        - {after: {count: 15, unit: calendar_days}, to: [rights-protection-dept]}
      role: rights-specialist
      message: {zh: "…", en: "Complaint {case_id} not resolved by {due_at}"}

The due time is inclusive: a follow-up at exactly the due time is in time. One missed
deadline is one violation, reported when the watermark passes the due time; a follow-up
that arrives later does not create a second one. An extension's ``to`` counts from the
triggering event and only ever moves the due time later. Each ``escalate`` step that is
reached while the matter is still open emits a new record (kind ``escalation``) that
refers to the violation's id; nothing already emitted changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import Field

from ..eventtime import from_us, to_us
from ..expr import CompiledExpression
from ._base import (
    Carried,
    CarriedItem,
    CarryContext,
    CompileContext,
    DurationSpec,
    EventFilterSpec,
    FieldRef,
    Finding,
    Name,
    RuleRuntime,
    RuleSpecBase,
    RuntimeServices,
    Spec,
    TimerQueue,
    key_getter,
    message_names,
)

__all__ = ["DeadlineRule", "DeadlineSpec", "compile_rule"]


class ExtendSpec(EventFilterSpec):
    """An event that moves the due time to ``to`` (counted from the triggering event)."""

    to: DurationSpec


class EscalateSpec(Spec):
    """An escalation step: still open ``after`` this long past the due time."""

    after: DurationSpec
    to: list[str] = Field(min_length=1)
    severity: Literal["low", "medium", "high", "critical"] | None = None


class DeadlineSpec(RuleSpecBase):
    """The YAML form of a deadline rule."""

    kind: Literal["deadline"]
    on: Name
    when: str | None = Field(default=None, max_length=2000)
    within: DurationSpec
    until: EventFilterSpec | list[EventFilterSpec]
    extend: list[ExtendSpec] = Field(default_factory=list)
    cancel: list[EventFilterSpec] = Field(default_factory=list)
    escalate: list[EscalateSpec] = Field(default_factory=list)


DueFunction = Callable[[int, Mapping[str, Any], Mapping[str, Any]], int]
_UNPREPARED: Any = object()


class _Pending:
    """One open deadline (mutable, private to the rule).

    Most deadlines are met: the subject, scope and message context are worked out from
    the triggering event only when a finding, an outcome or a snapshot needs them.
    """

    __slots__ = (
        "_details",
        "_evidence",
        "due_us",
        "event",
        "event_id",
        "how",
        "provisional",
        "rule",
        "start_us",
        "step",
        "violation",
    )

    def __init__(self, rule: Any, event: dict[str, Any] | None, start_us: int, due_us: int) -> None:
        self.rule = rule
        self.event = event
        self.start_us = start_us
        self.due_us = due_us
        self.event_id: str = event["id"] if event is not None else ""
        self._details: tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None = None
        self._evidence: dict[str, Any] | None = None
        self.step = 0  # escalation steps already emitted
        self.violation: str | None = None  # id of the violation once missed
        self.how = 0  # what set the due time: 0 'within', k the k-th extension
        self.provisional = False  # the released violation was counted provisionally

    @classmethod
    def opened(cls, rule: Any, event: dict[str, Any], at_us: int, due_us: int) -> _Pending:
        """The deadline an event opens (both backends open them here)."""
        return cls(rule, event, at_us, due_us)

    def _described(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        details = self._details
        if details is None:
            event = self.event or {}
            rule = self.rule
            details = self._details = (
                rule.subject_of(event),
                rule.scope_of(event),
                {name: event.get(name) for name in rule._context_fields},
            )
        return details

    @property
    def subject(self) -> dict[str, Any]:
        """The rule's key values in the triggering event."""
        return self._described()[0]

    @property
    def scope(self) -> dict[str, Any]:
        """Scope values (branch, staff …) of the triggering event."""
        return self._described()[1]

    @property
    def context(self) -> dict[str, Any]:
        """The triggering event's fields that the rule's messages name."""
        return self._described()[2]

    @property
    def evidence(self) -> dict[str, Any]:
        """What happened to the deadline since it opened (an extension's event id)."""
        if self._evidence is None:
            self._evidence = {}
        return self._evidence

    def to_json(self) -> list[Any]:
        subject, scope, context = self._described()
        return [
            self.start_us,
            self.due_us,
            self.event_id,
            subject,
            scope,
            self.evidence,
            self.step,
            self.violation,
            context,
            self.how,
            self.provisional,
        ]

    @classmethod
    def from_json(cls, rule: Any, data: list[Any]) -> _Pending:
        start, due, event_id, subject, scope, evidence, step, violation, context = data[:9]
        pending = cls(rule, None, int(start), int(due))
        pending.how = int(data[9]) if len(data) > 9 else 0
        pending.provisional = bool(data[10]) if len(data) > 10 else False
        pending.event_id = str(event_id)
        pending._details = (dict(subject), dict(scope), dict(context))
        pending._evidence = dict(evidence)
        pending.step = int(step)
        pending.violation = violation
        return pending


class DeadlineRule(RuleRuntime):
    """A compiled deadline rule; state: the open deadlines per key."""

    kind = "deadline"
    stateful = True

    def __init__(self, spec: DeadlineSpec, ctx: CompileContext) -> None:
        super().__init__(spec, ctx)
        self.spec: DeadlineSpec = spec
        self._pending: dict[tuple[Any, ...], _Pending] = {}
        self._when: CompiledExpression | None = None
        self.drop_spent_timers = self._drop_spent_timers
        self._calendar = ctx.calendar
        self._tz = ctx.tz
        # Whether each due time counts working days: 'within', then each extension's 'to'.
        self._working: tuple[bool, ...] = (
            spec.within.unit == "working_days",
            *(extension.to.unit == "working_days" for extension in spec.extend),
        )
        # Fulfilled deadlines counted through a provisional year, kept until the year is
        # official: a new calendar may move their due time before their fulfilment.
        self._fulfilled: list[list[Any]] = []
        self._official_span = official_span(ctx.calendar, ctx.tz) if any(self._working) else None
        if not ctx.check_event_type(("on",), spec.on):
            return
        if not self.key_fields:
            ctx.problem(("key",), "a deadline needs 'key': the fields that identify the matter")
            return
        ctx.check_fields(("key",), spec.on, self.key_fields)
        if spec.when:
            self._when = ctx.expression(("when",), spec.when, spec.on)
        self._due = ctx.duration_function(("within",), spec.within, spec.on)
        self._key_of = key_getter(self.key_fields)
        # The common one-field key read inline (no call), and the rule's prepared slot.
        self._key_name = self.key_fields[0] if len(self.key_fields) == 1 else None
        self._slot = id(self)
        fields = ctx.event_fields(spec.on) or {}
        self._context_fields = tuple(sorted(n for n in message_names(spec.message) if n in fields))
        self.prepare[spec.on] = self._make_prepare()
        self.on_release[spec.on] = self._on_trigger
        untils = spec.until if isinstance(spec.until, list) else [spec.until]
        for index, follow in enumerate(untils):
            path: tuple[str | int, ...] = (
                ("until",) if not isinstance(spec.until, list) else ("until", index)
            )
            handler = self._follow_up(ctx, path, follow, self._fulfil)
            if handler is not None:
                self._add(follow.event, handler)
        for index, cancel in enumerate(spec.cancel):
            handler = self._follow_up(ctx, ("cancel", index), cancel, self._cancel)
            if handler is not None:
                self._add(cancel.event, handler)
        self._extensions: list[DueFunction | None] = []
        for index, extension in enumerate(spec.extend):
            extend_due = ctx.duration_function(("extend", index, "to"), extension.to, spec.on)
            self._extensions.append(extend_due)
            if extend_due is None:
                continue
            handler = self._follow_up(
                ctx, ("extend", index), extension, self._make_extend(extend_due, index + 1)
            )
            if handler is not None:
                self._add(extension.event, handler)
        self._escalations: list[tuple[DueFunction | None, tuple[str, ...], Any]] = []
        for index, step in enumerate(spec.escalate):
            for role_index, role in enumerate(step.to):
                ctx.check_role(("escalate", index, "to", role_index), role)
            if isinstance(step.after.count, FieldRef):
                ctx.problem(
                    ("escalate", index, "after", "count"),
                    "an escalation delay must be a number or a parameter",
                )
                continue
            after = ctx.duration_function(("escalate", index, "after"), step.after, spec.on)
            self._escalations.append((after, tuple(step.to), step.severity))

    def _add(self, event_type: str, handler: Any) -> None:
        existing = self.on_release.get(event_type)
        if existing is None:
            self.on_release[event_type] = handler
            return

        def both(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
            existing(event, at_us, services)
            handler(event, at_us, services)

        self.on_release[event_type] = both

    def _follow_up(
        self,
        ctx: CompileContext,
        path: tuple[str | int, ...],
        follow: EventFilterSpec,
        action: Callable[[tuple[Any, ...], dict[str, Any], int, RuntimeServices], None],
    ) -> Any:
        if not ctx.check_event_type((*path, "event"), follow.event):
            return None
        match = tuple(follow.match) if follow.match else self.key_fields
        if len(match) != len(self.key_fields):
            ctx.problem((*path, "match"), "'match' must name as many fields as the rule's 'key'")
            return None
        if not ctx.check_fields((*path, "match"), follow.event, match):
            return None
        where = (
            ctx.expression((*path, "where"), follow.where, follow.event) if follow.where else None
        )
        pending = self._pending
        if where is None and len(match) == 1 and action == self._fulfil:
            return self._make_fulfil(match[0])
        key_of = key_getter(match)

        def handle(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
            key = key_of(event)
            if key not in pending:
                return
            if where is not None and not where.function(event, None, services):
                return
            action(key, event, at_us, services)

        return handle

    # -- reactions ---------------------------------------------------------------------
    def _make_prepare(self) -> Callable[[dict[str, Any], int, RuntimeServices], Any]:
        """The rule's prepare step; one call for the common rule (no validity window, no 'when')."""
        due = self._due
        limited = self.from_us is not None or self.to_us is not None
        if due is None or self._when is not None or limited:
            return self._prepare

        def prepare(event: dict[str, Any], at_us: int, services: RuntimeServices) -> Any:
            return due(at_us, event, services.params)

        return prepare

    def _make_fulfil(self, name: str) -> Callable[[dict[str, Any], int, RuntimeServices], None]:
        """A follow-up that fulfils, matched on one field, no 'where': :meth:`_fulfil` inlined."""
        pending_by_key = self._pending

        def fulfil(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
            key = (event.get(name),)
            pending = pending_by_key.get(key)
            if pending is None:
                return
            if pending.violation is None and at_us > pending.due_us:
                return  # cannot happen in order; kept for safety
            del pending_by_key[key]
            span = self._official_span
            if span is not None and not span[0] <= pending.start_us <= pending.due_us < span[1]:
                remember_fulfilled(self, key, pending, event["id"], at_us)
            if services.tracking and pending.violation is None:
                ids = (pending.event_id, event["id"])
                services.outcome(self, "compliant", pending.subject, event["at"], ids)

        return fulfil

    def _prepare(self, event: dict[str, Any], at_us: int, services: RuntimeServices) -> Any:
        # Computed when the event is accepted, so a calendar gap rejects the event whole;
        # only for events the rule applies to (a working-day rule on insurance complaints
        # must not reject a complaint about fees).
        if self._due is None or not self.in_force(at_us):
            return None
        if self._when is not None and not self._when.function(event, None, services):
            return None
        return self._due(at_us, event, services.params)

    def _on_trigger(self, event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
        # The due time was worked out when the event was accepted (None: the rule does not
        # apply to it); only an event restored from a snapshot's buffer lacks it.
        due_us = services.prepared_values.get(self._slot, _UNPREPARED)
        if due_us is None:
            return
        name = self._key_name
        key = (event.get(name),) if name is not None else self._key_of(event)
        if None in key or key in self._pending:
            return
        if due_us is _UNPREPARED:
            due_us = self._prepare(event, at_us, services)
            if due_us is None:
                return
        pending = _Pending(self, event, at_us, due_us)
        self._pending[key] = pending
        # The token of a deadline's first timer is its key alone (a tuple): it stands for
        # (key, the due time the timer was set for, step 0), with no object of its own.
        services.schedule(due_us + 1, self, key)
        if services.tracking:
            services.outcome(
                self,
                "pending",
                pending.subject,
                event["at"],
                (event["id"],),
                provisional=counted_provisionally(self, pending),
            )

    def _fulfil(
        self, key: tuple[Any, ...], event: dict[str, Any], at_us: int, services: RuntimeServices
    ) -> None:
        pending = self._pending[key]
        if pending.violation is None and at_us > pending.due_us:
            return  # cannot happen in order; kept for safety
        del self._pending[key]
        span = self._official_span
        if span is not None and not span[0] <= pending.start_us <= pending.due_us < span[1]:
            remember_fulfilled(self, key, pending, event["id"], at_us)
        if services.tracking and pending.violation is None:
            ids = (pending.event_id, event["id"])
            services.outcome(self, "compliant", pending.subject, event["at"], ids)

    def _cancel(
        self, key: tuple[Any, ...], event: dict[str, Any], at_us: int, services: RuntimeServices
    ) -> None:
        del self._pending[key]

    def _make_extend(
        self, extend_due: DueFunction, how: int
    ) -> Callable[[tuple[Any, ...], dict[str, Any], int, RuntimeServices], None]:
        def extend(
            key: tuple[Any, ...], event: dict[str, Any], at_us: int, services: RuntimeServices
        ) -> None:
            pending = self._pending[key]
            if pending.violation is not None:
                return  # already missed: an extension after the fact does not undo it
            new_due = extend_due(pending.start_us, event, services.params)
            if new_due > pending.due_us:
                pending.due_us = new_due
                pending.how = how
                pending.evidence["extended_by"] = event["id"]
                services.schedule(new_due + 1, self, key)

        return extend

    def _drop_spent_timers(self, queue: TimerQueue, until_us: int) -> None:
        # What on_timer checks first, for a run of timers at once. A deadline that no
        # longer waits for a timer (fulfilled, cancelled, extended or escalated past it)
        # does not wait for it again while timers fire: only a later event can open a
        # deadline for the same key.
        pending_get = self._pending.get
        fires = queue.fires
        tokens = queue.tokens
        while fires:
            fire_us = fires[0]
            if fire_us > until_us:
                return
            token = tokens[0]
            if type(token) is tuple:
                pending = pending_get(token)
                if pending is not None and pending.due_us == fire_us - 1 and pending.step == 0:
                    return
            else:
                raw_key, due_us, step = token
                pending = pending_get(tuple(raw_key))
                if pending is not None and pending.due_us == due_us and pending.step == step:
                    return
            queue.popleft()

    def timer_json(self, fire_us: int, token: Any) -> Any:
        """A timer's token as snapshots hold it: [key, due µs, step]."""
        if type(token) is tuple:
            return [token, fire_us - 1, 0]
        return token

    def on_timer(self, token: Any, fire_us: int, services: RuntimeServices) -> None:
        if type(token) is tuple:  # a key: the first timer of the deadline due fire_us - 1
            key: tuple[Any, ...] = token
            due_us = fire_us - 1
            step = 0
        else:  # [key, due, step]: an escalation, or any timer restored from a snapshot
            raw_key, due_us, step = token
            key = tuple(raw_key)
        pending = self._pending.get(key)
        if pending is None or pending.due_us != due_us or pending.step != step:
            return  # fulfilled, cancelled, extended or already escalated
        when = emit_due(self, pending, due_us, step, fire_us, services)
        if when is not None:
            services.schedule(when + 1, self, [key, due_us, step + 1])
            return
        if not pending.provisional:
            del self._pending[key]
        # A violation counted provisionally stays (with no timer) until it is fulfilled or
        # its year is official: a new calendar may withdraw it, or release it again.

    # -- snapshots ---------------------------------------------------------------------
    def state(self) -> Any:
        pending = [[list(key), pending.to_json()] for key, pending in self._pending.items()]
        if not self._fulfilled:
            return pending
        return {"pending": pending, "fulfilled": [list(item) for item in self._fulfilled]}

    def restore(self, state: Any) -> None:
        pending, fulfilled = split_state(state)
        # In place: the follow-up handlers hold this very dict.
        self._pending.clear()
        self._pending.update({tuple(key): _Pending.from_json(self, data) for key, data in pending})
        self._fulfilled = fulfilled

    # -- pack upgrades -----------------------------------------------------------------
    def shape_parts(self) -> Any:
        """A deadline's open state depends on what opens it: its trigger and key."""
        return {"on": self.spec.on, "when": self.spec.when}

    def carry(self, state: Any, context: CarryContext) -> Carried:
        return carry_deadlines(self, state, context)


def compile_rule(spec: DeadlineSpec, ctx: CompileContext) -> DeadlineRule:
    """Compile a deadline spec."""
    return DeadlineRule(spec, ctx)


def counted_provisionally(rule: DeadlineRule, pending: _Pending) -> bool:
    """Whether a deadline's due time was counted in working days through a provisional year."""
    calendar = rule._calendar
    if calendar is None or not rule._working[pending.how]:
        return False
    tz = rule._tz
    start, due = from_us(pending.start_us, tz).date(), from_us(pending.due_us, tz).date()
    return calendar.provisional_between(start, due)


def emit_due(
    rule: DeadlineRule, pending: _Pending, due_us: int, step: int, fire_us: int, services: Any
) -> int | None:
    """Emit what a deadline's timer means: the missed deadline (step 0) or an escalation.

    Advances ``pending.step``; returns when the next escalation falls due (µs), or None
    when the deadline is done with (both backends call this, so findings are the same).
    """
    tz = services.tz
    due_at = from_us(due_us, tz)
    started = {"started_at": from_us(pending.start_us, tz).isoformat(), **pending.evidence}
    provisional = False
    if rule._working[pending.how] and rule._calendar is not None:
        # Only the flag: a finding that does not move when its year becomes official must
        # differ from a fresh run's in nothing else.
        start_day, due_day = from_us(pending.start_us, tz).date(), due_at.date()
        provisional = rule._calendar.provisional_between(start_day, due_day)
    if step == 0:
        finding = Finding(
            rule=rule,
            at_us=due_us,
            at=due_at,
            event_ids=(pending.event_id,),
            subject=pending.subject,
            evidence={**started, "due_at": due_at.isoformat()},
            scope=pending.scope,
            due_us=due_us,
            moment_us=due_us,
            context=pending.context,
            provisional=provisional,
        )
        services.emit(finding)
        pending.violation = services.finding_id(finding)
        pending.provisional = provisional
    else:
        _after, roles, severity = rule._escalations[step - 1]
        services.emit(
            Finding(
                rule=rule,
                at_us=fire_us - 1,
                at=from_us(fire_us - 1, tz),
                event_ids=(pending.event_id,),
                subject=pending.subject,
                evidence={**started, "due_at": due_at.isoformat(), "step": step},
                scope=pending.scope,
                kind="escalation",
                due_us=due_us,
                moment_us=fire_us - 1,
                refers_to=pending.violation,
                extra_roles=roles,
                severity=severity,
                context=pending.context,
                message=("升級:" + rule.message[0], "Escalated: " + rule.message[1]),
                provisional=provisional,
            )
        )
    pending.step = step + 1
    if step < len(rule._escalations):
        after = rule._escalations[step][0]
        if after is not None:
            return int(after(due_us, {}, services.params))
    return None


# -- provisional deadlines and pack upgrades --------------------------------------------


def official_span(calendar: Any, tz: Any) -> tuple[int, int] | None:
    """[start, end) in µs of the run of official years ending with the last official one.

    A deadline whose start and due time both lie inside it was counted on official days
    only; anything else may have been counted provisionally (checked precisely then).
    """
    if calendar is None:
        return None
    last = calendar.last_year
    if last >= 9999:
        return (-(2**62), 2**62)
    if last < 2:
        return (0, 0)
    if not calendar.is_official(last):  # no run of official years at all
        return (0, 0)
    first = last
    while first > max(1, last - 200) and calendar.is_official(first - 1):
        first -= 1
    start = dt.datetime(first, 1, 1, tzinfo=tz)
    end = dt.datetime(last + 1, 1, 1, tzinfo=tz)
    return (to_us(start), to_us(end))


def remember_fulfilled(
    rule: Any, key: tuple[Any, ...], pending: _Pending, by_event: str, at_us: int
) -> None:
    """Keep a fulfilled deadline counted provisionally (compactly) until its year is official."""
    if counted_provisionally(rule, pending):
        rule._fulfilled.append([list(key), pending.to_json(), at_us, by_event])


def split_state(state: Any) -> tuple[list[Any], list[list[Any]]]:
    """(open deadlines, remembered fulfilled ones) of a deadline rule's state, any format."""
    if isinstance(state, dict):
        return list(state["pending"]), [list(item) for item in state.get("fulfilled", [])]
    return list(state), []


def _due_function(rule: Any, how: int) -> Any:
    if how == 0:
        return rule._due
    extensions = rule._extensions
    return extensions[how - 1] if 0 < how <= len(extensions) else None


def _counts_from_field(rule: Any, how: int) -> bool:
    spec = rule.spec
    duration = spec.within if how == 0 else spec.extend[how - 1].to
    return isinstance(duration.count, FieldRef)


def recompute_due(rule: Any, pending: _Pending, context: CarryContext) -> int | None:
    """The due time this rule's definition gives an open deadline (None: cannot say)."""
    how = pending.how
    if how > len(rule._extensions) or _counts_from_field(rule, how):
        return None
    function = _due_function(rule, how)
    if function is None:
        return None
    return int(function(pending.start_us, {}, context.params_at(pending.start_us)))


def _escalation_times(rule: Any, due_us: int, context: CarryContext, steps: int) -> list[int]:
    """When escalation steps 1..steps fall due for a deadline due at ``due_us``."""
    times = []
    params = context.params_at(due_us)
    for after, _roles, _severity in rule._escalations[:steps]:
        if after is None:
            break
        times.append(int(after(due_us, {}, params)))
    return times


def _withdraw(
    rule: Any,
    pending: _Pending,
    new_due: int,
    escalated: int,
    context: CarryContext,
) -> None:
    """Corrections for a released violation (and its ``escalated`` escalations) whose due
    time moved: each refers to the withdrawn id and names both due times."""
    assert context.watermark_us is not None
    services = context.services
    tz = services.tz
    at_us = context.watermark_us
    old_due = pending.due_us
    old_text, new_text = from_us(old_due, tz).isoformat(), from_us(new_due, tz).isoformat()
    withdrawn: list[tuple[str, str, int]] = [("violation", str(pending.violation), old_due)]
    for step, moment in enumerate(_escalation_times(rule, old_due, context, escalated), 1):
        original = Finding(
            rule=rule,
            at_us=moment,
            at=from_us(moment, tz),
            event_ids=(pending.event_id,),
            subject=pending.subject,
            evidence={},
            scope=pending.scope,
            kind="escalation",
            due_us=old_due,
            moment_us=moment,
        )
        withdrawn.append((f"escalation {step}", services.finding_id(original), moment))
    for what, finding_id, moment in withdrawn:
        context.emit(
            Finding(
                rule=rule,
                # At the moment of what it withdraws: it comes out just before a finding
                # released again at the same moment (release order ranks corrections first).
                at_us=moment,
                at=from_us(moment, tz),
                event_ids=(pending.event_id,),
                subject=pending.subject,
                evidence={
                    "withdrawn": finding_id,
                    "withdrawn_kind": what,
                    "corrected_at": from_us(at_us, tz).isoformat(),
                    "old_due_at": old_text,
                    "new_due_at": new_text,
                    "calendar": rule._calendar.describe_between(
                        from_us(pending.start_us, tz).date(),
                        from_us(max(old_due, new_due), tz).date(),
                    )
                    if rule._calendar is not None
                    else "-",
                },
                scope=pending.scope,
                kind="correction",
                due_us=new_due,
                moment_us=moment,
                refers_to=finding_id,
                context={**pending.context, "old_due_at": old_text, "new_due_at": new_text},
                message=(
                    "更正:撤回 "
                    + finding_id
                    + "(原到期 {old_due_at},按新的工作日曆為 {new_due_at}):"
                    + rule.message[0],
                    "Correction: "
                    + finding_id
                    + " withdrawn (was due {old_due_at}, due {new_due_at} on the new working-day"
                    " calendar): " + rule.message[1],
                ),
            )
        )


def _timers_of(
    rule: Any, key: tuple[Any, ...], pending: _Pending, context: CarryContext
) -> list[tuple[int, Any]]:
    """The one timer an open deadline waits on, from its state."""
    if pending.step == 0:
        return [(pending.due_us + 1, [list(key), pending.due_us, 0])]
    times = _escalation_times(rule, pending.due_us, context, pending.step)
    if len(times) < pending.step:
        return []  # no further escalation
    return [(times[pending.step - 1] + 1, [list(key), pending.due_us, pending.step])]


def carry_deadlines(rule: Any, state: Any, context: CarryContext) -> Carried:
    """Open deadlines (and remembered fulfilled provisional ones) under a new definition.

    An open deadline gets its new due time (released by the next call if already past);
    one already released keeps its violation unless it was counted provisionally, in which
    case it is withdrawn by a correction and judged again at its new due time. A
    remembered fulfilled one whose new due time falls before its fulfilment is released;
    one released before is withdrawn. Both backends call this.
    """
    pending_entries, fulfilled_entries = split_state(state)
    services = context.services
    tz = services.tz
    items: list[CarriedItem] = []
    timers: list[tuple[int, Any]] = []
    carried: list[list[Any]] = []
    for raw_key, data in pending_entries:
        key = tuple(raw_key)
        pending = _Pending.from_json(rule, data)
        subject = dict(pending.subject)
        old_due = pending.due_us
        new_due = recompute_due(rule, pending, context)
        if new_due is None:
            items.append(
                CarriedItem(
                    rule.rule_id,
                    subject,
                    "kept",
                    "its due time counts from an event "
                    "field the snapshot does not hold: kept as it was",
                    old_due,
                    old_due,
                )
            )
        elif new_due != old_due and pending.violation is None:
            pending.due_us = new_due
            past = context.watermark_us is not None and new_due < context.watermark_us
            items.append(
                CarriedItem(
                    rule.rule_id,
                    subject,
                    "released" if past else "recomputed",
                    "due time recomputed under the new definition"
                    + ("; already past: released now" if past else ""),
                    old_due,
                    new_due,
                )
            )
        elif new_due != old_due and pending.provisional:
            _withdraw(rule, pending, new_due, pending.step - 1, context)
            pending.due_us = new_due
            pending.step = 0
            pending.violation = None
            pending.provisional = False
            items.append(
                CarriedItem(
                    rule.rule_id,
                    subject,
                    "corrected",
                    "released on a provisional calendar year and its due time moved: "
                    "withdrawn by a correction and judged again at the new due time",
                    old_due,
                    new_due,
                )
            )
        elif new_due != old_due:
            items.append(
                CarriedItem(
                    rule.rule_id,
                    subject,
                    "not-rejudged",
                    "released before the upgrade; the new definition would have made it due "
                    "at another time (not judged again: for a person to decide)",
                    old_due,
                    new_due,
                )
            )
        if (
            pending.violation is None
            and context.watermark_us is not None
            and pending.due_us < context.watermark_us
        ):
            # Already past: released now, with the escalations due by the watermark (so
            # that what counts findings sees it with the upgrade, in its place in time).
            _release_closed(rule, pending, 2**62, context)
        waiting = _timers_of(rule, key, pending, context)
        if (
            pending.violation is not None
            and not waiting
            and not counted_provisionally(rule, pending)
        ):
            continue  # released, done with, and official now: nothing left to keep
        timers.extend(waiting)
        carried.append([list(key), pending.to_json()])
    remembered: list[list[Any]] = []
    for raw_key, data, fulfilled_us, by_event in fulfilled_entries:
        pending = _Pending.from_json(rule, data)
        old_due = pending.due_us
        new_due = recompute_due(rule, pending, context)
        if new_due is not None and new_due != old_due:
            subject = dict(pending.subject)
            if pending.violation is not None:
                escalated = len(
                    [
                        t
                        for t in _escalation_times(rule, old_due, context, pending.step - 1)
                        if t < fulfilled_us
                    ]
                )
                _withdraw(rule, pending, new_due, escalated, context)
            pending.due_us = new_due
            pending.step = 0
            pending.violation = None
            pending.provisional = False
            late = new_due < fulfilled_us
            if late:
                _release_closed(rule, pending, int(fulfilled_us), context)
            items.append(
                CarriedItem(
                    rule.rule_id,
                    subject,
                    "released" if late else "corrected" if data[7] is not None else "recomputed",
                    f"fulfilled at {from_us(int(fulfilled_us), tz).isoformat()} (event "
                    f"{by_event}); on the new calendar it was " + ("late" if late else "in time"),
                    old_due,
                    new_due,
                )
            )
        if counted_provisionally(rule, pending):
            remembered.append([list(raw_key), pending.to_json(), fulfilled_us, by_event])
    new_state: Any = carried
    if remembered:
        new_state = {"pending": carried, "fulfilled": remembered}
    return Carried(state=new_state, timers=timers, items=items)


def _release_closed(rule: Any, pending: _Pending, fulfilled_us: int, context: CarryContext) -> None:
    """Release a deadline whose new due time has passed (fulfilled at ``fulfilled_us``, or
    still open: a far future), with the escalations that fell due while it was open, up to
    the watermark; ``pending.step`` says how far it got."""
    services = context.services
    watermark = context.watermark_us if context.watermark_us is not None else fulfilled_us
    due_us = pending.due_us
    if due_us > watermark:
        return
    services.set_time(due_us)
    when = emit_due(rule, pending, due_us, 0, due_us + 1, services)
    step = 1
    while when is not None and when < fulfilled_us and when <= watermark:
        services.set_time(when)
        when = emit_due(rule, pending, due_us, step, when + 1, services)
        step += 1
