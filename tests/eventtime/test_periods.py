"""Calendar periods: boundaries at local midnights, ISO weeks, labels that round-trip."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commitrules.eventtime import (
    Period,
    PeriodUnit,
    from_us,
    next_period,
    parse_period,
    period_of,
    to_us,
)

SETTINGS = settings(deadline=None, database=None)

LONDON = ZoneInfo("Europe/London")
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = 3_600_000_000
DAY = 24 * HOUR


def local(period: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return from_us(period.start_us, zone), from_us(period.end_us, zone)


@pytest.mark.parametrize(
    ("unit", "label", "start", "end"),
    [
        ("day", "2026-03-14", date(2026, 3, 14), date(2026, 3, 15)),
        ("week", "2026-W11", date(2026, 3, 9), date(2026, 3, 16)),
        ("month", "2026-03", date(2026, 3, 1), date(2026, 4, 1)),
        ("quarter", "2026Q1", date(2026, 1, 1), date(2026, 4, 1)),
        ("half_year", "2026H1", date(2026, 1, 1), date(2026, 7, 1)),
        ("year", "2026", date(2026, 1, 1), date(2027, 1, 1)),
    ],
)
def test_periods_in_shanghai_run_between_local_midnights(
    unit: PeriodUnit, label: str, start: date, end: date
) -> None:
    moment = to_us(datetime(2026, 3, 14, 10, 30, tzinfo=SHANGHAI))
    period = period_of(moment, unit, SHANGHAI)
    assert period.unit == unit
    assert period.label == label
    assert local(period, SHANGHAI) == (
        datetime.combine(start, time(0), tzinfo=SHANGHAI),
        datetime.combine(end, time(0), tzinfo=SHANGHAI),
    )


def test_a_boundary_instant_belongs_to_the_period_it_starts() -> None:
    april = to_us(datetime(2026, 4, 1, tzinfo=SHANGHAI))
    assert period_of(april, "quarter", SHANGHAI).label == "2026Q2"
    assert period_of(april - 1, "quarter", SHANGHAI).label == "2026Q1"
    # 1 April 00:00 in Shanghai is 31 March 16:00 UTC: the zone decides, not UTC.
    assert period_of(april, "month", ZoneInfo("UTC")).label == "2026-03"


def test_london_periods_that_hold_a_dst_change_are_an_hour_short_or_long() -> None:
    march = parse_period("2026-03", LONDON)
    october = parse_period("2026-10", LONDON)
    assert march.end_us - march.start_us == 31 * DAY - HOUR
    assert october.end_us - october.start_us == 31 * DAY + HOUR
    assert from_us(march.end_us, LONDON) == datetime(2026, 4, 1, tzinfo=LONDON)
    assert from_us(march.end_us, UTC) == datetime(2026, 3, 31, 23, tzinfo=UTC)
    spring_day = parse_period("2026-03-29", LONDON)
    autumn_day = parse_period("2026-10-25", LONDON)
    assert spring_day.end_us - spring_day.start_us == 23 * HOUR
    assert autumn_day.end_us - autumn_day.start_us == 25 * HOUR
    week = period_of(to_us(datetime(2026, 3, 29, 12, tzinfo=LONDON)), "week", LONDON)
    assert week.label == "2026-W13"
    assert week.end_us - week.start_us == 7 * DAY - HOUR
    assert parse_period("2026H1", LONDON).end_us - parse_period("2026H1", LONDON).start_us == (
        181 * DAY - HOUR
    )
    year = parse_period("2026", LONDON)
    assert year.end_us - year.start_us == 365 * DAY


def test_quarters_and_half_years_in_london() -> None:
    moment = to_us(datetime(2026, 10, 25, 1, 30, tzinfo=LONDON))  # in the repeated hour
    assert period_of(moment, "quarter", LONDON).label == "2026Q4"
    assert period_of(moment, "half_year", LONDON).label == "2026H2"
    assert local(period_of(moment, "quarter", LONDON), LONDON) == (
        datetime(2026, 10, 1, tzinfo=LONDON),
        datetime(2027, 1, 1, tzinfo=LONDON),
    )


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2027, 1, 1), "2026-W53"),  # 2026 has 53 ISO weeks
        (date(2026, 12, 31), "2026-W53"),
        (date(2027, 1, 4), "2027-W01"),
        (date(2024, 12, 30), "2025-W01"),  # a Monday in December of ISO year 2025
        (date(2026, 1, 1), "2026-W01"),
    ],
)
def test_weeks_are_iso_weeks_labelled_by_iso_year(day: date, label: str) -> None:
    period = period_of(to_us(datetime.combine(day, time(9), tzinfo=SHANGHAI)), "week", SHANGHAI)
    assert period.label == label
    assert from_us(period.start_us, SHANGHAI).weekday() == 0


def test_next_period_follows_on() -> None:
    assert next_period(parse_period("2026-12", SHANGHAI), SHANGHAI).label == "2027-01"
    assert next_period(parse_period("2026Q4", SHANGHAI), SHANGHAI).label == "2027Q1"
    assert next_period(parse_period("2026H1", SHANGHAI), SHANGHAI).label == "2026H2"
    assert next_period(parse_period("2026-W53", SHANGHAI), SHANGHAI).label == "2027-W01"
    assert next_period(parse_period("2028-02-28", SHANGHAI), SHANGHAI).label == "2028-02-29"
    assert next_period(parse_period("2026", SHANGHAI), SHANGHAI).label == "2027"


def test_the_last_period_cache_does_not_mix_zones_or_units() -> None:
    moment = to_us(datetime(2026, 3, 31, 20, tzinfo=UTC))  # 1 April in Shanghai
    assert period_of(moment, "month", SHANGHAI).label == "2026-04"
    assert period_of(moment, "month", LONDON).label == "2026-03"
    assert period_of(moment, "quarter", SHANGHAI).label == "2026Q2"
    assert period_of(moment, "month", SHANGHAI).label == "2026-04"
    assert period_of(moment + DAY * 40, "month", SHANGHAI).label == "2026-05"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "26",
        "2026-3",
        "2026-13",
        "2026-00",
        "2026-02-30",
        "2026Q0",
        "2026Q5",
        "2026H3",
        "2026-W00",
        "2026-W54",
        "2025-W53",  # ISO 2025 has 52 weeks
        "2026-w11",
        " 2026",
        "2026 ",
        "2026\n",
        "0000",
        "\uff12\uff10\uff12\uff16",  # full-width digits
        "2026-03-14T00:00",
    ],
)
def test_bad_labels_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a period label"):
        parse_period(text, SHANGHAI)


def test_an_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown period unit"):
        period_of(0, "fortnight", SHANGHAI)  # type: ignore[arg-type]


UNITS: list[PeriodUnit] = ["day", "week", "month", "quarter", "half_year", "year"]
ZONES = [
    ZoneInfo(name)
    for name in (
        "UTC",
        "Asia/Shanghai",
        "Europe/London",
        "America/New_York",
        "Australia/Lord_Howe",
        "America/Sao_Paulo",
    )
]
instants = st.integers(
    min_value=to_us(datetime(1990, 1, 1, tzinfo=UTC)),
    max_value=to_us(datetime(2100, 1, 1, tzinfo=UTC)),
)


@SETTINGS
@given(instants, st.sampled_from(UNITS), st.sampled_from(ZONES))
def test_a_period_holds_its_instant_and_the_next_one_starts_where_it_ends(
    us: int, unit: PeriodUnit, zone: ZoneInfo
) -> None:
    period = period_of(us, unit, zone)
    assert period.start_us <= us < period.end_us
    following = next_period(period, zone)
    assert following.start_us == period.end_us
    assert following.label > period.label
    assert period_of(period.start_us - 1, unit, zone).end_us == period.start_us
    assert period_of(period.end_us - 1, unit, zone) == period


@SETTINGS
@given(instants, st.sampled_from(UNITS), st.sampled_from(ZONES))
def test_labels_round_trip_through_parse_period(us: int, unit: PeriodUnit, zone: ZoneInfo) -> None:
    period = period_of(us, unit, zone)
    assert parse_period(period.label, zone) == period


@SETTINGS
@given(instants, st.sampled_from(ZONES))
def test_periods_nest(us: int, zone: ZoneInfo) -> None:
    spans = [period_of(us, unit, zone) for unit in ("day", "month", "quarter", "half_year")]
    spans.append(period_of(us, "year", zone))
    for inner, outer in pairwise(spans):
        assert outer.start_us <= inner.start_us < inner.end_us <= outer.end_us
    week = period_of(us, "week", zone)
    assert week.end_us - week.start_us >= 7 * DAY - 2 * HOUR
    assert timedelta(microseconds=week.end_us - week.start_us) <= timedelta(days=7, hours=2)
