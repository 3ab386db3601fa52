"""Working-day calendars: public holidays, weekends and official make-up working days.

A calendar answers year by year, and every year has a **status** and a **source**:

* ``official``: the days as an issuer published them (a pack's calendar file cites the
  notice: issuer, document number, date, link), or as the ``holidays`` package encodes an
  announced year (its version is the source);
* ``provisional``: derived, not announced: a pack's calendar file says how (statutory
  rules, a package, weekends only), or, for a year nobody listed, the ``holidays``
  package's projection of the statutory rules (make-up working days unknown), or weekends
  only.

Where a year comes from, in this order:

1. the pack's calendar file for the jurisdiction (:class:`CalendarData`), if it lists the
   year;
2. the ``holidays`` package (``country`` set): official for the years it has announced
   data for (for mainland China the State Council's yearly schedules) or up to
   ``known_through`` when the pack vouches for them, provisional beyond (the package's
   statutory projection);
3. weekends only, provisional.

A working day is then decided in this order:

1. a date in :attr:`CalendarSpec.extra_working_days` (the bank's own make-up days) works;
2. a date in :attr:`CalendarSpec.extra_days_off` (the bank's own closures) does not;
3. a make-up working day of the year works, a day off of the year does not;
4. a weekend day does not; every other day works.

By default a calendar never refuses a date: past the last official year it counts on the
provisional days, and the engine marks what it counted that way (``provisional``). In
``strict`` mode (the behaviour of earlier releases) a provisional year raises
:class:`~commitrules.errors.CalendarError` instead.

"Public holiday" in the package means a holiday in :attr:`CalendarSpec.holiday_categories`,
by default the ``"public"`` category. For Hong Kong that category is the statutory
(Employment Ordinance) list; the general holidays on which banks close are its
``"optional"`` category.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from datetime import MAXYEAR, MINYEAR, date, timedelta
from functools import lru_cache
from typing import Literal

import attrs
import holidays
from holidays.version import __version__ as holidays_version

from commitrules.errors import CalendarError

__all__ = [
    "CalendarData",
    "CalendarSpec",
    "CalendarYear",
    "Derivation",
    "OfficialSource",
    "WorkingDayCalendar",
    "holidays_version",
]

_ONE_DAY = timedelta(days=1)
_WEEKDAYS = frozenset(range(7))
YearStatus = Literal["official", "provisional"]


def _check_days(
    instance: object, attribute: attrs.Attribute[frozenset[date]], value: object
) -> None:
    if not isinstance(value, frozenset):
        message = f"{attribute.name} must be a frozenset of dates, not {type(value).__name__}"
        raise TypeError(message)
    for day in value:
        # A datetime is a date subclass but never equals a date: it would silently not match.
        if type(day) is not date:
            message = f"{attribute.name} must hold datetime.date values, not {day!r}"
            raise TypeError(message)


def _check_weekend(
    instance: object, attribute: attrs.Attribute[frozenset[int]], value: object
) -> None:
    if not isinstance(value, frozenset) or not value <= _WEEKDAYS:
        message = f"weekend must be a frozenset of weekday numbers 0..6 (Monday=0), not {value!r}"
        raise ValueError(message)
    if value == _WEEKDAYS:
        message = "weekend cannot hold all seven days: no day would ever be a working day"
        raise ValueError(message)


def _check_categories(
    instance: object, attribute: attrs.Attribute[frozenset[str]], value: object
) -> None:
    if (
        not isinstance(value, frozenset)
        or not value
        or not all(isinstance(category, str) for category in value)
    ):
        message = f"holiday_categories must be a non-empty frozenset of names, not {value!r}"
        raise ValueError(message)


@attrs.frozen
class OfficialSource:
    """Where an official year was published."""

    issuer: str
    document: str
    date: date | None = None
    link: str | None = None
    title: str | None = None

    def describe(self) -> str:
        """``issuer document (date)``."""
        when = f" ({self.date.isoformat()})" if self.date is not None else ""
        return f"{self.issuer} {self.document}{when}"


@attrs.frozen
class Derivation:
    """How a provisional year's days were derived."""

    #: ``statutory`` (the statutory rules applied to the year), ``package`` (a calendar
    #: package's projection), ``weekends_only`` or ``other``.
    method: str
    package: str | None = None
    package_version: str | None = None
    note: str | None = None

    def describe(self) -> str:
        """``method`` and the package it came from, if any."""
        words = self.method.replace("_", " ")
        if self.package:
            version = f" {self.package_version}" if self.package_version else ""
            words += f", {self.package}{version}"
        return words


