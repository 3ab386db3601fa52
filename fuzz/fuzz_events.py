"""Coverage-guided fuzz target for the event decoder (run on demand, not in the test suite).

    pip install atheris
    python fuzz/fuzz_events.py -atheris_runs=200000

Any input bytes go through the JSON Lines reader and the engine; the only exceptions
allowed are commitrules' own (a rejected line is a value, not an exception).
"""

from __future__ import annotations

import contextlib
import json
import sys

import commitrules
from commitrules import CommitRulesError

PACK = commitrules.load_pack()


def target(data: bytes) -> None:
    """One fuzz input: bytes as a JSON Lines chunk."""
    engine = commitrules.Engine(PACK)
    for raw in data.split(b"\n")[:20]:
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        with contextlib.suppress(CommitRulesError):
            engine.process(record)


def main() -> None:
    """Run under atheris."""
    import atheris  # noqa: PLC0415 - an optional tool

    atheris.instrument_all()
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
