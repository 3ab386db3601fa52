"""Reading pack YAML: safely, with line numbers, and refusing what a pack must not contain.

A pack is data that anyone who can edit a file may have written. The reader composes the
YAML node tree (PyYAML's safe composer, in C when libyaml is present) and builds plain
Python values itself. It:

* never constructs arbitrary objects (only the standard scalar, list and mapping tags;
  any other tag, ``!!python/...`` included, is refused);
* refuses anchors and aliases (no alias bombs), merge keys, duplicate keys, several
  documents in one file, non-text keys, files over :data:`MAX_FILE_BYTES`, nesting deeper
  than :data:`MAX_DEPTH`, more than :data:`MAX_NODES` nodes, values longer than
  :data:`MAX_SCALAR` characters and numbers of more than :data:`MAX_NUMBER_DIGITS` digits;
* records the line and column of every key and list item, so that any key path can be
  turned into a file:line:column.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from ..errors import Location, PackSyntaxError

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "MAX_NUMBER_DIGITS",
    "MAX_SCALAR",
    "YamlFile",
    "parse_yaml",
    "read_yaml",
]

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 40
MAX_NODES = 500_000
MAX_SCALAR = 100_000
MAX_NUMBER_DIGITS = 100  # as in JSON input (commitrules._json_limits)

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """The safe loader with YAML 1.2 booleans: only true/false, so ``on:``, ``no``, ``NO``
    (Norway) and ``off`` stay text instead of YAML 1.1's surprising booleans."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_NUMBER_TAGS = {_TAG + "int", _TAG + "float"}
_DECIMAL = re.compile(r"^[-+]?(\d[\d_]*)?(\.\d*)?([eE][-+]?\d+)?$")

Path_ = tuple[str | int, ...]


class YamlFile:
    """A parsed YAML file: plain Python data plus the place of every key and item."""

    def __init__(self, path: str, data: Any, places: dict[Path_, tuple[int, int]]) -> None:
        self.path = path
        self.data = data
        self._places = places

    def locate(self, keys: Sequence[str | int]) -> Location:
        """The location of the deepest key on a path that exists (1-based line and column)."""
        keys = tuple(keys)
        place = self._places.get(())
        for end in range(len(keys), 0, -1):
            found = self._places.get(keys[:end])
            if found is not None:
                place = found
                break
        return Location(
            file=self.path,
            line=place[0] + 1 if place is not None else None,
            column=place[1] + 1 if place is not None else None,
            key=format_path(keys) or None,
        )


def format_path(keys: Sequence[str | int]) -> str:
    """``('rules', 3, 'when')`` -> ``rules[3].when``."""
    text = ""
    for key in keys:
        if isinstance(key, int):
            text += f"[{key}]"
        else:
            text += f".{key}" if text else str(key)
    return text


