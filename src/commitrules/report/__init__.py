"""The commitment report: how the commitments were kept (section 7 promises it yearly).

One call builds it from what a check produced; the CLI is a shell over it::

    from commitrules.report import build_report, Report

    report: Report = build_report(pack, events, violations, period="2026", lang="zh-Hans")
    report.to_html()      # one self-contained HTML file (inline CSS and SVG, nothing fetched)
    report.to_markdown()  # the same content as Markdown, charts given as tables of their data
    report.data           # every number the report shows, JSON-ready

Arguments of :func:`build_report`:

* ``pack`` — the :class:`~commitrules.Pack` the events were checked against.
* ``events`` — the events that were checked: raw dicts (as read from JSON Lines) or dicts
  already validated by ``pack.catalog.validate``. Each is validated again like the engine
  does; an invalid one is left out and counted (``data["events"]["invalid"]``), a repeated
  id is counted once.
* ``violations`` — every :class:`~commitrules.Violation` the engine returned for them,
  including those released by ``Engine.advance_to``.
* ``period`` — a calendar period label in the pack's time zone (``2026``, ``2026H2``,
  ``2026Q3``, ``2026-07``, ``2026-W27``); ``None`` reports on everything given. A finding
  belongs to the moment it was found, except that the finding of a closed period (a
  periodic target or obligation, emitted when the next period starts) belongs to that
  period. A deadline, and a case, belongs to the period it was opened in.
* ``lang`` — ``"en"``, ``"zh-Hans"`` (Simplified Chinese), ``"zh-Hant"`` (Traditional) or
  ``"zh"``, the script of the pack's time zone (Traditional for Hong Kong, Macau and Taipei,
  Simplified elsewhere): the report's words and the pack's titles and messages, converted to
  the script asked for with OpenCC when the pack writes the other one (``data["conversion"]``
  says so).
* ``until`` — optional, the moment event time was advanced to (``advance_to``, the CLI's
  ``--until``). Periods that closed by then without a finding are reported as kept
  (without ``outcomes``; with them, as the outcomes show). Without it, the latest
  event or finding is the last moment known to be judged.
* ``outcomes`` — optional, the :class:`~commitrules.engine.Outcome` records of the same run
  (``Engine(pack, outcomes=collected.append)``): with them the report also counts what
  held, not only what broke (events a check judged, deadlines opened and met), and knows
  which cases a limit applied to, and the achieved rate of periods that kept their target.
  Without them those counts are ``None``.
* ``inputs`` — optional, the files the events (and waivers) were read from: the summary
  lists each by name, size and SHA-256 (``-`` is standard input, with no hash).

Everything the report shows is derived from the pack being reported: a section appears
for what the pack has (its clauses; its checks, deadlines, thresholds and periodic
targets; its scope fields), and a pack adds its own sections in ``report.yaml`` (see the
pack format reference: a ``case_handling``, a ``case_statistics`` or a ``findings``
section).

What the report holds (the keys of :attr:`Report.data`):

* ``pack``, ``period``, ``judged_through``, ``events``, ``findings``, ``inputs``,
  ``conversion`` — the header: pack id, version, profile, time zone and SHA-256 digest; the
  period; counts of events and findings by kind (``provisional``; ``withdrawn`` by a
  correction); the input files; the OpenCC conversion of the pack's Chinese, if any.
  ``pack_mismatch`` lists the packs of findings made by a different pack than ``pack``.
* ``clauses`` — every clause in catalogue order with its status (``kept``, ``breached``,
  ``breached_sub`` (in a sub-clause), ``insufficient_sample``, ``not_judged`` (with outcomes:
  none of its rules judged anything in the period; a threshold's silence counts as kept),
  ``not_automatable`` with the reason, ``not_checked`` when no rule covers it) and its own
  findings counted by kind.
* ``checks`` — each ``check`` and ``precedence`` rule: events judged and held (with
  outcomes), its findings by kind.
* ``deadlines`` — each ``deadline`` rule: its limit as in force on the last day (and its
  extensions); deadlines opened in the period, met, missed, escalated, still open, and
  the share met (opened, met and still open need outcomes; missed ones are counted from
  the findings).
* ``thresholds`` — each ``threshold`` rule: its findings by kind and the groups that
  crossed it most.
* ``targets`` — each ``periodic_target`` rule per closed period: ``kept``, ``missed``,
  ``not_judged`` (``reason``: ``no_events`` when nothing was counted at all, ``too_few``
  observations, or ``no_judgement`` recorded when the outcomes show none) or ``excused``,
  with numerator, denominator and the achieved rate where the engine recorded them (the
  finding or, for a kept period, the engine's outcome; a period not judged has no rate),
  the target in force and the fewest observations it needs (``min_sample``). Without
  outcomes a closed period without a finding is taken as kept, its rate unknown. Charted
  on an axis from 0 with the target dashed; periods not judged, and kept ones whose rate is
  unknown, are marked as such, never drawn at a rate.
* ``timeline`` — breaches per week (a span up to 100 days), month or year; charted.
* ``by_role`` — breaches by the responsible role; charted.
* ``offenders`` — for each of the pack's scope fields (``scope_fields``, e.g. branch and
  staff), the ten values with the most violations, two or more (warnings that count
  violations are left out).
* ``sections`` — the pack's own sections (``report.yaml``) in order, each with its ``id``,
  ``kind``, ``title`` and ``note``: a ``case_handling`` section counts cases received,
  closed and open, with the days they took (nearest-rank p50, p90, longest) and, when it
  names deadline rules as ``limits``, how many closed within their limit and how many open
  ones are past it (as those rules decided); a ``findings`` section lists the period's
  findings of its clauses and rules; a ``case_statistics`` section counts the cases opened
  in each of its periods per value of its ``by`` fields, with how long the closed ones took
  (calendar-day buckets) and how many are open, and :meth:`Report.to_csv` writes it as CSV.
* ``operational``, ``corrections`` — the engine's own findings (clause ``engine``) and the
  corrections that withdrew earlier findings, shown apart and counted against no clause.

Charts need matplotlib (``pip install 'commitrules[report]'``); it is imported only when
:meth:`Report.to_html` draws them. The output is deterministic: the same input gives the
same bytes, and no wall-clock time is written.

>>> import commitrules
>>> from commitrules.report import build_report
>>> pack = commitrules.load_pack()
>>> events = [{"id": "m1", "type": "marketing_published", "at": "2026-07-01T09:00:00+08:00",
...            "material_id": "M-1", "channel": "wechat", "approved": False, "text": "New fund"}]
>>> found = commitrules.Engine(pack).process_many(events)
>>> report = build_report(pack, events, found, period="2026Q3")
>>> [(row["id"], row["status"], row["counts"]["violation"])
...  for row in report.data["clauses"] if row["id"] == "C1.marketing"]
[('C1.marketing', 'breached', 1)]
>>> "| C1.marketing |" in report.to_markdown()
True
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .._safe_text import spreadsheet_cell
from ..violations import Violation
from ._charts import render_charts
from ._data import compute, language_of
from ._html import render_html
from ._markdown import render_markdown
from ._text import words

if TYPE_CHECKING:
    from ..engine import Outcome
    from ..pack import Pack

__all__ = ["Report", "build_report"]


@attrs.frozen(eq=False)
class Report:
    """A built report: its numbers (:attr:`data`) and two ways to write it out.

    Create one with :func:`build_report`.
    """

    _data: Mapping[str, Any] = attrs.field(alias="data")

    @property
    def data(self) -> dict[str, Any]:
        """Every number and text the report shows, JSON-ready (a copy: change it freely)."""
        return copy.deepcopy(dict(self._data))

    @property
    def lang(self) -> str:
        """The report's language: ``en``, ``zh-Hans`` or ``zh-Hant`` (``zh`` resolved)."""
        return str(self._data["lang"])

    def to_html(self) -> str:
        """One self-contained HTML page: inline CSS and SVG charts, no script, nothing fetched.

        Raises:
            ImportError: matplotlib (the ``report`` extra) is not installed.
        """
        say = words(self.lang)
        return render_html(self._data, render_charts(self._data, say), say)

    def to_markdown(self) -> str:
        """The same content as Markdown; each chart is given as a table of its data."""
        return render_markdown(self._data, words(self.lang))

    def to_csv(self, section: str) -> str:
        """A ``case_statistics`` section of the pack as CSV: a header line with the
        section's columns (``period``, its ``by`` fields, ``received``, ``closed``, one
        column per bucket, ``open``), then a line per row. Text that a spreadsheet would
        read as a formula is neutralised (a leading ``'``), as the CLI's CSV does.

        Raises:
            KeyError: the pack declares no statistics section with that id.
        """
        for item in self._data["sections"]:
            if item["id"] == section and item["kind"] == "case_statistics":
                return statistics_csv(item["columns"], item["rows"])
        known = [s["id"] for s in self._data["sections"] if s["kind"] == "case_statistics"]
        msg = f"no case_statistics section {section!r} (the pack has: {', '.join(known) or 'none'})"
        raise KeyError(msg)

    def __repr__(self) -> str:
        period = self._data["period"]
        label = period["label"] if period else "all"
        return (
            f"<Report {self._data['pack']['id']} period={label} lang={self.lang} "
            f"findings={self._data['findings']['total']}>"
        )


