"""Intake: what decides whether an event is accepted, before anything changes.

An event is accepted once: a repeated id with the same content is a duplicate (dropped and
counted), with a different content a conflict (refused, naming the fields that differ
while the earlier event is still held); an event older than the watermark is late; one
further ahead of the watermark than the pack's ``max_ahead`` is refused and does not move
time. The ids are remembered for the pack's duplicate horizon.

The duplicate store keeps ids, not events: per id a 64-bit digest of the id, a 62-bit
digest of the validated event's values in field order (see :class:`Digests`) and the event's
time, in a compact table (see :class:`DuplicateStore`), about 40 bytes an id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from operator import itemgetter
from typing import Any

import msgspec

from .. import snapshot as snapshots
from ..errors import EventConflictError, FutureEventError, LateEventError, Location
from ..eventtime import from_us, to_us

__all__ = ["Digests", "DuplicateStore", "future_error", "late_error"]

LEGACY = 1 << 63
"""The flag of a content digest restored from a version 1 snapshot (a SHA-256 of the
canonical event, as :func:`commitrules.snapshot.digest` gives, cut to 63 bits)."""
SORTED = 1 << 62
"""The flag of a content digest restored from a version 2 snapshot (BLAKE2b of the event
as JSON with sorted keys, :meth:`Digests.of_body_sorted`, cut to 62 bits)."""
_LOW62 = SORTED - 1
_LOW63 = LEGACY - 1
_from_bytes = int.from_bytes
_sorted_json = msgspec.json.Encoder(order="sorted").encode


class Digests:
    """The fixed-size digests the duplicate store keeps: of an event's id, of its content.

    BLAKE2b cut to 64 bits, keyed with the deployment's id key when one is configured
    (``Engine(id_key=…)``), so that a snapshot's digests cannot be tested against guessed
    ids or events without the key. Without a key they are plain hashes: a reader of a
    snapshot who can guess a whole event (every field, personal ones included) can confirm
    the guess, as with version 1 snapshots' SHA-256 (see docs/engine.md, "Duplicates").

    The content digest (version 3 snapshots: "values in field order") is of the validated
    event's values, in its type's declared field order, as a JSON array (msgspec's
    encoding: timestamps as RFC 3339 text with their offset, decimals as text), hashed with
    the personalisation ``commitrules.bd3``; ``fields`` gives each type's field order. An
    event whose keys are not exactly its type's fields (or of a type not in ``fields``) is
    hashed as a JSON object with sorted keys instead (an object never reads as an array).
    Two events are the same content when every field has the same value written the same
    way: ``1.0`` and ``1.00`` differ, as do the same instant at two offsets. Cut to 62 bits:
    the top two bits flag digests restored from older snapshots (:data:`LEGACY`,
    :data:`SORTED`; a version 1 digest keeps 63 bits below its flag, so a restored
    digest is :data:`LEGACY` first, else :data:`SORTED`, else of this version).
    """

    __slots__ = ("_body", "_encode", "_fields", "_id", "_sorted", "fingerprint", "order")

    def __init__(
        self, key: bytes | None, fields: Mapping[str, Iterable[str]] | None = None
    ) -> None:
        secret = key or b""
        self._id = hashlib.blake2b(digest_size=8, key=secret, person=b"commitrules.id")
        self._body = hashlib.blake2b(digest_size=8, key=secret, person=b"commitrules.bd3")
        #: Version 2's content digest (sorted JSON), for entries restored from its snapshots.
        self._sorted = hashlib.blake2b(digest_size=8, key=secret, person=b"commitrules.body")
        self._encode = msgspec.json.Encoder().encode
        #: type -> (number of fields, a getter of their values in the declared order)
        self._fields: dict[str, tuple[int, Callable[[Any], Any]]] = {}
        #: type -> its field names in the declared order
        self.order: dict[str, tuple[str, ...]] = {}
        for name, order in (fields or {}).items():
            names = self.order[name] = tuple(order)
            getter = itemgetter(*names) if len(names) > 1 else _one(names)
            self._fields[name] = (len(names), getter)
        #: What a snapshot records of the key (a digest of a constant under it), so that a
        #: restore with another key is refused instead of taking every repeat for new.
        self.fingerprint: str | None = (
            None
            if key is None
            else hashlib.blake2b(b"commitrules.seen", digest_size=8, key=key).hexdigest()
        )

    def of_id(self, event_id: str) -> int:
        """The 64-bit digest of an event id."""
        state = self._id.copy()
        state.update(event_id.encode("utf-8", "surrogatepass"))
        return _from_bytes(state.digest(), "little")

    def of_body(self, checked: Mapping[str, Any]) -> int:
        """The 62-bit digest of a validated event's content (its values in field order)."""
        try:
            count, values = self._fields[checked["type"]]
            # Exactly the type's keys (as many, and each found): its values in field order.
            data = self._encode(values(checked)) if len(checked) == count else None
        except (KeyError, TypeError):  # no type, an unknown one, or other keys
            data = None
        state = self._body.copy()
        state.update(_sorted_json(checked) if data is None else data)
        return _from_bytes(state.digest(), "little") & _LOW62

    def of_values(self, values: tuple[Any, ...]) -> int:
        """:meth:`of_body` of a validated event given as the tuple of its values in its
        type's field order (every field; :meth:`event_of` gives the dict back)."""
        # The hashing lines of of_body, repeated: a shared helper is a call more per event.
        state = self._body.copy()
        state.update(self._encode(values))
        return _from_bytes(state.digest(), "little") & _LOW62

    def event_of(self, kind: str, values: tuple[Any, ...]) -> dict[str, Any]:
        """The validated event (a dict) of a type's values in field order."""
        return dict(zip(self.order[kind], values, strict=True))

    def of_body_sorted(self, checked: Mapping[str, Any]) -> int:
        """A version 2 snapshot's content digest (sorted JSON), flagged as the store keeps it."""
        state = self._sorted.copy()
        state.update(_sorted_json(checked))
        return SORTED | (_from_bytes(state.digest(), "little") & _LOW62)

    def matches(self, body: int, checked: Mapping[str, Any]) -> bool:
        """Whether a kept content digest (of any version) is the digest of ``checked``."""
        if body & LEGACY:
            return legacy_digest(checked) == body
        if body & SORTED:
            return self.of_body_sorted(checked) == body
        return self.of_body(checked) == body


