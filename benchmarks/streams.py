"""Seeded, realistic business-event streams for the bundled ``customer-commitments`` pack.

:func:`generate` is a pure function of its arguments: the same settings give the same
events, byte for byte (it draws only from ``random.Random(seed)`` and never reads the
clock). Events are JSON-ready dicts (timestamps as RFC 3339 text at ``+08:00``, decimals
as text) in non-decreasing ``at`` order, so they can go straight into
:meth:`commitrules.Engine.process` or into a JSON Lines file.

What a stream holds, for ``customers`` customers spread over the pack's branches:

* sales of the products in ``tables/products.yaml`` (the level registered on that day:
  ``WM-EQ12`` is re-rated R3 -> R4 on 2026-08-01; private products are not sold), each
  preceded the same day by a complete disclosure on an approved template version in force
  that day (the free-look period too for insurance), and, for a customer without a valid
  assessment, by a suitability assessment; a sale is recorded, naming its recording, when
  the pack requires it (a branch sale of WM or agency products, a life policy over a year
  on the bank's premises or by phone, R4+, 60+) and sometimes when not, with the
  extra-care step for 65+ and R4+; sellers are customer-facing staff of the customer's
  branch, active that day; an insurance policy without a term in the register gets one;
* service requests (materials and expected completion told, status notified, completed
  within two working days of the pack's mainland China calendar);
* complaints on the published channels (registered, assigned to the branch's rights
  specialist, the reception at a branch recorded, acknowledged within a day, decided
  within the limits, some extended with the approval of the branch's superior institution
  or head-office senior management, told with the grounds and every route of redress;
  about one simple case in nine about insurance, answered within its 10 working days;
  never 5 at a branch in 24 h), one decided case in twenty reviewed within 30 days;
* customers reporting a change of circumstances, assessed again within a few days (the
  change of level confirmed);
* data access by role as ``tables/access_matrix.yaml`` allows, exports encrypted;
* surveys (``disclosure``, ``service``, ``rights``, ``education``), enough per period and
  above every target; rare risk events (below 0.1 % of sales + service requests, and at
  least 500 of those in every month that closes inside the stream); quarterly compliance
  training of every customer-facing staff member, a compliance check per branch and an
  implementation review per half-year, an annual evaluation and report, appraisals,
  approved marketing with clean text, and occasional security incidents handled in time.

With ``violation_rate > 0`` breaches of every kind the pack detects are injected: each
opportunity (a sale, a request, a complaint, an access, ...) is a breach with that
probability, and every kind is forced at least once per stream, placed so that its
deadline falls inside the stream where possible. Events carry no marker; pass a list as
``injections`` to receive one :class:`Injection` per breach, in stream order.

Command line::

    python benchmarks/streams.py sample > examples/sample-events.jsonl
    python benchmarks/streams.py generate --seed 7 --days 92 --customers 20000 \\
        --violation-rate 0.002 --out /tmp/events.jsonl

The pack's working-day calendar counts past its last official year on the provisional
days (the engine marks such deadlines ``provisional``), so any window can be generated; the
hand-written baseline counts on the same calendar.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import heapq
import itertools
import json
import math
import random
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import IO, Any, Final, TypeVar

import commitrules
from commitrules.eventtime import CalendarSpec, WorkingDayCalendar

__all__ = [
    "KINDS",
    "SAMPLE_SETTINGS",
    "Injection",
    "dumps_event",
    "generate",
    "main",
    "sample",
]

_T = TypeVar("_T")

CST: Final = dt.timezone(dt.timedelta(hours=8))
DAY: Final = 86_400
HOUR: Final = 3_600
MINUTE: Final = 60

#: The settings of ``examples/sample-events.jsonl`` (one quarter, mostly compliant).
SAMPLE_SETTINGS: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "seed": 20260701,
        "start": dt.datetime(2026, 7, 1, tzinfo=CST),
        "days": 92,
        "customers": 800,
        "violation_rate": 0.004,
    }
)

# -- volumes -----------------------------------------------------------------------------
SALES_PER_CUSTOMER_MONTH: Final = 0.22
SERVICE_PER_CUSTOMER_MONTH: Final = 0.40
#: Sales + service requests planned at least in a month that closes inside the stream;
#: the pack judges the monthly risk-event rate only from 500 (risk_rate_min_sample).
MONTH_MIN_BUSINESS: Final = 560
COMPLAINTS_PER_CUSTOMER_DAY: Final = 0.0009
ACCESS_PER_DAY: Final = 2.0
ACCESS_PER_CUSTOMER_DAY: Final = 0.005
ONBOARDING_PER_CUSTOMER_DAY: Final = 0.002
MARKETING_PER_DAY: Final = 0.3
INCIDENTS_PER_DAY: Final = 0.1
#: Survey answers per type and period (the pack judges a rate only from 30).
SURVEY_MIN: Final = 36
SURVEYS_PER_CUSTOMER_QUARTER: Final = 0.045
#: Most complaints a branch may receive within 24 hours without a surge warning.
COMPLAINTS_PER_BRANCH_24H: Final = 4
#: A customer is assessed again before a sale when the last assessment is this old.
REASSESS_AFTER: Final = 330 * DAY

CATEGORY_TEMPLATE: Final[Mapping[str, str]] = MappingProxyType(
    {
        "deposit": "TPL-DEP",
        "wealth_management": "TPL-WM",
        "agency_wealth_management": "TPL-WM",
        "agency_fund": "TPL-FUND",
        "agency_insurance": "TPL-INS",
        "structured_deposit": "TPL-SP",
    }
)
CATEGORY_WEIGHT: Final[Mapping[str, float]] = MappingProxyType(
    {
        "deposit": 3.0,
        "wealth_management": 1.5,
        "agency_wealth_management": 1.5,
        "agency_fund": 2.0,
        "agency_insurance": 0.5,
        "structured_deposit": 0.7,
    }
)
#: Amount range per category, in thousands of the product's currency.
CATEGORY_AMOUNT: Final[Mapping[str, tuple[int, int]]] = MappingProxyType(
    {
        "deposit": (10, 500),
        "wealth_management": (10, 1000),
        "agency_wealth_management": (10, 1000),
        "agency_fund": (1, 200),
        "agency_insurance": (10, 300),
        "structured_deposit": (10, 200),
    }
)
#: The terms (months) a customer chooses for a policy whose register has none.
POLICY_TERMS: Final = (60, 120, 240)
SECTIONS: Final = ("product", "risk", "fees")
#: Every route of redress a decision tells (投诉办法 Art 19).
REMEDIES: Final = ("review", "mediation", "arbitration", "litigation")
#: One decided complaint in this many is reviewed by the superior institution.
REVIEW_EVERY: Final = 20
#: Customers who report a change of circumstances, per customer and day.
CHANGES_PER_CUSTOMER_DAY: Final = 0.0004

SERVICES: Final = (
    "account_opening",
    "card_replacement",
    "address_change",
    "statement_request",
    "transfer_limit_change",
    "loan_inquiry",
    "wealth_redemption",
    "password_reset",
    "deposit_certificate",
)
COMPLAINT_CATEGORIES: Final = (
    "service_attitude",
    "fees",
    "product_sales",
    "waiting_time",
    "card_issue",
    "mobile_app",
    "information_disclosure",
)
#: One complaint in this many (by case number, among simple uninjected cases) is about
#: insurance, so the working-day insurance reply limit (C5.resolve.insurance-reply) runs.
INSURANCE_EVERY: Final = 9
COMPLAINT_CHANNELS: Final = ("hotline", "online", "branch", "email", "letter")
#: The published channels of the pack (tables/complaint_channels) the stream never uses.
UNPUBLISHED_CHANNEL: Final = "wechat_official_account"
INCIDENT_KINDS_CLEAN: Final = (
    "phishing_attempt",
    "malware_detected",
    "lost_device",
    "ddos_attempt",
    "unauthorised_login_attempt",
    "system_outage",
)
RISK_CATEGORIES: Final = ("operational_error", "fraud_attempt", "system_outage", "conduct")
PURPOSES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "teller": ("account_service", "identity_check", "service_request"),
        "account-manager": ("suitability_review", "portfolio_review", "service_request"),
        "rights-specialist": ("complaint_handling", "rights_request"),
        "risk-compliance": ("risk_monitoring", "aml_review", "suitability_audit"),
        "internal-audit": ("audit_sampling", "compliance_check"),
        "information-security": ("incident_investigation", "access_review"),
    }
)
OTHER_COURSES: Final = ("risk-management", "anti-fraud", "product-knowledge")

MARKETING_CLEAN: Final = (
    "{name}:穩健配置,業績比較基準不代表未來表現。理財非存款,產品有風險,投資須謹慎。",
    "{name}现已开放认购。过往业绩不预示未来表现,理财非存款、产品有风险、投资须谨慎。",
    "{pid} is now open. Past performance does not indicate future results. Investing "
    "involves risk; please read the product documents before you decide.",
    "{name}:請先完成風險承受能力評估,選擇與您風險等級相符的產品。",
)
MARKETING_BANNED: Final[Mapping[str, str]] = MappingProxyType(
    {
        "marketing_banned_simplified": "{name}:保本保收益,稳赚不赔,年化收益高达6%!",
        "marketing_banned_traditional": "{name}:保證收益、零風險,穩賺不賠!",
        "marketing_banned_english": (
            "{pid}: guaranteed returns and capital guaranteed, a risk-free way to grow savings."
        ),
    }
)
MARKETING_CHANNELS: Final = ("wechat", "mobile_app", "website", "branch_poster", "sms")

# -- injected breaches -------------------------------------------------------------------
#: Every kind of injected breach and the rule that detects it.
KINDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "marketing_banned_simplified": "C1.marketing.banned-promise",
        "marketing_banned_traditional": "C1.marketing.banned-promise",
        "marketing_banned_english": "C1.marketing.banned-promise",
        "marketing_unapproved": "C1.marketing.unapproved",
        "sale_not_recorded": "C1.recording.sale-not-recorded",
        "sale_not_recorded_branch": "C1.recording.branch-wm-agency",
        "sale_not_recorded_insurance": "C1.recording.bancassurance",
        "sale_recording_cannot_judge": "C1.recording.cannot-judge",
        "sale_professional_claim": "C3.suitability.professional-unsupported",
        "sale_high_risk_no_age": "C3.suitability.cannot-judge",
        "sale_no_capacity": "C3.suitability.legal-capacity",
        "sale_free_look_untold": "C2.before-sale.free-look",
        "assessment_change_unconfirmed": "C3.suitability.change-confirmed",
        "assessment_too_often": "C3.suitability.assessments-per-day",
        "reassessment_missed": "C3.suitability.reassess-on-change",
        "marketing_private_public": "C1.marketing.private-product-public",
        "disclosure_wrong_risk_level": "C1.risk-level.disclosed-level",
        "sale_wrong_risk_level": "C1.risk-level.sale-level",
        "sale_without_disclosure": "C2.before-sale.complete-disclosure",
        "disclosure_incomplete": "C2.before-sale.complete-disclosure",
        "disclosure_unapproved_template": "M1.templates.approved-version",
        "sale_above_level": "C3.suitability.risk-match",
        "sale_no_assessment": "C3.suitability.risk-match",
        "elderly_no_extra_care": "C3.suitability.elderly-extra-care",
        "access_no_purpose": "C3.privacy.purpose",
        "access_unauthorised_role": "C3.privacy.authorised-role",
        "export_unencrypted": "M2.data-security.encrypted-export",
        "complaint_late_ack": "C5.acknowledge.in-time",
        "complaint_late_resolution": "C5.resolve.simple",
        "complaint_unresolved": "C5.resolve.simple",
        "complaint_unassigned": "C5.fair.specialist-assigned",
        "complaint_unregistered": "C5.records.registered",
        "complaint_reception_unrecorded": "C5.channels.reception-recorded",
        "complaint_unpublished_channel": "C5.channels.published",
        "complaint_outcome_incomplete": "C5.notice.outcome-content",
        "complaint_extension_unqualified": "C5.resolve.extension-approver",
        "complaint_review_late": "C5.review.in-time",
        "complaint_surge": "W1.complaint-surge.branch",
        "service_late_completion": "C4.completion.in-time",
        "service_not_told": "M3.transparency.told-at-start",
        "service_status_late": "M3.transparency.status-notified",
        "key_customer_no_manager": "M3.account-manager.key-customer",
        "training_missed": "M4.training.quarterly",
        "inspection_missed": "M4.inspection.semiannual",
        "risk_rate_breach": "M4.risk-rate.monthly",
        "appraisal_missing_metrics": "R3.appraisal.customer-metrics",
        "appraisal_below_target": "R3.appraisal.target-achievement",
        "information_leak": "W1.leak.incident",
        "incident_late_report": "W2.incident.reported",
        "incident_late_containment": "W2.incident.contained",
    }
)
SALE_KINDS: Final = (
    "sale_not_recorded",
    "sale_not_recorded_branch",
    "sale_not_recorded_insurance",
    "sale_recording_cannot_judge",
    "sale_professional_claim",
    "sale_high_risk_no_age",
    "sale_no_capacity",
    "sale_free_look_untold",
    "disclosure_wrong_risk_level",
    "sale_wrong_risk_level",
    "sale_without_disclosure",
    "disclosure_incomplete",
    "disclosure_unapproved_template",
    "sale_above_level",
    "sale_no_assessment",
    "elderly_no_extra_care",
)
SERVICE_KINDS: Final = (
    "service_late_completion",
    "service_not_told",
    "service_status_late",
    "key_customer_no_manager",
)
COMPLAINT_KINDS: Final = (
    "complaint_late_ack",
    "complaint_late_resolution",
    "complaint_unresolved",
    "complaint_unassigned",
    "complaint_unregistered",
    "complaint_reception_unrecorded",
    "complaint_unpublished_channel",
    "complaint_outcome_incomplete",
    "complaint_extension_unqualified",
    "complaint_review_late",
)
ASSESSMENT_KINDS: Final = (
    "assessment_change_unconfirmed",
    "assessment_too_often",
    "reassessment_missed",
)
ACCESS_KINDS: Final = ("access_no_purpose", "access_unauthorised_role", "export_unencrypted")
MARKETING_KINDS: Final = (*MARKETING_BANNED, "marketing_unapproved", "marketing_private_public")
INCIDENT_KINDS: Final = ("information_leak", "incident_late_report", "incident_late_containment")
APPRAISAL_KINDS: Final = ("appraisal_missing_metrics", "appraisal_below_target")
#: Days a forced breach of each class keeps from the end of the stream, so that its
#: deadline (and a complaint's escalation) falls inside the stream.
_FORCED_MARGIN: Final[Mapping[str, int]] = MappingProxyType(
    {
        "sale": 0,
        "service": 14,
        "complaint": 35,
        "access": 0,
        "marketing": 0,
        "incident": 3,
        "assessment": 12,
    }
)


#: Unrecorded sales, each where its rule applies.
_UNRECORDED: Final = (
    "sale_not_recorded",
    "sale_not_recorded_branch",
    "sale_not_recorded_insurance",
    "sale_recording_cannot_judge",
)
#: The channel of an injected sale (bank policy away from a branch; the branch rule at one;
#: bancassurance by phone; a deposit at a branch, judged only by the age it lacks).
_SALE_CHANNEL: Final[Mapping[str, str]] = MappingProxyType(
    {
        "sale_not_recorded": "mobile",
        "sale_not_recorded_branch": "branch",
        "sale_not_recorded_insurance": "phone",
        "sale_recording_cannot_judge": "branch",
        "sale_free_look_untold": "branch",
    }
)


@dataclass(frozen=True, slots=True)
class Injection:
    """One injected breach: which rule should find it, and where.

    ``event_id`` names the event that carries the breach (the sale without disclosure,
    the complaint never decided); it is None for an omission that has no event (a missed
    training). ``subject`` holds what a periodic or threshold finding is about, e.g.
    ``{"staff_id": "S0012", "period": "2026Q3"}``.
    """

    kind: str
    rule_id: str
    clause_id: str
    at: str
    event_id: str | None
    subject: Mapping[str, str] = field(default_factory=dict)


# -- the pack's reference data ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Product:
    pid: str
    name: str
    category: str
    risk: int
    currency: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    term: int | None = None  # months, for insurance
    private: bool = False


@dataclass(frozen=True, slots=True)
class _Template:
    tid: str
    version: str
    valid_from: dt.date | None
    valid_to: dt.date | None


@dataclass(frozen=True, slots=True)
class _Staff:
    sid: str
    role: str
    branch: str
    facing: bool
    valid_from: dt.date | None
    valid_to: dt.date | None
    unit: str = ""
    grade: str = ""


def _in_force(valid_from: dt.date | None, valid_to: dt.date | None, day: dt.date) -> bool:
    return (valid_from is None or valid_from <= day) and (valid_to is None or day < valid_to)


class _Customer:
    __slots__ = ("age", "assessed_at", "branch", "cid", "key", "level", "manager", "professional")

    def __init__(self, cid: str, age: int, branch: str, level: int) -> None:
        self.cid = cid
        self.age = age
        self.branch = branch
        self.level = level
        self.assessed_at: int | None = None
        self.key = False
        self.manager: str | None = None
        self.professional = False


@dataclass(slots=True)
class _DayInfo:
    """What is in force on one day: products, template versions, staff."""

    products: list[_Product]
    #: index = a customer's risk level: the products up to it and cumulative weights
    by_level: list[tuple[list[_Product], list[float]]]
    templates: dict[str, list[str]]
    staff: dict[tuple[str, str], list[str]]
    all_staff: list[_Staff]
    stale_level: dict[str, int]
    #: staff whose role has any grant in the access matrix
    access_pool: list[_Staff]


@dataclass(frozen=True, slots=True)
class _Period:
    label: str
    start: int  # day index of the first day of the overlap with the stream
    stop: int  # day index after the last day of the overlap
    closes: bool  # whether the whole period ends inside the stream
    first: dt.date  # the period's first date


#: The product an injected sale is of (below the customer's level).
_PRODUCT_OF: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "sale_not_recorded_branch": lambda gen, p: (
            p.category in gen.branch_categories and p.risk < gen.min_risk
        ),
        "sale_not_recorded_insurance": lambda gen, p: (
            p.category == "agency_insurance" and (p.term is None or p.term > gen.min_term)
        ),
        "sale_recording_cannot_judge": lambda gen, p: p.category == "deposit",
        "sale_free_look_untold": lambda gen, p: p.category == "agency_insurance",
    }
)


@cache
def _default_pack() -> commitrules.Pack:
    return commitrules.load_pack()


@cache
def _clock_table() -> tuple[str, ...]:
    """``T%H:%M:%S+08:00`` for every second of a day, built once."""
    return tuple(
        f"T{hour:02d}:{minute:02d}:{second:02d}+08:00"
        for hour in range(24)
        for minute in range(60)
        for second in range(60)
    )


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit = math.exp(-mean)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _param(pack: commitrules.Pack, name: str, default: float) -> float:
    parameter = pack.parameters.get(name)
    if parameter is None or not parameter.values:
        return default
    return float(parameter.values[-1][1])


def _values(pack: commitrules.Pack, name: str, default: Sequence[str]) -> tuple[str, ...]:
    parameter = pack.parameters.get(name)
    if parameter is None or not parameter.values:
        return tuple(default)
    return tuple(str(item) for item in parameter.values[-1][1])


def _period_label(unit: str, day: dt.date) -> str:
    if unit == "month":
        return f"{day.year}-{day.month:02d}"
    if unit == "quarter":
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    if unit == "half_year":
        return f"{day.year}H{1 if day.month <= 6 else 2}"
    return str(day.year)


def _period_bounds(unit: str, day: dt.date) -> tuple[dt.date, dt.date]:
    months = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}[unit]
    first_month = (day.month - 1) // months * months + 1
    first = dt.date(day.year, first_month, 1)
    index = day.year * 12 + first_month - 1 + months
    return first, dt.date(index // 12, index % 12 + 1, 1)


class _Generator:
    """The state of one stream while it is produced."""

    def __init__(
        self,
        pack: commitrules.Pack,
        *,
        seed: int,
        start: dt.datetime,
        days: int,
        customers: int,
        violation_rate: float,
        injections: list[Injection] | None,
    ) -> None:
        self.rng = random.Random(seed)
        self._random = self.rng.random
        self._clock = _clock_table()
        self._dates_iso: dict[int, str] = {}
        self.pack = pack
        self.days = days
        self.rate = violation_rate
        self.injections = injections
        self.start_date = start.date()
        self.dates = [self.start_date + dt.timedelta(days=d) for d in range(days)]
        self.end_date = self.start_date + dt.timedelta(days=days)
        self.end_t = days * DAY
        self.day_iso = [day.isoformat() for day in self.dates]
        self.calendar = WorkingDayCalendar(pack.calendar_spec or CalendarSpec(None))
        self.working = [self.calendar.is_working_day(day) for day in self.dates]
        self._heap: list[tuple[int, int, dict[str, Any] | None, str | None, Any]] = []
        self._seq = itertools.count()
        self._last_seq = -1
        self._counters: dict[str, int] = {}
        self._workday_cache: dict[tuple[int, int], int] = {}
        self._retries: dict[str, int] = {}
        self._day_cache: dict[tuple[int, ...], _DayInfo] = {}
        self._rule_clause = {rule.id: rule.clause for rule in pack.rules}
        self._read_tables()
        rows: list[_Product | _Template | _Staff] = [*self.products, *self.templates, *self.staff]
        self._validity = [(row.valid_from, row.valid_to) for row in rows]
        self._people(customers)
        self.last_disclosed: dict[tuple[str, str], int] = {}
        self.branch_complaints: dict[str, list[int]] = {b: [] for b in self.branches}
        self.surge_blocks: dict[str, list[tuple[int, int]]] = {b: [] for b in self.branches}
        self.periods = {
            unit: self._overlaps(unit) for unit in ("month", "quarter", "half_year", "year")
        }
        self._plan_forced()
        self._plan_volumes()
        self._plan_periodic()

    # -- setup -----------------------------------------------------------------------------
    def _read_tables(self) -> None:
        tables = self.pack.tables
        self.branches: list[str] = [str(row["branch_id"]) for row in tables["branches"].rows]
        self.products = [
            _Product(
                str(row["product_id"]),
                str(row["name"]),
                str(row["category"]),
                int(row["risk_level"]),
                str(row["currency"]),
                row.get("valid_from"),
                row.get("valid_to"),
                row.get("policy_term_months"),
                bool(row.get("private_placement")),
            )
            for row in tables["products"].rows
        ]
        self.templates = [
            _Template(
                str(row["template_id"]),
                str(row["version"]),
                row.get("valid_from"),
                row.get("valid_to"),
            )
            for row in tables["disclosure_templates"].rows
        ]
        self.staff = [
            _Staff(
                str(row["staff_id"]),
                str(row["role"]),
                str(row["branch_id"]),
                bool(row["customer_facing"]),
                row.get("valid_from"),
                row.get("valid_to"),
                str(row.get("unit") or row["branch_id"]),
                str(row.get("grade") or "staff"),
            )
            for row in tables["staff"].rows
        ]
        self.grants: dict[str, list[tuple[str, bool]]] = {}
        for row in tables["access_matrix"].rows:
            self.grants.setdefault(str(row["staff_role"]), []).append(
                (str(row["data_class"]), bool(row["export_allowed"]))
            )
        pack = self.pack
        self.targets = {
            "disclosure": _param(pack, "disclosure_satisfaction_target", 0.95),
            "service": _param(pack, "service_satisfaction_target", 0.95),
            "rights": _param(pack, "rights_satisfaction_target", 0.90),
            "education": _param(pack, "education_improvement_target", 0.80),
        }
        # The recording duty as the pack scopes it (rules/integrity.yaml).
        self.branch_categories = frozenset(
            _values(pack, "branch_recording_categories", ("wealth_management",))
        )
        self.insurance_channels = frozenset(
            _values(pack, "insurance_recording_channels", ("branch", "phone"))
        )
        self.min_term = _param(pack, "insurance_recording_min_term_months", 12)
        self.insurance_reply_days = int(_param(pack, "insurance_complaint_reply_working_days", 10))
        self.min_risk = _param(pack, "recording_min_product_risk", 4)
        self.min_age = _param(pack, "recording_min_age", 60)
        # Who may approve a complaint's further extension: a manager of the branch's
        # superior institution, else head-office senior management (投诉办法 Art 18).
        parents = {str(r["branch_id"]): r.get("parent") for r in tables["branches"].rows}
        ho = [s.sid for s in self.staff if s.grade == "ho_senior_management"]
        self.approver_of: dict[str, str] = {}
        for branch, parent in parents.items():
            managers = [s.sid for s in self.staff if s.unit == parent and s.grade == "manager"]
            chosen = managers or ho
            if chosen:
                self.approver_of[branch] = chosen[0]
        self.stable_managers: dict[str, list[str]] = {b: [] for b in self.branches}
        for person in self.staff:
            if (
                person.role == "account-manager"
                and person.valid_from is None
                and person.valid_to is None
            ):
                self.stable_managers.setdefault(person.branch, []).append(person.sid)

    def _people(self, count: int) -> None:
        random_ = self._random
        one = self._one
        between = self._between
        ages = ((22, 35), (35, 50), (50, 60), (60, 65), (65, 89))
        age_weights = list(itertools.accumulate((0.25, 0.30, 0.18, 0.10, 0.17)))
        # Risk levels 1..5; older customers tolerate less risk.
        young = list(itertools.accumulate((0.08, 0.22, 0.35, 0.23, 0.12)))
        old = list(itertools.accumulate((0.25, 0.35, 0.25, 0.10, 0.05)))
        find = bisect.bisect
        branches = self.branches
        managers_of = self.stable_managers
        self.customers: list[_Customer] = []
        append = self.customers.append
        for index in range(count):
            low, high = ages[min(find(age_weights, random_()), 4)]
            age = between(low, high)
            level = min(find(old if age >= 65 else young, random_()), 4) + 1
            person = _Customer(f"C{index + 1:07d}", age, one(branches), level)
            managers = managers_of.get(person.branch)
            if managers and random_() < 0.08:
                person.key = True
                person.manager = one(managers)
            person.professional = random_() < 0.02
            append(person)
        self.key_customers = [c for c in self.customers if c.key]

    def _overlaps(self, unit: str) -> list[_Period]:
        out: list[_Period] = []
        day = self.start_date
        while day < self.end_date:
            first, after = _period_bounds(unit, day)
            stop = min(after, self.end_date)
            out.append(
                _Period(
                    label=_period_label(unit, first),
                    start=(day - self.start_date).days,
                    stop=(stop - self.start_date).days,
                    closes=after <= self.end_date,
                    first=first,
                )
            )
            day = stop
        return out

    def _choose_period(self, unit: str) -> _Period:
        periods = self.periods[unit]
        closing = [p for p in periods if p.closes]
        return closing[-1] if closing else periods[-1]

    def _plan_forced(self) -> None:
        """Each kind at least once when the rate is positive, at a day its finding shows."""
        rng = self.rng
        self.forced: dict[str, list[tuple[int, str]]] = {}
        self.forced_period: dict[str, str] = {}
        self.surges: dict[int, str] = {}
        if self.rate <= 0:
            return
        classes = (
            ("sale", SALE_KINDS),
            ("service", SERVICE_KINDS),
            ("complaint", COMPLAINT_KINDS),
            ("access", ACCESS_KINDS),
            ("marketing", MARKETING_KINDS),
            ("incident", INCIDENT_KINDS),
            ("assessment", ASSESSMENT_KINDS),
        )
        for name, kinds in classes:
            margin = _FORCED_MARGIN[name]
            last = self.days - margin if self.days > margin + 1 else self.days
            planned = sorted((rng.randrange(last), kind) for kind in kinds)
            self.forced[name] = planned
        margin = min(self.days - 1, 3)
        self.surges[rng.randrange(self.days - margin)] = rng.choice(self.branches)
        for day in range(self.days):
            if rng.random() < self.rate * 0.2:
                self.surges.setdefault(day, rng.choice(self.branches))
        for day, branch in self.surges.items():
            low = day * DAY - DAY
            self.surge_blocks[branch].append((low, low + 3 * DAY))
        self.forced_period = {
            "training_missed": self._choose_period("quarter").label,
            "inspection_missed": self._choose_period("half_year").label,
            "risk_rate_breach": self._choose_period("month").label,
        }

    def _take(self, name: str, day: int) -> str | None:
        """A forced breach due by ``day``, else one drawn with the violation rate."""
        planned = self.forced.get(name)
        if planned and planned[0][0] <= day:
            return planned.pop(0)[1]
        return None

    def _retry(self, name: str, day: int, kind: str) -> None:
        """A breach that did not fit this opportunity waits for the next (a few times)."""
        tries = self._retries.get(kind, 0) + 1
        self._retries[kind] = tries
        if tries <= 50:
            self.forced.setdefault(name, []).insert(0, (day, kind))

    def _draw(self, kinds: Sequence[str]) -> str | None:
        if self.rate > 0 and self.rng.random() < self.rate:
            return self.rng.choice(kinds)
        return None

    # -- time and output -------------------------------------------------------------------
    def _at(self, t: int) -> str:
        day, rest = divmod(t, DAY)
        return self.day_iso[day] + self._clock[rest]

    def _push(
        self, t: int, event: dict[str, Any], tag: str | None = None, subject: Any = None
    ) -> None:
        if t < self.end_t:
            event["at"] = self._at(t)
            self._last_seq = next(self._seq)
            heapq.heappush(self._heap, (t, self._last_seq, event, tag, subject))

    def _one(self, items: Sequence[_T]) -> _T:
        """``rng.choice`` without its overhead (the same draw for the same seed)."""
        return items[int(self._random() * len(items))]

    def _between(self, low: int, high: int) -> int:
        """A whole number in ``[low, high)``, cheaper than ``rng.randrange``."""
        return low + int(self._random() * (high - low))

    def _mark(self, t: int, kind: str, subject: Mapping[str, str]) -> None:
        """Record an omission (no event) at the moment the missing event belonged."""
        if t < self.end_t:
            heapq.heappush(self._heap, (t, next(self._seq), None, kind, dict(subject)))

    def _next_id(self, prefix: str, width: int = 6) -> str:
        count = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = count
        return f"{prefix}-{count:0{width}d}"

    def _workday(self, day: int, count: int) -> int:
        """Day index of the ``count``-th working day after day ``day`` (0: itself or next)."""
        key = (day, count)
        found = self._workday_cache.get(key)
        if found is None:
            date = self.start_date + dt.timedelta(days=day)
            found = (self.calendar.add_working_days(date, count) - self.start_date).days
            self._workday_cache[key] = found
        return found

    def _date_iso(self, day: int) -> str:
        text = self._dates_iso.get(day)
        if text is None:
            text = self._dates_iso[day] = (self.start_date + dt.timedelta(days=day)).isoformat()
        return text

    def events(self) -> Iterator[dict[str, Any]]:
        heap = self._heap
        pop = heapq.heappop
        injections = self.injections
        clause = self._rule_clause
        number = 0
        for day in range(self.days):
            self._plan_day(day)
            limit = (day + 1) * DAY
            while heap and heap[0][0] < limit:
                t, _, event, tag, subject = pop(heap)
                if event is None:
                    if injections is not None and tag is not None:
                        rule = KINDS[tag]
                        injections.append(
                            Injection(tag, rule, clause[rule], self._at(t), None, subject)
                        )
                    continue
                number += 1
                event["id"] = event_id = f"E{number:08d}"
                if tag is not None and injections is not None:
                    rule = KINDS[tag]
                    injections.append(
                        Injection(tag, rule, clause[rule], event["at"], event_id, subject or {})
                    )
                yield event

    # -- what is in force ------------------------------------------------------------------
    def _info(self, day: int) -> _DayInfo:
        date = self.dates[day]
        signature = tuple(
            index
            for index, (valid_from, valid_to) in enumerate(self._validity)
            if _in_force(valid_from, valid_to, date)
        )
        info = self._day_cache.get(signature)
        if info is not None:
            return info
        # Private products are sold to qualified investors only: the stream sells none.
        products = [
            p for p in self.products if _in_force(p.valid_from, p.valid_to, date) and not p.private
        ]
        by_level: list[tuple[list[_Product], list[float]]] = [([], [])]
        for level in range(1, 6):
            allowed = [p for p in products if p.risk <= level]
            weights = [CATEGORY_WEIGHT.get(p.category, 1.0) for p in allowed]
            by_level.append((allowed, list(itertools.accumulate(weights))))
        templates: dict[str, list[str]] = {}
        for template in self.templates:
            if _in_force(template.valid_from, template.valid_to, date):
                templates.setdefault(template.tid, []).append(template.version)
        for versions in templates.values():
            versions.sort(key=_version_key, reverse=True)
        staff: dict[tuple[str, str], list[str]] = {}
        active = [s for s in self.staff if _in_force(s.valid_from, s.valid_to, date)]
        for person in active:
            staff.setdefault((person.branch, person.role), []).append(person.sid)
        stale: dict[str, int] = {}
        for product in products:
            earlier = [
                p
                for p in self.products
                if p.pid == product.pid and p.valid_to is not None and p.valid_to <= date
            ]
            if earlier:
                previous = max(earlier, key=lambda p: p.valid_to or date)
                if previous.risk != product.risk:
                    stale[product.pid] = previous.risk
        pool = [s for s in active if s.role in self.grants]
        info = _DayInfo(products, by_level, templates, staff, active, stale, pool)
        self._day_cache[signature] = info
        return info

    def _seller(self, info: _DayInfo, branch: str, risk: int) -> str:
        role = "account-manager" if risk >= 2 or self._random() < 0.5 else "teller"
        pool = info.staff.get((branch, role)) or info.staff.get((branch, "account-manager"))
        if not pool:
            pool = [s.sid for s in info.all_staff if s.facing and s.branch == branch] or [
                s.sid for s in info.all_staff if s.facing
            ]
        return self._one(pool)

    # -- planning --------------------------------------------------------------------------
    def _plan_volumes(self) -> None:
        """Sales and service requests per day, and the month's risk events."""
        rng = self.rng
        count = len(self.customers)
        self.sales_per_day = [0] * self.days
        self.service_per_day = [0] * self.days
        for period in self.periods["month"]:
            first, after = _period_bounds("month", period.first)
            span = period.stop - period.start
            share = span / (after - first).days
            sales = count * SALES_PER_CUSTOMER_MONTH * share
            service = count * SERVICE_PER_CUSTOMER_MONTH * share
            if period.closes and sales + service < MONTH_MIN_BUSINESS:
                scale = MONTH_MIN_BUSINESS / (sales + service)
                sales *= scale
                service *= scale
            days = list(range(period.start, period.stop))
            weights = list(itertools.accumulate(1.0 if self.working[d] else 0.4 for d in days))
            total = 0
            for per_day, mean in ((self.sales_per_day, sales), (self.service_per_day, service)):
                planned = round(mean * rng.uniform(0.97, 1.05))
                total += planned
                for day in rng.choices(days, cum_weights=weights, k=planned):
                    per_day[day] += 1
            # Strictly below 0.1%: 1000 * risk events < business events.
            allowed = (total - 1) // 1000
            risks = rng.randint(allowed // 2, allowed) if allowed > 0 else 0
            breach = self.forced_period.get("risk_rate_breach") == period.label or (
                self.rate > 0 and rng.random() < self.rate
            )
            if breach:
                risks = -(-total // 1000) + rng.randint(0, 1)
            for index in range(risks):
                day = rng.randrange(period.start, period.stop)
                t = day * DAY + rng.randrange(8 * HOUR, 20 * HOUR)
                branch = rng.choice(self.branches)
                event: dict[str, Any] = {
                    "id": "",
                    "type": "risk_event",
                    "at": "",
                    "risk_event_id": self._next_id("RE"),
                    "category": rng.choice(RISK_CATEGORIES),
                    "branch_id": branch,
                    "severity": rng.choice(("low", "medium", "medium", "high")),
                }
                if breach and index == 0:
                    self._push(t, event, "risk_rate_breach", {"period": period.label})
                else:
                    self._push(t, event)

    def _random_time(self, period: _Period, low_hour: int = 9, high_hour: int = 17) -> int:
        rng = self.rng
        days = [d for d in range(period.start, period.stop) if self.working[d]] or list(
            range(period.start, period.stop)
        )
        return rng.choice(days) * DAY + rng.randrange(low_hour * HOUR, high_hour * HOUR)

    def _plan_periodic(self) -> None:
        for period in self.periods["quarter"]:
            for survey in ("disclosure", "service", "education"):
                self._plan_surveys(period, survey)
            self._plan_training(period)
        for period in self.periods["half_year"]:
            self._plan_surveys(period, "rights")
            self._plan_half(period)
        for period in self.periods["year"]:
            self._plan_year(period)

    def _plan_surveys(self, period: _Period, survey: str) -> None:
        rng = self.rng
        span = period.stop - period.start
        months = 6 if survey == "rights" else 3
        mean = len(self.customers) * SURVEYS_PER_CUSTOMER_QUARTER * span / (months * 30.4)
        count = round(mean) + rng.randint(0, 6)
        if period.closes:
            count = max(count, SURVEY_MIN + rng.randint(0, 6))
        # At most half the shortfall the target allows: the rate stays above it.
        worst = math.floor(count * (1 - self.targets[survey]) / 2)
        unhappy = set(rng.sample(range(count), rng.randint(0, worst))) if count else set()
        for index in range(count):
            customer = rng.choice(self.customers)
            day = rng.randrange(period.start, period.stop)
            t = day * DAY + rng.randrange(9 * HOUR, 21 * HOUR)
            event: dict[str, Any] = {
                "id": "",
                "type": "survey_response",
                "at": "",
                "survey": survey,
                "customer_id": customer.cid,
                "branch_id": customer.branch,
            }
            if survey == "education":
                event["satisfied"] = rng.random() < 0.97
                event["improved"] = index not in unhappy
            else:
                event["satisfied"] = index not in unhappy
            event["score"] = rng.randint(80, 100) if event["satisfied"] else rng.randint(20, 59)
            self._push(t, event)

    def _plan_training(self, period: _Period) -> None:
        rng = self.rng
        _, after = _period_bounds("quarter", period.first)
        last = after - dt.timedelta(days=1)
        members = [s for s in self.staff if s.facing and _in_force(s.valid_from, s.valid_to, last)]
        skip: set[str] = set()
        if self.rate > 0:
            if self.forced_period.get("training_missed") == period.label and members:
                skip.add(rng.choice(members).sid)
            skip.update(s.sid for s in members if rng.random() < self.rate)
        for person in self.staff:
            if not person.facing:
                continue
            employed = [
                d
                for d in range(period.start, period.stop)
                if _in_force(person.valid_from, person.valid_to, self.dates[d])
            ]
            days = [d for d in employed if self.working[d]] or employed
            if not days:
                continue
            t = rng.choice(days) * DAY + rng.randrange(9 * HOUR, 17 * HOUR)
            if person.sid in skip:
                self._mark(t, "training_missed", {"staff_id": person.sid, "period": period.label})
            else:
                self._push(
                    t,
                    {
                        "id": "",
                        "type": "training_completed",
                        "at": "",
                        "staff_id": person.sid,
                        "course": "compliance",
                        "hours": rng.choice(("2.0", "3.0", "4.0")),
                    },
                )
            if rng.random() < 0.3:
                t = rng.choice(days) * DAY + rng.randrange(9 * HOUR, 17 * HOUR)
                self._push(
                    t,
                    {
                        "id": "",
                        "type": "training_completed",
                        "at": "",
                        "staff_id": person.sid,
                        "course": rng.choice(OTHER_COURSES),
                        "hours": "1.5",
                    },
                )

    def _plan_half(self, period: _Period) -> None:
        """Compliance checks, the implementation review and appraisals of a half-year."""
        rng = self.rng
        skip: set[str] = set()
        if self.rate > 0:
            if self.forced_period.get("inspection_missed") == period.label:
                skip.add(rng.choice(self.branches))
            skip.update(b for b in self.branches if rng.random() < self.rate)
        for branch in self.branches:
            t = self._random_time(period)
            if branch in skip:
                self._mark(t, "inspection_missed", {"branch_id": branch, "period": period.label})
                continue
            self._push(
                t,
                {
                    "id": "",
                    "type": "compliance_check_completed",
                    "at": "",
                    "check_id": f"CHK-{period.label}-{branch}",
                    "branch_id": branch,
                    "findings": rng.randint(0, 3),
                },
            )
        # The H2 review in December doubles as the annual evaluation (I1).
        december = [d for d in range(period.start, period.stop) if self.dates[d].month == 12]
        window = period
        if december:
            window = _Period(period.label, december[0], period.stop, False, period.first)
        self._push(
            self._random_time(window),
            {
                "id": "",
                "type": "implementation_reviewed",
                "at": "",
                "review_id": f"REV-{period.label}",
                "scope": "annual-evaluation" if december else "all",
            },
        )
        # Appraisals in the first month of the half-year (or of the stream).
        window = _Period(
            period.label, period.start, min(period.stop, period.start + 30), False, period.first
        )
        forced: dict[str, str] = {}
        if self.rate > 0 and period is self.periods["half_year"][0]:
            chosen = rng.sample(self.staff, len(APPRAISAL_KINDS))
            forced = {
                person.sid: kind for person, kind in zip(chosen, APPRAISAL_KINDS, strict=True)
            }
        for person in self.staff:
            days = [
                d
                for d in range(window.start, window.stop)
                if _in_force(person.valid_from, person.valid_to, self.dates[d])
            ]
            if not days:
                continue
            t = rng.choice(days) * DAY + rng.randrange(9 * HOUR, 18 * HOUR)
            kind = forced.get(person.sid) or self._draw(APPRAISAL_KINDS)
            event: dict[str, Any] = {
                "id": "",
                "type": "staff_appraised",
                "at": "",
                "staff_id": person.sid,
                "includes_satisfaction": True,
                "includes_complaint_timeliness": kind != "appraisal_missing_metrics",
                "target_achievement": (
                    f"0.{rng.randint(85, 93)}"
                    if kind == "appraisal_below_target"
                    else rng.choice(("0.95", "0.96", "0.97", "0.98", "0.99", "1.00"))
                ),
            }
            self._push(t, event, kind)

    def _plan_year(self, period: _Period) -> None:
        """The annual report: in April, else in December when the year closes in the stream."""
        for month in (4, 12):
            days = [d for d in range(period.start, period.stop) if self.dates[d].month == month]
            if not days:
                continue
            window = _Period(period.label, days[0], days[-1] + 1, False, period.first)
            year = int(period.label)
            self._push(
                self._random_time(window),
                {
                    "id": "",
                    "type": "annual_report_published",
                    "at": "",
                    "report_id": f"AR-{year - 1 if month == 4 else year}",
                    "year": year - 1 if month == 4 else year,
                },
            )
            return

    # -- one day ---------------------------------------------------------------------------
    def _plan_day(self, day: int) -> None:
        rng = self.rng
        info = self._info(day)
        base = day * DAY
        customers = self.customers
        count = len(customers)
        # Onboarding assessments of customers who have not bought yet.
        for _ in range(_poisson(rng, count * ONBOARDING_PER_CUSTOMER_DAY)):
            customer = rng.choice(customers)
            if customer.assessed_at is None:
                self._assess(customer, base + rng.randrange(9 * HOUR, 17 * HOUR), info)
        # Sales, in time order (a customer's assessment must precede all their sales).
        slots = []
        between = self._between
        for _ in range(self.sales_per_day[day]):
            draw = self._random()
            channel = "branch" if draw < 0.7 else "mobile" if draw < 0.9 else "online"
            low, high = (9, 17) if channel == "branch" else (8, 22)
            slots.append((base + between(low * HOUR, high * HOUR), channel))
        slots.sort()
        for t, channel in slots:
            kind = self._take("sale", day) or self._draw(SALE_KINDS)
            if not self._sale(t, channel, info, kind) and kind is not None:
                # Kept for a later sale; this one goes ahead compliant (the monthly
                # count of sales must not shrink).
                self._retry("sale", day, kind)
                self._sale(t, channel, info, None)
        for _ in range(self.service_per_day[day]):
            kind = self._take("service", day) or self._draw(SERVICE_KINDS)
            if not self._service(day, info, kind) and kind is not None:
                self._retry("service", day, kind)
                self._service(day, info, None)
        self._complaints(day, info)
        for _ in range(_poisson(rng, ACCESS_PER_DAY + count * ACCESS_PER_CUSTOMER_DAY)):
            kind = self._take("access", day) or self._draw(ACCESS_KINDS)
            self._access(day, info, kind)
        while (forced := self._take("access", day)) is not None:
            self._access(day, info, forced)
        marketing = [self._draw(MARKETING_KINDS) for _ in range(_poisson(rng, MARKETING_PER_DAY))]
        while (forced := self._take("marketing", day)) is not None:
            marketing.append(forced)
        for kind in marketing:
            self._marketing(day, info, kind)
        incidents = [self._draw(INCIDENT_KINDS) for _ in range(_poisson(rng, INCIDENTS_PER_DAY))]
        while (forced := self._take("incident", day)) is not None:
            incidents.append(forced)
        for kind in incidents:
            self._incident(day, kind)
        changes: list[str | None] = [
            self._draw(ASSESSMENT_KINDS)
            for _ in range(_poisson(rng, count * CHANGES_PER_CUSTOMER_DAY))
        ]
        while (forced := self._take("assessment", day)) is not None:
            changes.append(forced)
        for kind in changes:
            self._circumstances(day, info, kind)

    def _circumstances(self, day: int, info: _DayInfo, kind: str | None) -> None:
        """A customer reports a change and is assessed again within days (the level as
        before, the change confirmed); or an injected breach of the assessment rules."""
        rng = self.rng
        customer = self._pick(lambda c: c.assessed_at is not None) or rng.choice(self.customers)
        t = day * DAY + rng.randrange(9 * HOUR, 12 * HOUR)
        if kind == "assessment_too_often":
            # Three assessments in one day: the third is one too many (Art 29 ¶1).
            for index in range(3):
                at = t + index * HOUR
                self._assess(customer, at, info)
                if index == 2:
                    self._heap_tag_last(kind, {"customer_id": customer.cid})
            return
        self._push(
            t,
            {
                "id": "",
                "type": "customer_circumstances_changed",
                "at": "",
                "customer_id": customer.cid,
                "change": rng.choice(("income", "assets", "health", "goals")),
                "branch_id": customer.branch,
            },
            kind if kind == "reassessment_missed" else None,
        )
        if kind == "reassessment_missed":
            return
        # Assessed again within days (before the limit); the level stays as it is, so no
        # sale in between meets a level its assessment does not cover.
        again = t + rng.randint(1, 5) * DAY
        previous = customer.level
        if kind == "assessment_change_unconfirmed":
            previous = previous - 1 if previous > 1 else previous + 1
        self._assess(
            customer,
            again,
            info,
            previous=previous,
            confirmed=kind != "assessment_change_unconfirmed",
            tag=kind,
        )

    def _heap_tag_last(self, kind: str, subject: Mapping[str, str]) -> None:
        """Tag the event pushed last (an assessment) as the injected breach ``kind``."""
        for index, item in enumerate(self._heap):
            if item[1] == self._last_seq:
                t, seq, event, _, _ = item
                assert event is not None
                assert event["customer_id"] == subject["customer_id"]
                # The ordering key (t, seq) is unchanged: the heap stays a heap.
                self._heap[index] = (t, seq, event, kind, dict(subject))
                return

    def _assess(
        self,
        customer: _Customer,
        t: int,
        info: _DayInfo,
        *,
        previous: int | None = None,
        confirmed: bool = False,
        tag: str | None = None,
    ) -> None:
        rng = self.rng
        last = customer.assessed_at
        # Only a reassessment after the validity ran low may change the level: an extra
        # assessment before an earlier sale of the day repeats the level of the later one.
        if (
            previous is None
            and last is not None
            and t - last > REASSESS_AFTER
            and rng.random() < 0.15
        ):
            customer.level = min(5, max(1, customer.level + rng.choice((-1, 1))))
        customer.assessed_at = t if last is None else max(last, t)
        managers = info.staff.get((customer.branch, "account-manager"))
        event: dict[str, Any] = {
            "id": "",
            "type": "suitability_assessed",
            "at": "",
            "customer_id": customer.cid,
            "risk_level": customer.level,
            "branch_id": customer.branch,
        }
        if managers:
            event["staff_id"] = rng.choice(managers)
        if previous is not None:
            event["previous_risk_level"] = previous
            event["change_confirmed"] = confirmed
        self._push(t, event, tag if tag == "assessment_change_unconfirmed" else None)

    def _pick(self, wanted: Any, tries: int = 60) -> _Customer | None:
        rng = self.rng
        customers = self.customers
        for _ in range(tries):
            customer = rng.choice(customers)
            if wanted(customer):
                return customer
        return None

    def _sale(self, t: int, channel: str, info: _DayInfo, kind: str | None) -> bool:
        """One sale with what precedes it; False when ``kind`` could not be injected."""
        rng = self.rng
        customer: _Customer | None
        if kind is None:
            customer = self._one(self.customers)
        elif kind == "sale_no_assessment":
            customer = self._pick(lambda c: c.assessed_at is None)
        elif kind == "elderly_no_extra_care":
            customer = self._pick(lambda c: c.age >= 65 and c.level >= 4, 400)
        elif kind in ("sale_not_recorded", "sale_high_risk_no_age"):
            customer = self._pick(lambda c: c.age < 60 and c.level >= 4)
        elif kind == "sale_not_recorded_insurance":
            customer = self._pick(lambda c: c.level >= 2)
        elif kind == "sale_above_level":
            customer = self._pick(lambda c: c.level < 5 and not c.professional)
        elif kind in ("sale_wrong_risk_level", "disclosure_wrong_risk_level"):
            customer = self._pick(lambda c: c.level >= 4)
        else:
            customer = rng.choice(self.customers)
        if customer is None:
            return False
        # Each kind of unrecorded sale happens where its rule applies.
        channel = _SALE_CHANNEL.get(kind or "", channel)
        disclosed_t = t - self._between(5 * MINUTE, 15 * MINUTE)
        assessed = customer.assessed_at
        # None, or only later today (an onboarding visit), or about to expire.
        if kind != "sale_no_assessment" and (
            assessed is None or assessed >= disclosed_t or t - assessed > REASSESS_AFTER
        ):
            self._assess(customer, disclosed_t - self._between(5 * MINUTE, 40 * MINUTE), info)
        level = customer.level
        product = self._product(info, level, kind)
        if product is None:
            return False
        if kind in ("sale_without_disclosure", "disclosure_incomplete"):
            last = self.last_disclosed.get((customer.cid, product.pid))
            if last is not None and t - last <= 31 * DAY:
                return False
        registered = product.risk
        branch = customer.branch
        staff_id = self._seller(info, branch, registered)
        if kind != "sale_without_disclosure":
            self._disclose(disclosed_t, customer, product, info, staff_id, channel, kind)
        low, high = CATEGORY_AMOUNT.get(product.category, (1, 100))
        age = customer.age
        term = product.term
        if product.category == "agency_insurance" and term is None:
            term = POLICY_TERMS[int(self._random() * len(POLICY_TERMS))]
        needed = self._recording_needed(product, channel, age, term)
        sale: dict[str, Any] = {
            "id": "",
            "type": "sale",
            "at": "",
            "customer_id": customer.cid,
            "product_id": product.pid,
            "product_risk": registered,
            "amount": f"{self._between(low, high + 1) * 1000}.00",
            "currency": product.currency,
            "staff_id": staff_id,
            "branch_id": branch,
            "channel": channel,
            "recorded": needed or self._random() < 0.25,
            "customer_age": age,
            "product_category": product.category,
            "extra_care": age >= 65 and registered >= 4,
        }
        if term is not None and product.term is None:
            sale["policy_term_months"] = term
        if kind in _UNRECORDED:
            sale["recorded"] = False
        elif kind == "elderly_no_extra_care":
            sale["extra_care"] = False
        elif kind == "sale_wrong_risk_level":
            sale["product_risk"] = info.stale_level.get(product.pid, registered - 1)
        elif kind == "sale_professional_claim":
            sale["professional_investor"] = True
        elif kind == "sale_no_capacity":
            sale["legal_capacity"] = "none"
        if kind in ("sale_recording_cannot_judge", "sale_high_risk_no_age"):
            del sale["customer_age"]
            sale["extra_care"] = False
        if sale["recorded"]:
            sale["recording_id"] = self._next_id("REC", 7)
        on_sale = kind in (
            *_UNRECORDED,
            "sale_wrong_risk_level",
            "sale_without_disclosure",
            "disclosure_incomplete",
            "sale_above_level",
            "sale_no_assessment",
            "elderly_no_extra_care",
            "sale_professional_claim",
            "sale_high_risk_no_age",
            "sale_no_capacity",
            "sale_free_look_untold",
        )
        self._push(t, sale, kind if on_sale else None)
        return True

    def _recording_needed(
        self, product: _Product, channel: str, age: int, term: int | None
    ) -> bool:
        """Whether the pack requires the sale to be recorded (rules/integrity.yaml)."""
        category = product.category
        if channel == "branch" and category in self.branch_categories:
            return True
        if (
            category == "agency_insurance"
            and term is not None
            and term > self.min_term
            and channel in self.insurance_channels
        ):
            return True
        return product.risk >= self.min_risk or age >= self.min_age

    def _product(self, info: _DayInfo, level: int, kind: str | None) -> _Product | None:
        rng = self.rng
        wanted = _PRODUCT_OF.get(kind or "")
        if wanted is not None:
            found = [p for p in info.products if p.risk <= level and wanted(self, p)]
            return rng.choice(found) if found else None
        if kind is None or kind in (
            "sale_without_disclosure",
            "disclosure_incomplete",
            "disclosure_unapproved_template",
            "sale_no_assessment",
            "sale_professional_claim",
            "sale_no_capacity",
        ):
            allowed, weights = info.by_level[level]
            return allowed[bisect.bisect(weights, self._random() * weights[-1])]
        if kind == "sale_above_level":
            above = [p for p in info.products if p.risk > level]
            if not above:
                return None
            lowest = min(p.risk for p in above)
            return rng.choice([p for p in above if p.risk == lowest])
        if kind in ("sale_not_recorded", "elderly_no_extra_care", "sale_high_risk_no_age"):
            risky = [p for p in info.products if 4 <= p.risk <= level]
            return rng.choice(risky) if risky else None
        # A wrong level: prefer a product re-rated since (the stale level is realistic).
        stale = info.stale_level
        rerated = [
            p for p in info.products if p.pid in stale and max(p.risk, stale[p.pid]) <= level
        ]
        if rerated:
            return rng.choice(rerated)
        candidates = [p for p in info.products if 2 <= p.risk <= level]
        return rng.choice(candidates) if candidates else None

    def _disclose(
        self,
        t: int,
        customer: _Customer,
        product: _Product,
        info: _DayInfo,
        staff_id: str,
        channel: str,
        kind: str | None,
    ) -> None:
        rng = self.rng
        template_id = CATEGORY_TEMPLATE.get(product.category) or next(iter(info.templates))
        versions = info.templates.get(template_id) or ["1.0"]
        version = versions[0] if len(versions) == 1 or self._random() < 0.85 else versions[1]
        sections = list(SECTIONS)
        if product.category == "agency_insurance" and kind != "sale_free_look_untold":
            sections.append("free_look")
        stated = product.risk
        tag: str | None = None
        if kind == "disclosure_incomplete":
            sections.remove(rng.choice(("risk", "fees")))
        elif kind == "disclosure_unapproved_template":
            version = self._unapproved_version(template_id, versions)
            tag = kind
        elif kind == "disclosure_wrong_risk_level":
            stated = info.stale_level.get(product.pid, product.risk - 1 if product.risk > 1 else 2)
            tag = kind
        if self.rate > 0 and len(sections) >= 3:
            self.last_disclosed[customer.cid, product.pid] = t
        self._push(
            t,
            {
                "id": "",
                "type": "product_disclosed",
                "at": "",
                "customer_id": customer.cid,
                "product_id": product.pid,
                "sections": sections,
                "template_id": template_id,
                "template_version": version,
                "risk_level_stated": stated,
                "staff_id": staff_id,
                "branch_id": customer.branch,
                "channel": channel,
            },
            tag,
        )

    def _unapproved_version(self, template_id: str, in_force: list[str]) -> str:
        """A version no longer (or not yet) approved, else a draft after the latest."""
        others = [
            t.version for t in self.templates if t.tid == template_id and t.version not in in_force
        ]
        if others:
            return self.rng.choice(others)
        latest = in_force[0]
        head, _, tail = latest.rpartition(".")
        return f"{head}.{int(tail) + 1}" if head and tail.isdigit() else f"{latest}.1"

    def _service(self, day: int, info: _DayInfo, kind: str | None) -> bool:
        rng = self.rng
        if kind == "key_customer_no_manager":
            if not self.key_customers:
                return False
            customer = self._one(self.key_customers)
        else:
            customer = self._one(self.customers)
        draw = self._random()
        channel = (
            "branch"
            if draw < 0.55
            else "mobile"
            if draw < 0.85
            else "online"
            if draw < 0.95
            else "phone"
        )
        low, high = (9, 17) if channel == "branch" else (7, 22)
        t = day * DAY + self._between(low * HOUR, high * HOUR)
        branch = customer.branch
        # Completed on the request day or within two working days (the pack's calendar).
        if kind == "service_late_completion":
            after = rng.choice((6, 7))
        elif kind == "service_status_late":
            after = rng.choice((3, 4))
        else:
            draw = self._random()
            after = 0 if draw < 0.55 else 1 if draw < 0.9 else 2
        done_day = self._workday(day, after)
        if done_day == day:
            done_t = t + self._between(15 * MINUTE, 3 * HOUR)
        else:
            done_t = done_day * DAY + self._between(9 * HOUR, 18 * HOUR)
        request_id = self._next_id("SR", 7)
        event: dict[str, Any] = {
            "id": "",
            "type": "service_requested",
            "at": "",
            "request_id": request_id,
            "customer_id": customer.cid,
            "service": self._one(SERVICES),
            "branch_id": branch,
            "channel": channel,
            "materials_told": kind != "service_not_told",
            "expected_completion": f"{self._date_iso(max(done_day, day))}T18:00:00+08:00",
            "key_customer": customer.key,
        }
        if channel == "branch":
            pool = info.staff.get((branch, "teller")) or info.staff.get((branch, "account-manager"))
            if pool:
                event["staff_id"] = self._one(pool)
        if customer.key and kind != "key_customer_no_manager":
            managers = info.staff.get((branch, "account-manager")) or []
            manager = customer.manager
            event["account_manager_id"] = (
                manager if manager in managers or not managers else rng.choice(managers)
            )
        self._push(t, event, kind)
        if done_day != day and kind != "service_status_late":
            status_t = min(t + self._between(10 * MINUTE, 2 * HOUR), done_t - 1)
            self._push(
                status_t,
                {
                    "id": "",
                    "type": "service_status_notified",
                    "at": "",
                    "request_id": request_id,
                    "status": "in_progress",
                },
            )
        self._push(
            done_t,
            {"id": "", "type": "service_completed", "at": "", "request_id": request_id},
        )
        return True

    def _complaints(self, day: int, info: _DayInfo) -> None:
        rng = self.rng
        base = day * DAY
        planned = []
        for _ in range(_poisson(rng, len(self.customers) * COMPLAINTS_PER_CUSTOMER_DAY)):
            customer = rng.choice(self.customers)
            planned.append((base + rng.randrange(8 * HOUR, 21 * HOUR), customer.cid, customer))
        planned.sort(key=lambda item: item[0])
        recent = self.branch_complaints
        blocks = self.surge_blocks
        for t, _, customer in planned:
            branch = customer.branch
            if any(low <= t < high for low, high in blocks[branch]):
                continue
            times = recent[branch]
            cut = bisect.bisect_right(times, t - DAY)
            if cut:
                del times[:cut]
            if len(times) >= COMPLAINTS_PER_BRANCH_24H:
                continue
            times.append(t)
            kind = self._take("complaint", day) or self._draw(COMPLAINT_KINDS)
            self._complaint(t, customer.cid, branch, info, kind, None)
        surge = self.surges.get(day)
        if surge is not None:
            start = base + rng.randrange(9 * HOUR, 13 * HOUR)
            times = sorted(start + rng.randrange(0, 6 * HOUR) for _ in range(rng.randint(5, 6)))
            category = rng.choice(("mobile_app", "card_issue"))
            for index, t in enumerate(times):
                customer = self._pick(lambda c: c.branch == surge) or rng.choice(self.customers)
                self._complaint(
                    t,
                    customer.cid,
                    surge,
                    info,
                    "complaint_surge" if index == 4 else None,
                    category,
                )

    def _complaint(
        self,
        t: int,
        customer_id: str,
        branch: str,
        info: _DayInfo,
        kind: str | None,
        category: str | None,
    ) -> None:
        rng = self.rng
        day = t // DAY
        case_id = self._next_id("CP", 6)
        complex_case = kind not in (
            "complaint_late_resolution",
            "complaint_unresolved",
            "complaint_review_late",
        ) and (rng.random() < 0.15)
        specialists = info.staff.get((branch, "rights-specialist")) or []
        channel = rng.choice(COMPLAINT_CHANNELS)
        if kind == "complaint_reception_unrecorded":
            channel = "branch"
        elif kind == "complaint_unpublished_channel":
            channel = UNPUBLISHED_CHANNEL
        event: dict[str, Any] = {
            "id": "",
            "type": "complaint_received",
            "at": "",
            "case_id": case_id,
            "customer_id": customer_id,
            "channel": channel,
            "category": category or rng.choice(COMPLAINT_CATEGORIES),
            "branch_id": branch,
            "complexity": "complex" if complex_case else "simple",
        }
        if kind != "complaint_unregistered":
            event["register_id"] = "REG-" + case_id
        if channel == "branch" and kind != "complaint_reception_unrecorded":
            event["reception_recording_id"] = "AV-" + case_id
        if kind == "complaint_unassigned":
            tellers = info.staff.get((branch, "teller"))
            if tellers:
                event["assignee"] = rng.choice(tellers)
        elif specialists:
            event["assignee"] = rng.choice(specialists)
        subject = {"branch_id": branch} if kind == "complaint_surge" else None
        on_receipt = kind not in (
            "complaint_outcome_incomplete",
            "complaint_extension_unqualified",
            "complaint_review_late",
        )
        self._push(t, event, kind if on_receipt else None, subject)
        # Acknowledged the same day or the next (the limit is two calendar days).
        if kind == "complaint_late_ack":
            ack_t = (day + rng.choice((3, 4))) * DAY + rng.randrange(9 * HOUR, 18 * HOUR)
        elif rng.random() < 0.7:
            ack_t = t + rng.randrange(10 * MINUTE, 4 * HOUR)
        else:
            ack_t = (day + 1) * DAY + rng.randrange(9 * HOUR, 18 * HOUR)
        self._push(
            ack_t, {"id": "", "type": "complaint_acknowledged", "at": "", "case_id": case_id}
        )
        if kind == "complaint_unresolved":
            return
        if kind == "complaint_late_resolution":
            after = rng.randint(17, 25)
        elif complex_case:
            after = rng.randint(8, 25)
        else:
            after = rng.randint(2, 12)
        if kind == "complaint_late_ack":
            after = max(after, 6)
        elif kind == "complaint_review_late":
            after = 2  # decided soon, so that the review's 30 days end inside the stream
        extended = kind == "complaint_extension_unqualified" or (
            kind is None and rng.random() < (0.2 if complex_case else 0.03)
        )
        if (
            category is None
            and kind is None
            and not complex_case
            and not extended
            and after <= 12
            and day + after <= self._workday(day, self.insurance_reply_days)
            and int(case_id[3:]) % INSURANCE_EVERY == INSURANCE_EVERY - 1
        ):
            # About one complaint in nine is about an insurance product. Decided from the
            # case number, not drawn, so every other event stays as it was; only simple
            # cases decided within 12 calendar days and within the 10 working days of the
            # pack's calendar (a make-up working Sunday counts, a holiday does not), so the
            # insurance reply limit is met unless a breach is injected elsewhere.
            event["category"] = "insurance"
        if extended:
            extended_day = day + (rng.randint(20, 27) if complex_case else rng.randint(9, 13))
            # Approved by the superior institution's manager (or head-office senior
            # management); an unqualified approval comes from the branch's own specialist.
            approver = self.approver_of.get(branch, "")
            if kind == "complaint_extension_unqualified":
                approver = specialists[0] if specialists else "S9999"
            self._push(
                extended_day * DAY + rng.randrange(9 * HOUR, 18 * HOUR),
                {
                    "id": "",
                    "type": "complaint_extended",
                    "at": "",
                    "case_id": case_id,
                    "reason": "需補充調查取證 / further investigation needed",
                    "approved_by": approver,
                    "complainant_notified": True,
                    "branch_id": branch,
                },
                kind if kind == "complaint_extension_unqualified" else None,
            )
            after = rng.randint(max(after, extended_day - day + 2), 55)
        resolved_t = (day + after) * DAY + rng.randrange(9 * HOUR, 18 * HOUR)
        remedies = list(REMEDIES)
        if kind == "complaint_outcome_incomplete":
            remedies.remove("review")
        self._push(
            resolved_t,
            {
                "id": "",
                "type": "complaint_resolved",
                "at": "",
                "case_id": case_id,
                "outcome": rng.choice(("upheld", "partially_upheld", "not_upheld", "mediated")),
                "reasons_given": True,
                "remedies_told": remedies,
                "notice_method": "letter",
                "notice_evidence_id": "NT-" + case_id,
            },
            kind if kind == "complaint_outcome_incomplete" else None,
        )
        # One decided complaint in twenty is reviewed by the superior institution (decided
        # within 30 days); a late review is never decided.
        number = int(case_id[3:])
        if kind == "complaint_review_late" or (kind is None and number % REVIEW_EVERY == 0):
            asked_t = resolved_t + (DAY if kind else (3 + number % 5) * DAY)
            self._push(
                asked_t,
                {
                    "id": "",
                    "type": "complaint_review_requested",
                    "at": "",
                    "case_id": case_id,
                    "branch_id": branch,
                },
                kind if kind == "complaint_review_late" else None,
            )
            if kind is None:
                self._push(
                    asked_t + (5 + number % 20) * DAY,
                    {
                        "id": "",
                        "type": "complaint_review_decided",
                        "at": "",
                        "case_id": case_id,
                        "outcome": "upheld" if number % 3 else "not_upheld",
                    },
                )

    def _access(self, day: int, info: _DayInfo, kind: str | None) -> None:
        rng = self.rng
        if kind == "access_unauthorised_role":
            pool = [s for s in info.all_staff if s.role in ("teller", "account-manager")]
        elif kind == "export_unencrypted":
            pool = [
                s
                for s in info.all_staff
                if any(
                    export and data_class in ("confidential", "sensitive")
                    for data_class, export in self.grants.get(s.role, ())
                )
            ]
        else:
            pool = info.access_pool
        if not pool:
            return
        person = self._one(pool)
        grants = self.grants.get(person.role, [])
        if kind == "access_unauthorised_role":
            allowed = {c for c, _ in grants}
            denied = [
                c for c in ("public", "internal", "confidential", "sensitive") if c not in allowed
            ]
            data_class, exportable = rng.choice(denied), False
        elif kind == "export_unencrypted":
            data_class, exportable = rng.choice(
                [g for g in grants if g[1] and g[0] in ("confidential", "sensitive")]
            )
        else:
            data_class, exportable = self._one(grants)
        export = kind == "export_unencrypted" or (exportable and self._random() < 0.08)
        event: dict[str, Any] = {
            "id": "",
            "type": "data_access",
            "at": "",
            "staff_id": person.sid,
            "staff_role": person.role,
            "customer_id": self._one(self.customers).cid,
            "data_class": data_class,
            "export": export,
            "encrypted": export and kind != "export_unencrypted",
            "branch_id": person.branch,
        }
        if kind != "access_no_purpose":
            event["purpose"] = self._one(PURPOSES.get(person.role, ("service_request",)))
        self._push(day * DAY + self._between(8 * HOUR + 30 * MINUTE, 19 * HOUR), event, kind)

    def _marketing(self, day: int, info: _DayInfo, kind: str | None) -> None:
        rng = self.rng
        product = rng.choice(info.products)
        if kind == "marketing_private_public":
            date = self.dates[day]
            private = [
                p for p in self.products if p.private and _in_force(p.valid_from, p.valid_to, date)
            ]
            product = private[0] if private else product
        template = MARKETING_BANNED.get(kind or "") or rng.choice(MARKETING_CLEAN)
        event: dict[str, Any] = {
            "id": "",
            "type": "marketing_published",
            "at": "",
            "material_id": self._next_id("MK", 5),
            "product_id": product.pid,
            "channel": rng.choice(MARKETING_CHANNELS),
            "text": template.format(name=product.name, pid=product.pid),
            "approved": kind != "marketing_unapproved",
        }
        if kind != "marketing_unapproved":
            event["approved_by"] = "risk-compliance"
        if product.private:
            # A private product is promoted to qualified investors only (适当性办法 Art 30).
            event["audience"] = (
                "public" if kind == "marketing_private_public" else ("qualified_investors")
            )
        if rng.random() < 0.5:
            event["branch_id"] = rng.choice(self.branches)
        self._push(day * DAY + rng.randrange(8 * HOUR, 20 * HOUR), event, kind)

    def _incident(self, day: int, kind: str | None) -> None:
        rng = self.rng
        t = day * DAY + rng.randrange(0, DAY)
        incident_id = self._next_id("INC", 4)
        if kind == "information_leak":
            severity = "relatively_major"
            what = rng.choice(("customer_data_leak", "information_leak"))
        else:
            severity = (
                "relatively_major"
                if kind == "incident_late_report"
                else rng.choices(
                    ("minor", "relatively_major", "major"), cum_weights=(0.75, 0.95, 1.0)
                )[0]
            )
            what = rng.choice(INCIDENT_KINDS_CLEAN)
        event: dict[str, Any] = {
            "id": "",
            "type": "security_incident",
            "at": "",
            "incident_id": incident_id,
            "kind": what,
            "severity": severity,
            "customers_affected": rng.randint(12, 400) if kind == "information_leak" else 0,
        }
        if rng.random() < 0.6:
            event["branch_id"] = rng.choice(self.branches)
        self._push(t, event, kind)
        if severity != "minor":
            delay = (
                rng.randrange(5 * HOUR, 9 * HOUR)
                if kind == "incident_late_report"
                else rng.randrange(30 * MINUTE, 3 * HOUR + 30 * MINUTE)
            )
            self._push(
                t + delay,
                {
                    "id": "",
                    "type": "incident_reported",
                    "at": "",
                    "incident_id": incident_id,
                    "authority": "CAC",
                },
            )
        contain = (
            rng.randrange(26 * HOUR, 40 * HOUR)
            if kind == "incident_late_containment"
            else rng.randrange(1 * HOUR, 20 * HOUR)
        )
        self._push(
            t + contain,
            {"id": "", "type": "incident_contained", "at": "", "incident_id": incident_id},
        )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


def generate(
    *,
    seed: int,
    start: dt.datetime,
    days: int,
    customers: int,
    violation_rate: float = 0.0,
    pack: commitrules.Pack | None = None,
    injections: list[Injection] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield a seeded stream of business events for the default pack, in time order.

    Args:
        seed: the only source of randomness (``random.Random(seed)``).
        start: the first instant, a local midnight with an offset (shown at +08:00).
        days: how many days the stream covers: ``[start, start + days)``.
        customers: how many customers; volumes scale with it (see the module constants).
        violation_rate: 0.0 for a fully compliant stream; otherwise the probability that
            an opportunity (a sale, a service request, a complaint ...) is a breach, and
            every kind in :data:`KINDS` is injected at least once.
        pack: the pack whose tables (branches, staff, products, templates, access matrix),
            calendar and targets the stream follows; the bundled default pack if None.
        injections: a list that receives one :class:`Injection` per injected breach, as
            the stream is consumed.

    Raises:
        ValueError: bad settings.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        msg = "start needs an offset, e.g. datetime(2026, 7, 1, tzinfo=CST)"
        raise ValueError(msg)
    local = start.astimezone(CST)
    if local.time() != dt.time(0, 0):
        msg = f"start must be a local midnight at +08:00, not {local.isoformat()}"
        raise ValueError(msg)
    if days < 1 or customers < 1:
        msg = "days and customers must be at least 1"
        raise ValueError(msg)
    if not 0.0 <= violation_rate <= 1.0:
        msg = f"violation_rate must be between 0 and 1, not {violation_rate}"
        raise ValueError(msg)
    generator = _Generator(
        pack if pack is not None else _default_pack(),
        seed=seed,
        start=local,
        days=days,
        customers=customers,
        violation_rate=violation_rate,
        injections=injections,
    )
    return generator.events()


def sample(injections: list[Injection] | None = None) -> Iterator[dict[str, Any]]:
    """The events of ``examples/sample-events.jsonl`` (:data:`SAMPLE_SETTINGS`)."""
    return generate(**SAMPLE_SETTINGS, injections=injections)


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps_event(event: Mapping[str, Any]) -> str:
    """One event as a JSON Lines line (without the newline), as the sample file holds it."""
    return _ENCODE(event)


def _write(events: Iterable[Mapping[str, Any]], out: IO[bytes]) -> int:
    count = 0
    lines: list[str] = []
    for event in events:
        lines.append(_ENCODE(event))
        if len(lines) >= 4096:
            count += len(lines)
            out.write(("\n".join(lines) + "\n").encode())
            lines.clear()
    if lines:
        count += len(lines)
        out.write(("\n".join(lines) + "\n").encode())
    return count


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``sample`` or ``generate`` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="streams.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sample_cmd = commands.add_parser("sample", help="write the bundled sample stream")
    sample_cmd.add_argument("--out", help="file to write (default: standard output)")
    gen = commands.add_parser("generate", help="write a stream for benchmarks")
    gen.add_argument("--seed", type=int, required=True)
    gen.add_argument("--days", type=int, default=92)
    gen.add_argument("--customers", type=int, default=1000)
    gen.add_argument("--violation-rate", type=float, default=0.0)
    gen.add_argument(
        "--start",
        type=dt.datetime.fromisoformat,
        default=dt.datetime(2026, 7, 1, tzinfo=CST),
        help="first instant, RFC 3339 with offset (default 2026-07-01T00:00:00+08:00)",
    )
    gen.add_argument("--out", help="file to write (default: standard output)")
    gen.add_argument("--injections", help="also write the injected breaches to this JSON file")
    args = parser.parse_args(argv)
    injections: list[Injection] = []
    _default_pack()  # loading the pack is not generating: keep it out of the timing
    began = time.perf_counter()
    if args.command == "sample":
        events = sample(injections)
    else:
        try:
            events = generate(
                seed=args.seed,
                start=args.start,
                days=args.days,
                customers=args.customers,
                violation_rate=args.violation_rate,
                injections=injections,
            )
        except ValueError as error:
            parser.error(str(error))
    if args.out:
        with open(args.out, "wb") as handle:
            count = _write(events, handle)
    else:
        count = _write(events, sys.stdout.buffer)
        sys.stdout.flush()
    spent = time.perf_counter() - began
    if args.command == "generate":
        if args.injections:
            with open(args.injections, "w", encoding="utf-8") as handle:
                rows = [
                    {
                        "kind": i.kind,
                        "rule_id": i.rule_id,
                        "clause_id": i.clause_id,
                        "at": i.at,
                        "event_id": i.event_id,
                        "subject": dict(i.subject),
                    }
                    for i in injections
                ]
                json.dump(rows, handle, ensure_ascii=False, indent=1)
                handle.write("\n")
        rate = count / spent if spent > 0 else float("inf")
        print(
            f"{count} events, {len(injections)} injected breaches, {spent:.2f} s "
            f"({rate:,.0f} events/s, JSON writing included)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
