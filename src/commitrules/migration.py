"""Pack upgrades that keep live state: what a restore into a changed pack does, rule by rule.

A bank changes its pack several times a year (a parameter, a condition, a new clause, a new
calendar year) while the engine holds weeks of open obligations. Restoring a snapshot into
the new pack decides, for every rule:

``kept``
    unchanged (same fingerprint): its state is restored byte for byte;
``carried``
    changed, but its kind, key and trigger (its *shape*) are the same: its state is carried
    over and recomputed under the new definition (a deadline gets its new due time, a
    window keeps its items and re-judges them against the new limit, a period keeps its
    counts); each recomputed obligation is listed with its old and new due time;
``fresh``
    new in the pack: it starts empty;
``dropped``
    changed in kind or shape (or the snapshot predates shapes): its state cannot be
    carried, and every obligation it held is listed with why;
``removed``
    no longer in the pack: likewise listed.

Findings released before the restore point are not judged again, with one exception: a
violation released on a *provisional* calendar year whose due time moves is withdrawn by a
``correction`` (and judged again at its new due time). The report lists released
violations whose due time the change would have moved, for a person to decide.

>>> import commitrules
>>> engine = commitrules.Engine(commitrules.load_pack())
>>> report = plan_migration(commitrules.load_pack(), engine.snapshot())
>>> report.drops, report.counts()["kept"] > 0
([], True)
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from . import snapshot as snapshots
from .errors import SnapshotError
from .eventtime import from_us
from .rules import Finding
from .rules._base import Carried, CarriedItem, RuntimeServices
from .violations import Violation, release_order

if TYPE_CHECKING:
    from .engine import Engine
    from .pack import Pack

__all__ = ["MigrationReport", "RuleMigration", "plan_migration"]


@attrs.frozen
class RuleMigration:
    """What a restore does with one rule's state."""

    rule_id: str
    kind: str
    action: str  # kept | carried | fresh | dropped | removed
    reason: str
    items: tuple[CarriedItem, ...] = ()

    @property
    def drops_state(self) -> bool:
        """Whether state is lost (a dropped or removed rule that held something)."""
        return self.action in ("dropped", "removed") and bool(self.items)


