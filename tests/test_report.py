"""The commitment report: its numbers against the engine's own output and a hand count."""

from __future__ import annotations

import datetime as dt
import hashlib
import html as html_module
import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import opencc
import pytest

import commitrules
from commitrules import Violation
from commitrules.eventtime import parse_period, to_us
from commitrules.report import Report, build_report
from tests.conftest import MINI

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
        approved_by="S0062",  # a manager of BR-SH-PD's superior institution
        complainant_notified=True,
        branch_id="BR-SH-PD",
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
    # The same branch again: a repeat offender (two violations or more) is listed.
    add(
        "marketing_published",
        "2026-07-16T10:00:00",
        material_id="M-4",
        channel="branch",
        approved=False,
        text="A fund",
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
def run(pack: commitrules.Pack, events: list[dict[str, Any]]) -> tuple[list[Violation], list[Any]]:
    outcomes: list[Any] = []
    engine = commitrules.Engine(pack, outcomes=outcomes.append)
    found = engine.process_many(events)
    return found + engine.advance_to(UNTIL), outcomes


@pytest.fixture(scope="module")
def violations(run: tuple[list[Violation], list[Any]]) -> list[Violation]:
    return run[0]


@pytest.fixture(scope="module")
def report(
    pack: commitrules.Pack,
    events: list[dict[str, Any]],
    run: tuple[list[Violation], list[Any]],
) -> Report:
    return build_report(pack, events, run[0], lang="en", until=UNTIL, outcomes=run[1])


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


def section(report: Report, section_id: str) -> dict[str, Any]:
    return next(s for s in report.data["sections"] if s["id"] == section_id)


def test_complaint_handling_matches_a_hand_count(report: Report) -> None:
    complaints = section(report, "complaints")
    assert (complaints["kind"], complaints["title"]) == ("case_handling", "Complaint handling")
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
    limits = {limit["rule_id"]: limit for limit in complaints["limits"]}
    assert limits["C5.resolve.simple"]["within"] == {
        "count": 15,
        "unit": "calendar_days",
        "param": "complaint_decision_days",
    }
    assert limits["C5.resolve.complex"]["within"]["count"] == 30
    assert [e["count"] for e in limits["C5.resolve.simple"]["extended"]] == [30, 60]


def test_the_complaint_section_reads_the_same_without_outcomes(
    pack: commitrules.Pack, events: list[dict[str, Any]], violations: list[Violation]
) -> None:
    plain = build_report(pack, events, violations, lang="en", until=UNTIL)
    complaints = section(plain, "complaints")
    assert (complaints["with_limit"], complaints["within_limit"]) == (5, 4)
    assert plain.data["outcomes_known"] is False
    deadlines = {row["rule_id"]: row for row in plain.data["deadlines"]}
    assert deadlines["C5.resolve.simple"]["opened"] is None
    assert deadlines["C5.resolve.simple"]["missed"] == 2


def test_deadlines_count_opened_met_missed_and_open(report: Report) -> None:
    deadlines = {row["rule_id"]: row for row in report.data["deadlines"]}
    simple = deadlines["C5.resolve.simple"]
    # K1, K2, K3, K5, K6 are simple; K3 and K6 missed, K1, K2 and K5 (extended) met.
    assert (simple["opened"], simple["met"], simple["missed"], simple["open"]) == (5, 3, 2, 0)
    assert simple["share_met"] == 0.6
    assert simple["limit"]["within"]["count"] == 15
    complex_ = deadlines["C5.resolve.complex"]
    assert (complex_["opened"], complex_["met"], complex_["missed"]) == (1, 1, 0)
    acknowledged = deadlines["C5.acknowledge.in-time"]
    assert (acknowledged["opened"], acknowledged["met"]) == (6, 6)


def test_checks_count_what_they_judged(report: Report, violations: list[Violation]) -> None:
    checks = {row["rule_id"]: row for row in report.data["checks"]}
    unapproved = checks["C1.marketing.unapproved"]
    # Four marketing texts: M-1 approved, M-2, M-3 and M-4 not.
    assert (unapproved["judged"], unapproved["held"]) == (4, 1)
    assert unapproved["counts"]["violation"] == sum(
        v.rule_id == "C1.marketing.unapproved" for v in violations
    )


def test_a_pack_without_complaints_has_no_complaint_section(
    mini_pack: commitrules.Pack,
) -> None:
    data = build_report(mini_pack, [], [], lang="en").data
    assert data["sections"] == []
    text = build_report(mini_pack, [], [], lang="en").to_markdown()
    assert "Complaint handling" not in text
    assert "W1/W2" not in text
    assert "Extended with approval" not in text


def test_periodic_targets_report_kept_missed_and_not_judged_with_rates(report: Report) -> None:
    targets = {t["rule_id"]: t for t in report.data["targets"]}
    disclosure = {row["period"]: row for row in targets["M1.satisfaction.quarterly"]["periods"]}
    kept = disclosure["2026Q3"]
    # With the engine's outcomes a kept period shows what it achieved (its outcome, not the
    # target's level) and on what sample.
    assert (kept["status"], kept["numerator"], kept["denominator"]) == ("kept", 5, 5)
    assert (kept["rate"], kept["target"], kept["min_sample"]) == (1.0, 0.95, 5)
    service = {row["period"]: row for row in targets["M3.satisfaction.quarterly"]["periods"]}
    q3 = service["2026Q3"]
    assert (q3["status"], q3["numerator"], q3["denominator"]) == ("missed", 4, 6)
    assert q3["rate"] == round(4 / 6, 6)
    assert q3["target"] == 0.95
    assert q3["target_op"] == ">="
    # Q4 has not closed by the end of October: it is not reported.
    assert "2026Q4" not in service
    # Months that counted no event at all say so (not "too few observations"), and have no rate.
    risk = {row["period"]: row for row in targets["M4.risk-rate.monthly"]["periods"]}
    rows = [risk[m] for m in ("2026-07", "2026-08", "2026-09")]
    # Not judged, never kept; the sample and the fewest needed shown.
    assert [(r["status"], r["reason"], r["denominator"], r["min_sample"]) for r in rows] == [
        ("not_judged", "no_events", 0, 500)
    ] * 3
    assert all(risk[m]["rate"] is None for m in risk)
    assert "2026-10" not in risk
    summary = targets["M4.risk-rate.monthly"]
    assert (summary["kept"], summary["missed"], summary["not_judged"]) == (0, 0, 3)
    text = report.to_markdown()
    assert "| 2026-07 | Not judged (no events counted) | 0 | 0 | — | &lt; 0.1% | 500 |" in text
    assert "| 2026Q3 | Kept | 5 | 5 | 100% | ≥ 95% | 5 |" in text


def test_without_outcomes_a_closed_period_is_taken_as_kept_with_its_rate_unknown(
    pack: commitrules.Pack,
    events: list[dict[str, Any]],
    violations: list[Violation],
) -> None:
    data = build_report(pack, events, violations, period="2026Q3", until=UNTIL).data
    targets = {t["rule_id"]: t for t in data["targets"]}
    (row,) = targets["M1.satisfaction.quarterly"]["periods"]
    assert (row["status"], row["rate"], row["denominator"]) == ("kept", None, None)


def test_a_period_never_judged_is_not_judged_when_the_outcomes_show_it(
    pack: commitrules.Pack, events: list[dict[str, Any]]
) -> None:
    # The engine tracked nothing before its first event: outcomes of another run, which
    # start later, judged no period of July; the report does not call July kept.
    late = [e for e in events if e["at"] >= "2026-08-01"]
    outcomes: list[Any] = []
    engine = commitrules.Engine(pack, outcomes=outcomes.append)
    found = engine.process_many(late)
    found += engine.advance_to(UNTIL)
    data = build_report(pack, events, found, until=UNTIL, outcomes=outcomes).data
    risk = {
        r["period"]: r
        for t in data["targets"]
        for r in t["periods"]
        if t["rule_id"] == "M4.risk-rate.monthly"
    }
    assert (risk["2026-07"]["status"], risk["2026-07"]["reason"]) == ("not_judged", "no_judgement")
    # August counted nothing: not judged for want of events, not of a judgement.
    assert (risk["2026-08"]["status"], risk["2026-08"]["reason"]) == ("not_judged", "no_events")


def test_a_period_with_too_few_observations_shows_its_sample_but_no_rate(
    events: list[dict[str, Any]],
) -> None:
    # Five answers where ten are needed: not judged, its sample shown, no rate judged on it.
    pack = commitrules.load_pack(parameters={"survey_min_sample": 10})
    outcomes: list[Any] = []
    engine = commitrules.Engine(pack, outcomes=outcomes.append)
    found = engine.process_many(events) + engine.advance_to(UNTIL)
    report = build_report(pack, events, found, until=UNTIL, outcomes=outcomes)
    (target,) = [t for t in report.data["targets"] if t["rule_id"] == "M1.satisfaction.quarterly"]
    (row,) = target["periods"]
    assert (row["status"], row["reason"]) == ("not_judged", "too_few")
    assert (row["numerator"], row["denominator"], row["min_sample"], row["rate"]) == (
        5,
        5,
        10,
        None,
    )
    assert "| 2026Q3 | Not judged (too few observations) | 5 | 5 | — | ≥ 95% | 10 |" in (
        report.to_markdown()
    )


def test_a_clause_whose_rules_judged_nothing_is_not_judged(report: Report) -> None:
    clauses = {row["id"]: row["status"] for row in report.data["clauses"]}
    # No review was asked for in the period: nothing was judged, nothing was kept.
    assert clauses["C5.review"] == "not_judged"
    # A threshold watches without outcomes: its silence counts as kept.
    assert clauses["W1"] in ("kept", "breached", "breached_sub")


def test_the_quarterly_complaint_statistics_count_by_category_channel_and_bucket(
    report: Report,
) -> None:
    stats = section(report, "complaint-statistics")
    assert stats["columns"] == [
        "period", "category", "channel", "received", "closed",
        "days_0_15", "days_16_30", "days_31_60", "days_over_60", "open",
    ]  # fmt: skip
    # K1 2 days, K2 10, K3 17, K4 26, K5 46, K6 open: all fees by phone, received in Q3.
    (row,) = stats["rows"]
    assert row == {
        "period": "2026Q3", "category": "fees", "channel": "phone", "received": 6,
        "closed": 5, "days_0_15": 2, "days_16_30": 2, "days_31_60": 1, "days_over_60": 0,
        "open": 1,
    }  # fmt: skip
    csv_text = report.to_csv("complaint-statistics")
    assert csv_text.splitlines()[1] == "2026Q3,fees,phone,6,5,2,2,1,0,1"
    assert csv_text.endswith("\r\n")
    with pytest.raises(KeyError, match="complaints"):
        report.to_csv("complaints")  # a case_handling section, not statistics


def test_a_statistics_cell_that_a_spreadsheet_would_run_is_neutralised(
    pack: commitrules.Pack,
) -> None:
    events = [
        {"id": "c1", "type": "complaint_received", "at": "2026-07-01T10:00:00+08:00",
         "case_id": "K-1", "customer_id": "C-1", "channel": "=HYPERLINK(1)",
         "category": "+fees", "branch_id": "BR-SH-PD"},
    ]  # fmt: skip
    report = build_report(pack, events, [], period="2026Q3")
    line = report.to_csv("complaint-statistics").splitlines()[1]
    assert line.startswith("2026Q3,'+fees,'=HYPERLINK(1),1,0,")


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
    assert branches[HOSTILE_BRANCH] == 2  # M-1 guaranteed returns, M-4 unapproved
    assert branches["BR-SH-XH"] == 2  # M-2 and M-3 unapproved
    warnings = section(report, "early-warnings")["findings"]
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
    # One violation in the quarter: not a repeat offender, so not listed.
    branches = {item["id"]: item["count"] for item in quarter.data["offenders"]["branch_id"]}
    assert "BR-SH-XH" not in branches
    assert min(branches.values()) >= 2


def test_a_period_label_must_be_one(pack: commitrules.Pack) -> None:
    with pytest.raises(ValueError, match="not a period label"):
        build_report(pack, [], [], period="2026Q5")
    with pytest.raises(ValueError, match="language"):
        build_report(pack, [], [], lang="fr")


def test_an_empty_report_still_renders(pack: commitrules.Pack) -> None:
    report = build_report(pack, [], [], period="2026", lang="zh")
    assert report.data["findings"]["total"] == 0
    assert section(report, "complaints")["received"] == 0
    assert "<svg" not in report.to_html()
    assert "诚信经营" in report.to_markdown()  # the cn profile's Chinese: Simplified


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
    # zh for the cn profile is Simplified: the pack's Traditional titles converted.
    convert = opencc.OpenCC("t2s.json").convert
    assert '<html lang="zh-Hans">' in quarter_html
    for clause in pack.clauses:
        assert html_module.escape(convert(clause.title.zh)) in quarter_html
    assert "PingFang SC" in quarter_html
    assert "Noto Sans CJK SC" in quarter_html


def test_the_page_shows_the_counts(html: str, report: Report) -> None:
    row = next(r for r in report.data["clauses"] if r["id"] == "C1.marketing")
    counts = "".join(f'<td class="n">{row["counts"][kind]}</td>' for kind in KINDS)
    assert counts in html
    assert '<td class="n">80.0%</td>' in html  # share of complaints decided in time


def test_the_same_input_gives_the_same_bytes(
    pack: commitrules.Pack,
    events: list[dict[str, Any]],
    run: tuple[list[Violation], list[Any]],
    html: str,
) -> None:
    found, outcomes = run
    again = build_report(
        pack, list(reversed(events)), found[::-1], lang="en", until=UNTIL, outcomes=outcomes
    )
    assert again.to_html() == html


def test_validated_events_give_the_same_report(
    pack: commitrules.Pack,
    events: list[dict[str, Any]],
    run: tuple[list[Violation], list[Any]],
    html: str,
) -> None:
    checked = [pack.catalog.validate(event) for event in events]
    report = build_report(pack, checked, run[0], lang="en", until=UNTIL, outcomes=run[1])
    assert report.to_html() == html


def test_repeated_and_invalid_events_are_counted_not_used(
    pack: commitrules.Pack, events: list[dict[str, Any]], violations: list[Violation]
) -> None:
    noisy = [*events, events[0], {"id": "bad", "type": "sale", "at": "yesterday"}]
    data = build_report(pack, noisy, violations, until=UNTIL).data
    assert (data["events"]["duplicates"], data["events"]["invalid"]) == (1, 1)
    assert next(s for s in data["sections"] if s["id"] == "complaints")["received"] == 6


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
    complaints = section(report, "complaints")
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


# -- what a pack declares --------------------------------------------------------------------


def test_a_statistics_section_is_checked_against_the_pack(tmp_path: Path) -> None:
    pack_dir = tmp_path / "mini"
    shutil.copytree(MINI, pack_dir)
    (pack_dir / "report.yaml").write_text(
        "sections:\n"
        "  - {id: stats, kind: case_statistics, title: {zh: 統計, en: Stats},\n"
        "     opened_by: complaint_received, closed_by: complaint_resolvd, key: case_id,\n"
        "     by: [category, chanel], buckets: [15, 30]}\n",
        encoding="utf-8",
    )
    with pytest.raises(commitrules.PackValidationError) as caught:
        commitrules.load_pack(pack_dir)
    found = "\n".join(str(p) for p in caught.value.problems)
    assert "sections[0].by[1]: event type 'complaint_received' has no field 'chanel'" in found
    assert "did you mean 'channel'?" in found
    assert "unknown event type 'complaint_resolvd'" in found
    (pack_dir / "report.yaml").write_text(
        "sections:\n"
        "  - {id: stats, kind: case_statistics, title: {zh: 統計, en: Stats},\n"
        "     opened_by: complaint_received, closed_by: complaint_resolved, key: case_id,\n"
        "     by: [category], buckets: [30, 15]}\n",
        encoding="utf-8",
    )
    with pytest.raises(commitrules.PackValidationError) as caught:
        commitrules.load_pack(pack_dir)
    assert "'buckets' are day counts in increasing order" in str(caught.value)


def test_statistics_buckets_count_calendar_days_from_the_day_received(
    pack: commitrules.Pack,
) -> None:
    # Received 1 July 23:00, closed 16 July 00:30: 15 calendar days (the first bucket, as
    # the 15-day deadline to the end of the day counts), though more than 15 x 24 hours.
    def complaint(case: str, at: str, **fields: Any) -> dict[str, Any]:
        return {"id": "r" + case, "type": "complaint_received", "at": at, "case_id": case,
                "customer_id": "C", "channel": "hotline", "category": "fees",
                "branch_id": "BR-SH-PD", **fields}  # fmt: skip

    def closed(case: str, at: str) -> dict[str, Any]:
        return {"id": "d" + case, "type": "complaint_resolved", "at": at, "case_id": case,
                "outcome": "upheld"}  # fmt: skip

    events = [
        complaint("A", "2026-07-01T23:00:00+08:00"),
        complaint("B", "2026-07-01T09:00:00+08:00"),
        complaint("C", "2026-09-30T09:00:00+08:00", channel="letter"),
        closed("A", "2026-07-16T00:30:00+08:00"),
        closed("B", "2026-07-17T09:00:00+08:00"),
        closed("C", "2026-12-30T09:00:00+08:00"),
    ]
    rows = build_report(pack, events, []).data["sections"]
    stats = next(s for s in rows if s["id"] == "complaint-statistics")
    by_channel = {row["channel"]: row for row in stats["rows"]}
    assert (by_channel["hotline"]["days_0_15"], by_channel["hotline"]["days_16_30"]) == (1, 1)
    # C was received in 2026Q3 and took 91 days: it belongs to Q3, in the last bucket.
    assert by_channel["letter"]["period"] == "2026Q3"
    assert by_channel["letter"]["days_over_60"] == 1
    # A report of 2026Q4 has no complaint received in it.
    q4 = build_report(pack, events, [], period="2026Q4").data["sections"]
    assert next(s for s in q4 if s["id"] == "complaint-statistics")["rows"] == []
    assert "No case in the period" in build_report(pack, events, [], period="2026Q4").to_markdown()


def test_a_section_is_checked_against_the_pack(tmp_path: Path) -> None:
    pack_dir = tmp_path / "mini"
    shutil.copytree(MINI, pack_dir)
    (pack_dir / "report.yaml").write_text(
        "sections:\n"
        "  - {id: cases, kind: case_handling, title: {zh: 案, en: Cases},\n"
        "     opened_by: complaint_recieved, closed_by: complaint_resolved, key: case,\n"
        "     limits: [K1.amount, D1.reslove]}\n"
        "  - {id: list, kind: findings, title: {zh: 表, en: List}, clauses: [Z9]}\n"
        "  - {id: other, kind: chart, title: {zh: 圖, en: Chart}}\n",
        encoding="utf-8",
    )
    with pytest.raises(commitrules.PackValidationError) as caught:
        commitrules.load_pack(pack_dir)
    found = "\n".join(str(p) for p in caught.value.problems)
    assert "unknown kind 'chart'; the kinds are case_handling, case_statistics, findings" in found
    (pack_dir / "report.yaml").write_text(
        (pack_dir / "report.yaml").read_text(encoding="utf-8").rsplit("  - {id: other", 1)[0],
        encoding="utf-8",
    )
    with pytest.raises(commitrules.PackValidationError) as caught:
        commitrules.load_pack(pack_dir)
    found = "\n".join(str(p) for p in caught.value.problems)
    assert (
        "report.yaml:3:6: sections[0].opened_by: unknown event type 'complaint_recieved'; "
        "did you mean 'complaint_received'?"
    ) in found
    assert "event type 'complaint_resolved' has no field 'case'; did you mean 'case_id'?" in found
    assert "rule 'K1.amount' is a check rule, not a deadline" in found
    assert "no rule 'D1.reslove'; did you mean 'D1.resolve'?" in found
    assert "sections[1].clauses[0]: unknown clause 'Z9'" in found


def test_an_extending_pack_replaces_a_section_by_its_id(tmp_path: Path) -> None:
    child = tmp_path / "child"
    child.mkdir()
    (child / "pack.yaml").write_text(
        "id: child\nversion: 0.1.0\nname: {zh: 子, en: Child}\nextends: customer-commitments\n",
        encoding="utf-8",
    )
    (child / "report.yaml").write_text(
        "sections:\n"
        "  - {id: early-warnings, kind: findings, title: {zh: 預警, en: Warnings}, clauses: [W1]}\n"
        "  - {id: marketing, kind: findings, title: {zh: 營銷, en: Marketing},"
        " rules: [C1.marketing.unapproved]}\n",
        encoding="utf-8",
    )
    pack = commitrules.load_pack(child)
    assert [(s.id, s.title.en) for s in pack.report_sections] == [
        ("complaints", "Complaint handling"),
        ("complaint-statistics", "Complaint statistics (quarterly)"),
        ("early-warnings", "Warnings"),
        ("marketing", "Marketing"),
    ]


def test_a_disabled_rule_leaves_the_inherited_section_without_it(tmp_path: Path) -> None:
    child = tmp_path / "child"
    child.mkdir()
    (child / "pack.yaml").write_text(
        "id: child\nversion: 0.1.0\nname: {zh: 子, en: Child}\nextends: customer-commitments\n"
        "disable:\n"
        "  - {rule: C5.resolve.simple, reason: decided by the group's pack}\n",
        encoding="utf-8",
    )
    pack = commitrules.load_pack(child)
    complaints = next(s for s in pack.report_sections if s.id == "complaints")
    assert complaints.limits == ["C5.resolve.complex"]  # type: ignore[union-attr]


# -- issue 26: the report as a compliance officer reads it -------------------------------------


def _target_figure(rows: list[dict[str, Any]], lang: str = "en") -> Any:
    from commitrules.report._charts import _target
    from commitrules.report._text import words

    target = {"rule_id": "M4", "title": "Risk", "grouped": False, "periods": rows}
    return _target(target, words(lang))


def _period(
    label: str, status: str, numerator: int | None, denominator: int | None, reason: str = ""
) -> dict[str, Any]:
    """A period row as the report's data gives it: a period not judged has no rate."""
    rate = None
    if numerator is not None and denominator and status != "not_judged":
        rate = round(numerator / denominator, 6)
    return {
        "period": label,
        "status": status,
        "reason": reason or None,
        "numerator": numerator,
        "denominator": denominator,
        "rate": rate,
        "target_op": "<",
        "target": 0.001,
        "min_sample": 500,
        "findings": 0,
    }


def test_the_rate_chart_plots_achieved_rates_on_an_axis_from_zero() -> None:
    figure = _target_figure(
        [
            _period("2026-07", "kept", 0, 555),
            _period("2026-08", "kept", 0, 565),
            _period("2026-09", "missed", 2, 569),
        ]
    )
    (axes,) = figure.axes
    assert axes.get_ylim()[0] == 0
    plotted = {
        line.get_label(): list(line.get_ydata())
        for line in axes.lines
        if line.get_marker() != "None"
    }
    # July and August at 0%, not on the 0.1% target line; September at 0.3515%.
    assert plotted["Kept"] == [0.0, 0.0]
    assert plotted["Missed"] == [pytest.approx(0.3515)]


def test_the_rate_chart_marks_periods_not_judged_and_without_events() -> None:
    figure = _target_figure(
        [
            _period("2026-07", "not_judged", 0, 0, "no_events"),
            _period("2026-08", "not_judged", 1, 3, "too_few"),
            _period("2026-09", "not_judged", None, None, "no_judgement"),
            _period("2026-10", "kept", 0, 569),
        ]
    )
    (axes,) = figure.axes
    texts = [text.get_text() for text in axes.texts]
    assert {"no events", "too few to judge", "not judged"} <= set(texts)
    assert sum(patch.get_gid() == "not-judged" for patch in axes.patches) == 3
    # Nothing is plotted for a period not judged: only October's 0%.
    plotted = [list(line.get_xdata()) for line in axes.lines if line.get_marker() != "None"]
    assert plotted == [[3]]


def test_the_rate_chart_marks_a_kept_period_whose_rate_is_unknown_instead_of_drawing_it() -> None:
    # Without the engine's outcomes a kept period has no rate: issue 26 found such months drawn
    # on the target line, read as "at the limit". They are labelled in their column instead.
    figure = _target_figure(
        [
            _period("2026-07", "kept", None, None),
            _period("2026-08", "missed", 2, 569),
        ]
    )
    (axes,) = figure.axes
    assert [text.get_text() for text in axes.texts if text.get_rotation() == 90] == [
        "kept, rate unknown"
    ]
    plotted = {
        line.get_label(): list(line.get_xdata())
        for line in axes.lines
        if line.get_marker() != "None"
    }
    assert plotted == {"Missed": [1]}


def test_the_target_table_reads_no_events_not_too_few_observations(
    report: Report,
) -> None:
    text = report.to_markdown()
    assert "| 2026-07 | Not judged (no events counted) |" in text
    assert "Too few observations" not in text.split("## Measurable targets")[1].split("##")[0]


def test_zh_is_the_script_of_the_profile(events: list[dict[str, Any]]) -> None:
    cn = commitrules.load_pack()
    hk = commitrules.load_pack(profile="hk")
    assert build_report(cn, [], [], lang="zh").lang == "zh-Hans"
    assert build_report(hk, [], [], lang="zh").lang == "zh-Hant"
    # Either script can be asked for explicitly, whatever the profile.
    assert build_report(hk, [], [], lang="zh-Hans").lang == "zh-Hans"
    traditional = build_report(cn, [], [], lang="zh-Hant").data
    simplified = build_report(cn, [], [], lang="zh-Hans").data
    titles = {row["id"]: row["title"] for row in traditional["clauses"]}
    assert titles["C1"] == next(c.title.zh for c in cn.clauses if c.id == "C1")
    assert traditional["conversion"] is None  # the pack writes Traditional: nothing converted
    assert simplified["conversion"]["config"] == "t2s.json"
    assert simplified["conversion"]["library"].startswith("OpenCC ")
    assert next(r["title"] for r in simplified["clauses"] if r["id"] == "C1") == "诚信经营"


def test_a_pack_in_simplified_is_converted_to_traditional() -> None:
    from commitrules.report._language import resolve

    language = resolve("zh-Hant", "Asia/Hong_Kong", ["投诉处理", "数据安全"])
    assert language.conversion == "s2t.json"
    assert language.convert("投诉处理") == "投訴處理"
    # Already Traditional: left alone (OpenCC's s2t would turn 考核 into 考覈).
    assert resolve("zh-Hant", "Asia/Hong_Kong", ["績效考核"]).convert("績效考核") == "績效考核"


def test_chinese_severities_and_kinds_are_words(quarter: Report) -> None:
    text = quarter.to_markdown()
    table = text.split("## 预警及应急")[1]
    assert "| high |" not in text
    assert "| critical |" not in text
    assert "| 严重 |" in table or "| 高 |" in table
    # One finding is a 违规, the column counting them is 违规数.
    assert "| 违规 |" in table


def test_english_kind_labels_are_singular_for_one_finding(report: Report) -> None:
    table = section_markdown(report.to_markdown(), "Early warnings")
    assert "| Violation |" in table
    assert "| Violations |" not in table
    assert "| High |" in table or "| Critical |" in table


def section_markdown(text: str, title: str) -> str:
    return text.split(f"## {title}")[1].split("\n## ", maxsplit=1)[0]


def test_chinese_words_use_full_width_punctuation() -> None:
    from commitrules.report._text import _TEXT

    for key, (traditional, simplified, _) in _TEXT.items():
        for text in (traditional, simplified):
            assert not re.search(r"[(),:;!?]", text), (key, text)


def test_each_language_has_its_own_fonts_latin_first_for_english() -> None:
    from commitrules.report._text import FONTS

    assert FONTS["en"].startswith('"Helvetica Neue", Arial')
    assert FONTS["zh-Hans"].startswith('"PingFang SC"')
    assert FONTS["zh-Hant"].startswith('"PingFang TC"')
    assert " SC" not in FONTS["zh-Hant"]
    assert " TC" not in FONTS["zh-Hans"]


def test_identifiers_keep_whole_and_only_the_digest_may_break(html: str) -> None:
    style = html.split("<style>")[1].split("</style>", maxsplit=1)[0]
    css = re.sub(r"/\*.*?\*/", "", style, flags=re.DOTALL)
    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", css)
    breaking = [selector.strip() for selector, body in rules if "break-all" in body]
    assert breaking == [".hash"]
    assert re.search(r"\.id \{ white-space: nowrap; \}", css)
    assert '<td class="id">C1.marketing.unapproved</td>' in html


def test_the_page_prints_on_a4_with_page_numbers(html: str, quarter_html: str) -> None:
    assert "size: A4;" in html
    assert '@bottom-center { content: "Page " counter(page) " of " counter(pages);' in html
    assert '"第 " counter(page) " 页，共 " counter(pages) " 页"' in quarter_html  # noqa: RUF001


def test_the_summary_names_the_input_files_and_the_zone(
    pack: commitrules.Pack, events: list[dict[str, Any]], tmp_path: Path
) -> None:
    stream = tmp_path / "july.jsonl"
    stream.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    report = build_report(pack, events, [], lang="en", inputs=[stream, "-"])
    digest = hashlib.sha256(stream.read_bytes()).hexdigest()
    assert report.data["inputs"] == [
        {"name": str(stream), "bytes": stream.stat().st_size, "sha256": digest},
        {"name": "-", "bytes": None, "sha256": None},
    ]
    page = report.to_html()
    assert digest in page
    assert f'<td class="hash">{pack.digest}</td>' in page
    assert "Judged through (Asia/Shanghai)" in page
    assert '<th>Time zone</th><td class="id">Asia/Shanghai</td>' in page
    assert "standard input (no file)" in page
    # Without files (events passed in by a program) the summary says so.
    assert "Not given (events passed in by a program)" in build_report(pack, [], []).to_html()


def test_findings_tables_name_the_zone_of_their_times(report: Report) -> None:
    text = report.to_markdown()
    assert "| Time (Asia/Shanghai) | Clause |" in text
    assert "| Period (Asia/Shanghai) | Status |" in text


def test_provisional_corrections_and_operational_findings_are_shown_apart(
    pack: commitrules.Pack, events: list[dict[str, Any]], violations: list[Violation]
) -> None:
    import attrs

    warning = next(v for v in violations if v.clause_id.startswith("W1"))
    provisional = attrs.evolve(warning, id="p-1", provisional=True)
    withdrawn = next(v for v in violations if v.rule_id == "C1.marketing.unapproved")
    correction = attrs.evolve(withdrawn, id="corr-1", kind="correction", refers_to=withdrawn.id)
    operational = attrs.evolve(
        warning, id="op-1", kind="operational", clause_id="engine", rule_id="engine.calendar"
    )
    found = [v for v in violations if v.id != warning.id]
    found += [provisional, correction, operational]
    report = build_report(pack, events, found, lang="en", until=UNTIL)
    data = report.data
    assert data["findings"]["provisional"] == 1
    assert data["findings"]["withdrawn"] == 1
    assert [row["id"] for row in data["corrections"]] == ["corr-1"]
    assert "op-1" in [row["id"] for row in data["operational"]]
    # The withdrawn finding counts nowhere; the engine's findings count against no clause.
    unapproved = next(row for row in data["checks"] if row["rule_id"] == "C1.marketing.unapproved")
    before = next(
        row
        for row in build_report(pack, events, violations, lang="en").data["checks"]
        if row["rule_id"] == "C1.marketing.unapproved"
    )
    assert unapproved["counts"]["violation"] == before["counts"]["violation"] - 1
    assert "engine" not in {row["id"] for row in data["clauses"]}
    text = report.to_markdown()
    assert "## The engine's own findings" in text
    assert "| Violation (provisional) |" in text
    assert "| Correction |" in text
