"""The HTML report as a compliance officer reads it: in a browser, on a phone, on paper.

Headless Chromium from the system (Debian's ``chromium`` package, ``/usr/bin/chromium``;
``.ci/run`` installs it) driven by Playwright's Python package, which never downloads a
browser of its own here (``playwright install`` is never run). One browser for the module;
it opens the report of the default pack (the bundled quarter of sample events) in English,
Simplified and Traditional Chinese, and of the stand-alone fixture pack, at desktop
(1400x900) and phone (390x844) widths, and prints two of them to PDF.

Without a browser the tests skip with the reason; under ``CI=true`` they fail with it.
Screenshots go to ``tests/artifacts/`` (git-ignored); ``UPDATE_DOC_SCREENSHOTS=1`` also
rewrites the two small pictures the docs show (``docs/images/report-*.png``).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import commitrules
from commitrules.report import build_report
from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
SAMPLE = ROOT / "examples" / "sample-events.jsonl"
STANDALONE = ROOT / "tests" / "packs" / "payment-disputes"
END_OF_QUARTER = dt.datetime(2026, 10, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
# As docs of this machine kind say: no background traffic to a closed network, no GPU, a
# fresh profile (Playwright makes a new empty --user-data-dir for every launch).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPORTS = ("default-en", "default-zh-Hans", "default-zh-Hant", "standalone-en")


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "Playwright's Python package is not installed (pip install '.[test]')"
    if not CHROMIUM.exists():
        return f"no browser at {CHROMIUM} (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser tests must run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The four report files, written once for the module."""
    folder = tmp_path_factory.mktemp("reports")
    out: dict[str, Path] = {}
    pack = commitrules.load_pack()
    events = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    outcomes: list[Any] = []
    engine = commitrules.Engine(pack, outcomes=outcomes.append)
    found = engine.process_many(events) + engine.advance_to(END_OF_QUARTER)
    here = Path.cwd()
    os.chdir(ROOT)  # the input named as a user names it: examples/sample-events.jsonl
    try:
        for lang in ("en", "zh-Hans", "zh-Hant"):
            report = build_report(
                pack,
                events,
                found,
                lang=lang,
                until=END_OF_QUARTER,
                outcomes=outcomes,
                inputs=[SAMPLE.relative_to(ROOT)],
            )
            out[f"default-{lang}"] = folder / f"default-{lang}.html"
            out[f"default-{lang}"].write_text(report.to_html(), encoding="utf-8")
    finally:
        os.chdir(here)
    from tests.test_standalone_pack import END_OF_JULY, _guide_files

    standalone = commitrules.load_pack(STANDALONE)
    july = [json.loads(line) for line in _guide_files()["july.jsonl"].splitlines()]
    outcomes = []
    engine = commitrules.Engine(standalone, outcomes=outcomes.append)
    found = engine.process_many(july) + engine.advance_to(END_OF_JULY)
    report = build_report(standalone, july, found, until=END_OF_JULY, outcomes=outcomes)
    out["standalone-en"] = folder / "standalone-en.html"
    out["standalone-en"].write_text(report.to_html(), encoding="utf-8")
    return out


class Opened:
    """A report opened at one width: the page, and what it asked the network and logged."""

    def __init__(self, page: Any, requests: list[str], errors: list[str]) -> None:
        self.page = page
        self.requests = requests
        self.errors = errors

    def js(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)


