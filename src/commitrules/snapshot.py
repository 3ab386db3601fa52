"""The snapshot format: an engine's whole state as plain JSON (never pickle).

A snapshot is a JSON object::

    {
      "format": "commitrules.snapshot",
      "version": 3,
      "pack": {"id": …, "version": …, "profile": …, "digest": …},
      "clock": {"started": true, "latest_us": …, "watermark_us": …, "sequence": …, "swept_us": …},
      "stats": {"processed": …, "duplicates": …, "rejected": …, "violations": …},
      "seen": [[id digest, at µs, content digest], …],
      "seen_key": null,
      "buffer": [[at µs, sequence, event, {rule id: prepared value}], …],
      "timers": [[fire µs, sequence, rule id, token], …],
      "rules": {rule id: {"kind": …, "fingerprint": …, "shape": …, "state": …}, …},
      "router": […],
      "derived": [[at µs, rule id, kind, severity, scope, subject, roles, violation], …],
      "ids": {"scheme": 2, "keyed": false}
    }

A rule's ``shape`` is a hash of what its state depends on structurally (its kind, key and
trigger): when a pack changes a rule but not its shape, a restore carries the rule's state
over and recomputes it under the new definition (see :mod:`commitrules.migration`).

Instants are integers (microseconds since the Unix epoch). Values that JSON has no type for
are tagged: ``{"$dt": "2026-07-01T10:00:00+08:00"}`` for a timestamp, ``{"$d": "2026-07-01"}``
for a date, ``{"$dec": "12.50"}`` for a decimal.

The ids seen within the duplicate horizon (``seen``, in arrival order) are kept as digests,
never as ids or events: a 64-bit digest of the id and a digest of the validated event's
values in its type's field order (62 bits; the top two flag older digests), each as 16 hex
digits (BLAKE2b, keyed with the deployment's id key when one is configured; ``seen_key`` is
then a fingerprint of that key, and a restore with another key is refused; see
``commitrules.engine._intake.Digests``). Version 2 snapshots (the same structure, content
digests of the event as JSON with sorted keys) still load: their entries keep that digest
(cut to 62 bits and flagged) until they leave the horizon. Version 1 snapshots (``seen`` as
``[event id, at µs, SHA-256 of the canonical event]`` and a ``seen_order`` list) still
load: their entries keep the SHA-256 (cut to 63 bits and flagged) likewise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from .errors import SnapshotError
from .eventtime._instants import EARLIEST_US, LATEST_US

__all__ = ["FORMAT", "VERSION", "VERSIONS", "decode", "digest", "encode", "validate"]

FORMAT = "commitrules.snapshot"
VERSION = 3
VERSIONS = (1, 2, 3)
"""The versions :func:`validate` accepts (1: ids and SHA-256 digests of events; 2: content
digests of the event as sorted JSON; 3: of its values in field order)."""


#: Values that are their own JSON-ready copy (exact types: a subclass takes the long way).
_PLAIN = frozenset({str, int, bool, float, type(None)})


def encode(value: Any) -> Any:
    """A JSON-ready copy of a state value (tagged timestamps, dates and decimals)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    # The containers a state is made of, their plain items copied without a call each
    # (states hold millions of them: this is most of a snapshot's time).
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else encode(v) for v in value]
    if kind is dict:
        return {
            (k if type(k) is str else str(k)): (v if type(v) in _PLAIN else encode(v))
            for k, v in value.items()
        }
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, set | frozenset):
        return [encode(v) for v in sorted(value, key=repr)]
    msg = f"cannot snapshot a value of type {type(value).__name__}"
    raise SnapshotError(msg)


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, list):
        return [decode(v) if isinstance(v, list | dict) else v for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, text),) = value.items()
            try:
                if tag == "$dt":
                    return dt.datetime.fromisoformat(text)
                if tag == "$d":
                    return dt.date.fromisoformat(text)
                if tag == "$dec":
                    return Decimal(text)
            except (TypeError, ValueError, InvalidOperation):
                msg = f"bad tagged value {value!r} in the snapshot"
                raise SnapshotError(msg) from None
        return {k: decode(v) if isinstance(v, list | dict) else v for k, v in value.items()}
    return value


