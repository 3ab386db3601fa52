"""The performance benchmark of issue 9: one command, every number, ratios first.

    .venv/bin/python benchmarks/run.py            # the issue's stream: ~100,000 events, 60 days
    .venv/bin/python benchmarks/run.py --quick    # ~20,000 events, smaller sections

It generates a seeded stream (``benchmarks/streams.py``), checks that the hand-written
baseline (``benchmarks/baseline.py``) finds exactly what the engine finds on it (and stops
with the differences if not), then measures on the same events, in one run:

* the headline: events/s and peak memory of the hand-written baseline on dicts, of
  ``Engine.process`` and ``Engine.process_many`` on dicts, and of the JSON Lines path
  (``json.loads`` + baseline against the library's batch path from the file's bytes),
  each as a ratio to the baseline measured in the same run;
* the engine with a pack restricted to each rule kind alone;
* pack load and compile time;
* events/s with 10, 100 and 1,000 generated rules (on one type, spread over the types,
  and on a type the stream never sends);
* events/s and peak memory with 1,000 to 1,000,000 customers;
* tracemalloc's current size after each tenth of a stream ten times as long.

Results go to ``benchmarks/results.md`` and ``benchmarks/results.json``. Only the standard
library and the project are needed. Absolute rates drift with the machine's load: read
the ratios, which are measured in the same run with interleaved repeats.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import gc
import inspect
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import baseline  # noqa: E402
import streams  # noqa: E402

import commitrules  # noqa: E402
from commitrules.batch import check_files  # noqa: E402
from commitrules.engine._intake import DuplicateStore  # noqa: E402
from commitrules.eventtime import to_us  # noqa: E402

CST = streams.CST
#: Periods and deadlines past the stream are judged in the correctness check up to here.
FAR = dt.datetime(2027, 1, 1, tzinfo=CST)
#: Engine methods that read JSON Lines bytes, if the engine has one (checked at run time).
FAST_PATHS = ("process_lines", "process_jsonl", "process_json", "process_bytes")
KINDS = ("check", "precedence", "deadline", "threshold", "periodic_target", "periodic_obligation")
MB = 1_000_000


@dataclass(frozen=True)
class Profile:
    """The sizes of one run."""

    name: str
    customers: int  # of the headline stream (60 days)
    repeats: int  # interleaved timing repeats of the headline
    kind_events: int  # events of the headline stream used per rule kind
    rule_events: int  # events used for the rule-count scaling
    key_events: int  # at most this many events per live-key size
    key_sizes: tuple[int, ...]
    endless_factor: int  # chunks of the endless stream, each as long as the headline stream
    endless_customers: int  # of the endless stream; the headline's (26,000) gives 10x its events
    load_runs: int
    durable_events: int  # events of the headline stream for the durable backend, if any
    seed: int = 7
    days: int = 60
    violation_rate: float = 0.002
    start: dt.datetime = dt.datetime(2026, 7, 1, tzinfo=CST)


FULL = Profile(
    name="full",
    customers=26_000,
    repeats=3,
    kind_events=50_000,
    rule_events=20_000,
    key_events=30_000,
    key_sizes=(1_000, 10_000, 100_000, 1_000_000),
    endless_factor=10,
    endless_customers=13_000,
    load_runs=7,
    durable_events=10_000,
)
#: Within two minutes: the endless stream has half the customers (10 x ~10,000 events).
QUICK = Profile(
    name="quick",
    customers=5_200,
    repeats=3,
    kind_events=10_000,
    rule_events=5_000,
    key_events=5_000,
    key_sizes=(1_000, 10_000, 100_000, 1_000_000),
    endless_factor=10,
    endless_customers=2_600,
    load_runs=5,
    durable_events=2_000,
)


# -- measuring --------------------------------------------------------------------------------
Run = Callable[[], Any]
#: Builds what a run needs (an engine, a baseline machine) and returns the run itself, so
#: that construction stays outside what is timed or traced.
Prepare = Callable[[], Run]


def _seconds(run: Run) -> tuple[float, Any]:
    gc.collect()
    # Every path at the collector's pace of a long run (commitrules.long_run, which the
    # engine's batch entry points use themselves): the same conditions for the baseline.
    with commitrules.long_run():
        began = time.perf_counter()
        result = run()
        return time.perf_counter() - began, result


def _measure(prepare: Prepare) -> tuple[float, Any]:
    """Seconds of one prepared run (its preparation not counted), and its result."""
    return _seconds(prepare())


def _peak(prepare: Prepare) -> int:
    """Peak bytes tracemalloc sees while the run works (what existed before is not counted)."""
    run = prepare()
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@dataclass
class Row:
    """One measured path."""

    name: str
    label: str
    events: int
    seconds: list[float] = field(default_factory=list)
    peak_bytes: int | None = None
    note: str = ""

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        """Events per second of the best repeat (others are slowed by other processes)."""
        return self.events / self.best

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["best_s"] = self.best
        data["median_s"] = self.median
        data["events_per_s"] = self.rate
        data["events_per_s_median"] = self.events / self.median
        data["us_per_event"] = 1e6 / self.rate
        return data


def _violations(result: Any) -> list[Any]:
    if isinstance(result, list | tuple):
        return list(result)
    found = getattr(result, "violations", None)
    if found is not None:
        return list(found)
    return []


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- streams and packs ------------------------------------------------------------------------
def _generate(profile: Profile, **changes: Any) -> tuple[list[dict[str, Any]], float]:
    settings = {
        "seed": profile.seed,
        "start": profile.start,
        "days": profile.days,
        "customers": profile.customers,
        "violation_rate": profile.violation_rate,
    }
    limit = changes.pop("limit", None)
    settings.update(changes)
    began = time.perf_counter()
    events = list(itertools.islice(streams.generate(**settings), limit))
    return events, time.perf_counter() - began


def _write_jsonl(events: Iterable[Mapping[str, Any]], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for event in events:
            handle.write(streams.dumps_event(event))
            handle.write("\n")
            count += 1
    return count


def _yaml(data: Any) -> str:
    import yaml  # a dependency of commitrules

    return str(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def _child_pack(
    root: Path, name: str, disable: Sequence[str], rules: Sequence[Mapping[str, Any]] = ()
) -> Path:
    """A pack that extends the default pack, switches rules off and adds generated ones."""
    folder = root / name
    (folder / "rules").mkdir(parents=True, exist_ok=True)
    meta = {
        "id": f"bench-{name}",
        "version": "0.1.0",
        "name": {"zh": "基準測試", "en": f"benchmark: {name}"},
        "extends": "customer-commitments",
        "disable": [{"rule": rule, "reason": f"benchmark {name}"} for rule in disable],
    }
    (folder / "pack.yaml").write_text(_yaml(meta), encoding="utf-8")
    if rules:
        (folder / "rules" / "generated.yaml").write_text(
            _yaml({"rules": list(rules)}), encoding="utf-8"
        )
    return folder


def _generated_rules(count: int, types: Sequence[str]) -> list[dict[str, Any]]:
    """``count`` check rules cycling over ``types``; none of them ever fires."""
    rules = []
    for index in range(count):
        event_type = types[index % len(types)]
        condition = (
            f"amount > {1_000_000_000 + index}" if event_type == "sale" else f"id == 'x-{index}'"
        )
        rules.append(
            {
                "id": f"BENCH.generated.{index:04d}",
                "kind": "check",
                "clause": "C1",
                "role": "risk-compliance",
                "severity": "low",
                "on": event_type,
                "forbid": condition,
                "message": {"zh": "基準規則", "en": "benchmark rule"},
            }
        )
    return rules


# -- runners: each returns a Prepare -----------------------------------------------------------
def _baseline_dicts(
    ref: baseline.Reference, events: Sequence[Mapping[str, Any]], until: dt.datetime
) -> Prepare:
    def prepare() -> Run:
        machine = baseline.HandWritten(ref)

        def run() -> list[baseline.Finding]:
            machine.process_many(events)
            machine.advance_to(until)
            return machine.findings

        return run

    return prepare


def _baseline_jsonl(ref: baseline.Reference, path: Path, until: dt.datetime) -> Prepare:
    loads = json.loads

    def prepare() -> Run:
        machine = baseline.HandWritten(ref)

        def run() -> list[baseline.Finding]:
            with path.open("rb") as handle:
                machine.process_many(loads(line) for line in handle)
            machine.advance_to(until)
            return machine.findings

        return run

    return prepare


#: Parts of the work measured alone (no engine state, no rules): the ceiling section and
#: ``instructions.py --floor``.
PARTS = ("dispatch", "validators", "validated", "loads", "validated-json", "kept", "kept-json")


def _part(what: str, pack: commitrules.Pack, events: Sequence[Mapping[str, Any]]) -> Prepare:
    """What one part of the work costs alone, on the same events."""
    catalog = pack.catalog
    json_parts = ("loads", "validated-json", "kept-json")
    lines = (
        [json.dumps(e, ensure_ascii=False).encode() for e in events] if what in json_parts else []
    )
    if what == "validators":  # the compiled pydantic validator of each event's type
        checks = {event_type.name: event_type.check for event_type in catalog}

        def measured() -> None:
            for event in events:
                checks[event["type"]](event)

    elif what == "validated":  # the validated event and its time in µs: before any rule

        def measured() -> None:
            validate = catalog.validate
            for event in events:
                to_us(validate(event)["at"])

    elif what == "loads":  # json.loads of each line

        def measured() -> None:
            loads = json.loads
            for line in lines:
                loads(line)

    elif what == "validated-json":  # the same as "validated", from each line's bytes
        catalog.validate_json(lines[0])  # its validator is built on first use

        def measured() -> None:
            validate_json = catalog.validate_json
            for line in lines:
                to_us(validate_json(line)["at"])

    elif what in ("kept", "kept-json"):  # validated, plus the least the core contract keeps
        if what == "kept-json":
            catalog.validate_json(lines[0])
        inputs: Sequence[Any] = lines if what == "kept-json" else events

        def measured() -> None:
            # Inline, with no engine: the duplicate store (the id's and the content's
            # digests, in the engine's table) and the watermark. Nothing is evicted.
            from commitrules.engine._intake import Digests, DuplicateStore

            validate = catalog.validate_json if what == "kept-json" else catalog.validate
            digests = Digests(None, {kind.name: tuple(kind.model.model_fields) for kind in catalog})
            of_id = digests.of_id
            of_body = digests.of_body
            store = DuplicateStore(digests)
            find = store.find
            remember = store.remember
            lateness = 3_600_000_000
            watermark = -(2**62)
            for item in inputs:
                checked = validate(item)
                at_us = to_us(checked["at"])
                key = of_id(checked["id"])
                if find(key) >= 0:
                    continue
                if at_us < watermark:
                    msg = "late"
                    raise ValueError(msg)
                remember(key, at_us, of_body(checked))
                if at_us - lateness > watermark:  # noqa: PLR1730 - no call, as the engine
                    watermark = at_us - lateness

    elif what == "dispatch":  # the hand-written loop with no handler: time parsed, dispatched

        def measured() -> None:
            # baseline.HandWritten.process_many's loop with no rule. Its test of the first
            # timer stays with the rules: it is how the deadline and periodic rules learn
            # that something fell due (an aware-datetime comparison in the pack's zone,
            # ~3,500 instructions per event); an engine has its own equivalent.
            handlers: dict[str, Callable[[Any, Any], None]] = {}
            lookup = handlers.get
            parse = dt.datetime.fromisoformat
            started = [True]
            for event in events:
                at = parse(event["at"])
                if not started[0]:
                    _ignore(event, at)
                lookup(event["type"], _ignore)(event, at)

    else:
        msg = f"no part {what!r} (parts: {', '.join(PARTS)})"
        raise ValueError(msg)
    return lambda: measured


def _ignore(event: Any, at: Any) -> None:
    return None


def _json_lines(
    what: str, pack: commitrules.Pack, events: Sequence[Mapping[str, Any]], until: dt.datetime
) -> Prepare:
    """The JSON Lines goal on lines in memory: json.loads + baseline, or process_json."""
    lines = [json.dumps(event, ensure_ascii=False).encode() for event in events]
    if what == "baseline-json":

        def prepare() -> Run:
            machine = baseline.HandWritten(baseline.Reference.from_pack(pack))

            def measured() -> None:
                loads = json.loads
                machine.process_many(loads(line) for line in lines)
                machine.advance_to(until)

            return measured

        return prepare

    def prepare_engine() -> Run:
        engine = commitrules.Engine(pack)
        pack.catalog.validate_json(lines[0])  # its validator is built on first use

        def measured() -> None:
            process_json = engine.process_json
            for line in lines:
                process_json(line)
            engine.advance_to(until)

        return measured

    return prepare_engine


def _engine_process(
    pack: commitrules.Pack,
    events: Sequence[Mapping[str, Any]],
    until: dt.datetime,
    backend: str = "native",
    *,
    free_store: bool = False,
) -> Prepare:
    """``Engine.process`` per event, then ``advance_to(until)``; with ``free_store`` a
    duplicate store that costs nothing (:class:`_FreeStore`)."""

    def prepare() -> Run:
        engine = commitrules.Engine(pack, backend=backend)
        if free_store:
            engine._store = _FreeStore(engine._digests)

        def run() -> list[commitrules.Violation]:
            process = engine.process
            found: list[commitrules.Violation] = []
            extend = found.extend
            for event in events:
                extend(process(event))
            found.extend(engine.advance_to(until))
            return found

        return run

    return prepare


def _engine_many(
    pack: commitrules.Pack, events: Sequence[Mapping[str, Any]], until: dt.datetime
) -> Prepare:
    def prepare() -> Run:
        engine = commitrules.Engine(pack)

        def run() -> list[commitrules.Violation]:
            found = _violations(engine.process_many(events))
            found.extend(engine.advance_to(until))
            return found

        return run

    return prepare


def _check_files(pack: commitrules.Pack, path: Path, until: dt.datetime) -> Prepare:
    def prepare() -> Run:
        engine = commitrules.Engine(pack)

        def run() -> list[commitrules.Violation]:
            result = check_files([str(path)], pack, until=until, engine=engine)
            if result.rejected:
                msg = f"check_files rejected {len(result.rejected)} lines: {result.rejected[0]}"
                raise RuntimeError(msg)
            return list(result.violations)

        return run

    return prepare


def _fast_path(
    pack: commitrules.Pack, path: Path, until: dt.datetime
) -> tuple[str, Prepare] | None:
    """The engine's own bytes path, if it has one (its signature is read at run time)."""
    for name in FAST_PATHS:
        method = getattr(commitrules.Engine, name, None)
        if callable(method):
            break
    else:
        return None
    parameters = [p for p in inspect.signature(method).parameters.values() if p.name != "self"]
    first = parameters[0] if parameters else None
    bulk = first is not None and (
        "lines" in first.name
        or "Iterable" in str(first.annotation)
        or "Iterator" in str(first.annotation)
        or first.kind is inspect.Parameter.VAR_POSITIONAL
    )

    def prepare() -> Run:
        engine = commitrules.Engine(pack)
        call = getattr(engine, name)

        def run() -> list[commitrules.Violation]:
            found: list[commitrules.Violation] = []
            with path.open("rb") as handle:
                if bulk:
                    found.extend(_violations(call(handle)))
                else:
                    for line in handle:
                        found.extend(_violations(call(line)))
            found.extend(engine.advance_to(until))
            return found

        return run

    return f"Engine.{name}", prepare


