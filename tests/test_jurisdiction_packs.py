"""The bundled Hong Kong and United Kingdom packs (issue 25): they are found with the default
pack, extend it, switch its mainland-only rules off with a reason, keep the default pack's
`hk` and `uk` profiles as they were, and their cases pass with every rule and clause covered.
The packs' behaviour itself is tested by their own cases (rulesets/*/tests/*.yaml)."""

from __future__ import annotations

import pytest

import commitrules
from commitrules.cli import main
from commitrules.testing import coverage, run_pack_tests

JURISDICTIONS = {
    "customer-commitments-hk": ("hk", "Asia/Hong_Kong", "HK", None),
    "customer-commitments-uk": ("uk", "Europe/London", "GB", "ENG"),
}

#: The default pack's rules that bind only in mainland China (by their source).
MAINLAND_ONLY = (
    "C5.acknowledge.in-time",
    "C5.resolve.simple",
    "C5.resolve.complex",
    "C5.resolve.insurance-reply",
    "C1.recording.sale-not-recorded",
    "C3.suitability.elderly-extra-care",
    # Issue 24's mainland rules: sales recording (双录), the suitability measures of 2025,
    # the complaint measures' extension approval, notice, review (核查) and register.
    "C1.recording.branch-wm-agency",
    "C1.recording.bancassurance",
    "C1.recording.cannot-judge",
    "C1.marketing.private-product-public",
    "C2.before-sale.free-look",
    "C3.suitability.cannot-judge",
    "C3.suitability.legal-capacity",
    "C3.suitability.assessments-per-day",
    "C3.suitability.assessments-per-year",
    "C3.suitability.change-confirmed",
    "C3.suitability.reassess-on-change",
    "C5.resolve.extension-approver",
    "C5.notice.outcome-content",
    "C5.review.in-time",
    "C5.records.registered",
    "W2.incident.reported",
    "W2.incident.reported.cii",
    "W2.incident.reported.cii-police",
    "W2.incident.reported.general",
    "W2.incident.reported.pboc",
    "W2.incident.grade-matches-data",
    "W2.pi-breach.authority-notified",
    "W2.pi-breach.individuals-notified",
    "W2.pi-breach.notice-content",
    "C3.privacy.cross-border.mechanism",
    "C3.privacy.cross-border.consent",
    "C3.privacy.cross-border.impact-assessment",
    "C3.privacy.sensitive-consent",
    "C3.privacy.retention",
    "C3.privacy.requests.answered",
    "C3.privacy.requests.refusal-reason",
)


def test_the_jurisdiction_packs_are_bundled_and_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert set(commitrules.bundled_packs()) >= {"customer-commitments", *JURISDICTIONS}
    assert main(["packs"]) == 0
    listed = capsys.readouterr().out
    for pack_id in JURISDICTIONS:
        assert pack_id in listed


@pytest.mark.parametrize("pack_id", sorted(JURISDICTIONS))
def test_a_jurisdiction_pack_extends_the_default_on_its_own_time_and_calendar(
    pack_id: str,
) -> None:
    profile, zone, country, subdivision = JURISDICTIONS[pack_id]
    pack = commitrules.load_pack(pack_id)
    assert pack.extends == ("customer-commitments",)
    assert (pack.profile, pack.timezone) == (profile, zone)
    assert pack.calendar_spec is not None
    assert (pack.calendar_spec.country, pack.calendar_spec.subdivision) == (country, subdivision)


@pytest.mark.parametrize("pack_id", sorted(JURISDICTIONS))
def test_every_mainland_only_rule_is_switched_off_with_a_reason(pack_id: str) -> None:
    pack = commitrules.load_pack(pack_id)
    disabled = dict(pack.disabled)
    assert set(disabled) == set(MAINLAND_ONLY)
    assert all(len(reason) > 20 for reason in disabled.values())
    running = {rule.id for rule in pack.rules}
    assert not running & set(MAINLAND_ONLY)
    # The commitment's own rules stay, and each pack adds its own under finer clauses.
    assert {"C3.suitability.risk-match", "C5.fair.specialist-assigned"} <= running
    default_clauses = {clause.id for clause in commitrules.load_pack().clauses}
    own = [rule for rule in pack.rules if rule.id.startswith(("HK.", "UK."))]
    assert own
    assert all(rule.clause not in default_clauses for rule in own)


@pytest.mark.parametrize(("profile", "zone"), [("hk", "Asia/Hong_Kong"), ("uk", "Europe/London")])
def test_the_default_packs_profiles_stay_the_mainland_pack_with_local_figures(
    profile: str, zone: str
) -> None:
    pack = commitrules.load_pack(profile=profile)
    assert (pack.id, pack.profile, pack.timezone) == ("customer-commitments", profile, zone)
    running = {rule.id for rule in pack.rules}
    assert set(MAINLAND_ONLY) <= running
    assert not pack.disabled


@pytest.mark.parametrize("pack_id", sorted(JURISDICTIONS))
def test_a_jurisdiction_packs_cases_pass_and_cover_every_rule_and_clause(pack_id: str) -> None:
    suite = run_pack_tests(pack_id)
    assert suite.passed, "\n".join(r.report() for r in suite.results if not r.passed)
    covered = coverage(suite)
    assert covered.rule_percent == 100.0, [r.rule_id for r in covered.rules if not r.complete]
    assert covered.clause_percent == 100.0, covered.clauses_uncovered
    # A clause whose every rule is switched off is covered by the pack's own finer clause.
    reasons = dict(covered.clauses_not_automatable)
    assert reasons["C5.review"] == "covered by its finer clauses"
