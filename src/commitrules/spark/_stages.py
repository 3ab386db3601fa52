"""The stages' half of the streaming host: the plan's stages that take events, kept between
micro-batches.

:class:`Stages` holds, per (stage, bucket), the state the streaming runner keeps (a table of
per-key parts, a whole state, or a live engine), runs each micro-batch's released events
through it, and at the end of the stream gives what the stages found: findings and
outcomes numbered by (bucket, micro-batch, index) and the periods' partial counts. The
admission's half (:class:`._streaming.StreamHost`) only hands it released events, so the
two halves can run in different threads.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import attrs

from .. import snapshot as snapshots
from ..engine._stage import StageEngine, StageFinding, StageOutcome
from ..plan import KeyedState, Plan, Stage, bucket_of, key_of, split_state
from ..plan._runner import _Run

__all__ = ["Found", "Released", "Stages"]

#: Events released to the stages: (event time in µs, stream position, validated event),
#: in (event time, position) order.
Released = list[tuple[int, int, dict[str, Any]]]


@attrs.define
class Found:
    """What the stages found by the end of the stream."""

    #: Per stage number: (bucket, micro-batch, index, finding).
    found: dict[int, list[tuple[int, int, int, StageFinding]]] = attrs.field(
        factory=lambda: defaultdict(list)
    )
    #: Per stage number: (bucket, micro-batch, index, outcome).
    outcomes: dict[int, list[tuple[int, int, int, StageOutcome]]] = attrs.field(
        factory=lambda: defaultdict(list)
    )
    #: Per (periodic rule, period start): (bucket, partial count).
    parts: dict[tuple[str, int], list[tuple[int, Any]]] = attrs.field(
        factory=lambda: defaultdict(list)
    )
    #: Per-key state parts loaded and written back (the cost of the per-key state).
    keys_loaded: int = 0


@attrs.define
class _Bucket:
    """One (stage, bucket)'s state between micro-batches."""

    #: A keyed stage's state split by key: the shared part and the table of key parts.
    store: KeyedState | None = None
    #: The global stage's state, whole (it has no key).
    whole: dict[str, Any] | None = None
    #: The live engine: the periods stage's (it keeps partial counts only), or any
    #: stage's with ``state="live"``.
    engine: StageEngine | None = None
    micro_batches: int = 0


class Stages:
    """The plan's stages that take events, per (stage, bucket), between micro-batches."""

    def __init__(
        self,
        run: _Run,
        plan: Plan,
        *,
        partitions: int,
        state: str,
    ) -> None:
        self.run = run
        self.plan = plan
        self.partitions = partitions
        self.state = state
        self.buckets: dict[tuple[int, int], _Bucket] = {}
        self.results = Found()
        self.stages = [
            (number, stage)
            for number, stage in enumerate(plan.stages)
            if stage.kind in {"keyed", "global", "periods"} and stage.events
        ]

    def take(self, released: Released) -> None:
        """Run a micro-batch's released events (in (event time, position) order)."""
        if not released:
            return
        buckets: dict[tuple[str, int], int] = {}  # (text key, partitions) -> bucket, this call
        for number, stage in self.stages:
            partitions = self.partitions if stage.key else 1
            wanted = stage.events
            by_bucket: dict[int, Released] = defaultdict(list)
            for item in released:
                kind = item[2]["type"]
                if kind not in wanted:
                    continue
                fields = stage.key_by_type.get(kind, ())
                value = item[2].get(fields[0]) if fields else None
                if type(value) is str:
                    bucket = buckets.get((value, partitions))
                    if bucket is None:
                        bucket = buckets[value, partitions] = bucket_of(value, partitions)
                else:
                    bucket = bucket_of(value, partitions)
                by_bucket[bucket].append(item)
            for bucket, items in sorted(by_bucket.items()):
                self._run_bucket(number, stage, bucket, items)

    def _run_bucket(self, number: int, stage: Stage, bucket: int, items: Released) -> None:
        state = self.buckets.setdefault((number, bucket), _Bucket())
        if stage.kind == "periods":
            if state.engine is None:
                state.engine = self._periods_engine(stage, bucket)
            if state.engine is not None:
                for _, position, event in items:
                    state.engine.admitted(event, position)
            return
        if self.state == "live":
            if state.engine is None:
                state.engine = self.run._engine(stage.rules)
            for _, position, event in items:
                state.engine.admitted(event, position)
            return
        engine = self.run._engine(stage.rules)
        table: dict[str, Mapping[str, Any]] = {}
        if state.store is not None:
            names = {_key_text(stage, event) for _, _, event in items}
            loaded = state.store.needed(names, max(at_us for at_us, _, _ in items))
            engine.resume(state.store.join(loaded))
            self.results.keys_loaded += len(loaded)
            table = {key: part for key, part in state.store.keys.items() if key not in loaded}
        elif state.whole is not None:
            engine.resume(state.whole)
        for _, position, event in items:
            engine.admitted(event, position)
        self._collect(number, bucket, state.micro_batches, engine)
        state.micro_batches += 1
        if stage.kind == "keyed":
            split = split_state(engine.stage_state(), stage.key_by_type, copy=False)
            table.update(split.keys)
            state.store = attrs.evolve(split, keys=table)
        else:
            state.whole = json.loads(json.dumps(engine.stage_state()))

    def _periods_engine(self, stage: Stage, bucket: int) -> StageEngine | None:
        parts = self.results.parts

        def keep(rule_id: str, start_us: int, partial: Any) -> None:
            parts[rule_id, start_us].append((bucket, partial))

        return self.run.partial_engine(stage, keep)

    def _collect(self, number: int, bucket: int, sequence: int, engine: StageEngine) -> None:
        self.results.found[number].extend(
            (bucket, sequence, index, item) for index, item in enumerate(engine.findings)
        )
        self.results.outcomes[number].extend(
            (bucket, sequence, index, item) for index, item in enumerate(engine.outcomes)
        )

    def end(self, final_us: int | None) -> Found:
        """The stream has ended: every engine moves to ``final_us``; what was found."""
        for (number, bucket), state in sorted(self.buckets.items()):
            stage = self.plan.stages[number]
            if state.engine is not None:
                state.engine.finish(final_us)
                if stage.kind != "periods":
                    self._collect(number, bucket, 0, state.engine)
                continue
            if stage.kind == "periods":
                continue
            engine = self.run._engine(stage.rules)
            if state.store is not None:
                every = set(state.store.keys)
                self.results.keys_loaded += len(every)
                engine.resume(state.store.join(every))
            elif state.whole is not None:
                engine.resume(state.whole)
            engine.finish(final_us)
            self._collect(number, bucket, state.micro_batches, engine)
        self.buckets = {}
        return self.results


def _key_text(stage: Stage, event: Mapping[str, Any]) -> str:
    fields = stage.key_by_type.get(event["type"], ())
    return key_of(snapshots.encode(event.get(fields[0]) if fields else None))
