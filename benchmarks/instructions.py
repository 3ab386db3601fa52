"""Instructions per event, counted by valgrind: a measure that does not drift with the load.

    .venv/bin/python benchmarks/instructions.py [--events 10000] [--kinds deadline,check]
        [--json] [--floor]

Wall-clock ratios on a shared two-core machine move by 10-20 % between runs of the same
commit, so a change worth 2 % cannot be seen in them. This counts the machine
instructions that processing takes instead (valgrind's cachegrind, no cache simulation):
the same commit gives the same count within a few instructions per event in one sitting
(hash seed fixed, garbage collector off while processing; its cost is left to the
wall-clock benchmark), so two commits measured side by side can be compared on one run
each; between sittings the counts have moved by up to 3 %, baseline and engine together.
It needs ``valgrind`` on the PATH.

For the first ``--events`` events of the benchmark's stream (``run.py``'s full profile) it
reports the instructions per event of:

* the hand-written baseline (``baseline.py``) on the dicts;
* ``Engine.process`` with the default pack;
* the engine with no rules (validation, duplicate check, watermark: the fixed cost);
* with ``--kinds``, the engine without each of the named rule kinds (what a kind costs);
* with ``--json``, the JSON Lines goal: ``json.loads`` + the baseline against
  ``Engine.process_json``, on the same lines in memory;
* with ``--floor``, parts alone: the compiled validators, validation with the event's time
  in µs (what every event needs before any rule), the same with an inline duplicate store
  and watermark, all of it again from JSON bytes, ``json.loads`` alone, and the baseline's
  loop with no rule; then the best ratio an engine could reach if its rules cost exactly
  what the hand-written ones do and it kept no state of its own, or only those two.

Each figure is a difference of two runs in the same process setup (stream generated and
engine built in both, the events processed in one), so start-up is not counted. The
engine and the baseline both end with ``advance_to`` just past the last event.
Instructions are not time (memory stalls and the garbage collector are not in them): the
wall-clock ratios of ``run.py`` remain the headline; this is for telling small steps apart.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import baseline  # noqa: E402
import run  # noqa: E402

import commitrules  # noqa: E402


def _child(what: str, count: int, work: bool) -> None:
    """Build what is measured for ``count`` events; process them only when ``work``."""
    profile = run.FULL
    events, _ = run._generate(profile, limit=count)
    # Up to the last event only: past it, every deadline still open would be missed.
    until = dt.datetime.fromisoformat(events[-1]["at"]) + dt.timedelta(microseconds=1)
    pack = commitrules.load_pack()
    if what == "baseline":
        prepare = run._baseline_dicts(baseline.Reference.from_pack(pack), events, until)
    elif what in ("baseline-json", "engine-json"):
        prepare = run._json_lines(what, pack, events, until)
    elif what in run.PARTS:
        prepare = run._part(what, pack, events)
    else:
        if what != "engine":
            drop = what.removeprefix("without:").split(",")
            everything = what == "without:all"
            disabled = [r.id for r in pack.rules if everything or r.kind in drop]
            root = Path(tempfile.mkdtemp(prefix="commitrules-ir-"))
            try:
                pack = commitrules.load_pack(run._child_pack(root, "measured", disabled))
            finally:
                shutil.rmtree(root, ignore_errors=True)
        prepare = run._engine_process(pack, events, until)
    measured = prepare()
    gc.collect()
    gc.disable()
    if work:
        measured()


def _count(what: str, count: int, work: bool) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        what,
        "--events",
        str(count),
        *(["--work"] if work else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        msg = f"valgrind failed ({done.returncode}):\n{done.stderr[-2000:]}"
        raise SystemExit(msg)
    for line in done.stderr.splitlines():
        if "I" in line and "refs:" in line:
            return int(line.split("refs:")[1].strip().replace(",", ""))
    msg = f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}"
    raise SystemExit(msg)


def per_event(what: str, count: int) -> float:
    """Instructions per event of processing ``count`` events with ``what``."""
    return (_count(what, count, work=True) - _count(what, count, work=False)) / count


def main(argv: Sequence[str] | None = None) -> int:
    """Print the instructions per event of the baseline, the engine and its parts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="events of the stream")
    parser.add_argument("--kinds", default="", help="rule kinds to measure by leaving them out")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure the parts alone (validation, an inline duplicate store and "
        "watermark, json.loads, the baseline's loop) and print the best ratio any engine on "
        "this contract could reach",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="also measure the JSON Lines goal: json.loads + baseline against process_json",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--work", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.events, args.work)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: nothing to count with", file=sys.stderr)
        return 2
    rows = [("hand-written baseline", "baseline"), ("Engine.process, default pack", "engine")]
    rows.append(("engine with no rules (the fixed cost)", "without:all"))
    rows += [
        (f"engine without {kind} rules", f"without:{kind}")
        for kind in args.kinds.split(",")
        if kind
    ]
    if args.json:
        rows += [
            ("json.loads + hand-written baseline, JSON lines in memory", "baseline-json"),
            ("Engine.process_json, the same lines", "engine-json"),
        ]
    if args.floor:
        rows += [
            ("compiled validators alone", "validators"),
            ("EventCatalog.validate + the time in µs (before any rule)", "validated"),
            ("the same + the duplicate store and the watermark, inline", "kept"),
            ("hand-written loop with no rule (time parsed, dispatched)", "dispatch"),
            ("json.loads alone, per line", "loads"),
            ("EventCatalog.validate_json + the time in µs", "validated-json"),
            ("the same + the duplicate store and the watermark, inline", "kept-json"),
        ]
    print(f"Instructions per event, first {args.events:,} events of the benchmark stream")
    print("| what | instructions/event | vs baseline |")
    print("|---|---:|---:|")
    figures: dict[str, float] = {}
    for label, what in rows:
        figures[what] = per_event(what, args.events)
        reference = "baseline-json" if what in ("baseline-json", "engine-json") else "baseline"
        ratio = figures[reference] / figures[what]
        print(f"| {label} | {figures[what]:,.0f} | {ratio:.2f} |", flush=True)
    if args.floor:
        _print_ceiling(figures)
    return 0


