"""The documentation: generated pages are current, the site builds, and its code runs.

Code blocks of the guides are tests. In the pages listed in ``EXECUTED_PAGES``, in order:

- a block with a ``title="path"`` (``yaml title="my-bank/pack.yaml"``) is a file: it is
  written to that path in a fresh working folder (a later block with the same title
  replaces it);
- a ``python`` block runs in one namespace per page, with that folder as working directory
  (``examples/sample-events.jsonl`` is copied in);
- a ``console`` block holds ``$ commitrules …`` lines, run through ``commitrules.cli.main``;
  each must exit 0 unless the line ends with ``# exit status N``, and every other line of the
  block (but ``…``) must appear in what the command printed.
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import attrs
import pytest

import commitrules
from commitrules.cli import main as cli_main
from commitrules.rules import RULE_KINDS
from tests.conftest import NOTEBOOKS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SAMPLE = ROOT / "examples" / "sample-events.jsonl"
EXECUTED_PAGES = (
    "index.md",
    "concepts.md",
    "conditions.md",
    "embedding.md",
    "writing-a-pack.md",
    "standalone-pack.md",
    "backends.md",
    "api.md",
    "limits.md",
    "stage-plan.md",
    "tables.md",
    "../README.md",
)
REGENERATE = "python docs/generate.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- generated pages ---------------------------------------------------------------------------


def test_generated_pages_are_up_to_date() -> None:
    stale = _generator().stale_pages()
    assert not stale, (
        f"generated docs are out of date: {', '.join('docs/' + name for name in stale)}; "
        f"regenerate them with `{REGENERATE}` and commit the result"
    )


def test_generator_check_mode_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    assert _generator().main(["--check"]) == 0, capsys.readouterr().err


def test_generator_docstring_examples_run() -> None:
    failures, _ = doctest.testmod(_generator())
    assert failures == 0


def test_docstring_markup_becomes_markdown() -> None:
    convert = _generator().rst_to_markdown
    text = (
        "Use ``kind: check``, see :class:`~commitrules.Violation`.\n\n"
        ".. code-block:: yaml\n\n    a: 1\n"
    )
    assert convert(text) == "Use `kind: check`, see `Violation`.\n\n```yaml\na: 1\n```\n"


def test_the_rule_kind_examples_of_the_reference_load(tmp_path: Path) -> None:
    # The pack format reference shows each kind's YAML (from its module's docstring): pasted
    # into a pack that extends the default one, every example must load as written.
    blocks: list[str] = []
    for spec, _ in RULE_KINDS.values():
        doc = sys.modules[spec.__module__].__doc__ or ""
        for block in re.findall(r"\.\. code-block:: yaml\n\n((?:    .*\n|\n)+)", doc):
            if block not in blocks:
                blocks.append(block)
    assert len(blocks) >= len(RULE_KINDS) - 1  # a module may hold several kinds
    pack = tmp_path / "examples"
    (pack / "rules").mkdir(parents=True)
    (pack / "pack.yaml").write_text(
        "id: examples\nversion: 0.1.0\nname: {zh: 例子, en: Examples}\n"
        "extends: customer-commitments\n",
        encoding="utf-8",
    )
    # The deadline example cancels on a type a pack declares.
    (pack / "events.yaml").write_text(
        "event_types:\n  complaint_withdrawn:\n    fields: {case_id: {type: str}}\n",
        encoding="utf-8",
    )
    rules = "rules:\n" + "".join(as_list_items(block) for block in blocks)
    (pack / "rules" / "examples.yaml").write_text(rules, encoding="utf-8")
    loaded = commitrules.load_pack(pack)
    default = commitrules.load_pack()
    assert len(loaded.rules) == len(default.rules) + len(blocks)


def as_list_items(block: str) -> str:
    return textwrap.indent(textwrap.dedent(block).strip("\n") + "\n", "  ")


#: The public entry points the API reference must document (issue 23).
API_ENTRY_POINTS = (
    "commitrules.load_pack",
    "commitrules.Engine",
    "commitrules.batch.check_files",
    "commitrules.testing.run_pack_tests",
    "commitrules.testing.coverage",
    "commitrules.testing.strategies",
    "commitrules.waivers.load_waivers",
    "commitrules.audit.DecisionLog",
    "commitrules.audit.verify_log",
    "commitrules.report.build_report",
    "commitrules.explain.explain",
    "commitrules.plan_for",
    "commitrules.plan.run_plan",
    "commitrules.columnar.evaluate_table",
    "commitrules.columnar.evaluate_files",
    "commitrules.spark.evaluate_spark",
    "commitrules.spark.stream_spark",
)


def test_the_api_reference_documents_every_public_entry_point() -> None:
    page = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^::: (\S+)$", page, flags=re.MULTILINE))
    assert set(API_ENTRY_POINTS) <= documented, set(API_ENTRY_POINTS) - documented
    engine = page.split("::: commitrules.Engine", 1)[1].split("\n\n", 1)[0]
    for method in ("process", "process_json", "process_many", "advance_to", "snapshot"):
        assert method in engine, method


def test_the_api_reference_docstring_extension_examples_run() -> None:
    spec = importlib.util.spec_from_file_location(
        "griffe_docstrings", DOCS / "griffe_docstrings.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    failures, tried = doctest.testmod(module)
    assert (failures, tried > 0) == (0, True)


def test_every_condition_function_is_documented() -> None:
    from commitrules.expr.builtins import FUNCTIONS

    page = (DOCS / "conditions.md").read_text(encoding="utf-8")
    missing = [name for name in FUNCTIONS if f"`{name}(" not in page]
    assert not missing, f"docs/conditions.md does not describe: {', '.join(missing)}"


# -- the site ----------------------------------------------------------------------------------


def _offline() -> list[str]:
    """A command prefix that runs without a network (a new network namespace), if possible."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], check=False).returncode == 0:
        return [unshare, "-n"]
    return []


