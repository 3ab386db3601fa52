"""Periodic rules in durable-rules: counts and members are facts, the close a clock fact.

``periodic_target``: an event is asserted (and retracted) once; ``item<i>`` (the i-th
numerator or denominator filter's ``where``) says what it counts for. When the period
closes (the engine fires the rule's timer at its end, as for the native rule), a
``clock`` fact (the period's last instant, the minimum sample) and one ``cnt`` fact per
group (its denominator and the exact integers ``n·q`` and ``p·d`` for ``n/d op p/q``)
are asserted::

    insufficient: clock(in force) ∧ cnt(_d < clock._ms)
    missed:       clock(in force) ∧ cnt(_d >= clock._ms ∧ not (_l op _r))
    met:          clock(in force) ∧ cnt(_d >= clock._ms ∧ _l op _r)

``periodic_obligation``: each member value seen in the period is a ``seen`` fact (and
any accepted event an ``any`` fact); at the close the clock and one ``member`` fact per
row of the members table are asserted::

    no_events: clock(in force) ∧ none(any)                                (no members table)
    some_events: clock(in force ∧ _track) ∧ any                           (no members table)
    missing:   clock(in force) ∧ member(where) ∧ none(seen with the member's value)
    met:       clock(in force ∧ _track) ∧ member(where) ∧ seen(the member's value)

Findings are emitted in the native order (groups by ``repr`` of their key, members by
``str``), then the period's facts are retracted.

An obligation with a ``period_field`` keeps, as the native rule does, the members seen per
period not yet judged (the event's field names the period); when a period is judged (at
its end, or at its ``due`` time) that period's ``seen`` and ``any`` facts are asserted,
judged as above and retracted.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Literal, cast

import attrs

from ..eventtime import Period, from_us
from ..rules import CompileContext, Finding, RuntimeServices
from ..rules._base import Carried, CarryContext, EventFilterSpec, key_getter
from ..rules._period_timers import PeriodTimers, PlacedPeriods
from ..rules.periodic import (
    PeriodicObligationRule,
    PeriodicTargetRule,
    _PeriodicBase,
    _PeriodicRule,
    judge_group,
    named_period,
    period_finding,
    target_goal,
    target_groups,
)
from ._durable_base import DurableRule, in_force_cond, scope_for
from ._durable_conditions import Cond, ConditionTranslator, FactLayout, pattern
from ._durable_host import Prepared, Program, dumps, prepare
from ._durable_values import FALSE, TRUE, encode, number

__all__ = ["DurablePeriodicObligation", "DurablePeriodicTarget"]

_OPPOSITE = {"$lt": "$gte", "$lte": "$gt", "$gt": "$lte", "$gte": "$lt"}
_OPS = {">=": "$gte", ">": "$gt", "<=": "$lte", "<": "$lt"}


@attrs.frozen
class _Plan:
    rules: Prepared
    items: dict[str, FactLayout]  # event type -> its fact
    members: FactLayout  # a member row's fact


def _base_plan(
    native: _PeriodicRule,
    ctx: CompileContext,
    filters: list[tuple[EventFilterSpec | list[EventFilterSpec], int]],
) -> tuple[dict[str, dict[str, Any]], dict[str, FactLayout], FactLayout, Cond]:
    """``item<i>`` rules for the event filters, and the members' where."""
    rules: dict[str, dict[str, Any]] = {}
    layouts: dict[str, FactLayout] = {}
    for value, first in filters:
        items = value if isinstance(value, list) else [value]
        for offset, item in enumerate(items):
            if item.event not in ctx.catalog:
                continue
            layout = layouts.setdefault(item.event, FactLayout())
            where: Cond = True
            if item.where:
                translator = ConditionTranslator(
                    scope_for(ctx, item.event), layout, rule_id=native.rule_id
                )
                where = translator.translate(item.where)[0]
            found = pattern("e." + item.event, where)
            if found is not None:
                rules[f"item{first + offset}"] = {"all": [{"m": found}]}
    # Members of the table: their 'where' in durable too, over the row's columns.
    members = FactLayout()
    members_where: Cond = True
    spec = native.spec
    assert isinstance(spec, _PeriodicBase)
    table = native._members_table
    if table is not None and spec.members is not None and spec.members.where:
        translator = ConditionTranslator(
            scope_for(ctx, "", fields=dict(ctx.tables[table].columns)),
            members,
            rule_id=native.rule_id,
        )
        members_where = translator.translate(spec.members.where)[0]
    return rules, layouts, members, members_where


