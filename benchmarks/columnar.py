"""The table path on a long Parquet input: input buffering, the engine's state, throughput.

    python benchmarks/columnar.py                         # 10 million events (~30-40 minutes)
    python benchmarks/columnar.py --events 1000000        # a shorter run
    python benchmarks/columnar.py --events 3000 --compare 3000 --batch-sizes 512 --out DIR

What it measures, on the soak's seeded stream (``benchmarks/soak.py``: consecutive windows
of the generator, the default pack extended to trust the calendar package through 2099),
written once to a Parquet file in row groups of ``--row-group`` rows:

1. **Input buffering** (reading alone, no engine): a fresh interpreter streams the file
   through :mod:`commitrules.columnar` (the batches, the schema check, the per-batch
   passes, and every row turned into the dict the engine would get, then dropped), once per
   batch size, on the whole file and on its first ``--compare`` rows. Reported: resident
   memory after the imports, its peak while reading, and the peak of Arrow's memory pool.
   Bounded means the peak follows the batch size and not the number of rows.
2. **The engine's own state** (the whole file through the engine, in a fresh interpreter):
   resident memory and the sizes of the engine's state (seen ids, timers, open deadlines,
   reorder buffer), sampled as on the per-event path; they grow with the keys and the
   duplicate horizon, not with the input's buffering. The violations are streamed out
   (``on_violations``, ``keep_violations=False``) and counted: kept in the result, the
   soak's ~970,000 findings alone take gigabytes.
3. **Throughput against the per-event path**, in one run on the same first ``--compare``
   events: ``commitrules.batch.check_files`` on the JSON Lines file (the CLI's per-event
   path) and ``commitrules.columnar.evaluate_files`` on the Parquet file, interleaved,
   best of ``--repeats``; both must release the same violation ids.

Results go to ``columnar-results.md`` and ``columnar-results.json`` (``--out DIR``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import commitrules

HERE = Path(__file__).resolve().parent
CHUNK = 50_000
SOAK_PACK = (
    "id: soak\nversion: 1.0.0\nname: {zh: 浸泡, en: Soak}\n"
    "extends: customer-commitments\ncalendar: {country: CN, known_through: 2099}\n"
)


def _module(name: str, file: str) -> ModuleType:
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(name, HERE / file)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def soak_pack(folder: Path) -> commitrules.Pack:
    """The default pack, trusting the calendar package through 2099 (as the soak does)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pack.yaml").write_text(SOAK_PACK, encoding="utf-8")
    return commitrules.load_pack(folder)


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as handle:  # Linux: resident pages
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def write_inputs(
    events: int, compare: int, folder: Path, pack: commitrules.Pack, row_group: int
) -> dict[str, Any]:
    """The stream as events.parquet, and its first ``compare`` events as JSON Lines and Parquet."""
    import pyarrow.parquet as pq

    from commitrules.columnar import events_table

    soak = _module("commitrules_benchmark_soak", "soak.py")
    names = pack.catalog.names
    started = time.perf_counter()
    whole = folder / "events.parquet"
    first = folder / "first.parquet"
    lines = folder / "first.jsonl"
    schema = events_table([], pack.catalog, timezone=pack.timezone, types=names).schema
    written = 0
    with (
        pq.ParquetWriter(whole, schema) as writer,
        pq.ParquetWriter(first, schema) as head,
        lines.open("w", encoding="utf-8") as text,
    ):
        chunk: list[dict[str, Any]] = []
        for event in _take(soak.endless(20_000, 101), events):
            chunk.append(event)
            if len(chunk) == CHUNK:
                written = _flush(chunk, written, compare, (writer, head, text), pack, row_group)
                chunk = []
        if chunk:
            written = _flush(chunk, written, compare, (writer, head, text), pack, row_group)
    size = whole.stat().st_size
    return {
        "events": written,
        "compare": min(compare, written),
        "seconds": round(time.perf_counter() - started, 1),
        "parquet_mb": round(size / 1e6, 1),
        "row_group": row_group,
    }


def _take(stream: Iterator[dict[str, Any]], count: int) -> Iterator[dict[str, Any]]:
    for number, event in enumerate(stream):
        if number >= count:
            return
        yield event


