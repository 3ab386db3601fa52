"""Durations and deadlines: "within 15 calendar days", "within 5 working days, end of day".

:func:`add_duration` returns the *inclusive* due instant: an action at exactly that
microsecond is in time, one microsecond later is late.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

import attrs

from commitrules.errors import CalendarError
from commitrules.eventtime._calendars import WorkingDayCalendar
from commitrules.eventtime._instants import end_of_local_day, from_us, local_instant

__all__ = ["Duration", "Unit", "add_duration"]

Unit = Literal["minutes", "hours", "calendar_days", "working_days", "weeks", "months"]

_UNITS: frozenset[str] = frozenset(get_args(Unit))
_US_PER_MINUTE = 60_000_000
_US_PER_HOUR = 60 * _US_PER_MINUTE


def _check_count(instance: Duration, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int:  # bool is an int subclass; True days is a mistake
        message = f"a duration's count must be an int, not {value!r}"
        raise TypeError(message)
    if value < 0:
        message = f"a duration's count must be 0 or more, not {value}"
        raise ValueError(message)


def _check_unit(instance: Duration, attribute: attrs.Attribute[str], value: object) -> None:
    if value not in _UNITS:
        message = f"unknown duration unit {value!r}; use one of {', '.join(sorted(_UNITS))}"
        raise ValueError(message)


@attrs.frozen
class Duration:
    """An amount of time a deadline allows: a count of one unit.

    ``end_of_day`` runs the deadline to the last microsecond of the due day in the pack's
    time zone ("within 5 working days" usually means "by the end of the fifth").

    >>> Duration(15, "calendar_days", end_of_day=True)
    Duration(count=15, unit='calendar_days', end_of_day=True)
    """

    count: int = attrs.field(validator=_check_count)
    unit: Unit = attrs.field(validator=_check_unit)
    end_of_day: bool = False


def add_duration(
    start_us: int, duration: Duration, *, tz: ZoneInfo, calendar: WorkingDayCalendar | None
) -> int:
    """Return the inclusive due instant (µs since the epoch) of ``duration`` from ``start_us``.

    * ``minutes``, ``hours``: elapsed time; across a daylight-saving change the local
      clock shows a different hour than at the start.
    * ``calendar_days``, ``weeks``: the same local wall time ``count`` days (weeks) later
      in ``tz``, so a day can last 23 or 25 hours.
    * ``months``: the same local day and wall time ``count`` calendar months later. When
      that month is too short the day is **clamped** to its last day (31 January + 1 month
      is 28 or 29 February): deadlines never raise on month ends. (Catala raises on such
      ambiguous dates instead; a pack that needs a different rule uses days.)
    * ``working_days``: the ``count``-th working day after the start's local date (see
      :meth:`WorkingDayCalendar.add_working_days`), at the same local wall time. Needs a
      ``calendar``, else :class:`~commitrules.errors.CalendarError`.

    A wall time skipped by a daylight-saving jump moves forward to the moment of the jump;
    a wall time that happens twice means the earlier one. With ``end_of_day`` the due
    instant is the last microsecond of the due local day (the next day's start - 1 µs).

    >>> from datetime import datetime
    >>> from zoneinfo import ZoneInfo
    >>> from commitrules.eventtime import to_us
    >>> shanghai = ZoneInfo("Asia/Shanghai")
    >>> received = to_us(datetime(2026, 3, 14, 10, 30, tzinfo=shanghai))
    >>> due = add_duration(received, Duration(15, "calendar_days", end_of_day=True),
    ...                    tz=shanghai, calendar=None)
    >>> from_us(due, shanghai).isoformat()
    '2026-03-29T23:59:59.999999+08:00'
    """
    count = duration.count
    unit = duration.unit
    if unit in ("minutes", "hours"):
        due = start_us + count * (_US_PER_MINUTE if unit == "minutes" else _US_PER_HOUR)
        if duration.end_of_day:
            return end_of_local_day(from_us(due, tz).date(), tz)
        return due
    start = from_us(start_us, tz)
    day = start.date()
    target: date
    if unit == "calendar_days":
        target = day + timedelta(days=count)
    elif unit == "weeks":
        target = day + timedelta(weeks=count)
    elif unit == "months":
        target = _add_months(day, count)
    else:
        if calendar is None:
            message = (
                f"a deadline of {count} working days needs a working-day calendar; "
                f"give the pack a calendar (country, or None for weekends only)"
            )
            raise CalendarError(message)
        target = calendar.add_working_days(day, count)
    if duration.end_of_day:
        return end_of_local_day(target, tz)
    return local_instant(target, start.time(), tz)


def _add_months(day: date, count: int) -> date:
    """Return ``day`` moved ``count`` months on, clamped to the end of a shorter month.

    >>> _add_months(date(2026, 1, 31), 1)
    datetime.date(2026, 2, 28)
    """
    year, month_index = divmod(day.year * 12 + day.month - 1 + count, 12)
    month = month_index + 1
    return date(year, month, min(day.day, _days_in_month(year, month)))


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - date(year, month, 1)).days
