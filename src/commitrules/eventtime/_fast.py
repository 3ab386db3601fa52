"""Fast paths for the engine's hot loop: a due-time function with a memo.

A deadline that runs to the end of a day depends only on the *local date* of its start
and its count, so its due instant is computed once per (date, count) and remembered. The
local date comes from a remembered UTC offset per UTC day; a day on which the offset
changes (its two ends disagree) is never remembered, every instant in it is computed.
Everything else falls back to :func:`add_duration`, so the results are exactly those of
:func:`add_duration` (``tests/eventtime/test_fast.py`` checks it).
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ._calendars import WorkingDayCalendar
from ._durations import Duration, Unit, add_duration

__all__ = ["DueFunction", "LocalOffsets", "due_function"]

_BUCKET_US = 86_400_000_000  # one UTC day: zones change their offset at most once a day
_DAY_US = 86_400_000_000
_MEMO_LIMIT = 65_536
_US = timedelta(microseconds=1)

DueFunction = Callable[[int, int], int]
"""(start µs, count) -> inclusive due µs."""


class LocalOffsets:
    """UTC offsets of a zone by quarter-hour of UTC time, remembered."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._memo: dict[int, int] = {}
        self.constant = _constant_offset(tz)

    def _exact(self, us: int) -> int:
        moment = datetime.fromtimestamp(us / 1_000_000, UTC).replace(microsecond=0)
        offset = self.tz.utcoffset(moment.astimezone(self.tz))
        assert offset is not None
        return offset // _US

    def offset(self, us: int) -> int:
        """The zone's UTC offset at an instant, in µs."""
        if self.constant is not None and _CONSTANT_FROM <= us < _CONSTANT_TO:
            return self.constant
        bucket = us // _BUCKET_US
        known = self._memo.get(bucket)
        if known is not None:
            return known
        first = self._exact(bucket * _BUCKET_US)
        last = self._exact(bucket * _BUCKET_US + _BUCKET_US - 1)
        if first != last:  # a change inside the bucket: never remember it
            return self._exact(us)
        if len(self._memo) > _MEMO_LIMIT:
            self._memo.clear()
        self._memo[bucket] = first
        return first

    def local_day(self, us: int) -> int:
        """The local date of an instant as a day number (days since 1970-01-01)."""
        return (us + self.offset(us)) // _DAY_US


def due_function(
    unit: Unit, end_of_day: bool, *, tz: ZoneInfo, calendar: WorkingDayCalendar | None
) -> DueFunction:
    """A function giving exactly ``add_duration(start, Duration(count, unit, end_of_day))``.

    >>> from zoneinfo import ZoneInfo
    >>> from commitrules.eventtime import from_us, to_us
    >>> shanghai = ZoneInfo("Asia/Shanghai")
    >>> due = due_function("calendar_days", True, tz=shanghai, calendar=None)
    >>> start = to_us(datetime(2026, 7, 1, 10, tzinfo=shanghai))
    >>> from_us(due(start, 15), shanghai).isoformat()
    '2026-07-16T23:59:59.999999+08:00'
    """
    if unit in ("minutes", "hours") and not end_of_day:
        step = 60_000_000 if unit == "minutes" else 3_600_000_000
        return lambda start_us, count: start_us + count * step

    def exact(start_us: int, count: int) -> int:
        return add_duration(start_us, Duration(count, unit, end_of_day), tz=tz, calendar=calendar)

    offsets = LocalOffsets(tz)
    if offsets.constant is not None and unit in _DAY_UNITS:
        return _constant_zone(unit, end_of_day, offsets.constant, exact)
    if unit == "months" and not end_of_day:
        return _months(offsets, exact)
    if not end_of_day or unit not in ("calendar_days", "weeks", "working_days"):
        return exact
    memo: dict[tuple[int, int], int] = {}

    def by_local_date(start_us: int, count: int) -> int:
        key = (offsets.local_day(start_us), count)
        due = memo.get(key)
        if due is None:
            due = exact(start_us, count)
            if len(memo) > _MEMO_LIMIT:
                memo.clear()
            memo[key] = due
        return due

    return by_local_date


