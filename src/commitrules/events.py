"""Business events: the input commitrules judges.

Every event has an ``id`` (unique string), a ``type`` (the discriminator) and ``at``, an
RFC 3339 timestamp *with* an offset (a naive timestamp is an error, never assumed UTC).
The built-in types below are pydantic models, so bank teams get types, validation and a
JSON Schema (:func:`event_json_schema`). A pack may declare its own types; they validate
exactly like these.

>>> sale = Sale.model_validate({
...     "id": "e1", "type": "sale", "at": "2026-07-01T10:00:00+08:00",
...     "customer_id": "C1", "product_id": "P1", "product_risk": 3, "amount": "50000",
...     "currency": "CNY", "staff_id": "S1", "branch_id": "B1", "channel": "branch",
...     "recorded": True})
>>> sale.amount
Decimal('50000')

The engine does not build these models on its hot path: it validates each event into a
plain dict with one compiled validator per type (:class:`EventCatalog`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, NotRequired

import attrs
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)
from typing_extensions import TypedDict

from .errors import EventValidationError, Location, Problem
from .eventtime._instants import check_instant

__all__ = [
    "BUILTIN_EVENT_TYPES",
    "AnnualReportPublished",
    "ComplaintAcknowledged",
    "ComplaintExtended",
    "ComplaintReceived",
    "ComplaintResolved",
    "ComplaintReviewDecided",
    "ComplaintReviewRequested",
    "ComplianceCheckCompleted",
    "CustomerCircumstancesChanged",
    "DataAccess",
    "Event",
    "EventCatalog",
    "EventType",
    "ImplementationReviewed",
    "IncidentContained",
    "IncidentReported",
    "MarketingPublished",
    "ProductDisclosed",
    "RiskEvent",
    "Sale",
    "SecurityIncident",
    "ServiceCompleted",
    "ServiceRequested",
    "ServiceStatusNotified",
    "StaffAppraised",
    "SuitabilityAssessed",
    "SurveyResponse",
    "TrainingCompleted",
    "event_json_schema",
]


def _check_timestamp(value: object) -> object:
    # The public models accept what the engine accepts. pydantic's lax mode reads a number,
    # or a string of digits, as a Unix time in UTC: a silent guess about the zone, which
    # the contract forbids; it also reads ISO 8601 forms that are not RFC 3339.
    reason = _instant(value, nullable=True)
    if reason is not None:
        raise ValueError(reason)
    return value


_NUMBER_TIME = "a timestamp must be an RFC 3339 string with an offset, not a number"
_BAD_TIME = (
    "Input should be an RFC 3339 timestamp with an offset, such as 2026-07-01T10:00:00+08:00"
)
_NAIVE_TIME = "Input should have timezone info"
_parse_iso = dt.datetime.fromisoformat


def _outside(moment: dt.datetime) -> str | None:
    """Why a parsed time is outside the supported range (see ``eventtime``), or None."""
    if 1900 < moment.year < 2200:
        return None
    return check_instant(moment)


def _instant(value: object, nullable: bool) -> str | None:
    """Why a timestamp field's value is wrong, or None when it is right.

    Text must have the RFC 3339 shape with an offset; a datetime must be aware. The hot
    path reads the text itself (:func:`_read_instant`) instead of through pydantic: several
    times faster, and a plain ``datetime.timezone`` (pydantic's own tzinfo is slow to query
    and tracked by the garbage collector).
    """
    if isinstance(value, str):
        moment = _read_instant(str(value))
        if moment is not None:
            return _outside(moment)
        return _NAIVE_TIME if _naive(value) else _BAD_TIME
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return _NAIVE_TIME
        return _outside(value)
    if value is None:
        return None if nullable else "Input should be a timestamp, not null"
    if isinstance(value, bool | int | float | Decimal):
        return _NUMBER_TIME
    return _BAD_TIME


#: RFC 3339 date-time, with what pydantic's parser also took (seconds optional, ``+0800``,
#: up to nine fraction digits, lowercase ``t``/``z``). fromisoformat alone reads much more
#: (basic format, week dates, hour-only offsets, any separator, spaces before the offset).
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
    r"(?:[Zz]|[+-][0-9]{2}:?[0-9]{2})",
    re.ASCII,
)
_is_rfc3339 = _RFC3339.fullmatch


#: The separators (every third character from the fifth) of the common forms,
#: ``2026-07-01T09:00:00+08:00`` and ``2026-07-01T01:00:00Z``: with these in place and the
#: length right and no NUL (where fromisoformat stops reading), what fromisoformat accepts
#: is RFC 3339 (it takes only ASCII digits between them): the regular expression is skipped.
_COMMON_SHAPES = frozenset({"--T::+:", "--T::-:", "--T::Z"})


def _read_instant(text: str) -> dt.datetime | None:
    """An RFC 3339 text as an aware datetime, or None when it is not one."""
    if len(text) in {25, 20} and text[4::3] in _COMMON_SHAPES and "\x00" not in text:
        try:
            return _parse_iso(text)
        except ValueError:
            return None
    if _is_rfc3339(text) is None:
        return None
    if text[-1] == "z":
        text = text[:-1] + "Z"  # fromisoformat reads only the capital
    try:
        return _parse_iso(text)  # the shape is right: this checks the ranges (month 13 …)
    except ValueError:
        return None


#: The timestamp fields of most types (shared, so the fast path tests it by identity).
_AT_ONLY: tuple[tuple[str, bool], ...] = (("at", False),)


def _times(checked: dict[str, Any], fields: tuple[tuple[str, bool], ...]) -> list[Problem]:
    """Parse the timestamp fields of a validated event in place; the problems found."""
    problems: list[Problem] = []
    for name, nullable in fields:
        if name not in checked:
            continue
        value = checked[name]
        if isinstance(value, str):
            moment = _read_instant(str(value))
            if moment is not None:
                reason = _outside(moment)
                if reason is None:
                    checked[name] = moment
                    continue
            else:
                reason = _instant(value, nullable)
        else:
            reason = _instant(value, nullable)
        if reason is not None:
            event_id = checked.get("id")
            where = Location(key=name, event_id=event_id if isinstance(event_id, str) else None)
            problems.append(Problem(where, reason))
    return problems


def _with_times(checked: dict[str, Any], fields: tuple[tuple[str, bool], ...]) -> dict[str, Any]:
    """The validated event with its timestamps parsed; EventValidationError if one is wrong."""
    if fields is _AT_ONLY:
        # Most types have one timestamp: read it without the general loop.
        text = checked["at"]
        if type(text) is str:
            moment = _read_instant(text)
            if moment is not None and 1900 < moment.year < 2200:
                checked["at"] = moment
                return checked
    problems = _times(checked, fields)
    if problems:
        raise EventValidationError(problems)
    return checked


def _naive(text: str) -> bool:
    try:
        return _parse_iso(text).tzinfo is None
    except ValueError:
        return False


EventTime = Annotated[AwareDatetime, BeforeValidator(_check_timestamp)]
"""An aware timestamp: RFC 3339 text with an offset, or an aware ``datetime``."""

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
"""Whole numbers are int64: what Arrow's int64 and Spark's LongType hold."""
DECIMAL_DIGITS, DECIMAL_PLACES = 38, 18
"""Decimals have at most 38 significant digits, 18 of them after the point: what Arrow's
``decimal128(38, 18)`` and Spark's ``DecimalType(38, 18)`` hold (so below 10**20)."""

