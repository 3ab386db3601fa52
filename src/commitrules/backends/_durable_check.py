"""``kind: check`` in durable-rules: all the checks of a pack share one network.

An accepted event is one fact (``t == 'e.<type>'``), asserted once into the checks'
ruleset (a second one from 200 checks on: durable-rules hangs from 512 rules in one
ruleset), where every check on that type has two rules::

    v<i>_<j>: t == 'e.<type>' ∧ in force ∧ when ∧ not require      (or ∧ forbid)
    h<i>_<j>: t == 'e.<type>' ∧ _track ∧ in force ∧ when ∧ require  (or ∧ not forbid)

Every rule that matches fires (a fact, not a posted event), then the fact is retracted.
The checks' fields and computed attributes are written into the fact once for all of
them. Each check rule then reports its own verdict in the engine's rule order, so
findings come out in the same order as from the native checks.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..rules import CompileContext, RuntimeServices
from ..rules.check import CheckRule, emit_violated
from ._durable_base import DurableRule, Facts, in_force_cond, scope_for
from ._durable_conditions import ConditionTranslator, FactLayout, pattern
from ._durable_host import MAX_RULES, Prepared, Program, expand, prepare
from ._durable_values import FALSE, TRUE, number

__all__ = ["CheckGroup", "DurableCheck"]

_PER_RULESET = MAX_RULES - 100


@attrs.frozen
class _ChecksPlan:
    layouts: dict[str, FactLayout]  # event type -> the fact of that type
    chunks: tuple[Prepared | None, ...]  # the rules, by ruleset
    chunks_of: dict[str, tuple[int, ...]]  # event type -> the rulesets with rules for it


def _plan(checks: list[tuple[CheckRule, CompileContext]]) -> _ChecksPlan:
    layouts: dict[str, FactLayout] = {}
    chunks: list[dict[str, dict[str, Any]]] = [{}]
    chunks_of: dict[str, set[int]] = {}
    for index, (native, ctx) in enumerate(checks):
        spec = native.spec
        body_text = spec.require if spec.require is not None else spec.forbid
        assert body_text is not None
        rules: dict[str, dict[str, Any]] = {}
        types: list[str] = []
        in_force = in_force_cond(native, "_at")
        for position, (event_type, conditions) in enumerate(native._conditions.items()):
            obligation = conditions[2]
            layout = layouts.setdefault(event_type, FactLayout())
            translator = ConditionTranslator(
                scope_for(ctx, event_type), layout, rule_id=native.rule_id
            )
            applies = translator.translate(spec.when)[0] if spec.when else True
            holds, fails = translator.translate(body_text)
            violated, held = (fails, holds) if obligation else (holds, fails)
            kind = "e." + event_type
            found = pattern(kind, in_force, applies, violated)
            if found is not None:
                rules[f"v{index}_{position}"] = {"all": [{"m": found}]}
            found = pattern(kind, {"_track": TRUE}, in_force, applies, held)
            if found is not None:
                rules[f"h{index}_{position}"] = {"all": [{"m": found}]}
            types.append(event_type)
        rules = expand(native.rule_id, rules)  # what counts towards the ruleset's size
        if len(chunks[-1]) + len(rules) > _PER_RULESET:
            chunks.append({})
        chunks[-1].update(rules)
        if rules:
            for event_type in types:
                chunks_of.setdefault(event_type, set()).add(len(chunks) - 1)
    return _ChecksPlan(
        layouts=layouts,
        chunks=tuple(prepare("checks", chunk) if chunk else None for chunk in chunks),
        chunks_of={kind: tuple(sorted(found)) for kind, found in chunks_of.items()},
    )


class CheckGroup:
    """The checks of one engine: their rulesets, and the verdicts for the current event."""

    def __init__(
        self,
        checks: list[tuple[CheckRule, CompileContext]],
        program: Program,
        plans: dict[Any, Any],
    ) -> None:
        plan = plans.get("checks")
        if plan is None:
            plan = plans["checks"] = _plan(checks)
        assert isinstance(plan, _ChecksPlan)
        self._plan = plan
        self.program = program
        names = ["" if chunk is None else program.ruleset("checks", chunk) for chunk in plan.chunks]
        self._rulesets = {
            kind: tuple(names[index] for index in found) for kind, found in plan.chunks_of.items()
        }
        self._facts = Facts()
        self._event: dict[str, Any] | None = None
        self._verdicts: dict[int, bool] = {}

    def verdicts(
        self, event: dict[str, Any], at_us: int, services: RuntimeServices
    ) -> dict[int, bool]:
        """check index -> violated (True) or held (False), for the checks that applied."""
        if self._event is event:
            return self._verdicts
        event_type = event["type"]
        fact = self._plan.layouts[event_type].values(event, services)
        fact["t"] = "e." + event_type
        fact["_at"] = number(at_us)
        fact["_track"] = TRUE if services.tracking else FALSE
        verdicts: dict[int, bool] = {}
        for ruleset in self._rulesets.get(event_type, ()):
            fact["id"] = self._facts.next_id()
            for name, _match in self.program.probe(ruleset, dict(fact)):
                verdicts[int(name[1:].split("_", 1)[0])] = name[0] == "v"
        # The event stays referenced, so its id cannot be reused by another event.
        self._event = event
        self._verdicts = verdicts
        return verdicts


class DurableCheck(DurableRule):
    """A check whose decision is made in the checks' shared durable network."""

    kind = "check"

    def __init__(
        self,
        native: CheckRule,
        ctx: CompileContext,
        program: Program,
        plans: dict[Any, Any],
        group: CheckGroup,
        index: int,
    ) -> None:
        super().__init__(native, ctx, program, plans)
        self.group = group
        self.index = index
        for event_type, (when, body, _obligation) in native._conditions.items():
            fields = tuple(dict.fromkeys((*(when.fields if when else ()), *body.fields)))
            params = tuple(dict.fromkeys((*(when.params if when else ()), *body.params)))
            self.on_accept[event_type] = self._handler(fields, params)

    def _handler(self, fields: tuple[str, ...], params: tuple[str, ...]) -> Any:
        group = self.group
        index = self.index

        def handle(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
            violated = group.verdicts(event, at_us, services).get(index)
            if violated is None:
                return
            if not violated:
                services.outcome(
                    self, "compliant", self.subject_of(event), event["at"], (event["id"],)
                )
                return
            emit_violated(self, event, at_us, fields, params, services)

        return handle
