"""The example notebooks run top to bottom, and are committed without outputs.

Each notebook in ``examples/`` is executed once per session by the ``executed_notebooks``
fixture (tests/conftest.py: nbclient, a ``python3`` kernel, working directory ``examples/``);
a cell that raises fails the test. The executed copies land in ``build/notebooks/``, where
the documentation site takes them from (docs/hooks.py). Part of the default run: the four
notebooks take a few seconds each (the Parquet year about ten).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))

# jupyter_core warns at import that it will move its folders (platformdirs); nothing to do
# with these tests.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Jupyter is migrating its paths to use standard platformdirs:DeprecationWarning"
)


def test_there_are_the_four_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01-first-look.ipynb",
        "02-compliance-review.ipynb",
        "03-custom-rule.ipynb",
        "04-parquet-year.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for number, cell in enumerate(notebook["cells"], start=1):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name} cell {number} has outputs: clear them"
            assert cell["execution_count"] is None, f"{path.name} cell {number}: clear outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(
    path: Path, executed_notebooks: Callable[[Path], Path]
) -> None:
    import nbformat

    # Raises CellExecutionError naming the cell and the traceback.
    executed = nbformat.read(executed_notebooks(path), as_version=4)
    errors = [
        output
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "error"
    ]
    assert not errors, errors
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    assert any(cell.outputs for cell in code)
