"""``kind: precedence`` — an event requires an earlier matching event within a window.

.. code-block:: yaml

    - id: C3.suitability
      kind: precedence
      clause: C3.suitability
      on: sale
      when: "not professional_investor"
      requires:
        event: suitability_assessed
        match: [customer_id]                  # same values in both events
        where: "risk_level >= 1"              # optional filter on the earlier event alone
        within: {count: 12, unit: months}     # how long the earlier event stays valid
      condition: "product_risk <= prior.risk_level"   # optional, compares both events
      role: risk-compliance
      message: {zh: "…", en: "…"}
      message_missing: {zh: "…", en: "…"}     # optional: when there is no valid earlier event

The latest matching earlier event is the one that counts: an old assessment at a higher
level does not hide a newer, lower one. An earlier event at the same instant counts if it
arrived first. The finding is final when the watermark reaches the triggering event.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..eventtime import from_us, to_us
from ..expr import CompiledExpression
from ._base import (
    Bilingual,
    Carried,
    CarriedItem,
    CarryContext,
    CompileContext,
    DurationSpec,
    FieldRef,
    Finding,
    Name,
    ParamRef,
    RuleRuntime,
    RuleSpecBase,
    RuntimeServices,
    Spec,
    key_getter,
)

__all__ = ["PrecedenceRule", "PrecedenceSpec", "compile_rule"]

_DAY_US = 86_400_000_000


class PriorSpec(Spec):
    """The earlier event a precedence rule requires."""

    event: Name
    match: list[Name] = Field(min_length=1)
    where: str | None = Field(default=None, max_length=2000)
    within: DurationSpec


class PrecedenceSpec(RuleSpecBase):
    """The YAML form of a precedence rule."""

    kind: Literal["precedence"]
    on: Name
    when: str | None = Field(default=None, max_length=2000)
    requires: PriorSpec
    condition: str | None = Field(default=None, max_length=2000)
    message_missing: Bilingual | None = None


class PrecedenceRule(RuleRuntime):
    """A compiled precedence rule; state: the latest matching earlier event per key."""

    kind = "precedence"
    stateful = True

    def __init__(self, spec: PrecedenceSpec, ctx: CompileContext) -> None:
        super().__init__(spec, ctx)
        self.spec: PrecedenceSpec = spec
        prior = spec.requires
        self.match = tuple(prior.match)
        self._key_of = key_getter(self.match)
        if not self.key_fields:
            self.key_fields = self.match
        self._when: CompiledExpression | None = None
        self._where: CompiledExpression | None = None
        self._condition: CompiledExpression | None = None
        self._priors: dict[tuple[Any, ...], tuple[int, int, str, dict[str, Any]]] = {}
        self._sweeping = False
        self._limited = self.from_us is not None or self.to_us is not None
        ok = ctx.check_event_type(("on",), spec.on)
        ok = ctx.check_event_type(("requires", "event"), prior.event) and ok
        if not ok:
            return
        ctx.check_fields(("requires", "match"), spec.on, self.match)
        ctx.check_fields(("requires", "match"), prior.event, self.match)
        ctx.check_fields(("key",), spec.on, self.key_fields)
        if spec.when:
            self._when = ctx.expression(("when",), spec.when, spec.on)
        if prior.where:
            self._where = ctx.expression(("requires", "where"), prior.where, prior.event)
        if spec.condition:
            self._condition = ctx.expression(
                ("condition",), spec.condition, spec.on, prior_type=prior.event
            )
        self._valid_until = ctx.duration_function(("requires", "within"), prior.within, prior.event)
        self._slack_us = _sweep_slack(prior.within, ctx)
        keep = set(self._condition.prior_fields) if self._condition else set()
        self._prior_fields = tuple(sorted(keep))
        self.missing_message = (
            (spec.message_missing.zh, spec.message_missing.en) if spec.message_missing else None
        )
        self.on_release[prior.event] = self._on_prior
        # A trigger of the same type as the prior (rare) is judged before it is stored.
        trigger = self._on_trigger
        if prior.event == spec.on:
            store = self._on_prior

            def both(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
                trigger(event, at_us, services)
                store(event, at_us, services)

            self.on_release[spec.on] = both
        else:
            self.on_release[spec.on] = trigger

    def _on_prior(self, event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
        if self._where is not None and not self._where.function(event, None, services):
            return
        key = self._key_of(event)
        if None in key:
            return
        valid_until = (
            self._valid_until(at_us, event, services.params) if self._valid_until else at_us
        )
        kept = _NONE
        if self._prior_fields:
            kept = {}
            for name in self._prior_fields:  # a loop: no comprehension's frame per prior
                kept[name] = event.get(name)
        priors = self._priors
        # To the end: the dict stays in event-time order (what the daily sweep relies on).
        priors.pop(key, None)
        priors[key] = (at_us, valid_until, event["id"], kept)
        if not self._sweeping:
            # One sweep a day forgets expired priors (instead of a timer per prior).
            services.schedule(at_us + _DAY_US, self, "sweep")
            self._sweeping = True

    def _on_trigger(self, event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
        if self._limited and not self.in_force(at_us):
            return
        if self._when is not None and not self._when.function(event, None, services):
            return
        stored = self._priors.get(self._key_of(event))
        if stored is None or stored[1] < at_us:
            verdict = "missing" if stored is None else "expired"
        elif self._condition is None or self._condition.function(event, stored[3], services):
            if not services.tracking:
                return  # held, and no outcome wanted: nothing to do
            verdict = "held"
        else:
            verdict = "violated"
        judge(self, verdict, stored, event, at_us, services)

    def explain(self, event: dict[str, Any], services: RuntimeServices) -> dict[str, Any]:
        """How the rule saw an event: as the trigger (with the prior it found) or as a prior."""
        if event["type"] != self.spec.on:
            return {"role": "prior", "values": {n: event.get(n) for n in self.match}}
        if self._when is not None and not self._when.function(event, None, services):
            return {"role": "trigger", "applies": False, "values": {}}
        stored = self._priors.get(self._key_of(event))
        values: dict[str, Any] = {name: event.get(name) for name in self.match}
        if stored is None or stored[1] < to_us(event["at"]):
            values["prior"] = None
            return {"role": "trigger", "applies": True, "held": False, "values": values}
        values["prior_id"] = stored[2]
        values.update({f"prior.{k}": v for k, v in stored[3].items()})
        held = self._condition is None or bool(self._condition.function(event, stored[3], services))
        if self._condition is not None:
            values.update({k: event.get(k) for k in self._condition.fields})
        return {"role": "trigger", "applies": True, "held": held, "values": values}

    def on_timer(self, token: Any, fire_us: int, services: RuntimeServices) -> None:
        if self._slack_us is not None:
            # Priors are in event-time order and a later one is valid at least until an
            # earlier one's end minus the slack: past an end that far ahead, none expired.
            horizon = fire_us + self._slack_us
            expired = []
            for key, stored in self._priors.items():
                if stored[1] >= horizon:
                    break
                if stored[1] < fire_us:
                    expired.append(key)
        else:
            expired = [key for key, stored in self._priors.items() if stored[1] < fire_us]
        for key in expired:
            del self._priors[key]
        if self._priors:
            services.schedule(fire_us + _DAY_US, self, "sweep")
        else:
            self._sweeping = False

    def state(self) -> Any:
        return {
            "sweeping": self._sweeping,
            "priors": [[list(key), *value] for key, value in self._priors.items()],
        }

    def restore(self, state: Any) -> None:
        self._sweeping = bool(state["sweeping"])
        self._priors.clear()
        priors = [
            (tuple(key), (int(at), int(until), str(pid), dict(values)))
            for key, at, until, pid, values in state["priors"]
        ]
        # In event-time order, as stored (stable: ties keep their order); an older
        # snapshot or an edited one need not list them so.
        priors.sort(key=lambda item: item[1][0])
        self._priors.update(priors)

    # -- pack upgrades -----------------------------------------------------------------
    def shape_parts(self) -> Any:
        """The priors kept depend on which events are priors and which of their fields the
        condition reads; the window and the condition itself may change."""
        prior = self.spec.requires
        return {
            "on": self.spec.on,
            "prior": prior.event,
            "where": prior.where,
            "match": list(prior.match),
            "kept": list(self._prior_fields),
        }

    def carry(self, state: Any, context: CarryContext) -> Carried:
        """Each prior's validity recomputed under the (possibly new) window."""
        valid_until = self._valid_until
        priors = []
        items = []
        field_count = isinstance(self.spec.requires.within.count, FieldRef)
        for key, at, until, pid, values in state["priors"]:
            new_until = int(until)
            if valid_until is not None and not field_count:
                new_until = int(valid_until(int(at), {}, context.params_at(int(at))))
            if new_until != int(until):
                items.append(
                    CarriedItem(
                        self.rule_id,
                        dict(zip(self.match, key, strict=False)),
                        "recomputed",
                        "the prior's validity recomputed under the new window",
                        int(until),
                        new_until,
                    )
                )
            priors.append([key, at, new_until, pid, values])
        return Carried(state={"sweeping": state["sweeping"], "priors": priors}, items=items)


