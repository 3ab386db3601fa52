"""The engine's contract on a small pack with one rule of every kind."""

from __future__ import annotations

import datetime as dt
import shutil
import weakref
from pathlib import Path
from typing import Any

import pytest

import commitrules
from commitrules import Engine, EventConflictError, EventValidationError, LateEventError
from tests.conftest import MINI

CST = dt.timezone(dt.timedelta(hours=8))


def at(day: int, hour: int = 10, minute: int = 0, month: int = 7) -> str:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CST).isoformat()


def sale(eid: str, when: str, **changes: Any) -> dict[str, Any]:
    event = {
        "id": eid,
        "type": "sale",
        "at": when,
        "customer_id": "C1",
        "product_id": "P1",
        "product_risk": 3,
        "amount": "100",
        "currency": "CNY",
        "staff_id": "A",
        "branch_id": "B1",
        "channel": "branch",
        "recorded": True,
    }
    event.update(changes)
    return event


def assessed(eid: str, when: str, level: int, customer: str = "C1") -> dict[str, Any]:
    return {
        "id": eid,
        "type": "suitability_assessed",
        "at": when,
        "customer_id": customer,
        "risk_level": level,
    }


def complaint(eid: str, when: str, case: str = "K1", branch: str = "B1") -> dict[str, Any]:
    return {
        "id": eid,
        "type": "complaint_received",
        "at": when,
        "case_id": case,
        "customer_id": "C9",
        "channel": "hotline",
        "category": "fees",
        "branch_id": branch,
    }


def resolved(eid: str, when: str, case: str = "K1") -> dict[str, Any]:
    return {"id": eid, "type": "complaint_resolved", "at": when, "case_id": case, "outcome": "ok"}


def rules_of(violations: list[commitrules.Violation]) -> list[str]:
    return [v.rule_id for v in violations]


def only(violations: list[commitrules.Violation], rule_id: str) -> list[commitrules.Violation]:
    """The findings of one rule (periodic rules of the pack close periods as time moves)."""
    return [v for v in violations if v.rule_id == rule_id]


@pytest.fixture
def engine(mini_pack: commitrules.Pack) -> Engine:
    return Engine(mini_pack)


class TestCheck:
    def test_a_breach_is_reported_at_once_with_its_route(self, engine: Engine) -> None:
        engine.process(assessed("a1", at(1), 5))
        found = engine.process(sale("s1", at(1, 11), amount="600"))
        assert rules_of(found) == ["K1.amount"]
        violation = found[0]
        assert violation.clause_id == "K1"
        assert violation.role == "owner"
        assert violation.route == ("owner", "boss")  # severity high escalates to boss
        assert violation.event_ids == ("s1",)
        assert violation.subject == {"customer_id": "***"}  # personal: masked by default
        assert violation.at == dt.datetime(2026, 7, 1, 11, tzinfo=CST)
        assert str(violation.evidence["amount"]) == "600"
        assert violation.evidence["params.max_amount"] == 500

    def test_parameters_are_judged_as_in_force_at_the_event_time(self, engine: Engine) -> None:
        engine.process(assessed("a1", at(1, month=6), 5))
        # 600 is within the limit of 1000 in June, above the limit of 500 from July.
        assert engine.process(sale("s1", at(30, month=6), amount="600")) == []
        found = engine.process(sale("s2", at(1, month=7), amount="600"))
        assert "K1.amount" in rules_of(found)  # June's periods close too, at the same moment

    def test_compliant_event_gives_nothing(self, engine: Engine) -> None:
        engine.process(assessed("a1", at(1), 5))
        assert engine.process(sale("s1", at(1, 11), amount="500")) == []


