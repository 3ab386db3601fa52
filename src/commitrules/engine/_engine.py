"""The engine: events in, routed violations out, in event time, deterministically.

One call of :meth:`Engine.process` (or ``process_json``, ``advance_to``) has three steps:

1. **intake** (:mod:`._intake`): the event is validated (one compiled validator per
   type), a repeated id is dropped or refused, an event older than the watermark or too
   far ahead of it is refused, and what could still reject it is prepared (deadline due
   times on a strict working-day calendar). Nothing has changed yet.
2. **apply**: the single-event checks run at once; stateful rules (precedence, deadline,
   threshold, periodic) receive events in event-time order from a reorder buffer as the
   watermark passes them, with timers (:mod:`._time`: due times, period ends) fired in
   between; every finding is routed and rendered (:mod:`._findings`). A rule that fails at
   run time is skipped for that event and reported by the engine (an ``operational``
   finding); a failure of the engine's own steps rolls the whole call back
   (:mod:`._atomic`) and raises :class:`~commitrules.errors.ProcessingError`.
3. **commit**: the id is remembered, the call is journaled, and only then do the sinks
   (outcomes, observers, the decision log) receive what it released.

The violations released by one call come out ordered by (at, rule_id, kind rank, id).

This module holds the orchestration (the public calls, intake and commit, apply); the
engine's other parts are its bases, each in its own module: :class:`~._findings.Releasing`
(release) and :class:`~._atomic.Atomic` (checkpoint and replay), over the state they all
share (:class:`~._parts.EngineParts`).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .._pace import paced
from ..errors import (
    CalendarError,
    CommitRulesError,
    DeliveryError,
    EngineConfigError,
    EventValidationError,
    Location,
    PackValidationError,
    Problem,
)
from ..eventtime import from_us, to_us
from ..eventtime._instants import check_instant
from ..pack._load import Pack
from ..rules import RuleRuntime
from ..rules.check import CheckRule, fuse_checks
from ..rules.operational import horizon_alarm, rule_error
from ..violations import Violation, release_order
from ..waivers import Waivers, unknown_target
from ._atomic import VALUES, Atomic, Journal
from ._derived import DerivedLog
from ._findings import FINDING, Releasing, Services
from ._intake import Digests, DuplicateStore, future_error, late_error
from ._parts import EngineStats, Tracer
from ._release import Deliveries, EvidenceMode, Outcome, Protector
from ._time import Timers

__all__ = ["Engine", "EngineStats", "EvidenceMode", "Outcome", "Tracer"]

_FINDING = FINDING
_DAY_US = 86_400_000_000
_NOTHING: dict[int, Any] = {}
_NO_EVENT: dict[str, Any] = {}
#: Judge a type's checks with one generated function (tests compare both ways).
FUSE_CHECKS = True
_REJECTING = (CalendarError, EventValidationError)
"""Errors of a rule's prepare step that reject the event (a strict calendar's gap, a
negative count in a field); any other failure is the rule's own, reported when it runs."""


