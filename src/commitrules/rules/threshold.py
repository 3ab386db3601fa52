"""``kind: threshold`` — a count or a ratio over a window per group crosses a limit.

.. code-block:: yaml

    - id: W1.complaint-surge
      kind: threshold
      clause: W1
      count: {event: complaint_received}          # count events, or
      # count_findings: {clauses: [C1, C3]}       # count the engine's own findings, or
      # ratio: {numerator: {...}, denominator: {...}, min_sample: 20}
      group_by: [branch_id]
      window: {sliding: {count: 24, unit: hours}}  # or {period: day|week|month|quarter|…}
      limit: {param: complaint_surge_limit}
      op: ">="                                     # fires when value op limit holds
      role: rights-protection-dept
      message: {zh: "…", en: "{value} complaints at {branch_id} within 24 h"}

It fires once when the value crosses the limit and re-arms when the value falls back.
A sliding window holds the items in ``(t - window, t]``. Findings of other thresholds that
count findings are not counted (no loops).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from pydantic import Field, model_validator

from ..eventtime import Period, from_us, period_of
from ..expr import CompiledExpression
from ..violations import FindingKind
from ._base import (
    Carried,
    CarryContext,
    CompileContext,
    DurationSpec,
    EventFilterSpec,
    Finding,
    Name,
    ParamRef,
    RuleRuntime,
    RuleSpecBase,
    RuntimeServices,
    Spec,
    key_getter,
)

__all__ = ["ThresholdRule", "ThresholdSpec", "ThresholdWindows", "compare", "compile_rule"]

Op = Literal[">=", ">", "<=", "<"]
PeriodName = Literal["day", "week", "month", "quarter", "half_year", "year"]


class FindingFilterSpec(Spec):
    """Which findings of the engine a threshold counts (empty lists mean any)."""

    clauses: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    severities: list[Literal["low", "medium", "high", "critical"]] = Field(default_factory=list)
    kinds: list[FindingKind] = Field(default_factory=lambda: list[FindingKind](["violation"]))


class RatioSpec(Spec):
    """numerator / denominator events, judged only from ``min_sample`` denominator events."""

    numerator: EventFilterSpec
    denominator: EventFilterSpec
    min_sample: int = Field(default=1, ge=1)


class WindowSpec(Spec):
    """A sliding duration, or a calendar period in the pack's zone."""

    sliding: DurationSpec | None = None
    period: PeriodName | None = None

    @model_validator(mode="after")
    def _one(self) -> WindowSpec:
        if (self.sliding is None) == (self.period is None):
            msg = "a window is either 'sliding' or 'period'"
            raise ValueError(msg)
        return self


class ThresholdSpec(RuleSpecBase):
    """The YAML form of a threshold rule."""

    kind: Literal["threshold"]
    count: EventFilterSpec | list[EventFilterSpec] | None = None
    count_findings: FindingFilterSpec | None = None
    ratio: RatioSpec | None = None
    group_by: list[Name] = Field(default_factory=list)
    window: WindowSpec
    limit: Decimal | ParamRef
    op: Op = ">="

    @model_validator(mode="after")
    def _one_measure(self) -> ThresholdSpec:
        if sum(x is not None for x in (self.count, self.count_findings, self.ratio)) != 1:
            msg = "a threshold measures exactly one of 'count', 'count_findings' or 'ratio'"
            raise ValueError(msg)
        return self


def compare(value: Fraction | int, op: str, limit: Fraction | int | Decimal) -> bool:
    """Exact comparison of a measured value with a limit (in integers: ``a/b`` against
    ``c/d`` as ``a*d`` against ``c*b``, denominators positive; no Fraction arithmetic)."""
    top, bottom = limit.as_integer_ratio()  # int, Fraction and Decimal alike
    left = value.numerator * bottom
    right = top * value.denominator
    if op == ">=":
        return left >= right
    if op == ">":
        return left > right
    if op == "<=":
        return left <= right
    return left < right


class _Group:
    __slots__ = ("armed", "denominator", "last_us", "numerator", "period_start")

    def __init__(self) -> None:
        self.numerator: list[int] = []
        self.denominator: list[int] = []
        self.armed = True
        self.last_us = 0
        self.period_start: int | None = None