class TestPrecedence:
    def test_no_earlier_event_is_a_violation_with_the_missing_message(self, engine: Engine) -> None:
        found = engine.process(sale("s1", at(1)))
        assert rules_of(found) == ["P1.assessed"]
        assert found[0].message.en == "Not assessed"

    def test_the_latest_earlier_event_counts(self, engine: Engine) -> None:
        engine.process(assessed("a1", at(1), 5))
        engine.process(assessed("a2", at(2), 2))  # newer and lower: it is the one that counts
        found = engine.process(sale("s1", at(3), product_risk=3))
        assert rules_of(found) == ["P1.assessed"]
        assert found[0].event_ids == ("s1", "a2")
        assert found[0].evidence["prior.risk_level"] == 2

    def test_condition_compares_both_events(self, engine: Engine) -> None:
        engine.process(assessed("a1", at(1), 3))
        assert engine.process(sale("s1", at(2), product_risk=3)) == []

    def test_an_expired_earlier_event_does_not_count(self, engine: Engine) -> None:
        engine.process(assessed("a1", at(1, month=6), 5))
        assert only(engine.process(sale("s1", at(1, month=7))), "P1.assessed") == []
        late = dt.datetime(2027, 6, 2, 10, tzinfo=CST).isoformat()
        found = engine.process(sale("s2", late))
        assert "P1.assessed" in rules_of(found)

    def test_other_keys_do_not_count(self, engine: Engine) -> None:
        engine.process(assessed("a1", at(1), 5, customer="C2"))
        assert rules_of(engine.process(sale("s1", at(2)))) == ["P1.assessed"]

    @staticmethod
    def _kept(engine: Engine) -> list[str]:
        state = engine.snapshot()["rules"]["P1.assessed"]["state"]
        return [customer for (customer,), *_ in state["priors"]]

    def test_the_daily_sweep_forgets_exactly_the_expired_priors(self, engine: Engine) -> None:
        # A fixed validity (12 months): priors expire in the order they were last stored,
        # so the sweep reads only the expired front; an update moves a prior to the end.
        engine.process(assessed("a1", at(1, month=1), 3, customer="C1"))
        engine.process(assessed("a2", at(2, month=1), 3, customer="C2"))
        engine.process(assessed("a3", at(3, month=1), 3, customer="C3"))
        engine.process(assessed("a4", at(4, month=1), 3, customer="C1"))  # C1 renewed
        assert self._kept(engine) == ["C2", "C3", "C1"]
        engine.advance_to(dt.datetime(2027, 1, 3, 12, tzinfo=CST))
        assert self._kept(engine) == ["C3", "C1"]  # C2 expired on 2027-01-02
        engine.advance_to(dt.datetime(2027, 1, 10, 12, tzinfo=CST))
        assert self._kept(engine) == []

    def test_a_later_prior_that_ends_earlier_is_swept_too(self, engine: Engine) -> None:
        # 12 months from 29 February ends on 28 February, before the 23:00 of an assessment
        # made the evening before: validity is not in event-time order, the sweep must
        # still find the expired one behind a valid one.
        engine.process(assessed("a1", "2028-02-28T23:00:00+08:00", 3, customer="C1"))
        engine.process(assessed("a2", "2028-02-29T09:00:00+08:00", 3, customer="C2"))
        engine.advance_to(dt.datetime(2029, 2, 28, 23, 30, tzinfo=CST))
        assert self._kept(engine) == ["C1"]  # the 23:00 sweep: C2 ended at 09:00, C1 at 23:00
        found = only(engine.process(sale("s1", "2029-02-28T23:40:00+08:00")), "P1.assessed")
        assert "prior_expired_at" in found[0].evidence  # C1: kept, so "expired"
        found = only(
            engine.process(sale("s2", "2029-02-28T23:50:00+08:00", customer_id="C2")),
            "P1.assessed",
        )
        assert "prior_expired_at" not in found[0].evidence  # C2: swept, so "missing"

    def test_a_restored_engine_sweeps_priors_given_out_of_order(
        self, engine: Engine, mini_pack: commitrules.Pack
    ) -> None:
        # A durable engine's snapshot (or an edited one) need not list priors in order.
        for index, customer in enumerate(["C1", "C2", "C3"], start=1):
            engine.process(assessed(f"a{index}", at(index, month=1), 3, customer=customer))
        state = engine.snapshot()
        state["rules"]["P1.assessed"]["state"]["priors"].reverse()
        restored = Engine.restore(mini_pack, state)
        restored.advance_to(dt.datetime(2027, 1, 2, 12, tzinfo=CST))
        assert self._kept(restored) == ["C2", "C3"]  # C1 expired on 2027-01-01
        found = restored.process(sale("s1", dt.datetime(2027, 1, 2, 13, tzinfo=CST).isoformat()))
        assert only(found, "P1.assessed")[0].message.en == "Not assessed"


