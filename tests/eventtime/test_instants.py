"""Instants as integer microseconds: exact conversion both ways, explicit DST rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commitrules.eventtime import from_us, to_us
from commitrules.eventtime._instants import (
    end_of_local_day,
    local_date,
    local_instant,
    start_of_local_day,
)

ZONES = [
    "UTC",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Sao_Paulo",  # DST changes used to happen at midnight
    "Asia/Kolkata",
]
zones = st.sampled_from([ZoneInfo(name) for name in ZONES])
aware_datetimes = st.datetimes(
    min_value=datetime(1900, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=zones,
    allow_imaginary=False,
)
# 1900..2200: far enough for deadlines, inside every zone's representable range.
instants = st.integers(min_value=-2_208_988_800_000_000, max_value=7_258_118_400_000_000)
SETTINGS = settings(deadline=None, database=None)

LONDON = ZoneInfo("Europe/London")
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = 3_600_000_000


@SETTINGS
@given(aware_datetimes)
def test_to_us_then_from_us_gives_back_the_same_wall_time_and_instant(moment: datetime) -> None:
    assert moment.tzinfo is not None
    us = to_us(moment)
    back = from_us(us, moment.tzinfo)
    assert to_us(back) == us
    assert back.replace(tzinfo=None) == moment.replace(tzinfo=None)
    assert back.utcoffset() == moment.utcoffset()


@SETTINGS
@given(instants, zones)
def test_from_us_then_to_us_is_the_identity(us: int, zone: ZoneInfo) -> None:
    assert to_us(from_us(us, zone)) == us


def test_to_us_is_exact_far_from_the_epoch() -> None:
    # A float timestamp cannot hold these microseconds exactly.
    moment = datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    days = date(9999, 12, 31).toordinal() - date(1970, 1, 1).toordinal()
    assert to_us(moment) == ((days * 86_400 + 86_399) * 1_000_000) + 999_999
    assert to_us(datetime(1, 1, 1, tzinfo=UTC)) == -62_135_596_800_000_000


def test_to_us_knows_the_zone_offset() -> None:
    assert to_us(datetime(2026, 3, 14, 8, tzinfo=SHANGHAI)) == to_us(
        datetime(2026, 3, 14, 0, tzinfo=UTC)
    )
    assert to_us(datetime(2026, 3, 14, 8, tzinfo=timezone(timedelta(hours=8)))) == to_us(
        datetime(2026, 3, 14, 0, tzinfo=UTC)
    )


def test_a_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_us(datetime(2026, 3, 14, 8, 0))  # noqa: DTZ001 - the point of the test


def test_from_us_defaults_to_utc() -> None:
    assert from_us(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert from_us(0).tzinfo is UTC


def test_a_wall_time_skipped_by_dst_moves_to_the_moment_of_the_jump() -> None:
    # London skips 01:00-02:00 on 2026-03-29; the clocks read 02:00 BST at 01:00 UTC.
    for wall in (time(1, 0), time(1, 30), time(1, 59, 59, 999_999)):
        us = local_instant(date(2026, 3, 29), wall, LONDON)
        assert from_us(us, UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    before = local_instant(date(2026, 3, 29), time(0, 59, 59, 999_999), LONDON)
    assert from_us(before, UTC) == datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC)


def test_a_wall_time_that_happens_twice_means_the_earlier_one() -> None:
    # London repeats 01:00-02:00 on 2026-10-25: first in BST (+1), then in GMT.
    us = local_instant(date(2026, 10, 25), time(1, 30), LONDON)
    assert from_us(us, UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert from_us(us, LONDON).fold == 0


def test_local_days_start_at_local_midnight_and_end_one_microsecond_before_the_next() -> None:
    start = start_of_local_day(date(2026, 3, 14), SHANGHAI)
    end = end_of_local_day(date(2026, 3, 14), SHANGHAI)
    assert from_us(start, UTC) == datetime(2026, 3, 13, 16, tzinfo=UTC)
    assert end == start + 24 * HOUR - 1
    assert local_date(end, SHANGHAI) == date(2026, 3, 14)
    assert local_date(end + 1, SHANGHAI) == date(2026, 3, 15)


def test_local_days_with_a_dst_change_last_23_or_25_hours() -> None:
    spring = date(2026, 3, 29)
    autumn = date(2026, 10, 25)
    assert end_of_local_day(spring, LONDON) + 1 - start_of_local_day(spring, LONDON) == 23 * HOUR
    assert end_of_local_day(autumn, LONDON) + 1 - start_of_local_day(autumn, LONDON) == 25 * HOUR


def test_a_day_whose_midnight_is_skipped_starts_at_the_jump() -> None:
    # Sao Paulo moved its clocks from 00:00 to 01:00 on 2018-11-04.
    sao_paulo = ZoneInfo("America/Sao_Paulo")
    start = start_of_local_day(date(2018, 11, 4), sao_paulo)
    assert from_us(start, sao_paulo) == datetime(2018, 11, 4, 1, 0, tzinfo=sao_paulo)
    assert local_date(start - 1, sao_paulo) == date(2018, 11, 3)


@SETTINGS
@given(aware_datetimes)
def test_a_local_day_holds_every_instant_whose_local_date_it_is(moment: datetime) -> None:
    zone = moment.tzinfo
    assert isinstance(zone, ZoneInfo)
    us = to_us(moment)
    day = local_date(us, zone)
    assert start_of_local_day(day, zone) <= us <= end_of_local_day(day, zone)
    assert local_date(start_of_local_day(day, zone), zone) == day
    assert local_date(start_of_local_day(day, zone) - 1, zone) == day - timedelta(days=1)


fixed_offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@SETTINGS
@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=fixed_offsets,
    )
)
def test_fixed_offsets_take_a_fast_route_to_the_same_microsecond(moment: datetime) -> None:
    # Parsed event times carry a datetime.timezone: to_us reads their fields instead of
    # subtracting datetimes, and must agree with the exact timedelta arithmetic.
    exact = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert to_us(moment) == exact
    assert to_us(from_us(exact, moment.tzinfo)) == exact  # type: ignore[arg-type]


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=10**15),
            st.sampled_from([-300, 0, 480, 480, 330, 345]),  # minutes: repeats are the point
        ),
        min_size=1,
        max_size=12,
    )
)
def test_the_last_offset_remembered_never_leaks_into_another_zone(
    items: list[tuple[int, int]],
) -> None:
    # to_us remembers the last fixed offset it converted (compared by equality, each
    # parse makes a new timezone object): zones that alternate must each get their own.
    for us, minutes in items:
        zone = timezone(timedelta(minutes=minutes))  # a new object each time, as parsing makes
        moment = datetime(1970, 1, 1, tzinfo=UTC).astimezone(zone) + timedelta(microseconds=us)
        assert to_us(moment) == us
