"""Reading one pack directory into validated models, collecting every problem with its place."""

from __future__ import annotations

import hashlib
import re
import types
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import attrs
from pydantic import BaseModel, ValidationError

from ..errors import (
    Location,
    PackError,
    PackSyntaxError,
    PackValidationError,
    Problem,
    did_you_mean,
)
from ..eventtime import CalendarData
from ..eventtime._calendar_files import CalendarFileModel, calendar_data
from ..routing import EscalationSpec, RoutingSpec
from ..rules import RULE_KINDS, RuleSpecBase
from ._yaml import YamlFile, format_path, read_yaml
from .models import (
    ClauseModel,
    EventTypeModel,
    EventTypesFile,
    PackMeta,
    ParameterModel,
    ParametersFile,
    ProfileFile,
    ReportFile,
    RoleModel,
    RulesFile,
    TableModel,
)

__all__ = ["Placed", "RawPack", "read_calendar", "read_pack_directory"]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

MAX_PACK_FILES = 2000


@attrs.frozen
class Placed(Generic[T]):
    """A validated value with the file and key path it came from."""

    value: T
    file: YamlFile
    path: tuple[str | int, ...]

    def locate(self, keys: Sequence[str | int] = ()) -> Location:
        """Where a key below this value is written (a rule's keys: by the rule's id)."""
        where = self.file.locate((*self.path, *keys))
        if len(self.path) == 2 and self.path[0] == "rules":
            return by_rule_id(where, getattr(self.value, "id", None), keys)
        return where


_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,119}$")


def by_rule_id(where: Location, rule_id: object, keys: Sequence[str | int]) -> Location:
    """A location inside a rule named by the rule's id (``rule C1.x: when``) instead of its
    position (``rules[3].when``); the position stays when the id itself is at fault (a
    problem with the ``id`` key, or an id that is not one)."""
    if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id) or tuple(keys[:1]) == ("id",):
        return where
    return attrs.evolve(where, key=format_path(keys) or None, rule_id=rule_id)


@attrs.define
class RawPack:
    """One pack directory, read and validated file by file (no extends, no profile yet)."""

    root: Path
    meta: Placed[PackMeta] | None = None
    clauses: list[Placed[ClauseModel]] = attrs.field(factory=list)
    roles: list[Placed[RoleModel]] = attrs.field(factory=list)
    parameters: dict[str, Placed[ParameterModel]] = attrs.field(factory=dict)
    profiles: dict[str, Placed[ProfileFile]] = attrs.field(factory=dict)
    tables: dict[str, Placed[TableModel]] = attrs.field(factory=dict)
    event_types: dict[str, Placed[EventTypeModel]] = attrs.field(factory=dict)
    rules: list[Placed[RuleSpecBase]] = attrs.field(factory=list)
    escalations: list[Placed[EscalationSpec]] = attrs.field(factory=list)
    calendars: dict[str, Placed[CalendarData]] = attrs.field(factory=dict)
    report_sections: list[Placed[Any]] = attrs.field(factory=list)
    problems: list[Problem] = attrs.field(factory=list)
    digest_parts: list[tuple[str, bytes]] = attrs.field(factory=list)

    def digest(self) -> str:
        """A hash of every file of the pack as read."""
        sha = hashlib.sha256()
        for name, content in sorted(self.digest_parts):
            sha.update(name.encode())
            sha.update(b"\0")
            sha.update(hashlib.sha256(content).digest())
        return sha.hexdigest()


def keys_at(model: type[BaseModel], loc: Sequence[Any]) -> set[str]:
    """The keys valid at the place of a pydantic error's location ``loc`` (its last part is
    the offending key), for a document validated by ``model``.

    pydantic's locations name the branch of a union they went into (a rule's ``kind`` tag,
    a model's name); where the branch is not named, the keys of every branch are valid.
    """
    found: list[Any] = [model]
    for part in list(loc)[:-1]:
        found = _descend(found, part)
    keys: set[str] = set()
    for annotation in _members(found):
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for name, info in annotation.model_fields.items():
                keys.add(info.alias or name)
    return keys


