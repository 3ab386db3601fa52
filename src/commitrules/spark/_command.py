"""What ``commitrules spark check`` does, apart from the command line's own options."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

from ..pack import Pack
from ._runner import SparkResult, evaluate_spark
from ._session import local_session

__all__ = ["run_check", "session"]


def session(master: str | None) -> Any:
    """Under ``spark-submit`` the session the cluster configured (``--master`` there);
    otherwise a local session (``local[2]`` unless ``master`` says otherwise)."""
    if master is None and os.environ.get("PYSPARK_GATEWAY_PORT"):
        from pyspark.sql import SparkSession  # noqa: PLC0415 - the optional extra

        return SparkSession.builder.appName("commitrules").getOrCreate()
    return local_session(master or "local[2]")


def run_check(
    paths: Sequence[str],
    pack: Pack,
    *,
    master: str | None,
    partitions: int,
    until: dt.datetime | None,
    allow_float_decimals: bool,
    id_key: bytes | None,
) -> SparkResult:
    """Parquet files or folders through :func:`evaluate_spark` on the chosen session."""
    return evaluate_spark(
        list(paths),
        pack,
        spark=session(master),
        partitions=partitions,
        until=until,
        allow_float_decimals=allow_float_decimals,
        id_key=id_key,
    )
