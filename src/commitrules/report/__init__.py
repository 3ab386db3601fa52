"""The commitment report: how the commitments were kept (section 7 promises it yearly).

One call builds it from what a check produced; the CLI is a shell over it::

    from commitrules.report import build_report, Report

    report: Report = build_report(pack, events, violations, period="2026", lang="zh")
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
  period. Complaints belong to the period they were received in.
* ``lang`` — ``"zh"`` or ``"en"``: the report's words and the pack's clause and role titles.
* ``until`` — optional, the moment event time was advanced to (``advance_to``, the CLI's
  ``--until``). Periods that closed by then without a finding are reported as met. Without
  it, the latest event or finding is the last moment known to be judged.

What the report holds (the keys of :attr:`Report.data`):

* ``pack``, ``period``, ``judged_through``, ``events``, ``findings`` — the header: pack id,
  version, profile and content hash; the period; counts of events and findings by kind.
  ``pack_mismatch`` lists the packs of findings made by a different pack than ``pack``.
* ``clauses`` — every clause in catalogue order with its status (``kept``, ``breached``,
  ``breached_sub`` (in a sub-clause), ``insufficient_sample``, ``not_automatable`` with the
  reason, ``not_checked`` when no rule covers it) and its own findings counted by kind.
* ``complaints`` — complaints received in the period: decided and open counts, the share
  decided within the limit (parameters ``complaint_decision_days``,
  ``complaint_decision_days_complex`` for ``complexity: complex``,
  ``complaint_decision_days_max`` (else 60) after an approved, notified extension; due at
  the end of the due day, as the deadline rules compute it), and nearest-rank percentiles
  p50/p90 and the maximum of the days taken.
* ``targets`` — each ``periodic_target`` rule per closed period: ``met`` (no finding),
  ``missed``, ``insufficient_sample`` or ``excused``, with numerator, denominator and rate
  where a finding recorded them, and the goal in force; charted where rates are known.
* ``timeline`` — breaches per week (a span up to 100 days), month or year; charted.
* ``by_role`` — breaches by the responsible role; charted.
* ``offenders`` — the ten branches and staff with the most violations (from the finding's
  scope or subject; warnings that count violations are left out).
* ``early_warnings`` — findings of clauses ``W1``/``W2``, listed.

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
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..violations import Violation
from ._charts import render_charts
from ._data import compute
from ._html import render_html
from ._markdown import render_markdown
from ._text import words

if TYPE_CHECKING:
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
        """The report's language, ``zh`` or ``en``."""
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

    def __repr__(self) -> str:
        period = self._data["period"]
        label = period["label"] if period else "all"
        return (
            f"<Report {self._data['pack']['id']} period={label} lang={self.lang} "
            f"findings={self._data['findings']['total']}>"
        )


def build_report(
    pack: Pack,
    events: Iterable[Mapping[str, Any]],
    violations: Iterable[Violation],
    *,
    period: str | None = None,
    lang: str = "en",
    until: dt.datetime | None = None,
) -> Report:
    """Build the commitment report of ``events`` and the ``violations`` found in them.

    See the module documentation for the arguments and what the report holds.

    Raises:
        ValueError: ``lang`` is not ``zh`` or ``en``; ``period`` is not a period label;
            ``until`` has no offset.
    """
    words(lang)  # an unknown language fails before any work
    return Report(data=compute(pack, events, violations, period=period, lang=lang, until=until))
