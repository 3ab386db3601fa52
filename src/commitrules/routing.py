"""Routing: who must act on a finding, and who else it escalates to.

A pack declares escalations in ``routing.yaml``:

.. code-block:: yaml

    escalations:
      - id: zero-tolerance                      # M4: integrity and suitability breaches
        match: {clauses: [C1, C3.suitability]}
        to: [risk-compliance, senior-management]
      - id: repeat-offender-staff
        match: {kinds: [violation]}
        repeats: {by: staff_id, count: 3, within_days: 30}
        to: [rights-protection-dept]

A violation's route is its rule's role first, then the roles of every escalation that
matches when it is emitted (in the order declared, without repeats). Clause matching is by
prefix: ``C3`` matches ``C3.suitability``. A repeat escalation counts, per value of the
``by`` scope field, the matching findings within the window (this one included).
Escalation that comes later (a deadline still open long after its due time) is a new
record emitted by the rule itself.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any, Literal

import attrs
from pydantic import Field

from .rules import Finding
from .rules._base import Name, Spec

__all__ = ["EscalationSpec", "Router", "RoutingSpec"]


class MatchSpec(Spec):
    """Which findings an escalation applies to; empty lists mean any."""

    clauses: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    severities: list[Literal["low", "medium", "high", "critical"]] = Field(default_factory=list)
    kinds: list[
        Literal["violation", "escalation", "insufficient_sample", "correction", "operational"]
    ] = Field(default_factory=list)


class RepeatsSpec(Spec):
    """``count`` or more matching findings for the same ``by`` value within the window."""

    by: Name
    count: int = Field(ge=2, le=10_000)
    within_days: int = Field(ge=1, le=3660)


class EscalationSpec(Spec):
    """One escalation: which findings, optionally how many repeats, to which roles."""

    id: Name | str
    match: MatchSpec = Field(default_factory=MatchSpec)
    repeats: RepeatsSpec | None = None
    to: list[str] = Field(min_length=1)
    description: str | None = None


class RoutingSpec(Spec):
    """The content of ``routing.yaml``."""

    escalations: list[EscalationSpec] = Field(default_factory=list)


@attrs.define
class _Escalation:
    spec: EscalationSpec
    roles: tuple[str, ...]
    window_us: int
    seen: dict[Any, list[int]] = attrs.field(factory=dict)

    def matches(self, finding: Finding) -> bool:
        match = self.spec.match
        rule = finding.rule
        if match.kinds and finding.kind not in match.kinds:
            return False
        if match.rules and rule.rule_id not in match.rules:
            return False
        if match.clauses and not any(
            rule.clause_id == c or rule.clause_id.startswith(c + ".") for c in match.clauses
        ):
            return False
        severity = finding.severity or rule.severity
        return not (match.severities and severity not in match.severities)


class Router:
    """Computes routes; keeps the repeat counters (state keyed by scope values)."""

    def __init__(self, spec: RoutingSpec) -> None:
        self._escalations = [
            _Escalation(
                spec=e,
                roles=tuple(e.to),
                window_us=(e.repeats.within_days * 86_400_000_000) if e.repeats else 0,
            )
            for e in spec.escalations
        ]

    def route(self, finding: Finding) -> tuple[str, ...]:
        """The roles to notify: the rule's role first, then every escalation that applies."""
        roles: dict[str, None] = {finding.rule.role: None}
        for role in finding.extra_roles:
            roles.setdefault(role, None)
        for escalation in self._escalations:
            if not escalation.matches(finding):
                continue
            repeats = escalation.spec.repeats
            if repeats is not None and not self._repeated(escalation, repeats, finding):
                continue
            for role in escalation.roles:
                roles.setdefault(role, None)
        return tuple(roles)

    def _repeated(self, escalation: _Escalation, repeats: RepeatsSpec, finding: Finding) -> bool:
        value = finding.scope.get(repeats.by, finding.subject.get(repeats.by))
        if value is None:
            return False
        times = escalation.seen.setdefault(value, [])
        bisect.insort(times, finding.at_us)
        # Count the findings within the window that ends at this one, never later ones
        # (findings are routed in release order, which is not always time order).
        low = bisect.bisect_right(times, finding.at_us - escalation.window_us)
        high = bisect.bisect_right(times, finding.at_us)
        return high - low >= repeats.count

    def uncount(self, finding: Finding) -> None:
        """Take back a withdrawn finding from the repeat counters it was counted in."""
        for escalation in self._escalations:
            repeats = escalation.spec.repeats
            if repeats is None or not escalation.matches(finding):
                continue
            value = finding.scope.get(repeats.by, finding.subject.get(repeats.by))
            times = escalation.seen.get(value) if value is not None else None
            if times is None:
                continue
            index = bisect.bisect_left(times, finding.at_us)
            if index < len(times) and times[index] == finding.at_us:
                del times[index]

    def forget_before(self, cutoff_us: int) -> None:
        """Drop repeat counters that can no longer matter (bounded memory)."""
        for escalation in self._escalations:
            if not escalation.window_us:
                continue
            limit = cutoff_us - escalation.window_us
            stale = []
            for key, times in escalation.seen.items():
                if not times or times[-1] <= limit:
                    stale.append(key)
                elif times[0] <= limit:
                    # A scope that keeps having findings: drop only its old ones.
                    del times[: bisect.bisect_right(times, limit)]
            for key in stale:
                del escalation.seen[key]

    def state(self) -> list[Any]:
        """JSON-ready repeat counters."""
        return [[[k, v] for k, v in e.seen.items()] for e in self._escalations]

    def restore(self, state: Sequence[Any]) -> None:
        """Load counters produced by :meth:`state`."""
        for escalation, items in zip(self._escalations, state, strict=False):
            escalation.seen = {key: [int(t) for t in times] for key, times in items}
