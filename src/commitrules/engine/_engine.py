"""The engine: events in, routed violations out, in event time, deterministically.

One call of :meth:`Engine.process` (or ``process_json``, ``advance_to``) has three steps:

1. **intake** (:mod:`._intake`): the event is validated (one compiled validator per
   type), a repeated id is dropped or refused, an event older than the watermark or too
   far ahead of it is refused, and what could still reject it is prepared (deadline due
   times on a strict working-day calendar). Nothing has changed yet.
2. **apply**: the single-event checks run at once; stateful rules (precedence, deadline,
   threshold, periodic) receive events in event-time order from a reorder buffer as the
   watermark passes them, with timers (:mod:`._time`: due times, period ends) fired in
   between; every finding is routed and rendered (:mod:`._release`). A rule that fails at
   run time is skipped for that event and reported by the engine (an ``operational``
   finding); a failure of the engine's own steps rolls the whole call back
   (:mod:`._atomic`) and raises :class:`~commitrules.errors.ProcessingError`.
3. **commit**: the id is remembered, the call is journaled, and only then do the sinks
   (outcomes, observers, the decision log) receive what it released.

The violations released by one call come out ordered by (at, rule_id, kind rank, id).
"""

from __future__ import annotations

import datetime as dt
import heapq
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

import attrs

from ..errors import (
    CalendarError,
    CommitRulesError,
    DeliveryError,
    EngineConfigError,
    EventValidationError,
    Location,
    PackValidationError,
    Problem,
    ProcessingError,
)
from ..eventtime import from_us, to_us
from ..eventtime._instants import check_instant
from ..pack._load import Pack, PackRuntime
from ..rules import Finding, RuleRuntime
from ..rules.check import CheckRule, fuse_checks
from ..rules.operational import (
    EngineRule,
    horizon_alarm,
    longest_working_days,
    rule_error,
    rule_error_finding,
)
from ..violations import Message, Violation, release_order, violation_id
from ..waivers import Waivers, unknown_target
from ._atomic import EngineFault, Journal, no_collection
from ._derived import DerivedLog
from ._intake import Digests, DuplicateStore, future_error, late_error
from ._release import (
    Deliveries,
    EvidenceMode,
    Outcome,
    Protector,
    fallback_message,
    local_text,
    render,
)
from ._time import Timers

__all__ = ["Engine", "EngineStats", "EvidenceMode", "Outcome"]

_FINDING = "__finding__"
_ROUTE_LATER: tuple[str, ...] = ()
"""The route of a finding routed at the end of its call (identity-compared)."""
_DAY_US = 86_400_000_000
_PICKLE = pickle.HIGHEST_PROTOCOL
_NOTHING: dict[int, Any] = {}
#: Judge a type's checks with one generated function (tests compare both ways).
FUSE_CHECKS = True
Tracer = Callable[[RuleRuntime, Mapping[str, Any], tuple[Violation, ...], Any], None]
_REJECTING = (CalendarError, EventValidationError)
"""Errors of a rule's prepare step that reject the event (a strict calendar's gap, a
negative count in a field); any other failure is the rule's own, reported when it runs."""


@attrs.define
class EngineStats:
    """Counts of what the engine was given."""

    processed: int = 0
    duplicates: int = 0
    rejected: int = 0
    violations: int = 0


class _Services:
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

    def __init__(self, engine: Engine, runtime: PackRuntime, pack: Pack, timers: Timers) -> None:
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