@attrs.frozen
class CalendarYear:
    """One year of a jurisdiction's calendar: its days, status and source."""

    year: int
    status: YearStatus
    days_off: frozenset[date] = attrs.field(default=frozenset(), validator=_check_days)
    working_days: frozenset[date] = attrs.field(default=frozenset(), validator=_check_days)
    source: OfficialSource | None = None
    derived: Derivation | None = None
    #: Display names of listed days (``date -> name``), in date order.
    names: tuple[tuple[date, str], ...] = ()

    def __attrs_post_init__(self) -> None:
        if not MINYEAR <= self.year <= MAXYEAR:
            message = f"year {self.year} is not a year from {MINYEAR} to {MAXYEAR}"
            raise ValueError(message)
        stray = sorted(d for d in self.days_off | self.working_days if d.year != self.year)
        if stray:
            message = f"{stray[0]} is not in {self.year}"
            raise ValueError(message)
        both = sorted(self.days_off & self.working_days)
        if both:
            message = f"{both[0]} is both a day off and a working day"
            raise ValueError(message)
        if self.status == "official" and self.source is None:
            message = f"{self.year} is official but names no source"
            raise ValueError(message)
        if self.status == "provisional" and self.derived is None:
            message = f"{self.year} is provisional but does not say how it was derived"
            raise ValueError(message)

    @property
    def provisional(self) -> bool:
        """Whether the year is provisional."""
        return self.status == "provisional"

    def describe(self) -> str:
        """``2026 official (issuer document (date))`` or ``2027 provisional (how)``."""
        if self.source is not None:
            return f"{self.year} {self.status} ({self.source.describe()})"
        assert self.derived is not None
        return f"{self.year} {self.status} ({self.derived.describe()})"


@attrs.frozen
class CalendarData:
    """A jurisdiction's calendar as a pack's calendar file states it."""

    jurisdiction: str
    years: tuple[CalendarYear, ...]
    weekend: frozenset[int] = attrs.field(default=frozenset({5, 6}), validator=_check_weekend)
    name: str | None = None

    def __attrs_post_init__(self) -> None:
        numbers = [item.year for item in self.years]
        if numbers != sorted(set(numbers)):
            message = "calendar years must be unique and in ascending order"
            raise ValueError(message)

    def year(self, number: int) -> CalendarYear | None:
        """The year as listed, or None."""
        return next((item for item in self.years if item.year == number), None)

    def merged(self, other: CalendarData) -> CalendarData:
        """This calendar with ``other``'s years replacing its own year by year."""
        years = {item.year: item for item in self.years}
        years.update({item.year: item for item in other.years})
        return attrs.evolve(
            other, years=tuple(years[number] for number in sorted(years)), name=other.name
        )


