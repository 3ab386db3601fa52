"""Corrections: a provisional calendar year made official, applied to a running engine.

The fixture pack (tests/packs/provisional) counts working days into 2027, which it ships as
provisional. Restoring a snapshot into the same pack with a 2027 that differs (the official
notice) must give, once every correction is applied (withdrawn ids removed, re-released ones
added), exactly a fresh run's findings on the new calendar; the findings that did not move
differ only in ``provisional``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import commitrules
from commitrules import Engine, Violation

CST = dt.timezone(dt.timedelta(hours=8))
PACK = Path(__file__).parent / "packs" / "provisional"
END = dt.datetime(2027, 4, 30, tzinfo=CST)
START = dt.datetime(2026, 12, 14, 9, tzinfo=CST)
TEAMS = ("A", "B")
# Weekdays of January to March 2027 that the "official" notice may close, and weekend days it
# may make working days (the provisional year has neither).
WEEKDAYS_2027 = [
    dt.date(2027, 1, 1) + dt.timedelta(days=n)
    for n in range(90)
    if (dt.date(2027, 1, 1) + dt.timedelta(days=n)).weekday() < 5
]
WEEKENDS_2027 = [
    dt.date(2027, 1, 1) + dt.timedelta(days=n)
    for n in range(90)
    if (dt.date(2027, 1, 1) + dt.timedelta(days=n)).weekday() >= 5
]


def fixture(root: Path, *, derived: bool) -> Path:
    """A copy of the fixture pack; without ``derived``, no rule counts findings and no
    escalation counts repeats (the findings then depend on the deadlines alone)."""
    target = root / "provisional"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(PACK, target)
    if not derived:
        (target / "rules" / "warning.yaml").unlink()
        (target / "routing.yaml").write_text("escalations: []\n", encoding="utf-8")
    return target


def official_pack(
    root: Path, closed: set[dt.date], opened: set[dt.date], *, derived: bool = False
) -> commitrules.Pack:
    """The fixture with 2027 official, differing from the provisional year by the days given."""
    target = fixture(root, derived=derived)
    path = target / "calendars" / "CN.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    (year,) = [item for item in data["years"] if item["year"] == 2027]
    year["status"] = "official"
    del year["derived"]
    year["source"] = {
        "issuer": "test",
        "document": "test notice",
        "date": dt.date(2026, 11, 5),
        "link": "https://example.invalid/2027",
    }
    listed: set[dt.date] = set()
    for entry in year["days_off"]:
        first, last = entry.get("date") or entry["from"], entry.get("date") or entry["to"]
        listed.update(first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    year["days_off"] += [{"date": day} for day in sorted(closed - listed)]
    # A weekend day inside a holiday stays off (the notice would not list it both ways).
    year["working_days"] = [{"date": day} for day in sorted(opened - listed)]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return commitrules.load_pack(str(target))


def stream(requests: list[tuple[int, int | None, bool, int]]) -> list[dict[str, Any]]:
    """Request events: (opened hours after START, closed hours later, extended, team)."""
    events: list[dict[str, Any]] = []
    for number, (opened, closed, extended, team) in enumerate(requests):
        at = START + dt.timedelta(hours=opened)
        rid = f"R{number}"
        events.append(
            {
                "id": f"o{number}",
                "type": "request_opened",
                "at": at.isoformat(),
                "request_id": rid,
                "customer_id": f"C{number}",
                "team": TEAMS[team],
            }
        )
        if extended:
            events.append(
                {
                    "id": f"x{number}",
                    "type": "request_extended",
                    "at": (at + dt.timedelta(hours=2)).isoformat(),
                    "request_id": rid,
                }
            )
        if closed is not None:
            events.append(
                {
                    "id": f"c{number}",
                    "type": "request_closed",
                    "at": (at + dt.timedelta(hours=3 + closed)).isoformat(),
                    "request_id": rid,
                }
            )
    events.sort(key=lambda e: (e["at"], e["id"]))
    return events


def plain(violation: Violation) -> dict[str, Any]:
    """A finding as data, without ``provisional`` (what may differ for unmoved findings)."""
    data = violation.to_dict()
    del data["provisional"]
    del data["pack"]  # the two packs differ in their calendar file, hence in digest
    return data


def corrected(findings: list[Violation]) -> dict[str, dict[str, Any]]:
    """The findings once every correction is applied in order: a correction removes the id
    it refers to; a finding released (again) after it adds it back, as released then."""
    out: dict[str, dict[str, Any]] = {}
    for violation in findings:
        if violation.kind == "correction":
            assert violation.refers_to is not None
            out.pop(violation.refers_to, None)
        elif violation.clause_id != "engine":
            out[violation.id] = plain(violation)
    return out


def run(pack: commitrules.Pack, events: list[dict[str, Any]], backend: str) -> list[Violation]:
    engine = Engine(pack, backend=backend)
    return engine.process_many(events) + engine.advance_to(END)


def upgraded(
    old: commitrules.Pack,
    new: commitrules.Pack,
    events: list[dict[str, Any]],
    split: int,
    backend: str,
) -> tuple[list[Violation], Engine]:
    engine = Engine(old, backend=backend)
    found = engine.process_many(events[:split])
    if split and split % 3 == 0 and split < len(events):
        # Sometimes let time pass before the upgrade, too (up to the next event: the same
        # timers fire then in a run without the upgrade).
        found += engine.advance_to(dt.datetime.fromisoformat(events[split]["at"]))
    snapshot = json.loads(json.dumps(engine.snapshot()))
    restored = Engine.restore(new, snapshot, backend=backend)
    found += restored.process_many(events[split:]) + restored.advance_to(END)
    return found, restored


requests = st.lists(
    st.tuples(
        st.integers(0, 24 * 60),  # opened within 60 days of mid-December
        st.none() | st.integers(0, 24 * 20),
        st.booleans(),
        st.integers(0, 1),
    ),
    min_size=1,
    max_size=8,
)
changes = st.tuples(
    st.sets(st.sampled_from(WEEKDAYS_2027), min_size=1, max_size=5),
    st.sets(st.sampled_from(WEEKENDS_2027), max_size=3),
).filter(lambda change: len(change[0]) + len(change[1]) >= 3)


@pytest.fixture(scope="module")
def old_pack(tmp_path_factory: pytest.TempPathFactory) -> commitrules.Pack:
    return commitrules.load_pack(str(fixture(tmp_path_factory.mktemp("old"), derived=False)))


@pytest.fixture(scope="module")
def old_derived_pack(tmp_path_factory: pytest.TempPathFactory) -> commitrules.Pack:
    return commitrules.load_pack(str(fixture(tmp_path_factory.mktemp("old"), derived=True)))


def check_corrections(
    old: commitrules.Pack,
    new: commitrules.Pack,
    events: list[dict[str, Any]],
    split: int,
    backend: str,
) -> None:
    found, _ = upgraded(old, new, events, split, backend)
    fresh = run(new, events, backend)
    assert corrected(found) == corrected(fresh)
    # Every correction refers to a finding released before it, and says why: a deadline's
    # both due times, a derived finding (threshold, re-route) the reason.
    released = {v.id for v in found}
    for correction in (v for v in found if v.kind == "correction"):
        assert correction.refers_to in released
        assert not correction.is_breach
        assert correction.route == (correction.role,)
        evidence = correction.evidence
        assert evidence["withdrawn"] == correction.refers_to
        if "reason" in evidence:
            assert "threshold" in evidence["reason"]
        else:
            assert {"old_due_at", "new_due_at"} <= evidence.keys()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(requests, changes, st.floats(0, 1))
def test_an_official_year_gives_a_fresh_runs_findings_once_corrected(
    tmp_path: Path,
    old_pack: commitrules.Pack,
    specs: list[tuple[int, int | None, bool, int]],
    change: tuple[set[dt.date], set[dt.date]],
    where: float,
) -> None:
    new = official_pack(tmp_path, *change)
    events = stream(specs)
    check_corrections(old_pack, new, events, int(where * len(events)), "native")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(requests, changes, st.floats(0, 1))
# Found by other generators (the lowest-versions run): a finding that moved more than a window
# before a late upgrade (the log kept too little), and a threshold finding's correction.
@example(
    specs=[
        (0, None, False, 0),
        (0, None, False, 0),
        (0, None, False, 1),
        (183, None, False, 1),
        (0, None, False, 0),
        (1439, 85, False, 0),
    ],
    change=({dt.date(2027, 1, 1)}, {dt.date(2027, 1, 2), dt.date(2027, 3, 28)}),
    where=1.0,
)
@example(
    specs=[
        (1024, None, False, 1),
        (1, None, False, 0),
        (324, None, False, 1),
        (256, None, True, 1),
        (537, None, True, 0),
        (1439, None, False, 0),
    ],
    change=({dt.date(2027, 1, 1)}, {dt.date(2027, 1, 2), dt.date(2027, 3, 28)}),
    where=1.0,
)
def test_derived_findings_are_corrected_too(
    tmp_path: Path,
    old_derived_pack: commitrules.Pack,
    specs: list[tuple[int, int | None, bool, int]],
    change: tuple[set[dt.date], set[dt.date]],
    where: float,
) -> None:
    # A threshold counting the deadlines' findings per team, and an escalation of repeated
    # findings per team: a withdrawn violation no longer counts, and what changes in them is
    # corrected the same way.
    new = official_pack(tmp_path, *change, derived=True)
    events = stream(specs)
    check_corrections(old_derived_pack, new, events, int(where * len(events)), "native")


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(requests, changes, st.floats(0, 1))
def test_the_durable_backend_corrects_alike(
    tmp_path: Path,
    old_pack: commitrules.Pack,
    specs: list[tuple[int, int | None, bool, int]],
    change: tuple[set[dt.date], set[dt.date]],
    where: float,
) -> None:
    pytest.importorskip("durable_rules_engine")
    new = official_pack(tmp_path, *change)
    events = stream(specs)
    split = int(where * len(events))
    check_corrections(old_pack, new, events, split, "durable")
    native, _ = upgraded(old_pack, new, events, split, "native")
    durable, _ = upgraded(old_pack, new, events, split, "durable")
    assert [v.to_dict() for v in durable] == [v.to_dict() for v in native]


def test_a_released_provisional_violation_is_withdrawn_and_released_again(
    tmp_path: Path, old_pack: commitrules.Pack
) -> None:
    # Opened Monday 28 December 2026: three working days on the provisional 2027 (1 January
    # off) end on Thursday 31 December... the notice also closes 31 December? No: 2026 is
    # official. Open on Wednesday 30 December: 31 Dec, (1 Jan off), 4 and 5 January.
    new = official_pack(tmp_path, {dt.date(2027, 1, 4), dt.date(2027, 1, 5)}, set())
    opened = {
        "id": "o1",
        "type": "request_opened",
        "at": "2026-12-30T10:00:00+08:00",
        "request_id": "R1",
        "customer_id": "C1",
        "team": "A",
    }
    engine = Engine(old_pack)
    engine.process(opened)
    before = engine.advance_to(dt.datetime(2027, 1, 10, tzinfo=CST))
    (late,) = [v for v in before if v.rule_id == "P1.close" and v.kind == "violation"]
    (escalated,) = [v for v in before if v.rule_id == "P1.close" and v.kind == "escalation"]
    assert late.provisional
    assert escalated.provisional
    assert late.due_at == dt.datetime(2027, 1, 5, 23, 59, 59, 999999, tzinfo=CST)
    restored = Engine.restore(new, json.loads(json.dumps(engine.snapshot())))
    report = {rule.rule_id: rule for rule in restored.migration.rules}
    assert report["P1.close"].action == "carried"
    assert [item.action for item in report["P1.close"].items] == ["corrected"]
    after = restored.advance_to(dt.datetime(2027, 1, 20, tzinfo=CST))
    corrections = [v for v in after if v.kind == "correction" and v.rule_id == "P1.close"]
    assert {v.refers_to for v in corrections} == {late.id, escalated.id}
    (again,) = [v for v in after if v.rule_id == "P1.close" and v.kind == "violation"]
    assert again.due_at == dt.datetime(2027, 1, 7, 23, 59, 59, 999999, tzinfo=CST)
    assert not again.provisional
    assert again.id != late.id
    # The calendar-day rule did not move, and is not corrected.
    assert not [v for v in after if v.rule_id == "P1.close-calendar"]


def test_a_fulfilled_deadline_that_the_official_year_makes_late_is_released(
    tmp_path: Path, old_pack: commitrules.Pack
) -> None:
    # Opened Wednesday 30 December, closed Tuesday 5 January at noon: in time on the
    # provisional year (due 5 January), late once the notice closes 4 January (due 6th? no:
    # closing days moves the due time later). Make 2 January a working day instead: then the
    # three working days are 31 December, 2 and 4 January, and the 5 January close is late.
    new = official_pack(tmp_path, {dt.date(2027, 1, 1)}, {dt.date(2027, 1, 2)})
    events = [
        {
            "id": "o1",
            "type": "request_opened",
            "at": "2026-12-30T10:00:00+08:00",
            "request_id": "R1",
            "customer_id": "C1",
            "team": "A",
        },
        {
            "id": "c1",
            "type": "request_closed",
            "at": "2027-01-05T12:00:00+08:00",
            "request_id": "R1",
        },
    ]
    engine = Engine(old_pack)
    found = engine.process_many(events) + engine.advance_to(dt.datetime(2027, 1, 10, tzinfo=CST))
    assert not [v for v in found if v.rule_id == "P1.close"]  # in time, provisionally
    restored = Engine.restore(new, json.loads(json.dumps(engine.snapshot())))
    after = restored.advance_to(dt.datetime(2027, 1, 20, tzinfo=CST))
    (late,) = [v for v in after if v.rule_id == "P1.close" and v.kind == "violation"]
    assert late.due_at == dt.datetime(2027, 1, 4, 23, 59, 59, 999999, tzinfo=CST)
    # Closed before the escalation (two days after the due time) would have fallen due.
    assert [v.kind for v in after if v.rule_id == "P1.close"] == ["violation"]
    assert corrected(after) == {
        v.id: plain(v)
        for v in run(new, events, "native")
        if v.rule_id == "P1.close" and v.at < dt.datetime(2027, 1, 20, tzinfo=CST)
    } | {k: v for k, v in corrected(after).items() if v["rule_id"] != "P1.close"}


def test_fulfilled_provisional_deadlines_are_remembered_until_their_year_is_official(
    tmp_path: Path, old_pack: commitrules.Pack
) -> None:
    events = stream([(24 * 16 + 2, 24, False, 0), (2, 10, False, 1)])  # 30 Dec and 14 Dec
    engine = Engine(old_pack)
    engine.process_many(events)
    engine.advance_to(dt.datetime(2027, 1, 20, tzinfo=CST))
    state = engine.snapshot()["rules"]["P1.close"]["state"]
    # The December request closed in December (official days only) is not remembered; the
    # one counted into 2027 is.
    assert [item[0] for item in state["fulfilled"]] == [["R0"]]
    restored = Engine.restore(
        official_pack(
            tmp_path, {dt.date(2027, 3, 1), dt.date(2027, 3, 2), dt.date(2027, 3, 3)}, set()
        ),
        json.loads(json.dumps(engine.snapshot())),
    )
    assert restored.snapshot()["rules"]["P1.close"]["state"] == []  # official now: forgotten


def test_the_log_of_derived_findings_is_kept_through_the_provisional_year_but_bounded() -> None:
    from collections import deque

    from commitrules.engine._derived import LATE_UPGRADE_DAYS, DerivedLog

    day = 86_400_000_000
    year_start = 1_000 * day
    log = DerivedLog(60 * day, provisional_from_us=year_start)
    log.entries = deque((t * day, None, None) for t in range(900, 1_400))  # type: ignore[misc]
    # Within a quarter of the year's start: everything from two windows before it is kept.
    log.forget_before(year_start + 80 * day)
    assert log.entries[0][0] == year_start - 60 * day
    # Later, at most LATE_UPGRADE_DAYS more than two windows: memory stays bounded.
    watermark = year_start + 380 * day
    log.forget_before(watermark)
    assert log.entries[0][0] == watermark - (60 + LATE_UPGRADE_DAYS) * day
    # Every year official: two windows, as before.
    plain = DerivedLog(60 * day)
    plain.entries = deque((t * day, None, None) for t in range(900, 1_400))  # type: ignore[misc]
    plain.forget_before(watermark)
    assert plain.entries[0][0] == watermark - 60 * day
