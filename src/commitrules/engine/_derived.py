"""Derived findings: what routing repeats and thresholds over findings make of the findings.

Both are functions of the findings released before them: a repeat escalation counts the
findings of one staff member or branch within its window; a threshold that counts findings
fires when their count crosses its limit. When a pack upgrade withdraws a finding (a
provisional deadline whose due time moved) or releases one in the past, what they made of
the findings must follow. The engine keeps, for twice the longest of their windows, the
findings they counted (:class:`DerivedLog`); a correction recomputes the routes and the
threshold findings from it, withdraws what changed (a ``correction`` each) and releases what
is new, then rebuilds their live state from it. The findings that can move are those at or
after the start of the calendar's first provisional year: while a year is provisional the log
keeps everything from two windows before it, for at most :data:`LATE_UPGRADE_DAYS` more than
two windows, so the recomputation is exact for an upgrade that comes within that many days
of the findings it moves, and memory stays bounded if the year is never made official.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .. import snapshot as snapshots
from ..rules import Finding, RuleRuntime
from ..violations import Violation, release_order

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["LATE_UPGRADE_DAYS", "DerivedLog", "recompute"]

LATE_UPGRADE_DAYS = 92
"""How long after a provisional finding an upgrade that moves it still corrects what was
derived from it exactly (a quarter: the yearly notice comes before the year it sets)."""

Entry = tuple[int, Violation, Finding]
"""(at µs, the violation as released, the finding it came from)."""


class DerivedLog:
    """The findings routing repeats and thresholds over findings counted, newest last."""

    __slots__ = ("entries", "keep_from_us", "span_us")

    def __init__(self, span_us: int, provisional_from_us: int | None = None) -> None:
        self.span_us = span_us
        #: Nothing after this is forgotten: two windows before the first provisional year
        #: (whose findings a pack upgrade may move), or None when every year is official.
        self.keep_from_us = (
            provisional_from_us - span_us if provisional_from_us is not None else None
        )
        self.entries: deque[Entry] = deque()

    def add(self, finding: Finding, violation: Violation) -> None:
        """Remember a released finding."""
        self.entries.append((finding.at_us, violation, finding))

    def forget_before(self, watermark_us: int) -> None:
        """Drop what is older than the span before the watermark, but not what lies after
        the span before the first provisional year (for at most :data:`LATE_UPGRADE_DAYS`)."""
        cutoff = watermark_us - self.span_us
        if self.keep_from_us is not None:
            late = watermark_us - self.span_us - LATE_UPGRADE_DAYS * 86_400_000_000
            cutoff = max(min(cutoff, self.keep_from_us), late)
        entries = self.entries
        while entries and entries[0][0] < cutoff:
            entries.popleft()

    def state(self) -> list[Any]:
        """JSON-ready entries (for snapshots)."""
        return [
            [
                at_us,
                finding.rule.rule_id,
                finding.kind,
                finding.severity,
                snapshots.encode(dict(finding.scope)),
                snapshots.encode(dict(finding.subject)),
                list(finding.extra_roles),
                violation.to_dict(),
            ]
            for at_us, violation, finding in self.entries
        ]

    def restore(self, state: Sequence[Any], rules: Mapping[str, RuleRuntime], tz: Any) -> None:
        """Load entries produced by :meth:`state` (those of rules the pack still has)."""
        self.entries = deque()
        for at, rule_id, kind, severity, scope, subject, extra, data in state:
            rule = rules.get(str(rule_id))
            if rule is None:
                continue
            at_us = int(at)
            violation = Violation.from_dict(data)
            finding = Finding(
                rule=rule,
                at_us=at_us,
                at=violation.at,
                event_ids=tuple(data["event_ids"]),
                subject=snapshots.decode(subject),
                evidence={},
                scope=snapshots.decode(scope),
                kind=kind,
                severity=severity,
                extra_roles=tuple(extra),
            )
            self.entries.append((at_us, violation, finding))


def recompute(
    engine: Engine,
    withdrawn: set[str],
    added: list[tuple[Finding, Violation]],
    withdraw: Callable[[Finding, Violation, str], None],
) -> list[Violation]:
    """Routes and threshold findings after a correction; what is released again or anew.

    ``withdrawn`` are the ids the correction withdrew, ``added`` the findings it released
    (their routes are set here). Returns the violations to release: the added ones with
    their routes, the re-routed ones (same id, new route) and the threshold findings that
    are new; ``withdraw(finding, violation, id)`` is called for each finding to withdraw
    first (a re-routed one, a threshold finding that no longer fires).
    """
    log = engine._derived
    assert log is not None
    old = list(log.entries)
    starts = [finding.at_us for finding, _ in added]
    starts += [at for at, violation, _ in old if violation.id in withdrawn]
    if not starts:
        return [violation for _, violation in added]
    t0 = min(starts)
    new_entries: list[Entry] = [entry for entry in old if entry[1].id not in withdrawn]
    new_entries += [(finding.at_us, violation, finding) for finding, violation in added]
    new_entries.sort(key=lambda entry: release_order(entry[1]))
    params_at = engine._params_at
    # 1. Thresholds over findings: what each counting rule fires, before and after.
    fresh: set[str] = {violation.id for _, violation in added}
    gone: set[str] = set()
    fired: list[Entry] = []
    for rule in engine._counting:
        fires = getattr(rule, "fires", None)
        if fires is None:
            continue
        before = fires([entry[2] for entry in old if entry[2].rule is not rule], params_at)
        after = fires([entry[2] for entry in new_entries if entry[2].rule is not rule], params_at)
        for key in sorted(set(before) - set(after), key=repr):
            if key[1] < t0:
                continue
            finding = before[key]
            identity = engine._finding_id(finding)
            previous = next((v for _, v, _ in old if v.id == identity), None)
            gone.add(identity)
            withdraw(finding, previous or engine._violation_of(finding, None), identity)
        for key in sorted(set(after) - set(before), key=repr):
            if key[1] < t0:
                continue
            finding = after[key]
            violation = engine._violation_of(finding, None)
            fresh.add(violation.id)
            fired.append((finding.at_us, violation, finding))
    entries = [entry for entry in new_entries if entry[1].id not in gone] + fired
    entries.sort(key=lambda entry: release_order(entry[1]))
    # 2. Routes of every finding from t0 on, counted on the corrected findings.
    router = engine._router
    counts = router.counter((entry[2], release_order(entry[1])) for entry in entries)
    out: list[Violation] = []
    final: list[Entry] = []
    for at_us, released, finding in entries:
        current = released
        if at_us >= t0 or released.id in fresh:
            route = (
                (finding.rule.role,)
                if released.waiver is not None
                else router.route_with(finding, release_order(released), counts)
            )
            if released.id in fresh:
                current = attrs.evolve(released, route=route)
                out.append(current)
            elif route != released.route:
                withdraw(finding, released, released.id)
                current = attrs.evolve(released, route=route)
                out.append(current)
        final.append((at_us, current, finding))
    # 3. The live state, rebuilt from the corrected findings.
    log.entries = deque(final)
    findings = [entry[2] for entry in final]
    router.rebuild((entry[2], release_order(entry[1])) for entry in final)
    watermark = engine._watermark_us
    if watermark is not None:
        for rule in engine._counting:
            rebuild = getattr(rule, "rebuild", None)
            if rebuild is not None:
                rebuild([f for f in findings if f.rule is not rule], watermark, params_at)
    return out
