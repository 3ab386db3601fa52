"""Snapshots: the engine's whole state as JSON-ready data, and back (checked whole first)."""

from __future__ import annotations

import heapq
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .. import snapshot as snapshots
from ..errors import CommitRulesError, MigrationError, SnapshotError
from ..violations import ID_SCHEME
from ._atomic import no_collection

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["load", "snapshot"]

log = logging.getLogger("commitrules")


def snapshot(engine: Engine) -> dict[str, Any]:
    """The engine's full state (see :mod:`commitrules.snapshot` for the format)."""
    rules = engine._rules
    by_index = {index: rule.rule_id for index, rule in enumerate(rules)}
    by_object = {id(rule): rule.rule_id for rule in rules}
    return {
        "format": snapshots.FORMAT,
        "version": snapshots.VERSION,
        "pack": engine._ref.to_dict(),
        "clock": {
            "started": engine._started,
            "latest_us": engine._latest_us,
            "watermark_us": engine._watermark_us,
            "sequence": engine._timers.sequence,
            "swept_us": engine._last_sweep_us,
        },
        "stats": attrs.asdict(engine.stats),
        "seen": list(engine._store.entries()),
        "seen_key": engine._digests.fingerprint,
        "buffer": [
            [
                at_us,
                seq,
                snapshots.encode(event),
                {by_object[key]: snapshots.encode(value) for key, value in prepared.items()},
            ]
            for at_us, seq, event, prepared in sorted(engine._buffer, key=lambda item: item[:2])
        ],
        "timers": [
            [
                fire_us,
                seq,
                by_index[index],
                snapshots.encode(rules[index].timer_json(fire_us, token)),
            ]
            for fire_us, seq, index, token in engine._timers.pending()
        ],
        "rules": {
            rule.rule_id: {
                "kind": rule.kind,
                "fingerprint": rule.fingerprint,
                "shape": rule.shape(),
                "state": snapshots.encode(rule.state()),
            }
            for rule in rules
        },
        "router": snapshots.encode(engine._router.state()),
        "derived": engine._derived.state() if engine._derived is not None else [],
        "ids": {"scheme": ID_SCHEME, "keyed": engine._id_key is not None},
    }


def load(engine: Engine, data: Mapping[str, Any], *, refuse_drops: bool = False) -> None:
    """Restore a fresh engine from a snapshot: checked whole, then carried over rule by rule.

    Raises:
        SnapshotError: the snapshot is not one, or is malformed anywhere.
        MigrationError: ``refuse_drops`` and the pack change would drop some state.
    """
    with no_collection():
        _load(engine, data, refuse_drops=refuse_drops)


def _load(engine: Engine, data: Mapping[str, Any], *, refuse_drops: bool) -> None:
    from ..migration import apply_migration, plan_for  # noqa: PLC0415 - above the engine

    snapshots.validate(data)
    plan = plan_for(engine, data)
    if refuse_drops and plan.drops:
        raise MigrationError(
            f"restoring would drop state: {plan.summary()} (see the report)", plan.report
        )
    try:
        _load_engine_state(engine, data)
        apply_migration(engine, data, plan)
    except (
        CommitRulesError,
        KeyError,
        TypeError,
        ValueError,
        IndexError,
        AttributeError,
        OverflowError,
    ) as error:
        if isinstance(error, SnapshotError | MigrationError):
            raise
        msg = f"the snapshot is malformed: {type(error).__name__}: {error}"
        raise SnapshotError(msg) from None
    engine.fresh_rules = plan.fresh
    engine.dropped_rules = plan.removed
    engine.migration = plan.report
    if plan.drops:
        log.warning("restore into %s: %s", engine.pack.ref.id, plan.summary())


def _load_engine_state(engine: Engine, data: Mapping[str, Any]) -> None:
    clock = data["clock"]
    engine._started = bool(clock["started"])
    engine._latest_us = clock["latest_us"]
    engine._watermark_us = clock["watermark_us"]
    engine._timers.sequence = int(clock["sequence"])
    engine._last_sweep_us = int(clock["swept_us"])
    engine.stats = type(engine.stats)(**{k: int(v) for k, v in data["stats"].items()})
    if data["version"] == 1:
        engine._store.load_v1(data["seen"], data["seen_order"])
    else:
        if data.get("seen_key") != engine._digests.fingerprint:
            msg = (
                "the snapshot's duplicate store was made "
                + ("without an id key" if data.get("seen_key") is None else "with another id key")
                + (
                    ", and this engine has one"
                    if engine._digests.fingerprint is not None
                    else ", and this engine has none"
                )
                + ": restore it with the id_key it was made with (its repeats would otherwise "
                "be taken for new events)"
            )
            raise SnapshotError(msg)
        entries = ((int(key, 16), int(body, 16), int(at_us)) for key, at_us, body in data["seen"])
        if data["version"] == 2:  # content digests of sorted JSON: kept, flagged
            engine._store.load_v2(entries)
        else:
            engine._store.load(entries)
    engine._router.restore(snapshots.decode(data["router"]))
    if engine._derived is not None:
        by_id = {rule.rule_id: rule for rule in engine._rules}
        engine._derived.restore(data.get("derived") or [], by_id, engine._tz)


def restore_buffer_and_timers(
    engine: Engine,
    data: Mapping[str, Any],
    kept: set[str],
    carried: set[str],
    replaced: set[str],
) -> None:
    """The reorder buffer and the timers of the rules whose state was kept or carried.

    A carried rule's prepared values are dropped (its trigger works them out again under
    the new definition); a rule in ``replaced`` gets its timers from its carry-over, not
    from the snapshot.
    """
    by_id = {rule.rule_id: rule for rule in engine._rules}
    buffer = []
    for at_us, seq, event, prepared in data["buffer"]:
        values = {
            id(by_id[name]): snapshots.decode(value)
            for name, value in prepared.items()
            if name in kept and name not in carried
        }
        buffer.append((int(at_us), int(seq), snapshots.decode(event), values))
    heapq.heapify(buffer)
    engine._buffer = buffer
    index = {rule.rule_id: position for position, rule in enumerate(engine._rules)}
    timers = [
        (int(fire_us), int(seq), index[name], snapshots.decode(token))
        for fire_us, seq, name, token in data["timers"]
        if name in kept and name not in replaced
    ]
    engine._timers.load(timers, engine._timers.sequence)
