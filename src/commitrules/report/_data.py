"""The report's numbers: computed once from the pack, the events and the engine's findings.

Everything the report shows comes from the mapping :func:`compute` returns (JSON-ready:
text, whole numbers, floats rounded for display, ``None``); the HTML and Markdown
renderers only lay it out, so a test can check every number in one place.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..errors import EventValidationError
from ..eventtime import (
    Period,
    PeriodUnit,
    from_us,
    next_period,
    parse_period,
    period_of,
    to_us,
)
from ..rules import RuleSpecBase
from ..rules._base import DurationSpec, FieldRef, ParamRef
from ..rules.deadline import DeadlineSpec
from ..rules.periodic import PeriodicTargetSpec
from ..violations import Violation, kind_rank
from ._language import Language, resolve
from ._text import words

if TYPE_CHECKING:
    from ..engine import Outcome
    from ..pack import Pack
    from ..pack._report import ReportSection
    from ..pack.models import CaseHandlingSection, CaseStatisticsSection

__all__ = ["FORMAT", "KINDS", "VERSION", "bucket_labels", "compute", "input_files", "language_of"]

FORMAT = "commitrules.report"
VERSION = 3
KINDS = ("violation", "escalation", "insufficient_sample", "excused")
BREACHES = ("violation", "escalation")
MISSED = ("violation", "excused")  # a deadline missed (excused: missed, but waived)
TOP_OFFENDERS = 10
REPEAT = 2  # an offender is listed from this many violations on
TOP_GROUPS = 5
_US_PER_DAY = 86_400_000_000
_MAX_PERIODS = 5_000  # a runaway period walk (day periods over centuries) stops here


def compute(
    pack: Pack,
    events: Iterable[Mapping[str, Any]],
    violations: Iterable[Violation],
    *,
    period: str | None,
    lang: str,
    until: datetime | None,
    outcomes: Iterable[Outcome] | None = None,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> dict[str, Any]:
    """The report's data (see :func:`commitrules.report.build_report` for its keys)."""
    language = language_of(pack, lang)
    say = words(language.tag)
    tz = pack.tz
    known = list(outcomes) if outcomes is not None else None
    window = parse_period(period, tz) if period is not None else None
    checked, given, duplicates, invalid = _checked_events(pack, events)
    everything = sorted(violations, key=lambda v: (to_us(v.at), v.rule_id, kind_rank(v.kind), v.id))
    # A correction withdraws an earlier finding: the withdrawn one counts nowhere, and the
    # corrections are listed apart with the engine's own findings.
    corrections = [v for v in everything if v.kind == "correction"]
    withdrawn = {v.refers_to for v in corrections if v.refers_to}
    findings = [v for v in everything if v.kind != "correction" and v.id not in withdrawn]
    moments = {v.id: _moment_us(v, tz) for v in everything}

    def in_window(us: int) -> bool:
        return window is None or window.start_us <= us < window.end_us

    if until is not None and (until.tzinfo is None or until.utcoffset() is None):
        msg = "until needs an aware datetime (with an offset)"
        raise ValueError(msg)
    latest = [at_us for at_us, _ in checked[-1:]] + [to_us(v.at) for v in findings]
    if until is not None:
        latest.append(to_us(until))
    judged_us = max(latest) if latest else None
    first_us = checked[0][0] if checked else None
    scoped_events = [(at_us, event) for at_us, event in checked if in_window(at_us)]
    scoped = [v for v in findings if in_window(moments[v.id])]
    # The engine's findings about itself (clause "engine") are shown apart, never counted
    # as the pack's findings.
    operational = [v for v in scoped if v.clause_id == "engine"]
    scoped = [v for v in scoped if v.clause_id != "engine"]
    span: tuple[int, int] | None = None
    if window is not None:
        span = (window.start_us, window.end_us)
    else:
        instants = [at_us for at_us, _ in checked] + list(moments.values())
        if instants:
            span = (min(instants), max(instants) + 1)
    # Parameters shown "as in force" are those of the last day the report covers.
    last_day = _last_day(window, judged_us, tz)
    kinds: Counter[str] = Counter(v.kind for v in scoped)
    conversion = None
    if language.conversion is not None:
        conversion = {
            "library": f"OpenCC {metadata.version('OpenCC')}",
            "config": language.conversion,
        }
    mismatched = sorted(
        {
            (v.pack.id, v.pack.version, v.pack.profile, v.pack.digest)
            for v in findings
            if v.pack.digest != pack.digest
        }
    )
    return {
        "format": FORMAT,
        "version": VERSION,
        "lang": language.tag,
        "conversion": conversion,
        "title": say["report_title"],
        "inputs": input_files(inputs),
        "pack": {
            "id": pack.id,
            "name": language.text(pack.name),
            "version": pack.version,
            "profile": pack.profile,
            "digest": pack.digest,
            "timezone": pack.timezone,
        },
        "pack_mismatch": [
            {"id": i, "version": ver, "profile": prof, "digest": dig}
            for i, ver, prof, dig in mismatched
        ],
        "period": _period_data(window, tz),
        "judged_through": _local_text(judged_us, tz) if judged_us is not None else None,
        "events": {
            "given": given,
            "duplicates": duplicates,
            "invalid": invalid,
            "counted": len(checked),
            "in_period": len(scoped_events),
            "by_type": dict(sorted(Counter(e["type"] for _, e in scoped_events).items())),
        },
        "findings": {
            "total": len(scoped),
            "by_kind": {kind: kinds.get(kind, 0) for kind in KINDS},
            "breaches": sum(kinds.get(kind, 0) for kind in BREACHES),
            "provisional": sum(v.provisional for v in scoped),
            "withdrawn": len(withdrawn),
        },
        "outcomes_known": known is not None,
        "clauses": _clauses(pack, scoped, language, _judged_rules(known, in_window, tz)),
        "checks": _checks(pack, scoped, known, in_window, language),
        "deadlines": _deadlines(pack, findings, known, in_window, language, last_day),
        "thresholds": _thresholds(pack, scoped, language),
        "targets": _targets(pack, findings, known, language, first_us, judged_us, window),
        "timeline": _timeline(scoped, moments, span, tz),
        "by_role": _by_role(pack, scoped, language),
        "offenders": _offenders(pack, scoped),
        "sections": [
            _section(
                pack,
                section,
                checked,
                findings,
                scoped,
                known,
                in_window,
                language,
                last_day,
                window,
            )
            for section in pack.report_sections
        ],
        "operational": [_finding_row(v, language, tz) for v in operational],
        "corrections": [
            _finding_row(v, language, tz) for v in corrections if in_window(moments[v.id])
        ],
    }


