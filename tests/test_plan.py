"""The stage plan (commitrules.plan): its stages, and its runner equal to the single engine.

The differential tests feed the single engine a stream in stream-position order (with
duplicates, conflicting repeats, late events and ties in event time) and compare what it
releases with what the in-process runner gives in 1, 2 and 7 partitions: the same
violations in the same order, ids included, the same outcomes, rejects and counts.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import commitrules
from commitrules import Engine
from commitrules.errors import CommitRulesError, EngineConfigError, PackError
from commitrules.plan import Plan, StreamPosition, bucket_of, plan_for, run_plan
from commitrules.testing import strategies

ROOT = Path(__file__).resolve().parent.parent
PACK = commitrules.load_pack()
FIELD = commitrules.load_pack(ROOT / "tests" / "packs" / "field-service")
FIELD_TYPES = ("job_opened", "job_visited", "job_closed", "inspection_done", "feedback")
PARTITIONS = (1, 2, 7)
#: (partitions, micro-batches, state kept per key): the first three at once; then two
#: partitions in four micro-batches (each partition's state saved and resumed through
#: JSON between them); then seven partitions in three micro-batches, the state kept per
#: key and only the keys each micro-batch needs loaded.
RUNS = ((1, 1, False), (2, 1, False), (7, 1, False), (2, 4, False), (7, 3, True))


def single(
    pack: commitrules.Pack, arrival: list[Any], until: dt.datetime | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any, list[tuple[int, str]]]:
    """What the single engine gives for events in arrival (stream-position) order."""
    outcomes: list[commitrules.Outcome] = []
    engine = Engine(pack, outcomes=outcomes.append)
    found: list[commitrules.Violation] = []
    rejects = []
    for position, event in enumerate(arrival):
        try:
            found += engine.process(event)
        except CommitRulesError as error:
            rejects.append((position, type(error).__name__))
    if until is not None:
        found += engine.advance_to(until)
    return (
        [v.to_dict() for v in found],
        [o.to_dict() for o in outcomes],
        engine.stats,
        rejects,
    )


def assert_plan_equals_engine(
    pack: commitrules.Pack,
    arrival: list[Any],
    until: dt.datetime | None,
    runs: tuple[tuple[int, int, bool], ...] = RUNS,
) -> list[dict[str, Any]]:
    """Every run gives the single engine's results; its violations (as dicts)."""
    violations, outcomes, stats, rejects = single(pack, arrival, until)
    for run in runs:
        partitions, batches, keyed_state = run
        result = run_plan(
            pack,
            arrival,
            partitions=partitions,
            until=until,
            outcomes=True,
            batches=batches,
            keyed_state=keyed_state,
        )
        assert [v.to_dict() for v in result.violations] == violations, run
        assert [o.to_dict() for o in result.outcomes] == outcomes, run
        assert [(r.position, type(r.error).__name__) for r in result.rejects] == rejects
        assert result.stats == stats
    return violations


@st.composite
def arrivals(draw: st.DrawFn, pack: commitrules.Pack, types: Any = None) -> list[Any]:
    """A stream in arrival order: some events arrive late, twice, or again changed."""
    stream = draw(
        strategies.streams(pack.catalog, types=types, max_size=30, max_gap=dt.timedelta(hours=3))
    )
    arrival = list(stream)
    for _ in range(draw(st.integers(0, 4))):
        if not arrival:
            break
        index = draw(st.integers(0, len(arrival) - 1))
        event = dict(arrival[index])
        action = draw(st.sampled_from(["late", "repeat", "conflict"]))
        if action == "late":  # arrives after later events (late, or within the lateness)
            arrival.pop(index)
            arrival.insert(draw(st.integers(index, len(arrival))), event)
        elif action == "repeat":  # at-least-once delivery: the same event again, later
            arrival.insert(draw(st.integers(index + 1, len(arrival))), event)
        else:  # the same id with another payload
            changed = dict(
                event,
                at=commitrules.eventtime.from_us(
                    commitrules.eventtime.to_us(dt.datetime.fromisoformat(event["at"]))
                    + 60_000_000,
                    dt.UTC,
                ).isoformat(),
            )
            arrival.insert(draw(st.integers(index + 1, len(arrival))), changed)
    return arrival


def test_the_runs_cover_one_two_and_seven_partitions() -> None:
    assert {partitions for partitions, _, _ in RUNS} == set(PARTITIONS)
    assert any(batches > 1 and not keyed for _, batches, keyed in RUNS)
    assert any(batches > 1 and keyed for _, batches, keyed in RUNS)


