"""The command line: exit codes, formats, rejected lines, and each command's output."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from commitrules.cli import main
from tests.conftest import MARKETING, MINI

CLEAN = {**MARKETING, "id": "m2", "text": "穩健理財,風險自擔", "at": "2026-07-01T10:00:00+08:00"}


def write(path: Path, *records: object, raw: str = "") -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n" + raw, encoding="utf-8")
    return path


def test_no_violations_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(write(tmp_path / "e.jsonl", CLEAN))]) == 0
    captured = capsys.readouterr()
    assert "No violations." in captured.out
    assert "1 processed, 0 duplicate, 0 rejected; 0 violations" in captured.err


def test_violations_exit_1_and_are_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(write(tmp_path / "e.jsonl", MARKETING, CLEAN))]) == 1
    out = capsys.readouterr().out
    assert "C1.marketing.banned-promise" in out
    assert "risk-compliance → senior-management" in out


def test_exit_zero_flag(tmp_path: Path) -> None:
    assert main(["check", str(write(tmp_path / "e.jsonl", MARKETING)), "--exit-zero"]) == 0


def test_a_rejected_line_is_reported_with_its_number_and_processing_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = write(tmp_path / "e.jsonl", CLEAN, {"id": "x", "type": "sale"}, raw="{not json\n")
    rejects = tmp_path / "rejects.jsonl"
    later = {**MARKETING, "at": "2026-07-02T09:00:00+08:00"}
    with events.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(later, ensure_ascii=False) + "\n")
    assert main(["check", str(events), "--rejects", str(rejects), "--format", "jsonl"]) == 2
    captured = capsys.readouterr()
    assert f"{events}:2: " in captured.err
    assert f"{events}:3: not JSON" in captured.err
    assert "2 processed, 0 duplicate, 2 rejected; 1 violations" in captured.err
    assert rejects.read_text(encoding="utf-8").count("\n") == 2
    assert json.loads(captured.out.splitlines()[0])["rule_id"] == "C1.marketing.banned-promise"


def test_rejects_reasons_say_why_each_rejected_line_was_refused_in_the_rejects_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    late = {**CLEAN, "id": "late", "at": "2026-06-01T09:00:00+08:00"}
    events = write(
        tmp_path / "e.jsonl", CLEAN, {"id": "x", "type": "sale"}, late, raw="{not json\n"
    )
    with events.open("ab") as handle:
        handle.write(b'{"id": "\xff\xfe", "type": "nope"}\n')  # not UTF-8
    rejects = tmp_path / "rejects.jsonl"
    reasons = tmp_path / "reasons.jsonl"
    argv = ["check", str(events), "--rejects", str(rejects), "--rejects-reasons", str(reasons)]
    assert main(argv) == 2
    capsys.readouterr()
    records = [json.loads(line) for line in reasons.read_text(encoding="utf-8").splitlines()]
    assert [(r["source"], r["line"]) for r in records] == [(str(events), n) for n in (2, 3, 4, 5)]
    assert "customer_id" in records[0]["reason"]  # the sale misses its fields
    assert "watermark" in records[1]["reason"]  # a month before the first event
    assert records[2]["reason"].startswith("not JSON")
    assert records[2]["text"] == "{not json"
    assert "\ufffd" in records[3]["text"]  # readable text; the bytes are in --rejects
    kept = rejects.read_bytes().splitlines()
    assert len(kept) == len(records)
    assert kept[3] == b'{"id": "\xff\xfe", "type": "nope"}'
    assert json.loads(kept[1]) == late


def test_rejects_reasons_keep_a_lone_surrogate_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A JSON escape of half a surrogate pair is valid JSON but not encodable as UTF-8.
    events = write(tmp_path / "e.jsonl", CLEAN, raw='{"id": "x\\ud800", "type": "sale"}\n')
    reasons = tmp_path / "reasons.jsonl"
    assert main(["check", str(events), "--rejects-reasons", str(reasons)]) == 2
    assert f"rejected {events}:2: event x\\ud800" in capsys.readouterr().err  # escaped
    (record,) = [json.loads(line) for line in reasons.read_text(encoding="utf-8").splitlines()]
    assert record["line"] == 2
    assert record["text"] == '{"id": "x\\ud800", "type": "sale"}'


@pytest.mark.parametrize("clash", ["each other", "an input"])
def test_output_files_that_would_overwrite_an_input_or_each_other_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clash: str
) -> None:
    events = write(tmp_path / "e.jsonl", CLEAN)
    before = events.read_bytes()
    target = events if clash == "an input" else tmp_path / "out.jsonl"
    argv = ["check", str(events), "--rejects", str(tmp_path / "out.jsonl")]
    argv += ["--rejects-reasons", str(target)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert ("input file" if clash == "an input" else "name the same file") in err
    assert events.read_bytes() == before
    assert not (tmp_path / "out.jsonl").exists()


def test_jsonl_lines_carry_the_violation_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["check", str(write(tmp_path / "e.jsonl", MARKETING)), "--format", "jsonl"])
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    for field in (
        "id",
        "rule_id",
        "clause_id",
        "severity",
        "role",
        "route",
        "event_ids",
        "subject",
        "at",
        "due_at",
        "message",
        "evidence",
        "pack",
    ):
        assert field in record
    assert record["pack"]["id"] == "customer-commitments"
    assert record["message"]["zh"].startswith("營銷材料")


def test_json_and_csv_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = str(write(tmp_path / "e.jsonl", MARKETING))
    main(["check", events, "--format", "json"])
    assert json.loads(capsys.readouterr().out)[0]["clause_id"] == "C1.marketing"
    main(["check", events, "--format", "csv", "--lang", "zh"])
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["rule_id"] == "C1.marketing.banned-promise"
    assert rows[0]["message"].startswith("營銷材料")


def test_gzip_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "e.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(MARKETING, ensure_ascii=False) + "\n")
    assert main(["check", str(path), "--format", "jsonl"]) == 1
    assert "banned-promise" in capsys.readouterr().out


def test_until_reports_deadlines_due_by_then(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    complaint = {
        "id": "c1",
        "type": "complaint_received",
        "at": "2026-07-01T10:00:00+08:00",
        "case_id": "K1",
        "customer_id": "C1",
        "channel": "hotline",
        "category": "fees",
        "branch_id": "BR-SH-PD",
        "assignee": "S0007",
        "register_id": "REG-1",
    }
    events = str(write(tmp_path / "e.jsonl", complaint))
    assert main(["check", events]) == 0
    capsys.readouterr()
    assert main(["check", events, "--until", "2026-07-20T00:00:00+08:00", "--format", "jsonl"]) == 1
    rules = [json.loads(line)["rule_id"] for line in capsys.readouterr().out.splitlines()]
    assert rules == ["C5.acknowledge.in-time", "C5.resolve.simple"]


def test_a_naive_until_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(write(tmp_path / "e.jsonl", CLEAN)), "--until", "2026-07-20"]) == 2
    assert "needs an offset" in capsys.readouterr().err


def test_a_pack_that_does_not_load_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = str(write(tmp_path / "e.jsonl", CLEAN))
    assert main(["check", events, "--pack", str(tmp_path)]) == 2
    assert "cannot load pack" in capsys.readouterr().err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--no-such-option", "x"]) == 2


def test_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = (json.dumps(MARKETING, ensure_ascii=False) + "\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["check", "-", "--format", "jsonl"]) == 1
    assert "banned-promise" in capsys.readouterr().out


def test_schema_of_one_type_and_of_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "sale"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["properties"]["product_risk"]["maximum"] == 5
    assert main(["schema"]) == 0
    assert "complaint_received" in json.loads(capsys.readouterr().out)["discriminator"]["mapping"]
    assert main(["schema", "nope"]) == 2


def test_packs_lists_the_bundled_pack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packs"]) == 0
    out = capsys.readouterr().out
    assert "customer-commit" in out


def test_test_command_runs_a_packs_cases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(MINI), "--coverage"]) == 0
    out = capsys.readouterr().out
    assert "mini: 3/3 cases passed" in out
    assert "not automatable: X1" in out
    assert main(["test", str(MINI), "--min-coverage", "100"]) == 1


def test_the_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "commitrules", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    for command in ("check", "test", "schema", "packs"):
        assert command in result.stdout


def test_report_writes_html_and_markdown_with_the_engines_numbers(tmp_path: Path) -> None:
    sample = str(Path(__file__).resolve().parent.parent / "examples" / "sample-events.jsonl")
    html_out, md_out = tmp_path / "report.html", tmp_path / "report.md"
    until = "2026-10-01T00:00:00+08:00"
    assert main(["report", sample, "--out", str(html_out), "--until", until, "--lang", "zh"]) == 0
    assert main(["report", sample, "--out", str(md_out), "--until", until]) == 0
    page = html_out.read_text(encoding="utf-8")
    assert "<svg" in page
    assert "诚信经营" in page  # zh for the cn profile: Simplified
    markdown = md_out.read_text(encoding="utf-8")
    assert "| Findings in the period | 63 |" in markdown
    # The input is identified: its name and SHA-256, in both formats.
    digest = hashlib.sha256(Path(sample).read_bytes()).hexdigest()
    assert f"| {sample.replace('_', chr(92) + '_')} | " in markdown
    assert digest in markdown
    assert digest in page
    assert main(["report", sample, "--out", str(md_out), "--period", "2026Q9"]) == 2
    pdf = tmp_path / "report.pdf"
    assert main(["report", sample, "--out", str(pdf)]) == 2  # the suffix chooses the format
    assert not pdf.exists()


def test_report_writes_a_statistics_section_as_csv(tmp_path: Path) -> None:
    sample = str(Path(__file__).resolve().parent.parent / "examples" / "sample-events.jsonl")
    out, table = tmp_path / "report.md", tmp_path / "complaints.csv"
    until = "2026-10-01T00:00:00+08:00"
    option = f"complaint-statistics={table}"
    assert (
        main(["report", sample, "--out", str(out), "--until", until, "--section-csv", option]) == 0
    )
    rows = list(csv.DictReader(io.StringIO(table.read_text(encoding="utf-8"))))
    assert table.read_bytes().count(b"\r\n") == len(rows) + 1  # RFC 4180 line ends
    assert {row["period"] for row in rows} == {"2026Q3"}
    # Every complaint of the quarter counted once, closed ones in one bucket each.
    events = [json.loads(line) for line in Path(sample).read_text(encoding="utf-8").splitlines()]
    received = [e for e in events if e["type"] == "complaint_received"]
    assert sum(int(row["received"]) for row in rows) == len(received)
    for row in rows:
        buckets = sum(int(row[name]) for name in row if name.startswith("days_"))
        assert buckets == int(row["closed"])
        assert int(row["closed"]) + int(row["open"]) == int(row["received"])
    # An id the pack does not declare, or a malformed option, is a usage error before anything
    # is written.
    other = tmp_path / "other.md"
    wrong = ["report", sample, "--out", str(other), "--section-csv", f"nope={table}"]
    assert main(wrong) == 2
    assert (
        main(["report", sample, "--out", str(other), "--section-csv", "complaint-statistics"]) == 2
    )
    assert not other.exists()
    # Nor may it overwrite an input.
    same = [
        "report",
        sample,
        "--out",
        str(other),
        "--section-csv",
        f"complaint-statistics={sample}",
    ]
    assert main(same) == 2


def test_the_durable_backend_prints_the_same_violations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("durable.engine")
    events = str(write(tmp_path / "e.jsonl", MARKETING, CLEAN))
    assert main(["check", events, "--format", "jsonl"]) == 1
    native = capsys.readouterr().out
    assert main(["check", events, "--format", "jsonl", "--backend", "durable"]) == 1
    durable = capsys.readouterr().out
    assert "banned-promise" in native
    assert durable == native


def test_an_unknown_backend_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = str(write(tmp_path / "e.jsonl", CLEAN))
    assert main(["check", events, "--backend", "clips"]) == 2
    assert "clips" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [
        ["check", "{missing}"],
        ["explain", "{missing}"],
        ["report", "{missing}", "--out", "{out}.html"],
        ["oscal", "{missing}", "--out", "{out}.json"],
        ["diff", "customer-commitments", "customer-commitments", "{missing}"],
    ],
)
def test_a_missing_events_file_is_a_usage_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    missing = tmp_path / "nope.jsonl"
    args = [a.format(missing=missing, out=tmp_path / "out") for a in command]
    assert main(args) == 2
    assert f"error: cannot open {missing}: No such file or directory" in capsys.readouterr().err