@pytest.fixture(scope="module")
def opened(browser: Any, reports: dict[str, Path]) -> Iterator[dict[tuple[str, int], Opened]]:
    """Every report at both widths, opened once; a screenshot of each in tests/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    pages: dict[tuple[str, int], Opened] = {}
    for name in REPORTS:
        for viewport in (DESKTOP, PHONE):
            page = browser.new_page(viewport=viewport)
            requests: list[str] = []
            errors: list[str] = []
            own = reports[name].as_uri()

            page.on(
                "request",
                lambda request, own=own, requests=requests: (
                    requests.append(request.url) if request.url != own else None
                ),
            )
            page.on(
                "console",
                lambda message, errors=errors: (
                    errors.append(message.text) if message.type == "error" else None
                ),
            )
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            page.goto(own, wait_until="load")
            width = viewport["width"]
            _screenshot(page, ARTIFACTS / f"report-{name}-{width}.png")
            pages[name, width] = Opened(page, requests, errors)
    yield pages
    for item in pages.values():
        item.page.close()


def _screenshot(page: Any, path: Path) -> None:
    """A full-page screenshot for people to look at (no test reads it). Headless Chromium
    sometimes answers "Unable to capture screenshot" when the machine's cores are busy (the
    suite runs a test file per core): tried three times, then a note in place of the picture."""
    from playwright.sync_api import Error

    for attempt in range(3):
        try:
            page.screenshot(path=str(path), full_page=True)
            return
        except Error as error:
            if "Unable to capture screenshot" not in str(error):
                raise
            page.wait_for_timeout(500 * (attempt + 1))
    path.with_suffix(".txt").write_text(
        "Chromium could not capture this screenshot (three attempts)\n", encoding="utf-8"
    )


EVERY = [(name, width) for name in REPORTS for width in (1400, 390)]


# -- self-contained ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "width"), EVERY)
def test_the_report_fetches_nothing_and_logs_no_error(
    opened: dict[tuple[str, int], Opened], name: str, width: int
) -> None:
    page = opened[name, width]
    assert page.requests == []
    assert page.errors == []


# -- the phone -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REPORTS)
def test_nothing_is_wider_than_a_phone(opened: dict[tuple[str, int], Opened], name: str) -> None:
    page = opened[name, 390]
    width = page.js("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px screen"
    # Wide tables and charts scroll inside their own box, which says what it holds.
    boxes = page.js(
        """() => [...document.querySelectorAll('table, figure svg')].map(el => {
             const box = el.closest('.scroll');
             return box && box.getAttribute('aria-label') !== '' ? 'ok' : el.outerHTML.slice(0, 80);
           }).filter(x => x !== 'ok')"""
    )
    assert boxes == []


@pytest.mark.parametrize("name", REPORTS)
def test_chart_text_stays_legible_on_a_phone(
    opened: dict[tuple[str, int], Opened], name: str
) -> None:
    sizes = opened[name, 390].js(
        """() => [...document.querySelectorAll('svg text')].map(t => {
             const scale = t.ownerSVGElement.getScreenCTM().a;
             return parseFloat(getComputedStyle(t).fontSize) * scale;
           })"""
    )
    assert sizes, "a report of these events has charts"
    assert min(sizes) >= 9, f"chart text drawn at {min(sizes):.1f} px"


_LINES_OF = """(el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
    .map(r => Math.round(r.top)));
  return tops.size;
}"""


@pytest.mark.parametrize(("name", "width"), EVERY)
def test_identifiers_are_never_broken_across_lines(
    opened: dict[tuple[str, int], Opened], name: str, width: int
) -> None:
    broken = opened[name, width].js(
        f"""() => {{
          const lines = {_LINES_OF};
          // Identifiers: clause, rule, period, staff and branch ids, wherever they are set
          // in monospace; a digest (.hash) is no word and may break.
          return [...document.querySelectorAll('.id, .mono, code')]
            .filter(el => !el.classList.contains('hash') && !/\\s/.test(el.textContent.trim()))
            .filter(el => lines(el) > 1).map(el => el.textContent);
        }}"""
    )
    assert broken == []


# -- charts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REPORTS)
def test_every_chart_has_a_name_and_a_table_of_its_numbers(
    opened: dict[tuple[str, int], Opened], name: str
) -> None:
    charts = opened[name, 1400].js(
        """() => [...document.querySelectorAll('svg')].map(svg => {
             const table = document.getElementById(svg.getAttribute('aria-details') || '');
             return {
               role: svg.getAttribute('role'),
               label: (svg.getAttribute('aria-label') || '').trim(),
               table: table ? table.tagName : null,
               rows: table ? table.querySelectorAll('tbody tr').length : 0,
             };
           })"""
    )
    assert charts
    for chart in charts:
        assert chart["role"] == "img"
        assert chart["label"]
        assert chart["table"] == "TABLE", chart
        assert chart["rows"] > 0, chart


def test_the_risk_rate_chart_shows_the_achieved_rates(
    opened: dict[tuple[str, int], Opened],
) -> None:
    """July and August had no risk event in 569 and 549 sales: drawn at 0%, not on the
    target's line; September's 1 in 571 at 0.1751%."""
    page = opened["default-en", 1400]
    labels = page.js(
        """() => {
             const figure = document.getElementById('target-data-4')
               .closest('.scroll').nextElementSibling;
             return [...figure.querySelectorAll('svg text')].map(t => t.textContent.trim());
           }"""
    )
    for text in ("0%", "0.1751%", "Target (<)", "Kept", "Missed"):
        assert text in labels, (text, labels)
    # The rate axis starts at 0: a tick reads zero ("0.0", "0.00").
    assert any(re.fullmatch(r"0\.0+", text) for text in labels), labels


# -- contrast ------------------------------------------------------------------------------------

_CONTRAST = """() => {
  const rgb = (text) => {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const [r, g, b, a] = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return {r, g, b, a: a === undefined ? 1 : a};
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const background = (el) => {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  const low = [];
  // Text: 4.5:1, or 3:1 when large (24 px, or 18.67 px bold).
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg')) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const style = getComputedStyle(el);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const value = ratio(rgb(style.color), background(el));
    if (value < (large ? 3 : 4.5)) {
      low.push(`text ${el.textContent.trim().slice(0, 30)}: ${value.toFixed(2)}`);
    }
  }
  // Charts: text 4.5:1, marks (bars, markers, lines) 3:1 against the white chart.
  const white = {r: 255, g: 255, b: 255, a: 1};
  for (const el of document.querySelectorAll('svg text')) {
    const value = ratio(rgb(getComputedStyle(el).fill) || {r: 0, g: 0, b: 0}, white);
    if (value < 4.5) low.push(`chart text ${el.textContent.trim()}: ${value.toFixed(2)}`);
  }
  const marks = 'svg path, svg use, svg rect, svg line, svg polyline';
  for (const el of document.querySelectorAll(marks)) {
    if (el.closest('defs, clipPath') || el.closest('[id$="not-judged"]')) continue;
    const style = getComputedStyle(el);
    for (const paint of [style.fill, style.stroke]) {
      const c = rgb(paint);
      if (!c || c.a === 0) continue;
      const value = ratio(c, white);
      if (value > 1.05 && value < 3) low.push(`chart mark ${paint}: ${value.toFixed(2)}`);
    }
  }
  return [...new Set(low)];
}"""


@pytest.mark.parametrize("name", REPORTS)
def test_text_and_chart_marks_meet_wcag_aa_contrast(
    opened: dict[tuple[str, int], Opened], name: str
) -> None:
    assert opened[name, 1400].js(_CONTRAST) == []


# -- layout details -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REPORTS)
def test_numbers_are_aligned_right(opened: dict[tuple[str, int], Opened], name: str) -> None:
    left = opened[name, 1400].js(
        """() => [...document.querySelectorAll('td')]
             .filter(td => /^((\\d{1,3}(,\\d{3})+|\\d+)(\\.\\d+)?%?|—)$/
               .test(td.textContent.trim()))
             .filter(td => !['right', 'end'].includes(getComputedStyle(td).textAlign))
             .map(td => td.textContent.trim())"""
    )
    assert left == []


@pytest.mark.parametrize(
    ("name", "lang", "first_font"),
    [
        ("default-en", "en", "Helvetica Neue"),
        ("default-zh-Hans", "zh-Hans", "PingFang SC"),
        ("default-zh-Hant", "zh-Hant", "PingFang TC"),
    ],
)
def test_each_language_declares_itself_and_its_fonts(
    opened: dict[tuple[str, int], Opened], name: str, lang: str, first_font: str
) -> None:
    page = opened[name, 1400]
    assert page.js("document.documentElement.lang") == lang
    family = page.js("getComputedStyle(document.body).fontFamily")
    assert family.split(",")[0].strip().strip('"') == first_font


@pytest.mark.parametrize("name", ["default-en", "default-zh-Hant"])
def test_every_time_header_names_the_zone(opened: dict[tuple[str, int], Opened], name: str) -> None:
    # Every column of times or periods, and the summary's moment judged through.
    headers = opened[name, 1400].js(
        """() => [...document.querySelectorAll('thead th, table.kv th')]
             .map(th => th.textContent.trim())"""
    )
    timed = [
        h
        for h in headers
        if re.match(r"^(Time(?! zone)|Period \(|Judged through|時間|期間|判定截至)", h)
    ]
    assert len(timed) > 5
    assert all("Asia/Shanghai" in h for h in timed), timed


# -- paper ---------------------------------------------------------------------------------------


def _print(opened: Opened) -> bytes:
    pdf: bytes = opened.page.pdf(prefer_css_page_size=True, print_background=True)
    return pdf


@pytest.fixture(scope="module")
def printed(opened: dict[tuple[str, int], Opened]) -> dict[str, bytes]:
    pdfs = {name: _print(opened[name, 1400]) for name in ("default-en", "default-zh-Hant")}
    for name, pdf in pdfs.items():
        (ARTIFACTS / f"report-{name}.pdf").write_bytes(pdf)
    return pdfs


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("default-en", "Page {page} of {pages}"),
        ("default-zh-Hant", "第 {page} 頁，共 {pages} 頁"),  # noqa: RUF001 - Chinese punctuation
    ],
)
def test_the_printed_report_is_a4_with_page_numbers(
    printed: dict[str, bytes], name: str, number: str
) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(printed[name]))
    pages = len(reader.pages)
    assert pages > 1
    for index, page in enumerate(reader.pages, start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842), "A4 in points"
        text = re.sub(r"\s+", " ", page.extract_text())
        assert number.format(page=index, pages=pages) in text, (index, text[-200:])


def test_chinese_prints_about_as_long_as_english(printed: dict[str, bytes]) -> None:
    """Titles and statuses keep a least width: Chinese no longer wraps two characters a line."""
    from pypdf import PdfReader

    en = len(PdfReader(io.BytesIO(printed["default-en"])).pages)
    zh = len(PdfReader(io.BytesIO(printed["default-zh-Hant"])).pages)
    assert zh <= en + 1, (en, zh)


def test_print_keeps_headings_with_what_follows_and_opens_chart_data(
    opened: dict[tuple[str, int], Opened],
) -> None:
    page = opened["default-en", 1400].page
    page.emulate_media(media="print")
    try:
        styles = page.evaluate(
            """() => ({
                 h2: getComputedStyle(document.querySelector('h2')).breakAfter,
                 figure: getComputedStyle(document.querySelector('figure')).breakInside,
                 data: document.getElementById('timeline-data').checkVisibility(),
                 summary: getComputedStyle(document.querySelector('details > summary')).display,
               })"""
        )
    finally:
        page.emulate_media(media="screen")
    assert styles == {"h2": "avoid-page", "figure": "avoid-page", "data": True, "summary": "none"}


# -- the docs' pictures ----------------------------------------------------------------------------


def test_the_docs_show_the_report_at_both_widths(
    opened: dict[tuple[str, int], Opened],
) -> None:
    pictures = {1400: ROOT / "docs" / "images" / "report-desktop.png"}
    pictures[390] = ROOT / "docs" / "images" / "report-phone.png"
    if os.environ.get("UPDATE_DOC_SCREENSHOTS") == "1":
        from PIL import Image

        for width, path in pictures.items():
            shot = opened["default-en", width].page.screenshot(full_page=False)
            image = Image.open(io.BytesIO(shot))
            if width > 390:
                image = image.resize((image.width // 2, image.height // 2), Image.LANCZOS)
            image = image.convert("RGB").quantize(colors=64)
            path.parent.mkdir(exist_ok=True)
            image.save(path, optimize=True)
    page = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    for path in pictures.values():
        assert path.is_file()
        assert path.stat().st_size < 150_000
        assert f"images/{path.name}" in page