NonEmpty = Annotated[str, Field(min_length=1, max_length=200)]
RiskLevel = Annotated[int, Field(ge=1, le=5)]
Count = Annotated[int, Field(ge=0, le=INT_MAX)]
Money = Annotated[
    Decimal,
    Field(ge=0, allow_inf_nan=False, max_digits=DECIMAL_DIGITS, decimal_places=DECIMAL_PLACES),
]
Section = Literal["product", "risk", "fees", "free_look"]
DataClass = Literal["public", "internal", "confidential", "sensitive"]
FreeText = Annotated[str, Field(max_length=20_000)]


class Event(BaseModel):
    """Fields every event has."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    id: NonEmpty
    type: str
    at: EventTime

    personal_fields: ClassVar[frozenset[str]] = frozenset()
    """Fields holding personal data: masked in evidence unless asked otherwise."""


class SuitabilityAssessed(Event):
    """A customer's risk tolerance was assessed (valid for a period the pack sets).

    ``previous_risk_level`` is the level of the customer's latest earlier assessment at the
    institution (None for the first); when the new level differs, ``change_confirmed``
    says the customer was told and confirmed the change (适当性办法 Art 29 ¶1).
    """

    type: Literal["suitability_assessed"] = "suitability_assessed"
    customer_id: NonEmpty
    risk_level: RiskLevel
    staff_id: NonEmpty | None = None
    branch_id: NonEmpty | None = None
    previous_risk_level: RiskLevel | None = None
    change_confirmed: bool = False
    personal_fields: ClassVar[frozenset[str]] = frozenset({"customer_id"})


class CustomerCircumstancesChanged(Event):
    """A customer told the institution of a change that may affect their risk tolerance
    (income, assets, health, investment goals …): the assessment is to be done again."""

    type: Literal["customer_circumstances_changed"] = "customer_circumstances_changed"
    customer_id: NonEmpty
    change: NonEmpty
    staff_id: NonEmpty | None = None
    branch_id: NonEmpty | None = None
    personal_fields: ClassVar[frozenset[str]] = frozenset({"customer_id"})


class ProductDisclosed(Event):
    """Product information was disclosed to a customer on a template."""

    type: Literal["product_disclosed"] = "product_disclosed"
    customer_id: NonEmpty
    product_id: NonEmpty
    sections: list[Section]
    template_id: NonEmpty
    template_version: NonEmpty
    risk_level_stated: RiskLevel | None = None
    staff_id: NonEmpty | None = None
    branch_id: NonEmpty | None = None
    channel: NonEmpty | None = None
    personal_fields: ClassVar[frozenset[str]] = frozenset({"customer_id"})


class Sale(Event):
    """A product was sold to a customer.

    ``channel`` is where it was sold (``branch``, ``self_service_terminal``, ``phone``,
    ``internet``, ``mobile_app`` …); ``product_category`` the product's category when the
    product register does not have it; ``customer_type`` ``individual`` (assumed when
    absent) or ``institution``; ``policy_term_months`` the term of an insurance policy;
    ``recording_id`` names the audio and video recording of the sale (双录), and
    ``recorded`` says a recording was made. ``professional_investor`` is the seller's claim
    only: the status counts when the institution's register of professional investors
    holds the customer. ``legal_capacity`` (``full``, ``limited``, ``none``) and
    ``guardian_consent`` are for sales to people with limited or no legal capacity.
    """

    type: Literal["sale"] = "sale"
    customer_id: NonEmpty
    product_id: NonEmpty
    product_risk: RiskLevel
    amount: Money
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    staff_id: NonEmpty
    branch_id: NonEmpty
    channel: NonEmpty
    recorded: bool
    customer_age: Annotated[int, Field(ge=0, le=150)] | None = None
    product_category: NonEmpty | None = None
    professional_investor: bool = False
    extra_care: bool = False
    customer_type: Literal["individual", "institution"] | None = None
    policy_term_months: Annotated[int, Field(ge=0, le=1200)] | None = None
    recording_id: NonEmpty | None = None
    legal_capacity: Literal["full", "limited", "none"] | None = None
    guardian_consent: bool = False
    personal_fields: ClassVar[frozenset[str]] = frozenset({"customer_id", "customer_age"})


class MarketingPublished(Event):
    """Marketing material was published; ``audience`` is ``public`` (assumed when absent)
    or ``qualified_investors`` (a closed audience of verified qualified investors)."""

    type: Literal["marketing_published"] = "marketing_published"
    material_id: NonEmpty
    product_id: NonEmpty | None = None
    channel: NonEmpty
    text: FreeText
    approved: bool
    approved_by: NonEmpty | None = None
    branch_id: NonEmpty | None = None
    staff_id: NonEmpty | None = None
    audience: Literal["public", "qualified_investors"] | None = None


class ComplaintReceived(Event):
    """A customer complaint was received.

    ``channel`` is how it came (``hotline``, ``online``, ``email``, ``letter``, ``branch``,
    ``app``, ``regulator_forwarded``, ``proxy`` …); ``branch_id`` the unit that handles it;
    ``register_id`` its entry in the complaint register; ``reception_recording_id`` the
    recording of a complaint received in person at a branch; ``subject_staff_id`` the staff
    member the complaint is about, if any.
    """

    type: Literal["complaint_received"] = "complaint_received"
    case_id: NonEmpty
    customer_id: NonEmpty
    channel: NonEmpty
    category: NonEmpty
    branch_id: NonEmpty
    assignee: NonEmpty | None = None
    complexity: Literal["simple", "complex"] | None = None
    staff_id: NonEmpty | None = None
    register_id: NonEmpty | None = None
    reception_recording_id: NonEmpty | None = None
    subject_staff_id: NonEmpty | None = None
    personal_fields: ClassVar[frozenset[str]] = frozenset({"customer_id"})


class ComplaintAcknowledged(Event):
    """The complainant was told the complaint was received."""

    type: Literal["complaint_acknowledged"] = "complaint_acknowledged"
    case_id: NonEmpty


class ComplaintExtended(Event):
    """The decision deadline of a complaint was extended.

    ``stage`` ``complex``: the case is complex (the longer limit, no approval needed);
    ``particularly_complex`` (the default): the further extension, which needs
    ``approved_by`` (the staff id of the approver) and ``complainant_notified``.
    ``branch_id`` is the unit handling the complaint (the complaint's own, which the pack
    checks against the complaint received).
    """

    type: Literal["complaint_extended"] = "complaint_extended"
    case_id: NonEmpty
    reason: FreeText
    approved_by: NonEmpty | None = None
    complainant_notified: bool = True
    stage: Literal["complex", "particularly_complex"] = "particularly_complex"
    branch_id: NonEmpty | None = None


Remedy = Literal["review", "mediation", "arbitration", "litigation"]


class ComplaintResolved(Event):
    """A decision on a complaint was made and notified.

    ``reasons_given``: the complainant was told what was verified and the grounds of the
    decision; ``remedies_told``: the routes of redress they were told of; ``notice_method``
    and ``notice_evidence_id``: how they were told and the proof of it;
    ``decided_by_head_office``: the head office decided (no review by a superior).
    """

    type: Literal["complaint_resolved"] = "complaint_resolved"
    case_id: NonEmpty
    outcome: NonEmpty
    reasons_given: bool = False
    remedies_told: list[Remedy] = Field(default_factory=list)
    notice_method: NonEmpty | None = None
    notice_evidence_id: NonEmpty | None = None
    decided_by_head_office: bool = False


class ComplaintReviewRequested(Event):
    """The complainant asked the superior institution to review a branch's decision."""

    type: Literal["complaint_review_requested"] = "complaint_review_requested"
    case_id: NonEmpty
    branch_id: NonEmpty | None = None
    late_request: bool = False