def _print_ceiling(figures: dict[str, float]) -> None:
    """The best ratio an engine could reach if its rules cost what hand-written ones do."""
    base = figures["baseline"]
    rules = base - figures["dispatch"]  # the hand-written rules themselves
    before = figures["validated"]
    print()
    print(f"hand-written rules alone: {rules:,.0f} instructions/event")
    print(
        f"ceiling: validation and time ({before:,.0f}) + rules as cheap as hand-written "
        f"({rules:,.0f}) = {before + rules:,.0f} -> {base / (before + rules):.2f} of the "
        "baseline, with no duplicate check, watermark or routing at all"
    )
    kept = figures["kept"]
    print(
        f"with the least the contract keeps (duplicate store, watermark: {kept:,.0f}): "
        f"{base / (kept + rules):.2f}"
    )
    loads, json_before = figures["loads"], figures["validated-json"]
    print(
        f"JSON Lines ceiling: validate_json and time ({json_before:,.0f}) + the same rules = "
        f"{json_before + rules:,.0f} against json.loads + baseline ({loads + base:,.0f}) -> "
        f"{(loads + base) / (json_before + rules):.2f}; with the duplicate store and the "
        f"watermark ({figures['kept-json']:,.0f}): "
        f"{(loads + base) / (figures['kept-json'] + rules):.2f}"
    )
    budget = 2 * base - figures["without:all"]
    print(
        f"half the baseline's speed leaves the rules {budget:,.0f} instructions/event after "
        f"this engine's fixed cost ({figures['without:all']:,.0f}); "
        f"they take {figures['engine'] - figures['without:all']:,.0f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
