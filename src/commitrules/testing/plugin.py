"""The pytest plugin: a pack's test cases become pytest items.

Registered through the package's ``pytest11`` entry point, so a bank's CI runs ``pytest``
on a folder that contains packs and sees each case pass or fail with its difference. A
case file is any ``tests/*.yaml`` inside a directory that has a ``pack.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .cases import CaseFile, PackCache

# pytest imports this module in every run of every project where commitrules is installed:
# the engine, pydantic and the packs are imported only once a pack's case file is collected.

__all__ = ["PackCaseFile", "PackCaseItem", "pytest_collect_file"]

_CACHE: PackCache | None = None


def _cache() -> PackCache:
    """The packs loaded for this pytest run (one load per pack, profile and overrides)."""
    global _CACHE  # noqa: PLW0603 - one cache per process, made on first use
    if _CACHE is None:
        from .cases import PackCache  # noqa: PLC0415

        _CACHE = PackCache()
    return _CACHE


def _pack_dir(path: Path) -> Path | None:
    if path.suffix != ".yaml" or path.parent.name != "tests":
        return None
    pack_dir = path.parent.parent
    return pack_dir if (pack_dir / "pack.yaml").is_file() else None


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    """Collect pack case files."""
    if _pack_dir(file_path) is None:
        return None
    collected: PackCaseFile = PackCaseFile.from_parent(parent, path=file_path)
    return collected


class CaseFailedError(Exception):
    """A pack case did not produce what it expects."""


class PackCaseFile(pytest.File):
    """A ``tests/*.yaml`` file of a pack."""

    def collect(self) -> Iterator[pytest.Item]:
        from ..errors import CaseError  # noqa: PLC0415 - see the note on imports above
        from .cases import load_case_file  # noqa: PLC0415

        pack_dir = _pack_dir(self.path)
        assert pack_dir is not None
        try:
            case_file = load_case_file(self.path, shown=str(self.path.relative_to(pack_dir)))
        except CaseError as error:
            raise self.CollectError(str(error)) from None
        for index, case in enumerate(case_file.cases):
            item: PackCaseItem = PackCaseItem.from_parent(
                self, name=case.name, case_file=case_file, index=index, pack_dir=pack_dir
            )
            yield item


class PackCaseItem(pytest.Item):
    """One case of a pack."""

    def __init__(self, *, case_file: CaseFile, index: int, pack_dir: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case_file = case_file
        self.index = index
        self.pack_dir = pack_dir

    def runtest(self) -> None:
        from .cases import run_case  # noqa: PLC0415

        result = run_case(self.case_file, self.index, self.pack_dir, _cache())
        if not result.passed:
            raise CaseFailedError(result.report())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailedError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.case_file.lines[self.index]
        return self.path, (line - 1) if line else None, f"pack case: {self.name}"
