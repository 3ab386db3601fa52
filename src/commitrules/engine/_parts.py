"""What the parts of an engine share: its attributes, declared once, and its counts.

An :class:`~commitrules.engine.Engine` is put together from parts along the seams of one
call, each in its own module: :class:`~._findings.Releasing` (a finding becomes a routed,
rendered violation), :class:`~._atomic.Atomic` (checkpoint and replay) and the engine
itself (intake, apply, commit; :mod:`._engine`). Every part reads and writes the same
state, declared here once: the slots of an engine and their types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ..events import EventCatalog
    from ..pack._load import Pack, PackRuntime
    from ..routing import Router
    from ..rules import Finding, RuleRuntime
    from ..rules.operational import EngineRule
    from ..violations import PackRef, Violation
    from ..waivers import Waivers
    from ._atomic import Journal
    from ._derived import DerivedLog
    from ._findings import Services
    from ._intake import Digests, DuplicateStore
    from ._release import Deliveries, EvidenceMode, Outcome, Protector
    from ._time import Timers

__all__ = ["EngineParts", "EngineStats", "Tracer"]

Tracer = Callable[["RuleRuntime", Mapping[str, Any], tuple["Violation", ...], Any], None]
"""Called after each rule handles an event: (rule, event, violations, services)."""


@attrs.define
class EngineStats:
    """Counts of what the engine was given."""

    processed: int = 0
    duplicates: int = 0
    rejected: int = 0
    violations: int = 0


class EngineParts:
    """The state of an engine, as slots (a slot read on the hot path is cheaper than an
    instance dict's lookup, which stops sharing its keys past 30-odd attributes). The
    ``__dict__`` slot keeps what engines always allowed: an application's own attributes.
    """

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

    _accept: dict[str, list[Any]]
    _accepting: bool
    _buffer: list[tuple[int, int, dict[str, Any], dict[int, Any]]]
    _by_id: dict[str, RuleRuntime]
    _call_outcomes: list[Outcome]
    _carried: list[Violation]
    _catalog: EventCatalog
    _counting: list[RuleRuntime]
    _deliveries: Deliveries
    _derived: DerivedLog | None
    _digests: Digests
    _failure_source: EngineRule
    _horizon: int
    _id_key: bytes | None
    _journal: Journal
    _last_sweep_us: int
    _lateness: int
    _latest_us: int | None
    _max_ahead: int
    _migrating: list[tuple[Finding, Violation]] | None
    _out: list[Violation]
    _outcomes: Callable[[Outcome], None] | None
    _prepare: dict[str, list[tuple[RuleRuntime, Any]]]
    _protect: Protector
    _ref: PackRef
    _release: dict[str, list[Any]]
    _router: Router
    _routes: dict[str, tuple[Any, Any, Any]]
    _rules: tuple[RuleRuntime, ...]
    _runtime: PackRuntime
    _services: Services
    _since_forget: int
    _start_us: int | None
    _started: bool
    _starting: list[RuleRuntime]
    _step: str
    _store: DuplicateStore
    _timers: Timers
    _tz: ZoneInfo
    _unrouted: list[tuple[int, Finding]]
    _waivers: Waivers | None
    _watermark_us: int | None
    backend: str
    dropped_rules: tuple[str, ...]
    evidence_mode: EvidenceMode
    fresh_rules: tuple[str, ...]
    migration: Any
    observers: list[Callable[[Mapping[str, Any], list[Violation]], None]]
    pack: Pack
    stats: EngineStats
    tracer: Tracer | None

    if TYPE_CHECKING:  # the engine's own steps, which atomicity replays

        def _apply_event(
            self,
            checked: dict[str, Any],
            at_us: int,
            event_id: str,
            kind: str,
            route: tuple[Any, Any, Any] | None,
            prepared: dict[int, Any],
        ) -> list[Violation]: ...

        def _apply_advance(self, when_us: int) -> list[Violation]: ...
