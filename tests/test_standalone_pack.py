"""A stand-alone pack written from the guide alone (docs/standalone-pack.md): it is the
fixture tests/packs/payment-disputes, and it loads, lints, tests, reports, explains, exports
its schema and OSCAL with nothing that belongs to another pack."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

import commitrules
from commitrules.cli import main
from commitrules.explain import explain
from commitrules.lint import lint
from commitrules.oscal import assessment_results
from commitrules.report import build_report
from commitrules.testing import coverage, run_pack_tests, strategies
from tests.conftest import MINI, ROOT
from tests.test_docs import code_blocks

GUIDE = ROOT / "docs" / "standalone-pack.md"
PACK = ROOT / "tests" / "packs" / "payment-disputes"
LONDON = dt.timezone(dt.timedelta(hours=1))
END_OF_JULY = dt.datetime(2026, 8, 1, tzinfo=LONDON)


def _guide_files() -> dict[str, str]:
    """The files the guide writes, as its last block of each title leaves them."""
    return {block.title: block.text for block in code_blocks(GUIDE) if block.title is not None}


@pytest.fixture(scope="module")
def pack() -> commitrules.Pack:
    return commitrules.load_pack(PACK)


@pytest.fixture(scope="module")
def july() -> list[dict[str, Any]]:
    return [json.loads(line) for line in _guide_files()["july.jsonl"].splitlines()]


@pytest.fixture(scope="module")
def run(
    pack: commitrules.Pack, july: list[dict[str, Any]]
) -> tuple[list[commitrules.Violation], list[Any]]:
    outcomes: list[Any] = []
    engine = commitrules.Engine(pack, outcomes=outcomes.append)
    found = engine.process_many(july)
    return found + engine.advance_to(END_OF_JULY), outcomes


# -- the guide is the pack ------------------------------------------------------------------------


def test_the_guide_writes_exactly_the_fixture_pack() -> None:
    written = {
        name.removeprefix("payment-disputes/"): text
        for name, text in _guide_files().items()
        if name.startswith("payment-disputes/")
    }
    fixture = {
        str(path.relative_to(PACK)): path.read_text(encoding="utf-8")
        for path in sorted(PACK.rglob("*"))
        if path.is_file()
    }
    assert sorted(written) == sorted(fixture)
    for name, text in fixture.items():
        assert written[name] == text, f"docs/standalone-pack.md and {name} differ"


def test_it_is_stand_alone_and_different_in_shape_from_the_default_pack(
    pack: commitrules.Pack,
) -> None:
    default = commitrules.load_pack()
    assert pack.extends == ()
    assert pack.timezone != default.timezone
    assert pack.scope_fields == ("team",)
    assert not pack.tables
    assert {c.id for c in pack.clauses}.isdisjoint(c.id for c in default.clauses)
    own = {t.name for t in pack.catalog if not t.builtin}
    assert own == {
        "dispute_opened",
        "dispute_acknowledged",
        "holding_reply_sent",
        "dispute_resolved",
        "survey_response",
    }
    kinds = {kind for kind, _ in pack.catalog["dispute_opened"].fields.values()}
    assert kinds >= {"str", "int", "decimal", "bool", "datetime", "list"}


# -- it loads, lints and tests -------------------------------------------------------------------


def test_it_lints_clean_and_its_cases_cover_every_rule(pack: commitrules.Pack) -> None:
    report = lint(PACK)
    assert (report.errors, report.warnings) == ((), ())
    suite = run_pack_tests(PACK)
    assert suite.passed, "\n".join(r.report() for r in suite.results if not r.passed)
    covered = coverage(suite)
    assert covered.rule_percent == 100.0
    assert covered.clause_percent == 100.0


# -- a replaced built-in type -------------------------------------------------------------------


def test_its_survey_response_replaces_the_built_in_one(pack: commitrules.Pack) -> None:
    own = pack.catalog.json_schema("survey_response")["properties"]
    built_in = commitrules.event_json_schema("survey_response")["properties"]
    assert own["score"]["maximum"] == 10
    assert "satisfied" not in own
    assert "satisfied" in built_in  # event_json_schema belongs to no pack
    with pytest.raises(commitrules.EventValidationError, match="satisfied"):
        commitrules.Engine(pack).process(
            {
                "id": "x",
                "type": "survey_response",
                "at": "2026-07-01T10:00:00+01:00",
                "survey": "service",
                "customer_id": "C1",
                "satisfied": True,
            }
        )


def test_a_pack_that_extends_the_default_keeps_the_built_in_names(tmp_path: Path) -> None:
    (tmp_path / "pack.yaml").write_text(
        "id: child\nversion: 0.1.0\nname: {zh: 子, en: Child}\nextends: customer-commitments\n",
        encoding="utf-8",
    )
    (tmp_path / "events.yaml").write_text(
        "event_types:\n  sale:\n    fields: {amount: {type: decimal}}\n", encoding="utf-8"
    )
    with pytest.raises(commitrules.PackValidationError) as caught:
        commitrules.load_pack(tmp_path)
    assert "events.yaml:2:3: event_types.sale: event type 'sale' is built in; a pack that" in str(
        caught.value
    )


def test_a_stand_alone_pack_may_replace_a_built_in_type_its_rules_read(tmp_path: Path) -> None:
    pack_dir = tmp_path / "mini"
    shutil.copytree(MINI, pack_dir)
    shutil.rmtree(pack_dir / "tests")
    (pack_dir / "events.yaml").write_text(
        "event_types:\n"
        "  sale:\n"
        "    fields:\n"
        "      customer_id: {type: str}\n"
        "      product_risk: {type: int, min: 1, max: 5}\n"
        "      amount: {type: decimal, min: 0}\n",
        encoding="utf-8",
    )
    pack = commitrules.load_pack(pack_dir)
    found = commitrules.Engine(pack).process(
        {
            "id": "s1",
            "type": "sale",
            "at": "2026-07-01T10:00:00+08:00",
            "customer_id": "C1",
            "product_risk": 3,
            "amount": "900",
        }
    )
    assert "K1.amount" in {v.rule_id for v in found}


@settings(max_examples=25, database=None)
@given(data=strategies.st.data())
def test_strategies_draw_valid_events_of_every_type_of_the_pack(data: Any) -> None:
    pack = commitrules.load_pack(PACK)
    for name in pack.catalog.names:
        event = data.draw(strategies.events(pack.catalog, name))
        assert pack.catalog.validate(event)["type"] == name


def test_the_durable_backend_sees_the_pack_s_types(
    pack: commitrules.Pack, july: list[dict[str, Any]], run: tuple[list[Any], list[Any]]
) -> None:
    pytest.importorskip("durable")
    engine = commitrules.Engine(pack, backend="durable")
    found = engine.process_many(july) + engine.advance_to(END_OF_JULY)
    assert [v.id for v in found] == [v.id for v in run[0]]


# -- it reports, explains and exports ------------------------------------------------------------


OTHER_PACKS = ("Complaint", "投訴", "W1/W2", "Branch", "Staff", "customer-commitments")


def test_the_report_has_its_own_sections_and_nothing_of_another_pack(
    pack: commitrules.Pack, july: list[dict[str, Any]], run: tuple[list[Any], list[Any]]
) -> None:
    found, outcomes = run
    report = build_report(pack, july, found, until=END_OF_JULY, outcomes=outcomes)
    data = report.data
    assert [s["id"] for s in data["sections"]] == ["disputes", "fraud-alerts"]
    disputes = data["sections"][0]
    assert (disputes["received"], disputes["resolved"], disputes["open"]) == (4, 2, 2)
    assert (disputes["open_overdue"], disputes["with_limit"], disputes["within_limit"]) == (1, 2, 2)
    assert list(data["offenders"]) == ["team"]
    assert data["offenders"]["team"] == [{"id": "leeds", "count": 3}]
    for page in (report.to_markdown(), build_report(pack, july, found, lang="zh").to_markdown()):
        for text in OTHER_PACKS:
            assert text not in page, text


@pytest.mark.parametrize("where", [None, str(PACK), str(MINI)])
def test_the_report_is_derived_from_the_pack_it_reports(where: str | None) -> None:
    pack = commitrules.load_pack(where)
    data = build_report(pack, [], [], lang="en").data
    by_kind: dict[str, list[str]] = {}
    for spec in pack.rules:
        by_kind.setdefault(str(getattr(spec, "kind", "")), []).append(spec.id)
    checks = [r for r in (spec.id for spec in pack.rules) if r in by_kind.get("check", [])]
    checks += [r for r in (spec.id for spec in pack.rules) if r in by_kind.get("precedence", [])]
    assert sorted(row["rule_id"] for row in data["checks"]) == sorted(checks)
    assert [row["rule_id"] for row in data["deadlines"]] == by_kind.get("deadline", [])
    assert [row["rule_id"] for row in data["thresholds"]] == by_kind.get("threshold", [])
    assert [row["rule_id"] for row in data["targets"]] == by_kind.get("periodic_target", [])
    assert [row["id"] for row in data["clauses"]] == [c.id for c in pack.clauses]
    assert [s["id"] for s in data["sections"]] == [s.id for s in pack.report_sections]
    assert list(data["offenders"]) == list(pack.scope_fields)


def test_explain_oscal_and_schema_run_on_it(
    pack: commitrules.Pack,
    july: list[dict[str, Any]],
    run: tuple[list[Any], list[Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = explain(pack, july, until=END_OF_JULY)
    actions = {(line.event_id, line.rule_id): line.action for line in lines}
    assert actions["h2", "D2.resolve"] == "extended"
    assert actions["-", "D2.resolve"] == "escalated"  # the last line of the rule's clock
    first = dt.datetime(2026, 7, 1, 10, tzinfo=LONDON)
    document = assessment_results(pack, run[0], start=first, end=END_OF_JULY)
    text = json.dumps(document, ensure_ascii=False)
    assert "payment-disputes" in text
    assert "customer-commitments" not in text
    for name in pack.catalog.names:
        assert main(["schema", "--pack", str(PACK), name]) == 0
        json.loads(capsys.readouterr().out)


# -- the calendar file -------------------------------------------------------------------------


def test_the_calendar_file_is_the_pack_s_calendar(tmp_path: Path) -> None:
    pack_dir = tmp_path / "payment-disputes"
    shutil.copytree(PACK, pack_dir)
    calendar = pack_dir / "calendars" / "GB-ENG.yaml"
    # The bank closes on Tuesday 7 April 2026 too: a dispute opened on Thursday 2 April is
    # then due on Thursday 9 April (Good Friday, Easter Monday and the 7th are off).
    text = calendar.read_text(encoding="utf-8").replace(
        "      - {date: 2026-05-04,",
        "      - {date: 2026-04-07, name: Bank closure}\n      - {date: 2026-05-04,",
    )
    calendar.write_text(text, encoding="utf-8")
    engine = commitrules.Engine(commitrules.load_pack(pack_dir))
    engine.process(
        {
            "id": "o1",
            "type": "dispute_opened",
            "at": "2026-04-02T10:00:00+01:00",
            "dispute_id": "DP-1",
            "cardholder_id": "CH-1",
            "amount": "10",
            "currency": "GBP",
            "reason": "other",
            "paid_at": "2026-04-01T10:00:00+01:00",
            "team": "london",
        }
    )
    found = engine.advance_to(dt.datetime(2026, 4, 10, tzinfo=LONDON))
    missed = [v for v in found if v.rule_id == "D1.acknowledge"]
    assert [v.due_at.isoformat() if v.due_at else None for v in missed] == [
        "2026-04-09T23:59:59.999999+01:00"
    ]
