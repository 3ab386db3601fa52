"""The report's language: English, or Chinese in Simplified or Traditional characters.

A pack writes its Chinese in one script (``zh`` of each text). The report writes its own
words in both scripts, and converts the pack's texts (clause, rule, role and section titles,
notes, the findings' messages) to the script asked for with OpenCC, the Open Chinese Convert
project's own Python binding (the ``OpenCC`` package on PyPI), imported only when a
conversion is needed. Which script a pack writes is read off the pack: its Chinese is
Traditional when OpenCC's Traditional-to-Simplified conversion changes it, Simplified
otherwise; a text already in the script asked for is never converted (OpenCC's
Simplified-to-Traditional conversion would also change characters that both scripts share,
such as 考核 and 獲准).

``zh`` is an alias: the script of the pack's jurisdiction, read off its time zone
(Traditional for Hong Kong, Macau and Taipei; Simplified everywhere else): ``zh-Hans`` for
the default pack's ``cn`` profile, ``zh-Hant`` for its ``hk`` profile.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, Literal

import attrs

__all__ = [
    "LANGUAGES",
    "TRADITIONAL_ZONES",
    "Language",
    "Script",
    "chinese_for_zone",
    "resolve",
]

Script = Literal["en", "zh-Hans", "zh-Hant"]

#: What ``lang`` may be: a script, or ``zh`` (the jurisdiction's script).
LANGUAGES = ("en", "zh-Hans", "zh-Hant", "zh")

#: Time zones whose jurisdictions write Traditional characters.
TRADITIONAL_ZONES = frozenset({"Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei"})

_MISSING = (
    "the report converts the pack's Chinese between scripts with OpenCC, which is not "
    "installed: pip install 'commitrules[report]'"
)


def chinese_for_zone(timezone: str) -> Script:
    """The Chinese script of a jurisdiction by its time zone.

    >>> chinese_for_zone("Asia/Shanghai"), chinese_for_zone("Asia/Hong_Kong")
    ('zh-Hans', 'zh-Hant')
    """
    return "zh-Hant" if timezone in TRADITIONAL_ZONES else "zh-Hans"


@functools.cache
def _converter(config: str) -> Callable[[str], str]:
    try:
        import opencc  # noqa: PLC0415 - optional dependency, imported when converting
    except ImportError as error:
        raise ImportError(_MISSING, name="opencc") from error
    convert: Callable[[str], str] = opencc.OpenCC(config).convert
    return convert


def _is_traditional(texts: Iterable[str]) -> bool:
    """Whether the texts are written in Traditional characters (Simplified changes them)."""
    joined = "\n".join(texts)
    return _converter("t2s.json")(joined) != joined


@attrs.frozen
class Language:
    """The report's language and, for Chinese, how the pack's texts reach its script."""

    tag: Script
    #: ``s2t.json`` or ``t2s.json`` when the pack's Chinese is in the other script.
    conversion: str | None = None

    @property
    def base(self) -> str:
        """``zh`` or ``en``: which text of a pack's pair to take."""
        return "en" if self.tag == "en" else "zh"

    @property
    def chinese(self) -> bool:
        """Whether the report is in Chinese."""
        return self.tag != "en"

    def text(self, value: Any) -> str:
        """A pack text (anything with ``zh`` and ``en``) in this language and script."""
        chosen = str(value.en if self.tag == "en" else value.zh)
        return self.convert(chosen)

    def convert(self, text: str) -> str:
        """A Chinese text of the pack in this report's script (unchanged for English)."""
        if self.conversion is None or not text:
            return text
        return _converter(self.conversion)(text)


def resolve(lang: str, timezone: str, samples: Iterable[str] = ()) -> Language:
    """The language ``lang`` asks for, for a pack in ``timezone`` whose Chinese texts
    include ``samples`` (to tell which script the pack writes).

    >>> resolve("en", "Asia/Shanghai").tag
    'en'
    >>> resolve("zh", "Asia/Hong_Kong", ["投訴"]).tag
    'zh-Hant'
    """
    if lang not in LANGUAGES:
        msg = f"unknown report language {lang!r}: use {', '.join(repr(x) for x in LANGUAGES)}"
        raise ValueError(msg)
    if lang == "en":
        return Language("en")
    tag: Script = (
        "zh-Hans"
        if lang == "zh-Hans"
        else "zh-Hant"
        if lang == "zh-Hant"
        else chinese_for_zone(timezone)
    )
    written_traditional = _is_traditional(samples)
    if tag == "zh-Hans" and written_traditional:
        return Language(tag, "t2s.json")
    if tag == "zh-Hant" and not written_traditional:
        return Language(tag, "s2t.json")
    return Language(tag)