ENDS = st.sampled_from([None, dt.datetime(2026, 7, 20, tzinfo=dt.UTC)])
#: Each example runs the engine and five plans: fewer examples than the default profile's
#: (the thorough profile keeps its own).
FEWER = settings(max_examples=25 if settings().max_examples <= 40 else settings().max_examples)


@FEWER
@given(arrivals(PACK), ENDS)
def test_the_plan_gives_the_engines_results_on_the_default_pack(
    arrival: list[Any], until: dt.datetime | None
) -> None:
    assert_plan_equals_engine(PACK, arrival, until)


@FEWER
@given(arrivals(FIELD, FIELD_TYPES), ENDS)
def test_the_plan_gives_the_engines_results_on_a_pack_of_another_shape(
    arrival: list[Any], until: dt.datetime | None
) -> None:
    assert_plan_equals_engine(FIELD, arrival, until)


def _streams_module() -> Any:
    name = "commitrules_benchmark_streams"
    if name not in sys.modules:
        import importlib.util

        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "streams.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def shuffled(events: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """The stream as a broker might deliver it: some events late, twice or changed."""
    import random

    rng = random.Random(seed)
    arrival = list(events)
    for index in range(len(events) - 1, -1, -1):
        draw = rng.random()
        if draw < 0.01:
            arrival.insert(min(len(arrival), index + rng.randint(1, 40)), dict(events[index]))
        elif draw < 0.015:
            moment = dt.datetime.fromisoformat(events[index]["at"]) + dt.timedelta(seconds=1)
            changed = dict(events[index], at=moment.isoformat())
            arrival.insert(min(len(arrival), index + rng.randint(1, 40)), changed)
        elif draw < 0.025:
            event = arrival.pop(index)
            arrival.insert(min(len(arrival), index + rng.randint(1, 5)), event)
    return arrival


def _rejects(arrival: list[dict[str, Any]]) -> list[tuple[int, CommitRulesError]]:
    return [(r.position, r.error) for r in run_plan(PACK, arrival).rejects]


def test_the_plan_gives_the_engines_results_on_a_benchmark_stream() -> None:
    streams = _streams_module()
    cst = dt.timezone(dt.timedelta(hours=8))
    events = list(
        streams.generate(
            seed=11,
            start=dt.datetime(2026, 7, 1, tzinfo=cst),
            days=30,
            customers=300,
            violation_rate=0.03,
        )
    )
    arrival = shuffled(events, 3)
    found = assert_plan_equals_engine(PACK, arrival, dt.datetime(2026, 8, 15, tzinfo=cst))
    assert len(found) > 40  # breaches of every kind, warnings and repeat escalations among them
    rejected = {type(error).__name__ for _, error in _rejects(arrival)}
    assert rejected == {"LateEventError", "EventConflictError"}


def field_stream(seed: int, jobs: int) -> list[dict[str, Any]]:
    """A field-service stream (Python's seeded random: the same on every version): jobs
    opened, visited late or not, closed or not, inspections, feedback, ties in time."""
    import random

    rng = random.Random(seed)
    start = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    engineers = [f"E{n}" for n in range(1, 6)]
    sites = [f"S{n}" for n in range(1, 5)]
    events: list[dict[str, Any]] = []
    for n in range(jobs):
        at = start + dt.timedelta(minutes=rng.randrange(0, 14 * 24 * 60, 20))
        job, engineer, site = f"J{n}", rng.choice(engineers), rng.choice(sites)
        region = rng.choice(["north", "south"])
        events.append(
            {
                "id": f"o{n}",
                "type": "job_opened",
                "at": at,
                "job_id": job,
                "site_id": site,
                "engineer_id": engineer,
                "region": region,
                "priority": rng.randint(1, 5),
            }
        )
        if rng.random() < 0.8:
            visit = at + dt.timedelta(hours=rng.choice([1, 2, 3, 5, 7]))
            events.append(
                {
                    "id": f"v{n}",
                    "type": "job_visited",
                    "at": visit,
                    "job_id": job,
                    "engineer_id": engineer,
                    "region": region,
                }
            )
            if rng.random() < 0.7:
                closed = visit + dt.timedelta(hours=rng.choice([1, 30, 60]))
                events.append({"id": f"c{n}", "type": "job_closed", "at": closed, "job_id": job})
        if rng.random() < 0.3:
            events.append(
                {
                    "id": f"i{n}",
                    "type": "inspection_done",
                    "at": at - dt.timedelta(hours=rng.randint(1, 100)),
                    "engineer_id": engineer,
                    "passed": rng.random() < 0.7,
                }
            )
        if rng.random() < 0.5:
            events.append(
                {
                    "id": f"f{n}",
                    "type": "feedback",
                    "at": at + dt.timedelta(hours=rng.randint(2, 4)),
                    "site_id": site,
                    "score": rng.choice([0, 1, 3, 3, 5, 8, 9, 10]),
                }
            )
    events.sort(key=lambda event: (event["at"], event["id"]))
    return [dict(event, at=event["at"].isoformat()) for event in events]


def test_the_plan_gives_the_engines_results_on_a_field_service_stream() -> None:
    arrival = shuffled(field_stream(1, 160), 2)
    until = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    found = assert_plan_equals_engine(FIELD, arrival, until)
    # Every rule of the pack found something: deadlines and their escalations, checks,
    # precedence, thresholds over events and over findings, both periodic kinds; and
    # both escalations of the routing (by severity, and by repeats in a region).
    assert {v["rule_id"] for v in found} == {rule.id for rule in FIELD.rules}
    assert {"escalation", "insufficient_sample"} <= {v["kind"] for v in found}
    assert ["dispatch", "regional-manager"] in [v["route"] for v in found]
    assert ["dispatch", "supervisor"] in [v["route"] for v in found]


def _case_streams() -> list[tuple[commitrules.Pack, list[dict[str, Any]], Any, str]]:
    """The default pack's own test cases as streams (each with its profile, parameters
    and end), but those that move the clock between events."""
    from commitrules.testing.cases import PackCache, _events, load_case_file

    root = ROOT / "rulesets" / "customer-commitments"
    cache = PackCache()
    streams = []
    for path in sorted((root / "tests").glob("*.yaml")):
        case_file = load_case_file(path)
        for index, case in enumerate(case_file.cases):
            events = _events(case_file, case, index)
            if any("advance_to" in event for event in events):
                continue
            pack = cache.get(root, case.profile, case.parameters)
            streams.append((pack, events, case.until, f"{path.name}: {case.name}"))
    return streams


def _merged(
    streams: list[tuple[commitrules.Pack, list[dict[str, Any]], Any, str]],
) -> list[tuple[commitrules.Pack, list[dict[str, Any]], Any, str]]:
    """The cases of one pack (profile, parameters) and end as one stream: their events in
    event-time order (ids made unique per case; an event without a readable time stays
    after the one before it). Cases naming the same entities now meet: another stream,
    as good for the comparison."""
    groups: dict[tuple[int, Any], list[tuple[Any, int, dict[str, Any]]]] = {}
    packs: dict[int, commitrules.Pack] = {}
    for number, (pack, events, until, _) in enumerate(streams):
        packs[id(pack)] = pack
        group = groups.setdefault((id(pack), until), [])
        moment = dt.datetime.min.replace(tzinfo=dt.UTC)
        for event in events:
            try:
                moment = dt.datetime.fromisoformat(str(event["at"]))
                moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
            except (KeyError, ValueError):
                pass
            renamed = dict(event, id=f"{number}-{event.get('id')}")
            group.append((moment, len(group), renamed))
    return [
        (packs[pack_id], [event for *_, event in sorted(items)], until, f"{len(items)} events")
        for (pack_id, until), items in groups.items()
    ]


def test_the_plan_gives_the_engines_results_on_the_default_packs_cases() -> None:
    # The cases merged into one stream per pack and end, in every run (every case in
    # every run on its own: the slow test below).
    streams = _merged(_case_streams())
    assert len(streams) < 40
    found = set()
    for pack, events, until, name in streams:
        try:
            violations = assert_plan_equals_engine(pack, events, until)
        except AssertionError as error:
            raise AssertionError(name) from error
        found.update(v["rule_id"] for v in violations)
    # Nine rules in ten found something (cases that meet on one customer or case hide a
    # few findings from each other; on its own every case finds what it expects).
    assert len(found) >= 0.9 * len(PACK.rules)


@pytest.mark.slow
def test_the_plan_gives_the_engines_results_on_every_case_in_every_run(
    request: pytest.FixtureRequest,
) -> None:
    """The default pack's cases in every run (``pytest -m slow``; about a minute)."""
    if "slow" not in str(request.config.getoption("-m") or ""):
        pytest.skip("a long differential run: pytest -m slow tests/test_plan.py")
    for pack, events, until, name in _case_streams():
        try:
            assert_plan_equals_engine(pack, events, until)
        except AssertionError as error:
            raise AssertionError(name) from error


