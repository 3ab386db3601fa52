"""What the operational guarantees cost: provisional calendars, atomic calls, pack upgrades.

One command, one stream, ratios from the same run (no timed assertion anywhere):

- **provisional marking** (issue 19): the default pack, whose 2027 mainland calendar is
  provisional, against the same pack with 2027 declared official, on a stream that crosses
  the year end (2026-10-01 onwards). The difference per event is what marking provisional
  deadlines and remembering the fulfilled ones costs; the memory of fulfilled provisional
  deadlines (kept until their year is official) is reported in entries and bytes.
- **atomicity** (issue 21): the default pack against the same engine with its journal and
  checkpoints switched off (a benchmark-only patch: the engine has no such switch), so the
  difference per event is what makes every call all or nothing.
- **migration** (issue 20): the state after the whole stream is snapshotted, a parameter of
  a working-day deadline is changed (a pack that extends the default pack), and the state
  is restored into it: the time and peak memory (tracemalloc) of the restore, and what the
  migration report says.

    .venv/bin/python benchmarks/operations.py                 # ~1,000,000 events
    .venv/bin/python benchmarks/operations.py --events 20000  # a quick run

Results go to ``operations-results.md`` and ``operations-results.json`` beside this file
(``--out DIR`` elsewhere).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.util
import json
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import commitrules
from commitrules.pack._load import bundled_packs

HERE = Path(__file__).resolve().parent
CST = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 10, 1, tzinfo=CST)
#: Events per customer per day of the generator over these months (measured); used to
#: size the stream.
DENSITY = 0.066


def _streams() -> ModuleType:
    name = "commitrules_benchmark_streams"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / "streams.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def official_2027(root: Path) -> Path:
    """A copy of the default pack whose 2027 mainland calendar is declared official."""
    target = root / "official-2027"
    shutil.copytree(bundled_packs()["customer-commitments"], target)
    path = target / "calendars" / "CN.yaml"
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition("  - year: 2027\n    status: provisional\n")
    assert sep, "the default pack's CN calendar no longer has a provisional 2027"
    _, sep, days = rest.partition("    days_off:\n")
    assert sep
    official = (
        "  - year: 2027\n    status: official\n    source:\n"
        "      issuer: benchmark\n      document: the provisional days, declared official\n"
        "      date: 2026-12-06\n      link: https://example.invalid/benchmark\n"
    )
    path.write_text(head + official + "    days_off:\n" + days, encoding="utf-8")
    return target


def changed_parameter(root: Path) -> Path:
    """A pack extending the default pack with one working-day limit changed (5 -> 7)."""
    target = root / "changed"
    target.mkdir()
    (target / "pack.yaml").write_text(
        "id: my-bank\nversion: 2.0.0\nname: {zh: 銀行, en: Bank}\nextends: customer-commitments\n",
        encoding="utf-8",
    )
    (target / "parameters.yaml").write_text(
        "parameters:\n  service_completion_working_days:\n    type: int\n    value: 7\n"
        "    source: {kind: internal_policy, citation: board decision 2026-11}\n",
        encoding="utf-8",
    )
    return target


def _without_journal(engine: commitrules.Engine) -> None:
    """Switch the engine's rollback journal and checkpoints off (for measuring only)."""

    class _Nothing(list[Any]):
        def append(self, _item: Any) -> None:
            return None

    engine._journal.entries = _Nothing()
    engine._checkpoint_if_due = lambda: None  # type: ignore[method-assign]


def _run(
    pack: commitrules.Pack,
    events: Sequence[dict[str, Any]],
    end: dt.datetime,
    prepare: Callable[[commitrules.Engine], None] | None = None,
) -> tuple[float, commitrules.Engine, int]:
    engine = commitrules.Engine(pack)
    if prepare is not None:
        prepare(engine)
    process = engine.process
    found = 0
    gc.collect()
    started = time.process_time()
    for event in events:
        found += len(process(event))
    found += len(engine.advance_to(end))
    return time.process_time() - started, engine, found


