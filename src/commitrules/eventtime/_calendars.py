"""Working-day calendars: public holidays, weekends and official make-up working days.

A working day is decided, in this order:

1. a date in :attr:`CalendarSpec.extra_working_days` (the bank's own make-up days) works;
2. a date in :attr:`CalendarSpec.extra_days_off` (the bank's own closures) does not;
3. a public holiday of the country (and subdivision) does not;
4. a weekend day does not, unless it is one of the country's official make-up working
   days (mainland China moves working days around its holidays: 调休);
5. every other day works.

"Public holiday" means a holiday in :attr:`CalendarSpec.holiday_categories` of the
``holidays`` package, by default its ``"public"`` category. For Hong Kong that category
is the statutory (Employment Ordinance) list; the general holidays on which banks close
(Good Friday and the day after it, for example) are its ``"optional"`` category.

Holidays come from the ``holidays`` package. A calendar never guesses a year nobody has
announced: it answers only for ``first_year..last_year`` and raises
:class:`~commitrules.errors.CalendarError` outside it. How ``last_year`` is found:

* ``known_through`` set: that year, trusted because the pack says so.
* no country: weekends (and the bank's own days) only; there is nothing to go stale, so
  the calendar runs to :data:`datetime.MAXYEAR`.
* a country: the latest year with official one-off ("special") entries in the
  ``holidays`` data for that country (and subdivision). For mainland China those entries
  are each year's State Council schedule, published near the end of the year before, so
  the latest one is the last year whose make-up working days are known. For countries
  with rule-based holidays the same value is only a conservative default horizon (for
  Great Britain it is the last royal occasion). A country with no such entries at all
  refuses to build without ``known_through``: a pack must state how far it trusts the
  data.

One caveat for China: the schedule for year N+1 can move days at the very end of year N
(a New Year bridge), so the last days of ``last_year`` may change when the next schedule
is published. A bank can pin them with ``extra_working_days`` / ``extra_days_off``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import MAXYEAR, MINYEAR, date, timedelta

import attrs
import holidays
from holidays.version import __version__ as holidays_version

from commitrules.errors import CalendarError

__all__ = ["CalendarSpec", "WorkingDayCalendar"]

_ONE_DAY = timedelta(days=1)
_WEEKDAYS = frozenset(range(7))


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
class CalendarSpec:
    """What a pack says about its working days.

    >>> spec = CalendarSpec("CN", extra_days_off=frozenset({date(2026, 3, 2)}))
    >>> spec.known_from, spec.weekend
    (2000, frozenset({5, 6}))
    """

    #: ISO 3166 code understood by the ``holidays`` package ("CN", "HK", "GB"); ``None``
    #: means weekends and the bank's own days only.
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
    #: Last year the calendar is trusted for; ``None`` derives it from the holiday data.
    known_through: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(int))
    )
    #: First year the calendar answers for.
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


@attrs.frozen
class _YearTable:
    """One year of a calendar, computed once: O(1) lookups, bisect for counting."""

    first_ordinal: int  # date(year, 1, 1).toordinal()
    flags: bytes  # flags[ordinal - first_ordinal] == 1 when that day is a working day
    working: tuple[int, ...]  # ordinals of the working days, ascending


class WorkingDayCalendar:
    """Answers "is this a working day?" and counts working days, for a known range of years.

    >>> calendar = WorkingDayCalendar(CalendarSpec("CN"))
    >>> calendar.is_working_day(date(2026, 2, 14))  # a Saturday made a working day
    True
    >>> calendar.add_working_days(date(2026, 2, 13), 1)
    datetime.date(2026, 2, 14)
    """

    __slots__ = ("_horizon", "_tables", "first_year", "last_year", "spec")

    spec: CalendarSpec
    first_year: int
    last_year: int

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.first_year = spec.known_from
        self.last_year, self._horizon = _derive_last_year(spec)
        if self.last_year < self.first_year:
            message = (
                f"the working-day calendar for {_name(spec)} would cover no year: "
                f"{self._horizon}, before known_from {self.first_year}; "
                f"set known_through to the last year the pack trusts the calendar for"
            )
            raise CalendarError(message)
        self._tables: dict[int, _YearTable] = {}

    def __repr__(self) -> str:
        return f"WorkingDayCalendar({self.spec!r}, years={self.first_year}..{self.last_year})"

    def is_working_day(self, day: date) -> bool:
        """Return whether ``day`` is a working day.

        Raises :class:`~commitrules.errors.CalendarError` for a year outside
        ``first_year..last_year``.

        >>> WorkingDayCalendar(CalendarSpec("CN")).is_working_day(date(2026, 10, 1))
        False
        """
        table = self._tables.get(day.year) or self._table(day.year)
        return table.flags[day.toordinal() - table.first_ordinal] == 1

    def add_working_days(self, day: date, count: int) -> date:
        """Return the ``count``-th working day after ``day``.

        ``count == 0`` returns ``day`` itself if it is a working day, else the next
        working day. Raises :class:`~commitrules.errors.CalendarError` when the count
        runs past ``last_year``, :class:`ValueError` for a negative count.

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
            table = self._tables.get(year) or self._table(
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
            table = self._tables.get(year) or self._table(year, doing)
            lo = bisect_left(table.working, low)
            hi = bisect_right(table.working, high)
            total += hi - lo
        return total

    def _table(self, year: int, doing: str | None = None) -> _YearTable:
        if not self.first_year <= year <= self.last_year:
            context = f" while {doing}" if doing else ""
            message = (
                f"the working-day calendar for {_name(self.spec)} does not know {year}{context}: "
                f"it covers {self.first_year} to {self.last_year} ({self._horizon}). "
                f"A bank can extend it: set known_through (or known_from) to include {year} "
                f"and list that year's own closures and make-up working days in "
                f"extra_days_off / extra_working_days"
            )
            raise CalendarError(message)
        table = _build_year(self.spec, year)
        self._tables[year] = table
        return table


def _name(spec: CalendarSpec) -> str:
    if spec.country is None:
        return "weekends only"
    if spec.subdivision is None:
        return spec.country
    return f"{spec.country}-{spec.subdivision}"


def _country_data(spec: CalendarSpec, year: int) -> holidays.HolidayBase:
    assert spec.country is not None
    return holidays.country_holidays(
        spec.country,
        subdiv=spec.subdivision,
        years=year,
        categories=tuple(sorted(spec.holiday_categories)),
    )


def _derive_last_year(spec: CalendarSpec) -> tuple[int, str]:
    """Return the last year a calendar answers for, and why, in words for error messages."""
    if spec.country is None:
        if spec.known_through is not None:
            return spec.known_through, f"known_through is {spec.known_through}"
        return MAXYEAR, "weekends only"
    version = holidays_version
    supported = holidays.list_supported_countries()
    if spec.country not in supported:
        message = (
            f"the holidays package ({version}) has no calendar for country {spec.country!r}; "
            f"use an ISO 3166 code such as 'CN', 'HK' or 'GB', or country None for weekends only"
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
            f"{_name(spec)}; it has: {', '.join(sorted(categories))}"
        )
        raise CalendarError(message)
    if spec.known_from < data.start_year:
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
        return spec.known_through, f"known_through is {spec.known_through}"
    latest = _latest_announced_year(data, spec.subdivision, spec.holiday_categories)
    if latest is None:
        message = (
            f"the holidays package ({version}) has no announced (one-off) holiday data for "
            f"{_name(spec)}, so it cannot tell how far its calendar is trustworthy; set "
            f"known_through to the last year the pack has checked the calendar for"
        )
        raise CalendarError(message)
    reason = (
        f"the holidays package {version} has announced holiday data for {_name(spec)} "
        f"only through {latest}"
    )
    return latest, reason


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


def _build_year(spec: CalendarSpec, year: int) -> _YearTable:
    first = date(year, 1, 1)
    days = (date(year, 12, 31) - first).days + 1
    public: set[date] = set()
    make_up: set[date] = set()
    if spec.country is not None:
        data = _country_data(spec, year)
        public = {day for day in data if day.year == year}
        # Holds make-up working days of every year the package loaded; keep this year's.
        make_up = {day for day in data.weekend_workdays if day.year == year}
    flags = bytearray(days)
    for offset in range(days):
        day = first + timedelta(days=offset)
        if day in spec.extra_working_days:
            working = True
        elif day in spec.extra_days_off or day in public:
            working = False
        elif day.weekday() in spec.weekend:
            working = day in make_up
        else:
            working = True
        flags[offset] = working
    first_ordinal = first.toordinal()
    working_days = tuple(first_ordinal + offset for offset in range(days) if flags[offset])
    return _YearTable(first_ordinal=first_ordinal, flags=bytes(flags), working=working_days)
