"""The decision log: an append-only JSON Lines record an examiner can verify.

One record per evaluated event (and one per clock move): which pack decided (id, version,
profile, content hash), which rules applied, the outcome of each, and the violations
released. Records carry event ids and types, never event payloads: personal data stays out.

How the chain is made
---------------------
Every record holds ``seq`` (1, 2, …), ``prev`` (the previous record's ``hash``; 64 zeros
for the first), ``chain`` (how it is tagged) and ``hash``, its tag over its RFC 8785
canonical form (JSON Canonicalization Scheme) without ``hash``:

* ``"chain": "hmac-sha256:<key id>"``: HMAC-SHA256 under the bank's audit key (the key id
  is the first 16 hex digits of HMAC-SHA256(key, ``commitrules audit key id``), so that a
  wrong key is told apart from an edit);
* ``"chain": "sha256"``: plain SHA-256, when no key is given (the default).

Each line of the log is the record's canonical form. Beside the log, ``LOG.head`` (the
log's name plus ``.head``) holds the chain's head, ``{"chain", "format", "last",
"records", "tag"}``: the number of records, the last ``hash``, and a tag over the rest
made the same way, padded with spaces to :data:`HEAD_BYTES` bytes. After every append the
head is rewritten in place by one write of that one block at offset 0 (a new log's head is
written whole and renamed into place). A process that dies leaves the old head or the new
one (the kernel completes a write it has begun); a power failure could tear the block only
on storage that does not write one 512-byte sector whole, and ``audit`` would then report
the head as damaged. The record is written before its head, so an interruption between
the two leaves the head one record behind, which ``audit`` reports and the next
:class:`DecisionLog` on the file repairs. The log and the head are forced to disk on
:meth:`close <DecisionLog.close>`.

What :func:`verify_log` shows
-----------------------------
With the key, a log that verifies was written by a holder of the key, record after record
in this order: none was edited (even if re-hashed to the end), inserted, removed or
reordered, and its end was not cut (the head's count and last tag match). It cannot show
that the log and its head were not both put back to an earlier state of the same log
(keep the last hash somewhere else to detect that), nor anything about records written by
someone who holds the key.

Without a key (``sha256``), the same checks show that the file is consistent: damage, a
cut tail, an edit not re-hashed are found. A deliberate rewrite of records and head is not:
anyone can recompute SHA-256. Logs of commitrules 0.1 (no ``chain``, no head) are still
read: unkeyed, and nothing shows that records were not removed from their end.

>>> import commitrules, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "decisions.jsonl"
>>> key = b"a secret of the bank, 32 bytes.."
>>> engine = commitrules.Engine(commitrules.load_pack())
>>> with DecisionLog(path, key=key) as log:
...     log.attach(engine)
...     _ = engine.process({"id": "s1", "type": "survey_response", "customer_id": "C1",
...                         "at": "2026-07-01T10:00:00+08:00", "survey": "service",
...                         "satisfied": True})
>>> check = verify_log(path, key=key)
>>> check.ok, check.records, check.chain, check.head
(True, 1, 'hmac-sha256', 1)
>>> verify_log(path).verdict  # a keyed log cannot be verified without its key
'unverifiable'
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

import attrs
import rfc8785

from ._io import bounded_lines
from ._json_limits import decode
from .engine import Engine
from .errors import AuditLogError
from .rules import RuleRuntime
from .violations import Violation

__all__ = [
    "GENESIS",
    "HEAD_BYTES",
    "HEAD_SUFFIX",
    "MIN_KEY_BYTES",
    "DecisionLog",
    "LogCheck",
    "head_path",
    "key_id",
    "verify_log",
]

GENESIS = "0" * 64
HEAD_SUFFIX = ".head"
HEAD_FORMAT = "commitrules.audit-head"
HEAD_BYTES = 512
"""The size of the head file: one block, rewritten in place after every append."""
MIN_KEY_BYTES = 16
"""The shortest audit key accepted (32 random bytes are recommended)."""

KEYED = "hmac-sha256"
UNKEYED = "sha256"
LEGACY = "legacy"
_MAX_HEAD_BYTES = 64 * 1024

Verdict = Literal["intact", "broken", "stale-head", "unverifiable"]


def head_path(path: str | Path) -> Path:
    """Where the head of the log at ``path`` is kept: the same name plus ``.head``."""
    return Path(str(path) + HEAD_SUFFIX)


def key_id(key: bytes) -> str:
    """The public id of an audit key: says which key tagged a log, reveals nothing of it.

    >>> key_id(b"0123456789abcdef")
    'fd15a3402b043499'
    """
    return hmac.new(key, b"commitrules audit key id", hashlib.sha256).hexdigest()[:16]


def _check_key(key: bytes | None) -> None:
    if key is not None and len(key) < MIN_KEY_BYTES:
        msg = (
            f"an audit key needs at least {MIN_KEY_BYTES} bytes (32 random bytes are "
            f"recommended); this one has {len(key)}"
        )
        raise AuditLogError(msg)


def _canonical(value: Mapping[str, Any]) -> bytes:
    """The RFC 8785 canonical form of anything read from a file (any JSON value)."""
    return rfc8785.dumps(value)


def _canonical_written(value: Mapping[str, Any]) -> bytes:
    """The RFC 8785 canonical form of a record or head this module builds, made fast.

    What these hold (texts, which validation keeps valid Unicode; integers below 2**53;
    booleans; null; lists; objects with ASCII keys) ``json.dumps`` with sorted keys, no
    blanks and no ASCII escaping writes exactly as RFC 8785 prescribes: the same escapes
    (``\\b \\t \\n \\f \\r``, other controls as lower-case ``\\u00xx``), the same
    key order for ASCII keys, the same integers. It takes a fifth of the time of the
    general implementation, once per record; ``tests/test_audit.py`` checks that the two
    agree.
    """
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode()


class _Tagger:
    """How a log's records and head are tagged: HMAC under a key, or SHA-256."""

    def __init__(self, key: bytes | None) -> None:
        self.key = key
        self.chain = f"{KEYED}:{key_id(key)}" if key is not None else UNKEYED

    def tag_bytes(self, data: bytes) -> str:
        if self.key is None:
            return hashlib.sha256(data).hexdigest()
        return hmac.new(self.key, data, hashlib.sha256).hexdigest()

    def tag(self, body: Mapping[str, Any]) -> str:
        """The tag of a body read from a file."""
        return self.tag_bytes(_canonical(body))

    def seal(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A record read from a file, with the ``hash`` it should have."""
        body = {k: v for k, v in record.items() if k != "hash"}
        return {**body, "hash": self.tag(body)}

    def written(self, body: Mapping[str, Any], name: str) -> tuple[str, bytes]:
        """The tag of a body this module builds, and its canonical line with the tag."""
        tag = self.tag_bytes(_canonical_written(body))
        return tag, _canonical_written({**body, name: tag})


def _legacy_hash(record: Mapping[str, Any]) -> str:
    """The tag of a commitrules 0.1 record: SHA-256 over sorted-key JSON."""
    body = {k: v for k, v in record.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()


class DecisionLog:
    """Appends chained decision records to a JSON Lines file (continuing an existing chain).

    ``key`` (at least :data:`MIN_KEY_BYTES` bytes, held by the bank) keys the chain with
    HMAC-SHA256; without it records are chained with plain SHA-256 (see the module's
    description for what each shows). An existing log is verified first and continued
    only if it verifies with the same key (a head left one append behind by an
    interrupted run is brought up to date).

    Raises:
        AuditLogError: the file is not a decision log, does not verify, is keyed with
            another key (or unkeyed while a key is given), or is of the 0.1 format.
    """

    def __init__(self, path: str | Path, *, key: bytes | None = None) -> None:
        _check_key(key)
        self.path = Path(path)
        self.head_path = head_path(self.path)
        self._tagger = _Tagger(key)
        self._previous = GENESIS
        self._sequence = 0
        existing = self.path.exists() and self.path.stat().st_size > 0
        if existing or self.head_path.exists():
            self._continue(key)
        self._file: IO[bytes] = self.path.open("ab")
        self._head = self._open_head()
        self._applied: list[dict[str, Any]] = []
        self._engine: Engine | None = None

    def _continue(self, key: bytes | None) -> None:
        check = verify_log(self.path, key=key)
        if check.chain == LEGACY:
            msg = (
                f"{self.path} is a decision log of commitrules 0.1 (unkeyed, without a head): "
                "start a new log ('commitrules audit' still verifies the old one)"
            )
            raise AuditLogError(msg)
        if check.verdict not in ("intact", "stale-head"):
            msg = f"{self.path}: {check.reason}; refusing to append to it"
            raise AuditLogError(msg)
        self._previous = check.last_hash
        self._sequence = check.records

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
        """Append one chained record and update the head (after each event and clock move)."""
        engine = self._engine
        record: dict[str, Any] = {
            "seq": self._sequence + 1,
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
            "chain": self._tagger.chain,
            "prev": self._previous,
        }
        tag, line = self._tagger.written(record, "hash")
        self._file.write(line + b"\n")
        self._file.flush()
        self._sequence += 1
        self._previous = tag
        self._applied = []
        self._write_head()

    def _head_text(self) -> bytes:
        # The canonical form written out: ASCII values that need no escaping, keys in
        # order, "tag" last (tests/test_audit.py checks it against RFC 8785).
        body = (
            f'{{"chain":"{self._tagger.chain}","format":"{HEAD_FORMAT}",'
            f'"last":"{self._previous}","records":{self._sequence}}}'
        ).encode()
        tag = self._tagger.tag_bytes(body)
        text = body[:-1] + f',"tag":"{tag}"}}'.encode()
        # Always the same size: an update rewrites one block in place, never the length.
        return text.ljust(HEAD_BYTES - 1) + b"\n"

    def _open_head(self) -> IO[bytes]:
        """The head file, brought up to date: rewritten in place, or made anew and renamed."""
        text = self._head_text()
        try:
            handle = self.head_path.open("r+b", buffering=0)
        except FileNotFoundError:
            pass
        else:
            if os.fstat(handle.fileno()).st_size == HEAD_BYTES:
                handle.write(text)
                return handle
            handle.close()
        spare = self.head_path.with_name(self.head_path.name + ".tmp")
        with spare.open("wb") as new:
            new.write(text)
            new.flush()
            os.fsync(new.fileno())
        spare.replace(self.head_path)
        return self.head_path.open("r+b", buffering=0)

    def _write_head(self) -> None:
        # One write of one block at offset 0: a crash leaves the old head or the new one.
        self._head.seek(0)
        self._head.write(self._head_text())

    def close(self) -> None:
        """Write the log and its head to disk, then close both."""
        if self._file.closed:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._write_head()
        os.fsync(self._head.fileno())
        self._head.close()


@attrs.frozen
class LogCheck:
    """The result of verifying a decision log.

    ``verdict``: ``intact`` (every check passed; ``ok``), ``broken`` (a record or the
    head shows tampering, damage or a cut tail), ``stale-head`` (every record verifies but
    the head counts fewer: an interrupted append, or records added after it) or
    ``unverifiable`` (not a decision log, or a keyed log without its key or with another).
    ``chain`` is ``hmac-sha256``, ``sha256``, ``legacy`` (commitrules 0.1) or empty;
    ``head`` the number of records the head counts (None: no head was read); ``notes``
    say what was verified and what was not.
    """

    ok: bool
    records: int
    last_hash: str
    reason: str = ""
    line: int | None = None
    verdict: Verdict = "intact"
    chain: str = ""
    key_id: str | None = None
    head: int | None = None
    notes: tuple[str, ...] = ()


@attrs.frozen
class _Head:
    chain: str
    records: int
    last: str
    tag: str


def _read_head(path: Path) -> _Head | str | None:
    """The head beside a log, why it cannot be read, or None when there is none."""
    where = head_path(path)
    try:
        with where.open("rb") as handle:
            data = handle.read(_MAX_HEAD_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"the head {where} cannot be read ({error.strerror})"
    if len(data) > _MAX_HEAD_BYTES:
        return f"the head {where} is longer than {_MAX_HEAD_BYTES} bytes"
    try:
        head = decode(data)
    except ValueError as error:
        return f"the head {where} is damaged ({error})"
    if not (
        isinstance(head, dict)
        and head.get("format") == HEAD_FORMAT
        and (head.get("chain") == UNKEYED or str(head.get("chain")).startswith(KEYED + ":"))
        and type(head.get("records")) is int
        and head["records"] >= 0
        and isinstance(head.get("last"), str)
        and isinstance(head.get("tag"), str)
        and len(head) == 5
    ):
        return f"the head {where} is not a decision-log head"
    return _Head(head["chain"], head["records"], head["last"], head["tag"])


def _head_tag(tagger: _Tagger, head: _Head) -> str:
    body = {"format": HEAD_FORMAT, "chain": head.chain, "records": head.records, "last": head.last}
    return tagger.tag(body)


class _Verifier:
    """One pass over a log: the chain's state, and each way to stop."""

    def __init__(self, path: Path, key: bytes | None) -> None:
        self.path = path
        self.key = key
        self.tagger: _Tagger | None = None
        self.chain = ""
        self.records = 0
        self.previous = GENESIS
        self.key_id: str | None = None
        self.head: _Head | None = None
        self.at_head: str | None = None  # the hash of the record the head counts to

    def result(self, verdict: Verdict, reason: str = "", line: int | None = None) -> LogCheck:
        return LogCheck(
            ok=verdict == "intact",
            records=self.records,
            last_hash=self.previous,
            reason=reason,
            line=line,
            verdict=verdict,
            chain=self.chain.split(":", 1)[0],
            key_id=self.key_id,
            head=self.head.records if self.head is not None else None,
            notes=self.notes(verdict),
        )

    def notes(self, verdict: Verdict) -> tuple[str, ...]:
        scheme = self.chain.split(":", 1)[0]
        if scheme == KEYED and verdict == "intact":
            return (
                "keyed (HMAC-SHA256): every record was written by a holder of the key, in "
                "this order; none was edited, inserted, removed or reordered",
                "the head matches: the end of the log was not cut",
                "not shown: that log and head were not both put back to an earlier state "
                "(compare the last hash with one kept elsewhere)",
            )
        if scheme == UNKEYED and verdict == "intact":
            return (
                "UNKEYED (SHA-256): the file is consistent and its end matches the head, but "
                "anyone who can write it could have rewritten records and head alike",
                "key new logs with 'check --audit-key-file' to make edits detectable",
            )
        if scheme == LEGACY and verdict == "intact":
            return (
                "UNKEYED log of commitrules 0.1, without a head: the file is consistent, "
                "but a rewrite, or records removed from its end, cannot be detected",
            )
        return ()

    def start(self, record: Mapping[str, Any], number: int) -> LogCheck | None:
        """Learn the chain from the first record (or the head of an empty log)."""
        chain = record.get("chain", LEGACY)
        if not isinstance(chain, str):
            return self.result("broken", f"line {number} has a malformed 'chain'", number)
        self.chain = chain
        scheme, _, named = chain.partition(":")
        if scheme == KEYED:
            self.key_id = named
            if self.key is None:
                reason = (
                    f"the log is keyed (HMAC-SHA256, key id {named}): give its key to verify it"
                )
                return self.result("unverifiable", reason, number)
            if key_id(self.key) != named:
                reason = (
                    f"the log is keyed with key id {named}, but the key given has id "
                    f"{key_id(self.key)}: give the key it was written with"
                )
                return self.result("unverifiable", reason, number)
            self.tagger = _Tagger(self.key)
        elif scheme in (UNKEYED, LEGACY) and not named:
            if self.key is not None:
                reason = (
                    "the log is not keyed, but a key was given: its records are not "
                    "authenticated (anyone who can write the file could have rewritten it)"
                )
                return self.result("broken", reason, number)
            self.tagger = _Tagger(None)
        else:
            return self.result("unverifiable", f"unknown chain {chain!r} on line {number}", number)
        return None

    def step(self, record: Any, number: int) -> LogCheck | None:
        """Check one record; a result when the walk stops here."""
        if not (
            isinstance(record, dict)
            and {"seq", "prev", "hash"} <= record.keys()
            and isinstance(record["hash"], str)
        ):
            if self.records == 0:
                reason = f"not a decision log: line {number} is not a decision record"
                return self.result("unverifiable", reason, number)
            return self.result("broken", f"line {number} is not a decision record", number)
        if self.records == 0:
            stop = self.start(record, number)
            if stop is not None:
                return stop
        elif record.get("chain", LEGACY) != self.chain:
            changed = record.get("chain")
            reason = f"line {number} changes the chain from {self.chain!r} to {changed!r}"
            return self.result("broken", reason, number)
        assert self.tagger is not None
        if record["prev"] != self.previous:
            reason = f"line {number} does not follow the record before it (removed or reordered?)"
            return self.result("broken", reason, number)
        if self.chain == LEGACY:
            expected = _legacy_hash(record)
        else:
            expected = self.tagger.seal(record)["hash"]
        if not hmac.compare_digest(record["hash"], expected):
            what = "its tag" if self.key is not None else "its hash"
            reason = f"line {number} was edited ({what} does not match its content)"
            return self.result("broken", reason, number)
        if record["seq"] != self.records + 1:
            reason = f"line {number} has sequence {record['seq']}, expected {self.records + 1}"
            return self.result("broken", reason, number)
        self.previous = record["hash"]
        self.records += 1
        if self.head is not None and self.records == self.head.records:
            self.at_head = self.previous
        return None

    def finish(self, head: _Head | str | None) -> LogCheck:
        """Compare the chain's end with the head."""
        where = head_path(self.path)
        if self.chain == LEGACY:
            return self.result("intact")
        if head is None:
            reason = (
                f"the head {where} is missing: records removed from the end of the log "
                f"cannot be ruled out ({self.records} records verified)"
            )
            return self.result("broken", reason)
        if isinstance(head, str):
            return self.result("broken", head)
        assert self.tagger is not None
        if head.chain != self.chain or not hmac.compare_digest(
            head.tag, _head_tag(self.tagger, head)
        ):
            return self.result("broken", f"the head {where} was edited (its tag does not match)")
        if head.records > self.records:
            missing = head.records - self.records
            reason = (
                f"the log is truncated: its head counts {head.records} records, the file holds "
                f"{self.records}; the last {missing} (sequence {self.records + 1} to "
                f"{head.records}) are missing"
            )
            return self.result("broken", reason)
        if head.records == self.records:
            if not hmac.compare_digest(head.last, self.previous):
                reason = (
                    f"the last record does not match the head (record {self.records} was replaced)"
                )
                return self.result("broken", reason)
            return self.result("intact")
        if self.at_head is None or not hmac.compare_digest(head.last, self.at_head):
            reason = f"record {head.records} does not match the head {where}"
            return self.result("broken", reason)
        reason = (
            f"the head is behind: it counts {head.records} records, the file holds "
            f"{self.records}; records {head.records + 1} to {self.records} are not covered by "
            "it (an interrupted append leaves it one behind; appending again brings it up to date)"
        )
        return self.result("stale-head", reason)


def verify_log(path: str | Path, *, key: bytes | None = None) -> LogCheck:
    """Check a decision log: every record's tag, link and sequence number, and its head.

    ``key`` is the audit key the log was written with (None for an unkeyed log). Lines
    are read within the readers' bounds (line length, depth, digits); a line beyond them
    breaks the chain there.
    """
    _check_key(key)
    where = Path(path)
    walk = _Verifier(where, key)
    head = _read_head(where)
    if isinstance(head, _Head):
        walk.head = head
    with where.open("rb") as stream:
        for number, line, problem in bounded_lines(stream):
            if problem is not None:
                return walk.result("broken", f"line {number}: {problem}", number)
            if not line:
                continue
            try:
                record = decode(line)
            except ValueError as error:
                if walk.records == 0:
                    reason = f"not a decision log: line {number}: {error}"
                    return walk.result("unverifiable", reason, number)
                return walk.result("broken", f"line {number}: {error}", number)
            stop = walk.step(record, number)
            if stop is not None:
                return stop
    if walk.records == 0:
        if not isinstance(head, _Head):
            return walk.result("unverifiable", "not a decision log: no records and no head")
        stop = walk.start({"chain": head.chain}, 0)
        if stop is not None:
            return attrs.evolve(stop, line=None)
    return walk.finish(head)
