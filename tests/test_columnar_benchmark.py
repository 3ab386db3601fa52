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


def test_the_vectorised_benchmark_runs_on_a_few_thousand_rows(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "vectorised.py"),
            "--events",
            "3000",
            "--batch-size",
            "1000",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "vectorised-results.json").read_text())
    assert results["events"] == 3000
    assert set(results["seconds"]) == {
        "reading alone",
        "intake alone (no rules), per-event",
        "baseline",
        "per-event",
        "table",
        "vectorised",
        "checks per-event",
        "checks table",
        "checks vectorised",
        "checks: columns read and checked alone",
        "checks: columns read and checked, and the verdicts",
    }
    assert all(ratio > 0 for ratio in results["ratios"].values())
    floor = results["per_event_us"]
    assert (
        floor["reading the Parquet batches and checking their columns (no event made, no engine)"]
        > 0
    )
    assert "the vectorised checks' verdicts over those columns" in floor
    assert floor["the budget of the checks-alone goal (the per-event path / 10)"] == pytest.approx(
        results["seconds"]["checks per-event"] / 10 / 3000 * 1e6, abs=0.05
    )
    assert 0 < results["vectorised_checks"] < results["checks"]
    assert "| vectorised |" in (tmp_path / "vectorised-results.md").read_text()


def test_the_vectorised_memory_benchmark_runs_on_a_few_thousand_rows(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "vectorised_memory.py"),
            "--events",
            "3000",
            "--state-rows",
            "2000",
            "--batch-sizes",
            "512",
            "--row-group",
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
    results = json.loads((tmp_path / "out" / "vectorised-memory-results.json").read_text())
    assert [(r["rows"], r["batch_size"]) for r in results["reading"]] == [(3000, 512)]
    assert results["reading"][0]["arrow_pool_peak_mb"] > 0
    row_by_row, vectorised = results["states"]
    assert (row_by_row["vectorised"], vectorised["vectorised"]) == (False, True)
    assert row_by_row["rows"] == vectorised["rows"] == 2000
    assert row_by_row["seen"] > 0
    assert all(results["state_equal"].values()), results["state_equal"]
    report = (tmp_path / "out" / "vectorised-memory-results.md").read_text()
    assert "The two engines' states are **equal**" in report