_EPOCH_DAY = date(1970, 1, 1).toordinal()
_CONSTANT_FROM = 946_684_800_000_000  # 2000-01-01T00:00Z
_CONSTANT_TO = 4_102_444_800_000_000  # 2100-01-01T00:00Z


@functools.lru_cache(maxsize=64)  # a pure function of the zone; every engine build asks
def _constant_offset(tz: ZoneInfo) -> int | None:
    """The zone's offset if it never changes from 2000 to 2100 (e.g. Asia/Shanghai), else None.

    Checked on the first of every month of every year: a zone with daylight saving differs
    between summer and winter months, a zone that changed its standard offset between years,
    and a shorter suspension that moves through the calendar (Ramadan in Morocco) lands on
    a first of the month in some year.
    """
    seen: set[timedelta | None] = set()
    for year in range(2000, 2100):
        for month in range(1, 13):
            seen.add(datetime(year, month, 1, 12, tzinfo=tz).utcoffset())
            if len(seen) > 1:
                return None
    (offset,) = seen
    return None if offset is None else offset // _US


_DAY_UNITS = frozenset({"calendar_days", "weeks", "months", "working_days"})


def _constant_zone(unit: Unit, end_of_day: bool, offset: int, exact: DueFunction) -> DueFunction:
    """Day-based units in a zone that keeps one offset from 2000 to 2100 (Asia/Shanghai).

    The local date and wall time are plain integer arithmetic there: calendar days and
    weeks add to the day number; months and working days remember the target day per
    (start day, count). Outside 2000..2100 the exact path decides.
    """
    step = 7 if unit == "weeks" else 1
    by_arithmetic = unit in ("calendar_days", "weeks")
    memo: dict[tuple[int, int], int] = {}

    def due(start_us: int, count: int) -> int:
        if count < 0 or not _CONSTANT_FROM <= start_us < _CONSTANT_TO:
            return exact(start_us, count)  # which refuses a negative count
        day, wall = divmod(start_us + offset, _DAY_US)
        if by_arithmetic:
            target = day + count * step
        else:
            known = memo.get((day, count))
            if known is None:
                known = (exact(start_us, count) + offset) // _DAY_US
                if len(memo) > _MEMO_LIMIT:
                    memo.clear()
                memo[(day, count)] = known
            target = known
        result = (
            (target + 1) * _DAY_US - 1 - offset if end_of_day else target * _DAY_US + wall - offset
        )
        return result if result < _CONSTANT_TO else exact(start_us, count)

    return due


def _months(offsets: LocalOffsets, exact: DueFunction) -> DueFunction:
    """Calendar months at the same local wall time, the last day of a short month kept.

    Where the zone keeps one offset for a day either side of the result (no daylight-saving
    change near it, so no skipped or doubled wall time) the wall-clock arithmetic is done
    on integers; anywhere else the exact path decides.
    """

    def add_months(start_us: int, count: int) -> int:
        offset = offsets.offset(start_us)
        local = start_us + offset
        day_number, wall = divmod(local, _DAY_US)
        start_day = date.fromordinal(day_number + _EPOCH_DAY)
        months = start_day.month - 1 + count
        year, month = start_day.year + months // 12, months % 12 + 1
        day = min(start_day.day, calendar.monthrange(year, month)[1])
        target = (date(year, month, day).toordinal() - _EPOCH_DAY) * _DAY_US + wall
        guess = target - offset
        new_offset = offsets.offset(guess)
        due = target - new_offset
        if (
            offsets.offset(due) != new_offset
            or offsets.offset(due - _DAY_US) != new_offset
            or offsets.offset(due + _DAY_US) != new_offset
        ):
            return exact(start_us, count)
        return due

    return add_months
