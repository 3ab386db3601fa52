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
  font-family: var(--fonts);
}
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.7em; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.3em; margin: 0 0 0.6em; border-bottom: 2px solid #d8dde3; padding-bottom: 4px; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
.subtitle { color: #52606d; margin: 0 0 1.2em; }
section { background: #fff; border-radius: 8px; padding: 18px 22px; margin: 0 0 18px;
  box-shadow: 0 1px 2px rgba(0, 0, 0, 0.06); }
.scroll { overflow-x: auto; max-width: 100%; }
.scroll:focus-visible { outline: 2px solid #2c3e50; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; margin: 0.4em 0 0.8em; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 5px 8px; text-align: left;
  vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv { width: auto; min-width: 50%; }
table.kv th { width: 18em; background: none; font-weight: normal; color: #52606d; }
code, .id, .hash { font-family: "SFMono-Regular", Consolas, "Liberation Mono", monospace;
  font-size: 0.92em; }
/* An identifier is read as one word: it never breaks inside; its table scrolls instead. */
.id { white-space: nowrap; }
/* A digest is no word: it may break anywhere. */
.hash { word-break: break-all; }
th.title, td.title { min-width: 9em; }
th.status, td.status { min-width: 6.5em; }
td.message { min-width: 14em; }
.kept, .met { color: #1e8449; }
.breached, .breached_sub, .missed { color: #c0392b; font-weight: 600; }
.insufficient_sample, .not_judged, .excused { color: #8a5d00; }
.not_automatable, .not_checked, .unknown_clause { color: #616e7c; }
.note { color: #52606d; font-size: 0.9em; }
.warn { background: #fff4e5; border-left: 4px solid #c75c00; padding: 8px 12px; }
figure { margin: 0.6em 0 1em; }
figure svg { max-width: 100%; height: auto; }
svg text { font-family: var(--fonts) !important; }
details summary { cursor: pointer; color: #52606d; font-size: 0.9em; }
.columns { display: flex; flex-wrap: wrap; gap: 24px; }
.columns > div { flex: 1 1 280px; min-width: 0; }
footer { color: #52606d; font-size: 0.85em; text-align: center; margin-top: 24px; }
@media (max-width: 600px) {
  main { padding: 12px 10px 32px; }
  section { padding: 12px 12px; }
  table.kv th { width: auto; }
}
@page {
  size: A4;
  margin: 16mm 14mm 18mm;
  @bottom-center { content: PAGE_NUMBER; font-size: 9pt; color: #52606d; }
}
@media print {
  body { background: #fff; }
  main { max-width: none; padding: 0; }
  section { box-shadow: none; padding: 0; border-radius: 0; }
  .scroll { overflow: visible; }
  h1, h2, h3 { break-after: avoid-page; }
  figure, tr, table.kv { break-inside: avoid-page; }
  thead { display: table-header-group; }
  details > summary { display: none; }
  details::details-content { content-visibility: visible; display: contents; }
}
""".strip()


def _e(text: object) -> str:
    return html.escape(visible(text), quote=True)


def _css(say: Words) -> str:
    """The style sheet with the language's fonts and its page numbers (``@page``)."""
    before, rest = say["page_number"].split("{page}")
    middle, after = rest.split("{pages}")
    pieces = [f'"{before}"', "counter(page)", f'"{middle}"', "counter(pages)"]
    if after:
        pieces.append(f'"{after}"')
    return f":root {{ --fonts: {say.font()}; }}\n" + _CSS.replace("PAGE_NUMBER", " ".join(pieces))


def _scroll(content: str, label: str) -> str:
    """Content that may be wider than a phone, scrolled inside its own box (which keyboard
    users can focus and scroll) instead of widening the page."""
    return (
        f'<div class="scroll" role="region" tabindex="0" aria-label="{_e(label)}">\n'
        f"{content}\n</div>"
    )


def _cell(tag: str, value: Cell) -> str:
    text, klass = value if isinstance(value, tuple) else (value, "")
    attr = f' class="{_e(klass)}"' if klass else ""
    return f"<{tag}{attr}>{_e(text)}</{tag}>"


def _table(
    headers: Sequence[Cell],
    rows: Sequence[Sequence[Cell]],
    label: str,
    *,
    css: str = "",
    table_id: str = "",
) -> str:
    head = "".join(_cell("th", h) for h in headers)
    body = "\n".join("<tr>" + "".join(_cell("td", c) for c in row) + "</tr>" for row in rows)
    klass = f' class="{css}"' if css else ""
    ident = f' id="{_e(table_id)}"' if table_id else ""
    table = (
        f"<table{klass}{ident}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n"
        "</table>"
    )
    return _scroll(table, label)


def _kv(rows: Sequence[tuple[str, Cell]], label: str) -> str:
    lines = [f"<tr><th>{_e(key)}</th>{_cell('td', value)}</tr>" for key, value in rows]
    table = '<table class="kv">\n<tbody>\n' + "\n".join(lines) + "\n</tbody>\n</table>"
    return _scroll(table, label)


def _n(value: int | None) -> Cell:
    return (fmt.number(value), "n")


def _figure(svg: str | None, data_table: str) -> str:
    """A chart, scrolled in its own box, naming the table that holds its numbers."""
    if not svg:
        return ""
    svg = svg.replace('<svg role="img"', f'<svg role="img" aria-details="{_e(data_table)}"', 1)
    return f'<figure>\n<div class="scroll">\n{svg}</div>\n</figure>'


def render_html(data: Mapping[str, Any], charts: Mapping[str, str], say: Words) -> str:
    """The page for the report ``data`` with its ``charts`` (inline SVG by name)."""
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{_e(data["lang"])}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(data['title'])} — {_e(data['pack']['id'])}"
        f"{' ' + _e(data['period']['label']) if data['period'] else ''}</title>",
        f"<style>\n{_css(say)}\n</style>",
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
        *(_section(section, data, say) for section in data["sections"]),
        _engine(data, say),
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
    judged = data["judged_through"]
    rows: list[tuple[str, Cell]] = [
        (say["pack"], (pack["id"], "id")),
        (say["version"], (pack["version"], "id")),
        (say["profile"], (pack["profile"], "id")),
        (say["digest"], (pack["digest"], "hash")),
        (say["period"], fmt.period_text(data, say)),
        (say["time_zone"], (pack["timezone"], "id")),
        (
            fmt.with_zone(say["judged_through"], data, say),
            (judged, "n") if judged else "—",
        ),
        (say["events"], (str(events["in_period"]), "n")),
        (say["events_given"], (str(events["given"]), "n")),
        (say["events_duplicate"], (str(events["duplicates"]), "n")),
        (say["events_invalid"], (str(events["invalid"]), "n")),
        (say["findings_total"], (str(findings["total"]), "n")),
    ]
    rows += [(fmt.kind_label(kind, say), _n(findings["by_kind"][kind])) for kind in KINDS]
    rows.append((say["findings_provisional"], _n(findings["provisional"])))
    out = [
        f'<section id="summary">\n<h2>{_e(say["header"])}</h2>',
        _kv(rows, say["header"]),
        f"<h3>{_e(say['inputs'])}</h3>",
    ]
    if data["inputs"]:
        headers: list[Cell] = [say["input_file"], (say["input_bytes"], "n"), say["input_sha256"]]
        files = [
            [
                (item["name"] if item["name"] != "-" else say["standard_input"], "id"),
                _n(item["bytes"]),
                (item["sha256"] or "—", "hash"),
            ]
            for item in data["inputs"]
        ]
        out.append(_table(headers, files, say["inputs"]))
    else:
        out.append(f'<p class="note">{_e(say["no_inputs"])}</p>')
    if data["conversion"]:
        conversion = data["conversion"]
        out.append(
            f'<p class="note">{_e(say["converted"])}'
            f"{_e(say.paren(conversion['library'] + ' ' + conversion['config']))}</p>"
        )
    if data["pack_mismatch"]:
        others = say.separate(
            [
                f"{m['id']} {m['version']} {m['profile']} {m['digest'][:12]}"
                for m in data["pack_mismatch"]
            ]
        )
        out.append(f'<p class="warn">{_e(say.colon(say["pack_mismatch"], others))}</p>')
    out.append("</section>")
    return "\n".join(out)


def _clauses(data: Mapping[str, Any], say: Words) -> str:
    headers: list[Cell] = [
        say["clause"],
        (say["title"], "title"),
        (say["status"], "status"),
        (say["rules"], "n"),
        *[(fmt.kind_label(kind, say), "n") for kind in KINDS],
        say["reason"],
    ]
    rows = [
        [
            (row["id"], "id"),
            (row["title"], "title"),
            (fmt.clause_status(row["status"], say), "status " + row["status"]),
            _n(row["rules_with_subclauses"]),
            *[_n(row["counts"][kind]) for kind in KINDS],
            row["reason"] or "",
        ]
        for row in data["clauses"]
    ]
    return (
        f'<section id="clauses">\n<h2>{_e(say["clauses"])}</h2>\n'
        f"{_table(headers, rows, say['clauses'])}\n</section>"
    )


def _checks(data: Mapping[str, Any], say: Words) -> str:
    rows_data = data["checks"]
    if not rows_data:
        return ""
    headers: list[Cell] = [
        say["rule"],
        say["clause"],
        (say["title"], "title"),
        (say["judged"], "n"),
        (say["held"], "n"),
        (say["kind_violation"], "n"),
        (say["kind_excused"], "n"),
    ]
    rows = [
        [
            (row["rule_id"], "id"),
            (row["clause_id"], "id"),
            (row["title"], "title"),
            _n(row["judged"]),
            _n(row["held"]),
            _n(row["counts"]["violation"]),
            _n(row["counts"]["excused"]),
        ]
        for row in rows_data
    ]
    return (
        f'<section id="checks">\n<h2>{_e(say["checks"])}</h2>\n'
        f"{_table(headers, rows, say['checks'])}\n"
        f'<p class="note">{_e(say["checks_note"])}</p>\n</section>'
    )


def _deadlines(data: Mapping[str, Any], say: Words) -> str:
    rows_data = data["deadlines"]
    if not rows_data:
        return ""
    headers: list[Cell] = [
        say["rule"],
        say["clause"],
        (say["title"], "title"),
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
            (row["rule_id"], "id"),
            (row["clause_id"], "id"),
            (row["title"], "title"),
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
        f'<section id="deadlines">\n<h2>{_e(say["deadlines"])}</h2>\n'
        f"{_table(headers, rows, say['deadlines'])}\n"
        f'<p class="note">{_e(say["deadlines_note"])}</p>\n</section>'
    )


def _thresholds(data: Mapping[str, Any], say: Words) -> str:
    rows_data = data["thresholds"]
    if not rows_data:
        return ""
    headers: list[Cell] = [
        say["rule"],
        say["clause"],
        (say["title"], "title"),
        (say["kind_violation"], "n"),
        (say["kind_excused"], "n"),
        say["groups"],
    ]
    rows = [
        [
            (row["rule_id"], "id"),
            (row["clause_id"], "id"),
            (row["title"], "title"),
            _n(row["counts"]["violation"]),
            _n(row["counts"]["excused"]),
            say.separate([g["group"] + say.paren(str(g["count"])) for g in row["groups"]]),
        ]
        for row in rows_data
    ]
    return (
        f'<section id="thresholds">\n<h2>{_e(say["thresholds"])}</h2>\n'
        f"{_table(headers, rows, say['thresholds'])}\n</section>"
    )


def _section(section: Mapping[str, Any], data: Mapping[str, Any], say: Words) -> str:
    """A section the pack declares (report.yaml)."""
    anchor = "section-" + section["id"]
    out = [f'<section id="{_e(anchor)}">\n<h2>{_e(section["title"])}</h2>']
    if section["kind"] == "case_handling":
        rows: list[tuple[str, Cell]] = [
            (label, (text, "n") if numeric else text)
            for label, text, numeric in fmt.case_measures(section, say)
        ]
        out.append(_kv(rows, section["title"]))
        out.append(f'<p class="note">{_e(say["percentile_note"])}</p>')
    elif section["kind"] == "case_statistics":
        columns = section["columns"]
        if section["rows"]:
            text_columns = {"period", *section["by"]}
            headers: list[Cell] = [
                fmt.with_zone(say["bucket"], data, say)
                if c == "period"
                else fmt.stats_header(c, say)
                if c in text_columns
                else (fmt.stats_header(c, say), "n")
                for c in columns
            ]
            table_rows = [
                [
                    (row[c], "id")
                    if c == "period"
                    else str(row[c])
                    if c in text_columns
                    else _n(row[c])
                    for c in columns
                ]
                for row in section["rows"]
            ]
            out.append(_table(headers, table_rows, section["title"]))
        else:
            out.append(f"<p>{_e(say['no_cases'])}</p>")
        out.append(f'<p class="note">{_e(say["stats_note"])}</p>')
    else:
        out.append(_findings_table(section["findings"], data, say, section["title"]))
    if section["note"]:
        out.append(f'<p class="note">{_e(section["note"])}</p>')
    out.append("</section>")
    return "\n".join(out)


def _targets(data: Mapping[str, Any], charts: Mapping[str, str], say: Words) -> str:
    out = [f'<section id="targets">\n<h2>{_e(say["targets"])}</h2>']
    headers: list[Cell] = [
        fmt.with_zone(say["bucket"], data, say),
        (say["status"], "status"),
        (say["numerator"], "n"),
        (say["sample"], "n"),
        (say["target_rate"], "n"),
        (say["target"], "n"),
        (say["min_sample"], "n"),
    ]
    for index, target in enumerate(data["targets"], start=1):
        unit = fmt.unit_label(target["period_unit"], say)
        out.append(
            f'<h3>{_e(target["title"])} <code class="id">{_e(target["rule_id"])}</code> '
            f'<span class="note">'
            f"{_e(say.paren(say.colon(say['period_unit'], unit)).strip())}</span></h3>"
        )
        if not target["periods"]:
            out.append(f'<p class="note">{_e(say["no_periods"])}</p>')
            continue
        rows = [
            [
                (row["period"], "id"),
                (
                    fmt.target_status(row["status"], say, row["reason"]),
                    " ".join(
                        ["status", row["status"], *([row["reason"]] if row["reason"] else [])]
                    ),
                ),
                _n(row["numerator"]),
                _n(row["denominator"]),
                (fmt.rate(row["rate"]), "n"),
                (fmt.target_text(row), "n"),
                _n(row["min_sample"]),
            ]
            for row in target["periods"]
        ]
        table_id = f"target-data-{index}"
        out.append(_table(headers, rows, target["title"], table_id=table_id))
        out.append(_figure(charts.get("target:" + target["rule_id"]), table_id))
    out.append(f'<p class="note">{_e(say["targets_note"])}</p>\n</section>')
    return "\n".join(part for part in out if part)


def _over_time(data: Mapping[str, Any], charts: Mapping[str, str], say: Words) -> str:
    buckets = data["timeline"]["buckets"]
    out = [f'<section id="over-time">\n<h2>{_e(say["over_time"])}</h2>']
    if not buckets:
        out.append(f"<p>{_e(say['none'])}</p>")
    else:
        out.append(_figure(charts.get("timeline"), "timeline-data"))
        headers: list[Cell] = [
            fmt.with_zone(say["bucket"], data, say),
            (say["kind_violation"], "n"),
            (say["kind_escalation"], "n"),
        ]
        rows = [
            [(row["period"], "id"), _n(row["violation"]), _n(row["escalation"])] for row in buckets
        ]
        out.append(
            f"<details>\n<summary>{_e(say['chart_data'])}</summary>\n"
            f"{_table(headers, rows, say['chart_data'], table_id='timeline-data')}\n</details>"
        )
    out.append("</section>")
    return "\n".join(out)


def _by_role(data: Mapping[str, Any], charts: Mapping[str, str], say: Words) -> str:
    roles = data["by_role"]
    out = [f'<section id="by-role">\n<h2>{_e(say["by_role"])}</h2>']
    if not roles:
        out.append(f"<p>{_e(say['none'])}</p>")
    else:
        out.append(_figure(charts.get("by_role"), "by-role-data"))
        headers: list[Cell] = [
            say["role"],
            (say["kind_violation"], "n"),
            (say["kind_escalation"], "n"),
            (say["total"], "n"),
        ]
        rows = [
            [
                row["name"] + say.paren(row["role"]),
                _n(row["violation"]),
                _n(row["escalation"]),
                _n(row["total"]),
            ]
            for row in roles
        ]
        out.append(_table(headers, rows, say["by_role"], table_id="by-role-data"))
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
            rows = [[(item["id"], "id"), _n(item["count"])] for item in ranked]
            out.append(_table(headers, rows, label))
        else:
            out.append(f"<p>{_e(say['none'])}</p>")
        out.append("</div>")
    out.append(f'</div>\n<p class="note">{_e(say["offenders_note"])}</p>\n</section>')
    return "\n".join(out)


def _engine(data: Mapping[str, Any], say: Words) -> str:
    """The engine's own findings and its corrections, apart from the pack's clauses."""
    found = [*data["operational"], *data["corrections"]]
    if not found:
        return ""
    return (
        f'<section id="engine">\n<h2>{_e(say["operational"])}</h2>\n'
        f"{_findings_table(found, data, say, say['operational'])}\n"
        f'<p class="note">{_e(say["operational_note"])}</p>\n</section>'
    )


def _findings_table(
    found: Sequence[Mapping[str, Any]], data: Mapping[str, Any], say: Words, label: str
) -> str:
    if not found:
        return f"<p>{_e(say['none'])}</p>"
    headers: list[Cell] = [
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
            (row["at"], "n"),
            (row["clause_id"], "id"),
            (row["rule_id"], "id"),
            (fmt.finding_label(row["kind"], say), row["kind"]),
            fmt.severity_label(row["severity"], say),
            (row["message"], "message"),
            row["subject"],
        ]
        for row in found
    ]
    for row, cells in zip(found, rows, strict=True):
        if row["provisional"]:
            text = fmt.finding_label(row["kind"], say) + say.paren(say["provisional"])
            cells[3] = (text, row["kind"] + " provisional")
    table = _table(headers, rows, label)
    if any(row["provisional"] for row in found):
        table += f'\n<p class="note">{_e(say["provisional_note"])}</p>'
    return table