def digest(event: Mapping[str, Any]) -> str:
    """A hash of an event's content, independent of key order."""
    text = json.dumps(encode(event), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


Instant = Annotated[StrictInt, Field(ge=EARLIEST_US - 1, le=LATEST_US + 86_400_000_000)]
Count = Annotated[StrictInt, Field(ge=0)]
Digest = Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]
Digest64 = Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{16}$")]


class _Strict(BaseModel):
    # Scalars are strict (StrictInt …); lists stand for tuples, as JSON has no tuples.
    model_config = ConfigDict(extra="forbid")


class _Clock(_Strict):
    started: StrictBool
    latest_us: Instant | None
    watermark_us: Instant | None
    sequence: Count
    swept_us: StrictInt


class _Stats(_Strict):
    processed: Count
    duplicates: Count
    rejected: Count
    violations: Count


class _Rule(_Strict):
    kind: StrictStr
    fingerprint: StrictStr
    shape: StrictStr | None = None
    state: Any


class _Ids(_Strict):
    scheme: StrictInt
    keyed: StrictBool


class _Snapshot(_Strict):
    format: Literal["commitrules.snapshot"]
    version: Literal[3]
    pack: dict[StrictStr, StrictStr | None]
    clock: _Clock
    stats: _Stats
    seen: list[tuple[Digest64, Instant, Digest64]]
    seen_key: Digest64 | None = None
    buffer: list[tuple[Instant, Count, dict[StrictStr, Any], dict[StrictStr, Any]]]
    timers: list[tuple[StrictInt, Count, StrictStr, Any]]
    rules: dict[StrictStr, _Rule]
    router: list[Any]
    derived: list[tuple[Any, ...]] | None = None
    ids: _Ids | None = None


class _SnapshotV2(_Snapshot):
    # Version 2: the same structure; content digests of the event as sorted JSON.
    version: Literal[2]  # type: ignore[assignment]


class _SnapshotV1(_Snapshot):
    # Version 1: ids in clear with a SHA-256 of each event, and their arrival order apart.
    version: Literal[1]  # type: ignore[assignment]
    seen: list[tuple[StrictStr, Instant, Digest]]
    seen_order: list[tuple[Instant, StrictStr]]
    seen_key: None = None


def validate(data: Any) -> None:
    """Check a snapshot's whole structure before anything is restored from it.

    Raises:
        SnapshotError: naming every part that is missing or of the wrong type, and what
            does not fit together (an id twice, a timer of a rule the snapshot lacks).
    """
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        msg = "not a commitrules snapshot (no 'format': 'commitrules.snapshot')"
        raise SnapshotError(msg)
    version = data.get("version")
    if version not in VERSIONS or type(version) is not int:
        msg = (
            f"snapshot version {version!r} is not supported (this is {VERSION}; "
            f"versions {', '.join(map(str, VERSIONS))} load)"
        )
        raise SnapshotError(msg)
    try:
        models: dict[int, type[_Snapshot]] = {1: _SnapshotV1, 2: _SnapshotV2}
        model = models.get(version, _Snapshot).model_validate(dict(data))
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(part) for part in item['loc']) or '(top)'}: {item['msg']}"
            for item in error.errors(include_url=False)[:20]
        ]
        more = error.error_count() - len(problems)
        if more > 0:
            problems.append(f"… and {more} more")
        raise SnapshotError("the snapshot is malformed: " + "; ".join(problems)) from None
    seen = [entry[0] for entry in model.seen]
    if len(set(seen)) != len(seen):
        raise SnapshotError("the snapshot is malformed: an id appears twice in 'seen'")
    if isinstance(model, _SnapshotV1):
        order = [entry[1] for entry in model.seen_order]
        if sorted(order) != sorted(seen):
            msg = "the snapshot is malformed: 'seen_order' does not list the 'seen' ids"
            raise SnapshotError(msg)
    for index, (_, _, name, _) in enumerate(model.timers):
        if name not in model.rules:
            msg = (
                f"the snapshot is malformed: timers.{index} belongs to rule {name!r}, "
                "which is not in 'rules'"
            )
            raise SnapshotError(msg)
    for index, (_, _, event, _) in enumerate(model.buffer):
        if not {"id", "type", "at"} <= event.keys():
            msg = f"the snapshot is malformed: buffer.{index} is not an event (id, type, at)"
            raise SnapshotError(msg)
