"""The garbage collector's pace during a long run.

CPython collects its youngest generation of container objects every 700 net allocations,
the middle one every 10 of those, and the oldest (everything alive) in proportion. A long
run keeps a large live state (the duplicate store, pending deadlines and counts, the
journal), and every collection of the older generations walks it, although the engine
leaves little cyclic garbage (its objects are freed by reference counting). Measured on
10^6 events of the soak's stream from Parquet (the single engine, alternating runs): 27.2
and 28.0 s at the default thresholds (4,238, 385 and 26 collections), 20.8 and 23.5 s at
``(50_000, 20, 20)`` (228, 17 and 1), the same peak memory (413-420 MB).

:func:`long_run` raises the thresholds for the duration of a long run and restores the
caller's afterwards. The batch entry points use it (:meth:`Engine.process_many`, the
table and JSON Lines readers, the stage plan, the Spark runners); an application that
feeds :meth:`Engine.process` from a loop of its own can too. Reference cycles are still
collected, less often. Nested and concurrent runs share one setting: the first to enter
sets it, the last to leave restores what was there before.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

__all__ = ["LONG_RUN_THRESHOLDS", "long_run", "paced"]

_F = TypeVar("_F", bound=Callable[..., Any])

LONG_RUN_THRESHOLDS = (50_000, 20, 20)
"""The collector's thresholds during a long run (see the module's docstring)."""

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] | None = None  # the caller's thresholds, when long_run set its own


@contextmanager
def long_run() -> Iterator[None]:
    """Collect garbage less often while the block runs (a long run over many events).

    The collector's thresholds become :data:`LONG_RUN_THRESHOLDS` unless the caller's
    youngest threshold is already higher (or collection is off), and are restored when the
    outermost such block ends. Results never depend on it.

    >>> import gc
    >>> before = gc.get_threshold()
    >>> with long_run():
    ...     inside = gc.get_threshold()
    >>> gc.get_threshold() == before and inside[0] >= before[0]
    True
    """
    global _depth, _saved  # noqa: PLW0603 - one setting for the process, as gc's own
    with _lock:
        if _depth == 0:
            caller = gc.get_threshold()
            if 0 < caller[0] < LONG_RUN_THRESHOLDS[0]:
                _saved = caller
                gc.set_threshold(*LONG_RUN_THRESHOLDS)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None


def paced(function: _F) -> _F:
    """``function`` run inside :func:`long_run` (for the batch entry points)."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        with long_run():
            return function(*args, **kwargs)

    return cast("_F", run)