def statistics_csv(columns: list[str], rows: list[Mapping[str, Any]]) -> str:
    """CSV text (RFC 4180, ``\r\n`` line ends) of a statistics section's rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [spreadsheet_cell(row[c]) if isinstance(row[c], str) else row[c] for c in columns]
        )
    return out.getvalue()


def build_report(
    pack: Pack,
    events: Iterable[Mapping[str, Any]],
    violations: Iterable[Violation],
    *,
    period: str | None = None,
    lang: str = "en",
    until: dt.datetime | None = None,
    outcomes: Iterable[Outcome] | None = None,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Report:
    """Build the commitment report of ``events`` and the ``violations`` found in them.

    See the module documentation for the arguments and what the report holds.

    Raises:
        ValueError: ``lang`` is not one of ``en``, ``zh-Hans``, ``zh-Hant``, ``zh``;
            ``period`` is not a period label; ``until`` has no offset.
        ImportError: a Chinese report and OpenCC (the ``report`` extra) is not installed.
        OSError: an input file cannot be read.
    """
    language_of(pack, lang)  # an unknown language fails before any work
    return Report(
        data=compute(
            pack,
            events,
            violations,
            period=period,
            lang=lang,
            until=until,
            outcomes=outcomes,
            inputs=inputs,
        )
    )
