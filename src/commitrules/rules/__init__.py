"""Rule kinds: the one place where a kind is registered.

Adding a kind touches its module (spec, compile, runtime), this registry and its tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field

from . import check, deadline, periodic, precedence, threshold
from ._base import CompileContext, Finding, RuleRuntime, RuleSpecBase, RuntimeServices

__all__ = [
    "RULE_KINDS",
    "CompileContext",
    "Finding",
    "RuleRuntime",
    "RuleSpec",
    "RuleSpecBase",
    "RuntimeServices",
    "compile_rule",
]

RULE_KINDS: dict[str, tuple[type[RuleSpecBase], Callable[[Any, CompileContext], RuleRuntime]]] = {
    "check": (check.CheckSpec, check.compile_rule),
    "precedence": (precedence.PrecedenceSpec, precedence.compile_rule),
    "deadline": (deadline.DeadlineSpec, deadline.compile_rule),
    "threshold": (threshold.ThresholdSpec, threshold.compile_rule),
    "periodic_target": (periodic.PeriodicTargetSpec, periodic.compile_target),
    "periodic_obligation": (periodic.PeriodicObligationSpec, periodic.compile_obligation),
}
"""kind name -> (its YAML spec model, its compile function)."""

if TYPE_CHECKING:
    RuleSpec = RuleSpecBase
else:
    RuleSpec = Annotated[
        Union[tuple(spec for spec, _ in RULE_KINDS.values())],  # noqa: UP007 - built from the registry
        Field(discriminator="kind"),
    ]
"""The YAML form of any rule: a union discriminated by ``kind``."""


def compile_rule(spec: RuleSpecBase, ctx: CompileContext) -> RuleRuntime:
    """Compile a validated spec with its kind's compiler."""
    kind: str = getattr(spec, "kind")  # noqa: B009 - every registered spec has a kind literal
    return RULE_KINDS[kind][1](spec, ctx)
