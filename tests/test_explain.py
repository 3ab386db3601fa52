"""`explain`: every rule that applied to an event, whether it held, and the values it compared."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import commitrules
from commitrules.cli import main
from commitrules.explain import CLOCK, explain
from tests.conftest import ROOT

DISPUTES = ROOT / "tests" / "packs" / "payment-disputes"

ASSESSED = {
    "id": "a1",
    "type": "suitability_assessed",
    "at": "2026-07-01T09:00:00+08:00",
    "customer_id": "C-1",
    "risk_level": 2,
    "branch_id": "BR-SH-PD",
    "staff_id": "S0004",
}
SALE = {
    "id": "s1",
    "type": "sale",
    "at": "2026-07-01T10:00:00+08:00",
    "customer_id": "C-1",
    "product_id": "FUND-EQ07",
    "product_risk": 4,
    "amount": "1000",
    "currency": "CNY",
    "staff_id": "S0004",
    "branch_id": "BR-SH-PD",
    "channel": "branch",
    "recorded": True,
    "recording_id": "AV-0001",
    "customer_age": 40,
}


@pytest.fixture(scope="module")
def pack() -> commitrules.Pack:
    return commitrules.load_pack()


def test_each_rule_says_whether_it_held_and_with_which_values(pack: commitrules.Pack) -> None:
    lines = {line.rule_id: line for line in explain(pack, [ASSESSED, SALE], event_id="s1")}
    match = lines["C3.suitability.risk-match"]
    assert (match.applied, match.held) == (True, False)
    assert match.values["prior.risk_level"] == 2
    assert match.values["product_risk"] == 4
    assert len(match.violations) == 1
    assert "above the customer's latest assessed level (2)" in match.note
    # A branch sale of an agency fund: the branch recording rule applies (and held), the
    # bank's own policy does not.
    recorded = lines["C1.recording.branch-wm-agency"]
    assert (recorded.applied, recorded.held, recorded.violations) == (True, True, ())
    assert lines["C1.recording.sale-not-recorded"].applied is False
    elderly = lines["C3.suitability.elderly-extra-care"]
    assert elderly.applied is False
    assert all(line.event_id == "s1" for line in lines.values())


def test_personal_fields_are_masked_unless_asked_for(pack: commitrules.Pack) -> None:
    masked = next(
        line for line in explain(pack, [ASSESSED, SALE]) if line.rule_id.endswith("risk-match")
    )
    assert masked.values["customer_id"] == "***"
    shown = explain(pack, [ASSESSED, SALE], evidence="include")
    assert {line.values.get("customer_id") for line in shown} >= {"C-1"}
    anon = explain(pack, [ASSESSED, SALE], evidence="pseudonymize", pseudonym_key=b"k")
    ids = {line.values.get("customer_id") for line in anon} - {None}
    assert len(ids) == 1
    assert ids.pop().startswith("anon-")


def test_a_rejected_event_is_explained_with_its_reason(pack: commitrules.Pack) -> None:
    lines = explain(pack, [{**SALE, "product_risk": 9}])
    assert [(line.rule_id, line.applied) for line in lines] == [("-", False)]
    assert lines[0].note.startswith("rejected:")
    assert "product_risk" in lines[0].note


def test_the_cli_masks_by_default(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    import json
    from pathlib import Path

    path = Path(str(tmp_path)) / "e.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in (ASSESSED, SALE)) + "\n", encoding="utf-8")
    main(["explain", str(path), "--event", "s1"])
    out = capsys.readouterr().out
    assert "VIOLATED" in out
    assert "C-1" not in out
    main(["explain", str(path), "--event", "s1", "--personal", "include"])
    assert 'customer_id="C-1"' in capsys.readouterr().out


def test_the_cli_says_when_the_event_is_not_in_the_files(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    from pathlib import Path

    path = Path(str(tmp_path)) / "e.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in (ASSESSED, SALE)) + "\n", encoding="utf-8")
    assert main(["explain", str(path), "--event", "s-1"]) == 2
    assert "no event with id 's-1'" in capsys.readouterr().err
    assert main(["explain", str(path), "--event", "s1"]) == 0


# -- deadlines and time ------------------------------------------------------------------------

OPENED = {
    "id": "o1",
    "type": "dispute_opened",
    "at": "2026-07-01T10:00:00+01:00",
    "dispute_id": "DP-1",
    "cardholder_id": "CH-1",
    "amount": "120.50",
    "currency": "GBP",
    "reason": "other",
    "paid_at": "2026-06-20T12:00:00+01:00",
    "team": "london",
}
STREAM = [
    OPENED,
    {**OPENED, "id": "o2", "at": "2026-07-01T10:05:00+01:00", "dispute_id": "DP-2"},
    {
        "id": "a1",
        "type": "dispute_acknowledged",
        "at": "2026-07-01T11:00:00+01:00",
        "dispute_id": "DP-1",
    },
    {
        "id": "h1",
        "type": "holding_reply_sent",
        "at": "2026-07-02T11:00:00+01:00",
        "dispute_id": "DP-1",
        "reason": "waiting for the merchant",
    },
    {
        "id": "r2",
        "type": "dispute_resolved",
        "at": "2026-07-03T11:00:00+01:00",
        "dispute_id": "DP-2",
        "outcome": "refunded",
    },
]


@pytest.fixture(scope="module")
def disputes() -> commitrules.Pack:
    return commitrules.load_pack(DISPUTES)


def test_a_deadline_says_what_it_did_and_which_event_did_it(disputes: commitrules.Pack) -> None:
    lines = {(line.event_id, line.rule_id): line for line in explain(disputes, STREAM)}
    opened = lines["o1", "D2.resolve"]
    assert (opened.action, opened.values["dispute_id"]) == ("opened", "DP-1")
    assert opened.values["due_at"].isoformat() == "2026-07-22T23:59:59.999999+01:00"
    acknowledged = lines["a1", "D1.acknowledge"]
    assert acknowledged.action == "fulfilled"
    assert acknowledged.values["opened_by"] == "o1"
    extended = lines["h1", "D2.resolve"]
    assert extended.action == "extended"
    assert "from 2026-07-22T23:59:59.999999+01:00 to 2026-08-19T23:59:59.999999+01:00" in (
        extended.note
    )
    assert lines["r2", "D2.resolve"].action == "fulfilled"
    assert lines["r2", "D1.acknowledge"].action == "fulfilled"  # resolving also acknowledges
    assert "opened, fulfilled, extended or cancelled" not in " ".join(
        str(v) for v in lines.values()
    )


def test_a_trigger_that_opens_nothing_says_why(disputes: commitrules.Pack) -> None:
    again = {**OPENED, "id": "o3", "at": "2026-07-01T12:00:00+01:00"}
    line = next(
        x
        for x in explain(disputes, [OPENED, again])
        if (x.event_id, x.rule_id) == ("o3", "D2.resolve")
    )
    assert (line.applied, line.action) == (False, None)
    assert "already open for it (opened by o1)" in line.note


def test_until_explains_what_moving_time_did(disputes: commitrules.Pack) -> None:
    until = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    lines = explain(disputes, STREAM, until=until, event_id="o1")
    clock = [line for line in lines if line.event_id == CLOCK]
    assert [(line.rule_id, line.action) for line in clock] == [
        ("D2.resolve", "missed"),
        ("D2.resolve", "escalated"),
    ]
    assert clock[0].values["due_at"].isoformat() == "2026-08-19T23:59:59.999999+01:00"
    assert clock[0].kind == "deadline"
    assert not [line for line in explain(disputes, STREAM, event_id="o1") if line.event_id == CLOCK]


def test_the_cli_takes_until_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in STREAM) + "\n", encoding="utf-8")
    base = ["explain", str(path), "--pack", str(DISPUTES)]
    assert main([*base, "--until", "2026-09-01T00:00:00+01:00", "--format", "json"]) == 0
    lines = json.loads(capsys.readouterr().out)
    assert {"event_id", "rule_id", "action", "values", "held", "note"} <= set(lines[0])
    missed = next(x for x in lines if x["action"] == "missed")
    assert missed["values"]["due_at"] == "2026-08-19T23:59:59.999999+01:00"
    text = json.dumps(lines)
    assert "Decimal(" not in text
    assert "datetime." not in text
    assert main([*base, "--until", "2026-09-01T00:00:00+01:00"]) == 0
    out = capsys.readouterr().out
    assert "- D2.resolve (deadline): VIOLATED (missed)" in out
    assert "o1 D2.resolve (deadline): opened" in out
    assert main([*base, "--until", "2026-09-01"]) == 2
