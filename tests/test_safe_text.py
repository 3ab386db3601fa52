"""Outputs are safe to show: no terminal control from an event reaches a person's screen,
no markup reaches an HTML page, no formula reaches a spreadsheet (unless asked for)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import commitrules
from commitrules._safe_text import json_visible, spreadsheet_cell, visible
from commitrules.batch import check_files
from commitrules.cli import main
from commitrules.display import violations_html
from commitrules.explain import explain
from commitrules.report import build_report
from tests.conftest import MARKETING

PACK = commitrules.load_pack()

#: Clear the screen, plant a link (OSC 8), ring, overwrite the line, 8-bit CSI, reorder.
ATTACK = "\x1b[2J\x1b]8;;http://evil.example\x07click\x1b]8;;\x07\r\x9b31m\u202e<b>x</b>"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
HOSTILE = {**MARKETING, "material_id": "M-" + ATTACK}


def safe_for_a_terminal(text: str) -> bool:
    return UNSAFE.search(text) is None


@given(st.text())
def test_visible_text_has_no_control_left_and_keeps_what_is_visible(text: str) -> None:
    shown = visible(text, lines=False)
    assert safe_for_a_terminal(shown)
    assert "\n" not in shown
    assert visible(shown) == shown  # escaping twice changes nothing
    for char in text:
        if (
            char.isprintable()
            and char not in "\u061c\u200e\u200f"
            and not ("\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069")
        ):
            assert char in shown


def test_chinese_text_stays_as_it_is() -> None:
    assert visible("保本保收益,風險自擔") == "保本保收益,風險自擔"
    assert visible("a\nb\tc") == "a\nb\tc"
    assert visible("a\nb\tc", lines=False) == "a\\nb\\tc"


@given(st.dictionaries(st.text(max_size=5), st.text(max_size=20), max_size=4))
def test_json_visible_reads_back_the_same_values(value: dict[str, str]) -> None:
    text = json_visible(json.dumps(value, ensure_ascii=False))
    assert json.loads(text) == value
    assert safe_for_a_terminal(text)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\\t=1"),
        ("\r=1", "'\\r=1"),
        ("plain = text", "plain = text"),
        ("保本", "保本"),
    ],
)
def test_a_spreadsheet_formula_start_gets_a_quote(value: str, cell: str) -> None:
    assert spreadsheet_cell(value) == cell


# -- the API ----------------------------------------------------------------------------------


def test_an_explanation_is_one_safe_line() -> None:
    lines = explain(PACK, [HOSTILE, {**HOSTILE, "id": "bad\x1b[2J", "channel": 7}])
    assert lines
    for line in lines:
        assert safe_for_a_terminal(str(line))
        assert "\n" not in str(line)
    assert any("\\x1b[2J" in str(line) for line in lines)


def test_a_rejected_line_is_one_safe_line(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    bad = {**HOSTILE, "id": "x" + ATTACK, "channel": 7}
    path.write_text(json.dumps(bad) + "\n", encoding="utf-8")
    (rejected,) = check_files([str(path)], PACK).rejected
    assert safe_for_a_terminal(str(rejected))
    assert "\n" not in str(rejected)


def test_reports_escape_controls_and_markup() -> None:
    events = [
        {**HOSTILE, "approved": False, "branch_id": "BR-" + ATTACK},
        {
            "id": "i1",
            "type": "security_incident",
            "at": "2026-07-01T11:00:00+08:00",
            "incident_id": "I-" + ATTACK,
            "kind": "data leak",
            "severity": "major",
            "customers_affected": 3,
        },
    ]
    engine = commitrules.Engine(PACK)
    found = [v for event in events for v in engine.process(event)]
    report = build_report(PACK, events, found, period="2026Q3")
    for text in (report.to_html(), report.to_markdown(), violations_html(found)):
        assert safe_for_a_terminal(text)
        assert "<b>x</b>" not in text
        assert "&lt;b&gt;x&lt;/b&gt;" in text
        assert "\\x1b[2J" in text or "\\\\x1b\\[2J" in text


# -- the CLI ----------------------------------------------------------------------------------


@pytest.fixture
def hostile_events(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    lines = [
        json.dumps(HOSTILE, ensure_ascii=False),
        json.dumps({**HOSTILE, "id": "x" + ATTACK, "channel": 5}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("output", ["table", "json", "jsonl", "csv"])
def test_check_output_and_messages_carry_no_control(
    output: str, hostile_events: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(hostile_events), "--format", output]) == 2
    captured = capsys.readouterr()
    # CSV rows end with CR LF, as CSV does; no other control may remain.
    assert safe_for_a_terminal(captured.out.replace("\r\n", "\n"))
    assert safe_for_a_terminal(captured.err)
    assert "rejected" in captured.err
    if output in ("json", "jsonl"):
        (violation,) = (
            [json.loads(line) for line in captured.out.splitlines()][:1]
            if (output == "jsonl")
            else json.loads(captured.out)
        )
        assert violation["subject"]["material_id"] == HOSTILE["material_id"]  # values intact


def test_csv_neutralises_formulas_unless_raw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(
        json.dumps({**MARKETING, "material_id": "=cmd|' /C calc'!A0"}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    assert main(["check", str(path), "--format", "csv"]) == 1
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["subject"].startswith("{")  # JSON text: not a formula start, unchanged
    assert rows[0]["message"].startswith("Marketing material =cmd")
    path.write_text(
        json.dumps({**MARKETING, "id": "=1+1"}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    assert main(["check", str(path), "--format", "csv"]) == 1
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert row["event_ids"] == "'=1+1"
    assert main(["check", str(path), "--format", "csv", "--csv-raw"]) == 1
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert row["event_ids"] == "=1+1"


@pytest.mark.parametrize("command", ["explain", "diff", "report"])
def test_other_commands_show_no_control(
    command: str, hostile_events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = {
        "explain": ["explain", str(hostile_events)],
        "diff": ["diff", str(tmp_path / "none"), "customer-commitments", str(hostile_events)],
        "report": ["report", str(hostile_events), "--out", str(tmp_path / "r.md")],
    }[command]
    if command == "diff":
        argv = ["diff", "customer-commitments", str(_pack_without_banned_promise(tmp_path))]
        argv.append(str(hostile_events))
    main(argv)
    captured = capsys.readouterr()
    assert safe_for_a_terminal(captured.out + captured.err)
    if command == "report":
        assert safe_for_a_terminal((tmp_path / "r.md").read_text(encoding="utf-8"))
    else:
        assert "\\x1b[2J" in captured.out


def _pack_without_banned_promise(tmp_path: Path) -> Path:
    import shutil

    from tests.conftest import ROOT

    pack = tmp_path / "pack"
    shutil.copytree(ROOT / "rulesets" / "customer-commitments", pack)
    meta = pack / "pack.yaml"
    meta.write_text(
        meta.read_text(encoding="utf-8")
        + "\ndisable:\n  - {rule: C1.marketing.banned-promise, reason: a test}\n",
        encoding="utf-8",
    )
    return pack


def test_lint_shows_pack_text_without_controls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = _pack_without_banned_promise(tmp_path)
    rules = next((pack / "rules").glob("*.yaml"))
    rules.write_text(rules.read_text(encoding="utf-8") + '\n"bad\\e[2Jkey": 1\n', encoding="utf-8")
    assert main(["lint", str(pack)]) == 2
    captured = capsys.readouterr()
    assert "\\x1b[2J" in captured.out
    assert safe_for_a_terminal(captured.out + captured.err)
