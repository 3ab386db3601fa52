"""The example notebooks run top to bottom, and are committed without outputs.

Each notebook in ``examples/`` is executed with nbclient in a ``python3`` kernel (ipykernel)
whose working directory is ``examples/``; a cell that raises fails the test. Part of the
default run: the four notebooks take a few seconds each (the Parquet year about ten).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
CELL_TIMEOUT = 60  # seconds, per cell
NEEDED = ("nbclient", "nbformat", "ipykernel", "pandas", "matplotlib", "pyarrow", "polars")

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
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (pip install '.[test]')")
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        startup_timeout=60,
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()  # raises CellExecutionError naming the cell and the traceback
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "error"
    ]
    assert not errors, errors
