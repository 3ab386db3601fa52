"""Any bytes, any JSON, any field values: only commitrules' own errors, and no state change."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

import commitrules
from commitrules import CommitRulesError, Engine, EventError, EventValidationError
from commitrules._io import MAX_LINE_BYTES, read_lines
from commitrules.batch import check_files
from commitrules.events import _RFC3339, ComplaintReceived, _read_instant
from commitrules.testing import strategies
from tests.conftest import MARKETING

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


def test_check_files_reports_every_unreadable_line_with_its_number_and_goes_on(
    tmp_path: Path,
) -> None:
    good = MARKETING
    later = {**good, "id": "m2", "at": "2026-07-01T10:00:00+08:00"}
    lines = [
        json.dumps(good, ensure_ascii=False),  # 1: a violation
        "",  # 2: blank, skipped
        "{not json",  # 3
        json.dumps({**good, "id": "m3", "channel": 7}),  # 4: fails validation
        '{"x": "' + "y" * MAX_LINE_BYTES + '"}',  # 5: too long
        "   ",  # 6: blank
        json.dumps(later, ensure_ascii=False),  # 7: a violation
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen: list[tuple[int, str | None]] = []
    reported: list[int] = []
    result = check_files(
        [str(path)],
        PACK,
        on_line=lambda line: seen.append((line.number, line.error)),
        on_reject=lambda item: reported.append(item.line),
    )
    assert [(item.source, item.line) for item in result.rejected] == [
        (str(path), 3),
        (str(path), 4),
        (str(path), 5),
    ]
    assert reported == [3, 4, 5]
    assert "not JSON" in result.rejected[0].reason
    assert "channel" in result.rejected[1].reason
    assert "longer than" in result.rejected[2].reason
    assert len(result.rejected[2].raw) == 200
    assert [number for number, _ in seen] == [1, 3, 4, 5, 7]
    assert [error is None for _, error in seen] == [True, True, True, False, True]
    assert (result.stats.processed, result.stats.rejected) == (2, 3)
    assert [v.event_ids for v in result.violations] == [("m1",), ("m2",)]


_TIME_CHARACTERS = st.sampled_from("0123456789-+:TtZz .W\x00\u0663\uff11")


@given(
    st.sampled_from(
        ["2026-07-01T09:30:15+08:00", "2026-07-01T01:30:15Z", "2026-12-31T23:59:59-05:30"]
    ),
    st.lists(st.tuples(st.integers(0, 24), _TIME_CHARACTERS), max_size=3),
)
@example("2026-07-01T01:30:15Z", [(17, "Z"), (18, "\x00")])  # fromisoformat stops at a NUL
@example("2026-07-01T09:30:15+08:00", [(14, "Z"), (15, "\x00")])
def test_the_common_timestamp_shortcut_accepts_exactly_what_the_full_check_accepts(
    template: str, changes: list[tuple[int, str]]
) -> None:
    # _read_instant skips the RFC 3339 regular expression for the two common lengths when
    # the separators sit where they belong; it must decide every text as the full check does.

    characters = list(template)
    for position, character in changes:
        characters[position % len(characters)] = character
    text = "".join(characters)

    def full_check(value: str) -> dt.datetime | None:
        if _RFC3339.fullmatch(value) is None:
            return None
        try:
            return dt.datetime.fromisoformat(value[:-1] + "Z" if value[-1] == "z" else value)
        except ValueError:
            return None

    expected = full_check(text)
    assert _read_instant(text) == expected
    if expected is not None and not (
        dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
        <= expected
        <= dt.datetime(2200, 12, 31, tzinfo=dt.UTC)
    ):
        expected = None  # a time outside the supported range is refused, whatever its shape
    # The catalog reads a lone 'at' in the common shapes itself: the same decision.
    event = {"id": "e1", "type": "service_completed", "at": text, "request_id": "R1"}
    if expected is None:
        with pytest.raises(EventValidationError, match="at"):
            PACK.catalog.validate(event)
    else:
        assert PACK.catalog.validate(event)["at"] == expected


class TestTimestamps:
    """Event times are read by commitrules itself (fromisoformat, after the validator)."""

    BASE: ClassVar[dict[str, Any]] = {
        "id": "t1",
        "type": "complaint_received",
        "case_id": "K1",
        "customer_id": "C1",
        "channel": "phone",
        "category": "fees",
        "complexity": "simple",
        "branch_id": "B1",
    }

    @pytest.mark.parametrize(
        ("at", "reason"),
        [
            ("2026-07-01T10:00:00", "timezone"),
            ("2026-07-01", "timezone"),
            (1782871200, "not a number"),
            (1782871200.5, "not a number"),
            (True, "not a number"),
            ("1782871200", "RFC 3339"),  # pydantic's lax mode read this as Unix time in UTC
            ("20260701T100000+0800", "RFC 3339"),  # ISO 8601 basic format
            ("2026-W27-3T10:00:00+08:00", "RFC 3339"),  # ISO week date
            ("yesterday", "RFC 3339"),
            ("2026-07-01T10:00:00+08", "RFC 3339"),  # hour-only offset
            ("2026-07-01T10:00:00+08:00:30", "RFC 3339"),  # an offset with seconds
            ("2026-07-01@10:00:00+08:00", "RFC 3339"),  # any separator
            ("2026-07-01T10:00:00 +08:00", "RFC 3339"),  # a space before the offset
            ("2026-07-01T10:00:00.+08:00", "RFC 3339"),  # a dangling decimal point
            ("2026-07-01T10:00:00+08:00\x00", "RFC 3339"),  # a trailing NUL
            ("2026-13-01T10:00:00+08:00", "RFC 3339"),  # month 13
            ("\uff12\uff10\uff12\uff16-07-01T10:00:00+08:00", "RFC 3339"),  # full-width digits
            ("", "RFC 3339"),
            (None, "not null"),
            (["2026-07-01T10:00:00+08:00"], "RFC 3339"),
        ],
    )
    def test_a_bad_time_names_the_field_on_both_paths(self, at: object, reason: str) -> None:
        catalog = commitrules.load_pack().catalog
        event = {**self.BASE, "at": at}
        for validate in (catalog.validate, lambda e: catalog.validate_json(json.dumps(e))):
            with pytest.raises(EventValidationError, match=reason) as caught:
                validate(event)
            assert caught.value.location.key == "at"
            assert caught.value.location.event_id == "t1"

    @pytest.mark.parametrize(
        "at", ["1782871200", "2026-07-01T10:00:00", "2026-07-01T10:00:00+08", 1782871200]
    )
    def test_the_public_models_refuse_what_the_engine_refuses(self, at: object) -> None:
        with pytest.raises(ValidationError, match="at"):
            ComplaintReceived.model_validate({**self.BASE, "at": at})

    def test_a_bad_time_is_reported_with_the_other_problems(self) -> None:
        catalog = commitrules.load_pack().catalog
        with pytest.raises(EventValidationError) as caught:
            catalog.validate({**self.BASE, "at": "2026-07-01T10:00", "complexity": "hard"})
        keys = {problem.location.key for problem in caught.value.problems}
        assert keys == {"at", "complexity"}

    @pytest.mark.parametrize(
        ("at", "offset_minutes"),
        [
            ("2026-07-01T10:00:00+08:00", 480),
            ("2026-07-01T02:00:00Z", 0),
            ("2026-07-01T02:00:00.123456+00:00", 0),
            ("2026-07-01 10:00:00+08:00", 480),
            ("2026-06-30T21:00:00-05:00", -300),
            # What pydantic's parser also took, kept: lowercase t and z, no seconds, an
            # offset without its colon, more than six fraction digits (cut to µs).
            ("2026-07-01t02:00:00z", 0),
            ("2026-07-01T10:00+08:00", 480),
            ("2026-07-01T10:00:00+0800", 480),
            ("2026-07-01T02:00:00.1234567Z", 0),
        ],
    )
    def test_rfc_3339_times_are_read_exactly(self, at: str, offset_minutes: int) -> None:
        catalog = commitrules.load_pack().catalog
        for checked in (
            catalog.validate({**self.BASE, "at": at}),
            catalog.validate_json(json.dumps({**self.BASE, "at": at})),
        ):
            moment = checked["at"]
            assert type(moment.tzinfo) is dt.timezone  # fast to query, not tracked by the GC
            assert moment.utcoffset() == dt.timedelta(minutes=offset_minutes)
            assert moment == dt.datetime.fromisoformat(at.upper().replace("Z", "+00:00"))

    def test_an_aware_datetime_is_kept_as_given(self) -> None:
        zone = ZoneInfo("Asia/Shanghai")
        moment = dt.datetime(2026, 7, 1, 10, tzinfo=zone)
        checked = commitrules.load_pack().catalog.validate({**self.BASE, "at": moment})
        assert checked["at"] is moment
