"""A pack as an HTML table (what Jupyter shows for a :class:`~commitrules.pack.Pack`): its
identity, then each clause with the rules that check it. Here, beside the pack, so that the
pack module needs nothing above it; :mod:`commitrules.display` exports it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._html import Language, escape, plural

if TYPE_CHECKING:
    from ._load import Pack

__all__ = ["pack_html"]


def pack_html(pack: Pack, *, lang: Language = "en") -> str:
    """An HTML summary of a pack: its identity, then each clause with the rules that check it.

    >>> import commitrules
    >>> text = pack_html(commitrules.load_pack())
    >>> "customer-commitments" in text and "C5.acknowledge.in-time" in text
    True
    """
    rules_of: dict[str, list[Any]] = {}
    for rule in pack.rules:
        rules_of.setdefault(rule.clause, []).append(rule)
    rows = []
    for clause in pack.clauses:
        rules = rules_of.get(clause.id, [])
        if rules:
            listed = "<br>".join(
                f"<code>{escape(rule.id)}</code> "
                f"({escape(getattr(rule, 'kind', ''))}, {escape(rule.severity)} → "
                f"{escape(rule.role)})"
                for rule in rules
            )
        elif not clause.automatable and clause.reason is not None:
            listed = f"<em>{escape(clause.reason.in_language(lang))}</em>"
        else:
            listed = ""
        rows.append(
            f"<tr><td><code>{escape(clause.id)}</code></td>"
            f'<td style="text-align:left">{escape(clause.title.in_language(lang))}</td>'
            f'<td style="text-align:left">{listed}</td></tr>'
        )
    headers = ("條款", "標題", "規則") if lang == "zh" else ("clause", "title", "rules")
    header = "".join(f"<th>{name}</th>" for name in headers)
    summary = (
        f"<strong>{escape(pack.name.in_language(lang))}</strong> "
        f"<code>{escape(pack.id)}</code> {escape(pack.version)} · "
        f"profile <code>{escape(pack.profile)}</code> · {escape(pack.timezone)} · "
        f"{plural(len(pack.clauses), 'clause')}, {plural(len(pack.rules), 'rule')}"
    )
    if pack.disabled:
        summary += " · disabled: " + ", ".join(
            f"<code>{escape(rule)}</code> ({escape(reason)})" for rule, reason in pack.disabled
        )
    return (
        f'<div class="commitrules-pack"><p>{summary}</p>'
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
