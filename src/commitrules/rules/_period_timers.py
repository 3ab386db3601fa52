"""The periods of a periodic rule and their timers, shared by both backends.

A periodic rule (target or obligation) keeps a *current* period and a timer at its end; an
obligation whose events name their period (``period_field``) also keeps the periods not judged
yet, a floor below which periods are judged, and, with ``due``, a second timer per period at its
due time. The native rules (:mod:`commitrules.rules.periodic`) and the durable-rules backend
(:mod:`commitrules.backends._durable_periodic`) differ only in how a period is *judged*; the
bookkeeping here is written once for both, so that the two cannot drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ..eventtime import Period, next_period, period_of

if TYPE_CHECKING:
    from ._base import RuleRuntime, RuntimeServices

__all__ = ["PeriodTimers", "PlacedPeriods"]


class PeriodTimers:
    """The current period and the timer that closes it (at its end)."""

    period_unit: Any
    _current: Period | None

    def open_first_period(self, first_us: int, services: RuntimeServices) -> None:
        """Start counting with the period holding ``first_us``; a no-op once started."""
        if self._current is None:
            self._current = period_of(first_us, self.period_unit, services.tz)
            self._schedule_close(services)

    def ending_period(self, token: Any) -> Period | None:
        """The current period, when ``token`` is its close timer's (else a stale timer)."""
        period = self._current
        if period is None or period.start_us != token:
            return None
        return period

    def open_next_period(self, period: Period, services: RuntimeServices) -> None:
        """Move on to the period after ``period`` and schedule its close."""
        self._current = next_period(period, services.tz)
        self._schedule_close(services)

    def _schedule_close(self, services: RuntimeServices) -> None:
        current = self._current
        assert current is not None
        services.schedule(current.end_us, cast("RuleRuntime", self), current.start_us)

    def _period_state(self) -> Any:
        return None if self._current is None else self._current.start_us

    def _restore_period(self, start_us: Any, tz: Any) -> None:
        self._current = None if start_us is None else period_of(int(start_us), self.period_unit, tz)


class PlacedPeriods(PeriodTimers):
    """Periods named by the events' ``period_field``: counted apart until judged.

    A period is judged at its end, or (with ``due``) at its due time, by :meth:`judge`, which
    the rule defines; everything else (placing an event, the floor, the timers, the state) is
    here. Periods before the floor are judged already (or began before tracking) and are not
    counted.
    """

    member_field: str | None
    _open: dict[int, tuple[set[Any], list[bool]]]
    _floor: int | None

    def _init_placed(self) -> None:
        #: [members seen, any event] per period not yet judged, by the period's start.
        self._open = {}
        self._floor = None

    # -- hooks the rule defines -----------------------------------------------------------
    @property
    def has_due(self) -> bool:
        """Whether periods are judged at a due time after their end."""
        raise NotImplementedError

    def due_us(self, period: Period, params: Any) -> int:
        """The inclusive instant by which events may still count for ``period``."""
        raise NotImplementedError

    def judge(self, period: Period, services: RuntimeServices) -> None:
        """Judge a period named by the period field, at its end or its due time."""
        raise NotImplementedError

    # -- the bookkeeping ------------------------------------------------------------------
    def place(self, period: Period | None, member: Any) -> None:
        """An event counts for ``period`` (ignored before the floor or when unnamed)."""
        if period is None or self._floor is None or period.start_us < self._floor:
            return
        entry = self._open.get(period.start_us)
        if entry is None:
            entry = self._open[period.start_us] = (set(), [False])
        entry[1][0] = True
        if self.member_field is not None:
            entry[0].add(member)

    def start_placed(self, first_us: int, services: RuntimeServices) -> None:
        """Start with the period holding ``first_us``: the floor is its start."""
        if self._current is None:
            self.open_first_period(first_us, services)
            assert self._current is not None
            self._floor = self._current.start_us

    def placed_timer(self, token: Any, services: RuntimeServices) -> None:
        """A timer fired: a period's due time (``["due", start]``), or a period's end (its
        start), judged then or given its due timer."""
        if isinstance(token, list | tuple):
            self.judge(period_of(int(token[1]), self.period_unit, services.tz), services)
            return
        period = self.ending_period(token)
        if period is None:
            return
        if not self.has_due:
            self.judge(period, services)
        else:
            due = self.due_us(period, services.params)
            services.schedule(due + 1, cast("RuleRuntime", self), ["due", period.start_us])
        self.open_next_period(period, services)

    def is_judged(self, period: Period) -> bool:
        """Whether ``period`` is below the floor (judged already, or before tracking)."""
        return self._floor is None or period.start_us < self._floor

    def take_period(
        self, period: Period, services: RuntimeServices
    ) -> tuple[set[Any], bool, int | None]:
        """Take what ``period`` counted (members seen, any event, its due time) and raise the
        floor past it; event time moves to the period's last instant."""
        seen, seen_any = self._open.pop(period.start_us, (set(), [False]))
        self._floor = period.end_us
        due = self.due_us(period, services.params) if self.has_due else None
        services.set_time(period.end_us - 1)
        return seen, seen_any[0], due

    def placed_state(self) -> dict[str, Any]:
        """The JSON-ready state: the current period, the floor, the open periods."""
        return {
            "period": self._period_state(),
            "floor": self._floor,
            "open": [
                [start, sorted(seen, key=str), flag[0]]
                for start, (seen, flag) in sorted(self._open.items())
            ],
        }

    def restore_placed(self, state: Any) -> None:
        """Restore the floor and the open periods of :meth:`placed_state`."""
        self._open.clear()
        floor = state.get("floor")
        self._floor = None if floor is None else int(floor)
        for start, seen, flag in state.get("open", ()):
            self._open[int(start)] = (set(seen), [bool(flag)])
