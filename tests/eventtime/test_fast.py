"""The engine's memoised due-time function gives exactly what add_duration gives."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commitrules.eventtime import (
    CalendarSpec,
    Duration,
    WorkingDayCalendar,
    add_duration,
    due_function,
    to_us,
)

CALENDAR = WorkingDayCalendar(CalendarSpec("CN"))
ZONES = [
    ZoneInfo("Asia/Shanghai"),  # one offset from 2000 to 2100: integer day arithmetic
    ZoneInfo("Asia/Kolkata"),  # the same, at a half-hour offset
    ZoneInfo("Europe/London"),
    ZoneInfo("America/New_York"),
]
UNITS = ["minutes", "hours", "calendar_days", "weeks", "working_days", "months"]
START = to_us(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
END = to_us(dt.datetime(2026, 9, 30, tzinfo=dt.UTC))  # working days stay in 2026


@given(
    st.lists(st.integers(START, END), min_size=1, max_size=30),
    st.integers(0, 40),
    st.sampled_from(UNITS),
    st.booleans(),
    st.sampled_from(ZONES),
)
def test_the_fast_due_function_equals_add_duration(
    starts: list[int], count: int, unit: str, end_of_day: bool, tz: ZoneInfo
) -> None:
    if unit == "working_days" and tz.key != "Asia/Shanghai":
        return
    fast = due_function(unit, end_of_day, tz=tz, calendar=CALENDAR)  # type: ignore[arg-type]
    for start in [*starts, *starts]:  # the second pass hits the memo
        expected = add_duration(start, Duration(count, unit, end_of_day), tz=tz, calendar=CALENDAR)  # type: ignore[arg-type]
        assert fast(start, count) == expected


def test_across_the_london_dst_change_day() -> None:
    tz = ZoneInfo("Europe/London")
    fast = due_function("calendar_days", True, tz=tz, calendar=None)
    day = to_us(dt.datetime(2026, 3, 29, tzinfo=dt.UTC))
    for minutes in range(0, 24 * 60, 7):
        start = day + minutes * 60_000_000
        assert fast(start, 3) == add_duration(
            start, Duration(3, "calendar_days", True), tz=tz, calendar=None
        )


def test_a_constant_zone_falls_back_to_the_exact_path_outside_2000_to_2100() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    for unit in ("calendar_days", "weeks", "months"):
        for end_of_day in (False, True):
            fast = due_function(unit, end_of_day, tz=tz, calendar=None)  # type: ignore[arg-type]
            for start in (
                to_us(dt.datetime(1999, 12, 31, 20, tzinfo=tz)),  # before 2000
                to_us(dt.datetime(2099, 12, 20, 9, tzinfo=tz)),  # due after 2100
                to_us(dt.datetime(2100, 1, 5, 9, tzinfo=tz)),  # after 2100
            ):
                for count in (0, 1, 30):
                    expected = add_duration(
                        start,
                        Duration(count, unit, end_of_day),  # type: ignore[arg-type]
                        tz=tz,
                        calendar=None,
                    )
                    assert fast(start, count) == expected, (unit, end_of_day, start, count)


def test_a_negative_count_is_refused_in_a_constant_zone_too() -> None:
    start = to_us(dt.datetime(2026, 7, 1, 10, tzinfo=dt.UTC))
    for unit in ("calendar_days", "weeks", "months"):
        fast = due_function(unit, True, tz=ZoneInfo("Asia/Shanghai"), calendar=None)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="0 or more"):
            fast(start, -1)