class ComplaintReviewDecided(Event):
    """The superior institution decided the review and told the complainant."""

    type: Literal["complaint_review_decided"] = "complaint_review_decided"
    case_id: NonEmpty
    outcome: NonEmpty


class DataAccess(Event):
    """Staff accessed customer data."""

    type: Literal["data_access"] = "data_access"
    staff_id: NonEmpty
    staff_role: NonEmpty
    customer_id: NonEmpty
    purpose: Annotated[str, Field(max_length=500)] | None = None
    data_class: DataClass
    export: bool = False
    encrypted: bool = False
    branch_id: NonEmpty | None = None
    personal_fields: ClassVar[frozenset[str]] = frozenset({"customer_id"})


class SurveyResponse(Event):
    """A customer answered a satisfaction (or education) survey."""

    type: Literal["survey_response"] = "survey_response"
    survey: NonEmpty
    customer_id: NonEmpty
    satisfied: bool
    score: Annotated[int, Field(ge=0, le=100)] | None = None
    improved: bool | None = None
    branch_id: NonEmpty | None = None
    personal_fields: ClassVar[frozenset[str]] = frozenset({"customer_id"})


class ServiceRequested(Event):
    """A customer asked for a service (account opening, loan, transfer …)."""

    type: Literal["service_requested"] = "service_requested"
    request_id: NonEmpty
    customer_id: NonEmpty
    service: NonEmpty
    branch_id: NonEmpty
    channel: NonEmpty
    staff_id: NonEmpty | None = None
    materials_told: bool = False
    expected_completion: EventTime | None = None
    key_customer: bool = False
    account_manager_id: NonEmpty | None = None
    personal_fields: ClassVar[frozenset[str]] = frozenset({"customer_id"})


