"""The decision log: a keyed chain in RFC 8785 form, a head beside it, and what audit finds.

Each way to tamper with a log (edit and re-hash to the end, cut the tail, drop or edit
the head, swap keys) is tried through the API and the CLI; an examiner's independent
check (HMAC-SHA256 over RFC 8785, written here without commitrules) agrees.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

import commitrules
from commitrules import AuditLogError
from commitrules.audit import (
    GENESIS,
    HEAD_BYTES,
    DecisionLog,
    _canonical_written,
    head_path,
    key_id,
    verify_log,
)
from commitrules.cli import main
from tests.conftest import ROOT

PACK = commitrules.load_pack()
SAMPLE = ROOT / "examples" / "sample-events.jsonl"
KEY = b"the bank's audit key, 32 bytes.."
OTHER_KEY = b"somebody else's key, 32 bytes..."
EVENTS = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()[:200]]


def write_log(path: Path, key: bytes | None, events: list[dict[str, Any]] = EVENTS) -> Path:
    engine = commitrules.Engine(PACK)
    with DecisionLog(path, key=key) as log:
        log.attach(engine)
        for event in events:
            engine.process(event)
    return path


@pytest.fixture(scope="module")
def keyed_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    path = write_log(tmp_path_factory.mktemp("keyed") / "log.jsonl", KEY)
    return path.read_bytes(), head_path(path).read_bytes()


@pytest.fixture(scope="module")
def unkeyed_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    path = write_log(tmp_path_factory.mktemp("unkeyed") / "log.jsonl", None)
    return path.read_bytes(), head_path(path).read_bytes()


def place(tmp_path: Path, files: tuple[bytes, bytes]) -> Path:
    path = tmp_path / "log.jsonl"
    path.write_bytes(files[0])
    head_path(path).write_bytes(files[1])
    return path


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def rewrite(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(rfc8785.dumps(row) + b"\n" for row in rows))


def examiner_verifies(path: Path, key: bytes) -> bool:
    """What an examiner does in any language: RFC 8785, HMAC-SHA256, links, the head."""
    previous, count = GENESIS, 0
    for line in path.read_bytes().splitlines():
        record = json.loads(line)
        assert rfc8785.dumps(record) == line  # every line is already canonical
        body = {k: v for k, v in record.items() if k != "hash"}
        tag = hmac.new(key, rfc8785.dumps(body), hashlib.sha256).hexdigest()
        if record["hash"] != tag or record["prev"] != previous or record["seq"] != count + 1:
            return False
        previous, count = record["hash"], count + 1
    head = json.loads(head_path(path).read_bytes())
    assert rfc8785.dumps(head) == head_path(path).read_bytes().rstrip()
    body = {k: v for k, v in head.items() if k != "tag"}
    tag = hmac.new(key, rfc8785.dumps(body), hashlib.sha256).hexdigest()
    return head["tag"] == tag and head["records"] == count and head["last"] == previous


texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@given(
    st.fixed_dictionaries(
        {
            "seq": st.integers(1, 2**53 - 1),
            "event_id": texts,
            "event_type": texts,
            "pack": st.fixed_dictionaries({"id": texts, "digest": texts}),
            "watermark": st.none() | texts,
            "applied": st.lists(
                st.fixed_dictionaries(
                    {"rule": texts, "event": texts, "outcome": st.lists(texts, max_size=2)}
                ),
                max_size=3,
            ),
            "released": st.lists(
                st.fixed_dictionaries({"id": texts, "waiver": st.none() | texts}), max_size=2
            ),
            "chain": st.just("sha256"),
            "prev": texts,
        }
    )
)
def test_the_fast_canonical_form_of_a_record_is_rfc_8785(record: dict[str, Any]) -> None:
    assert _canonical_written(record) == rfc8785.dumps(record)


# -- what an intact log shows -----------------------------------------------------------------


def test_a_keyed_log_verifies_with_its_key_and_an_examiner_agrees(
    tmp_path: Path, keyed_log: tuple[bytes, bytes]
) -> None:
    path = place(tmp_path, keyed_log)
    check = verify_log(path, key=KEY)
    assert (check.ok, check.verdict, check.records, check.head) == (True, "intact", 200, 200)
    assert (check.chain, check.key_id) == ("hmac-sha256", key_id(KEY))
    assert any("holder of the key" in note for note in check.notes)
    assert examiner_verifies(path, KEY)
    assert len(head_path(path).read_bytes()) == HEAD_BYTES
    assert records(path)[0]["chain"] == f"hmac-sha256:{key_id(KEY)}"


def test_an_unkeyed_log_verifies_and_says_what_that_does_not_show(
    tmp_path: Path, unkeyed_log: tuple[bytes, bytes]
) -> None:
    check = verify_log(place(tmp_path, unkeyed_log))
    assert (check.ok, check.chain, check.key_id, check.head) == (True, "sha256", None, 200)
    assert any("UNKEYED" in note and "rewritten" in note for note in check.notes)


# -- tampering ----------------------------------------------------------------------------------


def rehash_from(rows: list[dict[str, Any]], start: int, key: bytes | None) -> None:
    """What a forger does: edit a record, then re-tag it and every later one."""
    previous = rows[start - 1]["hash"] if start else GENESIS
    for row in rows[start:]:
        row["prev"] = previous
        body = {k: v for k, v in row.items() if k != "hash"}
        data = rfc8785.dumps(body)
        row["hash"] = (
            hmac.new(key, data, hashlib.sha256).hexdigest()
            if key
            else hashlib.sha256(data).hexdigest()
        )
        previous = row["hash"]


def forge_head(path: Path, rows: list[dict[str, Any]], key: bytes | None, chain: str) -> None:
    body = {
        "chain": chain,
        "format": "commitrules.audit-head",
        "last": rows[-1]["hash"],
        "records": len(rows),
    }
    data = rfc8785.dumps(body)
    tag = hmac.new(key, data, hashlib.sha256) if key else hashlib.sha256(data)
    head_path(path).write_bytes(rfc8785.dumps({**body, "tag": tag.hexdigest()}))


def test_an_edit_rehashed_to_the_end_is_found_in_a_keyed_log(
    tmp_path: Path, keyed_log: tuple[bytes, bytes]
) -> None:
    path = place(tmp_path, keyed_log)
    rows = records(path)
    rows[99]["released"] = []
    rows[99]["applied"] = [{"rule": "X", "event": rows[99].get("event_id"), "outcome": ["held"]}]
    rehash_from(rows, 99, OTHER_KEY)  # the forger has no key: any other key, or none
    rewrite(path, rows)
    forge_head(path, rows, OTHER_KEY, rows[0]["chain"])
    check = verify_log(path, key=KEY)
    assert (check.verdict, check.line, check.records) == ("broken", 100, 99)
    assert "line 100 was edited (its tag does not match its content)" in check.reason
    # Re-hashed with plain SHA-256 and marked unkeyed: a key was given, so it is refused.
    rows = records(path)
    for row in rows:
        row["chain"] = "sha256"
    rehash_from(rows, 0, None)
    rewrite(path, rows)
    forge_head(path, rows, None, "sha256")
    check = verify_log(path, key=KEY)
    assert check.verdict == "broken"
    assert "not keyed, but a key was given" in check.reason
    assert not examiner_verifies(path, KEY)


def test_an_edit_rehashed_to_the_end_passes_an_unkeyed_log_as_documented(
    tmp_path: Path, unkeyed_log: tuple[bytes, bytes]
) -> None:
    path = place(tmp_path, unkeyed_log)
    rows = records(path)
    rows[99]["released"] = []
    rehash_from(rows, 99, None)
    rewrite(path, rows)
    forge_head(path, rows, None, "sha256")
    check = verify_log(path)
    assert check.ok  # what the docs say: without a key, a rewrite cannot be detected
    assert any("UNKEYED" in note for note in check.notes)


@pytest.mark.parametrize("keyed", [True, False])
def test_a_cut_tail_is_found_and_what_is_missing_is_said(
    tmp_path: Path, keyed_log: tuple[bytes, bytes], unkeyed_log: tuple[bytes, bytes], keyed: bool
) -> None:
    path = place(tmp_path, keyed_log if keyed else unkeyed_log)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:150]))
    check = verify_log(path, key=KEY if keyed else None)
    assert (check.verdict, check.records, check.head) == ("broken", 150, 200)
    assert check.reason == (
        "the log is truncated: its head counts 200 records, the file holds 150; "
        "the last 50 (sequence 151 to 200) are missing"
    )


def test_a_missing_head_is_found(tmp_path: Path, keyed_log: tuple[bytes, bytes]) -> None:
    path = place(tmp_path, keyed_log)
    head_path(path).unlink()
    check = verify_log(path, key=KEY)
    assert check.verdict == "broken"
    assert f"the head {head_path(path)} is missing" in check.reason
    assert "200 records verified" in check.reason


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda head: head.replace(b'"records":200', b'"records":199'), "was edited"),
        (lambda head: head[:40], "is damaged"),
        (lambda head: b'{"format": "other"}', "is not a decision-log head"),
        (lambda head: b" " * 70_000, "longer than 65536 bytes"),
    ],
)
def test_an_edited_or_damaged_head_is_found(
    tmp_path: Path, keyed_log: tuple[bytes, bytes], change: Any, words: str
) -> None:
    path = place(tmp_path, keyed_log)
    head_path(path).write_bytes(change(keyed_log[1]))
    check = verify_log(path, key=KEY)
    assert check.verdict == "broken"
    assert words in check.reason


def test_a_stale_head_is_reported_and_the_next_append_brings_it_up_to_date(
    tmp_path: Path, keyed_log: tuple[bytes, bytes]
) -> None:
    path = tmp_path / "log.jsonl"
    write_log(path, KEY, EVENTS[:199])
    stale = head_path(path).read_bytes()
    path.write_bytes(keyed_log[0])  # the 200th record was appended, the head not updated
    head_path(path).write_bytes(stale)
    check = verify_log(path, key=KEY)
    assert (check.verdict, check.records, check.head) == ("stale-head", 200, 199)
    assert "records 200 to 200 are not covered" in check.reason
    engine = commitrules.Engine(PACK)
    with DecisionLog(path, key=KEY) as log:
        log.attach(engine)
        engine.advance_to(dt.datetime(2026, 10, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    check = verify_log(path, key=KEY)
    assert (check.ok, check.records, check.head) == (True, 201, 201)


def test_a_keyed_log_needs_its_own_key(tmp_path: Path, keyed_log: tuple[bytes, bytes]) -> None:
    path = place(tmp_path, keyed_log)
    without = verify_log(path)
    assert (without.verdict, without.key_id) == ("unverifiable", key_id(KEY))
    assert "give its key" in without.reason
    other = verify_log(path, key=OTHER_KEY)
    assert other.verdict == "unverifiable"
    assert f"key id {key_id(KEY)}, but the key given has id {key_id(OTHER_KEY)}" in other.reason


def test_a_short_key_is_refused() -> None:
    with pytest.raises(AuditLogError, match="at least 16 bytes"):
        DecisionLog("never-written.jsonl", key=b"short")


# -- appending ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "words"),
    [(None, "give its key"), (OTHER_KEY, "the key given has id"), (KEY, "refusing")],
)
def test_a_log_is_continued_only_with_its_own_key_and_intact(
    tmp_path: Path, keyed_log: tuple[bytes, bytes], key: bytes | None, words: str
) -> None:
    path = place(tmp_path, keyed_log)
    if key == KEY:
        path.write_bytes(keyed_log[0].replace(b'"held"', b'"violation"', 1))
    before = path.read_bytes(), head_path(path).read_bytes()
    with pytest.raises(AuditLogError, match=words):
        DecisionLog(path, key=key)
    assert (path.read_bytes(), head_path(path).read_bytes()) == before


def test_a_log_truncated_to_nothing_is_not_restarted(
    tmp_path: Path, keyed_log: tuple[bytes, bytes]
) -> None:
    path = place(tmp_path, keyed_log)
    path.write_bytes(b"")
    with pytest.raises(AuditLogError, match="truncated"):
        DecisionLog(path, key=KEY)


def test_a_new_log_has_a_head_at_once(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    DecisionLog(path, key=KEY).close()
    check = verify_log(path, key=KEY)
    assert (check.ok, check.records, check.head, check.last_hash) == (True, 0, 0, GENESIS)


# -- logs of commitrules 0.1 ---------------------------------------------------------------------


def legacy_log(path: Path, count: int = 5) -> Path:
    """A log as commitrules 0.1 wrote it: sorted-key JSON hashed with SHA-256, no head."""
    previous, lines = GENESIS, []
    for seq in range(1, count + 1):
        record: dict[str, Any] = {"seq": seq, "event_id": f"e{seq}", "prev": previous}
        text = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        record["hash"] = hashlib.sha256(text.encode()).hexdigest()
        previous = record["hash"]
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_legacy_log_is_still_read_and_said_to_be_unkeyed(tmp_path: Path) -> None:
    path = legacy_log(tmp_path / "old.jsonl")
    check = verify_log(path)
    assert (check.ok, check.records, check.chain, check.head) == (True, 5, "legacy", None)
    assert "cannot be detected" in check.notes[0]
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:2] + lines[3:]) + "\n", encoding="utf-8")
    assert verify_log(path).line == 3
    with pytest.raises(AuditLogError, match=r"commitrules 0\.1"):
        DecisionLog(legacy_log(tmp_path / "again.jsonl"))


# -- the CLI --------------------------------------------------------------------------------------


def test_check_writes_a_keyed_log_that_audit_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "audit.key"
    key_file.write_bytes(KEY + b"\n")
    log = tmp_path / "decisions.jsonl"
    argv = ["check", str(SAMPLE), "--audit", str(log), "--exit-zero", "--format", "jsonl"]
    assert main([*argv, "--audit-key-file", str(key_file)]) == 0
    capsys.readouterr()
    assert main(["audit", str(log), "--key-file", str(key_file)]) == 0
    out = capsys.readouterr().out
    assert f"5624 records, chain intact (keyed: HMAC-SHA256, key id {key_id(KEY)})" in out
    assert "head matches (5624 records)" in out
    assert main(["audit", str(log)]) == 2
    assert "give its key" in capsys.readouterr().err
    monkeypatch.setenv("COMMITRULES_AUDIT_KEY_FILE", str(key_file))
    assert main(["audit", str(log)]) == 0
    capsys.readouterr()
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-3]))
    assert main(["audit", str(log)]) == 1
    err = capsys.readouterr().err
    assert "BROKEN: the log is truncated" in err
    assert "the last 3 (sequence 5622 to 5624) are missing" in err


def test_audit_of_an_unkeyed_log_says_unkeyed(
    tmp_path: Path, unkeyed_log: tuple[bytes, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    path = place(tmp_path, unkeyed_log)
    assert main(["audit", str(path)]) == 0
    out = capsys.readouterr().out
    assert "chain intact (unkeyed: SHA-256)" in out
    assert "UNKEYED" in out


@pytest.mark.parametrize("content", [b'{"id": "e1", "type": "sale"}\n', b"plain text\n"])
def test_check_refuses_an_audit_file_that_is_not_a_decision_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    other = tmp_path / "other.jsonl"
    other.write_bytes(content)
    assert main(["check", str(SAMPLE), "--audit", str(other), "--exit-zero"]) == 2
    err = capsys.readouterr().err
    assert f"error: --audit: {other}: not a decision log: line 1" in err
    assert "Traceback" not in err
    assert other.read_bytes() == content
    assert main(["audit", str(other)]) == 2
    assert "not a decision log" in capsys.readouterr().err
