"""The vectorised path gives exactly what the per-event path gives (issue 30).

The equality of the table path (``tests/test_columnar_equality.py``: every field of every
violation, ids included, the outcomes, the refused rows, the snapshot and a restored
engine's continuation) holds unchanged with ``vectorised=True``; ``vector_plan`` says per
rule what is vectorised and what falls back, and why.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import commitrules  # noqa: E402
from commitrules import Engine  # noqa: E402
from commitrules.columnar import (  # noqa: E402
    evaluate_files,
    evaluate_table,
    events_table,
    format_plan,
    vector_plan,
)
from commitrules.columnar._evaluate import evaluate_pieces  # noqa: E402
from commitrules.columnar._sources import data_pieces  # noqa: E402
from commitrules.columnar._vector import VectorEvaluator  # noqa: E402
from commitrules.routing import Router  # noqa: E402
from commitrules.testing import strategies  # noqa: E402
from tests.conftest import MINI  # noqa: E402
from tests.test_columnar_equality import (  # noqa: E402
    DEFAULT,
    END,
    MINI_TYPES,
    Run,
    as_typed,
    assert_same,
    awkward_streams,
    check_equal,
    generated,  # noqa: F401 - the fixture
)

SMALL = commitrules.load_pack(MINI)

#: Checks on the mini pack's sales that use every construct the vectorised path translates:
#: optional fields (None) and defaults, text, whole numbers and booleans, ==, != and orders,
#: chained, in and not in, is None, is_set, not, and, or, a column against a column.
VECTOR_RULES = """
rules:
  - id: K1.vector-recorded
    kind: check
    clause: K1
    on: sale
    when: "customer_type != 'institution' and channel in ['branch', 'mobile']"
    require: "recorded and is_set(recording_id)"
    role: owner
    message: {zh: "未錄音", en: "Not recorded"}
  - id: K1.vector-elderly
    kind: check
    clause: K1
    on: sale
    forbid: >-
      customer_age is not None and customer_age >= 60 and product_risk > 3 and not extra_care
    key: [customer_id]
    role: owner
    message: {zh: "長者", en: "Elderly"}
  - id: K1.vector-capacity
    kind: check
    clause: K1
    on: sale
    when: "legal_capacity == 'limited' or legal_capacity is None"
    require: "guardian_consent == True or 1 <= product_risk <= 2"
    role: owner
    message: {zh: "監護", en: "Guardian"}
  - id: K1.vector-minor
    kind: check
    clause: K1
    on: sale
    forbid: "customer_type not in ['institution', 'professional'] and customer_age < 18"
    role: owner
    message: {zh: "未成年", en: "Minor"}
  - id: K1.vector-columns
    kind: check
    clause: K1
    on: sale
    require: "channel != currency or product_risk != 5"
    role: owner
    message: {zh: "欄", en: "Columns"}
  - id: K1.vector-told
    kind: check
    clause: K1
    on: service_requested
    require: "is_set(expected_completion)"
    role: owner
    message: {zh: "時限", en: "Told"}
  - id: K1.vector-hours
    kind: check
    clause: K1
    on: training_completed
    when: "not (hours is None)"
    forbid: "hours is None"
    role: owner
    message: {zh: "時數", en: "Hours"}
  - id: K1.vector-remedies
    kind: check
    clause: K1
    on: complaint_resolved
    forbid: "remedies_told is None"
    role: owner
    message: {zh: "救濟", en: "Remedies"}
  - id: K1.vector-lookup
    kind: check
    clause: K1
    on: sale
    require: "product_risk == lookup('products', product_id, 'risk_level')"
    role: owner
    message: {zh: "等級", en: "Level"}
  - id: K1.vector-exists
    kind: check
    clause: K1
    on: sale
    forbid: "not exists('products', product_id) and channel == 'branch'"
    role: owner
    message: {zh: "登記", en: "Registered"}
  - id: K1.vector-choice
    kind: check
    clause: K1
    on: sale
    forbid: >-
      (lookup('products', product_id, 'category') if exists('products', product_id)
      else product_category) == 'insurance' and not recorded
    role: owner
    message: {zh: "保險", en: "Insurance"}
  - id: K1.vector-extremes
    kind: check
    clause: K1
    on: sale
    forbid: >-
      max(product_risk, lookup('products', product_id, 'risk_level')) > 4
      and min(customer_age, 70) >= 65
    role: owner
    message: {zh: "極值", en: "Extremes"}
  - id: K1.vector-term
    kind: check
    clause: K1
    on: sale
    when: "lookup('products', product_id, 'category') == 'insurance'"
    require: "is_set(lookup('products', product_id, 'term')) or is_set(recording_id)"
    role: owner
    message: {zh: "期限", en: "Term"}
  - id: K1.vector-constants
    kind: check
    clause: K1
    on: sale
    forbid: >-
      lookup('products', params.home_product, 'risk_level') == product_risk
      and len(trim(params.home_label)) == 2 and is_set(params.home_product)
      and max(params.surge, product_risk) > 3
    role: owner
    message: {zh: "常量", en: "Constants"}
  - id: K1.vector-text
    kind: check
    clause: K1
    on: sale
    when: "recorded"
    require: >-
      len(trim(recording_id)) > 0 and exists('products', trim(' ' + product_id + '\\u3000'))
    role: owner
    message: {zh: "文字", en: "Text"}
