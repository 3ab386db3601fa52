"""Coverage-guided fuzz target for the run log and its checkpoints (run on demand).

    pip install atheris
    python fuzz/fuzz_run_log.py -atheris_runs=20000

Any bytes as an event log: :func:`commitrules.store.run_log` processes it with a
checkpoint store, then runs again from the checkpoint (a restart must not crash where the
first run did not); the only exceptions allowed are commitrules' own.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import commitrules
from commitrules import CommitRulesError
from commitrules.store import CheckpointStore, run_log

PACK = commitrules.load_pack()

SEEDS = [
    b'{"id":"a","type":"survey_response","at":"2026-07-01T10:00:00+08:00","survey":"service",'
    b'"customer_id":"C1","satisfied":true}\n{"id":"b"}\n',
    b"[" * 100_000 + b"\n",
    b'{"n":' + b"1" * 5000 + b"}\n",
    b"\xff\xfe\n\n{}",
]


def target(data: bytes) -> None:
    """One fuzz input: bytes as a run log, processed twice through one checkpoint store."""
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "events.jsonl"
        log.write_bytes(data)
        for _ in range(2):
            store = CheckpointStore(Path(folder) / "state.db")
            try:
                run_log(PACK, log, store, sink=lambda _: None, every=2)
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
