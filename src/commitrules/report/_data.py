"""The report's numbers: computed once from the pack, the events and the engine's findings.

Everything the report shows comes from the mapping :func:`compute` returns (JSON-ready:
text, whole numbers, floats rounded for display, ``None``); the HTML and Markdown
renderers only lay it out, so a test can check every number in one place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..errors import EventValidationError
from ..eventtime import (
    Duration,
    Period,
    PeriodUnit,
    add_duration,
    from_us,
    next_period,
    parse_period,
    period_of,
    to_us,
)
from ..rules.periodic import PeriodicTargetSpec
from ..violations import Violation, kind_rank
from ._text import words

if TYPE_CHECKING:
    from ..pack import Pack

__all__ = ["FORMAT", "KINDS", "VERSION", "compute"]

FORMAT = "commitrules.report"
VERSION = 1
KINDS = ("violation", "escalation", "insufficient_sample", "excused")
BREACHES = ("violation", "escalation")
WARNING_CLAUSES = ("W1", "W2")
OFFENDER_FIELDS = ("branch_id", "staff_id")
TOP_OFFENDERS = 10
EXTENDED_LIMIT_DAYS = 60  # the regulation's longest limit, used when a pack has no parameter
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
) -> dict[str, Any]:
    """The report's data (see :func:`commitrules.report.build_report` for its keys)."""
    say = words(lang)
    tz = pack.tz
    window = parse_period(period, tz) if period is not None else None
    checked, given, duplicates, invalid = _checked_events(pack, events)
    findings = sorted(violations, key=lambda v: (to_us(v.at), v.rule_id, kind_rank(v.kind), v.id))
    moments = {v.id: _moment_us(v, tz) for v in findings}

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
        "lang": lang,
        "title": say["report_title"],
        "pack": {
            "id": pack.id,
            "name": pack.name.in_language(lang),
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
        },
        "clauses": _clauses(pack, scoped, lang),
        "complaints": _complaints(pack, checked, in_window, judged_us, last_day),
        "targets": _targets(pack, findings, lang, first_us, judged_us, window),
        "timeline": _timeline(scoped, moments, span, tz),
        "by_role": _by_role(pack, scoped, lang),
        "offenders": _offenders(pack, scoped),
        "early_warnings": [
            _finding_row(v, lang, tz) for v in scoped if v.clause_id.startswith(WARNING_CLAUSES)
        ],
    }


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
        if closed.end_us == at_us:
            return at_us - 1
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


