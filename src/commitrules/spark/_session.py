"""A local Spark session for commitrules, and the check that Java is there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import CommitRulesError

__all__ = ["SparkUnavailableError", "java_problem", "local_session"]


class SparkUnavailableError(CommitRulesError):
    """Spark cannot start here: no Java, or a Java older than Spark needs."""


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        if candidate.exists():
            return str(candidate)
    return shutil.which("java")


def java_problem() -> str | None:
    """Why Spark cannot start on this machine (no Java 17 or later), or None.

    >>> java_problem() is None or "Java" in java_problem()
    True
    """
    java = _java()
    if java is None:
        return (
            "Spark needs Java 17 or later, and no 'java' was found (JAVA_HOME is not set and "
            "'java' is not on PATH): install a JDK, e.g. 'apt-get install openjdk-17-jre-headless'"
        )
    try:
        shown = subprocess.run(  # noqa: S603 - the machine's own java, no shell
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"Spark needs Java 17 or later, and {java} -version failed: {error}"
    text = shown.stderr + shown.stdout
    version = _major(text)
    if version is None or version < 17:
        first = text.strip().splitlines()[0] if text.strip() else "no output"
        return f"Spark needs Java 17 or later; {java} says: {first}"
    return None


def _major(text: str) -> int | None:
    """The major version in ``java -version``'s output ('"17.0.15"', '"1.8.0_402"')."""
    for part in text.split('"')[1::2]:
        numbers = part.split(".")
        if numbers and numbers[0].isdigit():
            major = int(numbers[0])
            if major == 1 and len(numbers) > 1 and numbers[1].isdigit():
                return int(numbers[1])
            return major
    return None


def local_session(
    master: str = "local[2]",
    *,
    shuffle_partitions: int = 4,
    app_name: str = "commitrules",
    config: dict[str, str] | None = None,
) -> Any:
    """A Spark session in local mode for commitrules (the UI off, few shuffle partitions,
    the session's time zone UTC, this interpreter as the workers' Python).

    Raises:
        SparkUnavailableError: no Java 17 or later on this machine.
    """
    problem = java_problem()
    if problem is not None:
        raise SparkUnavailableError(problem)
    # The workers must run the interpreter that has commitrules (a virtual environment's).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession  # noqa: PLC0415 - the optional extra

    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    for name, value in (config or {}).items():
        builder = builder.config(name, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
