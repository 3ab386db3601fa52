"""The commitment report: its numbers against the engine's own output and a hand count."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

import commitrules
from commitrules import Violation
from commitrules.eventtime import parse_period, to_us
from commitrules.report import Report, build_report

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNTIL = dt.datetime(2026, 10, 31, tzinfo=SHANGHAI)
HOSTILE_BRANCH = "<script>alert('branch')</script>"
HOSTILE_INCIDENT = "<img src=x onerror=alert(1)>"
KINDS = ("violation", "escalation", "insufficient_sample", "excused")


def _stream() -> list[dict[str, Any]]:
    """Six complaints with known handling times, surveys, marketing and an incident."""
    events: list[dict[str, Any]] = []

    def add(event_type: str, at: str, **fields: Any) -> None:
        events.append(
            {"id": f"e{len(events) + 1:03d}", "type": event_type, "at": at + "+08:00", **fields}
        )

    def complaint(case: str, at: str, complexity: str = "simple") -> None:
        add(
            "complaint_received",
            at,
            case_id=case,
            customer_id="C-" + case,
            channel="phone",
            category="fees",
            branch_id="BR-SH-PD",
            assignee="S0007",
            complexity=complexity,
        )
        add("complaint_acknowledged", at[:11] + "18:00:00", case_id=case)

    # Handling days: K1 2.0, K2 10.0, K3 17.5 (late: due 07-18 end of day), K4 26.0
    # (complex, limit 30), K5 46.0 (extended with approval to 60), K6 never decided.
    complaint("K1", "2026-07-01T09:00:00")
    complaint("K2", "2026-07-02T10:00:00")
    add("complaint_resolved", "2026-07-03T09:00:00", case_id="K1", outcome="upheld")
    complaint("K3", "2026-07-03T09:00:00")
    complaint("K4", "2026-07-04T09:00:00", complexity="complex")
    complaint("K5", "2026-07-05T09:00:00")
    complaint("K6", "2026-07-06T09:00:00")
    add(
        "complaint_extended",
        "2026-07-10T09:00:00",
        case_id="K5",
        reason="needs an investigation",
        approved_by="MGR-1",
        complainant_notified=True,
    )
    add("complaint_resolved", "2026-07-12T10:00:00", case_id="K2", outcome="rejected")
    add(
        "marketing_published",
        "2026-07-15T10:00:00",
        material_id="M-1",
        channel="wechat",
        approved=True,
        approved_by="COMP-1",
        text="保本保收益",
        branch_id=HOSTILE_BRANCH,
    )
    add("complaint_resolved", "2026-07-20T21:00:00", case_id="K3", outcome="upheld")
    add("complaint_resolved", "2026-07-30T09:00:00", case_id="K4", outcome="upheld")
    # Surveys: disclosure 5 of 5 satisfied (met); service 4 of 6 (missed: 66.67% < 95%).
    for day in range(5):
        add(
            "survey_response",
            f"2026-08-0{day + 1}T11:00:00",
            survey="disclosure",
            customer_id=f"CD{day}",
            satisfied=True,
        )
    for day in range(6):
        add(
            "survey_response",
            f"2026-08-0{day + 1}T12:00:00",
            survey="service",
            customer_id=f"CS{day}",
            satisfied=day < 4,
        )
    add(
        "marketing_published",
        "2026-08-03T10:00:00",
        material_id="M-2",
        channel="branch",
        approved=False,
        text="A new fund",
        branch_id="BR-SH-XH",
    )
    add("complaint_resolved", "2026-08-20T09:00:00", case_id="K5", outcome="upheld")
    add(
        "security_incident",
        "2026-09-01T10:00:00",
        incident_id=HOSTILE_INCIDENT,
        kind="data leak",
        severity="major",
        customers_affected=3,
    )
    # After the third quarter: must not count in a 2026Q3 report.
    add(
        "marketing_published",
        "2026-10-05T10:00:00",
        material_id="M-3",
        channel="web",
        approved=False,
        text="Another fund",
        branch_id="BR-SH-XH",
    )
    # In event time (the pack allows no lateness); every offset is +08:00.
    return sorted(events, key=lambda event: event["at"])


@pytest.fixture(scope="module")
def pack() -> commitrules.Pack:
    # Surveys judged from five answers, so a hand-sized stream can meet and miss a target.
    return commitrules.load_pack(parameters={"survey_min_sample": 5})


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return _stream()


@pytest.fixture(scope="module")
def violations(pack: commitrules.Pack, events: list[dict[str, Any]]) -> list[Violation]:
    engine = commitrules.Engine(pack)
    found = engine.process_many(events)
    return found + engine.advance_to(UNTIL)


@pytest.fixture(scope="module")
def report(
    pack: commitrules.Pack, events: list[dict[str, Any]], violations: list[Violation]
) -> Report:
    return build_report(pack, events, violations, lang="en", until=UNTIL)


@pytest.fixture(scope="module")
def quarter(
    pack: commitrules.Pack, events: list[dict[str, Any]], violations: list[Violation]
) -> Report:
    return build_report(pack, events, violations, period="2026Q3", lang="zh", until=UNTIL)


@pytest.fixture(scope="module")
def html(report: Report) -> str:
    return report.to_html()


@pytest.fixture(scope="module")
def quarter_html(quarter: Report) -> str:
    return quarter.to_html()


def _moment(violation: Violation) -> int:
    """A finding's moment; a closed period's finding belongs to that period."""
    label = violation.evidence.get("period")
    if isinstance(label, str) and parse_period(label, SHANGHAI).end_us == to_us(violation.at):
        return parse_period(label, SHANGHAI).end_us - 1
    return to_us(violation.at)


def _in(label: str, violation: Violation) -> bool:
    period = parse_period(label, SHANGHAI)
    return period.start_us <= _moment(violation) < period.end_us


# -- the numbers ----------------------------------------------------------------------------


def test_the_stream_gives_the_findings_the_report_is_about(violations: list[Violation]) -> None:
    rules = {v.rule_id for v in violations}
    assert {"C1.marketing.banned-promise", "C1.marketing.unapproved", "W1.leak.incident"} <= rules
    assert "M3.satisfaction.quarterly" in rules
    assert "M1.satisfaction.quarterly" not in rules  # 5 of 5: met, so no finding


def test_violation_counts_per_clause_equal_the_engines_findings(
    report: Report, violations: list[Violation]
) -> None:
    engine_own = [v for v in violations if v.clause_id == "engine"]
    assert [row["rule_id"] for row in report.data["operational"]] == [v.rule_id for v in engine_own]
    violations = [v for v in violations if v.clause_id != "engine"]
    expected = Counter((v.clause_id, v.kind) for v in violations)
    rows = {row["id"]: row for row in report.data["clauses"]}
    for clause_id, row in rows.items():
        for kind in KINDS:
            assert row["counts"][kind] == expected[clause_id, kind], (clause_id, kind)
    assert sum(sum(row["counts"].values()) for row in rows.values()) == len(violations)
    assert report.data["findings"]["total"] == len(violations)
    assert report.data["findings"]["by_kind"] == {
        kind: sum(v.kind == kind for v in violations) for kind in KINDS
    }


def test_clauses_come_in_catalogue_order_with_their_status(
    report: Report, pack: commitrules.Pack
) -> None:
    rows = report.data["clauses"]
    assert [row["id"] for row in rows] == [clause.id for clause in pack.clauses]
    by_id = {row["id"]: row for row in rows}
    assert by_id["C1.marketing"]["status"] == "breached"
    assert by_id["C1"]["status"] == "breached_sub"
    deposits = by_id["C3.deposits"]
    assert deposits["status"] == "not_automatable"
    assert deposits["reason"] == pack.clause("C3.deposits").reason.en  # type: ignore[union-attr]
    assert by_id["M1.satisfaction"]["status"] == "kept"


def test_complaint_handling_matches_a_hand_count(report: Report) -> None:
    complaints = report.data["complaints"]
    assert complaints["received"] == 6
    assert complaints["resolved"] == 5
    assert complaints["open"] == 1
    assert complaints["open_overdue"] == 1  # K6 was due 07-21; judged through 10-31
    # K3 was late (17.5 days against 15); K4 (complex, 30) and K5 (extended, 60) were not.
    assert complaints["with_limit"] == 5
    assert complaints["within_limit"] == 4
    assert complaints["share_within_limit"] == 0.8
    # Days [2, 10, 17.5, 26, 46]: nearest rank p50 is the 3rd, p90 the 5th.
    assert complaints["days_p50"] == 17.5
    assert complaints["days_p90"] == 46.0
    assert complaints["days_max"] == 46.0
    assert complaints["limits"] == {"simple": 15, "complex": 30, "extended": 60}


def test_complaints_are_skipped_gracefully_when_the_pack_has_no_limit(
    pack: commitrules.Pack, events: list[dict[str, Any]]
) -> None:
    kept = {k: v for k, v in pack.parameters.items() if not k.startswith("complaint_decision")}
    other = attrs.evolve(pack, parameters=kept)
    data = build_report(other, events, [], until=UNTIL).data
    complaints = data["complaints"]
    assert complaints["resolved"] == 5
    assert complaints["with_limit"] == 0
    assert complaints["share_within_limit"] is None
    assert complaints["days_p50"] == 17.5
    assert complaints["limits"]["simple"] is None


def test_periodic_targets_report_met_missed_and_too_few(report: Report) -> None:
    targets = {t["rule_id"]: t for t in report.data["targets"]}
    disclosure = {row["period"]: row for row in targets["M1.satisfaction.quarterly"]["periods"]}
    assert disclosure["2026Q3"]["status"] == "met"
    assert disclosure["2026Q3"]["rate"] is None  # the engine records no rate for a met period
    service = {row["period"]: row for row in targets["M3.satisfaction.quarterly"]["periods"]}
    q3 = service["2026Q3"]
    assert (q3["status"], q3["numerator"], q3["denominator"]) == ("missed", 4, 6)
    assert q3["rate"] == round(4 / 6, 6)
    assert q3["target"] == 0.95
    assert q3["target_op"] == ">="
    # Q4 has not closed by the end of October: it is not reported.
    assert "2026Q4" not in service
    risk = {row["period"]: row for row in targets["M4.risk-rate.monthly"]["periods"]}
    assert [risk[m]["status"] for m in ("2026-07", "2026-08", "2026-09")] == [
        "insufficient_sample"
    ] * 3
    assert "2026-10" not in risk


def test_role_and_timeline_counts_add_up_to_the_breaches(
    report: Report, violations: list[Violation]
) -> None:
    breaches = [v for v in violations if v.kind in ("violation", "escalation")]
    by_role = Counter(v.role for v in breaches)
    assert {row["role"]: row["total"] for row in report.data["by_role"]} == by_role
    buckets = report.data["timeline"]["buckets"]
    assert sum(b["violation"] + b["escalation"] for b in buckets) == len(breaches)


def test_repeat_offenders_and_early_warnings(report: Report, violations: list[Violation]) -> None:
    branches = {item["id"]: item["count"] for item in report.data["offenders"]["branch_id"]}
    assert branches[HOSTILE_BRANCH] == 1
    assert branches["BR-SH-XH"] == 2  # M-2 and M-3 unapproved
    warnings = report.data["early_warnings"]
    expected = sorted(v.id for v in violations if v.clause_id.startswith(("W1", "W2")))
    assert sorted(w["id"] for w in warnings) == expected
    assert any(w["rule_id"] == "W1.leak.incident" for w in warnings)


def test_the_header_names_the_pack_and_the_events(
    report: Report, pack: commitrules.Pack, events: list[dict[str, Any]]
) -> None:
    data = report.data
    assert data["pack"]["digest"] == pack.digest
    assert (data["pack"]["id"], data["pack"]["profile"]) == (pack.id, "cn")
    assert data["events"]["in_period"] == len(events)
    assert data["period"] is None
    assert data["pack_mismatch"] == []


def test_the_data_is_json_ready(report: Report) -> None:
    assert json.loads(json.dumps(report.data)) == report.data


# -- the period ------------------------------------------------------------------------------


def test_a_period_leaves_out_what_happened_outside_it(
    quarter: Report, violations: list[Violation], events: list[dict[str, Any]]
) -> None:
    inside = [v for v in violations if _in("2026Q3", v)]
    outside = [v for v in violations if not _in("2026Q3", v)]
    assert outside, "the stream must have findings after the quarter"
    assert any(v.rule_id == "C1.marketing.unapproved" for v in outside)
    expected = Counter((v.clause_id, v.kind) for v in inside)
    for row in quarter.data["clauses"]:
        for kind in KINDS:
            assert row["counts"][kind] == expected[row["id"], kind], (row["id"], kind)
    assert quarter.data["findings"]["total"] == len(inside)
    assert quarter.data["period"]["label"] == "2026Q3"
    assert quarter.data["events"]["in_period"] == len(events) - 1
    # The Q3 findings of periodic targets (emitted on 1 October) belong to Q3.
    assert any(v.rule_id == "M3.satisfaction.quarterly" for v in inside)
    branches = {item["id"]: item["count"] for item in quarter.data["offenders"]["branch_id"]}
    assert branches["BR-SH-XH"] == 1


def test_a_period_label_must_be_one(pack: commitrules.Pack) -> None:
    with pytest.raises(ValueError, match="not a period label"):
        build_report(pack, [], [], period="2026Q5")
    with pytest.raises(ValueError, match="language"):
        build_report(pack, [], [], lang="fr")


def test_an_empty_report_still_renders(pack: commitrules.Pack) -> None:
    report = build_report(pack, [], [], period="2026", lang="zh")
    assert report.data["findings"]["total"] == 0
    assert report.data["complaints"]["received"] == 0
    assert "<svg" not in report.to_html()
    assert "誠信經營" in report.to_markdown()


# -- the HTML page ---------------------------------------------------------------------------


def test_the_page_is_self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert "<svg" in html
    assert "http://" not in html
    assert "https://" not in html
    assert not re.search(r"<(script|link|img|iframe|object)\b", html, re.IGNORECASE)
    assert not re.search(r"@import|url\((?!#)", html)


def test_the_page_escapes_hostile_event_text(html: str, quarter_html: str) -> None:
    for page in (html, quarter_html):
        assert "<script" not in page
        assert HOSTILE_INCIDENT not in page
        assert "&lt;script&gt;alert(&#x27;branch&#x27;)&lt;/script&gt;" in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_the_page_in_chinese_has_the_clause_titles(
    quarter_html: str, pack: commitrules.Pack
) -> None:
    assert '<html lang="zh-Hant">' in quarter_html
    for clause in pack.clauses:
        assert clause.title.zh in quarter_html
    assert "PingFang SC" in quarter_html
    assert "Noto Sans CJK SC" in quarter_html


def test_the_page_shows_the_counts(html: str, report: Report) -> None:
    row = next(r for r in report.data["clauses"] if r["id"] == "C1.marketing")
    counts = "".join(f'<td class="n">{row["counts"][kind]}</td>' for kind in KINDS)
    assert counts in html
    assert '<td class="n">80.0%</td>' in html  # share of complaints decided in time


def test_the_same_input_gives_the_same_bytes(
    pack: commitrules.Pack, events: list[dict[str, Any]], violations: list[Violation], html: str
) -> None:
    again = build_report(pack, list(reversed(events)), violations[::-1], lang="en", until=UNTIL)
    assert again.to_html() == html


def test_validated_events_give_the_same_report(
    pack: commitrules.Pack, events: list[dict[str, Any]], violations: list[Violation], html: str
) -> None:
    checked = [pack.catalog.validate(event) for event in events]
    report = build_report(pack, checked, violations, lang="en", until=UNTIL)
    assert report.to_html() == html


def test_repeated_and_invalid_events_are_counted_not_used(
    pack: commitrules.Pack, events: list[dict[str, Any]], violations: list[Violation]
) -> None:
    noisy = [*events, events[0], {"id": "bad", "type": "sale", "at": "yesterday"}]
    data = build_report(pack, noisy, violations, until=UNTIL).data
    assert (data["events"]["duplicates"], data["events"]["invalid"]) == (1, 1)
    assert data["complaints"]["received"] == 6


# -- the Markdown text -----------------------------------------------------------------------


def test_the_markdown_shows_the_same_counts(quarter: Report) -> None:
    text = quarter.to_markdown()
    for row in quarter.data["clauses"]:
        counts = " | ".join(str(row["counts"][kind]) for kind in KINDS)
        assert f"| {row['id']} | " in text
        assert re.search(rf"\| {re.escape(row['id'])} \|[^\n]*\| {counts} \|", text), row["id"]
    assert "| 80.0% |" in text
    assert "| 17.50 |" in text


def test_the_markdown_references_nothing_and_escapes_hostile_text(quarter: Report) -> None:
    text = quarter.to_markdown()
    assert "<script" not in text
    assert "<img" not in text
    assert "http" not in text
    assert "![" not in text
    # The chart data is given as tables.
    assert "2026-W27" in text


def test_late_complaints_agree_with_the_engines_deadline_findings(
    report: Report, violations: list[Violation]
) -> None:
    late = {
        v.subject["case_id"]
        for v in violations
        if v.clause_id == "C5.resolve" and v.kind == "violation"
    }
    assert late == {"K3", "K6"}
    complaints = report.data["complaints"]
    missed = complaints["with_limit"] - complaints["within_limit"]
    assert missed + complaints["open_overdue"] == len(late)


# -- the module ------------------------------------------------------------------------------


def test_the_module_examples_run() -> None:
    import doctest

    import commitrules.report

    failures, tried = doctest.testmod(commitrules.report, raise_on_error=False)
    assert (failures, tried > 0) == (0, True)


def test_without_matplotlib_the_error_names_the_extra(
    report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"commitrules\[report\]"):
        report.to_html()
    assert "C1.marketing" in report.to_markdown()  # Markdown needs no charts


def test_importing_the_report_does_not_import_matplotlib() -> None:
    import subprocess
    import sys

    code = "import sys, commitrules.report; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
