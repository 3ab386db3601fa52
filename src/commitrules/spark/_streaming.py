"""The Structured Streaming runner: micro-batches through the stage plan, state kept per key.

A streaming query (``readStream``, a trigger that drains what is there:
``availableNow``) hands each micro-batch to ``foreachBatch``; a :class:`StreamHost` on
the driver keeps the plan's state between micro-batches and runs the stages exactly as
:func:`commitrules.plan.run_plan` runs them with ``batches`` and ``keyed_state``:

1. **Admission, before anything else.** The micro-batch's rows go through the engine's
   intake (:class:`~commitrules.plan.AdmissionEngine`, kept across micro-batches) in
   stream order. Rows later than the pack's lateness, duplicates, conflicts and rows the
   table check refuses are decided here; the refused rows are written to the rejects sink
   at the end of the micro-batch. No Spark stateful operator and no Spark watermark is
   used, so Spark never drops a row before the engine has judged it.
2. **Release.** The admitted events earlier than the admission's watermark after the
   micro-batch are released to the stages (no event admitted later can precede them);
   the others wait for a later micro-batch (or the end).
3. **Keyed stages, state per key.** Per (stage, bucket) the state is a table of per-key
   parts (:func:`commitrules.plan.split_state`: a key's rule entries and timers with the
   time its next timer falls due) and a shared part. A micro-batch loads only the keys
   its events name, the keys whose timers fall due by its last event and the keys of a
   rule whose own sweep falls due; runs one engine over them; and writes back the parts
   of the keys it loaded. The global stage keeps its state whole; the periods stage keeps
   one engine per bucket (partial counts only), merged and judged at the end. With
   ``state="live"`` every (stage, bucket) keeps one running engine instead.
4. **At the end of the run** (the stream drained) the engines move to the end of the
   stream (its last watermark or ``until``), and the thresholds over findings, the repeat
   escalations and the release run on the driver, as in the batch runner; the violations
   are written to their sink in the single engine's release order.

A file stream's micro-batch is the list of its files, read from the query's source log
(:func:`_logged_files`; no Spark job) and read by the host with pyarrow.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from .._pace import paced
from ..columnar import RejectedRow, rejects_table, violations_table
from ..engine import EngineStats, EvidenceMode, Outcome
from ..engine._stage import AdmissionEngine
from ..errors import EngineConfigError
from ..pack import Pack
from ..plan import Plan, plan_for
from ..plan._order import Clock
from ..plan._runner import PlanResult
from ..violations import Violation
from ..waivers import Waivers
from ._runner import _judge, _local, job_for
from ._stages import Stages
from ._tasks import Job, _in_zone, runner

__all__ = ["StateMode", "StreamHost", "StreamResult", "stream_spark"]

_log = logging.getLogger(__name__)

StateMode = Literal["keyed", "live"]
"""How a keyed stage's state lives between micro-batches: ``keyed``, a table of per-key
parts (a micro-batch loads and writes back only the keys it needs); ``live``, one engine
per bucket kept running on the driver (faster; the state is never split or written)."""

FILE = "__commitrules_file"
"""The column a file stream gives each micro-batch: the file its rows come from."""


@attrs.frozen(repr=False)
class StreamResult:
    """What a streaming run found: the single engine's violations (release order), outcomes
    (when asked for), refused rows and counts; how many micro-batches ran and how many
    per-key state parts they loaded and wrote back (the cost of the per-key state)."""

    violations: tuple[Violation, ...]
    outcomes: tuple[Outcome, ...]
    rejected: tuple[RejectedRow, ...]
    stats: EngineStats
    plan: Plan
    timezone: str
    micro_batches: int
    keys_loaded: int

    def __repr__(self) -> str:
        return (
            f"StreamResult({len(self.violations)} violations, {len(self.rejected)} rows "
            f"refused, {self.stats.processed} events processed, "
            f"{self.micro_batches} micro-batches)"
        )


class StreamHost:
    """The plan's state on the driver between micro-batches (see the module's docstring).

    Feed it each micro-batch's pieces in stream order (:meth:`micro_batch`), then
    :meth:`finish` once the stream has ended.
    """

    def __init__(
        self,
        job: Job,
        pack: Pack,
        plan: Plan,
        *,
        state: StateMode = "keyed",
    ) -> None:
        if state not in ("keyed", "live"):
            msg = f"state must be 'keyed' or 'live', not {state!r}"
            raise EngineConfigError(msg)
        self.state = state
        self.job = job
        self.pack = pack
        self.plan = plan
        max_ahead = dt.timedelta(microseconds=job.max_ahead_us) if job.max_ahead_us else None
        self.admission = AdmissionEngine(pack, max_ahead=max_ahead, id_key=job.id_key)
        from ..columnar._schema import PlanCache  # noqa: PLC0415 - pyarrow is there

        self.plans = PlanCache(pack.catalog, allow_float_decimals=job.allow_float_decimals)
        self.run = runner(job, pack, plan)
        self.position = 0
        self.rows_of_tables = 0
        self.positions: list[int] = []
        self.watermarks: list[int] = []
        self.waiting: list[tuple[int, int, dict[str, Any]]] = []  # (at µs, position, event)
        self.rejected: list[RejectedRow] = []
        self.micro_batches = 0
        self.keys_loaded = 0
        self.stages = Stages(self.run, plan, partitions=job.partitions, state=state)

    # -- one micro-batch -----------------------------------------------------------------
    def micro_batch(self, pieces: Iterable[Any]) -> list[RejectedRow]:
        """Admit a micro-batch's pieces (:mod:`commitrules.columnar` pieces, in stream
        order), release what the watermark allows to the stages; the rows refused."""
        from ..columnar._rows import check_batch  # noqa: PLC0415
        from ..columnar._sources import Damaged  # noqa: PLC0415

        self.micro_batches += 1
        refused: list[RejectedRow] = []
        admission = self.admission
        watermark: int | None = None
        for piece in pieces:
            if isinstance(piece, Damaged):
                admission.stats.rejected += 1
                refused.append(RejectedRow(piece.source, piece.first_row, piece.reason))
                self.position += 1
                continue
            source, batch = piece.source, piece.batch
            checked = check_batch(source, piece.first_row, batch, self.plans(batch.schema, source))
            for row, event, reason, ready in checked.rows():
                here = self.position
                self.position += 1
                if event is None:
                    admission.stats.rejected += 1
                    refused.append(RejectedRow(source, row, reason or "refused"))
                    continue
                answer = admission.admit(event, validated=ready)
                if not answer.admitted:
                    if answer.error is not None:
                        refused.append(RejectedRow(source, row, str(answer.error)))
                    continue
                assert answer.event is not None
                assert answer.at_us is not None
                assert answer.watermark_us is not None
                self.positions.append(here)
                self.watermarks.append(answer.watermark_us)
                watermark = answer.watermark_us
                if self.run.start is None:
                    self.run.start = (answer.event["at"], here)
                self.waiting.append((answer.at_us, here, answer.event))
        self.rejected.extend(refused)
        if watermark is not None:
            self._release(watermark)
        return refused

    def _release(self, watermark: int | None) -> None:
        """The waiting events earlier than ``watermark`` (None: all) to the stages."""
        if watermark is None:
            released, self.waiting = self.waiting, []
        else:
            released = [item for item in self.waiting if item[0] < watermark]
            self.waiting = [item for item in self.waiting if item[0] >= watermark]
        if not released:
            return
        released.sort(key=_first_two)
        self.stages.take(released)

    # -- the end of the stream -----------------------------------------------------------
    def finish(self) -> PlanResult:
        """The stream has ended: everything waiting is released, every engine moves to the
        end, and the stages that take findings run (as the batch runner's driver does)."""
        self._release(None)
        run = self.run
        run.stats = attrs.evolve(self.admission.stats)
        run.clock = Clock.of(
            self.positions, self.watermarks, end=self.position, until_us=self.job.until_us
        )
        final_us = run.clock.final_us
        found = self.stages.end(final_us)
        self.keys_loaded = found.keys_loaded
        for number, stage in enumerate(self.plan.stages):
            if stage.kind in {"keyed", "global"}:
                run.stage_number += 1
                for bucket, _, _, finding in sorted(found.found[number], key=_first_three):
                    run.findings.append((finding, (run.stage_number, bucket)))
                for bucket, _, _, outcome in sorted(found.outcomes[number], key=_first_three):
                    run.outcomes.append((outcome, (run.stage_number, bucket)))
            elif stage.kind == "periods":
                _judge(run, stage, found.parts)
            elif stage.kind == "findings":
                run.findings_stage(stage)
            elif stage.kind == "route":
                run.route_stage(stage)
        return run.release()


def _first_two(entry: tuple[int, int, Any]) -> tuple[int, int]:
    return entry[0], entry[1]


def _first_three(entry: tuple[int, int, int, Any]) -> tuple[int, int, int]:
    return entry[0], entry[1], entry[2]


# -- the streaming query ---------------------------------------------------------------------
def _frame_pieces(host: StreamHost, table: pa.Table, position: str | None) -> Iterator[Any]:
    """A micro-batch of a data frame stream (its rows, taken as Arrow while the query held
    the micro-batch): one table in stream order (the ``position`` column, else the
    micro-batch's own order), numbered across the stream."""
    from ..columnar._sources import Piece  # noqa: PLC0415

    if position is not None:
        table = table.take(pc.sort_indices(table, sort_keys=[(position, "ascending")]))
        table = table.drop_columns([position])
    table = _in_zone(table, host.pack.timezone)
    first = host.rows_of_tables
    host.rows_of_tables += table.num_rows
    for offset in range(0, table.num_rows, host.job.batch_size):
        piece = table.slice(offset, host.job.batch_size).combine_chunks()
        for batch in piece.to_batches():
            yield Piece("<table>", first + offset, batch)


def _file_names(frame: Any) -> list[str]:
    """A micro-batch of a file stream: its files, in path order (one small Spark job)."""
    return sorted(_local(row[0]) for row in frame.select(FILE).distinct().collect())


def _logged_files(checkpoint: str, batch_id: int) -> list[str] | None:
    """A file stream's micro-batch ``batch_id``: its files in path order, as the query's
    source log lists them, or None when the log cannot tell.

    Spark writes which files make up a micro-batch to the checkpoint's source log
    (``sources/0/<batch>``, or ``<batch>.compact`` every tenth, which repeats the earlier
    entries) before the micro-batch runs, so reading it costs no Spark job, where asking
    the micro-batch's rows for their files costs one per micro-batch (0.1-0.3 s: most of
    what a micro-batch of a few thousand events costs). The query's checkpoint is new and
    has one file source, so its micro-batch numbers are the source's. A log not on the
    local file system, or of another layout, gives None: the rows are asked instead.
    Files without a row are listed too (their schema is checked, as the single engine
    checks every file's).
    """
    if urlparse(checkpoint).scheme not in ("", "file"):
        return None
    folder = Path(_local(checkpoint)) / "sources" / "0"
    for name in (str(batch_id), f"{batch_id}.compact"):
        log = folder / name
        try:
            lines = log.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        if not lines or lines[0] != "v1":
            return None
        files: list[str] = []
        try:
            for line in lines[1:]:
                entry = json.loads(line)
                if entry["batchId"] == batch_id:
                    files.append(_local(entry["path"]))
        except (ValueError, KeyError, TypeError):
            return None
        return sorted(files) if files else None
    return None


def _file_pieces(host: StreamHost, names: list[str]) -> Iterator[Any]:
    """A micro-batch's files, read here with pyarrow (row groups streamed; no rows through
    the JVM); each file's table check first, as in batch."""
    from ..columnar._sources import file_pieces  # noqa: PLC0415

    for name in names:
        host.plans(_schema_of(name), name)
    yield from file_pieces([Path(name) for name in names], host.job.batch_size)


def _schema_of(name: str) -> pa.Schema:
    from ..columnar._sources import file_schema  # noqa: PLC0415

    return file_schema(Path(name))


def _fresh_checkpoint(checkpoint: str) -> None:
    commits = Path(_local(checkpoint)) / "commits"
    if commits.is_dir() and any(commits.iterdir()):
        msg = (
            f"the checkpoint {checkpoint} already holds a run: the plan's state lives on the "
            "driver for one run and is not restored from a checkpoint; give a new directory"
        )
        raise EngineConfigError(msg)


def _write(table: pa.Table, folder: str | None, name: str) -> None:
    """One Parquet file of a sink folder (rewritten whole when a micro-batch is replayed)."""
    if folder is None:
        return
    import pyarrow.parquet as pq  # noqa: PLC0415

    target = Path(_local(folder))
    target.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target / name)


