"""The batch runner on the driver: the admission, the stages by (stage, bucket), the rest.

1. The events get a stream position: a Parquet row's (file path, row in the file), or a
   data frame's position column (by default its order: partition, then row).
2. The admission runs as one group (``applyInArrow``): the engine's intake in
   stream-position order. It passes on each admitted event to every stage that reads
   it, with the bucket of the stage's key.
3. The keyed, global and periods stages run as ``groupBy(stage, bucket).applyInArrow``:
   one engine per bucket (not per key), events in (event time, stream position) order.
4. Their findings, outcomes and partial counts come to the driver, which merges and
   judges the periods, runs the thresholds over findings and the repeat escalations, and
   releases the violations in the single engine's order (the in-process runner's steps,
   :func:`commitrules.plan.run_plan`): these stages take findings, not events.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import pickle
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlparse

import attrs

from .._pace import paced
from ..columnar import RejectedRow, rejects_table, violations_table
from ..engine import EngineStats, EvidenceMode, Outcome
from ..engine._stage import StageFinding, StageOutcome
from ..errors import EngineConfigError
from ..eventtime import to_us
from ..pack import Pack, load_pack
from ..plan import Plan, Stage
from ..plan._order import Clock
from ..plan._runner import PlanResult, _Run
from ..violations import Violation
from ..waivers import Waivers
from . import _tasks, _transport
from ._tasks import POSITION, ROW, SOURCE, WHOLE, Job

__all__ = ["SparkResult", "evaluate_spark"]

_log = logging.getLogger(__name__)


@attrs.frozen(repr=False)
class SparkResult:
    """What a Spark run found: the single engine's violations (in its release order),
    outcomes (when asked for), refused rows and counts, and the same as Spark data frames
    (:attr:`violations_frame` in :func:`commitrules.columnar.violation_schema`,
    :attr:`rejects_frame` in :data:`commitrules.columnar.REJECTS_SCHEMA`)."""

    violations: tuple[Violation, ...]
    outcomes: tuple[Outcome, ...]
    rejected: tuple[RejectedRow, ...]
    stats: EngineStats
    plan: Plan
    timezone: str
    violations_frame: Any
    rejects_frame: Any

    def __repr__(self) -> str:
        return (
            f"SparkResult({len(self.violations)} violations, {len(self.rejected)} rows "
            f"refused, {self.stats.processed} events processed)"
        )


def _events_frame(spark: Any, events: Any, position: str | None) -> Any:
    """The events as a data frame with the helper columns (source, row, position)."""
    from pyspark.sql import DataFrame  # noqa: PLC0415 - the optional extra
    from pyspark.sql import functions as F  # noqa: N812, PLC0415 - Spark's own idiom

    if isinstance(events, DataFrame):
        frame = events
        if position is not None:
            if position not in frame.columns:
                msg = f"the position column {position!r} is not in the data frame"
                raise EngineConfigError(msg)
            order = F.col(position).cast("long")
            frame = frame.withColumn(POSITION, order).drop(position)
        else:
            frame = frame.withColumn(POSITION, F.monotonically_increasing_id())
        # Rows are numbered in stream order in the admission (a table is one source).
        return frame.withColumn(SOURCE, F.lit("<table>")).withColumn(ROW, F.lit(None).cast("long"))
    # Parquet paths: the admission task reads the files itself (no rows through the JVM:
    # Spark's conversion of wide event rows to Arrow costs more than the engine's intake).
    return spark.createDataFrame([(0,)], f"{WHOLE} int")


def _files(events: Any, allow_float_decimals: bool, pack: Pack) -> tuple[str, ...]:
    """Parquet or Arrow paths as the files the admission reads, each checked at once."""
    from ..columnar import table_files  # noqa: PLC0415
    from ..columnar._schema import PlanCache  # noqa: PLC0415
    from ..columnar._sources import file_schema  # noqa: PLC0415

    paths = [events] if isinstance(events, str | os.PathLike) else list(events)
    if not paths:
        msg = "no Parquet path given"
        raise EngineConfigError(msg)
    files = table_files([str(path) for path in paths])
    plans = PlanCache(pack.catalog, allow_float_decimals=allow_float_decimals)
    for path in files:  # every file opens and has a type column before a row is processed
        plans(file_schema(path), str(path))
    return tuple(str(path) for path in files)


def _pack_source(pack: Pack) -> str:
    """How a worker finds the pack: a bundled or installed pack by its id (its directory
    differs between machines), any other by its directory."""
    from ..pack import bundled_packs  # noqa: PLC0415

    known = bundled_packs().get(pack.id)
    if known is not None and pack.path is not None and known.resolve() == pack.path.resolve():
        return pack.id
    return str(pack.path)


def _local(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in {"", "file"} else uri


def job_for(
    pack: Pack | None,
    *,
    partitions: int,
    evidence: EvidenceMode,
    pseudonym_key: bytes | None,
    waivers: Waivers | None,
    id_key: bytes | None,
    max_ahead: dt.timedelta | None,
    until: dt.datetime | None,
    outcomes: bool,
    allow_float_decimals: bool,
    parameters: Mapping[str, Any] | None = None,
) -> tuple[Pack, Job]:
    """The pack (the default one when None) and the job every task of a run reads, from
    the options of :func:`evaluate_spark` and :func:`~commitrules.spark.stream_spark`.

    Raises:
        EngineConfigError: ``partitions`` is not a whole number of 1 or more, or the pack
            has no directory (the workers load it from its files).
    """
    if not isinstance(partitions, int) or isinstance(partitions, bool) or partitions < 1:
        msg = f"partitions must be a whole number of 1 or more, not {partitions!r}"
        raise EngineConfigError(msg)
    pack = pack if pack is not None else load_pack()
    if pack.path is None:
        msg = "the pack has no directory: the Spark workers load the pack from its files"
        raise EngineConfigError(msg)
    job = Job(
        pack_path=_pack_source(pack),
        profile=pack.profile,
        parameters=json.dumps(parameters, sort_keys=True, default=str) if parameters else None,
        digest=pack.digest,
        partitions=partitions,
        evidence=evidence,
        pseudonym_key=pseudonym_key,
        waivers=_transport.dumps(waivers) if waivers is not None else None,
        id_key=id_key,
        max_ahead_us=int(max_ahead.total_seconds() * 1_000_000) if max_ahead else None,
        until_us=to_us(until) if until is not None else None,
        outcomes=outcomes,
        allow_float_decimals=allow_float_decimals,
    )
    return pack, job


@paced
def evaluate_spark(
    events: Any,
    pack: Pack | None = None,
    *,
    spark: Any = None,
    partitions: int = 8,
    until: dt.datetime | None = None,
    position: str | None = None,
    evidence: EvidenceMode = "mask",
    pseudonym_key: bytes | None = None,
    waivers: Waivers | None = None,
    id_key: bytes | None = None,
    max_ahead: dt.timedelta | None = None,
    outcomes: bool = False,
    allow_float_decimals: bool = False,
    parameters: Mapping[str, Any] | None = None,
) -> SparkResult:
    """Evaluate events on Spark with the pack's stage plan; the single engine's results.

    ``events`` is a Spark ``DataFrame`` (the table rules of :mod:`commitrules.columnar`:
    a ``type`` column, a column per field, nulls for absent fields) or Parquet paths
    (files in path order, rows in file order). A data frame's stream order is its
    ``position`` column (removed from the events), or else its own order (Spark's
    partition, then row). The keyed stages run in ``partitions`` buckets each.

    The pack's files must be readable by every worker at the same path (the bundled packs
    are, wherever commitrules is installed); ``parameters`` are the replaced parameters
    the pack was loaded with, if any.

    Raises:
        EngineConfigError: a wrong option (as :func:`commitrules.plan.run_plan` says).
        TableError: the events are not a table the pack can read (no ``type`` column ...).
        SparkUnavailableError: no session given and Spark cannot start (no Java).
    """
    from ._session import local_session  # noqa: PLC0415

    pack, job = job_for(
        pack,
        partitions=partitions,
        evidence=evidence,
        pseudonym_key=pseudonym_key,
        waivers=waivers,
        id_key=id_key,
        max_ahead=max_ahead,
        until=until,
        outcomes=outcomes,
        allow_float_decimals=allow_float_decimals,
        parameters=parameters,
    )
    spark = spark if spark is not None else local_session()
    pack, plan, rules = _tasks.context(job)
    from pyspark import StorageLevel  # noqa: PLC0415 - the optional extra
    from pyspark.sql import DataFrame  # noqa: PLC0415
    from pyspark.sql import functions as F  # noqa: N812, PLC0415

    if not isinstance(events, DataFrame):
        job = attrs.evolve(job, files=_files(events, allow_float_decimals, pack))
    frame = _events_frame(spark, events, position)
    admitted = (
        frame.withColumn(WHOLE, F.lit(0))
        .groupBy(WHOLE)
        .applyInArrow(
            _tasks.task(_tasks.admission_task, job),
            _tasks.ADMISSION_SCHEMA,
        )
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        started = time.perf_counter()
        side = admitted.filter(F.col("kind") != "event").collect()
        _log.debug("spark: admission %.2f s", time.perf_counter() - started)
        # No row at all, no group: the admission of an empty stream, on the driver.
        meta = next(
            (row["payload"] for row in side if row["kind"] == "meta"),
            _tasks.empty_meta(job),
        )
        rejected = [
            RejectedRow(_local(row["source"]), int(row["row"]), row["reason"])
            for row in sorted(
                (row for row in side if row["kind"] == "reject"), key=lambda r: r["position"]
            )
        ]
        clock, start, stats = pickle.loads(bytes(meta))  # noqa: S301 - our own task's output
        # The tasks need only the start and the end: not a watermark per admitted event.
        light = Clock([], [], clock.final, clock.final_us, ())
        job = attrs.evolve(job, clock=pickle.dumps((light, start, stats)))
        started = time.perf_counter()
        stage_rows = (
            admitted.filter(F.col("kind") == "event")
            .select("stage", "bucket", "position", "at_us", "payload")
            .groupBy("stage", "bucket")
            .applyInArrow(_tasks.task(_tasks.stage_task, job), _tasks.STAGE_SCHEMA)
            .collect()
        )
        _log.debug("spark: keyed stages %.2f s", time.perf_counter() - started)
    finally:
        admitted.unpersist()
    started = time.perf_counter()
    result = _finish(attrs.evolve(job, clock=bytes(meta)), pack, plan, rules, stage_rows)
    _log.debug("spark: the stages on the driver %.2f s", time.perf_counter() - started)
    violations = violations_table(result.violations, timezone=pack.timezone)
    return SparkResult(
        violations=result.violations,
        outcomes=result.outcomes,
        rejected=tuple(rejected),
        stats=result.stats,
        plan=plan,
        timezone=pack.timezone,
        violations_frame=spark.createDataFrame(violations),
        rejects_frame=spark.createDataFrame(rejects_table(rejected)),
    )


def _finish(
    job: Job,
    pack: Pack,
    plan: Plan,
    rules: Mapping[str, Any],
    stage_rows: Sequence[Any],
) -> PlanResult:
    """The stages that take findings, on the driver, as :func:`run_plan` runs them."""
    findings: dict[int, list[tuple[int, int, StageFinding]]] = defaultdict(list)
    outcomes: dict[int, list[tuple[int, int, StageOutcome]]] = defaultdict(list)
    parts: dict[tuple[str, int], list[tuple[int, Any]]] = defaultdict(list)
    for row in stage_rows:
        number, bucket, serial = int(row["stage"]), int(row["bucket"]), int(row["serial"])
        value = _transport.loads(bytes(row["payload"]), rules)
        if row["kind"] == "finding":
            findings[number].append((bucket, serial, value))
        elif row["kind"] == "outcome":
            outcomes[number].append((bucket, serial, value))
        else:
            for key, partials in value.items():
                parts[key].extend((bucket, partial) for partial in partials)
    run = _tasks.runner(job, pack, plan)
    for number, stage in enumerate(plan.stages):
        if stage.kind in {"keyed", "global"}:
            run.stage_number += 1
            for bucket, _, found in sorted(findings[number], key=lambda entry: entry[:2]):
                run.findings.append((found, (run.stage_number, bucket)))
            for bucket, _, outcome in sorted(outcomes[number], key=lambda entry: entry[:2]):
                run.outcomes.append((outcome, (run.stage_number, bucket)))
        elif stage.kind == "periods":
            _judge(run, stage, parts)
        elif stage.kind == "findings":
            run.findings_stage(stage)
        elif stage.kind == "route":
            run.route_stage(stage)
    return run.release()


def _judge(run: _Run, stage: Stage, parts: dict[tuple[str, int], list[tuple[int, Any]]]) -> None:
    """Every period judged once from the buckets' partial counts (merged in bucket order)."""
    run.stage_number += 1

    def take(rule_id: str, start_us: int) -> list[Any]:
        found = sorted(parts.pop((rule_id, start_us), ()), key=lambda part: part[0])
        return [partial for _, partial in found]

    judge = run.judging_engine(stage, take)
    judge.finish(run.clock.final_us)
    run._collect(judge, 0)
