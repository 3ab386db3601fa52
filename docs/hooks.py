"""mkdocs hooks: the example notebooks become pages of the site, with their outputs.

The notebooks are committed without outputs (tests/test_notebooks.py checks it). The test
suite runs each of them and writes the executed copy to ``build/notebooks/`` (the
``executed_notebooks`` fixture in tests/conftest.py); the site renders those copies
(mkdocs-jupyter: no execution at build time, nothing fetched from the network). Where there
are none (a plain ``mkdocs build`` before any test run), the committed notebooks are shown,
code only.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
#: Where the test suite leaves the executed notebooks: ``<BUILD>/notebooks/<name>.ipynb``.
BUILD = ROOT / "build"

log = logging.getLogger("mkdocs.hooks.notebooks")


def _source_folder(names: list[str]) -> Path:
    """A folder holding ``notebooks/<name>`` for every notebook: the executed copies if the
    test suite made them all, else a temporary copy of the committed ones."""
    if all((BUILD / "notebooks" / name).is_file() for name in names):
        return BUILD
    log.info("notebooks shown without outputs: run tests/test_notebooks.py to execute them")
    folder = Path(tempfile.mkdtemp(prefix="commitrules-notebooks-"))
    (folder / "notebooks").mkdir()
    for name in names:
        shutil.copyfile(EXAMPLES / name, folder / "notebooks" / name)
    return folder


@event_priority(100)  # before mkdocs-jupyter turns .ipynb files into pages
def on_files(files: Files, config: MkDocsConfig) -> Files:
    names = sorted(path.name for path in EXAMPLES.glob("*.ipynb"))
    folder = _source_folder(names)
    for name in names:
        files.append(
            File(
                f"notebooks/{name}",
                src_dir=str(folder),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files