@attrs.frozen
class MigrationReport:
    """What a restore into ``to_pack`` does with a snapshot of ``from_pack``, exactly."""

    from_pack: Mapping[str, Any]
    to_pack: Mapping[str, Any]
    watermark: dt.datetime | None
    rules: tuple[RuleMigration, ...]
    released: tuple[Violation, ...] = ()

    @property
    def drops(self) -> list[RuleMigration]:
        """The rules whose state would be lost."""
        return [rule for rule in self.rules if rule.drops_state]

    def counts(self) -> dict[str, int]:
        """How many rules each action applies to."""
        out = dict.fromkeys(("kept", "carried", "fresh", "dropped", "removed"), 0)
        for rule in self.rules:
            out[rule.action] += 1
        return out

    def summary(self) -> str:
        """One line: the counts, and the rules whose state is dropped."""
        counts = ", ".join(f"{n} {action}" for action, n in self.counts().items() if n)
        dropped = ", ".join(rule.rule_id for rule in self.drops)
        return counts + (f"; state dropped: {dropped}" if dropped else "")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (times as RFC 3339 text in the pack's zone)."""
        tz = self.watermark.tzinfo if self.watermark is not None else dt.UTC
        return {
            "from": dict(self.from_pack),
            "to": dict(self.to_pack),
            "watermark": self.watermark.isoformat() if self.watermark else None,
            "summary": self.counts(),
            "drops": [rule.rule_id for rule in self.drops],
            "rules": [
                {
                    "rule_id": rule.rule_id,
                    "kind": rule.kind,
                    "action": rule.action,
                    "reason": rule.reason,
                    "items": [_item_dict(item, tz) for item in rule.items],
                }
                for rule in self.rules
            ],
            "released": [violation.to_dict() for violation in self.released],
        }


def _item_dict(item: CarriedItem, tz: Any) -> dict[str, Any]:
    def moment(us: int | None) -> str | None:
        return from_us(us, tz).isoformat() if us is not None else None

    return {
        "key": {k: snapshots.encode(v) for k, v in item.key.items()},
        "action": item.action,
        "reason": item.reason,
        "old_due": moment(item.old_due_us),
        "new_due": moment(item.new_due_us),
    }


def plan_migration(
    pack: Pack, snapshot: Mapping[str, Any], *, backend: str = "native"
) -> MigrationReport:
    """What restoring ``snapshot`` into ``pack`` would do, exactly (it is done on a scratch
    engine and reported; nothing of yours changes).

    Raises:
        SnapshotError: the snapshot is not one or is malformed.
    """
    from .engine import Engine  # noqa: PLC0415 - the engine is below this module

    engine = Engine.restore(pack, snapshot, backend=backend)
    assert isinstance(engine.migration, MigrationReport)
    return engine.migration


# -- used by Engine.restore ----------------------------------------------------------------


@attrs.define
class _Plan:
    actions: dict[str, RuleMigration]
    fresh: tuple[str, ...]
    removed: tuple[str, ...]
    report: MigrationReport

    @property
    def drops(self) -> list[RuleMigration]:
        return self.report.drops

    def summary(self) -> str:
        return self.report.summary()


def plan_for(engine: Engine, data: Mapping[str, Any]) -> _Plan:
    """Decide per rule: kept, carried, fresh, dropped or removed (before anything changes)."""
    saved: Mapping[str, Any] = data["rules"]
    actions: dict[str, RuleMigration] = {}
    fresh: list[str] = []
    for rule in engine._rules:
        entry = saved.get(rule.rule_id)
        if entry is None:
            actions[rule.rule_id] = RuleMigration(rule.rule_id, rule.kind, "fresh", "new rule")
            fresh.append(rule.rule_id)
            continue
        if entry["kind"] != rule.kind:
            reason = f"its kind changed from {entry['kind']} to {rule.kind}: starts fresh"
        elif entry["fingerprint"] == rule.fingerprint:
            actions[rule.rule_id] = RuleMigration(rule.rule_id, rule.kind, "kept", "unchanged")
            continue
        elif entry.get("shape") is None:
            reason = (
                "changed, and the snapshot was written before pack upgrades could carry "
                "state (no 'shape'): starts fresh"
            )
        elif entry["shape"] != rule.shape():
            reason = "its key or trigger changed (what opens or groups its state): starts fresh"
        else:
            actions[rule.rule_id] = RuleMigration(
                rule.rule_id,
                rule.kind,
                "carried",
                "changed (parameters, conditions, limits or calendar): state carried over "
                "and recomputed",
            )
            continue
        state = snapshots.decode(entry["state"])  # only what is dropped: it is reported
        items = tuple(_held(rule.rule_id, entry["kind"], state, "dropped", reason))
        actions[rule.rule_id] = RuleMigration(rule.rule_id, rule.kind, "dropped", reason, items)
        fresh.append(rule.rule_id)
    own = {rule.rule_id for rule in engine._rules}
    removed = sorted(set(saved) - own)
    for rule_id in removed:
        entry = saved[rule_id]
        reason = "no longer in the pack"
        items = tuple(
            _held(rule_id, entry["kind"], snapshots.decode(entry["state"]), "dropped", reason)
        )
        actions[rule_id] = RuleMigration(rule_id, str(entry["kind"]), "removed", reason, items)
    watermark = data["clock"]["watermark_us"]
    report = MigrationReport(
        from_pack=dict(data["pack"]),
        to_pack=engine._ref.to_dict(),
        watermark=from_us(watermark, engine._tz) if watermark is not None else None,
        rules=tuple(actions.values()),
    )
    return _Plan(actions, tuple(fresh), tuple(removed), report)


def _held(rule_id: str, kind: str, state: Any, action: str, reason: str) -> list[CarriedItem]:
    """The obligations a rule's saved state holds, as report lines."""
    if state is None:
        return []
    if kind == "deadline":
        from .rules.deadline import split_state  # noqa: PLC0415

        pending, fulfilled = split_state(state)
        out = [
            CarriedItem(rule_id, dict(data[3]), action, reason, int(data[1]), None)
            for _key, data in pending
        ]
        out += [
            CarriedItem(
                rule_id,
                dict(data[3]),
                action,
                reason + " (a fulfilled provisional deadline kept for corrections)",
                int(data[1]),
                None,
            )
            for _key, data, _at, _by in fulfilled
        ]
        return out
    if kind == "precedence":
        return [
            CarriedItem(rule_id, {"key": list(key)}, action, reason + " (a remembered prior)")
            for key, *_rest in state.get("priors", [])
        ]
    if kind == "threshold":
        return [
            CarriedItem(rule_id, {"group": list(group[0])}, action, reason + " (a window's items)")
            for group in state.get("groups", [])
            if group[1] or group[2]
        ]
    if isinstance(state, Mapping):
        counted = state.get("counts") or state.get("seen") or []
        if counted:
            return [CarriedItem(rule_id, {}, action, reason + f" ({len(counted)} partial counts)")]
        return []
    return [CarriedItem(rule_id, {}, action, reason)] if state else []


class _Context:
    """What a rule sees while its state is carried over (see ``RuleRuntime.carry``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.watermark_us: int | None = engine._watermark_us
        self.services: RuntimeServices = engine._services

    def params_at(self, at_us: int) -> Mapping[str, Any]:
        return self.engine._runtime.timeline.span(at_us)[0]

    def emit(self, finding: Finding) -> None:
        self.engine._services.set_time(finding.at_us)
        self.engine._emit(finding)


def apply_migration(engine: Engine, data: Mapping[str, Any], plan: _Plan) -> None:
    """Restore kept rules, carry changed ones over, and queue what the carry-over releases."""
    from .engine._snapshot import restore_buffer_and_timers  # noqa: PLC0415

    saved: Mapping[str, Any] = data["rules"]
    context = _Context(engine)
    engine._out = []
    engine._migrating = []
    kept: set[str] = set()
    carried: dict[str, Carried] = {}
    if engine._watermark_us is not None:
        engine._services.set_time(engine._watermark_us)
    for rule in engine._rules:
        action = plan.actions[rule.rule_id].action
        if action not in ("kept", "carried"):
            continue
        state = snapshots.decode(saved[rule.rule_id]["state"])
        try:
            if action == "kept":
                rule.restore(state)
            else:
                result = rule.carry(state, context)
                rule.restore(result.state)
                carried[rule.rule_id] = result
        except (
            KeyError,
            TypeError,
            ValueError,
            IndexError,
            AttributeError,
            OverflowError,
        ) as error:
            msg = (
                f"the snapshot is malformed: the state of rule {rule.rule_id!r} "
                f"({type(error).__name__}: {error})"
            )
            raise SnapshotError(msg) from None
        kept.add(rule.rule_id)
    replaced = {rule_id for rule_id, result in carried.items() if result.timers is not None}
    restore_buffer_and_timers(engine, data, kept, set(carried), replaced)
    by_id = {rule.rule_id: rule for rule in engine._rules}
    for rule_id, result in carried.items():
        for fire_us, token in result.timers or ():
            engine._timers.schedule(fire_us, by_id[rule_id], token)
    if engine._started and engine._watermark_us is not None:
        # New periodic rules (and a new calendar's horizon alarm) begin now.
        for rule in engine._starting:
            if rule.rule_id in plan.fresh:
                engine._services.set_time(engine._watermark_us)
                rule.start(engine._watermark_us, engine._services)
    migrated = engine._migrating
    engine._migrating = None
    engine._out = []
    engine._carried = _released(engine, migrated)
    released = engine._carried
    rules = tuple(
        attrs.evolve(item, items=item.items + tuple(carried[item.rule_id].items))
        if item.rule_id in carried
        else item
        for item in plan.actions.values()
    )
    plan.report = attrs.evolve(plan.report, rules=rules, released=tuple(released))


def _released(engine: Engine, migrated: list[tuple[Finding, Violation]]) -> list[Violation]:
    """What the carry-over released, with routing repeats and thresholds over findings
    recomputed (engine/_derived.py): the next call returns it."""
    from .engine._derived import recompute  # noqa: PLC0415

    withdrawn = {v.refers_to for _, v in migrated if v.kind == "correction" and v.refers_to}
    added = [
        (finding, violation)
        for finding, violation in migrated
        if violation.kind in ("violation", "escalation")
    ]
    others = [
        violation for _, violation in migrated if violation.kind not in ("violation", "escalation")
    ]
    if engine._derived is None:
        routed = [
            (engine._violation_of(finding, None) if violation.waiver is None else violation)
            for finding, violation in added
        ]
        return sorted(others + routed, key=release_order)
    corrections: list[Violation] = []

    def withdraw(finding: Finding, violation: Violation, identity: str) -> None:
        watermark = engine._watermark_us
        corrected_at = watermark if watermark is not None else finding.at_us
        correction = Finding(
            rule=finding.rule,
            # At the moment of what it withdraws (see the deadline's corrections).
            at_us=finding.at_us,
            at=finding.at,
            event_ids=violation.event_ids,
            subject=finding.subject,
            evidence={
                "withdrawn": identity,
                "withdrawn_kind": violation.kind,
                "corrected_at": from_us(corrected_at, engine._tz).isoformat(),
                "reason": "routing repeats or a threshold over findings changed",
            },
            scope=finding.scope,
            kind="correction",
            moment_us=finding.at_us,
            refers_to=identity,
            context=finding.context,
            message=(
                "更正:撤回 " + identity + "(因更正後的統計而重發):" + finding.rule.message[0],
                "Correction: " + identity + " withdrawn (released again as the corrected "
                "counts give it): " + finding.rule.message[1],
            ),
        )
        corrections.append(engine._violation_of(correction, (finding.rule.role,)))

    released = recompute(engine, withdrawn, added, withdraw)
    return sorted(others + corrections + released, key=release_order)


def dumps(report: MigrationReport) -> str:
    """The report as JSON text."""
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
