"""Order: stream positions, the admission's clock, and the stable hash of partition keys."""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import attrs

from .. import snapshot as snapshots

__all__ = ["Clock", "StreamPosition", "bucket_of"]

_DAY_US = 86_400_000_000


@attrs.frozen(order=True)
class StreamPosition:
    """Where an event stands in the stream: a total order over every input.

    ``source`` names the input (a topic, a file), ``partition`` its partition (0 for a
    file), ``offset`` the offset or row. Positions compare as tuples in that order; the
    stream is whatever order they give, and a plan decides duplicates, conflicts and
    lateness in it, exactly as the single engine does in arrival order.

    >>> StreamPosition("a.jsonl", 0, 7) < StreamPosition("a.jsonl", 0, 10)
    True
    """

    source: str = ""
    partition: int = 0
    offset: int = 0


def bucket_of(value: Any, partitions: int) -> int:
    """The partition of a key value among ``partitions``: a stable hash (BLAKE2b of the
    value's canonical JSON), the same in every process and on every machine.

    >>> bucket_of("C-1", 7) == bucket_of("C-1", 7), bucket_of(None, 1)
    (True, 0)
    """
    if partitions == 1:
        return 0
    text = json.dumps(
        snapshots.encode(value), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


@attrs.frozen
class Clock:
    """The single engine's calls and their watermarks, as the admission saw them.

    ``positions`` are the stream positions (indexes) of the admitted events, in order,
    and ``watermarks`` the watermark after each; ``final`` is the index of the closing
    ``advance_to`` call (None when there is none) and ``final_us`` the last watermark.
    """

    positions: Sequence[int]
    watermarks: Sequence[int]
    final: int | None
    final_us: int | None
    sweeps: tuple[tuple[int, int], ...]

    @classmethod
    def of(
        cls,
        positions: Sequence[int],
        watermarks: Sequence[int],
        *,
        end: int,
        until_us: int | None,
    ) -> Clock:
        """The clock of a stream; ``end`` is the position after the last event."""
        last = watermarks[-1] if watermarks else None
        final: int | None = None
        final_us = last
        if until_us is not None and (last is None or until_us >= last):
            final, final_us = end, until_us
        # The engine drops repeat counters once a day of event time (after its call's
        # routes), counting from the epoch: the same calls here.
        sweeps: list[tuple[int, int]] = []
        swept = 0
        for position, watermark in zip(positions, watermarks, strict=True):
            if watermark - swept > _DAY_US:
                sweeps.append((position, watermark))
                swept = watermark
        if final is not None and final_us is not None and final_us - swept > _DAY_US:
            sweeps.append((final, final_us))
        return cls(list(positions), list(watermarks), final, final_us, tuple(sweeps))

    def call(self, position: int, latest_us: int) -> int | None:
        """The call in which the single engine did what descends from the event at
        ``position`` and is due at ``latest_us``: the first call at or after the event
        whose watermark reaches it (None: never, the stream ended first)."""
        index = bisect.bisect_left(self.watermarks, latest_us)
        if index < len(self.positions):
            return max(position, self.positions[index])
        if self.final is not None and self.final_us is not None and latest_us <= self.final_us:
            return self.final
        return None