class TestDeadline:
    def test_a_missed_deadline_is_one_violation_at_its_due_time(self, engine: Engine) -> None:
        engine.process(complaint("c1", at(1)))
        assert engine.advance_to(dt.datetime(2026, 7, 16, 23, 59, tzinfo=CST)) == []
        found = engine.advance_to(dt.datetime(2026, 7, 17, 0, 0, tzinfo=CST))
        assert rules_of(found) == ["D1.resolve"]
        violation = found[0]
        due = dt.datetime(2026, 7, 16, 23, 59, 59, 999999, tzinfo=CST)
        assert violation.due_at == due
        assert violation.at == due
        assert violation.message.en == "K1 overdue since 2026-07-16 23:59"
        # A follow-up that arrives later does not create a second one.
        assert engine.process(resolved("r1", at(18))) == []

    def test_a_follow_up_exactly_at_the_due_time_is_in_time(self, engine: Engine) -> None:
        engine.process(complaint("c1", at(1)))
        due = dt.datetime(2026, 7, 16, 23, 59, 59, 999999, tzinfo=CST)
        assert engine.process(resolved("r1", due.isoformat())) == []
        assert only(engine.advance_to(dt.datetime(2026, 9, 1, tzinfo=CST)), "D1.resolve") == []

    def test_an_approved_extension_moves_the_due_time(self, engine: Engine) -> None:
        engine.process(complaint("c1", at(1)))
        engine.process(
            {
                "id": "x1",
                "type": "complaint_extended",
                "at": at(10),
                "case_id": "K1",
                "reason": "expert opinion",
                "approved_by": "head office",
            }
        )
        assert only(engine.advance_to(dt.datetime(2026, 8, 29, tzinfo=CST)), "D1.resolve") == []
        found = only(engine.advance_to(dt.datetime(2026, 9, 1, tzinfo=CST)), "D1.resolve")
        assert rules_of(found) == ["D1.resolve"]
        assert found[0].due_at == dt.datetime(2026, 8, 30, 23, 59, 59, 999999, tzinfo=CST)

    def test_an_unapproved_extension_does_not(self, engine: Engine) -> None:
        engine.process(complaint("c1", at(1)))
        engine.process(
            {"id": "x1", "type": "complaint_extended", "at": at(2), "case_id": "K1", "reason": "r"}
        )
        found = engine.advance_to(dt.datetime(2026, 7, 17, tzinfo=CST))
        assert rules_of(found) == ["D1.resolve"]

    def test_still_open_long_after_due_escalates_as_a_new_record(self, engine: Engine) -> None:
        engine.process(complaint("c1", at(1)))
        first = engine.advance_to(dt.datetime(2026, 7, 20, tzinfo=CST))
        later = only(engine.advance_to(dt.datetime(2026, 8, 1, tzinfo=CST)), "D1.resolve")
        assert [v.kind for v in later] == ["escalation"]
        escalation = later[0]
        assert escalation.refers_to == first[0].id
        assert escalation.route == ("owner", "boss")
        assert escalation.message.en.startswith("Escalated: ")

    def test_resolving_after_the_miss_stops_the_escalation(self, engine: Engine) -> None:
        engine.process(complaint("c1", at(1)))
        engine.advance_to(dt.datetime(2026, 7, 20, tzinfo=CST))
        engine.process(resolved("r1", at(21)))
        assert only(engine.advance_to(dt.datetime(2026, 9, 1, tzinfo=CST)), "D1.resolve") == []