# -- sections ---------------------------------------------------------------------------------
def machine_facts() -> dict[str, Any]:
    """What the numbers were measured on."""
    facts: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "commitrules": commitrules.__version__,
    }
    with contextlib.suppress(OSError):
        facts["load_average"] = [round(x, 2) for x in os.getloadavg()]
    with contextlib.suppress(Exception):
        import pydantic

        facts["pydantic"] = pydantic.VERSION
    with contextlib.suppress(Exception):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        facts["git"] = commit + (" + uncommitted changes in src/" if dirty else "")
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                facts["cpu"] = line.split(":", 1)[1].strip()
                break
    return facts


def correctness(
    pack: commitrules.Pack,
    ref: baseline.Reference,
    events: Sequence[Mapping[str, Any]],
    until: dt.datetime,
) -> dict[str, Any]:
    """The baseline and the engine (evidence included, so subjects are not masked) agree."""
    engine = commitrules.Engine(pack, evidence="include")
    found = _violations(engine.process_many(events))
    found.extend(engine.advance_to(until))
    found.extend(engine.advance_to(FAR))
    machine = baseline.HandWritten(ref)
    machine.process_many(events)
    machine.advance_to(until)
    machine.advance_to(FAR)
    comparison = baseline.compare(machine.findings, found)
    by_rule = Counter((v.rule_id, v.kind) for v in found)
    lacking, extra = baseline.missing_rules(pack)
    differences = comparison.describe() if not comparison.same else ""
    if lacking or extra:
        differences = (
            f"the pack's rules and the baseline's differ: not in the baseline {lacking}, "
            f"not in the pack {extra}\n{differences}"
        )
    return {
        "same": comparison.same and not lacking and not extra,
        "rules": len(pack.rules),
        "engine": comparison.engine,
        "baseline": comparison.baseline,
        "rules_with_findings": len({rule for rule, _ in by_rule}),
        "by_kind": dict(Counter(v.kind for v in found)),
        "differences": differences,
        "until": [until.isoformat(), FAR.isoformat()],
    }