@pytest.mark.slow
def test_the_plan_gives_the_engines_results_on_a_long_benchmark_stream(
    request: pytest.FixtureRequest,
) -> None:
    """120 days, 2,000 customers (``pytest -m slow tests/test_plan.py``; about a minute)."""
    if "slow" not in str(request.config.getoption("-m") or ""):
        pytest.skip("a long differential run: pytest -m slow tests/test_plan.py")
    streams = _streams_module()
    cst = dt.timezone(dt.timedelta(hours=8))
    events = list(
        streams.generate(
            seed=5,
            start=dt.datetime(2026, 7, 1, tzinfo=cst),
            days=120,
            customers=2000,
            violation_rate=0.005,
        )
    )
    assert_plan_equals_engine(PACK, shuffled(events, 9), dt.datetime(2026, 12, 1, tzinfo=cst))


# -- the plan's shape ----------------------------------------------------------------------
def test_every_rule_runs_in_exactly_one_stage() -> None:
    # The engine's calendar alarm too, where the pack counts working days (it goes with
    # the periods, judged in one partition).
    for pack, alarm in ((PACK, ["engine.calendar-horizon"]), (FIELD, [])):
        plan = plan_for(pack)
        placed = [rule for stage in plan.stages for rule in stage.rules]
        assert sorted(placed) == sorted([rule.id for rule in pack.rules] + alarm)


