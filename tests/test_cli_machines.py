"""The command line for machines: --format json, SARIF and GitHub annotations, --out -, and a
reader that goes away (broken pipe)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from commitrules.cli import EXIT_BROKEN_PIPE, main
from tests.conftest import MARKETING, MINI, ROOT

SAMPLE = ROOT / "examples" / "sample-events.jsonl"
BROKEN = ROOT / "tests" / "hostile" / "expr-dunder"


def out_json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def events(tmp_path: Path, *records: object) -> str:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return str(path)


# -- lint ----------------------------------------------------------------------------------------


def test_lint_json_lists_errors_and_warnings_with_their_locations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["lint", str(BROKEN), "--format", "json"]) == 2
    report = out_json(capsys)
    assert isinstance(report, dict)
    assert report["ok"] is False
    assert report["warnings"] == []
    [error] = report["errors"]
    assert error["file"] == "rules/r.yaml"
    assert (error["line"], error["column"]) == (6, 5)
    assert (error["rule_id"], error["key"]) == ("R1", "require")
    assert "not allowed" in error["message"]
    assert main(["lint", "--format", "json"]) == 0
    clean = out_json(capsys)
    assert isinstance(clean, dict)
    assert clean["ok"] is True
    assert clean["errors"] == []
    assert {w["code"] for w in clean["warnings"]} >= {"unchecked-source"}
    assert all({"code", "message", "file", "line", "key"} <= set(w) for w in clean["warnings"])


def test_lint_sarif_points_at_the_failing_line_relative_to_the_checkout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repository = tmp_path / "bank-packs"
    shutil.copytree(BROKEN, repository / "packs" / "retail")
    monkeypatch.chdir(repository)
    assert main(["lint", "packs/retail", "--format", "sarif"]) == 2
    log = out_json(capsys)
    assert isinstance(log, dict)
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "commitrules"
    [result] = run["results"]
    assert result["level"] == "error"
    assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"] == "load-error"
    assert "not allowed" in result["message"]["text"]
    [location] = result["locations"]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "packs/retail/rules/r.yaml"
    assert physical["region"] == {"startLine": 6, "startColumn": 5}
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "rule R1: require"


def test_lint_sarif_of_a_clean_pack_has_warnings_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(MINI), "--format", "sarif"]) == 0
    log = out_json(capsys)
    assert isinstance(log, dict)
    results = log["runs"][0]["results"]
    assert all(result["level"] == "warning" for result in results)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == sorted({r["ruleId"] for r in results})


def test_lint_github_annotations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(BROKEN, tmp_path / "retail")
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "retail", "--format", "github"]) == 2
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("::error file=retail/rules/r.yaml,line=6,col=5::rule R1: require: ")
    assert "%0A" in line or "\n" not in line  # one line: newlines are escaped


# -- test, diff, audit, packs ------------------------------------------------------------------


def test_test_json_gives_every_case_and_the_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(MINI), "--format", "json", "--coverage"]) == 0
    result = out_json(capsys)
    assert isinstance(result, dict)
    assert result["ok"] is True
    [pack] = result["packs"]
    assert pack["pack"] == "mini"
    assert pack["failed"] == 0
    assert pack["passed"] == len(pack["cases"]) > 0
    case = pack["cases"][0]
    assert {"name", "file", "line", "passed", "error", "missing", "unexpected", "report"} <= set(
        case
    )
    assert case["report"] is None
    assert 0 <= pack["coverage"]["rule_percent"] <= 100
    assert {rule["rule_id"] for rule in pack["coverage"]["rules"]}


def test_test_json_reports_a_failing_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = tmp_path / "mini"
    shutil.copytree(MINI, pack)
    cases = pack / "tests" / next(p.name for p in (MINI / "tests").glob("*.yaml"))
    text = cases.read_text(encoding="utf-8")
    cases.write_text(text.replace('amount: "600"', 'amount: "60"', 1), encoding="utf-8")
    assert main(["test", str(pack), "--format", "json"]) == 1
    result = out_json(capsys)
    assert isinstance(result, dict)
    assert result["ok"] is False
    failing = [case for case in result["packs"][0]["cases"] if not case["passed"]]
    assert failing
    assert failing[0]["missing"]
    assert "FAILED" in failing[0]["report"]


def test_diff_json_has_the_added_and_removed_violations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = tmp_path / "mini-lenient"
    shutil.copytree(MINI, new)
    parameters = new / "parameters.yaml"
    text = parameters.read_text(encoding="utf-8")
    parameters.write_text(text.replace("value: 500}", "value: 5000}"), encoding="utf-8")
    stream = events(
        tmp_path,
        {"id": "a1", "type": "suitability_assessed", "at": "2026-07-01T09:00:00+08:00",
         "customer_id": "C1", "risk_level": 5},
        {"id": "s1", "type": "sale", "at": "2026-07-01T10:00:00+08:00", "customer_id": "C1",
         "product_id": "P1", "product_risk": 3, "currency": "CNY", "staff_id": "A",
         "branch_id": "B1", "channel": "branch", "recorded": True, "amount": "600"},
    )  # fmt: skip
    assert main(["diff", str(MINI), str(MINI), stream, "--format", "json"]) == 0
    same = out_json(capsys)
    assert isinstance(same, dict)
    assert same["added"] == same["removed"] == []
    assert same["unchanged"] >= 1
    assert main(["diff", str(MINI), str(new), stream, "--format", "json"]) == 1
    change = out_json(capsys)
    assert isinstance(change, dict)
    assert change["added"] == []
    [removed] = change["removed"]
    assert removed["rule_id"] == "K1.amount"
    assert removed["event_ids"] == ["s1"]


def test_audit_json_says_whether_the_chain_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "decisions.log"
    stream = events(tmp_path, MARKETING)
    assert main(["check", stream, "--audit", str(log), "--exit-zero"]) == 0
    capsys.readouterr()
    assert main(["audit", str(log), "--format", "json"]) == 0
    verified = out_json(capsys)
    assert isinstance(verified, dict)
    assert verified["log"] == str(log)
    assert verified["ok"] is True
    assert verified["records"] >= 1
    lines = log.read_text(encoding="utf-8").splitlines()
    edited = lines[0].replace('"event_id":"', '"event_id":"x', 1)  # still JSON, hash now wrong
    assert edited != lines[0]
    log.write_text("\n".join([edited, *lines[1:]]) + "\n", "utf-8")
    assert main(["audit", str(log), "--format", "json"]) == 1
    broken = out_json(capsys)
    assert isinstance(broken, dict)
    assert broken["ok"] is False
    assert broken["line"] == 1
    assert broken["reason"]


def test_packs_json_lists_every_known_pack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packs", "--format", "json"]) == 0
    listed = out_json(capsys)
    assert isinstance(listed, list)
    [default] = [entry for entry in listed if entry["id"] == "customer-commitments"]
    assert default["pack_id"] == "customer-commitments"
    assert default["profiles"] == ["cn", "hk", "uk"]
    assert default["rules"] > 0
    assert default["clauses"] > 0
    assert set(default["name"]) == {"zh", "en"}
    assert Path(default["path"]).is_dir()


# -- --out - -----------------------------------------------------------------------------------


def test_report_and_oscal_write_to_standard_output_with_out_dash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    until = "2026-10-01T00:00:00+08:00"
    assert main(["report", str(SAMPLE), "--out", "-", "--until", until]) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")
    assert main(["report", str(SAMPLE), "--out", "-", "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("# ")
    assert main(["oscal", str(SAMPLE), "--out", "-", "--until", until]) == 0
    document = out_json(capsys)
    assert isinstance(document, dict)
    assert "assessment-results" in document
    assert not (tmp_path / "-").exists()


# -- a reader that goes away ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["explain", "check"])
def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path, command: str) -> None:
    # Far more than a pipe's buffer: the reader closes it after one line, mid-output.
    marketing = [
        {**MARKETING, "id": f"m{n}", "at": f"2026-07-01T10:{n // 60:02d}:{n % 60:02d}+08:00"}
        for n in range(3000)
    ]
    args = [sys.executable, "-m", "commitrules", command, events(tmp_path, *marketing)]
    if command == "check":
        args += ["--format", "jsonl"]
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()
        err = process.stderr.read().decode()
        status = process.wait(timeout=120)
    assert first
    assert "Traceback" not in err
    assert "Exception ignored" not in err
    assert "BrokenPipe" not in err
    # Never 1 ("violations found"): 141, as a shell shows a process that SIGPIPE ended.
    assert status == EXIT_BROKEN_PIPE, (status, err)
