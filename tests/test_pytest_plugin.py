"""The pytest plugin: cheap to load in every pytest run, and a pack's cases become items."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import MINI

#: What the plugin must not import when pytest loads it (only when it finds a pack's cases).
HEAVY = ("commitrules.engine", "commitrules.pack", "pydantic", "holidays", "yaml")


def test_loading_the_plugin_imports_neither_the_engine_nor_its_dependencies() -> None:
    code = textwrap.dedent(
        f"""
        import json, sys
        import commitrules.testing.plugin
        print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


def test_a_pytest_run_without_packs_never_imports_the_engine(tmp_path: Path) -> None:
    (tmp_path / "test_nothing.py").write_text(
        textwrap.dedent(
            """
            import sys

            def test_engine_not_imported():
                assert "commitrules.engine" not in sys.modules
                assert "pydantic" not in sys.modules
            """
        ),
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_a_packs_cases_are_collected_and_run_as_items(tmp_path: Path) -> None:
    pack = tmp_path / "mini"
    shutil.copytree(MINI, pack)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(pack)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    cases = sum(
        len([line for line in path.read_text(encoding="utf-8").splitlines() if "- name:" in line])
        for path in (pack / "tests").glob("*.yaml")
    )
    assert cases > 0
    assert f"{cases} passed" in run.stdout
