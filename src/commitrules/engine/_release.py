"""Release: a rule's finding becomes a routed, rendered Violation; sinks get it after commit.

What lives here is per finding, not per event: personal values masked or pseudonymised,
the message rendered (never failing: a template that cannot render falls back to a plain
form with truncated raw values), and the delivery of outcomes and observer calls, which
happens only once a call's effects are committed and is retried, in order, until the sink
takes it (at least once).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from ..errors import DeliveryError
from ..violations import Message

__all__ = [
    "MASK",
    "Deliveries",
    "EvidenceMode",
    "Outcome",
    "Protector",
    "fallback_message",
    "local_text",
    "render",
    "safe_text",
]

EvidenceMode = Literal["mask", "pseudonymize", "include"]
MASK = "***"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_RAW_LIMIT = 80


@attrs.frozen
class Outcome:
    """The result of one rule for one subject: compliant, violated, pending or excused.

    Delivered to an opt-in sink (``Engine(pack, outcomes=callable)``) once the call that
    produced it is committed; the engine keeps none of them. Violations remain the stream
    that routing consumes. ``provisional`` marks a deadline counted through a provisional
    calendar year; ``numerator``, ``denominator`` and ``target`` describe a periodic
    target's judgement (the achieved rate is numerator / denominator).
    """

    rule_id: str
    clause_id: str
    status: str  # compliant | violated | pending | excused | insufficient_sample | escalation …
    subject: Mapping[str, Any]
    at: dt.datetime
    event_ids: tuple[str, ...]
    pack: Any
    violation_id: str | None = None
    waiver: str | None = None
    provisional: bool = False
    numerator: int | None = None
    denominator: int | None = None
    target: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "rule_id": self.rule_id,
            "clause_id": self.clause_id,
            "status": self.status,
            "subject": {k: _text(v) for k, v in self.subject.items()},
            "at": self.at.isoformat(),
            "event_ids": list(self.event_ids),
            "violation_id": self.violation_id,
            "waiver": self.waiver,
            "provisional": self.provisional,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "target": self.target,
            "pack": self.pack.to_dict(),
        }


def _text(value: Any) -> Any:
    return value if isinstance(value, str | int | bool) or value is None else str(value)


class Protector:
    """How fields a pack declares personal appear in findings: masked, pseudonymised, or as is."""

    __slots__ = ("_key", "mode", "personal")

    def __init__(self, personal: frozenset[str], mode: EvidenceMode, key: bytes) -> None:
        self.personal = personal
        self.mode: EvidenceMode = mode
        self._key = key

    def __call__(self, key: str, value: Any) -> Any:
        name = key.rsplit(".", 1)[-1]
        if value is None or name not in self.personal or self.mode == "include":
            return value
        if self.mode == "mask":
            return MASK
        digest = hmac.new(self._key, safe_text(value).encode(), hashlib.sha256).hexdigest()
        return "anon-" + digest[:16]


def safe_text(value: Any, limit: int | None = None) -> str:
    """``str(value)``, never failing, truncated to ``limit`` characters when given."""
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - whatever the value does, the finding goes out
        text = f"<{type(value).__name__}>"
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return text


def local_text(moment: dt.datetime) -> str:
    """A moment as ``YYYY-MM-DD HH:MM`` (in its own zone)."""
    return moment.strftime("%Y-%m-%d %H:%M")


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``{name}`` placeholders from ``values``; unknown names stay as written."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        value = values[name]
        if isinstance(value, dt.datetime):
            return local_text(value)
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return "-" if value is None else str(value)

    return _PLACEHOLDER.sub(replace, template)


def fallback_message(rule_id: str, values: Mapping[str, Any], error: BaseException) -> Message:
    """The plain form of a message that could not render: the rule and raw values, truncated."""
    shown = ", ".join(
        f"{safe_text(key, 40)}={safe_text(value, _RAW_LIMIT)}"
        for key, value in list(values.items())[:12]
        if key not in ("rule_id", "clause_id")
    )
    reason = safe_text(type(error).__name__, 40)
    text = f"{rule_id}: {shown} (message not rendered: {reason})"
    return Message(zh=text, en=text)


Sink = Callable[..., object]


class Deliveries(deque[tuple[Sink, tuple[Any, ...]]]):
    """What sinks still have to take, oldest first: (sink, its arguments).

    A sink that raises keeps its item (and everything after it) for the next attempt, so
    every sink sees every item at least once and in order. A deque itself, so that the
    engine's test of whether anything waits (on every call) costs no Python call.
    """

    __slots__ = ()

    def add(self, sink: Sink, *arguments: Any) -> None:
        """Queue one call of ``sink``."""
        self.append((sink, arguments))

    def deliver(self, violations: list[Any], *, processed: bool) -> None:
        """Call the sinks in order; on a failure raise :class:`DeliveryError` (kept)."""
        queue = self
        while queue:
            sink, arguments = queue[0]
            try:
                sink(*arguments)
            except Exception as error:
                name = getattr(sink, "__qualname__", type(sink).__name__)
                msg = (
                    f"a sink ({name}) failed: {type(error).__name__}: {safe_text(error, 200)}; "
                    f"{len(queue)} deliver{'y' if len(queue) == 1 else 'ies'} kept for the next "
                    "call or Engine.flush()"
                )
                raise DeliveryError(
                    msg, violations=violations, processed=processed, undelivered=len(queue)
                ) from error
            queue.popleft()