class Engine:
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

    # Slotted: attribute reads on the hot path are slot reads (with 50-odd attributes an
    # instance dict no longer shares its keys, and every read costs a hash lookup). The
    # '__dict__' slot keeps what engines always allowed: an application's own attributes.
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_accept",
        "_accepting",
        "_buffer",
        "_by_id",
        "_call_outcomes",
        "_carried",
        "_catalog",
        "_counting",
        "_deliveries",
        "_derived",
        "_digests",
        "_failure_source",
        "_horizon",
        "_id_key",
        "_journal",
        "_last_sweep_us",
        "_lateness",
        "_latest_us",
        "_max_ahead",
        "_migrating",
        "_out",
        "_outcomes",
        "_prepare",
        "_protect",
        "_ref",
        "_release",
        "_router",
        "_routes",
        "_rules",
        "_runtime",
        "_services",
        "_since_forget",
        "_start_us",
        "_started",
        "_starting",
        "_step",
        "_store",
        "_timers",
        "_tz",
        "_unrouted",
        "_waivers",
        "_watermark_us",
        "backend",
        "dropped_rules",
        "evidence_mode",
        "fresh_rules",
        "migration",
        "observers",
        "pack",
        "stats",
        "tracer",
    )

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
        self.evidence_mode: EvidenceMode = evidence
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
            longest_working_days(
                pack.rules, {name: [v for _, v in p.values] for name, p in pack.parameters.items()}
            ),
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
        self._services = _Services(self, runtime, pack, self._timers)
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
        self._failure_source: EngineRule = rule_error(pack.operations_role)
        self._accept: dict[str, list[Any]] = {}
        self._release: dict[str, list[Any]] = {}
        self._prepare: dict[str, list[tuple[RuleRuntime, Any]]] = {}
        for rule in rules:
            for event_type, handler in rule.on_accept.items():
                self._accept.setdefault(event_type, []).append((rule, handler))
            for event_type, handler in rule.on_release.items():
                self._release.setdefault(event_type, []).append((rule, handler))
            for event_type, function in rule.prepare.items():
                self._prepare.setdefault(event_type, []).append((rule, function))
        # One lookup per event: type -> (prepare, accept, release), each None when empty.
        self._routes: dict[str, tuple[Any, Any, Any]] = {
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
        self._migrating: list[tuple[Finding, Violation]] | None = None
        #: Findings of the current call still to route: (place in the call's output, finding).
        self._unrouted: list[tuple[int, Finding]] = []
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
        self._latest_us: int | None = None
        self._watermark_us: int | None = None
        self._started = False
        self._buffer: list[tuple[int, int, dict[str, Any], dict[int, Any]]] = []
        self._out: list[Violation] = []
        self._last_sweep_us = 0
        self._since_forget = 0
        self._step = "release"
        self._call_outcomes: list[Outcome] = []
        #: Findings a restore into a changed pack released (corrections, deadlines now
        #: past due); the next call returns them first.
        self._carried: list[Violation] = []
        self._deliveries = Deliveries()
        self._journal = Journal()
        self.stats = EngineStats()
        self.observers: list[Callable[[Mapping[str, Any], list[Violation]], None]] = []
        """Called after each committed event and clock move: (what, released)."""
        self.tracer: Tracer | None = None
        """Called after each rule handles an event (rule, event, violations, services)."""
        self.fresh_rules: tuple[str, ...] = ()
        """Rules that started fresh when this engine was restored (new, or changed in a way
        their state cannot be carried over)."""
        self.dropped_rules: tuple[str, ...] = ()
        """Rules of the snapshot that the pack no longer has."""
        self.migration: Any = None
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
    def _begin(self) -> None:
        """Before a call: the state is whole, and sinks have taken what they were owed."""
        self._intact()
        if self._deliveries:
            self._deliveries.deliver([], processed=False)

    def _intact(self) -> None:
        if self._journal.broken is not None:
            self._recover()

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
        # Accepted: apply it (all or nothing), then commit.
        stats = self.stats
        journal = self._journal
        before = stats.violations
        journal.attempt += 1
        try:
            out = self._apply_event(checked, at_us, event_id, kind, route, prepared)
            self._step = "store"
            store.remember(key, at_us, self._digests.of_body(checked))
        except BaseException as error:  # noqa: BLE001 - rolled back, then raised again
            store.withdraw(key)
            self._fail(error, event_id, before)
        self._step = "release"
        if self._carried:
            out = [*self._carried, *out]
            self._carried = []
        stats.processed += 1
        journal.entries.append((checked, at_us, event_id, kind, prepared))
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
                earlier: dict[str, Any] = entry[0]
                return earlier
        return None

    def _fail(self, error: BaseException, event_id: str | None, violations: int) -> NoReturn:
        """A call failed in its apply step: roll back to the last commit, then raise."""
        self._out = []
        self._call_outcomes = []
        self._unrouted = []
        self._accepting = False
        self.stats.violations = violations
        step = error.step if isinstance(error, EngineFault) else self._step
        cause = error.error if isinstance(error, EngineFault) else error
        self._journal.broken = cause
        self._recover()
        if not isinstance(cause, Exception):
            raise cause from None  # KeyboardInterrupt and the like, after the rollback
        what = f"event {event_id}" if event_id is not None else "advance_to"
        msg = (
            f"{what} failed at step {step!r}: {type(cause).__name__}: {cause}; nothing was "
            "applied (the engine's state is as before the call; the same input can be sent "
            "again)"
        )
        raise ProcessingError(msg, step=step, event_id=event_id) from cause

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

    # -- release -------------------------------------------------------------------------
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

    # -- atomicity: checkpoint and replay ------------------------------------------------
    def _capture(self) -> tuple[Any, ...]:
        """Everything a call can change except the duplicate store, copied.

        The rules' and router's states are copied with pickle (three times faster than the
        snapshot's encoding); the copy never leaves this process and is read back only by
        :meth:`_reinstate`.
        """
        return (
            [pickle.dumps(rule.state(), _PICKLE) for rule in self._rules],
            self._timers.pending(),
            self._timers.sequence,
            sorted(self._buffer, key=lambda item: item[:2]),
            pickle.dumps(self._router.state(), _PICKLE),
            (self._latest_us, self._watermark_us, self._started, self._last_sweep_us),
            list(self._derived.entries) if self._derived is not None else None,
        )

    def _reinstate(self, captured: tuple[Any, ...]) -> None:
        states, timers, sequence, buffer, router, clock, derived = captured
        for rule, state in zip(self._rules, states, strict=True):
            rule.restore(pickle.loads(state))  # noqa: S301 - our own copy (see _capture)
        self._timers.load(timers, sequence)
        self._buffer = list(buffer)
        heapq.heapify(self._buffer)
        self._router.restore(pickle.loads(router))  # noqa: S301 - our own copy
        self._latest_us, self._watermark_us, self._started, self._last_sweep_us = clock
        if self._derived is not None:
            self._derived.entries = deque(derived)

    def _checkpoint_if_due(self) -> None:
        journal = self._journal
        if len(journal.entries) >= journal.interval:
            with no_collection():  # many objects made at once, none of them garbage
                journal.reset(self._capture())

    def _recover(self) -> None:
        """Back to the last committed state: the checkpoint, then every call since, again."""
        journal = self._journal
        assert journal.checkpoint is not None
        stats = attrs.evolve(self.stats)
        tracer, self.tracer = self.tracer, None
        journal.replaying = True
        try:
            self._reinstate(journal.checkpoint)
            for checked, at_us, event_id, kind, prepared in journal.entries:
                if checked is None:
                    self._apply_advance(at_us)
                else:
                    self._apply_event(
                        checked, at_us, event_id, kind, self._routes.get(kind), prepared
                    )
        except BaseException as error:
            # Still failing (a fault that has not gone): the committed state is still the
            # checkpoint plus the journal; the next call tries again.
            journal.broken = error
            msg = (
                f"the engine could not restore its state after a failure ({type(error).__name__}:"
                f" {error}); nothing is lost: it tries again on the next call"
            )
            raise ProcessingError(msg, step="recovery") from error
        finally:
            journal.replaying = False
            self.tracer = tracer
            self.stats = stats
            self._out = []
            self._call_outcomes = []
            self._unrouted = []
            self._step = "release"
        journal.broken = None
        self._checkpoint_if_due()


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
