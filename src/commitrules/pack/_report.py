"""The report sections a pack declares (``report.yaml``): merged along ``extends`` and
checked against what the pack has (event types, fields, rules, clauses)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..errors import Location, did_you_mean
from ..events import EventCatalog
from ..rules import RuleSpecBase
from ._read import Placed
from .models import CaseHandlingSection, CaseStatisticsSection, FindingsSection

__all__ = ["ReportSection", "report_sections"]

ReportSection = CaseHandlingSection | FindingsSection | CaseStatisticsSection
"""One section a pack adds to the commitment report."""


def report_sections(
    placed: Iterable[Placed[ReportSection]],
    *,
    catalog: EventCatalog,
    rules: Mapping[str, RuleSpecBase],
    clause_ids: Sequence[str],
    problem: Callable[[Location, str], None],
    disabled: Iterable[str] = (),
) -> tuple[ReportSection, ...]:
    """The sections in order (a later one with an earlier id replaces it in place), each
    problem reported with its place.

    A rule the pack disabled (``disable`` in ``pack.yaml``) is left out of the sections
    that name it: a bank that switches off an inherited rule keeps the inherited section.
    """
    off = set(disabled)
    merged: dict[str, Placed[ReportSection]] = {}
    for given in placed:
        section = given.value
        if isinstance(section, CaseHandlingSection) and off & set(section.limits):
            kept = [rule for rule in section.limits if rule not in off]
            section = section.model_copy(update={"limits": kept})
        elif isinstance(section, FindingsSection) and off & set(section.rules):
            kept = [rule for rule in section.rules if rule not in off]
            section = section.model_copy(update={"rules": kept})
        merged[section.id] = Placed(section, given.file, given.path)
    for item in merged.values():
        section = item.value
        if isinstance(section, CaseHandlingSection):
            _check_case_handling(Placed(section, item.file, item.path), catalog, rules, problem)
        elif isinstance(section, CaseStatisticsSection):
            _check_case_statistics(Placed(section, item.file, item.path), catalog, problem)
        else:
            _check_findings(Placed(section, item.file, item.path), rules, clause_ids, problem)
    return tuple(item.value for item in merged.values())


def _check_case_handling(
    item: Placed[CaseHandlingSection],
    catalog: EventCatalog,
    rules: Mapping[str, RuleSpecBase],
    problem: Callable[[Location, str], None],
) -> None:
    section = item.value
    for key in ("opened_by", "closed_by"):
        name = getattr(section, key)
        if name not in catalog:
            problem(
                item.locate((key,)),
                f"unknown event type {name!r}{did_you_mean(name, catalog.names)}",
            )
        elif section.key not in catalog[name].fields:
            fields = [f for f in catalog[name].fields if f not in ("id", "type", "at")]
            hint = did_you_mean(section.key, fields)
            problem(
                item.locate(("key",)), f"event type {name!r} has no field {section.key!r}{hint}"
            )
    deadlines = [rule_id for rule_id, spec in rules.items() if _kind(spec) == "deadline"]
    for index, rule_id in enumerate(section.limits):
        spec = rules.get(rule_id)
        if spec is None:
            problem(
                item.locate(("limits", index)),
                f"no rule {rule_id!r}{did_you_mean(rule_id, deadlines)}",
            )
        elif _kind(spec) != "deadline":
            problem(
                item.locate(("limits", index)),
                f"rule {rule_id!r} is a {_kind(spec)} rule, not a deadline",
            )
        elif getattr(spec, "on", None) != section.opened_by:
            problem(
                item.locate(("limits", index)),
                f"rule {rule_id!r} opens on {getattr(spec, 'on', None)!r}, not on "
                f"{section.opened_by!r} (the section's opened_by)",
            )


def _check_case_statistics(
    item: Placed[CaseStatisticsSection],
    catalog: EventCatalog,
    problem: Callable[[Location, str], None],
) -> None:
    """The event types exist, both carry the key, and the opening type has every ``by``."""
    section = item.value
    for key in ("opened_by", "closed_by"):
        name = getattr(section, key)
        if name not in catalog:
            problem(
                item.locate((key,)),
                f"unknown event type {name!r}{did_you_mean(name, catalog.names)}",
            )
            continue
        fields = [f for f in catalog[name].fields if f not in ("id", "type", "at")]
        if section.key not in catalog[name].fields:
            hint = did_you_mean(section.key, fields)
            problem(
                item.locate(("key",)), f"event type {name!r} has no field {section.key!r}{hint}"
            )
        if key == "opened_by":
            for index, field in enumerate(section.by):
                if field not in catalog[name].fields:
                    problem(
                        item.locate(("by", index)),
                        f"event type {name!r} has no field {field!r}{did_you_mean(field, fields)}",
                    )


def _check_findings(
    item: Placed[FindingsSection],
    rules: Mapping[str, RuleSpecBase],
    clause_ids: Sequence[str],
    problem: Callable[[Location, str], None],
) -> None:
    section = item.value
    for index, clause_id in enumerate(section.clauses):
        if clause_id not in clause_ids:
            problem(
                item.locate(("clauses", index)),
                f"unknown clause {clause_id!r}{did_you_mean(clause_id, clause_ids)}",
            )
    for index, rule_id in enumerate(section.rules):
        if rule_id not in rules:
            problem(
                item.locate(("rules", index)), f"no rule {rule_id!r}{did_you_mean(rule_id, rules)}"
            )


def _kind(spec: Any) -> str:
    return str(getattr(spec, "kind", ""))
