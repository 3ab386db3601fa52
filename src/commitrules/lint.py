"""Linting a pack: everything loading would reject, plus what is legal but likely wrong.

>>> report = lint()
>>> report.ok
True
>>> any(w.code == "unchecked-source" for w in report.warnings)
True
>>> [w for w in report.warnings if w.code in ("missing-quote", "policy-without-owner")]
[]

A checked regulation source without the article's words (``quote``) is ``missing-quote``;
an internal policy without the role that set it (``set_by``) is ``policy-without-owner``;
``commitrules lint --strict`` fails on any warning.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from pathlib import Path

import attrs

from .errors import CaseError, CommitRulesError, Location, PackValidationError, Problem
from .eventtime import WorkingDayCalendar, from_us, to_us
from .pack import Pack, load_pack
from .pack.models import SourceModel
from .rules.operational import horizon_alarm, longest_working_days

__all__ = ["LintReport", "Warning", "lint"]


@attrs.frozen
class Warning:  # noqa: A001 - the domain word; never raised, so no clash in practice
    """Something legal that is probably a mistake."""

    code: str
    message: str
    location: Location = attrs.field(factory=Location)

    def __str__(self) -> str:
        where = str(self.location)
        return f"{where}: {self.code}: {self.message}" if where else f"{self.code}: {self.message}"


@attrs.frozen
class LintReport:
    """The errors (the pack does not load, or its test cases cannot run) and warnings."""

    errors: tuple[Problem, ...]
    warnings: tuple[Warning, ...]

    @property
    def ok(self) -> bool:
        """Whether the pack loads and its case files can run."""
        return not self.errors


def lint(
    path: str | Path | None = None,
    *,
    profile: str | None = None,
    as_of: dt.date | None = None,
) -> LintReport:
    """Lint a pack (a directory or bundled id; the default pack if None) and its test cases
    (``tests/*.yaml``): a case file that cannot be read, or a case naming a rule the pack
    does not have (expected or ignored), is an error.

    The working-day calendar of each profile (only ``profile`` when given) is checked
    against its official years; with ``as_of``, also whether deadlines counted from that
    day already reach past the last official year (the engine's horizon alarm).
    """
    try:
        pack = load_pack(path, profile=profile)
    except PackValidationError as error:
        return LintReport(errors=error.problems, warnings=())
    except CommitRulesError as error:
        return LintReport(errors=(Problem(error.location, error.reason),), warnings=())
    found = _warnings(pack)
    profiles = [profile] if profile is not None else list(pack.profiles) or [pack.profile]
    for name in profiles:
        try:
            each = pack if name == pack.profile else load_pack(path, profile=name)
        except CommitRulesError as error:
            return LintReport(errors=(Problem(error.location, error.reason),), warnings=())
        found.extend(_calendar_warnings(each, as_of))
        if each is not pack:
            found.extend(_source_warnings(each, base=pack))
    return LintReport(errors=tuple(_case_problems(pack)), warnings=tuple(dict.fromkeys(found)))


def _source_problems(source: SourceModel, what: str, roles: set[str]) -> list[tuple[str, str]]:
    """(code, message) for a source that is legal but says too little about itself."""
    found: list[tuple[str, str]] = []
    if source.kind == "regulation" and source.checked and not source.quote:
        found.append(
            (
                "missing-quote",
                f"{what}: a checked regulation source gives the article's words in 'quote' "
                f"({source.citation})",
            )
        )
    if source.kind == "internal_policy" and source.set_by is None:
        found.append(
            (
                "policy-without-owner",
                f"{what}: an internal policy names the role that set it in 'set_by' "
                f"({source.citation})",
            )
        )
    if source.set_by is not None and source.set_by not in roles:
        close = difflib.get_close_matches(source.set_by, sorted(roles), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        found.append(
            ("unknown-owner", f"{what}: set_by {source.set_by!r} is not a role of the pack{hint}")
        )
    return found


def _source_warnings(pack: Pack, *, base: Pack | None = None) -> list[Warning]:
    """Sources of parameters (and of clauses) that say too little: a checked regulation
    without its quote, a policy without its owner. With ``base`` (another profile of the
    same pack), only the sources the profile itself gives."""
    roles = {role.id for role in pack.roles}
    found: list[Warning] = []
    for name, parameter in sorted(pack.parameters.items()):
        if parameter.source is None:
            continue
        if base is not None and base.parameters[name].source == parameter.source:
            continue
        where = Location(file=parameter.defined_in, key=f"parameters.{name}")
        if base is not None:
            where = Location(file=f"profiles/{pack.profile}.yaml", key=f"parameters.{name}")
        what = f"parameter {name!r}" + (f" (profile {pack.profile})" if base else "")
        for code, message in _source_problems(parameter.source, what, roles):
            found.append(Warning(code, message, where))
    if base is not None:
        return found
    for clause in pack.clauses:
        where = Location(file="clauses.yaml", key=f"clauses.{clause.id}.sources")
        for source in clause.sources:
            for code, message in _source_problems(source, f"clause {clause.id}", roles):
                found.append(Warning(code, message, where))
    return found


def _role_warnings(pack: Pack) -> list[Warning]:
    """A role held per scope value needs a roster table keyed by that field."""
    found: list[Warning] = []
    for role in pack.roles:
        if role.roster is None or role.scope is None:
            continue
        where = Location(file="roles.yaml", key=f"roles.{role.id}")
        table = pack.tables.get(role.roster)
        if role.scope not in pack.scope_fields:
            found.append(
                Warning(
                    "role-scope",
                    f"role {role.id!r} is held per {role.scope!r}, which is not among the "
                    f"pack's scope_fields ({', '.join(pack.scope_fields)}): findings never "
                    f"carry it",
                    where,
                )
            )
        if table is None:
            found.append(
                Warning(
                    "role-roster",
                    f"role {role.id!r}: no table {role.roster!r} gives its holders",
                    where,
                )
            )
        elif table.key != role.scope or "holder" not in table.columns:
            found.append(
                Warning(
                    "role-roster",
                    f"role {role.id!r}: the roster {role.roster!r} is keyed by {role.scope!r} "
                    f"and names each holder in a 'holder' column",
                    where,
                )
            )
    return found


def _calendar_warnings(pack: Pack, as_of: dt.date | None) -> list[Warning]:
    """The HK case (no official year) and the horizon, per profile, as the engine sees them."""
    spec = pack.calendar_spec
    longest = longest_working_days(
        pack.rules, {name: [v for _, v in p.values] for name, p in pack.parameters.items()}
    )
    if spec is None or longest <= 0:
        return []
    calendar = WorkingDayCalendar(spec)
    code = spec.jurisdiction
    where = Location(file=f"calendars/{code}.yaml")
    if calendar.last_year < 2:
        return [
            Warning(
                "calendar-no-official-year",
                f"profile {pack.profile}: the working-day calendar for {code} has no official "
                f"year, so every working-day deadline counts on provisional days (the "
                f"holidays package's projection, or weekends only) and is marked provisional; "
                f"add calendars/{code}.yaml with the official years (or set known_through in "
                f"the profile's calendar to the last year checked)",
                where,
            )
        ]
    if as_of is None or calendar.last_year >= dt.MAXYEAR:
        return []
    alarm = horizon_alarm(calendar, longest, pack.calendar_alarm_margin_days, "-", pack.tz)
    assert alarm is not None
    if to_us(dt.datetime.combine(as_of, dt.time(), tzinfo=pack.tz)) < alarm.alarm_us:
        return []
    return [
        Warning(
            "calendar-horizon",
            f"profile {pack.profile}: the working-day calendar for {code} is official only "
            f"through {calendar.last_year}; from {from_us(alarm.alarm_us, pack.tz).date()}, "
            f"deadlines of up to {longest} working days (plus a margin of "
            f"{pack.calendar_alarm_margin_days} days) reach into {calendar.last_year + 1}: "
            f"add the official {calendar.last_year + 1} to calendars/{code}.yaml",
            where,
        )
    ]


def _case_problems(pack: Pack) -> list[Problem]:
    """What would stop the pack's own cases from running, found without running them."""
    from .testing._suite import case_files  # noqa: PLC0415 - testing imports the engine
    from .testing.cases import load_case_file, unknown_names  # noqa: PLC0415

    problems: list[Problem] = []
    for path in case_files(pack.path):
        shown = str(path.relative_to(pack.path))
        try:
            case_file = load_case_file(path, shown=shown)
        except CaseError as error:
            problems.extend(error.problems)
            continue
        for index, case in enumerate(case_file.cases):
            for keys, reason in unknown_names(case_file, index, pack):
                if keys[0] == "ignore" and case.ignore is None:
                    where = case_file.source.locate(keys)  # the file's default
                else:
                    where = case_file.locate(index, *keys)
                problems.append(Problem(where, reason))
    return list(dict.fromkeys(problems))  # a file's default ignore: said once


def _warnings(pack: Pack) -> list[Warning]:
    found: list[Warning] = []
    if not pack.rules:
        found.append(
            Warning(
                "empty-pack",
                f"pack {pack.id!r} has no rule: it judges nothing (add rules under rules/"
                + (", or extend a pack" if not pack.extends else "")
                + ")",
                Location(file="rules/"),
            )
        )
    ruled = {rule.clause for rule in pack.rules}
    for clause in pack.clauses:
        has_rule = clause.id in ruled or any(c.startswith(clause.id + ".") for c in ruled)
        has_children = any(c.id.startswith(clause.id + ".") for c in pack.clauses)
        if clause.automatable and not has_rule and not has_children:
            found.append(
                Warning(
                    "clause-without-rule",
                    f"clause {clause.id} has no rule and is not marked 'automatable: false' "
                    "with a reason",
                    Location(key=f"clauses.{clause.id}"),
                )
            )
    used_roles = {rule.role for rule in pack.rules}
    if pack.operations_role_declared:
        used_roles.add(pack.operations_role)
    elif pack.rules:
        found.append(
            Warning(
                "operations-role-missing",
                "pack.yaml names no operations_role: the engine's own findings (a rule failing "
                f"at run time, the calendar's horizon alarm) go to the first role, "
                f"{pack.operations_role!r}",
                Location(file="pack.yaml", key="operations_role"),
            )
        )
    for escalation in pack.routing.escalations:
        used_roles.update(escalation.to)
    for rule in pack.rules:
        for step in getattr(rule, "escalate", []) or []:
            used_roles.update(step.to)
    for role in pack.roles:
        if role.id not in used_roles:
            found.append(
                Warning("unused-role", f"no rule or escalation routes to role {role.id!r}")
            )
    texts = " ".join(rule.model_dump_json() for rule in pack.rules)
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", texts))
    for name, parameter in sorted(pack.parameters.items()):
        where = Location(file=parameter.defined_in, key=f"parameters.{name}")
        if parameter.source is None:
            found.append(
                Warning("parameter-without-source", f"parameter {name!r} has no source", where)
            )
        elif not parameter.source.checked and not (
            # The bank's own figure, owned by a named role: no official text to check.
            parameter.source.kind == "internal_policy" and parameter.source.set_by is not None
        ):
            found.append(
                Warning(
                    "unchecked-source",
                    f"parameter {name!r}: the figure was not checked against the official text "
                    f"({parameter.source.citation})",
                    where,
                )
            )
        if name not in words:
            found.append(Warning("unused-parameter", f"no rule reads parameter {name!r}", where))
    found.extend(_source_warnings(pack))
    found.extend(_role_warnings(pack))
    rosters = {role.roster for role in pack.roles if role.roster is not None}
    for name, table in sorted(pack.tables.items()):
        if name not in words and name not in rosters:
            where = Location(file=table.defined_in)
            found.append(Warning("unused-table", f"no rule reads table {name!r}", where))
    runtime = pack.build()
    for running in runtime.rules:
        fed = running.on_accept or running.on_release or running.counts_findings
        if not fed:
            found.append(
                Warning(
                    "unreachable-rule",
                    f"rule {running.rule_id!r}: no event type feeds it",
                    pack.rule_location(running.rule_id) or Location(),
                )
            )
    for rule_id, reason in pack.disabled:
        found.append(Warning("disabled-rule", f"rule {rule_id!r} is disabled: {reason}"))
    return found
