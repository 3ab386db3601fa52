"""benchmarks/columnar.py runs end to end on a few thousand rows (the 10M run is a command)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")

from tests.conftest import ROOT


def test_the_columnar_benchmark_runs_on_a_few_thousand_rows(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "columnar.py"),
            "--events",
            "3000",
            "--compare",
            "2000",
            "--batch-sizes",
            "512",
            "--repeats",
            "1",
            "--every",
            "1000",
            "--work",
            str(tmp_path / "work"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "out" / "columnar-results.json").read_text())
    assert results["inputs"]["events"] == 3000
    assert [(r["file"], r["rows"], r["batch_size"]) for r in results["reading"]] == [
        ("events.parquet", 3000, 512),
        ("first.parquet", 2000, 512),
    ]
    assert all(r["arrow_pool_peak_mb"] > 0 for r in results["reading"])
    comparison = results["comparison"]
    assert comparison["events"] == 2000
    assert comparison["ratio"] > 0
    run = results["engine_run"]
    assert (run["rows"], run["processed"] + run["rejected"]) == (3000, 3000)
    assert [s["rows"] for s in run["samples"]] == [1024, 2048]
    report = (tmp_path / "out" / "columnar-results.md").read_text()
    assert "## Input buffering (reading alone, no engine)" in report
    assert "Table path / per-event path:" in report
