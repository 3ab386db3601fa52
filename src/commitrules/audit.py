"""The decision log: an append-only JSON Lines record an examiner can verify.

One record per evaluated event (and one per clock move): which pack decided (id, version,
profile, content hash), which rules applied, the outcome of each, and the violations
released. Records are chained: each holds the hash of the previous record and its own
hash over its content, so :func:`verify_log` shows that nothing was removed, reordered or
edited. Records carry event ids and types, never event payloads: personal data stays out.

>>> import commitrules, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "decisions.jsonl"
>>> engine = commitrules.Engine(commitrules.load_pack())
>>> with DecisionLog(path) as log:
...     log.attach(engine)
...     _ = engine.process({"id": "s1", "type": "survey_response", "customer_id": "C1",
...                         "at": "2026-07-01T10:00:00+08:00", "survey": "service",
...                         "satisfied": True})
>>> verify_log(path).ok
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import attrs

from .engine import Engine
from .rules import RuleRuntime
from .violations import Violation

__all__ = ["DecisionLog", "LogCheck", "verify_log"]

GENESIS = "0" * 64


def _hash(record: Mapping[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class DecisionLog:
    """Appends chained decision records to a JSON Lines file (continuing an existing chain)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._previous = GENESIS
        self._sequence = 0
        if self.path.exists() and self.path.stat().st_size:
            check = verify_log(self.path)
            if not check.ok:
                msg = f"{self.path} does not verify ({check.reason}); refusing to append to it"
                raise ValueError(msg)
            self._previous = check.last_hash
            self._sequence = check.records
        self._file: IO[str] = self.path.open("a", encoding="utf-8")
        self._applied: list[dict[str, Any]] = []
        self._engine: Engine | None = None

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def attach(self, engine: Engine) -> None:
        """Record every event ``engine`` processes from now on (uses its tracer)."""
        self._engine = engine
        previous = engine.tracer

        def trace(rule: RuleRuntime, event: Mapping[str, Any], found: Any, services: Any) -> None:
            if previous is not None:
                previous(rule, event, found, services)
            self._applied.append(
                {
                    "rule": rule.rule_id,
                    "event": event.get("id"),
                    "outcome": [v.kind for v in found] or ["held"],
                }
            )

        engine.tracer = trace
        engine.observers.append(self.write)

    def write(self, what: Mapping[str, Any], released: list[Violation]) -> None:
        """Append one chained record (the engine calls it after each event and clock move)."""
        engine = self._engine
        self._sequence += 1
        record: dict[str, Any] = {
            "seq": self._sequence,
            **what,
            "pack": engine.pack.ref.to_dict() if engine is not None else None,
            "watermark": engine.watermark.isoformat() if engine and engine.watermark else None,
            "applied": self._applied,
            "released": [
                {
                    "id": v.id,
                    "rule": v.rule_id,
                    "kind": v.kind,
                    "waiver": v.waiver,
                    "provisional": v.provisional,
                    "refers_to": v.refers_to,
                }
                for v in released
            ],
            "prev": self._previous,
        }
        record["hash"] = _hash(record)
        self._file.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._file.flush()
        self._previous = record["hash"]
        self._applied = []

    def close(self) -> None:
        """Close the file."""
        self._file.close()


@attrs.frozen
class LogCheck:
    """The result of verifying a decision log."""

    ok: bool
    records: int
    last_hash: str
    reason: str = ""
    line: int | None = None


def verify_log(path: str | Path) -> LogCheck:
    """Check the chain of a decision log: every record's hash, link and sequence number."""
    previous = GENESIS
    count = 0
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                return LogCheck(
                    False, count, previous, f"line {number} is not JSON: {error}", number
                )
            if not isinstance(record, dict):
                return LogCheck(False, count, previous, f"line {number} is not a record", number)
            if record.get("prev") != previous:
                reason = (
                    f"line {number} does not follow the record before it (removed or reordered?)"
                )
                return LogCheck(False, count, previous, reason, number)
            if record.get("hash") != _hash(record):
                reason = f"line {number} was edited (its hash does not match its content)"
                return LogCheck(False, count, previous, reason, number)
            if record.get("seq") != count + 1:
                reason = f"line {number} has sequence {record.get('seq')}, expected {count + 1}"
                return LogCheck(False, count, previous, reason, number)
            previous = record["hash"]
            count += 1
    return LogCheck(True, count, previous)