def _flush(
    chunk: list[dict[str, Any]],
    written: int,
    compare: int,
    outputs: tuple[Any, Any, Any],
    pack: commitrules.Pack,
    row_group: int,
) -> int:
    from commitrules.columnar import events_table

    streams = _module("commitrules_benchmark_streams", "streams.py")
    writer, head, text = outputs
    table = events_table(chunk, pack.catalog, timezone=pack.timezone, types=pack.catalog.names)
    writer.write_table(table, row_group_size=row_group)
    if written < compare:
        wanted = min(len(chunk), compare - written)
        head.write_table(table.slice(0, wanted), row_group_size=row_group)
        for event in chunk[:wanted]:
            text.write(streams.dumps_event(event) + "\n")
    return written + len(chunk)


# -- the measurements, each in a fresh interpreter --------------------------------------------


def read_only(path: Path, batch_size: int, pack_folder: Path) -> dict[str, Any]:
    """Stream ``path`` through the reader and the per-row conversion only (no engine)."""
    import pyarrow as pa

    from commitrules.columnar._rows import check_batch
    from commitrules.columnar._schema import PlanCache
    from commitrules.columnar._sources import Damaged, file_pieces

    pack = soak_pack(pack_folder)
    _warm(pack)
    baseline = _rss_mb()
    plans = PlanCache(pack.catalog, allow_float_decimals=False)
    rows = 0
    started = time.perf_counter()
    peak = baseline
    for piece in file_pieces([path], batch_size):
        assert not isinstance(piece, Damaged)
        checked = check_batch(
            piece.source, piece.first_row, piece.batch, plans(piece.batch.schema, piece.source)
        )
        for _number, _event, _reason, _ready in checked.rows():
            rows += 1
            if rows % 1024 == 0:  # while a batch's Python values are alive
                peak = max(peak, _rss_mb())
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "batch_size": batch_size,
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds),
        "rss_after_imports_mb": round(baseline, 1),
        "rss_peak_mb": round(peak, 1),
        "buffering_mb": round(peak - baseline, 1),
        "arrow_pool_peak_mb": round(pa.default_memory_pool().max_memory() / 1e6, 1),
    }


def _warm(pack: commitrules.Pack) -> None:
    """Import what the table path imports on first use (not part of any measurement)."""
    from commitrules.columnar import evaluate_table, events_table

    table = events_table([], pack.catalog, timezone=pack.timezone, types=pack.catalog.names)
    evaluate_table(table, engine=commitrules.Engine(pack))


def engine_run(path: Path, batch_size: int, pack_folder: Path, every: int) -> dict[str, Any]:
    """The whole file through the engine, its state sampled every ``every`` rows."""
    from commitrules.columnar import evaluate_files

    pack = soak_pack(pack_folder)
    _warm(pack)
    engine = commitrules.Engine(pack)
    baseline = _rss_mb()
    peak = [baseline]
    samples: list[dict[str, Any]] = []
    done = [0, 0]
    started = time.perf_counter()

    def sample(rows: int) -> None:
        done[0] += rows
        peak[0] = max(peak[0], _rss_mb())
        if done[0] - done[1] < every:
            return
        done[1] = done[0]
        state = engine.snapshot()
        samples.append(
            {
                "rows": done[0],
                "rss_mb": round(_rss_mb(), 1),
                "seen": len(state["seen"]),
                "timers": len(state["timers"]),
                "buffer": len(state["buffer"]),
                "deadlines": sum(
                    len(r["state"]) for r in state["rules"].values() if r["kind"] == "deadline"
                ),
                # The calls committed since the engine's last checkpoint (engine/_atomic.py):
                # it keeps each one's event, up to twice the state's size of them.
                "journal": len(engine._journal.entries),
                "events_per_s": round(done[0] / (time.perf_counter() - started)),
            }
        )
        print(json.dumps(samples[-1]), file=sys.stderr, flush=True)

    released = [0]

    def count(violations: list[commitrules.Violation]) -> None:
        released[0] += len(violations)

    # Streamed out and counted, not kept: a million findings held in the result would
    # take more memory than the input's buffering and the engine's state together.
    result = evaluate_files(
        path,
        engine=engine,
        batch_size=batch_size,
        on_batch=sample,
        on_violations=count,
        keep_violations=False,
    )
    seconds = time.perf_counter() - started
    return {
        "rows": result.rows,
        "processed": result.stats.processed,
        "rejected": len(result.rejected),
        "violations": released[0],
        "seconds": round(seconds, 1),
        "events_per_s": round(result.rows / seconds),
        "rss_after_pack_mb": round(baseline, 1),
        "rss_peak_mb": round(peak[0], 1),
        "samples": samples,
    }


