"""Loading a pack: read its files, resolve ``extends``, apply a profile, compile every rule.

Loading is the compile step: every problem (YAML, schema, unknown names, expressions,
types) is found here and reported together, each with file, line and key. Loading never
executes code from the pack, never imports, and reads only the files of the pack and of
the pack it extends.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import attrs
from pydantic import Field, create_model

from ..errors import CalendarError, Location, PackError, PackValidationError, Problem
from ..events import (
    BUILTIN_EVENT_TYPES,
    DECIMAL_DIGITS,
    DECIMAL_PLACES,
    INT_MAX,
    INT_MIN,
    Event,
    EventCatalog,
    EventTime,
    EventType,
)
from ..eventtime import CalendarData, CalendarSpec, WorkingDayCalendar, to_us
from ..eventtime._calendars import holidays_version
from ..expr import TableInfo
from ..routing import EscalationSpec, Router, RoutingSpec
from ..rules import CompileContext, RuleRuntime, RuleSpecBase, compile_rule
from ..rules._base import PRESENTATION
from ..rules.operational import longest_working_days
from ..violations import Message, PackRef
from ._html import pack_html
from ._read import Placed, RawPack, read_pack_directory
from ._report import ReportSection, report_sections
from ._values import Parameter, ParameterTimeline, Table, TableIndex, coerce
from .models import (
    CalendarModel,
    ParameterModel,
    ParameterOverride,
    ProfileFile,
    SourceModel,
    TableModel,
)

__all__ = ["DEFAULT_PACK", "Clause", "Pack", "Role", "bundled_packs", "load_pack"]

DEFAULT_PACK = "customer-commitments"
_log = logging.getLogger(__name__)
MAX_EXTENDS_DEPTH = 8


def _bundled_root() -> Path:
    installed = resources.files("commitrules").joinpath("_rulesets")
    if installed.is_dir():
        return Path(str(installed))
    # A source checkout (editable install): the repository's rulesets/ folder.
    return Path(__file__).resolve().parents[3] / "rulesets"


def bundled_packs() -> dict[str, Path]:
    """The packs this installation knows by id: id -> directory.

    The packs shipped with commitrules (the folder name is the id), then the packs of
    installed packages that register in the ``commitrules.packs`` entry-point group (see
    :data:`PACK_ENTRY_POINT_GROUP`). A shipped pack keeps its id if a package registers the
    same one (the package's is skipped, with a warning in the log).
    """
    packs = _shipped_packs()
    for pack_id, directory in _installed_packs().items():
        if pack_id in packs:
            _log.warning("entry point %r of %s: a shipped pack has that id", pack_id, directory)
            continue
        packs[pack_id] = directory
    return packs


#: The entry-point group of packs shipped as packages: the entry point's name is the pack id,
#: its value the package whose folder holds ``pack.yaml`` (``"my_bank_pack"``), or an
#: attribute that holds the pack's directory (``"my_bank_pack:PACK_DIR"``).
PACK_ENTRY_POINT_GROUP = "commitrules.packs"
_PACK_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _shipped_packs() -> dict[str, Path]:
    root = _bundled_root()
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if (p / "pack.yaml").is_file()}


def _installed_packs() -> dict[str, Path]:
    """Packs registered by installed packages (``commitrules.packs``), by id."""
    from importlib.metadata import entry_points  # noqa: PLC0415 - only when an id is unknown

    found: dict[str, Path] = {}
    for entry in sorted(entry_points(group=PACK_ENTRY_POINT_GROUP), key=lambda e: e.name):
        where = f"entry point {entry.name!r} ({entry.value})"
        if not _PACK_ID.match(entry.name):
            _log.warning("%s: not a pack id (lower-case letters, digits, . _ -)", where)
            continue
        try:
            directory = _entry_point_directory(entry)
        except Exception as error:  # noqa: BLE001 - a broken package must not break the others
            _log.warning("%s: cannot be found: %s: %s", where, type(error).__name__, error)
            continue
        if directory is None or not (directory / "pack.yaml").is_file():
            _log.warning("%s: %s holds no pack.yaml", where, directory)
            continue
        found.setdefault(entry.name, directory)
    return found


def _entry_point_directory(entry: Any) -> Path | None:
    if entry.attr is None:
        # A package: its folder, found without importing (running) it.
        import importlib.util  # noqa: PLC0415

        spec = importlib.util.find_spec(entry.module)
        locations = list(spec.submodule_search_locations or []) if spec else []
        return Path(locations[0]) if locations else None
    return Path(str(entry.load()))


def _pack_by_id(pack_id: str) -> Path | None:
    """A shipped pack, else an installed one (the entry points are read only if needed)."""
    shipped = _shipped_packs()
    if pack_id in shipped:
        return shipped[pack_id]
    return _installed_packs().get(pack_id)


@attrs.frozen
class Clause:
    """A clause of the commitment."""

    id: str
    title: Message
    text: Message
    section: str | None = None
    automatable: bool = True
    reason: Message | None = None
    #: The texts the clause rests on (commitment, regulation, the bank's policy).
    sources: tuple[SourceModel, ...] = ()


@attrs.frozen
class Role:
    """A role that violations are routed to."""

    id: str
    name: Message
    description: Message | None = None
    #: Held per value of this scope field; ``roster`` is the table naming each holder.
    scope: str | None = None
    roster: str | None = None


def _message(value: Any) -> Message:
    return Message(zh=value.zh, en=value.en)


@attrs.frozen(eq=False)
class Pack:
    """A loaded, validated and compiled rule pack (immutable).

    Create one with :func:`load_pack`; hand it to :class:`~commitrules.Engine`.
    """

    id: str
    version: str
    name: Message
    description: Message | None
    profile: str
    profiles: tuple[str, ...]
    timezone: str
    clauses: tuple[Clause, ...]
    roles: tuple[Role, ...]
    parameters: Mapping[str, Parameter]
    tables: Mapping[str, Table]
    rules: tuple[RuleSpecBase, ...]
    disabled: tuple[tuple[str, str], ...]
    routing: RoutingSpec
    catalog: EventCatalog
    allowed_lateness_us: int
    duplicate_horizon_us: int
    personal_fields: frozenset[str]
    scope_fields: tuple[str, ...]
    calendar_spec: CalendarSpec | None
    digest: str
    #: Where the engine's own findings go (``operations_role``, or the first role).
    operations_role: str
    #: Whether pack.yaml names ``operations_role`` (lint warns when it does not).
    operations_role_declared: bool
    #: How far ahead of the watermark an event may be (µs).
    max_ahead_us: int
    #: Days before the end of the last official calendar year to raise the horizon alarm.
    calendar_alarm_margin_days: int
    path: Path
    extends: tuple[str, ...]
    #: The sections the pack adds to the commitment report (``report.yaml``).
    report_sections: tuple[ReportSection, ...]
    _compiler: _Compiler = attrs.field(repr=False, alias="compiler")
    #: The rules an engine of this pack runs: all (None), or a subset (:meth:`subset`).
    running: frozenset[str] | None = None
    #: Whether an engine of this pack raises the calendar's horizon alarm (one stage of a
    #: plan does, the others leave it to that one).
    calendar_alarm: bool = True

    def subset(self, rule_ids: Iterable[str], *, calendar_alarm: bool = False) -> Pack:
        """The same pack, running only ``rule_ids``: one stage of a plan.

        Everything that identifies the pack stays (``ref``, digest, rules, fingerprints),
        so a violation of a rule carries the same id whichever subset found it; only what
        :meth:`build` compiles changes. The calendar's horizon alarm is raised by a subset
        only when ``calendar_alarm`` is true.

        >>> import commitrules
        >>> pack = commitrules.load_pack()
        >>> part = pack.subset(["C5.acknowledge.in-time"])
        >>> [rule.rule_id for rule in part.build().rules], part.ref == pack.ref
        (['C5.acknowledge.in-time'], True)
        """
        wanted = frozenset(rule_ids)
        unknown = sorted(wanted - {rule.id for rule in self.rules})
        if unknown:
            msg = f"the pack {self.id!r} has no rule {unknown[0]!r} to run in a subset"
            raise PackError(msg)
        if self.running is not None:
            wanted &= self.running
        return attrs.evolve(self, running=wanted, calendar_alarm=calendar_alarm)

    @property
    def ref(self) -> PackRef:
        """Which pack decides: id, version, profile and content hash."""
        spec = self.calendar_spec
        package = f"holidays {holidays_version}" if spec is not None and spec.uses_package else None
        return PackRef(
            id=self.id,
            version=self.version,
            profile=self.profile,
            digest=self.digest,
            calendar_package=package,
        )

    @property
    def tz(self) -> ZoneInfo:
        """The pack's time zone."""
        return ZoneInfo(self.timezone)

    def clause(self, clause_id: str) -> Clause | None:
        """A clause by id."""
        return next((c for c in self.clauses if c.id == clause_id), None)

    def rule(self, rule_id: str) -> RuleSpecBase | None:
        """A rule's spec by id."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def rule_location(self, rule_id: str) -> Location | None:
        """Where a rule is written."""
        return self._compiler.locations.get(rule_id)

    def build(self) -> PackRuntime:
        """Fresh running rules and lookups for one engine (rules hold state)."""
        return self._compiler.build(only=self.running)

    def longest_working_days(self) -> int:
        """The longest working-day duration any rule of the pack can count (what the
        calendar's horizon alarm looks ahead by); worked out once per loaded pack (its
        subsets share it)."""
        known = self._compiler.derived.get("longest_working_days")
        if known is None:
            values = {name: [v for _, v in p.values] for name, p in self.parameters.items()}
            known = self._compiler.derived["longest_working_days"] = longest_working_days(
                self.rules, values
            )
        longest: int = known
        return longest

    def rule_fingerprints(self) -> dict[str, str]:
        """A hash per rule of its spec and the parameter values it can read."""
        return dict(self._compiler.fingerprints)

    def _repr_html_(self) -> str:
        """Jupyter shows a pack as a table of its clauses and their rules."""
        return pack_html(self)

    def __repr__(self) -> str:
        return (
            f"<Pack {self.id} {self.version} profile={self.profile} "
            f"rules={len(self.rules)} clauses={len(self.clauses)}>"
        )


@attrs.frozen
class PackRuntime:
    """What an engine runs: compiled rules plus the time-aware lookups they read."""

    rules: tuple[RuleRuntime, ...]
    timeline: ParameterTimeline
    tables: Mapping[str, TableIndex]
    calendar: WorkingDayCalendar | None
    router: Router


class _Compiler:
    """Compiles the placed specs; used once at load (to find problems) and per engine."""

    def __init__(
        self,
        *,
        rules: list[Placed[RuleSpecBase]],
        catalog: EventCatalog,
        parameters: Mapping[str, Parameter],
        tables: Mapping[str, Table],
        tz: ZoneInfo,
        calendar: WorkingDayCalendar | None,
        roles: frozenset[str],
        scope_fields: tuple[str, ...],
        routing: RoutingSpec,
    ) -> None:
        self.placed = rules
        self.catalog = catalog
        self.parameters = parameters
        self.tables = tables
        self.tz = tz
        self.calendar = calendar
        self.roles = roles
        self.scope_fields = scope_fields
        self.routing = routing
        self.locations = {p.value.id: p.locate(()) for p in rules}
        self.timeline = ParameterTimeline(parameters, self.date_us)
        self.fingerprints: dict[str, str] = {}
        self.expressions: dict[Any, Any] = {}
        self.field_types: dict[str, Any] = {}
        #: What is worked out from the whole pack once, for every engine and subset.
        self.derived: dict[str, Any] = {}

    def date_us(self, day: dt.date) -> int:
        return to_us(dt.datetime.combine(day, dt.time(), tzinfo=self.tz))

    def build(
        self, problems: list[Problem] | None = None, only: frozenset[str] | None = None
    ) -> PackRuntime:
        collect: list[Problem] = [] if problems is None else problems
        params = {name: p.field_type for name, p in self.parameters.items()}
        constants = {name: p.values[0][1] for name, p in self.parameters.items() if p.constant}
        table_info: dict[str, TableInfo] = {name: t.info for name, t in self.tables.items()}
        runtimes: list[RuleRuntime] = []
        for placed in self.placed:
            if only is not None and placed.value.id not in only:
                continue
            ctx = CompileContext(
                catalog=self.catalog,
                params=params,
                constant_params=constants,
                param_values=lambda name: [],
                tables=table_info,
                tz=self.tz,
                calendar=self.calendar,
                roles=self.roles,
                scope_fields=self.scope_fields,
                locate=lambda keys, p=placed: p.locate(keys),  # type: ignore[misc]
                cache=self.expressions,
                field_cache=self.field_types,
            )
            ctx.check_role(("role",), placed.value.role)
            runtime = compile_rule(placed.value, ctx)
            collect.extend(ctx.problems)
            if runtime.rule_id not in self.fingerprints:
                self.fingerprints[runtime.rule_id] = self._fingerprint(placed.value)
            runtime.fingerprint = self.fingerprints[runtime.rule_id]
            runtimes.append(runtime)
        return PackRuntime(
            rules=tuple(runtimes),
            timeline=self.timeline,
            tables={name: TableIndex(t, self.date_us) for name, t in self.tables.items()},
            calendar=self.calendar,
            router=Router(self.routing),
        )

    def _fingerprint(self, spec: RuleSpecBase) -> str:
        """What a rule's state depends on: its logic, the parameters and tables it reads and
        the time zone; the working-day calendar (its years and, where some come from the
        ``holidays`` package, that package's version) only for rules that count working
        days. Presentation (messages, titles, role, severity) is left out, so rewording a
        message keeps the rule's pending deadlines across a restore, and a new calendar year
        changes only the rules that count on it."""
        text = spec.model_dump_json(exclude=_PRESENTATION)
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
        values = {
            name: _canonical(self.parameters[name].values)
            for name in sorted(words & set(self.parameters))
        }
        tables = [_canonical(self.tables[t].rows) for t in sorted(words & set(self.tables))]
        calendar: Any = None
        if self.calendar is not None and '"working_days"' in text:
            spec_ = self.calendar.spec
            package = holidays_version if spec_.uses_package else None
            calendar = [_canonical(spec_), package]
        payload = json.dumps([text, values, tables, self.tz.key, calendar], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _canonical(value: Any) -> Any:
    """A JSON form of a value that is the same in every process.

    ``repr`` is not: the order of a set of strings or dates follows the hash seed, so a
    fingerprint built from it changed between processes and a restored snapshot would drop
    the state of every rule whose calendar or parameters hold a set.
    """
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return {"": type(value).__name__} | {
            field.name: _canonical(getattr(value, field.name)) for field in fields
        }
    if isinstance(value, set | frozenset):
        items = [_canonical(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return f"{type(value).__name__}:{value}"  # dates, times, decimals: their str is stable


_PRESENTATION = set(PRESENTATION)


# -- reading with extends ----------------------------------------------------------------


def _resolve(reference: str | Path | None, base: Path | None) -> Path:
    if reference is None:
        default = _pack_by_id(DEFAULT_PACK)
        if default is None:
            raise PackError(f"the bundled pack {DEFAULT_PACK!r} is not installed", Location())
        return default
    text = str(reference)
    if isinstance(reference, str) and not Path(text).exists():
        by_id = _pack_by_id(text)
        if by_id is not None:
            return by_id
    path = Path(text)
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.is_dir():
        known = ", ".join(sorted(bundled_packs())) or "none"
        raise PackError(
            f"no pack directory {text!r} (bundled packs: {known})", Location(file=str(path))
        )
    return path


def _parent_of(pack_dir: Path, reference: str) -> Path:
    """The pack a pack extends: a shipped pack id, a sibling folder of the pack, or the id of
    a pack installed as a package (in that order)."""
    shipped = _shipped_packs()
    if reference in shipped and "/" not in reference:
        return shipped[reference]
    siblings = pack_dir.resolve().parent
    target = (pack_dir / reference).resolve()
    if not target.is_relative_to(siblings) or target == siblings:
        msg = (
            f"extends {reference!r}: a pack extends a bundled pack or a sibling pack folder "
            f"(one inside {siblings}), never a path elsewhere"
        )
        raise PackError(msg, Location(file="pack.yaml", key="extends"))
    if not target.is_dir():
        installed = _installed_packs().get(reference) if "/" not in reference else None
        if installed is not None:
            return installed
        packs = sorted(bundled_packs())
        close = difflib.get_close_matches(reference, packs, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        msg = (
            f"no bundled pack {reference!r} (bundled: {', '.join(packs) or 'none'}) and no "
            f"sibling folder of that name{hint}"
        )
        raise PackError(msg, Location(file=str(pack_dir / "pack.yaml"), key="extends"))
    return _resolve(str(target), None)


def _read_chain(root: Path) -> list[RawPack]:
    chain: list[RawPack] = []
    seen: set[Path] = set()
    current: Path | None = root
    while current is not None:
        resolved = current.resolve()
        if resolved in seen:
            raise PackError("packs extend each other in a loop", Location(file=str(current)))
        if len(chain) >= MAX_EXTENDS_DEPTH:
            raise PackError(
                f"more than {MAX_EXTENDS_DEPTH} levels of 'extends'", Location(file=str(current))
            )
        seen.add(resolved)
        raw = read_pack_directory(current)
        chain.append(raw)
        meta = raw.meta.value if raw.meta is not None else None
        current = _parent_of(current, meta.extends) if meta and meta.extends else None
    chain.reverse()  # the root ancestor first
    return chain


def load_pack(
    path: str | Path | None = None,
    *,
    profile: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> Pack:
    """Load, validate and compile a pack.

    Args:
        path: a pack directory, or the id of a bundled pack; ``None`` is the default
            pack (``customer-commitments``).
        profile: a jurisdiction profile of the pack (``cn``, ``hk``, ``uk`` …); ``None``
            is the pack's default profile.
        parameters: values that replace parameters for all time (what-if runs, test
            cases); applied after the profile.

    Raises:
        PackValidationError: listing every problem with its file, line and key.
        PackSyntaxError / PackError: a file that cannot be read at all.

    >>> pack = load_pack()
    >>> pack.id, pack.profile
    ('customer-commitments', 'cn')
    """
    root = _resolve(path, None)
    chain = _read_chain(root)
    problems: list[Problem] = []
    for raw in chain:
        problems.extend(raw.problems)
    if any(raw.meta is None for raw in chain):
        raise PackValidationError(problems or [Problem(Location(file="pack.yaml"), "unreadable")])
    builder = _Merge(chain, problems)
    pack = builder.finish(profile, dict(parameters or {}))
    if problems:
        raise PackValidationError(problems)
    _log.info(
        "loaded pack %s %s (profile %s, %s) from %s",
        pack.id,
        pack.version,
        pack.profile,
        pack.ref.digest,
        root,
    )
    return pack


class _Merge:
    """Merges a chain of packs (ancestor first) and a profile into one :class:`Pack`."""

    def __init__(self, chain: list[RawPack], problems: list[Problem]) -> None:
        self.chain = chain
        self.problems = problems
        self.top = chain[-1]

    def _problem(self, where: Location, reason: str) -> None:
        self.problems.append(Problem(where, reason))

    def finish(self, profile_id: str | None, replaced: dict[str, Any]) -> Pack:
        top_meta = self.top.meta
        assert top_meta is not None
        meta = top_meta.value
        # Settings: the nearest pack that sets a key wins.
        settings: dict[str, Any] = {}
        for raw in self.chain:
            assert raw.meta is not None
            for key in raw.meta.value.model_fields_set:
                settings[key] = getattr(raw.meta.value, key)
        clauses = self._merge_list([c for raw in self.chain for c in raw.clauses], "clause")
        roles = self._merge_list([r for raw in self.chain for r in raw.roles], "role")
        parameters: dict[str, Placed[ParameterModel]] = {}
        profiles: dict[str, Placed[ProfileFile]] = {}
        tables: dict[str, Placed[TableModel]] = {}
        event_types: dict[str, Any] = {}
        escalations: dict[str, Placed[EscalationSpec]] = {}
        rules: dict[str, Placed[RuleSpecBase]] = {}
        # A stand-alone pack (the default pack nowhere in its chain) owns every type name:
        # its own type replaces the built-in one of that name. A pack that extends the
        # default pack keeps the built-in types, which the default pack's rules are about.
        standalone = not any(
            raw.meta is not None and raw.meta.value.id == DEFAULT_PACK for raw in self.chain
        )
        for raw in self.chain:
            parameters.update(raw.parameters)
            profiles.update(raw.profiles)
            tables.update(raw.tables)
            for name, placed_type in raw.event_types.items():
                if name in event_types:
                    first = event_types[name].locate(())
                    self._problem(
                        placed_type.locate(()),
                        f"event type {name!r} is already defined in {first.file}:{first.line}",
                    )
                    continue
                if name in _BUILTIN_NAMES and not standalone:
                    self._problem(
                        placed_type.locate(()),
                        f"event type {name!r} is built in; a pack that extends "
                        f"{DEFAULT_PACK!r} keeps the built-in types (only a stand-alone pack "
                        "may replace one): choose another name",
                    )
                    continue
                event_types[name] = placed_type
            for escalation in raw.escalations:
                escalations[str(escalation.value.id)] = escalation
            for placed in raw.rules:
                if placed.value.id in rules:
                    first = rules[placed.value.id].locate(())
                    self._problem(
                        placed.locate(("id",)),
                        f"rule {placed.value.id!r} is already defined in "
                        f"{first.file}:{first.line}; disable it (pack.yaml 'disable') "
                        "and add a rule with a new id",
                    )
                    continue
                rules[placed.value.id] = placed
        disabled: list[tuple[str, str]] = []
        for raw in self.chain:
            assert raw.meta is not None
            for index, item in enumerate(raw.meta.value.disable):
                if item.rule not in rules:
                    self._problem(
                        raw.meta.locate(("disable", index, "rule")),
                        f"no rule {item.rule!r} to disable",
                    )
                    continue
                del rules[item.rule]
                disabled.append((item.rule, item.reason))
        # The profile.
        default_profile = settings.get("default_profile", "default")
        chosen = profile_id or default_profile
        timezone: str = settings.get("timezone", "UTC")
        calendar_model: CalendarModel | None = settings.get("calendar")
        profile = profiles.get(chosen)
        if profile is None and not (chosen == "default" and not profiles):
            if self.problems:
                # The profile may be missing because its file has problems: report those.
                raise PackValidationError(self.problems)
            known = ", ".join(sorted(profiles)) or "none"
            raise PackError(
                f"no profile {chosen!r} in pack {meta.id!r} (profiles: {known})", Location()
            )
        overrides: dict[str, Any] = {}
        if profile is not None:
            if profile.value.timezone is not None:
                timezone = profile.value.timezone
            if profile.value.calendar is not None:
                calendar_model = profile.value.calendar
            for name, override in profile.value.parameters.items():
                if name not in parameters:
                    self._problem(
                        profile.locate(("parameters", name)),
                        f"profile overrides unknown parameter {name!r}",
                    )
                    continue
                overrides[name] = (override, profile)
        for name, value in replaced.items():
            if name not in parameters:
                reason = _unknown_parameter(name, sorted(parameters))
                raise PackError(reason, Location(key=f"parameters.{name}"))
            overrides[name] = (ParameterOverride(value=value), None)
        tz = ZoneInfo(timezone)
        compiled_parameters = self._parameters(parameters, overrides)
        compiled_tables = self._tables(tables)
        catalog = self._catalog(event_types)
        calendar_spec, calendar = self._calendar(
            calendar_model, profile or self.top.meta, self._calendar_files()
        )
        role_ids = frozenset(r.value.id for r in roles)
        routing = RoutingSpec(escalations=[e.value for e in escalations.values()])
        for escalation in escalations.values():
            for index, role in enumerate(escalation.value.to):
                if role not in role_ids:
                    self._problem(escalation.locate(("to", index)), f"unknown role {role!r}")
        operations_role: str | None = settings.get("operations_role")
        if operations_role is not None and operations_role not in role_ids:
            where_meta = next(
                (
                    raw.meta.locate(("operations_role",))
                    for raw in reversed(self.chain)
                    if raw.meta is not None and "operations_role" in raw.meta.value.model_fields_set
                ),
                Location(key="operations_role"),
            )
            self._problem(where_meta, _unknown_role(operations_role, sorted(role_ids)))
        clause_ids = {c.value.id for c in clauses}
        for placed_rule in rules.values():
            clause = placed_rule.value.clause
            if clause not in clause_ids:
                self._problem(placed_rule.locate(("clause",)), f"unknown clause {clause!r}")
        personal = set(settings.get("personal_fields", []))
        for event_type in catalog:
            personal |= event_type.personal_fields
        sections = report_sections(
            [section for raw in self.chain for section in raw.report_sections],
            catalog=catalog,
            rules={rule_id: placed.value for rule_id, placed in rules.items()},
            clause_ids=[c.value.id for c in clauses],
            problem=self._problem,
            disabled=[rule_id for rule_id, _ in disabled],
        )
        compiler = _Compiler(
            rules=list(rules.values()),
            catalog=catalog,
            parameters=compiled_parameters,
            tables=compiled_tables,
            tz=tz,
            calendar=calendar,
            roles=role_ids,
            scope_fields=tuple(settings.get("scope_fields", ["branch_id", "staff_id"])),
            routing=routing,
        )
        compiler.build(self.problems)
        digest = hashlib.sha256()
        for raw in self.chain:
            digest.update(raw.digest().encode())
        digest.update(chosen.encode())
        lateness = settings.get("allowed_lateness")
        horizon = settings.get("duplicate_horizon")
        return Pack(
            id=meta.id,
            version=meta.version,
            name=_message(meta.name),
            description=_message(meta.description) if meta.description else None,
            profile=chosen,
            profiles=tuple(sorted(profiles)),
            timezone=timezone,
            clauses=tuple(
                Clause(
                    id=c.value.id,
                    title=_message(c.value.title),
                    text=_message(c.value.text),
                    section=c.value.section,
                    automatable=c.value.automatable,
                    reason=_message(c.value.reason) if c.value.reason else None,
                    sources=tuple(c.value.sources),
                )
                for c in clauses
            ),
            roles=tuple(
                Role(
                    id=r.value.id,
                    name=_message(r.value.name),
                    description=_message(r.value.description) if r.value.description else None,
                    scope=r.value.scope,
                    roster=r.value.roster,
                )
                for r in roles
            ),
            parameters=compiled_parameters,
            tables=compiled_tables,
            rules=tuple(p.value for p in rules.values()),
            disabled=tuple(disabled),
            routing=routing,
            catalog=catalog,
            allowed_lateness_us=lateness.to_us() if lateness is not None else 0,
            duplicate_horizon_us=horizon.to_us() if horizon is not None else 30 * 86_400_000_000,
            personal_fields=frozenset(personal),
            scope_fields=compiler.scope_fields,
            calendar_spec=calendar_spec,
            digest=digest.hexdigest(),
            operations_role=operations_role or (roles[0].value.id if roles else "operations"),
            operations_role_declared=operations_role is not None,
            max_ahead_us=settings["max_ahead"].to_us()
            if "max_ahead" in settings
            else 366 * 86_400_000_000,
            calendar_alarm_margin_days=calendar_model.alarm_margin_days
            if calendar_model is not None
            else 60,
            path=self.top.root,
            extends=tuple(raw.meta.value.id for raw in self.chain[:-1] if raw.meta is not None),
            report_sections=sections,
            compiler=compiler,
        )

    def _merge_list(self, items: list[Placed[Any]], what: str) -> list[Placed[Any]]:
        out: dict[str, Placed[Any]] = {}
        for placed in items:
            key = placed.value.id
            if key in out:
                first = out[key].locate(())
                self._problem(
                    placed.locate(("id",)),
                    f"{what} {key!r} is already defined in {first.file}:{first.line}",
                )
                continue
            out[key] = placed
        return list(out.values())

    def _parameters(
        self, parameters: dict[str, Placed[ParameterModel]], overrides: dict[str, Any]
    ) -> dict[str, Parameter]:
        out: dict[str, Parameter] = {}
        for name, placed in parameters.items():
            model = placed.value
            source = model.source
            raw_values: list[tuple[dt.date | None, Any, Placed[Any], tuple[str | int, ...]]]
            origin: Placed[Any] = placed
            base: tuple[str | int, ...] = ()
            value_holder: Any = model
            if name in overrides:
                override, profile = overrides[name]
                value_holder = override
                if profile is not None:
                    origin = profile
                    base = ("parameters", name)
                source = override.source or source
            if value_holder.values is not None:
                raw_values = [
                    (v.from_, v.value, origin, (*base, "values", i, "value"))
                    for i, v in enumerate(value_holder.values)
                ]
            else:
                raw_values = [(None, value_holder.value, origin, (*base, "value"))]
            values: list[tuple[dt.date | None, Any]] = []
            for start, value, where, keys in raw_values:
                try:
                    values.append((start, coerce(value, model.type)))
                except ValueError as error:
                    self._problem(where.locate(keys), f"parameter {name!r}: {error}")
            description = model.description
            text = (
                description
                if isinstance(description, str) or description is None
                else description.en
            )
            out[name] = Parameter(
                name=name,
                type=model.type,
                values=tuple(values),
                unit=model.unit,
                description=text,
                source=source,
                defined_in=placed.file.path,
            )
        return out

    def _tables(self, tables: dict[str, Placed[TableModel]]) -> dict[str, Table]:
        out: dict[str, Table] = {}
        for name, placed in tables.items():
            model = placed.value
            rows: list[dict[str, Any]] = []
            keys_seen: set[Any] = set()
            for index, row in enumerate(model.rows):
                clean: dict[str, Any] = {}
                for column, value in row.items():
                    where = placed.locate(("rows", index, column))
                    if column in ("valid_from", "valid_to"):
                        try:
                            clean[column] = coerce(value, "date")
                        except ValueError as error:
                            self._problem(where, str(error))
                        continue
                    spec = model.columns.get(column)
                    if spec is None:
                        self._problem(
                            where, f"unknown column {column!r} (declare it under 'columns')"
                        )
                        continue
                    if value is None and spec.optional:
                        clean[column] = None
                        continue
                    try:
                        clean[column] = coerce(value, spec.type)
                    except ValueError as error:
                        self._problem(where, f"column {column!r}: {error}")
                for column, spec in model.columns.items():
                    if column not in row:
                        if spec.optional:
                            clean[column] = None
                        else:
                            self._problem(
                                placed.locate(("rows", index)), f"missing column {column!r}"
                            )
                key = clean.get(model.key)
                if key is not None and key in keys_seen and "valid_from" not in clean:
                    self._problem(
                        placed.locate(("rows", index, model.key)), f"duplicate key {key!r}"
                    )
                keys_seen.add(key)
                rows.append(clean)
            description = model.description
            out[name] = Table(
                id=model.id,
                key=model.key,
                columns={c: (s.type, s.optional) for c, s in model.columns.items()},
                rows=tuple(rows),
                description=description
                if isinstance(description, str) or description is None
                else description.en,
                defined_in=placed.file.path,
            )
        return out

    def _catalog(self, event_types: dict[str, Placed[Any]]) -> EventCatalog:
        # A declared type with a built-in name replaces the built-in type (stand-alone packs).
        types = [t for t in EventCatalog.builtin() if t.name not in event_types]
        for name, placed in event_types.items():
            try:
                types.append(EventType.from_model(_event_model(name, placed.value), builtin=False))
            except (TypeError, ValueError) as error:
                self._problem(placed.locate(()), f"event type {name!r}: {error}")
        return EventCatalog(types)

    def _calendar_files(self) -> dict[str, CalendarData]:
        """The chain's calendar files by jurisdiction; a pack's years replace its parent's."""
        files: dict[str, CalendarData] = {}
        for raw in self.chain:
            for code, placed in raw.calendars.items():
                inherited = files.get(code)
                files[code] = placed.value if inherited is None else inherited.merged(placed.value)
        return files

    def _calendar(
        self,
        model: CalendarModel | None,
        where: Placed[Any] | None,
        files: Mapping[str, CalendarData],
    ) -> tuple[CalendarSpec | None, WorkingDayCalendar | None]:
        if model is None:
            return None, None
        code = model.country
        if code is not None and model.subdivision is not None:
            code = f"{code}-{model.subdivision}"
        data = files.get(code) if code is not None else None
        spec = CalendarSpec(
            country=model.country,
            subdivision=model.subdivision,
            extra_days_off=frozenset(model.extra_days_off),
            extra_working_days=frozenset(model.extra_working_days),
            known_through=model.known_through,
            known_from=model.known_from,
            holiday_categories=frozenset(model.holiday_categories),
            weekend=data.weekend if data is not None else frozenset({5, 6}),
            data=data,
            strict=model.strict,
        )
        try:
            return spec, WorkingDayCalendar(spec)
        except (CalendarError, ValueError, TypeError, KeyError, NotImplementedError) as error:
            location = where.locate(("calendar",)) if where is not None else Location()
            self._problem(location, f"calendar: {error}")
            return spec, None


def _unknown_role(name: str, known: list[str]) -> str:
    close = [c for c in difflib.get_close_matches(name, known, n=1) if c != name]
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"operations_role: unknown role {name!r}{hint}"


def _unknown_parameter(name: str, known: list[str]) -> str:

    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"no parameter {name!r} to replace{hint}"


_BUILTIN_NAMES = frozenset(m.model_fields["type"].default for m in BUILTIN_EVENT_TYPES)

_FIELD_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "decimal": Annotated[
        Decimal,
        Field(allow_inf_nan=False, max_digits=DECIMAL_DIGITS, decimal_places=DECIMAL_PLACES),
    ],
    "bool": bool,
    "datetime": EventTime,
    "list": list[str],
}


def _event_model(name: str, model: Any) -> type[Event]:
    fields: dict[str, Any] = {"type": (Literal[name], name)}
    personal: set[str] = set()
    for field_name, spec in model.fields.items():
        if field_name in ("id", "type", "at"):
            msg = f"field {field_name!r} is common to every event and cannot be redeclared"
            raise ValueError(msg)
        annotation: Any = _FIELD_TYPES[spec.type]
        constraints: dict[str, Any] = {}
        if spec.enum is not None:
            annotation = Literal[tuple(spec.enum)]
        # Bounds of the field's own type: an int field's bounds are ints (a Decimal bound
        # would reach its JSON Schema as a Decimal, which JSON cannot hold).
        bound = int if spec.type == "int" else Decimal
        if spec.min is not None:
            constraints["ge"] = bound(spec.min)
        if spec.max is not None:
            constraints["le"] = bound(spec.max)
        if spec.type == "int":
            # Whole numbers are int64 whatever the pack says (Arrow and Spark carry them).
            constraints["ge"] = max(constraints.get("ge", INT_MIN), INT_MIN)
            constraints["le"] = min(constraints.get("le", INT_MAX), INT_MAX)
        if spec.max_length is not None:
            constraints["max_length"] = spec.max_length
        elif spec.type == "str" and spec.enum is None:
            constraints["max_length"] = 20_000
        if constraints:
            annotation = Annotated[annotation, Field(**constraints)]
        if spec.required:
            fields[field_name] = (annotation, ...)
        else:
            fields[field_name] = (annotation | None, spec.default)
        if spec.personal:
            personal.add(field_name)
    class_name = "".join(part.title() for part in name.split("_"))
    created: type[Event] = create_model(class_name, __base__=Event, **fields)
    created.personal_fields = frozenset(personal)
    return created
