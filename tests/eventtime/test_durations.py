"""Deadlines: elapsed time, wall-clock days, months, working days, end of day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commitrules.errors import CalendarError
from commitrules.eventtime import (
    CalendarSpec,
    Duration,
    Unit,
    WorkingDayCalendar,
    add_duration,
    from_us,
    to_us,
)

SETTINGS = settings(deadline=None, database=None)

LONDON = ZoneInfo("Europe/London")
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3_600_000_000
DAY = 24 * HOUR
CN = WorkingDayCalendar(CalendarSpec("CN"))


def due(
    start: datetime,
    count: int,
    unit: Unit,
    *,
    end_of_day: bool = False,
    calendar: WorkingDayCalendar | None = None,
) -> datetime:
    """The due instant as a datetime in the start's zone."""
    zone = start.tzinfo
    assert isinstance(zone, ZoneInfo)
    us = add_duration(to_us(start), Duration(count, unit, end_of_day), tz=zone, calendar=calendar)
    return from_us(us, zone)


# --- calendar days and weeks: wall-clock arithmetic -----------------------------------


def test_a_calendar_day_over_the_spring_change_is_23_hours() -> None:
    start = datetime(2026, 3, 28, 12, tzinfo=LONDON)
    result = due(start, 1, "calendar_days")
    assert result == datetime(2026, 3, 29, 12, tzinfo=LONDON)
    assert to_us(result) - to_us(start) == 23 * HOUR


def test_a_calendar_day_over_the_autumn_change_is_25_hours() -> None:
    start = datetime(2026, 10, 24, 12, tzinfo=LONDON)
    result = due(start, 1, "calendar_days")
    assert result == datetime(2026, 10, 25, 12, tzinfo=LONDON)
    assert to_us(result) - to_us(start) == 25 * HOUR


def test_a_due_time_skipped_by_the_clocks_moves_to_the_jump() -> None:
    result = due(datetime(2026, 3, 28, 1, 30, tzinfo=LONDON), 1, "calendar_days")
    assert result == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert result == datetime(2026, 3, 29, 2, 0, tzinfo=LONDON)


def test_a_due_time_that_happens_twice_is_the_earlier() -> None:
    result = due(datetime(2026, 10, 24, 1, 30, tzinfo=LONDON), 1, "calendar_days")
    # Compare instants: PEP 495 makes an ambiguous time unequal to any other zone's time.
    assert to_us(result) == to_us(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    assert result.fold == 0


def test_calendar_days_cross_month_ends_and_the_leap_day() -> None:
    cases = [
        (datetime(2026, 1, 31, 10, tzinfo=LONDON), 1, datetime(2026, 2, 1, 10, tzinfo=LONDON)),
        (datetime(2028, 2, 28, 10, tzinfo=LONDON), 1, datetime(2028, 2, 29, 10, tzinfo=LONDON)),
        (datetime(2028, 2, 29, 10, tzinfo=LONDON), 1, datetime(2028, 3, 1, 10, tzinfo=LONDON)),
        (datetime(2028, 2, 20, 10, tzinfo=SHANGHAI), 15, datetime(2028, 3, 6, 10, tzinfo=SHANGHAI)),
        (datetime(2026, 12, 31, 10, tzinfo=SHANGHAI), 1, datetime(2027, 1, 1, 10, tzinfo=SHANGHAI)),
    ]
    for start, count, expected in cases:
        assert due(start, count, "calendar_days") == expected


def test_weeks_keep_the_wall_time_across_a_dst_change() -> None:
    start = datetime(2026, 3, 25, 9, 15, tzinfo=LONDON)
    result = due(start, 1, "weeks")
    assert result == datetime(2026, 4, 1, 9, 15, tzinfo=LONDON)
    assert to_us(result) - to_us(start) == 7 * DAY - HOUR


def test_a_complaint_is_due_by_the_end_of_the_fifteenth_day_in_shanghai() -> None:
    received = datetime(2026, 3, 14, 10, 30, tzinfo=SHANGHAI)
    result = due(received, 15, "calendar_days", end_of_day=True)
    assert result == datetime(2026, 3, 29, 23, 59, 59, 999_999, tzinfo=SHANGHAI)


def test_zero_days_to_the_end_of_the_day_is_the_same_day() -> None:
    received = datetime(2026, 3, 14, 10, 30, tzinfo=SHANGHAI)
    result = due(received, 0, "calendar_days", end_of_day=True)
    assert result == datetime(2026, 3, 14, 23, 59, 59, 999_999, tzinfo=SHANGHAI)
    assert due(received, 0, "calendar_days") == received


# --- months: clamped to the end of a shorter month ------------------------------------


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2028, 2, 29), 1, date(2028, 3, 29)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 5, 31), 0, date(2026, 5, 31)),
        (date(2026, 1, 31), 25, date(2028, 2, 29)),
    ],
)
def test_months_clamp_to_the_last_day_of_a_shorter_month(
    start: date, count: int, expected: date
) -> None:
    result = due(datetime.combine(start, time(14, 5), tzinfo=SHANGHAI), count, "months")
    assert result == datetime.combine(expected, time(14, 5), tzinfo=SHANGHAI)


