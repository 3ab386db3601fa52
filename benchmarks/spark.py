"""The Spark batch runner in local mode against the single engine, on the same Parquet file.

    python benchmarks/spark.py                              # 10^5 and 10^6 events
    python benchmarks/spark.py --events 100000 --partitions 4 --out DIR

The soak's seeded stream (``benchmarks/soak.py``: consecutive windows of the generator, the
default pack extended to trust the calendar package through 2099) is written once per size
to a Parquet file. Then, on that file:

1. the single engine (:func:`commitrules.columnar.evaluate_files`), the reference;
2. :func:`commitrules.spark.evaluate_spark` on a local session (``--master``, default
   ``local[2]``) with ``--partitions`` buckets per keyed stage, after one warm-up run on a
   small file (a JVM's first jobs are slow); the session's start is reported apart.

Both must give the same violation ids in the same order (the run fails otherwise).
Reported: seconds and events per second of each, and Spark's ratio to the single engine.
Results go to ``spark-results.md`` and ``spark-results.json`` (``--out DIR``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import commitrules

HERE = Path(__file__).resolve().parent


def _module(name: str, file: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / file)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def write_events(count: int, path: Path, pack: commitrules.Pack) -> None:
    """The soak's first ``count`` events as one Parquet file."""
    import pyarrow.parquet as pq

    from commitrules.columnar import events_table

    soak = _module("commitrules_benchmark_soak", "soak.py")
    names = pack.catalog.names
    schema = events_table([], pack.catalog, timezone=pack.timezone, types=names).schema
    with pq.ParquetWriter(path, schema) as writer:
        chunk: list[dict[str, Any]] = []
        for number, event in enumerate(soak.endless(20_000, 101)):
            if number >= count:
                break
            chunk.append(event)
            if len(chunk) == 50_000:
                writer.write_table(
                    events_table(chunk, pack.catalog, timezone=pack.timezone, types=names)
                )
                chunk = []
        if chunk:
            writer.write_table(
                events_table(chunk, pack.catalog, timezone=pack.timezone, types=names)
            )


def single(path: Path, pack: commitrules.Pack) -> tuple[float, list[str], Any]:
    from commitrules.columnar import evaluate_files

    ids: list[str] = []
    started = time.perf_counter()
    result = evaluate_files(
        path,
        pack,
        keep_violations=False,
        on_violations=lambda found: ids.extend(v.id for v in found),
    )
    return time.perf_counter() - started, ids, result.stats


def on_spark(path: Path, pack: commitrules.Pack, spark: Any, partitions: int) -> Any:
    from commitrules.spark import evaluate_spark

    started = time.perf_counter()
    result = evaluate_spark(path, pack, spark=spark, partitions=partitions)
    return time.perf_counter() - started, [v.id for v in result.violations], result.stats


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", default="100000,1000000")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    columnar = _module("commitrules_benchmark_columnar", "columnar.py")
    from commitrules.spark import local_session

    sizes = [int(size) for size in args.events.split(",")]
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "master": args.master,
        "partitions": args.partitions,
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        pack = columnar.soak_pack(folder)
        started = time.perf_counter()
        spark = local_session(
            args.master,
            shuffle_partitions=args.partitions,
            config={"spark.driver.memory": args.driver_memory},
        )
        results["session_seconds"] = round(time.perf_counter() - started, 1)
        warm = folder / "warm.parquet"
        write_events(2_000, warm, pack)
        on_spark(warm, pack, spark, args.partitions)
        for size in sizes:
            path = folder / f"events-{size}.parquet"
            write_events(size, path, pack)
            one_seconds, one_ids, stats = single(path, pack)
            spark_seconds, spark_ids, spark_stats = on_spark(path, pack, spark, args.partitions)
            if spark_ids != one_ids or spark_stats != stats:
                print(f"{size} events: Spark and the single engine differ", file=sys.stderr)
                return 1
            run = {
                "events": size,
                "violations": len(one_ids),
                "single_seconds": round(one_seconds, 1),
                "single_events_per_second": round(size / one_seconds),
                "spark_seconds": round(spark_seconds, 1),
                "spark_events_per_second": round(size / spark_seconds),
                "ratio": round(one_seconds / spark_seconds, 2),
            }
            print(json.dumps(run), flush=True)
            results["runs"].append(run)
        spark.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "spark-results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Spark batch runner in local mode (benchmarks/spark.py)",
        "",
        f"{results['machine']['cpus']} CPUs, Python {results['machine']['python']}, "
        f"master {args.master}, {args.partitions} buckets per keyed stage; the session "
        f"started in {results['session_seconds']} s (not counted below).",
        "",
        "| events | violations | single engine s | events/s | Spark s | events/s | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines.extend(
        f"| {r['events']:,} | {r['violations']:,} | {r['single_seconds']} | "
        f"{r['single_events_per_second']:,} | {r['spark_seconds']} | "
        f"{r['spark_events_per_second']:,} | {r['ratio']} |"
        for r in results["runs"]
    )
    (args.out / "spark-results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