class TestThreshold:
    def test_fires_once_when_crossed_and_re_arms_when_it_falls_back(self, engine: Engine) -> None:
        found = []
        for i in range(5):
            found += engine.process(complaint(f"c{i}", at(1, 10 + i), case=f"K{i}"))
        assert rules_of(found) == ["T1.surge"]  # the 3rd crosses; the 4th and 5th do not refire
        assert found[0].event_ids == ("c2",)
        assert found[0].evidence["value"] == "3"
        assert found[0].subject == {"branch_id": "B1"}
        # Two days later the window is empty again: the next crossing fires anew.
        again = []
        for i in range(3):
            again += engine.process(complaint(f"d{i}", at(3, 10 + i), case=f"L{i}"))
        assert rules_of([v for v in again if v.rule_id == "T1.surge"]) == ["T1.surge"]

    def test_groups_are_counted_apart(self, engine: Engine) -> None:
        found = []
        for i in range(4):
            branch = "B1" if i % 2 else "B2"
            found += engine.process(complaint(f"c{i}", at(1, 10 + i), case=f"K{i}", branch=branch))
        assert "T1.surge" not in rules_of(found)

    def test_the_window_is_sliding(self, engine: Engine) -> None:
        found = []
        found += engine.process(complaint("c0", at(1, 9), case="K0"))
        found += engine.process(complaint("c1", at(1, 20), case="K1"))
        found += engine.process(complaint("c2", at(2, 9, 1), case="K2"))  # c0 has left the window
        assert "T1.surge" not in rules_of(found)


def survey(eid: str, when: str, satisfied: bool) -> dict[str, Any]:
    return {
        "id": eid,
        "type": "survey_response",
        "at": when,
        "survey": "service",
        "customer_id": "C1",
        "satisfied": satisfied,
    }


def trained(eid: str, when: str, staff: str) -> dict[str, Any]:
    return {
        "id": eid,
        "type": "training_completed",
        "at": when,
        "staff_id": staff,
        "course": "compliance",
    }


class TestPeriodicTarget:
    def run(self, engine: Engine, satisfied: int, total: int) -> list[commitrules.Violation]:
        engine.process(trained("t0", at(1, 8), "A"))
        engine.process(trained("t1", at(1, 8, 1), "B"))
        for i in range(total):
            engine.process(survey(f"s{i}", at(2 + i % 20, 9, i % 60), i < satisfied))
        closed = engine.advance_to(dt.datetime(2026, 8, 1, tzinfo=CST))
        return [v for v in closed if v.rule_id == "G1.satisfaction"]

    def test_exactly_at_the_target_meets_it(self, engine: Engine) -> None:
        assert self.run(engine, satisfied=19, total=20) == []  # 95% >= 95%

    def test_below_the_target_is_a_violation_at_period_close(self, engine: Engine) -> None:
        found = self.run(engine, satisfied=18, total=20)
        assert [v.kind for v in found] == ["violation"]
        assert found[0].at == dt.datetime(2026, 8, 1, tzinfo=CST)
        assert found[0].subject == {"period": "2026-07"}
        assert found[0].evidence["numerator"] == 18
        assert found[0].evidence["denominator"] == 20

    def test_too_small_a_sample_is_reported_never_passed(self, engine: Engine) -> None:
        found = self.run(engine, satisfied=10, total=10)
        assert [v.kind for v in found] == ["insufficient_sample"]


