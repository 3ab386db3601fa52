"""``commitrules check`` on tables: inputs by suffix, --out and --rejects by suffix, exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from rich.console import Console  # noqa: E402

import commitrules  # noqa: E402
from commitrules import _check_tables  # noqa: E402
from commitrules._check_tables import table_inputs  # noqa: E402
from commitrules.cli import main  # noqa: E402
from commitrules.columnar import events_table, violation_schema  # noqa: E402
from tests.conftest import MARKETING, ROOT  # noqa: E402

PACK = commitrules.load_pack()
SAMPLE = ROOT / "examples" / "sample-events.jsonl"
UNTIL = "2026-10-01T00:00:00+08:00"
CLEAN = {
    "id": "a1",
    "type": "complaint_acknowledged",
    "at": "2026-07-01T09:00:00+08:00",
    "case_id": "K1",
}


def parquet(path: Path, *events: dict[str, Any]) -> Path:
    pq.write_table(events_table(events, PACK.catalog, timezone=PACK.timezone), path)
    return path


@pytest.fixture(scope="module")
def sample_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    events = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    path = tmp_path_factory.mktemp("sample") / "sample.parquet"
    table = events_table(events, PACK.catalog, timezone=PACK.timezone)
    pq.write_table(table, path, row_group_size=1000)
    return path


def test_exit_codes_are_those_of_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(parquet(tmp_path / "clean.parquet", CLEAN))]) == 0
    assert "No violations." in capsys.readouterr().out
    assert main(["check", str(parquet(tmp_path / "bad.parquet", MARKETING))]) == 1
    assert "C1.marketing" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "bad.parquet"), "--exit-zero"]) == 0
    refused = parquet(tmp_path / "refused.parquet", CLEAN, {**CLEAN, "id": "a2", "case_id": None})
    assert main(["check", str(refused)]) == 2
    err = capsys.readouterr().err
    assert f"rejected {refused} row 1: case_id: event a2: Field required" in err
    assert "1 processed, 0 duplicate, 1 rejected; 0 violations" in err


def test_out_writes_the_same_violations_whatever_the_input(
    tmp_path: Path, sample_parquet: Path
) -> None:
    from_lines = tmp_path / "lines.jsonl"
    from_table = tmp_path / "table.jsonl"
    assert main(["check", str(SAMPLE), "--until", UNTIL, "--out", str(from_lines)]) == 1
    assert main(["check", str(sample_parquet), "--until", UNTIL, "--out", str(from_table)]) == 1
    assert from_lines.read_text(encoding="utf-8") == from_table.read_text(encoding="utf-8")
    records = [json.loads(line) for line in from_lines.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 63  # the sample quarter's (README)
    as_parquet = tmp_path / "v.parquet"
    assert main(["check", str(sample_parquet), "--until", UNTIL, "--out", str(as_parquet)]) == 1
    table = pq.read_table(as_parquet)
    assert table.schema == violation_schema(PACK.timezone)
    assert table.column("id").to_pylist() == [r["id"] for r in records]
    as_csv = tmp_path / "v.csv"
    assert main(["check", str(sample_parquet), "--until", UNTIL, "--out", str(as_csv)]) == 1
    rows = list(csv.DictReader(io.StringIO(as_csv.read_text(encoding="utf-8"))))
    assert [row["id"] for row in rows] == [r["id"] for r in records]


def test_out_and_rejects_suffixes_choose_the_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = parquet(tmp_path / "e.parquet", CLEAN, {**CLEAN, "id": "=cmd()", "case_id": None})
    assert main(["check", str(events), "--out", str(tmp_path / "v.txt")]) == 2
    assert "the suffix chooses the format: .parquet, .jsonl or .csv" in capsys.readouterr().err
    assert main(["check", str(events), "--rejects", str(tmp_path / "r.txt")]) == 2
    assert main(["check", str(events), "--rejects-reasons", str(tmp_path / "r.jsonl")]) == 2
    for suffix in (".parquet", ".jsonl", ".csv"):
        rejects = tmp_path / f"r{suffix}"
        assert main(["check", str(events), "--rejects", str(rejects)]) == 2
    assert pq.read_table(tmp_path / "r.parquet").to_pylist() == [
        {"source": str(events), "row": 1, "reason": "case_id: event =cmd(): Field required"}
    ]
    record = json.loads((tmp_path / "r.jsonl").read_text(encoding="utf-8"))
    assert (record["row"], record["source"]) == (1, str(events))
    assert "'=cmd()" not in (tmp_path / "r.csv").read_text(encoding="utf-8")  # reason: not first
    assert "case_id: event =cmd(): Field required" in (tmp_path / "r.csv").read_text()


def test_folders_globs_and_arrow_files_are_table_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "year"
    folder.mkdir()
    parquet(folder / "2026-07.parquet", CLEAN)
    parquet(folder / "2026-08.parquet", {**MARKETING, "at": "2026-08-01T09:00:00+08:00"})
    assert main(["check", str(folder)]) == 1
    assert main(["check", str(folder / "2026-0*.parquet")]) == 1
    assert main(["check", str(folder / "2027-*.parquet")]) == 2
    assert "no Parquet or Arrow file matches" in capsys.readouterr().err
    table = events_table([MARKETING], PACK.catalog, timezone=PACK.timezone)
    with pa.ipc.new_file(tmp_path / "e.arrow", table.schema) as writer:
        writer.write_table(table)
    assert main(["check", str(tmp_path / "e.arrow")]) == 1


def test_json_lines_and_tables_do_not_mix_and_outputs_do_not_overwrite_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = parquet(tmp_path / "e.parquet", CLEAN)
    assert main(["check", str(events), str(SAMPLE)]) == 2
    assert "either JSON Lines files or tables" in capsys.readouterr().err
    assert main(["check", str(events), "--out", str(events)]) == 2
    assert "is an input file; it would be overwritten" in capsys.readouterr().err
    assert pq.read_table(events).num_rows == 1
    assert main(["check", str(tmp_path), "--out", str(tmp_path / "v.parquet")]) == 2
    assert "is inside the input folder" in capsys.readouterr().err
    assert not (tmp_path / "v.parquet").exists()


def test_float_decimals_need_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sale = {
        "id": "s1",
        "type": "sale",
        "at": "2026-07-01T10:30:00+08:00",
        "customer_id": "C-88",
        "product_id": "DEP-TD12",
        "product_risk": 1,
        "amount": "100.5",
        "currency": "CNY",
        "staff_id": "S0004",
        "branch_id": "BR-SH-PD",
        "channel": "branch",
        "recorded": True,
    }
    table = events_table([sale], PACK.catalog, timezone=PACK.timezone)
    index = table.schema.get_field_index("amount")
    floats = table.set_column(index, "amount", pa.array([100.5], pa.float64()))
    pq.write_table(floats, tmp_path / "f.parquet")
    assert main(["check", str(tmp_path / "f.parquet"), "--exit-zero"]) == 2
    assert "--allow-float-decimals" in capsys.readouterr().err
    flag = "--allow-float-decimals"
    assert main(["check", str(tmp_path / "f.parquet"), "--exit-zero", flag]) == 0


def test_large_table_inputs_show_the_progress_bar_on_a_terminal(
    sample_parquet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From 10,000 rows (about the 2 MB of JSON Lines from which the JSON path shows it).
    assert _check_tables.PROGRESS_FROM_ROWS == 10_000
    monkeypatch.setattr(_check_tables, "PROGRESS_FROM_ROWS", 5_000)
    engine = commitrules.Engine(PACK)
    tables = table_inputs([str(sample_parquet)], None, None, None)
    assert tables.rows == 5624
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    result = tables.run(engine, None, lambda item: None, terminal, allow_float_decimals=False)
    assert result.stats.processed == 5624
    assert "checking" in screen.getvalue()
    quiet = io.StringIO()
    tables.run(
        commitrules.Engine(PACK),
        None,
        lambda item: None,
        Console(file=quiet, force_terminal=False),
        allow_float_decimals=False,
    )
    assert quiet.getvalue() == ""
