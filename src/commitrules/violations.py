"""Violations: what the engine returns when a commitment is not kept.

A :class:`Violation` is an immutable value. Its ``id`` is deterministic: computed from the
rule, the kind of finding, the subject, the triggering event ids and the window or due
time only, never from the position in the stream or the wall clock, so a consumer can
deduplicate on it when delivery is at least once. It carries no personal data: with a
deployment's id key (:func:`violation_id`'s ``key``) it is a keyed hash (HMAC-SHA256) that
cannot be inverted without the key; without one, the values of personal fields are left
out of it altogether.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

import attrs

__all__ = [
    "BREACH_KINDS",
    "FINDING_KIND_RANK",
    "ID_SCHEME",
    "FindingKind",
    "Message",
    "PackRef",
    "Severity",
    "Violation",
    "kind_rank",
    "release_order",
    "violation_id",
]

Severity = Literal["low", "medium", "high", "critical"]
FindingKind = Literal[
    "violation", "escalation", "insufficient_sample", "excused", "correction", "operational"
]
BREACH_KINDS: frozenset[str] = frozenset({"violation", "escalation"})
"""The kinds that ask for action; every other kind is informational (no exit 1, no coverage)."""


ID_SCHEME = 2
"""The id scheme: 1 hashed the subject's values as they were; 2 keeps personal values out
(or keys the hash). Stored ids changed once, with release 0.2.0."""
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")

#: Where each kind of finding goes among findings of one rule at one moment (lower first):
#: a violation before the escalations that follow it up, then the findings that ask for no
#: action. The one table of it: a new kind gets its rank here (a kind not listed goes last).
FINDING_KIND_RANK: Mapping[str, int] = MappingProxyType(
    {
        "correction": -1,  # at the moment of what it withdraws: before what is released again
        "violation": 0,
        "escalation": 1,
        "excused": 2,
        "insufficient_sample": 3,
        "operational": 5,
    }
)


def kind_rank(kind: str) -> int:
    """The rank of a kind of finding in the release order (see :data:`FINDING_KIND_RANK`).

    >>> kind_rank("violation") < kind_rank("escalation") < kind_rank("a-kind-added-later")
    True
    """
    return FINDING_KIND_RANK.get(kind, len(FINDING_KIND_RANK))


@attrs.frozen
class Message:
    """A text in Chinese and English."""

    zh: str
    en: str

    def __str__(self) -> str:
        return self.en

    def in_language(self, lang: str) -> str:
        """The text in ``zh`` or ``en``."""
        return self.zh if lang == "zh" else self.en


@attrs.frozen
class PackRef:
    """Which pack decided: id, version, the profile and a hash of its content as loaded.

    ``calendar_package`` names the calendar package and version (``holidays 0.109``) when
    some year of the profile's working-day calendar may come from it rather than from the
    pack's own calendar file: results of working-day rules depend on it.
    """

    id: str
    version: str
    profile: str
    digest: str
    calendar_package: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """A JSON-ready mapping."""
        return {
            "id": self.id,
            "version": self.version,
            "profile": self.profile,
            "digest": self.digest,
            "calendar_package": self.calendar_package,
        }


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@attrs.frozen(eq=True, hash=False)
class Violation:
    """A commitment that was not kept, routed to the role that must act.

    ``route`` lists the role ids to notify, the responsible ``role`` first, then the
    escalations known when it was emitted. ``kind`` is ``violation`` for a breach,
    ``escalation`` for a later escalation of an earlier violation (``refers_to`` holds its
    id), ``insufficient_sample`` for a periodic target whose period had too few
    observations to judge, ``excused`` for a breach a waiver covers, ``correction`` for the
    withdrawal of an earlier finding (``refers_to`` holds the withdrawn id; see the
    calendar corrections) and ``operational`` for a finding the engine makes about itself
    (a condition that failed at run time, a calendar running out of official years).

    ``provisional`` is true when the finding depends on a working-day count through a
    calendar year that is not official yet: it may be corrected when that year is.
    """

    id: str
    rule_id: str
    clause_id: str
    severity: Severity
    role: str
    route: tuple[str, ...]
    event_ids: tuple[str, ...]
    subject: Mapping[str, Any] = attrs.field(converter=_frozen_mapping)
    at: dt.datetime
    due_at: dt.datetime | None
    message: Message
    evidence: Mapping[str, Any] = attrs.field(converter=_frozen_mapping)
    pack: PackRef
    kind: FindingKind = "violation"
    refers_to: str | None = None
    scope: Mapping[str, Any] = attrs.field(converter=_frozen_mapping, factory=dict)
    waiver: str | None = None
    provisional: bool = False

    @property
    def is_breach(self) -> bool:
        """Whether it asks for action: a violation or an escalation (not excused, not a
        period too small to judge, not a correction or an engine's operational finding)."""
        return self.kind in BREACH_KINDS

    def __hash__(self) -> int:
        return hash(self.id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping with every field (timestamps as RFC 3339 text)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "rule_id": self.rule_id,
            "clause_id": self.clause_id,
            "severity": self.severity,
            "role": self.role,
            "route": list(self.route),
            "event_ids": list(self.event_ids),
            "subject": {k: _jsonable(v) for k, v in self.subject.items()},
            "scope": {k: _jsonable(v) for k, v in self.scope.items()},
            "at": self.at.isoformat(),
            "due_at": self.due_at.isoformat() if self.due_at is not None else None,
            "message": {"zh": self.message.zh, "en": self.message.en},
            "evidence": {k: _jsonable(v) for k, v in self.evidence.items()},
            "pack": self.pack.to_dict(),
            "refers_to": self.refers_to,
            "waiver": self.waiver,
            "provisional": self.provisional,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Violation:
        """The violation :meth:`to_dict` wrote (values stay as JSON gave them).

        >>> v = Violation.from_dict({"id": "v-1", "kind": "violation", "rule_id": "R",
        ...     "clause_id": "C", "severity": "low", "role": "r", "route": ["r"],
        ...     "event_ids": ["e1"], "subject": {}, "scope": {},
        ...     "at": "2026-07-01T10:00:00+08:00", "due_at": None,
        ...     "message": {"zh": "z", "en": "e"}, "evidence": {},
        ...     "pack": {"id": "p", "version": "1", "profile": "x", "digest": "d"},
        ...     "refers_to": None, "waiver": None, "provisional": False})
        >>> v.to_dict()["at"], v.route
        ('2026-07-01T10:00:00+08:00', ('r',))
        """
        pack = data["pack"]
        due = data.get("due_at")
        return cls(
            id=str(data["id"]),
            rule_id=str(data["rule_id"]),
            clause_id=str(data["clause_id"]),
            severity=data["severity"],
            role=str(data["role"]),
            route=tuple(str(role) for role in data["route"]),
            event_ids=tuple(str(event) for event in data["event_ids"]),
            subject=dict(data["subject"]),
            at=dt.datetime.fromisoformat(str(data["at"])),
            due_at=dt.datetime.fromisoformat(str(due)) if due is not None else None,
            message=Message(zh=str(data["message"]["zh"]), en=str(data["message"]["en"])),
            evidence=dict(data["evidence"]),
            pack=PackRef(
                id=str(pack["id"]),
                version=str(pack["version"]),
                profile=str(pack["profile"]),
                digest=str(pack["digest"]),
                calendar_package=pack.get("calendar_package"),
            ),
            kind=data.get("kind", "violation"),
            refers_to=data.get("refers_to"),
            scope=dict(data.get("scope", {})),
            waiver=data.get("waiver"),
            provisional=bool(data.get("provisional", False)),
        )

    def __repr__(self) -> str:
        return (
            f"Violation(rule_id={self.rule_id!r}, clause_id={self.clause_id!r}, "
            f"kind={self.kind!r}, at={self.at.isoformat()!r}, role={self.role!r}, "
            f"subject={dict(self.subject)!r}, id={self.id!r})"
        )


def _jsonable(value: object) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list | frozenset | set):
        items = sorted(value, key=str) if isinstance(value, frozenset | set) else value
        return [_jsonable(v) for v in items]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def violation_id(
    rule_id: str,
    kind: str,
    subject: Mapping[str, Any],
    event_ids: tuple[str, ...],
    moment_us: int | None,
    *,
    key: bytes | None = None,
    personal: frozenset[str] = frozenset(),
) -> str:
    """The deterministic id of a finding.

    With ``key`` (the deployment's id key) the id is an HMAC-SHA256 of everything above,
    personal values included: it cannot be inverted or guessed without the key. Without a
    key the values of ``personal`` fields are left out of the hashed text altogether (the
    triggering event ids and the moment keep findings apart).

    >>> violation_id("C1.x", "violation", {"customer_id": "C1"}, ("e1",), None)
    'v-193f3c3177148cf8e8980f3f'
    >>> violation_id("C1.x", "violation", {"customer_id": "C1"}, ("e1",), None,
    ...              personal=frozenset({"customer_id"}))
    'v-d50e7b1ecb1705433b273627'
    """
    if key is None:
        values = sorted(
            (k, "*" if k.rsplit(".", 1)[-1] in personal else _jsonable(v))
            for k, v in subject.items()
        )
    else:
        values = sorted((k, _jsonable(v)) for k, v in subject.items())
    payload = json.dumps(
        [rule_id, kind, values, list(event_ids), moment_us],
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    ).encode()
    if key is None:
        return "v-" + hashlib.sha256(payload).hexdigest()[:24]
    return "v-" + hmac.new(key, payload, hashlib.sha256).hexdigest()[:24]


def release_order(violation: Violation) -> tuple[int, str, int, str]:
    """The order findings released together come out in: (at, rule_id, kind rank, id)."""
    at = violation.at
    return (
        (at - _EPOCH) // _MICROSECOND,
        violation.rule_id,
        kind_rank(violation.kind),
        violation.id,
    )


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
