"""How the report writes its numbers and labels; shared by the HTML and Markdown pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._text import Words

__all__ = [
    "case_measures",
    "clause_status",
    "comparison",
    "days",
    "duration",
    "finding_label",
    "kind_label",
    "limit_text",
    "number",
    "percent",
    "period_text",
    "rate",
    "severity_label",
    "stats_header",
    "target_status",
    "target_text",
    "unit_label",
    "with_zone",
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


def target_status(status: str, say: Words, reason: str | None = None) -> str:
    """The words for a periodic target's status in one period (and why not judged)."""
    text = say["target_" + status]
    return text + say.paren(say["reason_" + reason]) if reason else text


def stats_header(column: str, say: Words) -> str:
    """The heading of a statistics column: 'days_16_30' -> '16 to 30 days' ('16至30日');
    a ``by`` field's name as the report knows it, or as it is."""
    space = "" if say.chinese else " "
    if column.startswith("days_over_"):
        high = column.removeprefix("days_over_")
        return f"{say['stats_over']}{space}{high}{space}{say['stats_days']}"
    if column.startswith("days_"):
        low, high = column.removeprefix("days_").split("_")
        return f"{low}{say['stats_to']}{high}{space}{say['stats_days']}"
    return say.get("stats_" + column, column)


def kind_label(kind: str, say: Words) -> str:
    """A column's header counting findings of a kind ('Violations')."""
    return say["kind_" + kind]


def finding_label(kind: str, say: Words) -> str:
    """The kind of one finding ('Violation'), and the kind itself when the report has no
    words for it (a kind added later)."""
    return say.get("finding_" + kind, kind)


def severity_label(severity: str, say: Words) -> str:
    """A finding's severity in words ('High', '高')."""
    return say.get("severity_" + severity, severity)


def with_zone(label: str, data: Mapping[str, Any], say: Words) -> str:
    """A time column's header with the zone its times are in: 'Time (Asia/Shanghai)'."""
    return label + say.paren(data["pack"]["timezone"])


def unit_label(unit: str, say: Words) -> str:
    """The words for a period unit."""
    return say["unit_" + unit]


def period_text(data: Mapping[str, Any], say: Words) -> str:
    """'2026Q3 (2026-07-01 to 2026-09-30, Asia/Shanghai)', or the words for no period."""
    period = data["period"]
    if not period:
        return say["all_time"]
    inside = f"{period['first_day']} {say['to']} {period['last_day']}"
    return str(period["label"]) + say.paren(say.join([inside, data["pack"]["timezone"]]))


def duration(value: Mapping[str, Any], say: Words) -> str:
    """``{count: 15, unit: calendar_days}`` -> '15 calendar days' (in the report's language)."""
    param = value.get("param") or ""
    if param.startswith("field:"):
        return f"{say['duration_from_field']} {param.removeprefix('field:')}"
    count = value.get("count")
    shown = say["limit_unknown"] if count is None else str(count)
    separator = "" if say.chinese else " "
    return f"{shown}{separator}{say['duration_' + value['unit']]}"


def limit_text(limit: Mapping[str, Any], say: Words) -> str:
    """A deadline's limit and its extensions: '15 calendar days (extended: 60 calendar days)'."""
    text = duration(limit["within"], say)
    longer = [duration(item, say) for item in limit.get("extended", ())]
    if longer:
        text += say.paren(say.colon(say["extended_to"], say.join(longer)))
    return text


def case_measures(c: Mapping[str, Any], say: Words) -> list[tuple[str, str, bool]]:
    """The measures of a case-handling section, in order: (label, text, is a number)."""
    rows = [
        (say["cases_received"], number(c["received"]), True),
        (say["cases_resolved"], number(c["resolved"]), True),
        (say["cases_open"], number(c["open"]), True),
    ]
    if c["limits"]:
        rows += [
            (say["cases_open_overdue"], number(c["open_overdue"]), True),
            (say["cases_with_limit"], number(c["with_limit"]), True),
            (say["cases_within_limit"], number(c["within_limit"]), True),
            (say["cases_share"], percent(c["share_within_limit"]), True),
        ]
    rows += [
        (say["cases_p50"], days(c["days_p50"]), True),
        (say["cases_p90"], days(c["days_p90"]), True),
        (say["cases_max"], days(c["days_max"]), True),
    ]
    rows += [
        (
            say.colon(say["cases_limit"], limit["title"] + say.paren(limit["rule_id"])),
            limit_text(limit, say),
            False,
        )
        for limit in c["limits"]
    ]
    return rows
