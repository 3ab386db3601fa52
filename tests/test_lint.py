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


# -- sources: whose figure, and the article's words ------------------------------------------


def _set_parameters(pack_dir: Path, text: str) -> None:
    (pack_dir / "parameters.yaml").write_text("parameters:\n" + text, encoding="utf-8")


def test_a_checked_regulation_without_its_quote_warns_and_strict_fails(
    pack_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codes = {(w.code, w.location.key) for w in lint(pack_dir).warnings}
    assert ("missing-quote", "parameters.decision_days") in codes
    assert main(["lint", str(pack_dir), "--strict"]) == 1
    assert "missing-quote: parameter 'decision_days'" in capsys.readouterr().out
    text = (pack_dir / "parameters.yaml").read_text(encoding="utf-8")
    (pack_dir / "parameters.yaml").write_text(
        text.replace(
            'decision_days: {type: int, value: 15, source: {kind: regulation, citation: "test", '
            "checked: true}}",
            'decision_days: {type: int, value: 15, source: {kind: regulation, citation: "test", '
            'checked: true, quote: "15日内作出处理决定"}}',
        ),
        encoding="utf-8",
    )
    assert "missing-quote" not in {w.code for w in lint(pack_dir).warnings}


def test_an_unchecked_regulation_needs_no_quote_yet(pack_dir: Path) -> None:
    _set_parameters(
        pack_dir,
        '  surge: {type: int, value: 3, source: {kind: regulation, citation: "Rule 9", '
        "checked: false}}\n"
        "  max_amount: {type: decimal, value: 1, source: {kind: institution_commitment, "
        'citation: "Commitment §1", checked: true}}\n'
        "  decision_days: {type: int, value: 15, source: {kind: internal_policy, set_by: owner, "
        'citation: "the bank"}}\n'
        "  target: {type: decimal, value: 0.95, source: {kind: internal_policy, set_by: owner, "
        'citation: "the bank"}}\n',
    )
    codes = {w.code for w in lint(pack_dir).warnings}
    assert "missing-quote" not in codes
    assert "unchecked-source" in codes  # the regulation, not read yet


def test_a_bank_policy_names_the_role_that_set_it(pack_dir: Path) -> None:
    warnings = {(w.code, w.location.key): w for w in lint(pack_dir).warnings}
    assert ("policy-without-owner", "parameters.max_amount") in warnings
    assert ("policy-without-owner", "parameters.surge") in warnings
    _set_parameters(
        pack_dir,
        "  max_amount: {type: decimal, value: 500, source: {kind: internal_policy, "
        'set_by: owner, citation: "test", checked: true}}\n'
        '  decision_days: {type: int, value: 15, source: {kind: regulation, citation: "test", '
        'checked: true, quote: "15日"}}\n'
        "  surge: {type: int, value: 3, source: {kind: internal_policy, set_by: watchers, "
        'citation: "test", checked: false}}\n'
        "  target: {type: decimal, value: 0.95, source: {kind: institution_commitment, "
        'citation: "test", checked: true}}\n',
    )
    warnings = {(w.code, w.location.key): w for w in lint(pack_dir).warnings}
    assert ("policy-without-owner", "parameters.max_amount") not in warnings
    unknown = warnings[("unknown-owner", "parameters.surge")]
    assert "set_by 'watchers' is not a role of the pack; did you mean 'watcher'?" in unknown.message
    # The bank's own figure, with its owner, has no official text to be checked against.
    assert ("unchecked-source", "parameters.surge") not in warnings


def test_set_by_on_a_regulation_is_a_load_error_that_says_why(pack_dir: Path) -> None:
    text = (pack_dir / "parameters.yaml").read_text(encoding="utf-8")
    (pack_dir / "parameters.yaml").write_text(
        text.replace(
            'decision_days: {type: int, value: 15, source: {kind: regulation, citation: "test", '
            "checked: true}}",
            'decision_days: {type: int, value: 15, source: {kind: regulation, citation: "test", '
            "set_by: owner}}",
        ),
        encoding="utf-8",
    )
    problem = problems_of(pack_dir)[0]
    assert problem.startswith("parameters.yaml:8:")
    assert "a regulation's figure is set by the regulator" in problem


def test_a_clause_source_is_linted_like_a_parameters(pack_dir: Path) -> None:
    clauses = (pack_dir / "clauses.yaml").read_text(encoding="utf-8")
    k1 = (
        "  - {id: K1, title: {zh: 檢查, en: Check}, "
        "text: {zh: 單事件檢查, en: A single-event check}"
    )
    (pack_dir / "clauses.yaml").write_text(
        clauses.replace(
            k1 + "}",
            k1 + ",\n"
            '     sources: [{kind: regulation, citation: "Art 1", checked: true},\n'
            '               {kind: internal_policy, citation: "the bank", set_by: boss}]}',
        ),
        encoding="utf-8",
    )
    pack = commitrules.load_pack(pack_dir)
    assert [s.citation for s in pack.clause("K1").sources] == ["Art 1", "the bank"]  # type: ignore[union-attr]
    found = [w for w in lint(pack_dir).warnings if w.location.key == "clauses.K1.sources"]
    assert [w.code for w in found] == ["missing-quote"]
    assert found[0].location.file == "clauses.yaml"


def test_a_profile_is_linted_for_the_sources_it_gives(pack_dir: Path) -> None:
    (pack_dir / "profiles").mkdir()
    (pack_dir / "profiles" / "default.yaml").write_text(
        "id: default\nname: {zh: 默認, en: Default}\n", encoding="utf-8"
    )
    (pack_dir / "profiles" / "xx.yaml").write_text(
        "id: xx\nname: {zh: 某地, en: Somewhere}\nparameters:\n"
        '  surge: {value: 4, source: {kind: regulation, citation: "Rule 9", checked: true}}\n',
        encoding="utf-8",
    )
    found = [w for w in lint(pack_dir).warnings if "(profile xx)" in w.message]
    assert [(w.code, w.location.file) for w in found] == [("missing-quote", "profiles/xx.yaml")]


def test_the_default_pack_says_whose_every_figure_is() -> None:
    # Every bank-policy figure names its owner and every checked regulation quotes its
    # article, in every profile (the second edition's review: issue 24).
    for profile in commitrules.load_pack().profiles:
        report = lint(profile=profile)
        assert report.ok
        bad = [w for w in report.warnings if w.code in SOURCE_CODES]
        assert bad == [], (profile, bad)
    pack = commitrules.load_pack()
    for clause in pack.clauses:
        for source in clause.sources:
            assert source.kind != "internal_policy" or source.set_by, clause.id
            assert not (source.kind == "regulation" and source.checked) or source.quote, clause.id


SOURCE_CODES = {"missing-quote", "policy-without-owner", "unknown-owner"}


# -- roles held per branch -----------------------------------------------------------------


def test_a_role_held_per_scope_value_needs_its_roster(pack_dir: Path) -> None:
    roles = (pack_dir / "roles.yaml").read_text(encoding="utf-8")
    (pack_dir / "roles.yaml").write_text(
        roles + "  - {id: head, name: {zh: 負責人, en: Head}, scope: branch_id}\n",
        encoding="utf-8",
    )
    (problem,) = problems_of(pack_dir)
    assert "names both 'scope'" in problem
    (pack_dir / "roles.yaml").write_text(
        roles + "  - {id: head, name: {zh: 負責人, en: Head}, scope: branch_id, roster: heads}\n"
        "  - {id: desk, name: {zh: 櫃檯, en: Desk}, scope: desk_id, roster: staff}\n",
        encoding="utf-8",
    )
    found = {(w.code, w.location.key) for w in lint(pack_dir).warnings}
    assert ("role-roster", "roles.head") in found  # no table 'heads'
    assert ("role-scope", "roles.desk") in found  # not a scope field of the pack
    assert ("role-roster", "roles.desk") in found  # staff is keyed by staff_id, no holder


def test_the_default_pack_branch_heads_roster_is_used_and_resolves_each_branch() -> None:
    pack = commitrules.load_pack()
    report = lint()
    assert not [w for w in report.warnings if w.code.startswith("role-")]
    assert "unused-table" not in {w.code for w in report.warnings}
    head = next(role for role in pack.roles if role.id == "branch-head")
    assert (head.scope, head.roster) == ("branch_id", "branch_heads")
    roster = {row["branch_id"]: row["holder"] for row in pack.tables["branch_heads"].rows}
    staff = {row["staff_id"]: row for row in pack.tables["staff"].rows}
    for branch in (row["branch_id"] for row in pack.tables["branches"].rows):
        holder = staff[roster[branch]]
        assert (holder["role"], holder["branch_id"]) == ("branch-head", branch)


# -- periodic obligations placed by a field ----------------------------------------------------


def test_a_due_time_needs_a_period_field_and_the_field_must_exist(pack_dir: Path) -> None:
    obligation = (
        "  - id: O9\n    kind: periodic_obligation\n    clause: O1\n    period: year\n"
        "    requires: {{event: annual_report_published}}\n{extra}"
        "    role: owner\n    message: {{zh: x, en: x}}\n"
    )
    write_rules(pack_dir, obligation.format(extra="    due: {count: 4, unit: months}\n"))
    (problem,) = problems_of(pack_dir)
    assert "'due' judges a period after its end" in problem
    write_rules(pack_dir, obligation.format(extra="    period_field: years\n"))
    (problem,) = problems_of(pack_dir)
    assert "period_field" in problem
    assert "'years'" in problem
    write_rules(
        pack_dir,
        obligation.format(
            extra="    period_field: year\n    due: {count: {field: year}, unit: months}\n"
        ),
    )
    (problem,) = problems_of(pack_dir)
    assert "a period's due time is a number or a parameter" in problem
