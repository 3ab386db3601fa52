"""The Spark batch runner (commitrules.spark) gives exactly the single engine's results.

The same rows go through the single engine (:func:`commitrules.columnar.evaluate_table`
or ``evaluate_files``, in stream order) and through :func:`commitrules.spark.evaluate_spark`
on one local Spark session shared by every test: the same violations in the same order,
ids included, the same outcomes, refused rows and counts, on streams with late rows,
repeated ids (duplicates and conflicts) and ties in event time, on the default pack and on
a pack of another shape in which every rule kind, both escalations and a repeat route are
found. The tests that need no Spark (the library without pyspark, the Java check) run
wherever the extra is installed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("pyspark")

import commitrules  # noqa: E402
from commitrules import Engine  # noqa: E402
from commitrules.columnar import (  # noqa: E402
    evaluate_files,
    evaluate_table,
    events_table,
)
from commitrules.spark import (  # noqa: E402
    SparkUnavailableError,
    evaluate_spark,
    java_problem,
    local_session,
)
from tests.conftest import MARKETING, ROOT  # noqa: E402
from tests.test_plan import _streams_module, field_stream, shuffled  # noqa: E402

PACK = commitrules.load_pack()
FIELD = commitrules.load_pack(ROOT / "tests" / "packs" / "field-service")
CST = dt.timezone(dt.timedelta(hours=8))


def benchmark_arrival() -> list[dict[str, Any]]:
    """The benchmark generator's month, delivered as a broker might: late, twice, changed."""
    streams = _streams_module()
    events = list(
        streams.generate(
            seed=11,
            start=dt.datetime(2026, 7, 1, tzinfo=CST),
            days=30,
            customers=300,
            violation_rate=0.03,
        )
    )
    return shuffled(events, 3)


def single(pack: commitrules.Pack, table: Any, until: dt.datetime | None) -> tuple[Any, ...]:
    """The single engine on the table's rows in order: violations, outcomes, result."""
    outcomes: list[commitrules.Outcome] = []
    result = evaluate_table(table, engine=Engine(pack, outcomes=outcomes.append), until=until)
    return [v.to_dict() for v in result.violations], [o.to_dict() for o in outcomes], result


def in_utc(table: Any) -> list[dict[str, Any]]:
    """A table's rows, times in UTC (Spark keeps instants, not zones)."""
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            column = table.column(index).cast(pa.timestamp("us", tz="UTC"))
            table = table.set_column(index, field.name, column)
    return table.to_pylist()


def assert_spark_equals_engine(
    spark: Any,
    pack: commitrules.Pack,
    arrival: list[dict[str, Any]],
    until: dt.datetime | None,
    partitions: int,
    *,
    odd: bool = False,
) -> list[dict[str, Any]]:
    table = events_table(arrival, pack.catalog, timezone=pack.timezone)
    if odd:
        # Rows the table check refuses before the engine: an unknown type, a missing id.
        middle = table.num_rows // 2
        at = table.column("at")[middle].as_py()
        rows = [{"id": "odd-1", "type": "no_such_event", "at": at}, {"type": "sale", "at": at}]
        extra = pa.Table.from_pylist(rows, schema=table.schema)
        table = pa.concat_tables([table.slice(0, middle), extra, table.slice(middle)])
    violations, outcomes, reference = single(pack, table, until)
    positioned = table.append_column("position", pa.array(range(table.num_rows), pa.int64()))
    frame = spark.createDataFrame(positioned)
    result = evaluate_spark(
        frame,
        pack,
        spark=spark,
        partitions=partitions,
        until=until,
        position="position",
        outcomes=True,
    )
    assert [v.to_dict() for v in result.violations] == violations
    assert [o.to_dict() for o in result.outcomes] == outcomes
    assert result.rejected == reference.rejected
    assert not odd or any("no_such_event" in row.reason for row in result.rejected)
    assert result.stats == reference.stats
    # The data frames: the violations table's rows and the refused rows, in order.
    assert in_utc(result.violations_frame.toArrow()) == in_utc(reference.violations_table())
    assert result.rejects_frame.toArrow().to_pylist() == reference.rejects_table().to_pylist()
    return violations


def test_spark_gives_the_engines_results_on_a_benchmark_stream(spark_session: Any) -> None:
    arrival = benchmark_arrival()
    found = assert_spark_equals_engine(
        spark_session,
        PACK,
        arrival,
        dt.datetime(2026, 8, 15, tzinfo=CST),
        partitions=3,
        odd=True,
    )
    assert len(found) > 40  # every kind of breach, warnings and repeat escalations among them
    kinds = {v["rule_id"].split(".")[0] for v in found}
    assert {"C1", "C3", "C5", "W1"} <= kinds


def test_spark_gives_the_engines_results_on_a_pack_of_another_shape(spark_session: Any) -> None:
    # Jobs, engineers, sites and regions as keys; ties in event time; every rule kind.
    arrival = shuffled(field_stream(1, 160), 2)
    until = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    found = assert_spark_equals_engine(spark_session, FIELD, arrival, until, partitions=7)
    assert {v["rule_id"] for v in found} == {rule.id for rule in FIELD.rules}
    assert {"escalation", "insufficient_sample"} <= {v["kind"] for v in found}
    assert ["dispatch", "regional-manager"] in [v["route"] for v in found]