def _clauses(pack: Pack, scoped: Sequence[Violation], lang: str) -> list[dict[str, Any]]:
    counts: dict[str, Counter[str]] = {}
    for violation in scoped:
        counts.setdefault(violation.clause_id, Counter())[violation.kind] += 1
    rules = Counter(spec.clause for spec in pack.rules)
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
            reason = clause.reason.in_language(lang) if clause.reason is not None else None
        elif breaches:
            status = "breached" if sum(own[k] for k in BREACHES) else "breached_sub"
        elif rule_count == 0:
            status = "not_checked"
        elif small:
            status = "insufficient_sample"
        else:
            status = "kept"
        rows.append(
            {
                "id": clause.id,
                "section": clause.section,
                "title": clause.title.in_language(lang),
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


# -- complaints ----------------------------------------------------------------------------


def percentile(values: Sequence[float], percent: int) -> float | None:
    """The nearest-rank percentile of sorted ``values`` (``None`` when there are none)."""
    if not values:
        return None
    rank = max(1, -(-percent * len(values) // 100))
    return values[rank - 1]


def _complaints(
    pack: Pack,
    checked: Sequence[tuple[int, dict[str, Any]]],
    in_window: Callable[[int], bool],
    judged_us: int | None,
    last_day: date | None,
) -> dict[str, Any]:
    tz = pack.tz
    received: dict[str, tuple[int, dict[str, Any]]] = {}
    resolved: dict[str, list[int]] = {}
    extended: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for at_us, event in checked:
        case = event.get("case_id")
        if not isinstance(case, str):
            continue
        kind = event["type"]
        if kind == "complaint_received":
            received.setdefault(case, (at_us, event))
        elif kind == "complaint_resolved":
            resolved.setdefault(case, []).append(at_us)
        elif kind == "complaint_extended":
            extended.setdefault(case, []).append((at_us, event))
    days: list[float] = []
    counted = resolved_count = open_count = overdue = with_limit = within = 0
    for case, (start_us, event) in received.items():
        if not in_window(start_us):
            continue
        counted += 1
        end_us = next((us for us in resolved.get(case, ()) if us >= start_us), None)
        due_us = _complaint_due(pack, case, start_us, event, end_us, extended, tz)
        if end_us is None:
            open_count += 1
            if due_us is not None and judged_us is not None and judged_us > due_us:
                overdue += 1
            continue
        resolved_count += 1
        days.append((end_us - start_us) / _US_PER_DAY)
        if due_us is not None:
            with_limit += 1
            within += end_us <= due_us
    days.sort()
    share = round(within / with_limit, 4) if with_limit else None
    return {
        "received": counted,
        "resolved": resolved_count,
        "open": open_count,
        "open_overdue": overdue,
        "with_limit": with_limit,
        "within_limit": within,
        "share_within_limit": share,
        "days_p50": _rounded(percentile(days, 50)),
        "days_p90": _rounded(percentile(days, 90)),
        "days_max": _rounded(days[-1] if days else None),
        "limits": {
            "simple": _days(pack, "complaint_decision_days", last_day),
            "complex": _days(pack, "complaint_decision_days_complex", last_day),
            "extended": _days(pack, "complaint_decision_days_max", last_day) or EXTENDED_LIMIT_DAYS,
        },
    }


def _complaint_due(
    pack: Pack,
    case: str,
    start_us: int,
    event: Mapping[str, Any],
    end_us: int | None,
    extended: Mapping[str, Sequence[tuple[int, Mapping[str, Any]]]],
    tz: ZoneInfo,
) -> int | None:
    """The decision's due instant as the pack's deadline rules compute it (calendar days to
    the end of the due day); ``None`` when the pack has no limit for the case."""
    day = from_us(start_us, tz).date()
    name = (
        "complaint_decision_days_complex"
        if event.get("complexity") == "complex"
        else "complaint_decision_days"
    )
    limit = _days(pack, name, day)
    if limit is None or limit < 0:
        return None
    due_us = add_duration(
        start_us, Duration(limit, "calendar_days", end_of_day=True), tz=tz, calendar=None
    )
    # An approved, notified extension made while the case was open and not yet late.
    for at_us, extension in extended.get(case, ()):
        if not (start_us <= at_us <= due_us and (end_us is None or at_us <= end_us)):
            continue
        if not extension.get("approved_by") or extension.get("complainant_notified") is False:
            continue
        longest = _days(pack, "complaint_decision_days_max", day) or EXTENDED_LIMIT_DAYS
        longer = add_duration(
            start_us, Duration(longest, "calendar_days", end_of_day=True), tz=tz, calendar=None
        )
        due_us = max(due_us, longer)
        break
    return due_us


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# -- periodic targets ----------------------------------------------------------------------


def _targets(
    pack: Pack,
    findings: Sequence[Violation],
    lang: str,
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
        periods: dict[str, Period] = {}
        for label in by_period:
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
            rows.append(_target_row(pack, spec, item, by_period.get(item.label, []), tz))
        title = spec.id
        if spec.title is not None:
            title = spec.title.zh if lang == "zh" else spec.title.en
        out.append(
            {
                "rule_id": spec.id,
                "clause_id": spec.clause,
                "title": title,
                "period_unit": unit,
                "grouped": bool(spec.group_by),
                "periods": rows,
                "met": sum(row["status"] == "met" for row in rows),
                "missed": sum(row["status"] == "missed" for row in rows),
                "insufficient_sample": sum(row["status"] == "insufficient_sample" for row in rows),
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
    pack: Pack, spec: PeriodicTargetSpec, period: Period, found: Sequence[Violation], tz: ZoneInfo
) -> dict[str, Any]:
    kinds = {v.kind for v in found}
    if "violation" in kinds:
        status = "missed"
    elif "excused" in kinds:
        status = "excused"
    elif "insufficient_sample" in kinds:
        status = "insufficient_sample"
    else:
        status = "met"
    goal = spec.target.value
    if not isinstance(goal, Decimal):
        goal = _parameter(pack, goal.param, from_us(period.end_us - 1, tz).date())
    goal_value = float(goal) if isinstance(goal, int | Decimal) else None
    numerator = denominator = rate = None
    if len(found) == 1 and not spec.group_by:
        evidence = found[0].evidence
        numerator = _whole(evidence.get("numerator"))
        denominator = _whole(evidence.get("denominator"))
        if numerator is not None and denominator:
            rate = round(numerator / denominator, 6)
    return {
        "period": period.label,
        "status": status,
        "numerator": numerator,
        "denominator": denominator,
        "rate": rate,
        "target_op": spec.target.op,
        "target": goal_value,
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


def _by_role(pack: Pack, scoped: Sequence[Violation], lang: str) -> list[dict[str, Any]]:
    counts: dict[str, Counter[str]] = {}
    for violation in scoped:
        if violation.kind in BREACHES:
            counts.setdefault(violation.role, Counter())[violation.kind] += 1
    names = {role.id: role.name.in_language(lang) for role in pack.roles}
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
    for name in OFFENDER_FIELDS:
        counts: Counter[str] = Counter()
        for violation in scoped:
            if violation.kind != "violation" or violation.rule_id in counting:
                continue
            value = violation.scope.get(name, violation.subject.get(name))
            if value is not None:
                counts[str(value)] += 1
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_OFFENDERS]
        out[name] = [{"id": key, "count": count} for key, count in ranked]
    return out


def _finding_row(violation: Violation, lang: str, tz: ZoneInfo) -> dict[str, Any]:
    subject = ", ".join(f"{key}={value}" for key, value in sorted(violation.subject.items()))
    return {
        "id": violation.id,
        "at": _local_text(to_us(violation.at), tz),
        "clause_id": violation.clause_id,
        "rule_id": violation.rule_id,
        "kind": violation.kind,
        "severity": violation.severity,
        "message": violation.message.in_language(lang),
        "subject": subject,
    }
