"""OSCAL export: a valid assessment-results document (checked with compliance-trestle's
OSCAL models), deterministic, mapping clauses to findings and violations to observations."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import commitrules
from commitrules.batch import check_files
from commitrules.cli import main
from commitrules.oscal import assessment_results
from tests.conftest import ROOT

SAMPLE = ROOT / "examples" / "sample-events.jsonl"
CST = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 7, 1, tzinfo=CST)
END = dt.datetime(2026, 10, 1, tzinfo=CST)


@pytest.fixture(scope="module")
def document() -> dict[str, object]:
    pack = commitrules.load_pack()
    result = check_files([str(SAMPLE)], pack, until=END)
    return assessment_results(pack, result.violations, start=START, end=END)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_document_validates_against_the_oscal_models(document: dict[str, object]) -> None:
    from trestle.oscal.assessment_results import Model

    Model.model_validate(document)


def test_clauses_are_findings_and_violations_are_observations(document: dict[str, object]) -> None:
    pack = commitrules.load_pack()
    result = check_files([str(SAMPLE)], pack, until=END)
    breaches = [v for v in result.violations if v.is_breach]
    body = document["assessment-results"]  # type: ignore[index]
    run = body["results"][0]
    assert len(run["observations"]) == len(breaches)
    states = {f["target"]["target-id"]: f["target"]["status"]["state"] for f in run["findings"]}
    breached = {
        c.id
        for c in pack.clauses
        if any(v.clause_id == c.id or v.clause_id.startswith(c.id + ".") for v in breaches)
    }
    assert {k for k, v in states.items() if v == "not-satisfied"} == breached
    assert states["M1.satisfaction"] == "satisfied"
    assert body["metadata"]["last-modified"] == END.isoformat()


def test_the_same_inputs_give_the_same_document(document: dict[str, object]) -> None:
    pack = commitrules.load_pack()
    again = assessment_results(
        pack, check_files([str(SAMPLE)], pack, until=END).violations, start=START, end=END
    )
    assert json.dumps(again, sort_keys=True) == json.dumps(document, sort_keys=True)


def test_the_cli_writes_it(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    assert main(["oscal", str(SAMPLE), "--out", str(out), "--until", END.isoformat()]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["assessment-results"]["results"][0]["end"] == END.isoformat()
