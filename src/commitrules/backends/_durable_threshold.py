"""``kind: threshold`` in durable-rules: which items count, and whether the value crosses.

Facts of the rule's ruleset, each asserted and retracted at once:

- ``e.<type>``: an event that may be counted; ``src<i>`` (in force ∧ ``where`` of the
  i-th source) says it counts, as numerator or denominator;
- ``fnd``: another rule's finding; ``finding`` (in force ∧ its rule is one the filter
  admits (clauses, rules; never a rule that counts findings itself) ∧ kind ∧ severity ∧
  group key set) says it counts;
- ``obs``: the group's measure before and after the new item, as exact integers
  (``value op limit`` with value = a/b and limit = p/q is ``a·q op p·b``):
  ``rearm``: the value before did not hold (or was not judged: too small a sample);
  ``fire``: the value after holds and (armed or rearm).

The window itself (the items' instants per group, dropped when they leave a sliding
window or at a new period, and the daily sweep of idle groups) is kept in Python exactly
as the native rule keeps it: durable-rules has no aggregate over a changing set of
facts (``count(n)`` batches every n matches, it does not measure a window).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from ..rules import CompileContext, Finding, RuleRuntime, RuntimeServices
from ..rules._base import key_getter
from ..rules.threshold import ThresholdRule, ThresholdWindows, _Group
from ._durable_base import DurableRule, in_force_cond, scope_for
from ._durable_conditions import Cond, ConditionTranslator, FactLayout, any_of, pattern
from ._durable_host import Prepared, Program, prepare
from ._durable_values import FALSE, NONE, TRUE, encode, number

__all__ = ["DurableThreshold"]

_OPPOSITE = {"$lt": "$gte", "$lte": "$gt", "$gt": "$lte", "$gte": "$lt"}
_OPS = {">=": "$gte", ">": "$gt", "<=": "$lte", "<": "$lt"}


@attrs.frozen
class _Plan:
    rules: Prepared
    sources: dict[int, tuple[bool, bool]]  # rule number -> (numerator, denominator)
    layouts: dict[str, FactLayout]


def _plan(
    native: ThresholdRule, ctx: CompileContext, rules_of_pack: tuple[RuleRuntime, ...]
) -> _Plan:
    spec = native.spec
    keys = [f"_k{index}" for index in range(len(native.group_by))]
    in_force = in_force_cond(native, "_at")
    rules: dict[str, dict[str, Any]] = {}
    # Sources: (event type, where, numerator, denominator) in the native order.
    items: list[tuple[str, str | None, bool, bool]] = []
    if spec.count is not None:
        counted = spec.count if isinstance(spec.count, list) else [spec.count]
        items += [(item.event, item.where, True, False) for item in counted]
    elif spec.ratio is not None:
        numerator, denominator = spec.ratio.numerator, spec.ratio.denominator
        items.append((numerator.event, numerator.where, True, False))
        items.append((denominator.event, denominator.where, False, True))
    sources: dict[int, tuple[bool, bool]] = {}
    layouts: dict[str, FactLayout] = {}
    for index, (event_type, where_text, counts_up, counts_down) in enumerate(items):
        if event_type not in ctx.catalog:
            continue
        layout = layouts.setdefault(event_type, FactLayout())
        where: Cond = True
        if where_text:
            translator = ConditionTranslator(
                scope_for(ctx, event_type), layout, rule_id=native.rule_id
            )
            where = translator.translate(where_text)[0]
        found = pattern("e." + event_type, in_force, where)
        if found is not None:
            rules[f"src{index}"] = {"all": [{"m": found}]}
        sources[index] = (counts_up, counts_down)
    if spec.count_findings is not None:
        admitted = _admitted(native, spec.count_findings, rules_of_pack)
        kinds = spec.count_findings.kinds
        severities = spec.count_findings.severities
        found = pattern(
            "fnd",
            in_force,
            any_of([{"_rule": encode(rule_id)} for rule_id in admitted]),
            any_of([{"_kind": encode(kind)} for kind in kinds]) if kinds else True,
            any_of([{"_sev": encode(s)} for s in severities]) if severities else True,
            *({"$neq": {key: NONE}} for key in keys),
        )
        if found is not None:
            rules["finding"] = {"all": [{"m": found}]}
    op = _OPS[spec.op]
    before_fails = any_of([{"_bok": FALSE}, {_OPPOSITE[op]: {"_bl": {"$m": "_br"}}}])
    rearm = pattern("obs", before_fails)
    fire = pattern(
        "obs",
        {"_aok": TRUE},
        {op: {"_al": {"$m": "_ar"}}},
        any_of([{"_armed": TRUE}, before_fails]),
    )
    assert rearm is not None
    assert fire is not None
    rules["rearm"] = {"all": [{"m": rearm}]}
    rules["fire"] = {"all": [{"m": fire}]}
    return _Plan(prepare(native.rule_id, rules), sources, layouts)


def _admitted(
    native: ThresholdRule, spec: Any, rules_of_pack: tuple[RuleRuntime, ...]
) -> list[str]:
    """The rules whose findings a threshold counts (decided when the pack loads)."""
    admitted: list[str] = []
    for rule in rules_of_pack:
        if rule.rule_id == native.rule_id or rule.counts_findings:
            continue
        if spec.rules and rule.rule_id not in spec.rules:
            continue
        if spec.clauses and not any(
            rule.clause_id == c or rule.clause_id.startswith(c + ".") for c in spec.clauses
        ):
            continue
        admitted.append(rule.rule_id)
    return admitted


class DurableThreshold(ThresholdWindows, DurableRule):
    """A threshold whose counting filters and crossing test run in durable-rules."""

    kind = "threshold"
    stateful = True

    def __init__(
        self,
        native: ThresholdRule,
        ctx: CompileContext,
        program: Program,
        plans: Any,
        rules_of_pack: tuple[RuleRuntime, ...],
    ) -> None:
        super().__init__(native, ctx, program, plans)
        self.group_by = native.group_by
        self._key_of = key_getter(self.group_by)
        self._groups: dict[tuple[Any, ...], _Group] = {}
        self._window_us = native._window_us
        self._sweep_scheduled = False
        self._period = native._period
        self._is_ratio = native._is_ratio
        self._min_sample = native._min_sample
        self._limit_param = native._limit_param
        self._limit_value = native._limit_value
        self._op = native.spec.op
        self._keys = [f"_k{index}" for index in range(len(self.group_by))]
        plan = self.plan(lambda: _plan(native, ctx, rules_of_pack))
        self._sources = plan.sources
        self._layouts = plan.layouts
        for event_type in plan.layouts:
            self.on_release[event_type] = self._make_handler(event_type)
        self.register(plan.rules)

    # -- counting ----------------------------------------------------------------------------
    def _make_handler(self, event_type: str) -> Any:
        layout = self._layouts[event_type]
        kind = "e." + event_type

        def handle(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
            fact = layout.values(event, services)
            fact.update(t=kind, id=self.facts.next_id(), _at=number(at_us))
            fired = self.program.probe(self.ruleset, fact)
            if not fired:
                return
            key = self._key_of(event)
            for index in sorted(int(name[3:]) for name, _match in fired):
                numerator, denominator = self._sources[index]
                self._add(
                    key,
                    at_us,
                    event["at"],
                    event["id"],
                    self.scope_of(event),
                    services,
                    numerator=numerator,
                    denominator=denominator,
                )

        return handle

    def on_finding(self, finding: Finding, services: RuntimeServices) -> None:
        if finding.rule is self or not self.counts_findings:
            return
        values = {**finding.scope, **finding.subject}
        key = tuple(values.get(name) for name in self.group_by)
        rule = finding.rule
        fact = {name: encode(value) for name, value in zip(self._keys, key, strict=True)}
        fact.update(
            t="fnd",
            id=self.facts.next_id(),
            _at=number(finding.at_us),
            _rule=encode(rule.rule_id),
            _kind=encode(finding.kind),
            _sev=encode(finding.severity or rule.severity),
        )
        if not self.program.probe(self.ruleset, fact):
            return
        self._count_finding(key, finding, services)

    def _admits(self, at_us: int) -> bool:
        return True  # the rules' in-force test is part of the durable rules that count

    def _crosses(
        self,
        group: _Group,
        before: Fraction | int | None,
        after: Fraction | int | None,
        limit: Decimal,
    ) -> bool:
        # The crossing is decided by durable rules on the measures as exact integers.
        bound = Fraction(limit)
        fact: dict[str, Any] = {"t": "obs", "id": self.facts.next_id()}
        fact["_armed"] = TRUE if group.armed else FALSE
        for prefix, measured in (("_b", before), ("_a", after)):
            fact[prefix + "ok"] = FALSE if measured is None else TRUE
            left, right = _cross(measured, bound)
            fact[prefix + "l"] = number(left)
            fact[prefix + "r"] = number(right)
        fired = {name for name, _match in self.program.probe(self.ruleset, fact)}
        if "rearm" in fired:
            group.armed = True
        return "fire" in fired


def _cross(value: Fraction | int | None, limit: Fraction) -> tuple[int, int]:
    """``value op limit`` as ``left op right`` on integers (0, 0 when there is no value)."""
    if value is None:
        return 0, 0
    measured = Fraction(value)
    return measured.numerator * limit.denominator, limit.numerator * measured.denominator
