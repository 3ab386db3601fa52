"""Governance: waivers, outcomes, the decision log, and no personal data in any output."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import commitrules
from commitrules import Engine, PackValidationError
from commitrules.audit import DecisionLog, verify_log
from commitrules.cli import main
from commitrules.engine import Outcome
from commitrules.waivers import load_waivers
from tests.conftest import ROOT

PACK = commitrules.load_pack()
CST = dt.timezone(dt.timedelta(hours=8))
SAMPLE = ROOT / "examples" / "sample-events.jsonl"


def sale(eid: str, at: str, branch: str = "BR-GZ-TH", **changes: Any) -> dict[str, Any]:
    event = {
        "id": eid,
        "type": "sale",
        "at": at,
        "customer_id": "C-77",
        "product_id": "FUND-EQ07",
        "product_risk": 4,
        "amount": "100",
        "currency": "CNY",
        "staff_id": "S0033",
        "branch_id": branch,
        # Away from a branch: the bank's own recording policy (R4+) is the rule that applies.
        "channel": "mobile",
        "recorded": False,
        "customer_age": 40,
    }
    event.update(changes)
    return event


WAIVERS = """\
waivers:
  - id: WV-1
    rule: C1.recording.sale-not-recorded
    scope: {branch_id: BR-GZ-TH}
    approver: Head of Compliance
    reason: recording booth under repair; hotline recording used instead
    risk_accepted: low
    effective: 2026-07-01T00:00:00+08:00
    expires: 2026-07-10T00:00:00+08:00
