"""The Spark streaming runner (commitrules.spark.stream_spark) gives the single engine's results.

The same rows go through the single engine (in stream order), through the Spark batch
runner and through a Structured Streaming query run as several micro-batches (files a
few at a time, or a streaming data frame): the same violations in the same order, ids
included, the same outcomes, refused rows and counts; the sinks hold the same rows. On
the benchmark's month delivered as a broker might (late rows, repeated and conflicting
ids, rows the table check refuses) and on the field-service pack (every rule kind, ties
in event time, both escalations and a repeat route). Uses the one Spark session of the
suite (``spark_session``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("pyspark")

from commitrules import Engine, Outcome  # noqa: E402
from commitrules.columnar import evaluate_files, events_table  # noqa: E402
from commitrules.errors import EngineConfigError  # noqa: E402
from commitrules.spark import evaluate_spark, stream_spark  # noqa: E402
from tests.test_plan import field_stream, shuffled  # noqa: E402
from tests.test_spark import CST, FIELD, PACK, benchmark_arrival, in_utc  # noqa: E402


def write_files(table: Any, folder: Path, count: int) -> list[Path]:
    """The table cut into ``count`` Parquet files, named and dated in stream order (Spark's
    file source takes the oldest files first)."""
    folder.mkdir(parents=True)
    size = -(-table.num_rows // count)
    files = []
    for index in range(count):
        path = folder / f"part-{index:02d}.parquet"
        pq.write_table(table.slice(index * size, size), path)
        os.utime(path, (1_000_000 + index, 1_000_000 + index))
        files.append(path)
    return files


def with_odd_rows(table: Any) -> Any:
    """Rows the table check refuses before the engine: an unknown type, a missing id."""
    middle = table.num_rows // 3
    at = table.column("at")[middle].as_py()
    rows = [{"id": "odd-1", "type": "no_such_event", "at": at}, {"type": "sale", "at": at}]
    extra = pa.Table.from_pylist(rows, schema=table.schema)
    return pa.concat_tables([table.slice(0, middle), extra, table.slice(middle)])


def test_a_file_stream_in_micro_batches_gives_the_batch_and_single_engines_results(
    spark_session: Any, tmp_path: Path
) -> None:
    table = with_odd_rows(events_table(benchmark_arrival(), PACK.catalog, timezone=PACK.timezone))
    write_files(table, tmp_path / "in", 5)
    until = dt.datetime(2026, 8, 15, tzinfo=CST)
    outcomes: list[Outcome] = []
    single = evaluate_files(
        tmp_path / "in", PACK, engine=Engine(PACK, outcomes=outcomes.append), until=until
    )
    batch = evaluate_spark(
        sorted((tmp_path / "in").iterdir()), PACK, spark=spark_session, partitions=3, until=until
    )
    streamed = stream_spark(
        tmp_path / "in",
        PACK,
        spark=spark_session,
        checkpoint=str(tmp_path / "checkpoint"),
        out=str(tmp_path / "out"),
        rejects=str(tmp_path / "rejects"),
        partitions=3,
        files_per_trigger=2,
        until=until,
        outcomes=True,
    )
    assert streamed.micro_batches == 3  # 5 files, 2 at a time
    expected = [v.to_dict() for v in single.violations]
    assert len(expected) > 40
    assert [v.to_dict() for v in streamed.violations] == expected
    assert [v.to_dict() for v in batch.violations] == expected
    assert [o.to_dict() for o in streamed.outcomes] == [o.to_dict() for o in outcomes]
    assert streamed.rejected == single.rejected == batch.rejected
    assert streamed.stats == single.stats
    # Late rows are refused by the engine's lateness and reach the rejects sink, never dropped.
    reasons = [row.reason for row in streamed.rejected]
    assert any("before the watermark" in reason for reason in reasons), reasons
    assert any("no_such_event" in reason for reason in reasons)
    # The sinks: the refused rows micro-batch by micro-batch, the violations at the end.
    written = sorted((tmp_path / "rejects").iterdir())
    assert [path.name for path in written] == [f"batch-{n:06d}.parquet" for n in range(3)]
    refused = [row for path in written for row in pq.read_table(path).to_pylist()]
    assert refused == single.rejects_table().to_pylist()
    sink = pq.read_table(tmp_path / "out" / "violations.parquet")
    assert in_utc(sink) == in_utc(single.violations_table())
    # Later micro-batches resumed keys from the per-key state table.
    assert streamed.keys_loaded > 0


def test_a_data_frame_stream_of_another_pack_gives_the_single_engines_results(
    spark_session: Any, tmp_path: Path
) -> None:
    # Jobs, engineers, sites and regions as keys; ties in event time; every rule kind.
    arrival = shuffled(field_stream(1, 160), 2)
    until = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    table = events_table(arrival, FIELD.catalog, timezone=FIELD.timezone)
    outcomes: list[Outcome] = []
    engine = Engine(FIELD, outcomes=outcomes.append)
    from commitrules.columnar import evaluate_table

    single = evaluate_table(table, engine=engine, until=until)
    positioned = table.append_column("position", pa.array(range(table.num_rows), pa.int64()))
    files = write_files(positioned, tmp_path / "in", 4)
    frame = (
        spark_session.readStream.schema(spark_session.read.parquet(str(files[0])).schema)
        .option("maxFilesPerTrigger", 1)
        .parquet(str(tmp_path / "in"))
    )
    streamed = stream_spark(
        frame,
        FIELD,
        spark=spark_session,
        checkpoint=str(tmp_path / "checkpoint"),
        partitions=7,
        until=until,
        position="position",
        outcomes=True,
    )
    assert streamed.micro_batches == 4
    found = [v.to_dict() for v in streamed.violations]
    assert found == [v.to_dict() for v in single.violations]
    assert [o.to_dict() for o in streamed.outcomes] == [o.to_dict() for o in outcomes]
    assert streamed.rejected == single.rejected
    assert streamed.stats == single.stats
    assert {v["rule_id"] for v in found} == {rule.id for rule in FIELD.rules}
    assert {"escalation", "insufficient_sample"} <= {v["kind"] for v in found}


def test_the_command_line_streams_a_folder(
    spark_session: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from commitrules.cli import main

    table = events_table(benchmark_arrival(), PACK.catalog, timezone=PACK.timezone)
    write_files(table, tmp_path / "in", 3)
    until = "2026-08-15T00:00:00+08:00"
    reference = evaluate_files(tmp_path / "in", PACK, until=dt.datetime.fromisoformat(until))
    argv = ["spark", "stream", str(tmp_path / "in"), "--until", until, "--partitions", "2"]
    argv += ["--checkpoint", str(tmp_path / "checkpoint"), "--format", "jsonl", "--state", "live"]
    status = main([*argv, "--rejects", str(tmp_path / "rejects")])
    assert status == 2  # rows were refused (late, conflicting): as 'check' says it
    captured = capsys.readouterr()
    printed = [json.loads(line) for line in captured.out.splitlines()]
    assert printed == [v.to_dict() for v in reference.violations]
    assert f"{reference.stats.processed} processed" in captured.err
    assert "3 micro-batches" in captured.err
    refused = [
        row
        for path in sorted((tmp_path / "rejects").iterdir())
        for row in pq.read_table(path).to_pylist()
    ]
    assert refused == reference.rejects_table().to_pylist()
    # The same checkpoint again: refused (the plan's state is not restored from it).
    assert main([*argv]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_a_source_that_is_not_a_folder_or_a_stream_is_refused(
    spark_session: Any, tmp_path: Path
) -> None:
    checkpoint = str(tmp_path / "checkpoint")
    with pytest.raises(EngineConfigError, match="is not a folder"):
        stream_spark(tmp_path / "missing", PACK, spark=spark_session, checkpoint=checkpoint)
    frame = spark_session.createDataFrame([("a",)], "type string")
    with pytest.raises(EngineConfigError, match="not a streaming one"):
        stream_spark(frame, PACK, spark=spark_session, checkpoint=checkpoint)
    stream = spark_session.readStream.format("rate").load()
    with pytest.raises(EngineConfigError, match="the position column 'order' is not in"):
        stream_spark(stream, PACK, spark=spark_session, checkpoint=checkpoint, position="order")
    with pytest.raises(EngineConfigError, match="files_per_trigger must be"):
        stream_spark(
            tmp_path, PACK, spark=spark_session, checkpoint=checkpoint, files_per_trigger=0
        )


def test_a_file_the_pack_cannot_read_stops_the_stream_naming_it(
    spark_session: Any, tmp_path: Path
) -> None:
    from commitrules.columnar import TableError

    table = events_table(benchmark_arrival()[:50], PACK.catalog, timezone=PACK.timezone)
    files = write_files(table, tmp_path / "in", 2)
    pq.write_table(table.drop_columns(["type"]), files[1])  # the second file has no type
    with pytest.raises(TableError, match=r"part-01\.parquet"):
        stream_spark(
            tmp_path / "in", PACK, spark=spark_session, checkpoint=str(tmp_path / "checkpoint")
        )


def test_a_failing_micro_batch_stops_the_stream_before_the_next_one_is_taken(
    spark_session: Any, tmp_path: Path
) -> None:
    # The host takes a micro-batch in a thread of its own while the query lists the next:
    # a micro-batch that fails is raised as itself, and the micro-batch after it is never
    # taken (no rejects written for it).
    from commitrules.columnar import TableError

    table = events_table(benchmark_arrival()[:90], PACK.catalog, timezone=PACK.timezone)
    files = write_files(table, tmp_path / "in", 3)
    pq.write_table(table.drop_columns(["type"]), files[1])
    for age, path in enumerate(files):  # Spark takes the oldest file first: keep path order
        os.utime(path, (1_800_000_000 + age, 1_800_000_000 + age))
    rejects = tmp_path / "rejects"
    with pytest.raises(TableError, match=r"part-01\.parquet"):
        stream_spark(
            tmp_path / "in",
            PACK,
            spark=spark_session,
            checkpoint=str(tmp_path / "checkpoint"),
            rejects=str(rejects),
        )
    assert sorted(path.name for path in rejects.iterdir()) == ["batch-000000.parquet"]


def streamed_as_single(spark: Any, tmp_path: Path, *, rows: int, files: int) -> Any:
    """The benchmark's first ``rows`` rows in ``files`` files, one per micro-batch: the
    stream's result, checked equal to the single engine's."""
    table = events_table(benchmark_arrival()[:rows], PACK.catalog, timezone=PACK.timezone)
    write_files(table, tmp_path / "in", files)
    single = evaluate_files(tmp_path / "in", PACK)
    streamed = stream_spark(
        tmp_path / "in", PACK, spark=spark, checkpoint=str(tmp_path / "checkpoint")
    )
    assert [v.to_dict() for v in streamed.violations] == [v.to_dict() for v in single.violations]
    assert streamed.stats == single.stats
    return streamed


def test_a_file_streams_micro_batches_are_listed_from_the_source_log_without_a_spark_job(
    spark_session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Twelve files one per micro-batch: the log's plain entries and its compacted one
    # (Spark compacts every tenth: 9.compact repeats micro-batches 0-8). Asking the rows
    # for their files (a Spark job per micro-batch) must not happen.
    import commitrules.spark._streaming as streaming

    def no_job(frame: Any) -> list[str]:
        raise AssertionError("the micro-batch's rows were asked for their files")

    monkeypatch.setattr(streaming, "_file_names", no_job)
    streamed = streamed_as_single(spark_session, tmp_path, rows=240, files=12)
    assert streamed.micro_batches == 12
    assert (tmp_path / "checkpoint" / "sources" / "0" / "9.compact").is_file()
    assert streamed.stats.processed > 200


def test_without_a_readable_source_log_the_rows_name_their_files(
    spark_session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import commitrules.spark._streaming as streaming

    asked: list[int] = []
    ask = streaming._file_names

    def counted(frame: Any) -> list[str]:
        asked.append(1)
        return ask(frame)

    monkeypatch.setattr(streaming, "_logged_files", lambda checkpoint, batch_id: None)
    monkeypatch.setattr(streaming, "_file_names", counted)
    streamed = streamed_as_single(spark_session, tmp_path, rows=60, files=2)
    assert len(asked) == streamed.micro_batches == 2


def test_a_file_without_rows_is_checked_as_the_single_engine_checks_it(
    spark_session: Any, tmp_path: Path
) -> None:
    # Listed by the source log, a file with no row has its schema checked, as
    # evaluate_files checks every file before the first row.
    from commitrules.columnar import TableError

    table = events_table(benchmark_arrival()[:40], PACK.catalog, timezone=PACK.timezone)
    files = write_files(table, tmp_path / "in", 2)
    pq.write_table(table.slice(0, 0).drop_columns(["type"]), files[1])
    os.utime(files[1], (1_000_001, 1_000_001))
    with pytest.raises(TableError, match=r"part-01\.parquet"):
        evaluate_files(tmp_path / "in", PACK)
    with pytest.raises(TableError, match=r"part-01\.parquet"):
        stream_spark(
            tmp_path / "in", PACK, spark=spark_session, checkpoint=str(tmp_path / "checkpoint")
        )


def test_the_source_log_is_read_only_where_it_can_tell(tmp_path: Path) -> None:
    from commitrules.spark._streaming import _logged_files

    log = tmp_path / "checkpoint" / "sources" / "0"
    log.mkdir(parents=True)
    entry = {"path": "file:///data/in/part%2001.parquet", "timestamp": 1, "batchId": 0}
    (log / "0").write_text("v1\n" + json.dumps(entry) + "\n", encoding="utf-8")
    compact = [
        {"path": f"file:///data/in/part-{n}.parquet", "timestamp": n, "batchId": n // 2}
        for n in (3, 2, 1)
    ]
    (log / "1.compact").write_text(
        "v1\n" + "\n".join(json.dumps(item) for item in compact) + "\n", encoding="utf-8"
    )
    checkpoint = str(tmp_path / "checkpoint")
    assert _logged_files(checkpoint, 0) == ["/data/in/part 01.parquet"]
    assert _logged_files(checkpoint, 1) == ["/data/in/part-2.parquet", "/data/in/part-3.parquet"]
    assert _logged_files(checkpoint, 2) is None  # not written: the rows are asked
    assert _logged_files("hdfs://cluster/checkpoint", 0) is None  # not on this machine
    (log / "2").write_text("v2\n{}\n", encoding="utf-8")
    assert _logged_files(checkpoint, 2) is None  # another layout
    (log / "3").write_text("v1\nnot json\n", encoding="utf-8")
    assert _logged_files(checkpoint, 3) is None
