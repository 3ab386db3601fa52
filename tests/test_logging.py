"""The 'commitrules' logger: silent by default, WARNING when state is dropped, INFO per load."""

from __future__ import annotations

import datetime as dt
import doctest
import json
import logging
from pathlib import Path

import pytest

import commitrules
from commitrules import Engine, _logging
from commitrules.cli import main

CST = dt.timezone(dt.timedelta(hours=8))


def complaint(event_id: str, day: int, case: str) -> dict[str, object]:
    return {
        "id": event_id,
        "type": "complaint_received",
        "at": dt.datetime(2026, 7, day, 10, tzinfo=CST).isoformat(),
        "case_id": case,
        "customer_id": "C1",
        "channel": "hotline",
        "category": "fees",
        "branch_id": "BR-SH-PD",
        "assignee": "S0007",
    }


def test_the_package_logger_has_a_null_handler_and_no_level() -> None:
    logger = logging.getLogger("commitrules")
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)
    assert logger.level == logging.NOTSET  # the application decides


def test_a_restore_that_starts_rules_fresh_logs_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = Engine(commitrules.load_pack())
    engine.process(complaint("c1", 1, "K1"))
    snapshot = json.loads(json.dumps(engine.snapshot()))
    # Written before pack upgrades could carry state (no 'shape'): a changed rule's open
    # deadline cannot be carried over, it is dropped, and that is logged.
    del snapshot["rules"]["C5.acknowledge.in-time"]["shape"]
    changed = commitrules.load_pack(parameters={"complaint_ack_days": 5})
    with caplog.at_level(logging.WARNING, logger="commitrules"):
        restored = Engine.restore(changed, snapshot)
    assert restored.fresh_rules == ("C5.acknowledge.in-time",)
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.name.split(".")[0] == "commitrules"
    assert "C5.acknowledge.in-time" in record.getMessage()


def test_a_restore_that_keeps_every_rule_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    pack = commitrules.load_pack()
    engine = Engine(pack)
    engine.process(complaint("c1", 1, "K1"))
    with caplog.at_level(logging.DEBUG, logger="commitrules"):
        Engine.restore(pack, json.loads(json.dumps(engine.snapshot())))
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_pack_load_is_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="commitrules"):
        pack = commitrules.load_pack(profile="hk")
    [record] = [r for r in caplog.records if "loaded pack" in r.getMessage()]
    assert record.levelno == logging.INFO
    assert record.name.split(".")[0] == "commitrules"
    message = record.getMessage()
    assert "customer-commitments" in message
    assert "profile hk" in message
    assert pack.ref.digest in message


def test_the_cli_verbose_flag_shows_info_on_stderr_and_only_for_that_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["-v", "packs"]) == 0
    err = capsys.readouterr().err
    assert "commitrules: INFO: loaded pack customer-commitments" in err
    assert main(["packs"]) == 0
    assert "INFO" not in capsys.readouterr().err
    handlers = logging.getLogger("commitrules").handlers
    assert all(isinstance(h, logging.NullHandler) for h in handlers)


def test_without_verbose_the_cli_logs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["packs"]) == 0
    assert "commitrules:" not in capsys.readouterr().err


def test_the_module_examples_run() -> None:
    failures, tried = doctest.testmod(_logging)
    assert tried > 0
    assert failures == 0