"""


@pytest.fixture
def waivers(tmp_path: Path) -> commitrules.waivers.Waivers:
    path = tmp_path / "waivers.yaml"
    path.write_text(WAIVERS, encoding="utf-8")
    return load_waivers(path)


def recording(found: list[commitrules.Violation]) -> list[commitrules.Violation]:
    return [v for v in found if v.rule_id == "C1.recording.sale-not-recorded"]


class TestWaivers:
    def test_a_waived_finding_is_reported_as_excused_with_the_waiver_id(self, waivers: Any) -> None:
        found = recording(
            Engine(PACK, waivers=waivers).process(sale("s1", "2026-07-05T10:00:00+08:00"))
        )
        assert [(v.kind, v.waiver) for v in found] == [("excused", "WV-1")]
        assert found[0].route == ("risk-compliance",)  # no escalation for an excused finding
        assert found[0].evidence["waiver_approver"] == "Head of Compliance"
        assert not found[0].is_breach

    def test_outside_its_scope_a_waiver_does_not_apply(self, waivers: Any) -> None:
        found = recording(
            Engine(PACK, waivers=waivers).process(
                sale("s1", "2026-07-05T10:00:00+08:00", "BR-SH-PD")
            )
        )
        assert [(v.kind, v.waiver) for v in found] == [("violation", None)]

    def test_an_expired_waiver_stops_applying_at_its_expiry_in_event_time(
        self, waivers: Any
    ) -> None:
        engine = Engine(PACK, waivers=waivers)
        before = recording(engine.process(sale("s1", "2026-07-09T23:59:59.999999+08:00")))
        after = recording(engine.process(sale("s2", "2026-07-10T00:00:00+08:00")))
        assert [v.kind for v in before] == ["excused"]
        assert [v.kind for v in after] == ["violation"]

    def test_approving_a_waiver_does_not_change_the_pack_hash(self, waivers: Any) -> None:
        found = Engine(PACK, waivers=waivers).process(sale("s1", "2026-07-05T10:00:00+08:00"))
        assert {v.pack.digest for v in found} == {PACK.digest}

    @pytest.mark.parametrize(
        ("remove", "reason"),
        [
            ("    approver: Head of Compliance\n", "approver"),
            ("    expires: 2026-07-10T00:00:00+08:00\n", "expires"),
        ],
    )
    def test_a_waiver_without_approver_or_expiry_is_a_load_error(
        self, tmp_path: Path, remove: str, reason: str
    ) -> None:
        path = tmp_path / "waivers.yaml"
        path.write_text(WAIVERS.replace(remove, ""), encoding="utf-8")
        with pytest.raises(PackValidationError, match=f"missing key '{reason}'") as caught:
            load_waivers(path)
        assert caught.value.problems[0].location.line == 2  # the waiver that lacks it

    @pytest.mark.parametrize(
        ("target", "reason"),
        [
            (
                "rule: C1.recording.sale-not-recordd",
                "no rule 'C1.recording.sale-not-recordd'; did you mean "
                "'C1.recording.sale-not-recorded'?",
            ),
            ("clause: C1.recordin", "no clause 'C1.recordin'; did you mean 'C1.recording'?"),
        ],
    )
    def test_a_waiver_naming_what_the_pack_lacks_is_refused_with_its_line(
        self, tmp_path: Path, target: str, reason: str
    ) -> None:
        # A typo would excuse nothing and say nothing: refused where the pack is known.
        path = tmp_path / "waivers.yaml"
        path.write_text(
            WAIVERS.replace("rule: C1.recording.sale-not-recorded", target), encoding="utf-8"
        )
        loaded = load_waivers(path)  # without a pack only the file's own shape is checked
        with pytest.raises(PackValidationError, match="problem in the waivers file") as caught:
            load_waivers(path, PACK)
        assert reason in str(caught.value)
        assert caught.value.problems[0].location.line == 3  # the rule or clause line
        with pytest.raises(PackValidationError, match="waiver WV-1") as refused:
            Engine(PACK, waivers=loaded)
        assert reason in str(refused.value)

    def test_a_waiver_for_a_whole_clause_prefix_loads(self, tmp_path: Path) -> None:
        path = tmp_path / "waivers.yaml"
        path.write_text(
            WAIVERS.replace("rule: C1.recording.sale-not-recorded", "clause: C1"), encoding="utf-8"
        )
        assert [w.clause for w in load_waivers(path, PACK).items] == ["C1"]

    def test_a_naive_expiry_is_a_load_error(self, tmp_path: Path) -> None:
        path = tmp_path / "waivers.yaml"
        path.write_text(
            WAIVERS.replace("2026-07-10T00:00:00+08:00", "2026-07-10T00:00:00"), encoding="utf-8"
        )
        with pytest.raises(PackValidationError, match="timezone"):
            load_waivers(path)


def test_outcomes_go_to_an_opt_in_sink() -> None:
    seen: list[Outcome] = []
    engine = Engine(PACK, outcomes=seen.append)
    engine.process(
        sale("s1", "2026-07-01T10:00:00+08:00", recorded=True, recording_id="AV-1", product_risk=4)
    )
    engine.process(
        {
            "id": "c1",
            "type": "complaint_received",
            "at": "2026-07-01T11:00:00+08:00",
            "case_id": "K1",
            "customer_id": "C-77",
            "channel": "phone",
            "category": "fees",
            "branch_id": "BR-SH-PD",
            "assignee": "S0007",
        }
    )
    engine.process(
        {
            "id": "a1",
            "type": "complaint_acknowledged",
            "at": "2026-07-01T12:00:00+08:00",
            "case_id": "K1",
        }
    )
    statuses = {(o.rule_id, o.status) for o in seen}
    assert ("C1.recording.sale-not-recorded", "compliant") in statuses
    assert ("C2.before-sale.complete-disclosure", "violated") in statuses
    assert ("C5.resolve.simple", "pending") in statuses
    assert ("C5.acknowledge.in-time", "compliant") in statuses
    assert all(o.pack.digest == PACK.digest for o in seen)
    assert all(o.subject.get("customer_id") in (None, "***") for o in seen)


class TestDecisionLog:
    def run(self, tmp_path: Path) -> Path:
        log = tmp_path / "decisions.jsonl"
        assert (
            main(["check", str(SAMPLE), "--audit", str(log), "--format", "jsonl", "--exit-zero"])
            == 0
        )
        return log

    def test_check_writes_a_log_that_verifies(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        log = self.run(tmp_path)
        lines = log.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 5624
        record = json.loads(lines[0])
        assert record["pack"]["digest"] == PACK.digest
        assert record["applied"]
        capsys.readouterr()
        assert main(["audit", str(log)]) == 0
        assert "5624 records, chain intact" in capsys.readouterr().out

    @pytest.mark.parametrize("tamper", ["edit", "remove", "swap"])
    def test_any_edit_removal_or_reordering_breaks_the_chain(
        self, tmp_path: Path, tamper: str
    ) -> None:
        log = self.run(tmp_path)
        lines = log.read_text(encoding="utf-8").splitlines()
        if tamper == "edit":
            lines[100] = (
                lines[100].replace('"held"', '"violation"', 1).replace('"seq":101', '"seq":101 ')
            )
            record = json.loads(lines[100])
            record["released"] = []
            lines[100] = json.dumps(record)
        elif tamper == "remove":
            del lines[2000]
        else:
            lines[10], lines[11] = lines[11], lines[10]
        log.write_text("\n".join(lines) + "\n", encoding="utf-8")
        check = verify_log(log)
        assert not check.ok
        assert check.line in (11, 101, 2001)

    def test_a_second_run_continues_the_chain(self, tmp_path: Path) -> None:
        log = self.run(tmp_path)
        engine = Engine(PACK)
        with DecisionLog(log) as decisions:
            decisions.attach(engine)
            engine.advance_to(dt.datetime(2026, 10, 1, tzinfo=CST))
        check = verify_log(log)
        assert check.ok
        assert check.records == 5625


def test_no_declared_personal_field_leaks_into_any_output_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    personal = PACK.personal_fields
    secrets = set()
    for event in events:
        for field in personal:
            value = event.get(field)
            if isinstance(value, str) and len(value) >= 6:
                secrets.add(value)
    assert len(secrets) > 100
    outputs = []
    log = tmp_path / "audit.jsonl"
    for output_format in ("jsonl", "json", "csv", "table"):
        main(
            [
                "check",
                str(SAMPLE),
                "--until",
                "2026-10-01T00:00:00+08:00",
                "--format",
                output_format,
                "--audit",
                str(log),
                "--exit-zero",
            ]
        )
        captured = capsys.readouterr()
        outputs.append(captured.out + captured.err)
    outputs.append(log.read_text(encoding="utf-8"))
    # The report (HTML and Markdown), the OSCAL export and the explanations too.
    report = tmp_path / "report.html"
    main(["report", str(SAMPLE), "--out", str(report), "--until", "2026-10-01T00:00:00+08:00"])
    outputs.append(report.read_text(encoding="utf-8"))
    outputs += [p.read_text(encoding="utf-8") for p in tmp_path.glob("report*.md")]
    oscal = tmp_path / "oscal.json"
    main(["oscal", str(SAMPLE), "--out", str(oscal), "--until", "2026-10-01T00:00:00+08:00"])
    outputs.append(oscal.read_text(encoding="utf-8"))
    main(["explain", str(SAMPLE)])
    captured = capsys.readouterr()
    outputs.append(captured.out + captured.err)
    assert len(outputs) >= 8
    text = "\n".join(outputs)
    leaked = sorted(s for s in secrets if s in text)
    assert leaked == []
