"""The in-process runner: a plan executed stage by stage, each stage in N hash partitions.

It is the reference for distributed runners (it only moves data between stages the way
they must) and gives the single engine's violations and outcomes exactly, ids included.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from .. import snapshot as snapshots
from .._pace import paced
from ..engine import Engine, EngineStats, EvidenceMode, Outcome
from ..engine._stage import (
    AdmissionEngine,
    Occurrence,
    StageEngine,
    StageFinding,
    StageOutcome,
    rule_order,
)
from ..errors import CommitRulesError, EngineConfigError
from ..eventtime import Period, to_us
from ..pack._load import Pack
from ..routing import Router, RoutingSpec
from ..rules.operational import CALENDAR_HORIZON
from ..rules.periodic import PeriodicObligationRule, PeriodicTargetRule
from ..violations import Violation, release_order
from ..waivers import Waivers
from ._derive import plan_for
from ._model import Plan, Stage
from ._order import Clock, bucket_of
from ._state import KeyedState, key_of, split_state

__all__ = ["PlanResult", "Reject", "run_plan"]

_NEVER = -(2**62)


@attrs.frozen
class Reject:
    """An event the admission refused: its stream position (index), the event, the error."""

    position: int
    event: Any
    error: CommitRulesError


@attrs.frozen
class PlanResult:
    """What a plan's run gives: the single engine's violations (in the order its calls
    released them), its outcomes, the rejected events and the counts."""

    violations: tuple[Violation, ...]
    outcomes: tuple[Outcome, ...]
    rejects: tuple[Reject, ...]
    stats: EngineStats
    plan: Plan


@attrs.frozen
class _Settings:
    evidence: EvidenceMode
    pseudonym_key: bytes | None
    waivers: Waivers | None
    id_key: bytes | None
    outcomes: bool


def _place(item: StageFinding | StageOutcome, where: tuple[int, int]) -> tuple[Any, ...]:
    """Where a finding or outcome goes among those of its occurrence: by the rule that was
    running, then as its engine emitted them; a counted finding's right after what it
    counted."""
    return (*item.after, item.rule, where, item.serial)


@paced
def run_plan(
    pack: Pack,
    events: Iterable[Mapping[str, Any] | Any],
    *,
    partitions: int = 1,
    until: dt.datetime | None = None,
    evidence: EvidenceMode = "mask",
    pseudonym_key: bytes | None = None,
    waivers: Waivers | None = None,
    id_key: bytes | None = None,
    max_ahead: dt.timedelta | None = None,
    outcomes: bool = False,
    plan: Plan | None = None,
    batches: int = 1,
    keyed_state: bool = False,
) -> PlanResult:
    """Run a pack's plan over events given in stream-position order, in ``partitions``
    hash partitions per keyed stage; the result equals the single engine's, fed the same
    events in the same order (then ``advance_to(until)`` when ``until`` is given).

    >>> import commitrules
    >>> from commitrules.plan import run_plan
    >>> pack = commitrules.load_pack()
    >>> events = [{"id": "m1", "type": "marketing_published",
    ...     "at": "2026-07-01T09:00:00+08:00", "material_id": "M-1", "channel": "wechat",
    ...     "approved": True, "text": "保本保收益, 稳赚不赔"}]
    >>> [v.rule_id for v in run_plan(pack, events, partitions=3).violations]
    ['C1.marketing.banned-promise']

    With ``batches`` above 1 the keyed and global stages run as a streaming host would
    run them: the input is cut into that many micro-batches by stream position; after
    each, every partition takes the admitted events earlier than the admission's
    watermark (no event admitted later can precede them) and its state is saved as a
    stage state (:meth:`~commitrules.engine._stage.StageEngine.stage_state`, through
    JSON) and resumed by a new engine for the next micro-batch. With ``keyed_state``
    that state is kept per key (:func:`~commitrules.plan.split_state`) and each
    micro-batch loads only the keys it needs.

    Raises:
        EngineConfigError: ``partitions`` or ``batches`` is not a positive number, or an
            engine option is wrong (as :class:`~commitrules.Engine` would say).
    """
    for name, value in (("partitions", partitions), ("batches", batches)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            msg = f"{name} must be a whole number of 1 or more, not {value!r}"
            raise EngineConfigError(msg)
    plan = plan if plan is not None else plan_for(pack)
    settings = _Settings(evidence, pseudonym_key, waivers, id_key, outcomes)
    # Refuse wrong options at once, with the engine's own messages.
    Engine(
        pack.subset(()),
        evidence=evidence,
        pseudonym_key=pseudonym_key,
        waivers=waivers,
        id_key=id_key,
        max_ahead=max_ahead,
        start=until,
    )
    run = _Run(pack, plan, settings, partitions, batches, keyed_state=keyed_state)
    run.admit(events, max_ahead, until)
    for stage in plan.stages:
        if stage.kind in {"keyed", "global"}:
            run.events_stage(stage)
        elif stage.kind == "periods":
            run.periods_stage(stage)
        elif stage.kind == "findings":
            run.findings_stage(stage)
        elif stage.kind == "route":
            run.route_stage(stage)
    return run.release()


class _Run:
    """The state of one run between stages (what a distributed runner would shuffle)."""

    def __init__(
        self,
        pack: Pack,
        plan: Plan,
        settings: _Settings,
        partitions: int,
        batches: int = 1,
        *,
        keyed_state: bool = False,
    ) -> None:
        self.keyed_state = keyed_state
        self.pack = pack
        self.plan = plan
        self.settings = settings
        self.partitions = partitions
        self.batches = batches
        #: Per admitted event's stream position, the micro-batch that releases it.
        self.batch_of: dict[int, int] = {}
        self.order = rule_order(pack)
        self.admitted: list[tuple[int, dict[str, Any], int]] = []
        self.rejects: list[Reject] = []
        self.stats = EngineStats()
        self.clock = Clock.of([], [], end=0, until_us=None)
        self.start: tuple[dt.datetime, int] | None = None
        #: Every finding and outcome so far, with (stage number, partition).
        self.findings: list[tuple[StageFinding, tuple[int, int]]] = []
        self.outcomes: list[tuple[StageOutcome, tuple[int, int]]] = []
        #: Per repeat escalation (its index in the routing), the findings it applies to.
        self.repeats: dict[int, set[int]] = {}
        self.stage_number = 0

    # -- admission -------------------------------------------------------------------------
    def admit(
        self,
        events: Iterable[Any],
        max_ahead: dt.timedelta | None,
        until: dt.datetime | None,
    ) -> None:
        admission = AdmissionEngine(self.pack, max_ahead=max_ahead, id_key=self.settings.id_key)
        watermarks: list[int] = []
        end = 0
        for position, event in enumerate(events):
            end = position + 1
            answer = admission.admit(event)
            if answer.admitted:
                assert answer.event is not None
                assert answer.at_us is not None
                assert answer.watermark_us is not None
                self.admitted.append((position, answer.event, answer.at_us))
                watermarks.append(answer.watermark_us)
            elif answer.error is not None:
                self.rejects.append(Reject(position, event, answer.error))
        self.stats = attrs.evolve(admission.stats)
        self.clock = Clock.of(
            [position for position, _, _ in self.admitted],
            watermarks,
            end=end,
            until_us=to_us(until) if until is not None else None,
        )
        if self.admitted:
            position, first, _ = self.admitted[0]
            self.start = (first["at"], position)
        self._batch(watermarks, end)
        # Every later stage takes events in (event time, stream position) order.
        self.admitted.sort(key=lambda item: (item[2], item[0]))

    def _batch(self, watermarks: list[int], end: int) -> None:
        """Which micro-batch releases each admitted event to the stages: the first whose
        end watermark is past its time (events admitted later are never earlier)."""
        size = -(-end // self.batches) if end else 1
        batch_of = self.batch_of
        held: list[tuple[int, int]] = []  # (at µs, position), admitted and not released
        index = 0
        for batch in range(self.batches):
            limit = (batch + 1) * size
            watermark = None
            while index < len(self.admitted) and self.admitted[index][0] < limit:
                position, _, at_us = self.admitted[index]
                held.append((at_us, position))
                watermark = watermarks[index]
                index += 1
            if batch == self.batches - 1:
                watermark = None  # the end: everything goes
            elif watermark is None:
                continue
            kept = []
            for at_us, position in held:
                if watermark is None or at_us < watermark:
                    batch_of[position] = batch
                else:
                    kept.append((at_us, position))
            held = kept

    # -- stages that take events -----------------------------------------------------------
    def _engine(self, rules: Sequence[str], *, calendar_alarm: bool = False) -> StageEngine:
        settings = self.settings
        start, position = self.start if self.start is not None else (None, -1)
        return StageEngine(
            self.pack.subset(rules, calendar_alarm=calendar_alarm),
            rule_index=self.order,
            start=start,
            start_position=position,
            track_outcomes=settings.outcomes,
            evidence=settings.evidence,
            pseudonym_key=settings.pseudonym_key,
            waivers=settings.waivers,
            id_key=settings.id_key,
        )

    def _partitioned(self, stage: Stage) -> dict[int, list[tuple[int, dict[str, Any]]]]:
        """The stage's events per partition, each in (event time, position) order."""
        buckets: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        key_by_type = stage.key_by_type
        partitions = self.partitions if stage.key else 1
        wanted = set(stage.events)
        for position, event, _ in self.admitted:
            kind = event["type"]
            if kind not in wanted:
                continue
            fields = key_by_type.get(kind, ())
            value = event.get(fields[0]) if fields else None
            buckets[bucket_of(value, partitions)].append((position, event))
        return buckets

    def _collect(self, engine: StageEngine, partition: int) -> None:
        where = (self.stage_number, partition)
        self.findings.extend((item, where) for item in engine.findings)
        self.outcomes.extend((item, where) for item in engine.outcomes)

    def events_stage(self, stage: Stage) -> None:
        self.stage_number += 1
        keyed = self.keyed_state and stage.kind == "keyed"
        for partition, items in sorted(self._partitioned(stage).items()):
            batches: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
            for position, event in items:
                batches[self.batch_of.get(position, 0)].append((position, event))
            engine = self._engine(stage.rules)
            store: KeyedState | None = None
            held: dict[str, Any] = {}
            for number, (_, batch) in enumerate(sorted(batches.items())):
                if number:
                    # A micro-batch ends: keep the state, resume it in a new engine.
                    self._collect(engine, partition)
                    state = json.loads(json.dumps(engine.stage_state()))
                    engine = self._engine(stage.rules)
                    if keyed:
                        store = split_state(state, stage.key_by_type, copy=False)
                        held.update(store.keys)
                        store = attrs.evolve(store, keys=held)
                        names = {self._key_text(stage, event) for _, event in batch}
                        loaded = store.needed(names, max(to_us(e["at"]) for _, e in batch))
                        state = store.join(loaded)
                        for name in loaded:
                            del held[name]
                    engine.resume(state)
                for position, event in batch:
                    engine.admitted(event, position)
            if keyed and held:
                # The end: every key, for timers that fall due before it.
                self._collect(engine, partition)
                state = split_state(engine.stage_state(), stage.key_by_type, copy=False)
                held.update(state.keys)
                engine = self._engine(stage.rules)
                engine.resume(attrs.evolve(state, keys=held).join(held))
            engine.finish(self.clock.final_us)
            self._collect(engine, partition)

    @staticmethod
    def _key_text(stage: Stage, event: Mapping[str, Any]) -> str:
        fields = stage.key_by_type.get(event["type"], ())
        return key_of(snapshots.encode(event.get(fields[0]) if fields else None))

    def partial_engine(
        self, stage: Stage, keep: Callable[[str, int, Any], None]
    ) -> StageEngine | None:
        """An engine of a periods stage's rules (no calendar alarm) that judges no period:
        each closing period's partial count goes to ``keep(rule id, period start µs,
        partial)``, to be merged and judged once (:meth:`judging_engine`). None when the
        stage has no rule but the calendar alarm (the judging engine raises it alone)."""
        rules = [rule for rule in stage.rules if rule != CALENDAR_HORIZON]
        if not rules:
            return None
        engine = self._engine(rules)
        for rule in engine.rules:
            if isinstance(rule, PeriodicTargetRule | PeriodicObligationRule):
                rule.closing = _keeping(rule, keep)
        return engine

    def judging_engine(
        self, stage: Stage, take: Callable[[str, int], Iterable[Any]]
    ) -> StageEngine:
        """An engine of the periods stage that judges each period once, from the partial
        counts ``take(rule id, period start µs)`` gives, merged in that order."""
        rules = [rule for rule in stage.rules if rule != CALENDAR_HORIZON]
        judge = self._engine(rules, calendar_alarm=CALENDAR_HORIZON in stage.rules)
        for rule in judge.rules:
            if isinstance(rule, PeriodicTargetRule | PeriodicObligationRule):
                rule.closing = _merging(rule, take)
        return judge

    def periods_stage(self, stage: Stage) -> None:
        """Partial counts per partition, merged, every period judged once."""
        self.stage_number += 1
        parts: dict[tuple[str, int], list[Any]] = defaultdict(list)

        def keep(rule_id: str, start_us: int, partial: Any) -> None:
            parts[rule_id, start_us].append(partial)

        for _, items in sorted(self._partitioned(stage).items()):
            engine = self.partial_engine(stage, keep)
            if engine is None:
                break
            for position, event in items:
                engine.admitted(event, position)
            engine.finish(self.clock.final_us)
        judge = self.judging_engine(
            stage, lambda rule_id, start_us: parts.pop((rule_id, start_us), ())
        )
        judge.finish(self.clock.final_us)
        self._collect(judge, 0)

    # -- findings of findings ----------------------------------------------------------------
    def findings_stage(self, stage: Stage) -> None:
        """Thresholds over findings: the findings so far, in the single engine's order."""
        self.stage_number += 1
        final_us = self.clock.final_us
        counted: list[tuple[Any, ...]] = []
        for item, where in self.findings:
            violation = item.violation
            if violation.waiver is not None or violation.kind not in ("violation", "escalation"):
                continue
            occurrence = item.occurrence
            if item.accepted:
                # A check's finding waits in the engine's buffer until the watermark
                # passes its time, like an event (just before the event it came from).
                at_us = item.finding.at_us
                if final_us is None or at_us > final_us:
                    continue
                position = occurrence.position
                occurrence = Occurrence((at_us, 1, position, 1), position, at_us, at_us)
            counted.append((occurrence.key, _place(item, where), item, occurrence))
        counted.sort(key=lambda entry: entry[:2])
        field = stage.key[0] if stage.key else None
        partitions = self.partitions if field is not None else 1
        buckets: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for entry in counted:
            finding = entry[2].finding
            value = None
            if field is not None:
                value = finding.subject.get(field, finding.scope.get(field))
                if value is None:
                    continue  # counted in no group
            buckets[bucket_of(value, partitions)].append(entry)
        for partition, entries in sorted(buckets.items()):
            engine = self._engine(stage.rules)
            for _, place, item, occurrence in entries:
                engine.count(item.finding, occurrence, accepted=item.accepted, after=place)
            engine.finish(final_us)
            self._collect(engine, partition)

    # -- routing -----------------------------------------------------------------------------
    def _routed(self) -> list[tuple[int, tuple[Any, ...], int, StageFinding]]:
        """The findings the router counts, in the order the single engine routes them."""
        routed = []
        for number, (item, _) in enumerate(self.findings):
            violation = item.violation
            if violation.waiver is not None or violation.kind == "correction":
                continue
            call = self._call(item.occurrence)
            routed.append((call, release_order(violation), number, item))
        routed.sort(key=lambda entry: entry[:2])
        return routed

    def _call(self, occurrence: Occurrence) -> int:
        call = self.clock.call(occurrence.position, occurrence.latest)
        assert call is not None, occurrence
        return call

    def route_stage(self, stage: Stage) -> None:
        """One repeat escalation, per value of its ``by`` field."""
        self.stage_number += 1
        escalations = self.pack.routing.escalations
        index = next(
            n
            for n, escalation in enumerate(escalations)
            if f"route:{escalation.id}" == stage.name and escalation.repeats is not None
        )
        escalation = escalations[index]
        assert escalation.repeats is not None
        by = escalation.repeats.by
        marker = f"\x00{stage.name}"
        spec = RoutingSpec(escalations=[escalation.model_copy(update={"to": [marker]})])
        buckets: dict[int, list[tuple[int, tuple[Any, ...], int, StageFinding]]] = defaultdict(list)
        for entry in self._routed():
            finding = entry[3].finding
            value = finding.scope.get(by, finding.subject.get(by))
            if value is not None:
                buckets[bucket_of(value, self.partitions)].append(entry)
        applies = self.repeats.setdefault(index, set())
        sweeps = self.clock.sweeps
        for _, entries in sorted(buckets.items()):
            router = Router(spec)
            swept = 0
            for call, order, number, item in entries:
                # The engine sweeps after a call's routes, once a day of event time.
                while swept < len(sweeps) and sweeps[swept][0] < call:
                    router.forget_before(sweeps[swept][1])
                    swept += 1
                if marker in router.route(item.finding, order):
                    applies.add(number)

    # -- release ---------------------------------------------------------------------------
    def release(self) -> PlanResult:
        escalations = self.pack.routing.escalations
        matchers = [
            Router(RoutingSpec(escalations=[e.model_copy(update={"to": ["\x00"]})]))
            for e in escalations
        ]
        out: list[tuple[int, tuple[Any, ...], Violation]] = []
        for number, (item, _) in enumerate(self.findings):
            violation = item.violation
            call = self._call(item.occurrence)
            if violation.waiver is None and violation.kind != "correction":
                finding = item.finding
                roles: dict[str, None] = {finding.rule.role: None}
                for role in finding.extra_roles:
                    roles.setdefault(role, None)
                for index, escalation in enumerate(escalations):
                    if escalation.repeats is not None:
                        applies = number in self.repeats.get(index, ())
                    else:
                        applies = "\x00" in matchers[index].route(finding)
                    if applies:
                        for role in escalation.to:
                            roles.setdefault(role, None)
                route = tuple(roles)
                if route != violation.route:
                    violation = attrs.evolve(violation, route=route)
            out.append((call, release_order(violation), violation))
        out.sort(key=lambda entry: entry[:2])
        violations = tuple(entry[2] for entry in out)
        outcomes = sorted(
            (
                (
                    self._call(item.occurrence),
                    item.occurrence.key,
                    _place(item, where),
                    item.outcome,
                )
                for item, where in self.outcomes
            ),
            key=lambda entry: entry[:3],
        )
        self.stats.violations = len(violations)
        return PlanResult(
            violations=violations,
            outcomes=tuple(entry[3] for entry in outcomes),
            rejects=tuple(self.rejects),
            stats=self.stats,
            plan=self.plan,
        )


def _keeping(
    rule: PeriodicTargetRule | PeriodicObligationRule, keep: Callable[[str, int, Any], None]
) -> Callable[[Period], bool]:
    def closing(period: Period) -> bool:
        keep(rule.rule_id, period.start_us, rule.partial())
        return False  # not judged here

    return closing


def _merging(
    rule: PeriodicTargetRule | PeriodicObligationRule, take: Callable[[str, int], Iterable[Any]]
) -> Callable[[Period], bool]:
    def closing(period: Period) -> bool:
        for part in take(rule.rule_id, period.start_us):
            rule.merge(part)
        return True

    return closing
