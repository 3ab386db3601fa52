"""Where the engine's time goes, per event, on the benchmark stream.

    .venv/bin/python benchmarks/profile_engine.py [--quick] [--top 25]

Runs ``Engine.process`` over the stream of ``benchmarks/run.py`` (~100,000 events, or
~20,000 with ``--quick``) three ways: unprofiled (the real µs/event), under cProfile
(every function's own time; time in C functions such as pydantic's validator or
``dict.get`` is given to the Python function that called them), and, when pyinstrument
is installed, under its sampling profiler (less distortion of call-heavy code). The cost
is grouped by what it is for (validation, conditions, deadline arithmetic, timers, ...)
and scaled to the unprofiled µs/event; the top functions follow.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import run  # noqa: E402  (the benchmark's stream settings)
import streams  # noqa: E402

import commitrules  # noqa: E402

#: (category, test on "path:function") in order; the first match wins.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("validation (pydantic, event dicts)", ("pydantic", "commitrules/events.py")),
    ("conditions (compiled expressions, builtins)", ("<condition>", "commitrules/expr/")),
    (
        "table and parameter lookups",
        ("commitrules/pack/_values.py", "engine/_findings.py:lookup", "engine/_findings.py:exists"),
    ),
    ("timestamps (to_us / from_us)", ("eventtime/_instants.py",)),
    (
        "deadline and period arithmetic",
        ("eventtime/_fast.py", "eventtime/_durations.py", "eventtime/_periods.py", "_calendars"),
    ),
    (
        "timers and reorder buffer",
        (
            "engine/_engine.py:_advance",
            "engine/_engine.py:_fire_timers",
            "engine/_time.py",
            "heapq",
        ),
    ),
    (
        "findings to violations (emit, ids, messages, routing)",
        (
            "engine/_findings.py:_emit",
            "engine/_findings.py:_violation_of",
            "engine/_findings.py:_route",
            "engine/_release.py",
            "engine/_derived.py",
            "engine/_findings.py:_finding_id",
            "engine/_findings.py:finding_id",
            "engine/_findings.py:_count",
            "commitrules/violations.py",
            "commitrules/routing.py",
            "attrs generated",
        ),
    ),
    ("deadline rules (handlers, pending state)", ("commitrules/rules/deadline.py",)),
    ("precedence rules (handlers, priors)", ("commitrules/rules/precedence.py",)),
    ("check rules (handlers)", ("commitrules/rules/check.py",)),
    ("threshold rules (windows)", ("commitrules/rules/threshold.py",)),
    ("periodic rules (counts, closes)", ("commitrules/rules/periodic.py",)),
    ("rules: shared code", ("commitrules/rules/",)),
    (
        "engine bookkeeping (dedupe, watermark, dispatch)",
        ("commitrules/engine/", "commitrules/batch.py"),
    ),
    ("the benchmark loop", ("profile_engine.py",)),
)


def category(where: str) -> str:
    """The category of a "path:function" label."""
    for name, tests in CATEGORIES:
        if any(test in where for test in tests):
            return name
    return "other (stdlib, attrs, ...)"


def _label(func: tuple[str, int, str]) -> str:
    path, _, name = func
    return f"{path}:{name}"


def _is_c(func: tuple[str, int, str]) -> bool:
    return func[0] == "~"


def _stream(quick: bool) -> tuple[list[dict[str, Any]], dt.datetime]:
    profile = run.QUICK if quick else run.FULL
    events = list(
        streams.generate(
            seed=profile.seed,
            start=profile.start,
            days=profile.days,
            customers=profile.customers,
            violation_rate=profile.violation_rate,
        )
    )
    return events, profile.start + dt.timedelta(days=profile.days)


def _work(pack: commitrules.Pack, events: Sequence[Mapping[str, Any]], until: dt.datetime) -> int:
    engine = commitrules.Engine(pack)
    process = engine.process
    found = 0
    for event in events:
        found += len(process(event))
    return found + len(engine.advance_to(until))


def by_category_cprofile(stats: pstats.Stats) -> tuple[dict[str, float], list[tuple[str, float]]]:
    """Own time per category (C functions charged to their callers) and per function."""
    totals: dict[str, float] = defaultdict(float)
    functions: list[tuple[str, float]] = []
    raw: Mapping[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for func, (_, _, own, _, callers) in raw.items():
        label = _label(func)
        functions.append((label, own))
        if not _is_c(func):
            totals[category(label)] += own
            continue
        direct = category(label)
        if direct != "other (stdlib, attrs, ...)" or not callers:
            totals[direct] += own
            continue
        for caller, (_, _, caller_own, _) in callers.items():
            totals[category(_label(caller))] += caller_own
    return dict(totals), sorted(functions, key=lambda item: -item[1])


def by_category_pyinstrument(
    pack: commitrules.Pack, events: Sequence[Mapping[str, Any]], until: dt.datetime
) -> dict[str, float] | None:
    """Self time per category from pyinstrument's samples, if it is installed."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return None
    profiler = Profiler(interval=0.0002)
    profiler.start()
    _work(pack, events, until)
    profiler.stop()
    root = profiler.last_session.root_frame() if profiler.last_session else None
    totals: dict[str, float] = defaultdict(float)
    # (frame, label of the nearest Python frame above it): a built-in's time is its caller's.
    stack: list[tuple[Any, str]] = [(root, "")] if root is not None else []
    while stack:
        frame, above = stack.pop()
        if frame.is_synthetic:
            continue  # "[self]" leaves: already in their parent's total_self_time
        path = frame.file_path or ""
        label = above if path in ("", "<built-in>") and above else f"{path}:{frame.function}"
        stack.extend((child, label) for child in frame.children)
        if frame.total_self_time:
            totals[category(label)] += frame.total_self_time
    return dict(totals)


