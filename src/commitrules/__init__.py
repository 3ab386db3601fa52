"""commitrules: a customer commitment as executable, tested rules.

>>> import commitrules
>>> pack = commitrules.load_pack()                 # the bundled default pack
>>> engine = commitrules.Engine(pack)
>>> engine.process({"id": "e1", "type": "survey_response", "at": "2026-07-01T10:00:00+08:00",
...                 "survey": "service", "customer_id": "C1", "satisfied": True})
[]

The names below are imported when first used (PEP 562), so ``import commitrules`` and the
pytest plugin that ``pip install commitrules`` registers cost almost nothing until a pack
is loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _logging  # noqa: F401 - the 'commitrules' logger and its NullHandler

if TYPE_CHECKING:
    from ._pace import long_run
    from .engine import Engine, EngineStats, EvidenceMode, Outcome
    from .errors import (
        AuditLogError,
        CalendarError,
        CaseError,
        CheckpointError,
        CommitRulesError,
        DeliveryError,
        EngineConfigError,
        EventConflictError,
        EventError,
        EventValidationError,
        ExpressionError,
        FutureEventError,
        LateEventError,
        Location,
        MigrationError,
        PackError,
        PackSyntaxError,
        PackValidationError,
        Problem,
        ProcessingError,
        SnapshotError,
    )
    from .events import EventCatalog, event_json_schema
    from .pack import DEFAULT_PACK, Clause, Pack, Parameter, Role, Table, bundled_packs, load_pack
    from .plan import Plan, plan_for
    from .violations import Message, PackRef, Violation

    __version__: str

__all__ = [
    "DEFAULT_PACK",
    "AuditLogError",
    "CalendarError",
    "CaseError",
    "CheckpointError",
    "Clause",
    "CommitRulesError",
    "DeliveryError",
    "Engine",
    "EngineConfigError",
    "EngineStats",
    "EventCatalog",
    "EventConflictError",
    "EventError",
    "EventValidationError",
    "EvidenceMode",
    "ExpressionError",
    "FutureEventError",
    "LateEventError",
    "Location",
    "Message",
    "MigrationError",
    "Outcome",
    "Pack",
    "PackError",
    "PackRef",
    "PackSyntaxError",
    "PackValidationError",
    "Parameter",
    "Plan",
    "Problem",
    "ProcessingError",
    "Role",
    "SnapshotError",
    "Table",
    "Violation",
    "__version__",
    "bundled_packs",
    "event_json_schema",
    "load_pack",
    "long_run",
    "plan_for",
]

#: Where each exported name lives (the module is imported on first use).
_EXPORTS = {
    **dict.fromkeys(("Engine", "EngineStats", "EvidenceMode", "Outcome"), ".engine"),
    **dict.fromkeys(
        (
            "AuditLogError",
            "CalendarError",
            "CaseError",
            "CheckpointError",
            "CommitRulesError",
            "DeliveryError",
            "EngineConfigError",
            "EventConflictError",
            "EventError",
            "EventValidationError",
            "ExpressionError",
            "FutureEventError",
            "LateEventError",
            "Location",
            "MigrationError",
            "PackError",
            "PackSyntaxError",
            "PackValidationError",
            "ProcessingError",
            "Problem",
            "SnapshotError",
        ),
        ".errors",
    ),
    **dict.fromkeys(("EventCatalog", "event_json_schema"), ".events"),
    **dict.fromkeys(
        (
            "DEFAULT_PACK",
            "Clause",
            "Pack",
            "Parameter",
            "Role",
            "Table",
            "bundled_packs",
            "load_pack",
        ),
        ".pack",
    ),
    **dict.fromkeys(("Plan", "plan_for"), ".plan"),
    "long_run": "._pace",
    **dict.fromkeys(("Message", "PackRef", "Violation"), ".violations"),
}
#: Submodules reachable as attributes (``commitrules.events.Sale``) without importing them first.
_SUBMODULES = frozenset(
    (
        "audit",
        "backends",
        "batch",
        "cli",
        "compare",
        "display",
        "engine",
        "errors",
        "events",
        "eventtime",
        "explain",
        "expr",
        "lint",
        "migration",
        "oscal",
        "pack",
        "plan",
        "report",
        "routing",
        "rules",
        "snapshot",
        "store",
        "testing",
        "violations",
        "waivers",
    )
)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    elif name == "__version__":
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

        try:
            value = version("commitrules")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            value = "0.0.0"
    elif name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    else:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})
