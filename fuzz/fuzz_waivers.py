"""Coverage-guided fuzz target for the waivers reader (run on demand).

    pip install atheris
    python fuzz/fuzz_waivers.py -atheris_runs=50000

Any bytes as a waivers file: :func:`commitrules.waivers.load_waivers` loads it against
the default pack or refuses it with commitrules' own error; nothing else escapes.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import commitrules
from commitrules import CommitRulesError
from commitrules.waivers import load_waivers

PACK = commitrules.load_pack()

SEEDS = [
    "waivers:\n"
    "  - id: WV-1\n"
    "    rule: C1.recording.sale-not-recorded\n"
    "    scope: {branch_id: BR-GZ-TH}\n"
    "    approver: 合規總監 Head of Compliance\n"
    "    reason: booth under repair\n"
    "    risk_accepted: low\n"
    "    effective: 2026-07-01T00:00:00+08:00\n"
    "    expires: 2026-08-01T00:00:00+08:00\n".encode(),
    b"waivers: [" + b"[" * 100 + b"]" * 100 + b"]",
    b"waivers: &a [*a]",
    b"!!python/object:os.system {}",
    b"waivers:\n  - id: " + b"9" * 5000,
]


def target(data: bytes) -> None:
    """One fuzz input: bytes as a waivers file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "waivers.yaml"
        path.write_bytes(data)
        with contextlib.suppress(CommitRulesError):
            load_waivers(path, PACK)


def main() -> None:
    """Run under atheris."""
    import atheris  # noqa: PLC0415 - an optional tool

    atheris.instrument_all()
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
