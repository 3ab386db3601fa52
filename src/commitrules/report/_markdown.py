"""The report as Markdown: the same sections and numbers as the HTML page; each chart is
given as a table of its data (Markdown cannot hold inline SVG, and the report references
nothing outside itself).

Untrusted text is escaped for Markdown and for the HTML a Markdown viewer may let through
(``<``, ``>`` and ``&`` become entities; ``|``, ``*``, ``_``, ``~``, brackets, backslashes
and backticks are backslash-escaped; line breaks become spaces), and for a terminal that
shows the file (control characters and reordering characters are written as escapes).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .._safe_text import visible
from . import _format as fmt
from ._data import KINDS
from ._text import Words

__all__ = ["escape", "render_markdown"]

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def escape(text: object) -> str:
    """Text safe inside a Markdown table cell or paragraph."""
    flat = visible(" ".join(str(text).split()), lines=False)
    return _SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: int = 0) -> str:
    """A pipe table; the last ``right`` columns are right-aligned numbers."""
    aligns = ["---"] * (len(headers) - right) + ["---:"] * right
    lines = [
        "| " + " | ".join(escape(h) for h in headers) + " |",
        "| " + " | ".join(aligns) + " |",
    ]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(data: Mapping[str, Any], say: Words) -> str:
    """The Markdown text of the report ``data``."""
    parts = [
        f"# {escape(data['title'])}",
        escape(data["pack"]["name"]),
        _summary(data, say),
        _clauses(data, say),
        _checks(data, say),
        _deadlines(data, say),
        _thresholds(data, say),
        _targets(data, say),
        _over_time(data, say),
        _by_role(data, say),
        _offenders(data, say),
        *(_section(section, data, say) for section in data["sections"]),
        _engine(data, say),
        "---",
        f"*{escape(say['footer'])}*",
    ]
    return "\n\n".join(part for part in parts if part) + "\n"


def _summary(data: Mapping[str, Any], say: Words) -> str:
    pack = data["pack"]
    events = data["events"]
    findings = data["findings"]
    rows = [
        [say["pack"], pack["id"]],
        [say["version"], pack["version"]],
        [say["profile"], pack["profile"]],
        [say["digest"], pack["digest"]],
        [say["period"], fmt.period_text(data, say)],
        [say["time_zone"], pack["timezone"]],
        [fmt.with_zone(say["judged_through"], data, say), data["judged_through"] or "—"],
        [say["events"], str(events["in_period"])],
        [say["events_given"], str(events["given"])],
        [say["events_duplicate"], str(events["duplicates"])],
        [say["events_invalid"], str(events["invalid"])],
        [say["findings_total"], str(findings["total"])],
    ]
    rows += [[fmt.kind_label(kind, say), str(findings["by_kind"][kind])] for kind in KINDS]
    rows.append([say["findings_provisional"], str(findings["provisional"])])
    out = [f"## {escape(say['header'])}", _table([say["measure"], say["value"]], rows)]
    out.append(f"### {escape(say['inputs'])}")
    if data["inputs"]:
        files = [
            [
                item["name"] if item["name"] != "-" else say["standard_input"],
                fmt.number(item["bytes"]),
                item["sha256"] or "—",
            ]
            for item in data["inputs"]
        ]
        out.append(_table([say["input_file"], say["input_bytes"], say["input_sha256"]], files))
    else:
        out.append(escape(say["no_inputs"]))
    if data["conversion"]:
        conversion = data["conversion"]
        out.append(
            escape(say["converted"] + say.paren(conversion["library"] + " " + conversion["config"]))
        )
    if data["pack_mismatch"]:
        others = say.separate(
            [
                f"{m['id']} {m['version']} {m['profile']} {m['digest'][:12]}"
                for m in data["pack_mismatch"]
            ]
        )
        out.append(f"> {escape(say.colon(say['pack_mismatch'], others))}")
    return "\n\n".join(out)


def _clauses(data: Mapping[str, Any], say: Words) -> str:
    headers = [
        say["clause"],
        say["title"],
        say["status"],
        say["reason"],
        say["rules"],
        *[fmt.kind_label(kind, say) for kind in KINDS],
    ]
    rows = [
        [
            row["id"],
            row["title"],
            fmt.clause_status(row["status"], say),
            row["reason"] or "",
            fmt.number(row["rules_with_subclauses"]),
            *[fmt.number(row["counts"][kind]) for kind in KINDS],
        ]
        for row in data["clauses"]
    ]
    return f"## {escape(say['clauses'])}\n\n{_table(headers, rows, right=1 + len(KINDS))}"


def _checks(data: Mapping[str, Any], say: Words) -> str:
    if not data["checks"]:
        return ""
    headers = [
        say["rule"],
        say["clause"],
        say["title"],
        say["judged"],
        say["held"],
        say["kind_violation"],
        say["kind_excused"],
    ]
    rows = [
        [
            row["rule_id"],
            row["clause_id"],
            row["title"],
            fmt.number(row["judged"]),
            fmt.number(row["held"]),
            fmt.number(row["counts"]["violation"]),
            fmt.number(row["counts"]["excused"]),
        ]
        for row in data["checks"]
    ]
    return (
        f"## {escape(say['checks'])}\n\n{_table(headers, rows, right=4)}\n\n"
        f"{escape(say['checks_note'])}"
    )


def _deadlines(data: Mapping[str, Any], say: Words) -> str:
    if not data["deadlines"]:
        return ""
    headers = [
        say["rule"],
        say["clause"],
        say["title"],
        say["limit"],
        say["opened"],
        say["met"],
        say["missed"],
        say["escalated"],
        say["still_open"],
        say["share_met"],
    ]
    rows = [
        [
            row["rule_id"],
            row["clause_id"],
            row["title"],
            fmt.limit_text(row["limit"], say),
            fmt.number(row["opened"]),
            fmt.number(row["met"]),
            fmt.number(row["missed"]),
            fmt.number(row["escalated"]),
            fmt.number(row["open"]),
            fmt.percent(row["share_met"]),
        ]
        for row in data["deadlines"]
    ]
    return (
        f"## {escape(say['deadlines'])}\n\n{_table(headers, rows, right=6)}\n\n"
        f"{escape(say['deadlines_note'])}"
    )


def _thresholds(data: Mapping[str, Any], say: Words) -> str:
    if not data["thresholds"]:
        return ""
    headers = [
        say["rule"],
        say["clause"],
        say["title"],
        say["groups"],
        say["kind_violation"],
        say["kind_excused"],
    ]
    rows = [
        [
            row["rule_id"],
            row["clause_id"],
            row["title"],
            say.separate([g["group"] + say.paren(str(g["count"])) for g in row["groups"]]),
            fmt.number(row["counts"]["violation"]),
            fmt.number(row["counts"]["excused"]),
        ]
        for row in data["thresholds"]
    ]
    return f"## {escape(say['thresholds'])}\n\n{_table(headers, rows, right=2)}"


def _section(section: Mapping[str, Any], data: Mapping[str, Any], say: Words) -> str:
    """A section the pack declares (report.yaml)."""
    out = [f"## {escape(section['title'])}"]
    if section["kind"] == "case_handling":
        rows = [[label, text] for label, text, _ in fmt.case_measures(section, say)]
        out.append(_table([say["measure"], say["value"]], rows, right=1))
        out.append(escape(say["percentile_note"]))
    elif section["kind"] == "case_statistics":
        columns = section["columns"]
        if section["rows"]:
            headers = [
                fmt.stats_header(c, say)
                if c != "period"
                else fmt.with_zone(say["bucket"], data, say)
                for c in columns
            ]
            table_rows = [[str(row[c]) for c in columns] for row in section["rows"]]
            numbers = len(columns) - 1 - len(section["by"])
            out.append(_table(headers, table_rows, right=numbers))
        else:
            out.append(escape(say["no_cases"]))
        out.append(escape(say["stats_note"]))
    else:
        out.append(_findings_table(section["findings"], data, say))
    if section["note"]:
        out.append(escape(section["note"]))
    return "\n\n".join(out)


def _targets(data: Mapping[str, Any], say: Words) -> str:
    out = [f"## {escape(say['targets'])}"]
    headers = [
        fmt.with_zone(say["bucket"], data, say),
        say["status"],
        say["numerator"],
        say["sample"],
        say["target_rate"],
        say["target"],
        say["min_sample"],
    ]
    for target in data["targets"]:
        unit = fmt.unit_label(target["period_unit"], say)
        inside = say.join([f"`{target['rule_id']}`", escape(say.colon(say["period_unit"], unit))])
        out.append(f"### {escape(target['title'])}{say.paren(inside)}")
        if not target["periods"]:
            out.append(escape(say["no_periods"]))
            continue
        rows = [
            [
                row["period"],
                fmt.target_status(row["status"], say, row["reason"]),
                fmt.number(row["numerator"]),
                fmt.number(row["denominator"]),
                fmt.rate(row["rate"]),
                fmt.target_text(row),
                fmt.number(row["min_sample"]),
            ]
            for row in target["periods"]
        ]
        out.append(_table(headers, rows, right=5))
    out.append(escape(say["targets_note"]))
    return "\n\n".join(out)


def _over_time(data: Mapping[str, Any], say: Words) -> str:
    buckets = data["timeline"]["buckets"]
    title = f"## {escape(say['over_time'])}"
    if not buckets:
        return f"{title}\n\n{escape(say['none'])}"
    headers = [
        fmt.with_zone(say["bucket"], data, say),
        say["kind_violation"],
        say["kind_escalation"],
    ]
    rows = [
        [row["period"], fmt.number(row["violation"]), fmt.number(row["escalation"])]
        for row in buckets
    ]
    return f"{title}\n\n{_table(headers, rows, right=2)}"


def _by_role(data: Mapping[str, Any], say: Words) -> str:
    roles = data["by_role"]
    title = f"## {escape(say['by_role'])}"
    if not roles:
        return f"{title}\n\n{escape(say['none'])}"
    headers = [say["role"], say["kind_violation"], say["kind_escalation"], say["total"]]
    rows = [
        [
            row["name"] + say.paren(row["role"]),
            fmt.number(row["violation"]),
            fmt.number(row["escalation"]),
            fmt.number(row["total"]),
        ]
        for row in roles
    ]
    return f"{title}\n\n{_table(headers, rows, right=3)}"


def _offenders(data: Mapping[str, Any], say: Words) -> str:
    if not data["offenders"]:
        return ""
    out = [f"## {escape(say['offenders'])}"]
    for field, ranked in data["offenders"].items():
        label = say.get(field, field)
        out.append(f"### {escape(label)}")
        if ranked:
            rows = [[item["id"], fmt.number(item["count"])] for item in ranked]
            out.append(_table([label, say["kind_violation"]], rows, right=1))
        else:
            out.append(escape(say["none"]))
    out.append(escape(say["offenders_note"]))
    return "\n\n".join(out)


def _engine(data: Mapping[str, Any], say: Words) -> str:
    """The engine's own findings and its corrections, apart from the pack's clauses."""
    found = [*data["operational"], *data["corrections"]]
    if not found:
        return ""
    return (
        f"## {escape(say['operational'])}\n\n{_findings_table(found, data, say)}\n\n"
        f"{escape(say['operational_note'])}"
    )


def _findings_table(found: Sequence[Mapping[str, Any]], data: Mapping[str, Any], say: Words) -> str:
    if not found:
        return escape(say["none"])
    headers = [
        fmt.with_zone(say["at"], data, say),
        say["clause"],
        say["rule"],
        say["kind"],
        say["severity"],
        say["message"],
        say["subject"],
    ]
    rows = [
        [
            row["at"],
            row["clause_id"],
            row["rule_id"],
            fmt.finding_label(row["kind"], say)
            + (say.paren(say["provisional"]) if row["provisional"] else ""),
            fmt.severity_label(row["severity"], say),
            row["message"],
            row["subject"],
        ]
        for row in found
    ]
    table = _table(headers, rows)
    if any(row["provisional"] for row in found):
        table += "\n\n" + escape(say["provisional_note"])
    return table
