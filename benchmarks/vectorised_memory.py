"""The vectorised path's memory (issue 30): input buffering, and the engine's state apart.

    python benchmarks/vectorised_memory.py --work DIR --reuse      # a file columnar.py wrote
    python benchmarks/vectorised_memory.py --events 1000000        # write the input first

Input: the soak's seeded stream in one Parquet file, written as ``benchmarks/columnar.py``
writes it (``events.parquet`` and ``first.parquet`` in ``--work``; ``--reuse`` reads the
files an earlier run of either script left there). Each measurement runs in a fresh
interpreter.

1. **Input buffering with the verdicts**: every batch read, checked, its single-event
   checks' verdicts computed over the columns (what :class:`VectorEvaluator` prepares), and
   every row turned into its event, then dropped; no engine step. Reported: resident memory
   after the imports, its peak while reading, Arrow's memory-pool peak, per batch size.
   Bounded means the peak follows the batch size, not the number of rows.
2. **The engine's state, apart**: the first ``--state-rows`` rows through the engine on the
   table path, row by row and vectorised (``vectorised=True``), each in its own
   interpreter; the sizes of the engine's state (seen ids, timers, open deadlines, reorder
   buffer, the snapshot's JSON bytes) must be equal, and the released violations too.

Results go to ``vectorised-memory-results.md`` and ``.json`` (``--out DIR``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent


def _columnar() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "commitrules_benchmark_columnar", HERE / "columnar.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def read_with_verdicts(path: Path, batch_size: int, pack_folder: Path) -> dict[str, Any]:
    """Stream ``path`` through the reader, the verdicts and the per-row conversion."""
    import pyarrow as pa

    import commitrules
    from commitrules.columnar._rows import check_batch
    from commitrules.columnar._schema import PlanCache
    from commitrules.columnar._sources import Damaged, file_pieces
    from commitrules.columnar._vector import VectorEvaluator

    columnar = _columnar()
    pack = columnar.soak_pack(pack_folder)
    columnar._warm(pack)
    engine = commitrules.Engine(pack)
    evaluator = VectorEvaluator(engine)
    tracking = engine._services.tracking
    baseline = columnar._rss_mb()
    plans = PlanCache(pack.catalog, allow_float_decimals=False)
    rows = judged = 0
    started = time.perf_counter()
    peak = baseline
    for piece in file_pieces([path], batch_size):
        assert not isinstance(piece, Damaged)
        checked = check_batch(
            piece.source, piece.first_row, piece.batch, plans(piece.batch.schema, piece.source)
        )
        for event_type, judge in evaluator.judges.items():
            judge.prepare(
                checked, evaluator.kinds[event_type], evaluator.defaults[event_type], tracking
            )
            judged += len(judge.attention)
        for _number, _event, _reason, _ready in checked.rows():
            rows += 1
            if rows % 1024 == 0:  # while a batch's values and verdicts are alive
                peak = max(peak, columnar._rss_mb())
        for judge in evaluator.judges.values():
            judge.attention = {}
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "batch_size": batch_size,
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds),
        "rows_needing_attention": judged,
        "verdicts_decided": evaluator.decided,
        "verdicts_left_to_rows": evaluator.undecided,
        "rss_after_imports_mb": round(baseline, 1),
        "rss_peak_mb": round(peak, 1),
        "buffering_mb": round(peak - baseline, 1),
        "arrow_pool_peak_mb": round(pa.default_memory_pool().max_memory() / 1e6, 1),
    }


def engine_state(path: Path, rows: int, pack_folder: Path, vectorised: bool) -> dict[str, Any]:
    """The first ``rows`` rows of ``path`` through the engine; its state's sizes after."""
    import hashlib

    import pyarrow.parquet as pq

    import commitrules
    from commitrules.columnar import evaluate_table

    columnar = _columnar()
    pack = columnar.soak_pack(pack_folder)
    columnar._warm(pack)
    source = pq.ParquetFile(path)
    groups, covered = [], 0
    while covered < rows and len(groups) < source.num_row_groups:
        covered += source.metadata.row_group(len(groups)).num_rows
        groups.append(len(groups))
    table = source.read_row_groups(groups).slice(0, rows)
    engine = commitrules.Engine(pack)
    baseline = columnar._rss_mb()
    started = time.perf_counter()
    result = evaluate_table(table, engine=engine, vectorised=vectorised)
    seconds = time.perf_counter() - started
    peak = columnar._rss_mb()
    state = engine.snapshot()
    encoded = json.dumps(state, sort_keys=True, default=str).encode()
    return {
        "vectorised": vectorised,
        "rows": result.rows,
        "seconds": round(seconds, 1),
        "violations": len(result.violations),
        "violation_ids": hashlib.sha256(
            "\n".join(v.id for v in result.violations).encode()
        ).hexdigest()[:16],
        "seen": len(state["seen"]),
        "timers": len(state["timers"]),
        "buffer": len(state["buffer"]),
        "deadlines": sum(
            len(r["state"]) for r in state["rules"].values() if r["kind"] == "deadline"
        ),
        "snapshot_bytes": len(encoded),
        "snapshot_sha256": hashlib.sha256(encoded).hexdigest()[:16],
        "rss_growth_mb": round(peak - baseline, 1),
    }


