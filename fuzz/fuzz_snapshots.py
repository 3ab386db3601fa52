"""Coverage-guided fuzz target for snapshots and checkpoint databases (run on demand).

    pip install atheris
    python fuzz/fuzz_snapshots.py -atheris_runs=50000

Any bytes as snapshot text: decoded within the snapshot bounds and restored into an
engine, which then takes an event; and the same bytes as a checkpoint database file.
The only exceptions allowed are commitrules' own (:class:`~commitrules.SnapshotError`
and its :class:`~commitrules.CheckpointError`, and an event's own errors).
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from pathlib import Path

import commitrules
from commitrules import CommitRulesError, Engine
from commitrules._json_limits import SNAPSHOT_MAX_DEPTH, decode
from commitrules.store import CheckpointStore

PACK = commitrules.load_pack()
EVENT = {
    "id": "s2",
    "type": "survey_response",
    "customer_id": "C2",
    "at": "2026-07-02T10:00:00+08:00",
    "survey": "service",
    "satisfied": False,
}


def _snapshot() -> bytes:
    engine = Engine(PACK)
    engine.process({**EVENT, "id": "s1", "at": "2026-07-01T10:00:00+08:00"})
    return json.dumps(engine.snapshot()).encode()


SEEDS = [
    _snapshot(),
    b'{"format":"commitrules.snapshot","version":1}',
    b'{"format":"commitrules.snapshot","version":1,"clock":' + b"[" * 200 + b"]" * 200 + b"}",
    b"SQLite format 3\x00" + b"\x00" * 200,
]


def target(data: bytes) -> None:
    """One fuzz input: bytes as snapshot text, and as a checkpoint database."""
    try:
        snapshot = decode(data, max_depth=SNAPSHOT_MAX_DEPTH)
    except ValueError:
        snapshot = None
    if isinstance(snapshot, dict):
        try:
            engine = Engine.restore(PACK, snapshot)
        except CommitRulesError:
            pass
        else:
            with contextlib.suppress(CommitRulesError):
                engine.process(EVENT)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.db"
        path.write_bytes(data)
        try:
            store = CheckpointStore(path)
        except CommitRulesError:
            return
        try:
            store.resume(PACK)
        except CommitRulesError:
            pass
        finally:
            store.close()


def main() -> None:
    """Run under atheris."""
    import atheris  # noqa: PLC0415 - an optional tool

    atheris.instrument_all()
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
