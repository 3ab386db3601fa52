"""The stage plan on Apache Spark: the single engine's violations from a cluster.

Needs the ``spark`` extra (``pip install 'commitrules[spark]'``: pyspark with pandas and
pyarrow) and Java 17 or later; the rest of commitrules works without it.
:func:`evaluate_spark` takes a Spark data frame or Parquet paths of events (the table
rules of :mod:`commitrules.columnar`) and runs the pack's plan
(:func:`commitrules.plan_for`): the admission in stream-position order as one task, each
keyed stage as ``groupBy(stage, bucket).applyInArrow`` with one engine per bucket, then the
periods, the thresholds over findings, the repeat escalations and the release on the
driver. Its violations, ids included, its outcomes and its refused rows are the single
engine's on the same rows in the same order. :func:`stream_spark` runs the same plan as a
Structured Streaming query, micro-batch by micro-batch, with the keyed stages' state kept
per key between them. See ``docs/scale.md``.
"""

from __future__ import annotations

try:
    import pyspark  # noqa: F401 - the extra's presence, checked once
except ImportError as missing:  # pragma: no cover - tested in a subprocess without pyspark
    msg = (
        "commitrules.spark needs pyspark, which is not installed: pip install 'commitrules[spark]'"
    )
    raise ImportError(msg, name="pyspark") from missing

from ._runner import SparkResult, evaluate_spark
from ._session import SparkUnavailableError, java_problem, local_session
from ._streaming import StreamResult, stream_spark

__all__ = [
    "SparkResult",
    "SparkUnavailableError",
    "StreamResult",
    "evaluate_spark",
    "java_problem",
    "local_session",
    "stream_spark",
]