def headline(
    profile: Profile,
    pack: commitrules.Pack,
    ref: baseline.Reference,
    events: Sequence[Mapping[str, Any]],
    path: Path,
    until: dt.datetime,
) -> dict[str, Any]:
    """Every path on the same events, interleaved repeats, then one traced run each."""
    count = len(events)
    runners: list[tuple[Row, Prepare]] = [
        (
            Row("baseline", "hand-written Python on dicts", count),
            _baseline_dicts(ref, events, until),
        ),
        (Row("process", "Engine.process on dicts", count), _engine_process(pack, events, until)),
        (
            Row("process_many", "Engine.process_many on dicts", count),
            _engine_many(pack, events, until),
        ),
        (
            Row("baseline_jsonl", "json.loads + hand-written, JSON Lines file", count),
            _baseline_jsonl(ref, path, until),
        ),
        (
            Row("check_files", "commitrules.batch.check_files, JSON Lines file", count),
            _check_files(pack, path, until),
        ),
    ]
    fast = _fast_path(pack, path, until)
    if fast is not None:
        runners.append((Row("fast_path", f"{fast[0]}, JSON Lines file", count), fast[1]))
    outputs: dict[str, list[str]] = {}
    for repeat in range(profile.repeats):
        for row, run in runners:
            seconds, result = _measure(run)
            row.seconds.append(seconds)
            if repeat == 0 and row.name not in ("baseline", "baseline_jsonl"):
                outputs[row.name] = sorted(v.id for v in _violations(result))
            _log(f"  {row.name:15s} repeat {repeat + 1}: {count / seconds:>10,.0f} events/s")
    for row, run in runners:
        row.peak_bytes = _peak(run)
        _log(f"  {row.name:15s} peak {row.peak_bytes / MB:8.1f} MB")
    reference = outputs.get("process", [])
    agree = {name: ids == reference for name, ids in outputs.items()}
    rows = {row.name: row for row, _ in runners}
    base_rate = rows["baseline"].rate
    jsonl_rate = rows["baseline_jsonl"].rate
    result = []
    for row, _ in runners:
        entry = row.as_dict()
        entry["vs_baseline"] = row.rate / base_rate
        entry["vs_baseline_median"] = rows["baseline"].median / row.median
        jsonl = row.name in ("baseline_jsonl", "check_files", "fast_path")
        entry["vs_jsonl_baseline"] = row.rate / jsonl_rate if jsonl else None
        entry["violations"] = len(outputs.get(row.name, [])) if row.name in outputs else None
        entry["same_violations_as_process"] = agree.get(row.name)
        result.append(entry)
    durable_note, durable_row = _durable(profile, pack, ref, events, until)
    if durable_row is not None:
        result.append(durable_row)
    return {"rows": result, "outputs_agree": all(agree.values()), "durable": durable_note}


def _durable(
    profile: Profile,
    pack: commitrules.Pack,
    ref: baseline.Reference,
    events: Sequence[Mapping[str, Any]],
    until: dt.datetime,
) -> tuple[str, dict[str, Any] | None]:
    """The durable backend, when this version has one, on the first events of the stream."""
    try:
        commitrules.Engine(pack, backend="durable")
    except (ValueError, TypeError, ImportError, commitrules.CommitRulesError) as error:
        return f"not measured: {error}", None
    subset = events[: profile.durable_events]
    count = len(subset)
    end = dt.datetime.fromisoformat(subset[-1]["at"]) + dt.timedelta(microseconds=1)
    durable = _engine_process(pack, subset, end, backend="durable")
    best, results = _interleaved(
        [_baseline_dicts(ref, subset, end), _engine_process(pack, subset, end), durable],
        2,
        count,
        ["hand-written (subset)", "Engine.process (subset)", "durable backend (subset)"],
    )
    same = sorted(v.id for v in results[2]) == sorted(v.id for v in results[1])
    row = Row("durable", f"Engine.process on dicts, durable backend (first {count:,})", count)
    row.seconds = [best[2]]
    row.peak_bytes = _peak(durable)
    entry = row.as_dict()
    entry["vs_baseline"] = best[0] / best[2]
    entry["vs_baseline_median"] = None
    entry["vs_jsonl_baseline"] = None
    entry["violations"] = len(results[2])
    entry["same_violations_as_process"] = same
    entry["native_on_subset_vs_baseline"] = best[0] / best[1]
    note = (
        f"measured on the first {count:,} events (ratio to the hand-written baseline on the "
        f"same events; the native engine's ratio there: {best[0] / best[1]:.2f}x); "
        f"{'same' if same else 'DIFFERENT'} violation ids as the native engine"
    )
    return note, entry


def _interleaved(
    runs: Sequence[Prepare], repeats: int, count: int, labels: Sequence[str]
) -> tuple[list[float], list[Any]]:
    """Best seconds of each run over interleaved repeats, and each run's first result."""
    seconds: list[list[float]] = [[] for _ in runs]
    first: list[Any] = [None] * len(runs)
    for repeat in range(repeats):
        for index, run in enumerate(runs):
            spent, result = _measure(run)
            seconds[index].append(spent)
            if repeat == 0:
                first[index] = result
    best = [min(s) for s in seconds]
    for label, spent in zip(labels, best, strict=True):
        _log(f"  {label:48s} {count / spent:>10,.0f} events/s")
    return best, first


