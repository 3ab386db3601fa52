"""Explaining decisions: for each event, every rule that applied, whether it held, and why.

>>> import commitrules
>>> pack = commitrules.load_pack()
>>> lines = explain(pack, [{
...     "id": "m1", "type": "marketing_published", "at": "2026-07-01T09:00:00+08:00",
...     "material_id": "M-1", "channel": "wechat", "approved": True, "text": "穩健"}])
>>> [(line.rule_id, line.held) for line in lines]
[('C1.marketing.banned-promise', True), ('C1.marketing.unapproved', True)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ._safe_text import visible
from .engine import Engine, EvidenceMode
from .errors import CommitRulesError
from .pack import Pack
from .rules import RuleRuntime
from .rules.check import CheckRule
from .rules.precedence import PrecedenceRule
from .violations import Violation

__all__ = ["Explanation", "explain"]


@attrs.frozen
class Explanation:
    """What one rule made of one event."""

    event_id: str
    event_type: str
    rule_id: str
    clause_id: str
    kind: str
    applied: bool
    held: bool | None  # None: the rule recorded the event for later (a deadline, a window)
    values: Mapping[str, Any]
    violations: tuple[str, ...]
    note: str

    def __str__(self) -> str:
        """One line for people: values as reprs, terminal controls escaped."""
        if not self.applied:
            verdict = "did not apply"
        elif self.held is None:
            verdict = "recorded"
        else:
            verdict = "held" if self.held else "VIOLATED"
        values = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        text = f"{self.event_id} {self.rule_id} ({self.kind}): {verdict}"
        if values:
            text += f" [{values}]"
        if self.note:
            text += f" — {self.note}"
        return visible(text, lines=False)


def explain(
    pack: Pack,
    events: Iterable[Mapping[str, Any]],
    *,
    event_id: str | None = None,
    until: dt.datetime | None = None,
    evidence: EvidenceMode = "mask",
    pseudonym_key: bytes | None = None,
) -> list[Explanation]:
    """Run the events through a fresh engine and explain each rule's decision.

    Events that are rejected are explained as such (rule ``-``). With ``event_id`` only
    that event's lines are returned (the others still run, so state is right). Fields the
    pack declares personal are shown as in violations: masked by default, pseudonymised, or
    (``evidence="include"``) as they are.
    """
    engine = Engine(pack, evidence=evidence, pseudonym_key=pseudonym_key)
    lines: list[Explanation] = []

    def trace(
        rule: RuleRuntime, event: Mapping[str, Any], found: tuple[Violation, ...], services: Any
    ) -> None:
        line = _explain_one(rule, event, found, services)
        if line.values:
            protected = {key: engine._protect(key, value) for key, value in line.values.items()}
            line = attrs.evolve(line, values=protected)
        lines.append(line)

    engine.tracer = trace
    for raw in events:
        try:
            engine.process(raw)
        except CommitRulesError as error:
            raw_id = raw.get("id") if isinstance(raw, Mapping) else None
            lines.append(
                Explanation(
                    event_id=str(raw_id),
                    event_type=str(raw.get("type", "?")),
                    rule_id="-",
                    clause_id="-",
                    kind="-",
                    applied=False,
                    held=None,
                    values={},
                    violations=(),
                    note=f"rejected: {error}",
                )
            )
    if until is not None:
        engine.advance_to(until)
    if event_id is not None:
        lines = [line for line in lines if line.event_id == event_id]
    return lines


def _explain_one(
    rule: RuleRuntime, event: Mapping[str, Any], found: tuple[Violation, ...], services: Any
) -> Explanation:
    ids = tuple(v.id for v in found)
    base: dict[str, Any] = {
        "event_id": str(event.get("id")),
        "event_type": str(event.get("type")),
        "rule_id": rule.rule_id,
        "clause_id": rule.clause_id,
        "kind": rule.kind,
        "violations": ids,
    }
    if isinstance(rule, CheckRule):
        detail = rule.explain(dict(event), services) or {"applies": False, "values": {}}
        return Explanation(
            **base,
            applied=bool(detail["applies"]),
            held=detail.get("held"),
            values=detail["values"],
            note="",
        )
    if isinstance(rule, PrecedenceRule):
        detail = rule.explain(dict(event), services)
        if detail["role"] == "prior":
            return Explanation(
                **base,
                applied=True,
                held=None,
                values=detail["values"],
                note="stored as the latest earlier event for its keys",
            )
        return Explanation(
            **base,
            applied=bool(detail["applies"]),
            held=detail.get("held"),
            values=detail["values"],
            note=found[0].message.en if found else "",
        )
    if found:
        first = found[0]
        return Explanation(
            **base, applied=True, held=False, values=dict(first.evidence), note=first.message.en
        )
    notes = {
        "deadline": "opened, fulfilled, extended or cancelled a deadline",
        "threshold": "counted in its window",
        "periodic_target": "counted for its period",
        "periodic_obligation": "counted for its period",
    }
    return Explanation(**base, applied=True, held=None, values={}, note=notes.get(rule.kind, ""))
