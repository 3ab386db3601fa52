"""JSON Schemas of the pack files, generated from the pydantic models that load them.

They are published with the package, in ``commitrules/pack/schemas/`` (one file per kind of
pack file), so that an editor validates and completes pack YAML as it is typed. The YAML
language server (VS Code's YAML extension, and other editors through it) takes them from its
settings, by glob, or from a first-line comment in a file::

    # yaml-language-server: $schema=<site-packages>/commitrules/pack/schemas/rules.schema.json

:func:`schema_file` gives the installed path. The schemas describe the shape of each file;
loading checks more (names that must exist, types of conditions, dates in order), and only
``commitrules lint`` says everything.

>>> sorted(file_schemas())[:3]
['calendar', 'clauses', 'events']
>>> schema_file("rules").name
'rules.schema.json'

The shipped files are regenerated with
``python -c "from commitrules.pack._schema import main; main()"`` (a test fails when they
are stale).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..eventtime._calendar_files import CalendarFileModel
from ..routing import RoutingSpec
from . import models

__all__ = ["PACK_FILES", "SCHEMA_FOLDER", "file_schemas", "schema_file"]

SCHEMA_FOLDER = Path(__file__).resolve().parent / "schemas"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: Each kind of pack file: the schema's name, the files of a pack it is for, and the model
#: that loads them.
PACK_FILES: dict[str, tuple[tuple[str, ...], type[BaseModel]]] = {
    "pack": (("pack.yaml",), models.PackMeta),
    "clauses": (("clauses.yaml",), models.ClauseFile),
    "roles": (("roles.yaml",), models.RolesFile),
    "parameters": (("parameters.yaml",), models.ParametersFile),
    "events": (("events.yaml",), models.EventTypesFile),
    "routing": (("routing.yaml",), RoutingSpec),
    "profile": (("profiles/*.yaml",), models.ProfileFile),
    "table": (("tables/*.yaml",), models.TableModel),
    "rules": (("rules/*.yaml",), models.RulesFile),
    "report": (("report.yaml",), models.ReportFile),
    "calendar": (("calendars/*.yaml",), CalendarFileModel),
}


def file_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema (draft 2020-12) of every kind of pack file, by name."""
    out: dict[str, dict[str, Any]] = {}
    pydantic_version = version("pydantic")
    for name, (patterns, model) in PACK_FILES.items():
        schema = model.model_json_schema(mode="validation")
        out[name] = {
            "$schema": _DIALECT,
            "$comment": (
                f"commitrules pack file {', '.join(patterns)}; generated from the model "
                f"{model.__name__} with pydantic {pydantic_version}"
            ),
            **schema,
        }
    return out


def schema_file(name: str) -> Path:
    """The installed schema file of a kind of pack file (a key of :data:`PACK_FILES`)."""
    if name not in PACK_FILES:
        known = ", ".join(PACK_FILES)
        msg = f"no pack file schema {name!r}; known: {known}"
        raise KeyError(msg)
    return SCHEMA_FOLDER / f"{name}.schema.json"


def render(schema: dict[str, Any]) -> str:
    """The text of a schema file: sorted keys, two-space indent, a final newline."""
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def stale(folder: Path = SCHEMA_FOLDER) -> list[str]:
    """The schema files in ``folder`` that differ from what the models give (or are missing)."""
    out: list[str] = []
    for name, schema in file_schemas().items():
        path = folder / f"{name}.schema.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != render(schema):
            out.append(path.name)
    expected = {f"{name}.schema.json" for name in PACK_FILES}
    out.extend(sorted(p.name for p in folder.glob("*.schema.json") if p.name not in expected))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Write the schema files (``--check``: only say which are stale; exit 1 if any)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--check"]:
        names = stale()
        for name in names:
            print(f"stale: {name}")
        return 1 if names else 0
    SCHEMA_FOLDER.mkdir(exist_ok=True)
    for name, schema in file_schemas().items():
        (SCHEMA_FOLDER / f"{name}.schema.json").write_text(render(schema), encoding="utf-8")
    return 0