@attrs.frozen
class CalendarSpec:
    """What a pack says about its working days.

    >>> spec = CalendarSpec("CN", extra_days_off=frozenset({date(2026, 3, 2)}))
    >>> spec.known_from, spec.weekend
    (2000, frozenset({5, 6}))
    """

    #: ISO 3166 code understood by the ``holidays`` package ("CN", "HK", "GB"); ``None``
    #: means weekends and the bank's own days only (and the calendar file, if any).
    country: str | None = attrs.field(
        validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )
    #: Subdivision code for the ``holidays`` package, e.g. ``"ENG"`` for ``"GB"``.
    subdivision: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )
    #: The bank's own closures.
    extra_days_off: frozenset[date] = attrs.field(default=frozenset(), validator=_check_days)
    #: The bank's own make-up working days; they win over everything else.
    extra_working_days: frozenset[date] = attrs.field(default=frozenset(), validator=_check_days)
    #: Last year the package's data is trusted as official; ``None`` derives it from the
    #: package's announced data.
    known_through: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(int))
    )
    #: First year the package's data is trusted as official.
    known_from: int = attrs.field(default=2000, validator=attrs.validators.instance_of(int))
    #: Weekday numbers (Monday=0) that are weekend days.
    weekend: frozenset[int] = attrs.field(default=frozenset({5, 6}), validator=_check_weekend)
    #: Which of the ``holidays`` package's categories count as days off. The default,
    #: ``"public"``, is right for CN and GB; for HK ``"public"`` is only the statutory
    #: (Employment Ordinance) list, and a bank wants the general holidays as well:
    #: ``frozenset({"public", "optional"})``.
    holiday_categories: frozenset[str] = attrs.field(
        default=frozenset({"public"}), validator=_check_categories
    )
    #: The pack's calendar file for the jurisdiction, if it has one.
    data: CalendarData | None = None
    #: Refuse provisional years (raise CalendarError) instead of counting on them.
    strict: bool = False

    def __attrs_post_init__(self) -> None:
        if self.subdivision is not None and self.country is None:
            message = f"subdivision {self.subdivision!r} needs a country"
            raise ValueError(message)
        if not MINYEAR <= self.known_from <= MAXYEAR or not (
            self.known_through is None or MINYEAR <= self.known_through <= MAXYEAR
        ):
            message = f"known_from and known_through must be years {MINYEAR} to {MAXYEAR}"
            raise ValueError(message)
        if self.known_through is not None and self.known_through < self.known_from:
            message = (
                f"known_through ({self.known_through}) is before known_from ({self.known_from})"
            )
            raise ValueError(message)

    @property
    def jurisdiction(self) -> str:
        """``CN``, ``GB-ENG``; ``weekends only`` without a country."""
        if self.country is None:
            return self.data.jurisdiction if self.data is not None else "weekends only"
        if self.subdivision is None:
            return self.country
        return f"{self.country}-{self.subdivision}"

    @property
    def uses_package(self) -> bool:
        """Whether some year may come from the ``holidays`` package."""
        if self.country is None:
            return False
        return self.data is None or self.country in holidays.list_supported_countries()


@attrs.frozen
class _YearTable:
    """One year of a calendar, computed once: O(1) lookups, bisect for counting."""

    first_ordinal: int  # date(year, 1, 1).toordinal()
    flags: bytes  # flags[ordinal - first_ordinal] == 1 when that day is a working day
    working: tuple[int, ...]  # ordinals of the working days, ascending
    year: CalendarYear


