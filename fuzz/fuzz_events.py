"""Coverage-guided fuzz target for the event readers (run on demand, not in the test suite).

    pip install atheris
    python fuzz/fuzz_events.py -atheris_runs=200000

Any input bytes go through the JSON Lines reader (plain and as a gzip stream) and the
engine, by both doors (``process_json`` on the text, ``process`` on the decoded record);
the only exceptions allowed are commitrules' own (a rejected line is a value, not an
exception).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import sys
from typing import Any

import commitrules
from commitrules import CommitRulesError
from commitrules._io import checked_lines
from commitrules._json_limits import decode

PACK = commitrules.load_pack()

SEEDS = [
    b'{"id":"a","type":"sale","at":"2026-07-01T10:00:00+08:00"}',
    b'{"id":"a","type":"marketing_published","at":"2026-07-01T10:00:00+08:00",'
    b'"material_id":"m","channel":"x","text":"\xe4\xbf\x9d\xe6\x9c\xac","approved":true}',
    b'{"id":"a","type":"sale","amount":' + b"9" * 120 + b"}",
    b"[" * 70 + b"]" * 70,
    gzip.compress(b'{"id":"a","type":"sale"}\n{"id":"b"}\n'),
    b"\x00\xff\xfe",
]


def _lines(data: bytes) -> list[bytes]:
    lines = []
    streams: list[Any] = [io.BytesIO(data)]
    if data.startswith(b"\x1f\x8b"):
        streams.append(gzip.GzipFile(fileobj=io.BytesIO(data)))
    for stream in streams:
        for _, line, problem in checked_lines(stream):
            if problem is None:
                lines.append(line)
            if len(lines) >= 20:
                break
    return lines


def target(data: bytes) -> None:
    """One fuzz input: bytes as a JSON Lines chunk (or a gzip stream of one)."""
    lines = _lines(data)
    if not lines:
        return
    by_text = commitrules.Engine(PACK)
    by_record = commitrules.Engine(PACK)
    for line in lines:
        with contextlib.suppress(CommitRulesError):
            by_text.process_json(line)
        try:
            record = decode(line)
        except ValueError:
            continue
        with contextlib.suppress(CommitRulesError):
            by_record.process(record)


def main() -> None:
    """Run under atheris."""
    import atheris  # noqa: PLC0415 - an optional tool

    atheris.instrument_all()
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
