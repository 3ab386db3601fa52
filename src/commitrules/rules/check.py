"""``kind: check`` — an obligation or a prohibition on one event.

.. code-block:: yaml

    - id: C1.recording
      kind: check
      clause: C1
      on: sale
      when: "product_risk >= params.recording_min_product_risk"   # optional applicability
      require: "recorded"                                  # obligation, or
      # forbid: "..."                                      # prohibition
      role: risk-compliance
      severity: high
      key: [customer_id, product_id]
      message: {zh: "…", en: "Sale of {product_id} was not recorded"}

A check is final at once: it is evaluated when the event is accepted.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from types import CodeType
from typing import Any, Literal

from pydantic import Field, model_validator

from ..expr import CompiledExpression
from ._base import CompileContext, Finding, RuleRuntime, RuleSpecBase, RuntimeServices

__all__ = ["CheckRule", "CheckSpec", "compile_rule", "emit_violated", "fuse_checks"]


class CheckSpec(RuleSpecBase):
    """The YAML form of a check rule."""

    kind: Literal["check"]
    on: str | list[str]
    when: str | None = Field(default=None, max_length=2000)
    require: str | None = Field(default=None, max_length=2000)
    forbid: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _one_of_require_forbid(self) -> CheckSpec:
        if (self.require is None) == (self.forbid is None):
            msg = (
                "a check needs exactly one of 'require' (an obligation) or 'forbid' (a prohibition)"
            )
            raise ValueError(msg)
        return self

    @property
    def event_types(self) -> list[str]:
        """The event types the check applies to."""
        return [self.on] if isinstance(self.on, str) else list(self.on)


class CheckRule(RuleRuntime):
    """A compiled check."""

    kind = "check"

    def __init__(self, spec: CheckSpec, ctx: CompileContext) -> None:
        super().__init__(spec, ctx)
        self.spec: CheckSpec = spec
        self._conditions: dict[str, tuple[CompiledExpression | None, CompiledExpression, bool]] = {}
        on_path: tuple[str | int, ...] = ("on",)
        for index, event_type in enumerate(spec.event_types):
            path = on_path if isinstance(spec.on, str) else (*on_path, index)
            if not ctx.check_event_type(path, event_type):
                continue
            ctx.check_fields(("key",), event_type, spec.key)
            when = ctx.expression(("when",), spec.when, event_type) if spec.when else None
            body_key = "require" if spec.require is not None else "forbid"
            body_text = spec.require if spec.require is not None else spec.forbid
            assert body_text is not None
            body = ctx.expression((body_key,), body_text, event_type)
            if body is None:
                continue
            self._conditions[event_type] = (when, body, spec.require is not None)
            self.on_accept[event_type] = self._make_handler(when, body, spec.require is not None)

    def _make_handler(
        self, when: CompiledExpression | None, body: CompiledExpression, obligation: bool
    ) -> Any:
        # What the engine runs untraced is fuse_checks' function; this one, rule by rule,
        # serves the tracer. Both call out through _violated and _held.
        when_fn = when.function if when is not None else None
        body_fn = body.function
        violated = _violated(self, *_read(when, body))
        compliant = _held(self)
        in_force = self.in_force
        limited = self.from_us is not None or self.to_us is not None

        def handle(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
            if limited and not in_force(at_us):
                return
            if when_fn is not None and not when_fn(event, None, services):
                return
            held = bool(body_fn(event, None, services))
            if held is obligation:
                if services.tracking:
                    compliant(event, services)
                return
            violated(event, at_us, services)

        return handle

    def explain(self, event: dict[str, Any], services: RuntimeServices) -> dict[str, Any] | None:
        """Whether the check applied to the event, whether it held, and the values it read."""
        conditions = self._conditions.get(event["type"])
        if conditions is None:
            return None
        when, body, obligation = conditions
        applies = when is None or bool(when.function(event, None, services))
        values = {name: event.get(name) for name in (*(when.fields if when else ()), *body.fields)}
        result: dict[str, Any] = {"applies": applies, "values": values}
        if applies:
            held = bool(body.function(event, None, services))
            result["held"] = held is obligation
        return result


def _read(
    when: CompiledExpression | None, body: CompiledExpression
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The fields and the parameters a check reads (its evidence), in order, once each."""
    fields = tuple(dict.fromkeys((*(when.fields if when else ()), *body.fields)))
    params = tuple(dict.fromkeys((*(when.params if when else ()), *body.params)))
    return fields, params


