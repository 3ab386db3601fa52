"""The garbage collector's pace during long runs (``commitrules._pace``)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import commitrules
from commitrules._pace import LONG_RUN_THRESHOLDS, long_run
from commitrules.batch import check_files
from tests.conftest import MARKETING


@pytest.fixture(autouse=True)
def _default_thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_a_long_run_collects_less_often_and_restores_the_callers_setting() -> None:
    with long_run():
        assert gc.get_threshold() == LONG_RUN_THRESHOLDS
        with long_run():  # nested: one setting
            assert gc.get_threshold() == LONG_RUN_THRESHOLDS
        assert gc.get_threshold() == LONG_RUN_THRESHOLDS
    assert gc.get_threshold() == (700, 10, 10)


def test_a_failing_run_restores_the_setting_too() -> None:
    with pytest.raises(RuntimeError), long_run():
        raise RuntimeError
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("caller", [(0, 10, 10), (100_000, 5, 5)])
def test_a_caller_who_collects_rarer_or_never_is_left_alone(caller: tuple[int, int, int]) -> None:
    gc.set_threshold(*caller)
    with long_run():
        assert gc.get_threshold() == caller
    assert gc.get_threshold() == caller


def test_overlapping_runs_in_two_threads_restore_only_when_the_last_ends() -> None:
    first_in = threading.Event()
    first_may_leave = threading.Event()
    second_done = threading.Event()
    seen: dict[str, Any] = {}

    def first() -> None:
        with long_run():
            first_in.set()
            first_may_leave.wait(10)
        seen["after first"] = gc.get_threshold()

    def second() -> None:
        first_in.wait(10)
        with long_run():
            seen["inside second"] = gc.get_threshold()
        seen["after second"] = gc.get_threshold()
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    second_done.wait(10)
    first_may_leave.set()
    for thread in threads:
        thread.join(10)
    assert seen["inside second"] == LONG_RUN_THRESHOLDS
    assert seen["after second"] == LONG_RUN_THRESHOLDS  # the first run still goes on
    assert seen["after first"] == (700, 10, 10)


def test_the_batch_entry_points_run_paced(tmp_path: Any) -> None:
    pack = commitrules.load_pack()
    engine = commitrules.Engine(pack)
    during: list[tuple[int, int, int]] = []

    def events() -> Iterator[dict[str, Any]]:
        for number in range(2):
            during.append(gc.get_threshold())
            yield {**MARKETING, "id": f"m{number}"}

    assert engine.process_many(events())
    lines = tmp_path / "events.jsonl"
    lines.write_text('{"id": "x"}\n', encoding="utf-8")
    check_files([str(lines)], pack, on_reject=lambda _: during.append(gc.get_threshold()))
    assert during == [LONG_RUN_THRESHOLDS] * 3
    assert gc.get_threshold() == (700, 10, 10)


def test_the_table_reader_runs_paced() -> None:
    pytest.importorskip("pyarrow")
    from commitrules.columnar import evaluate_table, events_table

    pack = commitrules.load_pack()
    table = events_table([MARKETING], pack.catalog, timezone=pack.timezone)
    during: list[tuple[int, int, int]] = []
    result = evaluate_table(
        table, pack, on_violations=lambda found: during.append(gc.get_threshold())
    )
    assert result.violations
    assert during == [LONG_RUN_THRESHOLDS]
    assert gc.get_threshold() == (700, 10, 10)