def _members(annotations: Iterable[Any]) -> list[Any]:
    """Annotations with Annotated, unions and None taken apart."""
    out: list[Any] = []
    for annotation in annotations:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            out.extend(_members([typing.get_args(annotation)[0]]))
        elif origin in (typing.Union, types.UnionType):
            out.extend(_members(a for a in typing.get_args(annotation) if a is not type(None)))
        else:
            out.append(annotation)
    return out


def _descend(annotations: list[Any], part: Any) -> list[Any]:
    members = _members(annotations)
    if isinstance(part, int):
        return [
            typing.get_args(a)[0]
            for a in members
            if typing.get_origin(a) is list and typing.get_args(a)
        ]
    chosen = [a for a in members if _names_branch(a, part)]
    if chosen:  # a union's branch: stay at this place, in that branch only
        return chosen
    out: list[Any] = []
    for annotation in members:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for name, info in annotation.model_fields.items():
                if part in (name, info.alias):
                    out.append(info.annotation)
        elif typing.get_origin(annotation) is dict:
            out.append(typing.get_args(annotation)[1])
    return out


def _names_branch(annotation: Any, part: str) -> bool:
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return False
    if part == annotation.__name__:
        return True
    kind = annotation.model_fields.get("kind")
    return kind is not None and typing.get_args(kind.annotation) == (part,)


def _clean_path(loc: Sequence[Any], data: Any, error_type: str) -> tuple[str | int, ...]:
    """Drop pydantic's union/tag markers from an error location, keeping real keys."""
    out: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(node, dict) and isinstance(part, str) and part in node:  # noqa: SIM114 - separate branches let mypy narrow each index type
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif last and error_type == "missing" and isinstance(part, str):
            out.append(part)
        else:
            continue
    return tuple(out)


def _reason(item: Any, path: tuple[str | int, ...], model: type[BaseModel] | None) -> str:
    kind = item["type"]
    message = str(item["msg"])
    if kind == "missing" and path and isinstance(path[-1], str):
        return f"missing key '{path[-1]}'"
    if kind == "extra_forbidden" and path and isinstance(path[-1], str):
        hint = did_you_mean(path[-1], keys_at(model, item["loc"])) if model is not None else ""
        return f"unknown key '{path[-1]}'{hint}"
    if kind == "union_tag_invalid":
        context = item.get("ctx") or {}
        tags = str(context.get("expected_tags", "")).replace("'", "")
        tags = ", ".join(sorted(t.strip() for t in tags.split(",") if t.strip()))
        tags = tags or ", ".join(sorted(RULE_KINDS))
        given = context.get("tag")
        hint = did_you_mean(str(given), tags.split(", ")) if given is not None else ""
        return f"unknown kind {given!r}; the kinds are {tags}{hint}"
    if kind == "union_tag_not_found":
        if model is RulesFile:
            return "missing key 'kind' (one of " + ", ".join(sorted(RULE_KINDS)) + ")"
        return "missing key 'kind'"
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return message


def validation_problems(
    error: ValidationError,
    file: YamlFile,
    base: tuple[str | int, ...] = (),
    *,
    model: type[BaseModel] | None = None,
) -> list[Problem]:
    """Turn a pydantic error into located problems.

    ``model`` is what validated the data: an unknown key's "did you mean" proposes only
    the keys valid where it is written (none without it).
    """
    problems: list[Problem] = []
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    root = file.data
    for key in base:
        root = root[key]
    for item in error.errors(include_url=False):
        path = _clean_path(item["loc"], root, item["type"])
        reason = _reason(item, path, model)
        if (path, reason) in seen:
            continue
        seen.add((path, reason))
        problems.append(Problem(file.locate((*base, *path)), reason))
    return problems