class ServiceStatusNotified(Event):
    """The customer was told the status of a service request."""

    type: Literal["service_status_notified"] = "service_status_notified"
    request_id: NonEmpty
    status: NonEmpty


class ServiceCompleted(Event):
    """A service request was completed."""

    type: Literal["service_completed"] = "service_completed"
    request_id: NonEmpty
    outcome: NonEmpty = "completed"


class SecurityIncident(Event):
    """An information-security incident (leak, loss, intrusion …) was detected."""

    type: Literal["security_incident"] = "security_incident"
    incident_id: NonEmpty
    kind: NonEmpty
    severity: Literal["minor", "relatively_major", "major", "critical"]
    customers_affected: Count = 0
    branch_id: NonEmpty | None = None


class IncidentReported(Event):
    """An incident was reported to the authority (and the affected customers)."""

    type: Literal["incident_reported"] = "incident_reported"
    incident_id: NonEmpty
    authority: NonEmpty | None = None


class IncidentContained(Event):
    """The emergency response contained an incident."""

    type: Literal["incident_contained"] = "incident_contained"
    incident_id: NonEmpty


class RiskEvent(Event):
    """A risk event (operational, conduct, fraud …) occurred."""

    type: Literal["risk_event"] = "risk_event"
    risk_event_id: NonEmpty
    category: NonEmpty
    branch_id: NonEmpty
    staff_id: NonEmpty | None = None
    severity: Literal["low", "medium", "high", "critical"] = "medium"