def compile_rule(spec: PrecedenceSpec, ctx: CompileContext) -> PrecedenceRule:
    """Compile a precedence spec."""
    return PrecedenceRule(spec, ctx)


_DAY_SLACK_US = 5 * _DAY_US
#: The fields kept of a prior when the condition reads none (shared, never written).
_NONE: dict[str, Any] = {}


def _sweep_slack(within: DurationSpec, ctx: CompileContext) -> int | None:
    """How much earlier a later prior's validity can end than an earlier one's (µs).

    None when it is unbounded (a count read from the event, or a parameter that changes
    over time): the sweep then reads every prior. A fixed count ends validity at a time
    that never goes back as the start moves on for elapsed time and for anything up to
    the end of a day; for day-based units at the same wall time it can go back by less
    than a few days (31 January + 1 month and 28 January + 1 month both end on
    28 February; a Friday night and the Saturday morning after both end on Monday; a
    daylight-saving change).
    """
    count = within.count
    if not (
        isinstance(count, int)
        or (isinstance(count, ParamRef) and count.param in ctx.constant_params)
    ):
        return None
    if within.end_of_day or within.unit in ("minutes", "hours"):
        return 0
    return _DAY_SLACK_US


Prior = tuple[int, int, str, dict[str, Any]]
"""A kept earlier event: (at µs, valid until µs, event id, the fields the condition reads)."""


