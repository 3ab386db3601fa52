"""How the report writes its numbers and labels; shared by the HTML and Markdown pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._text import Words

__all__ = [
    "clause_status",
    "comparison",
    "days",
    "kind_label",
    "number",
    "percent",
    "period_text",
    "rate",
    "target_status",
    "target_text",
    "unit_label",
]


def number(value: int | None) -> str:
    """A count, or a dash when unknown."""
    return "—" if value is None else str(value)


def percent(share: float | None) -> str:
    """0.8333 -> '83.3%'."""
    return "—" if share is None else f"{share * 100:.1f}%"


def rate(value: float | None) -> str:
    """A periodic rate the way the engine writes it: 0.933333 -> '93.33%'."""
    return "—" if value is None else f"{value * 100:.4g}%"


def days(value: float | None) -> str:
    """Days with two decimals."""
    return "—" if value is None else f"{value:.2f}"


_SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}


def comparison(op: str) -> str:
    """A target's comparison as a symbol: '>=' -> '≥'."""
    return _SYMBOLS.get(op, op)


def target_text(row: Mapping[str, Any]) -> str:
    """'≥ 95%' for a period row (its comparison and the goal in force)."""
    goal = row.get("target")
    return f"{comparison(row['target_op'])} " + ("?" if goal is None else f"{goal * 100:.4g}%")


def clause_status(status: str, say: Words) -> str:
    """The words for a clause status."""
    return say["status_" + status]


def target_status(status: str, say: Words) -> str:
    """The words for a periodic target's status in one period."""
    return say["target_" + status]


def kind_label(kind: str, say: Words) -> str:
    """The words for a kind of finding."""
    return say["kind_" + kind]


def unit_label(unit: str, say: Words) -> str:
    """The words for a period unit."""
    return say["unit_" + unit]


def period_text(data: Mapping[str, Any], say: Words) -> str:
    """'2026Q3 (2026-07-01 to 2026-09-30, Asia/Shanghai)', or the words for no period."""
    period = data["period"]
    if not period:
        return say["all_time"]
    return (
        f"{period['label']} ({period['first_day']} {say['to']} {period['last_day']}, "
        f"{data['pack']['timezone']})"
    )