class TrainingCompleted(Event):
    """A staff member completed a training course."""

    type: Literal["training_completed"] = "training_completed"
    staff_id: NonEmpty
    course: NonEmpty
    hours: Money | None = None


class ComplianceCheckCompleted(Event):
    """The internal review department completed a compliance check of a branch."""

    type: Literal["compliance_check_completed"] = "compliance_check_completed"
    check_id: NonEmpty
    branch_id: NonEmpty
    findings: Count = 0


class StaffAppraised(Event):
    """A staff performance appraisal was recorded."""

    type: Literal["staff_appraised"] = "staff_appraised"
    staff_id: NonEmpty
    includes_satisfaction: bool
    includes_complaint_timeliness: bool
    target_achievement: (
        Annotated[
            Decimal,
            Field(
                ge=0,
                le=1,
                allow_inf_nan=False,
                max_digits=DECIMAL_DIGITS,
                decimal_places=DECIMAL_PLACES,
            ),
        ]
        | None
    ) = None


class ImplementationReviewed(Event):
    """The half-yearly check of how the commitment's measures are implemented."""

    type: Literal["implementation_reviewed"] = "implementation_reviewed"
    review_id: NonEmpty
    scope: NonEmpty = "all"


class AnnualReportPublished(Event):
    """The annual report on how the commitments were kept was published; ``year`` is the
    year it reports on (the report of 2026 is published in 2027)."""

    type: Literal["annual_report_published"] = "annual_report_published"
    report_id: NonEmpty
    year: Annotated[int, Field(ge=2000, le=2200)]