def test_the_default_pack_is_keyed_by_the_entities_its_rules_keep_state_by() -> None:
    plan = plan_for(PACK)
    keyed = {stage.name: stage.key for stage in plan.of_kind("keyed")}
    assert keyed == {
        name: (name,)
        for name in (
            "branch_id",
            "case_id",
            "customer_id",
            "incident_id",
            "material_id",
            "record_id",
            "request_id",
            "staff_id",
            "transfer_id",
        )
    }
    assert plan.stages[0].kind == "admission"
    assert plan.stage("findings:staff_id").rules == ("W1.frequent-violations.staff",)
    assert plan.stage("route:repeat-staff").key == ("staff_id",)
    assert plan.stage_of("M4.risk-rate.monthly").name == "periods"


def test_a_pack_of_another_shape_gets_its_own_keys() -> None:
    plan = plan_for(FIELD)
    assert [stage.name for stage in plan.stages] == [
        "admission",
        "engineer_id",
        "id",
        "job_id",
        "site_id",
        "periods",
        "global",
        "findings:engineer_id",
        "findings:region",
        "route:repeat-region",
        "release",
    ]
    assert plan.stage_of("W1.low-feedback").key == ()  # no group: one partition
    assert plan.stage("job_id").key_by_type["job_closed"] == ("job_id",)


def test_the_plan_prints_as_a_table_and_as_json() -> None:
    plan = plan_for(PACK)
    text = str(plan)
    assert text.splitlines()[0] == f"Stage plan of customer-commitments {PACK.version} (profile cn)"
    assert "3. case_id [keyed] key: case_id" in text
    data = json.loads(plan.to_json())
    assert data["format"] == "commitrules.plan"
    assert [stage["name"] for stage in data["stages"]] == [s.name for s in plan.stages]
    assert data["pack"]["digest"] == PACK.digest
    with pytest.raises(KeyError, match="no stage 'nothing'"):
        plan.stage("nothing")


def test_a_subset_keeps_the_packs_identity_and_ids() -> None:
    part = PACK.subset(["C1.marketing.banned-promise"])
    assert part.ref == PACK.ref
    assert part.rule_fingerprints() == PACK.rule_fingerprints()
    event = {
        "id": "m1",
        "type": "marketing_published",
        "at": "2026-07-01T09:00:00+08:00",
        "material_id": "M-1",
        "channel": "wechat",
        "approved": True,
        "text": "保本保收益",
    }
    whole = Engine(PACK).process(event)
    alone = Engine(part).process(event)
    assert [v.to_dict() for v in alone] == [
        v.to_dict() for v in whole if v.rule_id == "C1.marketing.banned-promise"
    ]
    with pytest.raises(PackError, match=r"no rule 'C9\.nothing'"):
        PACK.subset(["C9.nothing"])