def test_six_months_to_the_end_of_day_in_london() -> None:
    result = due(datetime(2026, 4, 30, 17, tzinfo=LONDON), 6, "months", end_of_day=True)
    assert result == datetime(2026, 10, 30, 23, 59, 59, 999_999, tzinfo=LONDON)
    assert result.utcoffset() == timedelta(0)


# --- working days ---------------------------------------------------------------------


def test_working_days_skip_the_spring_festival_and_count_the_make_up_saturday() -> None:
    received = datetime(2026, 2, 13, 16, 0, tzinfo=SHANGHAI)
    assert due(received, 1, "working_days", calendar=CN) == datetime(
        2026, 2, 14, 16, tzinfo=SHANGHAI
    )
    assert due(received, 2, "working_days", calendar=CN) == datetime(
        2026, 2, 24, 16, tzinfo=SHANGHAI
    )
    assert due(received, 5, "working_days", end_of_day=True, calendar=CN) == datetime(
        2026, 2, 27, 23, 59, 59, 999_999, tzinfo=SHANGHAI
    )


def test_working_days_from_a_holiday_count_from_the_next_working_day() -> None:
    received = datetime(2026, 2, 16, 10, tzinfo=SHANGHAI)
    assert due(received, 1, "working_days", calendar=CN) == datetime(
        2026, 2, 24, 10, tzinfo=SHANGHAI
    )
    assert due(received, 0, "working_days", calendar=CN) == datetime(
        2026, 2, 24, 10, tzinfo=SHANGHAI
    )


def test_working_days_use_the_local_date_not_the_utc_date() -> None:
    # 01:00 on Monday in Shanghai is still Sunday in UTC.
    received = datetime(2026, 3, 2, 1, 0, tzinfo=SHANGHAI)
    assert due(received, 1, "working_days", calendar=CN) == datetime(2026, 3, 3, 1, tzinfo=SHANGHAI)


def test_working_days_without_a_calendar_raise() -> None:
    with pytest.raises(CalendarError, match="working-day calendar"):
        add_duration(0, Duration(5, "working_days"), tz=SHANGHAI, calendar=None)


def test_working_days_past_the_known_calendar_count_provisionally() -> None:
    received = to_us(datetime(2026, 12, 24, 10, tzinfo=SHANGHAI))
    due_us = add_duration(received, Duration(10, "working_days"), tz=SHANGHAI, calendar=CN)
    assert from_us(due_us, SHANGHAI).date() == CN.add_working_days(date(2026, 12, 24), 10)


def test_working_days_past_a_strict_calendar_raise() -> None:
    received = to_us(datetime(2026, 12, 24, 10, tzinfo=SHANGHAI))
    strict = WorkingDayCalendar(CalendarSpec("CN", strict=True))
    with pytest.raises(CalendarError, match="2027"):
        add_duration(received, Duration(10, "working_days"), tz=SHANGHAI, calendar=strict)


# --- minutes and hours: elapsed time --------------------------------------------------


