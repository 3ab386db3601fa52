"""What the durable rule runtimes share: plans, scopes, fact ids, in-force tests.

A rule's *plan* (its durable rules in JSON form and the layouts of its facts) depends on
the pack only, so it is made once per loaded pack and shared by every engine built from
it; the *runtime* (one per rule per engine) registers the plan's rules with the engine's
own host and holds the rule's state.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..expr import Scope
from ..expr._types import FieldType
from ..rules import CompileContext, RuleRuntime
from ..rules._base import Carried, CarryContext
from ._durable_conditions import Cond, all_of
from ._durable_host import Prepared, Program
from ._durable_values import number

__all__ = ["DurableRule", "Facts", "in_force_cond", "plans_of", "scope_for"]

T = TypeVar("T")

_PLANS: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()


def plans_of(owner: Any) -> dict[Any, Any]:
    """The plans made for one loaded pack (kept while the pack lives)."""
    found = _PLANS.get(owner)
    if found is None:
        found = _PLANS[owner] = {}
    return found


def scope_for(
    ctx: CompileContext,
    event_type: str,
    *,
    prior_type: str | None = None,
    fields: Mapping[str, FieldType] | None = None,
) -> Scope:
    """The scope a condition over ``event_type`` was compiled in (as the native rules do)."""
    own = fields if fields is not None else ctx.event_fields(event_type)
    assert own is not None
    prior = ctx.event_fields(prior_type) if prior_type is not None else None
    if prior is not None:
        prior = {name: FieldType(t.kind, True) for name, t in prior.items()}
    return Scope(
        fields=own,
        prior_fields=prior,
        params=ctx.params,
        constant_params=ctx.constant_params,
        tables=ctx.tables,
    )


def in_force_cond(rule: RuleRuntime, field: str) -> Cond:
    """A rule's effective dates as a test on an instant field (µs) of a fact."""
    tests: list[Cond] = []
    if rule.from_us is not None:
        tests.append({"$gte": {field: number(rule.from_us)}})
    if rule.to_us is not None:
        tests.append({"$lt": {field: number(rule.to_us)}})
    return all_of(tests)


class Facts:
    """Fresh fact ids for transient facts of one ruleset."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next = 0

    def next_id(self) -> str:
        self._next += 1
        return f"x{self._next}"


class DurableRule(RuleRuntime):
    """A rule whose matching runs in durable-rules.

    The native compile of the same spec (``native``) has checked it and supplies the
    pieces that are not matching (durations, parameter-dependent limits); the presentation
    attributes and the fingerprint are the native rule's, so violation ids, messages and
    snapshots are the same in both backends.
    """

    def __init__(
        self,
        native: RuleRuntime,
        ctx: CompileContext,
        program: Program,
        plans: dict[Any, Any],
    ) -> None:
        super().__init__(native.spec, ctx)
        self.native = native
        self.program = program
        self.key_fields = native.key_fields
        self.fingerprint = native.fingerprint
        self.counts_findings = native.counts_findings
        self.facts = Facts()
        self.ruleset = ""
        self._plans = plans

    def shape_parts(self) -> Any:
        """The native rule's (both backends carry state over alike)."""
        return self.native.shape_parts()

    def carry(self, state: Any, context: CarryContext) -> Carried:
        """The native rule's carry-over: it works on the state's data only."""
        return self.native.carry(state, context)

    def plan(self, build: Callable[[], T]) -> T:
        """This rule's plan, made once per pack."""
        key = (type(self).__name__, self.rule_id)
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = build()
        return found

    def register(self, rules: Prepared) -> None:
        """Register this rule's durable rules (one ruleset per commitrules rule)."""
        self.ruleset = self.program.ruleset(self.rule_id, rules)

    def in_force_cond(self, field: str) -> Cond:
        """The rule's effective dates as a test on an instant field (µs) of a fact."""
        return in_force_cond(self, field)