"""

#: A register with rows limited by dates (P2 changes on 2 July, P3 starts on 3 July; P5's
#: second row is never the one in force, as its first comes first), a row without a risk
#: level, and products it does not know (the sales also name P9).
PRODUCTS = """
id: products
key: product_id
columns:
  product_id: {type: str}
  category: {type: str}
  risk_level: {type: int, optional: true}
  term: {type: int, optional: true}
rows:
  - {product_id: P1, category: fund, risk_level: 3}
  - {product_id: P2, category: insurance, risk_level: 2, valid_to: 2026-07-02}
  - {product_id: P2, category: insurance, risk_level: 5, term: 12, valid_from: 2026-07-02}
  - {product_id: P3, category: fund, risk_level: 5, valid_from: 2026-07-03}
  - {product_id: P4, category: insurance}
  - {product_id: P5, category: fund, risk_level: 1}
  - {product_id: P5, category: insurance, risk_level: 5, valid_from: 2026-07-02}
"""
PRODUCT_IDS = ["P1", "P2", "P3", "P4", "P5", "P9"]
#: Parameters of text that the vector rules read as constants (a key, a trimmed text).
HOME = """
  home_product:
    type: str
    value: P2
    source: {kind: internal_policy, citation: test, checked: true}
  home_label:
    type: str
    value: " \\u3000ab\\t"
    source: {kind: internal_policy, citation: test, checked: true}
