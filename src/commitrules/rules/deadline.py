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

from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import Field

from ..eventtime import from_us
from ..expr import CompiledExpression
from ._base import (
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
        ]

    @classmethod
    def from_json(cls, rule: Any, data: list[Any]) -> _Pending:
        start, due, event_id, subject, scope, evidence, step, violation, context = data[:9]
        pending = cls(rule, None, int(start), int(due))
        pending.how = int(data[9]) if len(data) > 9 else 0
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
        del self._pending[key]

    # -- snapshots ---------------------------------------------------------------------
    def state(self) -> Any:
        return [[list(key), pending.to_json()] for key, pending in self._pending.items()]

    def restore(self, state: Any) -> None:
        # In place: the follow-up handlers hold this very dict.
        self._pending.clear()
        self._pending.update({tuple(key): _Pending.from_json(self, data) for key, data in state})


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
        start_day, due_day = from_us(pending.start_us, tz).date(), due_at.date()
        provisional = rule._calendar.provisional_between(start_day, due_day)
        started["calendar"] = rule._calendar.describe_between(start_day, due_day)
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
