"""Stage engines: the engine's own code, run for one stage of a plan (:mod:`commitrules.plan`).

A plan splits a pack into stages that can each be partitioned by one key; a stage runs an
ordinary :class:`~commitrules.engine.Engine` over a subset of the pack's rules. What the
single engine decides from the whole stream, a stage cannot see; these subclasses add
what a stage's host needs to put the pieces back together exactly:

* :class:`AdmissionEngine` runs the engine's intake (validation, duplicates, conflicts,
  lateness, the future guard, the rules' rejecting preparations) and only the clock of the
  apply step, in stream order: it says which events are admitted and what the watermark
  is after each of them.
* :class:`StageEngine` runs admitted events (already validated) for a subset of rules
  and records, for each finding and outcome, the *occurrence* that produced it: the event
  released, the timer fired or the event accepted, with a key that orders occurrences as
  the single engine processes them (event time, then timers before events, then stream
  position), and the stream position and event time that decide in which call of the
  single engine it was released. It also counts findings of earlier stages for the rules
  that count findings (:meth:`StageEngine.count`).

Occurrence keys. An event at ``T`` with stream position ``p`` is accepted at
``(T, 1, p, 0)``; a check's finding counted by a threshold over findings at
``(at, 1, p, 1)``; the event released at ``(T, 1, p, 2)``. A timer firing at ``F`` that was
scheduled by an occurrence with key ``k`` at time ``X``: ``(F, 0, k, n)`` when ``F > X``
(timers due at an instant fire before events of that instant, in the order they were
scheduled), else ``k + (F, n)`` (it fires right after ``k``); ``n`` is (rule index, the
engine's sequence). Nested keys are cut at :data:`MAX_DEPTH` levels.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ..errors import CommitRulesError
from ..eventtime import to_us
from ..pack._load import Pack
from ..rules import Finding, RuleRuntime
from ..violations import Violation
from ._engine import Engine
from ._intake import Digests, DuplicateStore
from ._release import Outcome

__all__ = [
    "FAR_AHEAD",
    "MAX_DEPTH",
    "START",
    "STATE_FORMAT",
    "STATE_VERSION",
    "AdmissionEngine",
    "Admitted",
    "Occurrence",
    "StageEngine",
    "StageFinding",
    "StageOutcome",
]

Key = tuple[Any, ...]
START: Key = (-(2**62), -1, -1, 0)
"""The key of the engine's start (periodic rules schedule their first close there)."""
MAX_DEPTH = 8
_FORGET_SLACK = 4096
"""Notes of timers a stage engine keeps beyond twice those last found pending."""
FAR_AHEAD = dt.timedelta(days=366 * 300)
"""A stage never refuses an event as too far ahead: admission decided that."""
STATE_FORMAT = "commitrules.stage-state"
STATE_VERSION = 1
"""The format of :meth:`StageEngine.stage_state`: the engine's snapshot and, beside it,
what a stage adds (the occurrence of every pending timer, the stream positions of events
held back, its serial) and the next timer due."""


@attrs.frozen
class Occurrence:
    """What the single engine was doing when something happened.

    ``key`` orders occurrences as the single engine processes them; ``position`` is the
    stream position of the event they descend from and ``latest`` the latest event time
    along the way: the single engine releases it in the first call at or after
    ``position`` whose watermark reaches ``latest``. ``time`` is its event time (the
    parameters in force), ``depth`` the nesting of ``key``.
    """

    key: Key
    position: int
    latest: int
    time: int
    depth: int = 0


@attrs.frozen
class StageFinding:
    """A finding of one stage: the violation as released and what later stages need.

    ``finding`` is the raw finding (values not masked: later stages count and route on
    them); ``violation`` is its rendered, protected form, whose route the routing stage
    replaces. ``accepted`` marks a finding of a single-event check (counted by thresholds
    over findings at its own time, like an event). ``rule`` is the index of the rule that
    was running in the pack, ``serial`` the order in which this engine emitted it.
    """

    finding: Finding
    violation: Violation
    occurrence: Occurrence
    rule: int
    serial: int
    accepted: bool
    after: tuple[Any, ...] = ()
    """For a finding of a rule that counts findings: the place of the finding it counted
    (it follows that one at once)."""


