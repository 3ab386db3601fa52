"""Coverage-guided fuzz target for the pack loader (run on demand).

    pip install atheris
    python fuzz/fuzz_packs.py -atheris_runs=20000

The first byte of the input picks a file of a small pack (tests/packs/mini), the rest
replaces it; :func:`commitrules.load_pack` loads the pack or refuses it with commitrules'
own error (a pack error names the file and line); nothing else escapes.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from pathlib import Path

import commitrules
from commitrules import CommitRulesError

MINI = Path(__file__).resolve().parent.parent / "tests" / "packs" / "mini"
FILES = sorted(p.relative_to(MINI) for p in MINI.rglob("*.yaml"))

SEEDS = [
    bytes([index]) + (MINI / name).read_bytes()
    for index, name in enumerate(FILES)
    if name.name in ("pack.yaml", "all.yaml", "parameters.yaml")
] + [b"\x00timezone: Mars/Olympus\n", b"\x01" + b"[" * 200]


def target(data: bytes) -> None:
    """One fuzz input: which file (first byte), and its new content."""
    if not data:
        return
    with tempfile.TemporaryDirectory() as folder:
        pack = Path(folder) / "mini"
        shutil.copytree(MINI, pack)
        (pack / FILES[data[0] % len(FILES)]).write_bytes(data[1:])
        with contextlib.suppress(CommitRulesError):
            commitrules.load_pack(pack)


def main() -> None:
    """Run under atheris."""
    import atheris  # noqa: PLC0415 - an optional tool

    atheris.instrument_all()
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
