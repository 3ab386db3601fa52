"""The hand-written baseline of the benchmark (benchmarks/baseline.py) implements the pack's rules.

The benchmark's headline is a ratio to this baseline, so it must find exactly what the
engine finds: the same rule, kind, subject values and time (to the microsecond) for every
violation, escalation and insufficient sample, on generated streams and on hand-made edge
cases (follow-ups at the due instant, extensions before and after a miss, escalations,
holidays of the CN calendar, reference rows that change at midnight, a sliding window's
edge, period closes). The benchmark command runs the same check on its own stream.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import commitrules

ROOT = Path(__file__).resolve().parent.parent
CST = dt.timezone(dt.timedelta(hours=8))
#: Late enough that every period of 2026 closes and every deadline falls due.
FAR = dt.datetime(2027, 1, 1, tzinfo=CST)
#: Later still: the annual report of 2026 is judged four months after the year's end.
LATER = dt.datetime(2027, 5, 2, tzinfo=CST)


def _load(name: str, file: str) -> ModuleType:
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / file)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def baseline() -> ModuleType:
    return _load("commitrules_benchmark_baseline", "baseline.py")


@pytest.fixture(scope="module")
def streams() -> ModuleType:
    # The same module name as tests/test_streams.py: loaded once per session.
    return _load("commitrules_benchmark_streams", "streams.py")


@pytest.fixture(scope="module")
def pack() -> commitrules.Pack:
    return commitrules.load_pack()


@pytest.fixture(scope="module")
def reference(baseline: ModuleType, pack: commitrules.Pack) -> Any:
    return baseline.Reference.from_pack(pack, years=range(2025, 2027))


def _both(
    baseline: ModuleType,
    pack: commitrules.Pack,
    reference: Any,
    events: list[dict[str, Any]],
    until: Iterable[dt.datetime],
) -> tuple[Any, list[commitrules.Violation]]:
    """The baseline's comparison with the engine (subjects unmasked), and the engine's output."""
    engine = commitrules.Engine(pack, evidence="include")
    machine = baseline.HandWritten(reference)
    found: list[commitrules.Violation] = []
    for event in events:
        found.extend(engine.process(event))
    machine.process_many(events)
    for moment in until:
        found.extend(engine.advance_to(moment))
        machine.advance_to(moment)
    return baseline.compare(machine.findings, found), found


def test_the_baseline_implements_every_rule_of_the_pack(
    baseline: ModuleType, pack: commitrules.Pack
) -> None:
    # A rule the pack gains must be hand-written too, or the benchmark's ratio would lie.
    assert baseline.missing_rules(pack) == ([], [])


def test_same_findings_on_a_generated_stream(
    baseline: ModuleType, streams: ModuleType, pack: commitrules.Pack, reference: Any
) -> None:
    start = dt.datetime(2026, 7, 1, tzinfo=CST)
    events = list(
        streams.generate(seed=11, start=start, days=30, customers=2000, violation_rate=0.01)
    )
    comparison, found = _both(
        baseline, pack, reference, events, [start + dt.timedelta(days=30), FAR]
    )
    assert comparison.same, comparison.describe()
    # Not vacuous: most rules and every kind of finding show up.
    assert len({v.rule_id for v in found}) >= 30
    assert {v.kind for v in found if v.clause_id != "engine"} == {
        "violation",
        "escalation",
        "insufficient_sample",
    }


def test_same_findings_with_many_breaches_across_a_re_rating(
    baseline: ModuleType, streams: ModuleType, pack: commitrules.Pack, reference: Any
) -> None:
    # Across 2026-08-01 (WM-EQ12 re-rated R3 -> R4) and the roster change of mid-August.
    start = dt.datetime(2026, 7, 27, tzinfo=CST)
    events = list(
        streams.generate(seed=13, start=start, days=24, customers=400, violation_rate=0.1)
    )
    comparison, found = _both(
        baseline, pack, reference, events, [start + dt.timedelta(days=24), FAR]
    )
    assert comparison.same, comparison.describe()
    assert len(found) > 100


def _edge_events() -> list[dict[str, Any]]:
    """Hand-made events at the edges of the rules, in time order."""
    raw: list[dict[str, Any]] = []

    def add(type_: str, at: str, **fields: Any) -> None:
        raw.append({"id": f"X{len(raw) + 1:04d}", "type": type_, "at": at, **fields})

    complaint = {"customer_id": "C-1", "channel": "hotline", "category": "fees"}
    # Acknowledged at exactly the due instant (in time); never decided: a violation, then
    # an escalation 15 days later.
    add("complaint_received", "2026-07-01T10:00:00+08:00", case_id="CP-1",
        branch_id="BR-SH-PD", assignee="S0007", complexity="simple", **complaint)  # fmt: skip
    add("complaint_acknowledged", "2026-07-03T23:59:59.999999+08:00", case_id="CP-1")
    # Extended before the due time (to 60 days), decided within it: nothing.
    add("complaint_received", "2026-07-01T11:00:00+08:00", case_id="CP-2",
        branch_id="BR-SH-PD", assignee="S0007", **complaint)  # fmt: skip
    add("complaint_extended", "2026-07-10T09:00:00+08:00", case_id="CP-2",
        reason="investigation", approved_by="S0062", branch_id="BR-SH-PD")  # fmt: skip
    add("complaint_resolved", "2026-08-20T09:00:00+08:00", case_id="CP-2", outcome="upheld")
    # Complex: missed on 07-31; an extension after the miss changes nothing; decided before
    # the escalation.
    add("complaint_received", "2026-07-01T12:00:00+08:00", case_id="CP-3",
        branch_id="BR-SH-PD", assignee="S0007", complexity="complex", **complaint)  # fmt: skip
    add("complaint_extended", "2026-08-02T09:00:00+08:00", case_id="CP-3",
        reason="late", approved_by="S0061", branch_id="BR-SH-PD")  # fmt: skip
    add("complaint_resolved", "2026-08-05T09:00:00+08:00", case_id="CP-3", outcome="upheld")
    # An unapproved extension does not count; assigned to a teller.
    add("complaint_received", "2026-07-02T09:00:00+08:00", case_id="CP-4",
        branch_id="BR-SH-XH", assignee="S0008", **complaint)  # fmt: skip
    add("complaint_extended", "2026-07-05T09:00:00+08:00", case_id="CP-4", reason="x")
    add("complaint_acknowledged", "2026-07-02T10:00:00+08:00", case_id="CP-4")
    # The 24 h window: the fifth complaint exactly 24 h after the first does not count the
    # first; the sixth makes five.
    for index, at in enumerate(
        (
            "2026-07-05T10:00:00+08:00",
            "2026-07-05T12:00:00+08:00",
            "2026-07-05T14:00:00+08:00",
            "2026-07-05T16:00:00+08:00",
            "2026-07-06T10:00:00+08:00",
            "2026-07-06T11:00:00+08:00",
        )
    ):
        add("complaint_received", at, case_id=f"CP-S{index}", branch_id="BR-BJ-CY",
            assignee="S0021", **complaint)  # fmt: skip
        add("complaint_acknowledged", at, case_id=f"CP-S{index}")
        add("complaint_resolved", at, case_id=f"CP-S{index}", outcome="mediated")
    # Insurance complaints: 10 working days; a notified extension (even unapproved) is an
    # answer to that rule, not to the 15-day one.
    add("complaint_received", "2026-09-01T10:00:00+08:00", case_id="CP-I1",
        branch_id="BR-SH-PD", assignee="S0007", customer_id="C-8", channel="letter",
        category="insurance")  # fmt: skip
    add("complaint_acknowledged", "2026-09-01T11:00:00+08:00", case_id="CP-I1")
    add("complaint_resolved", "2026-09-16T10:00:00+08:00", case_id="CP-I1", outcome="upheld")
    add("complaint_received", "2026-09-02T10:00:00+08:00", case_id="CP-I2",
        branch_id="BR-SH-PD", assignee="S0007", customer_id="C-8", channel="letter",
        category="insurance")  # fmt: skip
    add("complaint_acknowledged", "2026-09-02T11:00:00+08:00", case_id="CP-I2")
    add("complaint_extended", "2026-09-03T10:00:00+08:00", case_id="CP-I2", reason="x")
    # Service requests before the National Day holidays: working days of the CN calendar.
    service = {"customer_id": "C-2", "service": "loan_inquiry", "channel": "branch"}
    add("service_requested", "2026-09-30T10:00:00+08:00", request_id="SR-1",
        branch_id="BR-GZ-TH", staff_id="S0029", key_customer=True,
        account_manager_id="S0033", **service)  # fmt: skip
    add("service_requested", "2026-09-25T10:00:00+08:00", request_id="SR-2",
        branch_id="BR-GZ-TH", materials_told=True,
        expected_completion="2026-09-26T10:00:00+08:00", key_customer=True, **service)  # fmt: skip
    add("service_status_notified", "2026-09-29T23:59:59.999999+08:00", request_id="SR-2",
        status="in_progress")  # fmt: skip
    # Reference rows that change at midnight: WM-EQ12 is R4 from 2026-08-01; S0901 leaves
    # on 2026-08-15, S0902 joins on 2026-08-16; TPL-WM 3.1 ends on 2026-09-01.
    add("suitability_assessed", "2025-08-01T00:00:00+08:00", customer_id="C-3", risk_level=4)
    disclosure = {"customer_id": "C-3", "product_id": "WM-EQ12", "template_id": "TPL-WM"}
    add("product_disclosed", "2026-07-02T09:00:00+08:00", sections=["product", "risk", "fees"],
        template_version="3.1", risk_level_stated=3, **disclosure)  # fmt: skip
    add("product_disclosed", "2026-07-30T09:00:00+08:00", sections=["product", "risk"],
        template_version="3.2", risk_level_stated=4, **disclosure)  # fmt: skip
    sale = {"amount": "10000.00", "currency": "CNY", "staff_id": "S0004",
            "branch_id": "BR-SH-PD", "channel": "branch"}  # fmt: skip
    add("sale", "2026-08-01T00:00:00+08:00", customer_id="C-3", product_id="WM-EQ12",
        product_risk=3, recorded=False, customer_age=66, **sale)  # fmt: skip
    add("sale", "2026-08-02T00:00:00+08:00", customer_id="C-3", product_id="WM-EQ12",
        product_risk=4, recorded=True, customer_age=66, **sale)  # fmt: skip
    add("sale", "2026-08-03T09:00:00+08:00", customer_id="C-4", product_id="NEW-PRODUCT",
        product_risk=2, recorded=False, professional_investor=True, **sale)  # fmt: skip
    add("product_disclosed", "2026-08-31T23:59:59+08:00", sections=["product", "risk", "fees"],
        template_version="3.1", **disclosure)  # fmt: skip
    add("product_disclosed", "2026-09-01T00:00:00+08:00", sections=["product", "risk", "fees"],
        template_version="3.1", **disclosure)  # fmt: skip
    access = {"customer_id": "C-5", "data_class": "internal", "branch_id": "BR-GZ-TH"}
    add("data_access", "2026-08-15T00:00:00+08:00", staff_id="S0901", staff_role="teller",
        purpose="account_service", **access)  # fmt: skip
    add("data_access", "2026-08-16T00:00:00+08:00", staff_id="S0902",
        staff_role="account-manager", purpose="   ", export=True, **access)  # fmt: skip
    for day in ("17", "18", "19"):  # three findings for one staff member within 30 days
        add("data_access", f"2026-08-{day}T09:00:00+08:00", staff_id="S0002",
            staff_role="teller", data_class="sensitive", customer_id="C-6")  # fmt: skip
    # Marketing: disclaimers are not promises; full-width text is normalised; a word
    # boundary for Latin phrases.
    for index, text in enumerate(
        (
            "本產品非保本,投資須謹慎",
            # "Guaranteed returns!" in full-width letters
            "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in "Guaranteed returns!"),
            "This fund is not risk-free.",
            "A risk freedom plan",
            "穩賺不賠",
        )
    ):
        add("marketing_published", f"2026-08-20T0{index}:00:00+08:00", material_id=f"MK-{index}",
            channel="wechat", text=text, approved=index != 3)  # fmt: skip
    # Incidents: reported at exactly the due instant; never contained.
    add("security_incident", "2026-08-21T01:00:00+08:00", incident_id="INC-1",
        kind="Customer_Data_LEAK", severity="major")  # fmt: skip
    add("incident_reported", "2026-08-21T05:00:00+08:00", incident_id="INC-1")
    add("security_incident", "2026-08-22T01:00:00+08:00", incident_id="INC-2",
        kind="phishing_attempt", severity="minor", branch_id="BR-HZ-XH")  # fmt: skip
    add("staff_appraised", "2026-08-23T09:00:00+08:00", staff_id="S0010",
        includes_satisfaction=True, includes_complaint_timeliness=False,
        target_achievement="0.949")  # fmt: skip
    add("staff_appraised", "2026-08-23T10:00:00+08:00", staff_id="S0011",
        includes_satisfaction=True, includes_complaint_timeliness=True,
        target_achievement="0.95")  # fmt: skip
    # Exactly at a period's start: Q3 closes before this event counts for Q4.
    add("training_completed", "2026-10-01T00:00:00+08:00", staff_id="S0012", course="compliance")
    add("compliance_check_completed", "2026-12-31T23:59:59.999999+08:00", check_id="CHK-1",
        branch_id="BR-CD-JJ")  # fmt: skip
    add("implementation_reviewed", "2026-12-01T09:00:00+08:00", review_id="REV-1",
        scope="annual-evaluation")  # fmt: skip
    add("risk_event", "2026-08-24T09:00:00+08:00", risk_event_id="RE-1", category="conduct",
        branch_id="BR-SH-PD")  # fmt: skip
    add("survey_response", "2026-08-25T09:00:00+08:00", survey="education", customer_id="C-7",
        satisfied=True, improved=False)  # fmt: skip
    # Issue 25. A classified CII incident: the general rule of unclassified incidents is
    # cancelled; the protection department told at exactly one hour, the police never.
    add("security_incident", "2026-08-26T01:00:00+08:00", incident_id="INC-3",
        kind="ransomware", severity="major")  # fmt: skip
    add("incident_classified", "2026-08-26T01:00:00+08:00", incident_id="INC-3", grade="major",
        cii=True, pboc_business_area=False, category="malware", personal_info_count=0,
        customers_affected=0)  # fmt: skip
    add("incident_reported", "2026-08-26T02:00:00+08:00", incident_id="INC-3",
        authority="protection_dept")  # fmt: skip
    add("incident_contained", "2026-08-26T09:00:00+08:00", incident_id="INC-3")
    # A leak in a PBOC business area: the CAC told at exactly four hours, the PBOC one
    # minute late; the authority's notice incomplete, the individuals never told.
    add("incident_classified", "2026-08-26T10:00:00+08:00", incident_id="INC-4",
        grade="relatively_major", cii=False, pboc_business_area=True, category="data_leak",
        personal_info_count=5, customers_affected=5, branch_id="BR-SH-PD")  # fmt: skip
    add("incident_reported", "2026-08-26T10:31:00+08:00", incident_id="INC-4", authority="pboc")
    add("pi_breach_notified", "2026-08-26T12:00:00+08:00", incident_id="INC-4",
        audience="authority", contents=["kinds", "cause", "harm", "contact"])  # fmt: skip
    add("incident_reported", "2026-08-26T14:00:00+08:00", incident_id="INC-4",
        authority="provincial_cac")  # fmt: skip
    # A million people's information graded general; a leak whose harm was avoided.
    add("incident_classified", "2026-08-26T11:00:00+08:00", incident_id="INC-5", grade="general",
        cii=False, pboc_business_area=False, category="intrusion", personal_info_count=1000000,
        customers_affected=0)  # fmt: skip
    add("incident_classified", "2026-08-26T11:30:00+08:00", incident_id="INC-6", grade="general",
        cii=False, pboc_business_area=False, category="data_loss", personal_info_count=0,
        customers_affected=0, data_affected=["sensitive_personal_information"])  # fmt: skip
    add("pi_breach_notice_waived", "2026-08-26T12:30:00+08:00", incident_id="INC-6",
        harm_avoided=True, authority_requested_notice=False)  # fmt: skip
    # A transfer abroad failing all three checks (no reference of an impact assessment).
    add("cross_border_transfer", "2026-08-26T15:00:00+08:00", transfer_id="XB-1",
        recipient="Parent Bank", recipient_country="SG", mechanism="standard_contract",
        mechanism_ref="SCC-1", separate_consent=False, individuals_informed=True,
        assessment_required=True, staff_id="S0004", branch_id="BR-SH-PD")  # fmt: skip
    # Sensitive information: with a consent, after its withdrawal, for an unlisted purpose,
    # and for a legal duty.
    pi = {"customer_id": "C-9", "purpose": "biometric_login", "data_classes": ["biometric"]}
    add("consent_recorded", "2026-08-27T09:00:00+08:00", consent_id="CS-1", separate=True,
        necessity_told=True, **pi)  # fmt: skip
    add("personal_info_collected", "2026-08-27T09:00:00+08:00", collection_id="PC-1", **pi)
    add("consent_recorded", "2026-08-27T10:00:00+08:00", consent_id="CS-1", separate=True,
        necessity_told=True, withdrawn=True, **pi)  # fmt: skip
    add("personal_info_collected", "2026-08-27T11:00:00+08:00", collection_id="PC-2", **pi)
    add("personal_info_collected", "2026-08-27T12:00:00+08:00", collection_id="PC-3",
        customer_id="C-9", purpose="location_offers", data_classes=["whereabouts"])  # fmt: skip
    add("personal_info_collected", "2026-08-27T13:00:00+08:00", collection_id="PC-4",
        customer_id="C-9", purpose="aml_due_diligence",
        data_classes=["financial_account"])  # fmt: skip
    # Retention: restricted without a legal basis (late), deleted at the due instant.
    add("retention_expired", "2026-08-27T10:00:00+08:00", record_id="REC-1", data_class="kyc")
    add("processing_restricted", "2026-08-28T10:00:00+08:00", record_id="REC-1")
    add("retention_expired", "2026-08-27T11:00:00+08:00", record_id="REC-2", data_class="crm")
    add("data_deleted", "2026-09-11T23:59:59.999999+08:00", record_id="REC-2")
    # Requests: a refusal without a reason; one never answered.
    add("data_subject_request", "2026-08-27T10:00:00+08:00", request_id="DSR-1",
        customer_id="C-9", request_type="delete")  # fmt: skip
    add("data_subject_request_answered", "2026-08-28T10:00:00+08:00", request_id="DSR-1",
        outcome="refused", reason=" ")  # fmt: skip
    add("data_subject_request", "2026-08-27T11:00:00+08:00", request_id="DSR-2",
        customer_id="C-9", request_type="copy", branch_id="BR-SH-PD")  # fmt: skip
    _second_edition_edges(add)
    return sorted(raw, key=lambda e: dt.datetime.fromisoformat(e["at"]))


def _second_edition_edges(add: Any) -> None:
    """Edges of the rules of the pack's second edition (0.2.0)."""
    complaint = {"customer_id": "C-11", "channel": "hotline", "category": "fees",
                 "register_id": "REG", "assignee": "S0007"}  # fmt: skip
    resolved = {"outcome": "upheld", "reasons_given": True, "notice_evidence_id": "N",
                "remedies_told": ["review", "mediation", "arbitration", "litigation"]}  # fmt: skip
    # A complex-stage extension (30 days, no approval): decided at the last instant of day 30
    # (in time), and another decided one microsecond later (late, due 07-31).
    for case, done in (("CP-X1", "2026-07-31T23:59:59.999999"), ("CP-X2", "2026-08-01T00:00:00")):
        add("complaint_received", "2026-07-01T08:00:00+08:00", case_id=case,
            branch_id="BR-SH-XH", **complaint)  # fmt: skip
        add("complaint_acknowledged", "2026-07-01T08:30:00+08:00", case_id=case)
        add("complaint_extended", "2026-07-05T08:00:00+08:00", case_id=case, reason="x",
            stage="complex", complainant_notified=False)  # fmt: skip
        add("complaint_resolved", done + "+08:00", case_id=case, **resolved)
    # Further extensions: the wrong superior, the wrong branch named, a staff-grade
    # approver of the right unit; an unknown case; a head-office approver (in standing).
    for case, approver, branch in (
        ("CP-Y1", "S0063", "BR-SH-XH"),
        ("CP-Y2", "S0062", "BR-SH-PD"),
        ("CP-Y3", "S0061", "BR-SH-XH"),
    ):
        add("complaint_received", "2026-07-02T08:00:00+08:00", case_id=case,
            branch_id="BR-SH-XH", **complaint)  # fmt: skip
        add("complaint_acknowledged", "2026-07-02T08:30:00+08:00", case_id=case)
        add("complaint_extended", "2026-07-06T08:00:00+08:00", case_id=case, reason="x",
            approved_by=approver, branch_id=branch)  # fmt: skip
        add("complaint_resolved", "2026-07-10T08:00:00+08:00", case_id=case, **resolved)
    add("complaint_received", "2026-07-02T09:00:00+08:00", case_id="CP-Y4", branch_id="BR-CD-JJ",
        **{**complaint, "assignee": "S0056"})  # fmt: skip
    add("complaint_extended", "2026-07-06T09:00:00+08:00", case_id="CP-Y4", reason="x",
        approved_by="S0067", branch_id="BR-CD-JJ")  # fmt: skip
    add("complaint_extended", "2026-07-06T10:00:00+08:00", case_id="CP-Y9", reason="x",
        approved_by="S0061", branch_id="BR-CD-JJ")  # fmt: skip
    # Channels, register, reception, fairness, the decision's notice.
    add("complaint_received", "2026-07-03T08:00:00+08:00", case_id="CP-Z1", branch_id="BR-BJ-HD",
        **{**complaint, "channel": "wechat", "register_id": None, "assignee": "S0028",
           "subject_staff_id": "S0028"})  # fmt: skip
    add("complaint_received", "2026-07-03T08:10:00+08:00", case_id="CP-Z2", branch_id="BR-BJ-HD",
        **{**complaint, "channel": "branch", "assignee": "S0028"})  # fmt: skip
    add("complaint_resolved", "2026-07-04T08:00:00+08:00", case_id="CP-Z1",
        **{**resolved, "remedies_told": ["mediation", "arbitration", "litigation"]})  # fmt: skip
    add("complaint_resolved", "2026-07-04T08:10:00+08:00", case_id="CP-Z2",
        **{**resolved, "remedies_told": ["mediation", "arbitration", "litigation"],
           "decided_by_head_office": True})  # fmt: skip
    # Reviews: decided at exactly the due instant; never decided; a late request.
    for case in ("CP-Z1", "CP-Z2"):
        add("complaint_review_requested", "2026-07-05T10:00:00+08:00", case_id=case)
    add("complaint_review_decided", "2026-08-04T23:59:59.999999+08:00", case_id="CP-Z1",
        outcome="upheld")  # fmt: skip
    add("complaint_review_requested", "2026-07-05T11:00:00+08:00", case_id="CP-X1",
        late_request=True)  # fmt: skip
    # Suitability: assessments per day (the third at the day's last instant; the next day
    # counts anew), per 365 days (nine; and nine whose first is exactly 365 days before
    # the last: not in the window, eight), a changed level unconfirmed, a change reported
    # and assessed at the due instant (in time) or not at all.
    for time in ("08:00:00", "12:00:00", "23:59:59.999999"):
        add("suitability_assessed", f"2026-07-07T{time}+08:00", customer_id="C-21", risk_level=3)
    add("suitability_assessed", "2026-07-08T00:00:00+08:00", customer_id="C-21", risk_level=3)
    for month in range(1, 9):
        add("suitability_assessed", f"2026-{month:02d}-11T09:00:00+08:00", customer_id="C-22",
            risk_level=3)  # fmt: skip
    add("suitability_assessed", "2025-11-15T09:00:00+08:00", customer_id="C-23", risk_level=3)
    for month in range(1, 8):
        add("suitability_assessed", f"2026-{month:02d}-12T09:00:00+08:00", customer_id="C-23",
            risk_level=3)  # fmt: skip
    add("suitability_assessed", "2026-11-15T09:00:00+08:00", customer_id="C-23", risk_level=3)
    add("suitability_assessed", "2026-09-11T09:00:00+08:00", customer_id="C-22", risk_level=4,
        previous_risk_level=3)  # fmt: skip
    add("customer_circumstances_changed", "2026-07-09T10:00:00+08:00", customer_id="C-24",
        change="income", staff_id="S0004", branch_id="BR-SH-PD")  # fmt: skip
    add("customer_circumstances_changed", "2026-07-09T10:00:00+08:00", customer_id="C-25",
        change="health")  # fmt: skip
    add("suitability_assessed", "2026-07-19T23:59:59.999999+08:00", customer_id="C-24",
        risk_level=2, previous_risk_level=3, change_confirmed=True)  # fmt: skip
    # Sales: the free-look disclosure, professional investors, capacity, recording scope.
    sale = {"amount": "10000.00", "currency": "CNY", "staff_id": "S0039", "branch_id": "BR-SZ-FT",
            "customer_age": 40, "recorded": True, "recording_id": "R"}  # fmt: skip
    full = ["product", "risk", "fees"]
    add("suitability_assessed", "2026-09-01T08:00:00+08:00", customer_id="C-31", risk_level=5)
    add("product_disclosed", "2026-09-01T08:10:00+08:00", customer_id="C-31",
        product_id="INS-ACC01", sections=full, template_id="TPL-INS",
        template_version="1.4")  # fmt: skip
    add("sale", "2026-09-01T08:20:00+08:00", customer_id="C-31", product_id="INS-ACC01",
        product_risk=1, channel="phone", recorded=False, recording_id=None,
        **{k: v for k, v in sale.items() if k not in ("recorded", "recording_id")})  # fmt: skip
    add("product_disclosed", "2026-09-01T08:30:00+08:00", customer_id="C-31",
        product_id="INS-EN05", sections=[*full, "free_look"], template_id="TPL-INS",
        template_version="1.4")  # fmt: skip
    add("sale", "2026-10-01T23:59:59.999999+08:00", customer_id="C-31", product_id="INS-EN05",
        product_risk=2, channel="phone", policy_term_months=13, recorded=False,
        **{k: v for k, v in sale.items() if k != "recorded"})  # fmt: skip
    add("sale", "2026-09-02T09:00:00+08:00", customer_id="C-31", product_id="INS-EN05",
        product_risk=2, channel="phone", recorded=False, recording_id=None,
        **{k: v for k, v in sale.items() if k not in ("recorded", "recording_id")})  # fmt: skip
    add("sale", "2026-09-02T10:00:00+08:00", customer_id="C-INST-0001", product_id="SP-FX05",
        product_risk=5, channel="branch", customer_type="institution",
        professional_investor=True,
        **{**sale, "customer_age": None, "currency": "USD"})  # fmt: skip
    add("sale", "2026-08-31T11:00:00+08:00", customer_id="C-8801", product_id="FUND-EQ07",
        product_risk=4, channel="mobile", professional_investor=True, **sale)  # fmt: skip
    add("sale", "2026-08-31T12:00:00+08:00", customer_id="C-8801", product_id="SP-FX05",
        product_risk=5, channel="mobile", professional_investor=True,
        **{**sale, "currency": "USD"})  # fmt: skip
    add("sale", "2026-09-02T13:00:00+08:00", customer_id="C-31", product_id="WM-CASH01",
        product_risk=1, channel="branch", legal_capacity="limited", guardian_consent=True,
        **sale)  # fmt: skip
    add("sale", "2026-09-02T14:00:00+08:00", customer_id="C-31", product_id="WM-FIX180",
        product_risk=2, channel="branch", legal_capacity="limited", guardian_consent=True,
        **sale)  # fmt: skip
    add("sale", "2026-09-02T15:00:00+08:00", customer_id="C-31", product_id="DEP-TD12",
        product_risk=1, channel="branch", recorded=False, recording_id=None,
        **{k: v for k, v in sale.items()
           if k not in ("recorded", "recording_id", "customer_age")})  # fmt: skip
    add("sale", "2026-09-02T16:00:00+08:00", customer_id="C-31", product_id="FUND-EQ07",
        product_risk=4, channel="mobile",
        **{k: v for k, v in sale.items() if k != "customer_age"})  # fmt: skip
    add("marketing_published", "2026-09-03T09:00:00+08:00", material_id="MK-P1",
        product_id="PWM-EQ01", channel="website", approved=True, text="私募產品")  # fmt: skip
    add("marketing_published", "2026-09-03T10:00:00+08:00", material_id="MK-P2",
        product_id="PWM-EQ01", channel="email", approved=True, text="私募產品",
        audience="qualified_investors")  # fmt: skip
    # The annual report of 2025 (tracking began in 2025) comes out on the last instant of
    # its due day, 30 April 2026: in time.
    add("annual_report_published", "2026-04-30T23:59:59.999999+08:00", report_id="AR-2025",
        year=2025)  # fmt: skip


