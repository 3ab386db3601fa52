"""``kind: deadline`` in durable-rules: open deadlines are facts, event time a clock fact.

Facts of the rule's ruleset:

- ``e.when``: the triggering event when it is accepted; ``applies`` (in force ∧ when) says
  whether to compute its due time then (a calendar gap then rejects the event whole);
- ``e.trig``: the triggering event when it is released in event-time order, asserted and
  retracted at once; ``open``: trig(in force ∧ when ∧ keys set) ∧ none(dl with the same
  keys);
- ``dl``: one open deadline per key: ``_k<i>``, ``_due`` (inclusive, µs), ``_step`` (0 for
  the deadline itself, n for the n-th escalation) and ``_missed``;
- ``fu<j>``: a follow-up event for the j-th ``until`` / ``cancel`` / ``extend`` entry, in
  the native order, asserted and retracted at once; ``fu<j>``: dl ∧ fu(keys = dl.keys ∧
  where) (for an extension also dl._missed false);
- ``clock``: event time, asserted each time the engine fires one of this rule's timers
  (scheduled at ``due + 1`` exactly like the native rule, with the same token) and
  retracted once the rules have fired; it carries the token; ``fire``: clock ∧ dl(keys,
  due and step of the token ∧ dl._due < clock._now).

The deadline fact is retracted when the matter is fulfilled, cancelled or fully escalated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ..rules import CompileContext, RuntimeServices
from ..rules._base import EventFilterSpec, key_getter
from ..rules.deadline import (
    DeadlineRule,
    _Pending,
    counted_provisionally,
    emit_due,
    remember_fulfilled,
    split_state,
)
from ._durable_base import DurableRule, in_force_cond, scope_for
from ._durable_conditions import Cond, ConditionTranslator, FactLayout, all_of, pattern
from ._durable_host import Prepared, Program, dumps, prepare
from ._durable_values import FALSE, NONE, TRUE, encode, number

__all__ = ["DurableDeadline"]

Action = Callable[[tuple[Any, ...], dict[str, Any], int, RuntimeServices], None]


@attrs.frozen
class _Follow:
    """A follow-up entry: its number, event type, fact layout, match fields and effect."""

    index: int
    event: str
    layout: FactLayout
    match: tuple[str, ...]
    effect: str  # fulfil | cancel | extend
    extend_due: Callable[[int, Any, Any], int] | None = None
    how: int = 0  # for an extension: its place in 'extend', from 1 (what set the due time)


@attrs.frozen
class _Plan:
    rules: Prepared
    trigger: FactLayout
    follows: tuple[_Follow, ...]


def _plan(native: DeadlineRule, ctx: CompileContext) -> _Plan:
    spec = native.spec
    keys = [f"_k{index}" for index in range(len(native.key_fields))]
    rules: dict[str, dict[str, Any]] = {}
    trigger = FactLayout()
    applies: Cond = True
    if spec.when:
        translator = ConditionTranslator(scope_for(ctx, spec.on), trigger, rule_id=native.rule_id)
        applies = translator.translate(spec.when)[0]
    in_force = in_force_cond(native, "_at")
    opening = pattern("e.trig", in_force, applies, *({"$neq": {k: NONE}} for k in keys))
    found = pattern("e.when", in_force, applies)
    if found is not None:
        rules["applies"] = {"all": [{"m": found}]}
    if opening is not None:
        rules["open"] = {
            "all": [
                {"m": opening},
                {"n$not": pattern("dl", *({key: {"m": key}} for key in keys))},
            ]
        }
    # Follow-ups, in the order the native rule chains them.
    untils = spec.until if isinstance(spec.until, list) else [spec.until]
    entries: list[tuple[EventFilterSpec, str, Any, int]] = [(f, "fulfil", None, 0) for f in untils]
    entries += [(cancel, "cancel", None, 0) for cancel in spec.cancel]
    entries += [
        (extension, "extend", extend_due, place)
        for place, (extension, extend_due) in enumerate(
            zip(spec.extend, native._extensions, strict=True), start=1
        )
        if extend_due is not None
    ]
    follows: list[_Follow] = []
    for index, (follow, effect, extend_due, how) in enumerate(entries):
        layout = FactLayout()
        where: Cond = True
        if follow.where:
            translator = ConditionTranslator(
                scope_for(ctx, follow.event), layout, rule_id=native.rule_id
            )
            where = translator.translate(follow.where)[0]
        deadline = pattern("dl", {"_missed": FALSE} if effect == "extend" else True)
        found = pattern(f"fu{index}", all_of([{key: {"d": key}} for key in keys]), where)
        if deadline is not None and found is not None:
            rules[f"fu{index}"] = {"all": [{"d": deadline}, {"m": found}]}
        match = tuple(follow.match) if follow.match else native.key_fields
        follows.append(_Follow(index, follow.event, layout, match, effect, extend_due, how))
    firing = pattern(
        "dl",
        *({key: {"c": key}} for key in keys),
        {"_due": {"c": "_due"}},
        {"_step": {"c": "_step"}},
        {"$lt": {"_due": {"c": "_now"}}},
    )
    rules["fire"] = {"all": [{"c": pattern("clock")}, {"d": firing}]}
    return _Plan(prepare(native.rule_id, rules), trigger, tuple(follows))


class DurableDeadline(DurableRule):
    """A deadline rule whose opening, follow-ups and firing are matched in durable-rules."""

    kind = "deadline"
    stateful = True

    def __init__(
        self, native: DeadlineRule, ctx: CompileContext, program: Program, plans: Any
    ) -> None:
        super().__init__(native, ctx, program, plans)
        spec = native.spec
        self._pending: dict[tuple[Any, ...], _Pending] = {}
        self._ids: dict[str, tuple[Any, ...]] = {}
        self._due = native._due
        self._escalations = native._escalations
        self._context_fields = native._context_fields
        self._calendar = native._calendar
        self._tz = native._tz
        self._working = native._working
        self._extensions = native._extensions
        self._official_span = native._official_span
        self._fulfilled: list[list[Any]] = []
        self._keys = [f"_k{index}" for index in range(len(self.key_fields))]
        self._key_of = key_getter(self.key_fields)
        plan = self.plan(lambda: _plan(native, ctx))
        self._trigger = plan.trigger
        self.prepare[spec.on] = self._prepare
        self.on_release[spec.on] = self._on_trigger
        self._follows: dict[str, list[tuple[int, FactLayout, tuple[str, ...], Action]]] = {}
        for follow in plan.follows:
            action: Action
            if follow.effect == "fulfil":
                action = self._fulfil
            elif follow.effect == "cancel":
                action = self._cancel
            else:
                assert follow.extend_due is not None
                action = self._make_extend(follow.extend_due, follow.how)
            entry = (follow.index, follow.layout, follow.match, action)
            self._follows.setdefault(follow.event, []).append(entry)
        for event_type in self._follows:
            handler = self._make_follow(event_type)
            if event_type == spec.on:
                # The native rule judges a trigger of a follow-up's type first.
                handler = _chain(self._on_trigger, handler)
            self.on_release[event_type] = handler
        self.register(plan.rules)

    # -- facts -------------------------------------------------------------------------------
    def _key_fields(self, key: tuple[Any, ...]) -> dict[str, Any]:
        return {name: encode(value) for name, value in zip(self._keys, key, strict=True)}

    def _fact_id(self, key: tuple[Any, ...]) -> str:
        return "d" + dumps([encode(value) for value in key])

    def _put(self, key: tuple[Any, ...], pending: _Pending) -> None:
        """Assert (or replace) the deadline fact of a key."""
        fact_id = self._fact_id(key)
        if fact_id in self._ids:
            self.program.retract_fact(self.ruleset, fact_id)
        fact = self._key_fields(key)
        fact.update(
            t="dl",
            id=fact_id,
            _due=number(pending.due_us),
            _step=number(pending.step),
            _missed=FALSE if pending.violation is None else TRUE,
        )
        fired = self.program.assert_fact(self.ruleset, fact)
        assert not fired, fired  # no clock stands while deadline facts change
        self._pending[key] = pending
        self._ids[fact_id] = key

    def _drop(self, key: tuple[Any, ...]) -> None:
        fact_id = self._fact_id(key)
        self.program.retract_fact(self.ruleset, fact_id)
        del self._pending[key]
        del self._ids[fact_id]

    # -- reactions ---------------------------------------------------------------------------
    def _prepare(self, event: dict[str, Any], at_us: int, services: RuntimeServices) -> Any:
        # Computed when the event is accepted, so a calendar gap rejects the event whole;
        # only for events the rule applies to (durable's 'applies': in force ∧ when), as
        # the native rule does.
        if self._due is None:
            return None
        fact = self._trigger.values(event, services)
        fact.update(t="e.when", id=self.facts.next_id(), _at=number(at_us))
        if not self.program.probe(self.ruleset, fact):
            return None
        return self._due(at_us, event, services.params)

    def _on_trigger(self, event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
        key = self._key_of(event)
        fact = self._trigger.values(event, services)
        fact.update(self._key_fields(key))
        fact.update(t="e.trig", id=self.facts.next_id(), _at=number(at_us))
        if not self.program.probe(self.ruleset, fact):
            return
        prepared = services.prepared(self)
        due_us = prepared if isinstance(prepared, int) else self._prepare(event, at_us, services)
        if due_us is None:
            return
        pending = _Pending.opened(self, event, at_us, due_us)
        self._put(key, pending)
        services.schedule(due_us + 1, self, [list(key), due_us, 0])
        if services.tracking:
            services.outcome(
                self,
                "pending",
                pending.subject,
                event["at"],
                (event["id"],),
                provisional=counted_provisionally(self, pending),  # type: ignore[arg-type]
            )

    def _make_follow(self, event_type: str) -> Any:
        follows = self._follows[event_type]

        def handle(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
            for index, layout, match, action in follows:
                key = tuple(event.get(name) for name in match)
                fact = layout.values(event, services)
                fact.update(self._key_fields(key))
                fact.update(t=f"fu{index}", id=self.facts.next_id())
                for _name, found in self.program.probe(self.ruleset, fact):
                    action(self._ids[found["d"]["id"]], event, at_us, services)

        return handle

    def _fulfil(
        self, key: tuple[Any, ...], event: dict[str, Any], at_us: int, services: RuntimeServices
    ) -> None:
        pending = self._pending[key]
        if pending.violation is None and at_us > pending.due_us:
            return  # cannot happen in order; kept for safety
        self._drop(key)
        span = self._official_span
        if span is not None and not span[0] <= pending.start_us <= pending.due_us < span[1]:
            remember_fulfilled(self, key, pending, event["id"], at_us)
        if services.tracking and pending.violation is None:
            ids = (pending.event_id, event["id"])
            services.outcome(self, "compliant", pending.subject, event["at"], ids)

    def _cancel(
        self, key: tuple[Any, ...], event: dict[str, Any], at_us: int, services: RuntimeServices
    ) -> None:
        self._drop(key)

    def _make_extend(
        self, extend_due: Callable[[int, Any, Any], int], how: int
    ) -> Callable[[tuple[Any, ...], dict[str, Any], int, RuntimeServices], None]:
        def extend(
            key: tuple[Any, ...], event: dict[str, Any], at_us: int, services: RuntimeServices
        ) -> None:
            pending = self._pending[key]
            new_due = extend_due(pending.start_us, event, services.params)
            if new_due > pending.due_us:
                pending.due_us = new_due
                pending.how = how
                pending.evidence["extended_by"] = event["id"]
                self._put(key, pending)
                services.schedule(new_due + 1, self, [list(key), new_due, 0])

        return extend

    def on_timer(self, token: Any, fire_us: int, services: RuntimeServices) -> None:
        raw_key, due_us, step = token
        key = tuple(raw_key)
        clock = self._key_fields(key)
        clock.update(
            t="clock", id="clock", _now=number(fire_us), _due=number(due_us), _step=number(step)
        )
        # The clock stands at the timer's instant while the rules fire, then goes, so that
        # no deadline fact asserted later ever meets a stale clock.
        fired = self.program.probe(self.ruleset, clock)
        if not fired:
            return  # fulfilled, cancelled, extended or already escalated
        pending = self._pending[self._ids[fired[0][1]["d"]["id"]]]
        self._fire(key, pending, due_us, step, fire_us, services)

    def _fire(
        self,
        key: tuple[Any, ...],
        pending: _Pending,
        due_us: int,
        step: int,
        fire_us: int,
        services: RuntimeServices,
    ) -> None:
        when = emit_due(self, pending, due_us, step, fire_us, services)  # type: ignore[arg-type]
        if when is not None:
            self._put(key, pending)
            services.schedule(when + 1, self, [list(key), due_us, step + 1])
            return
        if pending.provisional:
            # Kept (no timer) until fulfilled or official: see the native rule.
            self._put(key, pending)
            return
        self._drop(key)

    # -- snapshots ---------------------------------------------------------------------------
    def state(self) -> Any:
        pending = [[list(key), pending.to_json()] for key, pending in self._pending.items()]
        if not self._fulfilled:
            return pending
        return {"pending": pending, "fulfilled": [list(item) for item in self._fulfilled]}

    def restore(self, state: Any) -> None:
        pending, fulfilled = split_state(state)
        for key in list(self._pending):
            self._drop(key)
        for key, data in pending:
            self._put(tuple(key), _Pending.from_json(self, data))
        self._fulfilled = fulfilled


def _chain(first: Any, second: Any) -> Any:
    def both(event: dict[str, Any], at_us: int, services: RuntimeServices) -> None:
        first(event, at_us, services)
        second(event, at_us, services)

    return both
