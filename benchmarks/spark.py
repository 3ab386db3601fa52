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

    python benchmarks/spark.py --streaming --events 100000 --files 20

With ``--streaming`` the same events are also cut into ``--files`` Parquet files in a
folder and run through :func:`commitrules.spark.stream_spark` (``--files-per-trigger``
files per micro-batch, after a warm-up stream), in the same run as the single engine and
the batch runner; all three must agree. Results go to ``spark-streaming-results.md`` and
``.json``.
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


def write_events(count: int, path: Path, pack: commitrules.Pack, customers: int = 20_000) -> None:
    """The soak's first ``count`` events (of ``customers`` customers) as one Parquet file."""
    import pyarrow.parquet as pq

    from commitrules.columnar import events_table

    soak = _module("commitrules_benchmark_soak", "soak.py")
    names = pack.catalog.names
    schema = events_table([], pack.catalog, timezone=pack.timezone, types=names).schema
    with pq.ParquetWriter(path, schema) as writer:
        chunk: list[dict[str, Any]] = []
        for number, event in enumerate(soak.endless(customers, 101)):
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


def write_folder(path: Path, folder: Path, files: int) -> None:
    """The events of one Parquet file cut into ``files`` files, dated in stream order."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    folder.mkdir()
    size = -(-table.num_rows // files)
    for index in range(files):
        part = folder / f"part-{index:04d}.parquet"
        pq.write_table(table.slice(index * size, size), part)
        os.utime(part, (1_000_000 + index, 1_000_000 + index))


def streamed(
    folder: Path,
    pack: commitrules.Pack,
    spark: Any,
    partitions: int,
    per_trigger: int,
    state: Any,
) -> Any:
    from commitrules.spark import stream_spark

    started = time.perf_counter()
    result = stream_spark(
        folder,
        pack,
        spark=spark,
        checkpoint=str(folder.parent / f"{folder.name}-{state}-checkpoint"),
        partitions=partitions,
        files_per_trigger=per_trigger,
        state=state,
    )
    seconds = time.perf_counter() - started
    return seconds, [v.id for v in result.violations], result.stats, result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", default="100000,1000000")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--streaming", action="store_true", help="also the streaming runner")
    parser.add_argument("--files", type=int, default=20, help="files of the stream's folder")
    parser.add_argument("--files-per-trigger", type=int, default=1)
    parser.add_argument(
        "--customers",
        type=int,
        default=20_000,
        help="customers of the soak's stream: more make more events a day (the default "
        "stream runs about 490,000 events a year, so 10^7 events reach the 2040s)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="a folder to keep the generated Parquet files in and reuse them from (by size "
        "and customers; by default a temporary folder)",
    )
    args = parser.parse_args(argv)
    columnar = _module("commitrules_benchmark_columnar", "columnar.py")
    from commitrules.spark import local_session

    sizes = [int(size) for size in args.events.split(",")]
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "master": args.master,
        "partitions": args.partitions,
        "customers": args.customers,
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        kept = args.work if args.work is not None else folder
        kept.mkdir(parents=True, exist_ok=True)
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
        if args.streaming:
            write_folder(warm, folder / "warm-stream", 2)
            streamed(folder / "warm-stream", pack, spark, args.partitions, 1, "keyed")
        for size in sizes:
            path = kept / f"events-{size}-{args.customers}.parquet"
            if not path.exists():
                write_events(size, path.with_suffix(".partial"), pack, args.customers)
                path.with_suffix(".partial").rename(path)
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
            if args.streaming:
                stream_folder = folder / f"stream-{size}"
                write_folder(path, stream_folder, args.files)
                for state in ("keyed", "live"):
                    seconds, ids, stream_stats, found = streamed(
                        stream_folder, pack, spark, args.partitions, args.files_per_trigger, state
                    )
                    if ids != one_ids or stream_stats != stats:
                        print(f"{size} events: streaming ({state}) differs", file=sys.stderr)
                        return 1
                    run[f"stream_{state}_seconds"] = round(seconds, 1)
                    run[f"stream_{state}_events_per_second"] = round(size / seconds)
                    run[f"stream_{state}_ratio"] = round(one_seconds / seconds, 2)
                    run["micro_batches"] = found.micro_batches
                    if state == "keyed":
                        run["keys_loaded"] = found.keys_loaded
            print(json.dumps(run), flush=True)
            results["runs"].append(run)
        spark.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.streaming:
        return _write_streaming(args, results)
    (args.out / "spark-results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Spark batch runner in local mode (benchmarks/spark.py)",
        "",
        f"{results['machine']['cpus']} CPUs, Python {results['machine']['python']}, "
        f"master {args.master}, {args.partitions} buckets per keyed stage, the soak's stream "
        f"of {args.customers:,} customers; the session started in "
        f"{results['session_seconds']} s (not counted below).",
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


def _write_streaming(args: argparse.Namespace, results: dict[str, Any]) -> int:
    results["files"] = args.files
    results["files_per_trigger"] = args.files_per_trigger
    (args.out / "spark-streaming-results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Spark streaming runner in local mode (benchmarks/spark.py --streaming)",
        "",
        f"{results['machine']['cpus']} CPUs, Python {results['machine']['python']}, "
        f"master {args.master}, {args.partitions} buckets per keyed stage, the events in "
        f"{args.files} files, {args.files_per_trigger} per micro-batch; the session started "
        f"in {results['session_seconds']} s (not counted below). All three runs gave the same "
        "violation ids in the same order.",
        "",
        "| events | violations | micro-batches | single engine events/s "
        "| Spark batch events/s | streaming, keyed state: s | events/s | key parts loaded "
        "| streaming, live engines: s | events/s | live / single |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines.extend(
        f"| {r['events']:,} | {r['violations']:,} | {r['micro_batches']} | "
        f"{r['single_events_per_second']:,} | {r['spark_events_per_second']:,} | "
        f"{r['stream_keyed_seconds']} | {r['stream_keyed_events_per_second']:,} | "
        f"{r['keys_loaded']:,} | {r['stream_live_seconds']} | "
        f"{r['stream_live_events_per_second']:,} | {r['stream_live_ratio']} |"
        for r in results["runs"]
    )
    (args.out / "spark-streaming-results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