class TestPeriodicObligation:
    def test_members_who_sent_nothing_are_found(self, engine: Engine) -> None:
        engine.process(trained("t0", at(3), "A"))
        found = engine.advance_to(dt.datetime(2026, 8, 1, tzinfo=CST))
        missing = [v for v in found if v.rule_id == "O1.training"]
        assert [v.subject["staff_id"] for v in missing] == ["B"]  # C is inactive

    def test_every_member_trained_gives_nothing(self, engine: Engine) -> None:
        engine.process(trained("t0", at(3), "A"))
        engine.process(trained("t1", at(4), "B"))
        found = engine.advance_to(dt.datetime(2026, 8, 1, tzinfo=CST))
        assert [v for v in found if v.rule_id == "O1.training"] == []


class TestContract:
    def test_one_event_breaking_several_rules_gives_one_violation_each(
        self, engine: Engine
    ) -> None:
        found = engine.process(sale("s1", at(1), amount="900"))
        assert sorted(rules_of(found)) == ["K1.amount", "P1.assessed"]

    def test_released_together_means_ordered_by_time_rule_and_id(self, engine: Engine) -> None:
        engine.process(complaint("c1", at(1), case="K1"))
        engine.process(complaint("c2", at(1, 11), case="K2"))
        found = engine.advance_to(dt.datetime(2026, 9, 1, tzinfo=CST))
        keys = [(v.at, v.rule_id, v.id) for v in found]
        assert keys == sorted(keys)
        assert len(found) >= 4

    def test_a_violation_comes_before_its_escalation_at_the_same_moment(
        self, tmp_path: Path
    ) -> None:
        # An escalation with after: 0 shares the violation's time and rule: before the kind
        # rank, the hash id decided which came first (the escalation, for about half the ids).
        pack_dir = tmp_path / "zero"
        shutil.copytree(MINI, pack_dir)
        rules = (pack_dir / "rules" / "all.yaml").read_text(encoding="utf-8")
        rules = rules.replace(
            "{after: {count: 10, unit: calendar_days}", "{after: {count: 0, unit: calendar_days}"
        )
        (pack_dir / "rules" / "all.yaml").write_text(rules, encoding="utf-8")
        engine = Engine(commitrules.load_pack(pack_dir))
        for index in range(40):
            engine.process(complaint(f"c{index}", at(1, 10, index), case=f"K{index}"))
        found = [
            v
            for v in engine.advance_to(dt.datetime(2026, 8, 1, tzinfo=CST))
            if v.rule_id == "D1.resolve"
        ]
        assert len(found) == 80
        position = {v.id: index for index, v in enumerate(found)}
        escalations = [v for v in found if v.kind == "escalation"]
        assert len(escalations) == 40
        for escalation in escalations:
            assert escalation.refers_to is not None
            assert position[escalation.refers_to] < position[escalation.id]
            assert found[position[escalation.refers_to]].at == escalation.at

    def test_a_repeated_id_is_ignored_and_counted(self, engine: Engine) -> None:
        first = engine.process(sale("s1", at(1), amount="900"))
        assert engine.process(sale("s1", at(1), amount="900")) == []
        assert engine.stats.duplicates == 1
        assert engine.stats.processed == 1
        assert len(first) == 2

    def test_a_repeated_id_with_another_payload_is_a_conflict(self, engine: Engine) -> None:
        engine.process(sale("s1", at(1)))
        with pytest.raises(EventConflictError, match=r"different payload \(different: amount\)"):
            engine.process(sale("s1", at(1), amount="7"))

    def test_an_event_older_than_the_watermark_is_rejected(self, engine: Engine) -> None:
        engine.process(sale("s1", at(2)))
        with pytest.raises(LateEventError, match="before the watermark"):
            engine.process(sale("s2", at(1)))
        assert engine.stats.rejected == 1

    def test_an_invalid_event_names_the_field_and_changes_nothing(self, engine: Engine) -> None:
        engine.process(complaint("c1", at(1)))
        before = engine.stats.processed, engine.watermark
        with pytest.raises(EventValidationError) as caught:
            engine.process(sale("s1", at(3), product_risk=9))
        assert caught.value.location.key == "product_risk"
        assert caught.value.location.event_id == "s1"
        assert (engine.stats.processed, engine.watermark) == before
        # The id was not taken: the corrected event is accepted.
        assert engine.process(sale("s1", at(3))) is not None

    def test_several_problems_of_one_event_name_the_event_once(self, engine: Engine) -> None:
        event = sale("s1", at(3), product_risk=9)
        del event["amount"]
        with pytest.raises(EventValidationError) as caught:
            engine.process(event)
        assert str(caught.value) == (
            "event s1: product_risk: Input should be less than or equal to 5; "
            "amount: Field required"
        )
        assert [p.location.event_id for p in caught.value.problems] == ["s1", "s1"]

    def test_a_naive_timestamp_is_an_error_never_utc(self, engine: Engine) -> None:
        with pytest.raises(EventValidationError, match="timezone"):
            engine.process(sale("s1", "2026-07-01T10:00:00"))

    def test_advance_to_only_moves_forward_and_needs_an_offset(self, engine: Engine) -> None:
        engine.process(sale("s1", at(5)))
        assert engine.advance_to(dt.datetime(2026, 7, 1, tzinfo=CST)) == []
        assert engine.watermark == dt.datetime(2026, 7, 5, 10, tzinfo=CST)
        with pytest.raises(ValueError, match="aware"):
            engine.advance_to(dt.datetime(2026, 8, 1))  # noqa: DTZ001 - the error under test

    def test_violation_ids_are_deterministic(self, mini_pack: commitrules.Pack) -> None:
        runs = []
        for _ in range(2):
            engine = Engine(mini_pack)
            found = engine.process(sale("s1", at(1), amount="900"))
            found += engine.process(complaint("c1", at(2)))
            found += engine.advance_to(dt.datetime(2026, 9, 1, tzinfo=CST))
            runs.append([v.id for v in found])
        assert runs[0] == runs[1]
        assert len(set(runs[0])) == len(runs[0])

    def test_evidence_masks_personal_fields_by_default(self, mini_pack: commitrules.Pack) -> None:
        engine = Engine(mini_pack)
        found = engine.process(sale("s1", at(1), amount="900"))
        precedence = next(v for v in found if v.rule_id == "P1.assessed")
        assert precedence.evidence["customer_id"] == "***"
        shown = Engine(mini_pack, evidence="include").process(sale("s1", at(1), amount="900"))
        assert next(v for v in shown if v.rule_id == "P1.assessed").evidence["customer_id"] == "C1"
        keyed = Engine(mini_pack, evidence="pseudonymize", pseudonym_key=b"k")
        value = next(
            v for v in keyed.process(sale("s1", at(1), amount="900")) if v.rule_id == "P1.assessed"
        ).evidence["customer_id"]
        assert value.startswith("anon-")
        assert "C1" not in value

    def test_violations_carry_the_pack_that_decided(self, engine: Engine) -> None:
        found = engine.process(sale("s1", at(1), amount="900"))
        assert found[0].pack.id == "mini"
        assert found[0].pack.version == "1.0.0"
        assert found[0].pack.profile == "default"
        assert len(found[0].pack.digest) == 64

    def test_models_are_accepted_as_well_as_dicts(self, engine: Engine) -> None:
        model = commitrules.events.Sale.model_validate(sale("s1", at(1), amount="900"))
        assert sorted(rules_of(engine.process(model))) == ["K1.amount", "P1.assessed"]


def test_an_application_may_still_attach_its_own_attributes_to_an_engine() -> None:
    # The engine is slotted for speed; its '__dict__' slot keeps what engines always allowed.
    engine = Engine(commitrules.load_pack(MINI))
    engine.owner = "branch-batch-7"  # type: ignore[attr-defined]
    assert engine.owner == "branch-batch-7"  # type: ignore[attr-defined]
    assert weakref.ref(engine)() is engine