class _Builder:
    """Turns a composed node tree into plain values, refusing what packs must not hold."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.places: dict[Path_, tuple[int, int]] = {}
        self.seen: set[int] = set()
        self.count = 0
        self.constructor = yaml.constructor.SafeConstructor()

    def fail(self, node: Any, reason: str) -> PackSyntaxError:
        mark = node.start_mark
        return PackSyntaxError(
            reason, Location(file=self.path, line=mark.line + 1, column=mark.column + 1)
        )

    def build(self, node: Any, keys: Path_, depth: int) -> Any:
        if id(node) in self.seen:
            msg = "YAML aliases ('*name') are not allowed in packs: write the value out"
            raise self.fail(node, msg)
        self.seen.add(id(node))
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(node, f"too many YAML nodes (more than {MAX_NODES})")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"YAML nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.MappingNode):
            if node.tag != _TAG + "map":
                raise self.fail(node, f"explicit YAML tags ({node.tag}) are not allowed in packs")
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _TAG + "merge":
                    raise self.fail(key_node, "YAML merge keys ('<<') are not allowed in packs")
                key = self.build(key_node, keys, depth + 1)
                if not isinstance(key, str):
                    raise self.fail(key_node, f"keys must be text; found {key!r} (quote it)")
                if key in out:
                    raise self.fail(key_node, f"duplicate key {key!r}")
                here = (*keys, key)
                self.places[here] = (key_node.start_mark.line, key_node.start_mark.column)
                out[key] = self.build(value_node, here, depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _TAG + "seq":
                raise self.fail(node, f"explicit YAML tags ({node.tag}) are not allowed in packs")
            items: list[Any] = []
            for index, item in enumerate(node.value):
                here = (*keys, index)
                self.places[here] = (item.start_mark.line, item.start_mark.column)
                items.append(self.build(item, here, depth + 1))
            return items
        return self.scalar(node)

    def scalar(self, node: Any) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise self.fail(node, f"explicit YAML tags ({node.tag}) are not allowed in packs")
        text: str = node.value
        if len(text) > MAX_SCALAR:
            raise self.fail(node, f"a YAML value longer than {MAX_SCALAR} characters")
        if node.tag in _NUMBER_TAGS and sum(c.isdigit() for c in text) > MAX_NUMBER_DIGITS:
            raise self.fail(node, f"a number with more than {MAX_NUMBER_DIGITS} digits")
        if node.tag == _TAG + "str":
            return text
        if node.tag == _TAG + "float" and _DECIMAL.match(text):
            try:
                return Decimal(text.replace("_", ""))
            except InvalidOperation:
                raise self.fail(node, f"not a number: {text!r}") from None
        try:
            value = self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError) as error:
            raise self.fail(node, f"cannot read {text!r}: {error}") from None
        if isinstance(value, float):
            raise self.fail(node, f"not a finite number: {text!r}")
        if (
            isinstance(value, dt.datetime)
            and value.tzinfo is None
            and node.tag == _TAG + "timestamp"
        ):
            return value
        return value


def parse_yaml(text: str, *, display: str) -> YamlFile:
    """Parse YAML text into a :class:`YamlFile`.

    Raises:
        PackSyntaxError: naming the file, line and reason.
    """
    try:
        documents = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        reason = "; ".join(str(p) for p in (error.context, error.problem) if p) or "syntax error"
        location = Location(file=display)
        if mark is not None:
            location = Location(file=display, line=mark.line + 1, column=mark.column + 1)
        raise PackSyntaxError(f"not valid YAML: {reason}", location) from None
    except yaml.YAMLError as error:
        raise PackSyntaxError(f"not valid YAML: {error}", Location(file=display)) from None
    except RecursionError:
        raise PackSyntaxError("YAML nested too deeply", Location(file=display)) from None
    if len(documents) > 1:
        mark = documents[1].start_mark
        raise PackSyntaxError(
            "a pack file holds one YAML document; found a second '---'",
            Location(file=display, line=mark.line + 1, column=mark.column + 1),
        )
    if not documents or documents[0] is None:
        return YamlFile(display, None, {(): (0, 0)})
    builder = _Builder(display)
    data = builder.build(documents[0], (), 0)
    builder.places[()] = (documents[0].start_mark.line, documents[0].start_mark.column)
    return YamlFile(display, data, builder.places)


def read_yaml(path: Path, *, display: str | None = None) -> YamlFile:
    """Read one pack file.

    Raises:
        PackSyntaxError: naming the file, line and reason.
    """
    shown = display or str(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise PackSyntaxError(f"cannot read: {error.strerror}", Location(file=shown)) from None
    if size > MAX_FILE_BYTES:
        msg = f"file is {size} bytes; a pack file may have at most {MAX_FILE_BYTES}"
        raise PackSyntaxError(msg, Location(file=shown))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise PackSyntaxError(f"not UTF-8 text: {error.reason}", Location(file=shown)) from None
    except OSError as error:
        raise PackSyntaxError(f"cannot read: {error.strerror}", Location(file=shown)) from None
    return parse_yaml(text, display=shown)
