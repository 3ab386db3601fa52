"""Hostile input files: every reader rejects what is beyond its bounds, line by line.

Deep nesting, huge numbers, huge lines and cut gzip files give a rejected line with its
file and number (through the CLI and the API), the lines around it are still processed,
memory stays bounded, and nothing ends in a traceback or exit status 1.
"""

from __future__ import annotations

import gzip
import json
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

import commitrules
from commitrules import CaseError, CheckpointError, SnapshotError
from commitrules._io import MAX_LINE_BYTES, read_lines
from commitrules.batch import check_files
from commitrules.cli import main
from commitrules.store import CheckpointStore, run_log
from commitrules.testing import run_pack_tests
from tests.conftest import MARKETING, MINI, ROOT

PACK = commitrules.load_pack()
SAMPLE = ROOT / "examples" / "sample-events.jsonl"
LATER = {**MARKETING, "id": "m9", "at": "2026-07-02T09:00:00+08:00"}

DEEP = "[" * 100_000
DEEP_CLOSED = '{"id": "d", "x": ' + "[" * 5_000 + "]" * 5_000 + "}"
HUGE_NUMBER = '{"id": "n", "type": "sale", "amount": ' + "9" * 5_000 + "}"

#: (line, what the rejection says)
HOSTILE_LINES = [
    (DEEP, "JSON nested deeper than 64 levels"),
    (DEEP_CLOSED, "JSON nested deeper than 64 levels"),
    (HUGE_NUMBER, "a JSON number with more than 100 digits"),
]