def ceiling(
    profile: Profile,
    pack: commitrules.Pack,
    ref: baseline.Reference,
    events: Sequence[Mapping[str, Any]],
    until: dt.datetime,
) -> dict[str, Any]:
    """The best ratios any engine on this contract could reach, from parts measured alone.

    An engine must at least validate each event and read its time (``validated``); if its
    rules then cost exactly what the hand-written ones do (the baseline less its loop,
    ``dispatch``) and it kept no state of its own (no duplicate store, watermark or
    routing), its ratio would be ``baseline / (validated + rules)``: the ceiling. With the
    least the core contract keeps (``kept``: the duplicate store and the watermark, inline)
    in place of ``validated``, the second ceiling.
    """
    events = events[: profile.kind_events]
    count = len(events)
    names = (
        "baseline",
        "engine",
        "dispatch",
        "validated",
        "kept",
        "loads",
        "validated-json",
        "kept-json",
    )
    runs = [_baseline_dicts(ref, events, until), _engine_process(pack, events, until)]
    runs += [_part(name, pack, events) for name in names[2:]]
    best, _ = _interleaved(runs, profile.repeats, count, names)
    seconds = dict(zip(names, best, strict=True))
    rules = seconds["baseline"] - seconds["dispatch"]
    return {
        "events": count,
        "us_per_event": {name: spent / count * 1e6 for name, spent in seconds.items()},
        "hand_written_rules_us": rules / count * 1e6,
        "dicts": seconds["baseline"] / (seconds["validated"] + rules),
        "json_lines": (seconds["loads"] + seconds["baseline"])
        / (seconds["validated-json"] + rules),
        "dicts_kept": seconds["baseline"] / (seconds["kept"] + rules),
        "engine": seconds["baseline"] / seconds["engine"],
        # µs per event: what this engine spends beyond validation and the hand-written rules'
        # cost, and what the dicts goal (0.5x) would leave for that.
        "engine_beyond_us": (seconds["engine"] - seconds["validated"] - rules) / count * 1e6,
        "goal_leaves_us": (2 * seconds["baseline"] - seconds["validated"] - rules) / count * 1e6,
        "json_lines_kept": (seconds["loads"] + seconds["baseline"])
        / (seconds["kept-json"] + rules),
    }


def rule_kinds(
    profile: Profile,
    pack: commitrules.Pack,
    ref: baseline.Reference,
    events: Sequence[Mapping[str, Any]],
    until: dt.datetime,
    root: Path,
) -> list[dict[str, Any]]:
    """The engine with only the rules of one kind (a child pack disables the others)."""
    events = events[: profile.kind_events]
    count = len(events)
    every = [rule.id for rule in pack.rules]
    variants: list[tuple[str, commitrules.Pack]] = [
        (
            "none (validation and bookkeeping only)",
            commitrules.load_pack(_child_pack(root, "kind-none", every)),
        )
    ]
    for kind in KINDS:
        disable = [rule.id for rule in pack.rules if rule.kind != kind]
        variants.append((kind, commitrules.load_pack(_child_pack(root, f"kind-{kind}", disable))))
    variants.append(("all (the default pack)", pack))
    runs = [_baseline_dicts(ref, events, until)]
    runs.extend(_engine_process(child, events, until) for _, child in variants)
    labels = ["hand-written baseline (all rules)", *(label for label, _ in variants)]
    best, results = _interleaved(runs, profile.repeats, count, labels)
    base_rate = count / best[0]
    none_us = best[1] / count * 1e6
    rows = []
    for (label, child), seconds, found in zip(variants, best[1:], results[1:], strict=True):
        rate = count / seconds
        us = 1e6 / rate
        rows.append(
            {
                "kind": label,
                "rules": len(child.rules),
                "events": count,
                "events_per_s": rate,
                "us_per_event": us,
                "us_over_none": us - none_us,
                "vs_baseline": rate / base_rate,
                "violations": len(found),
            }
        )
    return rows


def load_times(profile: Profile) -> dict[str, Any]:
    """``load_pack()`` and ``Engine(pack)``: cold in fresh interpreters, warm in this one."""
    script = (
        "import json, time\n"
        "t0 = time.perf_counter()\n"
        "import commitrules\n"
        "t1 = time.perf_counter()\n"
        "pack = commitrules.load_pack()\n"
        "t2 = time.perf_counter()\n"
        "commitrules.Engine(pack)\n"
        "t3 = time.perf_counter()\n"
        "print(json.dumps([t1 - t0, t2 - t1, t3 - t2]))\n"
    )
    cold: list[list[float]] = []
    for _ in range(3):
        output = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout
        cold.append(json.loads(output))
    warm_load = []
    warm_engine = []
    for _ in range(profile.load_runs):
        seconds, pack = _seconds(commitrules.load_pack)
        warm_load.append(seconds)
        seconds, _ = _seconds(lambda pack=pack: commitrules.Engine(pack))
        warm_engine.append(seconds)
    return {
        "cold_import_s": statistics.median(c[0] for c in cold),
        "cold_load_pack_s": statistics.median(c[1] for c in cold),
        "cold_engine_s": statistics.median(c[2] for c in cold),
        "warm_load_pack_s": statistics.median(warm_load),
        "warm_engine_s": statistics.median(warm_engine),
        "runs": {"cold": len(cold), "warm": profile.load_runs},
    }


def rule_counts(
    profile: Profile,
    pack: commitrules.Pack,
    events: Sequence[Mapping[str, Any]],
    until: dt.datetime,
    root: Path,
) -> dict[str, Any]:
    """Generated check rules instead of the default ones: what N rules cost per event."""
    events = events[: profile.rule_events]
    count = len(events)
    sent = Counter(event["type"] for event in events)
    kinds_sent = sorted(sent)
    unsent = sorted({t.name for t in pack.catalog} - set(sent))
    every = [rule.id for rule in pack.rules]
    plans: list[tuple[str, int, list[str]]] = [("no rules", 0, ["sale"])]
    for n in (10, 100, 1000):
        plans.append((f"{n} on sale", n, ["sale"]))
    for n in (10, 100, 1000):
        plans.append((f"{n} spread over the {len(kinds_sent)} types sent", n, kinds_sent))
    if unsent:
        plans.append((f"1000 on {unsent[0]} (never sent)", 1000, [unsent[0]]))
    packs = []
    loading = []
    for index, (_, n, types) in enumerate(plans):
        folder = _child_pack(root, f"rules-{index}", every, _generated_rules(n, types))
        load_s, child = _seconds(lambda folder=folder: commitrules.load_pack(folder))
        engine_s, _ = _seconds(lambda child=child: commitrules.Engine(child))
        packs.append(child)
        loading.append((load_s, engine_s))
    runs = [_engine_process(child, events, until) for child in packs]
    best, results = _interleaved(runs, profile.repeats, count, [p[0] for p in plans])
    zero_us = best[0] / count * 1e6
    rows = []
    for (label, n, types), seconds, found, (load_s, engine_s) in zip(
        plans, best, results, loading, strict=True
    ):
        us = seconds / count * 1e6
        per_sale = None
        if n >= 100 and types == ["sale"] and sent.get("sale"):  # fewer: noise / n
            per_sale = (us - zero_us) * count / sent["sale"] / n * 1000
        rows.append(
            {
                "rules": label,
                "count": n,
                "events": count,
                "events_per_s": count / seconds,
                "us_per_event": us,
                "us_over_no_rules": us - zero_us,
                "ns_per_rule_per_matching_event": per_sale,
                "load_pack_s": load_s,
                "engine_s": engine_s,
                "violations": len(found),
            }
        )
    return {"rows": rows, "sales": sent.get("sale", 0), "events": count}


