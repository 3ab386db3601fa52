"""The plan's values: a :class:`Plan` is an ordered tuple of :class:`Stage` objects."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

import attrs

from ..violations import PackRef

__all__ = ["Plan", "Stage", "StageKind"]

StageKind = Literal["admission", "keyed", "periods", "global", "findings", "route", "release"]


def _frozen(value: Mapping[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({name: tuple(fields) for name, fields in sorted(value.items())})


@attrs.frozen
class Stage:
    """One step of a plan, partitioned by one key (or not at all).

    ``key`` names what the stage is partitioned by (empty: one partition); for stages
    that take events, ``key_by_type`` gives, per event type, the field whose value is
    that key (the same entity may be named differently in different types). ``rules``
    are the pack's rules the stage runs; ``events`` the event types it takes (admitted
    events, ordered by event time then stream position); ``findings_from`` the earlier
    stages whose findings it takes; ``outputs`` what it passes on.
    """

    name: str
    kind: StageKind
    key: tuple[str, ...]
    rules: tuple[str, ...]
    events: tuple[str, ...]
    findings_from: tuple[str, ...]
    outputs: tuple[str, ...]
    key_by_type: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=dict, converter=_frozen, eq=False
    )
    note: str = ""

    @property
    def partitioned(self) -> bool:
        """Whether the stage runs in several partitions (it has a key)."""
        return bool(self.key)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "name": self.name,
            "kind": self.kind,
            "key": list(self.key),
            "key_by_type": {name: list(fields) for name, fields in self.key_by_type.items()},
            "rules": list(self.rules),
            "events": list(self.events),
            "findings_from": list(self.findings_from),
            "outputs": list(self.outputs),
            "note": self.note,
        }


@attrs.frozen
class Plan:
    """A pack split into stages whose union gives exactly the single engine's results.

    >>> import commitrules
    >>> plan = commitrules.plan_for(commitrules.load_pack())
    >>> [stage.name for stage in plan.stages][:3]
    ['admission', 'branch_id', 'case_id']
    >>> plan.stage("case_id").key
    ('case_id',)
    """

    pack: PackRef
    stages: tuple[Stage, ...]

    def stage(self, name: str) -> Stage:
        """A stage by name.

        Raises:
            KeyError: the plan has no stage of that name.
        """
        for stage in self.stages:
            if stage.name == name:
                return stage
        msg = f"the plan has no stage {name!r}: {', '.join(s.name for s in self.stages)}"
        raise KeyError(msg)

    def of_kind(self, kind: StageKind) -> tuple[Stage, ...]:
        """The stages of one kind, in plan order."""
        return tuple(stage for stage in self.stages if stage.kind == kind)

    def stage_of(self, rule_id: str) -> Stage:
        """The stage that runs a rule.

        Raises:
            KeyError: no stage runs it (the pack has no such rule).
        """
        for stage in self.stages:
            if rule_id in stage.rules:
                return stage
        msg = f"no stage of the plan runs the rule {rule_id!r}"
        raise KeyError(msg)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (``commitrules plan --format json``)."""
        return {
            "format": "commitrules.plan",
            "version": 1,
            "pack": self.pack.to_dict(),
            "stages": [stage.to_dict() for stage in self.stages],
        }

    def to_json(self) -> str:
        """The plan as indented JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def table(self) -> str:
        """The plan as a plain-text table, one block per stage (``commitrules plan``)."""
        lines = [f"Stage plan of {self.pack.id} {self.pack.version} (profile {self.pack.profile})"]
        for number, stage in enumerate(self.stages, start=1):
            key = ", ".join(stage.key) if stage.key else "- (one partition)"
            lines.append("")
            lines.append(f"{number}. {stage.name} [{stage.kind}] key: {key}")
            renamed = {
                name: fields for name, fields in stage.key_by_type.items() if fields != stage.key
            }
            if renamed:
                shown = ", ".join(f"{name}.{'+'.join(f)}" for name, f in renamed.items())
                lines.append(f"   key in      {shown}")
            if stage.events:
                lines.append(f"   events      {', '.join(stage.events)}")
            if stage.findings_from:
                lines.append(f"   findings of {', '.join(stage.findings_from)}")
            if stage.rules:
                lines.append(f"   rules       {', '.join(stage.rules)}")
            lines.append(f"   outputs     {', '.join(stage.outputs)}")
            if stage.note:
                lines.append(f"   note        {stage.note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()