"""

#: The types whose fields of other kinds (a time, a decimal, a list with a default) the
#: vector rules read for whether they are set.
PRESENCE_TYPES = ("service_requested", "training_completed", "complaint_resolved")


def _vector_pack() -> commitrules.Pack:
    folder = Path(tempfile.mkdtemp())
    try:
        shutil.copytree(MINI, folder / "pack")
        (folder / "pack" / "rules" / "vector.yaml").write_text(VECTOR_RULES, encoding="utf-8")
        (folder / "pack" / "tables" / "products.yaml").write_text(PRODUCTS, encoding="utf-8")
        with (folder / "pack" / "parameters.yaml").open("a", encoding="utf-8") as parameters:
            parameters.write(HOME)
        return commitrules.load_pack(folder / "pack")
    finally:
        shutil.rmtree(folder)


VECTOR = _vector_pack()


@settings(max_examples=10)
@given(awkward_streams(DEFAULT), st.integers(1, 12), st.integers(0, 40), st.booleans())
def test_the_vectorised_path_equals_the_per_event_path_on_the_default_pack(
    case: Any, batch_size: int, split: int, typed: bool
) -> None:
    stream, unknown, extra = case
    check_equal(DEFAULT, stream, unknown, extra, batch_size, split, typed, vectorised=True)


@settings(max_examples=25)
@given(awkward_streams(SMALL, MINI_TYPES), st.integers(1, 12), st.integers(0, 40), st.booleans())
def test_the_vectorised_path_equals_the_per_event_path_for_every_rule_kind(
    case: Any, batch_size: int, split: int, typed: bool
) -> None:
    stream, unknown, extra = case
    check_equal(SMALL, stream, unknown, extra, batch_size, split, typed, vectorised=True)


def _maybe(value: Any) -> Any:
    return st.one_of(st.just(_ABSENT), value)


_ABSENT = object()


@st.composite
def sales(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Sales whose values the vector rules tell apart (the generic strategy's random text
    seldom meets their constants): every optional field sometimes left out."""
    out = []
    moment = dt.datetime(2026, 7, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    for number in range(draw(st.integers(1, 25))):
        moment += dt.timedelta(minutes=draw(st.integers(0, 300)))
        event: dict[str, Any] = {
            "id": f"s{number}",
            "type": "sale",
            "at": moment.isoformat(),
            "customer_id": draw(st.sampled_from(["c1", "c2"])),
            "product_id": draw(st.sampled_from(PRODUCT_IDS)),
            "product_risk": draw(st.integers(1, 5)),
            "amount": "100",
            "currency": draw(st.sampled_from(["CNY", "branch"])),
            "staff_id": "s1",
            "branch_id": "b1",
            "channel": draw(st.sampled_from(["branch", "mobile", "online", "CNY"])),
            "recorded": draw(st.booleans()),
        }
        optional = {
            "customer_type": st.sampled_from(["institution", "individual", "professional"]),
            "customer_age": st.integers(10, 90),
            # White space as str.strip() knows it (the vector rules trim it).
            "recording_id": st.sampled_from(["r1", "", " \u3000", "\x1cr2\x85", "\u200b"]),
            "extra_care": st.booleans(),
            "legal_capacity": st.sampled_from(["limited", "full", "none"]),
            "guardian_consent": st.booleans(),
            "product_category": st.sampled_from(["insurance", "fund"]),
        }
        for name, values in optional.items():
            value = draw(_maybe(values))
            if value is not _ABSENT:
                event[name] = value
        out.append(event)
    return out


@settings(max_examples=25)
@given(sales(), st.integers(1, 12), st.integers(0, 30), st.booleans())
def test_the_vectorised_path_equals_the_per_event_path_for_every_translated_construct(
    stream: list[dict[str, Any]], batch_size: int, split: int, typed: bool
) -> None:
    check_equal(VECTOR, stream, set(), set(), batch_size, split, typed, vectorised=True)


@settings(max_examples=15)
@given(
    strategies.streams(
        VECTOR.catalog, types=PRESENCE_TYPES, max_size=30, max_gap=dt.timedelta(hours=5)
    ),
    st.integers(1, 12),
    st.integers(0, 30),
    st.booleans(),
)
def test_whether_a_field_of_any_kind_is_set_is_judged_over_columns_exactly(
    stream: list[dict[str, Any]], batch_size: int, split: int, typed: bool
) -> None:
    check_equal(VECTOR, stream, set(), set(), batch_size, split, typed, vectorised=True)


def test_a_time_field_left_out_breaks_the_check_and_a_list_default_is_left_to_the_row() -> None:
    base = {
        "type": "service_requested",
        "request_id": "q1",
        "customer_id": "c1",
        "service": "transfer",
        "branch_id": "b1",
        "channel": "branch",
        "materials_told": True,
    }
    requests = [
        {**base, "id": "r1", "at": "2026-07-01T09:00:00+08:00"},
        {
            **base,
            "id": "r2",
            "at": "2026-07-01T09:01:00+08:00",
            "expected_completion": "2026-07-02T09:00:00+08:00",
        },
    ]
    resolved = {"type": "complaint_resolved", "case_id": "k1", "outcome": "upheld"}
    requests += [
        {**resolved, "id": "k1", "at": "2026-07-01T09:02:00+08:00", "reasons_given": True},
        {
            **resolved,
            "id": "k2",
            "at": "2026-07-01T09:03:00+08:00",
            "reasons_given": True,
            "remedies_told": ["review"],
        },
    ]
    table = events_table(requests, VECTOR.catalog, timezone=VECTOR.timezone)
    engine = Engine(VECTOR)
    evaluator = VectorEvaluator(engine)
    with evaluator:
        result = evaluate_pieces(data_pieces(table, 10, "<t>"), engine, evaluator=evaluator)
    assert result.rejected == ()
    assert [(v.rule_id, v.event_ids) for v in result.violations] == [("K1.vector-told", ("r1",))]
    judge = evaluator.judges["service_requested"]
    assert (judge.decided, judge.undecided) == (2, 0)
    assert "service_requested" in evaluator.lean
    # remedies_told left out is its default (an empty list: set), which the row decides.
    judge = evaluator.judges["complaint_resolved"]
    assert (judge.decided, judge.undecided) == (1, 1)


def test_trim_removes_what_python_calls_white_space() -> None:
    from commitrules.columnar._vector import WHITESPACE

    assert "".join(c for c in map(chr, range(0x110000)) if c.isspace()) == WHITESPACE


def test_every_construct_of_the_vector_rules_is_vectorised() -> None:
    plan = {p.rule_id: p for p in vector_plan(VECTOR) if p.kind == "check"}
    assert all(plan[rule].vectorised for rule in plan if ".vector-" in rule), plan
    assert len([rule for rule in plan if ".vector-" in rule]) == 15


@pytest.mark.parametrize("typed", [False, True], ids=["as-written", "typed"])
def test_the_generated_stream_vectorised_from_parquet_equals_the_per_event_path(
    generated: list[dict[str, Any]],  # noqa: F811 - the fixture
    typed: bool,
    tmp_path: Path,
) -> None:
    pack = DEFAULT
    table = events_table(
        generated,
        pack.catalog,
        timezone=pack.timezone if typed else None,
        decimals="decimal" if typed else "text",
    )
    half = table.num_rows // 2
    for number, part in enumerate([table.slice(0, half), table.slice(half)]):
        pq.write_table(part, tmp_path / f"part-{number}.parquet", row_group_size=1000)
    events = as_typed(generated, pack) if typed else generated
    by_event = Run(pack)
    by_event.per_event(events)
    by_event.advance()
    by_table = Run(pack, vectorised=True)
    result = evaluate_files(
        tmp_path, engine=by_table.engine, batch_size=777, until=END, vectorised=True
    )
    by_table.violations = list(result.violations)
    assert not result.rejected
    assert_same(by_table, by_event)
    vectorised = {p.rule_id for p in vector_plan(pack) if p.vectorised}
    assert {v.rule_id for v in by_table.violations} & vectorised, "no vectorised finding"


def test_without_an_outcome_sink_the_held_checks_cost_nothing_and_findings_agree(
    generated: list[dict[str, Any]],  # noqa: F811 - the fixture
) -> None:
    pack = DEFAULT
    events = as_typed(generated, pack)
    by_event = Engine(pack)
    expected = by_event.process_many(events) + by_event.advance_to(END)
    for zone, undecided in ((pack.timezone, False), (None, True)):
        table = events_table(generated, pack.catalog, timezone=zone, decimals="text")
        engine = Engine(pack)
        evaluator = VectorEvaluator(engine)
        with evaluator:
            result = evaluate_pieces(
                data_pieces(table, 1000, "<table>"), engine, until=END, evaluator=evaluator
            )
        found = [v.to_dict() for v in result.violations]
        if zone is None:  # times as written (text): compared with the events as written
            as_written = Engine(pack)
            expected = as_written.process_many(generated) + as_written.advance_to(END)
        assert found == [v.to_dict() for v in expected]
        # Every verdict of a vectorised check came from the columns (nulls are defaults),
        # but for a look-up in a table with dated rows when the times are text: the rows'
        # own conditions decide those.
        assert evaluator.decided > 500
        assert (evaluator.undecided > 0) is undecided


def _incidents(counts: list[int]) -> list[dict[str, Any]]:
    return [
        {
            "id": f"i{number}",
            "type": "incident_classified",
            "at": f"2026-07-01T09:00:{number:02d}+08:00",
            "incident_id": f"I-{number}",
            "grade": "general",
            "cii": False,
            "pboc_business_area": False,
            "category": "intrusion",
            "personal_info_count": count,
            "customers_affected": 0,
        }
        for number, count in enumerate(counts)
    ]


def test_a_column_the_vectorised_checks_cannot_read_falls_back_to_the_rows_exactly() -> None:
    events = _incidents([5, 2_000_000, 20_000_000])
    table = events_table(events, DEFAULT.catalog, timezone=None, decimals="text")
    index = table.schema.get_field_index("personal_info_count")
    # pandas stores whole numbers with missing values as floats: accepted, not vectorised.
    as_float = table.set_column(
        index, "personal_info_count", table.column(index).cast(pa.float64())
    )
    expected_engine = Engine(DEFAULT)
    expected = [v.to_dict() for e in events for v in expected_engine.process(e)]
    assert expected, "the stream breaks the check"
    for data, vectorised in ((table, True), (as_float, False)):
        engine = Engine(DEFAULT)
        evaluator = VectorEvaluator(engine)
        with evaluator:
            result = evaluate_pieces(data_pieces(data, 2, "<t>"), engine, evaluator=evaluator)
        assert [v.to_dict() for v in result.violations] == expected
        judge = evaluator.judges["incident_classified"]
        assert (judge.decided > 0) is vectorised
        assert (judge.undecided > 0) is not vectorised


def test_the_engine_gets_its_own_judges_back_after_a_vectorised_run() -> None:
    engine = Engine(DEFAULT)
    before = {kind: route[1] for kind, route in engine._routes.items()}
    table = events_table(
        [
            {
                "id": "m1",
                "type": "marketing_published",
                "at": "2026-07-01T09:00:00+08:00",
                "material_id": "M-1",
                "channel": "wechat",
                "approved": False,
                "text": "ok",
            }
        ],
        DEFAULT.catalog,
    )
    result = evaluate_table(table, engine=engine, vectorised=True)
    assert [v.rule_id for v in result.violations] == ["C1.marketing.unapproved"]
    assert {kind: route[1] for kind, route in engine._routes.items()} == before


def test_the_plan_says_what_is_vectorised_and_why_the_rest_is_not() -> None:
    plan = {(p.rule_id, p.event_type): p for p in vector_plan(DEFAULT)}
    assert plan["C1.marketing.unapproved", "marketing_published"].vectorised
    assert plan["C3.privacy.cross-border.consent", "cross_border_transfer"].vectorised
    # Look-ups in tables (dated rows included), 'if ... else', max() and is_set of a time.
    assert plan["C1.risk-level.sale-level", "sale"].vectorised
    assert plan["C1.recording.cannot-judge", "sale"].vectorised
    assert plan["C3.suitability.legal-capacity", "sale"].vectorised
    assert plan["M3.transparency.told-at-start", "service_requested"].vectorised
    # Text joined into a key, trim() and len().
    assert plan["C3.privacy.authorised-role", "data_access"].vectorised
    assert plan["C3.privacy.purpose", "data_access"].vectorised
    reasons = {
        ("C1.marketing.banned-promise", "marketing_published"): "per row: the function mentions()",
        ("W1.leak.incident", "security_incident"): "per row: the function contains()",
        ("R3.appraisal.target-achievement", "staff_appraised"): (
            "per row: the field target_achievement (decimal)"
        ),
    }
    for key, reason in reasons.items():
        assert not plan[key].vectorised
        assert plan[key].reason == reason
    stateful = [p for p in plan.values() if p.kind != "check"]
    assert stateful
    assert all(not p.vectorised and p.reason.startswith("per row: a ") for p in stateful)
    text = format_plan(vector_plan(DEFAULT))
    assert "C1.marketing.unapproved" in text
    assert "vectorised" in text


def test_a_rollback_inside_a_vectorised_batch_replays_with_the_engines_own_judges(
    generated: list[dict[str, Any]],  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Routing fails at its 3rd and 9th call: the call rolls back and the engine replays its
    # journal (the earlier events of the batch, checks included), then the row is refused.
    events = generated[:2000]
    table = events_table(events, DEFAULT.catalog, timezone=None, decimals="text")
    route = Router.route

    def faulty_routing() -> Any:
        calls = itertools.count(1)

        def faulty(self: Router, *args: Any, **kwargs: Any) -> Any:
            if next(calls) in (3, 9):
                raise RuntimeError("injected fault")
            return route(self, *args, **kwargs)

        return faulty

    monkeypatch.setattr(Router, "route", faulty_routing())
    by_event = Run(DEFAULT)
    by_event.per_event(events)
    monkeypatch.setattr(Router, "route", faulty_routing())
    by_table = Run(DEFAULT, vectorised=True)
    by_table.table(table, batch_size=700)
    assert len(by_event.rejected) == 2
    assert all("failed at step 'routing'" in reason for _, reason in by_event.rejected)
    assert_same(by_table, by_event)
    assert by_table.engine.snapshot() == by_event.engine.snapshot()


def test_the_vectorised_modules_examples_run() -> None:
    import doctest

    from commitrules.columnar import _vector

    failures, tried = doctest.testmod(_vector, optionflags=doctest.ELLIPSIS)
    assert tried > 0
    assert failures == 0


def _data_access(number: int, at: str) -> dict[str, Any]:
    return {
        "id": f"d{number}",
        "type": "data_access",
        "at": at,
        "staff_id": "S-1",
        "staff_role": "teller",
        "customer_id": f"C{number}",
        "purpose": "service",
        "data_class": "internal",
    }


def _sale(number: int, at: str, *, recorded: bool) -> dict[str, Any]:
    return {
        "id": f"s{number}",
        "type": "sale",
        "at": at,
        "customer_id": f"C{number}",
        "product_id": "P-1",
        "product_risk": 3,
        "amount": "1000",
        "currency": "CNY",
        "staff_id": "S-1",
        "branch_id": "B-1",
        "channel": "branch",
        "recorded": recorded,
        "customer_age": 40,
    }


def _lean_stream() -> list[dict[str, Any]]:
    """Rows of a type no rule of the mini pack reads (the lean intake's), with a repeat,
    a conflicting repeat, a late row and one too far ahead among them, and sales between."""
    events = [_data_access(n, f"2026-07-01T09:{n:02d}:00+08:00") for n in range(6)]
    events.insert(2, dict(events[1]))  # a duplicate: dropped, counted
    events.insert(4, {**events[0], "purpose": "marketing"})  # a conflict: names the field
    events.append(_data_access(90, "2026-06-20T09:00:00+08:00"))  # late
    events.append(_data_access(91, "2029-01-01T09:00:00+08:00"))  # too far ahead
    events.append(_data_access(92, "2026-07-01T10:00:00+08:00"))
    return events


def test_quiet_rows_take_the_lean_intake_and_give_what_the_per_event_path_gives() -> None:
    pack = SMALL
    events = _lean_stream()
    events[5:5] = [_sale(n, f"2026-07-01T09:0{n}:30+08:00", recorded=n % 2 == 0) for n in (3, 4)]
    # Times as timestamps: the rows whose columns decide every field come validated.
    table = events_table(events, pack.catalog, timezone=pack.timezone, decimals="text")
    events = as_typed(events, pack)
    by_event = Run(pack)
    by_event.per_event(events)
    by_event.advance()
    engine = Engine(pack, outcomes=(outcomes := []).append)
    evaluator = VectorEvaluator(engine)
    assert "data_access" in evaluator.lean
    assert "sale" not in evaluator.lean
    with evaluator:
        result = evaluate_pieces(data_pieces(table, 4, "<t>"), engine, evaluator=evaluator)
    released = list(result.violations) + engine.advance_to(END)
    assert [v.to_dict() for v in released] == [v.to_dict() for v in by_event.violations]
    assert [o.to_dict() for o in outcomes] == [o.to_dict() for o in by_event.outcomes]
    assert [(row.row, row.reason) for row in result.rejected] == by_event.rejected
    assert engine.stats == by_event.engine.stats
    assert engine.snapshot() == by_event.engine.snapshot()
    # The repeat's conflict names the field, from the earlier row's values in the journal.
    reasons = dict(by_event.rejected)
    assert "different: purpose" in reasons[4]
    assert any("before the watermark" in r for r in reasons.values())
    assert any("ahead of the watermark" in r for r in reasons.values())
    # Every data_access row the engine accepted as new took the lean intake.
    refused = {position for position, _ in by_event.rejected}
    accepted = [
        position
        for position, event in enumerate(events)
        if event["type"] == "data_access" and position not in refused
    ]
    assert evaluator.lean_rows == len(accepted) - 1 > 3  # less the duplicate


def test_a_rollback_replays_the_rows_the_lean_intake_journaled_as_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Sales (each breaks a rule: routed) between runs of rows no rule reads (lean). Routing
    # fails at its 3rd call: the engine goes back to its checkpoint and replays the
    # journal, lean rows (kept as values) included, then refuses the sale.
    pack = SMALL
    events: list[dict[str, Any]] = []
    for n in range(8):
        hour = 9 + n
        events += [
            _data_access(10 * n + k, f"2026-07-01T{hour:02d}:{k:02d}:00+08:00") for k in range(4)
        ]
        events.append(_sale(n, f"2026-07-01T{hour:02d}:05:00+08:00", recorded=False))
    table = events_table(events, pack.catalog, timezone=pack.timezone, decimals="text")
    events = as_typed(events, pack)
    route = Router.route

    def faulty_routing() -> Any:
        calls = itertools.count(1)

        def faulty(self: Router, *args: Any, **kwargs: Any) -> Any:
            if next(calls) == 3:
                raise RuntimeError("injected fault")
            return route(self, *args, **kwargs)

        return faulty

    monkeypatch.setattr(Router, "route", faulty_routing())
    by_event = Run(pack)
    by_event.per_event(events)
    monkeypatch.setattr(Router, "route", faulty_routing())
    engine = Engine(pack, outcomes=(outcomes := []).append)
    evaluator = VectorEvaluator(engine)
    with evaluator:
        result = evaluate_pieces(data_pieces(table, 7, "<t>"), engine, evaluator=evaluator)
    assert len(by_event.rejected) == 1
    assert all("failed at step 'routing'" in reason for _, reason in by_event.rejected)
    assert [(row.row, row.reason) for row in result.rejected] == by_event.rejected
    assert [v.to_dict() for v in result.violations] == [v.to_dict() for v in by_event.violations]
    assert [o.to_dict() for o in outcomes] == [o.to_dict() for o in by_event.outcomes]
    assert evaluator.lean_rows == 32
    assert engine.snapshot() == by_event.engine.snapshot()
    assert engine.stats == by_event.engine.stats


def test_a_dated_register_row_is_in_force_from_its_first_midnight_to_before_its_last() -> None:
    zone = ZoneInfo(VECTOR.timezone)
    moments = [
        dt.datetime(2026, 7, 1, 23, 59, 59, 999_999, tzinfo=zone),
        dt.datetime(2026, 7, 2, tzinfo=zone),
        dt.datetime(2026, 7, 2, 23, 59, 59, 999_999, tzinfo=zone),
        dt.datetime(2026, 7, 3, tzinfo=zone),
    ]
    base = {
        "type": "sale",
        "customer_id": "c1",
        "amount": "100",
        "currency": "CNY",
        "staff_id": "s1",
        "branch_id": "b1",
        "channel": "branch",
        "recorded": False,
        "customer_age": 70,
        "product_risk": 2,
    }
    events = [
        {**base, "id": f"{product}-{number}", "product_id": product, "at": at.isoformat()}
        for number, at in enumerate(moments)
        for product in ("P2", "P3", "P5")
    ]
    table = events_table(events, VECTOR.catalog, timezone=VECTOR.timezone, decimals="text")
    by_event = Engine(VECTOR)
    expected = [v.to_dict() for e in as_typed(events, VECTOR) for v in by_event.process(e)]
    engine = Engine(VECTOR)
    evaluator = VectorEvaluator(engine)
    with evaluator:
        result = evaluate_pieces(data_pieces(table, 5, "<t>"), engine, evaluator=evaluator)
    assert [v.to_dict() for v in result.violations] == expected
    broken = {(v["rule_id"], v["event_ids"][0]) for v in expected}
    # P2's risk level is 2 until the midnight that starts 2 July, 5 from it on.
    assert ("K1.vector-lookup", "P2-0") not in broken
    assert ("K1.vector-lookup", "P2-1") in broken
    # P3 is unknown until 3 July; P5's first row stays in force.
    assert ("K1.vector-exists", "P3-2") in broken
    assert ("K1.vector-exists", "P3-3") not in broken
    assert ("K1.vector-lookup", "P5-3") in broken  # level 1 against the sale's 2
    assert evaluator.judges["sale"].undecided == 0