def live_keys(
    profile: Profile, pack: commitrules.Pack, ref: baseline.Reference
) -> list[dict[str, Any]]:
    """Customers from 1,000 to 1,000,000: events/s and peak memory, engine and baseline."""
    rows = []
    per_customer_day = 0.066  # events per customer per day in the default mix
    for customers in profile.key_sizes:
        days = max(1, min(150, math.ceil(profile.key_events / (per_customer_day * customers))))
        events, generation = _generate(
            profile, customers=customers, days=days, limit=profile.key_events
        )
        until = dt.datetime.fromisoformat(events[-1]["at"]) + dt.timedelta(microseconds=1)
        live = len({e["customer_id"] for e in events if "customer_id" in e})
        count = len(events)
        (base_seconds, seconds), _ = _interleaved(
            [_baseline_dicts(ref, events, until), _engine_process(pack, events, until)],
            2,
            count,
            ["hand-written", "Engine.process"],
        )
        engine_peak = _peak(_engine_process(pack, events, until))
        base_peak = _peak(_baseline_dicts(ref, events, until))
        rows.append(
            {
                "customers": customers,
                "days": days,
                "events": count,
                "distinct_customers_in_events": live,
                "generation_s": generation,
                "events_per_s": count / seconds,
                "baseline_events_per_s": count / base_seconds,
                "vs_baseline": base_seconds / seconds,
                "engine_peak_bytes": engine_peak,
                "baseline_peak_bytes": base_peak,
                "engine_bytes_per_event": engine_peak / count,
            }
        )
        _log(
            f"  {customers:>9,} customers {count:>7,} events ({live:,} customers seen): "
            f"{count / seconds:>8,.0f} events/s, peak {engine_peak / MB:.1f} MB "
            f"(generated in {generation:.1f} s)"
        )
        del events
        gc.collect()
    return rows


