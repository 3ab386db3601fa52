"""The report's charts: matplotlib figures rendered to inline SVG, deterministically.

matplotlib is imported here only, when a chart is drawn, so ``import commitrules`` never
needs it. Text stays text in the SVG (``svg.fonttype: none``): the viewer's fonts draw the
Chinese (the report language's font list), so no CJK font is needed where the report is
made. Layout uses DejaVu Sans (it
ships with matplotlib) on every machine, so the same input gives the same bytes anywhere
the same matplotlib runs; margins for wide (CJK) labels are estimated from the characters.
"""

from __future__ import annotations

import html
import io
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._format import comparison
from ._text import Words

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["COLORS", "render_charts"]

_FONT_SIZE = 10
#: Marks and bars, each at least 3:1 against the white chart (WCAG 2.1, 1.4.11); the band
#: behind a period not judged is a background, its words say what it is.
COLORS = {
    "violation": "#a93226",
    "escalation": "#c75c00",
    "kept": "#1e8449",
    "missed": "#c0392b",
    "excused": "#616e7c",
    "target": "#2c3e50",
    "not_judged_text": "#52606d",
    "not_judged_band": "#e9ecef",
}
_MISSING = (
    "the report's charts need matplotlib, which is not installed: pip install 'commitrules[report]'"
)
#: matplotlib's warning for a character the font lacks ("Glyph 20013 (\N{CJK UNIFIED
#: IDEOGRAPH-4E2D}) missing from font(s) DejaVu Sans."; "… missing from current font." before 3.6).
_MISSING_GLYPH = r"Glyph \d+ .*missing from (current )?font"


