"""Shared fixtures and the hypothesis profiles.

The default profile keeps the suite fast on two cores and derandomized (the same examples
on every run, so CI is reproducible); run the thorough one, random and a thousand examples
per property, with ``pytest --hypothesis-profile=thorough`` (or ``HYPOTHESIS_PROFILE=thorough``).
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import commitrules

settings.register_profile(
    "default",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
    # The same examples on every run: CI is reproducible; the thorough profile explores.
    derandomize=True,
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (pyproject's addopts run the suite on every core) each test file
    runs in one worker, so that a module's fixtures are built once; the Spark tests share one
    worker, and so its one Spark session (a JVM)."""
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        group = "spark" if Path(path).name.startswith("test_spark") else path
        item.add_marker(pytest.mark.xdist_group(group))


ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "packs" / "mini"

#: A marketing text with a banned promise: one C1.marketing violation.
MARKETING = {
    "id": "m1",
    "type": "marketing_published",
    "at": "2026-07-01T09:00:00+08:00",
    "material_id": "M-1",
    "channel": "wechat",
    "approved": True,
    "text": "保本保收益",
}


@pytest.fixture(scope="session")
def mini_pack() -> commitrules.Pack:
    """A small pack with one rule of every kind (tests/packs/mini)."""
    return commitrules.load_pack(MINI)


@pytest.fixture(scope="session")
def default_pack() -> commitrules.Pack:
    """The bundled default pack, cn profile."""
    return commitrules.load_pack()


#: The example notebooks, and where their executed copies go (docs/hooks.py renders these).
NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))
EXECUTED_NOTEBOOKS = ROOT / "build" / "notebooks"
NOTEBOOK_NEEDS = ("nbclient", "nbformat", "ipykernel", "pandas", "matplotlib", "pyarrow", "polars")


@pytest.fixture(scope="session")
def executed_notebooks() -> Callable[[Path], Path]:
    """Run an example notebook (once per session) and return its executed copy.

    Each notebook runs with nbclient in a ``python3`` kernel whose working directory is
    ``examples/``; a cell that raises raises ``CellExecutionError`` naming the cell. The copy
    is written to ``build/notebooks/``, which the documentation site renders.
    """
    missing = [name for name in NOTEBOOK_NEEDS if importlib.util.find_spec(name) is None]
    done: dict[Path, Path] = {}

    def run(path: Path) -> Path:
        if missing:
            pytest.skip(f"not installed: {', '.join(missing)} (pip install '.[test]')")
        if path not in done:
            with warnings.catch_warnings():
                # jupyter_core warns that it will move its folders (platformdirs).
                warnings.filterwarnings(
                    "ignore", "Jupyter is migrating its paths", DeprecationWarning
                )
                import nbformat
                from nbclient import NotebookClient

                notebook = nbformat.read(path, as_version=4)
                client = NotebookClient(
                    notebook,
                    kernel_name="python3",
                    timeout=60,  # seconds, per cell
                    startup_timeout=60,
                    resources={"metadata": {"path": str(path.parent)}},
                )
                client.execute()
            EXECUTED_NOTEBOOKS.mkdir(parents=True, exist_ok=True)
            copy = EXECUTED_NOTEBOOKS / path.name
            nbformat.write(notebook, copy)
            done[path] = copy
        return done[path]

    return run


def spark_cannot_run(problem: str | None) -> None:
    """Skip the Spark tests with the reason; under ``CI=true`` fail with it instead."""
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and the Spark tests cannot run: {problem}")
    pytest.skip(problem)


@pytest.fixture(scope="session")
def spark_session() -> object:
    """ONE local Spark session for every Spark test (local[2], 2 shuffle partitions, the UI
    off). Without Java 17 or later the Spark tests skip with the reason, but under
    ``CI=true`` they fail with it: CI must run them."""
    pytest.importorskip("pyspark")
    from commitrules.spark import java_problem, local_session

    spark_cannot_run(java_problem())
    session = local_session("local[2]", shuffle_partitions=2, app_name="commitrules-tests")
    yield session
    session.stop()
