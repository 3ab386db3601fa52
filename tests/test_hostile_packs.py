"""Packs are data that anyone who can edit a file may write: the corpus in tests/hostile/.

Each folder is a pack that must be refused with the error in its ``expected.txt`` (or,
for ``PASS``, loaded and run harmlessly). While they load, an audit hook records every
file opened, every import and every socket: loading never executes code, imports, reads
outside the pack, or opens a connection.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import commitrules
from commitrules import CommitRulesError, Engine

CORPUS = Path(__file__).parent / "hostile"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())
SITE = Path(commitrules.__file__).resolve().parent.parent

_recording: list[tuple[str, Any]] | None = None
_WATCHED = frozenset(("open", "import", "socket.connect", "subprocess.Popen", "os.system", "exec"))


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recording is not None and event in (
        "open",
        "import",
        "socket.connect",
        "subprocess.Popen",
        "os.system",
        "exec",
    ):
        _recording.append((event, args))


sys.addaudithook(_audit)


def _record(pack_dir: Path) -> tuple[Exception | None, list[tuple[str, Any]]]:
    global _recording  # noqa: PLW0603 - the audit hook cannot be removed, only switched
    commitrules.load_pack()  # warm every import and the bundled pack before recording
    _recording = []
    try:
        commitrules.load_pack(pack_dir)
    except CommitRulesError as error:
        return error, _recording
    finally:
        seen, _recording = _recording, None
    return None, seen


@pytest.mark.parametrize("pack_dir", CASES, ids=[p.name for p in CASES])
def test_a_hostile_pack_is_refused_with_a_clear_error(pack_dir: Path) -> None:
    expected = (pack_dir / "expected.txt").read_text(encoding="utf-8").strip()
    error, events = _record(pack_dir)
    if expected == "PASS":
        assert error is None
    else:
        assert error is not None, f"{pack_dir.name} loaded but must be refused"
        assert expected in str(error), str(error)
    for event, args in events:
        if event == "exec":
            # The only code run is the condition functions commitrules generates from the
            # whitelisted syntax tree (no pack text reaches their source: see tests/expr).
            assert getattr(args[0], "co_filename", None) == "<condition>", args
            continue
        assert event not in ("socket.connect", "subprocess.Popen", "os.system"), (event, args)
        if event == "import":
            assert str(args[0]).split(".")[0] in ("commitrules", "encodings", "holidays"), args
        if event == "open" and isinstance(args[0], str | Path):
            path = Path(args[0]).resolve()
            inside = path.is_relative_to(pack_dir.resolve()) or path.is_relative_to(SITE)
            assert inside or "zoneinfo" in str(path) or "tzdata" in str(path), path
    assert not Path("/tmp/pwned-by-pack").exists()
    assert not Path("/tmp/pwned").exists()


def test_message_templates_cannot_reach_attributes() -> None:
    pack = commitrules.load_pack(CORPUS / "message-format-trick")
    found = Engine(pack).process(
        {
            "id": "s1",
            "type": "sale",
            "at": "2026-07-01T10:00:00+08:00",
            "customer_id": "C1",
            "product_id": "P1",
            "product_risk": 1,
            "amount": "1",
            "currency": "CNY",
            "staff_id": "S1",
            "branch_id": "B1",
            "channel": "branch",
            "recorded": True,
        }
    )
    assert found[0].message.zh == "{product_id.__class__.__init__.__globals__}"
    assert found[0].message.en == "{0} {product_id!r} {product_id:>99999999}"


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    pack_dir = tmp_path / "huge"
    (pack_dir / "rules").mkdir(parents=True)
    (pack_dir / "pack.yaml").write_text(
        "id: huge\nversion: 1.0.0\nname: {zh: x, en: x}\n", encoding="utf-8"
    )
    with (pack_dir / "rules" / "r.yaml").open("w", encoding="utf-8") as handle:
        handle.write("rules:\n")
        handle.write("  # padding\n" * 500_000)
    with pytest.raises(CommitRulesError, match="a pack file may have at most"):
        commitrules.load_pack(pack_dir)
