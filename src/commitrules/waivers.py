"""Waivers: approved exceptions, kept as governed data beside a pack.

A waivers file is YAML (``waivers.yaml`` beside the pack, or any path), **outside** the
pack's content hash: approving a waiver does not change the pack, so it does not disturb
the engine's state.

.. code-block:: yaml

    waivers:
      - id: WV-2026-014
        rule: C1.recording.sale-not-recorded     # or clause: C1.recording (prefix match)
        scope: {branch_id: BR-GZ-TH}             # branch_id, staff_id, customer_id, product_id …
        approver: 合規總監 Head of Compliance
        reason: recording booth under repair; calls recorded on the hotline system instead
        risk_accepted: low — alternative recording in place
        effective: 2026-07-01T00:00:00+08:00
        expires: 2026-08-01T00:00:00+08:00

A finding a waiver covers is reported with kind ``excused`` and the waiver's id, never
dropped. A waiver applies while ``effective <= at < expires`` in event time; an expired
waiver stops applying at its expiry. A waiver without an approver or an expiry is a load
error, as are naive timestamps.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import attrs
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import PackValidationError, Problem
from .eventtime import to_us
from .pack._read import validation_problems
from .pack._yaml import read_yaml

if TYPE_CHECKING:
    from .pack import Pack

__all__ = ["Waiver", "Waivers", "load_waivers"]

Text = Annotated[str, Field(min_length=1, max_length=2000)]


class WaiverModel(BaseModel):
    """One waiver as written in the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(min_length=1, max_length=100)]
    rule: str | None = None
    clause: str | None = None
    scope: dict[str, str] = Field(default_factory=dict)
    approver: Text
    reason: Text
    risk_accepted: Text
    effective: AwareDatetime
    expires: AwareDatetime
    approved_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _target_and_dates(self) -> WaiverModel:
        if (self.rule is None) == (self.clause is None):
            msg = "a waiver names exactly one of 'rule' or 'clause'"
            raise ValueError(msg)
        if self.expires <= self.effective:
            msg = "'expires' must be after 'effective'"
            raise ValueError(msg)
        return self


class WaiversFile(BaseModel):
    """The waivers file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    waivers: list[WaiverModel]


@attrs.frozen
class Waiver:
    """An approved exception, in force from ``effective`` until ``expires`` (event time)."""

    id: str
    rule: str | None
    clause: str | None
    scope: Mapping[str, str]
    approver: str
    reason: str
    risk_accepted: str
    effective: dt.datetime
    expires: dt.datetime
    effective_us: int
    expires_us: int

    def covers(self, rule_id: str, clause_id: str, at_us: int, values: Mapping[str, Any]) -> bool:
        """Whether this waiver excuses a finding of that rule, at that time, with those keys."""
        if not self.effective_us <= at_us < self.expires_us:
            return False
        if self.rule is not None and self.rule != rule_id:
            return False
        if self.clause is not None and not (
            clause_id == self.clause or clause_id.startswith(self.clause + ".")
        ):
            return False
        return all(str(values.get(key)) == value for key, value in self.scope.items())


@attrs.frozen
class Waivers:
    """A set of waivers, and where they came from."""

    items: tuple[Waiver, ...]
    source: str | None = None

    def find(
        self, rule_id: str, clause_id: str, at_us: int, values: Mapping[str, Any]
    ) -> Waiver | None:
        """The first waiver that covers a finding, or None."""
        for waiver in self.items:
            if waiver.covers(rule_id, clause_id, at_us, values):
                return waiver
        return None


def load_waivers(path: str | Path, pack: Pack | None = None) -> Waivers:
    """Read a waivers file; with ``pack``, also check that every waiver names its rules.

    Raises:
        PackValidationError: every problem, with the file, line and key (a missing approver
            or expiry, a naive timestamp, an unknown key, a rule or clause the pack does not
            have …).
    """
    shown = str(path)
    source = read_yaml(Path(path), display=shown)
    try:
        model = WaiversFile.model_validate(source.data)
    except ValidationError as error:
        raise PackValidationError(
            validation_problems(error, source, model=WaiversFile), where="the waivers file"
        ) from None
    seen: set[str] = set()
    problems: list[Problem] = []
    items: list[Waiver] = []
    for index, waiver in enumerate(model.waivers):
        if waiver.id in seen:
            problems.append(
                Problem(source.locate(("waivers", index, "id")), f"waiver {waiver.id!r} twice")
            )
        seen.add(waiver.id)
        if pack is not None:
            reason = unknown_target(waiver.rule, waiver.clause, pack)
            if reason is not None:
                key = "rule" if waiver.rule is not None else "clause"
                problems.append(Problem(source.locate(("waivers", index, key)), reason))
        items.append(
            Waiver(
                id=waiver.id,
                rule=waiver.rule,
                clause=waiver.clause,
                scope=dict(waiver.scope),
                approver=waiver.approver,
                reason=waiver.reason,
                risk_accepted=waiver.risk_accepted,
                effective=waiver.effective,
                expires=waiver.expires,
                effective_us=to_us(waiver.effective),
                expires_us=to_us(waiver.expires),
            )
        )
    if problems:
        raise PackValidationError(problems, where="the waivers file")
    return Waivers(items=tuple(items), source=shown)


def unknown_target(rule: str | None, clause: str | None, pack: Pack) -> str | None:
    """Why a waiver's rule or clause is not in the pack (a typo would excuse nothing), or None."""
    if rule is not None:
        rule_ids = [item.id for item in pack.rules]
        if rule in rule_ids or rule in dict(pack.disabled):
            return None
        close = difflib.get_close_matches(rule, rule_ids, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"the pack {pack.id!r} has no rule {rule!r}{hint}"
    if clause is not None:
        clause_ids = sorted({item.id for item in pack.clauses} | {r.clause for r in pack.rules})
        if any(found == clause or found.startswith(clause + ".") for found in clause_ids):
            return None
        close = difflib.get_close_matches(clause, clause_ids, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"the pack {pack.id!r} has no clause {clause!r}{hint}"
    return None