@paced
def stream_spark(
    source: Any,
    pack: Pack | None = None,
    *,
    checkpoint: str,
    spark: Any = None,
    out: str | None = None,
    rejects: str | None = None,
    partitions: int = 8,
    files_per_trigger: int = 1,
    until: dt.datetime | None = None,
    position: str | None = None,
    evidence: EvidenceMode = "mask",
    pseudonym_key: bytes | None = None,
    waivers: Waivers | None = None,
    id_key: bytes | None = None,
    max_ahead: dt.timedelta | None = None,
    outcomes: bool = False,
    allow_float_decimals: bool = False,
    state: StateMode = "keyed",
) -> StreamResult:
    """Run the pack's plan as a Structured Streaming query; the single engine's results.

    ``source`` is a folder of Parquet (or Arrow) files, read with ``readStream`` at most
    ``files_per_trigger`` files per micro-batch (the stream order: the micro-batches in
    order, each one's files in path order, each file's rows in order), or a streaming
    data frame of events (the table rules of :mod:`commitrules.columnar`; stream order:
    the micro-batches in order, each one's rows by its ``position`` column, else as
    given). The query runs until the source is drained (``availableNow``). The refused
    rows go to the ``rejects`` folder at the end of each micro-batch
    (``batch-<n>.parquet``, :data:`commitrules.columnar.REJECTS_SCHEMA`); the violations
    to the ``out`` folder at the end of the run (``violations.parquet``,
    :func:`commitrules.columnar.violation_schema`). ``checkpoint`` is the query's
    checkpoint folder, which must be new. ``state`` says how the keyed stages keep their
    state between micro-batches (:data:`StateMode`): per key (``keyed``, the default) or
    in one live engine per bucket (``live``); the results are the same.

    Raises:
        EngineConfigError: a wrong option, or a checkpoint that already holds a run.
        TableError: a file is not a table the pack can read (no ``type`` column ...).
    """
    from ._session import local_session  # noqa: PLC0415

    if (
        not isinstance(files_per_trigger, int)
        or isinstance(files_per_trigger, bool)
        or files_per_trigger < 1
    ):
        msg = f"files_per_trigger must be a whole number of 1 or more, not {files_per_trigger!r}"
        raise EngineConfigError(msg)
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
    )
    _fresh_checkpoint(checkpoint)
    spark = spark if spark is not None else local_session()
    host = StreamHost(job, pack, plan_for(pack), state=state)
    return _run_query(host, source, spark, checkpoint, files_per_trigger, position, out, rejects)


