"""Pack test cases: exact matching with ``ignore``, and expectations of rules that do not exist."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from commitrules.testing import run_pack_tests
from tests.conftest import MINI

# A month of one satisfied survey answer: the monthly target (min_sample 20) reports the
# month as too small to judge, a finding the case is not about (nor are the monthly
# training obligation's findings, which these cases ignore).
SURVEY = (
    "  - name: {name}\n"
    "{ignore}"
    "    events:\n"
    "      - {{id: s1, type: survey_response, at: '2026-07-01T10:00:00+08:00', survey: service,"
    " customer_id: C1, satisfied: true}}\n"
    "      - {{id: m1, type: marketing_published, at: '2026-07-02T10:00:00+08:00',"
    " material_id: M1, channel: web, text: ok, approved: true}}\n"
    "    until: '2026-08-01T00:00:00+08:00'\n"
    "    expect: {{violations: []}}\n"
)


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(MINI, target)
    shutil.rmtree(target / "tests")
    (target / "tests").mkdir()
    return target


def run(pack_dir: Path, text: str) -> dict[str, tuple[bool, str]]:
    (pack_dir / "tests" / "cases.yaml").write_text(text, encoding="utf-8")
    suite = run_pack_tests(pack_dir)
    assert not suite.errors, suite.errors
    return {r.name: (r.passed, r.report()) for r in suite.results}


def test_exact_matching_fails_on_a_finding_the_case_does_not_name(pack_dir: Path) -> None:
    results = run(pack_dir, "cases:\n" + SURVEY.format(name="no ignore", ignore=""))
    passed, report = results["no ignore"]
    assert not passed
    assert "+ not expected: insufficient_sample G1.satisfaction" in report


def test_a_case_may_ignore_a_kind_or_a_rule(pack_dir: Path) -> None:
    text = "cases:\n" + "".join(
        [
            SURVEY.format(
                name="by kind", ignore="    ignore: [insufficient_sample, O1.training]\n"
            ),
            SURVEY.format(name="by rule", ignore="    ignore: [G1.satisfaction, O1.training]\n"),
            SURVEY.format(name="another rule", ignore="    ignore: [K1.amount, O1.training]\n"),
        ]
    )
    results = run(pack_dir, text)
    assert results["by kind"][0]
    assert results["by rule"][0]
    assert not results["another rule"][0]


def test_a_file_level_ignore_is_the_default_a_case_may_replace(pack_dir: Path) -> None:
    text = "ignore: [insufficient_sample, O1.training]\ncases:\n" + "".join(
        [
            SURVEY.format(name="the file's default", ignore=""),
            SURVEY.format(name="only its own", ignore="    ignore: [O1.training]\n"),
        ]
    )
    results = run(pack_dir, text)
    assert results["the file's default"][0]
    assert not results["only its own"][0]


def test_ignore_never_hides_what_the_case_expects(pack_dir: Path) -> None:
    case = SURVEY.format(name="expects it", ignore="    ignore: [insufficient_sample]\n")
    case = case.replace(
        "expect: {violations: []}",
        "expect: {violations: [{rule: G1.satisfaction, kind: insufficient_sample, count: 2}]}",
    )
    passed, report = run(pack_dir, "cases:\n" + case)["expects it"]
    assert not passed
    assert "(found 1)" in report


def test_an_expected_rule_that_does_not_exist_is_said_so_with_the_nearest_id(
    pack_dir: Path,
) -> None:
    case = SURVEY.format(name="a typo", ignore="").replace(
        "expect: {violations: []}", "expect: {violations: [{rule: G1.satisfacton}]}"
    )
    passed, report = run(pack_dir, "cases:\n" + case)["a typo"]
    assert not passed
    assert (
        "expected rule 'G1.satisfacton' does not exist in pack 'mini'; "
        "did you mean 'G1.satisfaction'?"
    ) in report
    assert "expected, not found" not in report


def test_an_unknown_ignore_name_fails_the_case(pack_dir: Path) -> None:
    case = SURVEY.format(name="bad ignore", ignore="    ignore: [insufficient]\n")
    passed, report = run(pack_dir, "cases:\n" + case)["bad ignore"]
    assert not passed
    assert "ignore 'insufficient' is neither a kind of finding" in report
