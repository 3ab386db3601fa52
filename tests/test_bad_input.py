"""Any bytes, any JSON, any field values: only commitrules' own errors, and no state change."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import commitrules
from commitrules import CommitRulesError, Engine, EventError
from commitrules._io import read_lines
from commitrules.testing import strategies

PACK = commitrules.load_pack()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def mutate(event: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """A valid event with one field dropped, retyped or given an arbitrary value."""
    changed = copy.deepcopy(event)
    field = data.draw(st.sampled_from(sorted(changed)))
    action = data.draw(st.sampled_from(["drop", "value", "huge", "nested"]))
    if action == "drop":
        del changed[field]
    elif action == "value":
        changed[field] = data.draw(json_values)
    elif action == "huge":
        changed[field] = "x" * 100_000
    else:
        changed[field] = {"a": [changed.get(field)] * 3}
    return changed


def state_of(engine: Engine) -> str:
    snapshot = engine.snapshot()
    del snapshot["stats"]
    return json.dumps(snapshot, sort_keys=True)


@given(strategies.streams(PACK.catalog, max_size=12), st.data())
def test_a_mutated_event_raises_only_our_errors_and_changes_nothing(
    stream: list[dict[str, Any]], data: st.DataObject
) -> None:
    if not stream:
        return
    baseline = Engine(PACK)
    expected = baseline.process_many(stream)
    engine = Engine(PACK)
    found: list[commitrules.Violation] = []
    position = data.draw(st.integers(0, len(stream) - 1))
    for index, event in enumerate(stream):
        if index == position:
            bad = mutate(event, data)
            before = state_of(engine)
            try:
                found.extend(engine.process(bad))
            except CommitRulesError:
                assert state_of(engine) == before  # only the count of rejected events moved
            else:
                # The mutation happened to be valid: replay the same stream from scratch.
                return
        found.extend(engine.process(event))
    assert [v.id for v in found] == [v.id for v in expected]


@given(json_values)
def test_any_json_value_is_an_event_error(value: Any) -> None:
    engine = Engine(PACK)
    try:
        engine.process(value)
    except EventError:
        pass
    else:  # only a complete, valid event can pass
        assert isinstance(value, dict)


@given(st.binary(max_size=300))
def test_any_bytes_on_a_line_are_a_rejected_line_never_an_exception(
    tmp_path_factory: Any, raw: bytes
) -> None:
    path: Path = tmp_path_factory.mktemp("bytes") / "events.jsonl"
    path.write_bytes(raw)
    engine = Engine(PACK)
    for line in read_lines(str(path)):
        if line.error is None:
            with contextlib.suppress(EventError):
                engine.process(line.record)
