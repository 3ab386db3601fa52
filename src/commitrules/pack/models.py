"""The pydantic models of pack files: the pack format, validated at load time.

A pack is a directory::

    pack.yaml          id, version, names, time zone, calendar, lateness, profiles …
    clauses.yaml       the clause catalogue (zh and en), automatable or not and why
    roles.yaml         the roles that violations are routed to
    parameters.yaml    every deadline, window, threshold and target, with its source
    profiles/*.yaml    jurisdiction profiles overriding parameters (cn, hk, uk …)
    tables/*.yaml      reference tables (products, templates, staff …) with effective dates
    events.yaml        the pack's own event types (optional)
    rules/*.yaml       the rules, each with an explicit kind
    routing.yaml       escalations
    report.yaml        extra sections of the commitment report (optional)
    tests/*.yaml       test cases (see commitrules.testing)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from ..events import _read_instant
from ..rules import RuleSpec
from ..rules._base import Bilingual, Name, Spec

__all__ = [
    "CalendarModel",
    "CaseHandlingSection",
    "CaseStatisticsSection",
    "ClauseFile",
    "ClauseModel",
    "DisableModel",
    "EventTypeModel",
    "EventTypesFile",
    "FieldModel",
    "FindingsSection",
    "LatenessModel",
    "PackMeta",
    "ParameterModel",
    "ParametersFile",
    "ProfileFile",
    "ReportFile",
    "ReportSectionModel",
    "RoleModel",
    "RolesFile",
    "RulesFile",
    "SourceModel",
    "TableModel",
]

PackId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
ClauseId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
RoleId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")]
ValueType = Literal["int", "decimal", "str", "bool", "list", "date"]


class CalendarModel(Spec):
    """The working-day calendar: a country's public holidays plus the bank's own days."""

    country: str | None = None
    subdivision: str | None = None
    known_through: int | None = Field(default=None, ge=2000, le=2200)
    known_from: int = Field(default=2000, ge=1950, le=2200)
    extra_days_off: list[dt.date] = Field(default_factory=list)
    extra_working_days: list[dt.date] = Field(default_factory=list)
    holiday_categories: list[str] = Field(default_factory=lambda: ["public"])
    strict: bool = False
    #: Raise the engine's horizon alarm this many days before working-day deadlines
    #: reach the end of the last official year.
    alarm_margin_days: int = Field(default=60, ge=0, le=3660)


class LatenessModel(Spec):
    """A plain duration in minutes, hours or (24-hour) days."""

    count: int = Field(ge=0, le=1_000_000)
    unit: Literal["minutes", "hours", "days"]

    def to_us(self) -> int:
        """The duration in microseconds."""
        seconds = {"minutes": 60, "hours": 3600, "days": 86400}[self.unit]
        return self.count * seconds * 1_000_000


class DisableModel(Spec):
    """A rule of the extended pack switched off, with the reason (required)."""

    rule: str
    reason: Annotated[str, Field(min_length=3)]


def _checked_zone(value: str) -> str:
    """An IANA time zone name that this machine knows, or a ValueError naming it."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        msg = f"unknown time zone {value!r} (use an IANA name such as 'Asia/Shanghai')"
        raise ValueError(msg) from None
    return value


class PackMeta(Spec):
    """``pack.yaml``."""

    id: PackId
    version: Annotated[str, Field(pattern=r"^\d+\.\d+(\.\d+)?([-+][0-9A-Za-z.-]+)?$")]
    name: Bilingual
    description: Bilingual | None = None
    extends: str | None = None
    timezone: str = "UTC"
    calendar: CalendarModel | None = None
    allowed_lateness: LatenessModel = Field(
        default_factory=lambda: LatenessModel(count=0, unit="minutes")
    )
    duplicate_horizon: LatenessModel = Field(
        default_factory=lambda: LatenessModel(count=30, unit="days")
    )
    #: How far ahead of the watermark an event may be; beyond it the event is rejected and
    #: does not move time (one event far in the future would otherwise release false
    #: deadline findings and make every later genuine event late).
    max_ahead: LatenessModel = Field(default_factory=lambda: LatenessModel(count=366, unit="days"))
    #: The role the engine's own findings go to (a condition that failed at run time, the
    #: calendar's horizon alarm). Without it they go to the pack's first role (lint warns).
    operations_role: str | None = None
    personal_fields: list[Name] = Field(default_factory=list)
    scope_fields: list[Name] = Field(default_factory=lambda: ["branch_id", "staff_id"])
    default_profile: str = "default"
    disable: list[DisableModel] = Field(default_factory=list)
    source: Bilingual | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _checked_zone(value)


