"""Event time: instants, working-day calendars, deadlines and calendar periods.

The rules engine never reads the wall clock. Instants are integers, microseconds since
the Unix epoch (UTC); deadlines, windows and periods are computed from them in a pack's
time zone and working-day calendar.

>>> from datetime import datetime
>>> from zoneinfo import ZoneInfo
>>> shanghai = ZoneInfo("Asia/Shanghai")
>>> calendar = WorkingDayCalendar(CalendarSpec("CN"))
>>> received = to_us(datetime(2026, 2, 13, 9, 0, tzinfo=shanghai))
>>> due = add_duration(received, Duration(5, "working_days", end_of_day=True),
...                    tz=shanghai, calendar=calendar)
>>> from_us(due, shanghai).isoformat()
'2026-02-27T23:59:59.999999+08:00'
>>> period_of(received, "quarter", shanghai).label
'2026Q1'
"""

from __future__ import annotations

from commitrules.eventtime._calendars import (
    CalendarData,
    CalendarSpec,
    CalendarYear,
    Derivation,
    OfficialSource,
    WorkingDayCalendar,
)
from commitrules.eventtime._durations import Duration, Unit, add_duration
from commitrules.eventtime._fast import DueFunction, LocalOffsets, due_function
from commitrules.eventtime._instants import from_us, to_us
from commitrules.eventtime._periods import (
    Period,
    PeriodUnit,
    next_period,
    parse_period,
    period_of,
)

__all__ = [
    "CalendarData",
    "CalendarSpec",
    "CalendarYear",
    "Derivation",
    "DueFunction",
    "Duration",
    "LocalOffsets",
    "OfficialSource",
    "Period",
    "PeriodUnit",
    "Unit",
    "WorkingDayCalendar",
    "add_duration",
    "due_function",
    "from_us",
    "next_period",
    "parse_period",
    "period_of",
    "to_us",
]
