"""What ``commitrules spark check`` and ``spark stream`` do, apart from the command line."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

from ..pack import Pack
from ._runner import SparkResult, evaluate_spark
from ._session import local_session
from ._streaming import StateMode, StreamResult, stream_spark

__all__ = ["run_check", "run_stream", "session"]


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


def run_stream(
    source: str,
    pack: Pack,
    *,
    master: str | None,
    partitions: int,
    until: dt.datetime | None,
    allow_float_decimals: bool,
    id_key: bytes | None,
    out: str | None,
    rejects: str | None,
    checkpoint: str,
    files_per_trigger: int,
    state: StateMode = "keyed",
) -> StreamResult:
    """A folder of Parquet files through :func:`stream_spark` on the chosen session."""
    return stream_spark(
        source,
        pack,
        spark=session(master),
        checkpoint=checkpoint,
        out=out,
        rejects=rejects,
        partitions=partitions,
        files_per_trigger=files_per_trigger,
        until=until,
        allow_float_decimals=allow_float_decimals,
        id_key=id_key,
        state=state,
    )