class Engine(Releasing, Atomic):
    """Evaluates business events against a pack and returns the violations that became final.

    >>> import commitrules
    >>> engine = commitrules.Engine(commitrules.load_pack())
    >>> found = engine.process({
    ...     "id": "m1", "type": "marketing_published", "at": "2026-07-01T09:00:00+08:00",
    ...     "material_id": "M-1", "channel": "wechat", "approved": True,
    ...     "text": "保本保收益, 稳赚不赔"})
    >>> [(v.clause_id, v.role) for v in found]
    [('C1.marketing', 'risk-compliance')]

    Every call is all or nothing: if it fails after validation, the engine's state is as
    before it and the same event can be sent again. An engine is not safe to share
    between threads; give each worker its own.
    """

    __slots__ = ()  # every attribute is a slot of EngineParts

    def __init__(
        self,
        pack: Pack,
        *,
        backend: str = "native",
        evidence: EvidenceMode = "mask",
        pseudonym_key: bytes | None = None,
        waivers: Waivers | None = None,
        outcomes: Callable[[Outcome], None] | None = None,
        id_key: bytes | None = None,
        max_ahead: dt.timedelta | None = None,
        start: dt.datetime | None = None,
    ) -> None:
        if backend not in ("native", "durable"):
            msg = f"unknown backend {backend!r}: choose 'native' or 'durable'"
            raise EngineConfigError(msg)
        if evidence not in ("mask", "pseudonymize", "include"):
            msg = f"unknown evidence mode {evidence!r}: choose 'mask', 'pseudonymize' or 'include'"
            raise EngineConfigError(msg)
        if evidence == "pseudonymize" and not pseudonym_key:
            msg = "evidence='pseudonymize' needs a secret pseudonym_key"
            raise EngineConfigError(msg)
        if id_key is not None and len(id_key) < 16:
            msg = "id_key must be a secret of 16 bytes or more (the deployment's id key)"
            raise EngineConfigError(msg)
        if max_ahead is not None and max_ahead <= dt.timedelta(0):
            msg = f"max_ahead must be a positive duration, not {max_ahead}"
            raise EngineConfigError(msg)
        if start is not None and (start.tzinfo is None or check_instant(start) is not None):
            msg = f"start must be an aware datetime within the supported range, not {start!r}"
            raise EngineConfigError(msg)
        #: When periodic rules start (the first event of the whole stream, for an engine
        #: that runs one stage of a plan); None: at the first event this engine sees.
        self._start_us = to_us(start) if start is not None else None
        self.pack = pack
        if waivers is not None:
            _check_waivers(waivers, pack)
        self._waivers = waivers if waivers is not None and waivers.items else None
        self.evidence_mode = evidence
        self._protect = Protector(pack.personal_fields, evidence, pseudonym_key or b"")
        self._id_key = id_key
        if backend == "durable":
            if pack.running is not None:
                msg = "a subset of a pack (Pack.subset) runs on the native backend only"
                raise EngineConfigError(msg)
            from ..backends import durable  # noqa: PLC0415 - an optional extra

            runtime = durable.build(pack)
        else:
            runtime = pack.build()
        self.backend = backend
        self._runtime = runtime
        rules: tuple[RuleRuntime, ...] = runtime.rules
        self._tz = pack.tz
        alarm = horizon_alarm(
            runtime.calendar,
            pack.longest_working_days(),
            pack.calendar_alarm_margin_days,
            pack.operations_role,
            self._tz,
        )
        if not pack.calendar_alarm:
            alarm = None  # a stage of a plan that leaves the alarm to another stage
        if alarm is not None:
            rules = (*rules, alarm)
        self._rules = rules
        self._router = runtime.router
        self._timers = Timers(rules)
        self._services = Services(self, runtime, pack, self._timers)
        self._outcomes = outcomes
        self._services.tracking = outcomes is not None
        self._catalog = pack.catalog
        self._ref = pack.ref
        self._lateness = pack.allowed_lateness_us
        self._horizon = pack.duplicate_horizon_us
        self._max_ahead = (
            max_ahead // dt.timedelta(microseconds=1)
            if max_ahead is not None
            else pack.max_ahead_us
        )
        self._failure_source = rule_error(pack.operations_role)
        self._accept = {}
        self._release = {}
        self._prepare = {}
        for rule in rules:
            for event_type, handler in rule.on_accept.items():
                self._accept.setdefault(event_type, []).append((rule, handler))
            for event_type, handler in rule.on_release.items():
                self._release.setdefault(event_type, []).append((rule, handler))
            for event_type, function in rule.prepare.items():
                self._prepare.setdefault(event_type, []).append((rule, function))
        # One lookup per event: type -> (prepare, accept, release), each None when empty.
        self._routes = {
            event_type: (
                # prepare steps as (the rule's slot in the prepared values, function)
                [(id(rule), function) for rule, function in self._prepare.get(event_type, ())]
                or None,
                self._judges(event_type),
                self._release.get(event_type) or None,
            )
            for event_type in {*self._accept, *self._release, *self._prepare}
        }
        self._counting = [rule for rule in rules if rule.counts_findings]
        # What routing repeats and thresholds over findings counted, for corrections.
        windows = [self._router.longest_window_us]
        windows += [getattr(rule, "_window_us", None) or 366 * _DAY_US for rule in self._counting]
        calendar = runtime.calendar
        provisional_from = (
            to_us(dt.datetime(calendar.last_year + 1, 1, 1, tzinfo=self._tz))
            if calendar is not None and calendar.last_year < dt.MAXYEAR
            else None
        )
        self._derived = DerivedLog(2 * max(windows), provisional_from) if max(windows) else None
        #: While a restore carries state over: what it released, (finding, violation).
        self._migrating = None
        #: Findings of the current call still to route: (place in the call's output, finding).
        self._unrouted = []
        self._starting = [
            rule for rule in rules if rule.kind.startswith("periodic") or rule is alarm
        ]
        self._by_id = {rule.rule_id: rule for rule in rules}
        self._accepting = False
        # State.
        self._digests = Digests(
            id_key, {kind.name: tuple(kind.model.model_fields) for kind in pack.catalog}
        )
        self._store = DuplicateStore(self._digests)
        self._latest_us = None
        self._watermark_us = None
        self._started = False
        self._buffer = []
        self._out = []
        self._last_sweep_us = 0
        self._since_forget = 0
        self._step = "release"
        self._call_outcomes = []
        #: Findings a restore into a changed pack released (corrections, deadlines now
        #: past due); the next call returns them first.
        self._carried = []
        self._deliveries = Deliveries()
        self._journal = Journal()
        self.stats = EngineStats()
        self.observers = []
        """Called after each committed event and clock move: (what, released)."""
        self.tracer = None
        """Called after each rule handles an event (rule, event, violations, services)."""
        self.fresh_rules = ()
        """Rules that started fresh when this engine was restored (new, or changed in a way
        their state cannot be carried over)."""
        self.dropped_rules = ()
        """Rules of the snapshot that the pack no longer has."""
        self.migration = None
        """What a restore into a changed pack did (a MigrationReport), or None."""
        self._journal.checkpoint = self._capture()

    # -- the public contract ---------------------------------------------------------------
    @property
    def watermark(self) -> dt.datetime | None:
        """The latest event time seen minus the allowed lateness (or where time was advanced)."""
        self._intact()
        return None if self._watermark_us is None else from_us(self._watermark_us, self._tz)

    @property
    def undelivered(self) -> int:
        """How many sink deliveries wait for the next call or :meth:`flush`."""
        return len(self._deliveries)

    def process(self, event: Mapping[str, Any] | Any) -> list[Violation]:
        """Judge one event (a dict or an event model); return the violations that became final.

        Raises:
            EventValidationError: a field is missing or wrong (the state is unchanged).
            EventConflictError: the id was seen before with a different payload.
            LateEventError: the event is older than the watermark.
            FutureEventError: the event is further ahead of the watermark than allowed.
            CalendarError: a strict calendar does not know a year a deadline needs.
            ProcessingError: the call failed after validation; nothing was applied.
            DeliveryError: a sink failed (see its ``processed`` and ``violations``).
        """
        if self._journal.broken is not None or self._deliveries:
            self._begin()
        try:
            checked = self._catalog.validate(event)
        except Exception:
            self.stats.rejected += 1
            raise
        return self._accept_event(checked)

    def process_json(self, data: bytes | str) -> list[Violation]:
        """Judge one event given as JSON text (one line of a JSON Lines file).

        The fast path for batch input: the text is validated straight into the engine's
        representation, without building a dict first. Same errors as :meth:`process`.
        """
        if self._journal.broken is not None or self._deliveries:
            self._begin()
        try:
            checked = self._catalog.validate_json(data)
        except Exception:
            self.stats.rejected += 1
            raise
        return self._accept_event(checked)

    def _process_validated(self, checked: dict[str, Any]) -> list[Violation]:
        """:meth:`process` for an event already in the engine's validated form: what
        ``EventCatalog.validate`` returns (the table reader builds it from columns that
        decide every field; :mod:`commitrules.columnar._direct`). Not for other callers."""
        if self._journal.broken is not None or self._deliveries:
            self._begin()
        return self._accept_event(checked)

    @paced
    def process_many(self, events: Iterable[Mapping[str, Any] | Any]) -> list[Violation]:
        """Process events in order; the violations of all of them, in the order released.

        Atomic per event: when one fails, the events before it stay processed and the
        exception carries what they released (``violations``) and the failing event's
        place (``position``, from 0), so the caller can resume after it. A
        :class:`DeliveryError` carries the failing call's findings too.
        """
        found: list[Violation] = []
        validate = self._catalog.validate
        accept = self._accept_event
        position = 0
        try:
            for position, event in enumerate(events):  # noqa: B007 - read in the except
                if self._journal.broken is not None or self._deliveries:
                    self._begin()
                try:
                    checked = validate(event)
                except Exception:
                    self.stats.rejected += 1
                    raise
                released = accept(checked)
                if released:
                    found.extend(released)
        except CommitRulesError as error:
            if isinstance(error, DeliveryError):
                error.violations = [*found, *error.violations]
            else:
                error.violations = found  # type: ignore[attr-defined]
            error.position = position  # type: ignore[attr-defined]
            raise
        return found

    def advance_to(self, when: dt.datetime) -> list[Violation]:
        """Move event time forward; return what became final (deadlines due, periods closed).

        Time only moves forward: a moment before the watermark changes nothing.

        Raises:
            EngineConfigError: ``when`` is naive or outside the supported range of times.
        """
        if not isinstance(when, dt.datetime) or when.tzinfo is None or when.utcoffset() is None:
            msg = "advance_to needs an aware datetime (with an offset)"
            raise EngineConfigError(msg)
        problem = check_instant(when)
        if problem is not None:
            raise EngineConfigError(f"advance_to: {problem}")
        self._begin()
        when_us = to_us(when)
        if self._watermark_us is not None and when_us < self._watermark_us:
            released: list[Violation] = []
        else:
            before = self.stats.violations
            self._journal.attempt += 1
            try:
                released = self._apply_advance(when_us)
            except BaseException as error:  # noqa: BLE001 - rolled back, then raised again
                self._fail(error, None, before)
            self._journal.entries.append((None, when_us, None, None, None))
            self._store.evict_before(when_us - self._horizon)
            self._checkpoint_if_due()
        if self._carried:
            released = [*self._carried, *released]
            self._carried = []
        what: dict[str, Any] = {"advance_to": when.isoformat()}
        self._commit_deliveries(what, released)
        return released

    def flush(self) -> int:
        """Deliver what sinks did not take yet; the number delivered.

        Raises:
            DeliveryError: a sink still fails (what it did not take is kept).
        """
        before = len(self._deliveries)
        self._deliveries.deliver([], processed=False)
        return before

    # -- snapshots ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The engine's full state as JSON-ready data (see :mod:`commitrules.snapshot`).

        >>> import commitrules, json
        >>> engine = commitrules.Engine(commitrules.load_pack())
        >>> state = engine.snapshot()
        >>> state["format"], state["version"]
        ('commitrules.snapshot', 3)
        >>> text = json.dumps(state)
        >>> restored = commitrules.Engine.restore(commitrules.load_pack(), json.loads(text))
        """
        self._intact()
        from ._snapshot import snapshot  # noqa: PLC0415 - the snapshot seam

        return snapshot(self)

    @classmethod
    def restore(
        cls,
        pack: Pack,
        snapshot: Mapping[str, Any],
        *,
        backend: str = "native",
        evidence: EvidenceMode = "mask",
        pseudonym_key: bytes | None = None,
        waivers: Waivers | None = None,
        outcomes: Callable[[Outcome], None] | None = None,
        id_key: bytes | None = None,
        max_ahead: dt.timedelta | None = None,
        refuse_drops: bool = False,
    ) -> Engine:
        """An engine that resumes from a snapshot.

        Both backends write rule state in the same form, so a snapshot of a ``durable``
        engine restores into a ``native`` one and the other way round.

        Restored into the same pack, every rule resumes exactly. Into a changed pack
        (a new version, a changed parameter or calendar), the state of every unchanged
        rule is kept byte for byte; a changed rule whose kind, key and trigger are the
        same carries its open state over, recomputed under the new definition (a
        deadline gets its new due time, released at once if already past; a provisional
        one already released whose due time moves is withdrawn by a ``correction``);
        anything else starts fresh and is listed in :attr:`fresh_rules`, and
        :attr:`migration` says what happened to each rule and obligation
        (see :func:`commitrules.migration.plan_migration`). With ``refuse_drops`` a
        restore that would drop any state raises :class:`MigrationError` instead.

        Raises:
            SnapshotError: the snapshot is not one, is of an unknown version, or is
                malformed (checked completely before anything is restored).
            MigrationError: ``refuse_drops`` and some state would be dropped.
        """
        engine = cls(
            pack,
            backend=backend,
            evidence=evidence,
            pseudonym_key=pseudonym_key,
            waivers=waivers,
            outcomes=outcomes,
            id_key=id_key,
            max_ahead=max_ahead,
        )
        from ._snapshot import load  # noqa: PLC0415 - the snapshot seam

        load(engine, snapshot, refuse_drops=refuse_drops)
        engine._journal.reset(engine._capture())
        return engine

    # -- intake and commit ---------------------------------------------------------------
    def _accept_event(self, checked: dict[str, Any]) -> list[Violation]:
        store = self._store
        try:
            # Validated: always aware, so exact integer arithmetic without re-checking.
            at_us = to_us(checked["at"])
            event_id: str = checked["id"]
            key = self._digests.of_id(event_id)
            slot = store.find(key)
            if slot >= 0 and store.is_repeat(slot, checked, event_id, self._earlier):
                self.stats.duplicates += 1
                return []
            watermark = self._watermark_us
            if watermark is not None:
                if at_us < watermark:
                    raise late_error(event_id, checked["at"], watermark, self._lateness, self._tz)
                if at_us - watermark > self._max_ahead:
                    raise future_error(
                        event_id, checked["at"], watermark, self._max_ahead, self._tz
                    )
            kind = checked["type"]
            route = self._routes.get(kind)
            prepared: dict[int, Any] = _NOTHING
            if route is not None and route[0] is not None:
                services = self._services
                services.at_us = at_us
                if not services.params_from <= at_us < services.params_to:
                    services.set_time(at_us)
                prepared = {}
                for slot, function in route[0]:  # a loop: no comprehension's frame
                    try:
                        prepared[slot] = function(checked, at_us, services)
                    except _REJECTING:
                        raise
                    except Exception:  # noqa: BLE001, S112 - the rule reports it when it runs
                        continue
        except Exception:
            self.stats.rejected += 1
            raise
        return self._commit_event(checked, at_us, event_id, kind, route, prepared, key, checked)

    def _accept_values(self, values: tuple[Any, ...], kind: str) -> list[Violation] | None:
        """:meth:`_process_validated` for an event given as its validated values in its
        type's field order (id, type and time first), for the vectorised table path: of a
        type that no rule prepares or releases, and that the caller knows no rule reports
        on (every check on it decided quiet over columns). No dict is made.

        Returns None, with nothing changed, when the event is not plainly new and in time
        (a repeated id, late, too far ahead): the full path then decides it, from its dict.
        What it commits is what :meth:`_accept_event` commits for the event; the journal
        keeps its values (:data:`VALUES`), made a dict again only to replay or to name the
        fields of a conflict."""
        if self._journal.broken is not None or self._deliveries:
            self._begin()
        event_id: str = values[0]
        at_us = to_us(values[2])
        store = self._store
        key = self._digests.of_id(event_id)
        if store.find(key) >= 0:
            return None
        watermark = self._watermark_us
        if watermark is not None and (at_us < watermark or at_us - watermark > self._max_ahead):
            return None
        # No route: nothing reads the event itself (see above), only time moves.
        return self._commit_event(_NO_EVENT, at_us, event_id, kind, None, VALUES, key, values)

    def _commit_event(
        self,
        event: dict[str, Any],
        at_us: int,
        event_id: str,
        kind: str,
        route: tuple[Any, Any, Any] | None,
        prepared: dict[int, Any],
        key: int,
        kept: Any,
    ) -> list[Violation]:
        """Apply an accepted event (all or nothing), remember its id, commit: the journal
        keeps ``kept`` (the event, or its values when ``prepared`` is :data:`VALUES`)."""
        stats = self.stats
        journal = self._journal
        store = self._store
        before = stats.violations
        journal.attempt += 1
        try:
            if prepared is VALUES:
                out = self._apply_event(event, at_us, event_id, kind, route, _NOTHING)
                self._step = "store"
                body = self._digests.of_values(kept)
            else:
                out = self._apply_event(event, at_us, event_id, kind, route, prepared)
                self._step = "store"
                body = self._digests.of_body(kept)
            store.remember(key, at_us, body)
        except BaseException as error:  # noqa: BLE001 - rolled back, then raised again
            store.withdraw(key)
            self._fail(error, event_id, before)
        self._step = "release"
        if self._carried:
            out = [*self._carried, *out]
            self._carried = []
        stats.processed += 1
        journal.entries.append((kept, at_us, event_id, kind, prepared))
        since = self._since_forget = self._since_forget + 1
        if since >= 1024:
            self._forget()
        if self.observers or self._deliveries or self._call_outcomes:
            self._commit_deliveries({"event_id": event_id, "event_type": kind}, out)
        return out

    def _earlier(self, event_id: str) -> dict[str, Any] | None:
        """The committed event of an id while the journal still holds it (conflicts name
        the fields that differ from it), else None."""
        for entry in reversed(self._journal.entries):
            if entry[2] == event_id:
                if entry[4] is VALUES:
                    return self._digests.event_of(entry[3], entry[0])
                earlier: dict[str, Any] = entry[0]
                return earlier
        return None

    def _commit_deliveries(self, what: Mapping[str, Any], released: list[Violation]) -> None:
        deliveries = self._deliveries
        if self._call_outcomes:
            sink = self._outcomes
            assert sink is not None
            for outcome in self._call_outcomes:
                deliveries.add(sink, outcome)
            self._call_outcomes = []
        for observer in self.observers:
            deliveries.add(observer, what, released)
        if deliveries:
            deliveries.deliver(released, processed=True)

    # -- apply ---------------------------------------------------------------------------
    def _apply_event(
        self,
        checked: dict[str, Any],
        at_us: int,
        event_id: str,
        kind: str,
        route: tuple[Any, Any, Any] | None,
        prepared: dict[int, Any],
    ) -> list[Violation]:
        if not self._started:
            self._start(at_us if self._start_us is None else self._start_us)
        latest = self._latest_us
        if latest is None or at_us > latest:
            self._latest_us = latest = at_us
        watermark = latest - self._lateness
        before = self._watermark_us
        if before is not None and before > watermark:
            watermark = before
        self._watermark_us = watermark
        buffer = self._buffer
        timers = self._timers.heap
        if route is None and not (
            (buffer and buffer[0][0] <= watermark) or (timers and timers[0][0] <= watermark)
        ):
            # No rule reads this type and nothing is due: only the bookkeeping above.
            if watermark - self._last_sweep_us > _DAY_US:
                self._forget_router(watermark)
            return []
        out = self._out = []
        # First what the sorted stream does before this event: release earlier events and
        # fire the timers due by its time (never beyond the watermark).
        limit = at_us if at_us < watermark else watermark
        if (buffer and buffer[0][0] <= limit) or (timers and timers[0][0] <= limit):
            self._advance(limit)
        if route is not None:
            services = self._services
            services.at_us = at_us
            if not services.params_from <= at_us < services.params_to:
                services.set_time(at_us)
            accept = route[1]
            if accept is not None:
                self._step = "evaluation"
                self._accepting = True
                try:
                    if self.tracer is None:
                        for rule, handler in accept:
                            try:
                                handler(checked, at_us, services)
                            except Exception as error:  # noqa: BLE001 - the rule's own failure
                                self._rule_failed(rule, error, checked)
                    else:  # rule by rule, each traced
                        for rule, handler in self._accept[kind]:
                            self._traced(rule, handler, checked, at_us)
                finally:
                    self._accepting = False
                self._step = "release"
            release = route[2]
            if release is not None:
                if at_us <= watermark and not buffer and self.tracer is None:
                    # In order and nothing waiting: release it at once, no buffer round trip.
                    services.prepared_values = prepared
                    for rule, handler in release:
                        try:
                            handler(checked, at_us, services)
                        except Exception as error:  # noqa: BLE001 - the rule's own failure
                            self._rule_failed(rule, error, checked)
                    services.prepared_values = _NOTHING
                elif at_us <= watermark and not buffer:
                    self._release_one(checked, at_us, prepared)
                else:
                    self._timers.sequence += 1
                    heapq.heappush(buffer, (at_us, self._timers.sequence, checked, prepared))
        if (buffer and buffer[0][0] <= watermark) or (timers and timers[0][0] <= watermark):
            self._advance(watermark)
        if self._unrouted:
            self._route(out)
        if watermark - self._last_sweep_us > _DAY_US:
            # After this call's releases (a finding released now may lie far behind the
            # watermark and still need the counts of its window).
            self._forget_router(watermark)
        self._out = []
        if len(out) > 1:
            out.sort(key=release_order)
        return out

    def _apply_advance(self, when_us: int) -> list[Violation]:
        out = self._out = []
        self._watermark_us = when_us
        if not self._started and self._start_us is not None:
            self._start(self._start_us)
        if self._started:
            self._advance(when_us)
        if self._unrouted:
            self._route(out)
        self._forget_router(when_us)
        self._out = []
        if len(out) > 1:
            out.sort(key=release_order)
        return out

    def _judges(self, event_type: str) -> list[Any] | None:
        """What judges an event of a type when it is accepted (untraced), or None: pairs of
        (rule, handler). The native checks of the type run as one generated function (see
        ``fuse_checks``; it reports a failing check itself); anything else, its rules' own
        handlers in order."""
        pairs = self._accept.get(event_type)
        if not pairs:
            return None
        rules = [rule for rule, _ in pairs]
        if FUSE_CHECKS and all(type(rule) is CheckRule for rule in rules):
            return [(rules[0], fuse_checks(rules, event_type))]
        return list(pairs)

    def _start(self, first_us: int) -> None:
        self._started = True
        services = self._services
        for rule in self._starting:
            services.set_time(first_us)
            try:
                rule.start(first_us, services)
            except Exception as error:  # noqa: BLE001 - the rule's own failure
                self._rule_failed(rule, error, None)
        services.set_time(first_us)

    def _advance(self, watermark_us: int) -> None:
        buffer = self._buffer
        services = self._services
        while buffer and buffer[0][0] <= watermark_us:
            at_us, _, event, prepared = heapq.heappop(buffer)
            self._fire_timers(at_us)
            if _FINDING in event:
                services.set_time(at_us)
                self._count(event, at_us)
                continue
            self._release_one(event, at_us, prepared)
        self._fire_timers(watermark_us)

    def _release_one(self, event: dict[str, Any], at_us: int, prepared: dict[int, Any]) -> None:
        """Hand one event to the stateful rules (in event-time order)."""
        services = self._services
        services.set_time(at_us)
        services.prepared_values = prepared
        for rule, handler in self._release[event["type"]]:
            if self.tracer is not None:
                self._traced(rule, handler, event, at_us)
                continue
            try:
                handler(event, at_us, services)
            except Exception as error:  # noqa: BLE001 - the rule's own failure
                self._rule_failed(rule, error, event)
        services.prepared_values = _NOTHING

    def _fire_timers(self, until_us: int) -> None:
        timers = self._timers
        if timers.heap and timers.heap[0][0] <= until_us:
            timers.fire(until_us, self._rules, self._at, self._on_timer)

    def _at(self, at_us: int) -> None:
        services = self._services
        services.at_us = at_us
        if not services.params_from <= at_us < services.params_to:
            services.set_time(at_us)

    def _on_timer(self, rule: RuleRuntime, token: Any, fire_us: int) -> None:
        try:
            rule.on_timer(token, fire_us, self._services)
        except Exception as error:  # noqa: BLE001 - the rule's own failure
            self._rule_failed(rule, error, None)

    def _forget(self) -> None:
        """Evict what can no longer matter, so memory stays bounded on an endless stream.

        Runs after a commit: the duplicate store is not part of what a rollback replays,
        the router's counters are (they are swept inside the calls, once a day of event time).
        """
        self._since_forget = 0
        watermark = self._watermark_us
        if watermark is None:
            return
        self._store.evict_before(watermark - self._horizon)
        self._checkpoint_if_due()

    def _forget_router(self, watermark: int) -> None:
        """Once a day of event time: drop repeat counters and logged findings that can no
        longer matter (inside the calls: a rollback replays it)."""
        if watermark - self._last_sweep_us > _DAY_US:
            self._last_sweep_us = watermark
            self._router.forget_before(watermark)
            if self._derived is not None:
                self._derived.forget_before(watermark)


def _check_waivers(waivers: Waivers, pack: Pack) -> None:
    """Refuse waivers naming a rule or clause the pack does not have (they would excuse nothing)."""
    problems = []
    for waiver in waivers.items:
        reason = unknown_target(waiver.rule, waiver.clause, pack)
        if reason is not None:
            where = Location(file=waivers.source, key=f"waiver {waiver.id}")
            problems.append(Problem(where, reason))
    if problems:
        raise PackValidationError(problems, where="the waivers")
