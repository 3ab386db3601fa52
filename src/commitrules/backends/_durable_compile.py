"""A pack's rules to durable-rules rulesets: one kind of runtime per rule kind."""

from __future__ import annotations

from ..errors import CommitRulesError, Location
from ..pack import Pack, PackRuntime
from ..rules import CompileContext, RuleRuntime
from ..rules.check import CheckRule
from ..rules.deadline import DeadlineRule
from ..rules.periodic import PeriodicObligationRule, PeriodicTargetRule
from ..rules.precedence import PrecedenceRule
from ..rules.threshold import ThresholdRule
from ._durable_base import plans_of
from ._durable_check import CheckGroup, DurableCheck
from ._durable_deadline import DurableDeadline
from ._durable_host import Program
from ._durable_periodic import DurablePeriodicObligation, DurablePeriodicTarget
from ._durable_precedence import DurablePrecedence
from ._durable_threshold import DurableThreshold

__all__ = ["compile_pack"]


def compile_pack(pack: Pack) -> PackRuntime:
    """A runtime whose rules match in durable-rules, in a Host of its own (one engine).

    The native compile of the pack (``pack.build()``) supplies the parameters, tables,
    calendar and router, and for each rule the pieces that are not matching.
    """
    native = pack.build()
    compiler = pack._compiler
    plans = plans_of(compiler)
    params = {name: p.field_type for name, p in compiler.parameters.items()}
    constants = {name: p.values[0][1] for name, p in compiler.parameters.items() if p.constant}
    tables = {name: t.info for name, t in compiler.tables.items()}
    program = Program()
    contexts: list[CompileContext] = []
    for placed in compiler.placed:
        contexts.append(
            CompileContext(
                catalog=compiler.catalog,
                params=params,
                constant_params=constants,
                param_values=lambda name: [],
                tables=tables,
                tz=compiler.tz,
                calendar=compiler.calendar,
                roles=compiler.roles,
                scope_fields=compiler.scope_fields,
                locate=lambda keys, p=placed: p.locate(keys),  # type: ignore[misc]
                cache=compiler.expressions,
                field_cache=compiler.field_types,
            )
        )
    checks = [
        (rule, ctx)
        for rule, ctx in zip(native.rules, contexts, strict=True)
        if isinstance(rule, CheckRule)
    ]
    group = CheckGroup(checks, program, plans) if checks else None
    rules: list[RuleRuntime] = []
    for native_rule, ctx in zip(native.rules, contexts, strict=True):
        if isinstance(native_rule, CheckRule):
            assert group is not None
            index = next(i for i, (rule, _) in enumerate(checks) if rule is native_rule)
            rules.append(DurableCheck(native_rule, ctx, program, plans, group, index))
        elif isinstance(native_rule, PrecedenceRule):
            rules.append(DurablePrecedence(native_rule, ctx, program, plans))
        elif isinstance(native_rule, DeadlineRule):
            rules.append(DurableDeadline(native_rule, ctx, program, plans))
        elif isinstance(native_rule, ThresholdRule):
            rules.append(DurableThreshold(native_rule, ctx, program, plans, native.rules))
        elif isinstance(native_rule, PeriodicTargetRule):
            rules.append(DurablePeriodicTarget(native_rule, ctx, program, plans))
        elif isinstance(native_rule, PeriodicObligationRule):
            rules.append(DurablePeriodicObligation(native_rule, ctx, program, plans))
        else:  # pragma: no cover - every registered kind is handled above
            msg = (
                f"the durable backend has no compiler for rules of kind {native_rule.kind!r}; "
                "use the native backend"
            )
            raise CommitRulesError(msg, Location(rule_id=native_rule.rule_id))
    return PackRuntime(
        rules=tuple(rules),
        timeline=native.timeline,
        tables=native.tables,
        calendar=native.calendar,
        router=native.router,
    )
