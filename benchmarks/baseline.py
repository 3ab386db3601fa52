"""A hand-written Python evaluation of the default pack's 58 rules: the "no library" baseline.

This is what a bank developer would write without commitrules for the rules of
``rulesets/customer-commitments``: plain dicts and lists, straight code per event type,
timestamps parsed with :meth:`datetime.fromisoformat`, deadlines as aware datetimes in
Asia/Shanghai, a heap of timers. It reads the pack's parameters and tables once
(:meth:`Reference.from_pack`), never in the hot path.

It is the denominator of the performance goals of issue 9, so it has none of the
engine's guarantees: no validation (events are trusted, defaults filled with
``dict.get``), no duplicate ids, no watermark or reorder buffer (events must come in
time order), no routing, no messages, no evidence, no deterministic ids, no snapshots.
Its output is a list of :class:`Finding` ``(rule_id, key, at, kind)``: the rule, the
values of the rule's key (its subject), when, and ``violation``, ``escalation`` or
``insufficient_sample``.

Semantics it reproduces (and the correctness check in ``tests/test_benchmarks.py`` and
``benchmarks/run.py`` holds it to the engine's on generated streams):

* checks: judged on the event, lookups in the tables rows in force at the event's time
  (the recording duty: the branch rule, bancassurance, the bank's policy, or "cannot
  judge", at most one per sale; professional investors only from their register);
* precedence: the latest earlier matching event per key (a complete disclosure of the
  product, and for insurance one that tells the free-look period, within 30 calendar days
  to the end of the day; the latest suitability assessment within 12 months, whose level
  must cover the product's recorded and registered level; the complaint an extension
  belongs to, within 60 days, whose branch's superior or head office approved it);
* deadlines: calendar days or working days (CN calendar) to the end of the local day,
  hours as elapsed time; a follow-up at the due instant is in time; one violation at the
  due time, an approved extension (only before the violation) moves the due time to 60
  days, an escalation 15 days after the due time if the complaint is still open; an
  insurance complaint answered (decided, or told of an extension) within 10 working days;
* thresholds: >= 5 complaints per branch in a sliding 24 h, >= 3 violation findings per
  staff member and >= 10 per branch in a sliding 30 days (findings of the two counting
  rules themselves are not counted); each fires when the count reaches the limit and
  re-arms when it falls below;
* periodic targets and obligations: judged when the period (month, quarter, half-year,
  year in Asia/Shanghai) closes, tracking from the period of the first event; a rate
  with too small a sample is ``insufficient_sample``; the annual report is placed in the
  year it names and the year judged at the end of 30 April of the next;
* thresholds on assessments: more than 2 for one customer in a calendar day, more than 8
  in a sliding 365 days.

Timers that fall due at the same instant fire in the order they were set, as in the
engine (it matters only to which finding of that instant crosses a threshold).
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from bisect import bisect_right, insort
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

__all__ = [
    "IMPLEMENTED",
    "Comparison",
    "Finding",
    "HandWritten",
    "Reference",
    "compare",
    "evaluate",
    "finding_keys",
    "missing_rules",
    "to_us",
    "violation_keys",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_LAST_US = time(23, 59, 59, 999_999)
_MIDNIGHT = time(0)

#: Every rule of the default pack this module implements. The benchmark and the test refuse
#: to compare when the pack has others: a rule the baseline lacks would make the ratio lie.
IMPLEMENTED = frozenset(
    {
        "C5.acknowledge.in-time",
        "C5.resolve.simple",
        "C5.resolve.complex",
        "C5.resolve.extension-approver",
        "C5.fair.specialist-assigned",
        "C5.resolve.insurance-reply",
        "C5.notice.outcome-content",
        "C5.review.in-time",
        "C5.channels.published",
        "C5.channels.reception-recorded",
        "C5.records.registered",
        "M4.training.quarterly",
        "M4.inspection.semiannual",
        "R3.appraisal.customer-metrics",
        "R3.appraisal.target-achievement",
        "R4.review.semiannual",
        "I1.evaluation.annual",
        "I2.report.annual",
        "C2.before-sale.complete-disclosure",
        "C2.before-sale.free-look",
        "M1.templates.approved-version",
        "C1.marketing.banned-promise",
        "C1.marketing.unapproved",
        "C1.recording.branch-wm-agency",
        "C1.recording.bancassurance",
        "C1.recording.sale-not-recorded",
        "C1.recording.cannot-judge",
        "C1.risk-level.disclosed-level",
        "C1.risk-level.sale-level",
        "C1.marketing.private-product-public",
        "C3.suitability.risk-match",
        "C3.suitability.professional-unsupported",
        "C3.suitability.elderly-extra-care",
        "C3.suitability.cannot-judge",
        "C3.suitability.legal-capacity",
        "C3.suitability.assessments-per-day",
        "C3.suitability.assessments-per-year",
        "C3.suitability.change-confirmed",
        "C3.suitability.reassess-on-change",
        "C3.privacy.purpose",
        "C3.privacy.authorised-role",
        "M2.data-security.encrypted-export",
        "M2.data-security.export-allowed",
        "C4.completion.in-time",
        "M3.transparency.told-at-start",
        "M3.transparency.status-notified",
        "M3.account-manager.key-customer",
        "M1.satisfaction.quarterly",
        "M2.satisfaction.semiannual",
        "M3.satisfaction.quarterly",
        "M4.risk-rate.monthly",
        "M5.improvement.quarterly",
        "W1.complaint-surge.branch",
        "W1.leak.incident",
        "W1.frequent-violations.staff",
        "W1.frequent-violations.branch",
        "W2.incident.reported",
        "W2.incident.contained",
        # issue 25: incidents classified with structured fields, and personal information
        "W2.incident.reported.cii",
        "W2.incident.reported.cii-police",
        "W2.incident.reported.general",
        "W2.incident.reported.pboc",
        "W2.incident.grade-matches-data",
        "W2.pi-breach.authority-notified",
        "W2.pi-breach.individuals-notified",
        "W2.pi-breach.notice-content",
        "C3.privacy.cross-border.mechanism",
        "C3.privacy.cross-border.consent",
        "C3.privacy.cross-border.impact-assessment",
        "C3.privacy.sensitive-consent",
        "C3.privacy.retention",
        "C3.privacy.requests.answered",
        "C3.privacy.requests.refusal-reason",
    }
)

#: The order the engine schedules period closes in (the pack's rule order).
_PERIODIC = (
    "M4.training.quarterly",
    "M4.inspection.semiannual",
    "R4.review.semiannual",
    "I1.evaluation.annual",
    "I2.report.annual",
    "M1.satisfaction.quarterly",
    "M2.satisfaction.semiannual",
    "M3.satisfaction.quarterly",
    "M4.risk-rate.monthly",
    "M5.improvement.quarterly",
)
_UNIT = {
    "M4.training.quarterly": 3,
    "M4.inspection.semiannual": 6,
    "R4.review.semiannual": 6,
    "I1.evaluation.annual": 12,
    "I2.report.annual": 12,
    "M1.satisfaction.quarterly": 3,
    "M2.satisfaction.semiannual": 6,
    "M3.satisfaction.quarterly": 3,
    "M4.risk-rate.monthly": 1,
    "M5.improvement.quarterly": 3,
}

_DASHES = dict.fromkeys(map(ord, "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"), " ")
_SPACES = re.compile(r"\s+")
_LATIN = re.compile(r"^[a-z0-9 ]+$")


class Finding(NamedTuple):
    """One finding: the rule, its key values, when, and its kind."""

    rule_id: str
    key: tuple[Any, ...]
    at: datetime
    kind: str = "violation"


def to_us(moment: datetime) -> int:
    """An aware datetime as exact microseconds since the epoch (for comparisons)."""
    return (moment - _EPOCH) // _US


def missing_rules(pack: Any) -> tuple[list[str], list[str]]:
    """Rules of the pack the baseline does not implement, and rules it has that the pack lacks."""
    ids = {rule.id for rule in pack.rules}
    return sorted(ids - IMPLEMENTED), sorted(IMPLEMENTED - ids)


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _flat(text: str) -> str:
    return _SPACES.sub(" ", _normalise(text).translate(_DASHES)).strip()


@dataclass(frozen=True)
class Reference:
    """The pack's parameters and tables, read once, in the shapes the hand-written code uses."""

    tz: ZoneInfo
    params: Mapping[str, Any]
    #: key -> value for rows without validity dates; key -> [(from, to, value)] otherwise
    product_level: Mapping[str, int]
    product_spans: Mapping[str, list[tuple[datetime | None, datetime | None, int]]]
    #: the product register's other columns: key -> (category, term, private, regime)
    product_info: Mapping[str, tuple[str, int | None, bool, str | None]]
    product_info_spans: Mapping[str, list[tuple[datetime | None, datetime | None, Any]]]
    staff_role: Mapping[str, str]
    staff_spans: Mapping[str, list[tuple[datetime | None, datetime | None, str]]]
    #: staff -> (unit, grade), likewise
    staff_rank: Mapping[str, tuple[str, str]]
    staff_rank_spans: Mapping[str, list[tuple[datetime | None, datetime | None, Any]]]
    parent_of: Mapping[str, str]  # branch -> its superior institution
    #: professional investors: customer -> [(from, to, category)]
    professionals: Mapping[str, list[tuple[datetime | None, datetime | None, Any]]]
    complaint_channels: frozenset[str]
    templates: frozenset[str]
    template_spans: Mapping[str, list[tuple[datetime | None, datetime | None, bool]]]
    grants: Mapping[str, bool]  # "role:class" -> export allowed
    purposes: Mapping[str, str]  # processing purpose -> lawful basis
    branches: tuple[str, ...]
    facing_staff: tuple[tuple[str, datetime | None, datetime | None], ...]
    #: ordinals of the working days of the CN calendar, ascending
    working_days: tuple[int, ...]
    #: banned phrases: one regex for the Latin ones, substrings for the others
    banned_latin: re.Pattern[str] | None
    banned_other: tuple[str, ...]
    disclaimers: tuple[str, ...]

    @classmethod
    def from_pack(cls, pack: Any = None, years: Iterable[int] | None = None) -> Reference:
        """Read parameters and tables from a loaded pack (the default pack if None).

        ``years``: the years whose working days to precompute (default: every year from
        the year before the current calendar's last known year to that year).
        """
        import commitrules
        from commitrules.errors import CalendarError
        from commitrules.eventtime import CalendarSpec, WorkingDayCalendar

        pack = pack if pack is not None else commitrules.load_pack()
        tz: ZoneInfo = pack.tz
        params = {name: p.values[-1][1] for name, p in pack.parameters.items()}

        def when(day: date | None) -> datetime | None:
            return None if day is None else datetime.combine(day, _MIDNIGHT, tz)

        def index(
            table: str, column: str | tuple[str, ...] | None, *, dated: bool = False
        ) -> tuple[dict[str, Any], dict[str, list[tuple[datetime | None, datetime | None, Any]]]]:
            """key -> value of the rows without validity dates; key -> [(from, to, value)]
            otherwise (every row with ``dated``); a tuple of columns gives a tuple."""
            rows = pack.tables[table].rows
            key = pack.tables[table].key
            counts: dict[str, int] = {}
            for row in rows:
                counts[row[key]] = counts.get(row[key], 0) + 1
            fixed: dict[str, Any] = {}
            spans: dict[str, list[tuple[datetime | None, datetime | None, Any]]] = {}
            for row in rows:
                if column is None:
                    value: Any = True
                elif isinstance(column, tuple):
                    value = tuple(row.get(c) for c in column)
                else:
                    value = row[column]
                has_dates = row.get("valid_from") is not None or row.get("valid_to") is not None
                if counts[row[key]] == 1 and not has_dates and not dated:
                    fixed[row[key]] = value
                else:
                    spans.setdefault(row[key], []).append(
                        (when(row.get("valid_from")), when(row.get("valid_to")), value)
                    )
            return fixed, spans

        product_level, product_spans = index("products", "risk_level")
        product_info, product_info_spans = index(
            "products", ("category", "policy_term_months", "private_placement", "issuer_regime")
        )
        staff_role, staff_spans = index("staff", "role")
        staff_rank, staff_rank_spans = index("staff", ("unit", "grade"))
        parent_of = {row["branch_id"]: row["parent"] for row in pack.tables["branches"].rows}
        _, professionals = index("professional_investors", "category", dated=True)
        channels = frozenset(row["channel"] for row in pack.tables["complaint_channels"].rows)
        templates, template_spans = index("disclosure_templates", None)
        grants = {row["grant"]: row["export_allowed"] for row in pack.tables["access_matrix"].rows}
        purposes = {
            row["purpose"]: row["lawful_basis"] for row in pack.tables["processing_purposes"].rows
        }
        branches = tuple(row["branch_id"] for row in pack.tables["branches"].rows)
        facing = tuple(
            (row["staff_id"], when(row.get("valid_from")), when(row.get("valid_to")))
            for row in pack.tables["staff"].rows
            if row["customer_facing"]
        )
        calendar = WorkingDayCalendar(pack.calendar_spec or CalendarSpec(None))
        if years is None:
            years = range(calendar.last_year - 1, calendar.last_year + 1)
        working: list[int] = []
        for year in sorted(set(years)):
            day = date(year, 1, 1)
            try:
                while day.year == year:
                    if calendar.is_working_day(day):
                        working.append(day.toordinal())
                    day += timedelta(days=1)
            except CalendarError:
                continue
        latin: list[str] = []
        other: list[str] = []
        for phrase in params["marketing_banned_phrases"]:
            if not phrase.strip():
                continue
            flat = _flat(phrase)
            (latin if _LATIN.match(flat) else other).append(flat)
        banned_latin = (
            re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, latin)) + r")(?![a-z0-9])")
            if latin
            else None
        )
        disclaimers = tuple(
            flat
            for flat in (
                _flat(d) for d in sorted(params["marketing_disclaimers"], key=len, reverse=True)
            )
            if flat
        )
        return cls(
            tz=tz,
            params=params,
            product_level=product_level,
            product_spans=product_spans,
            product_info=product_info,
            product_info_spans=product_info_spans,
            staff_role=staff_role,
            staff_spans=staff_spans,
            staff_rank=staff_rank,
            staff_rank_spans=staff_rank_spans,
            parent_of=parent_of,
            professionals=professionals,
            complaint_channels=channels,
            templates=frozenset(templates),
            template_spans=template_spans,
            grants=grants,
            purposes=purposes,
            branches=branches,
            facing_staff=facing,
            working_days=tuple(working),
            banned_latin=banned_latin,
            banned_other=tuple(other),
            disclaimers=disclaimers,
        )


