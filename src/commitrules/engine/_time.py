"""Time: the timers rules set (due times, period ends) and the order they fire in.

Timers fire in (time, sequence) order. Most rules schedule them in time order (a deadline
opened later falls due later), so each rule keeps its own queue and only the queue's head
waits on the heap: appending to a queue is cheaper than a push into one large heap, and the
heap stays as small as the rule count. A timer earlier than its rule's last one goes onto
the heap directly. The sequence numbers are shared with the engine's reorder buffer, so
that an event and a timer at the same instant keep the order in which they were queued.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from typing import Any

from ..rules import RuleRuntime
from ..rules._base import TimerQueue

__all__ = ["QUEUED", "Timers"]

QUEUED: Any = object()
"""A heap entry standing for the head of a rule's timer queue."""

Entry = tuple[int, int, int, Any]  # (fire µs, sequence, rule index, token)


class Timers:
    """Every rule's pending timers, and the sequence numbers that break ties."""

    __slots__ = ("firing", "heap", "index", "queues", "sequence")

    def __init__(self, rules: Sequence[RuleRuntime]) -> None:
        self.heap: list[Entry] = []
        self.queues: list[TimerQueue] = [TimerQueue() for _ in rules]
        self.index: dict[RuleRuntime, int] = {rule: n for n, rule in enumerate(rules)}
        self.sequence = 0
        #: The sequence number of the timer being fired (for hosts that order by it).
        self.firing = 0

    def schedule(self, fire_us: int, rule: RuleRuntime, token: Any) -> None:
        """Fire ``rule.on_timer(token, fire_us, …)`` once time reaches ``fire_us``."""
        self.sequence += 1
        sequence = self.sequence
        index = self.index[rule]
        queue = self.queues[index]
        fires = queue.fires
        if not fires:
            fires.append(fire_us)
            queue.seqs.append(sequence)
            queue.tokens.append(token)
            heapq.heappush(self.heap, (fire_us, sequence, index, QUEUED))
        elif fire_us >= fires[-1]:
            fires.append(fire_us)
            queue.seqs.append(sequence)
            queue.tokens.append(token)
        else:
            heapq.heappush(self.heap, (fire_us, sequence, index, token))

    def pending(self) -> list[Entry]:
        """Every timer not yet fired, heap and queues alike, in firing order."""
        timers = [entry for entry in self.heap if entry[3] is not QUEUED]
        for index, queue in enumerate(self.queues):
            timers.extend(
                (fire_us, seq, index, token)
                for fire_us, seq, token in zip(queue.fires, queue.seqs, queue.tokens, strict=True)
            )
        timers.sort(key=lambda item: item[:2])
        return timers

    def load(self, entries: Sequence[Entry], sequence: int) -> None:
        """Replace every timer (all go onto the heap) and the sequence counter."""
        self.heap = list(entries)
        heapq.heapify(self.heap)
        self.queues = [TimerQueue() for _ in self.queues]
        self.sequence = sequence

    def fire(
        self,
        until_us: int,
        rules: Sequence[RuleRuntime],
        at: Callable[[int], None],
        run: Callable[[RuleRuntime, Any, int], None],
    ) -> None:
        """Fire every timer due by ``until_us`` in order: ``at(fire_us)`` sets the time,
        ``run(rule, token, fire_us)`` calls the rule."""
        timers = self.heap
        heappop = heapq.heappop
        heappush = heapq.heappush
        queues = self.queues
        while timers and timers[0][0] <= until_us:
            fire_us, sequence, index, token = heappop(timers)
            if token is QUEUED:
                queue = queues[index]
                fires = queue.fires
                seqs = queue.seqs
                drop = rules[index].drop_spent_timers
                if drop is not None:
                    # Timers due by now that would do nothing (most deadlines are met)
                    # go at once, without a trip through the heap each.
                    drop(queue, until_us)
                    if not fires:
                        continue
                    if seqs[0] != sequence:  # the head was dropped: queue the new one
                        heappush(timers, (fires[0], seqs[0], index, QUEUED))
                        continue
                token = queue.popleft()
                if fires:
                    heappush(timers, (fires[0], seqs[0], index, QUEUED))
            at(fire_us)
            self.firing = sequence
            run(rules[index], token, fire_us)
