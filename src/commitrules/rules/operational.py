"""The engine's own findings: about itself, not about a commitment (kind ``operational``).

They are not rules of a pack and no clause covers them: each has a reserved rule id under
``engine.`` and the clause ``engine``, goes to the pack's ``operations_role`` (or, when a
pack names none, to its first role: lint says which), and is never a breach (``check``
does not exit 1 for it, coverage does not count it, reports show it apart).

* ``engine.rule-error``: a rule failed at run time on an event (a condition whose
  arithmetic overflowed, for example). The rule is skipped for that event; the event and
  every other rule are applied as usual, so the failure never repeats as a crash.
* ``engine.calendar-horizon``: the watermark plus the pack's longest working-day duration
  plus a margin reached the end of the working-day calendar's last official year: from
  now on, deadlines count on provisional days until the next official year is added.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from ..errors import CalendarError
from ..eventtime import WorkingDayCalendar, from_us, to_us
from ._base import (
    Carried,
    CarryContext,
    DurationSpec,
    Finding,
    ParamRef,
    RuleRuntime,
    RuntimeServices,
)

__all__ = [
    "CALENDAR_HORIZON",
    "ENGINE_CLAUSE",
    "RULE_ERROR",
    "EngineRule",
    "HorizonAlarm",
    "longest_working_days",
]

ENGINE_CLAUSE = "engine"
RULE_ERROR = "engine.rule-error"
CALENDAR_HORIZON = "engine.calendar-horizon"
_RAW_LIMIT = 200


class EngineRule(RuleRuntime):
    """A finding source of the engine itself (no spec, no state)."""

    kind = "engine"

    def __init__(
        self, rule_id: str, role: str, message: tuple[str, str], severity: Any = "high"
    ) -> None:
        # Not compiled from a spec: only what routing and rendering read.
        self.rule_id = rule_id
        self.clause_id = ENGINE_CLAUSE
        self.role = role
        self.severity = severity
        self.message = message
        self.key_fields = ()
        self.from_us = None
        self.to_us = None
        self.on_accept = {}
        self.on_release = {}
        self.prepare = {}
        self.scope_fields = ()
        self.fingerprint = rule_id


def rule_error(role: str) -> EngineRule:
    """The source of ``engine.rule-error`` findings."""
    return EngineRule(
        RULE_ERROR,
        role,
        (
            "規則 {rule} 運行失敗(事件 {event_id}):{error};該規則未判定此事件,其他規則照常",
            "Rule {rule} failed at run time on event {event_id}: {error}; the rule did not "
            "judge this event, every other rule did",
        ),
    )


def rule_error_finding(
    source: EngineRule,
    failed: RuleRuntime,
    error: BaseException,
    at_us: int,
    tz: ZoneInfo,
    event: Mapping[str, Any] | None,
) -> Finding:
    """What the engine reports when ``failed`` raised ``error`` at ``at_us``."""
    text = f"{type(error).__name__}: {error}"
    if len(text) > _RAW_LIMIT:
        text = text[:_RAW_LIMIT] + "…"
    event_id = str(event.get("id")) if event is not None else "-"
    return Finding(
        rule=source,
        at_us=at_us,
        at=from_us(at_us, tz),
        event_ids=(event_id,) if event is not None else (),
        subject={"rule": failed.rule_id, "event_id": event_id},
        evidence={"rule": failed.rule_id, "error": text},
        scope={},
        kind="operational",
        moment_us=at_us,
        context={"rule": failed.rule_id, "event_id": event_id, "error": text},
    )


def longest_working_days(
    rules: Iterable[BaseModel], parameter_values: Mapping[str, Iterable[object]]
) -> int:
    """The longest working-day duration any rule can count (0 when none counts any).

    A count from a parameter takes the parameter's largest value over time; a count from
    an event field is not known in advance and does not count here.
    """
    longest = 0
    for spec in rules:
        for duration in _durations(spec):
            if duration.unit != "working_days":
                continue
            count = duration.count
            if isinstance(count, int):
                longest = max(longest, count)
            elif isinstance(count, ParamRef):
                values = [v for v in parameter_values.get(count.param, ()) if isinstance(v, int)]
                longest = max(longest, *values, 0)
    return longest


def _durations(value: Any) -> Iterable[DurationSpec]:
    if isinstance(value, DurationSpec):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _durations(getattr(value, name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _durations(item)


class HorizonAlarm(RuleRuntime):
    """Raises ``engine.calendar-horizon`` once, when deadlines start to reach past the
    calendar's last official year (state: the years already alarmed)."""

    kind = "engine"
    stateful = True

    def __init__(
        self,
        calendar: WorkingDayCalendar,
        longest: int,
        margin_days: int,
        role: str,
        tz: ZoneInfo,
    ) -> None:
        self.rule_id = CALENDAR_HORIZON
        self.clause_id = ENGINE_CLAUSE
        self.role = role
        self.severity = "high"
        self.message = (
            "工作日曆 {calendar} 的正式年份只到 {official_through} 年:自 {from} 起,"
            "工作日時限將計入非正式(臨時)的 {next_year} 年。請加入 {next_year} 年的正式日曆"
            "並升級運行狀態",
            "The working-day calendar {calendar} is official only through {official_through}: "
            "from {from}, working-day deadlines count into {next_year}, which is provisional. "
            "Add the official {next_year} calendar (calendars/{calendar}.yaml) and upgrade "
            "the running state",
        )
        self.key_fields = ()
        self.from_us = None
        self.to_us = None
        self.on_accept = {}
        self.on_release = {}
        self.prepare = {}
        self.scope_fields = ()
        self._calendar = calendar
        self._tz = tz
        self._official = calendar.last_year
        self.alarm_us = _alarm_instant(calendar, longest, margin_days, tz)
        self._alarmed: set[int] = set()
        payload = json.dumps([calendar.spec.jurisdiction, self._official, self.alarm_us])
        self.fingerprint = hashlib.sha256(payload.encode()).hexdigest()[:16]

    def start(self, first_us: int, services: RuntimeServices) -> None:
        if self._official not in self._alarmed:
            services.schedule(max(self.alarm_us, first_us), self, self._official)

    def on_timer(self, token: Any, fire_us: int, services: RuntimeServices) -> None:
        year = int(token)
        if year in self._alarmed:
            return
        self._alarmed.add(year)
        code = self._calendar.spec.jurisdiction
        moment = from_us(fire_us, self._tz)
        subject = {"calendar": code, "official_through": year}
        context = {
            **subject,
            "next_year": year + 1,
            "from": moment.date().isoformat(),
        }
        services.emit(
            Finding(
                rule=self,
                at_us=fire_us,
                at=moment,
                event_ids=(),
                subject=subject,
                evidence={
                    "official_through": year,
                    "next_year": self._calendar.year(year + 1).describe()
                    if not self._calendar.strict
                    else f"{year + 1} not known",
                },
                scope={},
                kind="operational",
                moment_us=self.alarm_us,
                context=context,
            )
        )

    def carry(self, state: Any, context: CarryContext) -> Carried:
        """A calendar with a new last official year: its own alarm, once."""
        alarmed = {int(year) for year in state["alarmed"]}
        timers: list[tuple[int, Any]] = []
        if self._official not in alarmed:
            watermark = context.watermark_us
            fire = self.alarm_us if watermark is None else max(self.alarm_us, watermark)
            timers.append((fire, self._official))
        return Carried(state={"alarmed": sorted(alarmed)}, timers=timers)

    def state(self) -> Any:
        return {"alarmed": sorted(self._alarmed)}

    def restore(self, state: Any) -> None:
        self._alarmed = {int(year) for year in state["alarmed"]}


