"""Event time: late events within the allowed lateness, time zones, DST, period ends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import commitrules
from commitrules import Engine, LateEventError
from commitrules.testing import strategies

CST = dt.timezone(dt.timedelta(hours=8))
LATENESS = dt.timedelta(hours=6)
END = dt.datetime(2026, 10, 15, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def late_pack(tmp_path_factory: pytest.TempPathFactory) -> commitrules.Pack:
    folder: Path = tmp_path_factory.mktemp("late") / "pack"
    folder.mkdir()
    (folder / "pack.yaml").write_text(
        "id: late\nversion: 1.0.0\nname: {zh: 遲到, en: Late}\n"
        "extends: customer-commitments\nallowed_lateness: {count: 6, unit: hours}\n",
        encoding="utf-8",
    )
    return commitrules.load_pack(folder)


@given(
    strategies.streams(
        commitrules.load_pack().catalog,
        max_size=40,
        min_gap=dt.timedelta(seconds=1),
        max_gap=dt.timedelta(hours=4),
    ),
    # How late each event arrives, within the lateness (the first len(stream) are used).
    st.lists(st.integers(0, int(LATENESS.total_seconds())), min_size=40, max_size=40),
)
def test_out_of_order_within_the_lateness_gives_the_sorted_streams_violations(
    late_pack: commitrules.Pack, stream: list[dict[str, Any]], delays: list[int]
) -> None:
    # Strictly increasing times (min_gap): events at the same instant count in arrival
    # order, so a shuffle of ties may rightly change the outcome.
    sorted_run = Engine(late_pack)
    expected = sorted_run.process_many(stream) + sorted_run.advance_to(END)
    arrival = sorted(
        range(len(stream)),
        key=lambda i: dt.datetime.fromisoformat(stream[i]["at"]) + dt.timedelta(seconds=delays[i]),
    )
    shuffled_run = Engine(late_pack)
    found = shuffled_run.process_many(stream[i] for i in arrival) + shuffled_run.advance_to(END)
    assert sorted(v.id for v in found) == sorted(v.id for v in expected)
    assert shuffled_run.stats.rejected == 0


def sale(eid: str, at: dt.datetime) -> dict[str, Any]:
    return {
        "id": eid,
        "type": "sale",
        "at": at.isoformat(),
        "customer_id": "C1",
        "product_id": "FUND-EQ07",
        "product_risk": 4,
        "amount": "10",
        "currency": "CNY",
        "staff_id": "S0004",
        "branch_id": "BR-SH-PD",
        "channel": "branch",
        "recorded": True,
        "recording_id": "AV-0001",
        "customer_age": 40,
    }


def disclosed(eid: str, at: dt.datetime) -> dict[str, Any]:
    return {
        "id": eid,
        "type": "product_disclosed",
        "at": at.isoformat(),
        "customer_id": "C1",
        "product_id": "FUND-EQ07",
        "sections": ["product", "risk", "fees"],
        "template_id": "TPL-FUND",
        "template_version": "2.0",
    }


def test_a_late_but_allowed_event_can_still_prevent_a_finding(late_pack: commitrules.Pack) -> None:
    engine = Engine(late_pack)
    t0 = dt.datetime(2026, 7, 1, 10, tzinfo=CST)
    engine.process(
        {
            "id": "a",
            "type": "suitability_assessed",
            "at": t0.isoformat(),
            "customer_id": "C1",
            "risk_level": 5,
        }
    )
    # The sale arrives before the disclosure that preceded it; nothing is final yet.
    assert engine.process(sale("s", t0 + dt.timedelta(hours=2))) == []
    assert engine.process(disclosed("d", t0 + dt.timedelta(hours=1))) == []
    found = engine.advance_to(t0 + dt.timedelta(hours=9))
    assert [v.rule_id for v in found if v.clause_id.startswith("C2")] == []


def test_beyond_the_lateness_an_event_is_rejected_with_the_reason(
    late_pack: commitrules.Pack,
) -> None:
    engine = Engine(late_pack)
    t0 = dt.datetime(2026, 7, 1, 10, tzinfo=CST)
    engine.process(sale("s1", t0 + dt.timedelta(hours=8)))
    with pytest.raises(LateEventError, match="allowed lateness 6:00:00"):
        engine.process(sale("s2", t0 + dt.timedelta(hours=1)))
    assert engine.stats.rejected == 1


def complaint(eid: str, at: dt.datetime, case: str = "K1") -> dict[str, Any]:
    return {
        "id": eid,
        "type": "complaint_received",
        "at": at.isoformat(),
        "case_id": case,
        "customer_id": "C1",
        "channel": "phone",
        "category": "fees",
        "branch_id": "BR-SH-PD",
        "assignee": "S0007",
    }


def due_of(found: list[commitrules.Violation], rule: str) -> dt.datetime | None:
    return next((v.due_at for v in found if v.rule_id == rule), None)


def test_deadlines_follow_the_zone_across_a_dst_change() -> None:
    london = commitrules.load_pack(profile="uk")
    engine = Engine(london)
    # Received the evening before the clocks go forward (2026-03-29 in London).
    engine.process(complaint("c1", dt.datetime(2026, 3, 28, 18, tzinfo=dt.UTC)))
    found = engine.advance_to(dt.datetime(2026, 4, 5, tzinfo=dt.UTC))
    due = due_of(found, "C5.acknowledge.in-time")
    assert due is not None
    # 7 calendar days to the end of the day, London time (BST, UTC+1, after the change).
    assert due.isoformat() == "2026-04-04T23:59:59.999999+01:00"


def test_calendar_day_deadlines_across_month_end_and_a_leap_day() -> None:
    engine = Engine(commitrules.load_pack())
    engine.process(complaint("c1", dt.datetime(2028, 2, 20, 9, tzinfo=CST)))
    found = engine.advance_to(dt.datetime(2028, 3, 10, tzinfo=CST))
    assert due_of(found, "C5.resolve.simple") == dt.datetime(
        2028, 3, 6, 23, 59, 59, 999999, tzinfo=CST
    )  # 15 days after Feb 20 in a leap year


def test_working_day_deadlines_skip_the_national_day_holiday() -> None:
    engine = Engine(commitrules.load_pack())
    engine.process(
        {
            "id": "r1",
            "type": "service_requested",
            "at": "2026-09-30T10:00:00+08:00",
            "request_id": "R1",
            "customer_id": "C1",
            "service": "transfer",
            "branch_id": "BR-SH-PD",
            "channel": "branch",
            "materials_told": True,
            "expected_completion": "2026-10-09T17:00:00+08:00",
        }
    )
    found = engine.advance_to(dt.datetime(2026, 10, 20, tzinfo=CST))
    # 5 working days after Sep 30: Oct 1-7 are holidays, Oct 8 and 9 work, Oct 10 (Sat) is a
    # make-up working day, Oct 11 Sunday off, Oct 12 and 13 work -> due at the end of Oct 13.
    assert due_of(found, "C4.completion.in-time") == dt.datetime(
        2026, 10, 13, 23, 59, 59, 999999, tzinfo=CST
    )


REQUEST_2031 = {
    "id": "r1",
    "type": "service_requested",
    "at": "2031-06-01T10:00:00+08:00",
    "request_id": "R1",
    "customer_id": "C1",
    "service": "transfer",
    "branch_id": "BR-SH-PD",
    "channel": "branch",
}


def test_a_deadline_beyond_the_official_calendar_is_counted_and_marked_provisional() -> None:
    engine = Engine(commitrules.load_pack())
    told = engine.process(REQUEST_2031)  # accepted: its single-event checks judge it at once
    # 2031 is long past the calendar's last official year: the engine says so at once.
    assert sorted(v.rule_id for v in told) == [
        "M3.transparency.told-at-start",
        "engine.calendar-horizon",
    ]
    alarm = next(v for v in told if v.clause_id == "engine")
    assert (alarm.kind, alarm.route, alarm.is_breach) == ("operational", ("operations",), False)
    assert not any(v.provisional for v in told)
    found = engine.advance_to(dt.datetime(2031, 7, 1, tzinfo=CST))
    late = [v for v in found if v.rule_id == "C4.completion.in-time"]
    assert len(late) == 1
    assert late[0].provisional
    assert late[0].to_dict()["provisional"] is True
    # Only working-day deadlines count on the calendar; periods closing in 2031 do not.
    working = {"C4.completion.in-time", "M3.transparency.status-notified"}
    assert {v.rule_id for v in found if v.provisional} == working
    assert any(v.rule_id not in working for v in found)
    assert "engine.calendar-horizon" not in {v.rule_id for v in found}  # raised once


def test_a_strict_calendar_rejects_the_event_whole_as_before(tmp_path: Path) -> None:
    pack_dir = tmp_path / "strict"
    pack_dir.mkdir()
    (pack_dir / "pack.yaml").write_text(
        "id: strict\nversion: 1.0.0\nname: {zh: 嚴格, en: Strict}\n"
        "extends: customer-commitments\ncalendar: {country: CN, strict: true}\n",
        encoding="utf-8",
    )
    engine = Engine(commitrules.load_pack(str(pack_dir), profile="cn"))
    with pytest.raises(commitrules.CalendarError, match="2031"):
        engine.process(REQUEST_2031)
    assert engine.stats.processed == 0  # nothing half-applied
    assert engine.watermark is None


def test_quarter_closes_at_local_midnight_in_the_packs_zone() -> None:
    engine = Engine(commitrules.load_pack())
    survey = {
        "id": "s1",
        "type": "survey_response",
        "at": "2026-09-30T15:59:59+00:00",
        "survey": "service",
        "customer_id": "C1",
        "satisfied": True,
    }
    engine.process(survey)  # 23:59:59 in Shanghai: still Q3
    before = engine.advance_to(dt.datetime(2026, 9, 30, 15, 59, 59, 999999, tzinfo=dt.UTC))
    assert [v for v in before if v.rule_id == "M3.satisfaction.quarterly"] == []
    after = engine.advance_to(dt.datetime(2026, 9, 30, 16, 0, tzinfo=dt.UTC))
    closed = [v for v in after if v.rule_id == "M3.satisfaction.quarterly"]
    assert [(v.kind, v.subject["period"]) for v in closed] == [("insufficient_sample", "2026Q3")]
    assert closed[0].evidence["denominator"] == 1