def events_file(path: Path, *middle: str) -> Path:
    """MARKETING, the hostile lines, then LATER: two violations around the rejections."""
    lines = [json.dumps(MARKETING, ensure_ascii=False), *middle, json.dumps(LATER)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    return events_file(tmp_path / "events.jsonl", *(line for line, _ in HOSTILE_LINES))


# -- the API ----------------------------------------------------------------------------------


def test_read_lines_rejects_each_hostile_line_with_its_number(hostile: Path) -> None:
    lines = list(read_lines(str(hostile)))
    assert [(line.number, line.error) for line in lines] == [
        (1, None),
        *((number, words) for number, (_, words) in enumerate(HOSTILE_LINES, start=2)),
        (len(HOSTILE_LINES) + 2, None),
    ]
    assert all(len(line.raw) <= 200 for line in lines if line.error)


def test_check_files_rejects_them_and_keeps_the_findings_around_them(hostile: Path) -> None:
    result = check_files([str(hostile)], PACK)
    assert [(r.line, r.reason) for r in result.rejected] == [
        (number, words) for number, (_, words) in enumerate(HOSTILE_LINES, start=2)
    ]
    assert str(result.rejected[0]) == f"{hostile}:2: JSON nested deeper than 64 levels"
    assert {v.event_ids for v in result.violations} == {("m1",), ("m9",)}


@pytest.mark.parametrize(("line", "words"), HOSTILE_LINES)
def test_process_json_says_why_instead_of_recursing(line: str, words: str) -> None:
    engine = commitrules.Engine(PACK)
    with pytest.raises(commitrules.EventValidationError, match=words):
        engine.process_json(line)
    assert engine.stats.rejected == 1


def test_a_long_line_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    size = 30 * MAX_LINE_BYTES
    with path.open("wb") as handle:
        handle.write(json.dumps(MARKETING).encode() + b"\n")
        handle.write(b'{"x": "' + b"y" * size + b'"}\n')
        handle.write(json.dumps(LATER).encode() + b"\n")
    tracemalloc.start()
    try:
        lines = list(read_lines(str(path)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(line.number, line.error) for line in lines] == [
        (1, None),
        (2, f"line longer than {MAX_LINE_BYTES} bytes"),
        (3, None),
    ]
    assert peak < 3 * MAX_LINE_BYTES  # the line is 30 MB; a few MB at most are held


def test_a_line_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "edge.jsonl"
    text = '{"x": "' + "y" * (MAX_LINE_BYTES - 9) + '"}'
    assert len(text) == MAX_LINE_BYTES
    path.write_text(text + "\r\n" + text + "y\n", encoding="utf-8")
    lines = list(read_lines(str(path)))
    assert [(line.number, line.error) for line in lines] == [
        (1, None),
        (2, f"line longer than {MAX_LINE_BYTES} bytes"),
    ]


def cut_gzip(path: Path) -> Path:
    whole = gzip.compress(SAMPLE.read_bytes())
    path.write_bytes(whole[: len(whole) // 2])
    return path


def test_a_truncated_gzip_keeps_what_was_read_and_says_where_it_ends(tmp_path: Path) -> None:
    path = cut_gzip(tmp_path / "cut.jsonl.gz")
    result = check_files([str(path)], PACK)
    (last,) = result.rejected
    assert last.line == result.stats.processed + 1
    assert result.stats.processed > 2000
    assert "the gzip file is truncated here" in last.reason
    assert f"(the {result.stats.processed} lines before it were read)" in last.reason
    expected = check_files([str(SAMPLE)], PACK, engine=commitrules.Engine(PACK))
    first_ids = {v.id for v in result.violations}
    assert first_ids <= {v.id for v in expected.violations}


def test_a_file_named_gz_that_is_not_gzip_is_one_rejected_line(tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl.gz"
    path.write_text(json.dumps(MARKETING), encoding="utf-8")
    (line,) = read_lines(str(path))
    assert line.number == 1
    assert line.error is not None
    assert line.error.startswith("the gzip file is damaged here (Not a gzipped file")


def test_a_run_log_with_a_hostile_line_rejects_it_and_restarts_past_it(
    hostile: Path, tmp_path: Path
) -> None:
    store = CheckpointStore(tmp_path / "state.db")
    rejected: list[tuple[int, str]] = []
    found: list[str] = []
    run = run_log(PACK, hostile, store, sink=lambda v: found.append(v.id), on_reject=_add(rejected))
    assert run.rejected == len(HOSTILE_LINES)
    assert [number for number, _ in rejected] == [2, 3, 4]
    assert len(found) == 2
    again = run_log(PACK, hostile, store, sink=lambda v: found.append(v.id))
    store.close()
    assert (again.resumed_from, again.position, again.rejected) == (5, 5, 0)


def _add(into: list[tuple[int, str]]) -> Any:
    return lambda number, reason: into.append((number, reason))


def test_a_pack_case_events_file_has_the_same_bounds(tmp_path: Path) -> None:
    import shutil

    pack = tmp_path / "mini"
    shutil.copytree(MINI, pack)
    (pack / "tests" / "deep.jsonl").write_text(DEEP + "\n", encoding="utf-8")
    (pack / "tests" / "deep.yaml").write_text(
        "cases:\n  - name: deep\n    events_file: deep.jsonl\n    expect: {violations: []}\n",
        encoding="utf-8",
    )
    suite = run_pack_tests(pack)
    problems = [str(p) for p in suite.errors] + [r.report() for r in suite.results if not r.passed]
    assert any("deep.jsonl:1: JSON nested deeper than 64 levels" in p for p in problems), problems
    assert issubclass(CaseError, commitrules.CommitRulesError)


# -- snapshots and checkpoints ----------------------------------------------------------------


def test_a_damaged_checkpoint_database_names_the_file_and_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database " * 100)
    with pytest.raises(CheckpointError, match="not a readable checkpoint database") as caught:
        CheckpointStore(path)
    assert str(path) in str(caught.value)
    assert "move it aside" in str(caught.value)
    assert isinstance(caught.value, SnapshotError)


def test_a_checkpoint_damaged_after_it_was_written_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = CheckpointStore(path)
    engine, _ = store.resume(PACK)
    engine.process(MARKETING)
    store.save(engine, 1)
    store.close()
    data = bytearray(path.read_bytes())
    data[100:4000] = b"\xff" * 3900
    path.write_bytes(bytes(data))

    def reopen() -> None:
        store = CheckpointStore(path)
        try:
            store.load()
        finally:
            store.close()

    with pytest.raises(CheckpointError, match=re.escape(str(path))):
        reopen()


def test_a_checkpoint_snapshot_nested_too_deeply_is_a_snapshot_error(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "state.db")
    store._db.execute(  # a snapshot written by something else
        "INSERT INTO checkpoint VALUES ('default', 3, 'p', 'd', ?)", ("[" * 100_000,)
    )
    with pytest.raises(SnapshotError, match="nested deeper than 100 levels"):
        store.load()
    store.close()


# -- the CLI ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "explain", "report", "oscal", "diff"])
def test_every_command_rejects_hostile_lines_by_number_and_never_crashes(
    command: str, hostile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = {
        "check": ["check", str(hostile)],
        "explain": ["explain", str(hostile)],
        "report": ["report", str(hostile), "--out", str(tmp_path / "r.md")],
        "oscal": ["oscal", str(hostile), "--out", str(tmp_path / "o.json")],
        "diff": ["diff", "customer-commitments", "customer-commitments", str(hostile)],
    }[command]
    status = main(argv)
    err = capsys.readouterr().err
    for number, (_, words) in enumerate(HOSTILE_LINES, start=2):
        assert f"rejected {hostile}:{number}: {words}" in err
    assert "Traceback" not in err
    assert status == {"check": 2, "explain": 0, "report": 0, "oscal": 0, "diff": 0}[command]


def test_check_of_a_truncated_gzip_prints_what_it_found_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = cut_gzip(tmp_path / "cut.jsonl.gz")
    assert main(["check", str(path), "--format", "jsonl"]) == 2
    captured = capsys.readouterr()
    assert "aborted" not in captured.err
    assert f"rejected {path}:" in captured.err
    assert "the gzip file is truncated here" in captured.err
    assert captured.out.count("\n") > 0  # the violations of the lines read are printed


def test_an_unexpected_error_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RecursionError("maximum recursion depth exceeded\nwhile doing something")

    monkeypatch.setattr("commitrules.cli.check_files", broken)
    events = events_file(tmp_path / "e.jsonl")
    assert main(["check", str(events)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: unexpected RecursionError: maximum recursion depth exceeded")
    assert "--debug" in line
    assert main(["--debug", "check", str(events)]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("error: unexpected RecursionError")


@pytest.mark.parametrize("command", ["report", "oscal"])
def test_report_and_oscal_refuse_to_overwrite_an_input(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = events_file(tmp_path / "events.md" if command == "report" else tmp_path / "e.json")
    before = events.read_bytes()
    assert main([command, str(events), "--out", str(events)]) == 2
    assert "is an input file; it would be overwritten" in capsys.readouterr().err
    assert events.read_bytes() == before
    link = tmp_path / ("link.md" if command == "report" else "link.json")
    link.hardlink_to(events)
    assert main([command, str(events), "--out", str(link)]) == 2
    assert events.read_bytes() == before


def test_report_refuses_to_write_into_the_pack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    pack = tmp_path / "mini"
    shutil.copytree(MINI, pack)
    events = events_file(tmp_path / "e.jsonl")
    assert main(["report", str(events), "--pack", str(pack), "--out", str(pack / "r.md")]) == 2
    assert "is inside the pack" in capsys.readouterr().err
    assert not (pack / "r.md").exists()
