"""Reading pack YAML: safely, with line numbers, and refusing what a pack must not contain.

A pack is data that anyone who can edit a file may have written. The reader:

* never constructs arbitrary objects (round-trip loader, and every explicit tag refused);
* refuses anchors and aliases (no alias bombs), duplicate keys, several documents in one
  file, non-text keys, files over :data:`MAX_FILE_BYTES`, nesting deeper than
  :data:`MAX_DEPTH` and more than :data:`MAX_NODES` nodes;
* keeps the parsed node tree so that any key path can be turned into a file:line:column.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    NodeEvent,
    ScalarEvent,
)

from ..errors import Location, PackSyntaxError

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "YamlFile", "read_yaml"]

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 40
MAX_NODES = 500_000


class YamlFile:
    """A parsed YAML file: plain Python data plus the node tree for locations."""

    def __init__(self, path: str, data: Any, tree: Any) -> None:
        self.path = path
        self.data = data
        self._tree = tree

    def locate(self, keys: Sequence[str | int]) -> Location:
        """The location of the deepest node on a key path that exists."""
        node = self._tree
        line: int | None = None
        column: int | None = None
        if hasattr(node, "lc"):
            line, column = node.lc.line, node.lc.col
        for key in keys:
            try:
                if isinstance(node, CommentedMap) and key in node:
                    line, column = node.lc.key(key)
                    node = node[key]
                elif (
                    isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node)
                ):
                    line, column = node.lc.item(key)
                    node = node[key]
                else:
                    break
            except (KeyError, IndexError, TypeError, AttributeError):
                break
        return Location(
            file=self.path,
            line=line + 1 if line is not None else None,
            column=column + 1 if column is not None else None,
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


def _where(path: str, mark: Any) -> Location:
    if mark is None:
        return Location(file=path)
    return Location(file=path, line=mark.line + 1, column=mark.column + 1)


def _screen(path: str, text: str) -> None:
    """Walk the event stream once, refusing what we never accept, before building anything."""
    yaml = YAML(typ="rt", pure=True)
    depth = 0
    nodes = 0
    documents = 0
    try:
        for event in yaml.parse(io.StringIO(text)):
            if isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    msg = "a pack file holds one YAML document; found a second '---'"
                    raise PackSyntaxError(msg, _where(path, event.start_mark))
            if isinstance(event, AliasEvent):
                msg = "YAML aliases ('*name') are not allowed in packs: write the value out"
                raise PackSyntaxError(msg, _where(path, event.start_mark))
            if isinstance(event, NodeEvent):
                nodes += 1
                if event.anchor is not None:
                    msg = "YAML anchors ('&name') are not allowed in packs"
                    raise PackSyntaxError(msg, _where(path, event.start_mark))
                tag = getattr(event, "tag", None)
                if tag is not None:
                    msg = f"explicit YAML tags ({tag}) are not allowed in packs"
                    raise PackSyntaxError(msg, _where(path, event.start_mark))
                if nodes > MAX_NODES:
                    msg = f"too many YAML nodes (more than {MAX_NODES})"
                    raise PackSyntaxError(msg, _where(path, event.start_mark))
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    msg = f"YAML nested deeper than {MAX_DEPTH} levels"
                    raise PackSyntaxError(msg, _where(path, event.start_mark))
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
            elif isinstance(event, ScalarEvent) and len(event.value) > 100_000:
                msg = "a YAML value longer than 100,000 characters"
                raise PackSyntaxError(msg, _where(path, event.start_mark))
    except MarkedYAMLError as error:
        raise PackSyntaxError(_yaml_reason(error), _where(path, error.problem_mark)) from None
    except YAMLError as error:
        raise PackSyntaxError(f"not valid YAML: {error}", Location(file=path)) from None


def _yaml_reason(error: MarkedYAMLError) -> str:
    parts = [p for p in (error.context, error.problem) if p]
    return "not valid YAML: " + ("; ".join(str(p) for p in parts) or "syntax error")


def _plain(node: Any, path: str, keys: tuple[str | int, ...], tree: Any) -> Any:
    """Convert ruamel nodes into plain Python values (Decimal for floats, text keys only)."""
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if not isinstance(key, str):
                where = YamlFile(path, None, tree).locate(keys)
                msg = f"keys must be text; found {key!r} (quote it)"
                raise PackSyntaxError(msg, where)
            out[str(key)] = _plain(value, path, (*keys, key), tree)
        return out
    if isinstance(node, CommentedSeq | list):
        return [_plain(value, path, (*keys, index), tree) for index, value in enumerate(node)]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        try:
            return Decimal(str(node))
        except InvalidOperation:  # pragma: no cover - ruamel floats always print
            return Decimal(repr(float(node)))
    if isinstance(node, dt.datetime):
        return dt.datetime.fromisoformat(node.isoformat()) if node.tzinfo else node
    if isinstance(node, dt.date):
        return dt.date(node.year, node.month, node.day)
    return str(node)


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
    _screen(shown, text)
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as error:
        raise PackSyntaxError(_yaml_reason(error), _where(shown, error.problem_mark)) from None
    except YAMLError as error:
        raise PackSyntaxError(f"not valid YAML: {error}", Location(file=shown)) from None
    data = _plain(tree, shown, (), tree)
    return YamlFile(shown, data, tree)
