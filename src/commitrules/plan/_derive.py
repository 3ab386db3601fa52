"""Deriving a plan from a pack: which entity each rule keeps its state by.

Each rule's state is keyed by some fields: a deadline by its ``key`` (and, on the events
that close it, their ``match`` fields), a precedence rule by ``requires.match``, a
threshold by ``group_by``, a keyed check by its ``key``. Every event the rule reads goes
to the partition of the first of those fields' values (a coarser partition than the whole
key, never a wrong one); rules whose fields name the same entity share a stage. A rule
without a key (a threshold over everything, a kind the plan does not know) goes to the
one-partition ``global`` stage; periodic rules count in partitions and are judged once
(``periods``); thresholds over findings take the findings of the stages before them
(``findings``, by their ``group_by``); repeat escalations count per their ``by`` field
(``route``). The event types come from the compiled rules themselves.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from ..pack._load import Pack
from ..rules import RuleRuntime, RuleSpecBase
from ..rules.operational import CALENDAR_HORIZON, horizon_alarm
from ._model import Plan, Stage

__all__ = ["plan_for"]

_PERIODIC = ("periodic_target", "periodic_obligation")
_FINDING_STAGES = ("keyed", "periods", "global", "findings")
_PLANS: weakref.WeakKeyDictionary[Pack, Plan] = weakref.WeakKeyDictionary()
"""Plans already derived (a pack and its plan are immutable), while the pack lives."""


def plan_for(pack: Pack) -> Plan:
    """The stage plan of a pack (its profile's rules and routing).

    >>> import commitrules
    >>> plan = commitrules.plan_for(commitrules.load_pack())
    >>> plan.stage_of("C5.resolve.simple").name, plan.stage_of("W1.frequent-violations.staff").name
    ('case_id', 'findings:staff_id')
    """
    plan = _PLANS.get(pack)
    if plan is None:
        plan = _PLANS[pack] = _derive(pack)
    return plan


def _derive(pack: Pack) -> Plan:
    runtime = pack.build()
    by_id: dict[str, RuleRuntime] = {rule.rule_id: rule for rule in runtime.rules}
    keyed: list[tuple[str, dict[str, str]]] = []
    periodic: list[str] = []
    unkeyed: list[str] = []
    counting: dict[tuple[str, ...], list[str]] = {}
    for spec in pack.rules:
        rule = by_id.get(spec.id)
        if rule is None:
            continue
        kind = getattr(spec, "kind", "")
        if kind in _PERIODIC:
            periodic.append(spec.id)
            continue
        if rule.counts_findings:
            group = tuple(getattr(spec, "group_by", ())[:1])
            counting.setdefault(group, []).append(spec.id)
            continue
        fields = _partition_fields(spec, kind, _consumed(rule), pack)
        if fields is None:
            unkeyed.append(spec.id)
        else:
            keyed.append((spec.id, fields))
    stages: list[Stage] = [_admission(pack)]
    stages += _keyed_stages(keyed, pack)
    alarm = _has_alarm(pack, runtime)
    types_of = {rule.rule_id: _consumed(rule) for rule in runtime.rules}
    if periodic or alarm:
        stages.append(
            Stage(
                name="periods",
                kind="periods",
                key=("id",),
                rules=(*periodic, *([CALENDAR_HORIZON] if alarm else [])),
                events=_types(periodic, types_of),
                findings_from=(),
                outputs=("partial counts per period", "findings", "outcomes"),
                key_by_type=dict.fromkeys(_types(periodic, types_of), ("id",)),
                note=(
                    "each partition counts its events per period (any partitioning will "
                    "do: the counts add up); the partial counts are merged and every "
                    "period judged once, in one partition"
                    + (", which also raises the calendar's horizon alarm" if alarm else "")
                ),
            )
        )
    if unkeyed:
        stages.append(
            Stage(
                name="global",
                kind="global",
                key=(),
                rules=tuple(unkeyed),
                events=_types(unkeyed, types_of),
                findings_from=(),
                outputs=("findings", "outcomes"),
                note="rules with no key: one partition",
            )
        )
    producing = tuple(stage.name for stage in stages if stage.kind in _FINDING_STAGES)
    for group, rule_ids in sorted(counting.items()):
        stages.append(
            Stage(
                name="findings:" + (group[0] if group else "all"),
                kind="findings",
                key=group,
                rules=tuple(rule_ids),
                events=(),
                findings_from=producing,
                outputs=("findings", "outcomes"),
                note=(
                    "counts the findings of earlier stages in the single engine's order "
                    "(event time, then timers before events, then stream position); a "
                    "check's finding once the watermark passes it"
                ),
            )
        )
    producing = tuple(stage.name for stage in stages if stage.kind in _FINDING_STAGES)
    for escalation in pack.routing.escalations:
        if escalation.repeats is None:
            continue
        stages.append(
            Stage(
                name=f"route:{escalation.id}",
                kind="route",
                key=(escalation.repeats.by,),
                rules=(),
                events=(),
                findings_from=producing,
                outputs=("whether the escalation applies, per finding",),
                note=(
                    f"counts {escalation.repeats.count} findings within "
                    f"{escalation.repeats.within_days} days per {escalation.repeats.by}, in "
                    "the order the single engine routes them (its call, then release order)"
                ),
            )
        )
    stages.append(
        Stage(
            name="release",
            kind="release",
            key=(),
            rules=(),
            events=(),
            findings_from=tuple(s.name for s in stages if s.kind in (*_FINDING_STAGES, "route")),
            outputs=("violations", "outcomes"),
            note=(
                "routes (rule role, escalations that match, repeat decisions); violations in "
                "the single engine's order: its call, then (at, rule_id, kind rank, id); "
                "rendering, masking and waivers are each stage's, exactly as the engine's"
            ),
        )
    )
    return Plan(pack=pack.ref, stages=tuple(stages))


def _consumed(rule: RuleRuntime) -> tuple[str, ...]:
    """The event types a compiled rule reads."""
    return tuple(sorted({*rule.on_accept, *rule.on_release, *rule.prepare}))


def _types(rule_ids: Sequence[str], types_of: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(sorted({t for rule_id in rule_ids for t in types_of.get(rule_id, ())}))


def _admission(pack: Pack) -> Stage:
    return Stage(
        name="admission",
        kind="admission",
        key=(),
        rules=(),
        events=tuple(sorted(pack.catalog.names)),
        findings_from=(),
        outputs=("admitted events", "rejects", "watermark per stream position"),
        note=(
            "in stream-position order: validation, conflicts, first-wins duplicates, "
            "lateness and the future guard, exactly as the engine's intake"
        ),
    )


def _partition_fields(
    spec: RuleSpecBase, kind: str, consumed: Sequence[str], pack: Pack
) -> dict[str, str] | None:
    """Per event type the rule reads, the field its state is keyed by; None: no key."""
    fields: dict[str, str] = {}
    key = list(spec.key)
    if kind == "check":
        name = key[0] if key else "id"
        fields = dict.fromkeys(consumed, name)
        if not all(_has_field(pack, t, name) for t in consumed):
            fields = dict.fromkeys(consumed, "id")  # stateless: any partition will do
    elif kind == "precedence":
        match = list(getattr(spec, "requires").match)  # noqa: B009 - a precedence spec
        fields = {spec.on: match[0], spec.requires.event: match[0]}  # type: ignore[attr-defined]
    elif kind == "deadline":
        if not key:
            return None
        fields[spec.on] = key[0]  # type: ignore[attr-defined]
        until: Any = spec.until  # type: ignore[attr-defined]
        follows = [*(until if isinstance(until, list) else [until])]
        follows += [*spec.extend, *spec.cancel]  # type: ignore[attr-defined]
        for follow in follows:
            match = list(follow.match) or key
            if fields.setdefault(follow.event, match[0]) != match[0]:
                return None
    elif kind == "threshold":
        group = list(getattr(spec, "group_by", ()))
        if not group:
            return None
        fields = dict.fromkeys(consumed, group[0])
    else:
        return None
    if set(fields) != set(consumed) or not all(_has_field(pack, t, f) for t, f in fields.items()):
        return None
    return fields


def _has_field(pack: Pack, event_type: str, name: str) -> bool:
    if event_type not in pack.catalog:
        return False
    return name == "id" or name in pack.catalog[event_type].fields


def _keyed_stages(keyed: Sequence[tuple[str, dict[str, str]]], pack: Pack) -> list[Stage]:
    """Rules keyed by the same entity (the same field names) share a stage."""
    groups: list[tuple[str, dict[str, str], list[str]]] = []
    for rule_id, fields in keyed:
        base = "|".join(sorted(set(fields.values())))
        for name, known, members in groups:
            if name.split("#")[0] == base and all(known.get(t, f) == f for t, f in fields.items()):
                known.update(fields)
                members.append(rule_id)
                break
        else:
            taken = sum(1 for name, _, _ in groups if name.split("#")[0] == base)
            groups.append((base if not taken else f"{base}#{taken + 1}", dict(fields), [rule_id]))
    stages = []
    for name, fields, members in sorted(groups, key=lambda group: group[0]):
        key = tuple(sorted(set(fields.values())))
        stages.append(
            Stage(
                name=name,
                kind="keyed",
                key=key,
                rules=tuple(members),
                events=tuple(sorted(fields)),
                findings_from=(),
                outputs=("findings", "outcomes"),
                key_by_type={t: (f,) for t, f in fields.items()},
                note="stateless checks: any partition will do" if key == ("id",) else "",
            )
        )
    return stages


def _has_alarm(pack: Pack, runtime: Any) -> bool:
    """Whether an engine of the pack raises the calendar's horizon alarm."""
    longest = pack.longest_working_days()
    return (
        horizon_alarm(
            runtime.calendar,
            longest,
            pack.calendar_alarm_margin_days,
            pack.operations_role,
            pack.tz,
        )
        is not None
    )