def _validate(model: type[M], file: YamlFile, problems: list[Problem]) -> M | None:
    if not isinstance(file.data, dict):
        problems.append(Problem(file.locate(()), "the file must hold a mapping of keys"))
        return None
    try:
        return model.model_validate(file.data)
    except ValidationError as error:
        problems.extend(validation_problems(error, file, model=model))
        return None


def _validate_items(
    model: type[M], file: YamlFile, key: str, problems: list[Problem]
) -> list[Placed[M]]:
    """Validate a list under ``key`` item by item, so one bad item does not hide the rest."""
    data = file.data
    if not isinstance(data, dict) or key not in data:
        problems.append(Problem(file.locate(()), f"missing key '{key}'"))
        return []
    extra = [k for k in data if k != key]
    for name in extra:
        problems.append(Problem(file.locate((name,)), f"unknown key '{name}'"))
    items = data[key]
    if not isinstance(items, list):
        problems.append(Problem(file.locate((key,)), f"'{key}' must be a list"))
        return []
    out: list[Placed[M]] = []
    for index, item in enumerate(items):
        try:
            out.append(Placed(model.model_validate(item), file, (key, index)))
        except ValidationError as error:
            problems.extend(validation_problems(error, file, (key, index), model=model))
    return out


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.glob(pattern) if p.is_file())


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def read_pack_directory(root: Path) -> RawPack:
    """Read every file of one pack directory; problems are collected, not raised."""
    raw = RawPack(root=root)
    if not (root / "pack.yaml").is_file():
        raise PackError("not a pack: no pack.yaml here", Location(file=str(root)))
    names = [
        "pack.yaml",
        "clauses.yaml",
        "roles.yaml",
        "parameters.yaml",
        "events.yaml",
        "routing.yaml",
        "report.yaml",
    ]
    paths = [root / n for n in names if (root / n).is_file()]
    paths += (
        _files(root, "profiles/*.yaml")
        + _files(root, "tables/*.yaml")
        + _files(root, "rules/*.yaml")
        + _files(root, "calendars/*.yaml")
    )
    if len(paths) > MAX_PACK_FILES:
        raise PackError(f"more than {MAX_PACK_FILES} files in the pack", Location(file=str(root)))
    files: dict[Path, YamlFile] = {}
    for path in paths:
        shown = str(path.relative_to(root))
        if not _inside(root, path):
            raw.problems.append(
                Problem(Location(file=shown), "links outside the pack directory are not followed")
            )
            continue
        try:
            files[path] = read_yaml(path, display=shown)
            raw.digest_parts.append((shown, path.read_bytes()))
        except PackSyntaxError as error:
            raw.problems.append(Problem(error.location, error.reason))
    _read_all(raw, root, files)
    return raw


