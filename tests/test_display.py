"""Tests of commitrules.display (proposed: move to tests/test_display.py with the module)."""

from __future__ import annotations

import ast
import datetime as dt
import doctest
import importlib
import sys
from pathlib import Path

import pytest

import commitrules
from commitrules import _html
from commitrules.pack import _html as pack_table
from commitrules.violations import Message, PackRef, Violation

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


display = importlib.import_module("commitrules.display")


def violation(
    number: int = 1,
    *,
    message: str = "Complaint K-1 was not acknowledged",
    kind: str = "violation",
    scope: dict[str, str] | None = None,
) -> Violation:
    at = dt.datetime(2026, 7, 3, 23, 59, tzinfo=SHANGHAI)
    return Violation(
        id=f"v-{number}",
        rule_id="C5.acknowledge.in-time",
        clause_id="C5.acknowledge",
        severity="medium",
        role="rights-specialist",
        route=("rights-specialist", "rights-protection-dept"),
        event_ids=(f"e-{number}",),
        subject={"case_id": f"K-{number}"},
        at=at,
        due_at=at,
        message=Message(zh="投訴未告知受理", en=message),
        evidence={},
        pack=PackRef(id="customer-commitments", version="0.1.0", profile="cn", digest="0" * 64),
        kind=kind,  # type: ignore[arg-type]
        scope=scope if scope is not None else {"branch_id": "BR-1"},
    )


def test_a_violation_list_is_a_list_and_shows_a_table() -> None:
    found = display.ViolationList([violation(1), violation(2)])
    assert isinstance(found, list)
    assert len(found) == 2
    page = found._repr_html_()
    assert "<table>" in page
    assert "2 violations" in page
    for header in ("at", "clause", "rule", "severity", "route", "message"):
        assert f"<th>{header}</th>" in page
    assert "2026-07-03 23:59" in page
    assert "rights-specialist → rights-protection-dept" in page


def test_messages_and_values_are_escaped() -> None:
    page = display.ViolationList([violation(message='<script>alert("x")</script>')])._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_chinese_messages_and_headers() -> None:
    page = display.ViolationList([violation()], lang="zh")._repr_html_()
    assert "投訴未告知受理" in page
    assert "<th>條款</th>" in page


def test_an_escalation_is_marked_and_rows_beyond_the_limit_are_counted() -> None:
    items = [violation(n, kind="escalation") for n in range(5)]
    page = display.ViolationList(items, limit=3)._repr_html_()
    assert page.count("[escalation]") == 3
    assert "… and 2 more" in page


def test_pack_summary_lists_every_clause_and_rule() -> None:
    pack = commitrules.load_pack()
    page = display.pack_html(pack)
    for clause in pack.clauses:
        assert f"<code>{clause.id}</code>" in page
    for rule in pack.rules:
        assert f"<code>{rule.id}</code>" in page
    assert pack.clauses[0].title.zh in display.pack_html(pack, lang="zh")


def test_dataframe_has_a_row_per_violation_with_aware_times_and_ordered_severity() -> None:
    pytest.importorskip("pandas")
    frame = display.to_dataframe([violation(1), violation(2, scope={"staff_id": "S1"})])
    assert list(frame.columns) == [*display.COLUMNS, "branch_id", "staff_id"]
    assert len(frame) == 2
    assert str(frame["at"].dt.tz) == "UTC"
    assert frame["at"].iloc[0] == dt.datetime(2026, 7, 3, 15, 59, tzinfo=dt.UTC)
    assert list(frame["severity"].cat.categories) == ["low", "medium", "high", "critical"]
    assert frame["severity"].cat.ordered
    assert frame["branch_id"].iloc[0] == "BR-1"
    assert frame["staff_id"].iloc[1] == "S1"
    local = display.to_dataframe([violation()], tz="Asia/Shanghai")
    assert local["at"].iloc[0].hour == 23


def test_an_empty_dataframe_has_the_columns() -> None:
    pytest.importorskip("pandas")
    frame = display.to_dataframe([])
    assert list(frame.columns) == list(display.COLUMNS)
    assert frame.empty


def test_without_pandas_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"commitrules\[notebooks\]"):
        display.to_dataframe([violation()])


def test_docstring_examples_run() -> None:
    pytest.importorskip("pandas")
    failures, _ = doctest.testmod(display, optionflags=doctest.ELLIPSIS)
    assert failures == 0


def test_the_pack_table_and_its_helpers_keep_their_examples() -> None:
    for module in (_html, pack_table):
        failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert (failures, tried > 0) == (0, True), module.__name__


def test_the_pack_module_needs_nothing_above_it() -> None:
    # The pack is below the notebook tools: it shows itself through pack/_html.py, and
    # commitrules.display only re-exports that table (they imported each other before).
    folder = Path(commitrules.__file__).parent / "pack"
    above = {"display", "engine", "report", "cli", "columnar", "spark", "plan", "batch"}
    found = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
                if node.module.split(".")[0] in above:
                    found.append(f"{path.name}: from ..{node.module}")
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                parts = node.module.split(".")
                if parts[0] == "commitrules" and len(parts) > 1 and parts[1] in above:
                    found.append(f"{path.name}: from {node.module}")
    assert found == []
    assert display.pack_html is pack_table.pack_html