class ThresholdWindows:
    """The windows of a threshold rule, shared by both backends.

    The group's items in their sliding window or calendar period, the limit, the value,
    the finding when the limit is crossed, the sweep of idle groups and the snapshots.
    Whether an item counts and whether the limit is crossed are the backend's
    (``_admits`` and ``_crosses``).
    """

    rule_id: str
    group_by: tuple[str, ...]
    _op: str
    _groups: dict[tuple[Any, ...], _Group]
    _window_us: int | None
    _sweep_scheduled: bool
    _period: PeriodName | None
    _is_ratio: bool
    _min_sample: int
    _limit_param: str | None
    _limit_value: Decimal | None

    def _admits(self, at_us: int) -> bool:
        raise NotImplementedError

    def _crosses(
        self,
        group: _Group,
        before: Fraction | int | None,
        after: Fraction | int | None,
        limit: Decimal,
    ) -> bool:
        """Whether adding the item crosses the limit (re-arming the group as it goes)."""
        raise NotImplementedError

    def _limit(self, services: RuntimeServices) -> Decimal:
        if self._limit_param is not None:
            return Decimal(services.params[self._limit_param])
        assert self._limit_value is not None
        return self._limit_value

    def _value(self, group: _Group) -> Fraction | int | None:
        if not self._is_ratio:
            return len(group.numerator)
        if len(group.denominator) < self._min_sample:
            return None
        return Fraction(len(group.numerator), len(group.denominator))

    def _add(
        self,
        key: tuple[Any, ...],
        at_us: int,
        at: Any,
        event_id: str | None,
        scope: dict[str, Any],
        services: RuntimeServices,
        *,
        numerator: bool,
        denominator: bool,
    ) -> None:
        if not self._admits(at_us):
            return
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group()
        window_start: int | None = None
        if self._window_us is not None:
            cutoff = at_us - self._window_us
            for items in (group.numerator, group.denominator):
                drop = bisect.bisect_right(items, cutoff)
                if drop:
                    del items[:drop]
            if not self._sweep_scheduled:
                services.schedule(at_us + self._window_us + 1, self, "sweep")  # type: ignore[arg-type]
                self._sweep_scheduled = True
        else:
            assert self._period is not None
            period: Period = period_of(at_us, self._period, services.tz)
            if group.period_start != period.start_us:
                group.numerator.clear()
                group.denominator.clear()
                group.period_start = period.start_us
                group.armed = True
            window_start = period.start_us
        limit = self._limit(services)
        before = self._value(group)
        if numerator:
            bisect.insort(group.numerator, at_us)
        if denominator:
            bisect.insort(group.denominator, at_us)
        group.last_us = max(group.last_us, at_us)
        value = self._value(group)
        if not self._crosses(group, before, value, limit):
            return
        assert value is not None
        group.armed = False
        subject = dict(zip(self.group_by, key, strict=True))
        evidence: dict[str, Any] = {
            "value": _show(value),
            "limit": str(limit),
            "op": self._op,
            "numerator": len(group.numerator),
        }
        if self._is_ratio:
            evidence["denominator"] = len(group.denominator)
        if window_start is not None:
            evidence["window_start"] = from_us(window_start, services.tz).isoformat()
        services.emit(
            Finding(
                rule=self,  # type: ignore[arg-type]
                at_us=at_us,
                at=at,
                event_ids=(event_id,) if event_id is not None else (),
                subject=subject,
                evidence=evidence,
                scope={**scope, **subject},
                moment_us=at_us,
            )
        )

    def _count_finding(
        self, key: tuple[Any, ...], finding: Finding, services: RuntimeServices
    ) -> None:
        """Count one of the engine's findings (it already passed the rule's filters)."""
        self._add(
            key,
            finding.at_us,
            finding.at,
            None,
            dict(finding.scope),
            services,
            numerator=True,
            denominator=False,
        )

    def on_timer(self, token: Any, fire_us: int, services: RuntimeServices) -> None:
        # Sweep: forget groups whose whole window has passed (bounded memory).
        assert self._window_us is not None
        cutoff = fire_us - 1 - self._window_us
        for key in [k for k, g in self._groups.items() if g.last_us <= cutoff]:
            del self._groups[key]
        if self._groups:
            services.schedule(fire_us + self._window_us, self, "sweep")  # type: ignore[arg-type]
        else:
            self._sweep_scheduled = False

    def state(self) -> Any:
        return {
            "sweep": self._sweep_scheduled,
            "groups": [
                [list(key), g.numerator, g.denominator, g.armed, g.last_us, g.period_start]
                for key, g in self._groups.items()
            ],
        }

    def shape_parts(self) -> Any:
        """The items kept depend on what is counted, by group, and in which kind of window;
        the limit, the operator and the window's length may change."""
        spec = self.spec  # type: ignore[attr-defined]
        return {
            "count": spec.model_dump(mode="json", include={"count", "count_findings", "ratio"}),
            "period": spec.window.period,
            "sliding": spec.window.sliding is not None,
        }

    def carry(self, state: Any, context: CarryContext) -> Carried:
        """The same items; whether each group is armed re-derived under the new limit."""
        watermark = context.watermark_us
        if watermark is None:
            return Carried(state=state)
        limit_param, limit_value = self._limit_param, self._limit_value
        params = context.params_at(watermark)
        limit = Decimal(params[limit_param]) if limit_param is not None else limit_value
        assert limit is not None
        groups = []
        for key, numerator, denominator, _armed, last_us, period_start in state["groups"]:
            group = _Group()
            group.numerator = [int(x) for x in numerator]
            group.denominator = [int(x) for x in denominator]
            if self._window_us is not None:
                cutoff = watermark - self._window_us
                group.numerator = [x for x in group.numerator if x > cutoff]
                group.denominator = [x for x in group.denominator if x > cutoff]
            value = self._value(group)
            crossing = value is not None and compare(value, self._op, limit)
            groups.append(
                [key, group.numerator, group.denominator, not crossing, last_us, period_start]
            )
        return Carried(state={"sweep": state["sweep"], "groups": groups})

    def restore(self, state: Any) -> None:
        self._sweep_scheduled = bool(state["sweep"])
        self._groups = {}
        for key, numerator, denominator, armed, last_us, period_start in state["groups"]:
            group = _Group()
            group.numerator = [int(x) for x in numerator]
            group.denominator = [int(x) for x in denominator]
            group.armed = bool(armed)
            group.last_us = int(last_us)
            group.period_start = period_start
            self._groups[tuple(key)] = group


