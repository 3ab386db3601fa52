"""commitrules: a customer commitment as executable, tested rules.

>>> import commitrules
>>> pack = commitrules.load_pack()                 # the bundled default pack
>>> engine = commitrules.Engine(pack)
>>> engine.process({"id": "e1", "type": "survey_response", "at": "2026-07-01T10:00:00+08:00",
...                 "survey": "service", "customer_id": "C1", "satisfied": True})
[]
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .engine import Engine, EngineStats, EvidenceMode
from .errors import (
    AuditLogError,
    CalendarError,
    CaseError,
    CheckpointError,
    CommitRulesError,
    EventConflictError,
    EventError,
    EventValidationError,
    ExpressionError,
    LateEventError,
    Location,
    PackError,
    PackSyntaxError,
    PackValidationError,
    Problem,
    SnapshotError,
)
from .events import EventCatalog, event_json_schema
from .pack import DEFAULT_PACK, Clause, Pack, Parameter, Role, Table, bundled_packs, load_pack
from .violations import Message, PackRef, Violation

try:
    __version__ = version("commitrules")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "DEFAULT_PACK",
    "AuditLogError",
    "CalendarError",
    "CaseError",
    "CheckpointError",
    "Clause",
    "CommitRulesError",
    "Engine",
    "EngineStats",
    "EventCatalog",
    "EventConflictError",
    "EventError",
    "EventValidationError",
    "EvidenceMode",
    "ExpressionError",
    "LateEventError",
    "Location",
    "Message",
    "Pack",
    "PackError",
    "PackRef",
    "PackSyntaxError",
    "PackValidationError",
    "Parameter",
    "Problem",
    "Role",
    "SnapshotError",
    "Table",
    "Violation",
    "__version__",
    "bundled_packs",
    "event_json_schema",
    "load_pack",
]