def render_charts(data: Mapping[str, Any], say: Words) -> dict[str, str]:
    """Every chart of the report as inline SVG text, by name (``timeline``, ``by_role``,
    ``target:<rule id>``); a chart with nothing to show is left out."""
    try:
        import matplotlib  # noqa: PLC0415 - optional dependency, imported when drawing
    except ImportError as error:
        raise ImportError(_MISSING, name="matplotlib") from error

    charts: dict[str, tuple[str, Any]] = {}
    buckets = data["timeline"]["buckets"]
    if any(row["violation"] or row["escalation"] for row in buckets):
        charts["timeline"] = (say["over_time"], lambda: _timeline(buckets, say))
    if data["by_role"]:
        charts["by_role"] = (say["by_role"], lambda: _by_role(data["by_role"], say))
    for target in data["targets"]:
        rows = target["periods"]
        if not target["grouped"] and any(
            row["rate"] is not None or row["status"] == "not_judged" for row in rows
        ):
            charts["target:" + target["rule_id"]] = (
                f"{target['title']} — {say['rate_chart']}",
                lambda target=target: _target(target, say),
            )
    out: dict[str, str] = {}
    for index, (name, (label, draw)) in enumerate(charts.items(), start=1):
        settings: dict[Any, Any] = {
            "svg.fonttype": "none",
            "svg.hashsalt": f"commitrules-report-{index}",
            "text.parse_math": False,  # a "$" in a pack's title is text, not TeX
            "text.usetex": False,
            "font.family": ["DejaVu Sans"],
            "font.size": _FONT_SIZE,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
        buffer = io.StringIO()
        with matplotlib.rc_context(settings), warnings.catch_warnings():
            # Glyphs missing from DejaVu Sans (Chinese) only matter for layout metrics: the
            # SVG keeps the text and the viewer's fonts draw it. Every other warning shows.
            warnings.filterwarnings("ignore", message=_MISSING_GLYPH, category=UserWarning)
            figure: Figure = draw()
            figure.savefig(buffer, format="svg", metadata={"Date": None})
        out[name] = _inline(buffer.getvalue(), f"c{index}", label, say)
    return out


def _inline(svg: str, prefix: str, label: str, say: Words) -> str:
    """SVG fit to sit inside HTML: no XML prologue, no metadata, no namespace URLs, ids made
    unique to the chart, the language's fonts, an accessible name, and a least width of one
    pixel per unit so that its 10-unit text stays 10 px when a narrow screen scrolls it."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    svg = re.sub(r'\s+xmlns(?::[A-Za-z]+)?="[^"]*"', "", svg)
    svg = svg.replace(' id="', f' id="{prefix}-')
    svg = svg.replace("url(#", f"url(#{prefix}-")
    svg = svg.replace('href="#', f'href="#{prefix}-')
    fonts = say.font().replace('"', "'")
    svg = re.sub(r"font-family: [^;\"]*", f"font-family: {fonts}", svg)
    name = html.escape(label, quote=True)
    box = re.search(r'viewBox="0 0 ([0-9.]+) ', svg)
    least = f' style="min-width: {float(box.group(1)):.0f}px"' if box else ""
    return svg.replace("<svg ", f'<svg role="img" aria-label="{name}"{least} ', 1).strip() + "\n"


def _text_width_pt(text: str) -> float:
    """A generous width of a label: wide (CJK) characters 1.1 em, others 0.62 em."""
    ems = sum(1.1 if unicodedata.east_asian_width(ch) in "WF" else 0.62 for ch in text)
    return ems * _FONT_SIZE


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure  # noqa: PLC0415 - optional dependency

    return Figure(figsize=(width, height), dpi=72)


def _whole_numbers() -> Any:
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415 - optional dependency

    return MaxNLocator(integer=True)


def _timeline(buckets: Sequence[Mapping[str, Any]], say: Words) -> Figure:
    labels = [row["period"] for row in buckets]
    found = [row["violation"] for row in buckets]
    escalated = [row["escalation"] for row in buckets]
    width = max(6.0, min(12.0, 0.4 * len(labels) + 2.0))
    figure = _figure(width, 3.4)
    axes = figure.add_subplot()
    places = list(range(len(labels)))
    axes.bar(places, found, color=COLORS["violation"], label=say["kind_violation"])
    axes.bar(
        places, escalated, bottom=found, color=COLORS["escalation"], label=say["kind_escalation"]
    )
    steep = len(labels) > 6
    axes.set_xticks(places, labels, rotation=60 if steep else 0, ha="right" if steep else "center")
    axes.set_ylabel(say["count"])
    axes.yaxis.set_major_locator(_whole_numbers())
    axes.set_ylim(bottom=0)
    axes.legend(frameon=False, loc="upper left", bbox_to_anchor=(0.0, 1.16), ncols=2)
    figure.subplots_adjust(left=0.09, right=0.98, top=0.86, bottom=0.3 if steep else 0.14)
    return figure


def _by_role(rows: Sequence[Mapping[str, Any]], say: Words) -> Figure:
    names = [row["name"] for row in rows]
    found = [row["violation"] for row in rows]
    escalated = [row["escalation"] for row in rows]
    width = 7.5
    figure = _figure(width, 0.42 * len(rows) + 1.3)
    axes = figure.add_subplot()
    places = list(range(len(rows)))
    axes.barh(places, found, color=COLORS["violation"], label=say["kind_violation"])
    axes.barh(
        places, escalated, left=found, color=COLORS["escalation"], label=say["kind_escalation"]
    )
    axes.set_yticks(places, names)
    axes.invert_yaxis()
    axes.xaxis.set_major_locator(_whole_numbers())
    longest = max(row["total"] for row in rows)
    axes.set_xlim(0, longest * 1.12 + 0.5)
    for place, row in zip(places, rows, strict=True):
        axes.text(row["total"] + longest * 0.01 + 0.05, place, str(row["total"]), va="center")
    left = min(0.6, (max(_text_width_pt(name) for name in names) + 12) / (width * 72))
    axes.legend(frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2)
    height = figure.get_figheight() * 72
    figure.subplots_adjust(left=left, right=0.97, top=1 - 28 / height, bottom=24 / height)
    return figure


def _target(target: Mapping[str, Any], say: Words) -> Figure:
    """The achieved rate of each closed period (numerator over denominator) against the
    target in force, on an axis from 0. A period not judged is a grey band that says why;
    a kept period whose rate is unknown (the engine's outcomes not given) says so in its
    column: neither is drawn at a rate it never had."""
    rows = target["periods"]
    labels = [row["period"] for row in rows]
    places = list(range(len(rows)))
    figure = _figure(max(6.0, min(12.0, 0.6 * len(rows) + 2.5)), 3.4)
    axes = figure.add_subplot()
    goals = [row["target"] * 100 if row["target"] is not None else None for row in rows]
    rates = [row["rate"] * 100 if row["rate"] is not None else None for row in rows]
    top = max([value for value in goals + rates if value is not None] or [1.0])
    axes.set_ylim(0, top * 1.25 if top > 0 else 1.0)
    for place, row in zip(places, rows, strict=True):
        if row["status"] == "not_judged":
            axes.axvspan(
                place - 0.45, place + 0.45, color=COLORS["not_judged_band"], zorder=0, lw=0
            ).set_gid("not-judged")
            why, color = say["chart_" + (row["reason"] or "no_judgement")], "not_judged_text"
        elif row["status"] == "kept" and row["rate"] is None:
            why, color = say["chart_rate_unknown"], "kept"
        else:
            continue
        # Hung from the top of the column, clear of the target line where it can be.
        axes.text(place, top * 1.2, why, rotation=90, ha="center", va="top", color=COLORS[color])
    known_goals = [(p, g) for p, g in zip(places, goals, strict=True) if g is not None]
    if known_goals:
        # The target in force in each period: a level across its column (it may change).
        axes.hlines(
            [g for _, g in known_goals],
            [p - 0.42 for p, _ in known_goals],
            [p + 0.42 for p, _ in known_goals],
            colors=COLORS["target"],
            linestyles="--",
            label=f"{say['target']} ({comparison(target['periods'][0]['target_op'])})",
        )
    styles = (
        ("kept", "^", say["target_kept"]),
        ("missed", "o", say["target_missed"]),
        ("excused", "s", say["target_excused"]),
    )
    for status, marker, label in styles:
        points = [
            (p, rate)
            for p, rate, row in zip(places, rates, rows, strict=True)
            if row["status"] == status and rate is not None
        ]
        if not points:
            continue
        axes.plot(
            [p for p, _ in points],
            [r for _, r in points],
            linestyle="none",
            marker=marker,
            markersize=8,
            color=COLORS[status],
            label=label,
            clip_on=False,  # a rate of 0 sits on the axis, whole
        )
        for place, rate in points:
            axes.annotate(
                f"{rate:.4g}%",
                (place, rate),
                textcoords="offset points",
                xytext=(0, 8),
                ha="center",
                color=COLORS[status],
            )
    steep = len(labels) > 6
    axes.set_xticks(places, labels, rotation=60 if steep else 0, ha="right" if steep else "center")
    axes.set_xlim(-0.5, len(rows) - 0.5)
    axes.set_ylabel(say["svg_label_rate"])
    axes.legend(frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=4)
    figure.subplots_adjust(left=0.1, right=0.98, top=0.84, bottom=0.3 if steep else 0.14)
    return figure
