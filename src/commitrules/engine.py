"""The engine: events in, routed violations out, in event time, deterministically.

One event's path: :meth:`Engine.process` validates it (one compiled validator per type),
drops a repeated id, rejects an event older than the watermark, prepares what could still
fail (deadline due times on the working-day calendar) so that a rejected event changes
nothing, then runs the single-event checks at once. Stateful rules (precedence, deadline,
threshold, periodic) receive events in event-time order from a reorder buffer as the
watermark passes them, with timers (due times, period ends) fired in between. Every
finding is routed and returned as a :class:`~commitrules.Violation`; those released by one
call come out ordered by (at, rule_id, id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import hmac
import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import attrs

from . import snapshot as snapshots
from .errors import (
    EventConflictError,
    LateEventError,
    Location,
    PackValidationError,
    Problem,
    SnapshotError,
)
from .eventtime import from_us, to_us
from .pack._load import Pack, PackRuntime
from .rules import Finding, RuleRuntime
from .rules._base import TimerQueue
from .rules.check import CheckRule, fuse_checks
from .violations import Message, Violation, violation_id
from .waivers import Waivers, unknown_target

__all__ = ["Engine", "EngineStats", "EvidenceMode", "Outcome"]

_log = logging.getLogger(__name__)

EvidenceMode = Literal["mask", "pseudonymize", "include"]
_FINDING = "__finding__"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_NOTHING: dict[int, Any] = {}
_QUEUED: Any = object()  # a heap entry standing for the head of a rule's timer queue
#: Judge a type's checks with one generated function (tests compare both ways).
FUSE_CHECKS = True
Tracer = Callable[[RuleRuntime, Mapping[str, Any], tuple[Violation, ...], Any], None]
MASK = "***"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


@attrs.define
class EngineStats:
    """Counts of what the engine was given."""

    processed: int = 0
    duplicates: int = 0
    rejected: int = 0
    violations: int = 0


@attrs.frozen
class Outcome:
    """The result of one rule for one subject: compliant, violated, pending or excused.

    Delivered to an opt-in sink (``Engine(pack, outcomes=callable)``); the engine keeps
    none of them. Violations remain the stream that routing consumes.
    """

    rule_id: str
    clause_id: str
    status: str  # compliant | violated | pending | excused | insufficient_sample | escalation
    subject: Mapping[str, Any]
    at: dt.datetime
    event_ids: tuple[str, ...]
    pack: Any
    violation_id: str | None = None
    waiver: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "rule_id": self.rule_id,
            "clause_id": self.clause_id,
            "status": self.status,
            "subject": {k: _text(v) for k, v in self.subject.items()},
            "at": self.at.isoformat(),
            "event_ids": list(self.event_ids),
            "violation_id": self.violation_id,
            "waiver": self.waiver,
            "pack": self.pack.to_dict(),
        }


def _text(value: Any) -> Any:
    return value if isinstance(value, str | int | bool) or value is None else str(value)


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
        "tables",
        "timeline",
        "tracking",
        "tz",
    )

    def __init__(self, engine: Engine, runtime: PackRuntime, pack: Pack) -> None:
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

    def outcome(
        self,
        rule: RuleRuntime,
        status: str,
        subject: Mapping[str, Any],
        at: dt.datetime,
        event_ids: tuple[str, ...],
    ) -> None:
        self.engine._outcome(rule, status, subject, at, event_ids, None, None)

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

    def schedule(self, fire_us: int, rule: RuleRuntime, token: Any) -> None:
        # Timers fire in (time, sequence) order. Most rules schedule them in time order
        # (a deadline opened later falls due later), so each rule keeps its own queue and
        # only the queue's head waits on the engine's heap: appending to a queue is cheaper
        # than a push into one large heap, and the heap stays as small as the rule count.
        # A timer earlier than its rule's last one goes onto the heap directly.
        engine = self.engine
        engine._sequence += 1
        sequence = engine._sequence
        index = engine._rule_index[rule]
        queue = engine._queues[index]
        fires = queue.fires
        if not fires:
            fires.append(fire_us)
            queue.seqs.append(sequence)
            queue.tokens.append(token)
            heapq.heappush(engine._timers, (fire_us, sequence, index, _QUEUED))
        elif fire_us >= fires[-1]:
            fires.append(fire_us)
            queue.seqs.append(sequence)
            queue.tokens.append(token)
        else:
            heapq.heappush(engine._timers, (fire_us, sequence, index, token))

    def prepared(self, rule: RuleRuntime) -> Any:
        return self.prepared_values.get(id(rule))

    def finding_id(self, finding: Finding) -> str:
        return _finding_id(finding)


def _finding_id(finding: Finding) -> str:
    return violation_id(
        finding.rule.rule_id,
        finding.kind,
        finding.subject,
        finding.event_ids,
        finding.moment_us if finding.moment_us is not None else finding.due_us,
    )


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

    An engine is not safe to share between threads; give each worker its own.
    """

    def __init__(
        self,
        pack: Pack,
        *,
        backend: str = "native",
        evidence: EvidenceMode = "mask",
        pseudonym_key: bytes | None = None,
        waivers: Waivers | None = None,
        outcomes: Callable[[Outcome], None] | None = None,
    ) -> None:
        if backend not in ("native", "durable"):
            msg = f"unknown backend {backend!r}: choose 'native' or 'durable'"
            raise ValueError(msg)
        if evidence == "pseudonymize" and not pseudonym_key:
            msg = "evidence='pseudonymize' needs a secret pseudonym_key"
            raise ValueError(msg)
        self.pack = pack
        if waivers is not None:
            _check_waivers(waivers, pack)
        self._waivers = waivers if waivers is not None and waivers.items else None
        self.evidence_mode: EvidenceMode = evidence
        self._key = pseudonym_key or b""
        if backend == "durable":
            from .backends import durable  # noqa: PLC0415 - an optional extra

            runtime = durable.build(pack)
        else:
            runtime = pack.build()
        self.backend = backend
        self._runtime = runtime
        self._rules = runtime.rules
        self._router = runtime.router
        self._services = _Services(self, runtime, pack)
        self._outcomes = outcomes
        self._services.tracking = outcomes is not None
        self._catalog = pack.catalog
        self._ref = pack.ref
        self._tz = pack.tz
        self._personal = pack.personal_fields
        self._lateness = pack.allowed_lateness_us
        self._horizon = pack.duplicate_horizon_us
        self._accept: dict[str, list[Any]] = {}
        self._release: dict[str, list[Any]] = {}
        self._prepare: dict[str, list[tuple[RuleRuntime, Any]]] = {}
        for rule in self._rules:
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
        self._counting = [rule for rule in self._rules if rule.counts_findings]
        self._periodic = [rule for rule in self._rules if rule.kind.startswith("periodic")]
        self._rule_index = {rule: index for index, rule in enumerate(self._rules)}
        self._by_id = {rule.rule_id: rule for rule in self._rules}
        self._accepting = False
        # State.
        # id -> the event, or (at µs, its digest) once restored from a snapshot
        self._seen: dict[str, Any] = {}
        # Arrival order of the remembered ids and their times, as two deques of plain
        # values (no tuple per event for the garbage collector to count).
        self._seen_at: deque[int] = deque()
        self._seen_ids: deque[str] = deque()
        self._latest_us: int | None = None
        self._watermark_us: int | None = None
        self._started = False
        self._buffer: list[tuple[int, int, dict[str, Any], dict[int, Any]]] = []
        # Timers: a heap of (fire µs, sequence, rule index, token); a token _QUEUED stands
        # for the head of that rule's TimerQueue (see schedule).
        self._timers: list[tuple[int, int, int, Any]] = []
        self._queues: list[TimerQueue] = [TimerQueue() for _ in self._rules]
        self._sequence = 0
        self._out: list[Violation] = []
        self._last_sweep_us = 0
        self._since_forget = 0
        self.stats = EngineStats()
        self.observers: list[Callable[[Mapping[str, Any], list[Violation]], None]] = []
        """Called after each accepted event and each clock move: (what, released)."""
        self.tracer: Tracer | None = None
        """Called after each rule handles an event (rule, event, violations, services)."""
        self.fresh_rules: tuple[str, ...] = ()
        """Rules that started fresh when this engine was restored (new or changed)."""
        self.dropped_rules: tuple[str, ...] = ()
        """Rules of the snapshot that the pack no longer has."""

    # -- the public contract ---------------------------------------------------------------
    @property
    def watermark(self) -> dt.datetime | None:
        """The latest event time seen minus the allowed lateness (or where time was advanced)."""
        return None if self._watermark_us is None else from_us(self._watermark_us, self._tz)

    def process(self, event: Mapping[str, Any] | Any) -> list[Violation]:
        """Judge one event (a dict or an event model); return the violations that became final.

        Raises:
            EventValidationError: a field is missing or wrong (the state is unchanged).
            EventConflictError: the id was seen before with a different payload.
            LateEventError: the event is older than the watermark.
            CalendarError: a deadline falls in a year the working-day calendar does not know.
        """
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
        try:
            checked = self._catalog.validate_json(data)
        except Exception:
            self.stats.rejected += 1
            raise
        return self._accept_event(checked)

    def _accept_event(self, checked: dict[str, Any]) -> list[Violation]:
        try:
            # Validated: always aware, so exact integer arithmetic without re-checking.
            at_us = to_us(checked["at"])
            event_id: str = checked["id"]
            seen = self._seen.get(event_id)
            if seen is not None:
                if seen == checked or (
                    type(seen) is tuple and seen[1] == snapshots.digest(checked)
                ):
                    self.stats.duplicates += 1
                    return []
                raise EventConflictError(_conflict(seen, checked), Location(event_id=event_id))
            if self._watermark_us is not None and at_us < self._watermark_us:
                late_by = dt.timedelta(microseconds=self._watermark_us - at_us)
                msg = (
                    f"event time {checked['at'].isoformat()} is {late_by} before the watermark "
                    f"{self.watermark.isoformat() if self.watermark else ''} (allowed lateness "
                    f"{dt.timedelta(microseconds=self._lateness)}); it can no longer be judged"
                )
                raise LateEventError(msg, Location(event_id=event_id))
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
                    prepared[slot] = function(checked, at_us, services)
        except Exception:
            self.stats.rejected += 1
            raise
        # From here on the event is accepted: nothing below can reject it.
        # The event itself is kept for the duplicate check: a dict of plain values, which
        # the garbage collector does not track (a tuple around it would be).
        self._seen[event_id] = checked
        self._seen_at.append(at_us)
        self._seen_ids.append(event_id)
        self.stats.processed += 1
        if not self._started:
            self._start(at_us)
        if self._latest_us is None or at_us > self._latest_us:
            self._latest_us = at_us
        watermark = self._latest_us - self._lateness
        if self._watermark_us is not None and self._watermark_us > watermark:
            watermark = self._watermark_us
        self._watermark_us = watermark
        buffer = self._buffer
        timers = self._timers
        if route is None and not (
            (buffer and buffer[0][0] <= watermark) or (timers and timers[0][0] <= watermark)
        ):
            # No rule reads this type and nothing is due: only the bookkeeping above.
            self._since_forget += 1
            if self._since_forget >= 1024:
                self._forget()
            if self.observers:
                self._observe(event_id, kind, [])
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
                self._accepting = True
                try:
                    if self.tracer is None:
                        for handler in accept:
                            handler(checked, at_us, services)
                    else:  # rule by rule, each traced
                        for rule, handler in self._accept[kind]:
                            self._traced(rule, handler, checked, at_us)
                finally:
                    self._accepting = False
            release = route[2]
            if release is not None:
                if at_us <= watermark and not buffer and self.tracer is None:
                    # In order and nothing waiting: release it at once, no buffer round trip.
                    services.prepared_values = prepared
                    for _rule, handler in release:
                        handler(checked, at_us, services)
                    services.prepared_values = _NOTHING
                elif at_us <= watermark and not buffer:
                    self._release_one(checked, at_us, prepared)
                else:
                    self._sequence += 1
                    heapq.heappush(buffer, (at_us, self._sequence, checked, prepared))
        if (buffer and buffer[0][0] <= watermark) or (timers and timers[0][0] <= watermark):
            self._advance(watermark)
        self._since_forget += 1
        if self._since_forget >= 1024:
            self._forget()
        if len(out) > 1:
            out.sort(key=_release_order)
        if self.observers:
            self._observe(event_id, kind, out)
        return out

    def _observe(self, event_id: str, kind: str, released: list[Violation]) -> None:
        for observer in self.observers:
            observer({"event_id": event_id, "event_type": kind}, released)

    def process_many(self, events: Iterable[Mapping[str, Any] | Any]) -> list[Violation]:
        """Process events in order; the violations of all of them, in the order released."""
        found: list[Violation] = []
        validate = self._catalog.validate
        accept = self._accept_event
        for event in events:
            try:
                checked = validate(event)
            except Exception:
                self.stats.rejected += 1
                raise
            released = accept(checked)
            if released:
                found.extend(released)
        return found

    def advance_to(self, when: dt.datetime) -> list[Violation]:
        """Move event time forward; return what became final (deadlines due, periods closed).

        Time only moves forward: a moment before the watermark changes nothing.
        """
        if when.tzinfo is None or when.utcoffset() is None:
            msg = "advance_to needs an aware datetime (with an offset)"
            raise ValueError(msg)
        when_us = to_us(when)
        out = self._out = []
        if self._watermark_us is None or when_us > self._watermark_us:
            self._watermark_us = when_us
            if self._started:
                self._advance(when_us)
            self._forget()
        released = self._finish(out)
        for observer in self.observers:
            observer({"advance_to": when.isoformat()}, released)
        return released

    # -- snapshots ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The engine's full state as JSON-ready data (see :mod:`commitrules.snapshot`).

        >>> import commitrules, json
        >>> engine = commitrules.Engine(commitrules.load_pack())
        >>> state = engine.snapshot()
        >>> state["format"], state["version"]
        ('commitrules.snapshot', 1)
        >>> text = json.dumps(state)
        >>> restored = commitrules.Engine.restore(commitrules.load_pack(), json.loads(text))
        """
        rules = self._rules
        by_index = {index: rule.rule_id for index, rule in enumerate(rules)}
        by_object = {id(rule): rule.rule_id for rule in rules}
        return {
            "format": snapshots.FORMAT,
            "version": snapshots.VERSION,
            "pack": self._ref.to_dict(),
            "clock": {
                "started": self._started,
                "latest_us": self._latest_us,
                "watermark_us": self._watermark_us,
                "sequence": self._sequence,
                "swept_us": self._last_sweep_us,
            },
            "stats": attrs.asdict(self.stats),
            "seen": [[event_id, *_seen_entry(value)] for event_id, value in self._seen.items()],
            "seen_order": [
                [at_us, event_id]
                for at_us, event_id in zip(self._seen_at, self._seen_ids, strict=True)
            ],
            "buffer": [
                [
                    at_us,
                    seq,
                    snapshots.encode(event),
                    {by_object[key]: snapshots.encode(value) for key, value in prepared.items()},
                ]
                for at_us, seq, event, prepared in sorted(self._buffer, key=lambda item: item[:2])
            ],
            "timers": [
                [
                    fire_us,
                    seq,
                    by_index[index],
                    snapshots.encode(rules[index].timer_json(fire_us, token)),
                ]
                for fire_us, seq, index, token in self._pending_timers()
            ],
            "rules": {
                rule.rule_id: {
                    "kind": rule.kind,
                    "fingerprint": rule.fingerprint,
                    "state": snapshots.encode(rule.state()),
                }
                for rule in rules
            },
            "router": snapshots.encode(self._router.state()),
        }

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
    ) -> Engine:
        """An engine that resumes from a snapshot.

        Both backends write rule state in the same form, so a snapshot of a ``durable``
        engine restores into a ``native`` one and the other way round.

        The state of every rule whose fingerprint is unchanged in ``pack`` is kept; rules
        that are new or changed start fresh and are listed in :attr:`fresh_rules` (a new
        parameter for one rule does not drop the other rules' pending deadlines).

        Raises:
            SnapshotError: the snapshot is not one, or is of an unknown version.
        """
        engine = cls(
            pack,
            backend=backend,
            evidence=evidence,
            pseudonym_key=pseudonym_key,
            waivers=waivers,
        )
        try:
            engine._load(snapshot)
        except SnapshotError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as error:
            msg = f"the snapshot is malformed: {type(error).__name__}: {error}"
            raise SnapshotError(msg) from None
        if engine.fresh_rules or engine.dropped_rules:
            _log.warning(
                "restore into pack %s %s: state dropped; rules that start fresh (new or "
                "changed): %s; rules of the snapshot not in the pack: %s",
                pack.id,
                pack.version,
                ", ".join(engine.fresh_rules) or "none",
                ", ".join(engine.dropped_rules) or "none",
            )
        return engine

    def _load(self, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping) or data.get("format") != snapshots.FORMAT:
            msg = "not a commitrules snapshot (no 'format': 'commitrules.snapshot')"
            raise SnapshotError(msg)
        if data.get("version") != snapshots.VERSION:
            version = data.get("version")
            msg = f"snapshot version {version!r} is not supported (this is {snapshots.VERSION})"
            raise SnapshotError(msg)
        clock = data["clock"]
        self._started = bool(clock["started"])
        self._latest_us = clock["latest_us"]
        self._watermark_us = clock["watermark_us"]
        self._sequence = int(clock["sequence"])
        self._last_sweep_us = int(clock["swept_us"])
        self.stats = EngineStats(**{k: int(v) for k, v in data["stats"].items()})
        self._seen = {str(eid): (int(at_us), str(value)) for eid, at_us, value in data["seen"]}
        self._seen_at = deque(int(at_us) for at_us, _ in data["seen_order"])
        self._seen_ids = deque(str(eid) for _, eid in data["seen_order"])
        by_id = {rule.rule_id: rule for rule in self._rules}
        kept: set[str] = set()
        fresh: list[str] = []
        saved = data["rules"]
        for rule in self._rules:
            entry = saved.get(rule.rule_id)
            if (
                entry is None
                or entry["fingerprint"] != rule.fingerprint
                or entry["kind"] != rule.kind
            ):
                fresh.append(rule.rule_id)
                continue
            rule.restore(snapshots.decode(entry["state"]))
            kept.add(rule.rule_id)
        self.fresh_rules = tuple(fresh)
        self.dropped_rules = tuple(sorted(set(saved) - set(by_id)))
        self._buffer = []
        for at_us, seq, event, prepared in data["buffer"]:
            values = {
                id(by_id[name]): snapshots.decode(value)
                for name, value in prepared.items()
                if name in kept
            }
            self._buffer.append((int(at_us), int(seq), snapshots.decode(event), values))
        heapq.heapify(self._buffer)
        index = {rule.rule_id: position for position, rule in enumerate(self._rules)}
        self._timers = [
            (int(fire_us), int(seq), index[name], snapshots.decode(token))
            for fire_us, seq, name, token in data["timers"]
            if name in kept
        ]
        heapq.heapify(self._timers)
        self._queues = [TimerQueue() for _ in self._rules]
        self._router.restore(snapshots.decode(data["router"]))
        if self._started and fresh and self._watermark_us is not None:
            # New periodic rules begin with the current period.
            services = self._services
            for rule in self._rules:
                if rule.rule_id in fresh:
                    services.set_time(self._watermark_us)
                    rule.start(self._watermark_us, services)

    # -- inside ------------------------------------------------------------------------------
    def _judges(self, event_type: str) -> list[Any] | None:
        """What judges an event of a type when it is accepted (untraced), or None.

        The native checks of the type as one generated function (see ``fuse_checks``);
        anything else, its rules' own handlers in order.
        """
        pairs = self._accept.get(event_type)
        if not pairs:
            return None
        rules = [rule for rule, _ in pairs]
        if FUSE_CHECKS and all(type(rule) is CheckRule for rule in rules):
            return [fuse_checks(rules, event_type)]
        return [handler for _, handler in pairs]

    def _pending_timers(self) -> list[tuple[int, int, int, Any]]:
        """Every timer not yet fired, heap and queues alike, in firing order."""
        timers = [entry for entry in self._timers if entry[3] is not _QUEUED]
        for index, queue in enumerate(self._queues):
            timers.extend(
                (fire_us, seq, index, token)
                for fire_us, seq, token in zip(queue.fires, queue.seqs, queue.tokens, strict=True)
            )
        timers.sort(key=lambda item: item[:2])
        return timers

    def _start(self, first_us: int) -> None:
        self._started = True
        services = self._services
        for rule in self._periodic:
            services.set_time(first_us)
            rule.start(first_us, services)
        services.set_time(first_us)

    def _advance_if_due(self, limit_us: int) -> None:
        buffer = self._buffer
        timers = self._timers
        if (buffer and buffer[0][0] <= limit_us) or (timers and timers[0][0] <= limit_us):
            self._advance(limit_us)

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
            else:
                handler(event, at_us, services)
        services.prepared_values = _NOTHING

    def _fire_timers(self, until_us: int) -> None:
        timers = self._timers
        services = self._services
        rules = self._rules
        heappop = heapq.heappop
        heappush = heapq.heappush
        queues = self._queues
        while timers and timers[0][0] <= until_us:
            fire_us, sequence, index, token = heappop(timers)
            if token is _QUEUED:
                queue = queues[index]
                fires = queue.fires
                seqs = queue.seqs
                drop = rules[index].drop_spent_timers
                if drop is not None:
                    # Timers due by now that would do nothing (most deadlines are met)
                    # go at once, without a trip through the heap each.
                    drop(queue, until_us)
                    if not fires:
                        continue
                    if seqs[0] != sequence:  # the head was dropped: queue the new one
                        heappush(timers, (fires[0], seqs[0], index, _QUEUED))
                        continue
                token = queue.popleft()
                if fires:
                    heappush(timers, (fires[0], seqs[0], index, _QUEUED))
            services.at_us = fire_us
            if not services.params_from <= fire_us < services.params_to:
                services.set_time(fire_us)
            rules[index].on_timer(token, fire_us, services)

    def _forget(self) -> None:
        """Evict what can no longer matter, so memory stays bounded on an endless stream."""
        self._since_forget = 0
        watermark = self._watermark_us
        if watermark is None:
            return
        cutoff = watermark - self._horizon
        times = self._seen_at
        ids = self._seen_ids
        seen = self._seen
        # Every remembered id has exactly one entry in the order (an id is added only when
        # it is new), so the entry's time is the event's.
        while times and times[0] < cutoff:
            times.popleft()
            seen.pop(ids.popleft(), None)
        if watermark - self._last_sweep_us > 86_400_000_000:
            self._last_sweep_us = watermark
            self._router.forget_before(watermark)

    def _emit(self, finding: Finding) -> None:
        rule = finding.rule
        severity = finding.severity or rule.severity
        zh, en = finding.message or rule.message
        evidence = {key: self._protect(key, value) for key, value in finding.evidence.items()}
        subject = {key: self._protect(key, value) for key, value in finding.subject.items()}
        scope = {key: self._protect(key, value) for key, value in finding.scope.items()}
        values: dict[str, Any] = {
            key: self._protect(key, value) for key, value in finding.context.items()
        }
        values.update(scope)
        values.update(subject)
        values.update(evidence)
        values["rule_id"] = rule.rule_id
        values["clause_id"] = rule.clause_id
        if finding.due_us is not None:
            values["due_at"] = _local_text(from_us(finding.due_us, self._tz))
        values["at"] = _local_text(finding.at.astimezone(self._tz))
        kind = finding.kind
        waiver = None
        if self._waivers is not None and kind != "insufficient_sample":
            raw = {**finding.context, **finding.scope, **finding.subject}
            waiver = self._waivers.find(rule.rule_id, rule.clause_id, finding.at_us, raw)
        if waiver is not None:
            kind = "excused"
            evidence["waiver_approver"] = waiver.approver
            evidence["waiver_expires"] = waiver.expires.isoformat()
        violation = Violation(
            id=_finding_id(finding),
            rule_id=rule.rule_id,
            clause_id=rule.clause_id,
            severity=severity,
            role=rule.role,
            # An excused finding informs the responsible role only and feeds no escalation.
            route=(rule.role,) if waiver is not None else self._router.route(finding),
            event_ids=finding.event_ids,
            subject=subject,
            at=finding.at,
            due_at=from_us(finding.due_us, self._tz) if finding.due_us is not None else None,
            message=Message(zh=_render(zh, values), en=_render(en, values)),
            evidence=evidence,
            pack=self._ref,
            kind=kind,
            refers_to=finding.refers_to,
            scope=scope,
            waiver=waiver.id if waiver is not None else None,
        )
        self._out.append(violation)
        self.stats.violations += 1
        if self._outcomes is not None:
            status = "violated" if kind == "violation" else kind
            self._outcome(
                rule,
                status,
                finding.subject,
                finding.at,
                finding.event_ids,
                violation.id,
                violation.waiver,
            )
        if not self._counting or waiver is not None:
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
            self._sequence += 1
            heapq.heappush(self._buffer, (finding.at_us, self._sequence, record, {}))
            return
        for counting in self._counting:
            counting.on_finding(finding, self._services)

    def _traced(self, rule: RuleRuntime, handler: Any, event: dict[str, Any], at_us: int) -> None:
        before = len(self._out)
        handler(event, at_us, self._services)
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
    ) -> None:
        if self._outcomes is None:
            return
        self._outcomes(
            Outcome(
                rule_id=rule.rule_id,
                clause_id=rule.clause_id,
                status=status,
                subject={k: self._protect(k, v) for k, v in subject.items()},
                at=at,
                event_ids=event_ids,
                pack=self._ref,
                violation_id=violation_id,
                waiver=waiver,
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
            counting.on_finding(finding, self._services)

    def _protect(self, key: str, value: Any) -> Any:
        name = key.rsplit(".", 1)[-1]
        if value is None or name not in self._personal or self.evidence_mode == "include":
            return value
        if self.evidence_mode == "mask":
            return MASK
        digest = hmac.new(self._key, str(value).encode(), hashlib.sha256).hexdigest()
        return "anon-" + digest[:16]

    def _finish(self, out: list[Violation]) -> list[Violation]:
        self._out = []
        if len(out) > 1:
            out.sort(key=_release_order)
        return out


def _conflict(seen: Any, checked: dict[str, Any]) -> str:
    """Why a repeated id is refused: which fields differ (names only, never values)."""
    msg = "this id was seen before with a different payload"
    if type(seen) is dict:
        fields = sorted(k for k in seen.keys() | checked.keys() if seen.get(k) != checked.get(k))
        msg += f" (different: {', '.join(fields)})"
    return msg


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


def _release_order(violation: Violation) -> tuple[int, str, str]:
    return to_us(violation.at), violation.rule_id, violation.id


def _seen_entry(value: Any) -> tuple[int, str]:
    """(at µs, digest) of a remembered event: kept as such when restored from a snapshot."""
    if type(value) is tuple:
        return value[0], value[1]
    return to_us(value["at"]), snapshots.digest(value)


def _local_text(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _render(template: str, values: Mapping[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        value = values[name]
        if isinstance(value, dt.datetime):
            return _local_text(value)
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return "-" if value is None else str(value)

    return _PLACEHOLDER.sub(replace, template)
