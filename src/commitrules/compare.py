"""Reviewing a pack change like code: the violations it adds and removes on the same events.

>>> import commitrules
>>> old = commitrules.load_pack()
>>> new = commitrules.load_pack(parameters={"elderly_age": 60})
>>> change = compare_packs(old, new, [])
>>> change.added, change.removed
((), ())
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from .engine import Engine
from .errors import CommitRulesError
from .pack import Pack
from .violations import Violation

__all__ = ["PackChange", "compare_packs"]


@attrs.frozen
class PackChange:
    """Violations only the new pack finds (added), only the old one finds (removed)."""

    added: tuple[Violation, ...]
    removed: tuple[Violation, ...]
    unchanged: int
    rejected_old: int
    rejected_new: int


def _key(violation: Violation) -> tuple[Any, ...]:
    # Ids already cover rule, subject, events and time; kind and route changes show too.
    return (violation.id, violation.kind, violation.route, violation.severity)


def _run(
    pack: Pack, events: Sequence[Mapping[str, Any]], until: dt.datetime | None
) -> tuple[list[Violation], int]:
    engine = Engine(pack)
    found: list[Violation] = []
    rejected = 0
    for event in events:
        try:
            found.extend(engine.process(event))
        except CommitRulesError:
            rejected += 1
    if until is not None:
        found.extend(engine.advance_to(until))
    return found, rejected


def compare_packs(
    old: Pack, new: Pack, events: Iterable[Mapping[str, Any]], *, until: dt.datetime | None = None
) -> PackChange:
    """Run the same events through both packs and compare what they find."""
    stream = list(events)
    before, rejected_old = _run(old, stream, until)
    after, rejected_new = _run(new, stream, until)
    old_keys = {_key(v) for v in before}
    new_keys = {_key(v) for v in after}
    return PackChange(
        added=tuple(v for v in after if _key(v) not in old_keys),
        removed=tuple(v for v in before if _key(v) not in new_keys),
        unchanged=len(old_keys & new_keys),
        rejected_old=rejected_old,
        rejected_new=rejected_new,
    )
