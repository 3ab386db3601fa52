"""The public surface of commitrules.eventtime, and the examples in its docstrings."""

from __future__ import annotations

import ast
import doctest
import importlib
from pathlib import Path

import pytest

from commitrules import eventtime

PACKAGE = Path(eventtime.__file__).parent
MODULES = [
    "commitrules.eventtime",
    "commitrules.eventtime._calendars",
    "commitrules.eventtime._durations",
    "commitrules.eventtime._fast",
    "commitrules.eventtime._instants",
    "commitrules.eventtime._periods",
]


def test_every_public_name_is_exported_and_sorted() -> None:
    assert eventtime.__all__ == [
        "CalendarData",
        "CalendarSpec",
        "CalendarYear",
        "Derivation",
        "DueFunction",
        "Duration",
        "LocalOffsets",
        "OfficialSource",
        "Period",
        "PeriodUnit",
        "Unit",
        "WorkingDayCalendar",
        "add_duration",
        "due_function",
        "from_us",
        "next_period",
        "parse_period",
        "period_of",
        "to_us",
    ]
    for name in eventtime.__all__:
        assert getattr(eventtime, name) is not None


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0
    assert failed == 0


WALL_CLOCK = {("datetime", "now"), ("datetime", "today"), ("date", "today"), ("time", "time")}
WALL_CLOCK |= {("datetime", "utcnow"), ("time", "monotonic"), ("time", "perf_counter")}


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda path: path.name)
def test_no_wall_clock_is_read(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) not in WALL_CLOCK, f"{path.name}:{node.lineno}"