BUILTIN_EVENT_TYPES: tuple[type[Event], ...] = (
    SuitabilityAssessed,
    ProductDisclosed,
    Sale,
    MarketingPublished,
    ComplaintReceived,
    ComplaintAcknowledged,
    ComplaintExtended,
    ComplaintResolved,
    ComplaintReviewRequested,
    ComplaintReviewDecided,
    CustomerCircumstancesChanged,
    DataAccess,
    SurveyResponse,
    ServiceRequested,
    ServiceStatusNotified,
    ServiceCompleted,
    SecurityIncident,
    IncidentReported,
    IncidentContained,
    RiskEvent,
    TrainingCompleted,
    ComplianceCheckCompleted,
    StaffAppraised,
    ImplementationReviewed,
    AnnualReportPublished,
)


def _type_name(model: type[Event]) -> str:
    default = model.model_fields["type"].default
    assert isinstance(default, str)
    return default


_KIND_OF: dict[object, str] = {
    str: "str",
    int: "int",
    Decimal: "decimal",
    bool: "bool",
    dt.datetime: "datetime",
}


def _field_kind(annotation: Any) -> tuple[str, bool]:
    """Map a pydantic annotation to the expression language's (kind, optional)."""
    from types import UnionType  # noqa: PLC0415
    from typing import Union, get_args, get_origin  # noqa: PLC0415 - only at load time

    optional = False
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) != len(get_args(annotation))
        annotation = args[0] if len(args) == 1 else Any
        origin = get_origin(annotation)
    if origin is Annotated:
        annotation = get_args(annotation)[0]
        origin = get_origin(annotation)
    if origin is Literal:
        values = get_args(annotation)
        return ("str" if all(isinstance(v, str) for v in values) else "any"), optional
    if origin is list:
        return "list", optional
    if annotation is AwareDatetime or annotation is dt.datetime:
        return "datetime", optional
    return _KIND_OF.get(annotation, "any"), optional


