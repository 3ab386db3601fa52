"""The report as one self-contained HTML page: inline CSS, inline SVG, nothing to fetch.

Every text that comes from events, findings or the pack goes through :func:`html.escape`
(event fields are untrusted: markup is shown, never interpreted), with control and
reordering characters written as escapes first (the page may be read in a terminal too);
the page has no script.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from .._safe_text import visible
from . import _format as fmt
from ._data import KINDS
from ._text import Words

__all__ = ["render_html"]

Cell = str | tuple[str, str]  # text, or (text, css class)

_CSS = """
:root { color-scheme: light; }
body {
  margin: 0; background: #f5f6f8; color: #1f2933; line-height: 1.5;
  font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans",
    "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.7em; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.3em; margin: 0 0 0.6em; border-bottom: 2px solid #d8dde3; padding-bottom: 4px; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
.subtitle { color: #52606d; margin: 0 0 1.2em; }
section { background: #fff; border-radius: 8px; padding: 18px 22px; margin: 0 0 18px;
  box-shadow: 0 1px 2px rgba(0, 0, 0, 0.06); }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; margin: 0.4em 0 0.8em; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 5px 8px; text-align: left;
  vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv { width: auto; min-width: 50%; }
table.kv th { width: 18em; background: none; font-weight: normal; color: #52606d; }
code, .mono { font-family: "SFMono-Regular", Consolas, "Liberation Mono", monospace;
  font-size: 0.92em; word-break: break-all; }
.kept, .met { color: #1e8449; }
.not_judged { color: #9a6700; }
.breached, .breached_sub, .missed { color: #c0392b; font-weight: 600; }
.insufficient_sample, .excused { color: #9a6700; }
.not_automatable, .not_checked, .unknown_clause { color: #7b8794; }
.note { color: #52606d; font-size: 0.9em; }
.warn { background: #fff4e5; border-left: 4px solid #e67e22; padding: 8px 12px; }
figure { margin: 0.6em 0 1em; }
figure svg { max-width: 100%; height: auto; }
svg text { font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "DejaVu Sans",
  sans-serif !important; }
details summary { cursor: pointer; color: #52606d; font-size: 0.9em; }
.columns { display: flex; flex-wrap: wrap; gap: 24px; }
.columns > div { flex: 1 1 320px; }
footer { color: #7b8794; font-size: 0.85em; text-align: center; margin-top: 24px; }
@media print { body { background: #fff; } section { box-shadow: none; padding: 0; } }
""".strip()


def _e(text: object) -> str:
    return html.escape(visible(text), quote=True)


def _table(headers: Sequence[Cell], rows: Sequence[Sequence[Cell]], css: str = "") -> str:
    def cell(tag: str, value: Cell) -> str:
        text, klass = value if isinstance(value, tuple) else (value, "")
        attr = f' class="{_e(klass)}"' if klass else ""
        return f"<{tag}{attr}>{_e(text)}</{tag}>"

    head = "".join(cell("th", h) for h in headers)
    body = "\n".join("<tr>" + "".join(cell("td", c) for c in row) + "</tr>" for row in rows)
    klass = f' class="{css}"' if css else ""
    return f"<table{klass}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _kv(rows: Sequence[tuple[str, Cell]]) -> str:
    lines = []
    for key, value in rows:
        text, klass = value if isinstance(value, tuple) else (value, "")
        attr = f' class="{_e(klass)}"' if klass else ""
        lines.append(f"<tr><th>{_e(key)}</th><td{attr}>{_e(text)}</td></tr>")
    return '<table class="kv">\n<tbody>\n' + "\n".join(lines) + "\n</tbody>\n</table>"


def _n(value: int | None) -> Cell:
    return (fmt.number(value), "n")


def _figure(svg: str | None) -> str:
    return f"<figure>\n{svg}</figure>" if svg else ""


def render_html(data: Mapping[str, Any], charts: Mapping[str, str], say: Words) -> str:
    """The page for the report ``data`` with its ``charts`` (inline SVG by name)."""
    lang = "zh-Hant" if data["lang"] == "zh" else "en"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(data['title'])} — {_e(data['pack']['id'])}"
        f"{' ' + _e(data['period']['label']) if data['period'] else ''}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{_e(data['title'])}</h1>",
        f'<p class="subtitle">{_e(data["pack"]["name"])}</p>',
        _summary(data, say),
        _clauses(data, say),
        _checks(data, say),
        _deadlines(data, say),
        _thresholds(data, say),
        _targets(data, charts, say),
        _over_time(data, charts, say),
        _by_role(data, charts, say),
        _offenders(data, say),
        *(_section(section, say) for section in data["sections"]),
        f"<footer>{_e(say['footer'])}</footer>",
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def _summary(data: Mapping[str, Any], say: Words) -> str:
    pack = data["pack"]
    events = data["events"]
    findings = data["findings"]
    rows: list[tuple[str, Cell]] = [
        (say["pack"], (pack["id"], "mono")),
        (say["version"], pack["version"]),
        (say["profile"], pack["profile"]),
        (say["digest"], (pack["digest"], "mono")),
        (say["period"], fmt.period_text(data, say)),
        (say["judged_through"], data["judged_through"] or "—"),
        (say["events"], (str(events["in_period"]), "n")),
        (say["events_given"], (str(events["given"]), "n")),
        (say["events_duplicate"], (str(events["duplicates"]), "n")),
        (say["events_invalid"], (str(events["invalid"]), "n")),
        (say["findings_total"], (str(findings["total"]), "n")),
    ]
    rows += [(fmt.kind_label(kind, say), _n(findings["by_kind"][kind])) for kind in KINDS]
    out = [f'<section id="summary">\n<h2>{_e(say["header"])}</h2>', _kv(rows)]
    if data["pack_mismatch"]:
        others = "; ".join(
            f"{m['id']} {m['version']} {m['profile']} {m['digest'][:12]}"
            for m in data["pack_mismatch"]
        )
        out.append(f'<p class="warn">{_e(say["pack_mismatch"])}: {_e(others)}</p>')
    out.append("</section>")
    return "\n".join(out)


def _clauses(data: Mapping[str, Any], say: Words) -> str:
    headers: list[Cell] = [
        say["clause"],
        say["title"],
        say["status"],
        (say["rules"], "n"),
        *[(fmt.kind_label(kind, say), "n") for kind in KINDS],
        say["reason"],
    ]
    rows = [
        [
            (row["id"], "mono"),
            row["title"],
            (fmt.clause_status(row["status"], say), row["status"]),
            _n(row["rules_with_subclauses"]),
            *[_n(row["counts"][kind]) for kind in KINDS],
            row["reason"] or "",
        ]
        for row in data["clauses"]
    ]
    return (
        f'<section id="clauses">\n<h2>{_e(say["clauses"])}</h2>\n'
        f"{_table(headers, rows)}\n</section>"
    )


def _checks(data: Mapping[str, Any], say: Words) -> str:
    rows_data = data["checks"]
    if not rows_data:
        return ""
    headers: list[Cell] = [
        say["rule"],
        say["clause"],
        say["title"],
        (say["judged"], "n"),
        (say["held"], "n"),
        (say["kind_violation"], "n"),
        (say["kind_excused"], "n"),
    ]
    rows = [
        [
            (row["rule_id"], "mono"),
            (row["clause_id"], "mono"),
            row["title"],
            _n(row["judged"]),
            _n(row["held"]),
            _n(row["counts"]["violation"]),
            _n(row["counts"]["excused"]),
        ]
        for row in rows_data
    ]
    return (
        f'<section id="checks">\n<h2>{_e(say["checks"])}</h2>\n{_table(headers, rows)}\n'
        f'<p class="note">{_e(say["checks_note"])}</p>\n</section>'
    )


def _deadlines(data: Mapping[str, Any], say: Words) -> str:
    rows_data = data["deadlines"]
    if not rows_data:
        return ""
    headers: list[Cell] = [
        say["rule"],
        say["clause"],
        say["title"],
        say["limit"],
        (say["opened"], "n"),
        (say["met"], "n"),
        (say["missed"], "n"),
        (say["escalated"], "n"),
        (say["still_open"], "n"),
        (say["share_met"], "n"),
    ]
    rows = [
        [
            (row["rule_id"], "mono"),
            (row["clause_id"], "mono"),
            row["title"],
            fmt.limit_text(row["limit"], say),
            _n(row["opened"]),
            _n(row["met"]),
            _n(row["missed"]),
            _n(row["escalated"]),
            _n(row["open"]),
            (fmt.percent(row["share_met"]), "n"),
        ]
        for row in rows_data
    ]
    return (
        f'<section id="deadlines">\n<h2>{_e(say["deadlines"])}</h2>\n{_table(headers, rows)}\n'
        f'<p class="note">{_e(say["deadlines_note"])}</p>\n</section>'
    )


def _thresholds(data: Mapping[str, Any], say: Words) -> str:
    rows_data = data["thresholds"]
    if not rows_data:
        return ""
    headers: list[Cell] = [
        say["rule"],
        say["clause"],
        say["title"],
        (say["kind_violation"], "n"),
        (say["kind_excused"], "n"),
        say["groups"],
    ]
    rows = [
        [
            (row["rule_id"], "mono"),
            (row["clause_id"], "mono"),
            row["title"],
            _n(row["counts"]["violation"]),
            _n(row["counts"]["excused"]),
            "; ".join(f"{g['group']} ({g['count']})" for g in row["groups"]),
        ]
        for row in rows_data
    ]
    return (
        f'<section id="thresholds">\n<h2>{_e(say["thresholds"])}</h2>\n'
        f"{_table(headers, rows)}\n</section>"
    )


def _section(section: Mapping[str, Any], say: Words) -> str:
    """A section the pack declares (report.yaml)."""
    anchor = "section-" + section["id"]
    out = [f'<section id="{_e(anchor)}">\n<h2>{_e(section["title"])}</h2>']
    if section["kind"] == "case_handling":
        rows: list[tuple[str, Cell]] = [
            (label, (text, "n") if numeric else text)
            for label, text, numeric in fmt.case_measures(section, say)
        ]
        out.append(_kv(rows))
        out.append(f'<p class="note">{_e(say["percentile_note"])}</p>')
    elif section["kind"] == "case_statistics":
        columns = section["columns"]
        if section["rows"]:
            text_columns = {"period", *section["by"]}
            headers: list[Cell] = [
                (say["bucket"] if c == "period" else fmt.stats_header(c, say))
                if c in text_columns
                else (fmt.stats_header(c, say), "n")
                for c in columns
            ]
            table_rows = [
                [str(row[c]) if c in text_columns else _n(row[c]) for c in columns]
                for row in section["rows"]
            ]
            out.append(_table(headers, table_rows))
        else:
            out.append(f"<p>{_e(say['no_cases'])}</p>")
        out.append(f'<p class="note">{_e(say["stats_note"])}</p>')
    else:
        out.append(_findings_table(section["findings"], say))
    if section["note"]:
        out.append(f'<p class="note">{_e(section["note"])}</p>')
    out.append("</section>")
    return "\n".join(out)


def _targets(data: Mapping[str, Any], charts: Mapping[str, str], say: Words) -> str:
    out = [f'<section id="targets">\n<h2>{_e(say["targets"])}</h2>']
    headers: list[Cell] = [
        say["bucket"],
        say["status"],
        (say["numerator"], "n"),
        (say["sample"], "n"),
        (say["target_rate"], "n"),
        (say["target"], "n"),
        (say["min_sample"], "n"),
    ]
    for target in data["targets"]:
        unit = fmt.unit_label(target["period_unit"], say)
        out.append(
            f"<h3>{_e(target['title'])} <code>{_e(target['rule_id'])}</code> "
            f'<span class="note">({_e(say["period_unit"])}: {_e(unit)})</span></h3>'
        )
        if not target["periods"]:
            out.append(f'<p class="note">{_e(say["no_periods"])}</p>')
            continue
        rows = [
            [
                (row["period"], "mono"),
                (fmt.target_status(row["status"], say, row["reason"]), row["status"]),
                _n(row["numerator"]),
                _n(row["denominator"]),
                (fmt.rate(row["rate"]), "n"),
                (fmt.target_text(row), "n"),
                _n(row["min_sample"]),
            ]
            for row in target["periods"]
        ]
        out.append(_table(headers, rows))
        out.append(_figure(charts.get("target:" + target["rule_id"])))
    out.append(f'<p class="note">{_e(say["targets_note"])}</p>\n</section>')
    return "\n".join(part for part in out if part)


def _over_time(data: Mapping[str, Any], charts: Mapping[str, str], say: Words) -> str:
    buckets = data["timeline"]["buckets"]
    out = [f'<section id="over-time">\n<h2>{_e(say["over_time"])}</h2>']
    if not buckets:
        out.append(f"<p>{_e(say['none'])}</p>")
    else:
        out.append(_figure(charts.get("timeline")))
        headers: list[Cell] = [
            say["bucket"],
            (say["kind_violation"], "n"),
            (say["kind_escalation"], "n"),
        ]
        rows = [[row["period"], _n(row["violation"]), _n(row["escalation"])] for row in buckets]
        out.append(
            f"<details>\n<summary>{_e(say['chart_data'])}</summary>\n"
            f"{_table(headers, rows)}\n</details>"
        )
    out.append("</section>")
    return "\n".join(out)


def _by_role(data: Mapping[str, Any], charts: Mapping[str, str], say: Words) -> str:
    roles = data["by_role"]
    out = [f'<section id="by-role">\n<h2>{_e(say["by_role"])}</h2>']
    if not roles:
        out.append(f"<p>{_e(say['none'])}</p>")
    else:
        out.append(_figure(charts.get("by_role")))
        headers: list[Cell] = [
            say["role"],
            (say["kind_violation"], "n"),
            (say["kind_escalation"], "n"),
            (say["total"], "n"),
        ]
        rows = [
            [
                f"{row['name']} ({row['role']})",
                _n(row["violation"]),
                _n(row["escalation"]),
                _n(row["total"]),
            ]
            for row in roles
        ]
        out.append(_table(headers, rows))
    out.append("</section>")
    return "\n".join(out)


def _offenders(data: Mapping[str, Any], say: Words) -> str:
    if not data["offenders"]:
        return ""
    out = [f'<section id="offenders">\n<h2>{_e(say["offenders"])}</h2>\n<div class="columns">']
    for field, ranked in data["offenders"].items():
        label = say.get(field, field)
        out.append(f"<div>\n<h3>{_e(label)}</h3>")
        if ranked:
            headers: list[Cell] = [label, (say["kind_violation"], "n")]
            rows = [[(item["id"], "mono"), _n(item["count"])] for item in ranked]
            out.append(_table(headers, rows))
        else:
            out.append(f"<p>{_e(say['none'])}</p>")
        out.append("</div>")
    out.append(f'</div>\n<p class="note">{_e(say["offenders_note"])}</p>\n</section>')
    return "\n".join(out)


def _findings_table(found: Sequence[Mapping[str, Any]], say: Words) -> str:
    if not found:
        return f"<p>{_e(say['none'])}</p>"
    headers: list[Cell] = [
        say["at"],
        say["clause"],
        say["rule"],
        say["kind"],
        say["severity"],
        say["message"],
        say["subject"],
    ]
    rows = [
        [
            (row["at"], "n"),
            (row["clause_id"], "mono"),
            (row["rule_id"], "mono"),
            (fmt.kind_label(row["kind"], say), row["kind"]),
            row["severity"],
            row["message"],
            (row["subject"], "mono"),
        ]
        for row in found
    ]
    return _table(headers, rows)