def test_hours_are_elapsed_time_across_the_spring_change() -> None:
    start = datetime(2026, 3, 29, 0, 30, tzinfo=LONDON)
    result = due(start, 2, "hours")
    assert to_us(result) - to_us(start) == 2 * HOUR
    assert result == datetime(2026, 3, 29, 3, 30, tzinfo=LONDON)


def test_hours_are_elapsed_time_across_the_autumn_change() -> None:
    start = datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK)
    result = due(start, 2, "hours")
    assert to_us(result) - to_us(start) == 2 * HOUR
    assert (result.date(), result.time()) == (date(2026, 11, 1), time(1, 30))
    assert result.fold == 1  # the second 01:30 of the night


def test_minutes_and_hours_to_the_end_of_day() -> None:
    start = datetime(2026, 3, 14, 23, 30, tzinfo=SHANGHAI)
    assert due(start, 45, "minutes") == datetime(2026, 3, 15, 0, 15, tzinfo=SHANGHAI)
    assert due(start, 45, "minutes", end_of_day=True) == datetime(
        2026, 3, 15, 23, 59, 59, 999_999, tzinfo=SHANGHAI
    )
    assert due(start, 0, "hours", end_of_day=True) == datetime(
        2026, 3, 14, 23, 59, 59, 999_999, tzinfo=SHANGHAI
    )


# --- end of day exactness -------------------------------------------------------------


def test_one_microsecond_after_an_end_of_day_deadline_is_the_next_day() -> None:
    start = to_us(datetime(2026, 3, 28, 9, tzinfo=LONDON))
    result = add_duration(start, Duration(1, "calendar_days", True), tz=LONDON, calendar=None)
    assert from_us(result, LONDON) == datetime(2026, 3, 29, 23, 59, 59, 999_999, tzinfo=LONDON)
    assert from_us(result + 1, LONDON) == datetime(2026, 3, 30, 0, 0, tzinfo=LONDON)


units = st.sampled_from(["minutes", "hours", "calendar_days", "working_days", "weeks", "months"])
zones = st.sampled_from([SHANGHAI, LONDON, NEW_YORK, ZoneInfo("UTC")])
starts = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2025, 12, 31),  # noqa: DTZ001
    timezones=zones,
    allow_imaginary=False,
)


@SETTINGS
@given(starts, st.integers(min_value=0, max_value=200), units)
def test_an_end_of_day_deadline_is_the_last_microsecond_of_the_plain_due_day(
    start: datetime, count: int, unit: Unit
) -> None:
    zone = start.tzinfo
    assert isinstance(zone, ZoneInfo)
    start_us = to_us(start)
    plain = add_duration(start_us, Duration(count, unit), tz=zone, calendar=CN)
    final = add_duration(start_us, Duration(count, unit, end_of_day=True), tz=zone, calendar=CN)
    assert start_us <= plain <= final
    assert from_us(final, zone).date() == from_us(plain, zone).date()
    after = from_us(final + 1, zone)
    assert after.date() == from_us(plain, zone).date() + timedelta(days=1)
    assert after.time() == time(0)


@SETTINGS
@given(starts, st.integers(min_value=0, max_value=400))
def test_calendar_days_keep_the_wall_time_unless_the_clocks_skip_it(
    start: datetime, count: int
) -> None:
    zone = start.tzinfo
    assert isinstance(zone, ZoneInfo)
    result = from_us(
        add_duration(to_us(start), Duration(count, "calendar_days"), tz=zone, calendar=None), zone
    )
    assert result.date() == start.date() + timedelta(days=count)
    if result.time() != start.time():
        # Only a DST gap moves the time, and only forward, by less than the gap.
        shift = datetime.combine(date.min, result.time()) - datetime.combine(date.min, start.time())
        assert timedelta(0) < shift <= timedelta(hours=1)


def test_invalid_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        Duration(-1, "hours")
    with pytest.raises(ValueError, match="unknown duration unit"):
        Duration(1, "days")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="int"):
        Duration(True, "hours")
    with pytest.raises(TypeError, match="int"):
        Duration(1.5, "hours")  # type: ignore[arg-type]