@attrs.frozen
class StageOutcome:
    """An outcome of one stage and the occurrence that produced it."""

    outcome: Outcome
    occurrence: Occurrence
    rule: int
    serial: int
    after: tuple[Any, ...] = ()


@attrs.frozen
class Admitted:
    """The admission's answer for one event: admitted or not, and the watermark after it."""

    admitted: bool
    event: dict[str, Any] | None
    at_us: int | None
    watermark_us: int | None
    error: CommitRulesError | None = None
    duplicate: bool = False


def _quiet(*_: Any) -> None:
    """A tracer that does nothing: it makes the engine run rules one by one (see below)."""


class AdmissionEngine(Engine):
    """The engine's intake in stream order, with only the clock of its apply step.

    >>> import commitrules
    >>> from commitrules.engine._stage import AdmissionEngine
    >>> admission = AdmissionEngine(commitrules.load_pack())
    >>> event = {"id": "e1", "type": "training_completed", "at": "2026-07-01T09:00:00+08:00",
    ...          "staff_id": "S-1", "course": "compliance"}
    >>> admission.admit(event).admitted, admission.admit(event).duplicate
    (True, True)
    """

    _admitted: dict[str, Any] | None = None

    def admit(self, event: Mapping[str, Any] | Any, *, validated: bool = False) -> Admitted:
        """Decide one event as the single engine would (nothing is judged); ``validated``:
        the event is already in the engine's validated form (the table reader's ready rows)."""
        duplicates = self.stats.duplicates
        self._admitted = None
        try:
            if validated:
                self._process_validated(dict(event) if type(event) is not dict else event)
            else:
                self.process(event)
        except CommitRulesError as error:
            return Admitted(False, None, None, self._watermark_us, error)
        if self.stats.duplicates != duplicates:
            return Admitted(False, None, None, self._watermark_us, duplicate=True)
        checked = self._admitted
        assert checked is not None
        return Admitted(True, checked, to_us(checked["at"]), self._watermark_us)

    def _apply_event(
        self,
        checked: dict[str, Any],
        at_us: int,
        event_id: str,
        kind: str,
        route: tuple[Any, Any, Any] | None,
        prepared: dict[int, Any],
    ) -> list[Violation]:
        # The clock of Engine._apply_event, nothing else: no rule runs here.
        self._admitted = checked
        self._started = True
        if self._latest_us is None or at_us > self._latest_us:
            self._latest_us = at_us
        watermark = self._latest_us - self._lateness
        if self._watermark_us is not None and self._watermark_us > watermark:
            watermark = self._watermark_us
        self._watermark_us = watermark
        return []

    def _apply_advance(self, when_us: int) -> list[Violation]:
        self._watermark_us = when_us
        return []


class _AdmittedDigests(Digests):
    """A stage's digests: none are needed, the admission decided repeats."""

    __slots__ = ()

    def of_id(self, event_id: str) -> int:
        return 0

    def of_body(self, checked: Mapping[str, Any]) -> int:
        return 0


class _NoRepeats(DuplicateStore):
    """A stage's duplicate store: empty. Every event a stage runs was admitted once, by the
    admission in stream order, so a stage keeps no ids (nor carries them in its state)."""

    __slots__ = ()

    def find(self, key: int) -> int:
        return -1

    def remember(self, key: int, at_us: int, body: int) -> None:
        return

    def withdraw(self, key: int) -> None:
        return

    def evict_before(self, cutoff_us: int) -> None:
        return


