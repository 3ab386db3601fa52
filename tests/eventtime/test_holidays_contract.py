"""What commitrules reads from the ``holidays`` package: a change there fails here, by name.

``eventtime._calendars`` uses the package's public API (``country_holidays``,
``list_supported_countries``, ``supported_categories``, ``start_year``/``end_year``,
``weekend_workdays``) and one thing that is not: to know how far a calendar is announced
(not projected from statutory rules), it reads the one-off entries the package keeps per
year in attributes named ``special_{subdivision_}{category}_holidays[_observed]``. The
package may rename those without notice; if it does, a calendar would silently stop at the
wrong year. These tests pin what is read, and check it against the public data.
"""

from __future__ import annotations

import datetime as dt

import holidays
import pytest

from commitrules.eventtime import CalendarSpec, WorkingDayCalendar, _calendars

#: The calendars of the bundled pack: pack.yaml (CN) and the hk and uk profiles.
BUNDLED = (
    CalendarSpec("CN"),
    CalendarSpec("HK", known_through=2027, holiday_categories=frozenset({"public", "optional"})),
    CalendarSpec("GB", subdivision="ENG", known_through=2027),
)
#: The first year the default pack judges; the CN calendar must be announced through it.
JUDGED = 2026


def test_the_public_api_we_call_is_there() -> None:
    supported = holidays.list_supported_countries()
    assert {"CN", "HK", "GB"} <= set(supported)
    assert "ENG" in supported["GB"]
    assert isinstance(holidays.version.__version__, str)
    for spec in BUNDLED:
        data = holidays.country_holidays(spec.country, subdiv=spec.subdivision)
        assert isinstance(data, holidays.HolidayBase)
        assert isinstance(data.start_year, int)
        assert isinstance(data.end_year, int)
        assert data.start_year <= 2000
        assert data.end_year >= JUDGED + 1
        categories = {category.lower() for category in data.supported_categories}
        assert spec.holiday_categories <= categories, (spec, categories)
        assert isinstance(data.weekend_workdays, set)
        assert isinstance(getattr(data, "subdivisions_aliases", {}), dict)


def test_an_unknown_subdivision_is_still_a_not_implemented_error() -> None:
    # WorkingDayCalendar turns exactly this exception into a CalendarError listing the codes.
    with pytest.raises(NotImplementedError):
        holidays.country_holidays("GB", subdiv="XX")


def test_the_private_names_read_for_mainland_china_exist_and_are_keyed_by_year() -> None:
    data = holidays.country_holidays("CN")
    entries = vars(data).get("special_public_holidays")
    assert isinstance(entries, dict), (
        "holidays no longer keeps China's announced schedules in 'special_public_holidays': "
        "eventtime._calendars._latest_announced_year must be changed"
    )
    assert all(isinstance(year, int) for year in entries)
    assert max(entries) >= JUDGED


def test_the_private_read_agrees_with_the_public_make_up_working_days() -> None:
    # The State Council's yearly schedule is what gives China its weekend working days (调休):
    # the years that have some in the public data are the years the private entries list.
    data = holidays.country_holidays("CN")
    private_years = set(data.special_public_holidays)
    first, last = min(private_years), max(private_years)
    public = holidays.country_holidays("CN", years=range(first, last + 2))
    public_years = {day.year for day in public.weekend_workdays}
    assert public_years == private_years
    spec = CalendarSpec("CN")
    assert _calendars._latest_announced_year(data, None, spec.holiday_categories) == last


def test_the_default_pack_calendars_reach_the_years_it_judges() -> None:
    for spec in BUNDLED:
        calendar = WorkingDayCalendar(spec)
        assert calendar.last_year >= JUDGED, spec
        assert calendar.is_working_day(dt.date(JUDGED, 7, 1)) in (True, False)


def test_the_cn_calendar_ends_with_the_packages_announced_data() -> None:
    calendar = WorkingDayCalendar(CalendarSpec("CN"))
    last = max(holidays.country_holidays("CN").special_public_holidays)
    assert calendar.last_year == last
    source = calendar.year(last).source
    assert source is not None
    assert holidays.version.__version__ in source.describe()
    assert calendar.year(last + 1).status == "provisional"
