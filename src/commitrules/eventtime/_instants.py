"""Instants as integers: microseconds since the Unix epoch, UTC.

The rules engine compares and stores instants as plain ``int`` values: exact (no float
rounding), cheap to compare and to hash. This module converts between those integers
and aware :class:`~datetime.datetime` values, and turns a local date and wall time in a
time zone into an instant with explicit rules for the two awkward cases of daylight
saving time:

* a wall time that does not exist (the clocks jump over it) moves forward to the first
  instant after the jump;
* a wall time that happens twice (the clocks go back) means the earlier of the two.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

__all__ = [
    "EARLIEST",
    "EARLIEST_US",
    "LATEST",
    "LATEST_US",
    "check_instant",
    "check_us",
    "end_of_local_day",
    "from_us",
    "local_date",
    "local_instant",
    "start_of_local_day",
    "to_us",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = _EPOCH.toordinal()
#: Fixed offsets seen so far, in microseconds (a handful in practice; capped).
_OFFSETS: dict[tzinfo, int] = {}
_MICROSECOND = timedelta(microseconds=1)
#: The last fixed offset converted and its value (one zone in most streams): an equality
#: test is cheaper than hashing each parsed time's new ``timezone`` for :data:`_OFFSETS`.
_last_offset: tuple[tzinfo, int] = (UTC, 0)
_MIDNIGHT = time(0)
_ONE_DAY = timedelta(days=1)

#: The earliest event time the engine accepts (also for ``advance_to`` and snapshots).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
#: The latest event time the engine accepts: the range fits every zone's local dates, the
#: calendars, and the timestamp types of Arrow and Spark (int64 microseconds).
LATEST = datetime(2200, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
EARLIEST_US = (EARLIEST - _EPOCH) // _MICROSECOND
LATEST_US = (LATEST - _EPOCH) // _MICROSECOND


def check_instant(moment: datetime) -> str | None:
    """Why an aware time is outside the supported range, or None when it is inside.

    >>> check_instant(datetime(2026, 7, 1, tzinfo=UTC)) is None
    True
    >>> print(check_instant(datetime(9999, 1, 1, tzinfo=UTC)))  # doctest: +NORMALIZE_WHITESPACE
    time 9999-01-01T00:00:00+00:00 is outside the supported range
    1900-01-01T00:00:00+00:00 to 2200-12-31T23:59:59.999999+00:00
    """
    try:
        inside = EARLIEST <= moment <= LATEST
    except (OverflowError, ValueError):  # the offset pushes it past what datetime holds
        inside = False
    if inside:
        return None
    return (
        f"time {moment.isoformat()} is outside the supported range\n{EARLIEST.isoformat()} to "
        f"{LATEST.isoformat()}"
    ).replace("\n", " ")


def check_us(value: int) -> bool:
    """Whether an instant in µs is inside the supported range."""
    return EARLIEST_US <= value <= LATEST_US


def to_us(moment: datetime) -> int:
    """Return an aware datetime as microseconds since the Unix epoch (UTC), exactly.

    Integer ``timedelta`` arithmetic keeps every microsecond: ``datetime.timestamp()``
    goes through a float and can be off by one for instants far from 1970.

    >>> to_us(datetime(2026, 3, 14, 8, 0, tzinfo=UTC))
    1773475200000000
    >>> to_us(datetime(2026, 3, 14, 8, 0))
    Traceback (most recent call last):
      ...
    ValueError: a naive datetime has no time zone: 2026-03-14T08:00:00 (give it a tzinfo)
    """
    global _last_offset  # noqa: PLW0603 - a one-entry cache, replaced whole
    tz = moment.tzinfo
    if type(tz) is timezone:
        # A fixed offset (what parsed event times carry): field arithmetic, several times
        # faster than the timedelta route, and just as exact.
        last = _last_offset
        if tz == last[0]:
            offset = last[1]
        else:
            known = _OFFSETS.get(tz)
            if known is None:
                if len(_OFFSETS) >= 4096:
                    return (moment - _EPOCH) // _MICROSECOND
                known = _OFFSETS[tz] = tz.utcoffset(None) // _MICROSECOND
            offset = known
            _last_offset = (tz, offset)  # one object: threads see a matching pair
        return (
            (
                (moment.toordinal() - _EPOCH_ORDINAL) * 86_400
                + moment.hour * 3_600
                + moment.minute * 60
                + moment.second
            )
            * 1_000_000
            + moment.microsecond
            - offset
        )
    if tz is None or moment.utcoffset() is None:
        message = f"a naive datetime has no time zone: {moment.isoformat()} (give it a tzinfo)"
        raise ValueError(message)
    return (moment - _EPOCH) // _MICROSECOND


def from_us(us: int, tz: tzinfo = UTC) -> datetime:
    """Return the instant ``us`` (microseconds since the epoch) as an aware datetime in ``tz``.

    The exact inverse of :func:`to_us`: ``to_us(from_us(us, tz)) == us`` for every zone.

    >>> from zoneinfo import ZoneInfo
    >>> from_us(1773475200000000, ZoneInfo("Asia/Shanghai")).isoformat()
    '2026-03-14T16:00:00+08:00'
    """
    return (_EPOCH + timedelta(microseconds=us)).astimezone(tz)


def local_date(us: int, tz: tzinfo) -> date:
    """Return the calendar date, in ``tz``, of the instant ``us``.

    >>> from zoneinfo import ZoneInfo
    >>> local_date(1773500400000000, ZoneInfo("Asia/Shanghai"))
    datetime.date(2026, 3, 14)
    """
    return from_us(us, tz).date()


def local_instant(day: date, wall: time, tz: tzinfo) -> int:
    """Return the instant at which clocks in ``tz`` show ``wall`` on ``day``.

    ``wall`` is a naive time (its ``fold`` is ignored). A wall time skipped by a
    daylight-saving jump moves forward to the first valid instant (the moment of the
    jump); a wall time that happens twice resolves to the earlier one (``fold=0``).

    >>> from zoneinfo import ZoneInfo
    >>> london = ZoneInfo("Europe/London")
    >>> from_us(local_instant(date(2026, 3, 29), time(1, 30), london), london).isoformat()
    '2026-03-29T02:00:00+01:00'
    >>> from_us(local_instant(date(2026, 10, 25), time(1, 30), london), london).isoformat()
    '2026-10-25T01:30:00+01:00'
    """
    naive = datetime.combine(day, wall.replace(tzinfo=None, fold=0))
    first = to_us(naive.replace(tzinfo=tz, fold=0))
    second = to_us(naive.replace(tzinfo=tz, fold=1))
    if first <= second:
        # The wall time exists once (first == second) or twice (fold=0 is the earlier).
        return first
    # A gap: fold=0 applied the offset from before the jump and landed after it, fold=1
    # the offset from after the jump and landed before it. The jump lies in between;
    # find its exact microsecond, the first instant whose wall clock is past `naive`.
    before, after = second, first
    while after - before > 1:
        middle = (before + after) // 2
        if from_us(middle, tz).replace(tzinfo=None) > naive:
            after = middle
        else:
            before = middle
    return after


def start_of_local_day(day: date, tz: tzinfo) -> int:
    """Return the first instant of ``day`` in ``tz`` (local midnight, or the jump after it).

    >>> from zoneinfo import ZoneInfo
    >>> start_of_local_day(date(2026, 3, 14), ZoneInfo("Asia/Shanghai"))
    1773417600000000
    """
    return local_instant(day, _MIDNIGHT, tz)


def end_of_local_day(day: date, tz: tzinfo) -> int:
    """Return the last microsecond of ``day`` in ``tz``: the next day's start minus 1 µs.

    >>> from zoneinfo import ZoneInfo
    >>> shanghai = ZoneInfo("Asia/Shanghai")
    >>> from_us(end_of_local_day(date(2026, 3, 14), shanghai), shanghai).isoformat()
    '2026-03-14T23:59:59.999999+08:00'
    """
    return start_of_local_day(day + _ONE_DAY, tz) - 1
