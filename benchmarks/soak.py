"""Soak run: millions of generated events through the default pack, memory sampled.

    python benchmarks/soak.py                      # 10 million events (about 10-20 minutes)
    python benchmarks/soak.py --events 1000000     # a shorter run

Memory must stay flat once windows are full: the engine evicts seen ids past the
duplicate horizon, deadlines once met or escalated, windows and priors once they can no
longer matter. The script prints (and writes to ``benchmarks/soak-results.md``) resident
memory and the sizes of the engine's state every sample. The stream comes from the
seeded generator, in consecutive windows so that it can be as long as asked (the
windows repeat the generator's years, shifted later, with new ids: enough to keep every
kind of state busy).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import commitrules

HERE = Path(__file__).resolve().parent


def _streams() -> ModuleType:
    spec = importlib.util.spec_from_file_location("streams", HERE / "streams.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["streams"] = module
    spec.loader.exec_module(module)
    return module


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as handle:  # Linux: resident pages
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def endless(customers: int, seed: int) -> Iterator[dict[str, Any]]:
    """Consecutive generated windows with increasing times; ids made unique per window."""
    streams = _streams()
    cst = dt.timezone(dt.timedelta(hours=8))
    start = dt.datetime(2025, 1, 1, tzinfo=cst)
    window = 0
    while True:
        base = start + dt.timedelta(days=60 * (window % 11))
        shift = dt.timedelta(days=660 * (window // 11))
        for event in streams.generate(seed=seed + window, start=base, days=60, customers=customers):
            if shift:
                moment = dt.datetime.fromisoformat(event["at"]) + shift
                event["at"] = moment.isoformat()
            event["id"] = f"w{window}-{event['id']}"
            yield event
        window += 1


def main() -> int:
    """Run the soak and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--out", type=Path, default=HERE / "soak-results.md")
    args = parser.parse_args()
    # Later windows run past the announced calendar years: the soak trusts the holidays
    # package's computed calendar up to 2099 through a pack that extends the default one.
    folder = Path(tempfile.mkdtemp()) / "soak"
    folder.mkdir()
    (folder / "pack.yaml").write_text(
        "id: soak\nversion: 1.0.0\nname: {zh: 浸泡, en: Soak}\n"
        "extends: customer-commitments\ncalendar: {country: CN, known_through: 2099}\n",
        encoding="utf-8",
    )
    engine = commitrules.Engine(commitrules.load_pack(folder))
    rows: list[str] = []
    started = time.perf_counter()
    rejected = found = 0
    for processed, event in enumerate(endless(args.customers, args.seed), start=1):
        try:
            found += len(engine.process(event))
        except commitrules.CommitRulesError:
            rejected += 1
        if processed % args.every == 0:
            state = engine.snapshot()
            sizes = {
                "seen": len(state["seen"]),
                "timers": len(state["timers"]),
                "buffer": len(state["buffer"]),
                "repeats": sum(len(t) for counters in state["router"] for _k, t in counters),
                "deadlines": sum(
                    len(r["state"]) for r in state["rules"].values() if r["kind"] == "deadline"
                ),
            }
            elapsed = time.perf_counter() - started
            row = (
                f"| {processed:,} | {_rss_mb():.0f} | {sizes['seen']:,} | {sizes['timers']:,} | "
                f"{sizes['deadlines']:,} | {sizes['buffer']} | {sizes['repeats']:,} | {found:,} | "
                f"{rejected:,} | "
                f"{processed / elapsed:,.0f} |"
            )
            rows.append(row)
            print(row, flush=True)
        if processed >= args.events:
            break
    header = [
        "# Soak run",
        "",
        f"`python benchmarks/soak.py --events {args.events}` — {args.customers:,} customers, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs.",
        "",
        "| events | RSS MB | seen ids | timers | open deadlines | buffer | repeat counters"
        " | violations | rejected | events/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    args.out.write_text("\n".join(header + rows + summary(rows)) + "\n", encoding="utf-8")
    return 0


def summary(rows: list[str]) -> list[str]:
    """What the samples say: memory over the second half, and the state's range."""
    table = [[cell.strip().replace(",", "") for cell in row.strip("|").split("|")] for row in rows]
    if len(table) < 2:
        return []
    rss = [float(r[1]) for r in table]
    half = rss[len(rss) // 2 - 1]
    seen = [int(r[2]) for r in table]
    timers = [int(r[3]) for r in table]
    deadlines = [int(r[4]) for r in table]
    repeats = [int(r[6]) for r in table]
    return [
        "",
        f"Resident memory over the second half: {half:.0f} → {rss[-1]:.0f} MB "
        f"({(rss[-1] / half - 1) * 100:+.1f} %); first sample {rss[0]:.0f} MB. "
        f"The engine's state stays in a band: seen ids {min(seen):,} to {max(seen):,}, timers "
        f"{min(timers):,} to {max(timers):,}, open deadlines {min(deadlines):,} to "
        f"{max(deadlines):,}, routing repeat counters {min(repeats):,} to {max(repeats):,}.",
        "",
        "The stream repeats the generator's 60-day windows with times shifted later. From the "
        "11th window (event time past 2026-10) sales and disclosures still use products and "
        "templates whose register rows ended in 2026 (a re-rated product, a retired template "
        "version), so about one event in ten is then a violation: a harsher load for the "
        "routing and findings windows than the benchmark stream's 0.2 %. Resident memory "
        "includes the allocator's fragmentation; `benchmarks/run.py --sections endless` "
        "measures what the engine holds with tracemalloc.",
    ]


if __name__ == "__main__":
    raise SystemExit(main())