def judge(
    rule: PrecedenceRule,
    verdict: str,
    stored: Prior | None,
    event: dict[str, Any],
    at_us: int,
    services: RuntimeServices,
) -> None:
    """Act on a verdict (held, violated, missing, expired) on a triggering event.

    Both backends call this, so findings and outcomes are the same.
    """
    if verdict == "held":
        assert stored is not None
        if services.tracking:
            subject = rule.subject_of(event)
            services.outcome(rule, "compliant", subject, event["at"], (event["id"], stored[2]))
        return
    evidence: dict[str, Any] = {name: event.get(name) for name in rule.match}
    if rule._condition is not None:
        for name in rule._condition.fields:
            evidence[name] = event.get(name)
    message = None
    event_ids: tuple[str, ...] = (event["id"],)
    if verdict in ("missing", "expired"):
        evidence["prior"] = None
        if stored is not None:
            evidence["prior_expired_at"] = from_us(stored[1], services.tz)
            evidence["prior_id"] = stored[2]
        message = rule.missing_message
    else:
        assert stored is not None
        prior_at, _valid_until, prior_id, prior_values = stored
        evidence["prior_id"] = prior_id
        evidence["prior_at"] = from_us(prior_at, services.tz)
        for name, value in prior_values.items():
            evidence[f"prior.{name}"] = value
        event_ids = (event["id"], prior_id)
    services.emit(
        Finding(
            rule=rule,
            at_us=at_us,
            at=event["at"],
            event_ids=event_ids,
            subject=rule.subject_of(event),
            evidence=evidence,
            scope=rule.scope_of(event),
            message=message,
            context=event,
        )
    )