def _target_plan(native: PeriodicTargetRule, ctx: CompileContext) -> _Plan:
    spec = native.spec
    numerators = spec.numerator if isinstance(spec.numerator, list) else [spec.numerator]
    rules, items, members, members_where = _base_plan(
        native, ctx, [(spec.numerator, 0), (spec.denominator, len(numerators))]
    )
    op = _OPS[spec.target.op]
    clock = pattern("clock", in_force_cond(native, "_now"))
    sample = {"$gte": {"_d": {"c": "_ms"}}}
    verdicts = {
        "insufficient": pattern("cnt", {"$lt": {"_d": {"c": "_ms"}}}),
        "missed": pattern("cnt", sample, {_OPPOSITE[op]: {"_l": {"$m": "_r"}}}),
        "met": pattern("cnt", sample, {op: {"_l": {"$m": "_r"}}}),
    }
    for name, found in verdicts.items():
        if clock is not None and found is not None:
            rules[name] = {"all": [{"c": clock}, {"m": found}]}
    member = pattern("member", members_where)
    if member is not None:
        rules["member"] = {"all": [{"m": member}]}
    return _Plan(prepare(native.rule_id, rules), items, members)


def _obligation_plan(native: PeriodicObligationRule, ctx: CompileContext) -> _Plan:
    rules, items, members, members_where = _base_plan(native, ctx, [(native.spec.requires, 0)])
    in_force = in_force_cond(native, "_now")
    clock = pattern("clock", in_force)
    member = pattern("member", members_where)
    same = pattern("seen", {"_m": {"m": "_m"}})
    if clock is not None:
        if native._members_table is None or native.member_field is None:
            rules["no_events"] = {"all": [{"c": clock}, {"n$not": pattern("any")}]}
            tracked = pattern("clock", in_force, {"_track": TRUE})
            rules["some_events"] = {"all": [{"c": tracked}, {"x": pattern("any")}]}
        elif member is not None:
            rules["missing"] = {"all": [{"c": clock}, {"m": member}, {"n$not": same}]}
            tracked = pattern("clock", in_force, {"_track": TRUE})
            rules["met"] = {"all": [{"c": tracked}, {"m": member}, {"x": same}]}
    return _Plan(prepare(native.rule_id, rules), items, members)


