"""Working-day calendars: CN make-up days, GB and HK holidays, the known range of years."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commitrules.errors import CalendarError
from commitrules.eventtime import CalendarSpec, WorkingDayCalendar, _calendars

SETTINGS = settings(deadline=None, database=None)

CN = WorkingDayCalendar(CalendarSpec("CN"))


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- mainland China -----------------------------------------------------------------


def test_the_package_publishes_the_2026_state_council_schedule() -> None:
    # What the installed holidays data says; the calendar below must agree with it.
    data = holidays.country_holidays("CN", years=2026)
    assert {day for day in data.weekend_workdays if day.year == 2026} == {
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }
    assert max(holidays.countries.china.ChinaStaticHolidays.special_public_holidays) == 2026


def test_cn_derives_its_last_year_from_the_announced_schedules() -> None:
    assert (CN.first_year, CN.last_year) == (2000, 2026)


def test_cn_spring_festival_2026_is_nine_days_off_between_two_working_saturdays() -> None:
    assert not any(CN.is_working_day(day) for day in days(date(2026, 2, 15), date(2026, 2, 23)))
    assert CN.is_working_day(date(2026, 2, 14))  # Saturday, make-up working day
    assert CN.is_working_day(date(2026, 2, 28))  # Saturday, make-up working day
    assert CN.is_working_day(date(2026, 2, 13))
    assert CN.is_working_day(date(2026, 2, 24))
    assert not CN.is_working_day(date(2026, 2, 21))  # an ordinary Saturday inside the break
    assert not CN.is_working_day(date(2026, 3, 7))  # an ordinary Saturday after it


def test_cn_national_day_2026_is_off_from_1_to_7_october() -> None:
    assert not any(CN.is_working_day(day) for day in days(date(2026, 10, 1), date(2026, 10, 7)))
    assert CN.is_working_day(date(2026, 9, 20))  # Sunday, make-up working day
    assert CN.is_working_day(date(2026, 10, 10))  # Saturday, make-up working day
    assert CN.is_working_day(date(2026, 10, 8))
    assert CN.is_working_day(date(2026, 9, 30))


def test_cn_weekend_working_days_in_2026_are_exactly_the_make_up_days() -> None:
    worked_weekends = {
        day
        for day in days(date(2026, 1, 1), date(2026, 12, 31))
        if day.weekday() >= 5 and CN.is_working_day(day)
    }
    assert worked_weekends == {
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }


def test_cn_past_years_are_known_too() -> None:
    # 2025: the Spring Festival ran 28 Jan to 4 Feb, with Sunday 26 Jan and Saturday 8 Feb worked.
    assert not CN.is_working_day(date(2025, 1, 28))
    assert not CN.is_working_day(date(2025, 2, 4))
    assert CN.is_working_day(date(2025, 1, 26))
    assert CN.is_working_day(date(2025, 2, 8))


STRICT_CN = WorkingDayCalendar(CalendarSpec("CN", strict=True))


def test_a_year_beyond_the_announced_schedules_is_provisional_not_refused() -> None:
    # No event is rejected because a calendar runs out: 2027 counts on the package's
    # projection of the statutory holidays, and says so.
    assert CN.is_working_day(date(2027, 1, 4))
    year = CN.year(2027)
    assert year.status == "provisional"
    assert year.derived is not None
    assert year.derived.method == "package"
    assert not CN.is_working_day(date(2027, 10, 1))  # National Day follows a rule
    assert CN.year(2026).status == "official"


def test_a_strict_calendar_refuses_a_year_beyond_the_announced_schedules() -> None:
    with pytest.raises(CalendarError, match="2027") as caught:
        STRICT_CN.is_working_day(date(2027, 1, 4))
    message = str(caught.value)
    assert "2000 to 2026" in message
    assert "known_through" in message
    assert "extra_working_days" in message
    assert "calendar file" in message


def test_a_strict_calendar_refuses_a_year_before_known_from() -> None:
    with pytest.raises(CalendarError, match="1999"):
        STRICT_CN.is_working_day(date(1999, 12, 31))
    assert CN.year(1999).status == "provisional"


def test_counting_into_a_provisional_year_is_marked_not_refused() -> None:
    assert CN.add_working_days(date(2026, 12, 28), 5) == date(2027, 1, 5)
    assert CN.provisional_between(date(2026, 12, 28), date(2027, 1, 5))
    assert not CN.provisional_between(date(2026, 1, 5), date(2026, 12, 31))
    assert "CN 2027 provisional" in CN.describe_between(date(2026, 12, 28), date(2027, 1, 5))
    assert CN.working_days_between(date(2026, 12, 1), date(2027, 1, 10)) > 0


def test_a_strict_calendar_refuses_counting_past_the_last_known_year() -> None:
    with pytest.raises(CalendarError, match="does not know 2027 while counting 5 working days"):
        STRICT_CN.add_working_days(date(2026, 12, 28), 5)
    with pytest.raises(CalendarError, match="2027"):
        STRICT_CN.working_days_between(date(2026, 12, 1), date(2027, 1, 10))


def test_known_through_makes_the_package_years_official() -> None:
    calendar = WorkingDayCalendar(CalendarSpec("CN", known_through=2027, strict=True))
    assert calendar.last_year == 2027
    assert calendar.is_working_day(date(2027, 1, 4))
    assert calendar.year(2027).status == "official"
    assert not calendar.is_working_day(date(2027, 10, 1))  # National Day follows a rule
    with pytest.raises(CalendarError, match="2028"):
        calendar.is_working_day(date(2028, 1, 3))


def test_the_banks_own_days_override_the_public_calendar() -> None:
    calendar = WorkingDayCalendar(
        CalendarSpec(
            "CN",
            extra_days_off=frozenset({date(2026, 3, 2), date(2026, 3, 9)}),
            extra_working_days=frozenset({date(2026, 2, 16), date(2026, 3, 8), date(2026, 3, 9)}),
        )
    )
    assert not calendar.is_working_day(date(2026, 3, 2))  # a Monday the bank closes
    assert calendar.is_working_day(date(2026, 2, 16))  # New Year's Eve, worked by the bank
    assert calendar.is_working_day(date(2026, 3, 8))  # a Sunday worked by the bank
    assert calendar.is_working_day(date(2026, 3, 9))  # in both sets: working wins
    assert calendar.add_working_days(date(2026, 2, 13), 3) == date(2026, 2, 24)


# --- counting working days ------------------------------------------------------------


def test_add_working_days_counts_days_after_the_start() -> None:
    assert CN.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert CN.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert CN.add_working_days(date(2026, 2, 13), 5) == date(2026, 2, 27)
    assert CN.add_working_days(date(2026, 2, 16), 1) == date(2026, 2, 24)  # start on a holiday
    # Across a year end: 31 Dec works, 1-3 Jan are off, Sunday 4 Jan is a make-up day.
    assert CN.add_working_days(date(2025, 12, 30), 2) == date(2026, 1, 4)
    assert CN.add_working_days(date(2025, 12, 30), 3) == date(2026, 1, 5)


def test_add_zero_working_days_is_the_day_itself_or_the_next_working_day() -> None:
    assert CN.add_working_days(date(2026, 2, 13), 0) == date(2026, 2, 13)
    assert CN.add_working_days(date(2026, 2, 15), 0) == date(2026, 2, 24)


def test_a_negative_count_is_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        CN.add_working_days(date(2026, 2, 13), -1)


def test_working_days_between_counts_the_half_open_interval() -> None:
    assert CN.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6
    assert CN.working_days_between(date(2026, 2, 13), date(2026, 2, 13)) == 0
    assert CN.working_days_between(date(2026, 2, 28), date(2026, 2, 13)) == -6
    assert CN.working_days_between(date(2025, 12, 31), date(2026, 1, 5)) == 2  # 4th and 5th


cn_days = st.dates(min_value=date(2000, 1, 1), max_value=date(2026, 10, 1))


@SETTINGS
@given(cn_days, st.integers(min_value=1, max_value=60))
def test_adding_n_working_days_lands_n_working_days_later(start: date, count: int) -> None:
    due = CN.add_working_days(start, count)
    assert CN.is_working_day(due)
    assert CN.working_days_between(start, due) == count
    assert CN.working_days_between(start, due - timedelta(days=1)) == count - 1


@SETTINGS
@given(cn_days, cn_days)
def test_working_days_between_matches_a_day_by_day_count(start: date, end: date) -> None:
    low, high = min(start, end), max(start, end)
    if (high - low).days > 400:
        high = low + timedelta(days=400)
    expected = sum(CN.is_working_day(day) for day in days(low + timedelta(days=1), high))
    assert CN.working_days_between(low, high) == expected
    assert CN.working_days_between(high, low) == -expected


def test_each_year_is_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[int] = []
    original = _calendars._build_year

    def counting(spec: CalendarSpec, year: _calendars.CalendarYear) -> _calendars._YearTable:
        built.append(year.year)
        return original(spec, year)

    monkeypatch.setattr(_calendars, "_build_year", counting)
    calendar = WorkingDayCalendar(CalendarSpec("CN"))
    for day in days(date(2026, 1, 1), date(2026, 12, 31)):
        calendar.is_working_day(day)
    calendar.add_working_days(date(2026, 1, 5), 100)
    assert built == [2026]


# --- other countries ------------------------------------------------------------------


def test_england_bank_holidays_with_an_explicit_horizon() -> None:
    calendar = WorkingDayCalendar(CalendarSpec("GB", "ENG", known_through=2026))
    off = [
        date(2026, 1, 1),
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 4),
        date(2026, 5, 25),
        date(2026, 8, 31),
        date(2026, 12, 25),
        date(2026, 12, 28),  # Boxing Day falls on a Saturday: substitute Monday
    ]
    assert not any(calendar.is_working_day(day) for day in off)
    assert calendar.is_working_day(date(2026, 1, 2))  # a holiday in Scotland only
    assert calendar.is_working_day(date(2026, 8, 3))  # Scotland's summer holiday
    assert not calendar.is_working_day(date(2023, 5, 8))  # the coronation, a one-off
    assert calendar.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)


def test_england_without_a_horizon_is_official_to_the_last_one_off_holiday() -> None:
    calendar = WorkingDayCalendar(CalendarSpec("GB", "ENG"))
    assert calendar.last_year == 2023
    assert calendar.year(2026).status == "provisional"
    assert not calendar.is_working_day(date(2026, 12, 25))  # the package's rules still apply
    with pytest.raises(CalendarError, match="2026"):
        WorkingDayCalendar(CalendarSpec("GB", "ENG", strict=True)).is_working_day(date(2026, 1, 5))


def test_hong_kong_statutory_and_general_holidays() -> None:
    statutory = WorkingDayCalendar(CalendarSpec("HK", known_through=2026))
    general = WorkingDayCalendar(
        CalendarSpec("HK", known_through=2026, holiday_categories=frozenset({"public", "optional"}))
    )
    for calendar in (statutory, general):
        for day in (date(2026, 2, 17), date(2026, 2, 19), date(2026, 7, 1), date(2026, 10, 1)):
            assert not calendar.is_working_day(day)
        assert calendar.is_working_day(date(2026, 2, 20))
    # Good Friday is a general (bank) holiday but not a statutory one.
    assert statutory.is_working_day(date(2026, 4, 3))
    assert not general.is_working_day(date(2026, 4, 3))
    assert general.add_working_days(date(2026, 4, 2), 1) == date(2026, 4, 8)


def test_weekends_only_calendar_runs_to_the_last_representable_year() -> None:
    calendar = WorkingDayCalendar(CalendarSpec(None))
    assert calendar.last_year == 9999
    assert calendar.year(2031).status == "official"  # weekends only by the pack's choice
    assert calendar.is_working_day(date(2026, 10, 1))
    assert not calendar.is_working_day(date(2026, 10, 3))
    assert calendar.add_working_days(date(2031, 1, 3), 1) == date(2031, 1, 6)


def test_a_custom_weekend() -> None:
    calendar = WorkingDayCalendar(CalendarSpec(None, weekend=frozenset({4, 5})))
    assert not calendar.is_working_day(date(2026, 3, 13))  # Friday
    assert calendar.is_working_day(date(2026, 3, 15))  # Sunday


# --- construction errors --------------------------------------------------------------


def test_an_unknown_country_is_refused() -> None:
    with pytest.raises(CalendarError, match="no calendar for country 'ZZ'"):
        WorkingDayCalendar(CalendarSpec("ZZ", known_through=2026))


def test_an_unknown_subdivision_is_refused() -> None:
    with pytest.raises(CalendarError, match="ENG, NIR, SCT, WLS"):
        WorkingDayCalendar(CalendarSpec("GB", "XX", known_through=2026))


def test_an_unknown_holiday_category_is_refused() -> None:
    with pytest.raises(CalendarError, match="no holiday category bank"):
        WorkingDayCalendar(CalendarSpec("CN", holiday_categories=frozenset({"bank"})))


def test_a_country_with_no_announced_data_is_provisional_unless_known_through() -> None:
    france = WorkingDayCalendar(CalendarSpec("FR"))
    assert france.last_year == 0
    assert france.year(2026).status == "provisional"
    with pytest.raises(CalendarError, match="set known_through"):
        WorkingDayCalendar(CalendarSpec("FR", strict=True))
    assert WorkingDayCalendar(CalendarSpec("FR", known_through=2026)).last_year == 2026


def test_a_strict_horizon_before_known_from_is_refused() -> None:
    with pytest.raises(CalendarError, match="would cover no year"):
        WorkingDayCalendar(CalendarSpec("HK", known_from=2020, strict=True))
    assert WorkingDayCalendar(CalendarSpec("HK", known_from=2020)).year(2026).provisional


def test_known_through_past_the_package_data_is_refused() -> None:
    with pytest.raises(CalendarError, match="only up to 2100"):
        WorkingDayCalendar(CalendarSpec("CN", known_through=2200))


def test_invalid_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="before known_from"):
        CalendarSpec("CN", known_through=1999)
    with pytest.raises(ValueError, match="seven days"):
        CalendarSpec(None, weekend=frozenset(range(7)))
    with pytest.raises(ValueError, match=r"0\.\.6"):
        CalendarSpec(None, weekend=frozenset({7}))
    with pytest.raises(ValueError, match="needs a country"):
        CalendarSpec(None, subdivision="ENG")
    with pytest.raises(TypeError, match=r"datetime\.date"):
        CalendarSpec("CN", extra_days_off=frozenset({datetime(2026, 3, 2)}))  # noqa: DTZ001
    with pytest.raises(TypeError, match="frozenset"):
        CalendarSpec("CN", extra_working_days={date(2026, 3, 2)})  # type: ignore[arg-type]
