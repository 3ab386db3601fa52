"""``kind: precedence`` in durable-rules: priors are facts, the trigger joins them.

Facts of the rule's ruleset:

- ``cand``: an earlier-type event, asserted and retracted at once; the rule ``accept``
  (its key fields set ∧ ``requires.where``) says whether it becomes the prior of its key;
- ``prior``: the latest accepted earlier event per key (the previous one of the key is
  retracted first), with its key ``_k<i>``, ``_until`` (the end of its validity, µs) and
  the fields the condition reads;
- ``e.trig``: the triggering event, asserted and retracted at once. Four rules join it::

    held:     prior ∧ trig(in force ∧ when ∧ keys = prior.keys ∧ _at <= prior._until ∧ condition)
    violated: prior ∧ trig(... ∧ _at <= prior._until ∧ not condition)
    expired:  prior ∧ trig(in force ∧ when ∧ keys = prior.keys ∧ _at > prior._until)
    missing:  trig(in force ∧ when) ∧ none(prior with keys = trig.keys)

- ``clock``: the instant of the daily sweep; ``expire`` (clock ∧ prior._until < clock._now)
  names the priors to forget, as the native rule's sweep does.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..rules import CompileContext, RuntimeServices
from ..rules._base import key_getter
from ..rules.precedence import PrecedenceRule, judge
from ._durable_base import DurableRule, in_force_cond, scope_for
from ._durable_conditions import Cond, ConditionTranslator, FactLayout, all_of, pattern
from ._durable_host import Prepared, Program, dumps, prepare
from ._durable_values import FALSE, NONE, TRUE, encode, number

__all__ = ["DurablePrecedence"]

_DAY_US = 86_400_000_000


@attrs.frozen
class _Plan:
    rules: Prepared
    trigger: FactLayout
    prior: FactLayout
    candidate: FactLayout


def _plan(native: PrecedenceRule, ctx: CompileContext) -> _Plan:
    spec = native.spec
    prior = spec.requires
    keys = [f"_k{index}" for index in range(len(native.match))]
    trigger_layout, prior_layout, candidate_layout = FactLayout(), FactLayout(), FactLayout()
    translator = ConditionTranslator(
        scope_for(ctx, spec.on, prior_type=prior.event),
        trigger_layout,
        rule_id=native.rule_id,
        prior_alias="p",
        prior_layout=prior_layout,
    )
    applies: Cond = translator.translate(spec.when)[0] if spec.when else True
    holds, fails = translator.translate(spec.condition) if spec.condition else (True, False)
    where: Cond = True
    if prior.where:
        where_translator = ConditionTranslator(
            scope_for(ctx, prior.event), candidate_layout, rule_id=native.rule_id
        )
        where = where_translator.translate(prior.where)[0]
    # The prior fact holds what the condition reads of it (the kept values).
    for name in native._prior_fields:
        prior_layout.field(name)
    same = all_of([{key: {"p": key}} for key in keys])
    trigger = "e.trig"
    live = [in_force_cond(native, "_at"), applies]
    valid = {"$lte": {"_at": {"p": "_until"}}}
    candidates = [
        ("accept", [{"m": pattern("cand", *({"$neq": {k: NONE}} for k in keys), where)}]),
        (
            "held",
            [
                {"p": pattern("prior")},
                {"m": pattern(trigger, {"_track": TRUE}, *live, same, valid, holds)},
            ],
        ),
        ("violated", [{"p": pattern("prior")}, {"m": pattern(trigger, *live, same, valid, fails)}]),
        (
            "expired",
            [
                {"p": pattern("prior")},
                {"m": pattern(trigger, *live, same, {"$gt": {"_at": {"p": "_until"}}})},
            ],
        ),
        (
            "missing",
            [
                {"m": pattern(trigger, *live)},
                {"n$not": pattern("prior", *({key: {"m": key}} for key in keys))},
            ],
        ),
        (
            "expire",
            [
                {"c": pattern("clock")},
                {"p": pattern("prior", {"$lt": {"_until": {"c": "_now"}}})},
            ],
        ),
    ]
    rules = {
        name: {"all": patterns}
        for name, patterns in candidates
        if all(next(iter(item.values())) is not None for item in patterns)
    }
    return _Plan(prepare(native.rule_id, rules), trigger_layout, prior_layout, candidate_layout)


class DurablePrecedence(DurableRule):
    """A precedence rule whose join and absence test run in durable-rules."""

    kind = "precedence"
    stateful = True

    def __init__(
        self, native: PrecedenceRule, ctx: CompileContext, program: Program, plans: Any
    ) -> None:
        super().__init__(native, ctx, program, plans)
        spec = native.spec
        prior = spec.requires
        self.match = native.match
        self._key_of = key_getter(self.match)
        self._valid_until = native._valid_until
        self._prior_fields = native._prior_fields
        self._condition = native._condition
        self.missing_message = native.missing_message
        self._priors: dict[tuple[Any, ...], tuple[int, int, str, dict[str, Any]]] = {}
        self._ids: dict[str, tuple[Any, ...]] = {}  # prior fact id -> key
        self._sweeping = False
        self._keys = [f"_k{index}" for index in range(len(self.match))]
        plan = self.plan(lambda: _plan(native, ctx))
        self._trigger = plan.trigger
        self._prior = plan.prior
        self._candidate = plan.candidate
        self.register(plan.rules)
        self.on_release[prior.event] = self._on_prior
        if prior.event == spec.on:
            store = self._on_prior
            judge = self._on_trigger

            def both(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
                judge(event, at_us, services)
                store(event, at_us, services)

            self.on_release[spec.on] = both
        else:
            self.on_release[spec.on] = self._on_trigger

    # -- facts -------------------------------------------------------------------------------
    def _key_fields(self, key: tuple[Any, ...]) -> dict[str, Any]:
        return {name: encode(value) for name, value in zip(self._keys, key, strict=True)}

    def _fact_id(self, key: tuple[Any, ...]) -> str:
        return "p" + dumps([encode(value) for value in key])

    def _store(
        self,
        key: tuple[Any, ...],
        entry: tuple[int, int, str, dict[str, Any]],
        services: RuntimeServices | None,
    ) -> None:
        fact_id = self._fact_id(key)
        if key in self._priors:
            self.program.retract_fact(self.ruleset, fact_id)
        fact = self._prior.values(entry[3], services)
        fact.update(self._key_fields(key))
        fact["t"] = "prior"
        fact["id"] = fact_id
        fact["_until"] = number(entry[1])
        fired = self.program.assert_fact(self.ruleset, fact)
        assert not fired, fired  # nothing joins a prior without a trigger or a clock
        self._priors.pop(key, None)  # in order of the last update, as the native rule keeps them
        self._priors[key] = entry
        self._ids[fact_id] = key

    def _forget(self, key: tuple[Any, ...]) -> None:
        fact_id = self._fact_id(key)
        self.program.retract_fact(self.ruleset, fact_id)
        del self._priors[key]
        del self._ids[fact_id]

    # -- reactions ---------------------------------------------------------------------------
    def _on_prior(self, event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
        key = self._key_of(event)
        fact = self._candidate.values(event, services)
        fact.update(self._key_fields(key))
        fact["t"] = "cand"
        fact["id"] = self.facts.next_id()
        if not self.program.probe(self.ruleset, fact):
            return
        valid_until = (
            self._valid_until(at_us, event, services.params) if self._valid_until else at_us
        )
        kept = {name: event.get(name) for name in self._prior_fields}
        self._store(key, (at_us, valid_until, event["id"], kept), services)
        if not self._sweeping:
            # One sweep a day forgets expired priors (as the native rule does).
            services.schedule(at_us + _DAY_US, self, "sweep")
            self._sweeping = True

    def _on_trigger(self, event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
        fact = self._trigger.values(event, services)
        fact.update(self._key_fields(self._key_of(event)))
        fact["t"] = "e.trig"
        fact["id"] = self.facts.next_id()
        fact["_at"] = number(at_us)
        fact["_track"] = TRUE if services.tracking else FALSE
        for name, match in self.program.probe(self.ruleset, fact):
            stored = self._priors[self._ids[match["p"]["id"]]] if "p" in match else None
            judge(self, name, stored, event, at_us, services)  # type: ignore[arg-type]

    def on_timer(self, token: Any, fire_us: int, services: RuntimeServices) -> None:
        clock = {"t": "clock", "id": "clock", "_now": number(fire_us)}
        fired = self.program.assert_fact(self.ruleset, clock)
        self.program.retract_fact(self.ruleset, "clock")
        for _name, match in fired:
            self._forget(self._ids[match["p"]["id"]])
        if self._priors:
            services.schedule(fire_us + _DAY_US, self, "sweep")
        else:
            self._sweeping = False

    # -- snapshots ---------------------------------------------------------------------------
    def state(self) -> Any:
        return {
            "sweeping": self._sweeping,
            "priors": [[list(key), *value] for key, value in self._priors.items()],
        }

    def restore(self, state: Any) -> None:
        for key in list(self._priors):
            self._forget(key)
        self._sweeping = bool(state["sweeping"])
        for key, at, until, pid, values in state["priors"]:
            entry = (int(at), int(until), str(pid), dict(values))
            self._store(tuple(key), entry, None)
