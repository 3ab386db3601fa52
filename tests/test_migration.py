"""Pack upgrades that keep live state: carry-over, the migration report, `commitrules migrate`."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import commitrules
from commitrules import Engine, MigrationError, Violation
from commitrules.cli import main
from commitrules.migration import plan_migration
from commitrules.store import CheckpointStore
from commitrules.testing import strategies

PACK = commitrules.load_pack()
CST = dt.timezone(dt.timedelta(hours=8))
END = dt.datetime(2026, 10, 15, tzinfo=CST)
START = dt.datetime(2026, 7, 1, 9, tzinfo=CST)
TYPES = [
    "service_requested",
    "service_completed",
    "service_status_notified",
    "complaint_received",
    "complaint_acknowledged",
    "complaint_extended",
    "complaint_resolved",
    "survey_response",
    "risk_event",
    "sale",
]
# Changes of one parameter each, of the default pack's deadline, threshold and periodic rules.
CHANGES: list[tuple[str, Any]] = [
    ("complaint_ack_days", 1),
    ("complaint_ack_days", 4),
    ("complaint_decision_days", 10),
    ("complaint_decision_days", 20),
    ("complaint_escalation_days", 5),
    ("service_completion_working_days", 3),
    ("service_completion_working_days", 7),
    ("service_status_working_days", 1),
    ("complaint_surge_limit", 2),
    ("complaint_surge_limit", 5),
    ("service_satisfaction_target", Decimal("0.5")),
    ("survey_min_sample", 2),
    ("risk_event_rate_max", Decimal("0.5")),
]
REQUEST = {
    "type": "service_requested",
    "customer_id": "C1",
    "service": "transfer",
    "branch_id": "BR-SH-PD",
    "channel": "branch",
    "materials_told": True,
    "expected_completion": "2026-11-30T10:00:00+08:00",
}


def through_json(snapshot: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(snapshot))
    return loaded


def pack_with(name: str, value: Any) -> commitrules.Pack:
    return commitrules.load_pack(parameters={name: value})


def plain(violation: Violation) -> tuple[Any, ...]:
    """What a finding is, whatever the history before it routed or counted."""
    return (violation.id, violation.kind, violation.rule_id, violation.at, violation.due_at)


# Rules whose findings are made of other findings: history before the restore point, which
# is not judged again, decides them (so does the routing of later findings).
DERIVED = {"W1.frequent-violations.staff", "W1.frequent-violations.branch"}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    strategies.streams(
        PACK.catalog, types=TYPES, max_size=30, start=START, max_gap=dt.timedelta(hours=20)
    ),
    st.sampled_from(CHANGES),
    st.floats(0, 1),
)
def test_an_upgraded_engine_releases_what_a_fresh_run_of_the_new_pack_releases(
    stream: list[dict[str, Any]], change: tuple[str, Any], where: float
) -> None:
    new = pack_with(*change)
    split = int(where * len(stream))
    # The old pack up to the split, then the new pack, restored from a snapshot.
    old_engine = Engine(PACK)
    for event in stream[:split]:
        with contextlib.suppress(commitrules.EventError):
            old_engine.process(event)
    restored = Engine.restore(new, through_json(old_engine.snapshot()))
    report = restored.migration
    after: list[Violation] = []
    for event in stream[split:]:
        with contextlib.suppress(commitrules.EventError):
            after += restored.process(event)
    after += restored.advance_to(END)
    # A fresh run of the new pack: what it releases after the same point.
    fresh = Engine(new)
    fresh_before: list[Violation] = []
    fresh_after: list[Violation] = []
    for index, event in enumerate(stream):
        with contextlib.suppress(commitrules.EventError):
            (fresh_before if index < split else fresh_after).extend(fresh.process(event))
    fresh_after += fresh.advance_to(END)
    # What the report says was released at once (due already past under the new definition)
    # the fresh run released before the split; what it lists as not judged again (released
    # before the split, due elsewhere now) differs on purpose, and so do its escalations.
    not_rejudged = {
        (rule.rule_id, tuple(sorted(item.key.items())))
        for rule in report.rules
        for item in rule.items
        if item.action == "not-rejudged"
    }
    assert not report.drops

    def comparable(found: list[Violation]) -> set[tuple[Any, ...]]:
        return {
            plain(v)
            for v in found
            if v.clause_id != "engine"
            and v.kind != "correction"
            and v.rule_id not in DERIVED
            and (v.rule_id, tuple(sorted(v.subject.items()))) not in not_rejudged
        }

    released_at_once = comparable(list(report.released))
    assert comparable(after) - released_at_once == comparable(fresh_after)
    assert released_at_once <= comparable(fresh_before)


def test_unchanged_rules_restore_byte_identical_state() -> None:
    engine = Engine(PACK)
    for number in range(1, 4):
        engine.process(
            {
                **REQUEST,
                "id": f"r{number}",
                "request_id": f"R{number}",
                "at": f"2026-07-0{number}T10:00:00+08:00",
            }
        )
    engine.process(
        {
            "id": "c1",
            "type": "complaint_received",
            "at": "2026-07-04T10:00:00+08:00",
            "case_id": "K1",
            "customer_id": "C1",
            "channel": "hotline",
            "category": "fees",
            "branch_id": "BR-SH-PD",
            "assignee": "S0007",
        }
    )
    before = through_json(engine.snapshot())
    new = pack_with("service_completion_working_days", 7)
    restored = Engine.restore(new, before)
    after = through_json(restored.snapshot())
    changed = {rule.rule_id for rule in restored.migration.rules if rule.action != "kept"}
    assert changed == {"C4.completion.in-time"}
    for rule_id, entry in before["rules"].items():
        if rule_id not in changed:
            assert after["rules"][rule_id] == entry, rule_id
    # The carried rule: the same requests, each due two working days later.
    old_due = {tuple(k): d[1] for k, d in before["rules"]["C4.completion.in-time"]["state"]}
    new_due = {tuple(k): d[1] for k, d in after["rules"]["C4.completion.in-time"]["state"]}
    assert old_due.keys() == new_due.keys() == {("R1",), ("R2",), ("R3",)}
    assert all(new_due[key] > old_due[key] for key in old_due)


def test_the_report_lists_each_recomputed_deadline_with_both_due_times() -> None:
    engine = Engine(PACK)
    engine.process({**REQUEST, "id": "r1", "request_id": "R1", "at": "2026-07-01T10:00:00+08:00"})
    snapshot = through_json(engine.snapshot())
    report = plan_migration(pack_with("service_completion_working_days", 7), snapshot)
    (rule,) = [r for r in report.rules if r.action == "carried"]
    (item,) = rule.items
    assert (rule.rule_id, item.action, dict(item.key)) == (
        "C4.completion.in-time",
        "recomputed",
        {"request_id": "R1"},
    )
    tz = PACK.tz
    old = commitrules.eventtime.from_us(item.old_due_us, tz)
    new = commitrules.eventtime.from_us(item.new_due_us, tz)
    # 1 July (Wednesday) + 5 working days = 8 July; + 7 = 10 July, each at the end of the day.
    assert (old.date(), new.date()) == (dt.date(2026, 7, 8), dt.date(2026, 7, 10))
    data = report.to_dict()
    assert data["summary"]["carried"] == 1
    assert data["rules"][0]["rule_id"]


def test_a_deadline_now_past_is_released_with_the_first_call_after_the_restore() -> None:
    engine = Engine(PACK)
    engine.process({**REQUEST, "id": "r1", "request_id": "R1", "at": "2026-07-01T10:00:00+08:00"})
    engine.advance_to(dt.datetime(2026, 7, 8, 12, tzinfo=CST))  # due end of 8 July: not yet
    restored = Engine.restore(
        pack_with("service_completion_working_days", 3), through_json(engine.snapshot())
    )
    (item,) = next(r for r in restored.migration.rules if r.action == "carried").items
    assert item.action == "released"
    (late,) = [v for v in restored.migration.released if v.rule_id == "C4.completion.in-time"]
    assert late.due_at == dt.datetime(2026, 7, 6, 23, 59, 59, 999999, tzinfo=CST)
    first = restored.advance_to(dt.datetime(2026, 7, 8, 13, tzinfo=CST))
    assert late in first


def test_a_changed_trigger_drops_state_and_says_so() -> None:
    engine = Engine(PACK)
    engine.process({**REQUEST, "id": "r1", "request_id": "R1", "at": "2026-07-01T10:00:00+08:00"})
    snapshot = through_json(engine.snapshot())
    snapshot["rules"]["C4.completion.in-time"]["shape"] = "something else"
    changed = pack_with("service_completion_working_days", 7)
    with pytest.raises(MigrationError) as caught:
        Engine.restore(changed, snapshot, refuse_drops=True)
    (dropped,) = caught.value.report.drops  # type: ignore[attr-defined]
    assert dropped.rule_id == "C4.completion.in-time"
    assert "key or trigger" in dropped.reason
    assert [dict(item.key) for item in dropped.items] == [{"request_id": "R1"}]
    restored = Engine.restore(changed, snapshot)  # without refuse_drops: restored, listed
    assert restored.fresh_rules == ("C4.completion.in-time",)


def test_both_backends_carry_over_alike() -> None:
    pytest.importorskip("durable_rules_engine")
    engine = Engine(PACK)
    for number in range(1, 4):
        engine.process(
            {
                **REQUEST,
                "id": f"r{number}",
                "request_id": f"R{number}",
                "at": f"2026-07-0{number}T10:00:00+08:00",
            }
        )
    snapshot = through_json(engine.snapshot())
    new = pack_with("service_completion_working_days", 3)
    native = Engine.restore(new, snapshot)
    durable = Engine.restore(new, snapshot, backend="durable")
    assert durable.snapshot()["rules"] == native.snapshot()["rules"]
    until = dt.datetime(2026, 7, 20, tzinfo=CST)
    assert [v.to_dict() for v in durable.advance_to(until)] == [
        v.to_dict() for v in native.advance_to(until)
    ]


# -- the command line ----------------------------------------------------------------------


def changed_pack(root: Path) -> Path:
    pack = root / "v2"
    pack.mkdir()
    (pack / "pack.yaml").write_text(
        "id: my-bank\nversion: 2.0.0\nname: {zh: 銀行, en: Bank}\nextends: customer-commitments\n",
        encoding="utf-8",
    )
    (pack / "parameters.yaml").write_text(
        "parameters:\n  service_completion_working_days:\n    type: int\n    value: 7\n"
        "    source: {kind: internal_policy, citation: board decision 2026-11}\n",
        encoding="utf-8",
    )
    return pack


def snapshot_file(root: Path) -> Path:
    engine = Engine(PACK)
    engine.process({**REQUEST, "id": "r1", "request_id": "R1", "at": "2026-07-01T10:00:00+08:00"})
    path = root / "state.json"
    path.write_text(json.dumps(engine.snapshot()), encoding="utf-8")
    return path


def test_migrate_prints_the_report_and_applies_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = changed_pack(tmp_path)
    state = snapshot_file(tmp_path)
    assert main(["migrate", str(state), "--pack", str(pack), "--profile", "cn"]) == 0
    out = capsys.readouterr().out
    assert "C4.completion.in-time" in out
    assert "recomputed" in out
    assert (
        main(["migrate", str(state), "--pack", str(pack), "--profile", "cn", "--format", "json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["carried"] == 1
    out_file = tmp_path / "migrated.json"
    assert (
        main(
            [
                "migrate",
                str(state),
                "--pack",
                str(pack),
                "--profile",
                "cn",
                "--apply",
                "--out",
                str(out_file),
            ]
        )
        == 0
    )
    migrated = json.loads(out_file.read_text(encoding="utf-8"))
    restored = Engine.restore(commitrules.load_pack(str(pack), profile="cn"), migrated)
    assert all(rule.action == "kept" for rule in restored.migration.rules)


def test_migrate_exits_1_when_state_would_be_dropped_and_2_on_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = changed_pack(tmp_path)
    state = snapshot_file(tmp_path)
    data = json.loads(state.read_text(encoding="utf-8"))
    for entry in data["rules"].values():
        del entry["shape"]  # written before pack upgrades could carry state
    state.write_text(json.dumps(data), encoding="utf-8")
    assert main(["migrate", str(state), "--pack", str(pack), "--profile", "cn"]) == 1
    assert "dropped" in capsys.readouterr().out
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "commitrules.snapshot", "version": 1}', encoding="utf-8")
    assert main(["migrate", str(broken), "--pack", str(pack)]) == 2
    assert "malformed" in capsys.readouterr().err


def test_migrate_updates_a_checkpoint_store_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = changed_pack(tmp_path)
    database = tmp_path / "state.db"
    engine = Engine(PACK)
    engine.process({**REQUEST, "id": "r1", "request_id": "R1", "at": "2026-07-01T10:00:00+08:00"})
    with CheckpointStore(database) as store:
        store.save(engine, 1)
    assert main(["migrate", str(database), "--pack", str(pack), "--profile", "cn", "--apply"]) == 0
    new = commitrules.load_pack(str(pack), profile="cn")
    with CheckpointStore(database) as store:
        loaded = store.load()
    assert loaded is not None
    snapshot, position = loaded
    assert position == 1
    assert snapshot["pack"]["id"] == "my-bank"
    assert all(r.action == "kept" for r in Engine.restore(new, snapshot).migration.rules)
    with sqlite3.connect(database) as connection:
        assert connection.execute("select count(*) from checkpoint").fetchone() == (1,)
