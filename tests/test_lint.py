"""Lint and the messages a pack author reads: warnings, rule ids, "did you mean", cases."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import commitrules
from commitrules import PackValidationError
from commitrules.cli import main
from commitrules.errors import did_you_mean
from commitrules.lint import lint
from tests.conftest import MINI

RULE = (
    "  - id: {id}\n    kind: {kind}\n    clause: K1\n    on: sale\n{body}"
    "    role: owner\n    message: {{zh: x, en: x}}\n"
)


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    """A writable copy of the mini pack, with its cases."""
    target = tmp_path / "pack"
    shutil.copytree(MINI, target)
    return target


def write_rules(pack_dir: Path, *rules: str) -> None:
    (pack_dir / "rules" / "extra.yaml").write_text("rules:\n" + "".join(rules), encoding="utf-8")


def problems_of(pack_dir: Path) -> list[str]:
    with pytest.raises(PackValidationError) as caught:
        commitrules.load_pack(pack_dir)
    return [str(p) for p in caught.value.problems]


# -- an empty pack -------------------------------------------------------------------------


def test_an_empty_pack_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pack.yaml").write_text(
        "id: empty\nversion: 0.1.0\nname: {zh: 空, en: Empty}\n", encoding="utf-8"
    )
    report = lint(tmp_path)
    assert report.ok
    assert [w.code for w in report.warnings] == ["empty-pack"]
    assert main(["lint", str(tmp_path), "--strict"]) == 1
    assert "empty-pack: pack 'empty' has no rule" in capsys.readouterr().out


def test_a_pack_with_rules_does_not_warn_that_it_is_empty() -> None:
    assert "empty-pack" not in {w.code for w in lint(MINI).warnings}


# -- problems name the rule by id ---------------------------------------------------------


def test_a_problem_in_a_rule_names_the_rule_by_its_id(pack_dir: Path) -> None:
    write_rules(
        pack_dir,
        RULE.format(id="X.1", kind="check", body="    require: recorded\n"),
        RULE.format(id="X.2", kind="check", body="    require: nope\n"),
    )
    found = "\n".join(problems_of(pack_dir))
    assert "rules/extra.yaml:13:5: rule X.2: require: at offset 0: unknown field 'nope'" in found
    assert "rules[1]" not in found


def test_a_bad_or_repeated_id_keeps_the_position(pack_dir: Path) -> None:
    write_rules(
        pack_dir,
        RULE.format(id="'bad id!'", kind="check", body="    require: recorded\n"),
        RULE.format(id="K1.amount", kind="check", body="    require: recorded\n"),
    )
    found = "\n".join(problems_of(pack_dir))
    assert "rules/extra.yaml:2:5: rules[0].id: String should match pattern" in found
    assert "rules/extra.yaml:9:5: rules[1].id: rule 'K1.amount' is already defined" in found


# -- did you mean --------------------------------------------------------------------------


def test_did_you_mean_never_echoes_the_given_name() -> None:
    assert did_you_mean("require", ["require", "forbid"]) == ""
    assert did_you_mean("require", ["require", "requires"]) == "; did you mean 'requires'?"


def test_a_key_of_another_rule_kind_is_matched_against_this_kind(pack_dir: Path) -> None:
    write_rules(
        pack_dir,
        RULE.format(id="X.1", kind="check", body="    requires: recorded\n"),
        RULE.format(
            id="X.2",
            kind="precedence",
            body="    require: recorded\n    requires: {event: suitability_assessed, "
            "match: [customer_id], within: {count: 1, unit: months}}\n",
        ),
    )
    found = "\n".join(problems_of(pack_dir))
    assert "rule X.1: requires: unknown key 'requires'; did you mean 'require'?" in found
    assert "rule X.2: require: unknown key 'require'; did you mean 'requires'?" in found
    for line in found.splitlines():
        assert "did you mean 'require'?" not in line or "'require'" not in line.split(";")[0]


def test_a_nested_key_is_matched_against_the_keys_valid_there(pack_dir: Path) -> None:
    (pack_dir / "pack.yaml").write_text(
        (pack_dir / "pack.yaml").read_text(encoding="utf-8").replace("country", "contry"),
        encoding="utf-8",
    )
    write_rules(
        pack_dir,
        RULE.format(
            id="X.1",
            kind="precedence",
            body="    requires: {event: suitability_assessed, match: [customer_id], "
            "within: {count: 1, unit: months, clause: K1}}\n",
        ),
    )
    found = "\n".join(problems_of(pack_dir))
    assert "calendar.contry: unknown key 'contry'; did you mean 'country'?" in found
    # 'clause' is a key of rules, not of a duration: nothing is proposed.
    assert "rule X.1: requires.within.clause: unknown key 'clause'" in found
    assert "unknown key 'clause';" not in found


# -- lint reads the pack's cases ----------------------------------------------------------


def test_lint_reports_a_case_expecting_a_rule_the_pack_does_not_have(pack_dir: Path) -> None:
    cases = pack_dir / "tests" / "check.yaml"
    text = cases.read_text(encoding="utf-8").replace("{rule: K1.amount,", "{rule: K1.amout,")
    cases.write_text(text.replace("cases:", "ignore: [insuficient_sample]\ncases:"), "utf-8")
    report = lint(pack_dir)
    errors = [str(p) for p in report.errors]
    assert (
        "tests/check.yaml:11:12: cases[0].expect.violations[0].rule: expected rule 'K1.amout' "
        "does not exist in pack 'mini'; did you mean 'K1.amount'?"
    ) in errors
    assert any(
        "ignore[0]: ignore 'insuficient_sample' is neither a kind" in e
        and "did you mean 'insufficient_sample'?" in e
        for e in errors
    )
    assert len(errors) == 2  # the file's default ignore is reported once, not per case


def test_lint_reports_a_case_file_it_cannot_read(
    pack_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (pack_dir / "tests" / "broken.yaml").write_text(
        "cases:\n  - nme: a case\n    expect: {violations: []}\n", encoding="utf-8"
    )
    assert main(["lint", str(pack_dir)]) == 2
    out = capsys.readouterr().out
    assert (
        "error: tests/broken.yaml:2:5: cases[0].nme: unknown key 'nme'; did you mean 'name'?\n"
        in out
    )
    assert "error: tests/broken.yaml:2:5: cases[0].name: missing key 'name'\n" in out
    assert out.count("tests/broken.yaml") == 2  # each problem on its line, its place once


def test_lint_reports_an_unknown_profile_or_parameter_of_a_case(pack_dir: Path) -> None:
    cases = pack_dir / "tests" / "check.yaml"
    text = cases.read_text(encoding="utf-8").replace(
        "parameters: {decision_days: 5}", "parameters: {decison_days: 5}\n    profile: hk"
    )
    cases.write_text(text, encoding="utf-8")
    errors = "\n".join(str(p) for p in lint(pack_dir).errors)
    assert "no parameter 'decison_days' to replace; did you mean 'decision_days'?" in errors
    assert "no profile 'hk' in pack 'mini'" in errors