def _child(arguments: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = _columnar()._child(arguments, script=__file__)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurements and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--batch-sizes", default="8192,65536")
    parser.add_argument("--state-rows", type=int, default=300_000)
    parser.add_argument("--row-group", type=int, default=100_000)
    parser.add_argument("--work", type=Path, help="Where the inputs are (or go); required.")
    parser.add_argument("--reuse", action="store_true", help="Read the inputs --work holds.")
    parser.add_argument("--out", type=Path, default=HERE)
    # The children:
    parser.add_argument("--read", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--vectorised", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=8192, help=argparse.SUPPRESS)
    parser.add_argument("--pack", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.read:
        print(json.dumps(read_with_verdicts(args.read, args.batch_size, args.pack)))
        return 0
    if args.state:
        print(json.dumps(engine_state(args.state, args.state_rows, args.pack, args.vectorised)))
        return 0
    if args.work is None:
        parser.error("--work DIR is required: where the inputs are (or go)")
    columnar = _columnar()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    pack_folder = work / "pack"
    pack = columnar.soak_pack(pack_folder)
    started = time.perf_counter()
    written = work / "inputs.json"
    if args.reuse and written.exists():
        inputs = json.loads(written.read_text(encoding="utf-8"))
    else:
        print(f"writing {args.events:,} events to {work} …", file=sys.stderr, flush=True)
        compare = min(args.events, args.state_rows)
        inputs = columnar.write_inputs(args.events, compare, work, pack, args.row_group)
        written.write_text(json.dumps(inputs), encoding="utf-8")
    common = ["--pack", str(pack_folder)]
    reading = []
    for size in (int(size) for size in args.batch_sizes.split(",")):
        print(f"reading with verdicts by {size} …", file=sys.stderr, flush=True)
        measured = _child(
            ["--read", str(work / "events.parquet"), "--batch-size", str(size), *common]
        )
        reading.append(measured)
    states = []
    for vectorised in (False, True):
        print(f"the engine's state, vectorised={vectorised} …", file=sys.stderr, flush=True)
        extra = ["--vectorised"] if vectorised else []
        states.append(
            _child(
                [
                    "--state",
                    str(work / "events.parquet"),
                    "--state-rows",
                    str(args.state_rows),
                    *extra,
                    *common,
                ]
            )
        )
    same = {key: states[0][key] == states[1][key] for key in STATE_KEYS}
    results = {
        "machine": {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": [round(v, 2) for v in os.getloadavg()],
            "pyarrow": columnar._version("pyarrow"),
            "git": columnar._git(),
        },
        "inputs": inputs,
        "reading": reading,
        "states": states,
        "state_equal": same,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "vectorised-memory-results.json").write_text(
        json.dumps(results, indent=2) + "\n", encoding="utf-8"
    )
    (args.out / "vectorised-memory-results.md").write_text(report(results), encoding="utf-8")
    print(report(results))
    if not all(same.values()):
        print(
            "the vectorised path's engine state differs from the row-by-row path's", file=sys.stderr
        )
        return 1
    return 0


#: What must be equal between the two paths' engines.
STATE_KEYS = (
    "rows",
    "violations",
    "violation_ids",
    "seen",
    "timers",
    "buffer",
    "deadlines",
    "snapshot_bytes",
    "snapshot_sha256",
)


def report(results: dict[str, Any]) -> str:
    """The results as Markdown."""
    inputs, machine = results["inputs"], results["machine"]
    lines = [
        "# The vectorised path's memory: input buffering and the engine's state",
        "",
        f"`python benchmarks/vectorised_memory.py` in {results['seconds']:,.0f} s; "
        f"{machine['date']}, git {machine['git']}, Python {machine['python']}, pyarrow "
        f"{machine['pyarrow']}, {machine['cpus']} CPUs, load {machine['load_average']}. See the "
        "docstring of `benchmarks/vectorised_memory.py`.",
        "",
        f"Input: **{inputs['events']:,} events** of the soak's stream in one Parquet file "
        f"({inputs['parquet_mb']:,} MB, row groups of {inputs['row_group']:,} rows).",
        "",
        "## Input buffering with the verdicts (no engine step)",
        "",
        "Each batch read and checked, its checks' verdicts computed over the columns, each row "
        "turned into its event and dropped; a fresh interpreter per line. `buffering` is the "
        "peak resident memory while reading (sampled every 1,024 rows) less the memory after "
        "the imports and the pack.",
        "",
        "| rows | batch size | rows/s | rows needing the engine's judges | after imports MB "
        "| peak MB | buffering MB | Arrow pool peak MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for item in results["reading"]:
        lines.append(
            f"| {item['rows']:,} | {item['batch_size']:,} | {item['rows_per_s']:,} | "
            f"{item['rows_needing_attention']:,} | {item['rss_after_imports_mb']} | "
            f"{item['rss_peak_mb']} | {item['buffering_mb']} | {item['arrow_pool_peak_mb']} |"
        )
    first = results["states"][0]
    lines += [
        "",
        "## The engine's state, apart",
        "",
        f"The first {first['rows']:,} rows through the engine on the table path, row by row "
        "and vectorised, each in a fresh interpreter; the state is the engine's snapshot after "
        "the last row.",
        "",
        "| path | seconds | violations | seen ids | timers | open deadlines | buffer "
        "| snapshot bytes | snapshot sha256 | RSS growth MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for state in results["states"]:
        name = "vectorised" if state["vectorised"] else "row by row"
        lines.append(
            f"| {name} | {state['seconds']} | {state['violations']:,} | {state['seen']:,} | "
            f"{state['timers']:,} | {state['deadlines']:,} | {state['buffer']:,} | "
            f"{state['snapshot_bytes']:,} | `{state['snapshot_sha256']}` | "
            f"{state['rss_growth_mb']} |"
        )
    equal = all(results["state_equal"].values())
    lines += [
        "",
        "The two engines' states are "
        + (
            "**equal** (every size, the snapshot's hash and the violations' ids)."
            if equal
            else f"**different**: {results['state_equal']}."
        ),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