def compare_paths(
    lines: Path, table: Path, pack_folder: Path, repeats: int, batch_size: int
) -> dict[str, Any]:
    """Both paths on the same events, interleaved; best of ``repeats`` each."""
    from commitrules.batch import check_files
    from commitrules.columnar import evaluate_files

    pack = soak_pack(pack_folder)
    _warm(pack)
    times: dict[str, list[float]] = {"per_event": [], "table": []}
    ids: dict[str, list[str]] = {}
    rows = 0
    for _ in range(repeats):
        engine = commitrules.Engine(pack)
        started = time.perf_counter()
        by_lines = check_files([str(lines)], engine=engine)
        times["per_event"].append(time.perf_counter() - started)
        ids["per_event"] = [v.id for v in by_lines.violations]
        rows = by_lines.stats.processed + len(by_lines.rejected)
        engine = commitrules.Engine(pack)
        started = time.perf_counter()
        by_table = evaluate_files(table, engine=engine, batch_size=batch_size)
        times["table"].append(time.perf_counter() - started)
        ids["table"] = [v.id for v in by_table.violations]
    if ids["per_event"] != ids["table"]:
        msg = "the table path and the per-event path released different violations"
        raise SystemExit(msg)
    best = {name: min(values) for name, values in times.items()}
    return {
        "events": rows,
        "violations": len(ids["table"]),
        "repeats": {name: [round(v, 2) for v in values] for name, values in times.items()},
        "per_event_events_per_s": round(rows / best["per_event"]),
        "table_events_per_s": round(rows / best["table"]),
        "ratio": round(best["per_event"] / best["table"], 2),
    }


