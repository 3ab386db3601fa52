"""State is evicted when it can no longer matter: memory stays bounded on an endless stream.

The soak benchmark (``benchmarks/soak.py``) measures it on ten million events; these tests
pin the mechanisms on streams long enough to cross every window many times.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import commitrules

CST = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 1, 5, 10, 0, tzinfo=CST)
DAYS = 400
PER_DAY = 10  # events a day: the engine sweeps every 1,024 events


def unrecorded_sale(day: int, index: int) -> dict[str, Any]:
    """Sales by the same staff member at the same branch: several violations each."""
    return {
        "id": f"s{day}-{index}",
        "type": "sale",
        "at": (START + dt.timedelta(days=day, minutes=index)).isoformat(),
        "customer_id": f"C{day}-{index}",
        "product_id": "FUND-EQ07",
        "product_risk": 4,
        "amount": "50000",
        "currency": "CNY",
        "staff_id": "S0004",
        "branch_id": "BR-SH-PD",
        "channel": "branch",
        "recorded": False,
    }


@pytest.fixture(scope="module")
def long_run() -> tuple[list[commitrules.Violation], list[dict[str, Any]]]:
    engine = commitrules.Engine(commitrules.load_pack())
    found: list[commitrules.Violation] = []
    snapshots = []
    for day in range(DAYS):
        for index in range(PER_DAY):
            found += engine.process(unrecorded_sale(day, index))
        if day % 50 == 49:
            snapshots.append(engine.snapshot())
    return found, snapshots


def test_repeat_counters_of_a_busy_staff_member_stay_within_their_window(
    long_run: tuple[list[commitrules.Violation], list[dict[str, Any]]],
) -> None:
    found, snapshots = long_run
    per_event = sum(1 for v in found if v.event_ids == ("s0-0",) and v.kind == "violation")
    assert per_event >= 2
    for snapshot in snapshots:
        lengths = [len(times) for counters in snapshot["router"] for _key, times in counters]
        # The findings of the last 30 days and of the events since the last sweep, never
        # the whole history (DAYS * PER_DAY * per_event).
        assert max(lengths) <= per_event * (31 * PER_DAY + 1024), max(lengths)
    assert len(found) > 2 * per_event * (31 * PER_DAY + 1024)
    # The counters still do their job: from the third finding within 30 days on, the
    # staff member's violations also reach the rights protection department.
    late = [v for v in found if v.event_ids == (f"s{DAYS - 1}-0",) and v.kind == "violation"]
    assert late
    assert all("rights-protection-dept" in v.route for v in late)


def test_seen_ids_are_kept_for_the_duplicate_horizon_only(
    long_run: tuple[list[commitrules.Violation], list[dict[str, Any]]],
) -> None:
    _found, snapshots = long_run
    sizes = [len(snapshot["seen"]) for snapshot in snapshots]
    # A 30-day horizon, swept every 1,024 events.
    assert max(sizes) <= 31 * PER_DAY + 1024, sizes
    assert sizes[-1] < DAYS * PER_DAY / 2
