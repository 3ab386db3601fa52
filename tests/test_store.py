"""A worker killed mid-stream resumes from its checkpoint and loses nothing."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import commitrules
from commitrules.store import CheckpointStore, run_log

PACK = commitrules.load_pack()
CST = dt.timezone(dt.timedelta(hours=8))


def event_log(path: Path, count: int = 1500) -> Path:
    """A deterministic log that keeps every kind of state busy (deadlines, windows, priors)."""
    lines: list[str] = []
    start = dt.datetime(2026, 7, 1, 8, tzinfo=CST)
    for i in range(count):
        at = (start + dt.timedelta(minutes=37 * i)).isoformat()
        kind = i % 5
        if kind == 0:
            event: dict[str, Any] = {
                "type": "complaint_received",
                "case_id": f"K{i}",
                "customer_id": f"C{i % 40}",
                "channel": "hotline",
                "category": "fees",
                "branch_id": "BR-SH-PD",
                "assignee": "S0007",
            }
        elif kind == 1 and i % 3:
            event = {"type": "complaint_resolved", "case_id": f"K{i - 1}", "outcome": "ok"}
        elif kind == 2:
            event = {"type": "suitability_assessed", "customer_id": f"C{i % 40}", "risk_level": 3}
        else:
            event = {
                "type": "sale",
                "customer_id": f"C{i % 40}",
                "product_id": "FUND-EQ07",
                "product_risk": 4,
                "amount": "1000",
                "currency": "CNY",
                "staff_id": "S0004",
                "branch_id": "BR-SH-PD",
                "channel": "branch",
                "recorded": i % 7 != 0,
            }
        lines.append(json.dumps({"id": f"e{i}", "at": at, **event}))
        if i == 700:
            lines.append("{not json")  # a rejected line keeps its position
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def uninterrupted(log: Path, tmp_path: Path) -> list[str]:
    found: list[str] = []
    with CheckpointStore(tmp_path / "whole.db") as store:
        run_log(PACK, log, store, sink=lambda v: found.append(v.id), every=100)
    return found


def test_a_crash_between_checkpoints_replays_at_least_once(tmp_path: Path) -> None:
    log = event_log(tmp_path / "events.jsonl")
    expected = uninterrupted(log, tmp_path)
    delivered: list[str] = []

    class CrashError(Exception):
        pass

    def crashing_sink(violation: commitrules.Violation) -> None:
        delivered.append(violation.id)
        if len(delivered) == len(expected) // 2:
            raise CrashError

    with CheckpointStore(tmp_path / "state.db") as store, contextlib.suppress(CrashError):
        run_log(PACK, log, store, sink=crashing_sink, every=100)
    with CheckpointStore(tmp_path / "state.db") as store:
        result = run_log(PACK, log, store, sink=lambda v: delivered.append(v.id), every=100)
    assert result.resumed_from > 0
    assert result.rejected == 0 or result.resumed_from < 701
    assert list(dict.fromkeys(delivered)) == expected  # nothing lost, order kept after dedupe


WORKER = textwrap.dedent(
    """
    import json, sys, time
    import commitrules
    from commitrules.store import CheckpointStore, run_log

    log, db, out = sys.argv[1:4]
    with CheckpointStore(db) as store, open(out, "a", encoding="utf-8") as sink_file:
        def sink(violation):
            sink_file.write(violation.id + "\\n")
            sink_file.flush()
            time.sleep(0.004)  # slow enough for the test to kill it mid-stream
        run_log(commitrules.load_pack(), log, store, sink=sink, every=50)
    """
)


def test_sigkill_mid_stream_then_restart_delivers_every_violation(tmp_path: Path) -> None:
    log = event_log(tmp_path / "events.jsonl")
    expected = uninterrupted(log, tmp_path)
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    db, out = tmp_path / "state.db", tmp_path / "out.txt"
    args = [sys.executable, str(script), str(log), str(db), str(out)]
    worker = subprocess.Popen(args)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and len(out.read_text(encoding="utf-8").splitlines()) > len(expected) // 3:
            break
        time.sleep(0.02)
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL
    with contextlib.closing(sqlite3.connect(db)) as connection:
        position = connection.execute("SELECT position FROM checkpoint").fetchone()[0]
    assert 0 < position < len(log.read_text(encoding="utf-8").splitlines())
    subprocess.run(args, check=True, timeout=120)
    delivered = out.read_text(encoding="utf-8").split()
    assert set(delivered) == set(expected)
    assert list(dict.fromkeys(delivered)) == expected


def test_the_store_is_a_context_manager_that_closes_its_connection(tmp_path: Path) -> None:
    with CheckpointStore(tmp_path / "state.db") as store:
        store.save(commitrules.Engine(PACK), 7)
        assert store.load() is not None
    with pytest.raises(commitrules.CheckpointError, match="closed"):
        store.load()
    store.close()  # closing again is harmless
    with CheckpointStore(tmp_path / "state.db") as again:
        saved = again.load()
    assert saved is not None
    assert saved[1] == 7


def test_a_file_that_is_not_a_store_is_refused_and_its_connection_closed(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"not a database at all\n" * 200)
    # (A SnapshotError here; the name of the error class may change, the message names the file.)
    with pytest.raises(commitrules.CommitRulesError, match=r"notes\.db"):
        CheckpointStore(path)
    # Python 3.13 warns (ResourceWarning) about a connection left to the garbage collector; the
    # suite turns warnings into errors, so a leak fails here.
    gc.collect()
    assert path.read_bytes().startswith(b"not a database")
