"""Calendar periods (day, ISO week, month, quarter, half-year, year) in a time zone.

Periodic rules ("quarterly satisfaction of at least 95 %") group events by the period
they fall in. A period runs from one local midnight (inclusive) to the next period's
local midnight (exclusive), so a period that contains a daylight-saving change is an hour
shorter or longer than its days suggest. Each period has a label that
:func:`parse_period` reads back.
"""

from __future__ import annotations

import re
from datetime import date, timedelta, tzinfo
from typing import Literal, get_args
from zoneinfo import ZoneInfo

import attrs

from commitrules.eventtime._instants import from_us, start_of_local_day

__all__ = ["Period", "PeriodUnit", "next_period", "parse_period", "period_of"]

PeriodUnit = Literal["day", "week", "month", "quarter", "half_year", "year"]

_UNITS: tuple[str, ...] = get_args(PeriodUnit)
_MONTHS_IN: dict[str, int] = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}
_LABELS: tuple[tuple[PeriodUnit, re.Pattern[str]], ...] = (
    ("day", re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")),
    ("week", re.compile(r"([0-9]{4})-W([0-9]{2})")),
    ("month", re.compile(r"([0-9]{4})-([0-9]{2})")),
    ("quarter", re.compile(r"([0-9]{4})Q([1-4])")),
    ("half_year", re.compile(r"([0-9]{4})H([12])")),
    ("year", re.compile(r"([0-9]{4})")),
)


@attrs.frozen
class Period:
    """One calendar period: ``[start_us, end_us)`` between local midnights, and its label.

    >>> from zoneinfo import ZoneInfo
    >>> period = parse_period("2026Q1", ZoneInfo("Asia/Shanghai"))
    >>> period.unit, period.label, period.end_us - period.start_us == 90 * 86_400_000_000
    ('quarter', '2026Q1', True)
    """

    unit: PeriodUnit
    start_us: int  # inclusive: the first instant of the period's first local day
    end_us: int  # exclusive: the first instant of the next period
    label: str  # "2026-03-14", "2026-W11", "2026-03", "2026Q1", "2026H1", "2026"


# The last period answered per (unit, zone): consecutive events mostly fall in the same
# period, and a range check is far cheaper than converting the instant to a local date.
_last_period: dict[tuple[str, tzinfo], Period] = {}


def period_of(us: int, unit: PeriodUnit, tz: ZoneInfo) -> Period:
    """Return the period of kind ``unit`` that contains the instant ``us`` in ``tz``.

    Weeks are ISO weeks (Monday to Sunday, labelled by ISO year).

    >>> from datetime import datetime
    >>> from zoneinfo import ZoneInfo
    >>> from commitrules.eventtime import to_us
    >>> london = ZoneInfo("Europe/London")
    >>> period_of(to_us(datetime(2027, 1, 1, 9, tzinfo=london)), "week", london).label
    '2026-W53'
    """
    key = (unit, tz)
    last = _last_period.get(key)
    if last is not None and last.start_us <= us < last.end_us:
        return last
    period = _period_starting(_start_of(from_us(us, tz).date(), unit), unit, tz)
    _last_period[key] = period
    return period


def next_period(period: Period, tz: ZoneInfo) -> Period:
    """Return the period of the same kind that follows ``period``.

    >>> from zoneinfo import ZoneInfo
    >>> shanghai = ZoneInfo("Asia/Shanghai")
    >>> next_period(parse_period("2026H2", shanghai), shanghai).label
    '2027H1'
    """
    return period_of(period.end_us, period.unit, tz)


def parse_period(label: str, tz: ZoneInfo) -> Period:
    """Return the period a label names; the inverse of :attr:`Period.label`.

    Raises :class:`ValueError` for text that is not a period label.

    >>> from zoneinfo import ZoneInfo
    >>> parse_period("2026-W11", ZoneInfo("Asia/Shanghai")).label
    '2026-W11'
    >>> parse_period("2026Q5", ZoneInfo("Asia/Shanghai"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    ValueError: not a period label: '2026Q5' (expected e.g. 2026-03-14, 2026-W11, ...)
    """
    for unit, pattern in _LABELS:
        match = pattern.fullmatch(label)
        if match is None:
            continue
        numbers = [int(group) for group in match.groups()]
        try:
            start = _first_day(unit, numbers)
            return _period_starting(start, unit, tz)
        except (ValueError, OverflowError) as error:
            message = f"not a period label: {label!r} ({error})"
            raise ValueError(message) from error
    message = (
        f"not a period label: {label!r} "
        f"(expected e.g. 2026-03-14, 2026-W11, 2026-03, 2026Q1, 2026H1 or 2026)"
    )
    raise ValueError(message)


def _first_day(unit: PeriodUnit, numbers: list[int]) -> date:
    year = numbers[0]
    if unit == "day":
        return date(year, numbers[1], numbers[2])
    if unit == "week":
        return date.fromisocalendar(year, numbers[1], 1)
    if unit == "month":
        return date(year, numbers[1], 1)
    if unit == "quarter":
        return date(year, 3 * numbers[1] - 2, 1)
    if unit == "half_year":
        return date(year, 6 * numbers[1] - 5, 1)
    return date(year, 1, 1)


def _start_of(day: date, unit: PeriodUnit) -> date:
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    months = _MONTHS_IN.get(unit)
    if months is None:
        message = f"unknown period unit {unit!r}; use one of {', '.join(_UNITS)}"
        raise ValueError(message)
    month = (day.month - 1) // months * months + 1
    return date(day.year, month, 1)


def _period_starting(start: date, unit: PeriodUnit, tz: tzinfo) -> Period:
    if unit == "day":
        end = start + timedelta(days=1)
        label = start.isoformat()
    elif unit == "week":
        end = start + timedelta(weeks=1)
        iso = start.isocalendar()
        label = f"{iso.year:04d}-W{iso.week:02d}"
    else:
        year, month_index = divmod(start.year * 12 + start.month - 1 + _MONTHS_IN[unit], 12)
        end = date(year, month_index + 1, 1)
        if unit == "month":
            label = f"{start.year:04d}-{start.month:02d}"
        elif unit == "quarter":
            label = f"{start.year:04d}Q{(start.month - 1) // 3 + 1}"
        elif unit == "half_year":
            label = f"{start.year:04d}H{(start.month - 1) // 6 + 1}"
        else:
            label = f"{start.year:04d}"
    return Period(
        unit=unit,
        start_us=start_of_local_day(start, tz),
        end_us=start_of_local_day(end, tz),
        label=label,
    )