def test_an_engine_given_a_start_judges_the_periods_from_there() -> None:
    cst = dt.timezone(dt.timedelta(hours=8))
    part = PACK.subset(["M4.training.quarterly"])
    late_starter = Engine(part, start=dt.datetime(2026, 4, 1, tzinfo=cst))
    found = late_starter.advance_to(dt.datetime(2026, 7, 2, tzinfo=cst))
    assert {v.subject["period"] for v in found} == {"2026Q2"}
    assert Engine(part).advance_to(dt.datetime(2026, 7, 2, tzinfo=cst)) == []
    with pytest.raises(EngineConfigError, match="start must be an aware datetime"):
        Engine(part, start=dt.datetime(2026, 4, 1))  # noqa: DTZ001 - naive on purpose


def test_the_partition_hash_is_stable_across_processes() -> None:
    # Pinned values: Python's salted hash() would change them from run to run.
    assert [bucket_of(value, 7) for value in ("C1", "K-20260701-0001", 42, None)] == [0, 5, 1, 5]
    assert {bucket_of(f"C{n}", 7) for n in range(200)} == set(range(7))


def test_the_runner_refuses_nonsense_partitions() -> None:
    with pytest.raises(EngineConfigError, match="partitions must be a whole number"):
        run_plan(PACK, [], partitions=0)


def test_stream_positions_order_by_source_partition_offset() -> None:
    positions = [StreamPosition("b", 0, 1), StreamPosition("a", 1, 0), StreamPosition("a", 0, 9)]
    assert sorted(positions) == [positions[2], positions[1], positions[0]]


def test_an_empty_stream_gives_nothing() -> None:
    result = run_plan(PACK, [], partitions=2, until=dt.datetime(2026, 8, 1, tzinfo=dt.UTC))
    assert result.violations == ()
    assert isinstance(result.plan, Plan)


def test_the_docs_print_the_default_packs_plan_as_it_is() -> None:
    page = (ROOT / "docs" / "stage-plan.md").read_text(encoding="utf-8")
    block = page.split("<!-- plan:begin", 1)[1].split("<!-- plan:end -->", 1)[0]
    printed = block.split("```text\n", 1)[1].rsplit("\n```", 1)[0]
    assert printed == str(plan_for(PACK)), "docs/stage-plan.md: paste `commitrules plan`"


