"""Intake: what decides whether an event is accepted, before anything changes.

An event is accepted once: a repeated id with the same content is a duplicate (dropped and
counted), with a different content a conflict (refused, naming the fields that differ
while the earlier event is still held); an event older than the watermark is late; one
further ahead of the watermark than the pack's ``max_ahead`` is refused and does not move
time. The ids are remembered for the pack's duplicate horizon.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from .. import snapshot as snapshots
from ..errors import EventConflictError, FutureEventError, LateEventError, Location
from ..eventtime import from_us, to_us

__all__ = ["DuplicateStore", "future_error", "late_error"]


class DuplicateStore:
    """The ids seen within the duplicate horizon, in arrival order.

    Each id maps to the event as validated (a dict of plain values), or, for ids restored
    from a snapshot, to ``(at µs, digest of the event)``: enough to tell a repeat from a
    conflict.
    """

    __slots__ = ("ids", "seen", "times")

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}
        # Arrival order of the remembered ids and their times, as two deques of plain
        # values (no tuple per event for the garbage collector to count).
        self.times: deque[int] = deque()
        self.ids: deque[str] = deque()

    def __len__(self) -> int:
        return len(self.seen)

    def is_repeat(self, event_id: str, checked: dict[str, Any]) -> bool:
        """Whether ``event_id`` was seen with this content; raises on a different one."""
        seen = self.seen.get(event_id)
        if seen is None:
            return False
        if seen == checked or (type(seen) is tuple and seen[1] == snapshots.digest(checked)):
            return True
        raise EventConflictError(conflict_reason(seen, checked), Location(event_id=event_id))

    def remember(self, event_id: str, at_us: int, checked: dict[str, Any]) -> None:
        """Keep an accepted event's id (and content) for the duplicate check."""
        self.seen[event_id] = checked
        self.times.append(at_us)
        self.ids.append(event_id)

    def withdraw(self, event_id: str) -> None:
        """Undo whatever part of :meth:`remember` ran for a new id whose call failed before
        it committed (the id was not remembered before the call)."""
        self.seen.pop(event_id, None)
        if self.ids and self.ids[-1] == event_id:
            self.ids.pop()
        if len(self.times) > len(self.ids):
            self.times.pop()

    def evict_before(self, cutoff_us: int) -> None:
        """Forget the ids of events older than ``cutoff_us``."""
        times = self.times
        ids = self.ids
        seen = self.seen
        # Every remembered id has exactly one entry in the order (an id is added only when
        # it is new), so the entry's time is the event's.
        while times and times[0] < cutoff_us:
            times.popleft()
            seen.pop(ids.popleft(), None)

    def entries(self) -> Iterator[list[Any]]:
        """``[id, at µs, digest]`` of every remembered event (for snapshots)."""
        for event_id, value in self.seen.items():
            if type(value) is tuple:
                yield [event_id, value[0], value[1]]
            else:
                yield [event_id, to_us(value["at"]), snapshots.digest(value)]

    def order(self) -> Iterator[list[Any]]:
        """``[at µs, id]`` in arrival order (for snapshots)."""
        for at_us, event_id in zip(self.times, self.ids, strict=True):
            yield [at_us, event_id]

    def load(self, entries: Iterable[Any], order: Iterable[Any]) -> None:
        """Replace the store with a snapshot's entries."""
        self.seen = {str(eid): (int(at_us), str(value)) for eid, at_us, value in entries}
        pairs = [(int(at_us), str(eid)) for at_us, eid in order]
        self.times = deque(at_us for at_us, _ in pairs)
        self.ids = deque(eid for _, eid in pairs)


def conflict_reason(seen: Any, checked: dict[str, Any]) -> str:
    """Why a repeated id is refused: which fields differ (names only, never values)."""
    msg = "this id was seen before with a different payload"
    if type(seen) is dict:
        fields = sorted(k for k in seen.keys() | checked.keys() if seen.get(k) != checked.get(k))
        msg += f" (different: {', '.join(fields)})"
    return msg


def late_error(
    event_id: str, at: dt.datetime, watermark_us: int, lateness_us: int, tz: Any
) -> LateEventError:
    """The error for an event older than the watermark."""
    late_by = dt.timedelta(microseconds=watermark_us - to_us(at))
    msg = (
        f"event time {at.isoformat()} is {late_by} before the watermark "
        f"{from_us(watermark_us, tz).isoformat()} (allowed lateness "
        f"{dt.timedelta(microseconds=lateness_us)}); it can no longer be judged"
    )
    return LateEventError(msg, Location(event_id=event_id))


def future_error(
    event_id: str, at: dt.datetime, watermark_us: int, max_ahead_us: int, tz: Any
) -> FutureEventError:
    """The error for an event further ahead of the watermark than allowed."""
    ahead = dt.timedelta(microseconds=to_us(at) - watermark_us)
    msg = (
        f"event time {at.isoformat()} is {ahead} ahead of the watermark "
        f"{from_us(watermark_us, tz).isoformat()}, more than the pack allows "
        f"(max_ahead {dt.timedelta(microseconds=max_ahead_us)}); it is refused and does not "
        "move time (check its clock, or raise max_ahead for a sparse stream)"
    )
    return FutureEventError(msg, Location(event_id=event_id))
