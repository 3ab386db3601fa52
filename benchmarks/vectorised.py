"""The vectorised path (issue 30) against the per-event path and the hand-written baseline.

    python benchmarks/vectorised.py                      # 1,000,000 events (~15 minutes)
    python benchmarks/vectorised.py --events 200000 --out DIR

On a year of the benchmark generator's seeded stream (``benchmarks/streams.py``, from
2025-01-01, customers scaled to the size), in one run:

- **per-event**: :meth:`commitrules.Engine.process_many` on the events as dicts;
- **baseline**: the hand-written Python evaluation (``benchmarks/baseline.py``) on the
  same dicts;
- **table**: :func:`commitrules.columnar.evaluate_files` on the same events written to
  Parquet (row groups of ``--batch-size``), every row through the engine;
- **vectorised**: the same with ``vectorised=True``;
- **checks alone**: the same three engine paths on a pack that keeps only the default
  pack's single-event checks (every other rule disabled);
- **where the time goes**: reading alone (the Parquet rows turned into events, no engine;
  a row whose type's fields the columns decide comes out validated, and how many did is
  reported)
  and the engine's intake alone (the per-event path on the pack with every rule disabled),
  per event, next to what judging the checks costs and what the verdicts save;
- **each rule kind alone**: the three engine paths on a child pack per rule kind (every
  rule of the other kinds disabled), with each kind's cost per event over the intake
  alone (``--no-kinds`` leaves this section out).

Each path ends with time moved to the end of the year. The vectorised results must equal
the table path's (every field of every violation) and the per-event path's ids. Results go
to ``vectorised-results.md`` and ``vectorised-results.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

import commitrules
from commitrules.columnar import evaluate_files, events_table, table_files, vector_plan
from commitrules.columnar._evaluate import evaluate_pieces
from commitrules.columnar._sources import file_pieces
from commitrules.columnar._vector import VectorEvaluator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import baseline  # noqa: E402
import streams  # noqa: E402

CST = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2025, 1, 1, tzinfo=CST)
END = dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=CST)
#: The generator's volume: about 23 events a customer over a year.
EVENTS_PER_CUSTOMER = 23


def kind_pack(folder: Path, kind: str | None) -> commitrules.Pack:
    """The default pack with every rule not of ``kind`` disabled (None: every rule, the
    engine's intake alone), as a child pack written to ``folder``."""
    pack = commitrules.load_pack()
    lines = [
        f"id: only-{kind or 'none'}",
        "version: 1.0.0",
        "extends: customer-commitments",
        f"name: {{zh: 仅{kind or '无'}, en: 'Only {kind or 'no'} rules'}}",
        "disable:",
    ]
    for rule in pack.rules:
        if rule.kind != kind:  # type: ignore[attr-defined]
            lines.append(f"  - {{rule: {rule.id}, reason: 'benchmark: {kind} alone'}}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pack.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return commitrules.load_pack(folder)


def checks_only_pack(folder: Path, *, keep_checks: bool = True) -> commitrules.Pack:
    """The default pack with every rule but its single-event checks disabled (or every
    rule: the engine's intake alone)."""
    return kind_pack(folder, "check" if keep_checks else None)


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds taken, and the result."""
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def per_event(pack: commitrules.Pack, events: list[dict[str, Any]]) -> list[Any]:
    """The per-event path from dicts."""
    engine = commitrules.Engine(pack)
    return engine.process_many(events) + engine.advance_to(END)


def table(pack: commitrules.Pack, folder: Path, *, vectorised: bool, batch: int) -> Any:
    """The table path from Parquet, row by row or vectorised."""
    return evaluate_files(folder, pack, until=END, batch_size=batch, vectorised=vectorised)


def read_only(pack: commitrules.Pack, folder: Path, batch: int) -> tuple[int, int]:
    """Reading alone: every row of the files turned into its event, and dropped; the rows,
    and how many of them came out validated (the columns decide every field)."""
    rows = ready = 0

    def drop(checked: Any, found: list[Any], reject: Callable[[Any], None]) -> None:
        nonlocal rows, ready
        for _number, _event, _reason, given in checked.rows():
            rows += 1
            ready += given

    engine = commitrules.Engine(pack)
    evaluate_pieces(file_pieces(table_files(folder), batch), engine, evaluator=drop)
    return rows, ready


def columns_only(pack: commitrules.Pack, folder: Path, batch: int, *, verdicts: bool) -> int:
    """The columnar part alone, with no engine call and no event made: each batch read from
    the files and its columns checked (the rows refused before the engine found), and with
    ``verdicts`` every vectorised check's verdicts computed over its type's rows. What any
    path that reads these files and judges the checks over columns spends before its
    intake; the rows read."""
    engine = commitrules.Engine(pack)
    rows = 0
    with VectorEvaluator(engine) as vector:
        tracking = engine._services.tracking

        def judge(checked: Any, found: list[Any], reject: Callable[[Any], None]) -> None:
            nonlocal rows
            rows += checked.num_rows
            if verdicts:
                for name, judge in vector.judges.items():
                    judge.prepare(checked, vector.kinds[name], vector.defaults[name], tracking)

        evaluate_pieces(file_pieces(table_files(folder), batch), engine, evaluator=judge)
    return rows


def main() -> None:
    """Run the measurements and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=65_536)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument(
        "--no-kinds", action="store_true", help="leave out the section of each rule kind alone"
    )
    parser.add_argument(
        "--repeats", type=int, default=2, help="interleaved rounds of the kinds section (best)"
    )
    arguments = parser.parse_args()
    pack = commitrules.load_pack()
    customers = max(50, arguments.events // EVENTS_PER_CUSTOMER)
    generated = streams.generate(
        seed=30, start=START, days=365, customers=customers, violation_rate=0.01
    )
    events = list(itertools.islice(generated, arguments.events))
    print(f"{len(events):,} events, {customers:,} customers", flush=True)
    figures: dict[str, Any] = {"events": len(events), "customers": customers}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "events"
        folder.mkdir()
        written = events_table(events, pack.catalog, timezone=pack.timezone, decimals="decimal")
        pq.write_table(written, folder / "events.parquet", row_group_size=arguments.batch_size)
        del written
        checks_folder = Path(scratch) / "checks-pack"
        checks_folder.mkdir()
        checks = checks_only_pack(checks_folder)
        seconds: dict[str, float] = {}
        reference = baseline.Reference.from_pack(pack)
        seconds["baseline"], found = timed(lambda: baseline.evaluate(events, reference, END))
        print(f"baseline {seconds['baseline']:.1f} s ({len(found):,} findings)", flush=True)
        seconds["per-event"], expected = timed(lambda: per_event(pack, events))
        print(f"per-event {seconds['per-event']:.1f} s ({len(expected):,})", flush=True)
        batch = arguments.batch_size
        seconds["table"], rows = timed(lambda: table(pack, folder, vectorised=False, batch=batch))
        print(f"table {seconds['table']:.1f} s", flush=True)
        seconds["vectorised"], vectorised = timed(
            lambda: table(pack, folder, vectorised=True, batch=batch)
        )
        print(f"vectorised {seconds['vectorised']:.1f} s", flush=True)
        assert [v.to_dict() for v in vectorised.violations] == [
            v.to_dict() for v in rows.violations
        ], "the vectorised path differs from the table path"
        assert [v.id for v in vectorised.violations] == [v.id for v in expected], (
            "the vectorised path's ids differ from the per-event path's"
        )
        nothing_folder = Path(scratch) / "no-rules-pack"
        nothing_folder.mkdir()
        nothing = checks_only_pack(nothing_folder, keep_checks=False)
        seconds["reading alone"], (_, figures["rows given validated"]) = timed(
            lambda: read_only(pack, folder, batch)
        )
        seconds["intake alone (no rules), per-event"], _ = timed(lambda: per_event(nothing, events))
        seconds["checks per-event"], checks_expected = timed(lambda: per_event(checks, events))
        seconds["checks table"], checks_rows = timed(
            lambda: table(checks, folder, vectorised=False, batch=batch)
        )
        seconds["checks vectorised"], checks_vectorised = timed(
            lambda: table(checks, folder, vectorised=True, batch=batch)
        )
        seconds["checks: columns read and checked alone"], _ = timed(
            lambda: columns_only(checks, folder, batch, verdicts=False)
        )
        seconds["checks: columns read and checked, and the verdicts"], _ = timed(
            lambda: columns_only(checks, folder, batch, verdicts=True)
        )
        assert [v.id for v in checks_vectorised.violations] == [v.id for v in checks_expected]
        assert [v.to_dict() for v in checks_vectorised.violations] == [
            v.to_dict() for v in checks_rows.violations
        ]
        print({key: round(value, 2) for key, value in seconds.items()}, flush=True)
        if not arguments.no_kinds:
            figures["kinds"] = each_kind(Path(scratch), folder, events, batch, arguments.repeats)
    plan = vector_plan(pack)
    figures.update(
        seconds={key: round(value, 3) for key, value in seconds.items()},
        violations=len(expected),
        check_violations=len(checks_expected),
        ratios={
            "vectorised vs per-event (goal >= 3)": seconds["per-event"] / seconds["vectorised"],
            "vectorised vs baseline (goal >= 1)": seconds["baseline"] / seconds["vectorised"],
            "vectorised vs table (row by row)": seconds["table"] / seconds["vectorised"],
            "checks alone: vectorised vs per-event (goal >= 10)": (
                seconds["checks per-event"] / seconds["checks vectorised"]
            ),
            "checks alone: vectorised vs table (row by row)": (
                seconds["checks table"] / seconds["checks vectorised"]
            ),
            "checks alone: the most any path that reads these files and judges over columns "
            "could reach against per-event (per-event vs the columns read, checked and "
            "judged alone, with no intake at all)": (
                seconds["checks per-event"]
                / seconds["checks: columns read and checked, and the verdicts"]
            ),
        },
        #: Where a checks-only run's time goes, per event (microseconds).
        per_event_us={
            "reading a row into its event (table path; validated when the columns decide "
            "every field)": seconds["reading alone"],
            "the engine's intake (validation, duplicates, watermark, journal)": seconds[
                "intake alone (no rules), per-event"
            ],
            "judging the 35 checks (per-event path)": seconds["checks per-event"]
            - seconds["intake alone (no rules), per-event"],
            "saved by the vectorised verdicts (checks: row by row - vectorised)": seconds[
                "checks table"
            ]
            - seconds["checks vectorised"],
            "reading the Parquet batches and checking their columns (no event made, no "
            "engine)": seconds["checks: columns read and checked alone"],
            "the vectorised checks' verdicts over those columns": seconds[
                "checks: columns read and checked, and the verdicts"
            ]
            - seconds["checks: columns read and checked alone"],
            "the budget of the checks-alone goal (the per-event path / 10)": seconds[
                "checks per-event"
            ]
            / 10,
        },
        vectorised_checks=sum(1 for p in plan if p.vectorised),
        checks=sum(1 for p in plan if p.kind == "check"),
        rules=len({p.rule_id for p in plan}),
        machine=f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}",
    )
    figures["per_event_us"] = {
        key: round(value / len(events) * 1e6, 2) for key, value in figures["per_event_us"].items()
    }
    write(arguments.out, figures)


def each_kind(
    scratch: Path, folder: Path, events: list[dict[str, Any]], batch: int, repeats: int
) -> list[dict[str, Any]]:
    """Each rule kind alone on the three engine paths (the same events, one run; the best
    of ``repeats`` interleaved rounds): seconds, violations, the kind's entries of the
    vector plan that are vectorised, and its cost per event over the intake alone on the
    per-event path (the pack with every rule disabled, timed in each round too)."""
    kinds = sorted({rule.kind for rule in commitrules.load_pack().rules})  # type: ignore[attr-defined]
    packs = {kind: kind_pack(scratch / f"only-{kind}", kind) for kind in kinds}
    nothing = kind_pack(scratch / "only-none", None)
    best: dict[tuple[str, str], float] = {}
    found: dict[tuple[str, str], Any] = {}
    intake = float("inf")
    paths: dict[str, Callable[[commitrules.Pack], Any]] = {
        "per-event": lambda pack: per_event(pack, events),
        "table": lambda pack: table(pack, folder, vectorised=False, batch=batch),
        "vectorised": lambda pack: table(pack, folder, vectorised=True, batch=batch),
    }
    for _ in range(repeats):
        intake = min(intake, timed(lambda: per_event(nothing, events))[0])
        for kind, pack in packs.items():
            for name, path in paths.items():
                seconds, result = timed(lambda path=path, pack=pack: path(pack))
                best[kind, name] = min(seconds, best.get((kind, name), float("inf")))
                found[kind, name] = result
    rows = []
    count = len(events)
    for kind, pack in packs.items():
        expected = found[kind, "per-event"]
        in_rows, in_vectors = found[kind, "table"], found[kind, "vectorised"]
        assert [v.id for v in in_vectors.violations] == [v.id for v in expected], kind
        assert [v.to_dict() for v in in_vectors.violations] == [
            v.to_dict() for v in in_rows.violations
        ], kind
        plan = [p for p in vector_plan(pack) if p.kind == kind]
        one = best[kind, "per-event"]
        rows.append(
            {
                "kind": kind,
                "rules": sum(1 for rule in pack.rules if rule.kind == kind),  # type: ignore[attr-defined]
                "vectorised": f"{sum(1 for p in plan if p.vectorised)} of {len(plan)}",
                "violations": len(expected),
                "per-event": round(one, 3),
                "table": round(best[kind, "table"], 3),
                "vectorised seconds": round(best[kind, "vectorised"], 3),
                "intake seconds": round(intake, 3),
                "us over intake": round((one - intake) / count * 1e6, 2),
                "vectorised vs per-event": round(one / best[kind, "vectorised"], 2),
                "repeats": repeats,
            }
        )
        print(rows[-1], flush=True)
    return rows


def write(out: Path, figures: dict[str, Any]) -> None:
    """The results as Markdown and JSON."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "vectorised-results.json").write_text(
        json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    events = figures["events"]
    lines = [
        "# The vectorised path (issue 30)",
        "",
        f"Input: **{events:,} events** of the generator's seeded year ({figures['customers']:,}"
        f" customers), as dicts and as one Parquet file; {figures['violations']:,} violations"
        " (default pack). Written by `benchmarks/vectorised.py`; the vectorised results equal"
        " the table path's, field for field, and the per-event path's ids.",
        "",
        f"Vectorised: {figures['vectorised_checks']} of the default pack's "
        f"{figures['checks']} (check, event type) pairs; every other rule per row "
        "(`commitrules.columnar.vector_plan`). Rows given to the engine validated (the "
        f"columns decide every field of their type): {figures.get('rows given validated', 0):,}"
        f" of {events:,}.",
        "",
        "| path | seconds | events/s |",
        "|---|---:|---:|",
    ]
    for name, seconds in figures["seconds"].items():
        lines.append(f"| {name} | {seconds:.2f} | {events / seconds:,.0f} |")
    lines += ["", "| ratio (in one run) | value |", "|---|---:|"]
    for name, value in figures["ratios"].items():
        lines.append(f"| {name} | {value:.2f}x |")
    lines += ["", "| where the time goes (checks alone), per event | µs |", "|---|---:|"]
    for name, value in figures["per_event_us"].items():
        lines.append(f"| {name} | {value:.2f} |")
    kinds = figures.get("kinds")
    if kinds:
        lines += [
            "",
            "## Each rule kind alone",
            "",
            "A child pack per rule kind (every rule of the other kinds disabled), on the same "
            "events in the same run, the best of "
            f"{kinds[0]['repeats']} interleaved rounds; each path's results equal, ids "
            "included. 'µs over intake' is the kind's cost per event on the per-event path "
            "beyond the engine's intake alone (the pack with every rule disabled, "
            f"{kinds[0]['intake seconds']:.2f} s at best).",
            "",
            "| kind | rules | vectorised (`vector_plan` entries) | violations | per-event events/s "
            "| table events/s | vectorised events/s | µs over intake | vectorised vs "
            "per-event |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in kinds:
            lines.append(
                f"| {row['kind']} | {row['rules']} | {row['vectorised']} | "
                f"{row['violations']:,} | {events / row['per-event']:,.0f} | "
                f"{events / row['table']:,.0f} | {events / row['vectorised seconds']:,.0f} | "
                f"{row['us over intake']:.2f} | {row['vectorised vs per-event']:.2f}x |"
            )
    lines += ["", f"Machine: {figures['machine']} (shared, 2 cores).", ""]
    (out / "vectorised-results.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
