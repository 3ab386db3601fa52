"""Polars expressions or pyarrow compute for vectorised checks: a measurement (issue 30).

    python benchmarks/vector_engines.py              # 1,000,000 rows
    python benchmarks/vector_engines.py --rows 100000

One typical condition of the default pack's single-event checks (``C1.recording.branch-wm-
agency``'s shape: text comparisons, a membership in a parameter list, a boolean and a text
that must be set) over seeded Arrow columns, evaluated to the per-row verdicts both ways:
pyarrow compute on the ``RecordBatch`` the table path reads, and polars expressions on the
same batch (its conversion to a polars frame included, as the evaluator would pay it).
Best of five; both must give the same verdicts.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

CATEGORIES = ["wealth_management", "fund", "agency_insurance", "deposit", "trust", "bond"]
CHANNELS = ["branch", "mobile", "online", "phone"]
BRANCH_RECORDING = ["wealth_management", "fund", "trust"]


def columns(rows: int, seed: int = 30) -> pa.RecordBatch:
    """Seeded columns of the shape the condition reads."""
    draw = random.Random(seed)
    return pa.record_batch(
        {
            "customer_type": [draw.choice(["individual", "institution"]) for _ in range(rows)],
            "channel": [draw.choice(CHANNELS) for _ in range(rows)],
            "product_category": [draw.choice(CATEGORIES) for _ in range(rows)],
            "recorded": [draw.random() < 0.9 for _ in range(rows)],
            "recording_id": [f"R-{i}" if draw.random() < 0.85 else None for i in range(rows)],
        }
    )


def with_arrow(batch: pa.RecordBatch) -> Any:
    """The verdict (True: violated) with pyarrow compute."""
    applies = pc.and_(
        pc.and_(
            pc.not_equal(batch.column("customer_type"), "institution"),
            pc.equal(batch.column("channel"), "branch"),
        ),
        pc.is_in(batch.column("product_category"), pa.array(BRANCH_RECORDING)),
    )
    held = pc.and_(batch.column("recorded"), pc.is_valid(batch.column("recording_id")))
    return pc.and_(applies, pc.invert(held))


def with_polars(batch: pa.RecordBatch) -> Any:
    """The same verdict with polars expressions (the conversion included)."""
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    applies = (
        (pl.col("customer_type") != "institution")
        & (pl.col("channel") == "branch")
        & pl.col("product_category").is_in(BRANCH_RECORDING)
    )
    held = pl.col("recorded") & pl.col("recording_id").is_not_null()
    return frame.select((applies & ~held).alias("violated")).to_series().to_arrow()


def best(function: Any, batch: pa.RecordBatch, repeats: int = 5) -> tuple[float, Any]:
    """The best time of ``repeats`` runs, and the result."""
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(batch)
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    """Measure both and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    arguments = parser.parse_args()
    batch = columns(arguments.rows)
    arrow_s, arrow_result = best(with_arrow, batch)
    polars_s, polars_result = best(with_polars, batch)
    assert arrow_result.to_pylist() == pa.chunked_array([polars_result]).to_pylist()
    print(f"rows: {arguments.rows:,}  pyarrow {pa.__version__}  polars {pl.__version__}")
    for name, seconds in (("pyarrow compute", arrow_s), ("polars", polars_s)):
        rate = arguments.rows / seconds / 1e6
        print(f"{name + ':':<16} {seconds * 1e3:8.2f} ms  ({rate:.0f} M rows/s)")
    print(f"ratio polars / pyarrow: {polars_s / arrow_s:.2f}")


if __name__ == "__main__":
    main()
