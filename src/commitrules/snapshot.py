"""The snapshot format: an engine's whole state as plain JSON (never pickle).

A snapshot is a JSON object::

    {
      "format": "commitrules.snapshot",
      "version": 1,
      "pack": {"id": …, "version": …, "profile": …, "digest": …},
      "clock": {"started": true, "latest_us": …, "watermark_us": …, "sequence": …, "swept_us": …},
      "stats": {"processed": …, "duplicates": …, "rejected": …, "violations": …},
      "seen": [[event id, at µs, sha256 of the canonical event], …],
      "buffer": [[at µs, sequence, event, {rule id: prepared value}], …],
      "timers": [[fire µs, sequence, rule id, token], …],
      "rules": {rule id: {"kind": …, "fingerprint": …, "state": …}, …},
      "router": […]
    }

Instants are integers (microseconds since the Unix epoch). Values that JSON has no type for
are tagged: ``{"$dt": "2026-07-01T10:00:00+08:00"}`` for a timestamp, ``{"$d": "2026-07-01"}``
for a date, ``{"$dec": "12.50"}`` for a decimal. Seen events are kept as a hash of their
content (enough to tell a repeat from a conflict), not as the events themselves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import SnapshotError

__all__ = ["FORMAT", "VERSION", "decode", "digest", "encode"]

FORMAT = "commitrules.snapshot"
VERSION = 1


def encode(value: Any) -> Any:
    """A JSON-ready copy of a state value (tagged timestamps, dates and decimals)."""
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
        return [decode(v) for v in value]
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
        return {k: decode(v) for k, v in value.items()}
    return value


def digest(event: Mapping[str, Any]) -> str:
    """A hash of an event's content, independent of key order."""
    text = json.dumps(encode(event), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