class SourceModel(Spec):
    """Where a figure (or a clause) comes from, and whether it was checked against the
    official text.

    ``kind`` says whose figure it is: a ``regulation`` binds the bank; an
    ``institution_commitment`` is printed in the commitment; an ``internal_policy`` is the
    bank's own choice, and ``set_by`` names the role that owns it (a role of the pack);
    ``industry_practice`` is common usage. ``checked: true`` means the figure was read in
    the official text; a checked regulation carries the article's words in ``quote`` (lint
    warns when it does not). ``set_by`` is refused on a regulation: the regulator set it.

    .. code-block:: yaml

        source: {kind: regulation, citation: "投诉办法 Art 18 ¶1", checked: true,
                 quote: "应当自收到消费投诉之日起15日内作出处理决定并告知投诉人"}
        source: {kind: internal_policy, set_by: rights-protection-dept,
                 citation: "Commitment §3 (快速響應機制); no day count in 投诉办法"}
    """

    kind: Literal["regulation", "institution_commitment", "internal_policy", "industry_practice"]
    citation: Annotated[str, Field(min_length=3)]
    checked: bool = False
    set_by: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")] | None = None
    quote: Annotated[str, Field(min_length=2, max_length=2000)] | None = None
    url: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _no_owner_for_a_regulation(self) -> SourceModel:
        if self.kind == "regulation" and self.set_by is not None:
            msg = (
                "'set_by' names the bank's role that owns an internal policy figure; a "
                "regulation's figure is set by the regulator (use kind: internal_policy if the "
                "bank chose it)"
            )
            raise ValueError(msg)
        return self


class ClauseModel(Spec):
    """One clause of the commitment, with the texts it rests on (``sources``: the
    commitment itself, a regulation, or the bank's own policy)."""

    id: ClauseId
    section: str | None = None
    title: Bilingual
    text: Bilingual
    automatable: bool = True
    reason: Bilingual | None = None
    sources: list[SourceModel] = Field(default_factory=list)

    @model_validator(mode="after")
    def _reason_when_not_automatable(self) -> ClauseModel:
        if not self.automatable and self.reason is None:
            msg = "a clause marked not automatable needs a 'reason'"
            raise ValueError(msg)
        return self


class ClauseFile(Spec):
    """``clauses.yaml``."""

    clauses: list[ClauseModel]


class RoleModel(Spec):
    """A role that violations are routed to.

    A role held per branch (or per any other scope field) says so with ``scope`` and names
    the roster table that gives its holder: a finding's ``scope`` value (e.g. its
    ``branch_id``) is the key of the roster's row, whose ``holder`` column names the person.
    The engine routes to the role; whoever delivers the finding looks the holder up.

    .. code-block:: yaml

        - id: branch-head
          name: {zh: 網點負責人, en: Branch head}
          scope: branch_id
          roster: branch_heads
    """

    id: RoleId
    name: Bilingual
    description: Bilingual | None = None
    scope: Name | None = None
    roster: Name | None = None

    @model_validator(mode="after")
    def _scope_and_roster_together(self) -> RoleModel:
        if (self.scope is None) != (self.roster is None):
            msg = (
                "a role held per scope value names both 'scope' (the finding's scope field, "
                "e.g. branch_id) and 'roster' (the table that gives the holder)"
            )
            raise ValueError(msg)
        return self


class RolesFile(Spec):
    """``roles.yaml``."""

    roles: list[RoleModel]


class DatedValue(Spec):
    """A value in force from a date (local midnight in the pack's zone)."""

    from_: dt.date = Field(alias="from")
    value: Any


class ParameterModel(Spec):
    """A named parameter: a value (or dated values), its unit, and its source."""

    type: ValueType
    value: Any = None
    values: list[DatedValue] | None = None
    unit: str | None = None
    description: Bilingual | str | None = None
    source: SourceModel | None = None

    @model_validator(mode="after")
    def _value_or_values(self) -> ParameterModel:
        if (self.value is None) == (self.values is None):
            msg = "a parameter has exactly one of 'value' or 'values' (a list of {from, value})"
            raise ValueError(msg)
        if self.values is not None:
            dates = [v.from_ for v in self.values]
            if not dates or dates != sorted(dates) or len(set(dates)) != len(dates):
                msg = "'values' must be listed by increasing 'from' date, each date once"
                raise ValueError(msg)
        return self