def endless(profile: Profile, pack: commitrules.Pack, root: Path) -> dict[str, Any]:
    """tracemalloc's current size after each of ``endless_factor`` chunks of a long stream."""
    days = profile.days * profile.endless_factor
    start = dt.datetime(2025, 1, 1, tzinfo=CST)
    path = root / "endless.jsonl"
    began = time.perf_counter()
    total = _write_jsonl(
        streams.generate(
            seed=profile.seed,
            start=start,
            days=days,
            customers=profile.endless_customers,
            violation_rate=profile.violation_rate,
        ),
        path,
    )
    generation = time.perf_counter() - began
    chunk = math.ceil(total / profile.endless_factor)
    loads = json.loads
    samples = []
    gc.collect()
    began = time.perf_counter()
    tracemalloc.start()
    try:
        engine = commitrules.Engine(pack)
        process = engine.process
        gc.collect()
        base_bytes = tracemalloc.get_traced_memory()[0]
        found = 0
        done = 0
        with path.open("rb") as handle:
            while True:
                last: dict[str, Any] | None = None
                for line in itertools.islice(handle, chunk):
                    last = loads(line)
                    found += len(process(last))
                    done += 1
                if last is None:
                    break
                gc.collect()
                current, peak = tracemalloc.get_traced_memory()
                tracemalloc.reset_peak()
                samples.append(
                    {
                        "events": done,
                        "event_time": last["at"],
                        "current_bytes": current - base_bytes,
                        "peak_bytes_in_chunk": peak - base_bytes,
                        "allocated_blocks": sys.getallocatedblocks(),
                        "violations_so_far": found,
                    }
                )
                held = (current - base_bytes) / MB
                _log(f"  {done:>9,} events to {last['at'][:10]}: {held:7.1f} MB")
    finally:
        tracemalloc.stop()
    seconds = time.perf_counter() - began
    path.unlink()
    currents = [s["current_bytes"] for s in samples]
    settled = currents[len(currents) // 2 :]
    return {
        "start": start.isoformat(),
        "days": days,
        "customers": profile.endless_customers,
        "events": total,
        "chunk": chunk,
        "generation_s": generation,
        "traced_run_s": seconds,
        "samples": samples,
        "second_half_growth": (max(settled) - min(settled)) / max(settled) if settled else None,
        "last_over_first": currents[-1] / currents[0] if currents and currents[0] else None,
    }


# -- reporting --------------------------------------------------------------------------------


# -- issue 28: the goals not in the headline ----------------------------------------------------
def overhead(
    profile: Profile,
    pack: commitrules.Pack,
    events: Sequence[Mapping[str, Any]],
    root: Path,
) -> dict[str, Any]:
    """The engine with no rule at all, against its parts measured alone on the same events.

    ``engine - validation - digests`` is what the engine itself spends per event (intake,
    watermark, timers, atomicity, release, routing, result); the goal compares it with a
    dict-lookup loop (each event's type looked up in a dict of handlers, as any dispatcher
    must), also reported alone.
    """
    from commitrules.engine._intake import Digests

    events = events[: profile.kind_events]
    count = len(events)
    empty = commitrules.load_pack(_child_pack(root, "overhead-none", [r.id for r in pack.rules]))
    catalog = empty.catalog
    checked = [catalog.validate(event) for event in events]

    def loop() -> Run:
        handlers: dict[str, Callable[[Any], None]] = {}
        lookup = handlers.get

        def measured() -> None:
            for event in events:
                lookup(event["type"], _ignore)(event, None)

        return measured

    def validation() -> Run:
        def measured() -> None:
            validate = catalog.validate
            for event in events:
                to_us(validate(event)["at"])

        return measured

    def digests() -> Run:
        # As the engine builds them: each type's field order, so that the content digest
        # hashes the values in that order (not the sorted-JSON fallback, which costs more).
        digest = Digests(None, {kind.name: tuple(kind.model.model_fields) for kind in catalog})

        def measured() -> None:
            of_id = digest.of_id
            of_body = digest.of_body
            for event in checked:
                of_id(event["id"])
                of_body(event)

        return measured

    names = (
        "dict-lookup loop",
        "validation",
        "digests",
        "engine, empty pack",
        "engine, empty pack, a free duplicate store",
    )
    runs: list[Prepare] = [
        loop,
        validation,
        digests,
        _engine_process(empty, events, FAR),
        # The bound of a compiled duplicate store (issue 28's last lever): the same engine
        # with a store that costs nothing (every id of this stream is new, so the results
        # are the same). The digests are still made.
        _engine_process(empty, events, FAR, free_store=True),
    ]
    best, _ = _interleaved(runs, max(profile.repeats, 5), count, names)
    us = {name: spent / count * 1e6 for name, spent in zip(names, best, strict=True)}
    own = us["engine, empty pack"] - us["validation"] - us["digests"]
    free = us["engine, empty pack, a free duplicate store"] - us["validation"] - us["digests"]
    return {
        "events": count,
        "rules": len(empty.rules),
        "us_per_event": us,
        "engine_own_us": own,
        "engine_own_beyond_loop_us": own - us["dict-lookup loop"],
        "free_store_beyond_loop_us": free - us["dict-lookup loop"],
    }


class _FreeStore(DuplicateStore):
    """A duplicate store that costs nothing: it finds no id and keeps none (the bound of what
    a compiled store could save; for a stream without repeated ids only)."""

    def find(self, key: int) -> int:
        return -1

    def remember(self, key: int, at_us: int, body: int) -> None:
        return None

    def withdraw(self, key: int) -> None:
        return None

    def evict_before(self, cutoff_us: int) -> None:
        return None


def inapplicable(
    profile: Profile,
    pack: commitrules.Pack,
    events: Sequence[Mapping[str, Any]],
    until: dt.datetime,
    root: Path,
) -> dict[str, Any]:
    """A sale event's cost with 1,000 extra rules on the other types the stream sends.

    The same mixed stream through the default pack and through the default pack plus 1,000
    generated check rules spread over every type the stream sends except ``sale``; only the
    calls of sale events are timed (a clock read either side, the same in both runs).
    """
    events = events[: profile.kind_events]
    count = len(events)
    sent = Counter(event["type"] for event in events)
    others = sorted(kind for kind in sent if kind != "sale")
    extra = commitrules.load_pack(
        _child_pack(root, "inapplicable", [], _generated_rules(1000, others))
    )

    def timed(chosen: commitrules.Pack) -> Prepare:
        def prepare() -> Run:
            engine = commitrules.Engine(chosen)

            def run() -> tuple[float, float]:
                process = engine.process
                clock = time.perf_counter
                sales = 0.0
                began = clock()
                for event in events:
                    if event["type"] == "sale":
                        start = clock()
                        process(event)
                        sales += clock() - start
                    else:
                        process(event)
                engine.advance_to(until)
                return sales, clock() - began

            return run

        return prepare

    seconds: dict[str, list[tuple[float, float]]] = {"default": [], "extra": []}
    for _ in range(max(profile.repeats, 5)):
        for name, chosen in (("default", pack), ("extra", extra)):
            run = timed(chosen)()
            gc.collect()
            seconds[name].append(run())
    sales = sent["sale"]
    best = {name: min(s for s, _ in runs) for name, runs in seconds.items()}
    whole = {name: min(w for _, w in runs) for name, runs in seconds.items()}
    _log(
        f"  sale event: {best['default'] / sales * 1e6:.2f} µs (default pack), "
        f"{best['extra'] / sales * 1e6:.2f} µs (+1,000 rules on other types)"
    )
    return {
        "events": count,
        "sales": sales,
        "types_with_extra_rules": len(others),
        "rules": {"default": len(pack.rules), "extra": len(extra.rules)},
        "sale_us": {name: spent / sales * 1e6 for name, spent in best.items()},
        "event_us": {name: spent / count * 1e6 for name, spent in whole.items()},
        "sale_ratio": best["extra"] / best["default"],
        "event_ratio": whole["extra"] / whole["default"],
    }


#: The duplicate store's runs: events of the default stream's density (0.066 events per
#: customer per day, over the same 182 days), each in a child process of its own.
STORE_DAYS = 182
STORE_SIZES = {"full": (1_000_000, 10_000_000), "quick": (100_000, 1_000_000)}


def store_child(target: int) -> dict[str, Any]:
    """One run of ``target`` events through the default pack, streamed (never held): the
    duplicate store's bytes per id at the end, and the process's peak memory."""
    import resource

    from commitrules.engine._intake import DuplicateStore

    # 10% more customers than the density gives, so that the stream reaches the target
    # before its last day (then it is cut there).
    customers = max(1_000, round(target / (0.066 * STORE_DAYS) * 1.1))
    pack = commitrules.load_pack()
    engine = commitrules.Engine(pack)
    stream = streams.generate(
        seed=11,
        start=dt.datetime(2026, 7, 1, tzinfo=CST),
        days=STORE_DAYS,
        customers=customers,
        violation_rate=0.002,
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    began = time.process_time()
    process = engine.process
    count = 0
    for event in itertools.islice(stream, target):
        process(event)
        count += 1
    spent = time.process_time() - began
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    store = engine._store
    held = len(store)
    entries = [(int(k, 16), int(b, 16), at) for k, at, b in store.entries()]
    # The table alone, built again from the same entries under tracemalloc.
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        copy = DuplicateStore()
        copy.load(entries)
        traced = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return {
        "events": count,
        "customers": customers,
        "days": STORE_DAYS,
        "ids_held": held,
        "table_bytes": store.nbytes(),
        "bytes_per_id": store.nbytes() / held,
        "traced_bytes_per_id": traced / len(copy),
        "peak_rss_bytes": peak_rss,
        # The atomicity journal (events since the last checkpoint) at the end, and the
        # interval between checkpoints: what most of the peak holds.
        "journal_entries": len(engine._journal.entries),
        "journal_interval": engine._journal.interval,
        "rss_before_stream_bytes": rss_before,
        "cpu_s": spent,
        "events_per_cpu_s": count / spent,
    }


def store_memory(profile: Profile) -> list[dict[str, Any]]:
    """The duplicate store at 1M and 10M events (100,000 and 1M with --quick)."""
    rows = []
    for target in STORE_SIZES[profile.name]:
        output = subprocess.run(
            [sys.executable, str(HERE / "run.py"), "--store-child", str(target)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        row = json.loads(output)
        rows.append(row)
        _log(
            f"  {row['events']:>11,} events: {row['ids_held']:,} ids held, "
            f"{row['bytes_per_id']:.1f} B/id (tracemalloc {row['traced_bytes_per_id']:.1f}), "
            f"peak RSS {row['peak_rss_bytes'] / MB:.0f} MB"
        )
    return rows


def lead_rows() -> dict[str, Any] | None:
    """The operations benchmark's figures (``benchmarks/operations.py``), if it has run."""
    path = HERE / "operations-results.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / MB:,.1f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def render(results: Mapping[str, Any]) -> str:
    """results.md."""
    lines: list[str] = []
    add = lines.append
    machine = results["machine"]
    stream = results["stream"]
    add("# Benchmark results")
    add("")
    add(
        f"Regenerated by `{results['command']}` ({results['profile']} profile) in "
        f"{results['elapsed_s']:.0f} s. Ratios are measured in this run on the same events; "
        "absolute rates drift with the machine's load. See `benchmarks/README.md` for what "
        "each number means."
    )
    add("")
    add("| machine | |")
    add("|---|---|")
    for key in (
        "date",
        "cpu",
        "cpu_count",
        "cpus_usable",
        "load_average",
        "python",
        "pydantic",
        "platform",
        "commitrules",
        "git",
    ):
        if key in machine:
            add(f"| {key} | {machine[key]} |")
    add("")
    add(
        f"Stream: `streams.generate(seed={stream['seed']}, start={stream['start']}, "
        f"days={stream['days']}, customers={stream['customers']:,}, "
        f"violation_rate={stream['violation_rate']})`: **{stream['events']:,} events** "
        f"({stream['generation_s']:.1f} s to generate, {stream['jsonl_bytes'] / MB:.1f} MB "
        f"as JSON Lines), judged until {stream['until']}."
    )
    add("")
    check = results.get("correctness")
    if check:
        add("## Correctness: the baseline implements the same rules")
        add("")
        verdict = "**the same**" if check["same"] else "**DIFFERENT**"
        add(
            f"On this stream, judged until {check['until'][0]} and then {check['until'][1]}, "
            f"the hand-written baseline's findings and the engine's violations are {verdict}: "
            f"{check['baseline']} and {check['engine']} (rule id, kind, subject values, time "
            f"to the microsecond), from {check['rules_with_findings']} of the pack's "
            f"{check['rules']} rules (the baseline implements each of them); by kind "
            f"{check['by_kind']}."
        )
        if check["differences"]:
            add("")
            add("```")
            add(check["differences"])
            add("```")
        add("")
    head = results.get("headline")
    if head:
        add("## Headline")
        add("")
        add(
            f"Best of {results['profile_repeats']} interleaved repeats (every repeat is in "
            "results.json, with the ratios of the medians); peak memory is tracemalloc's peak "
            "while the path runs (a separate run; the events list, the loaded pack and the "
            "engine's construction are not counted)."
        )
        add("")
        lines.extend(
            _header(
                "path",
                "events/s",
                "µs/event",
                "vs hand-written (dicts)",
                "vs json.loads + hand-written",
                "peak MB",
                "goal",
            )
        )
        goals = {
            "process": ("vs_baseline", 0.5, ">= 0.5x hand-written"),
            "process_many": ("vs_baseline", 0.5, ">= 0.5x hand-written"),
            "durable": ("vs_baseline", 0.5, ">= 0.5x hand-written"),
            "check_files": ("vs_jsonl_baseline", 1.0, ">= 1x json.loads + hand-written"),
            "fast_path": ("vs_jsonl_baseline", 1.0, ">= 1x json.loads + hand-written"),
        }
        for row in head["rows"]:
            goal = goals.get(row["name"])
            verdict = ""
            if goal is not None:
                met = row[goal[0]] >= goal[1]
                verdict = f"{goal[2]}: {'met' if met else 'not met'}"
            add(
                f"| {row['label']} | {_rate(row['events_per_s'])} | {row['us_per_event']:.1f} | "
                f"{_ratio(row['vs_baseline'])} | {_ratio(row['vs_jsonl_baseline'])} | "
                f"{_mb(row['peak_bytes'])} | {verdict} |"
            )
        add("")
        agree = "agree" if head["outputs_agree"] else "DO NOT agree"
        add(f"The engine's paths {agree} on the violations' ids.")
        add(f"Durable backend: {head['durable']}.")
        add("")
    _render_goals(results, add)
    top = results.get("ceiling")
    if top:
        spent = top["us_per_event"]
        add("## The ceiling")
        add("")
        add(
            f"Parts of the work measured alone on the first {top['events']:,} events (best of "
            "interleaved repeats): what any engine on this contract must do before its rules, "
            "and the hand-written rules themselves (the baseline less its loop). The ceiling is "
            "the ratio an engine would reach if its rules cost exactly what the hand-written "
            "ones do and it kept no state of its own (no duplicate store, watermark, routing)."
        )
        add("")
        add("| part | µs/event |")
        add("|---|---:|")
        labels = {
            "baseline": "hand-written baseline, all rules",
            "engine": "`Engine.process`, default pack",
            "dispatch": "hand-written loop with no rule (time parsed, dispatched)",
            "validated": "`EventCatalog.validate` + the time in µs",
            "kept": "the same + the duplicate store and the watermark, inline",
            "loads": "`json.loads` of the line",
            "validated-json": "`EventCatalog.validate_json` + the time in µs",
            "kept-json": "the same + the duplicate store and the watermark, inline",
        }
        for name, label in labels.items():
            add(f"| {label} | {spent[name]:.2f} |")
        add(f"| the hand-written rules alone | {top['hand_written_rules_us']:.2f} |")
        add("")
        add(
            f"Ceiling from dicts: **{top['dicts']:.2f}x** the baseline (goal 0.5x); from JSON "
            f"lines: **{top['json_lines']:.2f}x** `json.loads` + the baseline (goal 1x). With "
            "the least the core contract keeps (the duplicate store and the watermark; no "
            f"routing, ids or eviction): **{top['dicts_kept']:.2f}x** from dicts, "
            f"**{top['json_lines_kept']:.2f}x** from JSON lines. This engine on these events: "
            f"{top['engine']:.2f}x; it spends {top['engine_beyond_us']:.2f} µs per event beyond "
            "validation and the hand-written rules' cost, where the dicts goal leaves "
            f"{top['goal_leaves_us']:.2f} µs."
        )
        add("")
    kinds = results.get("kinds")
    if kinds:
        add("## Each rule kind alone")
        add("")
        add(
            f"The engine on the first {kinds[0]['events']:,} events of the stream with a child "
            "pack that disables every rule of the other kinds (best of interleaved repeats). "
            "'µs over none' is the cost of the kind's rules above validation and bookkeeping."
        )
        add("")
        lines.extend(
            _header(
                "rules",
                "count",
                "events/s",
                "µs/event",
                "µs over none",
                "vs hand-written (all rules)",
                "violations",
            )
        )
        for row in kinds:
            add(
                f"| {row['kind']} | {row['rules']} | {_rate(row['events_per_s'])} | "
                f"{row['us_per_event']:.1f} | {row['us_over_none']:.1f} | "
                f"{_ratio(row['vs_baseline'])} | {row['violations']} |"
            )
        add("")
    load = results.get("load")
    if load:
        add("## Pack load and compile")
        add("")
        add("| step | cold (fresh interpreter, median of 3) | warm (median) |")
        add("|---|---:|---:|")
        add(f"| `import commitrules` | {load['cold_import_s'] * 1000:.0f} ms | - |")
        add(
            f"| `load_pack()` (read, validate, compile the default pack) | "
            f"{load['cold_load_pack_s'] * 1000:.0f} ms | {load['warm_load_pack_s'] * 1000:.0f} ms |"
        )
        add(
            f"| `Engine(pack)` | {load['cold_engine_s'] * 1000:.1f} ms | "
            f"{load['warm_engine_s'] * 1000:.1f} ms |"
        )
        add("")
    counts = results.get("rules")
    if counts:
        add("## Scaling with the number of rules")
        add("")
        add(
            f"Child packs with the default rules disabled and N generated check rules that "
            f"never fire, on the first {counts['events']:,} events ({counts['sales']:,} sales); "
            "best of interleaved repeats. Only rules that can apply to an event's type should "
            "cost anything for it."
        )
        add("")
        lines.extend(
            _header(
                "rules",
                "events/s",
                "µs/event",
                "µs over no rules",
                "ns per rule per sale",
                "load_pack",
                "Engine()",
            )
        )
        for row in counts["rows"]:
            per = row["ns_per_rule_per_matching_event"]
            add(
                f"| {row['rules']} | {_rate(row['events_per_s'])} | {row['us_per_event']:.1f} | "
                f"{row['us_over_no_rules']:.1f} | {'-' if per is None else f'{per:.0f}'} | "
                f"{row['load_pack_s']:.2f} s | {row['engine_s'] * 1000:.0f} ms |"
            )
        add("")
    keys = results.get("keys")
    if keys:
        add("## Scaling with live keys")
        add("")
        add(
            "Streams with more customers (the same mix; at most the given number of events, "
            "so the million-customer stream is short). Best of two timed runs; one traced run each."
        )
        add("")
        lines.extend(
            _header(
                "customers",
                "days",
                "events",
                "customers seen",
                "engine events/s",
                "hand-written events/s",
                "vs hand-written",
                "engine peak MB",
                "hand-written peak MB",
                "engine bytes/event",
            )
        )
        for row in keys:
            add(
                f"| {row['customers']:,} | {row['days']} | {row['events']:,} | "
                f"{row['distinct_customers_in_events']:,} | {_rate(row['events_per_s'])} | "
                f"{_rate(row['baseline_events_per_s'])} | {_ratio(row['vs_baseline'])} | "
                f"{_mb(row['engine_peak_bytes'])} | {_mb(row['baseline_peak_bytes'])} | "
                f"{row['engine_bytes_per_event']:,.0f} |"
            )
        add("")
    flat = results.get("endless")
    if flat:
        add("## Memory on an endless stream")
        add("")
        add(
            f"`Engine.process` over {flat['events']:,} events ({flat['days']} days from "
            f"{flat['start'][:10]}, {flat['customers']:,} customers) read from JSON Lines, in "
            f"chunks of {flat['chunk']:,}; after each chunk, a full collection and "
            f"tracemalloc's current size (what the engine holds). Growth over the second half: "
            f"{_percent(flat['second_half_growth'])}; last sample / first: "
            f"{_ratio(flat['last_over_first'])}."
        )
        add("")
        add("| events | event time | current MB | peak MB in chunk | allocated blocks |")
        add("|---:|---|---:|---:|---:|")
        for sample in flat["samples"]:
            add(
                f"| {sample['events']:,} | {sample['event_time'][:16]} | "
                f"{_mb(sample['current_bytes'])} | {_mb(sample['peak_bytes_in_chunk'])} | "
                f"{sample['allocated_blocks']:,} |"
            )
        add("")
    return "\n".join(lines)


def _render_goals(results: Mapping[str, Any], add: Callable[[str], None]) -> None:
    """The goals of issue 28, one row each, from this run's sections."""
    rows: list[tuple[str, str, str, str]] = []
    head = {row["name"]: row for row in results.get("headline", {}).get("rows", [])}
    if "process" in head:
        ratio = head["process"]["vs_baseline"]
        rows.append(
            (
                "default pack from dicts (`Engine.process`)",
                f"{_ratio(ratio)} the hand-written evaluation",
                ">= 0.5x",
                "met" if ratio >= 0.5 else "not met",
            )
        )
    for name in ("fast_path", "check_files"):
        if name in head:
            ratio = head[name]["vs_jsonl_baseline"]
            rows.append(
                (
                    f"default pack from JSON Lines ({head[name]['label'].split(',')[0]})",
                    f"{_ratio(ratio)} `json.loads` + hand-written",
                    ">= 1x",
                    "met" if ratio >= 1 else "not met",
                )
            )
    over = results.get("overhead")
    if over:
        us = over["us_per_event"]
        beyond = over["engine_own_beyond_loop_us"]
        rows.append(
            (
                "engine overhead, empty pack, beyond validation, digests and a dict-lookup loop",
                f"{beyond:.2f} µs/event (engine {us['engine, empty pack']:.2f}, validation "
                f"{us['validation']:.2f}, digests {us['digests']:.2f}, loop "
                f"{us['dict-lookup loop']:.2f})",
                "<= 1 µs",
                "met" if beyond <= 1 else "not met",
            )
        )
        free = over.get("free_store_beyond_loop_us")
        if free is not None:
            rows.append(
                (
                    "the same with a duplicate store that costs nothing (the most a compiled "
                    "store could buy)",
                    f"{free:.2f} µs/event (engine "
                    f"{us['engine, empty pack, a free duplicate store']:.2f})",
                    "<= 1 µs",
                    "reachable" if free <= 1 else "out of reach",
                )
            )
    for row in results.get("store") or []:
        worst = max(row["bytes_per_id"], row["traced_bytes_per_id"])
        rows.append(
            (
                f"duplicate store after {row['events']:,} events ({row['ids_held']:,} ids held)",
                f"{row['bytes_per_id']:.1f} B/id (tracemalloc {row['traced_bytes_per_id']:.1f}); "
                f"peak RSS of the run {row['peak_rss_bytes'] / MB:,.0f} MB",
                "<= 64 B/id",
                "met" if worst <= 64 else "not met",
            )
        )
    extra = results.get("inapplicable")
    if extra:
        sale = extra["sale_us"]
        rows.append(
            (
                f"a sale event with 1,000 rules on the {extra['types_with_extra_rules']} other "
                "types the stream sends",
                f"{sale['extra']:.2f} µs against {sale['default']:.2f} µs: "
                f"{(extra['sale_ratio'] - 1) * 100:+.1f} %",
                "within 10%",
                "met" if extra["sale_ratio"] <= 1.10 else "not met",
            )
        )
    if not rows:
        return
    add("## Goals (issue 28)")
    add("")
    add(
        "Each ratio is between paths measured in this run on the same events (best of "
        "interleaved repeats); the store's rows are runs of their own (a child process each, "
        "events streamed from the generator at the default stream's density)."
    )
    add("")
    lines = _header("goal", "measured", "target", "")
    for line in lines:
        add(line)
    for goal, measured, target, verdict in rows:
        add(f"| {goal} | {measured} | {target} | {verdict} |")
    add("")
    lead = lead_rows()
    if lead:
        add(
            f"From `benchmarks/operations.py` ({lead['events']:,} events across the year end, "
            "its own run, `operations-results.md`): provisional marking "
            f"+{lead['provisional']['us_per_event']:.2f} µs per event "
            f"({lead['provisional']['ratio']:.3f}x), atomic calls "
            f"+{lead['atomicity']['us_per_event']:.2f} µs per event "
            f"({lead['atomicity']['ratio']:.3f}x against the journal switched off)."
        )
        add("")


def _header(*columns: str) -> list[str]:
    """A Markdown table header: the first column left-aligned, the others right-aligned."""
    align = ["---"] + ["---:"] * (len(columns) - 1)
    return ["| " + " | ".join(columns) + " |", "|" + "|".join(align) + "|"]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


# -- the command ------------------------------------------------------------------------------
SECTIONS = (
    "headline",
    "overhead",
    "inapplicable",
    "store",
    "ceiling",
    "kinds",
    "load",
    "rules",
    "keys",
    "endless",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; write results.md and results.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~20,000 events, smaller sections")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS)} (results files are still written)",
    )
    parser.add_argument(
        "--allow-mismatch",
        action="store_true",
        help="go on measuring when the baseline and the engine disagree",
    )
    parser.add_argument("--out", default=str(HERE), help="folder for results.md and results.json")
    parser.add_argument(
        "--endless-customers",
        type=int,
        help="customers of the endless stream (default 13,000, or 2,600 with --quick; "
        "26,000 makes it ten times the headline stream, ~1,000,000 events)",
    )
    parser.add_argument("--store-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.store_child:  # one run of the store section, in a process of its own
        print(json.dumps(store_child(args.store_child)))
        return 0
    profile = QUICK if args.quick else FULL
    if args.endless_customers:
        profile = dataclasses.replace(profile, endless_customers=args.endless_customers)
    wanted = {s.strip() for s in args.sections.split(",") if s.strip()}
    unknown = wanted - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    began = time.perf_counter()
    command = "python benchmarks/run.py" + (" --quick" if args.quick else "")
    results: dict[str, Any] = {
        "command": command,
        "profile": profile.name,
        "profile_repeats": profile.repeats,
    }
    results["machine"] = machine_facts()
    _log(f"benchmark ({profile.name}) on {results['machine'].get('cpu', '?')}")
    pack = commitrules.load_pack()
    events, generation = _generate(profile)
    until = profile.start + dt.timedelta(days=profile.days)
    first_year = dt.datetime.fromisoformat(events[0]["at"]).year
    ref = baseline.Reference.from_pack(pack, years=range(first_year - 1, first_year + 1))
    with tempfile.TemporaryDirectory(prefix="commitrules-bench-") as temp:
        root = Path(temp)
        path = root / "events.jsonl"
        _write_jsonl(events, path)
        results["stream"] = {
            "seed": profile.seed,
            "start": profile.start.isoformat(),
            "days": profile.days,
            "customers": profile.customers,
            "violation_rate": profile.violation_rate,
            "events": len(events),
            "types": dict(Counter(e["type"] for e in events).most_common()),
            "generation_s": generation,
            "jsonl_bytes": path.stat().st_size,
            "until": until.isoformat(),
        }
        _log(f"stream: {len(events):,} events in {generation:.1f} s; checking the baseline")
        check = correctness(pack, ref, events, until)
        results["correctness"] = check
        if not check["same"]:
            _log("THE BASELINE AND THE ENGINE DISAGREE on the benchmark stream:")
            _log(check["differences"])
            if not args.allow_mismatch:
                _write(results, began, Path(args.out))
                return 1
        else:
            _log(f"  same {check['engine']} findings")
        key_ref = baseline.Reference.from_pack(pack, years=range(2025, 2027))
        sections: list[tuple[str, str, Callable[[], Any]]] = [
            ("headline", "headline", lambda: headline(profile, pack, ref, events, path, until)),
            (
                "overhead",
                "engine overhead with an empty pack",
                lambda: overhead(profile, pack, events, root),
            ),
            (
                "inapplicable",
                "1,000 rules on other types",
                lambda: inapplicable(profile, pack, events, until, root),
            ),
            ("store", "duplicate store at scale", lambda: store_memory(profile)),
            (
                "ceiling",
                "ceiling (parts alone)",
                lambda: ceiling(profile, pack, ref, events, until),
            ),
            (
                "kinds",
                "rule kinds alone",
                lambda: rule_kinds(profile, pack, ref, events, until, root),
            ),
            ("load", "load and compile", lambda: load_times(profile)),
            ("rules", "number of rules", lambda: rule_counts(profile, pack, events, until, root)),
            ("keys", "live keys", lambda: live_keys(profile, pack, key_ref)),
            ("endless", "endless stream", lambda: endless(profile, pack, root)),
        ]
        timings = results["section_s"] = {}
        for name, title, run in sections:
            if name not in wanted:
                continue
            _log(title)
            spent, results[name] = _seconds(run)
            timings[name] = round(spent, 1)
    _write(results, began, Path(args.out))
    return 0


def _write(results: dict[str, Any], began: float, out: Path) -> None:
    results["elapsed_s"] = time.perf_counter() - began
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    (out / "results.md").write_text(render(results) + "\n", encoding="utf-8")
    _log(f"wrote {out / 'results.md'} and results.json in {results['elapsed_s']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