def _span_value(
    spans: list[tuple[datetime | None, datetime | None, Any]] | None, at: datetime
) -> Any:
    if spans is not None:
        for start, end, value in spans:
            if (start is None or start <= at) and (end is None or at < end):
                return value
    return None


def _period(day: date, months: int) -> tuple[date, date, str]:
    """The period of ``months`` months (1, 3, 6, 12) holding ``day``: first, next first, label."""
    first_month = (day.month - 1) // months * months + 1
    first = date(day.year, first_month, 1)
    year, month_index = divmod(day.year * 12 + first_month - 1 + months, 12)
    after = date(year, month_index + 1, 1)
    if months == 1:
        label = f"{day.year:04d}-{first_month:02d}"
    elif months == 3:
        label = f"{day.year:04d}Q{(first_month - 1) // 3 + 1}"
    elif months == 6:
        label = f"{day.year:04d}H{(first_month - 1) // 6 + 1}"
    else:
        label = f"{day.year:04d}"
    return first, after, label


def _month_length(year: int, month: int) -> int:
    after = date(year + (month == 12), month % 12 + 1, 1)
    return (after - timedelta(days=1)).day


def _add_months(day: date, count: int) -> date:
    year, month_index = divmod(day.year * 12 + day.month - 1 + count, 12)
    month = month_index + 1
    after = date(year + (month == 12), month % 12 + 1, 1)
    last = (after - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


class HandWritten:
    """The default pack's rules, hand-written. Feed events in time order.

    >>> engine = HandWritten(Reference.from_pack())  # doctest: +SKIP
    >>> engine.process_many(events)  # doctest: +SKIP
    >>> engine.advance_to(end)  # doctest: +SKIP
    >>> engine.findings  # doctest: +SKIP
    """

    def __init__(self, ref: Reference) -> None:
        self.findings: list[Finding] = []
        self.process_many: Callable[[Iterable[Mapping[str, Any]]], None]
        self.advance_to: Callable[[datetime], None]
        self.state_sizes: Callable[[], dict[str, int]]
        _build(self, ref)


def evaluate(
    events: Iterable[Mapping[str, Any]],
    ref: Reference,
    until: datetime | None = None,
) -> list[Finding]:
    """Every event through a fresh :class:`HandWritten`, then time moved to ``until``."""
    machine = HandWritten(ref)
    machine.process_many(events)
    if until is not None:
        machine.advance_to(until)
    return machine.findings


def _build(machine: HandWritten, ref: Reference) -> None:
    tz = ref.tz
    params = ref.params
    findings = machine.findings
    emit = findings.append
    fromisoformat = datetime.fromisoformat
    combine = datetime.combine
    heappush = heapq.heappush
    heappop = heapq.heappop
    one_us = _US

    # -- parameters ----------------------------------------------------------------------
    recording_risk = params["recording_min_product_risk"]
    recording_age = params["recording_min_age"]
    branch_categories = frozenset(params["branch_recording_categories"])
    insurance_channels = frozenset(params["insurance_recording_channels"])
    min_term = params["insurance_recording_min_term_months"]
    elderly_age = params["elderly_age"]
    high_risk = params["high_risk_level"]
    low_risk = params["low_risk_level"]
    per_day = params["suitability_max_per_day"]
    per_year = params["suitability_max_per_12_months"]
    reassess_days = timedelta(days=params["suitability_reassess_days"])
    review_days = timedelta(days=params["complaint_review_days"])
    report_due_months = params["annual_report_due_months"]
    year_365 = timedelta(days=365)
    disclosure_days = timedelta(days=params["disclosure_window_days"])
    validity_months = params["suitability_validity_months"]
    ack_days = timedelta(days=params["complaint_ack_days"])
    decision_days = timedelta(days=params["complaint_decision_days"])
    complex_days = timedelta(days=params["complaint_decision_days_complex"])
    max_days = timedelta(days=params["complaint_decision_days_max"])
    escalate_after = timedelta(days=params["complaint_escalation_days"])
    completion_wd = params["service_completion_working_days"]
    insurance_wd = params["insurance_complaint_reply_working_days"]
    status_wd = params["service_status_working_days"]
    surge_limit = params["complaint_surge_limit"]
    staff_limit = params["frequent_violation_limit"]
    branch_limit = params["branch_violation_limit"]
    appraisal_target = Decimal(params["appraisal_target"])
    report_hours = timedelta(hours=params["incident_report_hours"])
    contain_hours = timedelta(hours=params["incident_contain_hours"])
    survey_min = params["survey_min_sample"]
    cii_hours = timedelta(hours=params["incident_report_hours_cii"])
    pboc_minutes = timedelta(minutes=params["pboc_incident_report_minutes"])
    reportable_grades = frozenset(params["incident_reportable_grades"])
    grade_pi_count = params["cac_relatively_major_pi_count"]
    notice_hours = timedelta(hours=params["pi_breach_notice_hours"])
    notice_contents = frozenset(params["pi_breach_notice_contents"])
    sensitive_classes = frozenset(params["sensitive_pi_classes"])
    consent_bases = frozenset(params["consent_lawful_bases"])
    retention_days = timedelta(days=params["retention_deletion_days"])
    dsr_wd = params["dsr_response_working_days"]
    risk_min = params["risk_rate_min_sample"]
    targets = {
        "M1.satisfaction.quarterly": (">=", Fraction(params["disclosure_satisfaction_target"])),
        "M2.satisfaction.semiannual": (">=", Fraction(params["rights_satisfaction_target"])),
        "M3.satisfaction.quarterly": (">=", Fraction(params["service_satisfaction_target"])),
        "M4.risk-rate.monthly": ("<", Fraction(params["risk_event_rate_max"])),
        "M5.improvement.quarterly": (">=", Fraction(params["education_improvement_target"])),
    }
    min_samples = dict.fromkeys(targets, survey_min)
    min_samples["M4.risk-rate.monthly"] = risk_min
    day_24h = timedelta(hours=24)
    days_30 = timedelta(days=30)

    # -- reference data ------------------------------------------------------------------
    product_level = ref.product_level
    product_spans = ref.product_spans
    staff_role = ref.staff_role
    staff_spans = ref.staff_spans
    product_info = ref.product_info
    product_info_spans = ref.product_info_spans
    staff_rank = ref.staff_rank
    staff_rank_spans = ref.staff_rank_spans
    parent_of = ref.parent_of
    professionals = ref.professionals
    complaint_channels = ref.complaint_channels
    templates = ref.templates
    template_spans = ref.template_spans
    grants = ref.grants
    purposes = ref.purposes
    working = ref.working_days
    banned_latin = ref.banned_latin
    banned_other = ref.banned_other
    disclaimers = ref.disclaimers
    leak_words = tuple(_normalise(w) for w in ("leak", "breach", "泄露", "洩露"))
    report_severities = frozenset(("relatively_major", "major", "critical"))
    export_classes = frozenset(("confidential", "sensitive"))
    full_sections = frozenset(("product", "risk", "fees"))
    breach_categories = frozenset(("data_leak", "data_tampering", "data_loss"))
    personal_data = frozenset(("personal_information", "sensitive_personal_information"))
    consent_window = 1200  # months: consent does not expire; the rule's window bounds its state

    def registered_level(product: str, at: datetime) -> int | None:
        level = product_level.get(product)
        if level is None:
            level = _span_value(product_spans.get(product), at)
        return level

    def role_of(staff: str, at: datetime) -> str | None:
        role = staff_role.get(staff)
        if role is None:
            role = _span_value(staff_spans.get(staff), at)
        return role

    def info_of(product: str, at: datetime) -> tuple[Any, ...] | None:
        """(category, term, private, regime) of the register's row in force, or None."""
        found = product_info.get(product)
        if found is None:
            found = _span_value(product_info_spans.get(product), at)
        return found  # type: ignore[no-any-return]

    def rank_of(staff: Any, at: datetime) -> tuple[Any, Any]:
        if staff is None:
            return (None, None)
        found = staff_rank.get(staff)
        if found is None:
            found = _span_value(staff_rank_spans.get(staff), at)
        return found if found is not None else (None, None)

    def professional(customer: str, product_regime: Any, at: datetime) -> bool:
        """In the register of professional investors (the CSRC category only for products
        of that regime)."""
        category = _span_value(professionals.get(customer), at)
        if category is None:
            return False
        return category != "csrc_professional" or product_regime == "csrc"

    def end_of_day(day: date) -> datetime:
        return combine(day, _LAST_US, tz)

    def working_day_after(day: date, count: int) -> date:
        index = bisect_right(working, day.toordinal())
        return date.fromordinal(working[index + count - 1])

    def mentions_banned(text: str) -> bool:
        haystack = f" {_flat(text)} "
        for disclaimer in disclaimers:
            haystack = haystack.replace(disclaimer, " \x00 ")
        if banned_latin is not None and banned_latin.search(haystack):
            return True
        return any(phrase in haystack for phrase in banned_other)

    # -- state ---------------------------------------------------------------------------
    timers: list[tuple[datetime, int, int, Any]] = []  # (fire at, order, what, payload)
    order = [0]
    disclosed: dict[tuple[str, str], datetime] = {}  # (customer, product) -> valid until
    assessed: dict[str, tuple[datetime, int]] = {}  # customer -> (valid until, level)
    # deadlines: rule -> key -> [due, start date, staff, branch, missed]
    ack: dict[str, list[Any]] = {}
    simple: dict[str, list[Any]] = {}
    complex_: dict[str, list[Any]] = {}
    completion: dict[str, list[Any]] = {}
    status: dict[str, list[Any]] = {}
    reported: dict[str, list[Any]] = {}
    contained: dict[str, list[Any]] = {}
    insurance: dict[str, list[Any]] = {}
    cii: dict[str, list[Any]] = {}
    cii_police: dict[str, list[Any]] = {}
    general: dict[str, list[Any]] = {}
    pboc: dict[str, list[Any]] = {}
    pi_authority: dict[str, list[Any]] = {}
    pi_individuals: dict[str, list[Any]] = {}
    retention: dict[str, list[Any]] = {}
    requests: dict[str, list[Any]] = {}
    reassess: dict[str, list[Any]] = {}
    review: dict[str, list[Any]] = {}
    deadline_tables = (
        ack, simple, complex_, completion, status, reported, contained, insurance,
        cii, cii_police, general, pboc, pi_authority, pi_individuals, retention, requests,
        reassess, review,
    )  # fmt: skip
    deadline_ids = (
        "C5.acknowledge.in-time",
        "C5.resolve.simple",
        "C5.resolve.complex",
        "C4.completion.in-time",
        "M3.transparency.status-notified",
        "W2.incident.reported",
        "W2.incident.contained",
        "C5.resolve.insurance-reply",
        "W2.incident.reported.cii",
        "W2.incident.reported.cii-police",
        "W2.incident.reported.general",
        "W2.incident.reported.pboc",
        "W2.pi-breach.authority-notified",
        "W2.pi-breach.individuals-notified",
        "C3.privacy.retention",
        "C3.privacy.requests.answered",
        "C3.suitability.reassess-on-change",
        "C5.review.in-time",
    )
    escalates = (False, True, True) + (False,) * 15
    free_look: dict[tuple[str, str], datetime] = {}  # (customer, product) -> valid until
    received: dict[str, tuple[datetime, Any]] = {}  # case -> (valid until, branch)
    assessed_on: dict[str, tuple[date, int]] = {}  # customer -> (local day, count)
    assessed_times: dict[str, list[datetime]] = {}  # customer -> assessments in 365 days
    report_years: set[int] = set()  # years named by an annual report, not yet judged
    report_floor = [0]  # the first year not yet judged
    surge: dict[str, list[datetime]] = {}
    by_staff: dict[str, list[datetime]] = {}
    by_branch: dict[str, list[datetime]] = {}
    # periodic: rule -> (first, after, label) of the current period
    current: dict[str, tuple[date, date, str]] = {}
    counts = {name: [0, 0] for name in targets}  # numerator, denominator
    trained: set[str] = set()
    inspected: set[str] = set()
    seen = {"R4.review.semiannual": False, "I1.evaluation.annual": False}
    started = [False]

    def schedule(fire: datetime, what: int, payload: Any) -> None:
        order[0] += 1
        heappush(timers, (fire, order[0], what, payload))

    # -- findings and the thresholds that count them -------------------------------------
    def counted(items: list[datetime], at: datetime, window: timedelta) -> int:
        """Drop what left the window (t - window, t], add ``at``; the count before it."""
        drop = bisect_right(items, at - window)
        if drop:
            del items[:drop]
        before = len(items)
        if items and items[-1] > at:
            insort(items, at)
        else:
            items.append(at)
        return before

    def violation(
        rule_id: str, key: tuple[Any, ...], at: datetime, staff: Any, branch: Any
    ) -> None:
        emit(Finding(rule_id, key, at))
        if staff is not None:
            items = by_staff.get(staff)
            if items is None:
                items = by_staff[staff] = []
            if counted(items, at, days_30) == staff_limit - 1:
                emit(Finding("W1.frequent-violations.staff", (staff,), at))
        if branch is not None:
            items = by_branch.get(branch)
            if items is None:
                items = by_branch[branch] = []
            if counted(items, at, days_30) == branch_limit - 1:
                emit(Finding("W1.frequent-violations.branch", (branch,), at))

    # -- deadlines -------------------------------------------------------------------------
    def open_deadline(
        rule: int, key: Any, due: datetime, start: date, e: Mapping[str, Any]
    ) -> None:
        table = deadline_tables[rule]
        if key is None or key in table:
            return
        table[key] = [due, start, e.get("staff_id"), e.get("branch_id"), False]
        schedule(due + one_us, 0, (rule, key, due))

    def on_deadline(payload: tuple[int, Any, datetime]) -> None:
        rule, key, due = payload
        table = deadline_tables[rule]
        pending = table.get(key)
        if pending is None or pending[0] != due or pending[4]:
            return  # fulfilled, extended or already missed
        violation(deadline_ids[rule], (key,), due, pending[2], pending[3])
        if escalates[rule]:
            pending[4] = True
            when = due + escalate_after
            schedule(when + one_us, 1, (rule, key, due, when))
        else:
            del table[key]

    def on_escalation(payload: tuple[int, Any, datetime, datetime]) -> None:
        rule, key, due, when = payload
        table = deadline_tables[rule]
        pending = table.get(key)
        if pending is None or pending[0] != due:
            return  # decided in the meantime
        emit(Finding(deadline_ids[rule], (key,), when, "escalation"))
        del table[key]

    # -- periods ---------------------------------------------------------------------------
    def start_periods(at: datetime) -> None:
        started[0] = True
        day = at.astimezone(tz).date()
        report_floor[0] = day.year
        for name in _PERIODIC:
            period = current[name] = _period(day, _UNIT[name])
            schedule(combine(period[1], _MIDNIGHT, tz), 2, name)

    def on_close(name: str) -> None:
        _, after, label = current[name]
        end = combine(after, _MIDNIGHT, tz)
        if name in counts:
            entry = counts[name]
            numerator, denominator = entry
            entry[0] = entry[1] = 0  # in place: the event handlers hold this list
            op, goal = targets[name]
            if denominator < max(min_samples[name], 1):
                emit(Finding(name, (label,), end, "insufficient_sample"))
            else:
                rate = Fraction(numerator, denominator)
                if not (rate >= goal if op == ">=" else rate < goal):
                    emit(Finding(name, (label,), end))
        elif name == "M4.training.quarterly":
            last = end - one_us
            missing = [
                sid
                for sid, start, stop in ref.facing_staff
                if (start is None or start <= last)
                and (stop is None or last < stop)
                and sid not in trained
            ]
            trained.clear()
            for sid in sorted(missing):
                violation(name, (sid, label), end, sid, None)
        elif name == "M4.inspection.semiannual":
            missing = [b for b in ref.branches if b not in inspected]
            inspected.clear()
            for branch in sorted(missing):
                violation(name, (branch, label), end, None, branch)
        elif name == "I2.report.annual":
            # Judged four months after the year's last instant (the report is placed in
            # the year it names): due at the end of 30 April, the timer one µs later.
            last = end - one_us
            month = last.month + report_due_months
            year, month = last.year + (month - 1) // 12, (month - 1) % 12 + 1
            day = min(last.day, _month_length(year, month))
            due = combine(date(year, month, day), last.timetz())
            schedule(due + one_us, 3, (int(label), due))
        else:
            if not seen[name]:
                emit(Finding(name, (label,), end))
            seen[name] = False
        period = current[name] = _period(after, _UNIT[name])
        schedule(combine(period[1], _MIDNIGHT, tz), 2, name)

    def on_report_due(payload: tuple[int, datetime]) -> None:
        year, due = payload
        if year < report_floor[0]:
            return
        report_floor[0] = year + 1
        if year in report_years:
            report_years.discard(year)
        else:
            emit(Finding("I2.report.annual", (str(year),), due))

    actions: tuple[Callable[[Any], None], ...] = (
        on_deadline,
        on_escalation,
        on_close,
        on_report_due,
    )

    def fire_until(moment: datetime) -> None:
        while timers and timers[0][0] <= moment:
            _, _, what, payload = heappop(timers)
            actions[what](payload)

    # -- event types -------------------------------------------------------------------------
    risk_rate = counts["M4.risk-rate.monthly"]

    def sale(e: Mapping[str, Any], at: datetime) -> None:
        customer = e["customer_id"]
        product = e["product_id"]
        risk = e["product_risk"]
        staff = e["staff_id"]
        branch = e["branch_id"]
        channel = e["channel"]
        key = (customer, product)
        registered = registered_level(product, at)
        level = risk if registered is None or registered < risk else registered
        age = e.get("customer_age")
        info = info_of(product, at)
        category = info[0] if info is not None else e.get("product_category")
        term = e.get("policy_term_months")
        if term is None and info is not None:
            term = info[1]
        individual = e.get("customer_type") != "institution"
        # The recording duty: the branch rule, bancassurance, the bank's policy, or
        # "cannot judge" for want of data; at most one applies.
        if individual:
            recorded = e["recorded"] and e.get("recording_id") is not None
            branch_rule = channel == "branch" and category in branch_categories
            insurance_rule = (
                category == "agency_insurance"
                and term is not None
                and term > min_term
                and channel in insurance_channels
            )
            policy = level >= recording_risk or (age is not None and age >= recording_age)
            if branch_rule:
                if not recorded:
                    violation("C1.recording.branch-wm-agency", key, at, staff, branch)
            elif insurance_rule:
                if not recorded:
                    violation("C1.recording.bancassurance", key, at, staff, branch)
            elif policy:
                if not recorded:
                    violation("C1.recording.sale-not-recorded", key, at, staff, branch)
            elif not recorded and (
                category is None
                or age is None
                or (
                    category == "agency_insurance"
                    and term is None
                    and channel in insurance_channels
                )
            ):
                violation("C1.recording.cannot-judge", key, at, staff, branch)
        if risk != registered:
            violation("C1.risk-level.sale-level", key, at, staff, branch)
        valid_until = disclosed.get(key)
        if valid_until is None or valid_until < at:
            violation("C2.before-sale.complete-disclosure", key, at, staff, branch)
        if category == "agency_insurance":
            valid_until = free_look.get(key)
            if valid_until is None or valid_until < at:
                violation("C2.before-sale.free-look", key, at, staff, branch)
        pro = professional(customer, info[3] if info is not None else None, at)
        if not pro:
            prior = assessed.get(customer)
            if prior is None or prior[0] < at or level > prior[1]:
                violation("C3.suitability.risk-match", key, at, staff, branch)
        if e.get("professional_investor", False) and not pro:
            violation("C3.suitability.professional-unsupported", key, at, staff, branch)
        if (
            individual
            and age is not None
            and age >= elderly_age
            and level >= high_risk
            and not e.get("extra_care", False)
        ):
            violation("C3.suitability.elderly-extra-care", key, at, staff, branch)
        if individual and level >= high_risk and age is None:
            violation("C3.suitability.cannot-judge", key, at, staff, branch)
        capacity = e.get("legal_capacity")
        if capacity == "none" or (
            capacity == "limited" and not (e.get("guardian_consent", False) and level <= low_risk)
        ):
            violation("C3.suitability.legal-capacity", key, at, staff, branch)
        risk_rate[1] += 1

    def product_disclosed(e: Mapping[str, Any], at: datetime) -> None:
        customer = e["customer_id"]
        product = e["product_id"]
        key = (customer, product)
        template = e["template_id"] + ":" + e["template_version"]
        if template not in templates and not _span_value(template_spans.get(template), at):
            violation(
                "M1.templates.approved-version", key, at, e.get("staff_id"), e.get("branch_id")
            )
        stated = e.get("risk_level_stated")
        if stated is not None and stated != registered_level(product, at):
            violation(
                "C1.risk-level.disclosed-level", key, at, e.get("staff_id"), e.get("branch_id")
            )
        if full_sections.issubset(e["sections"]):
            disclosed[key] = end_of_day(at.astimezone(tz).date() + disclosure_days)
        if "free_look" in e["sections"]:
            free_look[key] = end_of_day(at.astimezone(tz).date() + disclosure_days)

    def suitability_assessed(e: Mapping[str, Any], at: datetime) -> None:
        customer = e["customer_id"]
        staff = e.get("staff_id")
        branch = e.get("branch_id")
        local = at.astimezone(tz)
        valid_until = combine(_add_months(local.date(), validity_months), local.time(), tz)
        assessed[customer] = (valid_until, e["risk_level"])
        reassess.pop(customer, None)
        # At most two a calendar day (the count of the day), eight in 365 days (sliding).
        day = local.date()
        today = assessed_on.get(customer)
        count = today[1] + 1 if today is not None and today[0] == day else 1
        assessed_on[customer] = (day, count)
        if count == per_day + 1:
            violation("C3.suitability.assessments-per-day", (customer,), at, staff, branch)
        items = assessed_times.get(customer)
        if items is None:
            items = assessed_times[customer] = []
        if counted(items, at, year_365) == per_year:
            violation("C3.suitability.assessments-per-year", (customer,), at, staff, branch)
        previous = e.get("previous_risk_level")
        if (
            previous is not None
            and previous != e["risk_level"]
            and not e.get("change_confirmed", False)
        ):
            violation("C3.suitability.change-confirmed", (customer,), at, staff, branch)

    def customer_circumstances_changed(e: Mapping[str, Any], at: datetime) -> None:
        day = at.astimezone(tz).date()
        open_deadline(16, e["customer_id"], end_of_day(day + reassess_days), day, e)

    def marketing_published(e: Mapping[str, Any], at: datetime) -> None:
        key = (e["material_id"],)
        staff = e.get("staff_id")
        branch = e.get("branch_id")
        if mentions_banned(e["text"]):
            violation("C1.marketing.banned-promise", key, at, staff, branch)
        if not e["approved"]:
            violation("C1.marketing.unapproved", key, at, staff, branch)
        product = e.get("product_id")
        info = info_of(product, at) if product is not None else None
        if info is not None and info[2] is True and e.get("audience") != "qualified_investors":
            violation("C1.marketing.private-product-public", key, at, staff, branch)

    def data_access(e: Mapping[str, Any], at: datetime) -> None:
        staff = e["staff_id"]
        branch = e.get("branch_id")
        key = (staff,)
        purpose = e.get("purpose")
        if purpose is None or not purpose.strip():
            violation("C3.privacy.purpose", key, at, staff, branch)
        role = e["staff_role"]
        data_class = e["data_class"]
        grant = role + ":" + data_class
        if role != role_of(staff, at) or grant not in grants:
            violation("C3.privacy.authorised-role", key, at, staff, branch)
        if e.get("export", False):
            if data_class in export_classes and not e.get("encrypted", False):
                violation("M2.data-security.encrypted-export", key, at, staff, branch)
            if grants.get(grant) is not True:
                violation("M2.data-security.export-allowed", key, at, staff, branch)

    def complaint_received(e: Mapping[str, Any], at: datetime) -> None:
        case = e["case_id"]
        branch = e["branch_id"]
        staff = e.get("staff_id")
        assignee = e.get("assignee")
        if (
            assignee is None
            or role_of(assignee, at) != "rights-specialist"
            or assignee == e.get("subject_staff_id")
        ):
            violation("C5.fair.specialist-assigned", (case,), at, staff, branch)
        channel = e["channel"]
        if channel not in complaint_channels:
            violation("C5.channels.published", (case,), at, staff, branch)
        if channel == "branch" and e.get("reception_recording_id") is None:
            violation("C5.channels.reception-recorded", (case,), at, staff, branch)
        if e.get("register_id") is None:
            violation("C5.records.registered", (case,), at, staff, branch)
        day = at.astimezone(tz).date()
        received[case] = (end_of_day(day + max_days), branch)
        open_deadline(0, case, end_of_day(day + ack_days), day, e)
        if e.get("complexity") == "complex":
            open_deadline(2, case, end_of_day(day + complex_days), day, e)
        else:
            open_deadline(1, case, end_of_day(day + decision_days), day, e)
        if e["category"] == "insurance":
            open_deadline(7, case, end_of_day(working_day_after(day, insurance_wd)), day, e)
        items = surge.get(branch)
        if items is None:
            items = surge[branch] = []
        if counted(items, at, day_24h) == surge_limit - 1:
            violation("W1.complaint-surge.branch", (branch,), at, staff, branch)

    def complaint_acknowledged(e: Mapping[str, Any], at: datetime) -> None:
        ack.pop(e["case_id"], None)

    def complaint_resolved(e: Mapping[str, Any], at: datetime) -> None:
        case = e["case_id"]
        ack.pop(case, None)
        simple.pop(case, None)
        complex_.pop(case, None)
        insurance.pop(case, None)
        remedies = e.get("remedies_told") or ()
        if not (
            e.get("reasons_given", False)
            and e.get("notice_evidence_id") is not None
            and all(r in remedies for r in ("mediation", "arbitration", "litigation"))
            and (e.get("decided_by_head_office", False) or "review" in remedies)
        ):
            violation("C5.notice.outcome-content", (case,), at, None, None)

    def extend(case: str, rules: tuple[int, ...], days: timedelta) -> None:
        for rule in rules:
            table = deadline_tables[rule]
            pending = table.get(case)
            if pending is None or pending[4]:
                continue  # not open, or already missed: too late to extend
            due = end_of_day(pending[1] + days)
            if due > pending[0]:
                pending[0] = due
                schedule(due + one_us, 0, (rule, case, due))

    def complaint_extended(e: Mapping[str, Any], at: datetime) -> None:
        case = e["case_id"]
        notified = e.get("complainant_notified", True)
        if notified:
            insurance.pop(case, None)  # a progress report answers an insurance complaint
        if e.get("stage", "particularly_complex") == "complex":
            extend(case, (1,), complex_days)  # up to 30 days, no approval needed
            return
        approver = e.get("approved_by")
        if approver is not None and notified:
            extend(case, (1, 2), max_days)
        # The approver's standing, against the complaint's own branch (a precedence rule).
        branch = e.get("branch_id")
        prior = received.get(case)
        unit, grade = rank_of(approver, at)
        standing = grade == "ho_senior_management" or (
            unit is not None
            and unit == parent_of.get(branch)
            and grade in ("manager", "ho_senior_management")
        )
        if prior is None or prior[0] < at or branch != prior[1] or not standing:
            violation("C5.resolve.extension-approver", (case,), at, e.get("staff_id"), branch)

    def complaint_review_requested(e: Mapping[str, Any], at: datetime) -> None:
        if e.get("late_request", False):
            return
        day = at.astimezone(tz).date()
        open_deadline(17, e["case_id"], end_of_day(day + review_days), day, e)

    def complaint_review_decided(e: Mapping[str, Any], at: datetime) -> None:
        review.pop(e["case_id"], None)

    def service_requested(e: Mapping[str, Any], at: datetime) -> None:
        request = e["request_id"]
        staff = e.get("staff_id")
        branch = e["branch_id"]
        key = (request,)
        if not e.get("materials_told", False) or e.get("expected_completion") is None:
            violation("M3.transparency.told-at-start", key, at, staff, branch)
        if e.get("key_customer", False):
            manager = e.get("account_manager_id")
            if manager is None or role_of(manager, at) != "account-manager":
                violation("M3.account-manager.key-customer", key, at, staff, branch)
        day = at.astimezone(tz).date()
        open_deadline(3, request, end_of_day(working_day_after(day, completion_wd)), day, e)
        open_deadline(4, request, end_of_day(working_day_after(day, status_wd)), day, e)
        risk_rate[1] += 1

    def service_status_notified(e: Mapping[str, Any], at: datetime) -> None:
        status.pop(e["request_id"], None)

    def service_completed(e: Mapping[str, Any], at: datetime) -> None:
        request = e["request_id"]
        completion.pop(request, None)
        status.pop(request, None)

    def security_incident(e: Mapping[str, Any], at: datetime) -> None:
        incident = e["incident_id"]
        kind = _normalise(e["kind"])
        if any(word in kind for word in leak_words):
            violation("W1.leak.incident", (incident,), at, e.get("staff_id"), e.get("branch_id"))
        day = at.astimezone(tz).date()
        if e["severity"] in report_severities:
            open_deadline(5, incident, at + report_hours, day, e)
        open_deadline(6, incident, at + contain_hours, day, e)

    def incident_reported(e: Mapping[str, Any], at: datetime) -> None:
        incident = e["incident_id"]
        reported.pop(incident, None)
        by_authority = {
            "protection_dept": cii,
            "police": cii_police,
            "provincial_cac": general,
            "pboc": pboc,
        }.get(e.get("authority") or "")
        if by_authority is not None:
            by_authority.pop(incident, None)

    def incident_classified(e: Mapping[str, Any], at: datetime) -> None:
        incident = e["incident_id"]
        reported.pop(incident, None)  # the classified incident leaves the general rule
        day = at.astimezone(tz).date()
        grade = e["grade"]
        count = e["personal_info_count"]
        if grade in reportable_grades:
            if e["cii"]:
                open_deadline(8, incident, at + cii_hours, day, e)
                open_deadline(9, incident, at + cii_hours, day, e)
            else:
                open_deadline(10, incident, at + report_hours, day, e)
            if e["pboc_business_area"]:
                open_deadline(11, incident, at + pboc_minutes, day, e)
        if grade == "general" and count >= grade_pi_count:
            violation("W2.incident.grade-matches-data", (incident,), at, None, e.get("branch_id"))
        affected = e.get("data_affected") or ()
        if e["category"] in breach_categories and (
            count > 0 or any(item in personal_data for item in affected)
        ):
            open_deadline(12, incident, at + notice_hours, day, e)
            open_deadline(13, incident, at + notice_hours, day, e)

    def pi_breach_notified(e: Mapping[str, Any], at: datetime) -> None:
        incident = e["incident_id"]
        audience = e["audience"]
        (pi_authority if audience == "authority" else pi_individuals).pop(incident, None)
        if not notice_contents.issubset(e["contents"]):
            violation("W2.pi-breach.notice-content", (incident, audience), at, None, None)

    def pi_breach_notice_waived(e: Mapping[str, Any], at: datetime) -> None:
        if e["harm_avoided"] and not e["authority_requested_notice"]:
            pi_individuals.pop(e["incident_id"], None)

    # -- personal information ------------------------------------------------------------
    consents: dict[tuple[str, str], tuple[datetime, bool]] = {}

    def cross_border_transfer(e: Mapping[str, Any], at: datetime) -> None:
        key = (e["transfer_id"],)
        staff = e.get("staff_id")
        branch = e.get("branch_id")
        if e.get("mechanism_ref") is None or (
            e["assessment_required"] and e["mechanism"] != "security_assessment"
        ):
            violation("C3.privacy.cross-border.mechanism", key, at, staff, branch)
        if not (e["separate_consent"] and e["individuals_informed"]):
            violation("C3.privacy.cross-border.consent", key, at, staff, branch)
        if e.get("pia_id") is None:
            violation("C3.privacy.cross-border.impact-assessment", key, at, staff, branch)

    def consent_recorded(e: Mapping[str, Any], at: datetime) -> None:
        local = at.astimezone(tz)
        valid_until = combine(_add_months(local.date(), consent_window), local.time(), tz)
        good = e["separate"] and e["necessity_told"] and not e.get("withdrawn", False)
        consents[(e["customer_id"], e["purpose"])] = (valid_until, good)

    def personal_info_collected(e: Mapping[str, Any], at: datetime) -> None:
        classes = e["data_classes"]
        purpose = e["purpose"]
        if not any(item in sensitive_classes for item in classes):
            return
        basis = purposes.get(purpose)
        if basis is not None and basis not in consent_bases:
            return
        prior = consents.get((e["customer_id"], purpose))
        if prior is None or prior[0] < at or not prior[1]:
            violation(
                "C3.privacy.sensitive-consent",
                (e["collection_id"],),
                at,
                e.get("staff_id"),
                e.get("branch_id"),
            )

    def retention_expired(e: Mapping[str, Any], at: datetime) -> None:
        day = at.astimezone(tz).date()
        open_deadline(14, e["record_id"], end_of_day(day + retention_days), day, e)

    def data_deleted(e: Mapping[str, Any], at: datetime) -> None:
        retention.pop(e["record_id"], None)

    def processing_restricted(e: Mapping[str, Any], at: datetime) -> None:
        if e.get("legal_retention_basis") is not None:
            retention.pop(e["record_id"], None)

    def data_subject_request(e: Mapping[str, Any], at: datetime) -> None:
        day = at.astimezone(tz).date()
        due = end_of_day(working_day_after(day, dsr_wd))
        open_deadline(15, e["request_id"], due, day, e)

    def data_subject_request_answered(e: Mapping[str, Any], at: datetime) -> None:
        request = e["request_id"]
        requests.pop(request, None)
        if e["outcome"] in ("refused", "partly_fulfilled") and not (e.get("reason") or "").strip():
            violation("C3.privacy.requests.refusal-reason", (request,), at, None, None)

    def incident_contained(e: Mapping[str, Any], at: datetime) -> None:
        contained.pop(e["incident_id"], None)

    def risk_event(e: Mapping[str, Any], at: datetime) -> None:
        risk_rate[0] += 1

    survey_counts = {
        "disclosure": counts["M1.satisfaction.quarterly"],
        "rights": counts["M2.satisfaction.semiannual"],
        "service": counts["M3.satisfaction.quarterly"],
    }
    education = counts["M5.improvement.quarterly"]

    def survey_response(e: Mapping[str, Any], at: datetime) -> None:
        survey = e["survey"]
        entry = survey_counts.get(survey)
        if entry is not None:
            entry[1] += 1
            if e["satisfied"]:
                entry[0] += 1
        elif survey == "education":
            improved = e.get("improved")
            if improved is not None:
                education[1] += 1
                if improved is True:
                    education[0] += 1

    def training_completed(e: Mapping[str, Any], at: datetime) -> None:
        if e["course"] == "compliance":
            trained.add(e["staff_id"])

    def compliance_check_completed(e: Mapping[str, Any], at: datetime) -> None:
        inspected.add(e["branch_id"])

    def staff_appraised(e: Mapping[str, Any], at: datetime) -> None:
        staff = e["staff_id"]
        if not (e["includes_satisfaction"] and e["includes_complaint_timeliness"]):
            violation("R3.appraisal.customer-metrics", (staff,), at, staff, e.get("branch_id"))
        achieved = e.get("target_achievement")
        if achieved is not None and Decimal(str(achieved)) < appraisal_target:
            violation("R3.appraisal.target-achievement", (staff,), at, staff, e.get("branch_id"))

    def implementation_reviewed(e: Mapping[str, Any], at: datetime) -> None:
        seen["R4.review.semiannual"] = True
        if e.get("scope", "all") == "annual-evaluation":
            seen["I1.evaluation.annual"] = True

    def annual_report_published(e: Mapping[str, Any], at: datetime) -> None:
        # Placed in the year it names; a year already judged (or before tracking) is gone.
        if e["year"] >= report_floor[0]:
            report_years.add(e["year"])

    def ignore(e: Mapping[str, Any], at: datetime) -> None:
        return

    handlers: dict[str, Callable[[Mapping[str, Any], datetime], None]] = {
        "sale": sale,
        "product_disclosed": product_disclosed,
        "suitability_assessed": suitability_assessed,
        "marketing_published": marketing_published,
        "data_access": data_access,
        "complaint_received": complaint_received,
        "complaint_acknowledged": complaint_acknowledged,
        "complaint_resolved": complaint_resolved,
        "complaint_extended": complaint_extended,
        "service_requested": service_requested,
        "service_status_notified": service_status_notified,
        "service_completed": service_completed,
        "security_incident": security_incident,
        "incident_reported": incident_reported,
        "incident_contained": incident_contained,
        "incident_classified": incident_classified,
        "pi_breach_notified": pi_breach_notified,
        "pi_breach_notice_waived": pi_breach_notice_waived,
        "cross_border_transfer": cross_border_transfer,
        "consent_recorded": consent_recorded,
        "personal_info_collected": personal_info_collected,
        "retention_expired": retention_expired,
        "data_deleted": data_deleted,
        "processing_restricted": processing_restricted,
        "data_subject_request": data_subject_request,
        "data_subject_request_answered": data_subject_request_answered,
        "risk_event": risk_event,
        "survey_response": survey_response,
        "training_completed": training_completed,
        "compliance_check_completed": compliance_check_completed,
        "staff_appraised": staff_appraised,
        "implementation_reviewed": implementation_reviewed,
        "annual_report_published": annual_report_published,
        "customer_circumstances_changed": customer_circumstances_changed,
        "complaint_review_requested": complaint_review_requested,
        "complaint_review_decided": complaint_review_decided,
    }

    def process_many(events: Iterable[Mapping[str, Any]]) -> None:
        get = handlers.get
        for e in events:
            at = fromisoformat(e["at"])
            if not started[0]:
                start_periods(at)
            if timers[0][0] <= at:
                fire_until(at)
            get(e["type"], ignore)(e, at)

    def advance_to(when: datetime) -> None:
        fire_until(when)

    def state_sizes() -> dict[str, int]:
        return {
            "timers": len(timers),
            "disclosed": len(disclosed),
            "assessed": len(assessed),
            "deadlines": sum(len(table) for table in deadline_tables),
            "received": len(received),
            "window_items": sum(len(v) for d in (surge, by_staff, by_branch) for v in d.values()),
        }

    machine.process_many = process_many
    machine.advance_to = advance_to
    machine.state_sizes = state_sizes


# -- comparing with the engine ---------------------------------------------------------------
Key = tuple[str, str, tuple[Any, ...], int]


def finding_keys(findings: Iterable[Finding]) -> list[Key]:
    """(rule id, kind, key values, at in µs) of the baseline's findings."""
    return [(f.rule_id, f.kind, tuple(f.key), to_us(f.at)) for f in findings]


def violation_keys(violations: Iterable[Any]) -> list[Key]:
    """The same for the engine's violations: subject values in the rule's key order.

    The engine's findings about itself (clause ``engine``: the calendar's horizon alarm,
    a rule failing at run time) are not the pack's rules, so the baseline has none.
    """
    return [
        (v.rule_id, v.kind, tuple(v.subject.values()), to_us(v.at))
        for v in violations
        if v.clause_id != "engine"
    ]


@dataclass(frozen=True)
class Comparison:
    """How the baseline's findings and the engine's violations differ (as multisets)."""

    baseline: int
    engine: int
    only_baseline: list[Key]
    only_engine: list[Key]

    @property
    def same(self) -> bool:
        """Whether both found exactly the same things."""
        return not self.only_baseline and not self.only_engine

    def describe(self, limit: int = 20) -> str:
        """A short report of the differences."""
        lines = [f"baseline {self.baseline} findings, engine {self.engine} violations"]
        for name, items in (
            ("only baseline", self.only_baseline),
            ("only engine", self.only_engine),
        ):
            for item in sorted(items, key=repr)[:limit]:
                moment = datetime.fromtimestamp(item[3] / 1e6, UTC).isoformat()
                lines.append(f"  {name}: {item[0]} {item[1]} {item[2]} at {moment}")
            if len(items) > limit:
                lines.append(f"  {name}: ... {len(items) - limit} more")
        return "\n".join(lines)


def compare(findings: Iterable[Finding], violations: Iterable[Any]) -> Comparison:
    """Compare the baseline's findings with the engine's violations (all kinds)."""
    from collections import Counter

    ours = Counter(finding_keys(findings))
    theirs = Counter(violation_keys(violations))
    return Comparison(
        baseline=sum(ours.values()),
        engine=sum(theirs.values()),
        only_baseline=list((ours - theirs).elements()),
        only_engine=list((theirs - ours).elements()),
    )