class ThresholdRule(ThresholdWindows, RuleRuntime):
    """A compiled threshold; state: the items in the window and whether it is armed."""

    kind = "threshold"
    stateful = True

    def __init__(self, spec: ThresholdSpec, ctx: CompileContext) -> None:
        super().__init__(spec, ctx)
        self.spec: ThresholdSpec = spec
        self.group_by = tuple(spec.group_by)
        if not self.key_fields:
            self.key_fields = self.group_by
        self._groups: dict[tuple[Any, ...], _Group] = {}
        self._window_us: int | None = None
        self._sweep_scheduled = False
        self._period: PeriodName | None = spec.window.period
        self._is_ratio = spec.ratio is not None
        self._op = spec.op
        self._min_sample = spec.ratio.min_sample if spec.ratio is not None else 0
        self._finding_filter = spec.count_findings
        self.counts_findings = spec.count_findings is not None
        self._tz = ctx.tz
        if isinstance(spec.limit, ParamRef):
            if spec.limit.param not in ctx.params:
                ctx.problem(
                    ("limit", "param"), ctx.unknown("parameter", spec.limit.param, list(ctx.params))
                )
            self._limit_param: str | None = spec.limit.param
            self._limit_value: Decimal | None = None
        else:
            self._limit_param = None
            self._limit_value = spec.limit
        if spec.window.sliding is not None:
            sliding = spec.window.sliding
            per = {"minutes": 60, "hours": 3600, "calendar_days": 86400, "weeks": 604800}
            if not isinstance(sliding.count, int) or sliding.unit not in per or sliding.end_of_day:
                ctx.problem(
                    ("window", "sliding"),
                    "a sliding window is a fixed number of minutes, hours, calendar days or weeks",
                )
            else:
                self._window_us = sliding.count * per[sliding.unit] * 1_000_000
        if spec.count is not None:
            filters = spec.count if isinstance(spec.count, list) else [spec.count]
            for index, item in enumerate(filters):
                path: tuple[str | int, ...] = (
                    ("count",) if not isinstance(spec.count, list) else ("count", index)
                )
                self._source(ctx, path, item, numerator=True, denominator=False)
        elif spec.ratio is not None:
            self._source(
                ctx, ("ratio", "numerator"), spec.ratio.numerator, numerator=True, denominator=False
            )
            self._source(
                ctx,
                ("ratio", "denominator"),
                spec.ratio.denominator,
                numerator=False,
                denominator=True,
            )

    def _source(
        self,
        ctx: CompileContext,
        path: tuple[str | int, ...],
        item: EventFilterSpec,
        *,
        numerator: bool,
        denominator: bool,
    ) -> None:
        if not ctx.check_event_type((*path, "event"), item.event):
            return
        ctx.check_fields(("group_by",), item.event, self.group_by)
        where: CompiledExpression | None = (
            ctx.expression((*path, "where"), item.where, item.event) if item.where else None
        )
        add = self._add
        group_by = self.group_by
        key_of = key_getter(group_by)
        previous = self.on_release.get(item.event)

        def handle(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
            if previous is not None:
                previous(event, at_us, services)
            if where is not None and not where.function(event, None, services):
                return
            key = key_of(event)
            add(
                key,
                at_us,
                event["at"],
                event["id"],
                self.scope_of(event),
                services,
                numerator=numerator,
                denominator=denominator,
            )

        self.on_release[item.event] = handle

    def on_finding(self, finding: Finding, services: RuntimeServices) -> None:
        key = self.counted_key(finding)
        if key is not None:
            self._count_finding(key, finding, services)

    def counted_key(self, finding: Finding) -> tuple[Any, ...] | None:
        """The group a finding of the engine counts in, or None when it does not count."""
        spec = self._finding_filter
        if spec is None or finding.rule is self or finding.rule.counts_findings:
            return None
        if spec.kinds and finding.kind not in spec.kinds:
            return None
        rule = finding.rule
        if spec.rules and rule.rule_id not in spec.rules:
            return None
        if spec.clauses and not any(
            rule.clause_id == c or rule.clause_id.startswith(c + ".") for c in spec.clauses
        ):
            return None
        severity = finding.severity or rule.severity
        if spec.severities and severity not in spec.severities:
            return None
        values = {**finding.scope, **finding.subject}
        key = tuple(values.get(name) for name in self.group_by)
        if any(value is None for value in key):
            return None
        return key

    # -- recomputed from the findings (corrections) -----------------------------------------
    def _counted_groups(self, findings: Sequence[Finding]) -> dict[tuple[Any, ...], list[Finding]]:
        groups: dict[tuple[Any, ...], list[Finding]] = {}
        for finding in sorted(findings, key=lambda item: item.at_us):
            key = self.counted_key(finding)
            if key is not None and self._admits(finding.at_us):
                groups.setdefault(key, []).append(finding)
        return groups

    def _limit_at(self, params: Mapping[str, Any]) -> Decimal:
        if self._limit_param is not None:
            return Decimal(params[self._limit_param])
        assert self._limit_value is not None
        return self._limit_value

    def fires(
        self, findings: Sequence[Finding], params_at: Callable[[int], Mapping[str, Any]]
    ) -> dict[tuple[tuple[Any, ...], int], Finding]:
        """What this rule makes of these findings, counted in time order: (group, instant)
        -> the finding it releases (as :meth:`on_finding` would, one by one)."""
        out: dict[tuple[tuple[Any, ...], int], Finding] = {}
        tz = self._tz
        for key, items in self._counted_groups(findings).items():
            times: list[int] = []
            period_start: int | None = None
            subject = dict(zip(self.group_by, key, strict=True))
            for finding in items:
                at_us = finding.at_us
                window_start: int | None = None
                if self._window_us is not None:
                    del times[: bisect.bisect_right(times, at_us - self._window_us)]
                else:
                    assert self._period is not None
                    period = period_of(at_us, self._period, tz)
                    if period.start_us != period_start:
                        times = []
                        period_start = period.start_us
                    window_start = period_start
                limit = self._limit_at(params_at(at_us))
                before = len(times)
                times.append(at_us)
                after = len(times)
                if compare(before, self._op, limit) or not compare(after, self._op, limit):
                    continue
                evidence: dict[str, Any] = {
                    "value": _show(after),
                    "limit": str(limit),
                    "op": self._op,
                    "numerator": after,
                }
                if window_start is not None:
                    evidence["window_start"] = from_us(window_start, tz).isoformat()
                out[key, at_us] = Finding(
                    rule=self,
                    at_us=at_us,
                    at=finding.at,
                    event_ids=(),
                    subject=subject,
                    evidence=evidence,
                    scope={**finding.scope, **subject},
                    moment_us=at_us,
                )
        return out

    def rebuild(
        self,
        findings: Sequence[Finding],
        watermark_us: int,
        params_at: Callable[[int], Mapping[str, Any]],
    ) -> None:
        """Replace the groups with those these findings make at ``watermark_us``."""
        limit = self._limit_at(params_at(watermark_us))
        groups: dict[tuple[Any, ...], _Group] = {}
        for key, items in self._counted_groups(findings).items():
            group = _Group()
            times = [finding.at_us for finding in items]
            if self._window_us is not None:
                times = [t for t in times if t > watermark_us - self._window_us]
            else:
                assert self._period is not None
                period = period_of(watermark_us, self._period, self._tz)
                times = [t for t in times if t >= period.start_us]
                group.period_start = period.start_us
            if not times:
                continue
            group.numerator = times
            group.last_us = times[-1]
            group.armed = not compare(len(times), self._op, limit)
            groups[key] = group
        self._groups = groups

    def _admits(self, at_us: int) -> bool:
        return self.in_force(at_us)

    def _crosses(
        self,
        group: _Group,
        before: Fraction | int | None,
        after: Fraction | int | None,
        limit: Decimal,
    ) -> bool:
        op = self._op
        if before is None or not compare(before, op, limit):
            group.armed = True
        return after is not None and group.armed and compare(after, op, limit)


def _show(value: Fraction | int) -> str:
    if isinstance(value, int) or value.denominator == 1:
        return str(int(value))
    return f"{float(value):.6g}"


def compile_rule(spec: ThresholdSpec, ctx: CompileContext) -> ThresholdRule:
    """Compile a threshold spec."""
    return ThresholdRule(spec, ctx)
