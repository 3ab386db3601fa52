"""Atomic calls: the last committed state, as a checkpoint plus the calls since.

A call's effects are applied in place (that is what makes the engine fast); if one of the
engine's own steps fails part way, the engine goes back to its last committed state by
restoring the checkpoint and applying every committed call since, again. The engine is
deterministic, so the replay reproduces the state exactly; the duplicate store is not part
of it (a call adds to it only once it has committed). A checkpoint is taken when the
journal has grown as long as the state is large (at least :data:`MIN_INTERVAL` calls), so
its cost per call stays constant whatever the state's size.

A fault that does not go away (the replay fails too) leaves the checkpoint and the journal
as they are: nothing committed is lost, and the next call tries again.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MIN_INTERVAL", "EngineFault", "Journal"]

MIN_INTERVAL = 4096
"""The fewest calls between two checkpoints."""
SPACING = 4
"""Calls between two checkpoints per item of state: a checkpoint costs about as much as
the state is large, so its cost per call stays constant; a rollback replays at most this
many calls per item (a failure is rare, every call pays for the checkpoints)."""


class EngineFault(BaseException):
    """A step of the engine's own failed inside a call (rendering, routing, ids).

    A ``BaseException`` so that the guards around a rule's own code (which turn the rule's
    failures into an operational finding) let it through to the call, which rolls back.
    """

    def __init__(self, step: str, error: BaseException) -> None:
        super().__init__(step, error)
        self.step = step
        self.error = error


class Journal:
    """The checkpoint, the calls committed since, and the state of a recovery."""

    __slots__ = ("attempt", "broken", "checkpoint", "entries", "interval", "replaying")

    def __init__(self) -> None:
        self.checkpoint: tuple[Any, ...] | None = None
        #: (event, at µs, id, type, prepared) per committed event; (None, µs, …) per
        #: committed clock move.
        self.entries: list[tuple[Any, ...]] = []
        self.interval = MIN_INTERVAL
        self.replaying = False
        #: The failure a recovery has not yet undone (None when the state is whole).
        self.broken: BaseException | None = None
        #: Counts the calls attempted (a decision log keeps only committed ones' lines).
        self.attempt = 0

    def reset(self, checkpoint: tuple[Any, ...]) -> None:
        """A new checkpoint: the journal starts empty; the next one when it is as long as
        the state is large."""
        self.checkpoint = checkpoint
        self.entries = []
        self.interval = max(MIN_INTERVAL, SPACING * _size(checkpoint))


def _size(checkpoint: tuple[Any, ...]) -> int:
    """About how many items of state a checkpoint holds (a pickled item is ~64 bytes)."""
    states, timers, _sequence, buffer, router, _clock, derived = checkpoint
    pickled = sum(len(state) for state in states) + len(router)
    return len(timers) + len(buffer) + len(derived or ()) + pickled // 64