def test_site_builds_with_strict_link_checks(
    tmp_path: Path, executed_notebooks: Callable[[Path], Path]
) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("mkdocs or mkdocs-material is not installed (pip install '.[docs]')")
    # The notebooks' pages show the copies the suite executed (docs/hooks.py).
    executed = [executed_notebooks(path) for path in NOTEBOOKS]
    result = subprocess.run(
        [
            *_offline(),  # the build needs no network
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(tmp_path / "site"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # mkdocs-material's banner
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    # The API reference is read from the docstrings: the methods' own words are there, and
    # their doctest examples are code.
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    for text in ("process_json", "process_many", "Judge one event given as JSON text"):
        assert text in api, text
    assert "```pycon" not in api
    assert 'class="language-pycon' in api or "highlight" in api
    assert not (tmp_path / "site" / "_proposed").exists()
    for copy in executed:
        page = tmp_path / "site" / "notebooks" / copy.stem / "index.html"
        html = page.read_text(encoding="utf-8")
        assert 'class="jp-OutputArea' in html, f"{page} shows no outputs"
    # No page loads web fonts from the internet (the theme's fonts are off: theme.font false).
    for page in (tmp_path / "site").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "fonts.googleapis.com" not in text, page
        assert "fonts.gstatic.com" not in text, page


def _mkdocs_build(site: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(site),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **env},
    )


_HREF = re.compile(r'href="(?P<target>[^"#?]*)(?:[#?][^"]*)?"')


def test_the_offline_site_links_files_not_folders(tmp_path: Path) -> None:
    """OFFLINE=true builds the variant docs/index.md tells readers to open from disk: every
    link between pages names a file, so a browser never lands on a directory listing."""
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("mkdocs or mkdocs-material is not installed (pip install '.[docs]')")
    site = tmp_path / "site"
    result = _mkdocs_build(site, OFFLINE="true")
    assert result.returncode == 0, result.stdout + result.stderr
    checked = 0
    for page in site.rglob("*.html"):
        if page.name == "404.html":
            continue  # a server's error page: absolute links, never opened from disk
        for match in _HREF.finditer(page.read_text(encoding="utf-8")):
            target = match.group("target")
            if not target or "://" in target or target.startswith(("mailto:", "data:")):
                continue
            resolved = (page.parent / target).resolve()
            assert resolved.is_file(), f"{page.relative_to(site)} links {target!r}: not a file"
            checked += 1
    assert checked > 100


def test_the_notebooks_export_offline_as_the_page_shows(tmp_path: Path) -> None:
    """docs/notebooks.md's export command writes pages that fetch no script from a CDN
    (nbconvert's own template does: require.js and MathJax)."""
    if importlib.util.find_spec("nbconvert") is None:
        pytest.skip("nbconvert is not installed (pip install '.[test]')")
    page = (ROOT / "docs" / "notebooks.md").read_text(encoding="utf-8")
    command = next(
        line.strip()
        for line in page.splitlines()
        if "nbconvert" in line and "--template offline" in line
    )
    notebook = ROOT / "examples" / "01-first-look.ipynb"
    arguments = command.split()[1:]  # after ".venv/bin/jupyter"
    arguments = [a for a in arguments if not a.endswith(".ipynb") and a != "--execute"]

    def export(*extra: str) -> str:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "jupyter",
                *arguments[:],
                *extra,
                "--output-dir",
                str(tmp_path),
                str(notebook),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return (tmp_path / "01-first-look.html").read_text(encoding="utf-8")

    offline = export()
    assert not re.search(r"<script[^>]*\bsrc=", offline)
    assert not re.search(r"""import\(["']https?:""", offline)
    assert "cdnjs" not in offline


# -- code blocks -------------------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)(?P<info>[^`]*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]+)"')
_EXIT = re.compile(r"#\s*exit status (?P<status>\d+)")


@attrs.frozen
class Block:
    """A fenced code block of a page: its language, file title, text and first line."""

    lang: str
    title: str | None
    text: str
    line: int  # 1-based line of the first line of code


def code_blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None or not opening.group("lang"):
            index += 1
            continue
        indent = opening.group("indent")
        start = index + 1
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        body = [line.removeprefix(indent) for line in lines[start:end]]
        title = _TITLE.search(opening.group("info"))
        blocks.append(
            Block(
                lang=opening.group("lang"),
                title=title.group("title") if title else None,
                text="\n".join(body) + "\n",
                line=start + 1,
            )
        )
        index = end + 1
    return blocks


def _run_console(block: Block, page: str, capsys: pytest.CaptureFixture[str]) -> None:
    commands: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands and line.strip() and line.strip() not in ("…", "..."):
            commands[-1][1].append(" ".join(line.split()))
    for command, expected in commands:
        argv = shlex.split(command, comments=True)
        assert argv[0] == "commitrules", f"{page}:{block.line}: only commitrules commands run"
        wanted = _EXIT.search(command)
        status = int(wanted.group("status")) if wanted else 0
        capsys.readouterr()
        code = cli_main(argv[1:])
        captured = capsys.readouterr()
        printed = " ".join((captured.out + captured.err).split())
        where = f"{page}:{block.line}: `{command}`"
        assert code == status, f"{where} exited {code}, not {status}:\n{captured.out}{captured.err}"
        for line in expected:
            assert line in printed, f"{where} did not print {line!r}; it printed:\n{printed}"


@pytest.mark.parametrize("page", EXECUTED_PAGES)
def test_code_blocks_of_the_page_run(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if page == "backends.md" and importlib.util.find_spec("durable") is None:
        # The durable extra installs nothing on Python 3.13 and later (docs/support.md).
        pytest.skip("durable-rules is not installed (pip install '.[durable]', Python < 3.13)")
    (tmp_path / "examples").mkdir()
    shutil.copy(SAMPLE, tmp_path / "examples" / SAMPLE.name)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    blocks = code_blocks(DOCS / page)
    assert any(b.lang == "python" for b in blocks), f"{page} has no python block to run"
    for block in blocks:
        if block.title is not None:
            target = tmp_path / block.title
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, encoding="utf-8")
        elif block.lang == "python":
            # Pad with blank lines so that a traceback points at the line in the page.
            source = "\n" * (block.line - 1) + block.text
            exec(compile(source, str(DOCS / page), "exec"), namespace)
        elif block.lang == "console":
            _run_console(block, page, capsys)