class StageEngine(Engine):
    """An engine for one stage of a plan: admitted events in, findings with their
    occurrences out (:attr:`findings`, :attr:`outcomes`).

    ``pack`` is usually a :meth:`~commitrules.Pack.subset`; ``rule_index`` gives every
    rule of the whole pack its place (the order in which the single engine runs rules
    for one event); ``start`` and ``start_position`` are the time and stream position of
    the first admitted event of the whole stream. Events go in with :meth:`admitted`, in
    (event time, stream position) order; :meth:`count` takes findings of earlier stages
    (for rules that count findings); :meth:`finish` moves time to the end.
    """

    def __init__(
        self,
        pack: Pack,
        *,
        rule_index: Mapping[str, int],
        start: dt.datetime | None = None,
        start_position: int = -1,
        track_outcomes: bool = False,
        **options: Any,
    ) -> None:
        options.setdefault("max_ahead", FAR_AHEAD)
        super().__init__(pack, start=start, outcomes=_quiet if track_outcomes else None, **options)
        self._rule_index = dict(rule_index)
        self._start_position = start_position
        # Rules run one by one (not fused) so that each finding is known by its rule.
        self.tracer = _quiet
        self._digests = _AdmittedDigests(options.get("id_key"))
        self._store = _NoRepeats(self._digests)
        self._occurrence = Occurrence(START, start_position, -(2**62), -(2**62))
        self._current_rule = -1
        #: The event last traced, whether it was being accepted, and its occurrence.
        self._last_event: tuple[Any, bool, Occurrence] = (None, False, self._occurrence)
        self._after: tuple[Any, ...] = ()
        self._positions: dict[str, int] = {}
        self._timer_occurrences: dict[int, Occurrence] = {}
        #: The count of notes above which the spent ones are dropped (see _schedule).
        self._forget_above = _FORGET_SLACK
        self._services.schedule = self._schedule
        self.findings: list[StageFinding] = []
        """Every finding emitted, in the order emitted."""
        self.outcomes: list[StageOutcome] = []
        """Every outcome (when ``track_outcomes``), in the order produced."""
        self._serial = 0  # one count over findings and outcomes: their order here

    @property
    def rules(self) -> tuple[RuleRuntime, ...]:
        """The running rules of this stage."""
        return self._rules

    # -- state between batches -------------------------------------------------------------
    def stage_state(self) -> dict[str, Any]:
        """This partition's state, JSON-ready, for a host that runs a stage in batches.

        The engine's :meth:`~commitrules.Engine.snapshot` (``snapshot``), and beside it,
        in a versioned format (:data:`STATE_FORMAT`, :data:`STATE_VERSION`): the
        occurrence of every pending timer, the stream positions of events held back, the
        serial of the last finding or outcome, and ``next_due``, the event time (ISO 8601,
        or None) of the next timer: a host that keeps state itself registers an
        event-time timer there. Findings and outcomes already taken are not in it.

        >>> import commitrules
        >>> from commitrules.engine._stage import AdmissionEngine, StageEngine, rule_order
        >>> pack = commitrules.load_pack()
        >>> event = {"id": "s1", "type": "service_requested", "request_id": "R-1",
        ...     "customer_id": "C-1", "branch_id": "B-1", "channel": "branch",
        ...     "service": "account_change", "at": "2026-07-01T09:00:00+08:00"}
        >>> admitted = AdmissionEngine(pack).admit(event).event
        >>> part = pack.subset(["C4.completion.in-time"])
        >>> engine = StageEngine(part, rule_index=rule_order(pack))
        >>> engine.admitted(admitted, 0)
        >>> state = engine.stage_state()
        >>> state["format"], state["version"], state["next_due"]  # doctest: +ELLIPSIS
        ('commitrules.stage-state', 1, '2026-07-...')
        """
        pending = self._timers.pending()
        notes = self._timer_occurrences
        timers = []
        for _fire_us, seq, _index, _token in pending:
            note = notes.get(seq)
            if note is not None:
                timers.append(
                    [seq, _plain(note.key), note.position, note.latest, note.time, note.depth]
                )
        next_due = None
        if pending:
            from ..eventtime import from_us  # noqa: PLC0415 - the only use

            next_due = from_us(pending[0][0], self._tz).isoformat()
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "snapshot": self.snapshot(),
            "timers": timers,
            "positions": sorted([event_id, pos] for event_id, pos in self._positions.items()),
            "serial": self._serial,
            "next_due": next_due,
        }

    def resume(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`stage_state` (on a fresh engine of the same stage).

        Raises:
            SnapshotError: not a stage state of this version, or its snapshot is malformed.
        """
        from ..errors import SnapshotError  # noqa: PLC0415 - only here
        from ._snapshot import load  # noqa: PLC0415 - the snapshot seam

        if state.get("format") != STATE_FORMAT or state.get("version") != STATE_VERSION:
            msg = (
                f"not a stage state of version {STATE_VERSION} "
                f"(format {state.get('format')!r}, version {state.get('version')!r})"
            )
            raise SnapshotError(msg)
        load(self, state["snapshot"])
        try:
            self._timer_occurrences = {
                int(seq): Occurrence(
                    _tupled(key), int(position), int(latest), int(time), int(depth)
                )
                for seq, key, position, latest, time, depth in state["timers"]
            }
            self._positions = {str(event_id): int(pos) for event_id, pos in state["positions"]}
            self._serial = int(state["serial"])
            self._forget_above = 2 * len(self._timer_occurrences) + _FORGET_SLACK
        except (KeyError, TypeError, ValueError) as error:
            msg = f"the stage state is malformed: {type(error).__name__}: {error}"
            raise SnapshotError(msg) from None
        self._journal.reset(self._capture())

    # -- input -----------------------------------------------------------------------------
    def admitted(self, event: dict[str, Any], position: int) -> None:
        """Run one admitted event (as validated by the admission) at its stream position."""
        self._positions[event["id"]] = position
        self._accept_event(event)
        if event["type"] not in self._release:
            self._positions.pop(event["id"], None)

    def count(
        self,
        finding: Finding,
        occurrence: Occurrence,
        *,
        accepted: bool,
        after: tuple[Any, ...] = (),
    ) -> None:
        """Count a finding of an earlier stage, for this stage's rules that count findings.

        Findings go in in the order of their occurrence keys (a check's finding, once the
        single engine's watermark passed it). ``finding.rule`` may be a rule that this
        stage does not run (it is only read); ``after`` is its place among the findings
        of its occurrence (what this counting emits follows it).
        """
        out = self._out = []
        services = self._services
        # Timers due by then fire first; timers of the same instant as a timer's finding
        # are taken to come first too (their order is not kept across stages).
        moment = occurrence.time
        limit = moment if accepted or occurrence.key[1] != 0 else moment - 1
        self._fire_timers(limit)
        self._occurrence = occurrence
        self._after = after
        services.set_time(moment)
        for counting in self._counting:
            self._current_rule = self._rule_index.get(counting.rule_id, -1)
            try:
                counting.on_finding(finding, services)
            except Exception as error:  # noqa: BLE001 - the rule's own failure
                self._rule_failed(counting, error, None)
        self._after = ()
        self._unrouted = []
        self._out = []
        del out

    def finish(self, until_us: int | None) -> None:
        """Move time to the end of the stream (the single engine's last watermark, or its
        ``advance_to``)."""
        if until_us is None:
            return
        from ..eventtime import from_us  # noqa: PLC0415 - the only use

        self.advance_to(from_us(until_us, self._tz))

    # -- what the engine does, with the occurrence noted ----------------------------------
    def _schedule(self, fire_us: int, rule: RuleRuntime, token: Any) -> None:
        timers = self._timers
        timers.schedule(fire_us, rule, token)
        here = self._occurrence
        serial = (self._rule_index.get(rule.rule_id, -1), timers.sequence)
        depth = here.depth
        if fire_us > here.time:
            parent = here.key
            if depth >= MAX_DEPTH and parent[1] == 0:
                parent = (parent[0], 0, (), parent[3])
            key: Key = (fire_us, 0, parent, serial)
            depth += 1
        else:
            key = (*here.key, fire_us, serial)
        timers_occurrences = self._timer_occurrences
        timers_occurrences[timers.sequence] = Occurrence(
            key, here.position, max(here.latest, fire_us), fire_us, min(depth, MAX_DEPTH)
        )
        if len(timers_occurrences) > self._forget_above:
            self._forget_spent_timers()

    def _forget_spent_timers(self) -> None:
        """Timers the rules dropped unfired (a deadline met) leave their notes behind.

        Dropping them walks every pending timer, so the next walk waits until the notes
        have doubled (plus a slack): amortised constant work per timer scheduled, however
        many timers are pending. (Comparing with the heap's length instead was quadratic:
        most timers wait in the per-rule queues, not on the heap.)
        """
        pending = {entry[1] for entry in self._timers.pending()}
        self._timer_occurrences = {
            seq: note for seq, note in self._timer_occurrences.items() if seq in pending
        }
        self._forget_above = 2 * len(self._timer_occurrences) + _FORGET_SLACK

    def _start(self, first_us: int) -> None:
        self._occurrence = Occurrence(START, self._start_position, first_us, first_us)
        super()._start(first_us)

    def _traced(self, rule: RuleRuntime, handler: Any, event: dict[str, Any], at_us: int) -> None:
        # Each rule of the pack one by one (the engine's tracer path, without a tracer to
        # call): the occurrence is the event's, made once for all its rules.
        accepting = self._accepting
        last = self._last_event
        if last[0] is event and last[1] is accepting:
            self._occurrence = last[2]
        else:
            position = self._positions.get(event["id"], -1)
            if accepting:
                occurrence = Occurrence((at_us, 1, position, 0), position, -(2**62), at_us)
            else:
                occurrence = Occurrence((at_us, 1, position, 2), position, at_us, at_us)
            self._occurrence = occurrence
            self._last_event = (event, accepting, occurrence)
        self._current_rule = self._rule_index.get(rule.rule_id, -1)
        try:
            handler(event, at_us, self._services)
        except Exception as error:  # noqa: BLE001 - the rule's own failure
            self._rule_failed(rule, error, event)

    def _release_one(self, event: dict[str, Any], at_us: int, prepared: dict[int, Any]) -> None:
        super()._release_one(event, at_us, prepared)
        self._positions.pop(event["id"], None)

    def _on_timer(self, rule: RuleRuntime, token: Any, fire_us: int) -> None:
        note = self._timer_occurrences.pop(self._timers.firing, None)
        if note is None:  # scheduled before this engine noted timers (a restore)
            note = Occurrence((fire_us, 0, (), (-1, -1)), self._start_position, fire_us, fire_us)
        self._occurrence = note
        self._current_rule = self._rule_index.get(rule.rule_id, -1)
        super()._on_timer(rule, token, fire_us)

    def _emit(self, finding: Finding) -> None:
        before = len(self._out)
        accepted = self._accepting
        occurrence = self._occurrence
        rule = self._current_rule
        super()._emit(finding)
        if len(self._out) > before:
            self.findings.append(
                StageFinding(
                    finding=finding,
                    violation=self._out[before],
                    occurrence=occurrence,
                    rule=rule,
                    serial=self._next(),
                    accepted=accepted,
                    after=self._after,
                )
            )

    def _next(self) -> int:
        self._serial += 1
        return self._serial

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
        before = len(self._call_outcomes)
        super()._outcome(
            rule,
            status,
            subject,
            at,
            event_ids,
            violation_id,
            waiver,
            provisional,
            measure,
        )
        if len(self._call_outcomes) > before:
            self.outcomes.append(
                StageOutcome(
                    outcome=self._call_outcomes[before],
                    occurrence=self._occurrence,
                    rule=self._current_rule,
                    serial=self._next(),
                    after=self._after,
                )
            )


def _plain(key: Any) -> Any:
    """An occurrence key as JSON-ready lists."""
    return [_plain(part) for part in key] if isinstance(key, tuple) else key


def _tupled(key: Any) -> Any:
    """An occurrence key back from :func:`_plain` (every list a tuple again)."""
    return tuple(_tupled(part) for part in key) if isinstance(key, list) else key


def rule_order(pack: Pack) -> dict[str, int]:
    """Every rule of a pack by its place (the engine's own rules after the pack's)."""
    order = {rule.id: index for index, rule in enumerate(pack.rules)}
    order.setdefault("engine.rule-error", len(order))
    order.setdefault("engine.calendar-horizon", len(order))
    return order


def sorted_findings(items: Iterable[StageFinding]) -> list[StageFinding]:
    """Findings of several stages in the single engine's order of occurrence."""
    return sorted(items, key=lambda item: (item.occurrence.key, item.rule, item.serial))
