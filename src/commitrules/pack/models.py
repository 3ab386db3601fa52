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


class ClauseModel(Spec):
    """One clause of the commitment."""

    id: ClauseId
    section: str | None = None
    title: Bilingual
    text: Bilingual
    automatable: bool = True
    reason: Bilingual | None = None

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
    """A role that violations are routed to."""

    id: RoleId
    name: Bilingual
    description: Bilingual | None = None


class RolesFile(Spec):
    """``roles.yaml``."""

    roles: list[RoleModel]


class SourceModel(Spec):
    """Where a figure comes from, and whether it was checked against the official text."""

    kind: Literal["regulation", "institution_commitment", "internal_policy", "industry_practice"]
    citation: Annotated[str, Field(min_length=3)]
    checked: bool = False
    url: str | None = None
    note: str | None = None
    set_by: str | None = None  # who set a figure that is the bank's own (a role of the pack)
    quote: str | None = None  # the source's own words, for a checked figure


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


ReportSectionModel = Annotated[CaseHandlingSection | FindingsSection, Field(discriminator="kind")]
"""One section a pack adds to the report; ``kind`` decides which other keys it takes."""


class ReportFile(Spec):
    """``report.yaml``: sections the pack adds to the commitment report, in order, after
    the sections every report has (clauses, checks, deadlines, thresholds, targets, time,
    roles, offenders). A pack that extends another adds to its sections; a section with the
    id of one of the parent's replaces it. The default pack declares its complaint section
    and its early-warning list here:

    .. code-block:: yaml

        sections:
          - id: complaints
            kind: case_handling
            title: {zh: 投訴處理, en: Complaint handling}
            opened_by: complaint_received
            closed_by: complaint_resolved
            key: case_id
            limits: [C5.resolve.simple, C5.resolve.complex]
          - id: early-warnings
            kind: findings
            title: {zh: 預警及應急(W1/W2), en: Early warnings and emergency response (W1/W2)}
            clauses: [W1, W2]
    """

    sections: list[ReportSectionModel]
