"""Explaining decisions: for each event, every rule that applied, whether it held, and why.

>>> import commitrules
>>> pack = commitrules.load_pack()
>>> lines = explain(pack, [{
...     "id": "m1", "type": "marketing_published", "at": "2026-07-01T09:00:00+08:00",
...     "material_id": "M-1", "channel": "wechat", "approved": True, "text": "穩健"}])
>>> [(line.rule_id, line.held) for line in lines if line.applied]
[('C1.marketing.banned-promise', True), ('C1.marketing.unapproved', True)]
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ._safe_text import visible
from .engine import Engine, EvidenceMode
from .errors import CommitRulesError
from .eventtime import from_us
from .pack import Pack
from .rules import RuleRuntime
from .rules.check import CheckRule
from .rules.deadline import DeadlineRule
from .rules.precedence import PrecedenceRule
from .violations import Violation, _jsonable

__all__ = ["CLOCK", "Explanation", "explain"]

CLOCK = "-"
"""The ``event_id`` of a line about what moving event time did (a deadline missed, a
period closed), not about one event."""


@attrs.frozen
class Explanation:
    """What one rule made of one event (or of event time moving on).

    ``action`` says what a stateful rule did: for a deadline ``opened``, ``fulfilled``,
    ``extended`` or ``cancelled`` (the event that did it is ``event_id``; which deadline,
    in ``values``); for a line about time moving (``event_id`` is :data:`CLOCK`) ``missed``
    (a due time passed), ``escalated``, or the kind of finding a closed period or a window
    made (``violation``, ``insufficient_sample`` …). ``None`` when the rule judged or only
    recorded the event.
    """

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
    action: str | None = None

    @property
    def verdict(self) -> str:
        """``did not apply``, ``held``, ``VIOLATED``, ``recorded``, or the action."""
        if not self.applied:
            return "did not apply"
        if self.action is not None:
            return self.action if self.held is not False else f"VIOLATED ({self.action})"
        if self.held is None:
            return "recorded"
        return "held" if self.held else "VIOLATED"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping of every field (values as JSON: numbers, text, lists)."""
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "rule_id": self.rule_id,
            "clause_id": self.clause_id,
            "kind": self.kind,
            "applied": self.applied,
            "held": self.held,
            "action": self.action,
            "values": {key: _jsonable(value) for key, value in self.values.items()},
            "violations": list(self.violations),
            "note": self.note,
        }

    def __str__(self) -> str:
        """One line for people: values as JSON, terminal controls escaped."""
        values = ", ".join(
            f"{k}={json.dumps(_jsonable(v), ensure_ascii=False, default=str)}"
            for k, v in self.values.items()
        )
        text = f"{self.event_id} {self.rule_id} ({self.kind}): {self.verdict}"
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
    that event's lines are returned, and the lines about time moving that concern it (its
    deadline missed); the others still run, so state is right. ``until`` moves event time
    on at the end: deadlines due by then are missed and periods closed, each a line. Fields
    the pack declares personal are shown as in violations: masked by default,
    pseudonymised, or (``evidence="include"``) as they are.
    """
    engine = Engine(pack, evidence=evidence, pseudonym_key=pseudonym_key)
    lines: list[Explanation] = []
    explained: set[str] = set()
    deadlines = _Deadlines(engine)

    def trace(
        rule: RuleRuntime, event: Mapping[str, Any], found: tuple[Violation, ...], services: Any
    ) -> None:
        if isinstance(rule, DeadlineRule):
            line = deadlines.explain(rule, event, found)
        else:
            line = _explain_one(rule, event, found, services)
        if line.values:
            protected = {key: engine._protect(key, value) for key, value in line.values.items()}
            line = attrs.evolve(line, values=protected)
        explained.update(line.violations)
        lines.append(line)

    def observe(_what: Mapping[str, Any], released: list[Violation]) -> None:
        # Findings no event's rule made: time moved past a due time or a period's end.
        for violation in released:
            if violation.id not in explained:
                explained.add(violation.id)
                lines.append(_clock_line(violation, pack))

    engine.tracer = trace
    engine.observers.append(observe)
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
        lines = [
            line
            for line in lines
            if line.event_id == event_id
            or (line.event_id == CLOCK and event_id in line.values.get("events", ()))
        ]
    return lines


def _clock_line(violation: Violation, pack: Pack) -> Explanation:
    action = {"violation": "missed", "escalation": "escalated"}.get(violation.kind)
    if action is None or (violation.due_at is None and action == "missed"):
        action = violation.kind  # a period closed or a window counted: no due time missed
    spec = pack.rule(violation.rule_id)
    values: dict[str, Any] = {"at": violation.at, "events": list(violation.event_ids)}
    if violation.due_at is not None:
        values["due_at"] = violation.due_at
    values.update({key: value for key, value in violation.subject.items() if key not in values})
    return Explanation(
        event_id=CLOCK,
        event_type="clock",
        rule_id=violation.rule_id,
        clause_id=violation.clause_id,
        kind=str(getattr(spec, "kind", "-")),
        applied=True,
        held=False if violation.is_breach else None,
        values=values,
        violations=(violation.id,),
        note=violation.message.en,
        action=action,
    )


class _Deadlines:
    """What each deadline rule did with an event: its open deadlines before and after.

    The rule's open deadlines are read after each event it handles and after each of its
    timers, so the difference an event makes is that event's doing.
    """

    def __init__(self, engine: Engine) -> None:
        self._open: dict[int, dict[tuple[Any, ...], tuple[str, int, str | None]]] = {}
        self._tz = engine.pack.tz
        for rule in engine._rules:
            if isinstance(rule, DeadlineRule):
                self._open[id(rule)] = {}
                rule.on_timer = self._after_timer(rule, rule.on_timer)  # type: ignore[method-assign]

    def _state(self, rule: DeadlineRule) -> dict[tuple[Any, ...], tuple[str, int, str | None]]:
        return {
            key: (pending.event_id, pending.due_us, pending.violation)
            for key, pending in rule._pending.items()
        }

    def _after_timer(self, rule: DeadlineRule, on_timer: Any) -> Any:
        def fired(token: Any, fire_us: int, services: Any) -> None:
            on_timer(token, fire_us, services)
            self._open[id(rule)] = self._state(rule)

        return fired

    def explain(
        self, rule: DeadlineRule, event: Mapping[str, Any], found: tuple[Violation, ...]
    ) -> Explanation:
        before = self._open[id(rule)]
        after = self._state(rule)
        self._open[id(rule)] = after
        spec = rule.spec
        base: dict[str, Any] = {
            "event_id": str(event.get("id")),
            "event_type": str(event.get("type")),
            "rule_id": rule.rule_id,
            "clause_id": rule.clause_id,
            "kind": rule.kind,
            "violations": tuple(v.id for v in found),
        }
        tz = self._tz
        this = str(event.get("id"))
        for key, (opened_by, due_us, _) in after.items():
            if opened_by == this and key not in before:
                values = {
                    **dict(zip(rule.key_fields, key, strict=False)),
                    "due_at": from_us(due_us, tz),
                }
                return Explanation(
                    **base,
                    applied=True,
                    held=None,
                    values=values,
                    action="opened",
                    note=f"opened a deadline due {from_us(due_us, tz).isoformat()}",
                )
        for key, (opened_by, due_us, missed) in before.items():
            values = {**dict(zip(rule.key_fields, key, strict=False)), "opened_by": opened_by}
            if key not in after:
                untils = spec.until if isinstance(spec.until, list) else [spec.until]
                fulfilled = event.get("type") in {f.event for f in untils}
                action = "fulfilled" if fulfilled else "cancelled"
                late = " (after it was missed)" if missed is not None and fulfilled else ""
                return Explanation(
                    **base,
                    applied=True,
                    held=None,
                    values=values,
                    action=action,
                    note=f"{action} the deadline opened by {opened_by}, due "
                    f"{from_us(due_us, tz).isoformat()}{late}",
                )
            new_due = after[key][1]
            if new_due != due_us and after[key][0] == opened_by:
                values["due_at"] = from_us(new_due, tz)
                return Explanation(
                    **base,
                    applied=True,
                    held=None,
                    values=values,
                    action="extended",
                    note=f"extended the deadline opened by {opened_by} from "
                    f"{from_us(due_us, tz).isoformat()} to {from_us(new_due, tz).isoformat()}",
                )
        if event.get("type") == spec.on:
            note = "opened no deadline: "
            key = tuple(event.get(name) for name in rule.key_fields)
            if key in before:
                note += f"one is already open for it (opened by {before[key][0]})"
            elif None in key:
                note += "a key field is empty"
            else:
                note += "the rule does not apply to this event (its 'when' or dates)"
            return Explanation(**base, applied=False, held=None, values={}, note=note)
        return Explanation(
            **base,
            applied=False,
            held=None,
            values={},
            note="no open deadline for this event's key (or its 'where' did not hold)",
        )


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
        "threshold": "counted in its window",
        "periodic_target": "counted for its period",
        "periodic_obligation": "counted for its period",
    }
    return Explanation(**base, applied=True, held=None, values={}, note=notes.get(rule.kind, ""))