def _run_query(
    host: StreamHost,
    source: Any,
    spark: Any,
    checkpoint: str,
    files_per_trigger: int,
    position: str | None,
    out: str | None,
    rejects: str | None,
) -> StreamResult:
    from pyspark.sql import DataFrame  # noqa: PLC0415 - the optional extra
    from pyspark.sql import functions as F  # noqa: N812, PLC0415 - Spark's own idiom

    pack = host.pack
    if isinstance(source, DataFrame):
        if not source.isStreaming:
            msg = "the data frame is not a streaming one (spark.readStream...): use evaluate_spark"
            raise EngineConfigError(msg)
        if position is not None and position not in source.columns:
            msg = f"the position column {position!r} is not in the data frame"
            raise EngineConfigError(msg)
        frame = source

        def taken(batch: Any, batch_id: int) -> Any:
            return batch.toArrow()

        def pieces(what: Any) -> Iterator[Any]:
            return _frame_pieces(host, what, position)

    else:
        folder = str(source)
        if not Path(folder).is_dir():
            msg = f"{folder} is not a folder: the stream reads the Parquet files a folder receives"
            raise EngineConfigError(msg)
        frame = (
            spark.readStream.schema("type string")
            .option("maxFilesPerTrigger", files_per_trigger)
            .parquet(folder)
            .select(F.col("_metadata.file_path").alias(FILE))
        )

        def taken(batch: Any, batch_id: int) -> Any:
            logged = _logged_files(checkpoint, batch_id)
            return logged if logged is not None else _file_names(batch)

        def pieces(what: Any) -> Iterator[Any]:
            return _file_pieces(host, what)

    # The host takes micro-batch N in a thread of its own while the query lists and plans
    # micro-batch N + 1 (the JVM's work and Python's waits for it): one micro-batch at a
    # time in the host, in order; N is done before N + 1 is handed over.
    failures: list[BaseException] = []
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="commitrules-stream")
    working: list[Future[None]] = []

    def work(what: Any, batch_id: int) -> None:
        started = time.perf_counter()
        try:
            refused = host.micro_batch(pieces(what))
            _write(rejects_table(refused), rejects, f"batch-{batch_id:06d}.parquet")
        except BaseException as error:
            failures.append(error)  # raised again as itself, not as Spark's wrapping
            raise
        _log.debug("spark stream: micro-batch %d %.2f s", batch_id, time.perf_counter() - started)

    def settle() -> None:
        """Wait for the micro-batch in the host; its failure is raised here."""
        while working:
            working.pop().result()

    def each(batch: Any, batch_id: int) -> None:
        what = taken(batch, batch_id)  # while the query holds the micro-batch
        settle()
        working.append(worker.submit(work, what, batch_id))

    query = (
        frame.writeStream.foreachBatch(each)
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )
    try:
        query.awaitTermination()
        settle()
    except Exception:
        if failures:
            raise failures[0] from None
        raise
    finally:
        worker.shutdown(wait=True)
    result = host.finish()
    _write(violations_table(result.violations, timezone=pack.timezone), out, "violations.parquet")
    return StreamResult(
        violations=result.violations,
        outcomes=result.outcomes,
        rejected=tuple(host.rejected),
        stats=result.stats,
        plan=host.plan,
        timezone=pack.timezone,
        micro_batches=host.micro_batches,
        keys_loaded=host.keys_loaded,
    )