class ParametersFile(Spec):
    """``parameters.yaml``."""

    parameters: dict[Name, ParameterModel]


class ParameterOverride(Spec):
    """A profile's (or an extending pack's) new value for a parameter."""

    value: Any = None
    values: list[DatedValue] | None = None
    source: SourceModel | None = None

    @model_validator(mode="after")
    def _value_or_values(self) -> ParameterOverride:
        if (self.value is None) == (self.values is None):
            msg = "an override has exactly one of 'value' or 'values'"
            raise ValueError(msg)
        return self


class ProfileFile(Spec):
    """``profiles/<id>.yaml``: a jurisdiction's differences."""

    id: PackId
    name: Bilingual
    timezone: str | None = None
    calendar: CalendarModel | None = None
    parameters: dict[Name, ParameterOverride] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else _checked_zone(value)


class ColumnModel(Spec):
    """A column of a reference table."""

    type: ValueType
    optional: bool = False


class TableModel(Spec):
    """``tables/<id>.yaml``: a reference table; rows may carry valid_from/valid_to dates."""

    id: Name
    description: Bilingual | str | None = None
    key: Name
    columns: dict[Name, ColumnModel]
    rows: list[dict[str, Any]]

    @model_validator(mode="after")
    def _key_is_a_column(self) -> TableModel:
        if self.key not in self.columns:
            msg = f"the key column {self.key!r} is not among the columns"
            raise ValueError(msg)
        return self


class FieldModel(Spec):
    """A field of a pack-declared event type."""

    type: Literal["str", "int", "decimal", "bool", "datetime", "list"]
    required: bool = True
    default: Any = None
    enum: list[str] | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    max_length: int | None = Field(default=None, ge=1, le=100_000)
    personal: bool = False
    description: str | None = None

    @model_validator(mode="after")
    def _options_fit_the_type(self) -> FieldModel:
        if (self.min is not None or self.max is not None) and self.type not in ("int", "decimal"):
            msg = f"'min' and 'max' apply to int and decimal fields, not {self.type}"
            raise ValueError(msg)
        if self.type == "int":
            for name, bound in (("min", self.min), ("max", self.max)):
                if bound is not None and bound != bound.to_integral_value():
                    msg = f"'{name}' of an int field must be a whole number, not {bound}"
                    raise ValueError(msg)
        if self.min is not None and self.max is not None and self.min > self.max:
            msg = f"'min' ({self.min}) is above 'max' ({self.max})"
            raise ValueError(msg)
        if self.enum is not None and self.type != "str":
            msg = f"'enum' applies to str fields, not {self.type}"
            raise ValueError(msg)
        if (
            self.type == "datetime"
            and self.default is not None
            and (not isinstance(self.default, str) or _read_instant(self.default) is None)
        ):
            msg = (
                "a datetime default must be an RFC 3339 timestamp with an offset, "
                f"not {self.default!r}"
            )
            raise ValueError(msg)
        return self


class EventTypeModel(Spec):
    """A pack-declared event type."""

    description: Bilingual | str | None = None
    fields: dict[Name, FieldModel]


class EventTypesFile(Spec):
    """``events.yaml``: the pack's own event types, each a mapping of field names to fields.

    Every type also has ``id``, ``type`` and ``at``. A pack that extends the default pack
    (``customer-commitments``, anywhere in its ``extends`` chain) keeps the built-in types
    and may not declare one of their names. A stand-alone pack (the default pack nowhere in
    its chain) may: its type then replaces the built-in type of that name for that pack, and
    everything that works from the pack sees the pack's type: validation, the pack's JSON
    Schema (``pack.catalog.json_schema()``, ``commitrules schema --pack``), the hypothesis
    strategies drawn from ``pack.catalog``, the conditions of both backends (native and
    durable), explain and the report. ``commitrules.event_json_schema()``, which belongs to
    no pack, still describes the built-in types only."""

    event_types: dict[Name, EventTypeModel]


class RulesFile(Spec):
    """``rules/*.yaml``."""

    rules: list[RuleSpec]


SectionId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")]