def _read_all(raw: RawPack, root: Path, files: dict[Path, YamlFile]) -> None:
    problems = raw.problems
    meta_file = files.get(root / "pack.yaml")
    if meta_file is not None:
        meta = _validate(PackMeta, meta_file, problems)
        if meta is not None:
            raw.meta = Placed(meta, meta_file, ())
    if (file := files.get(root / "clauses.yaml")) is not None:
        raw.clauses.extend(_validate_items(ClauseModel, file, "clauses", problems))
    if (file := files.get(root / "roles.yaml")) is not None:
        raw.roles.extend(_validate_items(RoleModel, file, "roles", problems))
    if (file := files.get(root / "parameters.yaml")) is not None:
        parameters = _validate(ParametersFile, file, problems)
        if parameters is not None:
            for name, parameter in parameters.parameters.items():
                raw.parameters[name] = Placed(parameter, file, ("parameters", name))
    if (file := files.get(root / "events.yaml")) is not None:
        events = _validate(EventTypesFile, file, problems)
        if events is not None:
            for name, event_type in events.event_types.items():
                raw.event_types[name] = Placed(event_type, file, ("event_types", name))
    if (file := files.get(root / "routing.yaml")) is not None:
        routing = _validate(RoutingSpec, file, problems)
        if routing is not None:
            raw.escalations.extend(
                Placed(e, file, ("escalations", i)) for i, e in enumerate(routing.escalations)
            )
    if (file := files.get(root / "report.yaml")) is not None:
        report = _validate(ReportFile, file, problems)
        if report is not None:
            raw.report_sections.extend(
                Placed(section, file, ("sections", i)) for i, section in enumerate(report.sections)
            )
    for path, file in files.items():
        relative = path.relative_to(root)
        folder = relative.parts[0] if len(relative.parts) > 1 else ""
        if folder == "profiles":
            profile = _validate(ProfileFile, file, problems)
            if profile is not None:
                _unique(raw.profiles, profile.id, Placed(profile, file, ()), "profile", problems)
        elif folder == "tables":
            table = _validate(TableModel, file, problems)
            if table is not None:
                _unique(raw.tables, table.id, Placed(table, file, ()), "table", problems)
        elif folder == "rules":
            raw.rules.extend(_rules(file, problems))
        elif folder == "calendars":
            data = _calendar_file(file, problems)
            if data is not None:
                raw.calendars[data.jurisdiction] = Placed(data, file, ())


def _calendar_file(file: YamlFile, problems: list[Problem]) -> CalendarData | None:
    model = _validate(CalendarFileModel, file, problems)
    if model is None:
        return None
    return calendar_data(model, Path(file.path).stem, file.locate, problems, Problem)


def read_calendar(path: Path) -> CalendarData:
    """Read and check one calendar file on its own (``commitrules calendar check``).

    Raises:
        PackSyntaxError: the YAML cannot be read.
        PackValidationError: every problem found, each with its line and key.
    """
    file = read_yaml(path, display=str(path))
    problems: list[Problem] = []
    data = _calendar_file(file, problems)
    if data is None:
        raise PackValidationError(problems, where=str(path))
    return data


def _rules(file: YamlFile, problems: list[Problem]) -> Iterable[Placed[RuleSpecBase]]:
    data = file.data
    if not isinstance(data, dict) or "rules" not in data or not isinstance(data["rules"], list):
        problems.append(Problem(file.locate(()), "a rules file holds a list under 'rules'"))
        return []
    for name in data:
        if name != "rules":
            problems.append(Problem(file.locate((name,)), f"unknown key '{name}'"))
    out: list[Placed[RuleSpecBase]] = []
    for index, item in enumerate(data["rules"]):
        try:
            parsed = RulesFile.model_validate({"rules": [item]})
        except ValidationError as error:
            for problem in validation_problems(error, _Shifted(file, index), (), model=RulesFile):
                problems.append(problem)
            continue
        out.append(Placed(parsed.rules[0], file, ("rules", index)))
    return out


class _Shifted(YamlFile):
    """A view of a rules file where rule ``[0]`` of a one-rule list is rule ``[index]``."""

    def __init__(self, file: YamlFile, index: int) -> None:
        super().__init__(file.path, {"rules": [file.data["rules"][index]]}, {})
        self._file = file
        self._index = index

    def locate(self, keys: Sequence[str | int]) -> Location:
        shifted = list(keys)
        if len(shifted) >= 2 and shifted[0] == "rules":
            shifted[1] = self._index
            where = self._file.locate(shifted)
            item = self._file.data["rules"][self._index]
            rule_id = item.get("id") if isinstance(item, dict) else None
            return by_rule_id(where, rule_id, shifted[2:])
        return self._file.locate(shifted)


def _unique(
    target: dict[str, Any], key: str, value: Placed[Any], what: str, problems: list[Problem]
) -> None:
    if key in target:
        first = target[key].locate(())
        problems.append(
            Problem(value.locate(()), f"{what} {key!r} is defined twice (first in {first.file})")
        )
        return
    target[key] = value
