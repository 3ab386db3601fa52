"""What runs inside Spark's tasks: the admission (one task), then a stage per bucket.

Every function here takes a :class:`Job` (what the driver decided, small and picklable)
and an Arrow table (one group of Spark's ``applyInArrow``), and returns an Arrow table.
The pack is loaded once per worker process from its directory and checked against the
driver's digest, so a worker never evaluates another version of the pack.
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from .._pace import long_run
from ..engine import EngineStats, EvidenceMode
from ..engine._stage import AdmissionEngine, StageEngine
from ..errors import CommitRulesError
from ..pack import Pack, load_pack
from ..plan import Plan, bucket_of, plan_for
from ..plan._order import Clock
from ..plan._runner import _Run, _Settings
from ..rules._base import RuleRuntime
from ..waivers import Waivers
from . import _transport

__all__ = [
    "ADMISSION_SCHEMA",
    "POSITION",
    "ROW",
    "SOURCE",
    "STAGE_SCHEMA",
    "WHOLE",
    "Job",
    "admission_task",
    "empty_meta",
    "stage_task",
    "task",
]

#: Columns the runner adds to the events: where each row comes from, and its order.
SOURCE = "__commitrules_source"
ROW = "__commitrules_row"
POSITION = "__commitrules_position"
WHOLE = "__commitrules_whole"  # one value: the admission's single group
HELPERS = (SOURCE, ROW, POSITION, WHOLE)

#: What the admission task gives: per admitted event, one row per stage that reads it
#: (``kind`` "event"); per refused row one "reject"; and one "meta" (the clock).
ADMISSION_SCHEMA = (
    "kind string, stage int, bucket int, position long, at_us long, payload binary, "
    "source string, row long, reason string"
)
#: What a stage task gives: its findings, outcomes or partial counts, in its order.
STAGE_SCHEMA = "stage int, bucket int, serial long, kind string, payload binary"

EVENT_STAGES = frozenset({"keyed", "global", "periods"})
_OUTPUT_BATCH = 65_536
_ADMISSION_ARROW = pa.schema(
    [
        ("kind", pa.string()),
        ("stage", pa.int32()),
        ("bucket", pa.int32()),
        ("position", pa.int64()),
        ("at_us", pa.int64()),
        ("payload", pa.binary()),
        ("source", pa.string()),
        ("row", pa.int64()),
        ("reason", pa.string()),
    ]
)


@attrs.frozen
class Job:
    """What every task of one run needs: the pack's source and digest, the options, and
    (for the stage tasks) the admission's clock and start."""

    pack_path: str
    profile: str
    parameters: str | None  # JSON of the replaced parameters
    digest: str
    partitions: int
    evidence: EvidenceMode = "mask"
    pseudonym_key: bytes | None = None
    #: The waivers, as :func:`._transport.dumps` bytes (read-only mappings travel as dicts).
    waivers: bytes | None = None
    id_key: bytes | None = None
    max_ahead_us: int | None = None
    until_us: int | None = None
    outcomes: bool = False
    allow_float_decimals: bool = False
    batch_size: int = 65_536
    #: Parquet or Arrow files the admission reads itself (in this order), or none: the
    #: events come in the admission's group.
    files: tuple[str, ...] = ()
    #: After the admission: the clock and the first admitted event (pickled).
    clock: bytes | None = None


_CONTEXTS: dict[tuple[str, str, str | None, str], tuple[Pack, Plan, dict[str, RuleRuntime]]] = {}


def context(job: Job) -> tuple[Pack, Plan, dict[str, RuleRuntime]]:
    """The pack, its plan and its rules' running objects, once per process."""
    key = (job.pack_path, job.profile, job.parameters, job.digest)
    found = _CONTEXTS.get(key)
    if found is None:
        parameters = json.loads(job.parameters) if job.parameters is not None else None
        pack = load_pack(job.pack_path, profile=job.profile, parameters=parameters)
        if pack.digest != job.digest:
            msg = (
                f"the pack at {job.pack_path} (profile {job.profile}) has the digest "
                f"{pack.digest} on this worker, not the driver's {job.digest}: the workers "
                "must see the same pack files"
            )
            raise CommitRulesError(msg)
        rules = {rule.rule_id: rule for rule in StageEngine(pack, rule_index={}).rules}
        found = (pack, plan_for(pack), rules)
        _CONTEXTS[key] = found
    return found


def settings(job: Job) -> _Settings:
    waivers: Waivers | None = None
    if job.waivers is not None:
        waivers = _transport.loads(job.waivers, {})
    return _Settings(job.evidence, job.pseudonym_key, waivers, job.id_key, job.outcomes)


