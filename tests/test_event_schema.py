"""`commitrules schema`: every type of every shipped and example pack, and pack-declared bounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import commitrules
from commitrules.cli import main
from tests.conftest import ROOT


def _packs() -> list[tuple[str, str | None]]:
    """Every shipped pack (bundled, with each profile) and every example pack of the tests."""
    found: list[tuple[str, str | None]] = []
    for pack_id in commitrules.bundled_packs():
        for profile in commitrules.load_pack(pack_id).profiles or ("default",):
            found.append((pack_id, profile))
    for folder in sorted((ROOT / "tests" / "packs").iterdir()):
        if (folder / "pack.yaml").is_file():
            found.append((str(folder), None))
    return found


PACKS = _packs()


@pytest.mark.parametrize(("pack", "profile"), PACKS)
def test_the_schema_of_every_type_of_every_pack_is_json(
    pack: str, profile: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    loaded = commitrules.load_pack(pack, profile=profile)
    chosen = ["--profile", profile] if profile else []
    for name in loaded.catalog.names:
        capsys.readouterr()
        assert main(["schema", "--pack", pack, *chosen, name]) == 0, name
        schema = json.loads(capsys.readouterr().out)
        assert schema["properties"]["type"]["const"] == name
    assert main(["schema", "--pack", pack, *chosen]) == 0
    union = json.loads(capsys.readouterr().out)
    assert set(union["discriminator"]["mapping"]) == set(loaded.catalog.names)


def test_pack_declared_bounds_are_json_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pack.yaml").write_text(
        "id: bounds\nversion: 0.1.0\nname: {zh: 界, en: Bounds}\n", encoding="utf-8"
    )
    (tmp_path / "events.yaml").write_text(
        "event_types:\n"
        "  payment:\n"
        "    fields:\n"
        "      amount: {type: decimal, min: 0.01, max: 1000}\n"
        "      tries: {type: int, min: 1, max: 5, required: false, default: 2}\n"
        "      rate: {type: decimal, required: false, default: 0.5}\n",
        encoding="utf-8",
    )
    assert main(["schema", "--pack", str(tmp_path), "payment"]) == 0
    properties = json.loads(capsys.readouterr().out)["properties"]
    number = next(o for o in properties["amount"]["anyOf"] if o.get("type") == "number")
    assert (number["minimum"], number["maximum"]) == (0.01, 1000)
    tries = next(o for o in properties["tries"]["anyOf"] if o.get("type") == "integer")
    assert (tries["minimum"], tries["maximum"]) == (1, 5)
    assert isinstance(tries["minimum"], int)
    assert properties["rate"]["default"] == "0.5"  # a decimal travels as its text


def test_an_int_field_takes_whole_bounds_only(tmp_path: Path) -> None:
    (tmp_path / "pack.yaml").write_text(
        "id: bounds\nversion: 0.1.0\nname: {zh: 界, en: Bounds}\n", encoding="utf-8"
    )
    (tmp_path / "events.yaml").write_text(
        "event_types:\n  payment:\n    fields:\n      tries: {type: int, min: 1.5, max: 1}\n",
        encoding="utf-8",
    )
    with pytest.raises(commitrules.PackValidationError, match="whole number"):
        commitrules.load_pack(tmp_path)


def test_schema_takes_a_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--profile", "hk", "sale"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Sale"
    assert main(["schema", "--profile", "nowhere", "sale"]) == 2
    assert "no profile 'nowhere'" in capsys.readouterr().err
