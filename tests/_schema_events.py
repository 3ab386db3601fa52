"""Valid events of any type, built from a pack's JSON Schema (for tests over every type)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import commitrules

BASE = dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def value_for(schema: dict[str, Any], defs: dict[str, Any], name: str) -> Any:
    """A valid value for a JSON Schema (the small part event schemas use)."""
    if "$ref" in schema:
        return value_for(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return value_for(options[0], defs, name)
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "date-time":
            return BASE.isoformat()
        if schema.get("format") == "date":
            return BASE.date().isoformat()
        length = max(1, schema.get("minLength", 1))
        return ("X" * length)[: schema.get("maxLength", length)]
    if kind == "integer":
        return max(schema.get("minimum", 1), 1) if schema.get("maximum", 2) >= 1 else 0
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "array":
        return [value_for(schema["items"], defs, name)] if schema.get("minItems") else []
    if kind == "object":
        return {}
    return "X"


def base_event(
    pack: commitrules.Pack, type_name: str, number: int, at: dt.datetime = BASE
) -> dict[str, Any]:
    """A valid event of a type with every field present (optional ones too)."""
    schema = pack.catalog.json_schema(type_name)
    defs = schema.get("$defs", {})
    event = {
        name: value_for(field, defs, name)
        for name, field in schema["properties"].items()
        if name not in ("id", "type", "at")
    }
    for name, value in event.items():  # other times at the event's own time
        if value == BASE.isoformat():
            event[name] = at.isoformat()
    event.update(id=f"X-{number}", type=type_name, at=at.isoformat())
    pack.catalog.validate(event)  # the base itself is valid
    return event