def language_of(pack: Pack, lang: str) -> Language:
    """The report's language for ``pack``: ``zh`` chosen by the pack's time zone, and the
    script its Chinese is written in read off its clause titles."""
    samples = [clause.title.zh for clause in pack.clauses] + [role.name.zh for role in pack.roles]
    return resolve(lang, pack.timezone, samples)


def input_files(paths: Iterable[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """Each input file's name as given, size and SHA-256 (``-``: standard input, no hash)."""
    out: list[dict[str, Any]] = []
    for path in paths:
        name = os.fspath(path)
        if name == "-":
            out.append({"name": name, "bytes": None, "sha256": None})
            continue
        digest = hashlib.sha256()
        size = 0
        with Path(name).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
        out.append({"name": name, "bytes": size, "sha256": digest.hexdigest()})
    return out


# -- inputs --------------------------------------------------------------------------------


def _checked_events(
    pack: Pack, events: Iterable[Mapping[str, Any]]
) -> tuple[list[tuple[int, dict[str, Any]]], int, int, int]:
    """Events validated like the engine does (raw or already validated), first id wins,
    sorted by event time."""
    catalog = pack.catalog
    seen: set[str] = set()
    out: list[tuple[int, dict[str, Any]]] = []
    given = duplicates = invalid = 0
    for raw in events:
        given += 1
        try:
            event = catalog.validate(raw)
        except EventValidationError:
            invalid += 1
            continue
        if event["id"] in seen:
            duplicates += 1
            continue
        seen.add(event["id"])
        out.append((to_us(event["at"]), event))
    out.sort(key=lambda item: (item[0], item[1]["id"]))
    return out, given, duplicates, invalid


def _moment_us(violation: Violation, tz: ZoneInfo) -> int:
    """When a finding belongs: its time, except that the finding of a closed period
    (emitted at the first instant of the next one) belongs to the period's last instant."""
    at_us = to_us(violation.at)
    label = violation.evidence.get("period")
    if isinstance(label, str):
        try:
            closed = parse_period(label, tz)
        except ValueError:
            return at_us
        if closed.end_us == at_us or (
            closed.end_us < at_us and violation.evidence.get("due") is not None
        ):
            # Emitted when the next period starts, or judged at a due time after the
            # period (an obligation placed by a field): it belongs to its period.
            return closed.end_us - 1
    return at_us


def _local_text(us: int, tz: ZoneInfo) -> str:
    return from_us(us, tz).strftime("%Y-%m-%d %H:%M")


def _last_day(window: Period | None, judged_us: int | None, tz: ZoneInfo) -> date | None:
    if window is not None:
        return from_us(window.end_us - 1, tz).date()
    return from_us(judged_us, tz).date() if judged_us is not None else None


def _period_data(window: Period | None, tz: ZoneInfo) -> dict[str, Any] | None:
    if window is None:
        return None
    return {
        "label": window.label,
        "unit": window.unit,
        "first_day": from_us(window.start_us, tz).date().isoformat(),
        "last_day": from_us(window.end_us - 1, tz).date().isoformat(),
    }


def _parameter(pack: Pack, name: str, day: date | None) -> Any:
    parameter = pack.parameters.get(name)
    if parameter is None:
        return None
    if day is None:
        return parameter.values[-1][1] if parameter.values else None
    return parameter.value_at(day)


def _days(pack: Pack, name: str, day: date | None) -> int | None:
    value = _parameter(pack, name, day)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return int(value)


# -- clauses -------------------------------------------------------------------------------


def _judged_rules(
    outcomes: Sequence[Outcome] | None, in_window: Callable[[int], bool], tz: ZoneInfo
) -> set[str] | None:
    """The rules that judged something compliant in the window (None: outcomes unknown);
    a period's outcome belongs to its period, as a period's finding does."""
    if outcomes is None:
        return None
    judged: set[str] = set()
    for outcome in outcomes:
        if outcome.status != "compliant":
            continue
        at_us = to_us(outcome.at)
        label = outcome.subject.get("period")
        if isinstance(label, str):
            try:
                closed = parse_period(label, tz)
            except ValueError:
                closed = None
            if closed is not None and closed.end_us <= at_us:
                at_us = closed.end_us - 1
        if in_window(at_us):
            judged.add(outcome.rule_id)
    return judged


def _clauses(
    pack: Pack, scoped: Sequence[Violation], language: Language, judged: set[str] | None
) -> list[dict[str, Any]]:
    """Each clause's status. With the engine's outcomes a clause is ``kept`` only when one of
    its rules judged something (a threshold watches without outcomes: its silence counts);
    otherwise ``not_judged``."""
    counts: dict[str, Counter[str]] = {}
    for violation in scoped:
        counts.setdefault(violation.clause_id, Counter())[violation.kind] += 1
    rules = Counter(spec.clause for spec in pack.rules)
    watching = {spec.clause for spec in pack.rules if _kind(spec) == "threshold"}
    judging: set[str] | None = None
    if judged is not None:
        judging = {spec.clause for spec in pack.rules if spec.id in judged} | watching
        judging |= set(counts)
    known = [clause.id for clause in pack.clauses]
    rows: list[dict[str, Any]] = []
    for clause in pack.clauses:
        family = [c for c in known if c == clause.id or c.startswith(clause.id + ".")]
        own = counts.get(clause.id, Counter())
        breaches = sum(counts.get(c, Counter())[k] for c in family for k in BREACHES)
        small = sum(counts.get(c, Counter())["insufficient_sample"] for c in family)
        rule_count = sum(rules[c] for c in family)
        reason = None
        if not clause.automatable:
            status = "not_automatable"
            reason = language.text(clause.reason) if clause.reason is not None else None
        elif breaches:
            status = "breached" if sum(own[k] for k in BREACHES) else "breached_sub"
        elif rule_count == 0:
            status = "not_checked"
        elif small:
            status = "insufficient_sample"
        elif judging is not None and not any(c in judging for c in family):
            status = "not_judged"
        else:
            status = "kept"
        rows.append(
            {
                "id": clause.id,
                "section": clause.section,
                "title": language.text(clause.title),
                "status": status,
                "reason": reason,
                "rules": rules[clause.id],
                "rules_with_subclauses": rule_count,
                "counts": {kind: own.get(kind, 0) for kind in KINDS},
            }
        )
    # Findings of clauses the pack does not list (a different pack): shown, never lost.
    for clause_id in sorted(set(counts) - set(known)):
        own = counts[clause_id]
        rows.append(
            {
                "id": clause_id,
                "section": None,
                "title": clause_id,
                "status": "unknown_clause",
                "reason": None,
                "rules": rules[clause_id],
                "rules_with_subclauses": rules[clause_id],
                "counts": {kind: own.get(kind, 0) for kind in KINDS},
            }
        )
    return rows


# -- rules of each kind ---------------------------------------------------------------------


def _title(spec: RuleSpecBase, language: Language) -> str:
    return language.text(spec.title) if spec.title is not None else spec.id


def _kind(spec: RuleSpecBase) -> str:
    return str(getattr(spec, "kind", ""))


def _counts(found: Iterable[Violation]) -> dict[str, int]:
    kinds: Counter[str] = Counter(v.kind for v in found)
    return {kind: kinds.get(kind, 0) for kind in KINDS}


def _checks(
    pack: Pack,
    scoped: Sequence[Violation],
    outcomes: Sequence[Outcome] | None,
    in_window: Callable[[int], bool],
    language: Language,
) -> list[dict[str, Any]]:
    """Each check and precedence rule: the events it judged, how many held, its findings."""
    held: Counter[str] = Counter()
    for outcome in outcomes or ():
        if outcome.status == "compliant" and in_window(to_us(outcome.at)):
            held[outcome.rule_id] += 1
    rows = []
    for spec in pack.rules:
        if _kind(spec) not in ("check", "precedence"):
            continue
        counts = _counts(v for v in scoped if v.rule_id == spec.id)
        kept = held[spec.id] if outcomes is not None else None
        judged = None if kept is None else kept + counts["violation"] + counts["excused"]
        rows.append(
            {
                "rule_id": spec.id,
                "clause_id": spec.clause,
                "kind": _kind(spec),
                "title": _title(spec, language),
                "judged": judged,
                "held": kept,
                "counts": counts,
            }
        )
    return rows


def _deadlines(
    pack: Pack,
    findings: Sequence[Violation],
    outcomes: Sequence[Outcome] | None,
    in_window: Callable[[int], bool],
    language: Language,
    last_day: date | None,
) -> list[dict[str, Any]]:
    """Each deadline rule: deadlines opened in the period, met, missed and still open; its
    time limit as in force on the report's last day. A deadline belongs to the period it was
    opened in (its finding may come later)."""
    rows = []
    for spec in pack.rules:
        if not isinstance(spec, DeadlineSpec):
            continue
        missed: dict[str, Violation] = {}
        escalated: set[str] = set()
        for v in findings:
            if v.rule_id == spec.id and v.event_ids:
                if v.kind in MISSED:
                    missed.setdefault(v.event_ids[0], v)
                elif v.kind == "escalation":
                    escalated.add(v.event_ids[0])
        opened: dict[str, int] | None = None
        met: set[str] = set()
        if outcomes is not None:
            opened = {}
            for outcome in outcomes:
                if outcome.rule_id != spec.id or not outcome.event_ids:
                    continue
                if outcome.status == "pending":
                    opened[outcome.event_ids[0]] = to_us(outcome.at)
                elif outcome.status == "compliant":
                    met.add(outcome.event_ids[0])
        row: dict[str, Any] = {
            "rule_id": spec.id,
            "clause_id": spec.clause,
            "title": _title(spec, language),
            "limit": _limit(pack, spec, last_day),
            "opened": None,
            "met": None,
            "open": None,
            "share_met": None,
        }
        # Without outcomes, a missed deadline belongs to the period its due time fell in.
        missed_here = [
            opening
            for opening, v in missed.items()
            if (opened is not None and opening in opened and in_window(opened[opening]))
            or (opened is None and in_window(to_us(v.due_at or v.at)))
        ]
        row["missed"] = len(missed_here)
        row["excused"] = sum(missed[opening].kind == "excused" for opening in missed_here)
        row["escalated"] = sum(opening in escalated for opening in missed_here)
        if opened is not None:
            here = [opening for opening, at_us in opened.items() if in_window(at_us)]
            row["opened"] = len(here)
            row["met"] = sum(opening in met for opening in here)
            row["open"] = row["opened"] - row["met"] - row["missed"]
            judged = row["met"] + row["missed"]
            row["share_met"] = round(row["met"] / judged, 4) if judged else None
        rows.append(row)
    return rows


def _limit(pack: Pack, spec: DeadlineSpec, day: date | None) -> dict[str, Any]:
    """A deadline's time limit, and its extensions, as in force on ``day``."""
    return {
        "within": _duration(pack, spec.within, day),
        "extended": [_duration(pack, step.to, day) for step in spec.extend],
    }


def _duration(pack: Pack, duration: DurationSpec, day: date | None) -> dict[str, Any]:
    count = duration.count
    value: int | None
    source: str | None = None
    if isinstance(count, ParamRef):
        source = count.param
        value = _days(pack, count.param, day)
    elif isinstance(count, FieldRef):
        source = "field:" + count.field
        value = None
    else:
        value = count
    return {"count": value, "unit": duration.unit, "param": source}


def _thresholds(
    pack: Pack, scoped: Sequence[Violation], language: Language
) -> list[dict[str, Any]]:
    """Each threshold rule: its findings in the period and the groups that crossed it most."""
    rows = []
    for spec in pack.rules:
        if _kind(spec) != "threshold":
            continue
        own = [v for v in scoped if v.rule_id == spec.id]
        groups: Counter[str] = Counter()
        for v in own:
            if v.kind == "violation":
                label = ", ".join(f"{k}={value}" for k, value in sorted(v.subject.items()))
                groups[label or "—"] += 1
        ranked = sorted(groups.items(), key=lambda item: (-item[1], item[0]))[:TOP_GROUPS]
        rows.append(
            {
                "rule_id": spec.id,
                "clause_id": spec.clause,
                "title": _title(spec, language),
                "counts": _counts(own),
                "groups": [{"group": group, "count": count} for group, count in ranked],
            }
        )
    return rows


# -- sections the pack declares -------------------------------------------------------------


def percentile(values: Sequence[float], percent: int) -> float | None:
    """The nearest-rank percentile of sorted ``values`` (``None`` when there are none)."""
    if not values:
        return None
    rank = max(1, -(-percent * len(values) // 100))
    return values[rank - 1]


def _section(
    pack: Pack,
    section: ReportSection,
    checked: Sequence[tuple[int, dict[str, Any]]],
    findings: Sequence[Violation],
    scoped: Sequence[Violation],
    outcomes: Sequence[Outcome] | None,
    in_window: Callable[[int], bool],
    language: Language,
    last_day: date | None,
    window: Period | None,
) -> dict[str, Any]:
    head: dict[str, Any] = {
        "id": section.id,
        "kind": section.kind,
        "title": language.text(section.title),
        "note": language.text(section.note) if section.note is not None else None,
    }
    if section.kind == "case_handling":
        return head | _case_handling(
            pack, section, checked, findings, outcomes, in_window, last_day, language
        )
    if section.kind == "case_statistics":
        return head | _case_statistics(pack, section, checked, window)
    family = tuple(section.clauses)
    rules = set(section.rules)
    rows = [
        _finding_row(v, language, pack.tz)
        for v in scoped
        if v.rule_id in rules
        or any(v.clause_id == c or v.clause_id.startswith(c + ".") for c in family)
    ]
    return head | {"findings": rows}


def _case_handling(
    pack: Pack,
    section: CaseHandlingSection,
    checked: Sequence[tuple[int, dict[str, Any]]],
    findings: Sequence[Violation],
    outcomes: Sequence[Outcome] | None,
    in_window: Callable[[int], bool],
    last_day: date | None,
    language: Language,
) -> dict[str, Any]:
    """Cases opened in the period: closed and open counts, days taken, and with ``limits``
    whether each kept its limit, as the pack's deadline rules decided."""
    limits = set(section.limits)
    opened: dict[str, tuple[int, str]] = {}
    closed: dict[str, list[int]] = {}
    for at_us, event in checked:
        case = event.get(section.key)
        if case is None:
            continue
        if event["type"] == section.opened_by:
            opened.setdefault(str(case), (at_us, event["id"]))
        elif event["type"] == section.closed_by:
            closed.setdefault(str(case), []).append(at_us)
    missed = {
        v.event_ids[0] for v in findings if v.rule_id in limits and v.kind in MISSED and v.event_ids
    }
    with_deadline: set[str] | None = None
    if outcomes is not None:
        with_deadline = {
            o.event_ids[0]
            for o in outcomes
            if o.rule_id in limits and o.status == "pending" and o.event_ids
        }
    days: list[float] = []
    counted = closed_count = open_count = overdue = with_limit = within = 0
    for case, (start_us, opening) in opened.items():
        if not in_window(start_us):
            continue
        counted += 1
        has_limit = bool(limits) and (with_deadline is None or opening in with_deadline)
        end_us = next((us for us in closed.get(case, ()) if us >= start_us), None)
        if end_us is None:
            open_count += 1
            overdue += opening in missed
            continue
        closed_count += 1
        days.append((end_us - start_us) / _US_PER_DAY)
        if has_limit:
            with_limit += 1
            within += opening not in missed
    days.sort()
    share = round(within / with_limit, 4) if with_limit else None
    rules = [spec for spec in pack.rules if spec.id in limits]
    return {
        "received": counted,
        "resolved": closed_count,
        "open": open_count,
        "open_overdue": overdue if limits else None,
        "with_limit": with_limit if limits else None,
        "within_limit": within if limits else None,
        "share_within_limit": share,
        "days_p50": _rounded(percentile(days, 50)),
        "days_p90": _rounded(percentile(days, 90)),
        "days_max": _rounded(days[-1] if days else None),
        "limits": [
            {"rule_id": spec.id, "title": _title(spec, language)} | _limit(pack, spec, last_day)
            for spec in rules
            if isinstance(spec, DeadlineSpec)
        ],
    }


def bucket_labels(buckets: Sequence[int]) -> list[str]:
    """Column names of a statistics section's buckets: ``[15, 30, 60]`` ->
    ``days_0_15, days_16_30, days_31_60, days_over_60``."""
    labels = []
    low = 0
    for high in buckets:
        labels.append(f"days_{low}_{high}")
        low = high + 1
    labels.append(f"days_over_{buckets[-1]}")
    return labels


def _case_statistics(
    pack: Pack,
    section: CaseStatisticsSection,
    checked: Sequence[tuple[int, dict[str, Any]]],
    window: Period | None,
) -> dict[str, Any]:
    """Cases per period of receipt and per value of the ``by`` fields: received, closed,
    closed per calendar-day bucket (from the opening date to the closing date), open."""
    tz = pack.tz
    opened: dict[str, tuple[int, dict[str, Any]]] = {}
    closed: dict[str, list[int]] = {}
    for at_us, event in checked:
        case = event.get(section.key)
        if case is None:
            continue
        if event["type"] == section.opened_by:
            opened.setdefault(str(case), (at_us, event))
        elif event["type"] == section.closed_by:
            closed.setdefault(str(case), []).append(at_us)
    labels = bucket_labels(section.buckets)
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for case, (start_us, event) in opened.items():
        period = period_of(start_us, section.period, tz)
        # The section's periods that end inside the report's window (or every one).
        if window is not None and not window.start_us <= period.end_us - 1 < window.end_us:
            continue
        values = tuple("" if event.get(f) is None else str(event.get(f)) for f in section.by)
        key = (period.label, *values)
        row = rows.get(key)
        if row is None:
            row = rows[key] = {
                "period": period.label,
                **dict(zip(section.by, values, strict=True)),
                "received": 0,
                "closed": 0,
                **dict.fromkeys(labels, 0),
                "open": 0,
            }
        row["received"] += 1
        end_us = next((us for us in closed.get(case, ()) if us >= start_us), None)
        if end_us is None:
            row["open"] += 1
            continue
        row["closed"] += 1
        taken = (from_us(end_us, tz).date() - from_us(start_us, tz).date()).days
        index = next((i for i, high in enumerate(section.buckets) if taken <= high), None)
        row[labels[-1] if index is None else labels[index]] += 1
    ordered = [rows[key] for key in sorted(rows)]
    return {
        "period_unit": section.period,
        "by": list(section.by),
        "buckets": list(section.buckets),
        "columns": ["period", *section.by, "received", "closed", *labels, "open"],
        "rows": ordered,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# -- periodic targets ----------------------------------------------------------------------


def _targets(
    pack: Pack,
    findings: Sequence[Violation],
    outcomes: Sequence[Outcome] | None,
    language: Language,
    first_us: int | None,
    judged_us: int | None,
    window: Period | None,
) -> list[dict[str, Any]]:
    tz = pack.tz
    out: list[dict[str, Any]] = []
    for spec in pack.rules:
        if not isinstance(spec, PeriodicTargetSpec):
            continue
        unit: PeriodUnit = spec.period
        by_period: dict[str, list[Violation]] = {}
        for violation in findings:
            label = violation.evidence.get("period")
            if violation.rule_id == spec.id and isinstance(label, str):
                by_period.setdefault(label, []).append(violation)
        # The periods the engine judged kept, with what it measured (outcomes only).
        kept: dict[str, list[Outcome]] = {}
        for outcome in outcomes or ():
            label = outcome.subject.get("period")
            if (
                outcome.rule_id == spec.id
                and outcome.status == "compliant"
                and isinstance(label, str)
            ):
                kept.setdefault(label, []).append(outcome)
        periods: dict[str, Period] = {}
        for label in [*by_period, *kept]:
            try:
                periods[label] = parse_period(label, tz)
            except ValueError:
                continue
        if first_us is not None and judged_us is not None:
            current = period_of(first_us, unit, tz)
            for _ in range(_MAX_PERIODS):
                if current.end_us > judged_us:
                    break
                if _in_force(spec, current.end_us - 1, tz):
                    periods.setdefault(current.label, current)
                current = next_period(current, tz)
        rows = []
        for item in sorted(periods.values(), key=lambda p: p.start_us):
            last_us = item.end_us - 1
            if window is not None and not window.start_us <= last_us < window.end_us:
                continue
            found = by_period.get(item.label, [])
            met = kept.get(item.label, [])
            rows.append(_target_row(pack, spec, item, found, met, outcomes is not None, tz))
        title = _title(spec, language)
        out.append(
            {
                "rule_id": spec.id,
                "clause_id": spec.clause,
                "title": title,
                "period_unit": unit,
                "grouped": bool(spec.group_by),
                "periods": rows,
                "kept": sum(row["status"] == "kept" for row in rows),
                "missed": sum(row["status"] == "missed" for row in rows),
                "not_judged": sum(row["status"] == "not_judged" for row in rows),
                "excused": sum(row["status"] == "excused" for row in rows),
            }
        )
    return out


def _in_force(spec: PeriodicTargetSpec, at_us: int, tz: ZoneInfo) -> bool:
    day = from_us(at_us, tz).date()
    if spec.effective_from is not None and day < spec.effective_from:
        return False
    return not (spec.effective_to is not None and day >= spec.effective_to)


def _target_row(
    pack: Pack,
    spec: PeriodicTargetSpec,
    period: Period,
    found: Sequence[Violation],
    met: Sequence[Outcome],
    outcomes_known: bool,
    tz: ZoneInfo,
) -> dict[str, Any]:
    """One closed period of a target: ``kept``, ``missed``, ``not_judged`` or ``excused``;
    the target in force and the fewest observations it needs; numerator, denominator and
    the achieved rate where the engine recorded them (a finding's evidence, or a kept
    period's outcome).

    A period is not judged for a ``reason``: ``no_events`` (nothing counted at all),
    ``too_few`` (fewer observations than it needs) or, with the engine's outcomes,
    ``no_judgement`` (the engine recorded neither a finding nor a kept period). A period
    not judged has no rate: a rate of too few observations judges nothing."""
    kinds = {v.kind for v in found}
    reason = None
    if "violation" in kinds:
        status = "missed"
    elif "excused" in kinds:
        status = "excused"
    elif "insufficient_sample" in kinds:
        status, reason = "not_judged", "too_few"
    elif met or not outcomes_known:
        status = "kept"
    else:
        status, reason = "not_judged", "no_judgement"
    day = from_us(period.end_us - 1, tz).date()
    goal = spec.target.value
    if not isinstance(goal, Decimal):
        goal = _parameter(pack, goal.param, day)
    goal_value = float(goal) if isinstance(goal, int | Decimal) else None
    sample = spec.min_sample
    needed = _parameter(pack, sample.param, day) if not isinstance(sample, int) else sample
    numerator = denominator = rate = None
    if not spec.group_by:
        if len(found) == 1:
            evidence = found[0].evidence
            numerator = _whole(evidence.get("numerator"))
            denominator = _whole(evidence.get("denominator"))
            needed = _whole(evidence.get("min_sample")) or needed
        elif len(met) == 1:
            numerator, denominator = met[0].numerator, met[0].denominator
    if reason == "too_few" and denominator == 0:
        reason = "no_events"
    if numerator is not None and denominator and status != "not_judged":
        rate = round(numerator / denominator, 6)
    return {
        "period": period.label,
        "status": status,
        "reason": reason,
        "numerator": numerator,
        "denominator": denominator,
        "rate": rate,
        "target_op": spec.target.op,
        "target": goal_value,
        "min_sample": needed if isinstance(needed, int) else None,
        "findings": len(found),
    }


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# -- time, roles, offenders, warnings ------------------------------------------------------


def _bucket_unit(span: tuple[int, int]) -> PeriodUnit:
    days = (span[1] - span[0]) / _US_PER_DAY
    if days <= 100:
        return "week"
    if days <= 6 * 366:
        return "month"
    return "year"


def _timeline(
    scoped: Sequence[Violation],
    moments: Mapping[str, int],
    span: tuple[int, int] | None,
    tz: ZoneInfo,
) -> dict[str, Any]:
    if span is None:
        return {"unit": None, "buckets": []}
    unit = _bucket_unit(span)
    buckets: dict[str, dict[str, Any]] = {}
    current = period_of(span[0], unit, tz)
    for _ in range(_MAX_PERIODS):
        if current.start_us >= span[1]:
            break
        buckets[current.label] = {"period": current.label, "violation": 0, "escalation": 0}
        current = next_period(current, tz)
    for violation in scoped:
        if violation.kind not in BREACHES:
            continue
        label = period_of(moments[violation.id], unit, tz).label
        row = buckets.setdefault(label, {"period": label, "violation": 0, "escalation": 0})
        row[violation.kind] += 1
    return {"unit": unit, "buckets": sorted(buckets.values(), key=lambda row: row["period"])}


def _by_role(pack: Pack, scoped: Sequence[Violation], language: Language) -> list[dict[str, Any]]:
    counts: dict[str, Counter[str]] = {}
    for violation in scoped:
        if violation.kind in BREACHES:
            counts.setdefault(violation.role, Counter())[violation.kind] += 1
    names = {role.id: language.text(role.name) for role in pack.roles}
    order = [role.id for role in pack.roles if role.id in counts]
    order += sorted(set(counts) - set(names))
    return [
        {
            "role": role,
            "name": names.get(role, role),
            "violation": counts[role]["violation"],
            "escalation": counts[role]["escalation"],
            "total": counts[role]["violation"] + counts[role]["escalation"],
        }
        for role in order
    ]


def _offenders(pack: Pack, scoped: Sequence[Violation]) -> dict[str, list[dict[str, Any]]]:
    # Warnings that count violations (W1 "frequent violations") would count them twice.
    counting = {spec.id for spec in pack.rules if getattr(spec, "count_findings", None)}
    out: dict[str, list[dict[str, Any]]] = {}
    for name in pack.scope_fields:
        counts: Counter[str] = Counter()
        for violation in scoped:
            if violation.kind != "violation" or violation.rule_id in counting:
                continue
            value = violation.scope.get(name, violation.subject.get(name))
            if value is not None:
                counts[str(value)] += 1
        repeated = [(key, count) for key, count in counts.items() if count >= REPEAT]
        ranked = sorted(repeated, key=lambda item: (-item[1], item[0]))[:TOP_OFFENDERS]
        out[name] = [{"id": key, "count": count} for key, count in ranked]
    return out


def _finding_row(violation: Violation, language: Language, tz: ZoneInfo) -> dict[str, Any]:
    subject = ", ".join(f"{key}={value}" for key, value in sorted(violation.subject.items()))
    return {
        "id": violation.id,
        "at": _local_text(to_us(violation.at), tz),
        "clause_id": violation.clause_id,
        "rule_id": violation.rule_id,
        "kind": violation.kind,
        "severity": violation.severity,
        "message": language.text(violation.message),
        "subject": subject,
        "provisional": violation.provisional,
        "refers_to": violation.refers_to,
    }