def runner(job: Job, pack: Pack, plan: Plan) -> _Run:
    """The in-process runner's state, with the admission's clock and start."""
    run = _Run(pack, plan, settings(job), job.partitions)
    if job.clock is not None:
        run.clock, run.start, run.stats = pickle.loads(job.clock)  # noqa: S301 - our own
    return run


# -- the admission ---------------------------------------------------------------------
def _in_zone(table: pa.Table, zone: str) -> pa.Table:
    """Timestamps in the pack's zone (Spark keeps instants, not the zone they were in)."""
    for index, field in enumerate(table.schema):
        kind = field.type
        if pa.types.is_timestamp(kind) and kind.tz is not None and kind.tz != zone:
            column = table.column(index).cast(pa.timestamp(kind.unit, tz=zone))
            table = table.set_column(index, field.name, column)
    return table


def _pieces(table: pa.Table, batch_size: int) -> Iterator[tuple[str, int, pa.RecordBatch]]:
    """``(source, first row, batch)`` in stream order: a source's rows at most
    ``batch_size`` at a time."""
    sources = table.column(SOURCE).to_pylist()
    rows = table.column(ROW).to_pylist()
    events = table.drop_columns([name for name in HELPERS if name in table.column_names])
    start = 0
    while start < len(sources):
        end = start
        while end < len(sources) and end - start < batch_size and sources[end] == sources[start]:
            end += 1
        first = rows[start] if rows[start] is not None else start
        for batch in events.slice(start, end - start).combine_chunks().to_batches():
            yield sources[start], first, batch
        start = end


def _read(job: Job, table: pa.Table, zone: str) -> Iterator[Any]:
    """The input in stream order, as :mod:`commitrules.columnar` pieces: the job's files
    read here with pyarrow (row groups streamed, as ``evaluate_files`` reads them), or the
    rows of the group sorted by stream position."""
    from ..columnar._sources import Piece, file_pieces  # noqa: PLC0415

    if job.files:
        yield from file_pieces([Path(name) for name in job.files], job.batch_size)
        return
    keys = [(POSITION, "ascending"), (SOURCE, "ascending"), (ROW, "ascending")]
    table = _in_zone(table.take(pc.sort_indices(table, sort_keys=keys)), zone)
    for source, first_row, batch in _pieces(table, job.batch_size):
        yield Piece(source, first_row, batch)


def admission_task(job: Job, table: pa.Table) -> pa.Table:
    """The whole input in one group: the engine's intake in stream-position order.

    Gives per admitted event a row per stage that reads it (with its bucket), per refused
    row its source, row and reason, and one row with the clock (watermark per admitted
    event), the start and the counts.
    """
    from ..columnar._rows import check_batch  # noqa: PLC0415 - pyarrow is there
    from ..columnar._schema import PlanCache  # noqa: PLC0415
    from ..columnar._sources import Damaged  # noqa: PLC0415

    pack, plan, _ = context(job)
    max_ahead = dt.timedelta(microseconds=job.max_ahead_us) if job.max_ahead_us else None
    admission = AdmissionEngine(pack, max_ahead=max_ahead, id_key=job.id_key)
    plans = PlanCache(pack.catalog, allow_float_decimals=job.allow_float_decimals)
    stages = [
        (number, stage)
        for number, stage in enumerate(plan.stages)
        if stage.kind in EVENT_STAGES and stage.events
    ]
    out: dict[str, list[Any]] = {field.name: [] for field in _ADMISSION_ARROW}
    batches: list[pa.RecordBatch] = []

    def flush() -> None:
        arrays = [pa.array(out[field.name], field.type) for field in _ADMISSION_ARROW]
        batches.append(pa.RecordBatch.from_arrays(arrays, schema=_ADMISSION_ARROW))
        for values in out.values():
            values.clear()

    def add(kind: str, **values: Any) -> None:
        # In batches: a binary array holds at most 2 GiB, and lists of millions of rows
        # would double the task's memory.
        out["kind"].append(kind)
        for name in ("stage", "bucket", "position", "at_us", "payload", "source", "row"):
            out[name].append(values.get(name))
        out["reason"].append(values.get("reason"))
        if len(out["kind"]) >= _OUTPUT_BATCH:
            flush()

    positions: list[int] = []
    watermarks: list[int] = []
    start: tuple[dt.datetime, int] | None = None
    position = 0
    for piece in _read(job, table, pack.timezone):
        if isinstance(piece, Damaged):
            admission.stats.rejected += 1
            add(
                "reject",
                position=position,
                source=piece.source,
                row=piece.first_row,
                reason=piece.reason,
            )
            position += 1
            continue
        source, first_row, batch = piece.source, piece.first_row, piece.batch
        checked = check_batch(source, first_row, batch, plans(batch.schema, source))
        for row, event, reason, ready in checked.rows():
            here = position
            position += 1
            if event is None:
                admission.stats.rejected += 1
                add("reject", position=here, source=source, row=row, reason=reason or "refused")
                continue
            answer = admission.admit(event, validated=ready)
            if not answer.admitted:
                if answer.error is not None:
                    add("reject", position=here, source=source, row=row, reason=str(answer.error))
                continue
            admitted = answer.event
            assert admitted is not None
            assert answer.at_us is not None
            assert answer.watermark_us is not None
            positions.append(here)
            watermarks.append(answer.watermark_us)
            if start is None:
                start = (admitted["at"], here)
            payload = pickle.dumps(admitted, protocol=pickle.HIGHEST_PROTOCOL)
            kind = admitted["type"]
            for number, stage in stages:
                if kind not in stage.events:
                    continue
                fields = stage.key_by_type.get(kind, ())
                value = admitted.get(fields[0]) if fields else None
                bucket = bucket_of(value, job.partitions if stage.key else 1)
                add(
                    "event",
                    stage=number,
                    bucket=bucket,
                    position=here,
                    at_us=answer.at_us,
                    payload=payload,
                )
    clock = Clock.of(positions, watermarks, end=position, until_us=job.until_us)
    meta = pickle.dumps((clock, start, attrs.evolve(admission.stats)))
    add("meta", payload=meta)
    flush()
    return pa.Table.from_batches(batches, schema=_ADMISSION_ARROW)


