"""Release: a finding becomes a violation, rendered, protected, waived and routed.

Rules see the engine through :class:`Services` (the time, the parameters in force, the
tables, and ``emit``); what they emit goes through :class:`Releasing`, the engine's part
that gives each finding its id, renders its message in both languages, protects personal
values (:class:`~._release.Protector`), applies waivers, routes it (at the end of its call,
in release order) and reports outcomes. A failure of these steps is the engine's own
(:class:`~._atomic.EngineFault`): the call rolls back.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Mapping
from typing import Any

import attrs

from ..eventtime import from_us
from ..pack._load import Pack, PackRuntime
from ..rules import Finding, RuleRuntime
from ..rules.operational import rule_error_finding
from ..violations import Message, Violation, release_order, violation_id
from ._atomic import EngineFault
from ._parts import EngineParts
from ._release import Outcome, fallback_message, local_text, render
from ._time import Timers

__all__ = ["FINDING", "Releasing", "Services"]

FINDING = "__finding__"
"""The key that marks a queued finding (for rules that count findings) in the buffer."""
_FINDING = FINDING
_ROUTE_LATER: tuple[str, ...] = ()
"""The route of a finding routed at the end of its call (identity-compared)."""


class Services:
    """What rules see while they run (the expression context is this object too)."""

    __slots__ = (
        "at_us",
        "calendar",
        "engine",
        "params",
        "params_from",
        "params_to",
        "prepared_values",
        "schedule",
        "tables",
        "timeline",
        "tracking",
        "tz",
    )

    def __init__(self, engine: Releasing, runtime: PackRuntime, pack: Pack, timers: Timers) -> None:
        self.engine = engine
        self.tz = pack.tz
        self.calendar = runtime.calendar
        self.timeline = runtime.timeline
        self.tables = runtime.tables
        self.at_us = -1
        # The parameter values in force, and the interval of event time they hold for.
        self.params: Mapping[str, Any]
        self.params, self.params_from, self.params_to = self.timeline.span(0)
        self.prepared_values: dict[int, Any] = {}
        self.tracking = False
        self.schedule = timers.schedule

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
    ) -> None:
        self.engine._outcome(rule, status, subject, at, event_ids, None, None, provisional, measure)

    def set_time(self, at_us: int) -> None:
        # The engine's per-event path inlines these lines (a call per event saved).
        self.at_us = at_us
        if not self.params_from <= at_us < self.params_to:
            self.params, self.params_from, self.params_to = self.timeline.span(at_us)

    def lookup(self, table: str, key: object, column: str) -> object | None:
        index = self.tables[table]
        row = index.always.get(key)
        if row is None:
            row = index.row(key, self.at_us)
        return None if row is None else row.get(column)

    def exists(self, table: str, key: object) -> bool:
        index = self.tables[table]
        return key in index.always or index.row(key, self.at_us) is not None

    def table_rows(self, table: str, at_us: int) -> list[dict[str, Any]]:
        return self.tables[table].rows_at(at_us)

    def table_key(self, table: str) -> str:
        return self.tables[table].table.key

    def emit(self, finding: Finding) -> None:
        self.engine._emit(finding)

    def prepared(self, rule: RuleRuntime) -> Any:
        return self.prepared_values.get(id(rule))

    def finding_id(self, finding: Finding) -> str:
        return self.engine._finding_id(finding)

    def rule_failed(
        self, rule: RuleRuntime, error: BaseException, event: Mapping[str, Any] | None
    ) -> None:
        self.engine._rule_failed(rule, error, event)


class Releasing(EngineParts):
    """The engine's part that turns findings into violations (see the module)."""

    __slots__ = ()

    def _finding_id(self, finding: Finding) -> str:
        return violation_id(
            finding.rule.rule_id,
            finding.kind,
            finding.subject,
            finding.event_ids,
            finding.moment_us if finding.moment_us is not None else finding.due_us,
            key=self._id_key,
            personal=self.pack.personal_fields,
        )

    def _violation_of(self, finding: Finding, route: tuple[str, ...] | None) -> Violation:
        """The violation a finding becomes: rendered, protected, waived or routed.

        ``route`` None routes it now (the router counts it); a given route is used as is.
        """
        step = self._step
        try:
            self._step = "rendering"
            rule = finding.rule
            severity = finding.severity or rule.severity
            zh, en = finding.message or rule.message
            protect = self._protect
            evidence = {key: protect(key, value) for key, value in finding.evidence.items()}
            subject = {key: protect(key, value) for key, value in finding.subject.items()}
            scope = {key: protect(key, value) for key, value in finding.scope.items()}
            values: dict[str, Any] = {
                key: protect(key, value) for key, value in finding.context.items()
            }
            values.update(scope)
            values.update(subject)
            values.update(evidence)
            values["rule_id"] = rule.rule_id
            values["clause_id"] = rule.clause_id
            if finding.due_us is not None:
                values["due_at"] = local_text(from_us(finding.due_us, self._tz))
            values["at"] = local_text(finding.at.astimezone(self._tz))
            try:
                message = Message(zh=render(zh, values), en=render(en, values))
            except Exception as error:  # noqa: BLE001 - a finding always goes out
                message = fallback_message(rule.rule_id, values, error)
            kind = finding.kind
            waiver = None
            self._step = "routing"
            if self._waivers is not None and kind in ("violation", "escalation"):
                raw = {**finding.context, **finding.scope, **finding.subject}
                waiver = self._waivers.find(rule.rule_id, rule.clause_id, finding.at_us, raw)
            if waiver is not None:
                kind = "excused"
                evidence["waiver_approver"] = waiver.approver
                evidence["waiver_expires"] = waiver.expires.isoformat()
            if waiver is not None or kind == "correction" or route is _ROUTE_LATER:
                # An excused finding informs the responsible role only and feeds no
                # escalation; a correction goes to the withdrawn finding's role; a
                # finding routed at the end of its call has its role until then.
                route = (rule.role,)
            elif route is None:
                route = self._router.route(finding)
            return Violation(
                id=self._finding_id(finding),
                rule_id=rule.rule_id,
                clause_id=rule.clause_id,
                severity=severity,
                role=rule.role,
                route=route,
                event_ids=finding.event_ids,
                subject=subject,
                at=finding.at,
                due_at=from_us(finding.due_us, self._tz) if finding.due_us is not None else None,
                message=message,
                evidence=evidence,
                pack=self._ref,
                kind=kind,
                refers_to=finding.refers_to,
                scope=scope,
                waiver=waiver.id if waiver is not None else None,
                provisional=finding.provisional,
            )
        except Exception as error:
            raise EngineFault(self._step, error) from error
        finally:
            self._step = step

    def _emit(self, finding: Finding) -> None:
        migrating = self._migrating
        if migrating is not None:
            # A restore carrying state over: routes and counts are recomputed afterwards
            # from every finding it released (engine/_derived.py).
            violation = self._violation_of(finding, (finding.rule.role,))
            migrating.append((finding, violation))
            self._out.append(violation)
            self.stats.violations += 1
            return
        violation = self._violation_of(finding, _ROUTE_LATER)
        rule = finding.rule
        kind = violation.kind
        waiver = violation.waiver
        if waiver is None and kind != "correction":
            # Routed at the end of the call, in release order (see _route).
            self._unrouted.append((len(self._out), finding))
        self._out.append(violation)
        self.stats.violations += 1
        if self._outcomes is not None:
            status = "violated" if kind == "violation" else kind
            measured = finding.evidence
            self._outcome(
                rule,
                status,
                finding.subject,
                finding.at,
                finding.event_ids,
                violation.id,
                waiver,
                finding.provisional,
                (measured["numerator"], measured["denominator"], str(measured["target"]))
                if rule.kind == "periodic_target" and "denominator" in measured
                else None,
            )
        if not self._counting or waiver is not None or kind not in ("violation", "escalation"):
            return
        if self._accepting:
            # A single-event check is final at once, but rules that count findings must
            # see them in event-time order, like every other stateful rule: queue it.
            record = {
                _FINDING: rule.rule_id,
                "kind": finding.kind,
                "severity": finding.severity,
                "at": finding.at,
                "subject": dict(finding.subject),
                "scope": dict(finding.scope),
            }
            self._timers.sequence += 1
            heapq.heappush(self._buffer, (finding.at_us, self._timers.sequence, record, {}))
            return
        for counting in self._counting:
            try:
                counting.on_finding(finding, self._services)
            except Exception as error:  # noqa: BLE001 - the rule's own failure
                self._rule_failed(counting, error, None)

    def _route(self, out: list[Violation]) -> None:
        """Route the call's findings in release order (a route never depends on the order
        in which rules produced simultaneous findings), and remember them for corrections."""
        unrouted = self._unrouted
        self._unrouted = []
        unrouted.sort(key=lambda item: release_order(out[item[0]]))
        router = self._router
        derived = self._derived
        step = self._step
        self._step = "routing"
        try:
            for index, finding in unrouted:
                violation = out[index]
                route = router.route(finding, release_order(violation))
                if route != violation.route:
                    violation = out[index] = attrs.evolve(violation, route=route)
                if derived is not None and violation.kind in ("violation", "escalation"):
                    derived.add(finding, violation)
        except Exception as error:
            raise EngineFault("routing", error) from error
        finally:
            self._step = step

    def _params_at(self, at_us: int) -> Mapping[str, Any]:
        """The parameter values in force at an instant."""
        return self._runtime.timeline.span(at_us)[0]

    def _rule_failed(
        self, rule: RuleRuntime, error: BaseException, event: Mapping[str, Any] | None
    ) -> None:
        """A rule raised at run time: skip it for this input and say so (operational).

        Running out of memory is not the rule's fault: the call fails and rolls back.
        """
        if isinstance(error, MemoryError):
            raise EngineFault(self._step, error) from error
        at_us = self._services.at_us
        if at_us < 0:
            at_us = self._watermark_us or 0
        finding = rule_error_finding(self._failure_source, rule, error, at_us, self._tz, event)
        self._emit(finding)

    def _traced(self, rule: RuleRuntime, handler: Any, event: dict[str, Any], at_us: int) -> None:
        before = len(self._out)
        try:
            handler(event, at_us, self._services)
        except Exception as error:  # noqa: BLE001 - the rule's own failure
            self._rule_failed(rule, error, event)
        assert self.tracer is not None
        self.tracer(rule, event, tuple(self._out[before:]), self._services)

    def _outcome(
        self,
        rule: RuleRuntime,
        status: str,
        subject: Mapping[str, Any],
        at: dt.datetime,
        event_ids: tuple[str, ...],
        violation_id: str | None,
        waiver: str | None,
        provisional: bool = False,
        measure: tuple[int, int, str] | None = None,
    ) -> None:
        if self._outcomes is None or self._journal.replaying:
            return
        protect = self._protect
        self._call_outcomes.append(
            Outcome(
                rule_id=rule.rule_id,
                clause_id=rule.clause_id,
                status=status,
                subject={k: protect(k, v) for k, v in subject.items()},
                at=at,
                event_ids=event_ids,
                pack=self._ref,
                violation_id=violation_id,
                waiver=waiver,
                provisional=provisional,
                numerator=measure[0] if measure is not None else None,
                denominator=measure[1] if measure is not None else None,
                target=measure[2] if measure is not None else None,
            )
        )

    def _count(self, record: Mapping[str, Any], at_us: int) -> None:
        rule = self._by_id.get(record[_FINDING])
        if rule is None:
            return
        finding = Finding(
            rule=rule,
            at_us=at_us,
            at=record["at"],
            event_ids=(),
            subject=record["subject"],
            evidence={},
            scope=record["scope"],
            kind=record["kind"],
            severity=record["severity"],
        )
        for counting in self._counting:
            try:
                counting.on_finding(finding, self._services)
            except Exception as error:  # noqa: BLE001 - the rule's own failure
                self._rule_failed(counting, error, None)