class WorkingDayCalendar:
    """Answers "is this a working day?" and counts working days, year by year with a status.

    >>> calendar = WorkingDayCalendar(CalendarSpec("CN"))
    >>> calendar.is_working_day(date(2026, 2, 14))  # a Saturday made a working day
    True
    >>> calendar.add_working_days(date(2026, 2, 13), 1)
    datetime.date(2026, 2, 14)
    >>> calendar.year(2026).status, calendar.year(2031).status
    ('official', 'provisional')
    """

    __slots__ = (
        "_announced",
        "_horizon",
        "_official",
        "_package",
        "_package_end",
        "_package_start",
        "_tables",
        "first_year",
        "last_year",
        "spec",
    )

    spec: CalendarSpec
    first_year: int
    last_year: int

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.first_year = spec.known_from
        self._package = False
        self._package_start = self._package_end = 0
        self._announced: int | None = None
        if spec.country is not None:
            self._check_package(spec)
        listed = spec.data.years if spec.data is not None else ()
        official = [item.year for item in listed if not item.provisional]
        if self._announced is not None and self._announced >= self.first_year:
            official.append(self._announced)
        #: The last official year (0 when there is none).
        self.last_year = max(official, default=0)
        if spec.country is None and spec.data is None:
            # Weekends only: nothing to go stale, every year is as official as it gets.
            self.last_year = MAXYEAR
            self._horizon = "weekends only"
        elif official:
            self._horizon = f"official through {self.last_year}"
        else:
            self._horizon = "no official year"
        if spec.strict and self.last_year < self.first_year:
            message = (
                f"the working-day calendar for {spec.jurisdiction} would cover no year: "
                f"{self._horizon}, before known_from {self.first_year}; "
                f"set known_through to the last year the pack trusts the calendar for"
            )
            raise CalendarError(message)
        self._tables: dict[int, _YearTable] = {}
        # Whether each year asked about is official (asking resolves the year, which can
        # call the holidays package: every engine built from a pack asks for many years).
        self._official: dict[int, bool] = {}

    def __repr__(self) -> str:
        return (
            f"WorkingDayCalendar({self.spec.jurisdiction}, official through {self.last_year}"
            f"{', strict' if self.spec.strict else ''})"
        )

    # -- what a year is ----------------------------------------------------------------
    @property
    def strict(self) -> bool:
        """Whether provisional years are refused."""
        return self.spec.strict

    def year(self, number: int) -> CalendarYear:
        """The year's days, status and source (in strict mode, a provisional year raises)."""
        return self._year_table(number, None).year

    def is_official(self, number: int) -> bool:
        """Whether year ``number`` is official (never raises, strict or not)."""
        if not MINYEAR <= number <= MAXYEAR:
            return False
        known = self._official.get(number)
        if known is None:
            table = self._tables.get(number)
            year = table.year if table is not None else self._resolve(number)
            known = not year.provisional and (not self.spec.strict or number >= self.first_year)
            self._official[number] = known
        return known

    def provisional_between(self, start: date, end: date) -> bool:
        """Whether any year from ``start`` to ``end`` (inclusive) is provisional."""
        first, last = (start, end) if start <= end else (end, start)
        return any(self.year(number).provisional for number in range(first.year, last.year + 1))

    def describe_between(self, start: date, end: date) -> str:
        """The status of each year from ``start`` to ``end``: ``2026 official (…); 2027 …``."""
        first, last = (start, end) if start <= end else (end, start)
        return "; ".join(
            f"{self.spec.jurisdiction} {self.year(number).describe()}"
            for number in range(first.year, last.year + 1)
        )

    # -- answers -----------------------------------------------------------------------
    def is_working_day(self, day: date) -> bool:
        """Return whether ``day`` is a working day.

        >>> WorkingDayCalendar(CalendarSpec("CN")).is_working_day(date(2026, 10, 1))
        False
        """
        table = self._tables.get(day.year) or self._year_table(day.year, None)
        return table.flags[day.toordinal() - table.first_ordinal] == 1

    def add_working_days(self, day: date, count: int) -> date:
        """Return the ``count``-th working day after ``day``.

        ``count == 0`` returns ``day`` itself if it is a working day, else the next
        working day. Raises :class:`ValueError` for a negative count, and (strict mode
        only) :class:`~commitrules.errors.CalendarError` when the count runs into a
        provisional year.

        >>> calendar = WorkingDayCalendar(CalendarSpec("CN"))
        >>> calendar.add_working_days(date(2026, 2, 13), 2)  # over the Spring Festival
        datetime.date(2026, 2, 24)
        """
        if count < 0:
            message = f"cannot add a negative number of working days ({count})"
            raise ValueError(message)
        if count == 0:
            if self.is_working_day(day):
                return day
            count = 1
        remaining = count
        after = day.toordinal()
        year = day.year
        while True:
            if year > MAXYEAR:
                message = f"counting {count} working days after {day} runs past year {MAXYEAR}"
                raise CalendarError(message)
            table = self._tables.get(year) or self._year_table(
                year, f"counting {count} working days after {day}"
            )
            index = bisect_right(table.working, after)
            available = len(table.working) - index
            if remaining <= available:
                return date.fromordinal(table.working[index + remaining - 1])
            remaining -= available
            year += 1

    def working_days_between(self, start: date, end: date) -> int:
        """Return the number of working days in ``(start, end]``.

        Antisymmetric: when ``end`` is before ``start`` the result is
        ``-working_days_between(end, start)``.

        >>> calendar = WorkingDayCalendar(CalendarSpec("CN"))
        >>> calendar.working_days_between(date(2026, 2, 13), date(2026, 2, 24))
        2
        """
        if end < start:
            return -self.working_days_between(end, start)
        if end == start:
            return 0
        first = start + _ONE_DAY
        doing = f"counting working days from {start} to {end}"
        low, high = first.toordinal(), end.toordinal()
        total = 0
        for year in range(first.year, end.year + 1):
            table = self._tables.get(year) or self._year_table(year, doing)
            lo = bisect_left(table.working, low)
            hi = bisect_right(table.working, high)
            total += hi - lo
        return total

    # -- building ----------------------------------------------------------------------
    def _check_package(self, spec: CalendarSpec) -> None:
        """Validate the country against the package; find its announced horizon."""
        assert spec.country is not None
        version = holidays_version
        supported = holidays.list_supported_countries()
        if spec.country not in supported and spec.data is not None:
            return  # a jurisdiction the package does not know: the pack's file alone
        if spec.country not in supported:
            message = (
                f"the holidays package ({version}) has no calendar for country "
                f"{spec.country!r}; use an ISO 3166 code such as 'CN', 'HK' or 'GB', or "
                f"country None for weekends only (and a calendar file)"
            )
            raise CalendarError(message)
        try:
            # No years: only the country's metadata and its one-off (announced) entries.
            data = holidays.country_holidays(spec.country, subdiv=spec.subdivision)
        except NotImplementedError as error:  # the package's way of saying "unknown subdivision"
            known = ", ".join(supported[spec.country]) or "none"
            message = f"{error} (holidays {version}; subdivisions it knows: {known})"
            raise CalendarError(message) from error
        categories = frozenset(category.lower() for category in data.supported_categories)
        if not spec.holiday_categories <= categories:
            unknown = ", ".join(sorted(spec.holiday_categories - categories))
            message = (
                f"the holidays package ({version}) has no holiday category {unknown} for "
                f"{spec.jurisdiction}; it has: {', '.join(sorted(categories))}"
            )
            raise CalendarError(message)
        self._package = True
        self._package_start = int(data.start_year)
        self._package_end = int(data.end_year)
        if spec.known_from < data.start_year and spec.strict:
            message = (
                f"the holidays package ({version}) has {spec.country} holidays only from "
                f"{data.start_year}; set known_from to {data.start_year} or later"
            )
            raise CalendarError(message)
        if spec.known_through is not None:
            if spec.known_through > data.end_year:
                message = (
                    f"the holidays package ({version}) has {spec.country} holidays only up to "
                    f"{data.end_year}; set known_through to {data.end_year} or earlier"
                )
                raise CalendarError(message)
            self._announced = spec.known_through
            return
        self._announced = _latest_announced_year(data, spec.subdivision, spec.holiday_categories)
        if self._announced is None and spec.strict and spec.data is None:
            message = (
                f"the holidays package ({version}) has no announced (one-off) holiday data for "
                f"{spec.jurisdiction}, so it cannot tell how far its calendar is trustworthy; "
                f"set known_through to the last year the pack has checked the calendar for"
            )
            raise CalendarError(message)

    def _resolve(self, number: int) -> CalendarYear:
        """Where year ``number`` comes from (see the module's docstring)."""
        spec = self.spec
        listed = spec.data.year(number) if spec.data is not None else None
        if listed is not None:
            return listed
        if self._package and self._package_start <= number <= self._package_end:
            days_off, make_up = _package_year(spec, number)
            announced = self._announced
            if announced is not None and self.first_year <= number <= announced:
                source = OfficialSource(
                    issuer=f"as encoded in the holidays package {holidays_version}",
                    document=(
                        f"known_through {announced}"
                        if spec.known_through is not None
                        else "announced data"
                    ),
                )
                return CalendarYear(
                    number, "official", days_off=days_off, working_days=make_up, source=source
                )
            derivation = Derivation(
                method="package",
                package="holidays",
                package_version=holidays_version,
                note="the package's statutory projection; make-up working days unknown",
            )
            return CalendarYear(
                number, "provisional", days_off=days_off, working_days=make_up, derived=derivation
            )
        if spec.country is None and spec.data is None:
            return CalendarYear(number, "official", source=_WEEKENDS_ONLY_SOURCE)
        return CalendarYear(number, "provisional", derived=Derivation(method="weekends_only"))

    def _year_table(self, number: int, doing: str | None) -> _YearTable:
        table = self._tables.get(number)
        if table is not None:
            return table
        if not MINYEAR <= number <= MAXYEAR:
            message = f"year {number} is outside {MINYEAR} to {MAXYEAR}"
            raise CalendarError(message)
        year = self._resolve(number)
        if self.spec.strict and (year.provisional or number < self.first_year):
            context = f" while {doing}" if doing else ""
            message = (
                f"the working-day calendar for {self.spec.jurisdiction} does not know "
                f"{number}{context}: it covers {self.first_year} to {self.last_year} "
                f"({self._horizon}) and is strict. A bank can extend it: add the year to the "
                f"pack's calendar file, or set known_through (or known_from) to include "
                f"{number} and list that year's own closures and make-up working days in "
                f"extra_days_off / extra_working_days"
            )
            raise CalendarError(message)
        table = _build_year(self.spec, year)
        self._tables[number] = table
        return table