def empty_meta(job: Job) -> bytes:
    """The admission's clock, start and counts for a stream of no rows."""
    clock = Clock.of([], [], end=0, until_us=job.until_us)
    return pickle.dumps((clock, None, EngineStats()))


# -- a stage in one bucket ---------------------------------------------------------------
def _stage_output(stage: int, bucket: int, items: list[tuple[str, bytes]]) -> pa.Table:
    return pa.table(
        {
            "stage": pa.array([stage] * len(items), pa.int32()),
            "bucket": pa.array([bucket] * len(items), pa.int32()),
            "serial": pa.array(range(len(items)), pa.int64()),
            "kind": pa.array([kind for kind, _ in items], pa.string()),
            "payload": pa.array([payload for _, payload in items], pa.binary()),
        }
    )


def stage_task(job: Job, table: pa.Table) -> pa.Table:
    """One (stage, bucket): one engine over the bucket's events in (event time, stream
    position) order, as :func:`commitrules.plan.run_plan` runs one partition.

    A keyed or global stage gives its findings and outcomes; the periods stage gives
    the partial counts of every period its bucket saw (merged and judged on the driver).
    """
    pack, plan, _ = context(job)
    if table.num_rows == 0:
        return _stage_output(0, 0, [])
    number = int(table.column("stage")[0].as_py())
    bucket = int(table.column("bucket")[0].as_py())
    stage = plan.stages[number]
    order = pc.sort_indices(table, sort_keys=[("at_us", "ascending"), ("position", "ascending")])
    table = table.take(order)
    positions = table.column("position").to_pylist()
    payloads = table.column("payload").to_pylist()
    run = runner(job, pack, plan)
    items: list[tuple[str, bytes]] = []
    if stage.kind == "periods":
        parts: dict[tuple[str, int], list[Any]] = defaultdict(list)

        def keep(rule_id: str, start_us: int, partial: Any) -> None:
            parts[rule_id, start_us].append(partial)

        engine = run.partial_engine(stage, keep)
        if engine is None:
            return _stage_output(number, bucket, [])
        for position, payload in zip(positions, payloads, strict=True):
            engine.admitted(pickle.loads(payload), position)  # noqa: S301 - our own
        engine.finish(run.clock.final_us)
        items.append(("partials", _transport.dumps(dict(parts))))
        return _stage_output(number, bucket, items)
    engine = run._engine(stage.rules)
    for position, payload in zip(positions, payloads, strict=True):
        engine.admitted(pickle.loads(payload), position)  # noqa: S301 - our own
    engine.finish(run.clock.final_us)
    items.extend(("finding", _transport.dumps(item)) for item in engine.findings)
    items.extend(("outcome", _transport.dumps(item)) for item in engine.outcomes)
    return _stage_output(number, bucket, items)


def task(function: Callable[[Job, pa.Table], pa.Table], job: Job) -> Callable[[pa.Table], pa.Table]:
    """``function`` for Spark's ``applyInArrow`` (which reads the annotations to know that
    it takes and gives a whole group as a ``pyarrow.Table``)."""

    def run(table: pa.Table) -> pa.Table:
        with long_run():  # a task is a long run in its worker (see commitrules._pace)
            return function(job, table)

    return run


def decoded(rows: Mapping[str, list[Any]], rules: Mapping[str, RuleRuntime]) -> list[Any]:
    """The payloads of collected stage rows, decoded against ``rules``."""
    return [_transport.loads(payload, rules) for payload in rows["payload"]]
