"""commitrules changes warning filters only for what it means to: the parser's own warnings
while it parses a condition, and matplotlib's missing-glyph warning while it draws a chart."""

from __future__ import annotations

import ast
import datetime as dt
import warnings
from typing import Any

import pytest

import commitrules
from commitrules.errors import ExpressionError
from commitrules.expr import _parse
from commitrules.expr._parse import DEFAULT_LIMITS, parse
from commitrules.report import _charts, build_report
from tests.conftest import MARKETING

CST = dt.timezone(dt.timedelta(hours=8))


def test_a_condition_the_parser_only_warns_about_is_refused() -> None:
    with pytest.raises(ExpressionError, match="cannot read the condition"):
        parse(r"mentions(text, '\d')", location=None, limits=DEFAULT_LIMITS)


def test_parsing_leaves_other_warnings_to_the_applications_filters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_parse = ast.parse

    def noisy_parse(source: str, *args: Any, **kwargs: Any) -> ast.AST:
        warnings.warn("an unrelated warning", UserWarning, stacklevel=1)
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(_parse.ast, "parse", noisy_parse)
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        parsed = parse("amount > 1", location=None, limits=DEFAULT_LIMITS)
    assert parsed.tree is not None
    assert [str(w.message) for w in caught] == ["an unrelated warning"]  # shown, not raised
    assert warnings.filters == before


def test_the_report_hides_the_missing_glyph_warning_only(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    pack = commitrules.load_pack()
    engine = commitrules.Engine(pack)
    event = dict(MARKETING)
    found = engine.process(event) + engine.advance_to(dt.datetime(2026, 10, 1, tzinfo=CST))
    report = build_report(pack, [event], found, lang="zh")
    # The Chinese labels are drawn with DejaVu Sans, which warns per missing glyph: hidden
    # (this suite turns warnings into errors, so a shown one fails here).
    html = report.to_html()
    assert "<svg" in html
    real_timeline = _charts._timeline

    def noisy_timeline(*args: Any) -> Any:
        warnings.warn("a chart problem that must be seen", UserWarning, stacklevel=1)
        return real_timeline(*args)

    monkeypatch.setattr(_charts, "_timeline", noisy_timeline)
    with pytest.warns(UserWarning, match="a chart problem that must be seen"):
        report.to_html()