def _fulfilled(engine: commitrules.Engine) -> tuple[int, int]:
    """(entries, bytes as JSON) of the fulfilled provisional deadlines the engine keeps."""
    entries = [
        item
        for rule in engine._rules
        for item in getattr(rule, "_fulfilled", ())  # deadline rules only
    ]
    return len(entries), len(json.dumps(entries, separators=(",", ":")))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="about how many events")
    parser.add_argument("--days", type=int, default=182, help="days from 2026-10-01")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each variant (best)")
    parser.add_argument("--out", type=Path, default=HERE, help="where the results go")
    args = parser.parse_args(argv)
    customers = max(10, round(args.events / (args.days * DENSITY)))
    print(f"generating ~{args.events:,} events ({customers:,} customers, {args.days} days) …")
    events = list(
        _streams().generate(
            seed=19, start=START, days=args.days, customers=customers, violation_rate=0.01
        )
    )
    end = START + dt.timedelta(days=args.days + 60)
    n = len(events)
    print(f"{n:,} events from {events[0]['at']} to {events[-1]['at']}")
    results: dict[str, Any] = {"events": n, "customers": customers, "days": args.days}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        default = commitrules.load_pack()
        official = commitrules.load_pack(official_2027(root), profile="cn")
        changed = commitrules.load_pack(changed_parameter(root), profile="cn")

        def best(label: str, run: Callable[[], tuple[float, commitrules.Engine, int]]) -> Any:
            outcome = min((run() for _ in range(args.repeats)), key=lambda r: r[0])
            print(f"  {label:<34} {outcome[0]:8.2f} s  {n / outcome[0]:>10,.0f} events/s")
            return outcome

        print("runs (CPU time):")
        t_prov, engine, found = best(
            "default pack (2027 provisional)", lambda: _run(default, events, end)
        )
        t_off, official_engine, found_off = best(
            "2027 declared official", lambda: _run(official, events, end)
        )
        t_nojournal, _, found_nj = best(
            "journal and checkpoints off", lambda: _run(default, events, end, _without_journal)
        )
        assert found_nj == found, "switching the journal off changed the findings"
        entries, size = _fulfilled(engine)
        results["provisional"] = {
            "seconds_provisional": t_prov,
            "seconds_official": t_off,
            "ratio": t_prov / t_off,
            "us_per_event": (t_prov - t_off) / n * 1e6,
            "findings_provisional_run": found,
            "findings_official_run": found_off,
            "fulfilled_entries": entries,
            "fulfilled_bytes_json": size,
            "fulfilled_bytes_per_entry": size / entries if entries else 0,
            "fulfilled_entries_official_run": _fulfilled(official_engine)[0],
        }
        results["atomicity"] = {
            "seconds_with_journal": t_prov,
            "seconds_without": t_nojournal,
            "ratio": t_prov / t_nojournal,
            "us_per_event": (t_prov - t_nojournal) / n * 1e6,
        }
        # Migration of the whole stream's state.
        state = json.loads(json.dumps(engine.snapshot()))
        state_bytes = len(json.dumps(state, separators=(",", ":")))
        del official_engine
        gc.collect()
        tracemalloc.start()
        started = time.process_time()
        migrated = commitrules.Engine.restore(changed, state)
        seconds = time.process_time() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        report = migrated.migration
        actions = report.counts()
        results["migration"] = {
            "state_bytes_json": state_bytes,
            "restore_seconds": seconds,
            "restore_peak_bytes": peak,
            "same_pack_restore_seconds": _timed(lambda: commitrules.Engine.restore(default, state)),
            "rules": actions,
            "released_at_restore": len(report.released),
        }
    _write(args.out, results)
    return 0


def _timed(function: Callable[[], object]) -> float:
    started = time.process_time()
    function()
    return time.process_time() - started


def _write(folder: Path, results: dict[str, Any]) -> None:
    prov, atom, mig = results["provisional"], results["atomicity"], results["migration"]
    lines = [
        "# Operations benchmark (benchmarks/operations.py)",
        "",
        f"{results['events']:,} generated events ({results['customers']:,} customers, "
        f"{results['days']} days from 2026-10-01, across the year end), CPU time, one run "
        "each, on this machine.",
        "",
        "| what | figure |",
        "|---|---|",
        f"| provisional marking: default pack (2027 provisional) / 2027 official | "
        f"{prov['ratio']:.3f}x ({prov['us_per_event']:+.2f} µs per event) |",
        f"| fulfilled provisional deadlines remembered at the end | {prov['fulfilled_entries']:,} "
        f"entries, {prov['fulfilled_bytes_json']:,} bytes as JSON "
        f"({prov['fulfilled_bytes_per_entry']:.0f} per entry); official run: "
        f"{prov['fulfilled_entries_official_run']:,} |",
        f"| atomicity: with journal and checkpoints / without | {atom['ratio']:.3f}x "
        f"({atom['us_per_event']:+.2f} µs per event) |",
        f"| migration: state of the whole stream | {mig['state_bytes_json']:,} bytes as JSON |",
        f"| migration: restore into a changed pack | {mig['restore_seconds']:.2f} s, peak "
        f"{mig['restore_peak_bytes'] / 2**20:.1f} MiB (tracemalloc) |",
        f"| restore into the same pack | {mig['same_pack_restore_seconds']:.2f} s |",
        f"| migration report | {', '.join(f'{k} {v}' for k, v in sorted(mig['rules'].items()))} |",
        "",
    ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "operations-results.md").write_text("\n".join(lines), encoding="utf-8")
    (folder / "operations-results.json").write_text(
        json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