_WEEKENDS_ONLY_SOURCE = OfficialSource(issuer="the pack", document="weekends only, by choice")


def _package_year(spec: CalendarSpec, number: int) -> tuple[frozenset[date], frozenset[date]]:
    """(days off, make-up working days) of one year in the ``holidays`` package."""
    assert spec.country is not None
    return _package_days(
        spec.country, spec.subdivision, tuple(sorted(spec.holiday_categories)), number
    )


@lru_cache(maxsize=4096)
def _package_days(
    country: str, subdivision: str | None, categories: tuple[str, ...], number: int
) -> tuple[frozenset[date], frozenset[date]]:
    """:func:`_package_year`, once per process (the package's answer never changes)."""
    data = holidays.country_holidays(
        country, subdiv=subdivision, years=number, categories=categories
    )
    days_off = frozenset(day for day in data if day.year == number)
    # Holds make-up working days of every year the package loaded; keep this year's.
    make_up = (
        frozenset(day for day in getattr(data, "weekend_workdays", ()) if day.year == number)
        - days_off
    )
    return days_off, make_up


def _latest_announced_year(
    data: holidays.HolidayBase, subdivision: str | None, categories: frozenset[str]
) -> int | None:
    """Return the latest year with one-off ("special") holiday entries, if any.

    For China these are the State Council's yearly schedules (days off and the weekend
    days worked in exchange); ``holidays`` keeps them in
    ``ChinaStaticHolidays.special_public_holidays``, keyed by year. Only the categories
    the calendar uses count, and the subdivision's own entries.
    """
    scopes = [""]
    if subdivision is not None:
        aliases: dict[str, str] = getattr(data, "subdivisions_aliases", {})
        code = aliases.get(subdivision, subdivision).translate(str.maketrans("- ", "__"))
        scopes.append(f"{code.lower()}_")
    names = [
        f"special_{scope}{category}_holidays{suffix}"
        for scope in scopes
        for category in categories
        for suffix in ("", "_observed")
    ]
    years = [year for name in names for year in (getattr(data, name, None) or {})]
    return max(years, default=None)