@attrs.frozen
class EventType:
    """One event type as the engine uses it: a model for users, a fast validator inside."""

    name: str
    model: type[Event]
    fields: Mapping[str, tuple[str, bool]]  # field -> (expression kind, optional)
    personal_fields: frozenset[str]
    defaults: Mapping[str, object]
    adapter: TypeAdapter[Any] = attrs.field(repr=False, eq=False)
    builtin: bool = True
    typed: Any = attrs.field(default=None, repr=False, eq=False)
    #: Timestamp fields (name, may be null): read by :func:`_times` after the validator.
    times: tuple[tuple[str, bool], ...] = ()
    #: The compiled validator itself (the adapter's Python wrapper costs a third of it).
    check: Any = attrs.field(default=None, repr=False, eq=False)

    @classmethod
    def from_model(cls, model: type[Event], *, builtin: bool = True) -> EventType:
        """Describe a pydantic event model and build its compiled dict validator."""
        annotations: dict[str, Any] = {}
        defaults: dict[str, object] = {}
        fields: dict[str, tuple[str, bool]] = {}
        times: list[tuple[str, bool]] = []
        for name, info in model.model_fields.items():
            annotation: Any = info.annotation
            kind, optional = _field_kind(info.annotation)
            if kind == "datetime":
                # Checked and parsed by _times (faster, and a plain datetime.timezone).
                times.append((name, optional or info.default is None))
                annotation = Any
            elif info.metadata:
                annotation = Annotated[(annotation, *info.metadata)]
            if info.is_required() or name == "type":
                annotations[name] = annotation
            else:
                # The validator fills the default itself (no dict merge afterwards).
                default = (
                    Field(default_factory=info.default_factory)
                    if info.default_factory is not None
                    else Field(default=info.default)
                )
                annotations[name] = NotRequired[Annotated[annotation, default]]
                defaults[name] = info.get_default(call_default_factory=True)
            fields[name] = (kind, optional or (not info.is_required() and info.default is None))
        typed: Any = TypedDict(f"{model.__name__}Dict", annotations)  # type: ignore[misc]
        typed.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
        adapter = TypeAdapter(typed)
        return cls(
            name=_type_name(model),
            model=model,
            fields=fields,
            personal_fields=frozenset(model.personal_fields),
            defaults=defaults,
            adapter=adapter,
            builtin=builtin,
            typed=typed,
            times=_AT_ONLY if tuple(times) == _AT_ONLY else tuple(times),
            check=adapter.validator.validate_python,
        )

    def validate(self, raw: Mapping[str, object]) -> dict[str, Any]:
        """Validate a mapping into a plain dict with every declared field present."""
        try:
            checked: dict[str, Any] = self.check(raw)
        except ValidationError as error:
            raise _event_error(error, raw, self.times) from None
        return _with_times(checked, self.times)


def _event_error(
    error: ValidationError, raw: object, times: tuple[tuple[str, bool], ...] = ()
) -> EventValidationError:
    event_id = raw.get("id") if isinstance(raw, Mapping) else None
    problems = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"])
        problems.append(
            Problem(
                Location(
                    key=path or None, event_id=event_id if isinstance(event_id, str) else None
                ),
                item["msg"],
            )
        )
    if times and isinstance(raw, Mapping):
        # The validator passes timestamps through unread: report theirs too.
        problems.extend(_times(dict(raw), times))
    return EventValidationError(problems)


