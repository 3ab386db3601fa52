"""`explain`: every rule that applied to an event, whether it held, and the values it compared."""

from __future__ import annotations

import pytest

import commitrules
from commitrules.cli import main
from commitrules.explain import explain

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
    recorded = lines["C1.recording.sale-not-recorded"]
    assert (recorded.applied, recorded.held, recorded.violations) == (True, True, ())
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
    assert "customer_id='C-1'" in capsys.readouterr().out


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