def _child(arguments: list[str], script: str = __file__) -> dict[str, Any]:
    """Run ``script`` with ``arguments`` in a fresh interpreter; its last line of JSON."""
    done = subprocess.run(
        [sys.executable, script, *arguments], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the command ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--compare", type=int, default=1_000_000)
    parser.add_argument("--batch-sizes", default="8192,65536")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--every", type=int, default=1_000_000)
    parser.add_argument("--row-group", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--work", type=Path, help="Keep the inputs here (default: a temp dir).")
    parser.add_argument(
        "--reuse", action="store_true", help="Read the inputs --work holds from an earlier run."
    )
    # The children:
    parser.add_argument("--read-only", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--engine-run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--compare-paths", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=8192, help=argparse.SUPPRESS)
    parser.add_argument("--pack", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.read_only:
        print(json.dumps(read_only(args.read_only, args.batch_size, args.pack)))
        return 0
    if args.engine_run:
        run = engine_run(args.engine_run, args.batch_size, args.pack, args.every)
        print(json.dumps(run))
        return 0
    if args.compare_paths:
        lines, table = args.compare_paths
        print(json.dumps(compare_paths(lines, table, args.pack, args.repeats, args.batch_size)))
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="columnar-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    pack_folder = work / "pack"
    pack = soak_pack(pack_folder)
    sizes = [int(size) for size in args.batch_sizes.split(",")]
    started = time.perf_counter()
    written = work / "inputs.json"
    inputs = json.loads(written.read_text(encoding="utf-8")) if written.exists() else {}
    wanted = {"events": args.events, "compare": args.compare, "row_group": args.row_group}
    if not (args.reuse and {k: inputs.get(k) for k in wanted} == wanted):
        print(f"writing {args.events:,} events to {work} …", file=sys.stderr, flush=True)
        inputs = write_inputs(args.events, args.compare, work, pack, args.row_group)
        written.write_text(json.dumps(inputs), encoding="utf-8")
    common = ["--pack", str(pack_folder)]
    reading = []
    for path in (work / "events.parquet", work / "first.parquet"):
        for size in sizes:
            print(f"reading {path.name} by {size} …", file=sys.stderr, flush=True)
            measured = _child(["--read-only", str(path), "--batch-size", str(size), *common])
            reading.append({"file": path.name, **measured})
    print("both paths on the first events …", file=sys.stderr, flush=True)
    comparison = _child(
        [
            "--compare-paths",
            str(work / "first.jsonl"),
            str(work / "first.parquet"),
            "--repeats",
            str(args.repeats),
            "--batch-size",
            str(sizes[0]),
            *common,
        ]
    )
    print("the whole file through the engine …", file=sys.stderr, flush=True)
    run = _child(
        [
            "--engine-run",
            str(work / "events.parquet"),
            "--batch-size",
            str(sizes[0]),
            "--every",
            str(args.every),
            *common,
        ]
    )
    results = {
        "machine": {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": [round(v, 2) for v in os.getloadavg()],
            "pyarrow": _version("pyarrow"),
            "commitrules": commitrules.__version__,
            "git": _git(),
        },
        "inputs": inputs,
        "reading": reading,
        "comparison": comparison,
        "engine_run": run,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "columnar-results.json").write_text(
        json.dumps(results, indent=2) + "\n", encoding="utf-8"
    )
    (args.out / "columnar-results.md").write_text(report(results), encoding="utf-8")
    print(report(results))
    return 0


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def _git() -> str:
    if os.environ.get("COMMITRULES_GIT"):  # a copy of the tree measured outside its repo
        return os.environ["COMMITRULES_GIT"]
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=HERE,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "-"


def report(results: dict[str, Any]) -> str:
    """The results as Markdown."""
    inputs, run, comparison = results["inputs"], results["engine_run"], results["comparison"]
    machine = results["machine"]
    lines = [
        "# The table path: input buffering, the engine's state, throughput",
        "",
        f"`python benchmarks/columnar.py --events {inputs['events']}` in "
        f"{results['seconds']:,.0f} s; {machine['date']}, git {machine['git']}, Python "
        f"{machine['python']}, pyarrow {machine['pyarrow']}, {machine['cpus']} CPUs, load "
        f"{machine['load_average']}. See the docstring of `benchmarks/columnar.py`.",
        "",
        f"Input: **{inputs['events']:,} events** of the soak's stream in one Parquet file "
        f"({inputs['parquet_mb']:,} MB, row groups of {inputs['row_group']:,} rows; written in "
        f"{inputs['seconds']:,} s).",
        "",
        "## Input buffering (reading alone, no engine)",
        "",
        "Each row read, checked and turned into the dict the engine would get, then dropped; "
        "a fresh interpreter per line. `buffering` is the peak resident memory while reading "
        "(sampled every 1,024 rows) less the memory after the imports and the pack.",
        "",
        "| file | rows | batch size | rows/s | after imports MB | peak MB | buffering MB "
        "| Arrow pool peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for item in results["reading"]:
        lines.append(
            f"| {item['file']} | {item['rows']:,} | {item['batch_size']:,} | "
            f"{item['rows_per_s']:,} | {item['rss_after_imports_mb']} | {item['rss_peak_mb']} | "
            f"{item['buffering_mb']} | {item['arrow_pool_peak_mb']} |"
        )
    lines += [
        "",
        "## The engine's own state (the whole file through the engine)",
        "",
        f"{run['rows']:,} rows, {run['processed']:,} processed, {run['rejected']:,} rejected, "
        f"{run['violations']:,} violations (streamed out with `on_violations` and counted, "
        f"`keep_violations=False`) in {run['seconds']:,} s "
        f"(**{run['events_per_s']:,} events/s**); resident memory {run['rss_after_pack_mb']} MB "
        f"after loading the pack, peak {run['rss_peak_mb']} MB (sampled after every batch).",
        "",
        "`journal` is the engine's journal of atomic calls (the events committed since its "
        "last checkpoint, `engine/_atomic.py`), which the per-event path keeps alike: a "
        "checkpoint is taken when it is twice as long as the state is large.",
        "",
        "| rows | RSS MB | seen ids | timers | open deadlines | buffer | journal | events/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for sample in run["samples"]:
        lines.append(
            f"| {sample['rows']:,} | {sample['rss_mb']} | {sample['seen']:,} | "
            f"{sample['timers']:,} | {sample['deadlines']:,} | {sample['buffer']:,} | "
            f"{sample.get('journal', 0):,} | {sample['events_per_s']:,} |"
        )
    lines += [
        "",
        "## Throughput against the per-event path (one run, the same events)",
        "",
        f"The first {comparison['events']:,} events; best of "
        f"{len(comparison['repeats']['table'])} interleaved repeats; both paths released the "
        f"same {comparison['violations']:,} violation ids.",
        "",
        "| path | events/s | seconds (repeats) |",
        "|---|---:|---|",
        f"| per event: `check_files`, JSON Lines | {comparison['per_event_events_per_s']:,} | "
        f"{comparison['repeats']['per_event']} |",
        f"| table: `evaluate_files`, Parquet | {comparison['table_events_per_s']:,} | "
        f"{comparison['repeats']['table']} |",
        "",
        f"Table path / per-event path: **{comparison['ratio']}x**.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
