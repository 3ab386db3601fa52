"""Atomic calls: the last committed state, as a checkpoint plus the calls since.

A call's effects are applied in place (that is what makes the engine fast); if one of the
engine's own steps fails part way, the engine goes back to its last committed state by
restoring the checkpoint and applying every committed call since, again. The engine is
deterministic, so the replay reproduces the state exactly; the duplicate store is not part
of it (a call adds to it only once it has committed). A checkpoint is taken when the
journal has grown as long as the state is large (at least :data:`MIN_INTERVAL` calls), so
its cost per call stays constant whatever the state's size, and at the latest after
:data:`MAX_INTERVAL` calls, so the journal's memory stays bounded whatever the state's size.

A fault that does not go away (the replay fails too) leaves the checkpoint and the journal
as they are: nothing committed is lost, and the next call tries again.
"""

from __future__ import annotations

import gc
import heapq
import pickle
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import attrs

from ..errors import ProcessingError
from ._parts import EngineParts

__all__ = [
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "VALUES",
    "Atomic",
    "EngineFault",
    "Journal",
    "no_collection",
]

_PICKLE = pickle.HIGHEST_PROTOCOL

MIN_INTERVAL = 4096
"""The fewest calls between two checkpoints."""
MAX_INTERVAL = 131_072
"""The most calls between two checkpoints. The journal holds every event committed since
the last checkpoint (about 1 KB each as Python values, against ~64 bytes an item of state),
so without a bound it would hold millions of events on a large state (6.6 GB after 10M events
of the benchmark's stream): ~130 MB at most. Past it, a checkpoint's cost per call grows
with the state."""
SPACING = 4
"""Calls between two checkpoints per item of state: a checkpoint costs about as much as
the state is large, so its cost per call stays constant; a rollback replays at most this
many calls per item (a failure is rare, every call pays for the checkpoints)."""


VALUES: dict[int, Any] = {}
"""The mark of a journal entry whose event is the tuple of its values in field order (the
vectorised table path's lean intake), in the place of the prepared values (it had none):
this empty dict itself, told apart by identity (``prepared is VALUES``)."""


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
        self.interval = min(MAX_INTERVAL, max(MIN_INTERVAL, SPACING * _size(checkpoint)))


def _size(checkpoint: tuple[Any, ...]) -> int:
    """About how many items of state a checkpoint holds (a pickled item is ~64 bytes)."""
    states, timers, _sequence, buffer, router, _clock, derived = checkpoint
    pickled = sum(len(state) for state in states) + len(router)
    return len(timers) + len(buffer) + len(derived or ()) + pickled // 64


@contextmanager
def no_collection() -> Iterator[None]:
    """The cyclic garbage collector paused while a state is copied or rebuilt: a large
    state makes millions of objects at once, none of them garbage, and the collector's full
    passes over them took most of a restore's time (and half of a checkpoint's)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Atomic(EngineParts):
    """The engine's part that makes every call all or nothing: the checkpoint, the journal
    of committed calls since, and the replay that goes back to them after a failure."""

    __slots__ = ()

    def _begin(self) -> None:
        """Before a call: the state is whole, and sinks have taken what they were owed."""
        self._intact()
        if self._deliveries:
            self._deliveries.deliver([], processed=False)

    def _intact(self) -> None:
        if self._journal.broken is not None:
            self._recover()

    def _fail(self, error: BaseException, event_id: str | None, violations: int) -> NoReturn:
        """A call failed in its apply step: roll back to the last commit, then raise."""
        self._out = []
        self._call_outcomes = []
        self._unrouted = []
        self._accepting = False
        self.stats.violations = violations
        step = error.step if isinstance(error, EngineFault) else self._step
        cause = error.error if isinstance(error, EngineFault) else error
        self._journal.broken = cause
        self._recover()
        if not isinstance(cause, Exception):
            raise cause from None  # KeyboardInterrupt and the like, after the rollback
        what = f"event {event_id}" if event_id is not None else "advance_to"
        msg = (
            f"{what} failed at step {step!r}: {type(cause).__name__}: {cause}; nothing was "
            "applied (the engine's state is as before the call; the same input can be sent "
            "again)"
        )
        raise ProcessingError(msg, step=step, event_id=event_id) from cause

    def _capture(self) -> tuple[Any, ...]:
        """Everything a call can change except the duplicate store, copied.

        The rules' and router's states are copied with pickle (three times faster than the
        snapshot's encoding); the copy never leaves this process and is read back only by
        :meth:`_reinstate`.
        """
        return (
            [pickle.dumps(rule.state(), _PICKLE) for rule in self._rules],
            self._timers.pending(),
            self._timers.sequence,
            sorted(self._buffer, key=lambda item: item[:2]),
            pickle.dumps(self._router.state(), _PICKLE),
            (self._latest_us, self._watermark_us, self._started, self._last_sweep_us),
            list(self._derived.entries) if self._derived is not None else None,
        )

    def _reinstate(self, captured: tuple[Any, ...]) -> None:
        states, timers, sequence, buffer, router, clock, derived = captured
        for rule, state in zip(self._rules, states, strict=True):
            rule.restore(pickle.loads(state))  # noqa: S301 - our own copy (see _capture)
        self._timers.load(timers, sequence)
        self._buffer = list(buffer)
        heapq.heapify(self._buffer)
        self._router.restore(pickle.loads(router))  # noqa: S301 - our own copy
        self._latest_us, self._watermark_us, self._started, self._last_sweep_us = clock
        if self._derived is not None:
            self._derived.entries = deque(derived)

    def _checkpoint_if_due(self) -> None:
        journal = self._journal
        if len(journal.entries) >= journal.interval:
            with no_collection():  # many objects made at once, none of them garbage
                journal.reset(self._capture())

    def _recover(self) -> None:
        """Back to the last committed state: the checkpoint, then every call since, again."""
        journal = self._journal
        assert journal.checkpoint is not None
        stats = attrs.evolve(self.stats)
        tracer, self.tracer = self.tracer, None
        journal.replaying = True
        try:
            self._reinstate(journal.checkpoint)
            for checked, at_us, event_id, kind, prepared in journal.entries:
                if checked is None:
                    self._apply_advance(at_us)
                elif prepared is VALUES:
                    event = self._digests.event_of(kind, checked)
                    self._apply_event(event, at_us, event_id, kind, self._routes.get(kind), {})
                else:
                    self._apply_event(
                        checked, at_us, event_id, kind, self._routes.get(kind), prepared
                    )
        except BaseException as error:
            # Still failing (a fault that has not gone): the committed state is still the
            # checkpoint plus the journal; the next call tries again.
            journal.broken = error
            msg = (
                f"the engine could not restore its state after a failure ({type(error).__name__}:"
                f" {error}); nothing is lost: it tries again on the next call"
            )
            raise ProcessingError(msg, step="recovery") from error
        finally:
            journal.replaying = False
            self.tracer = tracer
            self.stats = stats
            self._out = []
            self._call_outcomes = []
            self._unrouted = []
            self._step = "release"
        journal.broken = None
        self._checkpoint_if_due()