def test_the_cli_prints_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    from commitrules.cli import main

    assert main(["plan", "--pack", str(ROOT / "tests" / "packs" / "field-service")]) == 0
    assert "4. job_id [keyed] key: job_id" in capsys.readouterr().out
    assert main(["plan", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["stages"][0]["name"] == "admission"
    assert main(["plan", "--pack", "no-such-pack"]) == 2


def test_the_examples_in_the_plans_docstrings_run() -> None:
    import doctest

    from commitrules import plan
    from commitrules.engine import _stage
    from commitrules.pack import _load
    from commitrules.plan import _derive, _model, _order, _runner

    tried = 0
    for module in (plan, _stage, _load, _derive, _model, _order, _runner):
        failures, count = doctest.testmod(module)
        assert failures == 0, module.__name__
        tried += count
    assert tried >= 10


def test_keyed_ids_and_pseudonyms_are_the_engines_too() -> None:
    streams = _streams_module()
    cst = dt.timezone(dt.timedelta(hours=8))
    events = list(
        streams.generate(
            seed=2,
            start=dt.datetime(2026, 7, 1, tzinfo=cst),
            days=10,
            customers=60,
            violation_rate=0.05,
        )
    )
    options: dict[str, Any] = {
        "id_key": b"k" * 32,
        "evidence": "pseudonymize",
        "pseudonym_key": b"p" * 32,
    }
    engine = Engine(PACK, **options)
    expected = engine.process_many(events)
    result = run_plan(PACK, events, partitions=3, **options)
    assert [v.to_dict() for v in result.violations] == [v.to_dict() for v in expected]
    assert any(str(v.subject.get("customer_id", "")).startswith("anon-") for v in expected)


def test_a_stage_resumes_from_its_state_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    from commitrules.engine._stage import StageEngine, rule_order
    from commitrules.errors import SnapshotError

    streams = _streams_module()
    cst = dt.timezone(dt.timedelta(hours=8))
    events = list(
        streams.generate(
            seed=4,
            start=dt.datetime(2026, 7, 1, tzinfo=cst),
            days=6,
            customers=40,
            violation_rate=0.05,
        )
    )
    resumed: list[int] = []
    original = StageEngine.resume

    def counting(self: StageEngine, state: Any) -> None:
        resumed.append(len(state["timers"]))
        original(self, state)
        # Saved again at once, the state is the same (the snapshot and what is beside it).
        assert json.loads(json.dumps(self.stage_state())) == state

    monkeypatch.setattr(StageEngine, "resume", counting)
    arrival = shuffled(events, 1)
    until = dt.datetime(2026, 7, 20, tzinfo=cst)
    once = run_plan(PACK, arrival, partitions=3, until=until, outcomes=True)
    assert not resumed
    batched = run_plan(PACK, arrival, partitions=3, until=until, outcomes=True, batches=5)
    assert len(resumed) >= 4 * 3  # every keyed stage's partitions, between micro-batches
    assert any(resumed)  # with deadlines' timers pending
    assert batched.violations == once.violations
    assert batched.outcomes == once.outcomes
    monkeypatch.undo()
    engine = StageEngine(PACK.subset(["C4.completion.in-time"]), rule_index=rule_order(PACK))
    with pytest.raises(SnapshotError, match="not a stage state of version 1"):
        engine.resume({"format": "commitrules.snapshot", "version": 1})
    with pytest.raises(EngineConfigError, match="batches must be a whole number"):
        run_plan(PACK, [], batches=0)


def test_a_stage_keeps_no_ids_the_admission_decided_repeats() -> None:
    from commitrules.engine._stage import AdmissionEngine, StageEngine, rule_order

    admission = AdmissionEngine(PACK)
    engine = StageEngine(PACK.subset(["C4.completion.in-time"]), rule_index=rule_order(PACK))
    event = {
        "id": "s1",
        "type": "service_requested",
        "request_id": "R-1",
        "customer_id": "C-1",
        "branch_id": "B-1",
        "channel": "branch",
        "service": "account_change",
        "at": "2026-07-01T09:00:00+08:00",
    }
    admitted = admission.admit(event)
    assert admitted.event is not None
    engine.admitted(admitted.event, 0)
    assert len(admission._store) == 1  # the admission remembers the id ...
    assert engine.stage_state()["snapshot"]["seen"] == []  # ... a stage carries none
    assert admission.admit(event).duplicate  # the repeat is the admission's to drop


def test_a_stage_drops_spent_timer_notes_in_amortised_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Most timers wait in the per-rule queues, not on the heap: the notes of spent timers
    are dropped once their count doubles, not on every timer once the heap is short."""
    from commitrules.engine._stage import StageEngine, rule_order

    walks: list[int] = []
    original = StageEngine._forget_spent_timers

    def counting(self: StageEngine) -> None:
        walks.append(len(self._timer_occurrences))
        original(self)

    monkeypatch.setattr(StageEngine, "_forget_spent_timers", counting)
    engine = StageEngine(PACK.subset(["C4.completion.in-time"]), rule_index=rule_order(PACK))
    start = dt.datetime(2026, 7, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    requests = 20_000
    for number in range(requests):
        at = (start + dt.timedelta(seconds=number)).isoformat()
        engine.admitted(
            {
                "id": f"s{number}",
                "type": "service_requested",
                "request_id": f"R-{number}",
                "customer_id": f"C-{number % 500}",
                "branch_id": "B-1",
                "channel": "branch",
                "service": "account_change",
                "at": dt.datetime.fromisoformat(at),
            },
            number,
        )
        if number % 2:  # every other request completed at once: its deadline is spent
            engine.admitted(
                {
                    "id": f"c{number}",
                    "type": "service_completed",
                    "request_id": f"R-{number}",
                    "customer_id": f"C-{number % 500}",
                    "branch_id": "B-1",
                    "at": dt.datetime.fromisoformat(at),
                },
                requests + number,
            )
    pending = len(engine._timers.pending())
    assert pending >= requests // 2  # the open requests' deadlines all wait
    assert len(walks) <= 4  # was one walk per request past the first 4,100
    # … and the spent notes are still dropped: at most twice the pending, plus the slack.
    assert len(engine._timer_occurrences) <= 2 * pending + 4096 + 1


def _disclosed(number: int, customer: str, at: dt.datetime) -> dict[str, Any]:
    return {
        "id": f"D{number}",
        "type": "product_disclosed",
        "at": at.isoformat(),
        "customer_id": customer,
        "product_id": "WM-CASH01",
        "sections": ["product", "risk", "fees"],
        "template_id": "TPL-WM",
        "template_version": "3.2",
        "risk_level_stated": 1,
        "staff_id": "S0054",
        "branch_id": "BR-CD-JJ",
        "channel": "branch",
    }


def test_a_precedence_sweep_loads_the_keys_it_forgets_and_keeps_sweeping() -> None:
    """Per key, a daily sweep needs only the keys whose priors expire, and one more."""
    cst = dt.timezone(dt.timedelta(hours=8))
    start = dt.datetime(2026, 7, 1, 9, tzinfo=cst)
    events = [_disclosed(0, "C-GONE", start)]  # expires after 30 days, swept the next day
    # A disclosure a day for other customers: each micro-batch has a sweep due, and most
    # keys' priors outlive it (not loaded for it).
    events += [
        _disclosed(day, f"C-{day:03d}", start + dt.timedelta(days=day, minutes=day))
        for day in range(1, 45)
    ]
    sale = {
        "id": "S-GONE",
        "type": "sale",
        "at": (start + dt.timedelta(days=45)).isoformat(),
        "customer_id": "C-GONE",
        "product_id": "WM-CASH01",
        "product_risk": 1,
        "amount": "1000.00",
        "currency": "CNY",
        "staff_id": "S0054",
        "branch_id": "BR-CD-JJ",
        "channel": "branch",
        "recorded": True,
        "customer_age": 57,
        "product_category": "wealth_management",
        "extra_care": False,
        "recording_id": "REC-1",
    }
    found = assert_plan_equals_engine(
        PACK,
        [*events, sale],
        start + dt.timedelta(days=50),
        runs=((1, 9, True), (3, 6, True), (2, 1, False)),
    )
    missing = [
        v
        for v in found
        if v["rule_id"] == "C2.before-sale.complete-disclosure" and v["event_ids"] == ["S-GONE"]
    ]
    # The sweep forgot the prior: "missing" (an unswept prior would say when it expired).
    assert len(missing) == 1
    assert "prior_expired_at" not in missing[0]["evidence"]


def test_a_sweep_that_empties_the_loaded_keys_still_keeps_its_daily_rhythm() -> None:
    """The sweep's rhythm decides "missing" (swept) from "expired" (not yet swept): a
    micro-batch whose loaded keys all lose their priors must not stop the sweep while
    keys it did not load still hold priors."""
    cst = dt.timezone(dt.timedelta(hours=8))
    day0 = dt.datetime(2026, 7, 1, 9, tzinfo=cst)  # the sweeps run daily at 09:00

    def on(days: int, hour: int, minute: int) -> dt.datetime:
        return day0 + dt.timedelta(days=days, hours=hour - 9, minutes=minute)

    def sale(name: str, customer: str, at: dt.datetime) -> dict[str, Any]:
        return {
            "id": name,
            "type": "sale",
            "at": at.isoformat(),
            "customer_id": customer,
            "product_id": "WM-CASH01",
            "product_risk": 1,
            "amount": "1000.00",
            "currency": "CNY",
            "staff_id": "S0054",
            "branch_id": "BR-CD-JJ",
            "channel": "branch",
            "recorded": True,
            "customer_age": 57,
            "product_category": "wealth_management",
            "extra_care": False,
            "recording_id": f"REC-{name}",
        }

    arrival = [
        _disclosed(0, "C-GONE", day0),  # ends with day 30
        _disclosed(1, "C-KEEP", on(20, 9, 0)),  # ends with day 50
        sale("S-X", "C-X", on(32, 12, 0)),  # the day 31 sweep forgets C-GONE's prior
        _disclosed(2, "C-NEW", on(40, 9, 30)),  # a sweep chain begun here runs at 09:30
        sale("S-KEEP", "C-KEEP", on(51, 9, 15)),  # swept at 09:00: "missing"
    ]
    found = assert_plan_equals_engine(
        PACK, arrival, on(60, 0, 0), runs=((1, 5, True), (2, 5, True))
    )
    kept = [
        v
        for v in found
        if v["rule_id"] == "C2.before-sale.complete-disclosure" and v["event_ids"] == ["S-KEEP"]
    ]
    assert len(kept) == 1
    assert "prior_expired_at" not in kept[0]["evidence"]


def test_a_keyed_state_loads_for_a_sweep_only_the_keys_it_changes() -> None:
    from commitrules.plan import KeyedState

    def part(rule: str, *ends: int) -> dict[str, Any]:
        return {
            "rules": {rule: [[["k"], 0, end, "e", {}] for end in ends]},
            "fulfilled": {},
            "timers": [],
            "next_due_us": None,
            "expires": {rule: min(ends)} if rule.startswith("P") else {},
        }

    state = KeyedState(
        shared={},
        keys={
            '"a"': part("P1", 5, 50),  # a prior ends before 20: the sweep changes it
            '"b"': part("P1", 30),  # outlives the micro-batch
            '"c"': part("P1", 40),
            '"d"': part("T1", 99),  # a rule that is not a precedence: all of its keys
            '"e"': part("P2", 60),  # its rule's sweep is not due
        },
        rule_due={"P1": 10, "T1": 10, "P2": 100},
    )
    # "a" is forgotten in part; it keeps a prior to 50, so no other key of P1 is needed.
    assert state.needed([], 20) == {'"a"', '"d"'}
    state = attrs.evolve(
        state, keys={**state.keys, '"a"': part("P1", 5)}
    )  # now "a" loses all: the first key of P1 that outlives the micro-batch comes too
    assert state.needed([], 20) == {'"a"', '"b"', '"d"'}
    assert state.needed(['"e"'], 20) == {'"a"', '"b"', '"d"', '"e"'}
    assert state.needed([], None) == set(state.keys)


def test_a_keyed_stages_state_splits_by_key() -> None:
    from commitrules.errors import SnapshotError
    from commitrules.plan import (
        KEYED_FORMAT,
        AdmissionEngine,
        StageEngine,
        key_of,
        rule_order,
        split_state,
    )

    plan = plan_for(FIELD)
    admission = AdmissionEngine(FIELD)
    opened = [
        admission.admit(
            {
                "id": f"o{n}",
                "type": "job_opened",
                "at": f"2026-03-02T{8 + n:02d}:00:00+00:00",
                "job_id": f"J{n}",
                "site_id": site,
                "engineer_id": "E1",
                "region": "south",
                "priority": priority,
            }
        ).event
        for n, site, priority in ((1, "S1", 2), (2, "S2", 4), (3, "S2", 4))
    ]
    states = {}
    for name in ("job_id", "site_id"):
        stage = plan.stage(name)
        engine = StageEngine(FIELD.subset(stage.rules), rule_index=rule_order(FIELD))
        for position, event in enumerate(opened):
            assert event is not None
            engine.admitted(event, position)
        states[name] = split_state(json.loads(json.dumps(engine.stage_state())), stage.key_by_type)
    jobs, sites = states["job_id"], states["site_id"]
    # Deadlines: each job's entries and timers are its own; J3 is still held back for
    # lateness (30 minutes after the latest event), so a later micro-batch needs it.
    assert set(jobs.keys) == {key_of("J1"), key_of("J2")}
    assert jobs.keys[key_of("J1")]["format"] == KEYED_FORMAT
    assert sorted(jobs.keys[key_of("J1")]["rules"]) == ["J1.visit", "J2.close"]  # priority 2
    assert list(jobs.keys[key_of("J2")]["rules"]) == ["J1.visit"]
    visit_due = commitrules.eventtime.to_us(dt.datetime(2026, 3, 2, 13, tzinfo=dt.UTC))
    assert jobs.keys[key_of("J1")]["next_due_us"] == visit_due + 1  # 4 hours after 09:00
    assert jobs.held == {key_of("J3")}
    assert jobs.needed([], visit_due + 1) == {key_of("J1")}
    assert jobs.needed([], visit_due) == set()
    assert jobs.needed([key_of("J2")], None) == {key_of("J1"), key_of("J2")}
    # A threshold's sweep is one timer of the rule: when it is due, every site is needed.
    sweep = sites.rule_due["W1.site-surge"]
    assert all(part["next_due_us"] is None for part in sites.keys.values())
    assert sites.held == {key_of("S2")}  # o3, held back
    assert sites.needed([], sweep - 1) == {key_of("S2")}
    assert sites.needed([], sweep) == {key_of("S1"), key_of("S2")}
    # Joined, the parts are a stage state again.
    joined = jobs.join(jobs.keys)
    engine = StageEngine(FIELD.subset(plan.stage("job_id").rules), rule_index=rule_order(FIELD))
    engine.resume(joined)
    assert engine.stage_state()["next_due"] == "2026-03-02T13:00:00.000001+00:00"
    with pytest.raises(SnapshotError, match="not a stage state"):
        split_state({"format": "commitrules.snapshot"}, {})
