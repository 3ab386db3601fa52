"""Loading packs: every problem found at once, each with its file, line and key."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

import commitrules
from commitrules import Engine, PackError, PackSyntaxError, PackValidationError
from commitrules.cli import main
from tests.conftest import MINI

CST = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    """A writable copy of the mini pack."""
    target = tmp_path / "pack"
    shutil.copytree(MINI, target)
    shutil.rmtree(target / "tests")
    return target


def write_rules(pack_dir: Path, text: str) -> None:
    (pack_dir / "rules" / "extra.yaml").write_text(text, encoding="utf-8")


def problems_of(pack_dir: Path) -> list[str]:
    with pytest.raises(PackValidationError) as caught:
        commitrules.load_pack(pack_dir)
    return [str(p) for p in caught.value.problems]


def test_an_unknown_key_names_the_file_line_and_a_close_match(pack_dir: Path) -> None:
    write_rules(
        pack_dir,
        "rules:\n"
        "  - id: X.1\n"
        "    kind: check\n"
        "    clause: K1\n"
        "    on: sale\n"
        "    requre: recorded\n"
        "    role: owner\n"
        "    message: {zh: x, en: x}\n",
    )
    found = problems_of(pack_dir)
    assert (
        "rules/extra.yaml:6:5: rule X.1: requre: unknown key 'requre'; did you mean 'require'?"
        in found
    )


def test_every_problem_is_reported_at_once(pack_dir: Path) -> None:
    write_rules(
        pack_dir,
        "rules:\n"
        "  - id: X.1\n"
        "    kind: check\n"
        "    clause: NOPE\n"
        "    on: sael\n"
        "    require: recorded\n"
        "    role: nobody\n"
        "    message: {zh: x, en: x}\n"
        "  - id: X.2\n"
        "    kind: check\n"
        "    clause: K1\n"
        "    on: sale\n"
        "    require: 'prodcut_risk > 3'\n"
        "    role: owner\n"
        "    message: {zh: x, en: x}\n",
    )
    found = "\n".join(problems_of(pack_dir))
    assert "rules/extra.yaml:4:5: rule X.1: clause: unknown clause 'NOPE'" in found
    assert (
        "rules/extra.yaml:5:5: rule X.1: on: unknown event type 'sael'; did you mean 'sale'?"
        in found
    )
    assert "rules/extra.yaml:7:5: rule X.1: role: unknown role 'nobody'" in found
    assert "rules/extra.yaml:13:5: rule X.2: require: rule" not in found  # location, not rule text
    assert "unknown field 'prodcut_risk'; did you mean 'product_risk'?" in found
    assert "rules/extra.yaml:13:5: rule X.2: require" in found


def test_a_bad_expression_points_at_the_offset(pack_dir: Path) -> None:
    write_rules(
        pack_dir,
        "rules:\n"
        "  - id: X.1\n"
        "    kind: check\n"
        "    clause: K1\n"
        "    on: sale\n"
        "    require: \"recorded and __import__('os')\"\n"
        "    role: owner\n"
        "    message: {zh: x, en: x}\n",
    )
    with pytest.raises(PackValidationError) as caught:
        commitrules.load_pack(pack_dir)
    problem = caught.value.problems[0]
    assert problem.location.file == "rules/extra.yaml"
    assert problem.location.line == 6
    assert problem.location.offset == 13


def test_a_kind_that_does_not_exist_lists_the_kinds(pack_dir: Path) -> None:
    write_rules(pack_dir, "rules:\n  - {id: X.1, kind: regex, clause: K1, role: owner}\n")
    found = "\n".join(problems_of(pack_dir))
    assert "unknown kind 'regex'; the kinds are check, deadline" in found


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a: &x [1]\nb: *x\n", "aliases"),
        ("a: !!python/object:os.system {}\n", "explicit YAML tags"),
        ("a: 1\na: 2\n", "duplicate key 'a'"),
        ("a: [1\n", "not valid YAML"),
        ("a: 1\n---\nb: 2\n", "one YAML document"),
        ("1: x\n", "keys must be text"),
        ("<<: {a: 1}\n", "merge keys"),
    ],
)
def test_yaml_that_a_pack_must_not_hold_is_refused(pack_dir: Path, text: str, reason: str) -> None:
    (pack_dir / "rules" / "bad.yaml").write_text(text, encoding="utf-8")
    found = "\n".join(problems_of(pack_dir))
    assert "rules/bad.yaml:" in found
    assert reason in found


def test_yaml_12_booleans_keep_on_and_no_as_text(pack_dir: Path) -> None:
    write_rules(
        pack_dir,
        "rules:\n"
        "  - id: X.1\n"
        "    kind: check\n"
        "    clause: K1\n"
        "    on: marketing_published\n"
        "    forbid: \"channel == 'NO'\"\n"
        "    role: owner\n"
        "    message: {zh: x, en: x}\n",
    )
    assert commitrules.load_pack(pack_dir).rule("X.1") is not None


def test_not_a_pack() -> None:
    with pytest.raises(PackError, match="no pack directory"):
        commitrules.load_pack("/no/such/place")


class TestProfiles:
    def test_the_default_profile_is_cn(self) -> None:
        pack = commitrules.load_pack()
        assert pack.profile == "cn"
        assert pack.timezone == "Asia/Shanghai"
        assert pack.parameters["complaint_decision_days"].values[0][1] == 15

    def test_choosing_a_profile_is_one_argument(self) -> None:
        hk = commitrules.load_pack(profile="hk")
        uk = commitrules.load_pack(profile="uk")
        assert hk.parameters["complaint_decision_days"].values[0][1] == 30
        assert uk.parameters["complaint_decision_days"].values[0][1] == 56
        assert uk.timezone == "Europe/London"
        assert hk.digest != uk.digest

    def test_an_unknown_profile_lists_the_known(self) -> None:
        with pytest.raises(PackError, match=r"profiles: cn, hk, uk"):
            commitrules.load_pack(profile="fr")


class TestExtends:
    def make_child(self, tmp_path: Path, extra: str = "") -> Path:
        child = tmp_path / "child"
        (child / "rules").mkdir(parents=True)
        (child / "pack.yaml").write_text(
            "id: my-bank\n"
            "version: 2.0.0\n"
            "name: {zh: 我的銀行, en: My bank}\n"
            "extends: customer-commitments\n"
            "disable:\n"
            "  - {rule: C1.marketing.unapproved, reason: approval is checked upstream}\n" + extra,
            encoding="utf-8",
        )
        (child / "parameters.yaml").write_text(
            "parameters:\n"
            "  complaint_decision_days:\n"
            "    type: int\n"
            "    value: 10\n"
            "    source: {kind: internal_policy, citation: my bank's stricter standard}\n",
            encoding="utf-8",
        )
        (child / "rules" / "mine.yaml").write_text(
            "rules:\n"
            "  - id: MY.big-cash\n"
            "    kind: check\n"
            "    clause: C1\n"
            "    on: sale\n"
            "    forbid: amount > 1000000 and channel == 'online'\n"
            "    role: risk-compliance\n"
            "    message: {zh: 大額網上銷售, en: 'Large online sale of {product_id}'}\n",
            encoding="utf-8",
        )
        return child

    def test_a_pack_adapts_the_default_pack_without_forking_it(self, tmp_path: Path) -> None:
        pack = commitrules.load_pack(self.make_child(tmp_path))
        assert pack.id == "my-bank"
        assert pack.extends == ("customer-commitments",)
        assert pack.rule("C1.marketing.unapproved") is None
        assert pack.disabled == (("C1.marketing.unapproved", "approval is checked upstream"),)
        assert pack.rule("MY.big-cash") is not None
        assert pack.rule("C5.resolve.simple") is not None
        assert pack.parameters["complaint_decision_days"].values[0][1] == 10
        assert pack.profile == "cn"
        engine = Engine(pack)
        engine.process(
            {
                "id": "c1",
                "type": "complaint_received",
                "at": "2026-07-01T10:00:00+08:00",
                "case_id": "K1",
                "customer_id": "C1",
                "channel": "hotline",
                "category": "fees",
                "branch_id": "BR-SH-PD",
                "assignee": "S0007",
            }
        )
        found = engine.advance_to(dt.datetime(2026, 7, 12, tzinfo=CST))
        resolve = [v for v in found if v.rule_id == "C5.resolve.simple"]
        assert resolve[0].due_at == dt.datetime(2026, 7, 11, 23, 59, 59, 999999, tzinfo=CST)
        assert resolve[0].pack.id == "my-bank"

    def test_extending_a_pack_that_does_not_exist_names_pack_yaml_and_the_nearest_id(
        self, tmp_path: Path
    ) -> None:
        child = self.make_child(tmp_path)
        text = (child / "pack.yaml").read_text(encoding="utf-8")
        (child / "pack.yaml").write_text(
            text.replace("extends: customer-commitments", "extends: customer-commitment"),
            encoding="utf-8",
        )
        with pytest.raises(commitrules.PackError) as caught:
            commitrules.load_pack(child)
        assert caught.value.location.file == str(child / "pack.yaml")
        assert caught.value.location.key == "extends"
        assert "did you mean 'customer-commitments'?" in str(caught.value)

    def test_disabling_a_rule_that_does_not_exist_is_an_error(self, tmp_path: Path) -> None:
        child = self.make_child(tmp_path, "  - {rule: C99.nothing, reason: gone}\n")
        found = "\n".join(problems_of(child))
        assert "pack.yaml:7:" in found
        assert "no rule 'C99.nothing' to disable" in found

    def test_redefining_a_rule_of_the_parent_is_an_error(self, tmp_path: Path) -> None:
        child = self.make_child(tmp_path)
        (child / "rules" / "dup.yaml").write_text(
            "rules:\n"
            "  - id: C1.recording.sale-not-recorded\n"
            "    kind: check\n"
            "    clause: C1\n"
            "    on: sale\n"
            "    require: recorded\n"
            "    role: risk-compliance\n"
            "    message: {zh: x, en: x}\n",
            encoding="utf-8",
        )
        found = "\n".join(problems_of(child))
        assert "rules/dup.yaml:2:" in found
        assert "already defined in rules/integrity.yaml" in found


def test_a_pack_declares_its_own_event_types(pack_dir: Path) -> None:
    (pack_dir / "events.yaml").write_text(
        "event_types:\n"
        "  loan_approved:\n"
        "    fields:\n"
        "      loan_id: {type: str}\n"
        "      customer_id: {type: str, personal: true}\n"
        "      rate: {type: decimal, min: 0, max: 1}\n"
        "      channel: {type: str, enum: [branch, online]}\n"
        "      cooling_off_days: {type: int, required: false}\n",
        encoding="utf-8",
    )
    write_rules(
        pack_dir,
        "rules:\n"
        "  - id: X.rate\n"
        "    kind: check\n"
        "    clause: K1\n"
        "    on: loan_approved\n"
        "    require: rate <= 0.24\n"
        "    key: [loan_id]\n"
        "    role: owner\n"
        "    message: {zh: x, en: 'rate {rate}'}\n",
    )
    pack = commitrules.load_pack(pack_dir)
    engine = Engine(pack)
    event = {
        "id": "l1",
        "type": "loan_approved",
        "at": "2026-07-01T10:00:00+08:00",
        "loan_id": "L1",
        "customer_id": "C1",
        "rate": "0.3",
        "channel": "online",
    }
    assert [v.rule_id for v in engine.process(event)] == ["X.rate"]
    with pytest.raises(commitrules.EventValidationError, match="channel"):
        engine.process({**event, "id": "l2", "channel": "phone"})
    assert "loan_approved" in pack.catalog.json_schema()["discriminator"]["mapping"]


def test_a_declared_timestamp_field_is_read_like_at(pack_dir: Path) -> None:
    (pack_dir / "events.yaml").write_text(
        "event_types:\n"
        "  loan_approved:\n"
        "    fields:\n"
        "      loan_id: {type: str}\n"
        "      signed_at: {type: datetime}\n"
        "      disbursed_at: {type: datetime, required: false}\n",
        encoding="utf-8",
    )
    write_rules(
        pack_dir,
        "rules:\n"
        "  - id: X.signed\n"
        "    kind: check\n"
        "    clause: K1\n"
        "    on: loan_approved\n"
        "    forbid: signed_at > at\n"
        "    key: [loan_id]\n"
        "    role: owner\n"
        "    message: {zh: x, en: 'signed after approval'}\n",
    )
    pack = commitrules.load_pack(pack_dir)
    event = {
        "id": "l1",
        "type": "loan_approved",
        "at": "2026-07-01T10:00:00+08:00",
        "loan_id": "L1",
        "signed_at": "2026-07-01T03:00:00Z",  # 11:00 in Shanghai: after the approval
    }
    checked = pack.catalog.validate(event)
    assert checked["signed_at"] == dt.datetime(2026, 7, 1, 3, tzinfo=dt.UTC)
    assert checked["disbursed_at"] is None
    assert [v.rule_id for v in Engine(pack).process(event)] == ["X.signed"]
    for bad, reason in (("2026-07-01T03:00:00", "timezone"), (20260701, "not a number")):
        for field in ("signed_at", "disbursed_at"):
            with pytest.raises(commitrules.EventValidationError, match=reason) as caught:
                pack.catalog.validate({**event, field: bad})
            assert caught.value.location.key == field
    with pytest.raises(commitrules.EventValidationError, match="not null"):
        pack.catalog.validate({**event, "signed_at": None})


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ("{type: datetime, required: false, default: '2026-07-01T10:00:00'}", "datetime default"),
        ("{type: datetime, required: false, default: 20260701}", "datetime default"),
        ("{type: datetime, min: 1}", "'min' and 'max' apply to int and decimal"),
        ("{type: str, max: 5}", "'min' and 'max' apply to int and decimal"),
        ("{type: int, enum: [a, b]}", "'enum' applies to str fields"),
    ],
)
def test_a_field_option_that_does_not_fit_its_type_is_refused_at_load(
    pack_dir: Path, field: str, reason: str
) -> None:
    # Once accepted silently and then wrong on every event (a naive default), or ignored.
    (pack_dir / "events.yaml").write_text(
        f"event_types:\n  loan_approved:\n    fields:\n      when_signed: {field}\n",
        encoding="utf-8",
    )
    found = "\n".join(problems_of(pack_dir))
    assert "events.yaml:4" in found
    assert reason in found


def test_loading_reads_nothing_outside_the_pack(pack_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.yaml"
    outside.write_text("rules: [oops\n", encoding="utf-8")
    (pack_dir / "rules" / "link.yaml").symlink_to(outside)
    found = "\n".join(problems_of(pack_dir))
    assert "links outside the pack directory are not followed" in found


def test_syntax_error_in_pack_yaml_is_a_located_problem(pack_dir: Path) -> None:
    (pack_dir / "pack.yaml").write_text("id: [x\n", encoding="utf-8")
    with pytest.raises((PackValidationError, PackSyntaxError)) as caught:
        commitrules.load_pack(pack_dir)
    assert "pack.yaml:" in str(caught.value)


@pytest.mark.parametrize("profile", [None, "mars"])
def test_an_unknown_time_zone_in_a_profile_is_a_located_problem(
    pack_dir: Path, profile: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    (pack_dir / "profiles").mkdir()
    (pack_dir / "profiles" / "mars.yaml").write_text(
        "id: mars\nname: {zh: 火星, en: Mars}\ntimezone: Mars/Olympus\n", encoding="utf-8"
    )
    with pytest.raises(PackValidationError) as caught:
        commitrules.load_pack(pack_dir, profile=profile)
    (problem,) = caught.value.problems
    assert str(problem) == (
        "profiles/mars.yaml:3:1: timezone: unknown time zone 'Mars/Olympus' "
        "(use an IANA name such as 'Asia/Shanghai')"
    )
    argv = ["lint", str(pack_dir), *(["--profile", profile] if profile else [])]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "error: profiles/mars.yaml:3:1: timezone: unknown time zone" in captured.out
    assert "Traceback" not in captured.err


def test_a_number_with_too_many_digits_in_a_pack_is_refused(pack_dir: Path) -> None:
    (pack_dir / "rules" / "bad.yaml").write_text("a: " + "9" * 101 + "\n", encoding="utf-8")
    found = "\n".join(problems_of(pack_dir))
    assert "rules/bad.yaml:1:4: a number with more than 100 digits" in found


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ("\uff41mount > 500", "names are ASCII: the character '\uff41' (U+FF41"),
        ("staff_id == 'A\u3164'", "the invisible filler character U+3164 (HANGUL FILLER)"),
    ],
)
def test_lint_refuses_lookalike_names_and_invisible_fillers_with_their_place(
    pack_dir: Path, condition: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_rules(
        pack_dir,
        "rules:\n"
        "  - id: X.1\n"
        "    kind: check\n"
        "    clause: K1\n"
        "    on: sale\n"
        f"    require: '{condition.replace(chr(39), chr(39) * 2)}'\n"
        "    role: owner\n"
        "    message: {zh: x, en: x}\n",
    )
    assert main(["lint", str(pack_dir)]) == 2
    out = capsys.readouterr().out
    assert "error: rules/extra.yaml:6:" in out
    assert words in out
