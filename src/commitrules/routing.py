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
``by`` scope field, the matching findings within the window that are earlier than this one,
plus this one: findings at the same instant never count each other, so a route does not
depend on the order in which simultaneous findings are released.
Escalation that comes later (a deadline still open long after its due time) is a new
record emitted by the rule itself.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import attrs
from pydantic import Field

from .rules import Finding
from .rules._base import Name, Spec

__all__ = ["EscalationSpec", "Router", "RoutingSpec"]


Order = tuple[int, str, int, str]
"""A finding's place in the release order: (at µs, rule id, kind rank, id)."""
_LAST = "\U0010ffff"


def _before(places: Sequence[Order], key: Order, window_us: int) -> int:
    """How many of the sorted ``places`` are within the window and before ``key``."""
    low = bisect.bisect_right(places, (key[0] - window_us, _LAST))
    return bisect.bisect_left(places, key) - low


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
    seen: dict[Any, list[Order]] = attrs.field(factory=dict)

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
    """Computes routes; keeps the repeat counters (state keyed by scope values).

    A repeat escalation counts, per ``by`` value, the matching findings within its window
    that come before this one in release order (time, then rule id, kind and id: among
    findings at the same instant, the earlier in release order count for the later), and
    this one. The engine routes the findings of a call in release order, so a route never
    depends on the order in which rules happened to produce them.
    """

    def __init__(self, spec: RoutingSpec) -> None:
        self._escalations = [
            _Escalation(
                spec=e,
                roles=tuple(e.to),
                window_us=(e.repeats.within_days * 86_400_000_000) if e.repeats else 0,
            )
            for e in spec.escalations
        ]

    def route(self, finding: Finding, order: Order | None = None) -> tuple[str, ...]:
        """The roles to notify: the rule's role first, then every escalation that applies.

        ``order`` is the finding's place in the release order (``violations.release_order``
        of its violation); repeat escalations count it from now on.
        """
        key = order if order is not None else (finding.at_us, finding.rule.rule_id, 0, "")
        roles: dict[str, None] = {finding.rule.role: None}
        for role in finding.extra_roles:
            roles.setdefault(role, None)
        for escalation in self._escalations:
            if not escalation.matches(finding):
                continue
            repeats = escalation.spec.repeats
            if repeats is not None and not self._repeated(escalation, repeats, finding, key):
                continue
            for role in escalation.roles:
                roles.setdefault(role, None)
        return tuple(roles)

    def _repeated(
        self, escalation: _Escalation, repeats: RepeatsSpec, finding: Finding, key: Order
    ) -> bool:
        value = finding.scope.get(repeats.by, finding.subject.get(repeats.by))
        if value is None:
            return False
        times = escalation.seen.setdefault(value, [])
        earlier = _before(times, key, escalation.window_us)
        bisect.insort(times, key)
        return earlier + 1 >= repeats.count

    # -- recomputed routes (corrections) -----------------------------------------------------
    def counter(self, findings: Iterable[tuple[Finding, Order]]) -> list[dict[Any, list[Order]]]:
        """Per escalation, the places of the matching findings per ``by`` value."""
        items = list(findings)
        counts: list[dict[Any, list[Order]]] = []
        for escalation in self._escalations:
            seen: dict[Any, list[Order]] = {}
            repeats = escalation.spec.repeats
            if repeats is not None:
                for finding, key in items:
                    if escalation.matches(finding):
                        value = finding.scope.get(repeats.by, finding.subject.get(repeats.by))
                        if value is not None:
                            seen.setdefault(value, []).append(key)
                for keys in seen.values():
                    keys.sort()
            counts.append(seen)
        return counts

    def route_with(
        self, finding: Finding, key: Order, counts: Sequence[dict[Any, list[Order]]]
    ) -> tuple[str, ...]:
        """The route of a finding given every matching finding's place (no state changes)."""
        roles: dict[str, None] = {finding.rule.role: None}
        for role in finding.extra_roles:
            roles.setdefault(role, None)
        for escalation, seen in zip(self._escalations, counts, strict=True):
            if not escalation.matches(finding):
                continue
            repeats = escalation.spec.repeats
            if repeats is not None:
                value = finding.scope.get(repeats.by, finding.subject.get(repeats.by))
                keys = seen.get(value, []) if value is not None else []
                if value is None or _before(keys, key, escalation.window_us) + 1 < repeats.count:
                    continue
            for role in escalation.roles:
                roles.setdefault(role, None)
        return tuple(roles)

    def rebuild(self, findings: Iterable[tuple[Finding, Order]]) -> None:
        """Replace the repeat counters with those of these findings."""
        for escalation, seen in zip(self._escalations, self.counter(findings), strict=True):
            escalation.seen = seen

    @property
    def longest_window_us(self) -> int:
        """The longest repeat window (0 when no escalation counts repeats)."""
        return max((escalation.window_us for escalation in self._escalations), default=0)

    def forget_before(self, cutoff_us: int) -> None:
        """Drop repeat counters that can no longer matter (bounded memory)."""
        for escalation in self._escalations:
            if not escalation.window_us:
                continue
            limit = (cutoff_us - escalation.window_us, _LAST)
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
        """JSON-ready repeat counters: per value, the findings' places in release order."""
        return [[[k, [list(t) for t in v]] for k, v in e.seen.items()] for e in self._escalations]

    def restore(self, state: Sequence[Any]) -> None:
        """Load counters produced by :meth:`state` (a bare instant, as release 0.1 wrote
        them, is a place before any finding of that instant)."""
        for escalation, items in zip(self._escalations, state, strict=False):
            escalation.seen = {
                key: [
                    (int(t), "", -9, "")
                    if isinstance(t, int)
                    else (int(t[0]), str(t[1]), int(t[2]), str(t[3]))
                    for t in times
                ]
                for key, times in items
            }
