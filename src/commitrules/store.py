"""A persistent checkpoint store (SQLite, from the standard library) for long-running services.

The engine's snapshot and the input position it has consumed are saved together, in one
transaction, so a restarted worker resumes exactly where the last checkpoint left it: it
restores the engine and skips the input it had already consumed.

Delivery is **at least once**: violations released after the last checkpoint and before a
crash are released again when the worker replays that input. Their ids are deterministic,
so a consumer that keeps the ids it has seen drops the repeats.

The store holds an open SQLite connection: use it as a context manager (or call
:meth:`CheckpointStore.close`), so the connection is closed when the work is done, not
whenever the garbage collector gets to it (Python 3.13 warns about such a connection).

>>> import commitrules, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pack = commitrules.load_pack()
>>> with CheckpointStore(folder / "state.db") as store:
...     engine, position = store.resume(pack)
...     store.save(engine, 0)
>>> position
0
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from ._io import read_lines
from ._json_limits import SNAPSHOT_MAX_DEPTH, decode
from .engine import Engine
from .errors import CheckpointError, CommitRulesError, SnapshotError
from .pack import Pack
from .violations import Violation

__all__ = ["CheckpointStore", "StreamRun", "run_log"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoint (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    pack_id TEXT NOT NULL,
    pack_digest TEXT NOT NULL,
    snapshot TEXT NOT NULL
)
"""


class CheckpointStore:
    """Checkpoints (engine snapshot + input position) in a SQLite file.

    A context manager: leaving the ``with`` block closes the connection.

    Raises:
        CheckpointError: (from any method) the file is not a checkpoint database, is
            damaged, locked or cannot be written; the message names the file and what to do.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        try:
            with self._database("open"):
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute(_SCHEMA)
        except CheckpointError:
            self._db.close()
            raise

    @contextmanager
    def _database(self, doing: str) -> Iterator[None]:
        """Turn a raw sqlite3 error into a CheckpointError that names the file and a remedy."""
        try:
            yield
        except sqlite3.DatabaseError as error:
            text = str(error)
            if "not a database" in text or "malformed" in text:
                what = (
                    f"{self.path} is not a readable checkpoint database ({text}): restore it "
                    "from a backup, or move it aside to start again from the beginning of the "
                    "log (its events are then processed again: at-least-once delivery)"
                )
            elif "locked" in text or "busy" in text:
                what = f"{self.path} is locked by another process ({text}): one worker per store"
            else:
                what = f"cannot {doing} the checkpoint database {self.path}: {text}"
            raise CheckpointError(what) from None

    def __enter__(self) -> CheckpointStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def save(self, engine: Engine, position: int, *, name: str = "default") -> None:
        """Save the engine's state and the input position it has consumed, atomically."""
        text = json.dumps(engine.snapshot(), ensure_ascii=False, separators=(",", ":"))
        ref = engine.pack.ref
        with self._database("save to"), self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO checkpoint "
                "(name, position, pack_id, pack_digest, snapshot) VALUES (?, ?, ?, ?, ?)",
                (name, position, ref.id, ref.digest, text),
            )

    def load(self, *, name: str = "default") -> tuple[Mapping[str, Any], int] | None:
        """The last checkpoint (snapshot, position), or None."""
        with self._database("read"):
            row = self._db.execute(
                "SELECT snapshot, position FROM checkpoint WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            return None
        try:
            snapshot = decode(row[0], max_depth=SNAPSHOT_MAX_DEPTH)
            position = int(row[1])
        except (TypeError, ValueError) as error:
            msg = f"checkpoint {name!r} in {self.path} cannot be read: {error}"
            raise SnapshotError(msg) from None
        return snapshot, position

    def resume(self, pack: Pack, *, name: str = "default", **options: Any) -> tuple[Engine, int]:
        """An engine restored from the last checkpoint and its position, or a new one at 0."""
        saved = self.load(name=name)
        if saved is None:
            return Engine(pack, **options), 0
        snapshot, position = saved
        return Engine.restore(pack, snapshot, **options), position

    def close(self) -> None:
        """Close the database (again is harmless)."""
        self._db.close()

    def _transaction(self) -> Any:
        db = self._db

        class _Tx:
            def __enter__(self) -> None:
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self, kind: Any, *_: Any) -> None:
                db.execute("COMMIT" if kind is None else "ROLLBACK")

        return _Tx()


@attrs.frozen
class StreamRun:
    """What :func:`run_log` did."""

    position: int
    resumed_from: int
    violations: int
    rejected: int


def run_log(
    pack: Pack,
    log: str | Path,
    store: CheckpointStore,
    *,
    sink: Callable[[Violation], None],
    every: int = 1000,
    on_reject: Callable[[int, str], None] | None = None,
    name: str = "default",
) -> StreamRun:
    """Process a JSON Lines event log with checkpoints; resume from the store if it has one.

    ``sink`` receives every violation as it is released. The position is the number of
    lines of the log consumed (rejected lines count: they are not retried).
    """
    engine, start = store.resume(pack, name=name)
    position = 0
    released = rejected = 0
    lines: Iterable[Any] = read_lines(str(log))
    for line in lines:
        position = line.number
        if position <= start:
            continue
        found: list[Violation] = []
        if line.error is not None:
            rejected += 1
            if on_reject is not None:
                on_reject(line.number, line.error)
        else:
            try:
                found = engine.process(line.record)
            except CommitRulesError as error:
                rejected += 1
                if on_reject is not None:
                    on_reject(line.number, str(error))
        for violation in found:
            sink(violation)
        released += len(found)
        if position % every == 0:
            store.save(engine, position, name=name)
    position = max(position, start)
    store.save(engine, position, name=name)
    return StreamRun(position=position, resumed_from=start, violations=released, rejected=rejected)