def fuse_checks(rules: Sequence[CheckRule], event_type: str) -> Any:
    """One generated function judging every check of an event type, in order.

    Each check's handler makes three calls (itself, its 'when', its body); the fused
    function evaluates the conditions inline and calls out only for a finding or an
    outcome, so a type with many checks costs much less per check. The conditions are
    the compiled ones: their generated source, with the generated names of each
    (constants ``_kN``, temporaries ``_vN``) prefixed by its position; every value still
    lives in the function's globals, never in its source. Same results as the handlers,
    which the engine keeps for tracing. The code is generated once per process for a
    given set of conditions (every engine of a pack, every case of a pack's tests) and
    bound to each engine's rules.
    """
    conditions = [rule._conditions[event_type] for rule in rules]
    limited = [rule.from_us is not None or rule.to_us is not None for rule in rules]
    key = (
        event_type,
        tuple(
            (when.python_source if when else None, body.python_source, obligation, bounded)
            for (when, body, obligation), bounded in zip(conditions, limited, strict=True)
        ),
    )
    generated = _GENERATED_CODE.get(key)
    if generated is None:
        if len(_GENERATED_CODE) >= 1024:
            _GENERATED_CODE.clear()
        generated = _GENERATED_CODE[key] = _generate(event_type, conditions, limited)
    code, names = generated
    namespace: dict[str, Any] = {"__builtins__": {}}
    for position, (rule, (when, body, _), renamed) in enumerate(
        zip(rules, conditions, names, strict=True)
    ):
        for new, old, in_when in renamed:
            source = when if in_when and when is not None else body
            namespace[new] = source.function.__globals__[old]
        tag = f"_r{position}"
        fields, params = _read(when, body)
        namespace[f"{tag}_in_force"] = rule.in_force
        namespace[f"{tag}_violated"] = _violated(rule, fields, params)
        namespace[f"{tag}_held"] = _held(rule)
        namespace[f"{tag}_rule"] = rule
    namespace["_Exception"] = Exception
    exec(code, namespace)  # noqa: S102 - our own source: see the docstring
    return namespace["checks"]


#: (event type, the conditions' sources) -> (code, per rule: (global, its name, in 'when'))
_GENERATED_CODE: dict[tuple[Any, ...], tuple[CodeType, list[list[tuple[str, str, bool]]]]] = {}


def _generate(
    event_type: str,
    conditions: Sequence[tuple[CompiledExpression | None, CompiledExpression, bool]],
    limited: Sequence[bool],
) -> tuple[CodeType, list[list[tuple[str, str, bool]]]]:
    lines = ["def checks(e, at_us, ctx):", "    pr = None"]
    names: list[list[tuple[str, str, bool]]] = []
    for position, ((when, body, obligation), bounded) in enumerate(
        zip(conditions, limited, strict=True)
    ):
        tag = f"_r{position}"
        renamed: list[tuple[str, str, bool]] = []
        guard = [f"{tag}_in_force(at_us)"] if bounded else []
        if when is not None:
            guard.append(f"({_inline(when, tag + 'w', renamed, in_when=True)})")
        held = _inline(body, tag + "b", renamed, in_when=False)
        names.append(renamed)
        # Each check in its own try (free while nothing fails): a check that fails at run
        # time is reported by the engine and the others still judge the event.
        lines.append("    try:")
        indent = "        "
        if guard:
            lines.append(f"        if {' and '.join(guard)}:")
            indent = "            "
        lines.append(f"{indent}if {'not ' if obligation else ''}({held}):")
        lines.append(f"{indent}    {tag}_violated(e, at_us, ctx)")
        lines.append(f"{indent}elif ctx.tracking:")
        lines.append(f"{indent}    {tag}_held(e, ctx)")
        lines.append("    except _Exception as error:")
        lines.append(f"        ctx.rule_failed({tag}_rule, error, e)")
    code = compile("\n".join(lines) + "\n", f"<checks of {event_type}>", "exec")
    return code, names


def _inline(
    condition: CompiledExpression, tag: str, renamed: list[tuple[str, str, bool]], *, in_when: bool
) -> str:
    """A compiled condition's body as source, its generated names made unique by ``tag``;
    ``renamed`` receives (new global, the condition's global, in_when) for every value."""
    tree = ast.parse(condition.python_source, mode="eval")
    function = tree.body
    assert isinstance(function, ast.Lambda)
    for node in ast.walk(function.body):
        if not isinstance(node, ast.Name):
            continue
        if _GENERATED.fullmatch(node.id):
            if node.id.startswith("_k"):
                renamed.append((tag + node.id, node.id, in_when))
            node.id = tag + node.id
        elif node.id.startswith("_h_"):
            renamed.append((node.id, node.id, in_when))
    return ast.unparse(function.body)


_GENERATED = re.compile(r"_[kv][0-9]+")


def _violated(rule: CheckRule, fields: tuple[str, ...], params: tuple[str, ...]) -> Any:
    def violated(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
        emit_violated(rule, event, at_us, fields, params, services)

    return violated


def _held(rule: CheckRule) -> Any:
    def held(event: dict[str, Any], services: RuntimeServices) -> None:
        services.outcome(rule, "compliant", rule.subject_of(event), event["at"], (event["id"],))

    return held


def compile_rule(spec: CheckSpec, ctx: CompileContext) -> CheckRule:
    """Compile a check spec."""
    return CheckRule(spec, ctx)


def emit_violated(
    rule: RuleRuntime,
    event: dict[str, Any],
    at_us: int,
    fields: tuple[str, ...],
    params: tuple[str, ...],
    services: RuntimeServices,
) -> None:
    """The finding of a check an event broke, with the values the check read.

    Both backends call this, so findings are the same.
    """
    evidence = {name: event.get(name) for name in fields}
    param_values = services.params
    for name in params:
        evidence[f"params.{name}"] = param_values.get(name)
    services.emit(
        Finding(
            rule=rule,
            at_us=at_us,
            at=event["at"],
            event_ids=(event["id"],),
            subject=rule.subject_of(event),
            evidence=evidence,
            scope=rule.scope_of(event),
            context=event,
        )
    )
