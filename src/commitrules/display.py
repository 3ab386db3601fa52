"""Violations and packs in Jupyter and pandas: readable tables, and DataFrames for analysis.

A :class:`ViolationList` is a list of violations that Jupyter shows as a table (when, clause,
rule, severity, route, message in English or Chinese); :func:`pack_html` shows a pack's clauses
with their rules; :func:`to_dataframe` turns violations into a pandas DataFrame (pandas is an
optional dependency: ``pip install 'commitrules[notebooks]'``).

>>> import commitrules
>>> engine = commitrules.Engine(commitrules.load_pack())
>>> found = ViolationList(engine.process({
...     "id": "m1", "type": "marketing_published", "at": "2026-07-01T09:00:00+08:00",
...     "material_id": "M-1", "channel": "wechat", "approved": True, "text": "保本保收益"}))
>>> len(found), "C1.marketing.banned-promise" in found._repr_html_()
(1, True)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from commitrules._html import Language
from commitrules._html import escape as _escape
from commitrules._html import plural as _plural
from commitrules.pack._html import pack_html
from commitrules.violations import Violation

if TYPE_CHECKING:
    # pandas is optional and ships no type information (pandas-stubs does).
    import pandas  # type: ignore[import-untyped,import-not-found,unused-ignore]

__all__ = ["COLUMNS", "Language", "ViolationList", "pack_html", "to_dataframe", "violations_html"]

SEVERITIES = ("low", "medium", "high", "critical")

COLUMNS = (
    "id",
    "kind",
    "at",
    "due_at",
    "clause_id",
    "rule_id",
    "severity",
    "role",
    "route",
    "event_ids",
    "subject",
    "scope",
    "message_en",
    "message_zh",
    "refers_to",
    "pack_id",
    "pack_version",
    "profile",
)
"""The columns of :func:`to_dataframe`, before the scope columns (``branch_id`` …)."""

_HEADERS: Mapping[Language, tuple[str, ...]] = {
    "en": ("at", "clause", "rule", "severity", "route", "message"),
    "zh": ("時間", "條款", "規則", "嚴重程度", "通知", "說明"),
}
_SEVERITY_COLOURS = {
    "low": "#6b7280",
    "medium": "#b45309",
    "high": "#c2410c",
    "critical": "#b91c1c",
}


def _when(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


class ViolationList(list[Violation]):
    """A list of violations that shows itself as a table in Jupyter.

    ``lang`` picks the language of the messages (``en`` or ``zh``); at most ``limit`` rows
    are shown (the list itself keeps every violation).

    >>> ViolationList([])._repr_html_()
    '<p class="commitrules-violations">No violations.</p>'
    """

    def __init__(
        self, violations: Iterable[Violation] = (), *, lang: Language = "en", limit: int = 500
    ) -> None:
        super().__init__(violations)
        self.lang: Language = lang
        self.limit = limit

    def _repr_html_(self) -> str:
        return violations_html(self, lang=self.lang, limit=self.limit)


def violations_html(
    violations: Iterable[Violation], *, lang: Language = "en", limit: int = 500
) -> str:
    """An HTML table of violations: at, clause, rule, severity, route and message.

    Every value is escaped: a message quoting an event's text cannot inject markup.

    >>> violations_html([], lang="zh")
    '<p class="commitrules-violations">沒有違規。</p>'
    """
    items = list(violations)
    if not items:
        empty = "沒有違規。" if lang == "zh" else "No violations."
        return f'<p class="commitrules-violations">{empty}</p>'
    header = "".join(f"<th>{_escape(name)}</th>" for name in _HEADERS[lang])
    rows = []
    for violation in items[:limit]:
        kind = "" if violation.kind == "violation" else f"[{violation.kind}] "
        colour = _SEVERITY_COLOURS.get(violation.severity, "inherit")
        cells = (
            f"<td>{_escape(_when(violation.at))}</td>",
            f"<td><code>{_escape(violation.clause_id)}</code></td>",
            f"<td><code>{_escape(violation.rule_id)}</code></td>",
            f'<td style="color:{colour}">{_escape(violation.severity)}</td>',
            f"<td>{_escape(' → '.join(violation.route))}</td>",
            f'<td style="text-align:left">'
            f"{_escape(kind + violation.message.in_language(lang))}</td>",
        )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if len(items) > limit:
        more = len(items) - limit
        text = f"…另有 {more} 條" if lang == "zh" else f"… and {more} more"
        rows.append(f'<tr><td colspan="6">{_escape(text)}</td></tr>')
    count = f"{len(items)} 條違規" if lang == "zh" else _plural(len(items), "violation")
    return (
        '<div class="commitrules-violations">'
        f"<p><strong>{_escape(count)}</strong></p>"
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _pandas() -> Any:
    try:
        import pandas  # noqa: PLC0415 - optional: only DataFrames need it
    except ImportError as error:
        msg = (
            "to_dataframe needs pandas, which is not installed: "
            "pip install 'commitrules[notebooks]' (or pip install pandas)"
        )
        raise ImportError(msg) from error
    return pandas


def to_dataframe(
    violations: Iterable[Violation], *, tz: str | dt.tzinfo | None = None
) -> pandas.DataFrame:
    """Violations as a pandas DataFrame, one row each, in the order given.

    ``at`` and ``due_at`` are time-zone aware: in UTC, or in ``tz`` (use the pack's,
    ``pack.timezone``, to group by the pack's local days and periods). ``severity`` is an
    ordered category (low < medium < high < critical). The scope values (``branch_id``,
    ``staff_id`` …) get a column each, after :data:`COLUMNS`.

    Raises:
        ImportError: pandas is not installed (install the ``notebooks`` extra).

    >>> to_dataframe([]).shape[0]
    0
    """
    pd = _pandas()
    items = list(violations)
    scope_keys = sorted({key for v in items for key in v.scope})
    scope_columns = {key: (f"scope.{key}" if key in COLUMNS else key) for key in scope_keys}
    rows = []
    for v in items:
        row: dict[str, Any] = {
            "id": v.id,
            "kind": v.kind,
            "at": v.at,
            "due_at": v.due_at,
            "clause_id": v.clause_id,
            "rule_id": v.rule_id,
            "severity": v.severity,
            "role": v.role,
            "route": v.route,
            "event_ids": v.event_ids,
            "subject": dict(v.subject),
            "scope": dict(v.scope),
            "message_en": v.message.en,
            "message_zh": v.message.zh,
            "refers_to": v.refers_to,
            "pack_id": v.pack.id,
            "pack_version": v.pack.version,
            "profile": v.pack.profile,
        }
        for key, column in scope_columns.items():
            row[column] = v.scope.get(key)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*COLUMNS, *scope_columns.values()])
    for column in ("at", "due_at"):
        moments = pd.to_datetime(frame[column], utc=True)
        frame[column] = moments.dt.tz_convert(tz) if tz is not None else moments
    frame["severity"] = pd.Categorical(frame["severity"], categories=SEVERITIES, ordered=True)
    return frame