def test_the_command_line_checks_parquet_on_spark(
    spark_session: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from commitrules.cli import main

    # Two files: the stream is the files in path order, each file's rows in order.
    folder = tmp_path / "events"
    folder.mkdir()
    arrival = benchmark_arrival()
    table = events_table(arrival, PACK.catalog, timezone=PACK.timezone)
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), folder / "part-0.parquet")
    pq.write_table(table.slice(half), folder / "part-1.parquet")
    out, rejects = tmp_path / "violations.jsonl", tmp_path / "rejects.jsonl"
    until = "2026-08-15T00:00:00+08:00"
    reference = evaluate_files(folder, PACK, until=dt.datetime.fromisoformat(until))
    argv = ["spark", "check", str(folder), "--until", until, "--partitions", "3"]
    status = main([*argv, "--out", str(out), "--rejects", str(rejects)])
    assert status == 2  # rows were refused (late, conflicting): as 'check' says it
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert written == [v.to_dict() for v in reference.violations]
    refused = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert refused == [
        {"source": row.source, "row": row.row, "reason": row.reason} for row in reference.rejected
    ]
    assert {row["source"] for row in refused} == {
        str(folder / "part-0.parquet"),
        str(folder / "part-1.parquet"),
    }
    err = capsys.readouterr().err
    assert f"{reference.stats.processed} processed" in err
    assert f"{len(reference.violations)} violations" in err


def test_the_command_line_refuses_an_output_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from commitrules.cli import main

    assert main(["spark", "check", str(tmp_path), "--out", str(tmp_path / "v.xlsx")]) == 2
    assert "the suffix chooses the format" in capsys.readouterr().err


def test_an_empty_frame_gives_nothing(spark_session: Any) -> None:
    table = events_table([MARKETING], PACK.catalog, timezone=PACK.timezone).slice(0, 0)
    result = evaluate_spark(spark_session.createDataFrame(table), PACK, spark=spark_session)
    assert result.violations == ()
    assert result.rejected == ()
    assert result.violations_frame.count() == 0


# -- without Spark ----------------------------------------------------------------------------


def test_the_options_reach_the_tasks_as_given(tmp_path: Path) -> None:
    from commitrules.spark import _tasks, _transport
    from commitrules.waivers import load_waivers
    from tests.test_governance import WAIVERS

    path = tmp_path / "waivers.yaml"
    path.write_text(WAIVERS, encoding="utf-8")
    waivers = load_waivers(path, PACK)
    job = _tasks.Job(
        pack_path=str(PACK.path),
        profile=PACK.profile,
        parameters=None,
        digest=PACK.digest,
        partitions=2,
        evidence="pseudonymize",
        pseudonym_key=b"k" * 16,
        waivers=_transport.dumps(waivers),
    )
    import pickle

    settings = _tasks.settings(pickle.loads(pickle.dumps(job)))
    assert settings.waivers == waivers
    assert (settings.evidence, settings.pseudonym_key) == ("pseudonymize", b"k" * 16)


def test_workers_find_a_bundled_pack_by_its_id_and_others_by_their_folder() -> None:
    from commitrules.spark._runner import _pack_source

    assert _pack_source(PACK) == "customer-commitments"
    assert _pack_source(FIELD) == str(FIELD.path)


def test_a_worker_refuses_a_pack_that_is_not_the_drivers() -> None:
    from commitrules.errors import CommitRulesError
    from commitrules.spark import _tasks

    job = _tasks.Job(
        pack_path=str(PACK.path),
        profile=PACK.profile,
        parameters=None,
        digest="0" * 64,
        partitions=1,
    )
    with pytest.raises(CommitRulesError, match="the workers must see the same pack files"):
        _tasks.context(job)


def test_a_missing_java_is_named_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "")
    problem = java_problem()
    assert problem is not None
    assert "Spark needs Java 17 or later" in problem
    assert "no 'java' was found" in problem
    with pytest.raises(SparkUnavailableError, match="Java 17"):
        local_session()


def test_without_java_the_spark_tests_skip_but_fail_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.conftest import spark_cannot_run

    spark_cannot_run(None)  # Java is there: nothing happens
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Java here"):
        spark_cannot_run("no Java here")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and the Spark tests cannot run"):
        spark_cannot_run("no Java here")


def test_an_old_java_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("#!/bin/sh\necho 'openjdk version \"1.8.0_402\"' >&2\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    problem = java_problem()
    assert problem is not None
    assert 'openjdk version "1.8.0_402"' in problem


_WITHOUT_PYSPARK = """
import sys
sys.modules["pyspark"] = None  # as if the spark extra were not installed
import commitrules
engine = commitrules.Engine(commitrules.load_pack())
assert engine.process({MARKETING!r})
import commitrules.columnar
try:
    import commitrules.spark
except ImportError as error:
    print("IMPORT:", error)
"""


def test_the_library_works_without_the_spark_extra(tmp_path: Path) -> None:
    code = _WITHOUT_PYSPARK.format(MARKETING=MARKETING)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert done.returncode == 0, done.stderr
    assert (
        "IMPORT: commitrules.spark needs pyspark, which is not installed: "
        "pip install 'commitrules[spark]'"
    ) in done.stdout


def test_spark_submit_runs_the_command_of_the_module_file() -> None:
    # spark-submit runs src/commitrules/spark/__main__.py as a script: absolute imports only.
    script = ROOT / "src" / "commitrules" / "spark" / "__main__.py"
    done = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: commitrules spark check [OPTIONS] EVENTS..." in done.stdout
    assert "--partitions" in done.stdout
