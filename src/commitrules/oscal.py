"""Export results as a NIST OSCAL assessment-results document (JSON), for GRC tools.

Clauses map to controls, each violation to an observation, and each clause to a finding
(``satisfied`` or ``not-satisfied``). Every uuid is derived from the pack and the
violation ids (uuid5), and every timestamp is event time: the same inputs give the same
document, byte for byte. Personal fields are masked as in the violations themselves.

>>> import commitrules, datetime as dt
>>> pack = commitrules.load_pack()
>>> moment = dt.datetime(2026, 10, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
>>> document = assessment_results(pack, [], start=moment, end=moment)
>>> document["assessment-results"]["metadata"]["oscal-version"]
'1.1.2'
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from .pack import Pack
from .violations import Violation

__all__ = ["OSCAL_VERSION", "assessment_results"]

OSCAL_VERSION = "1.1.2"
_NAMESPACE = uuid.UUID("6f1c9a52-3c1e-4f0a-9b7e-2d6a1c0f8e41")
_STATE = {True: "satisfied", False: "not-satisfied"}


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def _time(moment: dt.datetime) -> str:
    return moment.isoformat()


def assessment_results(
    pack: Pack,
    violations: Sequence[Violation],
    *,
    start: dt.datetime,
    end: dt.datetime,
    title: str | None = None,
) -> dict[str, Any]:
    """An OSCAL assessment-results document for the violations found between start and end."""
    ref = pack.ref
    root = _uuid("assessment-results", ref.digest, _time(start), _time(end))
    breaches = [v for v in violations if v.is_breach or v.kind == "excused"]
    by_clause: dict[str, list[Violation]] = {}
    for violation in breaches:
        by_clause.setdefault(violation.clause_id, []).append(violation)
    observations = [_observation(v) for v in breaches]
    findings = []
    for clause in pack.clauses:
        if not clause.automatable:
            continue
        found = [
            v
            for clause_id, items in by_clause.items()
            if clause_id == clause.id or clause_id.startswith(clause.id + ".")
            for v in items
        ]
        open_breaches = [v for v in found if v.is_breach]
        findings.append(
            {
                "uuid": _uuid("finding", ref.digest, clause.id, _time(start), _time(end)),
                "title": f"{clause.id} {clause.title.en}",
                "description": clause.text.en,
                "props": [
                    {
                        "name": "title-zh",
                        "ns": "https://commitrules.invalid/ns",
                        "value": clause.title.zh,
                    }
                ],
                "target": {
                    "type": "statement-id",
                    "target-id": clause.id,
                    "status": {"state": _STATE[not open_breaches]},
                },
                "related-observations": [
                    {"observation-uuid": _uuid("observation", v.id)} for v in found
                ],
            }
        )
    for finding in findings:
        if not finding["related-observations"]:
            del finding["related-observations"]
    result: dict[str, Any] = {
        "uuid": _uuid("result", root),
        "title": title or f"{pack.name.en} ({ref.profile})",
        "description": (
            f"Pack {ref.id} {ref.version}, profile {ref.profile}, content hash {ref.digest}; "
            f"{len(breaches)} findings."
        ),
        "start": _time(start),
        "end": _time(end),
        "reviewed-controls": {
            "control-selections": [
                {
                    "include-controls": [
                        {"control-id": clause.id} for clause in pack.clauses if clause.automatable
                    ]
                }
            ]
        },
        "findings": findings,
    }
    if observations:
        result["observations"] = observations
    return {
        "assessment-results": {
            "uuid": root,
            "metadata": {
                "title": f"commitrules assessment: {pack.name.en}",
                "last-modified": _time(end),
                "version": ref.version,
                "oscal-version": OSCAL_VERSION,
                "props": [
                    {"name": "pack-id", "ns": "https://commitrules.invalid/ns", "value": ref.id},
                    {
                        "name": "pack-digest",
                        "ns": "https://commitrules.invalid/ns",
                        "value": ref.digest,
                    },
                    {
                        "name": "profile",
                        "ns": "https://commitrules.invalid/ns",
                        "value": ref.profile,
                    },
                ],
            },
            "import-ap": {"href": f"#{_uuid('assessment-plan', ref.digest)}"},
            "results": [result],
        }
    }


def _observation(violation: Violation) -> dict[str, Any]:
    props = [
        {"name": "rule-id", "ns": "https://commitrules.invalid/ns", "value": violation.rule_id},
        {"name": "severity", "ns": "https://commitrules.invalid/ns", "value": violation.severity},
        {"name": "kind", "ns": "https://commitrules.invalid/ns", "value": violation.kind},
        {"name": "violation-id", "ns": "https://commitrules.invalid/ns", "value": violation.id},
    ]
    if violation.waiver is not None:
        props.append(
            {"name": "waiver", "ns": "https://commitrules.invalid/ns", "value": violation.waiver}
        )
    if violation.provisional:
        # Counted on a calendar year that is not official yet: it may be corrected.
        props.append(
            {"name": "provisional", "ns": "https://commitrules.invalid/ns", "value": "true"}
        )
    if violation.refers_to is not None:
        props.append(
            {
                "name": "refers-to",
                "ns": "https://commitrules.invalid/ns",
                "value": violation.refers_to,
            }
        )
    observation: dict[str, Any] = {
        "uuid": _uuid("observation", violation.id),
        "title": violation.rule_id,
        "description": violation.message.en,
        "props": props,
        "methods": ["AUTOMATED"],
        "types": ["finding"],
        "collected": _time(violation.at),
    }
    if violation.event_ids:
        observation["relevant-evidence"] = [
            {"description": f"event {event_id}"} for event_id in violation.event_ids
        ]
    return observation