class EventCatalog:
    """The event types a pack accepts: the built-ins plus the pack's own."""

    def __init__(self, types: Iterable[EventType]) -> None:
        self._types: dict[str, EventType] = {}
        self._check_json: Any = None
        for event_type in types:
            self._types[event_type.name] = event_type

    @classmethod
    def builtin(cls) -> EventCatalog:
        """The catalog of built-in event types only."""
        return cls(_BUILTIN_TYPES)

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __getitem__(self, name: str) -> EventType:
        return self._types[name]

    def __iter__(self) -> Any:
        return iter(self._types.values())

    def __len__(self) -> int:
        return len(self._types)

    @property
    def names(self) -> tuple[str, ...]:
        """Names of every accepted type, sorted."""
        return tuple(sorted(self._types))

    def validate(self, raw: object) -> dict[str, Any]:
        """Validate one event (a mapping or an event model) into a plain dict.

        Raises:
            EventValidationError: naming the field and the reason.
        """
        if type(raw) is dict:
            # The common case, inlined: one lookup, one validator call.
            name = raw.get("type")
            event_type = self._types.get(name) if type(name) is str else None
            if event_type is not None:
                try:
                    checked: dict[str, Any] = event_type.check(raw)
                except ValidationError as error:
                    raise _event_error(error, raw, event_type.times) from None
                times = event_type.times
                if times is _AT_ONLY:
                    # The one timestamp in a common shape, read here: two calls fewer.
                    text = checked["at"]
                    if (
                        type(text) is str
                        and len(text) in {25, 20}
                        and text[4::3] in _COMMON_SHAPES
                        and "\x00" not in text
                    ):
                        try:
                            moment = _parse_iso(text)
                        except ValueError:
                            pass
                        else:
                            if 1900 < moment.year < 2200:
                                checked["at"] = moment
                                return checked
                return _with_times(checked, times)
        if isinstance(raw, BaseModel):
            raw = raw.model_dump()
        if not isinstance(raw, Mapping):
            problem = Problem(Location(), f"an event must be an object, not {type(raw).__name__}")
            raise EventValidationError([problem])
        name = raw.get("type")
        event_type = self._types.get(name) if isinstance(name, str) else None
        if event_type is None:
            event_id = raw.get("id")
            where = Location(key="type", event_id=event_id if isinstance(event_id, str) else None)
            if not isinstance(name, str):
                reason = "missing or non-text 'type'"
            else:
                import difflib  # noqa: PLC0415 - only on the error path

                close = difflib.get_close_matches(name, self._types, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                reason = f"unknown event type {name!r}{hint}"
            raise EventValidationError([Problem(where, reason)])
        return event_type.validate(raw)

    def validate_json(self, data: bytes | str) -> dict[str, Any]:
        """Validate one event straight from its JSON text (the fast path for JSON Lines).

        Raises:
            EventValidationError: not JSON, or naming the field and the reason.
        """
        check = self._check_json
        if check is None:
            typed = [t.typed for t in self._types.values()]
            union: Any = Annotated[
                typed[0] if len(typed) == 1 else _union(tuple(typed)), Field(discriminator="type")
            ]
            # The compiled validator itself: the adapter's wrapper costs a call per event.
            check = self._check_json = TypeAdapter(union).validator.validate_json
        try:
            checked: dict[str, Any] = check(data)
        except ValidationError as error:
            # Re-run the dict path for the clearest message (unknown type, did you mean …),
            # within the readers' bounds (depth, digits): never a RecursionError.
            from ._json_limits import decode  # noqa: PLC0415 - only on the error path

            try:
                raw = decode(data)
            except ValueError as bad:
                problem = Problem(Location(), str(bad))
                raise EventValidationError([problem]) from None
            if isinstance(raw, Mapping):
                self.validate(raw)
            raise _event_error(error, raw) from None
        return _with_times(checked, self._types[checked["type"]].times)

    def json_schema(self, name: str | None = None) -> dict[str, Any]:
        """JSON Schema of one type, or of the union of all types (discriminated by ``type``).

        The result is JSON-ready: bounds are JSON numbers, a decimal default is its text (as
        events carry decimals).
        """
        if name is not None:
            schema: dict[str, Any] = _json_ready(self._types[name].model.model_json_schema())
            return schema
        models = tuple(t.model for t in self._types.values())
        union: Any = Annotated[
            models[0] if len(models) == 1 else _union(models), Field(discriminator="type")
        ]
        whole: dict[str, Any] = _json_ready(TypeAdapter(union).json_schema())
        return whole


def _json_ready(value: Any) -> Any:
    """A schema with every Decimal left by pydantic (a bound) as a JSON number."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    if isinstance(value, Decimal):
        whole = value == value.to_integral_value()
        return int(value) if whole else float(value)
    return value


def _union(models: tuple[type[Event], ...]) -> Any:
    from typing import Union  # noqa: PLC0415

    return Union[models]  # noqa: UP007 - built dynamically


_BUILTIN_TYPES = tuple(EventType.from_model(m) for m in BUILTIN_EVENT_TYPES)


def event_json_schema(name: str | None = None) -> dict[str, Any]:
    """JSON Schema of a built-in event type, or of all of them.

    It belongs to no pack: a pack's own types, and a type a stand-alone pack declares under
    a built-in name (which replaces the built-in one for that pack), are in the pack's
    schema, ``pack.catalog.json_schema(name)`` (``commitrules schema --pack P``).

    >>> event_json_schema("sale")["properties"]["product_risk"]["maximum"]
    5
    """
    return EventCatalog.builtin().json_schema(name)
