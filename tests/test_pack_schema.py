"""The JSON Schemas of the pack files: shipped, current, and true of the packs we ship."""

from __future__ import annotations

import copy
import datetime as dt
import doctest
import fnmatch
import json
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from commitrules.pack import _schema, file_schemas, schema_file
from commitrules.pack._yaml import read_yaml
from tests.conftest import ROOT

jsonschema = pytest.importorskip("jsonschema")

PACKS = [ROOT / "rulesets" / "customer-commitments", *sorted((ROOT / "tests" / "packs").iterdir())]
REGENERATE = 'python -c "from commitrules.pack._schema import main; main()"'


def shipped(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_file(name).read_text(encoding="utf-8"))
    return loaded


def kind_of(pack: Path, path: Path) -> str | None:
    relative = path.relative_to(pack).as_posix()
    for name, (patterns, _model) in _schema.PACK_FILES.items():
        if any(fnmatch.fnmatch(relative, pattern) for pattern in patterns):
            return name
    return None


def as_an_editor_reads(value: Any) -> Any:
    """The YAML as JSON data: dates and times as the text they are written as, decimals as
    numbers (the pack reader gives Python dates and Decimals; an editor sees text and numbers)."""
    if isinstance(value, dict):
        return {key: as_an_editor_reads(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_an_editor_reads(item) for item in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def pack_files(pack: Path) -> list[Path]:
    return sorted(p for p in pack.rglob("*.yaml") if "tests" not in p.relative_to(pack).parts)


def test_every_kind_of_pack_file_has_a_shipped_schema() -> None:
    for name in _schema.PACK_FILES:
        schema = shipped(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)
    with pytest.raises(KeyError, match="known: pack"):
        schema_file("calendar-typo")


def test_the_shipped_schemas_are_what_the_models_give() -> None:
    made_with = shipped("pack")["$comment"].rsplit("pydantic ", 1)[1]
    if made_with != version("pydantic"):
        # Another pydantic renders the same models a little differently: the shipped files
        # must still accept the bundled pack (the next test); regenerate them with the pin.
        pytest.skip(f"the schemas were generated with pydantic {made_with}; {REGENERATE}")
    assert _schema.stale() == [], f"the pack file schemas are stale: {REGENERATE}"


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.name)
def test_the_shipped_packs_validate_against_the_shipped_schemas(pack: Path) -> None:
    checked = 0
    for path in pack_files(pack):
        name = kind_of(pack, path)
        assert name is not None, f"{path} is a pack file no schema is for"
        validator = jsonschema.Draft202012Validator(shipped(name))
        data = as_an_editor_reads(read_yaml(path).data)
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
        assert problems == [], f"{path.relative_to(ROOT)}: {problems[:3]}"
        checked += 1
    assert checked >= 3


def test_the_schemas_catch_what_loading_would_refuse() -> None:
    pack = PACKS[0]
    rules = read_yaml(pack / "rules" / "complaints.yaml").data
    validator = jsonschema.Draft202012Validator(shipped("rules"))
    typo = copy.deepcopy(rules)
    typo["rules"][0]["severty"] = typo["rules"][0].pop("severity", "high")
    assert any("severty" in error.message for error in validator.iter_errors(typo))
    unknown_kind = copy.deepcopy(rules)
    unknown_kind["rules"][0]["kind"] = "sometimes"
    assert list(validator.iter_errors(unknown_kind))
    meta = read_yaml(pack / "pack.yaml").data
    bad_id = {**meta, "id": "Not An Id"}
    assert list(jsonschema.Draft202012Validator(shipped("pack")).iter_errors(bad_id))


def test_file_schemas_lists_every_kind() -> None:
    assert set(file_schemas()) == set(_schema.PACK_FILES)


def test_the_module_examples_run() -> None:
    failures, tried = doctest.testmod(_schema)
    assert tried > 0
    assert failures == 0
