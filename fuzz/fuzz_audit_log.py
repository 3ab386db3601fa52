"""Coverage-guided fuzz target for the decision-log reader (run on demand).

    pip install atheris
    python fuzz/fuzz_audit_log.py -atheris_runs=50000

Any bytes as a decision log (split at the first ``\\x00\\x00`` into the log and its head):
:func:`commitrules.audit.verify_log` always returns a verdict, with and without a key,
and :class:`commitrules.audit.DecisionLog` either continues the log or refuses it with
an :class:`~commitrules.AuditLogError`; nothing else escapes, and no log that does not
verify is ever appended to.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import commitrules
from commitrules import AuditLogError
from commitrules.audit import DecisionLog, head_path, verify_log

KEY = b"fuzzing key of 32 bytes........."


def _valid_log(key: bytes | None) -> tuple[bytes, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.jsonl"
        engine = commitrules.Engine(commitrules.load_pack())
        with DecisionLog(path, key=key) as log:
            log.attach(engine)
            engine.process(
                {
                    "id": "s1",
                    "type": "survey_response",
                    "customer_id": "C1",
                    "at": "2026-07-01T10:00:00+08:00",
                    "survey": "service",
                    "satisfied": True,
                }
            )
        return path.read_bytes(), head_path(path).read_bytes()


SEEDS = [b"\x00\x00".join(_valid_log(key)) for key in (None, KEY)] + [
    b'{"seq":1,"prev":"' + b"0" * 64 + b'","hash":"x"}\n',
    b"[" * 100_000,
    b"",
]


def target(data: bytes) -> None:
    """One fuzz input: a log and (after ``\\x00\\x00``) its head."""
    log_bytes, _, head_bytes = data.partition(b"\x00\x00")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.jsonl"
        path.write_bytes(log_bytes)
        if head_bytes:
            head_path(path).write_bytes(head_bytes)
        for key in (None, KEY):
            check = verify_log(path, key=key)
            assert check.ok == (check.verdict == "intact")
            try:
                DecisionLog(path, key=key).close()
            except AuditLogError:
                assert check.verdict not in ("intact", "stale-head") or check.chain == "legacy"
            else:
                assert check.verdict in ("intact", "stale-head") or not log_bytes.strip()
                path.write_bytes(log_bytes)
                if head_bytes:
                    head_path(path).write_bytes(head_bytes)
                else:
                    head_path(path).unlink(missing_ok=True)


def main() -> None:
    """Run under atheris."""
    import atheris  # noqa: PLC0415 - an optional tool

    atheris.instrument_all()
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