class _DurablePeriodic(DurableRule, PeriodTimers):
    """The current period and its close timer (as the native rules keep them)."""

    stateful = True

    def __init__(
        self, native: _PeriodicRule, ctx: CompileContext, program: Program, plans: Any
    ) -> None:
        super().__init__(native, ctx, program, plans)
        self.period_unit = native.period_unit
        self._current: Period | None = None
        self._members_table = native._members_table
        self.member_field = native.member_field
        self.tz = ctx.tz
        self._items: dict[str, FactLayout] = {}
        self._members_layout = FactLayout()

    def _start_plan(self, plan: _Plan) -> None:
        self._items = plan.items
        self._members_layout = plan.members
        for event_type in plan.items:
            self.on_release[event_type] = self._make_handler(event_type)
        self.register(plan.rules)

    def _member_fact(self, index: int, row: dict[str, Any], key: Any, services: Any) -> Any:
        fact = self._members_layout.values(row, services)
        fact.update(t="member", id=f"m{index}", _m=encode(key))
        return fact

    def _make_handler(self, event_type: str) -> Any:
        layout = self._items[event_type]
        kind = "e." + event_type

        def handle(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
            fact = layout.values(event, services)
            fact.update(t=kind, id=self.facts.next_id())
            fired = self.program.probe(self.ruleset, fact)
            for index in sorted({int(name[4:]) for name, _match in fired}):
                self.counted(index, event)

        return handle

    def counted(self, index: int, event: dict[str, Any]) -> None:
        """The event passed the index-th filter."""
        raise NotImplementedError

    def start(self, first_us: int, services: RuntimeServices) -> None:
        self.open_first_period(first_us, services)

    def on_timer(self, token: Any, fire_us: int, services: RuntimeServices) -> None:
        period = self.ending_period(token)
        if period is None:
            return
        services.set_time(period.end_us - 1)
        clock = {
            "t": "clock",
            "id": "clock",
            "_now": number(period.end_us - 1),
            "_track": TRUE if services.tracking else FALSE,
        }
        self.close(period, clock, services)
        self.reset()
        self.open_next_period(period, services)

    def close(self, period: Period, clock: dict[str, Any], services: RuntimeServices) -> None:
        """Judge the period that just ended."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget the facts of the period that just ended."""
        raise NotImplementedError


class DurablePeriodicTarget(_DurablePeriodic):
    """A periodic target whose filters and verdicts per group run in durable-rules."""

    kind = "periodic_target"

    def __init__(
        self, native: PeriodicTargetRule, ctx: CompileContext, program: Program, plans: Any
    ) -> None:
        super().__init__(native, ctx, program, plans)
        spec = native.spec
        self.target = spec.target
        self.min_sample = spec.min_sample
        self.group_by = native.group_by
        self._native_target = native
        self._key_of = key_getter(self.group_by)
        self._counts: dict[tuple[Any, ...], list[int]] = {}
        self._numerators = len(spec.numerator) if isinstance(spec.numerator, list) else 1
        self._start_plan(self.plan(lambda: _target_plan(native, ctx)))

    def counted(self, index: int, event: dict[str, Any]) -> None:
        key = self._key_of(event)
        entry = self._counts.get(key)
        if entry is None:
            entry = self._counts[key] = [0, 0]
        entry[0 if index < self._numerators else 1] += 1

    def close(self, period: Period, clock: dict[str, Any], services: RuntimeServices) -> None:
        target = self.target
        goal, min_sample = target_goal(target, self.min_sample, services.params)
        members = None
        if self._native_target._members_by_group():
            assert self._members_table is not None
            rows = services.table_rows(self._members_table, period.end_us - 1)
            key_column = services.table_key(self._members_table)
            # The native rule filters members with the members' where; so does this.
            members = self._members(rows, key_column, services)
        groups = target_groups(self._counts, self.group_by, members)
        bound = Fraction(goal)
        clock["_ms"] = number(max(min_sample, 1))
        program = self.program
        # Out of force, the clock matches no pattern and is not kept: nothing is judged.
        program.place(self.ruleset, clock)
        ordered = sorted(groups, key=repr)
        verdicts: dict[int, str] = {}
        for index, key in enumerate(ordered):
            numerator, denominator = groups[key]
            fact = {
                "t": "cnt",
                "id": f"c{index}",
                "_d": number(denominator),
                "_l": number(numerator * bound.denominator),
                "_r": number(bound.numerator * denominator),
            }
            for name, _match in program.probe(self.ruleset, fact):
                verdicts[index] = name
        program.retract_fact(self.ruleset, "clock")
        for index, key in enumerate(ordered):
            verdict = verdicts.get(index)
            if verdict is None:
                continue  # the rule is not in force at the end of the period
            judged = cast('Literal["met", "missed", "insufficient"]', verdict)
            judge_group(
                self, period, services, key, groups[key], (target.op, goal, min_sample), judged
            )

    def _members(
        self, rows: list[dict[str, Any]], key_column: str, services: RuntimeServices
    ) -> list[Any]:
        """The keys of the rows that pass the members' where (matched in durable)."""
        found: list[Any] = []
        for index, row in enumerate(rows):
            fact = self._member_fact(index, row, row[key_column], services)
            if self.program.probe(self.ruleset, fact):
                found.append(row[key_column])
        return found

    def reset(self) -> None:
        self._counts.clear()

    def state(self) -> Any:
        return {
            "period": self._period_state(),
            "counts": [[list(key), value] for key, value in self._counts.items()],
        }

    def restore(self, state: Any) -> None:
        self._restore_period(state["period"], self.tz)
        self._counts.clear()
        for key, value in state["counts"]:
            self._counts[tuple(key)] = [int(value[0]), int(value[1])]


class DurablePeriodicObligation(_DurablePeriodic, PlacedPeriods):
    """A periodic obligation whose filters and member matching run in durable-rules."""

    kind = "periodic_obligation"

    def __init__(
        self, native: PeriodicObligationRule, ctx: CompileContext, program: Program, plans: Any
    ) -> None:
        super().__init__(native, ctx, program, plans)
        self._native = native
        self._seen: set[Any] = set()
        self._seen_ids: dict[str, Any] = {}
        self._any = False
        self.period_field = native.period_field
        self._has_due = native.spec.due is not None
        self._init_placed()
        self._start_plan(self.plan(lambda: _obligation_plan(native, ctx)))

    def counted(self, index: int, event: dict[str, Any]) -> None:
        if self.period_field is not None:
            period = named_period(event.get(self.period_field), self.period_unit, self.tz)
            member = event.get(self.member_field) if self.member_field is not None else None
            self.place(period, member)
            return
        if not self._any:
            self._mark_any()
        if self.member_field is not None:
            value = event.get(self.member_field)
            self._mark(value)

    def start(self, first_us: int, services: RuntimeServices) -> None:
        if self.period_field is None:
            super().start(first_us, services)
        else:
            self.start_placed(first_us, services)

    @property
    def has_due(self) -> bool:
        return self._has_due

    def due_us(self, period: Period, params: Any) -> int:
        return self._native.due_us(period, params)

    def on_timer(self, token: Any, fire_us: int, services: RuntimeServices) -> None:
        if self.period_field is None:
            super().on_timer(token, fire_us, services)
        else:
            self.placed_timer(token, services)

    def judge(self, period: Period, services: RuntimeServices) -> None:
        if self.is_judged(period):
            return
        seen, seen_any, due = self.take_period(period, services)
        clock = {
            "t": "clock",
            "id": "clock",
            "_now": number(period.end_us - 1),
            "_track": TRUE if services.tracking else FALSE,
        }
        # The period's facts, asserted for its judgement only.
        if seen_any:
            self._mark_any()
        for value in sorted(seen, key=str):
            self._mark(value)
        self._due_us = due
        try:
            self.close(period, clock, services)
        finally:
            self._due_us = None
            self.reset()

    @property
    def _by_members(self) -> bool:
        return self._members_table is not None and self.member_field is not None

    def _mark_any(self) -> None:
        self._any = True
        if not self._by_members:  # only 'no_events' reads it
            self.program.assert_fact(self.ruleset, {"t": "any", "id": "any"})

    def _mark(self, value: Any) -> None:
        self._seen.add(value)
        if not self._by_members:  # only 'missing' and 'met' read them
            return
        fact_id = "s" + dumps(encode(value))
        if fact_id not in self._seen_ids:
            fact = {"t": "seen", "id": fact_id, "_m": encode(value)}
            fired = self.program.assert_fact(self.ruleset, fact)
            assert not fired, fired
            self._seen_ids[fact_id] = value

    _due_us: int | None = None

    def _placed(
        self, period: Period, services: RuntimeServices, subject: dict[str, Any]
    ) -> Finding:
        due = self._due_us
        evidence: dict[str, Any] = {"events": 0}
        if due is not None:
            evidence["due"] = from_us(due, services.tz).isoformat()
        finding = period_finding(self, period, services, subject, evidence)
        if due is None:
            return finding
        return attrs.evolve(finding, at_us=due, at=from_us(due, services.tz), due_us=due)

    def close(self, period: Period, clock: dict[str, Any], services: RuntimeServices) -> None:
        program = self.program
        if not self._by_members:
            verdicts = {name for name, _match in program.probe(self.ruleset, clock)}
            if "no_events" in verdicts:
                services.emit(self._placed(period, services, {}))
            elif "some_events" in verdicts:
                moment = period.end_us if self._due_us is None else self._due_us
                kept = {"period": period.label}
                services.outcome(self, "compliant", kept, from_us(moment, services.tz), ())
            return
        fired = program.place(self.ruleset, clock)
        assert not fired, fired
        table, member_field = self._members_table, self.member_field
        assert table is not None
        assert member_field is not None
        rows = services.table_rows(table, period.end_us - 1)
        key_column = services.table_key(table)
        missing: list[Any] = []
        met: list[Any] = []
        for index, row in enumerate(rows):
            member = row[key_column]
            fact = self._member_fact(index, row, member, services)
            for name, _match in program.probe(self.ruleset, fact):
                (missing if name == "missing" else met).append(member)
        program.retract_fact(self.ruleset, "clock")
        if services.tracking:
            moment = period.end_us if self._due_us is None else self._due_us
            end = from_us(moment, services.tz)
            for member in sorted(met, key=str):
                done = {member_field: member, "period": period.label}
                services.outcome(self, "compliant", done, end, ())
        for member in sorted(missing, key=str):
            services.emit(self._placed(period, services, {member_field: member}))

    def reset(self) -> None:
        for fact_id in self._seen_ids:
            self.program.retract_fact(self.ruleset, fact_id)
        self._seen_ids.clear()
        self._seen.clear()
        if self._any and not self._by_members:
            self.program.retract_fact(self.ruleset, "any")
        self._any = False

    def state(self) -> Any:
        if self.period_field is not None:
            return self.placed_state()
        return {
            "period": self._period_state(),
            "seen": sorted(self._seen, key=str),
            "any": self._any,
        }

    def restore(self, state: Any) -> None:
        self.reset()
        self._restore_period(state["period"], self.tz)
        self._open.clear()
        if self.period_field is not None:
            self.restore_placed(state)
            return
        if state["any"]:
            self._mark_any()
        for value in state["seen"]:
            self._mark(value)

    def carry(self, state: Any, context: CarryContext) -> Carried:
        """As the native rule: timers follow the state."""
        return self._native.carry(state, context)