def main(argv: Sequence[str] | None = None) -> int:
    """Profile and print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~20,000 events")
    parser.add_argument("--top", type=int, default=25, help="how many functions to list")
    args = parser.parse_args(argv)
    pack = commitrules.load_pack()
    events, until = _stream(args.quick)
    count = len(events)
    _work(pack, events[:2000], until)  # warm caches and lazily built tables
    began = time.perf_counter()
    _work(pack, events, until)
    plain = time.perf_counter() - began
    us_per_event = plain / count * 1e6
    profiler = cProfile.Profile()
    profiler.enable()
    _work(pack, events, until)
    profiler.disable()
    stats = pstats.Stats(profiler)
    totals, functions = by_category_cprofile(stats)
    sampled = by_category_pyinstrument(pack, events, until)
    profiled = sum(totals.values())
    print(
        f"Engine.process on {count:,} events: {us_per_event:.1f} µs/event unprofiled "
        f"({count / plain:,.0f} events/s); cProfile total {profiled:.1f} s."
    )
    print()
    header = "| where the time goes | cProfile share | ≈ µs/event (cProfile) |"
    rule = "|---|---:|---:|"
    if sampled is not None:
        header += " pyinstrument share | ≈ µs/event (pyinstrument) |"
        rule += "---:|---:|"
    print(header)
    print(rule)
    sampled_total = sum(sampled.values()) if sampled else 0.0
    names = sorted(set(totals) | set(sampled or {}), key=lambda n: -totals.get(n, 0.0))
    for name in names:
        share = totals.get(name, 0.0) / profiled
        line = f"| {name} | {share * 100:.1f} % | {share * us_per_event:.1f} |"
        if sampled is not None:
            other = sampled.get(name, 0.0) / sampled_total if sampled_total else 0.0
            line += f" {other * 100:.1f} % | {other * us_per_event:.1f} |"
        print(line)
    print()
    print(f"Top {args.top} functions by own time under cProfile (C functions listed alone):")
    print()
    print("| function | own s | share | category |")
    print("|---|---:|---:|---|")
    for label, own in functions[: args.top]:
        short = label.replace(str(Path(commitrules.__file__).parent), "commitrules")
        short = short.split("site-packages/")[-1]
        print(f"| `{short}` | {own:.2f} | {own / profiled * 100:.1f} % | {category(label)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