class CaseHandlingSection(Spec):
    """How cases were handled: each case opened by an ``opened_by`` event and closed by the
    first ``closed_by`` event of the same ``key``: how many were received, closed and still
    open, the days they took (nearest-rank p50 and p90, the longest), and, with ``limits``,
    how many closed within their limit and how many open ones are past it.

    ``limits`` names deadline rules of the pack that open on ``opened_by``: a case has a
    limit when one of them opened a deadline for its opening event, and kept it when none
    of them found the deadline missed (as the engine decides: working days, extensions and
    all). The report shows each rule's time limit as in force on the report's last day.
    """

    id: SectionId
    kind: Literal["case_handling"]
    title: Bilingual
    opened_by: Name
    closed_by: Name
    key: Name
    limits: list[str] = Field(default_factory=list)
    note: Bilingual | None = None


class FindingsSection(Spec):
    """A list of the period's findings of some clauses (with their sub-clauses) and rules,
    one row each: time, clause, rule, kind, severity, message and subject."""

    id: SectionId
    kind: Literal["findings"]
    title: Bilingual
    clauses: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    note: Bilingual | None = None

    @model_validator(mode="after")
    def _names_something(self) -> FindingsSection:
        if not self.clauses and not self.rules:
            msg = "a findings section names 'clauses', 'rules' or both"
            raise ValueError(msg)
        return self


class CaseStatisticsSection(Spec):
    """A table of cases per period (``period``, by default a quarter) and per value of the
    ``by`` fields of the opening event, with how long the closed ones took, in calendar-day
    ``buckets`` (``[15, 30, 60]``: up to 15 days, 16 to 30, 31 to 60, more than 60) and how
    many are still open. A case belongs to the period it was opened in (received); its days
    are counted from its opening date to its closing date in the pack's time zone, so a case
    closed by the end of the 15th day after the day it was received is in the first bucket,
    as a deadline of 15 calendar days to the end of the day counts. The report shows the
    table and writes it as CSV (:meth:`commitrules.report.Report.to_csv`): one row per
    period and combination of values, a field that is absent counted as ``""``.
    """

    id: SectionId
    kind: Literal["case_statistics"]
    title: Bilingual
    opened_by: Name
    closed_by: Name
    key: Name
    by: list[Name] = Field(min_length=1, max_length=4)
    period: Literal["month", "quarter", "half_year", "year"] = "quarter"
    buckets: list[Annotated[int, Field(ge=1, le=3660)]] = Field(min_length=1, max_length=10)
    note: Bilingual | None = None

    @model_validator(mode="after")
    def _buckets_increase(self) -> CaseStatisticsSection:
        if self.buckets != sorted(set(self.buckets)):
            msg = "'buckets' are day counts in increasing order, each once (e.g. [15, 30, 60])"
            raise ValueError(msg)
        if len(set(self.by)) != len(self.by):
            msg = "'by' names each field once"
            raise ValueError(msg)
        return self


ReportSectionModel = Annotated[
    CaseHandlingSection | FindingsSection | CaseStatisticsSection, Field(discriminator="kind")
]
"""One section a pack adds to the report; ``kind`` decides which other keys it takes."""


class ReportFile(Spec):
    """``report.yaml``: sections the pack adds to the commitment report, in order, after
    the sections every report has (clauses, checks, deadlines, thresholds, targets, time,
    roles, offenders). A pack that extends another adds to its sections; a section with the
    id of one of the parent's replaces it. Three kinds: ``case_handling``, ``findings`` and
    ``case_statistics``. The default pack declares its complaint section, its quarterly
    complaint statistics and its early-warning list here:

    .. code-block:: yaml

        sections:
          - id: complaints
            kind: case_handling
            title: {zh: 投訴處理, en: Complaint handling}
            opened_by: complaint_received
            closed_by: complaint_resolved
            key: case_id
            limits: [C5.resolve.simple, C5.resolve.complex]
          - id: complaint-statistics
            kind: case_statistics
            title: {zh: 投訴統計(季度), en: Complaint statistics (quarterly)}
            opened_by: complaint_received
            closed_by: complaint_resolved
            key: case_id
            by: [category, channel]
            period: quarter
            buckets: [15, 30, 60]
          - id: early-warnings
            kind: findings
            title: {zh: 預警及應急(W1/W2), en: Early warnings and emergency response (W1/W2)}
            clauses: [W1, W2]
    """

    sections: list[ReportSectionModel]