def _one(names: tuple[str, ...]) -> Callable[[Any], Any]:
    """A getter of a one-field (or no-field) type's values, as a tuple."""
    return lambda checked: tuple(checked[name] for name in names)


def legacy_digest(checked: Mapping[str, Any]) -> int:
    """A version 1 snapshot's content digest of an event, as the store keeps it."""
    return LEGACY | (int(snapshots.digest(checked)[:16], 16) & _LOW63)


_INITIAL = 1024  # entries (the index has twice as many places)


class DuplicateStore:
    """The ids seen within the duplicate horizon, in arrival order, as digests.

    Three parallel arrays used as a ring in arrival order (id digest, content digest, time
    in µs: 24 bytes an id) and an open-addressing index over it (linear probing, 4 bytes a
    place, at most half full), which tells whether an id digest is present without a Python
    object per id. Eviction walks the ring from its oldest entry while entries are older
    than the cutoff, as the store of whole events did. ``len`` is the number of ids held.

    A repeat is decided by the digests alone: the same id digest with the same content
    digest is a duplicate; with another content digest it is a conflict. Two different ids
    with the same 64-bit digest (about one chance in 10**6 over ten million live ids) are
    therefore a conflict, never a dropped event.
    """

    __slots__ = (
        "_bodies",
        "_capacity",
        "_index",
        "_keys",
        "_mask",
        "_missed",
        "_place",
        "_smallest",
        "_times",
        "digests",
        "head",
        "tail",
    )

    def __init__(self, digests: Digests | None = None, *, smallest: int = _INITIAL) -> None:
        self.digests = digests if digests is not None else Digests(None)
        #: The smallest ring (tests make it tiny, to wrap and grow often).
        self._smallest = smallest
        self._reset(smallest)

    def _reset(self, capacity: int) -> None:
        self._capacity = capacity
        self._keys = array("Q", bytes(8 * capacity))
        self._bodies = array("Q", bytes(8 * capacity))
        self._times = array("q", bytes(8 * capacity))
        size = 1
        while size < 2 * capacity:
            size *= 2
        self._index = array("I", bytes(4 * size))
        self._mask = size - 1
        #: Absolute positions: entries head .. tail-1 are live (slot = position % capacity).
        self.head = 0
        self.tail = 0
        #: The id digest of the last lookup that missed and its place, for the insert after it.
        self._missed = -1
        self._place = -1

    def __len__(self) -> int:
        return self.tail - self.head

    # -- the hot path ------------------------------------------------------------------------
    def find(self, key: int) -> int:
        """The ring slot holding id digest ``key``, or -1 (remembering where to insert it)."""
        index = self._index
        keys = self._keys
        mask = self._mask
        place = key & mask
        while True:
            slot = index[place]
            if not slot:
                self._missed = key
                self._place = place
                return -1
            if keys[slot - 1] == key:
                return slot - 1
            place = (place + 1) & mask

    def is_repeat(
        self,
        slot: int,
        checked: Mapping[str, Any],
        event_id: str,
        earlier: Callable[[str], Mapping[str, Any] | None],
    ) -> bool:
        """Whether the event whose id digest :meth:`find` found at ``slot`` repeats that
        id's content; raises :class:`EventConflictError` when the content differs.

        ``earlier(event_id)`` gives the earlier event while the engine still holds it (to
        name the fields that differ), else None.
        """
        if self.digests.matches(self._bodies[slot], checked):
            return True
        raise EventConflictError(
            conflict_reason(earlier(event_id), checked), Location(event_id=event_id)
        )

    def remember(self, key: int, at_us: int, body: int) -> None:
        """Keep an accepted event's id digest, content digest and time (after a
        :meth:`find` of ``key`` that missed)."""
        if self.tail - self.head >= self._capacity:
            self._rebuild(self._capacity + max(1, self._capacity // 2))
        if self._missed != key and self.find(key) >= 0:
            return  # already held (never for an accepted event)
        place = self._place
        self._missed = -1
        slot = self.tail % self._capacity
        self._keys[slot] = key
        self._bodies[slot] = body
        self._times[slot] = at_us
        self._index[place] = slot + 1
        self.tail += 1

    def withdraw(self, key: int) -> None:
        """Undo whatever part of :meth:`remember` ran for the new id digest ``key`` of a
        call that failed before it committed (the id was not held before the call)."""
        self._missed = -1
        place = key & self._mask
        index = self._index
        keys = self._keys
        while True:
            slot = index[place]
            if not slot:
                return  # not indexed: nothing of it is live
            if keys[slot - 1] == key:
                break
            place = (place + 1) & self._mask
        # Indexed: as the newest entry (tail advanced) or at the tail (not yet advanced).
        if self.tail > self.head and (self.tail - 1) % self._capacity == slot - 1:
            self.tail -= 1
        self._unindex(place)

    def _unindex(self, hole: int) -> None:
        """Empty index place ``hole``, moving later entries of its probe run back into the
        gap (backward shift, so that no tombstones are needed)."""
        index = self._index
        keys = self._keys
        mask = self._mask
        place = hole
        while True:
            place = (place + 1) & mask
            moved = index[place]
            if not moved:
                break
            home = keys[moved - 1] & mask
            # An entry whose home lies cyclically in (hole, place] stays where it is.
            if (hole < home <= place) if hole <= place else (home > hole or home <= place):
                continue
            index[hole] = moved
            hole = place
        index[hole] = 0

    # -- upkeep --------------------------------------------------------------------------
    def evict_before(self, cutoff_us: int) -> None:
        """Forget the ids of events older than ``cutoff_us`` (oldest arrival first)."""
        times = self._times
        capacity = self._capacity
        head = self.head
        tail = self.tail
        if head == tail or times[head % capacity] >= cutoff_us:
            return
        keys = self._keys
        index = self._index
        mask = self._mask
        unindex = self._unindex
        while head < tail:
            slot = head % capacity
            if times[slot] >= cutoff_us:
                break
            # Find the slot's place, then close the gap.
            place = keys[slot] & mask
            while index[place] != slot + 1:
                place = (place + 1) & mask
            unindex(place)
            head += 1
        self.head = head
        self._missed = -1
        live = tail - head
        if capacity > self._smallest and live < capacity // 3:
            self._rebuild(max(self._smallest, live + live // 2))

    def _rebuild(self, capacity: int) -> None:
        """Move the live entries to the front of a ring of ``capacity``, and index them."""
        head, tail, old = self.head, self.tail, self._capacity
        start, end = head % old, tail % old
        parts = []
        for part in (self._keys, self._bodies, self._times):
            if tail - head == 0:
                live = part[:0]
            elif start < end:
                live = part[start:end]
            else:  # wrapped (or full)
                live = part[start:] + part[:end]
            parts.append(live)
        self._reset(capacity)
        count = tail - head
        padding = bytes(8 * (capacity - count))
        keys = self._keys = parts[0] + array("Q", padding)
        self._bodies = parts[1] + array("Q", padding)
        self._times = parts[2] + array("q", padding)
        index = self._index
        mask = self._mask
        for slot in range(count):  # the index again, in one tight loop
            place = keys[slot] & mask
            while index[place]:
                place = (place + 1) & mask
            index[place] = slot + 1
        self.tail = count

    def _entries(self) -> Iterator[tuple[int, int, int]]:
        keys = self._keys
        bodies = self._bodies
        times = self._times
        capacity = self._capacity
        for position in range(self.head, self.tail):
            slot = position % capacity
            yield keys[slot], bodies[slot], times[slot]

    # -- snapshots -----------------------------------------------------------------------
    def entries(self) -> Iterator[list[Any]]:
        """``[id digest, at µs, content digest]`` in arrival order (digests as 16 hex
        digits), for snapshots."""
        for key, body, at_us in self._entries():
            yield [f"{key:016x}", at_us, f"{body:016x}"]

    def load(self, entries: Iterable[tuple[int, int, int]]) -> None:
        """Replace the store with ``(id digest, content digest, at µs)`` in arrival order."""
        held = list(entries)
        self._reset(max(self._smallest, len(held) + len(held) // 2))
        for key, body, at_us in held:
            if self.find(key) < 0:
                self.remember(key, at_us, body)

    def load_v2(self, entries: Iterable[tuple[int, int, int]]) -> None:
        """Replace the store with a version 2 snapshot's ``(id digest, content digest, at
        µs)``: its content digests (sorted JSON) are kept, flagged :data:`SORTED`, until
        they leave the horizon (those it kept from version 1 stay :data:`LEGACY`)."""
        self.load(
            (key, body if body & LEGACY else SORTED | (body & _LOW62), at_us)
            for key, body, at_us in entries
        )

    def load_v1(self, entries: Iterable[Any], order: Iterable[Any]) -> None:
        """Replace the store with a version 1 snapshot's ids (id, at µs, SHA-256 of the
        event), in the order given by its ``seen_order``."""
        digests = {str(eid): int(str(value)[:16], 16) for eid, _, value in entries}
        self.load(
            (self.digests.of_id(eid), LEGACY | (digests[eid] & _LOW63), int(at_us))
            for at_us, eid in order
        )

    def nbytes(self) -> int:
        """The bytes of the table's arrays (what an id costs, times the capacity)."""
        return sum(
            part.itemsize * len(part)
            for part in (self._keys, self._bodies, self._times, self._index)
        )


def conflict_reason(seen: Mapping[str, Any] | None, checked: Mapping[str, Any]) -> str:
    """Why a repeated id is refused: which fields differ (names only, never values) while
    the earlier event is still held, else that the content differs."""
    msg = "this id was seen before with a different payload"
    if seen is not None:
        fields = sorted(
            key
            for key in seen.keys() | checked.keys()
            if _written(seen.get(key)) != _written(checked.get(key))
        )
        if fields:
            return msg + f" (different: {', '.join(fields)})"
    return msg + " (the earlier event is no longer held: its digest differs)"


def _written(value: Any) -> Any:
    """A value as the content digest sees it (``1.0`` and ``1.00`` differ)."""
    return (type(value), repr(value))


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