def _keys(found: Iterable[commitrules.Violation]) -> set[tuple[str, str, tuple[Any, ...]]]:
    return {(v.rule_id, v.kind, tuple(v.subject.values())) for v in found}


def _timed_keys(found: Iterable[commitrules.Violation]) -> set[tuple[str, tuple[Any, ...], str]]:
    return {(v.rule_id, tuple(v.subject.values()), v.at.astimezone(CST).isoformat()) for v in found}


def test_same_findings_on_edge_cases(
    baseline: ModuleType, pack: commitrules.Pack, reference: Any
) -> None:
    events = _edge_events()
    # Far enough that the year 2026 is judged too (four months after its end).
    comparison, found = _both(baseline, pack, reference, events, [FAR, LATER])
    assert comparison.same, comparison.describe()
    keys = _keys(found)
    expected: set[tuple[str, str, tuple[Any, ...]]] = {
        ("C5.resolve.simple", "violation", ("CP-1",)),
        ("C5.resolve.simple", "escalation", ("CP-1",)),
        ("C5.resolve.complex", "violation", ("CP-3",)),
        ("C5.fair.specialist-assigned", "violation", ("CP-4",)),
        ("W1.complaint-surge.branch", "violation", ("BR-BJ-CY",)),
        ("C4.completion.in-time", "violation", ("SR-1",)),
        ("M3.transparency.status-notified", "violation", ("SR-1",)),
        ("M3.transparency.told-at-start", "violation", ("SR-1",)),
        ("M3.account-manager.key-customer", "violation", ("SR-2",)),
        ("C1.risk-level.sale-level", "violation", ("C-3", "WM-EQ12")),
        ("C1.recording.branch-wm-agency", "violation", ("C-3", "WM-EQ12")),
        ("C1.risk-level.disclosed-level", "violation", ("C-3", "WM-EQ12")),
        ("C1.risk-level.sale-level", "violation", ("C-4", "NEW-PRODUCT")),
        ("C2.before-sale.complete-disclosure", "violation", ("C-4", "NEW-PRODUCT")),
        ("M1.templates.approved-version", "violation", ("C-3", "WM-EQ12")),
        ("C3.privacy.authorised-role", "violation", ("S0901",)),
        ("C3.privacy.purpose", "violation", ("S0902",)),
        ("W1.frequent-violations.staff", "violation", ("S0002",)),
        ("C1.marketing.banned-promise", "violation", ("MK-1",)),
        ("C1.marketing.banned-promise", "violation", ("MK-4",)),
        ("C1.marketing.unapproved", "violation", ("MK-3",)),
        ("W1.leak.incident", "violation", ("INC-1",)),
        ("W2.incident.contained", "violation", ("INC-1",)),
        ("W2.incident.contained", "violation", ("INC-2",)),
        ("R3.appraisal.customer-metrics", "violation", ("S0010",)),
        ("R3.appraisal.target-achievement", "violation", ("S0010",)),
        ("M4.training.quarterly", "violation", ("S0012", "2026Q3")),
        ("C5.resolve.insurance-reply", "violation", ("CP-I1",)),
        ("C5.resolve.simple", "violation", ("CP-I2",)),
        ("W2.incident.reported.cii-police", "violation", ("INC-3",)),
        ("W2.incident.reported.pboc", "violation", ("INC-4",)),
        ("W2.pi-breach.notice-content", "violation", ("INC-4", "authority")),
        ("W2.pi-breach.individuals-notified", "violation", ("INC-4",)),
        ("W2.incident.grade-matches-data", "violation", ("INC-5",)),
        ("W2.pi-breach.authority-notified", "violation", ("INC-6",)),
        ("C3.privacy.cross-border.mechanism", "violation", ("XB-1",)),
        ("C3.privacy.cross-border.consent", "violation", ("XB-1",)),
        ("C3.privacy.cross-border.impact-assessment", "violation", ("XB-1",)),
        ("C3.privacy.sensitive-consent", "violation", ("PC-2",)),
        ("C3.privacy.sensitive-consent", "violation", ("PC-3",)),
        ("C3.privacy.retention", "violation", ("REC-1",)),
        ("C3.privacy.requests.refusal-reason", "violation", ("DSR-1",)),
        ("C3.privacy.requests.answered", "violation", ("DSR-2",)),
        # The second edition (0.2.0).
        ("C5.resolve.simple", "violation", ("CP-X2",)),
        ("C5.resolve.extension-approver", "violation", ("CP-Y1",)),
        ("C5.resolve.extension-approver", "violation", ("CP-Y2",)),
        ("C5.resolve.extension-approver", "violation", ("CP-Y4",)),
        ("C5.resolve.extension-approver", "violation", ("CP-Y9",)),
        ("C5.resolve.extension-approver", "violation", ("CP-4",)),
        ("C5.channels.published", "violation", ("CP-Z1",)),
        ("C5.records.registered", "violation", ("CP-Z1",)),
        ("C5.fair.specialist-assigned", "violation", ("CP-Z1",)),
        ("C5.channels.reception-recorded", "violation", ("CP-Z2",)),
        ("C5.notice.outcome-content", "violation", ("CP-Z1",)),
        ("C5.review.in-time", "violation", ("CP-Z2",)),
        ("C3.suitability.assessments-per-day", "violation", ("C-21",)),
        ("C3.suitability.assessments-per-year", "violation", ("C-22",)),
        ("C3.suitability.change-confirmed", "violation", ("C-22",)),
        ("C3.suitability.reassess-on-change", "violation", ("C-25",)),
        ("C2.before-sale.free-look", "violation", ("C-31", "INS-ACC01")),
        ("C1.recording.cannot-judge", "violation", ("C-31", "INS-EN05")),
        ("C1.recording.bancassurance", "violation", ("C-31", "INS-EN05")),
        ("C3.suitability.professional-unsupported", "violation", ("C-8801", "SP-FX05")),
        ("C3.suitability.legal-capacity", "violation", ("C-31", "WM-FIX180")),
        ("C1.recording.cannot-judge", "violation", ("C-31", "DEP-TD12")),
        ("C3.suitability.cannot-judge", "violation", ("C-31", "FUND-EQ07")),
        ("C1.marketing.private-product-public", "violation", ("MK-P1",)),
        ("I2.report.annual", "violation", ("2026",)),
    }
    assert expected <= keys, sorted(expected - keys)
    absent = {
        ("C5.acknowledge.in-time", "violation", ("CP-1",)),
        ("C5.resolve.simple", "violation", ("CP-2",)),
        ("C5.resolve.complex", "escalation", ("CP-3",)),
        ("C1.marketing.banned-promise", "violation", ("MK-0",)),
        ("C1.marketing.banned-promise", "violation", ("MK-2",)),
        ("C1.marketing.banned-promise", "violation", ("MK-3",)),
        ("W2.incident.reported", "violation", ("INC-1",)),
        ("R3.appraisal.target-achievement", "violation", ("S0011",)),
        ("M4.training.quarterly", "violation", ("S0012", "2026Q4")),
        ("M3.transparency.status-notified", "violation", ("SR-2",)),
        ("C5.resolve.simple", "violation", ("CP-I1",)),
        ("C5.resolve.insurance-reply", "violation", ("CP-I2",)),
        ("W2.incident.reported", "violation", ("INC-3",)),
        ("W2.incident.reported.cii", "violation", ("INC-3",)),
        ("W2.incident.reported.general", "violation", ("INC-4",)),
        ("W2.pi-breach.authority-notified", "violation", ("INC-4",)),
        ("W2.pi-breach.individuals-notified", "violation", ("INC-6",)),
        ("C3.privacy.sensitive-consent", "violation", ("PC-1",)),
        ("C3.privacy.sensitive-consent", "violation", ("PC-4",)),
        ("C3.privacy.retention", "violation", ("REC-2",)),
        ("C3.privacy.requests.answered", "violation", ("DSR-1",)),
        # The second edition (0.2.0).
        ("C5.resolve.simple", "violation", ("CP-X1",)),
        ("C5.resolve.extension-approver", "violation", ("CP-Y3",)),
        ("C5.resolve.extension-approver", "violation", ("CP-2",)),
        ("C5.resolve.extension-approver", "violation", ("CP-3",)),
        ("C5.notice.outcome-content", "violation", ("CP-Z2",)),
        ("C5.review.in-time", "violation", ("CP-Z1",)),
        ("C5.review.in-time", "violation", ("CP-X1",)),
        ("C3.suitability.assessments-per-year", "violation", ("C-23",)),
        ("C3.suitability.change-confirmed", "violation", ("C-24",)),
        ("C3.suitability.reassess-on-change", "violation", ("C-24",)),
        ("C3.suitability.professional-unsupported", "violation", ("C-INST-0001", "SP-FX05")),
        ("C3.suitability.professional-unsupported", "violation", ("C-8801", "FUND-EQ07")),
        ("C3.suitability.risk-match", "violation", ("C-8801", "FUND-EQ07")),
        ("C3.suitability.legal-capacity", "violation", ("C-31", "WM-CASH01")),
        ("C1.marketing.private-product-public", "violation", ("MK-P2",)),
        ("I2.report.annual", "violation", ("2025",)),
    }
    assert not absent & keys, sorted(absent & keys)
    timed = _timed_keys(found)
    per_day = ("C3.suitability.assessments-per-day", ("C-21",), "2026-07-07T23:59:59.999999+08:00")
    assert per_day in timed
    assert (
        "C2.before-sale.free-look",
        ("C-31", "INS-EN05"),
        "2026-10-01T23:59:59.999999+08:00",
    ) not in timed
    # The assessment of 2025-08-01T00:00 is valid up to 2026-08-01T00:00 inclusive, and the
    # first sale (R3 recorded, R4 registered) is 66-year-old C-3's; the next day's is not.
    timed = _timed_keys(found)
    sale = ("C-3", "WM-EQ12")
    assert ("C3.suitability.risk-match", sale, "2026-08-01T00:00:00+08:00") not in timed
    assert ("C3.suitability.risk-match", sale, "2026-08-02T00:00:00+08:00") in timed
    # The 65+ rule takes the higher of the recorded (R3) and the registered level (R4 from
    # 1 August), as the risk match does: the first sale already needs the extra care.
    assert ("C3.suitability.elderly-extra-care", sale, "2026-08-01T00:00:00+08:00") in timed
    assert ("C3.suitability.elderly-extra-care", sale, "2026-08-02T00:00:00+08:00") in timed
    # The complete disclosure of 07-02 still counts on 08-01 (30 days to the end of the day).
    assert ("C2.before-sale.complete-disclosure", sale, "2026-08-01T00:00:00+08:00") not in timed
    assert ("M1.templates.approved-version", sale, "2026-08-31T23:59:59+08:00") not in timed
    assert ("M1.templates.approved-version", sale, "2026-09-01T00:00:00+08:00") in timed


def test_the_baseline_reads_the_events_as_given(
    baseline: ModuleType, pack: commitrules.Pack, reference: Any
) -> None:
    # No validation and no copies: it must not change the caller's dicts either.
    events = _edge_events()
    before = [dict(e) for e in events]
    machine = baseline.HandWritten(reference)
    machine.process_many(events)
    machine.advance_to(FAR)
    assert events == before
    assert all(isinstance(f.at, dt.datetime) and f.at.tzinfo for f in machine.findings)


@pytest.mark.parametrize(
    "what",
    [
        "engine",
        "baseline",
        "without:deadline,check",
        "validators",
        "validated",
        "dispatch",
        "loads",
        "validated-json",
        "kept",
        "kept-json",
        "baseline-json",
        "engine-json",
    ],
)
def test_the_instruction_count_runs_what_it_measures(what: str) -> None:
    # benchmarks/instructions.py counts under valgrind what its child mode runs; the child
    # must keep working without valgrind (stream, restricted pack, engine or baseline).
    script = str(ROOT / "benchmarks" / "instructions.py")
    done = subprocess.run(
        [sys.executable, script, "--child", what, "--events", "300", "--work"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
