"""HTML text for the notebook tables (a pack's clauses, violations): escaped values and
counted words, shared by :mod:`commitrules.display` and the pack's own table."""

from __future__ import annotations

import html
from typing import Literal

from ._safe_text import visible

__all__ = ["Language", "escape", "plural"]

Language = Literal["en", "zh"]


def escape(value: object) -> str:
    """A value as HTML text: invisible characters shown, markup escaped.

    >>> escape('<b title="x">')
    '&lt;b title=&quot;x&quot;&gt;'
    """
    return html.escape(visible(value), quote=True)


def plural(count: int, word: str) -> str:
    """``1 rule``, ``2 rules``."""
    return f"{count} {word}{'' if count == 1 else 's'}"