def _build_year(spec: CalendarSpec, year: CalendarYear) -> _YearTable:
    first = date(year.year, 1, 1)
    days = (date(year.year, 12, 31) - first).days + 1
    weekend = spec.data.weekend if spec.data is not None else spec.weekend
    flags = bytearray(days)
    for offset in range(days):
        day = first + timedelta(days=offset)
        if day in spec.extra_working_days:
            working = True
        elif day in spec.extra_days_off:
            working = False
        elif day in year.working_days:
            working = True
        elif day in year.days_off:
            working = False
        else:
            working = day.weekday() not in weekend
        flags[offset] = working
    first_ordinal = first.toordinal()
    working_days = tuple(first_ordinal + offset for offset in range(days) if flags[offset])
    return _YearTable(
        first_ordinal=first_ordinal, flags=bytes(flags), working=working_days, year=year
    )


def years_in_use(calendar: WorkingDayCalendar, around: Iterable[int] = ()) -> list[CalendarYear]:
    """The years worth showing for a calendar: listed, official horizon, and ``around``."""
    spec = calendar.spec
    numbers = set(around)
    if spec.data is not None:
        numbers.update(item.year for item in spec.data.years)
    if 0 < calendar.last_year < MAXYEAR:
        numbers.update({calendar.last_year, calendar.last_year + 1})
    out = []
    for number in sorted(numbers):
        try:
            out.append(calendar.year(number))
        except CalendarError:
            continue
    return out


def day_names(year: CalendarYear) -> Mapping[date, str]:
    """Display names of a year's listed days."""
    return dict(year.names)