def horizon_alarm(
    calendar: WorkingDayCalendar | None,
    longest: int,
    margin_days: int,
    role: str,
    tz: ZoneInfo,
) -> HorizonAlarm | None:
    """The alarm for a pack, or None when nothing counts working days or nothing goes stale."""
    if calendar is None or longest <= 0 or calendar.last_year >= dt.MAXYEAR:
        return None
    return HorizonAlarm(calendar, longest, margin_days, role, tz)


def _alarm_instant(
    calendar: WorkingDayCalendar, longest: int, margin_days: int, tz: ZoneInfo
) -> int:
    """Local midnight of the first day from which ``longest`` working days plus the margin
    reach the end of the last official year."""
    if calendar.last_year < dt.MINYEAR + 2:
        return to_us(dt.datetime(1900, 1, 1, tzinfo=tz))  # no official year: at once
    end = dt.date(calendar.last_year, 12, 31) - dt.timedelta(days=margin_days)
    low = end - dt.timedelta(days=3 * longest + 60)
    high = end
    # The first day D with add_working_days(D, longest) >= end (monotone in D).
    while low < high:
        middle = low + (high - low) // 2
        try:
            reaches = calendar.add_working_days(middle, longest) >= end
        except CalendarError:  # a strict calendar refuses the provisional year: past the end
            reaches = True
        if reaches:
            high = middle
        else:
            low = middle + dt.timedelta(days=1)
    return to_us(dt.datetime.combine(low, dt.time(), tzinfo=tz))
